"""The one folder layout (``config.json`` + ``model.safetensors`` + ``README.md``) and reading or writing it.

Reading is verified: the weights file is read once, its sha256 taken over those very bytes, and the tensors parsed
from the same bytes, so what is checked is what is loaded. Writing is atomic per folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

from imggen.errors import WeightsError
from imggen.fileio import atomic_folder, atomic_output
from imggen.hub.card import SAMPLES_NAME, model_card
from imggen.images import save_grid
from imggen.version import __version__

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
#: the config.json key holding the sha256 of model.safetensors (written by save_pretrained, checked on load)
SHA256_KEY = "weights_sha256"
FOLDER_FILES = (CONFIG_NAME, WEIGHTS_NAME, CARD_NAME, SAMPLES_NAME)
#: how many seeded samples save_pretrained shows in a generator's card
CARD_SAMPLES = 16

#: what to do about a weights file whose sha256 is wrong, by where it came from
FIX_FOLDER = "the folder was changed after it was saved; save it again with imggen.save_pretrained"


# -- reading -----------------------------------------------------------------------------------------
def read_config(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``config.json`` of a weights folder, with a clear error if it is missing or not imggen's."""
    path = Path(folder) / CONFIG_NAME
    if not path.is_file():
        raise WeightsError(f"{str(folder)!r} has no {CONFIG_NAME}; it is not an imggen weights folder "
                           "(save one with imggen.save_pretrained(model, folder))")
    return parse_config(path.read_bytes(), path)


def parse_config(data: bytes, path: Path) -> dict[str, Any]:
    """``config.json`` bytes read from ``path`` → the config, refusing what imggen did not write."""
    try:
        config = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{path} is not valid JSON ({exc}); re-save or re-download the folder") from exc
    if not isinstance(config, dict) or "architecture" not in config:
        raise WeightsError(f"{path} names no 'architecture'; it was not written by imggen.save_pretrained")
    for key, kind, what in CONFIG_SCHEMA:
        if key in config and not (isinstance(config[key], kind) and (kind is not str or config[key])):
            raise WeightsError(f"{path}: {key!r} must be {what}, got {config[key]!r}; the file was edited or "
                               "corrupted: re-save or re-download the folder")
    return config


#: the fields of config.json and what each must be, checked before anything is built from them
CONFIG_SCHEMA = (
    ("architecture", str, "a registered name (a non-empty string)"),
    ("kind", str, "a kind name such as \"generators\""),
    ("args", dict, "an object of constructor arguments"),
    ("meta", dict, "an object"),
    ("sampling", dict, "an object of sampling options"),
)


def check_finite(state: dict[str, torch.Tensor], source: str) -> None:
    """Refuse weights holding NaN or infinity, naming the first tensor that does (they would sample garbage)."""
    for key, tensor in state.items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            bad = int((~torch.isfinite(tensor)).sum())
            raise WeightsError(
                f"weights from {source} hold {bad} non-finite value(s) (NaN or inf) in tensor {key!r}; the "
                "training run that saved them diverged. Use an earlier checkpoint or retrain with a lower lr"
            )


