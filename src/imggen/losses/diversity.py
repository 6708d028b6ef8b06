"""Generator regularisers against mode collapse: mode seeking (MSGAN) and IMLE (every real image gets a sample)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from imggen.registry import losses


@losses.register("mode_seeking")
class ModeSeekingLoss(nn.Module):
    """``weight / (mean|G(z1) - G(z2)| / mean|z1 - z2|)`` over pairs of samples that share a label.

    Small when two noise vectors give different images, large when the generator maps them to the same one;
    added to the generator's loss it pushes for diversity within each class.
    """

    def __init__(self, weight: float = 1.0, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight, self.eps = weight, eps

    def forward(self, images_a: torch.Tensor, images_b: torch.Tensor, z_a: torch.Tensor,
                z_b: torch.Tensor) -> torch.Tensor:
        ratio = (images_a - images_b).abs().mean() / (z_a - z_b).abs().mean()
        return self.weight / (ratio + self.eps)


@losses.register("imle")
class IMLELoss(nn.Module):
    """Every real image pulls its nearest generated sample toward itself (IMLE, Li & Malik 2018; beside a GAN loss as
    in Inclusive GAN, Yu et al. 2020).

    The adversarial loss only asks that samples look real, so a generator can drop the rarer styles of a class; this
    term asks that every real image has a sample near it, which is what recall measures. :meth:`nearest` picks, for
    each real image, the closest of a pool of ``pool`` samples per real image (pixel L2, within its class when
    labels are given); the loss is ``weight`` times the mean squared pixel error to those picks.
    """

    def __init__(self, weight: float = 1.0, pool: int = 4) -> None:
        super().__init__()
        if weight < 0 or pool < 1:
            raise ValueError(f"imle needs a weight >= 0 and a pool of >= 1 sample per real image; got weight "
                             f"{weight}, pool {pool}")
        self.weight, self.pool = weight, pool

    @staticmethod
    def nearest(real: torch.Tensor, candidates: torch.Tensor, real_labels: torch.Tensor | None = None,
                candidate_labels: torch.Tensor | None = None) -> torch.Tensor:
        """Index into ``candidates`` of the nearest one to each real image (only same-label ones with labels)."""
        dist = torch.cdist(real.flatten(1).float(), candidates.flatten(1).float())
        if real_labels is not None:
            dist = dist.masked_fill(real_labels[:, None] != candidate_labels[None, :], float("inf"))
        return dist.argmin(dim=1)

    def forward(self, real: torch.Tensor, matched: torch.Tensor) -> torch.Tensor:
        return self.weight * F.mse_loss(matched, real)
