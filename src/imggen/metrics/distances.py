"""Distances between two feature sets: Fréchet distance and kernel (KID) distance, computed by torchmetrics.

Why: torchmetrics' FID/KID code is well kept and tested; imggen extracts (and caches) the features itself and passes
them through an identity feature module (torchmetrics' ``feature=`` hook), so any feature network works.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn


class GivenFeatures(nn.Module):
    """Identity "feature network" for torchmetrics' ``feature=`` argument: its inputs are already features."""

    def __init__(self, num_features: int) -> None:
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def check_features(a: torch.Tensor, b: torch.Tensor, need: int, metric: str) -> None:
    """Both sets are finite (N, D) with the same D and at least ``need`` rows each, else a ValueError saying so."""
    for name, x in (("first", a), ("second", b)):
        if x.dim() != 2:
            raise ValueError(f"{metric}: the {name} feature set must be 2-D (N, D), got shape {tuple(x.shape)}")
        if x.shape[0] < need:
            raise ValueError(f"{metric} needs at least {need} samples per set; the {name} set has {x.shape[0]}")
        if not torch.isfinite(x).all():
            raise ValueError(f"{metric}: the {name} feature set contains NaN or inf")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{metric}: feature sizes differ ({a.shape[1]} vs {b.shape[1]}); use one feature network")


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID's formula), in float64.

    Why: the standard distance between feature distributions. torchmetrics takes the matrix square root through the
    eigenvalues of ``sigma_a @ sigma_b``, which stays finite for singular (e.g. collapsed) covariances.
    """
    from torchmetrics.image.fid import FrechetInceptionDistance

    check_features(a, b, 2, "Fréchet distance")
    metric = FrechetInceptionDistance(feature=GivenFeatures(a.shape[1]))
    metric.update(a.detach().cpu().double(), real=True)
    metric.update(b.detach().cpu().double(), real=False)
    return float(metric.compute())


def kernel_distance(a: torch.Tensor, b: torch.Tensor, subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """KID: mean and std over ``subsets`` random subsets of the unbiased MMD² with a cubic polynomial kernel.

    Why: unlike the Fréchet distance it is unbiased for finite samples, so it compares fairly across sample sizes.
    The subsets are drawn with ``seed`` without touching the global RNG.
    """
    from torchmetrics.image.kid import KernelInceptionDistance

    check_features(a, b, subset_size, f"KID (subset size {subset_size})")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*will save all extracted features.*")
        metric = KernelInceptionDistance(feature=GivenFeatures(a.shape[1]), subsets=subsets, subset_size=subset_size)
    metric.update(a.detach().cpu().float(), real=True)
    metric.update(b.detach().cpu().float(), real=False)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        mean, std = metric.compute()
    return float(mean), float(std)
