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

HUB_REPOS = Path(__file__).resolve().parents[1] / "hub-repos"


def default_weight(arch: str) -> dict | None:
    """``imggen.model_info``'s entry for ``arch``'s default weight, or ``None`` while it has none."""
    return next((w for w in imggen.model_info(arch)["pretrained"] if w["default"]), None)


def load_shipped(name: str) -> torch.nn.Module:
    """A shipped weight (``arch.tag``) from its ``hub-repos/`` folder; the loader checks its sha256 as for any
    folder."""
    return imggen.create_model(str(HUB_REPOS / name))


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
