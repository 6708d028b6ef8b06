"""A loss and a training part, registered through entry points without any imggen metadata (docstrings suffice)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


class HingeLoss:
    """Hinge loss on raw discriminator logits (example plugin)."""

    def __init__(self, margin: float = 1.0) -> None:
        self.margin = margin

    def d_loss(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.relu(self.margin - real_logits).mean() + F.relu(self.margin + fake_logits).mean()

    def g_loss(self, fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None) -> torch.Tensor:
        return -fake_logits.mean()


class LogitPenalty:
    """Penalises the square of the discriminator's real logits (example plugin part, as in progressive GANs' drift)."""

    def __init__(self, weight: float = 1e-3) -> None:
        self.weight = weight
        self.calls = 0

    def d_penalty(self, critic, real, fake, labels, fake_labels, rng) -> torch.Tensor:
        self.calls += 1
        return self.weight * critic(real, labels).square().mean()
