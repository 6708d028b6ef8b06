"""Names → factories for every kind of component, with entry-point plugins and pretrained configs.

One :class:`Registry` per kind. Built-ins register with ``generators.register(name, ...)`` beside their code;
plugins declare entry points in the groups ``imggen.generators``, ``imggen.discriminators``, ``imggen.losses``,
``imggen.trainers`` and ``imggen.feature_extractors``.
"""

from imggen.registry.factory import (
    create_discriminator,
    create_feature_extractor,
    create_loss,
    create_model,
    create_trainer,
    list_discriminators,
    list_feature_extractors,
    list_losses,
    list_models,
    list_trainers,
    model_info,
)
from imggen.registry.kinds import REGISTRIES, discriminators, feature_extractors, generators, losses, trainers
from imggen.registry.pretrained import PretrainedCfg
from imggen.registry.registry import Entry, Registry, spec

__all__ = [
    "REGISTRIES", "Entry", "PretrainedCfg", "Registry", "create_discriminator", "create_feature_extractor",
    "create_loss", "create_model", "create_trainer", "discriminators", "feature_extractors", "generators",
    "list_discriminators", "list_feature_extractors", "list_losses", "list_models", "list_trainers", "losses",
    "model_info", "spec", "trainers",
]
