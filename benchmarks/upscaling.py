"""Upscaling throughput of one super-resolution model: megapixels of output per second.

``upscale`` is timed end to end on one synthetic RGB picture (colour conversion, the model on the luma, bicubic
chroma, tiling), the path ``imggen upscale`` takes. Its ``images_per_s`` is pictures per second; ``megapixels_per_s``
counts the output's pixels, the figure SR papers and users compare.
"""

from __future__ import annotations

from typing import Any

import torch

import imggen
from benchmarks.config import BenchConfig
from benchmarks.measure import PeakMemory, measure
from benchmarks.results import guarded, ok_row
from benchmarks.roofline import count_flops
from imggen.models.base import ImageToImage

#: low-resolution side of the timed picture (full runs), and of the quick run's
SIDE, QUICK_SIDE = 128, 32


def is_upscaler(name: str) -> bool:
    """Whether the registered ``name`` is a super-resolution model (built on the meta device: no weights touched)."""
    with torch.device("meta"):
        return isinstance(imggen.create_model(name), ImageToImage)


def upscale_rows(name: str, batch_sizes: list[int] | None, cfg: BenchConfig) -> list[dict[str, Any]]:
    """One row: ``upscale`` of a ``SIDE`` x ``SIDE`` RGB picture by ``name`` (the sweep's batch sizes do not apply:
    pictures are upscaled one at a time)."""
    model = imggen.create_model(name).to(cfg.device).eval()
    side = QUICK_SIDE if cfg.quick else SIDE
    picture = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0)).to(cfg.device)
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        flops = count_flops(lambda: model.upscale(picture))
    megapixels = (side * model.scale) ** 2 / 1e6

    def run() -> dict[str, Any]:
        with PeakMemory(cfg.device) as memory:
            timing = measure(lambda i: model.upscale(picture), 1, warmup=cfg.warmup, iters=cfg.iters,
                             repeats=cfg.repeats, device=cfg.device)
        row = ok_row(name, "upscale", "eager", timing, memory, params, flops, megapixels * 1e6 * 3 * 4)
        row.update(megapixels_per_s=timing.images_per_s * megapixels, picture=f"{side}x{side} RGB, x{model.scale}")
        return row

    return [guarded(name, "upscale", "eager", 1, cfg.device, run)]
