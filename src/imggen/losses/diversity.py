"""Mode seeking (MSGAN, Mao et al. 2019): a generator regulariser against intra-class mode collapse."""

from __future__ import annotations

import torch
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
