"""Moving the Hugging Face cache to an air-gapped machine: pack the cached repos into one archive, unpack it there.

The archive holds the cache's own layout (``models--org--repo/{blobs,refs,snapshots}``), so after an import
``hf_hub_download`` — and so ``create_model`` with ``HF_HUB_OFFLINE=1`` — finds the files as if downloaded there.
"""

from __future__ import annotations

import os
import tarfile
from collections.abc import Iterable
from pathlib import Path

from huggingface_hub import constants as hf_constants

from imggen.errors import HubError
from imggen.fileio import atomic_output


def repo_folder(repo_id: str) -> str:
    """The cache folder name of a model repo (``org/name`` → ``models--org--name``)."""
    return "models--" + repo_id.replace("/", "--")


def export_cache(file: str | os.PathLike[str], repo_ids: Iterable[str]) -> list[str]:
    """Write the cached files of ``repo_ids`` (those that are cached) into the tar.gz ``file``; returns them."""
    root = Path(hf_constants.HF_HUB_CACHE)
    found = sorted(r for r in set(repo_ids) if (root / repo_folder(r)).is_dir())
    if not found:
        raise HubError(f"nothing to export: none of the weights is in the Hugging Face cache at {root}; fetch "
                       "them first with `imggen download PATTERN`")
    with atomic_output(file) as tmp, tarfile.open(tmp, "w:gz") as archive:
        for repo_id in found:
            archive.add(root / repo_folder(repo_id), arcname=repo_folder(repo_id))  # links stay links
    return found


def import_cache(file: str | os.PathLike[str]) -> list[str]:
    """Unpack an archive made by :func:`export_cache` into this machine's Hugging Face cache; returns the repos."""
    root = Path(hf_constants.HF_HUB_CACHE)
    try:
        archive = tarfile.open(file, "r:*")  # noqa: SIM115 - closed by the with block below
    except (OSError, tarfile.TarError) as exc:
        raise HubError(f"{str(file)!r} is not a cache archive made by `imggen cache export` ({exc})") from exc
    with archive:
        members = archive.getmembers()
        tops = {Path(m.name).parts[0] for m in members if m.name}
        bad = [m.name for m in members if not m.name.startswith("models--") or ".." in Path(m.name).parts]
        if bad or not tops:
            raise HubError(f"{str(file)!r} holds {bad[:3] or 'nothing'}, not Hugging Face cache folders; "
                           "make the archive with `imggen cache export FILE`")
        root.mkdir(parents=True, exist_ok=True)
        archive.extractall(root, filter="data")  # refuses absolute paths and links out of the cache
    return sorted(t.removeprefix("models--").replace("--", "/", 1) for t in tops)
