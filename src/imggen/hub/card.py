"""Model cards: the README.md of a weights folder, with the Hub's YAML metadata, built from its config.json."""

from __future__ import annotations

import json
from typing import Any

from huggingface_hub import ModelCardData

#: the ``imggen`` function that rebuilds each kind of saved model
LOADERS = {"generator": "create_model", "discriminator": "create_discriminator",
           "feature_extractor": "create_feature_extractor"}


def model_card(config: dict[str, Any]) -> str:
    """A README.md model card with Hub metadata, built from the folder's config."""
    meta = config.get("meta", {})
    kind = config.get("kind", "generators").removesuffix("s")
    loader = LOADERS.get(kind, "create_model")
    data = ModelCardData(library_name="imggen", license=meta.get("license", "mit"),
                         tags=["imggen", "image-generation", config["architecture"]])
    metrics = meta.get("metrics", {})
    rows = "\n".join(f"| {k} | {v} |" for k, v in metrics.items()) or "| (none measured) | |"
    return (
        f"---\n{data.to_yaml()}\n---\n\n# {config['architecture']}\n\n"
        f"An imggen {kind}. Load it with `imggen.{loader}(\"<this folder or hf-hub:org/repo>\")`.\n\n"
        f"Architecture arguments: `{json.dumps(config.get('args', {}))}`\n\n"
        f"| metric | value |\n| --- | --- |\n{rows}\n\n"
        "Images made with this model are machine-generated.\n"
    )
