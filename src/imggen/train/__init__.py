"""The one training loop (:class:`Trainer`) and the tasks that families plug into it, built from named parts."""

from imggen.train.checkpoint import CheckpointError, CheckpointManager
from imggen.train.guard import DivergenceGuard, TrainingDivergedError
from imggen.train.interrupt import TrainingInterrupted
from imggen.train.loop import Trainer, create_trainer
from imggen.train.run_folder import RunFolderError
from imggen.train.tasks import AdversarialTask, ClassifierTask, ObjectiveTask, Task

__all__ = ["AdversarialTask", "CheckpointError", "CheckpointManager", "ClassifierTask", "DivergenceGuard",
           "ObjectiveTask", "RunFolderError", "Task", "Trainer", "TrainingDivergedError", "TrainingInterrupted",
           "create_trainer"]
