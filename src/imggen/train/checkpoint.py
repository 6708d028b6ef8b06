"""Atomic, resumable training checkpoints: models, optimisers, EMA, step and every RNG state in one file."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from imggen.errors import ImggenError
from imggen.fileio import atomic_output


class CheckpointError(ImggenError):
    """A checkpoint that cannot be read (truncated, corrupt, not tensors) or written (disk full, read-only)."""


class CheckpointManager:
    """Writes ``last.pt`` in a run folder by temporary file, fsync and rename, so neither a crash nor a power loss
    leaves a torn checkpoint.

    Checkpoints are loaded with ``weights_only=True`` (no arbitrary pickles); shipped weights use safetensors.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / "last.pt"

    def exists(self) -> bool:
        return self.path.is_file()

    def save(self, state: dict[str, Any]) -> Path:
        """Write ``state`` atomically and durably; returns the checkpoint path."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            with atomic_output(self.path) as tmp, open(tmp, "wb") as fh:
                torch.save(state, fh)
                fh.flush()
                os.fsync(fh.fileno())
        except (OSError, RuntimeError) as exc:
            raise CheckpointError(f"could not write the checkpoint {self.path} ({exc}); is the disk full or the "
                                  "folder read-only? The previous checkpoint, if any, is unchanged") from exc
        return self.path

    def load(self, map_location: str | torch.device = "cpu") -> dict[str, Any]:
        """The last checkpoint, or a clear error if there is none, or it cannot be read."""
        if not self.exists():
            raise FileNotFoundError(
                f"nothing to resume: {self.path} does not exist; start without --resume or pass the run folder "
                "that holds last.pt"
            )
        try:
            return torch.load(self.path, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as exc:
            raise CheckpointError(f"{self.path} holds Python objects that are not tensors, so it was refused "
                                  "(imggen loads checkpoints with weights_only=True); use a checkpoint written by "
                                  "imggen") from exc
        except (RuntimeError, EOFError, zipfile.BadZipFile, OSError) as exc:
            raise CheckpointError(f"{self.path} is truncated or corrupt ({type(exc).__name__}); delete it to start "
                                  "over, or restore it from a copy") from exc


def rng_state(generator: torch.Generator) -> dict[str, torch.Tensor]:
    """Every random state a training step reads: torch's global CPU (and CUDA) RNGs and the trainer's own."""
    state = {"torch": torch.get_rng_state(), "trainer": generator.get_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def set_rng_state(generator: torch.Generator, state: dict[str, torch.Tensor]) -> None:
    """Restore what :func:`rng_state` saved."""
    torch.set_rng_state(state["torch"])
    generator.set_state(state["trainer"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])
