"""The zoo page: every registered pretrained generator weight with its recorded metrics and a sample grid (the
super-resolution weights are listed on docs/super-resolution.md, with their own table).

Why: users pick weights by quality, and the numbers must be the ones measured, not typed. The page is generated from
the registry (each weight's config.json ``meta["metrics"]``) plus computed real-data floors. It is a storefront: one
compact table per dataset (the default weights first, then the reference rows), superseded weights folded away, and
the samples as a gallery. A maintainer tool, not a user command. Regenerate, never edit::

    python -m imggen.reports.zoo --out docs/zoo.md --assets docs/assets/zoo

The grids come from each weight as users get it (its Hub repo, or the package); ``--weights-from hub-repos`` reads the
repository's copy of the Hub folders instead (``hub-repos/<arch>.<tag>``, each checked against the registered
sha256), so the page can be regenerated offline.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from imggen.errors import WeightsError
from imggen.fileio import atomic_output, check_parent_dir
from imggen.images import save_grid
from imggen.metrics.reference import real_subset, recorded_dataset
from imggen.metrics.scoring import HIGHER_IS_BETTER, score_images
from imggen.progress import progress
from imggen.registry import REGISTRIES, create_model, list_models, model_info
from imggen.train.recipe import training_settings
from imggen.version import __version__

COMMAND = "python -m imggen.reports.zoo --out docs/zoo.md --assets docs/assets/zoo"
#: the headline metrics, in column order, with their column titles; a column shows when a row of the table has it
HEADLINE = {"fd": "FD", "recall": "recall", "cond_acc": "cond. acc.", "nll_bpd": "NLL (bits/dim)", "psnr": "PSNR"}
FLOOR_METRICS = ("fd", "kid", "pr", "dc", "classes")
GRID_ROWS, GRID_COLS = 6, 10
GALLERY_WIDTH = 240  # px per sample grid in the gallery: four fit beside each other in a 1280 px window


@dataclass
class Row:
    """One zoo line: a weight (or a reference row) with its metrics and sample grid."""

    name: str
    dataset: str
    role: str  # "default", "superseded", "seed" or "floor"
    metrics: dict[str, float] = field(default_factory=dict)
    grid: Path | None = None
    note: str = ""
    family: str = ""
    parameters: int | None = None


def is_seed(tag: str, meta: dict[str, Any]) -> bool:
    """Whether a weight is the seed recipe's reference run (tag ``seed`` or ``meta["reference"]``)."""
    return tag == "seed" or meta.get("reference") is True


def samples(arch: str) -> bool:
    """Whether ``arch`` is a generator that samples (super-resolution models upscale instead)."""
    return callable(getattr(REGISTRIES["generators"].get(arch).factory, "sample", None))


def family_of(arch: str, conditional: bool) -> str:
    """The model family: the module the architecture is defined in (``mlp_gan``), marked when class-conditional."""
    factory = REGISTRIES["generators"].get(arch).factory
    family = getattr(factory, "__module__", "").rsplit(".", 1)[-1] or arch
    return f"{family} (conditional)" if conditional else family


@torch.no_grad()
def sample_grid(name: str, path: Path, registered: str, seed: int = 0, weights_from: Path | None = None) -> Path:
    """A 6x10 sample grid of a pretrained weight (each column one class for conditional models), read from its folder
    ``weights_from / name`` when given, which must hold the ``registered`` weights (their sha256; a stale copy is an
    error)."""
    if weights_from is None:
        model = create_model(name, pretrained=True).eval()
    else:
        model = create_model(str(weights_from / name)).eval()
        if model.weights_sha256 != registered:
            raise WeightsError(f"{weights_from / name} holds other weights than the registered {name} (sha256 "
                               f"{model.weights_sha256[:12]}..., registered {registered[:12]}...): copy the "
                               "registered weights there (scripts/export_to_package.py), or drop --weights-from "
                               "to read the published ones")
    n = GRID_ROWS * GRID_COLS
    labels = [i % model.num_classes for i in range(n)] if getattr(model, "conditional", False) else None
    images = model.sample(n, labels=labels, seed=seed)
    provenance = {"model": model.imggen_cfg["architecture"], "tag": name.partition(".")[2],
                  "weights_sha256": model.weights_sha256, "seed": seed}
    return save_grid(images, path, nrow=GRID_COLS, provenance=provenance)


