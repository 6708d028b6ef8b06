"""MLP GAN and conditional GAN from the seed (section 1.1 and 3.1), for 28x28 datasets such as MNIST.

Generator: noise (+ one-hot label) → 256 → 512 → 1024 → C·H·W, ReLU then Tanh. Discriminator: image
(+ one-hot label) → 512 → 256 → 1 with LeakyReLU 0.2, returning raw logits (losses use the logits form).
The architecture is the seed's; imggen's gain comes from the training recipe (see ``recipes/``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from imggen.models.base import NoiseToImage, check_int, check_ints
from imggen.registry import discriminators, generators
from imggen.registry.pretrained import hub_weight


def mlp(widths: Sequence[int], act: nn.Module, dropout: float = 0.0) -> nn.Sequential:
    """Linear layers of the given widths with ``act`` between them (none after the last), followed by dropout when
    ``dropout`` > 0. The dropout shares the activation's slot, so the linear layers' state-dict keys never move."""
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout is a probability in [0, 1), got {dropout}")
    hidden = nn.Sequential(act, nn.Dropout(dropout)) if dropout else act
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        layers.append(nn.Linear(fan_in, fan_out))
        if i < len(widths) - 2:
            layers.append(hidden)
    return nn.Sequential(*layers)


def with_one_hot(x: torch.Tensor, labels: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """``x`` with one-hot ``labels`` appended along the feature axis (unchanged when unconditional)."""
    if num_classes == 0:
        return x
    if labels is None:
        raise ValueError(f"this network is conditional on {num_classes} classes: pass labels")
    return torch.cat([x, F.one_hot(labels, num_classes).to(x.dtype)], dim=1)


class MLPGenerator(NoiseToImage):
    """Noise (and optionally a class) to an image through an MLP with a Tanh output in [-1, 1]."""

    def __init__(
        self,
        noise_dim: int = 100,
        widths: Sequence[int] = (256, 512, 1024),
        image_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 0,
    ) -> None:
        super().__init__()
        self.noise_dim, self.num_classes = noise_dim, num_classes  # checked by the Generator base class
        self.image_shape = tuple(image_shape)
        c, h, w = self.image_shape
        self.net = mlp([noise_dim + num_classes, *widths, c * h * w], nn.ReLU())

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Raw network: noise ``(B, noise_dim)`` → images ``(B, C, H, W)`` in [-1, 1]."""
        c, h, w = self.image_shape
        x = torch.tanh(self.net(with_one_hot(z, labels, self.num_classes)))
        return rearrange(x, "b (c h w) -> b c h w", c=c, h=h, w=w)


