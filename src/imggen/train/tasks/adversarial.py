"""The adversarial task: a generator against its discriminator, with regularisers and augmentations as named parts.

``parts`` maps registered part names to their arguments (``{"r1": {"gamma": 10}, "diffaugment": {"policies":
["translation"]}}``): a part's ``d_penalty`` is added to the discriminator's loss, its ``augment`` is applied to every
image the discriminator sees, real and fake alike. Plugins add parts through the ``imggen.parts`` entry-point group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from imggen.data.augment import DiffAugment
from imggen.data.clusters import kmeans, kmeans_within, nearest_centre
from imggen.models.base import Generator
from imggen.registry import create_discriminator, create_loss, create_model, create_part, generators, parts, tasks
from imggen.train.tasks.base import Task, generative_metrics

if TYPE_CHECKING:
    from imggen.train.loop import Trainer

parts.register("diffaugment", description="DiffAugment (Zhao et al. 2020): differentiable colour, translation and "
               "cutout on every discriminator input")(DiffAugment)


@tasks.register("adversarial")
class AdversarialTask(Task):
    """Trains the loop's generator against a discriminator (the one the generator declares, or ``discriminator``).

    Real images are scaled to ``real_range`` ((-1, 1) matches a Tanh generator; (0, 1) reproduces the seed's
    mismatch). ``n_critic`` discriminator steps precede each generator step. ``mismatched_labels`` makes the
    discriminator matching-aware (GAN-CLS, Reed et al. 2016): that fraction of each real batch is shown again with
    wrong labels, on the fake side of its loss, so it must check the label and the generator must honour it.

    A generator with latent modes (``num_modes`` > 0) trains on pseudo-labels: at set-up the training images are
    clustered by k-means in pixel space into that many clusters (seeded by the loop's seed, so a resumed run rebuilds
    them), the generator's mode prior is set to the clusters' sizes, and every real image is labelled with its
    nearest cluster for the generator and the (projection) discriminator, as a conditional model would be with
    classes. An unconditional generator's clusters never see the dataset's labels; a conditional one's are clusters
    within each class (``num_modes // num_classes`` per class), so each mode keeps its class.
    """

    def __init__(
        self,
        loss: str = "ns",
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas_g: Sequence[float] = (0.5, 0.999),
        betas_d: Sequence[float] = (0.5, 0.999),
        n_critic: int = 1,
        discriminator: str | None = None,
        discriminator_args: dict[str, Any] | None = None,
        mismatched_labels: float = 0.0,
        real_range: Sequence[float] = (-1.0, 1.0),
        parts: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        self.config = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        if not isinstance(n_critic, int) or n_critic < 1:
            raise ValueError(f"n_critic is a number of discriminator steps >= 1, got {n_critic!r}")
        if not 0.0 <= mismatched_labels <= 1.0:
            raise ValueError(f"mismatched_labels is a fraction of the real batch in [0, 1], got {mismatched_labels}")
        self.batches_per_step, self.mismatched_labels = n_critic, float(mismatched_labels)
        self.lrs, self.betas = (lr_g, lr_d), (betas_g, betas_d)
        self.discriminator_name, self.discriminator_args = discriminator, dict(discriminator_args or {})
        self.low, self.high = (float(v) for v in real_range)
        self.loss = create_loss(loss)
        self.relativistic = getattr(self.loss, "relativistic", False)  # a plugin's loss may not say
        built = [(name, create_part(name, **dict(args or {}))) for name, args in (parts or {}).items()]
        self.penalties = [p for _, p in built if callable(getattr(p, "d_penalty", None))]
        self.augmentations = [p for _, p in built if callable(getattr(p, "augment", None))]

    # -- set-up ---------------------------------------------------------------------------------------
    def setup(self, trainer: Trainer) -> None:
        self.trainer = trainer
        name = trainer.model_name
        self.model: Generator = create_model(name, **trainer.model_args).to(trainer.device)
        if not isinstance(self.model, Generator) or not isinstance(getattr(self.model, "noise_dim", None), int):
            raise TypeError(f"the adversarial task trains a noise-to-image Generator (with noise_dim and forward(z, "
                            f"labels)); {name!r} is a {type(self.model).__name__} without them")
        if self.model.conditional and trainer.dataset.num_classes != self.model.num_classes:
            raise ValueError(f"{name} has {self.model.num_classes} classes but {trainer.dataset.name} has "
                             f"{trainer.dataset.num_classes}")
        num_modes = getattr(self.model, "num_modes", 0)  # a plugin's generator may not have the attribute
        self.codes = num_modes or self.model.num_classes
        if self.mismatched_labels and not self.codes:
            raise ValueError(f"mismatched_labels needs a conditional generator (or one with latent modes); {name} "
                             "has neither")
        self.centres = self._cluster(trainer) if num_modes else None
        discriminator = self.discriminator_name or generators.get(name).discriminator
        if discriminator is None:
            raise ValueError(f"generator {name!r} declares no discriminator to pair with; pass the task argument "
                             f"discriminator= (one of imggen.list_discriminators())")
        self.critic: nn.Module = create_discriminator(
            discriminator, **{**self.discriminator_args, "num_classes": self.codes,
                              "image_shape": self.model.image_shape}
        ).to(trainer.device)
        (lr_g, lr_d), (betas_g, betas_d) = self.lrs, self.betas
        self.opt_g = trainer.optimizer(self.model.parameters(), lr_g, betas_g)
        self.opt_d = trainer.optimizer(self.critic.parameters(), lr_d, betas_d)
        self.G, self.D = trainer.wrap(self.model), trainer.wrap(self.critic)

    def networks(self) -> dict[str, nn.Module]:
        return {"g": self.model, "d": self.critic}

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {"g": self.opt_g, "d": self.opt_d}

    def init_targets(self) -> dict[str, nn.Module]:
        return {"model": self.model, "discriminator": self.critic}

    def protocol(self) -> dict[str, Any]:
        protocol = {"real_range": [self.low, self.high], "reference": f"{self.trainer.dataset.name}:test"}
        if self.centres is not None:
            within = " within each class" if self.model.conditional else ""
            protocol["latent_modes"] = {"clusters": self.codes, "seed": self.trainer.seed,
                                        "of": f"training images' pixels{within}, k-means++ then Lloyd"}
        return protocol

    def _cluster(self, trainer: Trainer) -> torch.Tensor:
        """The k-means centres the generator's modes stand for; sets its mode prior to the clusters' sizes."""
        if self.model.conditional:
            classes = self.model.num_classes
            centres = kmeans_within(trainer.images, trainer.labels, classes, self.codes // classes, seed=trainer.seed)
        else:
            centres = kmeans(trainer.images, self.codes, seed=trainer.seed)
        modes = nearest_centre(trainer.images, centres, self._groups(trainer.labels))
        self.model.set_mode_prior(torch.bincount(modes, minlength=self.codes))
        return centres

    def _groups(self, labels: torch.Tensor) -> torch.Tensor | None:
        """The group each image's mode is chosen within: its class for a conditional generator, else none."""
        return labels if self.model.conditional else None

    def evaluate(self, model: nn.Module, n: int, seed: int, feature_extractors: Sequence[str] = ()) -> dict[str, float]:
        """The zoo's metrics, and FD / precision / recall in each of ``feature_extractors`` too (``"fd@NAME"``)."""
        return generative_metrics(model, self.trainer.dataset.name, n, seed, feature_extractors)

    # -- one step -------------------------------------------------------------------------------------
    def step(self, images: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """``n_critic`` discriminator updates then one generator update; ``images`` in [0, 1] hold ``n_critic``
        batches stacked."""
        real = images * (self.high - self.low) + self.low
        if self.centres is not None:
            labels = nearest_centre(images, self.centres, self._groups(labels))
        elif not self.model.conditional:
            labels = None
        chunks = real.chunk(self.batches_per_step)
        label_chunks = labels.chunk(self.batches_per_step) if labels is not None else [None] * len(chunks)
        for k, (x, y) in enumerate(zip(chunks, label_chunks, strict=True)):
            fake, d_loss = self._discriminator_step(x, y, last=k == len(chunks) - 1)
        g_loss = self._generator_step(fake, x, y)
        return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}

    def _discriminator_step(self, x: torch.Tensor, y: torch.Tensor | None,
                            last: bool) -> tuple[torch.Tensor, torch.Tensor]:
        """One discriminator update; the last one keeps the fakes' graph for the generator step."""
        with self.trainer.autocast():
            if last:
                fake = self.G(self._noise(x.shape[0]), y)
            else:
                with torch.no_grad():
                    fake = self.model(self._noise(x.shape[0]), y)
            batch, batch_labels = [x, fake.detach().to(x.dtype)], [y, y]
            if self.mismatched_labels:
                k = max(1, round(self.mismatched_labels * x.shape[0]))
                batch.append(x[:k])  # the batch is a random draw already
                batch_labels.append(self._wrong_labels(y[:k]))
            logits = self.D(self._augment(torch.cat(batch)),
                            torch.cat(batch_labels) if y is not None else None).float()
            d_loss = self.loss.d_loss(logits[:x.shape[0]], logits[x.shape[0]:])
        for penalty in self.penalties:
            d_loss = d_loss + penalty.d_penalty(self.critic, x, fake, y, y, self.trainer.step_rng)
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()
        return fake, d_loss

    def _generator_step(self, fake: torch.Tensor, x: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        trainable = [p for p in self.critic.parameters() if p.requires_grad]  # frozen ones stay frozen
        for p in trainable:  # the generator step needs no discriminator weight gradients
            p.requires_grad_(False)
        with self.trainer.autocast():
            fake_logits = self.critic(self._augment(fake), y).float()
            if self.relativistic:
                with torch.no_grad():
                    real_logits = self.critic(self._augment(x), y).float()
                g_loss = self.loss.g_loss(fake_logits, real_logits)
            else:
                g_loss = self.loss.g_loss(fake_logits)
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        for p in trainable:
            p.requires_grad_(True)
        return g_loss

    def _noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.model.noise_dim, device=self.trainer.device, generator=self.trainer.step_rng)

    def _wrong_labels(self, labels: torch.Tensor) -> torch.Tensor:
        per_class = self.codes // self.model.num_classes if self.centres is not None and self.model.conditional else 1
        return wrong_labels(labels, self.codes, self.trainer.step_rng, per_class)

    def _augment(self, x: torch.Tensor) -> torch.Tensor:
        for part in self.augmentations:
            x = part.augment(x, self.trainer.step_rng)
        return x


def wrong_labels(labels: torch.Tensor, num_codes: int, rng: torch.Generator | None,
                 per_class: int = 1) -> torch.Tensor:
    """For each of ``labels`` (in ``0..num_codes-1``), a uniformly drawn label of another class.

    With ``per_class`` > 1 the codes are modes within classes (``per_class`` consecutive ones per class), and the
    wrong one is any mode of another class: a different mode of the same class is no wrong label.
    """
    classes = num_codes // per_class
    shift = torch.randint(1, classes, labels.shape, device=labels.device, generator=rng)
    wrong = (labels // per_class + shift) % classes * per_class
    if per_class > 1:
        wrong = wrong + torch.randint(per_class, labels.shape, device=labels.device, generator=rng)
    return wrong
