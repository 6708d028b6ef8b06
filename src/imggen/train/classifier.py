"""Training recipe of the metrics' feature networks: a small CNN classifier per dataset, from a recipe file.

Why: the bundled ``mnist-cnn`` / ``fashion-cnn`` weights must be reproducible with one command, and record how they
were made. Usage::

    python -m imggen.train.classifier --dataset mnist --out src/imggen/weights/mnist-cnn.v1
    python -m imggen.train.classifier --recipe recipes/features/fashion-cnn.toml --out /tmp/fashion-cnn
    python -m imggen.train.classifier --recipe recipes/features/mnist-timm-resnet.toml --out /tmp/mnist-timm-resnet
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from pathlib import Path
from typing import Any

import tomllib
import torch
import torch.nn.functional as F
from torch import nn

from imggen.data import load_images, spec_for
from imggen.fileio import sha256_file
from imggen.hub import WEIGHTS_NAME, save_pretrained
from imggen.metrics.features import FeatureNet
from imggen.registry import create_feature_extractor

RECIPE_DIR = Path("recipes/features")


def read_recipe(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The recipe (TOML) as a dict, checked for the keys the trainer needs."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"recipe {str(path)!r} not found; recipes live in {RECIPE_DIR}/ (run from the repo root)"
        )
    recipe = tomllib.loads(path.read_text())
    missing = {"architecture", "dataset", "epochs", "batch_size", "lr"} - set(recipe)
    if missing:
        raise ValueError(f"recipe {path} lacks {', '.join(sorted(missing))}")
    return recipe


def random_affine(x: torch.Tensor, rng: torch.Generator, rotate_deg: float, translate_px: float,
                  scale: float) -> torch.Tensor:
    """Each image rotated, shifted and scaled by a small random amount (one batched ``grid_sample``).

    Why: light augmentation lifts a small CNN's test accuracy with few epochs, without changing what a class is.
    """
    n, _, h, _ = x.shape
    u = torch.rand(n, 4, generator=rng) * 2 - 1
    angle = u[:, 0] * math.radians(rotate_deg)
    s = 1 + u[:, 1] * scale
    shift = u[:, 2:] * (2 * translate_px / h)
    cos, sin = torch.cos(angle) / s, torch.sin(angle) / s
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="zeros", align_corners=False).clamp(0, 1)


def random_hflip(x: torch.Tensor, rng: torch.Generator, p: float) -> torch.Tensor:
    """Each image mirrored left to right with probability ``p`` (a garment mirrored is the same garment)."""
    if p <= 0:
        return x
    flip = torch.rand(x.shape[0], generator=rng) < p
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def optimizer_and_schedule(model: nn.Module, recipe: dict[str, Any],
                           total: int) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LRScheduler]:
    """The recipe's optimizer (``adamw``, default, or ``sgd`` with ``momentum``/``nesterov``) and its per-step schedule.

    ``schedule = "onecycle"`` (default) peaks at ``lr`` after a ``warmup`` fraction; ``"cosine"`` warms up linearly
    over that fraction, then decays to zero along a half cosine.
    """
    lr, decay, warmup = recipe["lr"], recipe.get("weight_decay", 0.0), recipe.get("warmup", 0.15)
    kind, schedule = recipe.get("optimizer", "adamw"), recipe.get("schedule", "onecycle")
    if kind == "adamw":
        opt: torch.optim.Optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=decay)
    elif kind == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=lr, weight_decay=decay, momentum=recipe.get("momentum", 0.9),
                              nesterov=bool(recipe.get("nesterov", False)))
    else:
        raise ValueError(f"unknown optimizer {kind!r} in the recipe; use 'adamw' or 'sgd'")
    if schedule == "onecycle":
        return opt, torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total, pct_start=warmup)
    if schedule != "cosine":
        raise ValueError(f"unknown schedule {schedule!r} in the recipe; use 'onecycle' or 'cosine'")
    warm = max(1, round(warmup * total))

    def factor(step: int) -> float:
        if step < warm:
            return (step + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


@torch.no_grad()
def accuracy(model: FeatureNet, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    """Top-1 accuracy of ``model`` on uint8 images."""
    model.eval()
    correct = 0
    for i in range(0, len(images), batch_size):
        logits = model(images[i:i + batch_size].float() / 255)
        correct += int((logits.argmax(1) == labels[i:i + batch_size]).sum())
    return correct / len(images)


@torch.no_grad()
def feature_rms(model: FeatureNet, images: torch.Tensor, batch_size: int = 1000) -> float:
    """Root mean square of the model's (unscaled) features over uint8 ``images``."""
    model.eval()
    total = sum(float(model.features(images[i:i + batch_size].float() / 255).square().sum())
                for i in range(0, len(images), batch_size))
    return (total / (len(images) * model.num_features)) ** 0.5 / float(model.feature_scale)


