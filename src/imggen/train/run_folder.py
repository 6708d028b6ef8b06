"""A run folder owned by one run at a time: a lock naming its owner, checks before training starts, no stale
temporary files, and a log without duplicate records after a resume."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from imggen.errors import ImggenError

LOCK_NAME, OWNER_NAME, LOG_NAME = ".lock", ".owner.json", "log.jsonl"
# settings a resumed run may change without being told: where and how often it reports, and where it runs
RESUMABLE_CHANGES = {"progress", "log_every", "checkpoint_every", "sample_every", "eval_every", "eval_n", "eval_args",
                     "device", "threads", "compile", "cuda_graphs", "data_root", "out"}


class RunFolderError(ImggenError):
    """The run folder cannot be used: owned by another run, not writable, full, or holding another configuration."""


class RunFolder:
    """The folder a run writes to. :meth:`acquire` takes its lock (another run writing there is an error naming that
    process), checks that it is writable with ``min_free_bytes`` free, and removes temporary files a killed write left.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self._lock = FileLock(self.folder / LOCK_NAME, timeout=0)

    def acquire(self, min_free_bytes: int) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            probe = self.folder / ".write-probe"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise RunFolderError(f"cannot write to the run folder {str(self.folder)!r} ({exc.strerror or exc}); "
                                 "choose a writable --out") from exc
        try:
            self._lock.acquire()
        except Timeout:
            raise RunFolderError(f"the run folder {str(self.folder)!r} is in use by another run ({self.owner()}); "
                                 "wait for it to finish, stop it, or choose another --out") from None
        (self.folder / OWNER_NAME).write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname()}))
        free = shutil.disk_usage(self.folder).free
        if free < min_free_bytes:
            self.release()
            raise RunFolderError(f"only {free / 2**20:.0f} MiB free where the run writes ({self.folder}); its "
                                 f"checkpoints need about {min_free_bytes / 2**20:.0f} MiB: free space or choose "
                                 "another --out")
        for stale in self.folder.glob(".*.tmp"):  # a write killed before its rename
            stale.unlink(missing_ok=True)

    def owner(self) -> str:
        try:
            owner = json.loads((self.folder / OWNER_NAME).read_text())
            return f"process {owner['pid']} on {owner['host']}"
        except (OSError, ValueError, KeyError):
            return "owner unknown"

    def release(self) -> None:
        if self._lock.is_locked:
            (self.folder / OWNER_NAME).unlink(missing_ok=True)
            self._lock.release()

    def trim_log(self, step: int) -> None:
        """Drop log records written after ``step`` (the checkpoint a resume starts from): they are written again."""
        log = self.folder / LOG_NAME
        if not log.is_file():
            return
        kept = [line for line in log.read_text().splitlines() if line.strip() and json.loads(line)["step"] <= step]
        log.write_text("".join(f"{line}\n" for line in kept))


def check_resumable(saved: dict[str, Any], current: dict[str, Any], allow: set[str],
                    defaults: dict[str, Any] | None = None) -> None:
    """Raise :class:`RunFolderError` if the checkpoint's configuration ``saved`` differs from ``current`` in a key
    that changes what is trained (listing them), unless ``allow`` names it. A setting newer than the checkpoint
    (absent from ``saved``) at its value in ``defaults`` is no change: the run was trained that way."""
    now = json.loads(json.dumps(current, default=str))
    known = json.loads(json.dumps(defaults or {}, default=str))
    changed = sorted(k for k in set(saved) | set(now)
                     if saved.get(k) != now.get(k) and k not in RESUMABLE_CHANGES and k not in allow
                     and not (k not in saved and k in known and now.get(k) == known[k]))
    if changed:
        lines = ", ".join(f"{k}: {saved.get(k)!r} -> {now.get(k)!r}" for k in changed)
        raise RunFolderError(f"cannot resume: the run's configuration changed ({lines}). Start a new run in another "
                             f"--out, or allow the change with resume_changes={changed} (--allow-change on the CLI)")
