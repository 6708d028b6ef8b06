"""Pretrained weight descriptions: where a weight lives and how to check it, kept as data (like timm's cfgs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

#: the Hub organisation imggen's own weights are published under, one repo per ``arch.tag`` (as timm does)
HUB_ORG = "imggen"
#: the git tag ``scripts/publish_hub.py`` creates on the commit it uploads; pinned by every built-in weight
HUB_REVISION = "v1"


@dataclass(frozen=True)
class PretrainedCfg:
    """One pretrained weight of an architecture.

    ``hf_hub_id`` (``org/repo``, or ``org/repo@revision``) and ``revision`` say where the weight lives on the
    Hub; ``file`` names a copy bundled in ``imggen/weights`` (used when the package holds it, the Hub otherwise)
    or an absolute path to a local folder; ``url`` is a plain download. At least one is needed. ``sha256`` is the
    full hash of the ``model.safetensors`` file and is checked on every load, wherever it came from. ``meta``
    holds what is known without loading (recipe, data, metrics); it is merged with the weight's ``config.json``
    ``meta`` (from the bundled folder, or from the package's index of Hub-only weights). ``model_args`` are the
    constructor arguments this weight needs beyond the architecture's registered defaults (as timm's pretrained
    configs carry ``num_classes``): a variant such as a generator with latent modes loads under the same name, and a
    caller's own keyword arguments still win.
    """

    tag: str
    sha256: str
    file: str | None = None
    hf_hub_id: str | None = None
    revision: str | None = None
    url: str | None = None
    license: str = "MIT"
    description: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    model_args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (self.file or self.hf_hub_id or self.url):
            raise ValueError(f"pretrained tag {self.tag!r} must name where it lives: hf_hub_id (with a pinned "
                             "revision), file or url")
        if self.revision and self.hf_hub_id and "@" in self.hf_hub_id:
            raise ValueError(f"pretrained tag {self.tag!r} pins its revision twice ({self.hf_hub_id!r} and "
                             f"revision={self.revision!r}); keep one")
        if len(self.sha256) != 64:
            raise ValueError(f"pretrained tag {self.tag!r}: sha256 must be 64 hex digits, got {self.sha256!r}")

    @property
    def hub_repo(self) -> tuple[str, str | None] | None:
        """``(repo_id, revision)`` on the Hub, or ``None`` when the weight does not live there."""
        if not self.hf_hub_id:
            return None
        repo_id, _, revision = self.hf_hub_id.partition("@")
        return repo_id, self.revision or revision or None

    @property
    def source(self) -> str:
        """A short human description of where the weights come from."""
        if self.hub_repo:
            repo_id, revision = self.hub_repo
            return f"hf-hub:{repo_id}" + (f"@{revision}" if revision else "")
        if self.file:
            return f"bundled:{self.file}"
        return str(self.url)


def hub_weight(arch: str, tag: str, sha256: str, description: str = "", **kwargs: Any) -> PretrainedCfg:
    """A built-in weight: Hub repo ``imggen/<arch>.<tag>`` at the pinned :data:`HUB_REVISION`, served from the
    package instead when the wheel bundles ``imggen/weights/<arch>.<tag>``.
    """
    return PretrainedCfg(tag=tag, sha256=sha256, file=f"{arch}.{tag}", hf_hub_id=f"{HUB_ORG}/{arch}.{tag}",
                         revision=HUB_REVISION, description=description, **kwargs)


def hub_weights(arch: str, listed: Sequence[tuple[str, str, str] | tuple[str, str, str, dict[str, Any]]]
                ) -> list[PretrainedCfg]:
    """:func:`hub_weight` for each ``(tag, sha256, description)`` of a family file's table of shipped weights, in
    order (the default first); a fourth item holds the weight's ``model_args``."""
    return [hub_weight(arch, *entry[:3], model_args=dict(entry[3]) if len(entry) > 3 else {}) for entry in listed]
