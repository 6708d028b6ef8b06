"""Feature networks for the metrics: small per-dataset CNN classifiers whose penultimate layer is the feature space.

Why: Fréchet distance and friends need a feature space; Inception weights are downloaded at run time, while these
ship inside the package, so ``imggen.metrics`` works offline. Their logits give the class predictions used by the
class-histogram metrics and conditional accuracy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from einops import rearrange
from torch import nn

from imggen.registry import feature_extractors
from imggen.registry.pretrained import hub_weight


def check_images(x: Any, image_shape: Sequence[int], who: str = "feature network") -> torch.Tensor:
    """``x`` unchanged if it is a float batch (N, C, H, W) of ``image_shape`` in [0, 1]; else a ValueError.

    Why: a feature network fed [-1, 1] images, uint8 pixels or NaNs returns numbers, just wrong ones.
    """
    c, h, w = image_shape
    if not isinstance(x, torch.Tensor):
        raise ValueError(f"{who} expects a torch.Tensor of images, got {type(x).__name__}; use torch.as_tensor(x)")
    if x.dim() != 4:
        raise ValueError(
            f"{who} expects a batch of images of shape (N, {c}, {h}, {w}), got shape {tuple(x.shape)}; "
            "add the batch axis with x.unsqueeze(0) or the channel axis with x.unsqueeze(1)"
        )
    if x.shape[1] != c:
        fix = ("average RGB to grey with x.mean(1, keepdim=True)" if c == 1
               else f"repeat grey with x.expand(-1, {c}, -1, -1)")
        raise ValueError(f"{who} expects {c} channel(s), got {x.shape[1]} (shape {tuple(x.shape)}); {fix}")
    if tuple(x.shape[2:]) != (h, w):
        raise ValueError(
            f"{who} expects {h}x{w} images, got {x.shape[2]}x{x.shape[3]}; resize with "
            f"torch.nn.functional.interpolate(x, size=({h}, {w}), mode='bilinear') or pick a matching network"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{who} got an empty batch (0 images)")
    if not x.is_floating_point():
        raise ValueError(
            f"{who} expects float images in [0, 1], got dtype {x.dtype}; convert uint8 with x.float() / 255"
        )
    bad = ~torch.isfinite(x).flatten(1).all(dim=1)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} of {x.shape[0]} images contain NaN or inf; the generator diverged or its weights "
            "are corrupt (check training losses, or load a good checkpoint)"
        )
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 1:
        raise ValueError(
            f"{who} expects values in [0, 1], got values in [{lo:.3g}, {hi:.3g}]; map Tanh outputs with "
            "(x + 1) / 2, divide 0..255 pixels by 255, or use Generator.sample (which returns [0, 1])"
        )
    return x


class FeatureNet(nn.Module):
    """Base of feature networks: ``features(x)`` for the metrics, ``forward(x)`` logits, input checks in one place.

    Subclasses set ``image_shape`` (C, H, W), ``num_features``, ``num_classes`` (0 when the logits are not classes of
    ``dataset``) and ``dataset`` (the imggen dataset name whose classes the logits predict, or ``None``), and
    implement :meth:`features_and_logits` on checked input.
    """

    image_shape: tuple[int, int, int]
    num_features: int
    num_classes: int = 0
    dataset: str | None = None

    def check(self, x: Any) -> torch.Tensor:
        """Validate images for this network (see :func:`check_images`)."""
        return check_images(x, self.image_shape, f"{type(self).__name__} ({self.dataset or 'any'})")

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Penultimate features ``(N, num_features)`` and logits ``(N, num_classes)`` of images in [0, 1]."""
        raise NotImplementedError

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate-layer features ``(N, num_features)`` of images in [0, 1]: the metrics' feature space."""
        return self.features_and_logits(x)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits ``(N, num_classes)`` of images in [0, 1]."""
        return self.features_and_logits(x)[1]


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """3x3 conv, batch norm, ReLU, then 2x2 max pool (halves height and width)."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                         nn.MaxPool2d(2))


class SmallCNN(FeatureNet):
    """A small CNN classifier for 28x28 grey images; its penultimate ReLU layer is the metrics' feature space."""

    def __init__(self, channels: Sequence[int] = (32, 64), num_features: int = 128, num_classes: int = 10,
                 image_shape: Sequence[int] = (1, 28, 28), dataset: str | None = None, mean: float = 0.5,
                 std: float = 0.5, dropout: float = 0.2) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.num_features, self.num_classes, self.dataset = num_features, num_classes, dataset
        self.mean, self.std = mean, std
        c, h, w = self.image_shape
        widths = [c, *channels]
        self.body = nn.Sequential(*(conv_block(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)))
        cells = (h >> len(channels)) * (w >> len(channels))
        self.embed = nn.Sequential(nn.Linear(widths[-1] * cells, num_features), nn.ReLU())
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(num_features, num_classes))
        # set after training to 1 / RMS of the train set's features, so features are O(1) per dimension (as KID's
        # cubic kernel (x·y/d + 1)^3 assumes); saved with the weights
        self.register_buffer("feature_scale", torch.ones(()))
        self.eval()  # a feature network is used frozen; the training recipe switches it to train mode

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.check(x)
        x = self.body((x.to(self.embed[0].weight.dtype) - self.mean) / self.std)
        hidden = self.embed(rearrange(x, "b c h w -> b (c h w)"))
        return hidden * self.feature_scale, self.head(hidden)


MNIST_CNN = hub_weight(
    "mnist-cnn", "v1", sha256="6137f0f7f3fcbf7740c4159d4fdc3ced793aa9bdd99c11a327ffb3cfc44b623a",
    description="SmallCNN trained by recipes/features/mnist-cnn.toml on the MNIST train split",
)
FASHION_CNN = hub_weight(
    "fashion-cnn", "v1", sha256="3c37b1752d06a08e8065aafed7b5c5009a5ea43fa3427e1efec957b16f306b5d",
    description="SmallCNN trained by recipes/features/fashion-cnn.toml on the Fashion-MNIST train split",
)

feature_extractors.register(
    "mnist-cnn", pretrained=[MNIST_CNN], defaults={"dataset": "mnist"},
    description="Small CNN MNIST classifier; 128-d penultimate features for the metrics",
)(SmallCNN)
feature_extractors.register(
    "fashion-cnn", pretrained=[FASHION_CNN], defaults={"dataset": "fashion-mnist"},
    description="Small CNN Fashion-MNIST classifier; 128-d penultimate features for the metrics",
)(SmallCNN)
