"""Adversarial losses (on raw discriminator logits) and the discriminator penalties registered as training parts."""

from imggen.losses.adversarial import (
    AdversarialLoss,
    HingeLoss,
    LeastSquaresLoss,
    NonSaturatingLoss,
    RelativisticPairingLoss,
    WassersteinLoss,
)
from imggen.losses.penalties import GradientPenalty, R1Penalty, input_gradient_norm

__all__ = [
    "AdversarialLoss", "GradientPenalty", "HingeLoss", "LeastSquaresLoss", "NonSaturatingLoss", "R1Penalty",
    "RelativisticPairingLoss", "WassersteinLoss", "input_gradient_norm",
]
