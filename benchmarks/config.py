"""The options one benchmark run measures under, shared by the sampling and training benchmarks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")
ROTATE = 4  # pre-made input batches cycled through, so no cache sees the same input twice in a row


@dataclass(frozen=True)
class BenchConfig:
    """Device, numerics and timing loop of a run. ``precision`` is what the run measures in (``auto`` already
    resolved for the device); ``precision_asked`` is what the command line said."""

    device: torch.device
    precision: str
    dtype: torch.dtype
    precision_asked: str | None = None
    max_call_s: float = 0.0  # the per-call cap in seconds at the measured matmul peak (0: none)
    max_call_flops: float | None = None  # the same cap in FLOPs, once the peak is measured
    channels_last: bool = False
    compile_mode: str | None = None
    cuda_graphs: bool = False
    warmup: int = 3
    iters: int | None = 10  # None: sized from the warm-up (benchmarks.measure.measure)
    repeats: int = 3
    quick: bool = False

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view for the results file."""
        return {
            "device": str(self.device), "precision": self.precision_asked or self.precision,
            "precision_chosen": self.precision, "channels_last": self.channels_last,
            "compile": self.compile_mode, "cuda_graphs": self.cuda_graphs, "warmup": self.warmup,
            "iters": self.iters, "repeats": self.repeats, "rotate_inputs": ROTATE, "quick": self.quick,
            "max_call_s": self.max_call_s, "max_call_flops": self.max_call_flops,
        }

    @property
    def variant(self) -> str:
        """A short label of how the network runs: eager, compile:MODE, cuda-graphs, or both."""
        parts = [f"compile:{self.compile_mode}"] if self.compile_mode else []
        if self.cuda_graphs:
            parts.append("cuda-graphs")
        return "+".join(parts) or "eager"

    def prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        """``model`` on the device, in the precision's dtype and memory format (not yet compiled)."""
        fmt = torch.channels_last if self.channels_last else torch.preserve_format
        return model.to(device=self.device, dtype=self.dtype, memory_format=fmt)


def precision_label(options: dict[str, Any]) -> str:
    """``auto → fp32`` when the run asked for ``auto``, else the precision itself (results written before ``auto``
    existed record only the explicit choice, which is also what they measured in)."""
    asked = options.get("precision", "?")
    chosen = options.get("precision_chosen", asked)
    return f"{asked} → {chosen}" if asked != chosen else str(chosen)
