"""Atomic, resumable training checkpoints: models, optimisers, EMA, step and every RNG state in one file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from imggen.fileio import atomic_output


class CheckpointManager:
    """Writes ``last.pt`` in a run folder by temporary file + rename, so a crash never leaves a torn checkpoint.

    Checkpoints are loaded with ``weights_only=True`` (no arbitrary pickles); shipped weights use safetensors.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)
        self.path = self.folder / "last.pt"

    def exists(self) -> bool:
        return self.path.is_file()

    def save(self, state: dict[str, Any]) -> Path:
        """Write ``state`` atomically and return the checkpoint path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with atomic_output(self.path) as tmp:
            torch.save(state, tmp)
        return self.path

    def load(self, map_location: str | torch.device = "cpu") -> dict[str, Any]:
        """The last checkpoint, or a clear error if there is none to resume from."""
        if not self.exists():
            raise FileNotFoundError(
                f"nothing to resume: {self.path} does not exist; start without --resume or pass the run folder "
                "that holds last.pt"
            )
        return torch.load(self.path, map_location=map_location, weights_only=True)


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
