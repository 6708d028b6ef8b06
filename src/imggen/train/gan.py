"""The ``gan`` trainer: unconditional and conditional GANs from named parts (loss, penalties, DiffAugment, EMA).

The whole dataset sits on the training device as one tensor and batches are sliced there; noise, data order and
augmentation draw from seeded generators saved in every checkpoint, so a resumed run continues bit for bit.
"""

from __future__ import annotations

import contextlib
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
from imggen.data.augment import DiffAugment
from imggen.errors import ImggenError
from imggen.hub import save_pretrained
from imggen.images import save_grid
from imggen.metrics import evaluate
from imggen.models.base import Generator
from imggen.registry import create_discriminator, create_loss, create_model, trainers
from imggen.train import distributed
from imggen.train.checkpoint import CheckpointManager, rng_state, set_rng_state
from imggen.train.cuda_graph import StepGraph
from imggen.train.ema import EMA
from imggen.train.packing import PackedDiscriminator, grouped_permutation

PRECISIONS = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}


class TrainingDivergedError(ImggenError):
    """A loss became NaN or infinite; the last good checkpoint is kept."""


def with_spectral_norm(module: nn.Module) -> nn.Module:
    """``module`` with every linear and convolution weight divided by its largest singular value (in place)."""
    for layer in list(module.modules()):
        if isinstance(layer, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d):
            nn.utils.parametrizations.spectral_norm(layer)
    return module


def _adam(params: Any, lr: float | torch.Tensor, betas: Sequence[float], capturable: bool) -> torch.optim.Adam:
    """Adam with the fused kernel (one launch for all parameters), which CPU and CUDA builds both provide;
    ``capturable`` keeps its step counters on the device so a CUDA graph can replay it."""
    return torch.optim.Adam(params, lr=lr, betas=(float(betas[0]), float(betas[1])), fused=True, capturable=capturable)


