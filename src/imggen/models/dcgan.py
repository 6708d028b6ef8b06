"""DCGAN-style convolutional GAN (Radford et al. 2016) for small images, unconditional and class-conditional.

Generator: noise (with a learned label embedding appended when conditional) → a linear projection to a
``widths[0]`` x H/2^k x W/2^k feature map → k transposed convolutions (4x4, stride 2), each followed by a
normalisation and ReLU → a 3x3 convolution to C channels → Tanh, so images come out in [-1, 1]. With the default
three widths, k = 2: 28x28 images start from 7x7 features, and any H, W divisible by 4 work. A generator may have
a discrete latent beside its noise (``num_modes``: an embedded mode index, drawn from the modes' frequencies when
sampling; see :class:`~imggen.models.base.NoiseToImage`), trained on k-means clusters of the training images
(:mod:`imggen.data.clusters`): in place of labels when unconditional, within each class when conditional (the mode's
embedding then stands for the label's).

Discriminator: k strided 4x4 convolutions with LeakyReLU 0.2 and no normalisation (it is meant to be regularised
with the R1 part, which a batch-dependent normalisation would blur), features flattened to ``phi(x)``, then one
logit ``w . phi(x)``; when conditional, plus the projection term ``embed(y) . phi(x)`` (Miyato & Koyama 2018). Spectral
normalisation of every layer is an option (``spectral_norm=True``) for recipes that train without R1.

The generator normalises with GroupNorm by default: it has no running statistics, so the EMA copy a recipe ships and
a one-image ``sample`` behave exactly as during training. ``norm="batch"`` gives the original DCGAN's BatchNorm; such a
generator samples in eval mode (running statistics), whatever mode it is in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from einops import rearrange
from torch import nn

from imggen.models.base import NoiseToImage
from imggen.models.layers import feature_grid, norm_layer, projection_embedding, spectral_norm_if
from imggen.registry import discriminators, generators
from imggen.registry.pretrained import hub_weights


class DCGANGenerator(NoiseToImage):
    """Noise (and optionally a class) to an image through transposed convolutions, Tanh output in [-1, 1]."""

    def __init__(
        self,
        noise_dim: int = 128,
        widths: Sequence[int] = (128, 64, 32),
        image_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 0,
        embed_dim: int = 32,
        norm: str = "group",
        num_modes: int = 0,
    ) -> None:
        super().__init__()
        if len(widths) < 2:
            raise ValueError(f"widths lists the channels at each resolution, at least two, got {tuple(widths)}")
        self.noise_dim, self.num_classes, self.image_shape = noise_dim, num_classes, tuple(image_shape)
        self.init_modes(num_modes)
        self.grid = feature_grid(self.image_shape, len(widths) - 1)
        codes = num_modes or num_classes  # a conditional generator with modes embeds the mode (its class's own)
        self.embed = nn.Embedding(codes, embed_dim) if codes else None
        fan_in = noise_dim + (embed_dim if codes else 0)
        self.project = nn.Linear(fan_in, widths[0] * self.grid[0] * self.grid[1])
        self.stem = nn.Sequential(norm_layer(norm, widths[0]), nn.ReLU())
        blocks: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:], strict=True):
            blocks += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), norm_layer(norm, c_out), nn.ReLU()]
        self.blocks = nn.Sequential(*blocks)
        self.to_image = nn.Conv2d(widths[-1], self.image_shape[0], 3, padding=1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Raw network: noise ``(B, noise_dim)`` (and class labels, or mode indices when ``num_modes``) → images
        ``(B, C, H, W)`` in [-1, 1]."""
        if self.embed is not None:
            if labels is None:
                if self.num_modes:
                    raise ValueError(f"this generator has {self.num_modes} latent modes: pass mode indices "
                                     "(sample() draws them itself)")
                raise ValueError(f"this generator is conditional on {self.num_classes} classes: pass labels")
            z = torch.cat([z, self.embed(labels)], dim=1)
        h, w = self.grid
        x = rearrange(self.project(z), "b (c h w) -> b c h w", h=h, w=w)
        return torch.tanh(self.to_image(self.blocks(self.stem(x))))


