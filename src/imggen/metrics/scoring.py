"""Score image sets and generators against a real reference: ``score_images`` and ``evaluate``.

Why: one function that training (every N epochs), the CLI, calibration and the leaderboard all call, so every number
in imggen is measured the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import torch
from torch import nn

from imggen.metrics.classes import class_coverage, class_histogram, class_kl, conditional_accuracy
from imggen.metrics.distances import frechet_distance, kernel_distance
from imggen.metrics.manifold import manifold_metrics
from imggen.metrics.reference import Reference, extract, load_reference, parse_reference, resolve_extractor
from imggen.progress import progress as progress_bar

DEFAULT_METRICS = ("fd", "kid", "pr", "dc", "classes", "cond_acc")
#: metric group → the keys it adds to the result
GROUPS = {"fd": ("fd",), "kid": ("kid", "kid_std"), "pr": ("precision", "recall"), "dc": ("density", "coverage"),
          "classes": ("class_coverage", "class_kl"), "cond_acc": ("cond_acc",)}
ALIASES = {"fid": "fd", "precision": "pr", "recall": "pr", "density": "dc", "coverage": "dc",
           "class_coverage": "classes", "class_kl": "classes", "kid_std": "kid"}
#: whether a larger value is better, for tables
HIGHER_IS_BETTER = {"fd": False, "kid": False, "kid_std": False, "precision": True, "recall": True, "density": True,
                    "coverage": True, "class_coverage": True, "class_kl": False, "cond_acc": True,
                    "nll": False, "nll_bpd": False}


def parse_metrics(metrics: str | Iterable[str]) -> tuple[str, ...]:
    """Metric groups from names or a comma-separated string (``"fd,kid,pr,coverage"``), aliases resolved, in order."""
    names = metrics.split(",") if isinstance(metrics, str) else list(metrics)
    groups: list[str] = []
    for raw in names:
        name = ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if name not in GROUPS:
            raise ValueError(f"unknown metric {raw!r}; choose from {', '.join([*GROUPS, *ALIASES])}")
        if name not in groups:
            groups.append(name)
    if not groups:
        raise ValueError(f"no metrics asked for; choose from {', '.join(GROUPS)}")
    return tuple(groups)


def min_samples(groups: Sequence[str], k: int = 3, dc_k: int = 5, kid_subset_size: int = 1000) -> dict[str, int]:
    """How many samples (per set) each requested metric needs."""
    need = {"fd": 2, "kid": kid_subset_size, "pr": k + 1, "dc": dc_k + 1}
    return {g: need[g] for g in groups if g in need}


def check_count(n: int, n_ref: int, groups: Sequence[str], k: int = 3, dc_k: int = 5,
                kid_subset_size: int = 1000) -> None:
    """A ValueError naming each metric that needs more samples than ``n`` (or the reference's ``n_ref``) gives."""
    need = min_samples(groups, k, dc_k, kid_subset_size)
    short = [f"{g} needs >= {m}" for g, m in need.items() if min(n, n_ref) < m]
    if short:
        raise ValueError(f"too few samples ({n} generated, {n_ref} reference): {'; '.join(short)}. Use more samples, "
                         "drop those metrics, or lower k / kid_subset_size")


def check_labels(labels: torch.Tensor | Sequence[int], n: int, num_classes: int) -> torch.Tensor:
    """``labels`` as a long tensor of ``n`` class indices in ``0..num_classes-1``, else a clear ValueError."""
    labels = torch.as_tensor(labels)
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.shape != (n,):
        raise ValueError(f"need one label per image: {n} images but labels of shape {tuple(labels.shape)}")
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"labels must be in 0..{num_classes - 1}; got {labels.min()}..{labels.max()}")
    return labels.long().cpu()


def score_features(feats: torch.Tensor, preds: torch.Tensor | None, labels: torch.Tensor | None, ref: Reference,
                   groups: Sequence[str], k: int = 3, dc_k: int = 5, kid_subsets: int = 100,
                   kid_subset_size: int = 1000, seed: int = 0) -> dict[str, float]:
    """The requested metric groups from extracted features (and class predictions) against a reference."""
    check_count(feats.shape[0], len(ref), groups, k, dc_k, kid_subset_size)
    out: dict[str, float] = {}
    if "fd" in groups:
        out["fd"] = frechet_distance(ref.features, feats)
    if "kid" in groups:
        out["kid"], out["kid_std"] = kernel_distance(ref.features, feats, kid_subsets, kid_subset_size, seed)
    if "pr" in groups or "dc" in groups:
        pr_k, d_k = (k if "pr" in groups else None), (dc_k if "dc" in groups else None)
        radii = ref.knn_radii([x for x in (pr_k, d_k) if x is not None])
        out.update(manifold_metrics(ref.features, feats, pr_k=pr_k, dc_k=d_k, real_radii=radii))
    classes_known = preds is not None and ref.predictions is not None
    if "classes" in groups and classes_known:
        hist, ref_hist = class_histogram(preds, ref.num_classes), ref.class_histogram()
        out["class_coverage"], out["class_kl"] = class_coverage(hist, ref_hist), class_kl(hist, ref_hist)
    if "cond_acc" in groups and classes_known and labels is not None:
        out["cond_acc"] = conditional_accuracy(preds, labels)
    return out


