"""Super-resolution data: the Set5 / Set14 test pairs and BSD100 training patches, from ``$IMGGEN_DATA_DIR/sr``.

Layout (the literature's, as shipped by most SR repositories): ``sr/<Set>/image_SRF_<s>/img_NNN_SRF_<s>_HR.png`` (the
high-resolution picture, cropped to a multiple of ``s``) and ``..._LR.png`` (its MATLAB bicubic downscale). BSD100 is
used for training, high-resolution pictures only: :func:`load_patches` cuts them into overlapping square patches of
their BT.601 luma (8-bit, as MATLAB's ``rgb2ycbcr`` of a uint8 picture), and the model's training loss makes the
low-resolution input from each patch with the MATLAB bicubic (:func:`imggen.data.resize.imresize`).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from einops import rearrange
from PIL import Image

from imggen.data.datasets import DATA_ENV, DataNotFoundError, ImageSet, data_root
from imggen.data.resize import rgb_to_y

#: the SR sets imggen knows, by lower-case name: their folder under ``<data root>/sr``
SR_SETS = {"set5": "Set5", "set14": "Set14", "bsd100": "BSD100"}
#: sets with low-resolution files at every scale (evaluation) and the set used for training patches
TEST_SETS, TRAIN_SET = ("set5", "set14"), "bsd100"
SCALES = (2, 3, 4)
#: training patch side and stride (high-resolution pixels): 60 is a multiple of every scale
PATCH, STRIDE = 60, 30


@dataclass(frozen=True)
class SRPair:
    """One test picture: ``lr`` and ``hr`` as uint8 ``(3, h, w)`` and ``(3, H, W)`` RGB tensors."""

    name: str
    lr: torch.Tensor
    hr: torch.Tensor


def sr_folder(name: str, scale: int = 2, root: str | os.PathLike[str] | None = None) -> Path:
    """The folder of ``name``'s pictures at ``scale`` (``<root>/sr/Set5/image_SRF_3``), or a clear error saying where
    it was looked for and how to provide it."""
    key = name.lower()
    if key not in SR_SETS:
        raise ValueError(f"unknown super-resolution set {name!r}; known: {', '.join(SR_SETS)}")
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    base = data_root(root) / "sr" / SR_SETS[key]
    folder = base / f"image_SRF_{scale if key != TRAIN_SET else 2}"
    if not folder.is_dir() or not any(folder.glob("*_HR.png")):
        raise DataNotFoundError(
            f"{SR_SETS[key]} not found: no *_HR.png in {folder}. Fix: set {DATA_ENV} to a folder holding "
            f"sr/{SR_SETS[key]}/image_SRF_<scale>/ (img_NNN_SRF_<scale>_HR.png and _LR.png, the layout of the "
            "SR benchmark archives), or pass root="
        )
    return folder


def read_rgb(path: str | os.PathLike[str]) -> torch.Tensor:
    """A picture file as a uint8 RGB tensor ``(3, H, W)``."""
    with Image.open(path) as image:
        return torch.from_numpy(np.array(image.convert("RGB"))).permute(2, 0, 1).contiguous()


def folder_sha256(folder: Path, pattern: str) -> dict[str, str]:
    """The sha256 of each file of ``folder`` matching ``pattern``, by name (recorded in trained weights)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob(pattern))}


def load_pairs(name: str, scale: int, root: str | os.PathLike[str] | None = None) -> list[SRPair]:
    """Every (LR, HR) pair of the test set ``name`` at ``scale``, as provided (the LR files are MATLAB's)."""
    folder = sr_folder(name, scale, root)
    pairs = []
    for hr_path in sorted(folder.glob("*_HR.png")):
        lr_path = hr_path.with_name(hr_path.name.replace("_HR.png", "_LR.png"))
        if not lr_path.is_file():
            raise DataNotFoundError(f"{hr_path} has no low-resolution partner {lr_path.name}")
        pairs.append(SRPair(hr_path.name.split("_SRF")[0], read_rgb(lr_path), read_rgb(hr_path)))
    return pairs


def luma_uint8(rgb: torch.Tensor) -> torch.Tensor:
    """The BT.601 luma of a uint8 RGB picture, rounded to uint8 as MATLAB's ``rgb2ycbcr`` of a uint8 picture."""
    return (rgb_to_y(rgb.double() / 255) * 255).round().clamp(0, 255).to(torch.uint8)


def load_patches(name: str = TRAIN_SET, root: str | os.PathLike[str] | None = None, patch: int = PATCH,
                 stride: int = STRIDE) -> ImageSet:
    """Overlapping ``patch`` x ``patch`` luma patches of every high-resolution picture of ``name`` (BSD100), every
    ``stride`` pixels, as an :class:`ImageSet` of uint8 ``(N, 1, patch, patch)`` (labels all 0): the training split
    of an SR model, whose training loss makes the low-resolution input from each patch (larger patches leave less of
    each to the zero padding at its edges; ``patch`` and ``stride`` are set from a recipe's ``data_args``)."""
    if patch < 1 or stride < 1:
        raise ValueError(f"patch and stride must be positive pixel counts, got patch={patch}, stride={stride}")
    folder = sr_folder(name, 2, root)
    patches = []
    for path in sorted(folder.glob("*_HR.png")):
        y = luma_uint8(read_rgb(path))[0]
        if min(y.shape) < patch:
            continue
        grid = y.unfold(0, patch, stride).unfold(1, patch, stride)
        patches.append(rearrange(grid, "gh gw ph pw -> (gh gw) 1 ph pw"))
    if not patches:
        raise DataNotFoundError(f"no picture in {folder} is at least {patch} pixels on each side")
    images = torch.cat(patches).contiguous()
    return ImageSet(name.lower(), "train", images, torch.zeros(len(images), dtype=torch.long), (),
                    folder_sha256(folder, "*_HR.png"))
