"""The one training loop every family trains on; what differs between families is a small task object.

The whole training split sits on the device as one float tensor in [0, 1] and batches are sliced there; data order
(a seeded permutation per epoch), noise and augmentation draw from seeded generators saved in every checkpoint, so a
resumed run continues bit for bit.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from imggen.data import load_images
from imggen.hub import save_bundle, save_pretrained
from imggen.images import save_grid
from imggen.models.base import Generator
from imggen.registry import tasks
from imggen.train import distributed, warm_start
from imggen.train.checkpoint import CheckpointManager, rng_state, set_rng_state
from imggen.train.cuda_graph import StepGraph
from imggen.train.ema import EMA
from imggen.train.guard import DivergenceGuard, TrainingDivergedError
from imggen.train.interrupt import StopRequests, TrainingInterrupted
from imggen.train.precision import autocast, resolve_precision
from imggen.train.run_folder import RunFolder, check_resumable
from imggen.train.tasks.base import Task

SCHEDULES = ("constant", "linear", "cosine")
__all__ = ["Trainer", "TrainingDivergedError", "create_trainer", "lr_factor"]


def setting_defaults() -> dict[str, Any]:
    """The :class:`Trainer`'s settings at their defaults (what a run made before a setting existed used)."""
    return {name: p.default for name, p in inspect.signature(Trainer.__init__).parameters.items()
            if p.default is not inspect.Parameter.empty}


def every(count: int, period: int) -> bool:
    """Whether an event that happens every ``period`` steps (never when 0) is due at step ``count``."""
    return period > 0 and count % period == 0


def lr_factor(schedule: str, step: int, total: int, warmup: float = 0.0, decay_start: float | None = None) -> float:
    """The learning-rate multiplier at ``step`` of a ``total``-step run.

    ``warmup`` (a fraction of the run) ramps linearly up from zero; ``linear`` then holds until ``decay_start`` (a
    fraction, default the end of warm-up) and falls linearly to zero at the last step; ``cosine`` follows half a cosine
    from the end of warm-up to zero.
    """
    warm = warmup * total
    if step < warm:
        return (step + 1) / warm
    if schedule == "constant":
        return 1.0
    if schedule == "linear":
        start = (decay_start if decay_start is not None else warmup) * total
        return min(1.0, (total - step) / max(total - start, 1.0))
    progress = (step - warm) / max(total - warm, 1.0)
    return 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