def read_weights(path: str | os.PathLike[str], sha256: str | None = None, *,
                 fix: str = "delete it and fetch or save it again") -> tuple[dict[str, torch.Tensor], str]:
    """Tensors of a safetensors file and the sha256 of its bytes, after checking it against ``sha256``.

    The file is read once; the hash and the tensors come from the same bytes. ``fix`` is the advice printed on a
    hash mismatch, which depends on where the file came from (a download can be deleted and fetched again; a
    file inside the installed package cannot).
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {str(path)!r} does not exist")
    return parse_weights(path.read_bytes(), path, sha256, fix=fix)


def parse_weights(data: bytes, path: Path, sha256: str | None = None, *,
                  fix: str = "delete it and fetch or save it again") -> tuple[dict[str, torch.Tensor], str]:
    """Safetensors bytes read from ``path`` → verified tensors and their sha256 (see :func:`read_weights`)."""
    actual = hashlib.sha256(data).hexdigest()
    if sha256 is not None and actual != sha256:
        raise WeightsError(
            f"sha256 mismatch for {path}:\n  expected {sha256}\n  actual   {actual}\n"
            f"the file is corrupt or was replaced; {fix}"
        )
    try:
        state = load_safetensors(data)
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(
            f"{path} is truncated or not a valid safetensors file ({exc}); delete it and fetch or save it again"
        ) from exc
    check_finite(state, str(path))
    return state, actual


def read_folder(folder: str | os.PathLike[str]) -> tuple[bytes | None, bytes]:
    """The bytes of a folder's config.json (``None`` if it has none) and model.safetensors, from one version of it.

    Both files are opened through one handle on the folder, so a folder swapped by a concurrent
    :func:`save_folder` yields the old pair or the new pair, never one file of each.
    """
    folder = Path(folder)
    if os.open not in os.supports_dir_fd:  # no dir_fd (Windows): plain paths
        config = folder / CONFIG_NAME
        return (config.read_bytes() if config.is_file() else None), _weights_bytes(folder / WEIGHTS_NAME)
    for attempt in range(3):
        try:
            fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        except FileNotFoundError:
            raise WeightsError(f"weights folder {str(folder)!r} does not exist") from None
        try:
            handles = {}
            for name in (CONFIG_NAME, WEIGHTS_NAME):
                with contextlib.suppress(FileNotFoundError):
                    handles[name] = os.open(name, os.O_RDONLY, dir_fd=fd)
            contents = {}
            for name, handle in handles.items():
                with os.fdopen(handle, "rb") as fh:
                    contents[name] = fh.read()
        finally:
            os.close(fd)
        if WEIGHTS_NAME in contents or attempt == 2:  # missing: deleted by a writer's cleanup, or really absent
            break
    if WEIGHTS_NAME not in contents:
        raise WeightsError(f"weights file {str(folder / WEIGHTS_NAME)!r} does not exist")
    return contents.get(CONFIG_NAME), contents[WEIGHTS_NAME]


def _weights_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise WeightsError(f"weights file {str(path)!r} does not exist")
    return path.read_bytes()


def load_weights(path: str | os.PathLike[str], sha256: str | None = None) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file, after checking its sha256 when one is expected (see :func:`read_weights`)."""
    return read_weights(path, sha256)[0]


def key_report(model: torch.nn.Module, state: dict[str, torch.Tensor]) -> dict[str, list[str]]:
    """Which keys of ``state`` are ``missing`` from it, ``unexpected`` by ``model`` or of the wrong ``shape``."""
    own = model.state_dict()
    return {
        "missing": sorted(set(own) - set(state)),
        "unexpected": sorted(set(state) - set(own)),
        "shape": [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
                  for k in sorted(set(own) & set(state)) if state[k].shape != own[k].shape],
    }


