"""Feature networks built from timm: a small timm ResNet per dataset, a second feature space for the metrics.

Why: recipes chosen by their scores in one network's space can learn that network's blind spots. A second space
with a different design (residual blocks, a deep stem, global average pooling; built by ``timm.create_model``) and a
different training recipe (SGD with a cosine schedule, other augmentation) checks every number independently. The
``mnist-cnn`` / ``fashion-cnn`` networks stay the defaults; pick these with ``feature_extractor="mnist-timm-resnet"``
or ``imggen eval --features mnist-timm-resnet``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from imggen.metrics.features import FeatureNet
from imggen.registry import feature_extractors
from imggen.registry.pretrained import hub_weight


class TimmResNet(FeatureNet):
    """A timm ResNet (``timm.create_model``) adapted to 28x28 grey images; its pooled features are the metrics' space.

    The stem keeps its stride-2 convolution but drops its max pool, so the four stages see 14, 7, 4 and 2 pixels
    instead of timm's 7, 4, 2 and 1 on such small images. ``channels`` and ``stem_width`` size the network.
    """

    def __init__(self, arch: str = "resnet10t", channels: Sequence[int] = (24, 48, 96, 192), stem_width: int = 16,
                 num_classes: int = 10, image_shape: Sequence[int] = (1, 28, 28), dataset: str | None = None,
                 mean: float = 0.5, std: float = 0.5, drop_rate: float = 0.0) -> None:
        import timm  # imported here: timm takes a second to import and only these networks need it

        super().__init__()
        self.image_shape = tuple(image_shape)
        self.num_classes, self.dataset, self.mean, self.std = num_classes, dataset, mean, std
        if not arch.startswith("resnet") or arch not in timm.list_models("resnet*"):
            raise ValueError(f"TimmResNet adapts timm ResNets; {arch!r} is not one (choose from "
                             "timm.list_models('resnet*'), e.g. 'resnet10t' or 'resnet18')")
        self.net = timm.create_model(arch, pretrained=False, in_chans=self.image_shape[0], num_classes=num_classes,
                                     channels=tuple(channels), stem_width=stem_width, drop_rate=drop_rate)
        self.net.maxpool = nn.Identity()
        self.num_features = self.net.num_features
        # 1 / RMS of the train set's features after training (see SmallCNN), saved with the weights
        self.register_buffer("feature_scale", torch.ones(()))
        self.eval()

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.check(x)
        dtype = self.net.get_classifier().weight.dtype
        pooled = self.net.forward_head(self.net.forward_features((x.to(dtype) - self.mean) / self.std),
                                       pre_logits=True)
        return pooled * self.feature_scale, self.net.get_classifier()(pooled)


#: per-dataset pixel mean and std of the train split, used to normalise the input
STATS = {"mnist": (0.1307, 0.3081), "fashion-mnist": (0.2860, 0.3530)}


def register_bundled(name: str, dataset: str, title: str, sha256: str) -> None:
    """Register ``name``: a TimmResNet for ``dataset`` with its bundled ``name.v1`` weights (made by its recipe)."""
    recipe = f"recipes/features/{name}.toml"
    weights = hub_weight(name, "v1", sha256=sha256, description=f"TimmResNet trained by {recipe} on the {title} "
                         "train split")
    feature_extractors.register(
        name, pretrained=[weights], defaults={"dataset": dataset, "mean": STATS[dataset][0], "std": STATS[dataset][1]},
        description=f"narrow timm resnet10t (stem without max pool) {title} classifier; 192-d pooled features",
    )(TimmResNet)


register_bundled("mnist-timm-resnet", "mnist", "MNIST",
                 "d908bc4f82ddbe233c3694d5b60beed3a07c65ebe279519851f4bc1ed604d658")
register_bundled("fashion-timm-resnet", "fashion-mnist", "Fashion-MNIST",
                 "8ae0488a5429fb83825f4d9006120f1135407e06597cbb74bb8d4864ced779ac")
