"""What the docs' generator scripts (``docs/gen_*.py``) share: how they rewrite the blocks of a page they own, and
how they find and load the shipped weights they report on.

A generated block sits between two HTML comments, a start marker that names the command that writes it and an end
marker; everything between them is replaced, everything outside is left as typed. The weights are read from the
repository's copy of their Hub folders (``hub-repos/``), so no script needs the network.
"""

from __future__ import annotations

from pathlib import Path

import torch

import imggen
from imggen.images import save_grid

HUB_REPOS = Path(__file__).resolve().parents[1] / "hub-repos"


def default_weight(arch: str) -> dict | None:
    """``imggen.model_info``'s entry for ``arch``'s default weight, or ``None`` while it has none."""
    return next((w for w in imggen.model_info(arch)["pretrained"] if w["default"]), None)


def scores_table(family: tuple[str, ...], columns: tuple[tuple[str, str, int], ...]) -> str:
    """A markdown table, one row per architecture of ``family``: its default weight's recorded metrics, one column per
    ``(metric key, title, decimals)`` of ``columns`` ("–" where the weight has no such metric), or the recipe that
    will train it while it has none."""
    lines = ["| model | weight | " + " | ".join(title for _, title, _ in columns) + " |",
             "| --- | --- |" + " ---: |" * len(columns)]
    for arch in family:
        weight = default_weight(arch)
        if weight is None:
            lines.append(f"| `{arch}` | not trained yet (`recipes/{arch}.toml`) |" + " – |" * len(columns))
            continue
        metrics = weight["metrics"]
        cells = [f"{metrics[key]:.{digits}f}" if key in metrics else "–" for key, _, digits in columns]
        lines.append(f"| `{arch}` | `{weight['name']}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def load_shipped(name: str) -> torch.nn.Module:
    """A shipped weight (``arch.tag``) from its ``hub-repos/`` folder; the loader checks its sha256 as for any
    folder."""
    return imggen.create_model(str(HUB_REPOS / name))


def save_samples(model: torch.nn.Module, name: str, path: Path) -> Path:
    """A 10 x 10 grid of ``model``'s samples (seed 0; one row per class when it is conditional) at ``path``, with the
    weight ``name`` and its sha256 in the PNG's provenance chunk."""
    classes = [c for c in range(10) for _ in range(10)] if model.conditional else None
    provenance = {"model": name, "weights_sha256": model.weights_sha256, "seed": 0}
    return save_grid(model.sample(100, labels=classes, seed=0), path, nrow=10, provenance=provenance)


def markers(name: str, command: str) -> tuple[str, str]:
    """The start and end markers of block ``name``, the start naming the ``command`` that writes it."""
    return f"<!-- {name}:start ({command}) -->", f"<!-- {name}:end -->"


def replace_block(page: Path, block: tuple[str, str], content: str) -> None:
    """Rewrite ``page`` with ``content`` between ``block``'s markers; a clear error when the page lacks them."""
    start, end = block
    text = page.read_text()
    if start not in text or end not in text:
        raise SystemExit(f"{page} lacks the markers {start} ... {end}")
    before, rest = text.split(start, 1)
    page.write_text(f"{before}{start}\n{content}\n{end}{rest.split(end, 1)[1]}")
