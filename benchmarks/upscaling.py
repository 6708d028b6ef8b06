"""Upscaling throughput of one super-resolution model: megapixels of output per second.

``upscale`` is timed end to end on one synthetic RGB picture (colour conversion, the model on the luma, bicubic
chroma, tiling), the path ``imggen upscale`` takes. ``images_per_s`` counts pictures; ``throughput`` counts the
output's megapixels, the figure SR papers and users compare. The sweep's batch sizes do not apply: pictures are
upscaled one at a time.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from benchmarks.config import BenchConfig
from benchmarks.results import guarded
from benchmarks.roofline import count_flops
from benchmarks.sampling import timed_row
from imggen.data.sr import PATCH

#: low-resolution side of the timed picture (full runs), and of the quick run's
SIDE, QUICK_SIDE = 128, 32


def upscaling_rows(name: str, model: nn.Module, batch_sizes: list[int] | None,
                   cfg: BenchConfig) -> list[dict[str, Any]]:
    """One row: ``model.upscale`` of a ``SIDE`` x ``SIDE`` RGB picture, in MP/s of output."""
    side = QUICK_SIDE if cfg.quick else SIDE
    picture = torch.rand(1, 3, side, side, generator=torch.Generator().manual_seed(0)).to(cfg.device)
    params = sum(p.numel() for p in model.parameters())
    with torch.no_grad():
        flops = count_flops(lambda: model.upscale(picture))
    out_pixels = (side * model.scale) ** 2

    def row() -> dict[str, Any]:
        with torch.no_grad():
            return timed_row(name, "upscale", "eager", lambda i: model.upscale(picture), 1, cfg, params, flops,
                             out_pixels * 3 * 4, unit="MP/s", units_per_image=out_pixels / 1e6,
                             picture=f"{side}x{side} RGB, x{model.scale}")

    return [guarded(name, "upscale", "eager", 1, cfg.device, row)]


def training_patch_shape(model: nn.Module) -> tuple[int, ...]:
    """The (C, H, W) of the high-resolution luma patches an upscaler trains on (``imggen.data.sr``)."""
    return (1, PATCH, PATCH)
