"""Training and sampling precision: ``auto`` picks bf16 autocast only where the device runs it natively.

Why: on a CPU without AVX512-BF16 or AMX, bf16 matmuls are emulated and run several times slower than fp32, so a
recipe that says bf16 would quietly train five times slower there.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from pathlib import Path

import torch

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
CHOICES = ("auto", *PRECISIONS)


@functools.cache
def cpu_runs_bf16_natively() -> bool:
    """Whether this CPU has bf16 matrix instructions (AVX512-BF16 or AMX-BF16), read from /proc/cpuinfo."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device) -> str:
    """``precision`` with ``auto`` resolved for ``device``: bf16 on CUDA devices that support it and on CPUs with
    native bf16, fp32 elsewhere. Asking for bf16 on a CPU that emulates it is allowed but warns once."""
    if precision not in CHOICES:
        raise ValueError(f"precision must be one of {', '.join(CHOICES)}, got {precision!r}")
    native = (torch.cuda.is_bf16_supported() if device.type == "cuda" else
              cpu_runs_bf16_natively() if device.type == "cpu" else False)
    if precision == "auto":
        return "bf16" if native else "fp32"
    if precision == "bf16" and device.type == "cpu" and not native:
        _warn_emulated_bf16()
    return precision


@functools.cache
def _warn_emulated_bf16() -> None:
    warnings.warn("bf16 was asked for on a CPU without AVX512-BF16 or AMX: its bf16 matmuls are emulated and run "
                  "several times slower than fp32 (see docs/benchmarking.md); use precision='auto' or 'fp32'",
                  RuntimeWarning, stacklevel=3)


def autocast(device: torch.device, precision: str, cache_enabled: bool = True) -> contextlib.AbstractContextManager:
    """The autocast context for a resolved ``precision`` (a no-op for fp32)."""
    dtype = PRECISIONS[precision]
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype, cache_enabled=cache_enabled)
