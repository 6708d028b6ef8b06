"""Negative log-likelihood in nats per image and bits per dimension, for likelihood models (VAEs, flows, AR models).

Why: summed log-likelihoods from different models and image sizes only compare once normalised the same way.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from imggen.data import binarized_test_split, load_images


def _total(log_likelihood: float | torch.Tensor) -> float:
    total = float(torch.as_tensor(log_likelihood, dtype=torch.float64).sum())
    if math.isnan(total):
        raise ValueError("log-likelihood is NaN; check the model")
    return total


def nll_nats(log_likelihood: float | torch.Tensor, num_images: int) -> float:
    """Mean negative log-likelihood per image in nats, from per-image log-likelihoods or their sum (natural log)."""
    if num_images < 1:
        raise ValueError(f"num_images must be >= 1, got {num_images}")
    return -_total(log_likelihood) / num_images


def bits_per_dim(log_likelihood: float | torch.Tensor, num_images: int, dims: int, bins: int | None = None) -> float:
    """Negative log-likelihood in bits per dimension (``dims`` = C·H·W per image).

    ``bins`` converts a continuous density of data scaled to [0, 1] into a discrete one over ``bins`` levels per
    dimension (pass 256 for 8-bit images scaled by 1/256), adding log2(bins) per dimension, as papers report it.
    """
    if dims < 1:
        raise ValueError(f"dims must be >= 1 (C*H*W), got {dims}")
    bpd = nll_nats(log_likelihood, num_images) / (dims * math.log(2))
    return bpd + (math.log2(bins) if bins else 0.0)


#: how a likelihood model reads test images: as they are (grey levels) or binarized once with a fixed seed
INPUTS = ("grey", "binarized")


def likelihood_test_split(dataset: str, inputs: str = "grey") -> tuple[torch.Tensor, torch.Tensor]:
    """The test split as a likelihood model is measured on it: images in [0, 1] and labels.

    Why: NLLs compare only on the same images; ``"binarized"`` is the fixed seeded binarization
    (:func:`imggen.data.binarized_test_split`) that every Bernoulli model (VAE, PixelCNN) reports on.
    """
    if inputs not in INPUTS:
        raise ValueError(f"inputs must be one of {', '.join(INPUTS)}, got {inputs!r}")
    split = binarized_test_split(dataset) if inputs == "binarized" else load_images(dataset, "test")
    return split.images.float() / 255, split.labels


@torch.no_grad()
def likelihood_metrics(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor | None = None,
                       batch_size: int = 500, **log_prob_args: Any) -> dict[str, float]:
    """``nll`` (nats per image) and ``nll_bpd`` (bits per dimension) of a model with ``log_prob`` on ``images``.

    Why: one measurement for every likelihood model (exact for autoregressive models, a bound for VAEs), whatever
    calls it (the objective task, ``imggen eval``). ``labels`` go to conditional models only; ``log_prob_args`` to
    ``log_prob`` (a VAE's ``k``). The model's device is used; its train/eval mode is restored afterwards.
    """
    if not callable(getattr(model, "log_prob", None)):
        raise TypeError(f"{type(model).__name__} has no log_prob: NLL is measured for likelihood models only")
    device = next(model.parameters()).device
    conditional = getattr(model, "conditional", False)
    was_training = model.training
    model.eval()
    try:
        total = sum(float(model.log_prob(images[i:i + batch_size].to(device),
                                         labels[i:i + batch_size].to(device) if conditional and labels is not None
                                         else None, **log_prob_args).double().sum())
                    for i in range(0, len(images), batch_size))
    finally:
        model.train(was_training)
    n, dims = len(images), math.prod(images.shape[1:])
    return {"nll": nll_nats(total, n), "nll_bpd": bits_per_dim(total, n, dims)}
