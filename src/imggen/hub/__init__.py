"""Weights I/O: the one folder layout (config.json + model.safetensors + README.md) used for bundled weights,
local folders and Hugging Face Hub repos, read through one verified door (:func:`load_model`).

- :mod:`imggen.hub.folder`: reading (hash over the bytes that are loaded, finite check) and atomic writing.
- :mod:`imggen.hub.remote`: downloads and uploads through ``huggingface_hub`` (its cache, revisions,
  ``HF_HUB_OFFLINE`` and ``HF_ENDPOINT`` apply), with one short probe so an unreachable Hub fails fast.
- :mod:`imggen.hub.loader`: resolve (bundled, folder, Hub, URL) → verify → read config → build → load.
- :mod:`imggen.hub.cache`: moving the Hugging Face cache to an air-gapped machine.
- :mod:`imggen.hub.bundle`: generator + discriminator (+ EMA, optimisers) under one name; partial loads with a report.
"""

from imggen.hub.bundle import LoadReport, load_optimizer_states, load_partially, read_bundle, save_bundle
from imggen.hub.card import LOADERS, model_card
from imggen.hub.folder import (
    CARD_NAME,
    CONFIG_NAME,
    SHA256_KEY,
    WEIGHTS_NAME,
    check_finite,
    fit_state_dict,
    key_report,
    load_weights,
    read_config,
    read_weights,
    save_folder,
    save_pretrained,
)
from imggen.hub.loader import Location, Weights, load_model, local_location, open_weights
from imggen.hub.remote import HF_PREFIX, download_file, download_folder, is_cached, parse_hub_id, push_to_hub

__all__ = [
    "CARD_NAME", "CONFIG_NAME", "HF_PREFIX", "LOADERS", "SHA256_KEY", "WEIGHTS_NAME", "LoadReport", "Location",
    "Weights", "load_optimizer_states", "load_partially", "read_bundle", "save_bundle",
    "check_finite", "download_file", "download_folder", "fit_state_dict", "is_cached", "key_report", "load_model",
    "load_weights", "local_location", "model_card", "open_weights", "parse_hub_id", "push_to_hub", "read_config",
    "read_weights", "save_folder", "save_pretrained",
]
