"""MNIST and Fashion-MNIST as uint8 tensors, loaded through torchvision's real dataset classes.

The data root comes from the ``root`` argument, else ``$IMGGEN_DATA_DIR``, else ``~/.cache/imggen/data``. It may
hold torchvision's layout (``MNIST/raw/...``) or the plain archive folders ``mnist/`` and ``fashion-mnist/``
(the four gzipped IDX files each); plain archives are linked into torchvision's layout, and torchvision checks
their md5 and downloads only what is missing. Preparing a dataset takes a lock across processes, because torchvision
extracts the archives in place: a process starting beside another (torchrun ranks, sweep runs) would otherwise read
a half-written file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from filelock import FileLock
from torchvision import datasets

from imggen.errors import ImggenError
from imggen.fileio import cache_dir, sha256_file

DATA_ENV = "IMGGEN_DATA_DIR"
SPLITS = ("train", "test")


@dataclass(frozen=True)
class DatasetSpec:
    """How to find one dataset: its torchvision class, the plain archive folder name and its classes."""

    name: str
    torchvision_class: type[datasets.MNIST]
    folder: str
    classes: tuple[str, ...]


DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec("mnist", datasets.MNIST, "mnist", tuple(str(i) for i in range(10))),
    "fashion-mnist": DatasetSpec(
        "fashion-mnist", datasets.FashionMNIST, "fashion-mnist",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
    ),
}
ALIASES = {"fashion": "fashion-mnist", "fashion_mnist": "fashion-mnist", "fmnist": "fashion-mnist"}


class DataNotFoundError(ImggenError, FileNotFoundError):
    """A dataset that is neither on disk nor downloadable."""


@dataclass(frozen=True)
class ImageSet:
    """A whole split in memory: ``images`` uint8 (N, C, H, W), ``labels`` int64 (N,)."""

    name: str
    split: str
    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    archives_sha256: dict[str, str]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __len__(self) -> int:
        return self.images.shape[0]

    def as_float(self) -> torch.Tensor:
        """Images as float32 in [0, 1] (the range ``Generator.sample`` returns)."""
        return self.images.float() / 255

    def subset(self, fraction: float, seed: int = 0) -> ImageSet:
        """A seeded ``fraction`` of the images, drawn per class (each class keeps ``round(fraction * n_c)`` images,
        at least one), in their original order. Why: training on 10% or 1% of a dataset (few-shot fine-tuning,
        data-efficiency comparisons) must use the same images in every run that names the same fraction and seed."""
        if not 0.0 < fraction <= 1.0:
            raise ValueError(f"a data fraction is in (0, 1], got {fraction}")
        if fraction == 1.0:
            return self
        rng = torch.Generator().manual_seed(seed)
        keep = []
        for c in range(self.num_classes):
            members = (self.labels == c).nonzero().flatten()
            if len(members):
                count = max(1, round(fraction * len(members)))
                keep.append(members[torch.randperm(len(members), generator=rng)[:count]])
        index = torch.cat(keep).sort().values
        return replace(self, images=self.images[index], labels=self.labels[index])


def spec_for(name: str) -> DatasetSpec:
    """The :class:`DatasetSpec` for a dataset name (aliases like ``fashion`` accepted)."""
    key = ALIASES.get(name.lower(), name.lower())
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)} (aliases: {', '.join(ALIASES)})")
    return DATASETS[key]


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Where datasets are looked for: ``root``, else ``$IMGGEN_DATA_DIR``, else the user cache."""
    return Path(root or os.environ.get(DATA_ENV) or cache_dir("data")).expanduser()


def torchvision_root(root: Path, spec: DatasetSpec) -> Path:
    """The torchvision root for ``spec``: ``root`` itself, or for plain archives in ``root/<folder>`` a cache
    folder they are linked into (so a read-only or shared data root is never written to)."""
    plain = root / spec.folder
    archives = sorted(plain.glob("*-ubyte.gz")) if plain.is_dir() else []
    tv_root = cache_dir("torchvision") if archives else root
    raw = tv_root / spec.torchvision_class.__name__ / "raw"
    if archives:
        raw.mkdir(parents=True, exist_ok=True)
        for archive in archives:
            link = raw / archive.name
            if not link.exists():
                link.unlink(missing_ok=True)  # a dangling link from an older data root
                with contextlib.suppress(FileExistsError):  # another process linked it first
                    link.symlink_to(archive.resolve())
    return tv_root


