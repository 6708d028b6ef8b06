"""Sampling throughput of one generator over a batch sweep, in img/s.

Two paths are measured for a model that maps noise to images: the raw network (``forward`` for a GAN generator on
pre-drawn noise, ``decode`` for a VAE on pre-drawn latents; labels and inputs already on the device: the peak,
optionally compiled or captured in CUDA graphs) and ``sample`` (``model.sample(n, seed=...)`` end to end: seeded noise
drawn on the device, label checks and the [0, 1] output in float32; on a GPU also ``+cpu-noise``, the noise drawn on
the CPU and copied over, which gives the same images on every device). An iterative sampler (a ``steps`` sampling
option) is measured through ``sample`` at several step counts, since its cost grows with them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from benchmarks.config import ROTATE, BenchConfig
from benchmarks.measure import PeakMemory, measure
from benchmarks.results import guarded, ok_row, skipped_row
from benchmarks.roofline import count_flops
from benchmarks.sweep import run_sweep

STEP_COUNTS = (10, 50, 250)  # an iterative sampler is measured at these and at its own default


@dataclass(frozen=True)
class RawNetwork:
    """How to run a model's network on its noise without ``sample``'s checks: the row's ``bench`` label, the width
    of the noise it takes (``None`` when the model has no such network) and the call itself."""

    bench: str
    width: Callable[[nn.Module], int | None]
    call: Callable[..., torch.Tensor]
    via_forward: bool  # whether ``call`` goes through ``model.forward`` (so ``model.compile`` and graphs apply)


def _int_attr(model: nn.Module, name: str, method: str | None = None) -> int | None:
    value = getattr(model, name, None)
    has_method = method is None or callable(getattr(model, method, None))
    return value if isinstance(value, int) and not isinstance(value, bool) and has_method else None


#: the raw networks the suite knows, by what the model offers (first match): a GAN generator's ``forward(z,
#: labels)`` on ``noise_dim`` noise, a latent-variable model's ``decode(z, labels)`` on ``latent_dim`` latents
RAW_NETWORKS = (
    RawNetwork("forward", lambda m: _int_attr(m, "noise_dim"), lambda m, *args: m(*args), via_forward=True),
    RawNetwork("decode", lambda m: _int_attr(m, "latent_dim", "decode"), lambda m, *args: m.decode(*args),
               via_forward=False),
)


def raw_network(model: nn.Module) -> RawNetwork | None:
    """The first of :data:`RAW_NETWORKS` that ``model`` has (``None``: only ``sample`` is measured)."""
    return next((raw for raw in RAW_NETWORKS if raw.width(model) is not None), None)


def raw_inputs(model: nn.Module, raw: RawNetwork, batch: int, cfg: BenchConfig, seed: int) -> tuple[torch.Tensor, ...]:
    """Noise (and labels, for a conditional model) for ``raw`` at ``batch``, already on the device."""
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, raw.width(model), generator=rng).to(cfg.device, cfg.dtype)
    if getattr(model, "num_classes", 0):
        return z, torch.randint(model.num_classes, (batch,), generator=rng).to(cfg.device)
    return (z,)


def sample_labels(model: nn.Module, batch: int, seed: int) -> torch.Tensor | None:
    """Random class labels for ``model.sample`` (``None`` for an unconditional model)."""
    classes = getattr(model, "num_classes", 0)
    return torch.randint(classes, (batch,), generator=torch.Generator().manual_seed(seed)) if classes else None


def cuda_graph_step(call: Callable[..., Any], inputs: list[tuple[torch.Tensor, ...]],
                    device: torch.device) -> Callable[[int], Any]:
    """One CUDA graph per pre-made input batch; step ``i`` replays graph ``i mod n`` (no launch overhead)."""
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):  # warm up outside capture, as CUDA graph capture requires
        for args in inputs:
            call(*args)
    torch.cuda.current_stream(device).wait_stream(side)
    graphs, outputs = [], []
    for args in inputs:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outputs.append(call(*args))  # keep the outputs: their memory belongs to the graph
        graphs.append(graph)
    return lambda i: graphs[i % len(graphs)].replay()


def image_bytes(model: nn.Module, dtype: torch.dtype) -> int:
    """Bytes of one output image at ``dtype``."""
    return math.prod(model.image_shape) * torch.empty(0, dtype=dtype).element_size()


def timed_row(name: str, bench: str, variant: str, step: Callable[[int], Any], batch: int, cfg: BenchConfig,
              params: int, flops: float, nbytes: int | None, **extra: Any) -> dict[str, Any]:
    """A row for ``step`` (one batch per call) timed as the run's options say, with its peak memory."""
    with PeakMemory(cfg.device) as memory:
        timing = measure(step, batch, warmup=cfg.warmup, iters=cfg.iters, repeats=cfg.repeats, device=cfg.device)
    return ok_row(name, bench, variant, timing, memory, params, flops, nbytes, **extra)


def compile_model(model: nn.Module, cfg: BenchConfig) -> None:
    """``torch.compile`` the model's forward in place when the run asks for it."""
    if cfg.compile_mode:
        model.compile(mode=None if cfg.compile_mode == "default" else cfg.compile_mode, dynamic=False)


