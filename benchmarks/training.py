"""Training throughput: one full optimisation step of all networks through imggen's training loop, with the task
that trains the model by default (its ``default_recipe``: adversarial for a GAN generator that names its
discriminator, objective for a model that returns its own loss, such as a VAE), over a batch sweep; and the seed loop
against that loop running the seed's recipe on the same device (the training issue's speed benchmark).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import torch

import imggen
from benchmarks.config import ROTATE, BenchConfig
from benchmarks.measure import PeakMemory, measure, synchronize
from benchmarks.measures import measure_for
from benchmarks.results import ERROR, OK, guarded, ok_row, skipped_row
from benchmarks.roofline import DevicePeaks, count_flops
from benchmarks.seed_loop import seed_mnist, train_seed_loop
from benchmarks.sweep import run_sweep
from imggen.train import Trainer
from imggen.train.recipe import default_recipe, load_recipe

SEED_TASK = "adversarial"  # the task of the seed recipe, when its file is missing
SEED_RECIPE = Path(__file__).resolve().parents[1] / "recipes" / "gan-mlp-mnist-seed.toml"
SEED_MODEL = "gan-mlp-mnist"
TARGET_RATIO = 3.0
TRAINER_PRECISION = {"fp32": "fp32", "tf32": "fp32", "bf16": "bf16", "fp16": "fp16"}  # tf32 is a matmul flag


def training_task(name: str) -> str | None:
    """The task that trains ``name`` by default (``imggen.train.recipe.default_recipe``), or ``None`` when that task
    is not registered here."""
    task = default_recipe(name)["trainer"]["task"]
    return task if task in imggen.list_tasks() else None


def training_data(name: str) -> str:
    """The dataset a model's weights were trained on (its pretrained metadata), else MNIST. Throughput is
    measured on synthetic batches; the trainer still loads a dataset when it is built."""
    for weight in imggen.model_info(name).get("pretrained", []):
        if weight.get("meta", {}).get("data"):
            return weight["meta"]["data"]
    return "mnist"


def make_trainer(task: str, name: str, cfg: BenchConfig, batch_size: int, **overrides: Any) -> Trainer:
    """The training loop with ``task`` for ``name`` on the benchmark's device and in its chosen precision, without
    progress bar, checkpoints or samples (``overrides`` are trainer arguments, ``task_args`` among them)."""
    args = {"data": training_data(name), "batch_size": batch_size, "device": str(cfg.device),
            "precision": TRAINER_PRECISION[cfg.precision], "compile": bool(cfg.compile_mode), "seed": 0,
            "out": None, "progress": False, **overrides}
    return imggen.create_trainer(task, name, **args)


def training_rows(name: str, batch_sizes: list[int] | None, cfg: BenchConfig) -> list[dict[str, Any]]:
    """Rows for ``trainer.step`` (all networks, one optimisation step of the model's default task) of ``name`` at
    each batch size."""
    task = training_task(name)
    trainer = make_trainer(task, name, cfg, batch_size=64)
    variant = "compile" if cfg.compile_mode else "cuda-graphs" if trainer.cuda_graphs else "eager"
    model = trainer.task.model
    fits = measure_for(model)
    shape = fits.train_image_shape(model) if fits else tuple(model.image_shape)
    params = sum(p.numel() for net in trainer.task.networks().values() for p in net.parameters())

    def batches(batch: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Synthetic batches as the loop hands them to its task: images in [0, 1] and labels (ignored by an
        unconditional model)."""
        rng = torch.Generator().manual_seed(batch)
        return [(torch.rand(batch, *shape, generator=rng).to(cfg.device),
                 torch.randint(max(getattr(model, "num_classes", 0), 1), (batch,), generator=rng).to(cfg.device))
                for _ in range(ROTATE)]

    probe = batches(2)[0]
    flops = count_flops(lambda: trainer.step(*probe)) / 2  # per image, as one step at any batch size does

    def row(batch: int) -> dict[str, Any]:
        inputs = batches(batch)
        with PeakMemory(cfg.device) as memory:
            timing = measure(lambda i: trainer.step(*inputs[i % ROTATE]), batch, warmup=cfg.warmup,
                             iters=cfg.iters, repeats=cfg.repeats, device=cfg.device)
        return ok_row(name, "train", variant, timing, memory, params, flops, None, task=task)

    def measure_at(batch: int) -> list[dict[str, Any]]:
        return [guarded(name, "train", variant, batch, cfg.device, lambda: row(batch))]

    def skipped(batch: int) -> list[dict[str, Any]]:
        return [skipped_row(name, "train", variant, batch, flops * batch, cfg.max_call_flops, task=task)]

    return run_sweep(batch_sizes, cfg.device, measure_at, flops, cfg.max_call_flops, skipped)


def seed_recipe_args() -> dict[str, Any]:
    """The seed recipe's trainer arguments with its task's as ``task_args`` (same networks, data range, loss and
    optimiser as the seed loop); without the recipe file, the adversarial task's defaults for the seed's model."""
    if not SEED_RECIPE.is_file():
        return {"task": SEED_TASK, "model": SEED_MODEL}
    recipe = load_recipe(SEED_RECIPE)
    return {**recipe["trainer"], "task_args": recipe.get("task", {})}


def _time_fit(trainer: Any, total_steps: int, device: torch.device) -> float:
    synchronize(device)
    start = time.perf_counter()
    trainer.fit(steps=total_steps)  # fit trains up to a total step count, so successive calls continue
    synchronize(device)
    return time.perf_counter() - start


def seed_comparison(cfg: BenchConfig, steps: int, batch_size: int = 64, warmup: int = 5) -> dict[str, Any]:
    """The seed loop and imggen's trainer, ``steps`` steps each at ``batch_size`` on the same device, alternating
    for ``cfg.repeats`` rounds (so changing load on the machine hits both alike); medians over the rounds."""
    result: dict[str, Any] = {"model": SEED_MODEL, "batch_size": batch_size, "steps": steps, "warmup_steps": warmup,
                              "rounds": cfg.repeats, "target_ratio": TARGET_RATIO, "status": OK}
    args = {**seed_recipe_args(), "batch_size": batch_size, "checkpoint_every": 10**9}
    for key in ("device", "precision", "compile"):  # the suite's options decide these, not the recipe's
        args.pop(key, None)
    result["trainer"] = args.pop("task", SEED_TASK)
    result["trainer_args"] = {**args, "device": str(cfg.device), "precision": TRAINER_PRECISION[cfg.precision],
                              "compile": bool(cfg.compile_mode)}
    try:
        dataset = seed_mnist()
        trainer = make_trainer(result["trainer"], args.pop("model", SEED_MODEL), cfg, **args)
        result["trainer_args"]["cuda_graphs"] = trainer.cuda_graphs
        real, labels = trainer.batch(0)
        result["flops_per_image"] = count_flops(lambda: trainer.step(real, labels)) / real.shape[0]
        trainer.fit(steps=trainer.step_count + warmup)
    except Exception as exc:  # noqa: BLE001 - reported, the rest of the suite goes on
        return {**result, "status": ERROR, "message": f"{type(exc).__name__}: {exc}"}
    seed_runs, imggen_seconds = [], []
    for r in range(cfg.repeats):
        seed_runs.append(train_seed_loop(steps, batch_size, cfg.device, warmup_steps=warmup, seed=r, dataset=dataset))
        imggen_seconds.append(_time_fit(trainer, trainer.step_count + steps, cfg.device))
    seed_rates = [s.images_per_s for s in seed_runs]
    imggen_rates = [steps * batch_size / s for s in imggen_seconds]
    result.update(
        seed_images_per_s=statistics.median(seed_rates), imggen_images_per_s=statistics.median(imggen_rates),
        seed_seconds=statistics.median(s.seconds for s in seed_runs), imggen_seconds=statistics.median(imggen_seconds),
        seed_rounds_images_per_s=seed_rates, imggen_rounds_images_per_s=imggen_rates,
    )
    result["ratio"] = result["imggen_images_per_s"] / result["seed_images_per_s"]
    return result


def add_seed_roofline(result: dict[str, Any], peaks: DevicePeaks) -> None:
    """The compute limit of a training step at the device's measured matmul peak, and what ratio over the seed
    loop it would allow: a loop already near the limit cannot be made much faster without less work per image."""
    if result.get("status") != OK or not result.get("flops_per_image"):
        return
    limit = peaks.matmul_flops_per_s / result["flops_per_image"]
    result.update(compute_limit_images_per_s=limit, imggen_fraction_of_limit=result["imggen_images_per_s"] / limit,
                  seed_fraction_of_limit=result["seed_images_per_s"] / limit,
                  ratio_at_limit=limit / result["seed_images_per_s"])
