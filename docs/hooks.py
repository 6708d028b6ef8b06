"""mkdocs hooks: stand-in pages for generated pages not produced yet, and notes for figures not produced yet.

Generated pages (the zoo, the calibration table, benchmark results) and figures are written by commands in the
repo, never by hand. On a checkout where a command has not been run, the build still works and the site says
which command makes the missing piece, instead of failing or showing a broken image.
"""

from __future__ import annotations

import re
from pathlib import Path

from mkdocs.structure.files import File, Files

# page → (what it is, the command that writes it)
GENERATED_PAGES = {
    "zoo.md": ("Model zoo", "`python -m imggen.reports.zoo --out docs/zoo.md --assets docs/assets/zoo`"),
    "calibration.md": ("Calibration table", "`python -m imggen.reports.calibration --out docs/calibration.md`"),
    "benchmarks.md": ("Results by machine", "`python benchmarks/docs_page.py` from the results files in "
                      "`benchmarks/results/` (see Benchmarks → Method)"),
}
PLACEHOLDER_MARK = "<!-- imggen-docs: placeholder for a generated page -->"
FIGURE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<src>assets/figures/[^)\s]+)\)(?:\{[^}]*\})?")


def placeholder(title: str, command: str) -> str:
    """Markdown for a generated page that has not been generated in this checkout."""
    return (
        f"{PLACEHOLDER_MARK}\n# {title}\n\n"
        f"!!! warning \"Not generated yet\"\n"
        f"    This page is written by {command}. It has not been run in this checkout, so the build shows this "
        f"stand-in instead.\n"
    )


def on_files(files: Files, config) -> Files:
    """Add a stand-in for each generated page missing from ``docs/`` (never overwriting a real one)."""
    for src_uri, (title, command) in GENERATED_PAGES.items():
        if files.get_file_from_path(src_uri) is None:
            files.append(File.generated(config, src_uri, content=placeholder(title, command)))
    return files


def on_page_markdown(markdown: str, page, config, files: Files) -> str:
    """Give generated pages' wide tables the table-of-contents column; replace a generated figure that does not
    exist yet with a note naming the script that makes it."""
    if page.file.src_uri in GENERATED_PAGES:
        page.meta.setdefault("hide", ["toc"])
    page_dir = Path(config["docs_dir"]) / Path(page.file.src_uri).parent

    def swap(match: re.Match[str]) -> str:
        if (page_dir / match["src"]).is_file():
            return match[0]
        return (
            f"!!! note \"Figure not generated yet: {match['alt']}\"\n"
            f"    `python docs/gen_figures.py` writes `docs/{match['src']}` from the shipped pretrained weights; "
            "it has not been run in this checkout.\n"
        )

    return FIGURE.sub(swap, markdown)
