"""GAN objectives written on logits: each gives the discriminator's and the generator's loss.

Logits instead of Sigmoid + BCELoss keep the loss finite when the discriminator is confident, which is one of
the reasons the seed's recipe stalls.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from imggen.registry import losses


class AdversarialLoss(nn.Module):
    """A GAN objective: ``d_loss(real_logits, fake_logits)`` and ``g_loss(fake_logits, real_logits)``, both scalars.

    ``relativistic`` losses compare each fake logit with a real one, so the generator's loss needs the real logits
    too; the trainer computes and passes them only to such losses (the others ignore ``real``).
    """

    relativistic = False

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        raise NotImplementedError


@losses.register("ns")
class NonSaturatingLoss(AdversarialLoss):
    """Non-saturating GAN loss (Goodfellow et al. 2014): binary cross-entropy on logits."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(-real).mean() + F.softplus(fake).mean()

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        return F.softplus(-fake).mean()


@losses.register("hinge")
class HingeLoss(AdversarialLoss):
    """Hinge loss (Lim & Ye 2017; SAGAN, BigGAN): the discriminator only learns from margin violations."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        return -fake.mean()


@losses.register("lsgan")
class LeastSquaresLoss(AdversarialLoss):
    """Least-squares GAN (Mao et al. 2017): real logits pulled to 1, fake to 0."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((real - 1).pow(2).mean() + fake.pow(2).mean())

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        return 0.5 * (fake - 1).pow(2).mean()


@losses.register("wgan")
class WassersteinLoss(AdversarialLoss):
    """Wasserstein critic loss (Arjovsky et al. 2017); pair it with the ``gp`` penalty (WGAN-GP)."""

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return fake.mean() - real.mean()

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        return -fake.mean()


def paired(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """``real`` repeated along the batch to ``fake``'s length, so fake logit ``i`` meets real logit ``i mod n``
    (logits ``(B,)`` or patch logits ``(B, K)``, as a projected discriminator gives)."""
    times = -(-fake.shape[0] // real.shape[0])
    return real.repeat(times, *[1] * (real.dim() - 1))[: fake.shape[0]]


@losses.register("rpgan")
class RelativisticPairingLoss(AdversarialLoss):
    """Relativistic pairing GAN (RpGAN; Jolicoeur-Martineau 2019, R3GAN, Huang et al. 2024): the discriminator
    only learns how much more real each real image looks than a fake one, which leaves the generator no
    mode-dropping optimum: a fake can only beat the real images it is paired with by moving toward them."""

    relativistic = True

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return F.softplus(fake - paired(real, fake)).mean()

    def g_loss(self, fake: torch.Tensor, real: torch.Tensor | None = None) -> torch.Tensor:
        if real is None:
            raise ValueError("the rpgan loss compares fakes with reals: pass the real logits to g_loss")
        return F.softplus(paired(real, fake) - fake).mean()
