"""Weights I/O: the one folder layout (config.json + model.safetensors + README.md) used for bundled weights,
local folders and Hugging Face Hub repos, with hash checks and clear errors.

Downloads and uploads go through ``huggingface_hub``, so its cache, revisions and ``HF_HUB_OFFLINE`` apply.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import HfApi, ModelCardData, hf_hub_download
from huggingface_hub import constants as hf_constants
from huggingface_hub import errors as hf_errors
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from imggen.errors import HubError, WeightsError
from imggen.fileio import atomic_output, sha256_file
from imggen.version import __version__

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
HF_PREFIX = "hf-hub:"
#: the ``imggen`` function that rebuilds each kind of saved model
LOADERS = {"generator": "create_model", "discriminator": "create_discriminator",
           "feature_extractor": "create_feature_extractor"}


def parse_hub_id(spec: str) -> tuple[str, str | None]:
    """``"hf-hub:org/repo@rev"`` (prefix optional) → ``("org/repo", "rev")``."""
    spec = spec.removeprefix(HF_PREFIX)
    repo_id, _, revision = spec.partition("@")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValueError(f"bad Hub id {spec!r}: expected 'hf-hub:org/repo' or 'hf-hub:org/repo@revision'")
    return repo_id, revision or None


# -- reading -----------------------------------------------------------------------------------------
def read_config(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``config.json`` of a weights folder, with a clear error if it is missing or not imggen's."""
    path = Path(folder) / CONFIG_NAME
    if not path.is_file():
        raise WeightsError(f"{str(folder)!r} has no {CONFIG_NAME}; it is not an imggen weights folder "
                           "(save one with imggen.save_pretrained(model, folder))")
    try:
        config = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise WeightsError(f"{path} is not valid JSON ({exc}); re-save or re-download the folder") from exc
    if "architecture" not in config:
        raise WeightsError(f"{path} names no 'architecture'; it was not written by imggen.save_pretrained")
    return config


def load_weights(path: str | os.PathLike[str], sha256: str | None = None) -> dict[str, torch.Tensor]:
    """Tensors of a safetensors file, after checking its sha256 when one is expected."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {str(path)!r} does not exist")
    if sha256 is not None:
        actual = sha256_file(path)
        if actual != sha256:
            raise WeightsError(
                f"sha256 mismatch for {path}:\n  expected {sha256}\n  actual   {actual}\n"
                "the file is corrupt or was replaced; delete it so it is fetched again"
            )
    try:
        return load_file(path)
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(
            f"{path} is truncated or not a valid safetensors file ({exc}); delete it and fetch or save it again"
        ) from exc


def fit_state_dict(model: torch.nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Load ``state`` into ``model`` strictly, listing every missing, unexpected or mis-shaped key."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
        for k in sorted(set(own) & set(state))
        if state[k].shape != own[k].shape
    ]
    if missing or unexpected or shapes:
        lines = [f"weights from {source} do not fit {type(model).__name__}:"]
        lines += [f"  missing keys: {', '.join(missing)}"] if missing else []
        lines += [f"  unexpected keys: {', '.join(unexpected)}"] if unexpected else []
        lines += [f"  shape mismatch: {s}" for s in shapes]
        lines.append("check that the architecture and its arguments match the ones the weights were saved with")
        raise WeightsError("\n".join(lines))
    model.load_state_dict(state)


# -- writing -----------------------------------------------------------------------------------------
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


def save_folder(folder: str | os.PathLike[str], config: dict[str, Any], state: dict[str, torch.Tensor]) -> Path:
    """Write config.json, model.safetensors and README.md into ``folder``, each file atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config = {**config, "imggen_version": __version__}
    tensors = {k: v.detach().contiguous().cpu() for k, v in state.items()}
    with atomic_output(folder / WEIGHTS_NAME) as tmp:
        # one metadata key only: safetensors writes several in random order, and the same weights must always
        # give the same bytes (and sha256); the architecture is in config.json
        save_file(tensors, tmp, metadata={"format": "pt"})
    with atomic_output(folder / CONFIG_NAME) as tmp:
        tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    with atomic_output(folder / CARD_NAME) as tmp:
        tmp.write_text(model_card(config))
    return folder


