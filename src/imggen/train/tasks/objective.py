"""The objective task: the model returns its own training loss (an ELBO, a denoising loss, an NLL, a reconstruction
error) and the task only prepares the batch and takes the optimiser step, as lucidrains' trainers drive
``GaussianDiffusion.forward``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from imggen.data import BINARIZATION_SEED
from imggen.data.augment import binarize
from imggen.metrics import likelihood_metrics, likelihood_test_split
from imggen.metrics.likelihood import INPUTS
from imggen.metrics.sr import evaluate_upscaler
from imggen.models.base import ImageToImage, Likelihood, TrainingObjective
from imggen.registry import create_model, tasks
from imggen.train.tasks.base import Task, generative_metrics

if TYPE_CHECKING:
    from imggen.train.loop import Trainer



@tasks.register("objective")
class ObjectiveTask(Task):
    """Trains a model that implements ``training_loss(images, labels, rng) -> {"loss": ..., ...}``.

    ``inputs`` says what the model sees: ``grey`` (images in [0, 1] as they are) or ``binarized`` (a fresh Bernoulli
    draw per batch; evaluation then uses the fixed seeded binarization of the test split); unset, the model's own
    ``training_inputs`` decides (a Bernoulli VAE says ``binarized``), else ``grey``. ``clip_grad`` bounds the
    gradient norm (0 = off). Models with a likelihood also report ``nll`` (nats per image) on ``nll_n`` test images,
    with ``log_prob_args`` passed to their ``log_prob``. Super-resolution models (``upscale``) train on the high-
    resolution patches of their data (``bsd100``) and are measured with Y-PSNR / SSIM on the SR test sets instead.
    ``init_from`` (a weights folder, run folder or ``arch.tag``) starts the model from those weights instead of a
    fresh initialisation: fine-tuning, e.g. SRCNN x2 from the x3 weights. Every tensor of the same name and shape is
    copied; the others keep their fresh initialisation (ESPCN x2 from x3: all but the last layer, whose outputs are
    the scale's sub-pixels), and at least one must match.
    """

    def __init__(self, lr: float = 1e-3, betas: Sequence[float] = (0.9, 0.999), weight_decay: float = 0.0,
                 inputs: str | None = None, clip_grad: float = 0.0, nll_n: int = 1000,
                 log_prob_args: dict[str, Any] | None = None, init_from: str | None = None) -> None:
        self.config = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        if inputs is not None and inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {', '.join(INPUTS)}, got {inputs!r}")
        if not clip_grad >= 0:
            raise ValueError(f"clip_grad is a gradient norm >= 0 (0 = off), got {clip_grad}")
        self.lr, self.betas, self.weight_decay = lr, betas, weight_decay
        self.inputs, self.clip_grad, self.nll_n = inputs, float(clip_grad), nll_n
        self.log_prob_args = dict(log_prob_args or {})
        self.init_from = init_from

    def setup(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.model = create_model(trainer.model_name, **trainer.model_args).to(trainer.device)
        if not isinstance(self.model, TrainingObjective):
            raise TypeError(f"the objective task trains a model that returns its own loss (training_loss(images, "
                            f"labels, rng)); {trainer.model_name!r} ({type(self.model).__name__}) has none: train "
                            "it with the adversarial task instead")
        if self.init_from is not None:
            self.initialised_from = initialise_from(self.model, self.init_from)
        self.inputs = self.inputs or getattr(self.model, "training_inputs", "grey")
        if self.inputs not in INPUTS:
            raise ValueError(f"{trainer.model_name} asks for training_inputs {self.inputs!r}; one of {INPUTS}")
        self.opt = trainer.optimizer(self.model.parameters(), self.lr, self.betas, self.weight_decay)
        self.objective = trainer.wrap(TrainingLossOf(self.model))  # DDP and compile see the loss computation

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"model": self.opt}

    def protocol(self) -> dict[str, Any]:
        if isinstance(self.model, ImageToImage):
            return {"inputs": f"{self.trainer.dataset.name} luma patches, MATLAB-bicubic x{self.model.scale} "
                              "downscaled in the training loss, random flips and quarter turns",
                    "reference": "set5,set14 (provided MATLAB LR files)",
                    "metric": "Y-PSNR / SSIM (BT.601, scale pixels shaved, 8-bit rounded)",
                    **({"init_from": self.init_from, **self.initialised_from} if self.init_from else {})}
        protocol: dict[str, Any] = {"inputs": self.inputs, "reference": f"{self.trainer.dataset.name}:test"}
        if self.inputs == "binarized":
            protocol["binarization"] = {"train": "dynamic (a Bernoulli draw per batch)",
                                        "test": f"fixed, seed {BINARIZATION_SEED} (imggen.data.binarized_test_split)"}
        return protocol

    def prepare(self, images: torch.Tensor) -> torch.Tensor:
        """The batch as the model trains on it."""
        return binarize(images, self.trainer.step_rng) if self.inputs == "binarized" else images

    def step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        labels = labels if getattr(self.model, "conditional", False) else None
        with self.trainer.autocast():
            terms = self.objective(self.prepare(images), labels, self.trainer.step_rng)
        loss = terms["loss"].float()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if self.clip_grad:
            nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_grad)
        self.opt.step()
        return {k: v.detach().float() for k, v in terms.items()}

    def test_images(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The test split as the model is measured on it, images in [0, 1]."""
        return likelihood_test_split(self.trainer.dataset.name, self.inputs)

    def likelihood(self, model: nn.Module, n: int, log_prob_args: dict[str, Any] | None = None,
                   batch_size: int = 500) -> dict[str, float]:
        """``nll`` (nats per image) and ``nll_bpd`` (bits per dimension) on the first ``n`` test images."""
        log_prob_args = self.log_prob_args if log_prob_args is None else log_prob_args
        images, labels = self.test_images()
        return likelihood_metrics(model, images[:n], labels[:n], batch_size, **log_prob_args)

    def nll(self, model: nn.Module, n: int, log_prob_args: dict[str, Any] | None = None,
            batch_size: int = 500) -> float:
        """Mean negative log-likelihood (nats per image) of the first ``n`` test images."""
        return self.likelihood(model, n, log_prob_args, batch_size)["nll"]

    def evaluate(self, model: nn.Module, n: int, seed: int, nll_n: int | None = None,
                 log_prob_args: dict[str, Any] | None = None) -> dict[str, float]:
        """Generative metrics of ``n`` samples and, for a likelihood model, ``nll`` and ``nll_bpd`` on ``nll_n`` test
        images with ``log_prob_args`` (both default to the task's, sized for periodic checks; a recipe's ``[eval]``
        sets them for the reported number, e.g. ``nll_n = 10000`` and ``log_prob_args = { k = 1000 }``); an upscaler
        is scored on the SR test sets instead."""
        if isinstance(model, ImageToImage):  # n and seed mean nothing here: every test picture is scored
            return evaluate_upscaler(model)
        was_training = model.training
        model.eval()
        try:
            metrics = generative_metrics(model, self.trainer.dataset.name, n, seed)
            nll_n = self.nll_n if nll_n is None else nll_n
            if isinstance(model, Likelihood) and nll_n:
                metrics.update(self.likelihood(model, nll_n, log_prob_args))
        finally:
            model.train(was_training)
        return metrics


def initialise_from(model: nn.Module, source: str) -> dict[str, list[str]]:
    """Copy into ``model`` every tensor of ``source``'s weights (a folder or ``arch.tag``) with the same name and shape;
    returns which were ``copied`` and which ``kept`` their initialisation, or a clear error when nothing matches."""
    start = create_model(source).state_dict()  # a folder or arch.tag carries its weights
    own = model.state_dict()
    copied = [k for k, v in start.items() if k in own and own[k].shape == v.shape]
    if not copied:
        raise ValueError(f"init_from={source!r} shares no tensor of the same name and shape with the model to train; "
                         "name weights of the same family")
    model.load_state_dict({**own, **{k: start[k] for k in copied}})
    return {"copied": copied, "kept": sorted(set(own) - set(copied))}


class TrainingLossOf(nn.Module):
    """``model.training_loss`` as a module's forward, so that the DDP or compile wrapper of the loop sees it (DDP
    synchronises gradients only through its own forward)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None,
                rng: torch.Generator | None) -> dict[str, torch.Tensor]:
        return self.model.training_loss(images, labels, rng)