def recipe_note(meta: dict[str, Any]) -> str:
    """How a weight was made: its recipe, the ``--set`` changes, and the device when it was not the CPU."""
    if not meta.get("recipe"):
        return ""
    note = f"recipe `{meta['recipe']}`"
    settings = training_settings(meta.get("settings", []))
    if settings:
        note += " with " + ", ".join(f"`--set {s}`" for s in settings)
    device = str(meta.get("trainer_args", {}).get("device", "cpu"))
    return note + (f", trained on `{device}`" if device != "cpu" else "")


def weight_rows(assets: Path, seed: int = 0, weights_from: Path | None = None) -> list[Row]:
    """A row per registered pretrained generator weight, its grid written under ``assets``."""
    rows = []
    for name in progress(list_models(pretrained=True), desc="zoo sample grids", unit="weight"):
        arch, _, tag = name.partition(".")
        if not samples(arch):
            continue  # super-resolution weights have their own page and table (docs/super-resolution.md)
        info = model_info(name)  # with its tag: the architecture as this weight builds it
        weight = next(w for w in info["pretrained"] if w["tag"] == tag)
        meta = weight["meta"]
        role = "seed" if is_seed(tag, meta) else "default" if weight["default"] else "superseded"
        rows.append(Row(name, recorded_dataset(arch, meta), role,
                        {k: float(v) for k, v in weight["metrics"].items() if isinstance(v, (int, float))},
                        sample_grid(name, assets / f"{name}.png", weight["sha256"], seed, weights_from),
                        recipe_note(meta),
                        family_of(arch, bool(info.get("conditional"))), info.get("parameters")))
    return rows


def floor_row(dataset: str, assets: Path, n: int = 10000, seed: int = 0) -> Row:
    """The real-data floor: ``n`` real train images scored against the test split, with a grid of real images."""
    images = real_subset(dataset, "train", n, seed)[0].float() / 255
    metrics = score_images(images, reference=f"{dataset}:test", metrics=FLOOR_METRICS, seed=seed)
    grid = save_grid(images[:GRID_ROWS * GRID_COLS], assets / f"real-{dataset}.png", nrow=GRID_COLS,
                     provenance={"source": f"{dataset} train split (real images)"})
    return Row(f"real {dataset} train images", dataset, "floor", metrics, grid, f"{n} real images vs the test split")


def _cell(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.3g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.1e}"


def _millions(count: int | None) -> str:
    return "–" if count is None else f"{count / 1e6:.2f} M"


def _label(row: Row) -> str:
    return {"default": f"**`{row.name}`** (default)", "superseded": f"`{row.name}`",
            "seed": f"`{row.name}` (seed recipe)", "floor": f"*{row.name}* (real-data floor)"}[row.role]


def _table(rows: list[Row], columns: list[str], notes: bool = False) -> list[str]:
    head = "| weight | family | params | " + " | ".join(
        f"{HEADLINE[c]} {'↑' if HIGHER_IS_BETTER.get(c, c == 'psnr') else '↓'}" for c in columns)
    lines = [head + (" | made with |" if notes else " |"),
             "| --- | --- | ---: |" + " ---: |" * len(columns) + (" --- |" if notes else "")]
    for r in rows:
        cells = [_label(r), r.family or "–", _millions(r.parameters), *(_cell(r.metrics.get(c)) for c in columns)]
        lines.append("| " + " | ".join(cells) + (f" | {r.note or '–'} |" if notes else " |"))
    return lines


def _gallery(rows: list[Row], out: Path) -> list[str]:
    lines = ['<div class="zoo-gallery" markdown>', ""]
    for r in rows:
        src = os.path.relpath(r.grid, out.parent)
        lines += ['<figure markdown="span">', f'  ![{r.name}]({src}){{ width="{GALLERY_WIDTH}" loading=lazy }}',
                  f"  <figcaption>{r.name}</figcaption>", "</figure>", ""]
    return [*lines, "</div>", ""]


