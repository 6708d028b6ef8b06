"""The divergence guard: a run stops with :class:`TrainingDivergedError` when it goes wrong, whether its losses turn
NaN or stay finite while the training runs away (exploding losses or weights, samples collapsed to one image).

Non-finite values are flagged on the device at every step without a sync; the flag, the losses, the weight norm and
(for generators) the samples' spread are read at every log point, before any checkpoint is written, so a checkpoint
is never poisoned and the last good one is kept.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from imggen.errors import ImggenError
from imggen.models.base import Generator


class TrainingDivergedError(ImggenError):
    """Training went wrong (non-finite or runaway values, collapsed samples); the last good checkpoint is kept."""


class DivergenceGuard:
    """Checks a run at its log points.

    ``max_loss``: the largest mean |loss| a healthy run shows (GAN losses stay near 1; 1e6 means a runaway).
    ``max_weight_growth``: how many times its initial norm the model's weight norm may grow.
    ``min_sample_spread``: the smallest mean per-pixel standard deviation across 64 seeded samples (all samples one
    image gives 0; real MNIST gives about 0.3).
    """

    def __init__(self, networks: dict[str, nn.Module], model: nn.Module, max_loss: float = 1e6,
                 max_weight_growth: float = 100.0, min_sample_spread: float = 1e-3) -> None:
        self.networks, self.model, self.max_loss = networks, model, max_loss
        self.max_weight_growth, self.min_sample_spread = max_weight_growth, min_sample_spread
        self.initial_norms = {name: self.weight_norm(net) for name, net in networks.items()}
        self.finite: torch.Tensor | None = None

    @staticmethod
    def weight_norm(network: nn.Module) -> float:
        params = [p.detach() for p in network.parameters() if p.is_floating_point()]
        return float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(params)))) if params else 0.0

    def observe(self, losses: dict[str, torch.Tensor]) -> None:
        """Fold this step's losses into the device-side finiteness flag (no sync)."""
        ok = torch.stack([torch.isfinite(v).all() for v in losses.values()]).all()
        self.finite = ok if self.finite is None else self.finite & ok

    def problems(self, means: dict[str, float], check_samples: bool = False) -> list[str]:
        """What is wrong at this log point (empty when the run is healthy); resets the finiteness flag.
        ``check_samples`` also samples the model (done at epoch ends: it costs a sampling pass)."""
        found = []
        if self.finite is not None and not bool(self.finite):
            found.append("a loss was NaN or infinite at some step since the last check")
        self.finite = None
        found += [f"{k} is {v:.3g}" for k, v in means.items() if not math.isfinite(v)]
        found += [f"mean |{k}| is {abs(v):.3g} > {self.max_loss:g}" for k, v in means.items()
                  if math.isfinite(v) and abs(v) > self.max_loss]
        for name, network in self.networks.items():
            norm, start = self.weight_norm(network), self.initial_norms[name]
            if not math.isfinite(norm) or norm > self.max_weight_growth * max(start, 1e-12):
                found.append(f"the weight norm of {name} grew from {start:.3g} to {norm:.3g} "
                             f"(limit {self.max_weight_growth:g}x)")
        spread = self.sample_spread() if check_samples else None
        if spread is not None and spread < self.min_sample_spread:
            found.append(f"samples collapsed to one image (spread {spread:.2g} < {self.min_sample_spread:g})")
        return found

    @torch.no_grad()
    def sample_spread(self) -> float | None:
        """Mean per-pixel standard deviation over 64 seeded samples (``None`` for a model that does not sample)."""
        if not isinstance(self.model, Generator):
            return None
        labels = list(range(self.model.num_classes)) if self.model.conditional else None
        was_training = self.model.training
        self.model.eval()
        try:
            images = self.model.sample(64, labels=labels, seed=0).float()
        finally:
            self.model.train(was_training)
        return float(images.std(dim=0).mean())