class DCGANDiscriminator(nn.Module):
    """Image (and optionally a class) to one real/fake logit per image: strided convolutions, LeakyReLU, projection."""

    def __init__(
        self,
        widths: Sequence[int] = (64, 128),
        image_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 0,
        negative_slope: float = 0.2,
        spectral_norm: bool = False,
    ) -> None:
        super().__init__()
        if len(widths) < 1:
            raise ValueError("widths lists the channels after each stride-2 convolution, at least one")
        self.num_classes, self.image_shape = num_classes, tuple(image_shape)
        h, w = feature_grid(self.image_shape, len(widths))
        sn = spectral_norm_if(spectral_norm)
        layers: list[nn.Module] = []
        for c_in, c_out in zip((self.image_shape[0], *widths[:-1]), widths, strict=True):
            layers += [sn(nn.Conv2d(c_in, c_out, 4, stride=2, padding=1)), nn.LeakyReLU(negative_slope)]
        self.features = nn.Sequential(*layers)
        feature_dim = widths[-1] * h * w
        self.logit = sn(nn.Linear(feature_dim, 1))
        self.embed = sn(projection_embedding(num_classes, feature_dim)) if num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images ``(B, C, H, W)`` in [-1, 1] → logits ``(B,)``."""
        phi = rearrange(self.features(x), "b c h w -> b (c h w)")
        out = self.logit(phi).squeeze(1)
        if self.embed is not None:
            if labels is None:
                raise ValueError(f"this discriminator is conditional on {self.num_classes} classes: pass labels")
            out = out + (self.embed(labels) * phi).sum(dim=1)
        return out


MNIST = {"image_shape": (1, 28, 28)}
CONDITIONAL = {**MNIST, "num_classes": 10}
RECIPE_V1 = ("imggen recipe v1 (recipes/{}.toml): non-saturating loss on logits, R1 1, Adam 2e-4 with beta1 = 0 and "
             "a linear decay over the second half, batch 64, EMA 0.999 of the generator")
#: the shipped weights: registered name -> ``(tag, sha256 of its model.safetensors, how it was made[, the
#: constructor arguments it needs beyond the registered defaults])``, the default first; from the Hub only
WEIGHTS: dict[str, list[tuple[str, str, str] | tuple[str, str, str, dict[str, Any]]]] = {
    "gan-dcgan-mnist": [("v3", "634531e177892b9fc85ead9cf3f17f2f1decd28382d52c02b8588eaa8ff01fff",
                         "imggen recipe v3 (recipes/gan-dcgan-mnist-v3.toml): v2 with 100 latent modes instead of 50",
                         {"num_modes": 100}),
                        ("v2", "8262e390e9488f5abda7b0eddb244789676e6b141c9ecf4a2eb22fd50a72a52f",
                         "imggen recipe v2 (recipes/gan-dcgan-mnist-v2.toml): v1 with 50 latent modes trained on "
                         "k-means clusters of the training pixels, projection discriminator over the clusters",
                         {"num_modes": 50}),
                        ("v1", "0974bf093fdc56e98a4dba4aeade963293eb3865e23554337749ef03ec4e3e9d",
                         RECIPE_V1.format("gan-dcgan-mnist"))],
    "cgan-dcgan-mnist": [("v3", "812edca6147d492534772610cf17c898d33766652c35fed2f93dc5a092317aa2",
                          "imggen recipe v3 (recipes/cgan-dcgan-mnist-v3.toml): v1 with the projection discriminator "
                          "also shown real images with wrong labels (a twentieth of each batch), 60 epochs"),
                         ("v1", "951cc4879a1a0adeb6ce91cba1197b6eacdf4af153d1af5c5b2e49125e1f6ff2",
                          RECIPE_V1.format("cgan-dcgan-mnist") + ", projection discriminator")],
    "cgan-dcgan-fashion": [("v2", "083dc10cd1158cccc4033c836d6e56365a23138e7eca207ae6fd943e32f8bc6b",
                            "imggen recipe v2 (recipes/cgan-dcgan-fashion-v2.toml): v1 with ten latent modes per "
                            "class (k-means clusters within each class), projection discriminator over the modes",
                            {"num_modes": 100}),
                           ("v1", "293ec997bb195b7730e9ef752b3348f6ca948f024caf327fb6a9920c68e06e60",
                            RECIPE_V1.format("cgan-dcgan-fashion") + ", projection discriminator, 60 epochs")],
}

for name, defaults, what in (
    ("gan-dcgan-mnist", MNIST, "DCGAN-style convolutional GAN generator for MNIST"),
    ("cgan-dcgan-mnist", CONDITIONAL, "DCGAN-style conditional GAN generator for MNIST digits (label embedding)"),
    ("cgan-dcgan-fashion", CONDITIONAL, "DCGAN-style conditional GAN generator for Fashion-MNIST (label embedding)"),
):
    generators.register(name, defaults=defaults, discriminator="dcgan", description=what,
                        pretrained=hub_weights(name, WEIGHTS.get(name, [])))(DCGANGenerator)
discriminators.register("dcgan", defaults=MNIST, description="DCGAN-style convolutional discriminator (projection "
                        "discriminator when conditional; spectral norm optional)")(DCGANDiscriminator)