def score_images(images: torch.Tensor, labels: torch.Tensor | Sequence[int] | None = None,
                 reference: str = "mnist:test", metrics: str | Iterable[str] = DEFAULT_METRICS,
                 feature_extractor: str | nn.Module | None = None, batch_size: int = 1000,
                 device: torch.device | str | None = None, *, k: int = 3, dc_k: int = 5, kid_subsets: int = 100,
                 kid_subset_size: int = 1000, seed: int = 0) -> dict[str, float]:
    """Metrics of an image set (N, C, H, W) in [0, 1] against a real reference split, as ``{name: value}``.

    Why: the same scoring for generators, calibration sets and anything else. Class metrics (``class_coverage``,
    ``class_kl``) need a feature network that classifies the reference's dataset; ``cond_acc`` also needs
    ``labels`` (the classes the images were generated for). Metrics that do not apply are left out. ``k``
    (precision/recall) and ``dc_k`` (density/coverage) are the k-NN sizes; KID averages ``kid_subsets`` random subsets
    of ``kid_subset_size`` drawn with ``seed``. The reference's features are cached (see :func:`load_reference`).
    """
    groups = parse_metrics(metrics)
    dataset, _ = parse_reference(reference)
    extractor = resolve_extractor(feature_extractor, dataset)
    if not isinstance(images, torch.Tensor):
        raise ValueError(f"images must be a torch.Tensor (N, C, H, W) in [0, 1], got {type(images).__name__}")
    if images.dim() != 4:
        raise ValueError(f"images must have shape (N, C, H, W), got {tuple(images.shape)}")
    n = images.shape[0]
    ref = load_reference(reference, extractor, batch_size, device)
    check_count(n, len(ref), groups, k, dc_k, kid_subset_size)
    label_tensor = check_labels(labels, n, ref.num_classes) if labels is not None else None
    feats, preds = extract(extractor, images.split(batch_size), device or images.device)
    return score_features(feats, preds, label_tensor, ref, groups, k, dc_k, kid_subsets, kid_subset_size, seed)


def balanced_labels(n: int, num_classes: int) -> torch.Tensor:
    """``n`` labels with every class equally often (0, 1, ..., C-1, 0, 1, ...)."""
    return torch.arange(n) % num_classes


def _sample_batches(generator: nn.Module, n: int, labels: torch.Tensor | None, batch_size: int,
                    seed: int) -> Iterator[torch.Tensor]:
    rng = torch.Generator().manual_seed(seed)
    seeds = torch.randint(0, 2**62, ((n + batch_size - 1) // batch_size,), generator=rng)
    for i, start in enumerate(range(0, n, batch_size)):
        b = min(batch_size, n - start)
        batch_labels = labels[start:start + b] if labels is not None else None
        yield generator.sample(b, labels=batch_labels, seed=int(seeds[i]))


def evaluate(generator: nn.Module, n: int = 10000, metrics: str | Iterable[str] = DEFAULT_METRICS,
             reference: str = "mnist:test", feature_extractor: str | nn.Module | None = None, seed: int = 0,
             batch_size: int = 1000, device: torch.device | str | None = None, *, k: int = 3, dc_k: int = 5,
             kid_subsets: int = 100, kid_subset_size: int = 1000, progress: bool | None = False) -> dict[str, float]:
    """Sample ``n`` images from a Generator and score them against ``reference`` (see :func:`score_images`).

    Why: the trainer calls this every N epochs and the CLI and leaderboard use it, so all numbers agree. Conditional
    generators get labels uniform over their classes (``cond_acc`` then says how often the sample shows its label).
    ``k``, ``dc_k``, ``kid_subsets`` and ``kid_subset_size`` are as in :func:`score_images`. The generator's
    train/eval mode is restored afterwards. ``progress`` draws a bar over the sampled batches: ``True`` always,
    ``None`` when stderr is a terminal (what ``imggen eval`` asks for), ``False`` (the default: the trainer calls this
    between its own bars) never.
    """
    if not hasattr(generator, "sample"):
        raise TypeError(f"evaluate needs an imggen Generator (with .sample), got {type(generator).__name__}; "
                        "score plain image tensors with imggen.metrics.score_images")
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive number of samples, got {n!r}")
    groups = parse_metrics(metrics)
    dataset, _ = parse_reference(reference)
    extractor = resolve_extractor(feature_extractor, dataset)
    device = device or generator.device
    ref = load_reference(reference, extractor, batch_size, device)
    check_count(n, len(ref), groups, k, dc_k, kid_subset_size)
    labels = balanced_labels(n, generator.num_classes) if getattr(generator, "conditional", False) else None
    was_training = generator.training
    generator.eval()
    try:
        batches = progress_bar(_sample_batches(generator, n, labels, batch_size, seed), desc="sampling and scoring",
                               total=(n + batch_size - 1) // batch_size, unit="batch",
                               enabled=progress)
        feats, preds = extract(extractor, batches, device)
    finally:
        generator.train(was_training)
    return score_features(feats, preds, labels, ref, groups, k, dc_k, kid_subsets, kid_subset_size, seed)
