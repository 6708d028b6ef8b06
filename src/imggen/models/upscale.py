"""What every super-resolution model shares: ``upscale`` for tensors and PIL pictures, tiling, and its training loss.

A family implements only ``forward``: the low-resolution luma ``(N, 1, h, w)`` in [0, 1] (BT.601 Y of MATLAB's
``rgb2ycbcr``, divided by 255) to the high-resolution luma ``(N, 1, s*h, s*w)``. :meth:`Upscaler.upscale` does the
rest, as the SRCNN and ESPCN papers do: a colour picture is converted to YCbCr, the model upscales Y, Cb and Cr are
upscaled with MATLAB's bicubic, and the result is converted back to RGB. A grey picture is the colour picture whose
three channels are equal (so it comes back grey); an alpha channel is upscaled with bicubic and kept.

``self_ensemble=True`` averages the model over the 8 flips and quarter turns of the picture, each upscaled and turned
back (the geometric self-ensemble of EDSR+, Lim et al. 2017): eight times the work for a smoother estimate, about
0.1 dB of Y-PSNR for ESPCN x3 on Set5. The plain call is what the weights' recorded numbers measure.

Pictures of any size are upscaled in tiles of at most ``tile`` low-resolution pixels a side, each read with
``context`` pixels of its neighbours (the model's receptive field), so memory holds the result and one tile's
activations, and the tiled result equals the whole-picture one (to float rounding).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from imggen.data.augment import dihedral
from imggen.data.resize import imresize, rgb_to_y, rgb_to_ycbcr, ycbcr_to_rgb
from imggen.errors import UnknownNameError, WeightsError
from imggen.models.base import Model
from imggen.registry import create_model, generators

#: low-resolution tile side ``upscale`` works in by default (a 256x256 tile of SRCNN x4 holds ~1.1 GB of activations)
DEFAULT_TILE = 128
#: low-resolution pixels the training loss drops from each side of a patch's bicubic downscale: there the bicubic
#: kernel (4 low-resolution pixels wide) would reach outside the patch, so those pixels differ from the same place of
#: the whole picture's downscale
DEGRADATION_MARGIN = 2
#: PIL modes upscaled as they are; any other mode is converted to RGB (or RGBA when it has transparency) first
PIL_MODES = ("L", "LA", "RGB", "RGBA")
#: the scales imggen's super-resolution families are registered at
SR_SCALES = (2, 3, 4)


class Upscaler(Model):
    """Base class of super-resolution models (see the module docstring); subclasses set ``scale`` and ``context``
    and implement ``forward`` on the luma."""

    #: the family's name (``espcn``), for messages naming the model to use at another scale
    family: ClassVar[str] = "upscaler"
    scale: int
    #: low-resolution pixels on each side of a pixel that its output depends on (how much tiles overlap)
    context: int

    def forward(self, luma: torch.Tensor) -> torch.Tensor:
        """Raw network: low-resolution luma ``(N, 1, h, w)`` in [0, 1] to ``(N, 1, scale*h, scale*w)``."""
        raise NotImplementedError

    @property
    def min_size(self) -> int:
        """The smallest low-resolution side ``upscale`` accepts: the width of the model's receptive field."""
        return 2 * self.context + 1

    # -- inference --------------------------------------------------------------------------------------
    @torch.no_grad()
    def upscale(self, images: torch.Tensor | Image.Image, *, scale: int | None = None,
                tile: int = DEFAULT_TILE, self_ensemble: bool = False) -> torch.Tensor | Image.Image:
        """``images`` ``scale`` times larger: a tensor ``(N, C, H, W)`` or ``(C, H, W)`` in [0, 1] with C = 1 (grey),
        2 (grey + alpha), 3 (RGB) or 4 (RGBA) gives a float tensor of the same layout on the model's device, values in
        [0, 1]; a PIL picture gives a PIL picture (modes other than L, LA, RGB and RGBA are converted to RGB, or RGBA
        when they carry transparency). ``scale``, when given, must be the model's. ``tile`` bounds the low-resolution
        tile side (memory), never the result. ``self_ensemble`` averages the luma over the 8 symmetries of the square
        (see the module docstring: 8 times the work)."""
        if scale is not None and scale != self.scale:
            raise ValueError(f"this {self.family} model upscales by {self.scale}, not {scale}: use "
                             f"create_model('{self.family}-x{scale}', pretrained=True) for x{scale}")
        if not isinstance(tile, int) or isinstance(tile, bool) or tile < 1:
            raise ValueError(f"tile is a side in low-resolution pixels >= 1, got {tile!r}")
        if isinstance(images, Image.Image):
            return to_pil(self.upscale(from_pil(images), tile=tile, self_ensemble=self_ensemble))
        if not isinstance(images, torch.Tensor):
            raise TypeError("upscale takes a tensor (N, C, H, W) in [0, 1] or a PIL image, got "
                            f"{type(images).__name__}")
        single = images.dim() == 3
        batch = self._checked(images.unsqueeze(0) if single else images)
        grey = batch.shape[1] in (1, 2)
        colour = batch[:, :1].expand(-1, 3, -1, -1) if grey else batch[:, :3]
        alpha = batch[:, 1 if grey else 3:]  # empty without one
        planes = torch.cat([rgb_to_ycbcr(colour), alpha], dim=1)
        was_training = self.training
        self.eval()
        try:
            out = tiled(partial(self._upscale_planes, self_ensemble=self_ensemble), planes, self.scale, tile,
                        self.context)
        finally:
            self.train(was_training)
        rgb = ycbcr_to_rgb(out[:, :3]).clamp(0, 1)
        result = rgb.mean(1, keepdim=True) if grey else rgb
        result = torch.cat([result, out[:, 3:].clamp(0, 1)], dim=1)
        return result[0] if single else result

    def _upscale_planes(self, planes: torch.Tensor, self_ensemble: bool = False) -> torch.Tensor:
        """The model on the luma plane (averaged over the square's symmetries with ``self_ensemble``), bicubic on the
        others (chroma, alpha)."""
        dtype = next(self.parameters(), planes).dtype
        luma = planes[:, :1].to(dtype)
        luma = (symmetry_mean(self, luma) if self_ensemble else self(luma)).float()
        return torch.cat([luma, imresize(planes[:, 1:], scale=self.scale)], dim=1)

    def _checked(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4:
            raise ValueError(f"upscale takes images (N, C, H, W) or one (C, H, W), got shape {tuple(images.shape)}")
        if not images.is_floating_point():
            raise TypeError(f"upscale takes float images in [0, 1], got {images.dtype}: divide 8-bit pictures by 255")
        n, c, h, w = images.shape
        if c not in (1, 2, 3, 4):
            raise ValueError(f"upscale takes 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA) channels, got {c}")
        if min(h, w) < self.min_size:
            raise ValueError(f"the picture is {w}x{h} pixels, smaller than the {self.min_size}x{self.min_size} this "
                             f"{self.family} x{self.scale} model sees around each pixel; upscale a larger picture "
                             "(or resize this one with bicubic)")
        if n and (images.min() < -1e-3 or images.max() > 1 + 1e-3):
            raise ValueError(f"upscale takes images in [0, 1], got values in [{float(images.min()):.3g}, "
                             f"{float(images.max()):.3g}]")
        return images.to(self.device, torch.float32)

    # -- training ---------------------------------------------------------------------------------------
    def training_loss(self, images: torch.Tensor, labels: torch.Tensor | None,
                      rng: torch.Generator | None) -> dict[str, torch.Tensor]:
        """Mean squared error on the luma of high-resolution patches ``images`` ``(N, 1 or 3, P, P)`` in [0, 1].

        Each patch is flipped / rotated at random (one of the 8 symmetries of the square, from ``rng``), cropped to a
        multiple of ``scale`` and downscaled with MATLAB's bicubic (the degradation of the test sets' LR files); the
        :data:`DEGRADATION_MARGIN` low-resolution pixels nearest the patch's edges are dropped with the
        high-resolution pixels they cover, so the model trains on exactly the LR pixels the whole picture's downscale
        has there. ``labels`` are ignored."""
        hr = rgb_to_y(images) if images.shape[1] == 3 else images
        side = min(hr.shape[-2:]) // self.scale * self.scale
        hr = dihedral(hr[..., :side, :side], rng)
        m = DEGRADATION_MARGIN
        if side // self.scale <= 2 * m:
            raise ValueError(f"training patches of {side} pixels are too small for x{self.scale}: they need more "
                             f"than {2 * m * self.scale} pixels a side")
        lr = imresize(hr, scale=1 / self.scale)[..., m:-m, m:-m]
        target = hr[..., m * self.scale:-m * self.scale, m * self.scale:-m * self.scale]
        mse = F.mse_loss(self(lr).float(), target)
        return {"loss": mse, "psnr": -10 * torch.log10(mse.detach().clamp(min=1e-10))}


def symmetry_mean(fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor) -> torch.Tensor:
    """The mean of ``fn`` (an upscaler, or any map of pictures to pictures) over the 8 symmetries of the square: each
    flipped / quarter-turned copy of ``images`` ``(N, C, H, W)`` goes through ``fn`` and is turned back before
    averaging, so the result turns and flips exactly as its input does (any H and W: a quarter turn swaps them)."""
    total: torch.Tensor | None = None
    for turns in range(4):
        for flip in (False, True):
            view = torch.rot90(images, turns, dims=(-2, -1))
            out = fn(view.flip(-1) if flip else view)
            out = torch.rot90(out.flip(-1) if flip else out, -turns, dims=(-2, -1))
            total = out if total is None else total + out
    assert total is not None
    return total / 8


def tiled(fn: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, scale: int, tile: int,
          context: int) -> torch.Tensor:
    """``fn`` (a ``scale``-times upscaler) applied to ``images`` ``(N, C, H, W)`` in tiles of at most ``tile`` pixels a
    side, each read with ``context`` extra pixels on every side that has neighbours and cropped back, so the result
    equals ``fn(images)`` when ``context`` covers ``fn``'s receptive field."""
    n, _, h, w = images.shape
    if h <= tile and w <= tile:
        return fn(images)
    out: torch.Tensor | None = None
    for top in range(0, h, tile):
        for left in range(0, w, tile):
            bottom, right = min(top + tile, h), min(left + tile, w)
            r0, c0 = max(top - context, 0), max(left - context, 0)
            r1, c1 = min(bottom + context, h), min(right + context, w)
            piece = fn(images[..., r0:r1, c0:c1])
            if out is None:
                out = piece.new_empty(n, piece.shape[1], h * scale, w * scale)
            out[..., top * scale:bottom * scale, left * scale:right * scale] = piece[
                ..., (top - r0) * scale:(bottom - r0) * scale, (left - c0) * scale:(right - c0) * scale]
    assert out is not None
    return out


def from_pil(image: Image.Image) -> torch.Tensor:
    """A PIL picture as a float ``(C, H, W)`` tensor in [0, 1] (see :data:`PIL_MODES` for the conversion)."""
    if image.mode not in PIL_MODES:
        transparent = image.mode in ("P", "PA") and "transparency" in image.info or image.mode == "PA"
        image = image.convert("RGBA" if transparent else "RGB")
    array = np.asarray(image)
    array = array[..., None] if array.ndim == 2 else array
    return torch.from_numpy(array.copy()).permute(2, 0, 1).float() / 255


def to_pil(images: torch.Tensor) -> Image.Image:
    """A ``(C, H, W)`` tensor in [0, 1] as an 8-bit PIL picture (L, LA, RGB or RGBA by its channels)."""
    array = (images.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).cpu().numpy()
    return Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)  # L, LA, RGB or RGBA