def fit_state_dict(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``model`` strictly, listing every missing, unexpected or mis-shaped key."""
    check_fits(model, state, source)
    model.load_state_dict(state)


def check_fits(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Raise a :class:`WeightsError` listing every missing, unexpected or mis-shaped key of ``state`` for ``model``
    (which may live on the meta device: nothing is loaded)."""
    report = key_report(model, state)
    if any(report.values()):
        lines = [f"weights from {source} do not fit {type(model).__name__}:"]
        lines += [f"  missing keys: {', '.join(report['missing'])}"] if report["missing"] else []
        lines += [f"  unexpected keys: {', '.join(report['unexpected'])}"] if report["unexpected"] else []
        lines += [f"  shape mismatch: {s}" for s in report["shape"]]
        lines.append("check that the architecture and its arguments match the ones the weights were saved with")
        raise WeightsError("\n".join(lines))


# -- writing -----------------------------------------------------------------------------------------
def save_folder(folder: str | os.PathLike[str], config: dict[str, Any], state: dict[str, torch.Tensor], *,
                samples: torch.Tensor | None = None, name: str | None = None) -> Path:
    """Write config.json (recording the weights' sha256), model.safetensors, README.md (the model card, ``name``
    being how users load it) and, given ``samples``, their grid samples.png into ``folder``.

    A new folder, or one holding only those three files, is written beside and swapped in whole
    (:func:`~imggen.fileio.atomic_folder`); a folder holding other files too is updated file by file, weights
    first, so a reader that catches it half-way fails the sha256 check instead of loading a mix.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    # one metadata key only: safetensors writes several in random order, and the same weights must always give
    # the same bytes (and sha256); the architecture is in config.json
    data = save_safetensors(tensors, metadata={"format": "pt"})
    config = {**config, "imggen_version": __version__, SHA256_KEY: hashlib.sha256(data).hexdigest()}
    contents = {WEIGHTS_NAME: data, CONFIG_NAME: (json.dumps(config, indent=2, sort_keys=True) + "\n").encode(),
                CARD_NAME: model_card(config, name=name, samples=samples is not None).encode()}
    provenance = {"model": config["architecture"], "weights_sha256": config[SHA256_KEY], "seed": 0}
    if folder.is_dir() and set(os.listdir(folder)) - set(FOLDER_FILES):
        for file, content in contents.items():
            with atomic_output(folder / file) as tmp:
                tmp.write_bytes(content)
        if samples is not None:
            save_grid(samples, folder / SAMPLES_NAME, nrow=4, provenance=provenance)
        return folder
    with atomic_folder(folder) as tmp:
        for file, content in contents.items():
            (tmp / file).write_bytes(content)
        if samples is not None:
            save_grid(samples, tmp / SAMPLES_NAME, nrow=4, provenance=provenance)
    return folder


def card_samples(model: torch.nn.Module, n: int = CARD_SAMPLES) -> torch.Tensor | None:
    """``n`` samples with seed 0 (labels 0, 1, 2, ... when conditional) for a generator's card; ``None`` for
    a model that does not sample."""
    if not n or not callable(getattr(model, "sample", None)):
        return None
    classes = getattr(model, "num_classes", 0) or 0
    with torch.no_grad():
        return model.sample(n, labels=[i % classes for i in range(n)] if classes else None, seed=0)


def recorded_config(model: torch.nn.Module) -> dict[str, Any]:
    """The config of a model built directly from a registered class: the name it was registered under and the
    constructor arguments it recorded (``Generator.init_args``)."""
    registered = getattr(type(model), "imggen_registered", None)
    args = getattr(model, "init_args", None)
    if registered is None or args is None:
        raise ValueError(
            f"{type(model).__name__} is not a registered imggen model, so its architecture is unknown; build it with "
            "imggen.create_model(name), or register its class, before saving"
        )
    kind, architecture = registered
    return {"architecture": architecture, "kind": kind, "args": json.loads(json.dumps(args))}


def save_pretrained(model: torch.nn.Module, folder: str | os.PathLike[str], *, half: bool = False,
                    meta: dict[str, Any] | None = None, samples: int = CARD_SAMPLES, name: str | None = None) -> Path:
    """Save a model made by ``imggen.create_model`` as a folder that ``create_model(folder)`` rebuilds.

    ``half`` stores floating-point weights as float16 (half the size); ``meta`` adds training provenance
    and metrics to config.json. A generator's card shows a grid of ``samples`` seeded samples (0: none);
    ``name`` is how the card tells users to load it (``hf-hub:org/repo``; a folder path when not given).
    """
    try:
        json.dumps(meta or {})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"save_pretrained's meta must be plain JSON (numbers, strings, lists, objects); {exc}. "
                         "Nothing was written") from exc
    config = getattr(model, "imggen_cfg", None) or recorded_config(model)
    sampling = getattr(model, "sampling_config", None)
    if sampling:
        config = {**config, "sampling": sampling}
    state = model.state_dict()
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    config = {k: v for k, v in config.items() if k not in ("imggen_version", SHA256_KEY)}
    return save_folder(folder, {**config, "meta": {**config.get("meta", {}), **(meta or {})}}, state,
                       samples=card_samples(model, samples), name=name)
