"""A loss and a trainer, registered through entry points without any imggen metadata (docstrings suffice)."""

from __future__ import annotations

import torch
import torch.nn.functional as F


class HingeLoss:
    """Hinge loss on raw discriminator logits (example plugin)."""

    def __init__(self, margin: float = 1.0) -> None:
        self.margin = margin

    def discriminator(self, real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
        return F.relu(self.margin - real_logits).mean() + F.relu(self.margin + fake_logits).mean()

    def generator(self, fake_logits: torch.Tensor) -> torch.Tensor:
        return -fake_logits.mean()


class ExampleTrainer:
    """A trainer that only records its settings (example plugin)."""

    def __init__(self, steps: int = 10, lr: float = 2e-4) -> None:
        self.steps = steps
        self.lr = lr