class Trainer:
    """Trains the named ``model`` with ``task`` (a :class:`Task` or a registered task name with ``task_args``).

    The loop owns: ``data`` (a registered dataset, its train split), ``batch_size`` (images per batch, over all
    processes), the EMA of the exported network (``ema_decay``; ``ema_warmup`` starts it at a low decay, see
    :class:`~imggen.train.ema.EMA`), the learning-rate ``lr_schedule`` (``warmup`` and
    ``lr_decay_start`` as fractions of the run), ``precision`` (``auto``: bf16 only where the device runs it natively),
    ``compile``, ``cuda_graphs`` (the whole step replayed as one CUDA graph; default on for one CUDA process without
    ``compile``), ``threads`` (CPU threads), ``seed``, and the run folder ``out`` with checkpoints every
    ``checkpoint_every`` steps, a log line every ``log_every`` steps, samples every ``sample_every`` epochs and
    metrics every ``eval_every`` epochs (0 turns each off; a checkpoint is still written at the end and a log line
    at each epoch's end) (``eval_n`` samples; ``eval_args`` go to the task's ``evaluate``, e.g. the
    adversarial task's ``feature_extractors``); each epoch's line in ``log.jsonl`` also says the training ``images``
    seen and the training ``seconds`` spent, evaluation excluded. ``divergence`` sets the limits of the divergence
    guard (:class:`imggen.train.guard.DivergenceGuard`: ``max_loss``, ``max_weight_growth``, ``min_sample_spread``).

    Fine-tuning (:mod:`imggen.train.warm_start`): ``init`` starts the task's networks from pretrained weights (a
    registered ``NAME[.TAG]``, a weights folder, a training bundle or a run folder); ``freeze`` lists patterns of
    ``network.parameter`` names that keep their values. ``data_fraction`` trains on that seeded fraction of the train
    split (drawn per class with ``data_seed``, the same images in every run that names them). ``data_args`` go to
    the data's loader (:func:`imggen.data.load_images`: the super-resolution training set's ``patch`` and ``stride``).
    """

    def __init__(
        self,
        task: Task | str,
        model: str | None = None,
        *,
        model_args: dict[str, Any] | None = None,
        task_args: dict[str, Any] | None = None,
        data: str = "mnist",
        data_root: str | None = None,
        batch_size: int = 64,
        ema_decay: float | None = None,
        ema_warmup: bool = False,
        lr_schedule: str = "constant",
        warmup: float = 0.0,
        lr_decay_start: float | None = None,
        device: str = "cpu",
        precision: str = "auto",
        compile: bool = False,
        cuda_graphs: bool | None = None,
        threads: int | None = None,
        seed: int = 0,
        out: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 1000,
        log_every: int = 50,
        sample_every: int = 1,
        eval_every: int = 0,
        eval_n: int = 10000,
        progress: bool = True,
        divergence: dict[str, float] | None = None,
        init: str | None = None,
        freeze: Sequence[str] = (),
        data_fraction: float = 1.0,
        data_seed: int = 0,
        data_args: dict[str, Any] | None = None,
        eval_args: dict[str, Any] | None = None,
    ) -> None:
        self.config = {k: v for k, v in locals().items() if k not in ("self", "__class__", "task")}
        self.config["task"] = task if isinstance(task, str) else type(task).__name__
        if lr_schedule not in SCHEDULES or (lr_decay_start is not None and lr_schedule != "linear"):
            raise ValueError(f"lr_schedule must be one of {', '.join(SCHEDULES)} (lr_decay_start needs 'linear'); "
                             f"got {lr_schedule!r} with lr_decay_start={lr_decay_start}")
        if not 0.0 <= warmup < 1.0 or (lr_decay_start is not None and not warmup <= lr_decay_start < 1.0):
            raise ValueError(f"warmup and lr_decay_start are fractions of the run in [0, 1) with warmup <= "
                             f"lr_decay_start; got {warmup} and {lr_decay_start}")
        if threads is not None:
            torch.set_num_threads(int(threads))
        self.device = distributed.local_device(torch.device(device))
        self.rank, self.world_size = distributed.init_from_env(self.device)
        if batch_size < 1 or batch_size % self.world_size:
            raise ValueError(f"batch_size must be a positive multiple of the {self.world_size} processes, "
                             f"got {batch_size}")
        self.batch_size, self.local_batch = batch_size, batch_size // self.world_size
        self.model_name, self.model_args = model, dict(model_args or {})
        self.seed, self.out = seed, Path(out) if out is not None else None
        for name, value in (("checkpoint_every", checkpoint_every), ("log_every", log_every),
                            ("sample_every", sample_every), ("eval_every", eval_every)):
            if value < 0:
                raise ValueError(f"{name} counts steps or epochs between events (0: never, or only at the end for "
                                 f"checkpoints); got {value}")
        self.checkpoint_every, self.log_every = checkpoint_every, log_every
        self.sample_every, self.eval_every, self.eval_n, self.progress = sample_every, eval_every, eval_n, progress
        self.eval_args = dict(eval_args or {})
        self.lr_schedule, self.warmup, self.lr_decay_start = lr_schedule, warmup, lr_decay_start
        self.precision = resolve_precision(precision, self.device)
        self.compile = compile
        graphs_possible = self.device.type == "cuda" and self.world_size == 1 and not compile
        if cuda_graphs and not graphs_possible:
            raise ValueError("cuda_graphs=True needs one CUDA device, one process and compile=False; "
                             f"got device {self.device}, {self.world_size} processes, compile={compile}")
        self.cuda_graphs = graphs_possible if cuda_graphs is None else cuda_graphs

        self.task = tasks.get(task).factory(**(task_args or {})) if isinstance(task, str) else task  # checks its args
        self.dataset = load_images(data, "train", data_root, **(data_args or {})).subset(data_fraction,
                                                                                             data_seed)
        self.images = self.dataset.images.to(self.device).float() / 255
        self.labels = self.dataset.labels.to(self.device)
        self.rng = torch.Generator(self.device).manual_seed(seed + 1000 * self.rank)
        self.step_rng = None if self.cuda_graphs else self.rng  # None: the device's default generator
        torch.manual_seed(seed)  # identical initial weights on every rank, and reproducible runs
        self.task.setup(self)
        init_roles = self._warm_start(init, [freeze] if isinstance(freeze, str) else list(freeze))
        self.initial_lrs = {name: [float(group["lr"]) for group in opt.param_groups]
                            for name, opt in self.task.optimizers().items()}
        self.ema = EMA(self.task.model, ema_decay, ema_warmup) if ema_decay else None
        if self.ema is not None and "ema" in init_roles:
            self.ema.module.load_state_dict(init_roles["ema"].state_dict())
        self.guard = DivergenceGuard(self.task.networks(), self.task.model, **(divergence or {}))
        per_step = batch_size * self.task.batches_per_step
        self.steps_per_epoch = len(self.dataset) // per_step
        if self.steps_per_epoch < 1:
            raise ValueError(f"{len(self.dataset)} training images make no step of {per_step}; lower batch_size")
        self.graph = StepGraph() if self.cuda_graphs else None
        self.step_count, self.train_seconds = 0, 0.0
        self.checkpoints = CheckpointManager(self.out) if self.out is not None else None
        self.run_folder = RunFolder(self.out) if self.out is not None and distributed.is_main() else None

    def _warm_start(self, init: str | None, patterns: list[str]) -> dict[str, nn.Module]:
        """Load ``init`` into the task's networks, freeze what ``patterns`` name, and take every parameter that needs
        no gradient out of the optimisers; returns the pretrained networks by role (the EMA's is loaded later)."""
        sources: dict[str, nn.Module] = {}
        if init is not None:
            kind = getattr(self.task.model, "imggen_cfg", {}).get("kind", "generators")
            sources = warm_start.init_sources(init, kind)
            warm_start.load_init(self.task.init_targets(), sources, init)
        if patterns:
            if self.world_size > 1:
                raise ValueError("freeze= with several processes is not supported: DDP has registered the parameters "
                                 "by then; freeze on one process")
            warm_start.freeze(self.task.networks(), patterns)
        warm_start.drop_frozen(self.task.optimizers())
        return sources

    # -- what tasks build with ------------------------------------------------------------------------
    def autocast(self) -> Any:
        """The precision's autocast context (a captured graph must not reuse autocast's cached casts)."""
        return autocast(self.device, self.precision, cache_enabled=not self.cuda_graphs)

    def wrap(self, module: nn.Module) -> nn.Module:
        """``module`` as the step should call it: under DDP when there are several processes, compiled if asked."""
        if self.world_size > 1:
            module = DistributedDataParallel(module)
        return torch.compile(module) if self.compile else module

    def optimizer(self, params: Any, lr: float, betas: Sequence[float] = (0.9, 0.999), weight_decay: float = 0.0,
                  kind: str = "adam", momentum: float = 0.9, nesterov: bool = False) -> torch.optim.Optimizer:
        """Adam (AdamW when ``weight_decay`` > 0) with the fused kernel, or SGD (``kind="sgd"``, with ``momentum``
        and ``nesterov``). Under CUDA graphs Adam's step counters and learning rate live on the device, so a replayed
        graph sees the schedule's current value."""
        if kind == "sgd":
            if self.cuda_graphs:
                raise ValueError("kind='sgd' cannot run inside a CUDA graph here; use cuda_graphs=False")
            return torch.optim.SGD(params, lr=float(lr), momentum=momentum, nesterov=nesterov,
                                   weight_decay=weight_decay)
        if kind != "adam":
            raise ValueError(f"optimizer kind must be 'adam' or 'sgd', got {kind!r}")
        lr_value: float | torch.Tensor = torch.tensor(lr, device=self.device) if self.cuda_graphs else float(lr)
        adam = torch.optim.AdamW if weight_decay else torch.optim.Adam
        return adam(params, lr=lr_value, betas=(float(betas[0]), float(betas[1])), weight_decay=weight_decay,
                    fused=True, capturable=self.cuda_graphs)

    @property
    def model_to_export(self) -> nn.Module:
        """The EMA of the task's model when EMA is on, else the model itself."""
        return self.ema.module if self.ema is not None else self.task.model

    # -- data ---------------------------------------------------------------------------------------
    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Images in [0, 1] and labels for ``step``: a seeded permutation per epoch, this rank's slice of it."""
        epoch, index = divmod(step, self.steps_per_epoch)
        if getattr(self, "_perm_epoch", None) != epoch:
            order = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            self._perm = torch.randperm(len(self.dataset), generator=order).to(self.device)
            self._perm_epoch = epoch
        k = self.task.batches_per_step
        start = index * self.batch_size * k + self.rank * self.local_batch * k
        idx = self._perm[start:start + self.local_batch * k]
        return self.images[idx], self.labels[idx]

    # -- one step -------------------------------------------------------------------------------------
    def step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """One optimisation step of the task (and the EMA update); losses as tensors, no device sync."""
        losses = self.graph.run(self._step, images, labels) if self.graph is not None else self._step(images, labels)
        self.step_count += 1
        return losses

    def _step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        losses = self.task.step(images, labels)
        if self.ema is not None:
            self.ema.update(self.task.model)
        return losses

    def _schedule(self, total: int) -> None:
        """Set every optimiser's learning rate for the coming step of a ``total``-step run (from this run's
        configured rates: a resumed run whose rates were changed on purpose takes the new ones)."""
        factor = lr_factor(self.lr_schedule, self.step_count, total, self.warmup, self.lr_decay_start)
        for name, opt in self.task.optimizers().items():
            for group, base in zip(opt.param_groups, self.initial_lrs[name], strict=True):
                if isinstance(group["lr"], torch.Tensor):
                    group["lr"].fill_(base * factor)
                else:
                    group["lr"] = base * factor

    # -- checkpoints --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: task state, EMA, step, RNG states and the configuration."""
        return {"step": self.step_count, "seconds": self.train_seconds, "task": self.task.state_dict(),
                "ema": self.ema.state_dict() if self.ema is not None else {}, "rng": rng_state(self.rng),
                "config": json.loads(json.dumps(self.config, default=str))}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`."""
        self.task.load_state_dict(state["task"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        set_rng_state(self.rng, state["rng"])
        self.step_count = state["step"]
        self.train_seconds = float(state.get("seconds", 0.0))  # checkpoints before 0.x kept no clock

    def save_checkpoint(self) -> Path | None:
        """Write the checkpoint atomically (rank 0 only); ``None`` when the trainer has no ``out`` folder."""
        if self.checkpoints is None or not distributed.is_main():
            return None
        return self.checkpoints.save(self.state_dict())

    # -- the loop -----------------------------------------------------------------------------------
    def fit(self, epochs: float | None = None, steps: int | None = None, resume: bool = False,
            resume_changes: Sequence[str] = ()) -> dict[str, Any]:
        """Train until ``steps`` optimisation steps (or ``epochs`` passes over the data); returns run stats.

        With ``resume`` the run continues from ``out/last.pt`` exactly where it stopped; a configuration that differs
        from the checkpoint's in what it trains is refused unless ``resume_changes`` names the keys.
        """
        if (epochs is None) == (steps is None):
            raise ValueError("pass exactly one of epochs= or steps=")
        total = steps if steps is not None else int(round(epochs * self.steps_per_epoch))
        if total < 1:
            raise ValueError(f"a run needs at least one step; epochs={epochs}, steps={steps} give {total}")
        if resume and self.checkpoints is None:
            raise ValueError("resume needs the trainer's out= folder (where last.pt lives)")
        if self.run_folder is not None:
            self.run_folder.acquire(min_free_bytes=self._checkpoint_bytes() * 3)
        try:
            if resume:
                state = self.checkpoints.load("cpu")  # RNG states must stay on the CPU
                check_resumable(state["config"], self.config, set(resume_changes), setting_defaults())
                self.load_state_dict(state)
                if self.run_folder is not None:
                    self.run_folder.trim_log(self.step_count)
            return self._run(total)
        finally:
            if self.run_folder is not None:
                self.run_folder.release()

    def _checkpoint_bytes(self) -> int:
        """About how large a checkpoint is: every network, its two Adam moments and the EMA."""
        return 4 * sum(p.numel() * p.element_size() for net in self.task.networks().values() for p in net.parameters())

    def _run(self, total: int) -> dict[str, Any]:
        bar = tqdm(total=total, initial=self.step_count, disable=not (self.progress and distributed.is_main()),
                   unit="step", dynamic_ncols=True)
        started, first_step = time.perf_counter(), self.step_count
        self._clock = time.perf_counter()
        with StopRequests(enabled=self.checkpoints is not None and self.world_size == 1) as stops:
            stats = self._steps(total, bar, stops)
        bar.close()
        self._tick()
        elapsed = time.perf_counter() - started
        images = (self.step_count - first_step) * self.batch_size * self.task.batches_per_step
        return {**stats, "steps": self.step_count, "epochs": self.step_count / self.steps_per_epoch,
                "seconds": elapsed, "images_per_s": images / elapsed if elapsed else float("nan")}

    def _steps(self, total: int, bar: tqdm, stops: StopRequests) -> dict[str, float]:
        """Steps until ``total``; a stop request ends the run at a step boundary, with a checkpoint."""
        sums: dict[str, torch.Tensor] = {}
        window_start, window_steps, stats = time.perf_counter(), 0, {}
        while self.step_count < total:
            self._schedule(total)
            losses = self.step(*self.batch(self.step_count))
            self.guard.observe(losses)
            for name, value in losses.items():
                sums[name] = sums.get(name, 0) + value
            window_steps += 1
            done = self.step_count
            at_epoch_end = done % self.steps_per_epoch == 0
            save = every(done, self.checkpoint_every) or done == total
            if save or at_epoch_end or every(done, self.log_every):
                stats = self._check_and_log(sums, window_steps, window_start, bar, at_epoch_end or done == total)
                sums, window_steps, window_start = {}, 0, time.perf_counter()
                if save:  # only after the run was checked, so a checkpoint is never poisoned
                    self._tick()
                    self.save_checkpoint()
            bar.update(1)
            if at_epoch_end:
                self._end_of_epoch(done // self.steps_per_epoch, stats)
            if stops.requested:
                self._stop(stops, saved=save, sums=sums, window_steps=window_steps, window_start=window_start,
                           bar=bar)
        return stats

    def _stop(self, stops: StopRequests, saved: bool, sums: dict[str, torch.Tensor], window_steps: int,
              window_start: float, bar: tqdm) -> None:
        """Check the steps since the last check, write the checkpoint (unless this step just did) and stop."""
        if window_steps:
            self._check_and_log(sums, window_steps, window_start, bar, check_samples=False)
        if not saved:
            self._tick()
            self.save_checkpoint()
        bar.close()
        raise TrainingInterrupted(f"stopped by {stops.name} at step {self.step_count}; the checkpoint "
                                  f"{self.checkpoints.path} holds it. Continue with resume=True (imggen train ... "
                                  "--resume)")

    def _check_and_log(self, sums: dict[str, torch.Tensor], steps: int, since: float, bar: tqdm,
                       check_samples: bool) -> dict:
        means = {k: float(v) / steps for k, v in sums.items()}  # waits for the device, so the clock below is true
        seconds = time.perf_counter() - since
        problems = self.guard.problems(means, check_samples)
        if problems:
            kept = self.checkpoints.path if self.checkpoints and self.checkpoints.exists() else "none written yet"
            raise TrainingDivergedError(
                f"training diverged near step {self.step_count}: {'; '.join(problems)}. Stopped without saving; "
                f"last good checkpoint: {kept}. Lower the learning rates, or (for GANs) try loss='hinge' or the r1 part"
            )
        stats = {**means, "images_per_s": steps * self.batch_size * self.task.batches_per_step / max(seconds, 1e-9)}
        bar.set_postfix({k: f"{v:.3g}" for k, v in stats.items()})
        return stats

    def _tick(self) -> None:
        """Add the time since the clock last started to the training seconds (the caller has synced the device)."""
        now = time.perf_counter()
        self.train_seconds += now - self._clock
        self._clock = now

    def _end_of_epoch(self, epoch: int, stats: dict[str, float]) -> None:
        self._tick()  # the epoch's losses were just read back, so the device has finished its work
        images = self.step_count * self.batch_size * self.task.batches_per_step
        record = {"epoch": epoch, "step": self.step_count, "images": images, "seconds": self.train_seconds, **stats}
        try:
            if every(epoch, self.eval_every):
                record["metrics"] = self.evaluate(self.eval_n, **self.eval_args)
            if self.out is None or not distributed.is_main():
                return
            if every(epoch, self.sample_every) and isinstance(self.model_to_export, Generator):
                self.save_samples(self.out / "samples" / f"epoch_{epoch:04d}.png")
            with open(self.out / "log.jsonl", "a") as fh:
                fh.write(json.dumps(record) + "\n")
        finally:
            self._clock = time.perf_counter()  # evaluation, samples and the log are not training time

    # -- outputs ------------------------------------------------------------------------------------
    def save_samples(self, path: str | os.PathLike[str], n: int = 100) -> Path:
        """A grid from the exported generator with a fixed seed (each row one class for conditional ones)."""
        gen = self.model_to_export
        labels = list(range(gen.num_classes)) if gen.conditional else None
        images = gen.sample(n, labels=[c for c in labels for _ in range(n // len(labels))] if labels else None,
                            seed=self.seed)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return save_grid(images, path, nrow=n // len(labels) if labels else None,
                         provenance={"model": str(self.model_name), "step": self.step_count, "seed": self.seed})

    def evaluate(self, n: int = 10000, **options: Any) -> dict[str, float]:
        """The task's metrics of the exported model (for generators: against the dataset's test split); ``options``
        go to the task's ``evaluate`` (a recipe's ``[eval]`` keys besides ``n``)."""
        return self.task.evaluate(self.model_to_export, n, self.seed, **options)

    def export(self, folder: str | os.PathLike[str], *, half: bool = True, meta: dict[str, Any] | None = None,
               sampling: dict[str, Any] | None = None) -> Path:
        """Save the exported model as a weights folder that ``create_model(folder)`` loads, recording the data,
        its hashes, the protocol, the resolved precision, steps and the training configuration in its metadata;
        ``sampling`` stores the weight's own sampling defaults in its config (never in its weights)."""
        model = self.model_to_export
        if sampling:
            model.sampling_config = sampling
        meta = {"data": self.dataset.name, "data_sha256": self.dataset.archives_sha256, "steps": self.step_count,
                "epochs": self.step_count / self.steps_per_epoch, "protocol": self.task.protocol(),
                "precision": self.precision,  # what "auto" resolved to on the training machine (bf16 or fp32)
                "trainer_args": {k: v for k, v in json.loads(json.dumps(self.config, default=str)).items()
                                 if k != "out"},
                "task_args": json.loads(json.dumps(getattr(self.task, "config", {}), default=str)), **(meta or {})}
        return save_pretrained(model, folder, half=half, meta=meta)

    def save_bundle(self, folder: str | os.PathLike[str]) -> Path | None:
        """Save the generator with its discriminator, EMA copy and optimiser states as a training bundle that
        ``init=`` starts a fine-tuning run from; ``None`` (nothing written) for a task without a discriminator."""
        targets = self.task.init_targets()
        if "discriminator" not in targets or not distributed.is_main():
            return None
        parts = {"generator": targets["model"], "discriminator": targets["discriminator"]}
        if self.ema is not None:
            parts["ema"] = self.ema.module
        meta = {"data": self.dataset.name, "steps": self.step_count, "protocol": self.task.protocol()}
        return save_bundle(folder, parts, optimizers=self.task.optimizers(), meta=meta)


def create_trainer(task: str, model: str | None = None, **kwargs: Any) -> Trainer:
    """The one loop with the registered ``task`` training ``model`` (``task_args=`` go to the task)."""
    return Trainer(task, model, **kwargs)
