"""A tiny generator and discriminator, registered through entry points (see this plugin's pyproject.toml)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from imggen.models.base import Generator, draw_normal
from imggen.registry import spec


@spec(description="Tiny example generator from a third-party plugin",
      defaults={"noise_dim": 8, "image_shape": (3, 8, 8), "num_classes": 4}, discriminator="example-disc")
class TinyGenerator(Generator):
    """Noise (+ one-hot class) → one linear layer → an image in [0, 1]."""

    def __init__(self, noise_dim: int = 16, image_shape: Sequence[int] = (1, 8, 8), num_classes: int = 0) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.num_classes = num_classes
        self.image_shape = tuple(image_shape)
        c, h, w = self.image_shape
        self.net = nn.Linear(noise_dim + num_classes, c * h * w)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Raw network: noise ``(B, noise_dim)`` → images ``(B, C, H, W)`` in [-1, 1]."""
        if self.num_classes:
            z = torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], dim=1)
        return torch.tanh(self.net(z)).view(-1, *self.image_shape)

    def generate(self, n: int, labels: torch.Tensor | None, rng: torch.Generator | None) -> torch.Tensor:
        z = draw_normal((n, self.noise_dim), rng, self.device)  # on rng's device: the model's, or the CPU's
        labels = labels.to(self.device) if labels is not None else None
        return (self(z, labels) + 1) / 2


@spec(description="Tiny example discriminator from a third-party plugin")
class TinyDiscriminator(nn.Module):
    """Image (+ class, by projection) → one raw logit per image."""

    def __init__(self, image_shape: Sequence[int] = (3, 8, 8), num_classes: int = 0) -> None:
        super().__init__()
        c, h, w = image_shape
        self.net = nn.Linear(c * h * w, 1)
        self.embed = nn.Embedding(num_classes, c * h * w) if num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        flat = x.flatten(1)
        logits = self.net(flat).squeeze(1)
        if self.embed is not None and labels is not None:
            logits = logits + (self.embed(labels) * flat).sum(1)
        return logits
