"""The family contract every imggen model follows, whatever its kind.

Every generative model is a :class:`Generator`: ``sample(n, labels=..., seed=..., **options)`` returns ``n`` images in
[0, 1] on the model's device, and ``forward`` stays the raw network. A family adds what it can do beside sampling by
implementing one of the capabilities below, which the registries and the training tasks check by name:

- noise to image (GAN generators, VAE decoders): :meth:`Generator.generate` draws its noise from the seeded ``rng``;
- an exact likelihood or a bound on it (autoregressive models, VAEs): ``log_prob(images, labels)`` in nats per image;
- its own training objective (VAEs, diffusion, autoregressive and super-resolution models):
  ``training_loss(images, labels, rng)`` returns a dict with the ``"loss"`` to minimise;
- image to image (super-resolution): ``upscale(images)`` maps ``(N, C, H, W)`` images in [0, 1] (or PIL pictures) to
  images ``scale`` times larger; such models subclass :class:`imggen.models.upscale.Upscaler`, not :class:`Generator`.

Sampling options (a noise scale, a number of steps, a guidance weight, a temperature) are keyword arguments of
``sample`` declared in :attr:`Generator.sampling_defaults`; a weight may store its own defaults in its config
(:attr:`Generator.sampling_config`), never in its weights. Constructor arguments are recorded when a model is built
(:attr:`Generator.init_args`, as diffusers' ``register_to_config`` does), so any instance can be saved.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import nn


@runtime_checkable
class Likelihood(Protocol):
    """A model with an exact log-likelihood (or a lower bound on it), in nats per image."""

    def log_prob(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor: ...


@runtime_checkable
class TrainingObjective(Protocol):
    """A model that returns its own training loss (ELBO, denoising, NLL, reconstruction): the objective task's input."""

    def training_loss(self, images: torch.Tensor, labels: torch.Tensor | None,
                      rng: torch.Generator | None) -> dict[str, torch.Tensor]: ...


@runtime_checkable
class ImageToImage(Protocol):
    """A model that maps images to larger images (super-resolution): ``upscale(images)``, ``scale`` times larger."""

    scale: int

    def upscale(self, images: Any, **options: Any) -> Any: ...