def preparation_lock(tv_root: Path, spec: DatasetSpec) -> FileLock:
    """The lock across processes for extracting and reading ``spec`` under ``tv_root``, kept in the cache (the data
    root may be read-only)."""
    key = hashlib.sha256(str((tv_root / spec.torchvision_class.__name__).resolve()).encode()).hexdigest()[:16]
    path = cache_dir("locks", f"{spec.folder}-{key}.lock")
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(path)


EXTRACTED_MANIFEST = ".imggen-extracted.json"


def drop_unverified_extractions(raw: Path) -> None:
    """Delete every extracted IDX file in ``raw`` that does not match the hash recorded when it was extracted from
    its (unchanged) archive, so torchvision extracts it again: a corrupted or truncated extraction never loads."""
    recorded = _read_manifest(raw)
    for archive in raw.glob("*-ubyte.gz"):
        extracted = raw / archive.name.removesuffix(".gz")
        entry = recorded.get(extracted.name, {})
        if extracted.exists() and (entry.get("archive") != sha256_file(archive)
                                   or entry.get("sha256") != sha256_file(extracted)):
            with contextlib.suppress(OSError):  # a read-only data root keeps its files; torchvision then decides
                extracted.unlink()


def record_extractions(raw: Path) -> None:
    """Record the hash of every extracted IDX file beside the hash of the archive it came from."""
    manifest = {}
    for archive in raw.glob("*-ubyte.gz"):
        extracted = raw / archive.name.removesuffix(".gz")
        if extracted.is_file():
            manifest[extracted.name] = {"archive": sha256_file(archive), "sha256": sha256_file(extracted)}
    with contextlib.suppress(OSError):
        (raw / EXTRACTED_MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True))


def _read_manifest(raw: Path) -> dict:
    try:
        return json.loads((raw / EXTRACTED_MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def load_images(name: str, split: str = "train", root: str | os.PathLike[str] | None = None,
                download: bool = True, **options: int) -> ImageSet:
    """Load a whole split of MNIST or Fashion-MNIST into memory as uint8 tensors (for the super-resolution training
    set ``bsd100``, its luma patches: :func:`imggen.data.sr.load_patches`, which alone takes ``options``: ``patch``
    and ``stride``)."""
    from imggen.data import sr  # sr builds on this module's ImageSet, so it is imported when first asked for

    if name.lower() == sr.TRAIN_SET and split == "train":
        unknown = sorted(set(options) - {"patch", "stride"})
        if unknown:
            raise ValueError(f"unknown data options {unknown} for {name}; it takes patch= and stride= (pixels)")
        return sr.load_patches(name, root, **options)
    if options:
        raise ValueError(f"{name} ({split}) takes no data options, got {sorted(options)}; only the super-resolution "
                         f"training set {sr.TRAIN_SET!r} does (patch=, stride=)")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; use one of {SPLITS}")
    spec = spec_for(name)
    root = data_root(root)
    tv_root = torchvision_root(root, spec)
    raw = tv_root / spec.torchvision_class.__name__ / "raw"
    try:
        with preparation_lock(tv_root, spec):
            drop_unverified_extractions(raw)
            ds = spec.torchvision_class(str(tv_root), train=split == "train", download=download)
            record_extractions(raw)
    except RuntimeError as exc:
        raise DataNotFoundError(
            f"{spec.name} ({split}) not found: looked in {root / spec.folder} and {raw}, and downloading failed "
            f"({str(exc).splitlines()[0]}). Fix: put the four gzipped IDX files in {root / spec.folder}/ or set "
            f"{DATA_ENV} to a folder that holds {spec.folder}/, or run once with network access"
        ) from exc
    raw = Path(ds.raw_folder)
    prefix = "train" if split == "train" else "t10k"
    sums = {p.name: sha256_file(p) for p in sorted(raw.glob(f"{prefix}-*-ubyte.gz"))}
    return ImageSet(spec.name, split, ds.data.unsqueeze(1).contiguous(), ds.targets.long(), spec.classes, sums)


BINARIZATION_SEED = 0  # the seed of the fixed binarization every likelihood model's test NLL is measured on


def binarized_test_split(name: str = "mnist", root: str | os.PathLike[str] | None = None,
                         seed: int = BINARIZATION_SEED) -> ImageSet:
    """The test split binarized once with a seeded draw (pixel = 1 with its grey level as probability), as uint8
    images of 0s and 255s: the fixed binarized test set that VAEs and autoregressive models report NLL on."""
    test = load_images(name, "test", root)
    bits = torch.bernoulli(test.images.float() / 255, generator=torch.Generator().manual_seed(seed))
    return ImageSet(test.name, "test-binarized", (bits * 255).to(torch.uint8), test.labels, test.classes,
                    test.archives_sha256)
