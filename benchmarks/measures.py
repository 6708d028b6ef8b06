"""Which measurement fits a model, chosen by what the model can do (never by its name).

Each :class:`Measure` says when it applies (a capability check on the built model), the unit its figures are in,
and the function that measures the model over a batch sweep. The first measure in :data:`MEASURES` that applies
wins, so the more specific ones come first:

- ``image-to-image`` (an :class:`~imggen.models.base.ImageToImage` model, super-resolution): megapixels of output
  per second of ``upscale`` on a picture (``benchmarks/upscaling.py``).
- ``iterative`` (a sampler with a ``steps`` sampling option: diffusion, flow matching): img/s at several step counts.
- ``noise-to-image`` (any other generator: GANs, VAEs): img/s of the raw network and of ``sample``.

A new family plugs in with :func:`register_measure` (or a new entry here), and its training throughput is measured
through its own default task (``imggen.train.recipe.default_recipe``) with batches of
:attr:`Measure.train_image_shape`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

import imggen
from benchmarks.config import BenchConfig
from benchmarks.sampling import iterative_rows, noise_to_image_rows
from benchmarks.upscaling import training_patch_shape, upscaling_rows
from imggen.models.base import ImageToImage

Rows = Callable[[str, nn.Module, "list[int] | None", BenchConfig], "list[dict[str, Any]]"]


def _image_shape(model: nn.Module) -> tuple[int, ...]:
    return tuple(model.image_shape)


@dataclass(frozen=True)
class Measure:
    """How the suite measures one kind of model.

    ``applies(model)`` checks a capability; ``rows(name, model, batch_sizes, cfg)`` returns result rows (built with
    :func:`benchmarks.results.ok_row` in ``unit``; ``None`` while nobody has written it); ``train_image_shape(model)``
    is the (C, H, W) of the synthetic images the training benchmark feeds the model's task.
    """

    name: str
    unit: str
    applies: Callable[[nn.Module], bool]
    rows: Rows | None
    train_image_shape: Callable[[nn.Module], tuple[int, ...]] = _image_shape
    what: str = ""


class NotMeasured(Exception):
    """A model no measure of the suite covers yet; reported beside the results, the rest goes on."""


def _is_iterative(model: nn.Module) -> bool:
    return "steps" in getattr(model, "sampling_defaults", {})


def _generates(model: nn.Module) -> bool:
    return callable(getattr(model, "sample", None)) and hasattr(model, "image_shape")


MEASURES: list[Measure] = [
    Measure("image-to-image", "MP/s", lambda m: isinstance(m, ImageToImage), upscaling_rows,
            train_image_shape=training_patch_shape, what="megapixels of output per second (super-resolution)"),
    Measure("iterative", "img/s", _is_iterative, iterative_rows,
            what="sample() at several step counts"),
    Measure("noise-to-image", "img/s", _generates, noise_to_image_rows,
            what="the raw network on pre-drawn noise, and sample() end to end"),
]


def register_measure(measure: Measure, *, before: str | None = None) -> Measure:
    """Add ``measure`` to :data:`MEASURES` (before the one named ``before``, else last), replacing one of the same
    name: how a family the suite does not know yet (or a plugin) says how it is measured."""
    MEASURES[:] = [m for m in MEASURES if m.name != measure.name]
    names = [m.name for m in MEASURES]
    MEASURES.insert(names.index(before) if before in names else len(MEASURES), measure)
    return measure


def measure_for(model: nn.Module) -> Measure | None:
    """The first measure in :data:`MEASURES` that applies to ``model`` (``None`` when none does)."""
    return next((m for m in MEASURES if m.applies(model)), None)


def sampling_rows(name: str, batch_sizes: list[int] | None, cfg: BenchConfig) -> list[dict[str, Any]]:
    """Rows of generator ``name`` as the measure that fits it says (each tagged with the measure's name), or
    :class:`NotMeasured` when none covers it yet."""
    model = cfg.prepare(imggen.create_model(name)).eval()
    measure = measure_for(model)
    if measure is None or measure.rows is None:
        what = f"the {measure.name} measure ({measure.what}) has no rows function yet" if measure else \
            "no measure applies"
        raise NotMeasured(f"{name} ({type(model).__name__}) is not measured: {what}; add one to MEASURES in "
                          "benchmarks/measures.py or call benchmarks.measures.register_measure")
    return [{**row, "measure": measure.name} for row in measure.rows(name, model, batch_sizes, cfg)]