def noise_to_image_rows(name: str, model: nn.Module, batch_sizes: list[int] | None,
                        cfg: BenchConfig) -> list[dict[str, Any]]:
    """Rows for the raw network (``forward`` or ``decode``) and ``sample`` of ``model`` at each batch size."""
    params = sum(p.numel() for p in model.parameters())
    raw = raw_network(model)
    with torch.no_grad():
        if raw is not None:
            probe = raw_inputs(model, raw, 2, cfg, seed=0)
            flops = count_flops(lambda: raw.call(model, *probe)) / 2
        else:
            flops = count_flops(lambda: model.sample(2, labels=sample_labels(model, 2, 0))) / 2
    compile_model(model, cfg)
    compiled = f"compile:{cfg.compile_mode}" if cfg.compile_mode else "eager"
    call = None if raw is None else raw.call if raw.via_forward or not cfg.compile_mode else torch.compile(
        raw.call, mode=None if cfg.compile_mode == "default" else cfg.compile_mode, dynamic=False)
    sample_variant = compiled if raw is None or raw.via_forward else "eager"  # never graph-captured

    def raw_row(batch: int) -> dict[str, Any]:
        inputs = [raw_inputs(model, raw, batch, cfg, seed=s) for s in range(ROTATE)]
        with torch.no_grad():
            if cfg.cuda_graphs:
                step = cuda_graph_step(lambda *args: call(model, *args), inputs, cfg.device)
            else:
                def step(i: int) -> torch.Tensor:
                    return call(model, *inputs[i % ROTATE])
            return timed_row(name, raw.bench, cfg.variant, step, batch, cfg, params, flops,
                             image_bytes(model, cfg.dtype))

    def sample_row(batch: int, noise_device: str | None = None) -> dict[str, Any]:
        labels = [sample_labels(model, batch, seed=s) for s in range(ROTATE)]

        def step(i: int) -> torch.Tensor:
            return model.sample(batch, labels=labels[i % ROTATE], seed=i, noise_device=noise_device)

        variant = sample_variant + ("+cpu-noise" if noise_device else "")
        return timed_row(name, "sample", variant, step, batch, cfg, params, flops, image_bytes(model, torch.float32))

    paths = ([(raw.bench, cfg.variant, raw_row)] if raw is not None else []) + [("sample", sample_variant, sample_row)]
    if cfg.device.type != "cpu":  # what drawing the noise on the CPU (one seed, the same images everywhere) costs
        paths.append(("sample", f"{sample_variant}+cpu-noise", lambda batch: sample_row(batch, noise_device="cpu")))

    def measure_at(batch: int) -> list[dict[str, Any]]:
        return [guarded(name, bench, variant, batch, cfg.device, lambda r=row: r(batch))
                for bench, variant, row in paths]

    def skipped(batch: int) -> list[dict[str, Any]]:
        return [skipped_row(name, bench, variant, batch, flops * batch, cfg.max_call_flops)
                for bench, variant, _ in paths]

    return run_sweep(batch_sizes, cfg.device, measure_at, flops, cfg.max_call_flops, skipped)


def step_counts(default: int, quick: bool) -> list[int]:
    """The step counts an iterative sampler is measured at: :data:`STEP_COUNTS` and its own default (the smallest
    of them only, for a quick run)."""
    counts = sorted({*STEP_COUNTS, int(default)})
    return counts[:1] if quick else counts


def iterative_rows(name: str, model: nn.Module, batch_sizes: list[int] | None,
                   cfg: BenchConfig) -> list[dict[str, Any]]:
    """Rows for ``model.sample(n, steps=k)`` at each step count ``k`` and batch size: an iterative sampler's cost
    grows with its steps, so one figure would say little. FLOPs are counted for one image at the smallest step count
    and scaled with the steps (one network pass per step). Within the run's per-call cap, the smallest step count is
    always measured (at batch 1 if need be); a larger one whose single image is over the cap is skipped."""
    params = sum(p.numel() for p in model.parameters())
    compile_model(model, cfg)
    variant = f"compile:{cfg.compile_mode}" if cfg.compile_mode else "eager"
    counts = step_counts(model.sampling_defaults["steps"], cfg.quick)
    with torch.no_grad():
        per_step = count_flops(lambda: model.sample(1, labels=sample_labels(model, 1, 0), steps=counts[0])) / counts[0]
    rows: list[dict[str, Any]] = []
    for steps in counts:
        flops = per_step * steps

        def sample_row(batch: int, steps: int = steps, flops: float = flops) -> dict[str, Any]:
            labels = [sample_labels(model, batch, seed=s) for s in range(ROTATE)]

            def step(i: int) -> torch.Tensor:
                return model.sample(batch, labels=labels[i % ROTATE], steps=steps)

            return timed_row(name, "sample", variant, step, batch, cfg, params, flops,
                             image_bytes(model, torch.float32), steps=steps)

        def measure_at(batch: int, steps: int = steps, row: Callable = sample_row) -> list[dict[str, Any]]:
            return [{**guarded(name, "sample", variant, batch, cfg.device, lambda: row(batch)), "steps": steps}]

        def skipped(batch: int, steps: int = steps, flops: float = flops) -> list[dict[str, Any]]:
            return [skipped_row(name, "sample", variant, batch, flops * batch, cfg.max_call_flops, steps=steps)]

        rows += run_sweep(batch_sizes, cfg.device, measure_at, flops, cfg.max_call_flops, skipped,
                          at_least_one=steps == counts[0])
    return rows
