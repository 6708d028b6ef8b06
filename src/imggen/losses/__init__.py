"""Adversarial losses (on raw discriminator logits) and regularisers, registered by name."""

from imggen.losses.adversarial import (
    AdversarialLoss,
    HingeLoss,
    LeastSquaresLoss,
    NonSaturatingLoss,
    RelativisticPairingLoss,
    WassersteinLoss,
)
from imggen.losses.diversity import IMLELoss, ModeSeekingLoss
from imggen.losses.penalties import GradientPenalty, R1Penalty, input_gradient_norm

__all__ = [
    "AdversarialLoss", "GradientPenalty", "HingeLoss", "IMLELoss", "LeastSquaresLoss", "ModeSeekingLoss",
    "NonSaturatingLoss", "R1Penalty", "RelativisticPairingLoss", "WassersteinLoss", "input_gradient_norm",
]
