"""The classifier task: trains the metrics' feature networks (``mnist-cnn``, ``fashion-cnn`` and the timm-based ones)
on the same loop as every generative family, from recipes in ``recipes/features/``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from imggen.data import load_images
from imggen.data.augment import random_affine, random_hflip
from imggen.metrics import FeatureNet
from imggen.registry import create_feature_extractor, tasks
from imggen.train.tasks.base import Task

if TYPE_CHECKING:
    from imggen.train.loop import Trainer


@tasks.register("classifier")
class ClassifierTask(Task):
    """Cross-entropy training of a registered feature network on the loop's dataset and its labels.

    ``optimizer`` is ``adam`` (AdamW with ``weight_decay``) or ``sgd`` (with ``momentum`` and ``nesterov``).
    ``augment`` holds ``rotate_deg``, ``translate_px`` and ``scale`` of a random affine warp per image and ``hflip``,
    the probability of a left-right mirror (a mirrored garment is the same garment; a mirrored digit is not). At the end
    the network's features are scaled to unit root mean square on 10,000 training images, so distances in every feature
    space are on one scale.
    """

    def __init__(self, lr: float = 3e-3, betas: Sequence[float] = (0.9, 0.999), weight_decay: float = 0.0,
                 optimizer: str = "adam", momentum: float = 0.9, nesterov: bool = False,
                 label_smoothing: float = 0.0, augment: dict[str, float] | None = None) -> None:
        self.config = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        self.lr, self.betas, self.weight_decay, self.label_smoothing = lr, betas, weight_decay, label_smoothing
        self.optimizer_args = {"kind": optimizer, "momentum": momentum, "nesterov": nesterov}
        self.augment = dict(augment or {})
        self.hflip = float(self.augment.pop("hflip", 0.0))

    def setup(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.model = create_feature_extractor(trainer.model_name, pretrained=False, **trainer.model_args)
        if not isinstance(self.model, FeatureNet):
            raise TypeError(f"the classifier task trains a FeatureNet; {trainer.model_name!r} is not one")
        self.model.to(trainer.device).train()
        self.opt = trainer.optimizer(self.model.parameters(), self.lr, self.betas, self.weight_decay,
                                     **self.optimizer_args)
        self.net = trainer.wrap(self.model)

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"model": self.opt}

    def protocol(self) -> dict[str, Any]:
        return {"reference": f"{self.trainer.dataset.name}:test", "metric": "top-1 accuracy"}

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.augment:
            images = random_affine(images, self.trainer.step_rng, **self.augment)
        if self.hflip:
            images = random_hflip(images, self.trainer.step_rng, self.hflip)
        with self.trainer.autocast():
            loss = F.cross_entropy(self.net(images).float(), labels, label_smoothing=self.label_smoothing)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return {"loss": loss.detach()}

    @torch.no_grad()
    def accuracy(self, model: nn.Module, split: str = "test", batch_size: int = 1000) -> float:
        """Top-1 accuracy of ``model`` on a split of the loop's dataset."""
        data = load_images(self.trainer.dataset.name, split)
        was_training = model.training
        model.eval()
        correct = sum(int((model(data.images[i:i + batch_size].to(self.trainer.device).float() / 255).argmax(1)
                           == data.labels[i:i + batch_size].to(self.trainer.device)).sum())
                      for i in range(0, len(data), batch_size))
        model.train(was_training)
        return correct / len(data)

    def evaluate(self, model: nn.Module, n: int, seed: int) -> dict[str, float]:
        return {"test_accuracy": self.accuracy(model)}

    @torch.no_grad()
    def finish(self, model: nn.Module) -> dict[str, Any]:
        """Scale the features to unit root mean square over the first 10,000 training images."""
        model.eval()
        model.feature_scale.fill_(1.0)
        images = self.trainer.images[:10000]
        total = sum(float(model.features(images[i:i + 1000]).float().square().sum())
                    for i in range(0, len(images), 1000))
        rms = (total / (len(images) * model.num_features)) ** 0.5
        model.feature_scale.fill_(1 / rms)
        return {"feature_rms": rms}
