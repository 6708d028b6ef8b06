"""Write the docs' sample-grid figures from the shipped pretrained weights, through the ``imggen`` CLI.

Run from the repo root after the weights land (and whenever they change)::

    python docs/gen_figures.py

Each figure is a real ``imggen sample ... --pretrained`` output (with its provenance PNG chunks), so the site never
shows an image that the shipped weights did not make.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import imggen

FIGURES_DIR = Path(__file__).resolve().parent / "assets" / "figures"

# output file → the arguments of `imggen sample` (conditional models: one row per class, ten samples each)
FIGURES = {
    "samples-cgan-mlp-mnist.png": ["cgan-mlp-mnist", "--pretrained", "-n", "100", "--labels", "0-9", "--seed", "0"],
    "samples-cgan-mlp-fashion.png": ["cgan-mlp-fashion", "--pretrained", "-n", "100", "--labels", "0-9",
                                     "--seed", "0"],
}


def main() -> int:
    """Write every figure whose model has pretrained weights; exit 1 (after writing the rest) if any lacks them."""
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    with_weights = {name.split(".", 1)[0] for name in imggen.list_models(pretrained=True)}
    missing = []
    for filename, args in FIGURES.items():
        if args[0] not in with_weights:
            missing.append(args[0])
            continue
        out = FIGURES_DIR / filename
        subprocess.run([sys.executable, "-m", "imggen", "sample", *args, "-o", str(out)], check=True)
    if missing:
        print(f"no pretrained weights yet for {', '.join(missing)}; their figures were not written", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
