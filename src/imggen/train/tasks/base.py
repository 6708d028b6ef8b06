"""What a family adds to the one training loop: a small task object.

The loop (:class:`imggen.train.Trainer`) owns everything families share: data on the device and its seeded order,
precision, compile / CUDA graphs, DDP, EMA, learning-rate schedules, checkpoints and exact resume, the divergence
guard, logging, periodic evaluation and export. A task owns what differs: which networks it builds, their optimisers,
how a batch becomes losses, and how the result is measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

if TYPE_CHECKING:
    from imggen.train.loop import Trainer


class Task:
    """Base class of training tasks.

    ``setup(trainer)`` builds the networks (on ``trainer.device``, wrapped with ``trainer.wrap``) and their
    optimisers (``trainer.optimizer``); ``step(images, labels)`` runs one optimisation step on ``batches_per_step``
    stacked batches of images in [0, 1] and returns its losses as tensors (no device sync). ``model`` is the network
    that is exported (the loop keeps its EMA).
    """

    #: batches the loop stacks into one step (a GAN's discriminator steps per generator step)
    batches_per_step: int = 1
    model: nn.Module

    def setup(self, trainer: Trainer) -> None:
        raise NotImplementedError

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def networks(self) -> dict[str, nn.Module]:
        """The networks a checkpoint holds, by name."""
        return {"model": self.model}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """The optimisers a checkpoint holds (and the learning-rate schedule scales), by name."""
        raise NotImplementedError

    def init_targets(self) -> dict[str, nn.Module]:
        """The networks pretrained weights can start (the trainer's ``init``), by role: ``model`` (the exported
        network) and, for tasks that have one, ``discriminator``; the same roles name a training bundle's parts."""
        return {"model": self.model}

    def evaluate(self, model: nn.Module, n: int, seed: int, **options: Any) -> dict[str, float]:
        """Metrics of the exported ``model`` (``n`` samples or images, seeded); ``options`` are the task's own (a
        recipe's ``[eval]`` keys besides ``n``)."""
        raise NotImplementedError

    def finish(self, model: nn.Module) -> dict[str, Any]:
        """Last touches to the exported ``model`` before it is evaluated and saved; returns metadata to record."""
        return {}

    def protocol(self) -> dict[str, Any]:
        """How this task's data were prepared and its results measured, recorded in every exported weight."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """Everything the task needs to continue exactly: network and optimiser states."""
        return {**{f"net.{k}": v.state_dict() for k, v in self.networks().items()},
                **{f"opt.{k}": v.state_dict() for k, v in self.optimizers().items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, net in self.networks().items():
            net.load_state_dict(state[f"net.{name}"])
        for name, opt in self.optimizers().items():
            opt.load_state_dict(state[f"opt.{name}"])


def generative_metrics(model: nn.Module, dataset: str, n: int, seed: int,
                       feature_extractors: Sequence[str] = ()) -> dict[str, float]:
    """The zoo's metrics of a generator against ``dataset``'s test split (see :func:`imggen.metrics.evaluate`), and
    FD, precision and recall in each further feature space of ``feature_extractors`` under ``"fd@NAME"`` (and so on).

    Why: a result measured in one feature network's space can be that network's blind spot (or, with a projected
    discriminator, what its backbone taught it); a second space checks it."""
    from imggen.metrics import evaluate

    metrics = evaluate(model, n=n, reference=f"{dataset}:test", seed=seed)
    for name in feature_extractors:
        other = evaluate(model, n=n, reference=f"{dataset}:test", seed=seed, feature_extractor=name, metrics="fd,pr")
        metrics.update({f"{key}@{name}": value for key, value in other.items()})
    return metrics
