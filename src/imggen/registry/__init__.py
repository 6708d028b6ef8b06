"""Names → factories for every kind of component, with entry-point plugins, contracts and pretrained configs.

One :class:`Registry` per kind. Built-ins register with ``generators.register(name, ...)`` beside their code;
plugins declare entry points in the groups ``imggen.generators``, ``imggen.discriminators``, ``imggen.losses``,
``imggen.parts``, ``imggen.tasks``, ``imggen.samplers`` and ``imggen.feature_extractors``.
"""

from imggen.registry.factory import (
    create_discriminator,
    create_feature_extractor,
    create_loss,
    create_model,
    create_part,
    create_sampler,
    list_discriminators,
    list_feature_extractors,
    list_losses,
    list_models,
    list_parts,
    list_samplers,
    list_tasks,
    model_info,
)
from imggen.registry.kinds import (
    REGISTRIES,
    discriminators,
    feature_extractors,
    generators,
    losses,
    parts,
    registry_for,
    samplers,
    tasks,
)
from imggen.registry.pretrained import PretrainedCfg
from imggen.registry.registry import Contract, Entry, Registry, spec

__all__ = [
    "REGISTRIES", "Contract", "Entry", "PretrainedCfg", "Registry", "create_discriminator",
    "create_feature_extractor", "create_loss", "create_model", "create_part", "create_sampler", "discriminators",
    "feature_extractors", "generators",
    "list_discriminators", "list_feature_extractors", "list_losses", "list_models", "list_parts", "list_samplers",
    "list_tasks", "losses", "model_info", "parts", "registry_for", "samplers", "spec", "tasks",
]
