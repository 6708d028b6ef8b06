"""Write the scores table and the sample grids of ``docs/conv-gan.md`` from the shipped convolutional GAN weights.

Run from the repo root (seconds on one CPU thread)::

    OMP_NUM_THREADS=1 python docs/gen_conv_gan.py

The table holds each DCGAN family member's default weight with the metrics its recipe's ``[eval]`` recorded in the
weight's metadata (10,000 samples against the test split in the dataset's feature network), or the recipe that will
train it. The grids come from each weight's repository copy of its Hub folder (``hub-repos/``, so no network is
needed). The block between the page's markers is rewritten, never typed.
"""

from __future__ import annotations

import sys
from pathlib import Path

from generated import default_weight, load_shipped, markers, replace_block, save_samples, scores_table

DOCS = Path(__file__).resolve().parent
PAGE = DOCS / "conv-gan.md"
FIGURES = DOCS / "assets" / "conv-gan"
BLOCK = markers("conv-gan-table", "python docs/gen_conv_gan.py")
FAMILY = ("gan-dcgan-mnist", "cgan-dcgan-mnist", "cgan-dcgan-fashion")
COLUMNS = (("fd", "FD ↓", 4), ("precision", "precision ↑", 4), ("recall", "recall ↑", 4),
           ("class_coverage", "class coverage ↑", 3), ("cond_acc", "cond_acc ↑", 4))


def main() -> int:
    replace_block(PAGE, BLOCK, scores_table(FAMILY, COLUMNS))
    FIGURES.mkdir(parents=True, exist_ok=True)
    for name in [w["name"] for arch in FAMILY if (w := default_weight(arch))]:
        path = save_samples(load_shipped(name), name, FIGURES / f"samples-{name.split('.', 1)[0]}.png")
        print(f"wrote {path.relative_to(DOCS.parent)}")
    print(f"wrote the table in {PAGE.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
