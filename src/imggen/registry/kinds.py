"""The registries, one per kind of component, each with the contract its entries must meet.

Plugins use the entry-point group ``imggen.<kind>``. A contract names the methods (and constructor arguments) an
entry must have; it is checked when a built-in registers and when a plugin's entry point is loaded, so a plugin that
does not fit fails with a message naming it and what it lacks, not deep inside a training step. Each registry names the
modules that register its built-ins; they are imported on its first lookup, not here, so importing imggen (or running
``imggen --help``) does not import torch.
"""

import difflib

from imggen.errors import UnknownNameError
from imggen.registry.registry import Contract, Registry

generators = Registry("generators", lister="imggen.list_models()", builtins=["imggen.models"], contract=Contract(
    methods=("sample", "generate"), or_methods=("upscale",), what="a model: a Generator (subclass "
    "imggen.models.base.Generator and implement generate) or a super-resolution model (subclass "
    "imggen.models.upscale.Upscaler and implement forward)"))
discriminators = Registry("discriminators", builtins=["imggen.models"], contract=Contract(
    methods=("forward",), kwargs=("image_shape", "num_classes"),
    what="a discriminator: built with image_shape= and num_classes=, forward(images, labels=None) -> logits "
    "(B,) or patch logits (B, K)"))
losses = Registry("losses", builtins=["imggen.losses"], contract=Contract(
    methods=("d_loss", "g_loss"),
    what="an adversarial loss: d_loss(real_logits, fake_logits) and g_loss(fake_logits, real_logits=None)"))
parts = Registry("parts", builtins=["imggen.losses", "imggen.train"], contract=Contract(
    any_of=("d_penalty", "augment"),
    what="a training part: d_penalty(critic, real, fake, labels, fake_labels, rng) and/or augment(images, rng)"))
tasks = Registry("tasks", builtins=["imggen.train"], contract=Contract(
    methods=("setup", "step"), what="a training task (subclass imggen.train.Task)"))
samplers = Registry("samplers", builtins=["imggen.models"], contract=Contract(
    methods=("timesteps", "step"), kwargs=("schedule",),
    what="an iterative sampler: built with schedule= (a NoiseSchedule), timesteps(steps) -> decreasing training "
         "timesteps, step(model_output, t, x, rng) -> the sample at the next one"))
feature_extractors = Registry("feature_extractors", builtins=["imggen.metrics"], contract=Contract(
    methods=("features",), what="a feature network: features(images) -> (N, D)"))

REGISTRIES: dict[str, Registry] = {
    r.kind: r for r in (generators, discriminators, losses, parts, tasks, samplers, feature_extractors)
}


def registry_for(kind: str) -> Registry:
    """The registry of ``kind``, singular or plural (``"generator"`` or ``"generators"``), with a clear error."""
    for registry in REGISTRIES.values():
        if kind in (registry.kind, registry.singular):
            return registry
    close = difflib.get_close_matches(str(kind), list(REGISTRIES), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise UnknownNameError(f"unknown kind {kind!r}{hint}; kinds are: {', '.join(REGISTRIES)}")
