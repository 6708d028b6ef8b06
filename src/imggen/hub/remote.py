"""The Hugging Face Hub: downloads through ``hf_hub_download`` (its cache, revisions, ``HF_HUB_OFFLINE`` and
``HF_ENDPOINT``), uploads through ``HfApi``, and errors that say which of the ways a fetch fails happened.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import torch
from huggingface_hub import HfApi, get_hf_file_metadata, hf_hub_download, hf_hub_url, try_to_load_from_cache
from huggingface_hub import constants as hf_constants
from huggingface_hub import errors as hf_errors

from imggen.errors import HubError
from imggen.hub.folder import CONFIG_NAME, WEIGHTS_NAME, save_pretrained
from imggen.version import __version__

HF_PREFIX = "hf-hub:"
#: seconds the one reachability probe before a first download may take (``IMGGEN_HUB_TIMEOUT`` overrides)
PROBE_TIMEOUT = 10.0
FETCH_ERRORS = (hf_errors.HfHubHTTPError, hf_errors.LocalEntryNotFoundError, hf_errors.EntryNotFoundError, OSError)


def parse_hub_id(spec: str) -> tuple[str, str | None]:
    """``"hf-hub:org/repo@rev"`` (prefix optional) → ``("org/repo", "rev")``."""
    spec = spec.removeprefix(HF_PREFIX)
    repo_id, _, revision = spec.partition("@")
    if repo_id.count("/") != 1 or not all(repo_id.split("/")):
        raise ValueError(f"bad Hub id {spec!r}: expected 'hf-hub:org/repo' or 'hf-hub:org/repo@revision'")
    return repo_id, revision or None


def hub_failure(repo_id: str, revision: str | None, exc: Exception) -> HubError:
    """The HubError for a failed fetch: no such repo, no such revision, offline and not cached, or unreachable."""
    where = f"{repo_id}@{revision}" if revision else repo_id
    if isinstance(exc, hf_errors.RepositoryNotFoundError):
        return HubError(f"Hub repo {where!r} does not exist (or is private: log in with `hf auth login`); "
                        "check the name with imggen.list_models(pretrained=True)")
    if isinstance(exc, hf_errors.RevisionNotFoundError):
        return HubError(f"Hub repo {repo_id!r} has no revision {revision!r}; check the tag, branch or commit "
                        "after '@' (a pretrained tag's revision is pinned in its PretrainedCfg)")
    if isinstance(exc, hf_errors.RemoteEntryNotFoundError):
        return HubError(f"Hub repo {where!r} is not an imggen weights folder: {exc}")
    if hf_constants.HF_HUB_OFFLINE:
        why = "HF_HUB_OFFLINE=1 is set (offline mode), so the Hub was not asked"
    else:
        why = f"the Hub at {hf_constants.ENDPOINT} is unreachable ({type(exc).__name__})"
    return HubError(
        f"could not fetch {where!r}: {why}, and it is not in the local Hugging Face cache. Fix: download it "
        "once while online (`imggen download NAME`; it is then cached and HF_HUB_OFFLINE=1 works), bring a "
        "cache made elsewhere with `imggen cache import FILE`, or pass a local folder saved with "
        "imggen.save_pretrained to create_model instead"
    )


def probe(repo_id: str, filename: str, revision: str | None) -> None:
    """One short request for a file's metadata, so an unreachable Hub fails at once rather than after retries.

    ``hf_hub_download`` retries a failed first download five times with back-off (about 23 s); this asks once.
    """
    timeout = float(os.environ.get("IMGGEN_HUB_TIMEOUT") or PROBE_TIMEOUT)
    try:
        get_hf_file_metadata(hf_hub_url(repo_id, filename, revision=revision), timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - every failure of the probe is reported through hub_failure
        raise hub_failure(repo_id, revision, exc) from exc


def is_cached(repo_id: str, filename: str, revision: str | None = None) -> bool:
    """Whether the HF cache already holds ``filename`` of ``repo_id`` at ``revision`` (no request is made)."""
    return isinstance(try_to_load_from_cache(repo_id, filename, revision=revision), str)


def download_file(repo_id: str, filename: str, revision: str | None = None, *, fail_fast: bool = True) -> Path:
    """One file of a Hub repo through the HF cache.

    With ``fail_fast`` a file that is not cached yet is first probed once (:func:`probe`), so an unreachable Hub
    is reported at once; a caller that has just reached the Hub passes ``False`` to skip the extra request.
    """
    if fail_fast and not hf_constants.HF_HUB_OFFLINE and not is_cached(repo_id, filename, revision):
        probe(repo_id, filename, revision)
    try:
        return Path(hf_hub_download(repo_id, filename, revision=revision, library_name="imggen",
                                    library_version=__version__))
    except FETCH_ERRORS as exc:
        raise hub_failure(repo_id, revision, exc) from exc


def download_folder(repo_id: str, revision: str | None = None) -> Path:
    """Fetch config.json and model.safetensors of a Hub repo (through the HF cache); returns the folder."""
    config_cached = is_cached(repo_id, CONFIG_NAME, revision)
    download_file(repo_id, CONFIG_NAME, revision)
    # when config.json was just fetched the Hub answered a moment ago: no second probe for the weights
    return download_file(repo_id, WEIGHTS_NAME, revision, fail_fast=config_cached).parent


def cached_fix(path: Path) -> str:
    """What to do about a corrupt file in the HF cache: delete it (the blob behind the snapshot link) and reload."""
    blob = path.resolve()
    return f"delete the cached copy ({blob}) and load again to download it afresh"


def push_to_hub(model: torch.nn.Module, repo_id: str, *, private: bool | None = None, token: str | None = None,
                commit_message: str = "Upload imggen model", half: bool = False) -> str:
    """Save ``model`` with :func:`save_pretrained` into a temporary folder and upload it to ``repo_id``.

    Returns the commit URL. The repo is created if needed.
    """
    api = HfApi(token=token)
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_pretrained(model, Path(tmp) / "model", half=half, name=f"{HF_PREFIX}{repo_id}")
        try:
            api.create_repo(repo_id, private=private, exist_ok=True)
            info = api.upload_folder(repo_id=repo_id, folder_path=folder, commit_message=commit_message)
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
