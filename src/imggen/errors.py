"""Exceptions raised by imggen; each message says what was wrong and how to fix it."""


class ImggenError(Exception):
    """Base class of every error imggen raises on purpose."""


class UnknownNameError(ImggenError, KeyError):
    """A registry name (or pretrained tag) that does not exist."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(ImggenError):
    """Two sources registered the same name in one registry."""


class PluginLoadError(ImggenError):
    """A plugin's entry point could not be imported."""


class ContractError(ImggenError, TypeError):
    """A registered component (often a plugin's) lacks a method or argument its kind's contract requires."""


class WeightsError(ImggenError):
    """Weights that are missing, corrupt, of the wrong hash, or do not fit the model."""


class HubError(ImggenError):
    """The Hugging Face Hub could not be reached, or had nothing cached while offline."""
