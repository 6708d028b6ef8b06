"""imggen: a model zoo for image generation behind one timm-style registry.

>>> import imggen
>>> "cgan-mlp-mnist" in imggen.list_models("*gan*")
True
"""

from imggen import losses, metrics, models, train  # noqa: F401  (registers families, losses, trainers, feature nets)
from imggen.hub import push_to_hub, save_pretrained
from imggen.registry import (
    PretrainedCfg,
    create_discriminator,
    create_feature_extractor,
    create_loss,
    create_model,
    list_discriminators,
    list_feature_extractors,
    list_losses,
    list_models,
    list_parts,
    list_samplers,
    list_tasks,
    model_info,
)
from imggen.train import create_trainer
from imggen.version import __version__

__all__ = [
    "PretrainedCfg", "__version__", "create_discriminator", "create_feature_extractor", "create_loss",
    "create_model", "create_trainer", "list_discriminators", "list_feature_extractors", "list_losses",
    "list_models", "list_parts", "list_samplers", "list_tasks", "model_info", "push_to_hub", "save_pretrained",
]
