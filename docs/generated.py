"""How the docs' generator scripts (``docs/gen_*.py``) rewrite the blocks of a page they own.

A generated block sits between two HTML comments, a start marker that names the command that writes it and an end
marker; everything between them is replaced, everything outside is left as typed.
"""

from __future__ import annotations

from pathlib import Path


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
