"""Saving image grids as PNG with provenance text chunks (what made them, and that a machine did)."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from torchvision.utils import make_grid

from imggen.fileio import atomic_output
from imggen.version import __version__

MACHINE_GENERATED = "Machine-generated image (imggen); not a photograph of a real scene or person."


def to_grid(images: torch.Tensor, nrow: int | None = None) -> Image.Image:
    """A PIL image tiling ``images`` (N, C, H, W) in [0, 1]; ``nrow`` defaults to a square-ish grid."""
    if images.dim() != 4:
        raise ValueError(f"expected images of shape (N, C, H, W), got {tuple(images.shape)}")
    nrow = nrow or max(1, int(round(images.shape[0] ** 0.5)))
    grid = make_grid(images.detach().float().cpu().clamp(0, 1), nrow=nrow, padding=2, pad_value=1.0)
    array = (grid * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()
    grey = images.shape[1] == 1  # make_grid repeats one channel three times; keep grey grids one-channel PNGs
    return Image.fromarray(array[..., 0] if grey else array)


def save_grid(images: torch.Tensor, path: str | os.PathLike[str], *, nrow: int | None = None,
              provenance: dict[str, object] | None = None) -> Path:
    """Write ``images`` as one PNG grid, atomically, with provenance text chunks.

    Every file is marked machine-generated and carries the imggen version plus the ``provenance`` items
    (model, tag, weights sha256, seed, ...), readable with ``PIL.Image.open(path).text``.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"output {str(path)!r} must end in .png (grids are saved as PNG with provenance)")
    info = PngInfo()
    chunks = {"Software": f"imggen {__version__}", "Description": MACHINE_GENERATED,
              "imggen:version": __version__, "imggen:machine_generated": "true"}
    chunks.update({f"imggen:{k}": str(v) for k, v in (provenance or {}).items() if v is not None})
    for key, value in chunks.items():
        info.add_text(key, value)
    with atomic_output(path) as tmp:
        to_grid(images, nrow).save(tmp, format="PNG", pnginfo=info)
    return path
