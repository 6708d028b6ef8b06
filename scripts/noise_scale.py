"""Score a noise-to-image generator with its noise scaled: z ~ N(0, s^2) instead of N(0, 1).

Why: a generator whose samples are less spread than the data (it under-disperses) gains recall, and often FD, when
its noise is widened; one that over-disperses gains FD when it is narrowed. This measures which a weight is, against
any reference split (choose on ``DATASET:train``, report on ``DATASET:test``); the chosen scale ships as the weight's
sampling default (``[export] sampling = { noise_scale = ... }`` in its recipe). Needs a generator with the
``noise_scale`` sampling option, as the MLP and conv GANs have.

    python scripts/noise_scale.py gan-mlp-mnist --scales 0.8,1,1.2,1.4 --reference mnist:train --reference mnist:test
"""

from __future__ import annotations

import argparse

import torch

import imggen
from imggen.metrics.scoring import balanced_labels, score_images
from imggen.models.base import Generator

COLUMNS = ("fd", "precision", "recall", "cond_acc")


def scaled_samples(generator: Generator, n: int, scale: float, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``n`` images in [0, 1] sampled with noise ``N(0, scale^2)``, and their (class-balanced) labels."""
    labels = balanced_labels(n, generator.num_classes) if generator.conditional else None
    return generator.sample(n, labels=labels, seed=seed, noise_scale=scale).float().cpu(), labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a registered generator (its default pretrained weight), NAME.TAG or a folder")
    parser.add_argument("--scales", default="0.8,0.9,1,1.1,1.2,1.3,1.4", help="comma-separated noise scales")
    parser.add_argument("--reference", action="append", help="DATASET:SPLIT, repeatable (default: mnist:test)")
    parser.add_argument("-n", type=int, default=10000, help="samples per scale")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    generator = imggen.create_model(args.model, pretrained=True).eval()
    references = args.reference or ["mnist:test"]
    print("| reference | scale | " + " | ".join(COLUMNS) + " |")
    print("| --- | ---: |" + " ---: |" * len(COLUMNS))
    for scale in (float(s) for s in args.scales.split(",")):
        images, labels = scaled_samples(generator, args.n, scale, args.seed)
        for reference in references:
            scores = score_images(images, labels, reference=reference, metrics="fd,pr,cond_acc")
            cells = [f"{scores[c]:.4g}" if c in scores else "–" for c in COLUMNS]
            print(f"| {reference} | {scale:g} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
