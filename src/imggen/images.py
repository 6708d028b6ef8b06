"""Saving generated images with provenance: a PNG grid, a folder of PNGs, or tensors with their labels.

Every PNG carries text chunks saying what made it and that a machine did; tensor files carry the same provenance as
a dictionary. Why: a generated image must say where it came from, whatever form it is saved in.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from einops import rearrange
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from imggen.fileio import atomic_output
from imggen.version import __version__

MACHINE_GENERATED = "Machine-generated image (imggen); not a photograph of a real scene or person."
PADDING = 2


def _check_images(images: torch.Tensor) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.dim() != 4:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"expected images of shape (N, C, H, W), got {shape}")
    return images.detach().float().cpu().clamp(0, 1)


def _to_pil(array: torch.Tensor) -> Image.Image:
    """One (C, H, W) tensor in [0, 1] as a PIL image; one channel stays a grey ("L") image."""
    pixels = rearrange((array * 255).round().to(torch.uint8), "c h w -> h w c").numpy()
    return Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)


def to_grid(images: torch.Tensor, nrow: int | None = None) -> Image.Image:
    """A PIL image tiling ``images`` (N, C, H, W) in [0, 1], ``nrow`` per row (default: a square-ish grid).

    Images are separated by a 2-pixel white border; unfilled cells of the last row are white.
    """
    images = _check_images(images)
    n = images.shape[0]
    cols = min(nrow or max(1, int(round(n ** 0.5))), n)
    rows = math.ceil(n / cols)
    blank = torch.ones(rows * cols - n, *images.shape[1:])
    cells = F.pad(torch.cat([images, blank]), (PADDING, 0, PADDING, 0), value=1.0)  # border above and left
    grid = rearrange(cells, "(r k) c h w -> c (r h) (k w)", r=rows, k=cols)
    return _to_pil(F.pad(grid, (0, PADDING, 0, PADDING), value=1.0))


def png_info(provenance: dict[str, object] | None = None) -> PngInfo:
    """The PNG text chunks: machine-generated, the imggen version, and each ``provenance`` item as ``imggen:key``."""
    info = PngInfo()
    chunks = {"Software": f"imggen {__version__}", "Description": MACHINE_GENERATED,
              "imggen:version": __version__, "imggen:machine_generated": "true"}
    chunks.update({f"imggen:{k}": str(v) for k, v in (provenance or {}).items() if v is not None})
    for key, value in chunks.items():
        info.add_text(key, value)
    return info


def save_grid(images: torch.Tensor, path: str | os.PathLike[str], *, nrow: int | None = None,
              provenance: dict[str, object] | None = None) -> Path:
    """Write ``images`` as one PNG grid, atomically, with provenance text chunks.

    Every file is marked machine-generated and carries the imggen version plus the ``provenance`` items
    (model, tag, weights sha256, seed, ...), readable with ``PIL.Image.open(path).text``.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"output {str(path)!r} must end in .png (grids are saved as PNG with provenance)")
    with atomic_output(path) as tmp:
        to_grid(images, nrow).save(tmp, format="PNG", pnginfo=png_info(provenance))
    return path


def save_image_folder(images: torch.Tensor, folder: str | os.PathLike[str], *, labels: Sequence[int] | None = None,
                      provenance: dict[str, object] | None = None, start: int = 0, total: int | None = None,
                      ) -> list[Path]:
    """One PNG per image in ``folder`` (created if missing): ``00000.png``, ... or ``00000-label3.png``.

    Each file has the provenance chunks plus its ``index`` (and ``label``), so a single image still says where it
    came from. ``start`` numbers a batch that continues earlier ones, ``total`` (all the batches together) sets the
    width of the numbers, so a stream written batch by batch is named as one folder written at once.
    """
    images, folder = _check_images(images), Path(folder)
    folder.mkdir(exist_ok=True)
    width = max(5, len(str((total or start + len(images)) - 1)))
    paths = []
    for offset, image in enumerate(images):
        i = start + offset
        label = None if labels is None else int(labels[offset])
        path = folder / (f"{i:0{width}d}.png" if label is None else f"{i:0{width}d}-label{label}.png")
        with atomic_output(path) as tmp:
            _to_pil(image).save(tmp, format="PNG", pnginfo=png_info({**(provenance or {}), "index": i,
                                                                      "label": label}))
        paths.append(path)
    return paths


def save_tensors(images: torch.Tensor, path: str | os.PathLike[str], *, labels: Sequence[int] | None = None,
                 provenance: dict[str, object] | None = None) -> Path:
    """``images`` (float32, (N, C, H, W) in [0, 1]) and their ``labels`` as ``.pt`` (torch.load) or ``.npz``.

    ``.pt`` holds ``{"images", "labels", "provenance"}``; ``.npz`` holds the arrays ``images``, ``labels`` (when
    conditional) and ``provenance`` (a JSON string). Both record the imggen version and that a machine made them.
    """
    path, images = Path(path), _check_images(images)
    record = {"version": __version__, "machine_generated": True,
              **{k: v for k, v in (provenance or {}).items() if v is not None}}
    label_tensor = None if labels is None else torch.as_tensor(list(labels), dtype=torch.long)
    with atomic_output(path) as tmp:
        if path.suffix.lower() == ".pt":
            torch.save({"images": images, "labels": label_tensor, "provenance": record}, tmp)
        elif path.suffix.lower() == ".npz":
            arrays = {"images": images.numpy(), "provenance": np.array(json.dumps(record))}
            if label_tensor is not None:
                arrays["labels"] = label_tensor.numpy()
            with open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
        else:
            raise ValueError(f"output {str(path)!r} must end in .pt or .npz to save tensors")
    return path
