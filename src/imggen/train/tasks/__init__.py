"""Training tasks, one per way a family learns: adversarial, objective (the model's own loss) and classifier."""

from imggen.train.tasks.adversarial import AdversarialTask
from imggen.train.tasks.base import Task
from imggen.train.tasks.classifier import ClassifierTask
from imggen.train.tasks.objective import ObjectiveTask

__all__ = ["AdversarialTask", "ClassifierTask", "ObjectiveTask", "Task"]
