"""Pretrained weight descriptions: where a weight lives and how to check it, kept as data (like timm's cfgs)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PretrainedCfg:
    """One pretrained weight of an architecture.

    Exactly one of ``file`` (a folder bundled in ``imggen/weights`` or an absolute path), ``hf_hub_id``
    (``org/repo`` or ``org/repo@revision``) or ``url`` says where the weights live; ``sha256`` is the hash of
    the ``model.safetensors`` file and is checked on every load. ``meta`` holds what is known without loading
    (recipe, data, metrics); for bundled folders it is merged with the folder's ``config.json`` ``meta``.
    """

    tag: str
    sha256: str
    file: str | None = None
    hf_hub_id: str | None = None
    url: str | None = None
    license: str = "MIT"
    description: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        sources = [s for s in (self.file, self.hf_hub_id, self.url) if s]
        if len(sources) != 1:
            raise ValueError(
                f"pretrained tag {self.tag!r} must name exactly one of file, hf_hub_id or url (got {sources})"
            )
        if len(self.sha256) != 64:
            raise ValueError(f"pretrained tag {self.tag!r}: sha256 must be 64 hex digits, got {self.sha256!r}")

    @property
    def source(self) -> str:
        """A short human description of where the weights come from."""
        if self.file:
            return f"bundled:{self.file}"
        if self.hf_hub_id:
            return f"hf-hub:{self.hf_hub_id}"
        return str(self.url)
