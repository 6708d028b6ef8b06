"""Reference sets for the metrics: a dataset split's features and class predictions, cached in memory and on disk.

Why: every evaluation compares against the same real images; extracting their features once per feature network and
data version keeps a 10k-sample evaluation within seconds. The cache key is the feature network's weights hash plus
the data archives' sha256, so new weights or data never reuse stale features.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from imggen.data import DATASETS, load_images, spec_for
from imggen.data.datasets import ALIASES, SPLITS, data_root
from imggen.errors import ImggenError, UnknownNameError
from imggen.fileio import atomic_output, cache_dir
from imggen.metrics.classes import class_histogram
from imggen.metrics.manifold import knn_radii
from imggen.registry import REGISTRIES, create_feature_extractor

REFERENCE_SIZE = 10000
EXTRACT_CHUNK = 256
_MEMORY: dict[tuple[str, ...], Reference] = {}


@dataclass
class Reference:
    """Features of (at most :data:`REFERENCE_SIZE`) real images of one split, in one feature network's space."""

    name: str
    dataset: str
    features: torch.Tensor
    predictions: torch.Tensor | None
    num_classes: int
    data_sha256: dict[str, str]
    radii: dict[int, torch.Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.features.shape[0]

    def knn_radii(self, ks: Sequence[int]) -> dict[int, torch.Tensor]:
        """k-NN radii of the reference features for each k, computed once and kept."""
        missing = [k for k in ks if k not in self.radii]
        if missing:
            self.radii.update(knn_radii(self.features, missing))
        return {k: self.radii[k] for k in ks}

    def class_histogram(self) -> torch.Tensor:
        """Share of each class among the reference's predicted classes."""
        return class_histogram(self.predictions, self.num_classes)


def recorded_dataset(arch: str, meta: dict[str, Any]) -> str:
    """The dataset a weight was trained on, as its metadata records it (``data``); never guessed from a name."""
    if not meta.get("data"):
        raise ImggenError(f"{arch}'s weights record no dataset (no 'data' in their metadata); name the reference to "
                          "measure against, e.g. --reference mnist:test (reference= in Python)")
    return spec_for(str(meta["data"])).name


def reference_names() -> list[str]:
    """Every valid reference name, ``dataset:split``."""
    return [f"{d}:{s}" for d in DATASETS for s in SPLITS]


def parse_reference(name: str) -> tuple[str, str]:
    """``"mnist:test"`` → ``("mnist", "test")``; aliases like ``fashion:test`` accepted; else a clear error."""
    dataset, _, split = str(name).partition(":")
    key = ALIASES.get(dataset.lower(), dataset.lower())
    if key not in DATASETS or split not in SPLITS:
        raise UnknownNameError(
            f"unknown reference {name!r}; valid references: {', '.join(reference_names())} "
            f"(dataset aliases: {', '.join(ALIASES)})"
        )
    return key, split


def feature_networks(dataset: str) -> list[str]:
    """The registered feature networks with weights trained on ``dataset`` (their ``dataset`` default), by name."""
    registry = REGISTRIES["feature_extractors"]
    return [name for name in registry.list()
            if registry.get(name).defaults.get("dataset") == dataset and registry.get(name).pretrained_cfgs]


def default_feature_extractor(dataset: str) -> str:
    """The first registered feature network trained on ``dataset``, e.g. ``mnist-cnn`` (before ``mnist-timm-*``)."""
    names = feature_networks(dataset)
    if not names:
        raise UnknownNameError(
            f"no registered feature network is trained on {dataset!r}; pass feature_extractor= "
            f"(one of {', '.join(REGISTRIES['feature_extractors'].list())})"
        )
    return names[0]


def resolve_extractor(extractor: str | nn.Module | None, dataset: str) -> nn.Module:
    """A feature network from a registered name, a module, or ``None`` (the dataset's default network)."""
    if extractor is None:
        extractor = default_feature_extractor(dataset)
    if isinstance(extractor, str):
        extractor = create_feature_extractor(extractor)
    for attr in ("features", "num_features"):
        if not hasattr(extractor, attr):
            raise TypeError(f"feature_extractor {type(extractor).__name__} has no {attr!r}; pass a registered name "
                            "(imggen.list_feature_extractors()) or a module with features(x) and num_features")
    return extractor


def extractor_key(extractor: nn.Module) -> str:
    """A stable id of a feature network's weights: its weights file's sha256, else a hash of its state dict."""
    sha = getattr(extractor, "weights_sha256", None)
    if sha:
        return f"{type(extractor).__name__}-{sha}"
    digest = hashlib.sha256(type(extractor).__name__.encode())
    for name, tensor in sorted(extractor.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().float().cpu().numpy().tobytes())
    return f"{type(extractor).__name__}-{digest.hexdigest()}"


@torch.no_grad()
def extract(extractor: nn.Module, batches: Iterable[torch.Tensor],
            device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Features (N, D) float32 on CPU and argmax class predictions (N,) (``None`` without classes) of image batches.

    Batches must be float in [0, 1]; the network checks them (shape, range, NaN).
    """
    device = torch.device(device or "cpu")
    was_training = extractor.training
    extractor.eval().to(device)
    both = getattr(extractor, "features_and_logits", None)
    feats, preds = [], []
    try:
        for batch in batches:
            for x in batch.split(EXTRACT_CHUNK):  # small chunks stay in cache: ~1.5x faster on CPU than 1000
                x = x.to(device)
                f, logits = both(x) if both is not None else (extractor.features(x), extractor(x))
                feats.append(f.float().cpu())
                if getattr(extractor, "num_classes", 0):
                    preds.append(logits.argmax(dim=1).cpu())
    finally:
        extractor.train(was_training)
    return torch.cat(feats), (torch.cat(preds) if preds else None)


def real_subset(dataset: str, split: str, n: int,
                seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, dict[str, str]]:
    """At most ``n`` uint8 images of a split (a fixed random subset of a larger split), labels, archive hashes."""
    data = load_images(dataset, split)
    if n >= len(data):
        return data.images, data.labels, data.archives_sha256
    idx = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))[:n]
    return data.images[idx], data.labels[idx], data.archives_sha256


def load_reference(name: str, extractor: nn.Module, batch_size: int = 1000, device: torch.device | str | None = None,
                   size: int | None = None) -> Reference:
    """The reference ``name`` (``dataset:split``) in ``extractor``'s space, from memory, the disk cache, or computed.

    ``size`` caps the number of real images (default :data:`REFERENCE_SIZE`; a fixed random subset of larger splits).
    """
    dataset, split = parse_reference(name)
    size = size or REFERENCE_SIZE
    ekey = extractor_key(extractor)
    mem_key = (dataset, split, str(size), ekey, str(data_root()))
    if mem_key in _MEMORY:
        return _MEMORY[mem_key]
    images, _, sha = real_subset(dataset, split, size)
    dkey = hashlib.sha256(json.dumps(sha, sort_keys=True).encode()).hexdigest()
    path = cache_dir("features", f"{dataset}-{split}-{size}-{ekey[-16:]}-{dkey[:16]}.pt")
    cached = None
    if path.is_file():
        with contextlib.suppress(Exception):  # a corrupt or foreign cache file is recomputed
            cached = torch.load(path, weights_only=True)
    if cached is None:
        feats, preds = extract(extractor, (b.float() / 255 for b in images.split(batch_size)), device)
        cached = {"features": feats, "predictions": preds}
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path) as tmp:
            torch.save(cached, tmp)
    same_classes = getattr(extractor, "dataset", None) == dataset and cached["predictions"] is not None
    ref = Reference(name=f"{dataset}:{split}", dataset=dataset, features=cached["features"],
                    predictions=cached["predictions"] if same_classes else None,
                    num_classes=len(spec_for(dataset).classes), data_sha256=sha)
    _MEMORY[mem_key] = ref
    return ref
