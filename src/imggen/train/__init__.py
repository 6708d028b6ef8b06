"""The one training loop (:class:`Trainer`) and the tasks that families plug into it, built from named parts."""

from imggen.train.checkpoint import CheckpointManager
from imggen.train.loop import Trainer, TrainingDivergedError, create_trainer
from imggen.train.tasks import AdversarialTask, ClassifierTask, ObjectiveTask, Task

__all__ = ["AdversarialTask", "CheckpointManager", "ClassifierTask", "ObjectiveTask", "Task", "Trainer",
           "TrainingDivergedError", "create_trainer"]
