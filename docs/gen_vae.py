"""Write the scores table and the figures of ``docs/vae.md`` from the shipped VAE weights.

Run from the repo root (seconds on one CPU thread)::

    OMP_NUM_THREADS=1 python docs/gen_vae.py

The table holds each VAE family member's default weight with the metrics its recipe's ``[eval]`` recorded in the
weight's metadata (the NLL: the importance-weighted bound with k = 1000 on every test image; FD, precision and recall
of 10,000 samples in the dataset's feature network), or the recipe that will train it. The figures come from each
weight's repository copy of its Hub folder (``hub-repos/``, so no network is needed): samples, test images above their
reconstructions, and straight lines in latent space between two test images. The block between the page's markers
is rewritten, never typed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from generated import default_weight, load_shipped, markers, replace_block, save_samples, scores_table

from imggen.images import save_grid
from imggen.metrics import likelihood_test_split

DOCS = Path(__file__).resolve().parent
PAGE = DOCS / "vae.md"
FIGURES = DOCS / "assets" / "vae"
BLOCK = markers("vae-table", "python docs/gen_vae.py")
FAMILY = ("vae-conv-mnist", "cvae-conv-mnist", "vae-conv-fashion", "cvae-conv-fashion")
COLUMNS = (("nll", "NLL (nats) ↓", 2), ("nll_bpd", "bits/dim ↓", 4), ("fd", "FD ↓", 4), ("precision", "precision ↑", 4),
           ("recall", "recall ↑", 4), ("cond_acc", "cond_acc ↑", 4))


def first_of_each_class(images: torch.Tensor, labels: torch.Tensor, skip: int = 0) -> torch.Tensor:
    """The index of the ``skip``-th test image of each class 0..9, in class order."""
    return torch.stack([torch.nonzero(labels == c)[skip, 0] for c in range(10)])


@torch.no_grad()
def figures(name: str) -> list[Path]:
    """Samples, reconstructions and interpolations of the weight ``name`` (``arch.tag``)."""
    model = load_shipped(name)
    meta = model.imggen_cfg["meta"]
    images, labels = likelihood_test_split(meta["data"], meta["protocol"]["inputs"])
    arch = name.split(".", 1)[0]
    provenance = {"model": name, "weights_sha256": model.weights_sha256, "seed": 0}
    written = [save_samples(model, name, FIGURES / f"samples-{arch}.png")]
    picked = first_of_each_class(images, labels)
    condition = labels[picked] if model.conditional else None
    mean, _ = model.encode(images[picked], condition)
    pairs = torch.cat([images[picked], model.decode(mean, condition)])
    written.append(save_grid(pairs, FIGURES / f"reconstructions-{arch}.png", nrow=10, provenance=provenance))
    # unconditional: from one class to another; conditional: between two test images of one class, which it keeps
    start = picked[:5]
    end = first_of_each_class(images, labels, skip=1)[:5] if model.conditional else picked[5:]
    lines = model.interpolate(images[start], images[end], steps=10, labels=labels[start] if model.conditional else None)
    written.append(save_grid(lines.flatten(0, 1), FIGURES / f"interpolations-{arch}.png", nrow=10,
                             provenance=provenance))
    return written


def main() -> int:
    replace_block(PAGE, BLOCK, scores_table(FAMILY, COLUMNS))
    FIGURES.mkdir(parents=True, exist_ok=True)
    shipped = [w["name"] for arch in FAMILY if (w := default_weight(arch))]
    for name in shipped:
        for path in figures(name):
            print(f"wrote {path.relative_to(DOCS.parent)}")
    print(f"wrote the table in {PAGE.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
