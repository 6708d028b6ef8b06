"""Backbones for projected discriminators: timm classifiers trained here (offline) by the classifier task.

Why: a projected discriminator (:mod:`imggen.models.projected`) needs a pretrained network to look through, and this
project trains its own instead of downloading ImageNet weights. A backbone must differ from every network that scores
the results (a discriminator working in the evaluation network's feature space lowers that space's FD without better
images), so these use another architecture (a timm ConvNeXt, not the metrics' small CNNs or timm ResNets) and are
trained on another dataset than the GAN they serve (``mnist-timm-convnext`` for Fashion-MNIST GANs,
``fashion-timm-convnext`` for MNIST GANs). They register as feature extractors (the classifier task trains those) but
without a ``dataset`` default, so the metrics never pick them as a feature space.

The imggen weights folder holds the timm network under ``net.``; ``create_discriminator("projected",
backbone="convnext_atto", backbone_weights="imggen:mnist-timm-convnext")`` hands exactly those tensors to timm through
``pretrained_cfg_overlay=dict(file=...)``, with this network's input size, mean and std.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from imggen.metrics.features import FeatureNet
from imggen.registry import feature_extractors


class TimmClassifier(FeatureNet):
    """Any timm classifier (``timm.create_model(arch, in_chans=C, num_classes=...)``) on images resized to
    ``input_size`` and normalised with ``mean`` / ``std``; its pooled pre-logits are the features.

    ``timm_args`` are further ``timm.create_model`` arguments (a narrower variant); a projected discriminator built
    over these weights gets the same ones.
    """

    def __init__(self, arch: str = "convnext_atto", image_shape: Sequence[int] = (1, 28, 28), input_size: int = 32,
                 num_classes: int = 10, mean: float = 0.5, std: float = 0.5, drop_rate: float = 0.0,
                 timm_args: dict[str, Any] | None = None) -> None:
        import timm  # imported here: timm takes a second to import and only these networks need it

        super().__init__()
        self.image_shape = tuple(image_shape)
        self.input_size, self.mean, self.std, self.num_classes = int(input_size), mean, std, num_classes
        self.net = timm.create_model(arch, pretrained=False, in_chans=self.image_shape[0], num_classes=num_classes,
                                     drop_rate=drop_rate, **dict(timm_args or {}))
        self.num_features = self.net.num_features
        self.register_buffer("feature_scale", torch.ones(()))  # set by the classifier task (see SmallCNN)
        self.eval()

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.check(x).to(self.feature_scale.dtype)
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        pooled = self.net.forward_head(self.net.forward_features((x - self.mean) / self.std), pre_logits=True)
        return pooled * self.feature_scale, self.net.get_classifier()(pooled)


#: per-dataset pixel mean and std of the train split (as in :mod:`imggen.metrics.timm_features`)
STATS = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}

for _name, _data, _title in (("mnist-timm-convnext", "mnist", "MNIST"),
                             ("fashion-timm-convnext", "fashion-mnist", "Fashion-MNIST")):
    feature_extractors.register(
        _name, defaults={"arch": "convnext_atto", "input_size": 32, "mean": STATS[_data][0], "std": STATS[_data][1]},
        description=f"timm convnext_atto {_title} classifier at 32x32: a projected discriminator's backbone (not a "
                    f"metrics space; train it with recipes/backbones/{_name}.toml)",
    )(TimmClassifier)
