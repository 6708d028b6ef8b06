"""Class-level metrics from a classifier's predictions: histogram coverage, KL to the reference, conditional accuracy.

Why: mode collapse often shows as missing or over-represented classes before it shows in feature distances, and a
conditional generator must draw the class it was asked for.
"""

from __future__ import annotations

import torch


def class_histogram(predictions: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Share of each class among integer ``predictions`` (float64, sums to 1)."""
    if predictions.numel() == 0:
        raise ValueError("class histogram of zero predictions; pass at least one sample")
    return torch.bincount(predictions.flatten().long().cpu(), minlength=num_classes).double() / predictions.numel()


def class_coverage(hist: torch.Tensor, reference: torch.Tensor, min_share: float = 0.1) -> float:
    """Fraction of the reference's classes that hold at least ``min_share`` of their reference share in ``hist``.

    With the default 0.1 and balanced 10 classes, a class counts as present when it gets >= 1% of the samples.
    """
    present = reference > 0
    return float(((hist >= min_share * reference) & present).sum().double() / present.sum())


def class_kl(hist: torch.Tensor, reference: torch.Tensor) -> float:
    """KL(hist || reference) in nats: 0 when the class shares match; infinite if ``hist`` has a class the reference
    lacks."""
    if hist.shape != reference.shape:
        raise ValueError(f"histograms have different numbers of classes: {hist.numel()} vs {reference.numel()}")
    hist, reference = hist.double(), reference.double()
    return float((torch.xlogy(hist, hist) - torch.xlogy(hist, reference)).sum())


def conditional_accuracy(predictions: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of samples the classifier assigns to the class they were generated for."""
    if predictions.shape != labels.shape:
        raise ValueError(f"{predictions.numel()} predictions but {labels.numel()} labels; pass one label per sample")
    return float((predictions.cpu() == labels.cpu()).double().mean())
