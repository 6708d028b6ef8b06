"""Calibration: the metrics on known-good and known-bad real image sets, written as a markdown table.

Why: "FD 3.2" means nothing alone; beside real data (the floor), noisy, blurred, two-class and uniform-noise sets it
does, and the checks here say whether the metrics order those sets as a person would. The docs page is written by
:mod:`imggen.reports.calibration` (``python -m imggen.reports.calibration``). Every bundled feature network of a
dataset gets its table (``mnist-cnn`` and ``mnist-timm-resnet`` for MNIST), so a number measured in either space has
its floor beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from imggen.data import load_images
from imggen.metrics.reference import feature_networks, real_subset
from imggen.metrics.scoring import HIGHER_IS_BETTER, score_images
from imggen.progress import progress
from imggen.registry import create_feature_extractor

DATASETS = ("mnist", "fashion-mnist")
METRICS = ("fd", "kid", "pr", "dc", "classes")
FLOOR, UNIFORM, TWO = "real train (floor)", "uniform noise", "two classes (0, 1)"
Perturb = Callable[[torch.Tensor, torch.Generator], torch.Tensor]
PERTURBATIONS: dict[str, Perturb] = {
    FLOOR: lambda x, g: x,
    "gaussian noise σ=0.2": lambda x, g: (x + 0.2 * torch.randn(x.shape, generator=g)).clamp(0, 1),
    "3x3 blur": lambda x, g: F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False),
    UNIFORM: lambda x, g: torch.rand(x.shape, generator=g),
}


def two_classes(dataset: str, n: int, seed: int = 0, classes: Sequence[int] = (0, 1)) -> torch.Tensor:
    """``n`` train images of only ``classes`` (a fixed random subset), as float in [0, 1]."""
    data = load_images(dataset, "train")
    idx = torch.isin(data.labels, torch.tensor(classes)).nonzero().flatten()
    idx = idx[torch.randperm(len(idx), generator=torch.Generator().manual_seed(seed))[:n]]
    return data.images[idx].float() / 255


def calibration_sets(dataset: str, n: int = 10000, seed: int = 0) -> dict[str, torch.Tensor]:
    """The calibration image sets of ``dataset``: ``n`` real train images, perturbed copies, two classes, noise."""
    images = real_subset(dataset, "train", n, seed)[0].float() / 255
    g = torch.Generator().manual_seed(seed)
    sets = {name: fn(images, g) for name, fn in PERTURBATIONS.items() if name != UNIFORM}
    sets[TWO] = two_classes(dataset, n, seed)
    sets[UNIFORM] = PERTURBATIONS[UNIFORM](images, g)
    return sets


def calibrate(datasets: Sequence[str] = DATASETS, n: int = 10000, seed: int = 0,
              log: Callable[[str], None] | None = None) -> dict[str, dict[str, dict[str, float]]]:
    """``{network: {set: {metric: value}}}``: each dataset's sets scored against its test split in the space of each
    of its bundled feature networks (:func:`~imggen.metrics.reference.feature_networks`)."""
    results: dict[str, dict[str, dict[str, float]]] = {}
    networks = {dataset: feature_networks(dataset) for dataset in datasets}
    bar = progress(total=sum(map(len, networks.values())) * (len(PERTURBATIONS) + 1), desc="calibration sets",
                   unit="set")
    for dataset in datasets:
        sets = calibration_sets(dataset, n, seed)
        for network in networks[dataset]:
            extractor = create_feature_extractor(network)
            results[network] = {}
            for name, images in sets.items():
                bar.set_postfix_str(f"{network} / {name}")
                results[network][name] = score_images(images, reference=f"{dataset}:test", metrics=METRICS,
                                                       feature_extractor=extractor, seed=seed)
                bar.update()
                if log:
                    log(f"{network} / {name}: " + ", ".join(f"{k} {v:.4g}"
                                                            for k, v in results[network][name].items()))
    bar.close()
    return results


NOISE, BLUR = "gaussian noise σ=0.2", "3x3 blur"
DIVERSITY = ("recall", "coverage", "class_coverage")  # how much of the real data a set covers
FIDELITY = ("precision", "density")  # whether each image looks real: a two-class set rightly scores well
#: the sets the floor must beat on each metric (besides uniform noise, which every set must beat or tie)
FLOOR_BEATS = {"fd": "all", "kid": "all", "recall": "all", "coverage": "all", "precision": (NOISE,),
               "density": (NOISE,), "class_kl": (TWO,), "class_coverage": (TWO,)}  # blur and noise keep classes


def _better(metric: str, a: float, b: float) -> bool:
    """Whether ``a`` is strictly better than ``b`` for ``metric`` (beyond rounding)."""
    return (a - b if HIGHER_IS_BETTER[metric] else b - a) > 1e-9


def ordering_problems(scores: dict[str, dict[str, float]]) -> list[str]:
    """Where one dataset's calibration scores disagree with a person's ordering (empty when they agree).

    Expected: uniform noise worst on every metric (ties allowed); the floor best on fd, kid, recall and coverage,
    better than Gaussian noise on the fidelity metrics and than two classes on the class metrics; two classes with at
    most half the floor's recall, coverage and class coverage, a class KL above 1 nat, yet at least half its
    precision.
    """
    problems = []
    floor, uniform, two = scores[FLOOR], scores[UNIFORM], scores[TWO]
    for metric in (m for m in floor if m in HIGHER_IS_BETTER and m != "kid_std"):
        for name, other in scores.items():
            if _better(metric, uniform[metric], other[metric]):
                problems.append(f"{metric}: uniform noise ({uniform[metric]:.4g}) beats {name} ({other[metric]:.4g})")
            rivals = FLOOR_BEATS.get(metric, ())
            if (rivals == "all" or name in rivals) and _better(metric, other[metric], floor[metric]):
                problems.append(f"{metric}: {name} ({other[metric]:.4g}) beats the floor ({floor[metric]:.4g})")
    for metric in DIVERSITY:
        if metric in two and two[metric] > 0.5 * floor[metric]:
            problems.append(f"{metric}: two classes ({two[metric]:.3g}) not below half the floor ({floor[metric]:.3g})")
    if "class_kl" in two and two["class_kl"] <= 1.0:
        problems.append(f"class_kl: two classes ({two['class_kl']:.3g}) not above 1 nat")
    if "precision" in two and two["precision"] < 0.5 * floor["precision"]:
        problems.append(f"precision: two classes ({two['precision']:.3g}) below half the floor's")
    return problems


def blind_spots(scores: dict[str, dict[str, float]]) -> list[str]:
    """Degraded sets (noise, blur) that a fidelity metric rates at or above the floor: what it cannot see."""
    return [f"{metric} rates {name} ({scores[name][metric]:.3g}) at or above the floor ({scores[FLOOR][metric]:.3g})"
            for metric in FIDELITY if metric in scores[FLOOR] for name in (NOISE, BLUR)
            if not _better(metric, scores[FLOOR][metric], scores[name][metric])]
