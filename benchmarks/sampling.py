"""Sampling throughput of one generator over a batch sweep.

Two paths are measured: ``forward`` (the raw network on pre-drawn noise and labels already on the device: the
peak, optionally compiled or captured in CUDA graphs) and ``sample`` (``model.sample`` end to end: noise drawn on
the CPU, label checks, the copy to the device and the [0, 1] output in float32).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

import imggen
from benchmarks.config import ROTATE, BenchConfig
from benchmarks.measure import PeakMemory, measure
from benchmarks.results import guarded, ok_row
from benchmarks.roofline import count_flops
from benchmarks.sweep import run_sweep


def forward_inputs(model: nn.Module, batch: int, cfg: BenchConfig, seed: int) -> tuple[torch.Tensor, ...] | None:
    """Inputs of the raw network for a noise-to-image generator (``noise_dim`` attribute), or ``None`` when the
    model's forward takes something else (then only the ``sample`` path is measured)."""
    noise_dim = getattr(model, "noise_dim", None)
    if not isinstance(noise_dim, int):
        return None
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(batch, noise_dim, generator=rng).to(cfg.device, cfg.dtype)
    if getattr(model, "num_classes", 0):
        return z, torch.randint(model.num_classes, (batch,), generator=rng).to(cfg.device)
    return (z,)


def sample_labels(model: nn.Module, batch: int, seed: int) -> torch.Tensor | None:
    """Random class labels for ``model.sample`` (``None`` for an unconditional model)."""
    classes = getattr(model, "num_classes", 0)
    return torch.randint(classes, (batch,), generator=torch.Generator().manual_seed(seed)) if classes else None


def cuda_graph_step(model: nn.Module, inputs: list[tuple[torch.Tensor, ...]],
                    device: torch.device) -> Callable[[int], Any]:
    """One CUDA graph per pre-made input batch; step ``i`` replays graph ``i mod n`` (no launch overhead)."""
    side = torch.cuda.Stream(device)
    side.wait_stream(torch.cuda.current_stream(device))
    with torch.cuda.stream(side):  # warm up outside capture, as CUDA graph capture requires
        for args in inputs:
            model(*args)
    torch.cuda.current_stream(device).wait_stream(side)
    graphs, outputs = [], []
    for args in inputs:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            outputs.append(model(*args))  # keep the outputs: their memory belongs to the graph
        graphs.append(graph)
    return lambda i: graphs[i % len(graphs)].replay()


def image_bytes(model: nn.Module, dtype: torch.dtype) -> int:
    """Bytes of one output image at ``dtype``."""
    return math.prod(model.image_shape) * torch.empty(0, dtype=dtype).element_size()


def _timed_row(name: str, bench: str, variant: str, step: Callable[[int], Any], batch: int, cfg: BenchConfig,
               params: int, flops: float, nbytes: int) -> dict[str, Any]:
    with PeakMemory(cfg.device) as memory:
        timing = measure(step, batch, warmup=cfg.warmup, iters=cfg.iters, repeats=cfg.repeats, device=cfg.device)
    return ok_row(name, bench, variant, timing, memory, params, flops, nbytes)


def sampling_rows(name: str, batch_sizes: list[int] | None, cfg: BenchConfig) -> list[dict[str, Any]]:
    """Rows for ``forward`` and ``sample`` of generator ``name`` at each batch size of the sweep."""
    model = cfg.prepare(imggen.create_model(name)).eval()
    params = sum(p.numel() for p in model.parameters())
    probe = forward_inputs(model, 2, cfg, seed=0)
    with torch.no_grad():
        if probe is not None:
            flops = count_flops(lambda: model(*probe)) / 2
        else:
            flops = count_flops(lambda: model.sample(2, labels=sample_labels(model, 2, 0))) / 2
    if cfg.compile_mode:
        model.compile(mode=None if cfg.compile_mode == "default" else cfg.compile_mode, dynamic=False)

    def forward_row(batch: int) -> dict[str, Any]:
        inputs = [forward_inputs(model, batch, cfg, seed=s) for s in range(ROTATE)]
        with torch.no_grad():
            if cfg.cuda_graphs:
                step = cuda_graph_step(model, inputs, cfg.device)
            else:
                def step(i: int) -> torch.Tensor:
                    return model(*inputs[i % ROTATE])
            return _timed_row(name, "forward", cfg.variant, step, batch, cfg, params, flops,
                              image_bytes(model, cfg.dtype))

    sample_variant = f"compile:{cfg.compile_mode}" if cfg.compile_mode else "eager"  # never graph-captured

    def sample_row(batch: int) -> dict[str, Any]:
        labels = [sample_labels(model, batch, seed=s) for s in range(ROTATE)]

        def step(i: int) -> torch.Tensor:
            return model.sample(batch, labels=labels[i % ROTATE])

        return _timed_row(name, "sample", sample_variant, step, batch, cfg, params, flops,
                          image_bytes(model, torch.float32))

    def measure_at(batch: int) -> list[dict[str, Any]]:
        rows = []
        if probe is not None:
            rows.append(guarded(name, "forward", cfg.variant, batch, cfg.device, lambda: forward_row(batch)))
        rows.append(guarded(name, "sample", sample_variant, batch, cfg.device, lambda: sample_row(batch)))
        return rows

    return run_sweep(batch_sizes, cfg.device, measure_at)
