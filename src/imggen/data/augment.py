"""Augmentations: the seed's dataset transforms, and DiffAugment for GAN training.

Dataset transforms change the data distribution itself, so a GAN learns them: a horizontally flipped "2" is not a
"2", a rotated "6" can become a "9", and colour jitter means nothing on grey digits but shifts stroke intensity.
Use them for classifiers or for datasets whose classes are symmetric (most of Fashion-MNIST's are left-right).
DiffAugment (Zhao et al. 2020) instead augments real and fake images alike, differentiably, inside the
discriminator step; the generator never learns the augmentation, so it does not leak into samples.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import torch
import torch.nn.functional as F
from torchvision.transforms import v2

DIFF_AUGMENT_POLICIES = ("color", "translation", "cutout")


def seed_transforms(flip: bool = True, rotation: float = 10.0, color_jitter: float = 0.0) -> v2.Compose:
    """The seed's augmentations (section 6.1) as a torchvision transform for PIL images or tensors."""
    steps: list[Callable] = []
    if flip:
        steps.append(v2.RandomHorizontalFlip())
    if rotation:
        steps.append(v2.RandomRotation(rotation))
    if color_jitter:
        steps.append(v2.ColorJitter(brightness=color_jitter, contrast=color_jitter))
    return v2.Compose(steps)


def _uniform(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """One uniform [0, 1) number per sample, shaped to broadcast over (C, H, W)."""
    return torch.rand(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype, generator=generator)


def color(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random brightness, saturation and contrast per sample."""
    x = x + (_uniform(x, generator) - 0.5)
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_uniform(x, generator) * 2) + mean
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, generator) + 0.5) + mean


def translation(x: torch.Tensor, ratio: float = 0.125, generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each sample by up to ``ratio`` of its size in whole pixels, filling with zeros."""
    n, _, h, w = x.shape
    unit = torch.rand(n, 2, device=x.device, generator=generator) * 2 - 1  # (x, y); no host tensors: graph-safe
    theta = torch.zeros(n, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 2] = -2 * torch.round(unit[:, 0] * (w * ratio)) / w
    theta[:, 1, 2] = -2 * torch.round(unit[:, 1] * (h * ratio)) / h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="nearest", padding_mode="zeros", align_corners=False)


def cutout(x: torch.Tensor, ratio: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """Zero one random square of side ``ratio`` of the image in each sample."""
    n, _, h, w = x.shape
    size_h, size_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    centre = torch.rand(n, 2, device=x.device, generator=generator)
    cy = (centre[:, 0] * (h + 1 - size_h % 2)).long().view(n, 1, 1)
    cx = (centre[:, 1] * (w + 1 - size_w % 2)).long().view(n, 1, 1)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = ((ys - cy).abs() < size_h / 2) & ((xs - cx).abs() < size_w / 2)
    return x * (~inside).unsqueeze(1).to(x.dtype)


class DiffAugment:
    """Differentiable augmentation applied identically in distribution to real and fake batches."""

    def __init__(self, policies: Iterable[str] = DIFF_AUGMENT_POLICIES) -> None:
        self.policies = tuple(policies)
        unknown = [p for p in self.policies if p not in DIFF_AUGMENT_POLICIES]
        if unknown:
            raise ValueError(f"unknown DiffAugment policy {unknown}; choose from {', '.join(DIFF_AUGMENT_POLICIES)}")
        self._ops = {"color": color, "translation": translation, "cutout": cutout}

    def __bool__(self) -> bool:
        return bool(self.policies)

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        for policy in self.policies:
            x = self._ops[policy](x, generator=generator)
        return x

    def augment(self, x: torch.Tensor, rng: torch.Generator | None = None) -> torch.Tensor:
        """The training-part hook: what the adversarial task applies to every discriminator input."""
        return self(x, generator=rng)


def random_affine(x: torch.Tensor, rng: torch.Generator | None, rotate_deg: float = 0.0, translate_px: float = 0.0,
                  scale: float = 0.0) -> torch.Tensor:
    """Each image rotated, shifted and scaled by a small random amount (one batched ``grid_sample``), in [0, 1].

    Why: light augmentation lifts a small classifier's test accuracy with few epochs, without changing what a class
    is; a GAN must not see it (it would learn it), so only the classifier task uses it.
    """
    n, _, h, _ = x.shape
    u = torch.rand(n, 4, generator=rng, device=x.device) * 2 - 1
    angle = u[:, 0] * math.radians(rotate_deg)
    s = 1 + u[:, 1] * scale
    shift = u[:, 2:] * (2 * translate_px / h)
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="zeros", align_corners=False).clamp(0, 1)


def random_hflip(x: torch.Tensor, rng: torch.Generator | None, p: float) -> torch.Tensor:
    """Each image mirrored left to right with probability ``p``."""
    flip = torch.rand(x.shape[0], generator=rng, device=x.device) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def binarize(x: torch.Tensor, rng: torch.Generator | None) -> torch.Tensor:
    """Each pixel of ``x`` (in [0, 1]) set to 1 with its grey level as probability, else 0.

    The binarized-MNIST protocol (Salakhutdinov & Murray 2008) as likelihood models use it: a fresh draw per batch
    while training (dynamic binarization), one fixed seeded draw of the test split for evaluation
    (:func:`imggen.data.binarized_test_split`), so every model's NLL is measured on the same binary images.
    """
    return torch.bernoulli(x, generator=rng)


def dihedral(images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Each square image ``(N, C, S, S)`` under one of the 8 symmetries of the square (flips and quarter turns),
    drawn uniformly per image from ``generator``: the augmentation of super-resolution training, where a flipped or
    rotated natural picture is as natural as the original."""
    if images.shape[-1] != images.shape[-2]:
        raise ValueError(f"dihedral augmentation needs square images, got {tuple(images.shape[-2:])}")
    choice = torch.randint(0, 8, (images.shape[0],), generator=generator, device=generator.device
                           if generator is not None else images.device).to(images.device)
    out = torch.empty_like(images)
    for k in range(8):
        picked = choice == k
        if picked.any():
            x = images[picked]
            x = torch.rot90(x, k % 4, dims=(-2, -1))
            out[picked] = x.flip(-1) if k >= 4 else x
    return out
