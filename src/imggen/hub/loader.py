"""The one door for loading weights: resolve (bundled, local folder or file, Hub, URL) → verify → read config →
build → load.

``create_model`` describes where a weight lives as a :class:`Location` and calls :func:`load_model` once, passing
a function that builds the empty model from the folder's config; everything about files, hashes and downloads
happens here, below the registry.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from imggen.errors import ImggenError, WeightsError
from imggen.fileio import cache_dir
from imggen.hub.folder import (
    CONFIG_NAME,
    FIX_FOLDER,
    SHA256_KEY,
    WEIGHTS_NAME,
    check_fits,
    fit_state_dict,
    parse_config,
    parse_weights,
    read_config,
    read_folder,
    read_weights,
)
from imggen.hub.remote import cached_fix, download_folder

#: a bundled file cannot be fetched again: the package itself must be repaired
FIX_BUNDLED = ("it ships inside the installed imggen package, which is damaged or was modified; reinstall it "
               "(pip install --force-reinstall imggen) and do not write into the package's weights folder")


@dataclass(frozen=True)
class Location:
    """Where one weight lives, looked for in this order: a ``bundled`` copy in the package (used when present),
    a local ``path`` (folder or ``.safetensors`` file), a Hub ``repo_id`` at ``revision``, or a ``url``.

    ``sha256`` is the expected hash of the weights file; when it is ``None`` a folder's ``config.json`` supplies
    it (``save_pretrained`` records it), so every load that can be checked is.
    """

    bundled: Path | None = None
    path: Path | None = None
    repo_id: str | None = None
    revision: str | None = None
    url: str | None = None
    sha256: str | None = None

    @property
    def bundled_present(self) -> bool:
        """Whether the bundled copy is installed (a slim wheel may leave a tag to the Hub)."""
        return self.bundled is not None and (self.bundled / WEIGHTS_NAME).is_file()


@dataclass
class Weights:
    """Verified tensors with their sha256, the folder's config (``None`` for a bare file) and where they came from."""

    state: dict[str, torch.Tensor]
    sha256: str
    config: dict[str, Any] | None
    source: str


def _open_folder(folder: Path, sha256: str | None, *, fix: str, source: str, need_config: bool) -> Weights:
    if need_config:
        read_config(folder)  # a clear error for a folder that is not imggen's, before reading any weights
    config_bytes, data = read_folder(folder)
    config = parse_config(config_bytes, folder / CONFIG_NAME) if config_bytes is not None else None
    if need_config and config is None:
        read_config(folder)  # config.json vanished since: the same clear error
    expected = sha256 or (config or {}).get(SHA256_KEY)
    state, actual = parse_weights(data, folder / WEIGHTS_NAME, expected, fix=fix)
    return Weights(state, actual, config, source)


def _download_url(url: str, sha256: str | None) -> Path:
    target = cache_dir("url", f"{sha256 or 'unpinned'}.safetensors")
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(url, str(target), progress=False)
        except OSError as exc:
            raise WeightsError(f"could not download {url} ({exc}); check the connection or pass "
                               "checkpoint_path= with a local copy") from exc
    return target


def open_weights(location: Location, *, need_config: bool = False) -> Weights:
    """Resolve ``location``, then read and verify its weights (and config.json when there is one).

    ``need_config`` makes a missing config.json an error (a folder that must say which architecture it holds).
    """
    if location.bundled_present:
        assert location.bundled is not None
        return _open_folder(location.bundled, location.sha256, fix=FIX_BUNDLED,
                            source=f"bundled:{location.bundled.name}", need_config=need_config)
    if location.path is not None:
        path = Path(location.path)
        if path.is_dir():
            return _open_folder(path, location.sha256, fix=FIX_FOLDER, source=str(path), need_config=need_config)
        state, actual = read_weights(path, location.sha256, fix=FIX_FOLDER)
        return Weights(state, actual, None, str(path))
    if location.repo_id is not None:
        folder = download_folder(location.repo_id, location.revision)
        where = location.repo_id + (f"@{location.revision}" if location.revision else "")
        return _open_folder(folder, location.sha256, fix=cached_fix(folder / WEIGHTS_NAME),
                            source=f"hf-hub:{where}", need_config=need_config)
    if location.url is not None:
        target = _download_url(location.url, location.sha256)
        state, actual = read_weights(target, location.sha256, fix=f"delete {target} and load again")
        return Weights(state, actual, None, location.url)
    missing = location.bundled or "(none)"
    raise WeightsError(f"no weights at {missing}: the bundled copy is not installed and no Hub repo or URL is "
                       "named; give the PretrainedCfg an hf_hub_id")


def load_model(location: Location, build: Callable[[dict[str, Any] | None], torch.nn.Module], *,
               need_config: bool = False) -> tuple[torch.nn.Module, Weights]:
    """Resolve → verify → read config → ``build(config)`` → load strictly; returns the model and its weights."""
    weights = open_weights(location, need_config=need_config)
    with torch.device("meta"):  # first without memory: arguments that do not fit the file allocate nothing
        probe = built(build, weights)
    check_fits(probe, weights.state, weights.source)
    model = built(build, weights)
    fit_state_dict(model, weights.state, weights.source)
    return model, weights


def built(build: Callable[[dict[str, Any] | None], torch.nn.Module], weights: Weights) -> torch.nn.Module:
    """``build(config)``, with a config whose arguments cannot build the model reported as such."""
    try:
        return build(weights.config)
    except (TypeError, ValueError, RuntimeError, OverflowError) as exc:
        if isinstance(exc, ImggenError):
            raise
        raise WeightsError(f"the config of {weights.source} does not build its model: {type(exc).__name__}: "
                           f"{exc}. Re-save or re-download the folder") from exc


def local_location(path: str | os.PathLike[str], sha256: str | None = None) -> Location:
    """A :class:`Location` for a local folder or safetensors file."""
    return Location(path=Path(path), sha256=sha256)