def to_markdown(rows: list[Row], out: Path, n: int) -> str:
    """The zoo page: per dataset a compact table (defaults by FD, then seed and floor), the samples of those rows as
    a gallery, and the superseded weights folded in a ``<details>`` block with how each was made."""
    lines = [
        "# Model zoo", "",
        f"<!-- Generated by `{COMMAND}`; do not edit by hand. -->", "",
        "The default weight of each model first (what `pretrained=True` loads), then the reference rows: the seed "
        f"recipe and real data (the floor, {n} real training images). Metrics were recorded when each weight was "
        "trained: 10,000 samples against the test split in the dataset's own feature network (FD is a Fréchet "
        "distance in that small network's space, not Inception FID; see [calibration](calibration.md)). "
        f"↓ lower is better, ↑ higher is better. Older weights are folded below each table. imggen {__version__}.",
        "",
    ]
    order = {"default": 0, "seed": 1, "floor": 2, "superseded": 3}
    for dataset in sorted({r.dataset for r in rows}, key=lambda d: (d != "mnist", d)):
        group = sorted((r for r in rows if r.dataset == dataset),
                       key=lambda r: (order[r.role], r.metrics.get("fd", float("inf")), r.name))
        main = [r for r in group if r.role != "superseded"]
        old = [r for r in group if r.role == "superseded"]
        columns = [c for c in HEADLINE if any(c in r.metrics for r in group if r.role != "floor")] or ["fd"]
        lines += [f"## {dataset}", "", *_table(main, columns), ""]
        if not any(r.role != "floor" for r in group):
            lines += ["No pretrained weights for this dataset yet.", ""]
        lines += _gallery(main, out)
        if old:
            lines += [f'??? note "Superseded {dataset} weights ({len(old)}): still loadable by name.tag"', ""]
            lines += ["    " + line for line in _table(old, columns, notes=True)]
            grids = ", ".join(f"[{r.name}]({os.path.relpath(r.grid, out.parent)})" for r in old if r.grid)
            lines += ["", f"    Sample grids: {grids}.", ""]
        default_notes = [f"- `{r.name}`: {r.note}" for r in main if r.note]
        if default_notes:
            lines += ["How the rows above were made:", "", *default_notes, ""]
    return "\n".join(lines).rstrip() + "\n"


def write_leaderboard(out: str | os.PathLike[str] = "docs/zoo.md", assets: str | os.PathLike[str] = "docs/assets/zoo",
                      n: int = 10000, seed: int = 0, datasets: tuple[str, ...] = ("mnist", "fashion-mnist"),
                      weights_from: str | os.PathLike[str] | None = None) -> str:
    """Write the zoo page and its sample grids; returns the markdown.

    ``datasets`` always get a floor row; datasets of registered weights are added. ``weights_from``: a folder holding
    each weight as ``<arch>.<tag>/`` (``hub-repos``) to read instead of the Hub.
    """
    out, assets = Path(out), Path(assets)
    check_parent_dir(out)
    assets.mkdir(parents=True, exist_ok=True)
    rows = weight_rows(assets, seed, Path(weights_from) if weights_from else None)
    for dataset in progress(list(dict.fromkeys([*datasets, *(r.dataset for r in rows)])), desc="real-data floors",
                            unit="dataset"):
        rows.append(floor_row(dataset, assets, n, seed))
    text = to_markdown(rows, out, n)
    with atomic_output(out) as tmp:
        tmp.write_text(text)
    return text


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m imggen.reports.zoo --out docs/zoo.md --assets docs/assets/zoo [-n 10000]``."""
    parser = argparse.ArgumentParser(prog="python -m imggen.reports.zoo", description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="markdown page to write (docs/zoo.md)")
    parser.add_argument("--assets", required=True, help="folder for the sample grids (docs/assets/zoo)")
    parser.add_argument("-n", type=int, default=10000, help="real images for the floor rows")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights-from", metavar="FOLDER",
                        help="read each weight from FOLDER/<arch>.<tag> (hub-repos) instead of the Hub")
    args = parser.parse_args(argv)
    write_leaderboard(args.out, args.assets, n=args.n, seed=args.seed, weights_from=args.weights_from)
    print(f"wrote {args.out} and grids under {args.assets}")


if __name__ == "__main__":
    main()
