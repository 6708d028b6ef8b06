"""PacGAN (Lin et al. 2018): the discriminator judges packs of samples, so a generator that repeats itself is caught.

A pack of ``m`` real images varies more than a pack of ``m`` samples from a generator that has dropped part of the
data, and a discriminator that sees whole packs can tell the two apart; the generator then has to cover the data to
fool it. Only the discriminator's input layer changes (``m`` times the channels); the generator stays as it is.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn


class PackedDiscriminator(nn.Module):
    """Applies ``discriminator`` (built for ``pack`` times the channels) to packs of ``pack`` consecutive images.

    Returns one logit per pack. For conditional models the images of a pack share a label; the first one's is used.
    """

    def __init__(self, discriminator: nn.Module, pack: int) -> None:
        super().__init__()
        self.discriminator, self.pack = discriminator, pack

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if x.shape[0] % self.pack:
            raise ValueError(f"a batch of {x.shape[0]} images does not split into packs of {self.pack}")
        packed = rearrange(x, "(b m) c h w -> b (m c) h w", m=self.pack)
        return self.discriminator(packed, labels[::self.pack] if labels is not None else None)


def grouped_permutation(labels: torch.Tensor, pack: int, generator: torch.Generator) -> torch.Tensor:
    """A random order of all indices in which each run of ``pack`` consecutive ones shares a label.

    Up to ``pack - 1`` images of each class are left out (a different few each call).
    """
    packs = []
    for label in labels.unique():
        idx = (labels == label).nonzero().squeeze(1)
        idx = idx[torch.randperm(len(idx), generator=generator)]
        packs.append(idx[:len(idx) // pack * pack].view(-1, pack))
    grouped = torch.cat(packs)
    return grouped[torch.randperm(len(grouped), generator=generator)].flatten()
