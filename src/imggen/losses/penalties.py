"""Gradient regularisers of the discriminator, registered as training parts: R1 (Mescheder et al. 2018) and WGAN-GP
(Gulrajani et al. 2017). A part's ``d_penalty`` is added to the discriminator's loss by the adversarial task."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from imggen.registry import parts

Critic = Callable[[torch.Tensor, torch.Tensor | None], torch.Tensor]


def input_gradient_norm(critic: Critic, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """Per-sample L2 norm of d critic(x) / d x, kept in the graph so a penalty on it can be trained."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x, labels).sum(), x, create_graph=True)
    return grad.flatten(1).norm(dim=1)


@parts.register("r1")
class R1Penalty(nn.Module):
    """R1: ``gamma / 2 * E[|grad D(real)|^2]``; keeps the discriminator smooth on real data."""

    def __init__(self, gamma: float = 10.0) -> None:
        super().__init__()
        if not gamma >= 0:
            raise ValueError(f"r1 gamma is a weight >= 0, got {gamma}")
        self.gamma = gamma

    def forward(self, critic: Critic, real: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return 0.5 * self.gamma * input_gradient_norm(critic, real, labels).pow(2).mean()

    def d_penalty(self, critic: Critic, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None,
                  fake_labels: torch.Tensor | None, rng: torch.Generator | None) -> torch.Tensor:
        return self(critic, real, labels)


@parts.register("gp")
class GradientPenalty(nn.Module):
    """WGAN-GP: ``weight * E[(|grad D(x_hat)| - 1)^2]`` on random interpolates of real and fake."""

    def __init__(self, weight: float = 10.0) -> None:
        super().__init__()
        if not weight >= 0:
            raise ValueError(f"gp weight is >= 0, got {weight}")
        self.weight = weight

    def forward(self, critic: Critic, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        alpha = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device, generator=generator)
        mixed = alpha * real.detach() + (1 - alpha) * fake.detach()
        return self.weight * (input_gradient_norm(critic, mixed, labels) - 1).pow(2).mean()

    def d_penalty(self, critic: Critic, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None,
                  fake_labels: torch.Tensor | None, rng: torch.Generator | None) -> torch.Tensor:
        return self(critic, real, fake, labels, generator=rng)