def train(recipe: dict[str, Any], recipe_path: str, out: str | os.PathLike[str] | None = None,
          data_root: str | None = None, log: bool = True) -> tuple[FeatureNet, dict[str, Any]]:
    """Train the recipe's classifier on the train split; returns the model and the meta recorded with it.

    ``out`` (optional) receives the weights folder (config.json + model.safetensors + README.md).
    """
    torch.set_num_threads(int(recipe.get("threads", 1)))
    torch.manual_seed(int(recipe.get("seed", 0)))
    rng = torch.Generator().manual_seed(int(recipe.get("seed", 0)))
    train_set = load_images(recipe["dataset"], "train", data_root)
    test_set = load_images(recipe["dataset"], "test", data_root)
    model = create_feature_extractor(recipe["architecture"], pretrained=False, **recipe.get("args", {}))
    epochs, batch_size = int(recipe["epochs"]), int(recipe["batch_size"])
    steps_per_epoch = min(len(train_set) // batch_size, int(recipe.get("max_steps_per_epoch", 1 << 62)))
    total = epochs * steps_per_epoch
    opt, sched = optimizer_and_schedule(model, recipe, total)
    aug = recipe.get("augment", {})
    loss_fn = nn.CrossEntropyLoss(label_smoothing=recipe.get("label_smoothing", 0.0))
    start = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(train_set), generator=rng)
        for step in range(steps_per_epoch):
            idx = order[step * batch_size:(step + 1) * batch_size]
            x = train_set.images[idx].float() / 255
            if aug:
                x = random_affine(x, rng, aug.get("rotate_deg", 0.0), aug.get("translate_px", 0.0),
                                  aug.get("scale", 0.0))
                x = random_hflip(x, rng, aug.get("hflip", 0.0))
            loss = loss_fn(model(x), train_set.labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            if log and step % 100 == 0:
                print(f"epoch {epoch + 1}/{epochs} step {step}/{steps_per_epoch} loss {loss.item():.4f}", flush=True)
        if log:
            print(f"epoch {epoch + 1}: test accuracy {accuracy(model, test_set.images, test_set.labels):.4f} "
                  f"({time.perf_counter() - start:.0f} s)", flush=True)
    model.eval()
    scale = feature_rms(model, train_set.images[:10000])
    model.feature_scale.fill_(1 / scale)
    if recipe.get("half", False):  # measure what ships: the weights rounded to float16
        with torch.no_grad():
            for tensor in model.state_dict().values():
                if tensor.is_floating_point():
                    tensor.copy_(tensor.half())
    meta = {
        "recipe": recipe_path, "recipe_args": recipe, "data": spec_for(recipe["dataset"]).name,
        "data_sha256": {**train_set.archives_sha256, **test_set.archives_sha256},
        "epochs": epochs, "steps": total, "batch_size": batch_size,
        "test_accuracy": accuracy(model, test_set.images, test_set.labels), "feature_rms": scale,
        "train_seconds": round(time.perf_counter() - start, 1), "threads": torch.get_num_threads(),
        "torch": torch.__version__, "machine": platform.machine(),
    }
    if out is not None:
        save_pretrained(model, out, half=bool(recipe.get("half", False)), meta=meta)
    return model, meta


def main(argv: list[str] | None = None) -> None:
    """Command line: train a recipe and write the weights folder; prints the test accuracy and the sha256."""
    parser = argparse.ArgumentParser(prog="python -m imggen.train.classifier", description=__doc__.splitlines()[0])
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--dataset", help="mnist or fashion: uses recipes/features/<name>-cnn.toml")
    which.add_argument("--recipe", help="path of a recipe TOML file")
    parser.add_argument("--out", required=True, help="weights folder to write")
    parser.add_argument("--data-root", default=None, help="data root (default: $IMGGEN_DATA_DIR)")
    args = parser.parse_args(argv)
    recipe_path = args.recipe or str(RECIPE_DIR / f"{args.dataset.split('-')[0]}-cnn.toml")
    _, meta = train(read_recipe(recipe_path), recipe_path, args.out, args.data_root)
    print(f"test accuracy {meta['test_accuracy']:.4f}; wrote {args.out} "
          f"(model.safetensors sha256 {sha256_file(Path(args.out) / WEIGHTS_NAME)})")


if __name__ == "__main__":
    main()
