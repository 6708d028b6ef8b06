"""imggen: a model zoo for image generation behind one timm-style registry.

>>> import imggen
>>> "cgan-mlp-mnist" in imggen.list_models("*gan*")
True

The verbs below are imported on first use (PEP 562), so ``import imggen`` and ``imggen --help`` do not pay for
torch; the registries import the built-in families the first time a name is looked up.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from imggen.version import __version__

#: public name → the module that defines it
_EXPORTS = {
    "PretrainedCfg": "imggen.registry", "create_discriminator": "imggen.registry",
    "create_feature_extractor": "imggen.registry", "create_loss": "imggen.registry", "create_model": "imggen.registry",
    "create_part": "imggen.registry", "create_sampler": "imggen.registry",
    "create_trainer": "imggen.train", "list_discriminators": "imggen.registry",
    "list_feature_extractors": "imggen.registry", "list_losses": "imggen.registry", "list_models": "imggen.registry",
    "list_parts": "imggen.registry", "list_samplers": "imggen.registry", "list_tasks": "imggen.registry",
    "model_info": "imggen.registry", "push_to_hub": "imggen.hub", "save_pretrained": "imggen.hub",
}
_SUBPACKAGES = ("data", "hub", "losses", "metrics", "models", "registry", "train")

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    """Import a public verb (or subpackage) the first time it is used, then keep it as a plain attribute."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
    elif name in _SUBPACKAGES:
        value = importlib.import_module(f"imggen.{name}")
    else:
        raise AttributeError(f"module 'imggen' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS, *_SUBPACKAGES})


if TYPE_CHECKING:  # what static tools (type checkers, the API docs) see: the names in __all__
    from imggen.hub import push_to_hub, save_pretrained  # noqa: F401
    from imggen.registry import *  # noqa: F403
    from imggen.train import create_trainer  # noqa: F401
