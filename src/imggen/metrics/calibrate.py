"""Calibration: the metrics on known-good and known-bad real image sets, written as a markdown table.

Why: "FD 3.2" means nothing alone; beside real data (the floor), noisy, blurred, two-class and uniform-noise sets it
does, and the table checks that the metrics order those sets as a person would. Regenerate, never edit::

    python -m imggen.metrics.calibrate --out docs/calibration.md     # or: imggen calibrate --out docs/calibration.md

Every bundled feature network of a dataset gets its table (``mnist-cnn`` and ``mnist-timm-resnet`` for MNIST), so a
number measured in either space has its floor beside it.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from imggen.data import load_images
from imggen.fileio import atomic_output
from imggen.metrics.reference import feature_networks, real_subset
from imggen.metrics.scoring import HIGHER_IS_BETTER, score_images
from imggen.registry import create_feature_extractor
from imggen.version import __version__

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
    for dataset in datasets:
        sets = calibration_sets(dataset, n, seed)
        for network in feature_networks(dataset):
            extractor = create_feature_extractor(network)
            results[network] = {}
            for name, images in sets.items():
                results[network][name] = score_images(images, reference=f"{dataset}:test", metrics=METRICS,
                                                       feature_extractor=extractor, seed=seed)
                if log:
                    log(f"{network} / {name}: " + ", ".join(f"{k} {v:.4g}"
                                                            for k, v in results[network][name].items()))
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


def _fmt(value: float) -> str:
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def to_markdown(results: dict[str, dict[str, dict[str, float]]], n: int, seed: int) -> str:
    """The calibration page: one table per feature network, the ordering checks, and how it was made."""
    lines = [
        "# Calibration of the metrics", "",
        "<!-- Generated by `python -m imggen.metrics.calibrate --out docs/calibration.md`; do not edit by hand. -->",
        "",
        f"Each set holds {n} images scored against the dataset's test split (10,000 images) in each of the "
        "dataset's feature networks (`imggen.metrics.evaluate` uses the same code): the default small CNN "
        "(`mnist-cnn`, `fashion-cnn`) and the second, independent space of a timm ResNet (`mnist-timm-resnet`, "
        "`fashion-timm-resnet`). The floor is what real data scores: a generator cannot be expected to beat it; "
        "numbers from different networks are not comparable, a number and its floor from the same one are. "
        "Arrows: ↓ lower is better, ↑ higher is better. "
        "precision/recall use k=3, density/coverage k=5, KID 100 subsets of 1000; class metrics use the feature "
        f"network's predicted classes. Seed {seed}, imggen {__version__}.", "",
    ]
    for network, scores in results.items():
        extractor = create_feature_extractor(network)
        metrics = [m for m in next(iter(scores.values())) if m != "kid_std"]
        lines += [f"## {extractor.dataset} (feature network `{network}`, weights sha256 "
                  f"`{(getattr(extractor, 'weights_sha256', None) or 'n/a')[:12]}`)", ""]
        lines.append("| set | " + " | ".join(f"{m} {'↑' if HIGHER_IS_BETTER[m] else '↓'}" for m in metrics) + " |")
        lines.append("| --- |" + " ---: |" * len(metrics))
        for name, row in scores.items():
            lines.append(f"| {name} | " + " | ".join(_fmt(row[m]) for m in metrics) + " |")
        problems, blind = ordering_problems(scores), blind_spots(scores)
        lines += ["", "Ordering check (uniform noise worst on every metric; the floor best on fd, kid, recall and "
                  "coverage, above Gaussian noise on precision and density, above two classes on the class metrics; "
                  "two classes: at most half the floor's recall, coverage and class coverage, class KL above 1 nat, "
                  "at least half its precision): " + ("**passes**." if not problems else "**fails**:"), ""]
        lines += [f"- {p}" for p in problems] + ([""] if problems else [])
        if blind:
            lines += ["Blind spots (fidelity metrics look at each image's neighbourhood, not at the whole set; rely "
                      "on fd, kid and recall for these):", ""] + [f"- {b}" for b in blind] + [""]
    return "\n".join(lines).rstrip() + "\n"


def write_calibration(out: str | os.PathLike[str], n: int = 10000, seed: int = 0,
                      datasets: Sequence[str] = DATASETS, log: Callable[[str], None] | None = print) -> str:
    """Run the calibration and write the markdown page to ``out`` (atomically); returns the markdown."""
    text = to_markdown(calibrate(datasets, n, seed, log), n, seed)
    with atomic_output(out) as tmp:
        tmp.write_text(text)
    return text


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m imggen.metrics.calibrate --out docs/calibration.md [-n 10000]``."""
    parser = argparse.ArgumentParser(prog="python -m imggen.metrics.calibrate", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/calibration.md")
    parser.add_argument("-n", type=int, default=10000, help="images per set")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    write_calibration(args.out, args.n, args.seed)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
