"""MATLAB's ``imresize(x, scale, 'bicubic')`` in torch, and ITU-R BT.601 colour conversion as MATLAB's ``rgb2ycbcr``.

The super-resolution literature makes its low-resolution images with MATLAB's bicubic ``imresize`` (Set5, Set14 and
the papers' training sets) and measures PSNR on the BT.601 luma of ``rgb2ycbcr``. Both differ from torch's own
``interpolate(mode="bicubic")``: MATLAB's cubic kernel has a = -0.5 (torch uses -0.75), downscaling widens the kernel
by the scale (antialiasing; torch has ``antialias=True`` but with its own kernel), and borders are mirrored
(symmetric padding). Matching them is what makes trained models and measured numbers comparable with published ones.

Each axis is resized by gathering the few input pixels an output pixel depends on and summing them with their
weights, so memory grows with the picture, never with its square.
"""

from __future__ import annotations

import math

import torch

#: BT.601 studio-swing luma and chroma of RGB in [0, 1], as MATLAB's rgb2ycbcr (Y in [16, 235] / 255)
_RGB_TO_YCBCR = torch.tensor([[65.481, 128.553, 24.966],
                              [-37.797, -74.203, 112.0],
                              [112.0, -93.786, -18.214]], dtype=torch.float64) / 255
_YCBCR_OFFSET = torch.tensor([16.0, 128.0, 128.0], dtype=torch.float64) / 255


def cubic(x: torch.Tensor, a: float = -0.5) -> torch.Tensor:
    """Keys' cubic convolution kernel with parameter ``a`` (MATLAB's bicubic uses -0.5), zero beyond |x| = 2."""
    ax = x.abs()
    ax2, ax3 = ax * ax, ax * ax * ax
    near = (a + 2) * ax3 - (a + 3) * ax2 + 1
    far = a * ax3 - 5 * a * ax2 + 8 * a * ax - 4 * a
    return torch.where(ax <= 1, near, torch.where(ax < 2, far, torch.zeros_like(ax)))


def resize_weights(in_len: int, out_len: int, scale: float, antialias: bool = True
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(indices, weights)``, each ``(out_len, taps)``: output pixel i is ``sum_k weights[i, k] * x[indices[i, k]]``.

    As MATLAB's ``contributions``: output pixel i (1-based) sits at input coordinate ``i / scale + (1 - 1 / scale) /
    2``; when shrinking with ``antialias`` the kernel is stretched by ``1 / scale`` (and scaled by ``scale``); indices
    outside the picture are mirrored back into it; the weights of each output pixel sum to one.
    """
    stretch = 1 / scale if (scale < 1 and antialias) else 1.0
    width = 4.0 * stretch
    x = torch.arange(1, out_len + 1, dtype=torch.float64)
    u = x / scale + 0.5 * (1 - 1 / scale)
    left = torch.floor(u - width / 2)
    taps = math.ceil(width) + 2
    indices = left[:, None] + torch.arange(taps, dtype=torch.float64)[None, :]
    weights = cubic((u[:, None] - indices) / stretch) / stretch
    weights = weights / weights.sum(1, keepdim=True)
    mirrored = torch.cat([torch.arange(in_len), torch.arange(in_len - 1, -1, -1)])
    indices = mirrored[(indices.long() - 1) % (2 * in_len)]
    used = weights.abs().sum(0) > 0  # drop taps no output pixel uses (MATLAB does the same)
    return indices[:, used], weights[:, used]


def _resize_axis(x: torch.Tensor, dim: int, out_len: int, scale: float, antialias: bool) -> torch.Tensor:
    indices, weights = resize_weights(x.shape[dim], out_len, scale, antialias)
    x = x.movedim(dim, -1)
    gathered = x[..., indices.to(x.device)]  # (..., out_len, taps)
    out = (gathered * weights.to(x.device, x.dtype)).sum(-1)
    return out.movedim(-1, dim)


def imresize(images: torch.Tensor, scale: float | None = None, size: tuple[int, int] | None = None,
             antialias: bool = True) -> torch.Tensor:
    """Bicubic resize of ``images`` ``(..., H, W)`` as MATLAB's ``imresize(x, scale, 'bicubic')``, in float.

    Give ``scale`` (the output is ``ceil(H * scale)`` by ``ceil(W * scale)``, as MATLAB) or ``size`` ``(h, w)`` with
    the scale taken from ``h / H``. Float images give float results, neither clamped nor rounded; ``uint8`` images give
    ``uint8`` results rounded after each axis, as MATLAB does for uint8 pictures (that is how the Set5 / Set14 low-
    resolution files were made). Height is resized before width (MATLAB's order for equal scales).
    """
    if (scale is None) == (size is None):
        raise ValueError("imresize takes exactly one of scale= or size=")
    if images.dim() < 2:
        raise ValueError(f"imresize needs images (..., H, W), got shape {tuple(images.shape)}")
    h, w = images.shape[-2:]
    if size is not None:
        out_h, out_w = size
        scale_h, scale_w = out_h / h, out_w / w
    else:
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        scale_h = scale_w = float(scale)
        out_h, out_w = math.ceil(h * scale), math.ceil(w * scale)
    as_uint8 = images.dtype == torch.uint8
    if not images.is_floating_point():
        images = images.double()
    out = _resize_axis(images, images.dim() - 2, out_h, scale_h, antialias)
    if as_uint8:
        out = out.round().clamp(0, 255)
    out = _resize_axis(out, images.dim() - 1, out_w, scale_w, antialias)
    return out.round().clamp(0, 255).to(torch.uint8) if as_uint8 else out


def rgb_to_ycbcr(images: torch.Tensor) -> torch.Tensor:
    """RGB ``(..., 3, H, W)`` in [0, 1] to BT.601 YCbCr in [0, 1] as MATLAB's ``rgb2ycbcr`` (Y in [16, 235] / 255)."""
    if images.dim() < 3 or images.shape[-3] != 3:
        raise ValueError(f"rgb_to_ycbcr needs RGB images (..., 3, H, W), got shape {tuple(images.shape)}")
    matrix = _RGB_TO_YCBCR.to(images.device, images.dtype)
    offset = _YCBCR_OFFSET.to(images.device, images.dtype)
    return torch.einsum("ij,...jhw->...ihw", matrix, images) + offset[:, None, None]


def ycbcr_to_rgb(images: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`rgb_to_ycbcr` (not clamped)."""
    if images.dim() < 3 or images.shape[-3] != 3:
        raise ValueError(f"ycbcr_to_rgb needs YCbCr images (..., 3, H, W), got shape {tuple(images.shape)}")
    inverse = torch.linalg.inv(_RGB_TO_YCBCR).to(images.device, images.dtype)
    offset = _YCBCR_OFFSET.to(images.device, images.dtype)
    return torch.einsum("ij,...jhw->...ihw", inverse, images - offset[:, None, None])


def rgb_to_y(images: torch.Tensor) -> torch.Tensor:
    """The BT.601 luma ``(..., 1, H, W)`` of RGB images in [0, 1] (MATLAB's rgb2ycbcr Y, divided by 255)."""
    return rgb_to_ycbcr(images)[..., :1, :, :]
