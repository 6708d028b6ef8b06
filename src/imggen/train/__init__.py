"""Trainers built from named parts (loss, penalties, augmentation, EMA, checkpoints), registered by name."""

from imggen.train.checkpoint import CheckpointManager
from imggen.train.gan import GANTrainer, TrainingDivergedError

__all__ = ["CheckpointManager", "GANTrainer", "TrainingDivergedError"]
