"""Negative log-likelihood in nats per image and bits per dimension, for likelihood models (VAEs, flows, AR models).

Why: summed log-likelihoods from different models and image sizes only compare once normalised the same way.
"""

from __future__ import annotations

import math

import torch


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