@trainers.register("gan")
class GANTrainer:
    """Trains a registered generator against its discriminator; the EMA generator is what gets exported.

    ``real_range`` is the range real images are scaled to: (-1, 1) matches the Tanh generator; (0, 1) reproduces the
    seed's mismatch. ``generator_args`` and ``discriminator_args`` go to the networks' factories (e.g. ``{"widths":
    [1024, 512]}`` for a wider MLP discriminator). ``n_critic`` discriminator steps precede each generator step.
    ``lr_decay_start`` (a fraction of the run, e.g. 0.5) makes both learning rates fall linearly from there to zero at
    the run's last step. ``mismatched_labels`` makes the discriminator matching-aware (GAN-CLS, Reed et al. 2016): that
    fraction of each real batch is shown again with wrong labels, on the fake side of its loss, so it must check the
    label and the generator must honour it (conditional models only). ``r2`` is R1's penalty taken at the generated
    images instead of the real ones (R3GAN, Huang et al. 2024, pairs it with R1 and the ``rpgan`` loss).
    ``mode_seeking`` (a weight, e.g. 1) adds MSGAN's regulariser to the generator's loss: the generator batch comes in
    pairs that share a label, and a pair whose two noise vectors gave near-identical images is penalised. ``imle`` (a
    weight, e.g. 0.3) adds an IMLE term to the generator's loss (Inclusive GAN, Yu et al. 2020): each real image of the
    batch pulls the nearest of ``imle_pool`` samples per real image (of its own class) toward itself, so rare styles
    keep a sample near them. ``instance_noise`` (a standard deviation, e.g. 0.2) adds Gaussian noise to every image the
    discriminator sees, real and fake alike, falling linearly to zero at the run's last step (Sønderby et al. 2017): the
    two distributions then overlap, so the discriminator's gradient also points the generator toward data it does not
    yet cover. ``pack`` (e.g. 2) makes the discriminator judge packs of that many images at once (PacGAN, Lin et al.
    2018), which penalises a generator whose samples repeat; for conditional models a pack shares a label.
    ``spectral_norm`` reparametrises every linear and convolution layer of the discriminator by its spectral norm
    (SN-GAN, Miyato et al. 2018). ``cuda_graphs`` replays the whole step (both networks, optimisers, EMA) as one
    captured CUDA graph; the default turns it on for a single CUDA process without ``compile``. Random numbers then come
    from the device's default generator (the one graphs can replay), which checkpoints save too.
    """

    def __init__(
        self,
        generator: str = "gan-mlp-mnist",
        discriminator: str | None = None,
        data: str = "mnist",
        data_root: str | None = None,
        generator_args: dict[str, Any] | None = None,
        discriminator_args: dict[str, Any] | None = None,
        loss: str = "ns",
        r1: float = 0.0,
        r2: float = 0.0,
        gp: float = 0.0,
        mismatched_labels: float = 0.0,
        mode_seeking: float = 0.0,
        imle: float = 0.0,
        imle_pool: int = 4,
        instance_noise: float = 0.0,
        pack: int = 1,
        spectral_norm: bool = False,
        batch_size: int = 64,
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas_g: Sequence[float] = (0.5, 0.999),
        betas_d: Sequence[float] = (0.5, 0.999),
        n_critic: int = 1,
        ema_decay: float | None = 0.999,
        lr_decay_start: float | None = None,
        augment: Sequence[str] = (),
        real_range: Sequence[float] = (-1.0, 1.0),
        device: str = "cpu",
        precision: str = "fp32",
        compile: bool = False,
        cuda_graphs: bool | None = None,
        seed: int = 0,
        out: str | os.PathLike[str] | None = None,
        checkpoint_every: int = 1000,
        log_every: int = 50,
        sample_every: int = 1,
        eval_every: int = 0,
        eval_n: int = 10000,
        progress: bool = True,
    ) -> None:
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
        self.config = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        self.device = distributed.local_device(torch.device(device))
        self.rank, self.world_size = distributed.init_from_env(self.device)
        if batch_size % self.world_size:
            raise ValueError(f"batch_size {batch_size} must be divisible by the {self.world_size} processes")
        self.batch_size, self.local_batch, self.n_critic = batch_size, batch_size // self.world_size, n_critic
        self.seed, self.out = seed, Path(out) if out is not None else None
        self.checkpoint_every, self.log_every = checkpoint_every, log_every
        self.sample_every, self.eval_every, self.eval_n, self.progress = sample_every, eval_every, eval_n, progress
        self.autocast_dtype = PRECISIONS[precision]
        graphs_possible = self.device.type == "cuda" and self.world_size == 1 and not compile
        if cuda_graphs and not graphs_possible:
            raise ValueError("cuda_graphs=True needs one CUDA device, one process and compile=False; "
                             f"got device {self.device}, {self.world_size} processes, compile={compile}")
        self.cuda_graphs = graphs_possible if cuda_graphs is None else cuda_graphs

        if pack < 1 or self.local_batch % pack:
            raise ValueError(f"pack must be >= 1 and divide the {self.local_batch} images per process; got {pack}")
        if pack > 1 and (mismatched_labels or mode_seeking):
            raise ValueError("pack > 1 keeps each pack's images on one label; it cannot be combined with "
                             "mismatched_labels or mode_seeking, which relabel or reorder the batch")
        self.pack = pack

        torch.manual_seed(seed)  # identical initial weights on every rank, and reproducible runs
        self.g_raw: Generator = create_model(generator, **(generator_args or {})).to(self.device)
        c, h, w = self.g_raw.image_shape
        self.d_raw: nn.Module = create_discriminator(
            discriminator or generator, **{**(discriminator_args or {}), "num_classes": self.g_raw.num_classes,
                                           "image_shape": (c * pack, h, w)}
        ).to(self.device)
        if pack > 1:
            self.d_raw = PackedDiscriminator(self.d_raw, pack)
        if spectral_norm:
            with_spectral_norm(self.d_raw)
        self.dataset = load_images(data, "train", data_root)
        if self.g_raw.conditional and self.dataset.num_classes != self.g_raw.num_classes:
            raise ValueError(
                f"{generator} has {self.g_raw.num_classes} classes but {data} has {self.dataset.num_classes}"
            )
        low, high = real_range
        self.images = (self.dataset.images.to(self.device).float() / 255 * (high - low) + low)
        self.labels = self.dataset.labels.to(self.device)
        usable = len(self.dataset) - (pack - 1) * self.dataset.num_classes * self._grouped  # see grouped_permutation
        self.steps_per_epoch = usable // (batch_size * n_critic)

        self.loss = create_loss(loss)
        self.relativistic = getattr(self.loss, "relativistic", False)  # a plugin's loss may not say
        self.r1 = create_loss("r1", gamma=r1) if r1 else None
        self.r2 = create_loss("r1", gamma=r2) if r2 else None  # the same penalty, taken at the generated images
        self.gp = create_loss("gp", weight=gp) if gp else None
        self.augment = DiffAugment(augment)
        if instance_noise < 0:
            raise ValueError(f"instance_noise is a standard deviation >= 0, got {instance_noise}")
        # a device tensor, updated in place as it anneals, so a captured CUDA graph replays the current value
        self.base_noise = float(instance_noise)
        self.noise_std = torch.tensor(self.base_noise, device=self.device) if instance_noise else None
        if not 0.0 <= mismatched_labels <= 1.0:
            raise ValueError(f"mismatched_labels is a fraction of the real batch in [0, 1], got {mismatched_labels}")
        if mismatched_labels and not self.g_raw.conditional:
            raise ValueError(f"mismatched_labels needs a conditional generator; {generator} is unconditional")
        self.mismatched_labels = float(mismatched_labels)
        if mode_seeking < 0 or (mode_seeking and self.local_batch < 2):
            raise ValueError(f"mode_seeking is a weight >= 0 and needs pairs (a batch of 2 or more per process); "
                             f"got {mode_seeking} with {self.local_batch} images per process")
        self.mode_seeking = create_loss("mode_seeking", weight=mode_seeking) if mode_seeking else None
        self.imle = create_loss("imle", weight=imle, pool=imle_pool) if imle else None
        if lr_decay_start is not None and not 0.0 <= lr_decay_start < 1.0:
            raise ValueError(f"lr_decay_start must be a fraction of the run in [0, 1), got {lr_decay_start}")
        self.lr_decay_start, self.base_lrs = lr_decay_start, (lr_g, lr_d)
        # a graph replays the learning rate it captured: keep it in a device tensor that is updated in place
        as_lr = (lambda lr: torch.tensor(lr, device=self.device)) if self.cuda_graphs else float
        self.opt_g = _adam(self.g_raw.parameters(), as_lr(lr_g), betas_g, capturable=self.cuda_graphs)
        self.opt_d = _adam(self.d_raw.parameters(), as_lr(lr_d), betas_d, capturable=self.cuda_graphs)
        self.ema = EMA(self.g_raw, ema_decay) if ema_decay else None
        self.G, self.D = self.g_raw, self.d_raw
        if self.world_size > 1:
            self.G, self.D = DistributedDataParallel(self.G), DistributedDataParallel(self.D)
        if compile:
            self.G, self.D = torch.compile(self.G), torch.compile(self.D)
        self.rng = torch.Generator(self.device).manual_seed(seed + 1000 * self.rank)
        self.step_rng = None if self.cuda_graphs else self.rng  # None: the device's default generator
        self.graph = StepGraph() if self.cuda_graphs else None
        self.step_count = 0
        self.checkpoints = CheckpointManager(self.out) if self.out is not None else None

    # -- data ---------------------------------------------------------------------------------------
    def batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Real images and labels for ``step``: a seeded permutation per epoch, this rank's slice of it."""
        epoch, index = divmod(step, self.steps_per_epoch)
        if getattr(self, "_perm_epoch", None) != epoch:
            order = torch.Generator().manual_seed(self.seed * 100_003 + epoch)
            perm = (grouped_permutation(self.dataset.labels, self.pack, order) if self._grouped
                    else torch.randperm(len(self.dataset), generator=order))
            self._perm = perm.to(self.device)
            self._perm_epoch = epoch
        per_step = self.batch_size * self.n_critic
        start = index * per_step + self.rank * self.local_batch * self.n_critic
        idx = self._perm[start:start + self.local_batch * self.n_critic]
        return self.images[idx], self.labels[idx]

    @property
    def _grouped(self) -> bool:
        """Whether batches come in packs of one label (a packed discriminator of a conditional model)."""
        return self.pack > 1 and self.g_raw.conditional

    @property
    def generator_to_export(self) -> Generator:
        """The EMA generator when EMA is on, else the raw one."""
        return self.ema.module if self.ema is not None else self.g_raw

    # -- one optimisation step -------------------------------------------------------------------------
    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.autocast_dtype is None:
            return contextlib.nullcontext()
        # a captured graph must not reuse autocast's cached casts from the capture pass
        return torch.autocast(self.device.type, dtype=self.autocast_dtype, cache_enabled=not self.cuda_graphs)

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.g_raw.noise_dim, device=self.device, generator=self.step_rng)

    def step(self, real: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """``n_critic`` discriminator updates then one generator update on ``real`` (in ``real_range``).

        ``real`` holds ``n_critic`` batches stacked; losses come back as tensors (no device sync here).
        """
        labels = labels if self.g_raw.conditional else None
        losses = self.graph.run(self._step, real, labels) if self.graph is not None else self._step(real, labels)
        self.step_count += 1
        return losses

    def _step(self, real: torch.Tensor, labels: torch.Tensor | None) -> dict[str, torch.Tensor]:
        chunks = real.chunk(self.n_critic)
        label_chunks = labels.chunk(self.n_critic) if labels is not None else [None] * self.n_critic
        for k, (x, y) in enumerate(zip(chunks, label_chunks, strict=True)):
            last = k == self.n_critic - 1
            with self._autocast():
                fake_labels = self._paired(y) if last else y
                if last:
                    z = self._noise(x.shape[0])
                    fake = self.G(z, fake_labels)
                else:
                    with torch.no_grad():
                        fake = self.g_raw(self._noise(x.shape[0]), y)
                images, image_labels = [x, fake.detach().to(x.dtype)], [y, fake_labels]
                if self.mismatched_labels:
                    k = max(1, round(self.mismatched_labels * x.shape[0]))
                    images.append(x[:k])  # the batch is a random draw already
                    image_labels.append(self._wrong_labels(y[:k]))
                logits = self.D(self._augment(torch.cat(images)),
                                torch.cat(image_labels) if y is not None else None).float()
                n_real = x.shape[0] // self.pack  # one logit per pack
                d_loss = self.loss.d_loss(logits[:n_real], logits[n_real:])
            if self.r1 is not None:
                d_loss = d_loss + self.r1(self.d_raw, x, y)
            if self.r2 is not None:
                d_loss = d_loss + self.r2(self.d_raw, fake.to(x.dtype), fake_labels)  # detached inside, as for R1
            if self.gp is not None:
                d_loss = d_loss + self.gp(self.d_raw, x, fake, y, generator=self.step_rng)
            self.opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            self.opt_d.step()

        self.d_raw.requires_grad_(False)  # the generator step needs no discriminator weight gradients
        with self._autocast():
            fake_logits = self.d_raw(self._augment(fake), fake_labels).float()
            g_loss = (self.loss.g_loss(fake_logits, self._real_logits(x, y)) if self.relativistic
                      else self.loss.g_loss(fake_logits))
        if self.mode_seeking is not None:
            half = fake.shape[0] // 2
            g_loss = g_loss + self.mode_seeking(fake[:half].float(), fake[half:2 * half].float(), z[:half],
                                                z[half:2 * half])
        if self.imle is not None:
            g_loss = g_loss + self._imle_loss(x, y)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self.d_raw.requires_grad_(True)
        if self.ema is not None:
            self.ema.update(self.g_raw)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}

    def _real_logits(self, real: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The updated discriminator's logits for ``real``, which a relativistic generator loss compares against."""
        with torch.no_grad():
            return self.d_raw(self._augment(real), labels).float()

    def _imle_loss(self, real: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The IMLE term for ``real``: a pool searched without gradients, then each real image's pick regenerated."""
        z = self._noise(real.shape[0] * self.imle.pool)
        pool_labels = labels.repeat(self.imle.pool) if labels is not None else None
        with torch.no_grad(), self._autocast():
            pool = self.g_raw(z, pool_labels)
        with self._autocast():
            matched = self.G(z[self.imle.nearest(real, pool, labels, pool_labels)], labels)
        return self.imle(real.float(), matched.float())

    def _schedule(self, total: int) -> None:
        """Set both learning rates and the instance noise for the coming step of a ``total``-step run."""
        if self.noise_std is not None:
            self.noise_std.fill_(self.base_noise * max(0.0, 1 - self.step_count / total))
        if self.lr_decay_start is None:
            return
        start = self.lr_decay_start * total
        scale = min(1.0, (total - self.step_count) / max(total - start, 1.0))
        for opt, base in zip((self.opt_g, self.opt_d), self.base_lrs, strict=True):
            for group in opt.param_groups:
                if isinstance(group["lr"], torch.Tensor):
                    group["lr"].fill_(base * scale)
                else:
                    group["lr"] = base * scale

    def _paired(self, labels: torch.Tensor | None) -> torch.Tensor | None:
        """With mode seeking, the first half of ``labels`` twice (an odd last one kept): pairs share a class."""
        if self.mode_seeking is None or labels is None:
            return labels
        half = labels.shape[0] // 2
        return torch.cat([labels[:half], labels[:half], labels[2 * half:]])

    def _wrong_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """A uniformly drawn label other than each true one."""
        shift = torch.randint(1, self.g_raw.num_classes, labels.shape, device=self.device, generator=self.step_rng)
        return (labels + shift) % self.g_raw.num_classes

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        """A discriminator input with DiffAugment and instance noise applied (when they are on)."""
        x = self.augment(x, generator=self.step_rng) if self.augment else x
        if self.noise_std is None:
            return x
        return x + self.noise_std.to(x.dtype) * torch.randn(x.shape, device=x.device, dtype=x.dtype,
                                                           generator=self.step_rng)

    # -- checkpoints --------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue exactly: weights, optimisers, EMA, step and RNG states."""
        return {
            "step": self.step_count, "g": self.g_raw.state_dict(), "d": self.d_raw.state_dict(),
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "ema": self.ema.state_dict() if self.ema is not None else {},
            "rng": rng_state(self.rng), "config": json.loads(json.dumps(self.config, default=str)),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`."""
        self.g_raw.load_state_dict(state["g"])
        self.d_raw.load_state_dict(state["d"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        if self.ema is not None:
            self.ema.load_state_dict(state["ema"])
        set_rng_state(self.rng, state["rng"])
        self.step_count = state["step"]

    def save_checkpoint(self) -> Path | None:
        """Write the checkpoint atomically (rank 0 only); ``None`` when the trainer has no ``out`` folder."""
        if self.checkpoints is None or not distributed.is_main():
            return None
        return self.checkpoints.save(self.state_dict())

    # -- the loop -----------------------------------------------------------------------------------
    def fit(self, epochs: float | None = None, steps: int | None = None, resume: bool = False) -> dict[str, Any]:
        """Train until ``steps`` generator updates (or ``epochs`` passes over the data); returns run stats.

        With ``resume`` the run continues from ``out/last.pt`` exactly where it stopped.
        """
        if (epochs is None) == (steps is None):
            raise ValueError("pass exactly one of epochs= or steps=")
        total = steps if steps is not None else int(round(epochs * self.steps_per_epoch))
        if resume:
            if self.checkpoints is None:
                raise ValueError("resume needs the trainer's out= folder (where last.pt lives)")
            self.load_state_dict(self.checkpoints.load("cpu"))  # RNG states must stay on the CPU
        bar = tqdm(total=total, initial=self.step_count, disable=not (self.progress and distributed.is_main()),
                   unit="step", dynamic_ncols=True)
        sums: dict[str, torch.Tensor] = {}
        window_start, window_steps, started = time.perf_counter(), 0, time.perf_counter()
        first_step, stats = self.step_count, {}
        while self.step_count < total:
            self._schedule(total)
            for name, value in self.step(*self.batch(self.step_count)).items():
                sums[name] = sums.get(name, 0) + value
            window_steps += 1
            done = self.step_count
            at_epoch_end = done % self.steps_per_epoch == 0
            save = done % self.checkpoint_every == 0 or done == total
            if save or at_epoch_end or done % self.log_every == 0:
                stats = self._check_and_log(sums, window_steps, window_start, bar)
                sums, window_steps, window_start = {}, 0, time.perf_counter()
                if save:  # only after the losses were checked, so a checkpoint is never poisoned
                    self.save_checkpoint()
            bar.update(1)
            if at_epoch_end:
                self._end_of_epoch(done // self.steps_per_epoch, stats)
        bar.close()
        elapsed = time.perf_counter() - started
        images = (self.step_count - first_step) * self.batch_size * self.n_critic
        return {**stats, "steps": self.step_count, "epochs": self.step_count / self.steps_per_epoch,
                "seconds": elapsed, "images_per_s": images / elapsed if elapsed else float("nan")}

    def _check_and_log(self, sums: dict[str, torch.Tensor], steps: int, since: float, bar: tqdm) -> dict:
        means = {k: float(v) / steps for k, v in sums.items()}  # waits for the device, so the clock below is true
        seconds = time.perf_counter() - since
        bad = {k: v for k, v in means.items() if not math.isfinite(v)}
        if bad:
            kept = self.checkpoints.path if self.checkpoints and self.checkpoints.exists() else "none written yet"
            raise TrainingDivergedError(
                f"training diverged near step {self.step_count}: {bad}; stopped without saving. Last good "
                f"checkpoint: {kept}. Lower the learning rates, or try loss='hinge' or an R1 penalty (r1=10)"
            )
        stats = {**means, "images_per_s": steps * self.batch_size * self.n_critic / max(seconds, 1e-9)}
        bar.set_postfix({k: f"{v:.3g}" for k, v in stats.items()})
        return stats

    def _end_of_epoch(self, epoch: int, stats: dict[str, float]) -> None:
        record = {"epoch": epoch, "step": self.step_count, **stats}
        if self.eval_every and epoch % self.eval_every == 0:
            record["metrics"] = self.evaluate(self.eval_n)
        if self.out is None or not distributed.is_main():
            return
        if self.sample_every and epoch % self.sample_every == 0:
            self.save_samples(self.out / "samples" / f"epoch_{epoch:04d}.png")
        with open(self.out / "log.jsonl", "a") as fh:
            fh.write(json.dumps(record) + "\n")

    # -- outputs ------------------------------------------------------------------------------------
    def save_samples(self, path: str | os.PathLike[str], n: int = 100) -> Path:
        """A grid from the exported generator with a fixed seed (each row one class for conditional ones)."""
        gen = self.generator_to_export
        labels = list(range(gen.num_classes)) if gen.conditional else None
        images = gen.sample(n, labels=[c for c in labels for _ in range(n // len(labels))] if labels else None,
                            seed=self.seed)
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return save_grid(images, path, nrow=n // len(labels) if labels else None,
                         provenance={"model": gen.imggen_cfg["architecture"], "step": self.step_count,
                                     "seed": self.seed})

    def evaluate(self, n: int = 10000) -> dict[str, float]:
        """Metrics of the exported generator against the dataset's test split (see ``imggen.metrics``)."""
        return evaluate(self.generator_to_export, n=n, reference=f"{self.dataset.name}:test", seed=self.seed)

    def export(self, folder: str | os.PathLike[str], *, half: bool = True, meta: dict[str, Any] | None = None) -> Path:
        """Save the exported generator as a weights folder, recording data hashes and steps in its meta."""
        meta = {"data": self.dataset.name, "data_sha256": self.dataset.archives_sha256, "steps": self.step_count,
                "epochs": self.step_count / self.steps_per_epoch, "trainer": "gan",
                "trainer_args": json.loads(json.dumps(self.config, default=str)), **(meta or {})}
        meta["trainer_args"].pop("out", None)
        return save_pretrained(self.generator_to_export, folder, half=half, meta=meta)
