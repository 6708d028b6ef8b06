"""Small file helpers used everywhere: atomic writes, hashing and output-path checks."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in chunks so large weights do not sit in memory twice."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_parent_dir(path: str | os.PathLike[str]) -> Path:
    """``path`` as a Path whose directory exists, or a ``FileNotFoundError`` saying how to fix it."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(
            f"cannot write {str(path)!r}: directory {str(parent)!r} does not exist; "
            f"create it first (mkdir -p {parent}) or choose another output path"
        )
    return path


def _umask() -> int:
    """The process umask (reading it requires setting it, so it is set straight back)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    Readers never see a half-written file, and a crash leaves the previous file untouched.
    """
    path = check_parent_dir(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a finished file gets the usual permissions
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); ``False`` if unsupported."""
    if sys.platform != "linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    # non-zero: e.g. a file system without RENAME_EXCHANGE; the caller falls back to two renames
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``path``; swap it in as ``path`` only if the block succeeds.

    Why: a reader of a weights folder must never see the new weights with the old config (or half of either).
    On Linux an existing ``path`` and the new folder are exchanged in one atomic step; elsewhere the old folder is
    renamed aside and the new one renamed in, so for an instant a reader may find no folder, but never a mix.
    A crash inside the block leaves ``path`` as it was.
    """
    path = check_parent_dir(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; a finished folder gets the usual permissions
        if not path.exists():
            os.replace(tmp, path)
        elif _exchange(tmp, path):
            shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the previous folder
        else:
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".old", dir=path.parent))
            os.replace(path, old / path.name)
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old / path.name, path)  # put the previous folder back
                raise
            finally:
                shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def cache_dir(*parts: str) -> Path:
    """imggen's cache folder (``$IMGGEN_CACHE``, else ``$XDG_CACHE_HOME/imggen`` or ``~/.cache/imggen``)."""
    root = os.environ.get("IMGGEN_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    ) / "imggen"
    return Path(root).joinpath(*parts)


PACKAGE_DIR = Path(__file__).resolve().parent  # the installed imggen package: never written by a run


def export_folder(folder: str | os.PathLike[str] | None, out: str | os.PathLike[str],
                  default: str = "weights") -> Path:
    """Where a run exports its weights: a relative ``folder`` (or ``default``) under the run's ``out`` folder,
    an absolute one as given, never inside the installed package.

    Why: a recipe's ``[export] folder`` used to be relative to the current directory, so running a recipe from
    the repository root overwrote the shipped weights. Putting a weight into the package is a maintainer's step
    (``scripts/export_to_package.py``), never a side effect of training.
    """
    path = Path(folder) if folder is not None else Path(default)
    target = (path if path.is_absolute() else Path(out) / path).resolve()
    if target == PACKAGE_DIR or PACKAGE_DIR in target.parents:
        raise ValueError(
            f"refusing to export into the installed imggen package ({target}); export under the run's --out "
            "folder, then copy a weight into the package with scripts/export_to_package.py (maintainers)"
        )
    return target