def _record_init_args(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap a constructor so the instance keeps the arguments it was built with (all defaults filled in).

    The outermost constructor of a subclass chain finishes last, so its arguments are the ones kept; one that takes
    ``**kwargs`` and passes them on keeps the arguments its parent recorded as well (so a subclass that only changes
    a default need not repeat the parent's signature).
    """
    signature = inspect.signature(init)

    @functools.wraps(init)
    def wrapper(self: nn.Module, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        check_common_args(bound.arguments)
        init(self, *args, **kwargs)
        params = list(signature.parameters.values())[1:]
        recorded: dict[str, Any] = {}
        for param in params:
            if param.kind is inspect.Parameter.VAR_KEYWORD:
                recorded = {**getattr(self, "init_args", {}), **recorded}
                recorded.update(bound.arguments.get(param.name, {}))
            elif param.kind is not inspect.Parameter.VAR_POSITIONAL:
                recorded[param.name] = bound.arguments[param.name]
        object.__setattr__(self, "init_args", recorded)

    return wrapper


MAX_SEED = 2**63 - 1
#: the largest result ``sample`` returns in one tensor; larger requests stream with :meth:`Generator.iter_samples`
MAX_SAMPLE_BYTES = 4 * 2**30


def seeded_generator(seed: int | None, device: str | torch.device) -> torch.Generator | None:
    """A random generator on ``device`` seeded with ``seed`` (``None``: no generator, torch's global state)."""
    if seed is None:
        return None
    try:
        return torch.Generator(device=device).manual_seed(seed)
    except RuntimeError as exc:
        raise ValueError(f"noise_device={device!r} cannot hold a random generator here ({exc}); use 'cpu' or the "
                         "model's own device") from exc


def draw_normal(shape: Sequence[int], rng: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Standard normal noise of ``shape`` drawn from ``rng`` on the generator's own device, then on ``device``."""
    return torch.randn(tuple(shape), generator=rng, device=rng.device if rng is not None else device).to(device)


def draw_uniform(shape: Sequence[int], rng: torch.Generator | None, device: torch.device) -> torch.Tensor:
    """Uniform [0, 1) noise of ``shape`` drawn from ``rng`` on the generator's own device, then on ``device``."""
    return torch.rand(tuple(shape), generator=rng, device=rng.device if rng is not None else device).to(device)


def check_seed(seed: Any) -> int | None:
    """``seed`` if it is ``None`` or an integer in [0, 2**63 - 1], else a clear error (floats, strings, bools and
    negative numbers would otherwise become torch errors or silently alias other seeds)."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an integer in 0..2**63-1 (or None for a random draw), got {seed!r}")
    return seed


def check_int(name: str, value: Any, minimum: int = 0) -> int:
    """``value`` if it is an integer of at least ``minimum``, else a clear error naming the argument: constructors
    call this so a config.json or caller with ``"100"``, ``1e9`` or ``-1`` fails at once, before any allocation."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_ints(name: str, values: Any, minimum: int = 1, length: int | None = None) -> tuple[int, ...]:
    """``values`` as a tuple of integers of at least ``minimum`` (exactly ``length`` of them when given)."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or (length is not None and
                                                                                  len(values) != length):
        raise ValueError(f"{name} must be a list of {length or 'some'} integers, got {values!r}")
    return tuple(check_int(f"{name}[{i}]", v, minimum) for i, v in enumerate(values))


#: constructor arguments every family names the same way, checked for all of them before any layer is built
COMMON_ARGS: dict[str, Callable[[str, Any], Any]] = {
    "noise_dim": lambda name, v: check_int(name, v, 1),
    "latent_dim": lambda name, v: check_int(name, v, 1),
    "num_classes": lambda name, v: check_int(name, v, 0),
    "num_modes": lambda name, v: check_int(name, v, 0),
    "image_shape": lambda name, v: check_ints(name, v, length=3),
    "widths": lambda name, v: check_ints(name, v),
}


def check_common_args(arguments: Mapping[str, Any]) -> None:
    """Check the arguments of :data:`COMMON_ARGS` a constructor was called with (a clear error naming the first bad
    one), so ``noise_dim="100"``, ``num_classes=-1`` or ``widths=[1e9]`` fail the same way in every family."""
    for name, check in COMMON_ARGS.items():
        if name in arguments:
            check(name, arguments[name])


class Model(nn.Module):
    """What every imggen model shares, whatever it does: its constructor arguments are recorded
    (:attr:`init_args`, checked as :data:`COMMON_ARGS` says) so any instance can be saved, and it knows its device."""

    #: the arguments the constructor was called with, defaults filled in (recorded automatically)
    init_args: dict[str, Any]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _record_init_args(cls.__dict__["__init__"])

    @property
    def device(self) -> torch.device:
        """The device of the model's first parameter or buffer (CPU for a model without any)."""
        return next(self.parameters(), next(self.buffers(), torch.empty(0))).device


class Generator(Model):
    """Base class of generative models: argument checks, seeding, sampling options and [0, 1] output in one place.

    Subclasses set ``num_classes`` (0 for unconditional) and ``image_shape`` (C, H, W), implement :meth:`generate`,
    and declare their sampling options with defaults in ``sampling_defaults``.
    """

    num_classes: int = 0
    image_shape: tuple[int, int, int]
    #: sampling options ``sample`` accepts, with the family's defaults (a weight's config may override them)
    sampling_defaults: ClassVar[Mapping[str, Any]] = {}

    @property
    def conditional(self) -> bool:
        """Whether :meth:`sample` takes class labels."""
        return self.num_classes > 0

    @property
    def sampling_config(self) -> dict[str, Any]:
        """This weight's own sampling defaults (from its config.json), overriding :attr:`sampling_defaults`."""
        return dict(self.__dict__.get("_sampling_config", {}))

    @sampling_config.setter
    def sampling_config(self, values: Mapping[str, Any]) -> None:
        self.__dict__["_sampling_config"] = self.check_sampling_options(dict(values))

    def check_sampling_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """``options`` if every key is a sampling option of this family, else a clear error listing them."""
        unknown = sorted(set(options) - set(self.sampling_defaults))
        if unknown:
            accepted = ", ".join(self.sampling_defaults) or "none"
            raise TypeError(f"{type(self).__name__}.sample got unknown option(s) {', '.join(unknown)}; "
                            f"its sampling options are: {accepted}")
        return options

    def check_labels(self, n: int, labels: Sequence[int] | torch.Tensor | None) -> torch.Tensor | None:
        """Validated labels as a long tensor of length ``n`` (a shorter sequence is repeated cyclically)."""
        if not self.conditional:
            if labels is not None:
                raise ValueError(f"{type(self).__name__} is unconditional and takes no labels; drop labels=")
            return None
        if labels is None:
            raise ValueError(
                f"{type(self).__name__} is conditional: pass labels= (integers in 0..{self.num_classes - 1})"
            )
        labels = torch.as_tensor(labels)
        if labels.dim() > 1:
            raise ValueError(f"labels must be a flat sequence of class indices, got shape {tuple(labels.shape)}")
        labels = labels.flatten()
        if labels.numel() == 0:
            raise ValueError("labels is empty; pass at least one class index")
        if labels.numel() > n:
            raise ValueError(f"{labels.numel()} labels for {n} images; pass at most n labels (a shorter sequence is "
                             "repeated)")
        if labels.dtype.is_floating_point or labels.dtype == torch.bool:
            raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
        bad = labels[(labels < 0) | (labels >= self.num_classes)]
        if bad.numel():
            raise ValueError(
                f"labels out of range: {sorted(set(bad.tolist()))}; this model has classes 0..{self.num_classes - 1}"
            )
        return labels.long().repeat((n + labels.numel() - 1) // labels.numel())[:n]

    @torch.no_grad()
    def sample(
        self, n: int, *, labels: Sequence[int] | torch.Tensor | None = None, seed: int | None = None,
        batch_size: int = 1024, noise_device: str | torch.device | None = None, **options: Any,
    ) -> torch.Tensor:
        """``n`` images, shape ``(n, C, H, W)``, values in [0, 1], on the model's device.

        Noise is drawn on the model's device from a generator seeded with ``seed`` (on a GPU nothing waits for a copy
        from the host), so a seed gives the same images on the same kind of device. ``noise_device="cpu"`` draws it
        on the CPU and copies it over: the same seed then gives the same noise on every device, for images that match
        across devices (what ``imggen verify`` uses; its cost is in docs/benchmarking.md). Images are generated
        ``batch_size`` at a time, so memory stays bounded by the result; a result over 4 GiB is refused in favour of
        :meth:`iter_samples`, which streams. ``options`` are the family's sampling options (see
        :attr:`sampling_defaults`); unset ones take the weight's or family's default.
        """
        n = self._check_count(n)
        size = n * math.prod(self.image_shape) * 4
        if size > MAX_SAMPLE_BYTES:
            raise ValueError(f"sample({n}) would return {size / 2**30:.1f} GiB in one tensor; stream it in batches "
                             "with model.iter_samples(n, ...) (or the CLI's folder output) instead")
        return torch.cat([images for images, _ in self.iter_samples(n, labels=labels, seed=seed, batch_size=batch_size,
                                                                   noise_device=noise_device, **options)])

    @torch.no_grad()
    def iter_samples(
        self, n: int, *, labels: Sequence[int] | torch.Tensor | None = None, seed: int | None = None,
        batch_size: int = 1024, noise_device: str | torch.device | None = None, **options: Any,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor | None]]:
        """``(images, labels)`` batches of at most ``batch_size`` that together are :meth:`sample`'s ``n`` images,
        for any ``n``: memory holds one batch at a time. The model samples in eval mode (restored afterwards)."""
        n = self._check_count(n)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        label_tensor = self.check_labels(n, labels)
        options = {**self.sampling_defaults, **self.sampling_config, **self.check_sampling_options(options)}
        seed = check_seed(seed)
        rng = seeded_generator(seed, self.device if noise_device is None else noise_device)
        for start in range(0, n, batch_size):
            count = min(batch_size, n - start)
            batch_labels = label_tensor[start:start + count] if label_tensor is not None else None
            was_training = self.training
            self.eval()  # batch norm and dropout as at inference: an image never depends on its batch
            try:
                images = self.generate(count, batch_labels, rng, **options).clamp(0, 1)
            finally:
                self.train(was_training)
            yield images, batch_labels

    @staticmethod
    def _check_count(n: Any) -> int:
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive integer number of images, got {n!r}")
        return n

    def generate(self, n: int, labels: torch.Tensor | None, rng: torch.Generator | None,
                 **options: Any) -> torch.Tensor:
        """Model-specific sampling: ``n`` images in [0, 1]. ``labels`` are checked; draw noise from ``rng``, which
        lives on the model's device or on the CPU (:func:`draw_normal` and :func:`draw_uniform` handle both);
        ``options`` hold every sampling option with its value resolved."""
        raise NotImplementedError


class NoiseToImage(Generator):
    """A generator whose ``forward(z, labels)`` maps noise ``(N, noise_dim)`` to images in [-1, 1] (GANs).

    Sampling draws ``z ~ N(0, noise_scale^2)`` from the seeded ``rng``: a scale above 1 widens the samples'
    spread (more diverse, less precise), one below 1 narrows it (``scripts/noise_scale.py`` measures which a weight
    wants). Subclasses set ``noise_dim`` and implement ``forward``.

    A generator may also have a discrete latent (``num_modes`` > 0, set up by :meth:`init_modes`): ``forward``'s
    second argument then takes mode indices in place of labels, and sampling draws them from the ``mode_prior``
    buffer, which training fills with the frequencies of the clusters the modes were trained on
    (:mod:`imggen.data.clusters`). Callers of an unconditional one still sample it without labels. A conditional one
    splits its modes evenly among its classes (modes ``c * P`` to ``c * P + P - 1`` belong to class ``c``, ``P =
    num_modes // num_classes``: clusters within each class) and draws each image's mode among its label's own.
    """

    noise_dim: int
    num_modes: int = 0
    sampling_defaults = {"noise_scale": 1.0}

    def init_modes(self, num_modes: int) -> None:
        """Give the generator ``num_modes`` discrete latent modes, uniformly likely until :meth:`set_mode_prior`."""
        if num_modes and self.num_classes and num_modes % self.num_classes:
            raise ValueError(f"a conditional generator splits its latent modes evenly among its {self.num_classes} "
                             f"classes; num_modes={num_modes} is no multiple of num_classes")
        self.num_modes = num_modes
        if num_modes:
            self.register_buffer("mode_prior", torch.full((num_modes,), 1.0 / num_modes))

    def set_mode_prior(self, counts: torch.Tensor) -> None:
        """Sample mode ``i`` with probability ``counts[i] / counts.sum()`` (how often training saw each mode)."""
        counts = torch.as_tensor(counts, dtype=torch.float64).flatten()
        groups = self.num_classes or 1
        if counts.numel() != self.num_modes or (counts < 0).any() or not (counts.view(groups, -1).sum(1) > 0).all():
            raise ValueError(f"the mode prior needs {self.num_modes} non-negative counts, not all zero"
                             f"{' within any class' if self.num_classes else ''}; got {counts.tolist()}")
        self.mode_prior.copy_(counts / counts.sum())

    def draw_modes(self, n: int, rng: torch.Generator | None, labels: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` mode indices drawn from :attr:`mode_prior` with the seeded ``rng`` (inverse CDF, one uniform each);
        given class ``labels`` (a conditional generator), each among its own class's modes."""
        if labels is None:
            cdf = self.mode_prior.double().cumsum(0)
            u = draw_uniform((n,), rng, self.device).double() * cdf[-1]
            return torch.searchsorted(cdf, u, right=True).clamp(max=self.num_modes - 1)
        per_class = self.num_modes // self.num_classes
        cdf = self.mode_prior.double().view(self.num_classes, per_class).cumsum(1)[labels]
        u = draw_uniform((n, 1), rng, self.device).double() * cdf[:, -1:]
        within = torch.searchsorted(cdf, u, right=True).squeeze(1).clamp(max=per_class - 1)
        return labels * per_class + within

    def generate(self, n: int, labels: torch.Tensor | None, rng: torch.Generator | None,
                 noise_scale: float = 1.0) -> torch.Tensor:
        if not noise_scale > 0:
            raise ValueError(f"noise_scale must be > 0, got {noise_scale}")
        z = draw_normal((n, self.noise_dim), rng, self.device)
        if noise_scale != 1.0:
            z = z * noise_scale
        labels = labels.to(self.device) if labels is not None else None
        if self.num_modes:
            labels = self.draw_modes(n, rng, labels)
        dtype = next(self.parameters()).dtype
        return (self(z.to(dtype), labels).float() + 1) / 2