class MLPDiscriminator(nn.Module):
    """Image (and optionally a class) to one real/fake logit per image.

    ``dropout`` after each hidden layer (as in the first GANs' MNIST discriminator, Goodfellow et al. 2014) is a
    training-time regulariser: it adds no weights, so a recipe may use it and keep the seed's architecture.
    """

    def __init__(
        self,
        widths: Sequence[int] = (512, 256),
        image_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 0,
        negative_slope: float = 0.2,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.num_classes = check_int("num_classes", num_classes)
        self.image_shape = check_ints("image_shape", image_shape, length=3)
        c, h, w = self.image_shape
        self.net = mlp([c * h * w + num_classes, *check_ints("widths", widths), 1], nn.LeakyReLU(negative_slope),
                       dropout)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images ``(B, C, H, W)`` in [-1, 1] → logits ``(B,)``."""
        x = rearrange(x, "b c h w -> b (c h w)")
        return self.net(with_one_hot(x, labels, self.num_classes)).squeeze(1)


MNIST = {"image_shape": (1, 28, 28)}
CONDITIONAL = {**MNIST, "num_classes": 10}


# How each weight was made, in words; what it measures lives in its metadata (shown by imggen info and the zoo).
V2 = ("imggen recipe v2 (recipes/{}.toml): data in [-1, 1], logits loss, R1 penalty, two time-scale Adam "
      "(beta1 0), linear lr decay, EMA generator")
FOLDED = "; the published weight has the scale folded into its first layer (it predates sampling options)"

generators.register(
    "gan-mlp-mnist", defaults=MNIST, discriminator="mlp", description="Seed MLP GAN generator for MNIST",
    pretrained=[
        hub_weight("gan-mlp-mnist", "v7", "2f02781a94b9fdc93e7c25966eee3a79787851b65ee1d43c9f0b30dd9f69da47",
                   "imggen recipe v7 (recipes/gan-mlp-mnist-v7.toml): v5 trained against a discriminator twice as "
                   "wide as the seed's, sampling noise N(0, 1.3^2)" + FOLDED),
        hub_weight("gan-mlp-mnist", "v6", "ae281bcdb1ae284f8b5d38f48afd912fd5576f8f3a8c59aa2e0b90cea2989d64",
                   "imggen recipe v6 (recipes/gan-mlp-mnist-v6.toml): v5 with sampling noise N(0, 1.3^2)" + FOLDED),
        hub_weight("gan-mlp-mnist", "v5", "9efc88a96c14c65b927bf650fc6f11e8ff1458eef86c594d43a285fdc1aee1e5",
                   "imggen recipe v5 (recipes/gan-mlp-mnist-v5.toml): v4 with a slower EMA still (0.99995)"),
        hub_weight("gan-mlp-mnist", "v4", "279e2255e52fdccdabb0275c6f2ee02acd598e5410528b6a6c64d5236ef89af1",
                   "imggen recipe v4 (recipes/gan-mlp-mnist-v4.toml): v3 with a weaker R1 penalty (3)"),
        hub_weight("gan-mlp-mnist", "v3", "7e543beda1db0edc75cadb20f9852375494c873cd3f8a234c265810867e9a9de",
                   "imggen recipe v3 (recipes/gan-mlp-mnist-v3.toml): v2 with a slower EMA of the generator (0.9999)"),
        hub_weight("gan-mlp-mnist", "v2", "ec85f40848d67c3e12852b75008ea6a23c8938b64faecea86bd8074e4b2d29a3",
                   V2.format("gan-mlp-mnist")),
        hub_weight("gan-mlp-mnist", "seed", "8b67e72d2468efe9ffc58ee124f69a0d308a74cd69ae30c9ba5bc6bc3eec9f88",
                   "the seed's recipe unchanged (recipes/gan-mlp-mnist-seed.toml), kept as the reference row"),
    ],
)(MLPGenerator)
generators.register(
    "cgan-mlp-mnist", defaults=CONDITIONAL, discriminator="mlp",
    description="Seed MLP conditional GAN generator for MNIST digits",
    pretrained=[
        hub_weight("cgan-mlp-mnist", "v7", "29b25c67c921d8c91f24cda3682cabaab36ca747ad3b735ae756e5d0010aa9ee",
                   "imggen recipe v7 (recipes/cgan-mlp-mnist-v7.toml): v6 against a discriminator three times as "
                   "wide as the seed's, wrong labels on a twentieth of each real batch, sampling noise N(0, 1.06^2)"
                   + FOLDED),
        hub_weight("cgan-mlp-mnist", "v6", "89cf819ddeea838b343d7829cdb9b8530fb237422994e0b0ee8e80f88215ac29",
                   "imggen recipe v6 (recipes/cgan-mlp-mnist-v6.toml): v5 against a discriminator twice as wide as "
                   "the seed's, sampling noise N(0, 1.06^2)" + FOLDED),
        hub_weight("cgan-mlp-mnist", "v5", "3269fdb2e5e778e2493a42fbefe13c361b5cd288a397f05c348b254100972b18",
                   "imggen recipe v5 (recipes/cgan-mlp-mnist-v5.toml): v2 with a slower EMA (0.99995), R1 3 and a "
                   "tenth of each real batch shown with wrong labels"),
        hub_weight("cgan-mlp-mnist", "v4", "045d6ebc346dd4ae31ee9984430c376673cf5decf7b5012375fc179516cb0f17",
                   "imggen recipe v4 (recipes/cgan-mlp-mnist-v4.toml): v3 with a slower EMA of the generator (0.9999)"),
        hub_weight("cgan-mlp-mnist", "v3", "3eff50337609dae6d4a2e8c3d94f6964b3e4c57ccc0a3fda53b0fcbbae93e50c",
                   "imggen recipe v3 (recipes/cgan-mlp-mnist-v3.toml): v2 plus a matching-aware discriminator (a "
                   "quarter of each real batch shown with wrong labels)"),
        hub_weight("cgan-mlp-mnist", "v2", "b7c9a9bd031cb5ca5ce5e4c85c999d57eb790ace5987330ce647d7bdad7bc9d7",
                   V2.format("cgan-mlp-mnist")),
    ],
)(MLPGenerator)
generators.register(
    "cgan-mlp-fashion", defaults=CONDITIONAL, discriminator="mlp",
    description="Seed MLP conditional GAN generator for Fashion-MNIST",
    pretrained=[
        hub_weight("cgan-mlp-fashion", "v4", "aea4feff5489c7fcbce733360c82fd6d905c23502ce35c71214ab1b2a93cda41",
                   "imggen recipe v4 (recipes/cgan-mlp-fashion-v4.toml): v3 against a discriminator twice as wide as "
                   "the seed's, sampling noise N(0, 0.8^2)" + FOLDED),
        hub_weight("cgan-mlp-fashion", "v3", "b9395b61020cd5d4279fa2258313df8ffdd008d6af9190262e944d4e1ffefb3f",
                   "imggen recipe v3 (recipes/cgan-mlp-fashion-v3.toml): v2 with a slower EMA of the generator "
                   "(0.9999)"),
        hub_weight("cgan-mlp-fashion", "v2", "d631b11c1fd7d48d013e1e9206758a5dada6cbbac3800a56153868b0e28255f9",
                   V2.format("cgan-mlp-fashion")),
    ],
)(MLPGenerator)
discriminators.register("mlp", defaults=MNIST, description="Seed MLP discriminator (one-hot label input when "
                        "conditional)")(MLPDiscriminator)