def receptive_context(radius_hr: int, scale: int, bicubic: bool = False) -> int:
    """Low-resolution pixels of context for a network that sees ``radius_hr`` high-resolution pixels on each side
    (plus the 2 low-resolution pixels of a bicubic upscaling in front of it, when ``bicubic``)."""
    return math.ceil(radius_hr / scale) + (2 if bicubic else 0)


def scale_arg(scale: Any) -> int:
    """``scale`` if it is an integer upscaling factor >= 2, else a clear error."""
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 2:
        raise ValueError(f"scale is an integer upscaling factor >= 2, got {scale!r}")
    return scale


def upscaler_name(model: str, scale: int) -> str:
    """The registered name (or folder) ``model`` means at ``scale``: a family (``espcn``) becomes ``espcn-x3``; a
    name that already says its scale (``espcn-x3``, ``espcn-x3.v1``) or a folder is kept as it is."""
    arch = model.partition(".")[0]
    if "/" in model or os.sep in model or os.path.isdir(model) or re.search(r"-x\d+$", arch):
        return model
    return f"{model}-x{scale}"


def create_upscaler(model: str = "espcn", scale: int = 3, **kwargs: Any) -> Upscaler:
    """The super-resolution model ``model`` (a family such as ``espcn``, ``srcnn``, ``bicubic``; a registered name
    such as ``espcn-x3`` or ``espcn-x3.v1``; or a weights folder) for ``scale``, with its pretrained weights, checked
    to upscale by ``scale``: a clear error names what to use instead."""
    name = upscaler_name(model, scale)
    arch = name.partition(".")[0]
    is_folder = os.path.isdir(name) and arch not in generators
    if not is_folder and arch not in generators:
        known = sorted({n.rsplit("-x", 1)[0] for n in generators.list("*-x*")})
        raise UnknownNameError(f"no super-resolution model {arch!r} for x{scale}; families: {', '.join(known)} "
                               f"(at scales {', '.join(f'x{s}' for s in SR_SCALES)}); see imggen.list_models('*-x*')")
    has_weights = not is_folder and bool(generators.get(arch).pretrained_cfgs)
    built = create_model(name, pretrained=has_weights, **kwargs)
    if not isinstance(built, Upscaler):
        raise TypeError(f"{name} is a {type(built).__name__}, not a super-resolution model")
    if not has_weights and not is_folder and any(True for _ in built.parameters()):
        raise WeightsError(f"{arch} has no pretrained weights yet, so it would upscale with an untrained network; "
                           "use a model with weights (imggen.list_models('*-x*', pretrained=True)) or bicubic")
    if built.scale != scale:
        raise ValueError(f"{name} upscales by {built.scale}, not {scale}: pass scale={built.scale} or a model for "
                         f"x{scale}")
    return built
