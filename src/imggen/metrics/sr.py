"""Super-resolution metrics as the literature measures them: PSNR and SSIM on the BT.601 luma.

The protocol of the SRCNN / ESPCN / EDSR tables: the model upscales the provided MATLAB-bicubic LR file; the luma of
its output and of the HR file (MATLAB ``rgb2ycbcr``, Y in [16, 235]) are rounded to 8 bits as MATLAB's uint8 pictures
are; ``scale`` pixels are cropped from each border; PSNR uses a peak of 255, SSIM is Wang et al.'s (2004): an 11x11
Gaussian window of sigma 1.5, K1 = 0.01, K2 = 0.03, on Y in [0, 255], averaged over the valid part of the map.
Numbers are the mean over the pictures of a set.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

import torch

from imggen.data.resize import rgb_to_y
from imggen.data.sr import TEST_SETS, load_pairs

#: metric names an SR evaluation reports, per test set (``set5_psnr``, ...); higher is better for both
SR_METRICS = ("psnr", "ssim")


def psnr(a: torch.Tensor, b: torch.Tensor, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB between two pictures of the same shape, values in [0, ``peak``]."""
    if a.shape != b.shape:
        raise ValueError(f"psnr needs pictures of the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")
    mse = float(((a.double() - b.double()) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)


def gaussian_window(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """The normalised 1-D Gaussian whose outer product is SSIM's window (MATLAB's ``fspecial('gaussian', 11,
    1.5)``)."""
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def _valid_filter(size: int, window: torch.Tensor) -> torch.Tensor:
    """The ``(size - k + 1, size)`` matrix that filters a signal of ``size`` with ``window`` at every position where
    it fits (MATLAB ``filter2(..., 'valid')`` along one axis)."""
    k = len(window)
    matrix = torch.zeros(size - k + 1, size, dtype=torch.float64)
    for i in range(size - k + 1):
        matrix[i, i:i + k] = window
    return matrix


def ssim(a: torch.Tensor, b: torch.Tensor, peak: float = 255.0) -> float:
    """Structural similarity (Wang et al. 2004) of two grey pictures ``(H, W)`` with values in [0, ``peak``]: the
    mean of the SSIM map over the window positions that fit inside the picture (MATLAB ``filter2(..., 'valid')``).

    The 11x11 Gaussian window is separable, so the local means are two matrix products in float64: exact and fast."""
    if a.shape != b.shape or a.dim() != 2:
        raise ValueError(f"ssim needs two grey pictures (H, W) of the same shape, got {tuple(a.shape)} and "
                         f"{tuple(b.shape)}")
    if min(a.shape) < 11:
        raise ValueError(f"ssim's 11x11 window needs pictures of at least 11x11, got {tuple(a.shape)}")
    window = gaussian_window()
    rows, cols = _valid_filter(a.shape[0], window), _valid_filter(a.shape[1], window)

    def local_mean(x: torch.Tensor) -> torch.Tensor:
        return rows @ x @ cols.T

    x, y = a.double(), b.double()
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2
    mu_x, mu_y = local_mean(x), local_mean(y)
    var_x = local_mean(x * x) - mu_x**2
    var_y = local_mean(y * y) - mu_y**2
    cov = local_mean(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return float(ssim_map.mean())


def luma_255(rgb: torch.Tensor) -> torch.Tensor:
    """The 8-bit luma ``(H, W)`` (values 16..235, as a float tensor) of an RGB picture ``(3, H, W)`` in [0, 1]."""
    return (rgb_to_y(rgb.double().clamp(0, 1))[0] * 255).round()


def shave(picture: torch.Tensor, border: int) -> torch.Tensor:
    """``picture`` ``(..., H, W)`` without ``border`` pixels on each side."""
    return picture[..., border:picture.shape[-2] - border, border:picture.shape[-1] - border] if border else picture


@torch.no_grad()
def evaluate_upscaler(model: Any, sets: Sequence[str] = TEST_SETS, root: str | os.PathLike[str] | None = None,
                      per_image: bool = False, self_ensemble: bool = False) -> dict[str, Any]:
    """Mean Y-PSNR and Y-SSIM of ``model.upscale`` on each of ``sets`` at the model's scale, as ``{"set5_psnr": ...,
    "set5_ssim": ..., ...}`` (with ``per_image``, also ``"<set>_images": {name: {"psnr", "ssim"}}``);
    ``self_ensemble`` scores ``model.upscale(..., self_ensemble=True)``."""
    scale = int(model.scale)
    options = {"self_ensemble": True} if self_ensemble else {}  # a plugin's upscale need not know the option
    results: dict[str, Any] = {}
    for name in sets:
        scores: dict[str, dict[str, float]] = {}
        for pair in load_pairs(name, scale, root):
            sr = model.upscale(pair.lr.float() / 255, **options).cpu()
            hr = pair.hr.double() / 255
            if sr.shape != hr.shape:  # HR files are cut to a multiple of the scale, so this is a mismatched pair
                raise ValueError(f"{name}/{pair.name}: x{scale} of the LR file is {tuple(sr.shape)}, the HR file is "
                                 f"{tuple(hr.shape)}")
            y_sr, y_hr = shave(luma_255(sr), scale), shave(luma_255(hr), scale)
            scores[pair.name] = {"psnr": psnr(y_sr, y_hr), "ssim": ssim(y_sr, y_hr)}
        key = name.lower()
        for metric in SR_METRICS:
            results[f"{key}_{metric}"] = sum(s[metric] for s in scores.values()) / len(scores)
        if per_image:
            results[f"{key}_images"] = scores
    return results