def save_pretrained(model: torch.nn.Module, folder: str | os.PathLike[str], *, half: bool = False,
                    meta: dict[str, Any] | None = None) -> Path:
    """Save a model made by ``imggen.create_model`` as a folder that ``create_model(folder)`` rebuilds.

    ``half`` stores floating-point weights as float16 (half the size); ``meta`` adds training provenance
    and metrics to config.json.
    """
    config = getattr(model, "imggen_cfg", None)
    if config is None:
        raise ValueError(
            f"{type(model).__name__} was not built by imggen.create_model, so its architecture is unknown; "
            "create it with imggen.create_model(name) before saving"
        )
    state = model.state_dict()
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    return save_folder(folder, {**config, "meta": {**config.get("meta", {}), **(meta or {})}}, state)


# -- the Hub -----------------------------------------------------------------------------------------
def _hub_failure(repo_id: str, revision: str | None, exc: Exception) -> HubError:
    where = f"{repo_id}@{revision}" if revision else repo_id
    if isinstance(exc, hf_errors.RepositoryNotFoundError):
        return HubError(f"Hub repo {where!r} does not exist (or is private: log in with `hf auth login`)")
    if isinstance(exc, hf_errors.RevisionNotFoundError):
        return HubError(f"Hub repo {repo_id!r} has no revision {revision!r}")
    if isinstance(exc, hf_errors.RemoteEntryNotFoundError):
        return HubError(f"Hub repo {where!r} is not an imggen weights folder: {exc}")
    if hf_constants.HF_HUB_OFFLINE:
        why = "HF_HUB_OFFLINE=1 is set (offline mode), so the Hub was not asked"
    else:
        why = f"the Hub at {hf_constants.ENDPOINT} is unreachable ({type(exc).__name__})"
    return HubError(
        f"could not fetch {where!r}: {why}, and it is not in the local Hugging Face cache. Fix: download it "
        "once while online (it is then cached and HF_HUB_OFFLINE=1 works), or pass a local folder saved with "
        "imggen.save_pretrained to create_model instead"
    )


def download_file(repo_id: str, filename: str, revision: str | None = None) -> Path:
    """One file of a Hub repo through the HF cache, with imggen's error messages."""
    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision, library_name="imggen",
                                    library_version=__version__))
    except (hf_errors.HfHubHTTPError, hf_errors.LocalEntryNotFoundError, hf_errors.EntryNotFoundError,
            OSError) as exc:
        raise _hub_failure(repo_id, revision, exc) from exc


def download_folder(repo_id: str, revision: str | None = None) -> Path:
    """Fetch config.json and model.safetensors of a Hub repo (through the HF cache); returns the folder."""
    download_file(repo_id, CONFIG_NAME, revision)
    return download_file(repo_id, WEIGHTS_NAME, revision).parent


def push_to_hub(model: torch.nn.Module, repo_id: str, *, private: bool | None = None, token: str | None = None,
                commit_message: str = "Upload imggen model", half: bool = False) -> str:
    """Save ``model`` with :func:`save_pretrained` into a temporary folder and upload it to ``repo_id``.

    Returns the commit URL. The repo is created if needed.
    """
    import tempfile

    api = HfApi(token=token)
    with tempfile.TemporaryDirectory() as tmp:
        save_pretrained(model, tmp, half=half)
        try:
            api.create_repo(repo_id, private=private, exist_ok=True)
            info = api.upload_folder(repo_id=repo_id, folder_path=tmp, commit_message=commit_message)
        except Exception as exc:
            if not _is_network_error(exc):
                raise
            raise _upload_failure(repo_id, exc) from exc
    return str(getattr(info, "commit_url", info))


def _is_network_error(exc: Exception) -> bool:
    """An HTTP or connection error, whichever HTTP client ``huggingface_hub`` uses underneath."""
    client = type(exc).__module__.split(".")[0]
    return isinstance(exc, (hf_errors.HfHubHTTPError, OSError)) or client in ("httpx", "httpx2", "httpcore",
                                                                               "requests", "urllib3")


def _upload_failure(repo_id: str, exc: Exception) -> HubError:
    if hf_constants.HF_HUB_OFFLINE:
        return HubError(f"cannot upload to {repo_id!r}: HF_HUB_OFFLINE=1 is set (offline mode); unset it and try "
                        "again while online")
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if status in (401, 403):
        return HubError(f"the Hub refused the upload to {repo_id!r} (HTTP {status}): log in with `hf auth login` "
                        "or pass token= with write access to that repo")
    what = f"HTTP {status}" if status else type(exc).__name__
    return HubError(f"cannot upload to {repo_id!r}: the Hub at {hf_constants.ENDPOINT} failed or is unreachable "
                    f"({what}); check the connection (and HF_ENDPOINT) and try again")
