"""Score a diffusion weight over sampling steps (per sampler) and over guidance scales: the curves of docs/diffusion.md.

Why: how many steps a sampler needs, and which guidance a weight wants, are properties of the trained weight that
only measurement shows (issue 18 asks that DDIM or DPM-Solver++ at <= 50 steps be within 10% of the 1000-step FD).
Each point samples ``-n`` images with class-balanced labels and one seed, scores them against each ``--reference``
in each ``--features`` space, and records the sampling wall time (img/s, network passes per image). Rows print as a
markdown table as they come; ``--json`` also writes them to a file for the docs' figures.

    python scripts/diffusion_curves.py runs/ddpm-unet-mnist --device cuda --samplers ddim,dpmpp-2m \\
        --steps 10,20,50,100,250,1000 --guidance 0,1,1.5,2,3,4 --features mnist-cnn,mnist-timm-resnet \\
        --json runs/ddpm-unet-mnist/curves.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

import imggen
from imggen.metrics.scoring import balanced_labels, score_images
from imggen.models.diffusion import DiffusionModel

COLUMNS = ("fd", "precision", "recall", "cond_acc")


def sample_timed(model: DiffusionModel, n: int, seed: int, batch_size: int,
                 **options: Any) -> tuple[torch.Tensor, torch.Tensor, float]:
    """``n`` class-balanced samples with ``options``, their labels, and the seconds sampling took (device synced)."""
    labels = balanced_labels(n, model.num_classes)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    images = model.sample(n, labels=labels, seed=seed, batch_size=batch_size, **options)
    if model.device.type == "cuda":
        torch.cuda.synchronize()
    return images.float().cpu(), labels, time.perf_counter() - start


def points(args: argparse.Namespace, defaults: dict[str, Any]) -> list[dict[str, Any]]:
    """The sampling settings to measure: each sampler at each step count (guidance as the weight's default), then
    each guidance at the weight's default sampler and steps."""
    steps = [int(s) for s in args.steps.split(",")]
    grid = [{"sampler": s, "steps": k, "guidance": defaults["guidance"]}
            for s in args.samplers.split(",") for k in steps]
    grid += [{"sampler": defaults["sampler"], "steps": defaults["steps"], "guidance": float(g)}
             for g in args.guidance.split(",")]
    return grid


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a diffusion weight: NAME.TAG, a folder, or a run folder")
    parser.add_argument("--samplers", default="ddim,dpmpp-2m", help="comma-separated registered samplers")
    parser.add_argument("--steps", default="10,20,50,100,250,1000", help="comma-separated step counts")
    parser.add_argument("--guidance", default="0,1,1.5,2,3", help="comma-separated guidance scales")
    parser.add_argument("--reference", action="append", help="DATASET:SPLIT, repeatable (default: the weight's test)")
    parser.add_argument("--features", default=None, help="comma-separated feature networks (default: the dataset's)")
    parser.add_argument("-n", type=int, default=10000, help="samples per point")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows to this JSON file")
    args = parser.parse_args()
    model = imggen.create_model(args.model).to(args.device).eval()
    if not isinstance(model, DiffusionModel):
        raise SystemExit(f"{args.model} is a {type(model).__name__}, not a diffusion model")
    dataset = model.imggen_cfg.get("meta", {}).get("data") if hasattr(model, "imggen_cfg") else None
    references = args.reference or ([f"{dataset}:test"] if dataset else None)
    if not references:
        raise SystemExit("the weight records no dataset: pass --reference DATASET:test")
    spaces = args.features.split(",") if args.features else [None]
    defaults = {**model.sampling_defaults, **model.sampling_config}
    rows = []
    print("| sampler | steps | guidance | reference | features | img/s | " + " | ".join(COLUMNS) + " |")
    print("| --- | ---: | ---: | --- | --- | ---: |" + " ---: |" * len(COLUMNS))
    for point in points(args, defaults):
        images, labels, seconds = sample_timed(model, args.n, args.seed, args.batch_size, **point)
        for reference in references:
            for space in spaces:
                scores = score_images(images, labels, reference=reference, metrics="fd,pr,cond_acc",
                                      feature_extractor=space, device=args.device)
                row = {**point, "reference": reference, "features": space or "default", "n": args.n,
                       "seconds": seconds, "images_per_s": args.n / seconds,
                       "network_passes": model.network_evaluations(point["steps"], point["guidance"]), **scores}
                rows.append(row)
                cells = [f"{scores[c]:.4g}" if c in scores else "–" for c in COLUMNS]
                print(f"| {point['sampler']} | {point['steps']} | {point['guidance']:g} | {reference} | "
                      f"{row['features']} | {row['images_per_s']:.0f} | " + " | ".join(cells) + " |", flush=True)
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "rows": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
