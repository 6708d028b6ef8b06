"""One ``Registry`` per kind (generators, discriminators, losses, trainers, ...).

Built-ins register with a decorator beside their code; third-party packages declare entry points in the
group ``imggen.<kind>``. Both end up as the same :class:`Entry`. Entry points are listed by name without being
imported; a plugin module is imported only when one of its names is built or its metadata is asked for. The built-in
modules of a kind are imported the same way, on the first lookup, so ``import imggen`` (and ``imggen --help``) stays
light.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import inspect
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from imggen.errors import ContractError, DuplicateNameError, PluginLoadError, UnknownNameError
from imggen.registry.pretrained import PretrainedCfg

BUILTIN_SOURCE = "imggen"


@dataclass(frozen=True)
class Contract:
    """What every entry of a kind must have: ``methods`` (all of them), ``any_of`` (at least one) and constructor
    keyword arguments ``kwargs``; ``what`` says in words what such an entry is, for the error message."""

    methods: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    kwargs: tuple[str, ...] = ()
    what: str = ""
    #: a second complete set of methods that meets the contract instead of ``methods`` (a kind with two shapes:
    #: generators sample, super-resolution models upscale)
    or_methods: tuple[str, ...] = ()

    def problems(self, obj: Any, accepted_kwargs: list[str] | None) -> list[str]:
        """What ``obj`` (a class, a function or a built instance) lacks; empty when it meets the contract.

        A factory function says nothing about what it builds, so only its keyword arguments are checked until it
        has built something."""
        lacks = []
        if inspect.isclass(obj) or not inspect.isfunction(obj):
            lacks += [f"method {m}()" for m in self.methods if not callable(getattr(obj, m, None))]
            if lacks and self.or_methods:
                if all(callable(getattr(obj, m, None)) for m in self.or_methods):
                    lacks = []
                else:
                    lacks[-1] += f" (or else {', '.join(m + '()' for m in self.or_methods)})"
            if self.any_of and not any(callable(getattr(obj, m, None)) for m in self.any_of):
                lacks.append(f"one of the methods {', '.join(m + '()' for m in self.any_of)}")
        if accepted_kwargs is not None:
            lacks += [f"constructor argument {k}=" for k in self.kwargs if k not in accepted_kwargs]
        return lacks


@dataclass(frozen=True)
class Entry:
    """A registered name: its factory, default arguments, pretrained weights and where it came from."""

    name: str
    factory: Callable[..., Any]
    source: str
    defaults: dict[str, Any] = field(default_factory=dict)
    pretrained_cfgs: tuple[PretrainedCfg, ...] = ()
    description: str = ""
    #: for generators trained adversarially: the registered discriminator they pair with (declared, never guessed)
    discriminator: str | None = None

    @property
    def default_tag(self) -> str | None:
        """The tag used when a name has no ``.tag`` suffix: the first pretrained weight listed."""
        return self.pretrained_cfgs[0].tag if self.pretrained_cfgs else None

    def pretrained_cfg(self, tag: str | None) -> PretrainedCfg:
        """The weight for ``tag`` (``None`` means the default tag), or a clear error listing the tags."""
        tag = tag or self.default_tag
        for cfg in self.pretrained_cfgs:
            if cfg.tag == tag:
                return cfg
        tags = ", ".join(c.tag for c in self.pretrained_cfgs) or "none"
        raise UnknownNameError(f"{self.name!r} has no pretrained tag {tag!r}; its tags are: {tags}")

    def accepted_kwargs(self) -> list[str] | None:
        """Keyword arguments the factory takes, or ``None`` when it takes any (``**kwargs``)."""
        params = inspect.signature(self.factory).parameters.values()
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
            return None
        return [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]

    def resolve_args(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Defaults merged with ``kwargs``, checked against the factory's signature, all defaults filled in."""
        accepted = self.accepted_kwargs()
        args = {**self.defaults, **kwargs}
        if accepted is not None:
            unknown = sorted(set(args) - set(accepted))
            if unknown:
                raise TypeError(
                    f"{self.name!r} got unexpected argument(s) {', '.join(unknown)}; "
                    f"it accepts: {', '.join(accepted) or 'no arguments'}"
                )
            bound = inspect.signature(self.factory).bind_partial(**args)
            bound.apply_defaults()
            args = dict(bound.arguments)
        return args


def _entry_from_object(name: str, obj: Any, source: str) -> Entry:
    """An :class:`Entry` for an entry point's object: a factory, optionally carrying imggen metadata.

    Plugins attach metadata with :func:`imggen.registry.spec` (``pretrained_cfgs``, ``defaults``,
    ``description``); without it the docstring's first line is the description.
    """
    if not callable(obj):
        raise TypeError(f"entry point {name!r} from {source} is not callable (got {type(obj).__name__})")
    doc = (inspect.getdoc(obj) or "").strip().splitlines()
    return Entry(
        name=name,
        factory=obj,
        source=source,
        defaults=dict(getattr(obj, "imggen_defaults", {})),
        pretrained_cfgs=tuple(getattr(obj, "imggen_pretrained_cfgs", ())),
        description=getattr(obj, "imggen_description", None) or (doc[0] if doc else ""),
        discriminator=getattr(obj, "imggen_discriminator", None),
    )


def spec(
    *, pretrained: Iterable[PretrainedCfg] = (), defaults: dict[str, Any] | None = None, description: str = "",
    discriminator: str | None = None,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Attach imggen metadata to a factory, for plugins that register through entry points (``discriminator``: the
    registered discriminator a generator pairs with in adversarial training)."""

    def attach(obj: Callable[..., Any]) -> Callable[..., Any]:
        obj.imggen_pretrained_cfgs = tuple(pretrained)
        obj.imggen_defaults = dict(defaults or {})
        obj.imggen_description = description
        obj.imggen_discriminator = discriminator
        return obj

    return attach


def _dist_name(ep: EntryPoint) -> str:
    dist = getattr(ep, "dist", None)
    return dist.name if dist is not None else "unknown distribution"


def _ep_source(ep: EntryPoint) -> str:
    """How an entry point is named in messages and in :attr:`Entry.source`: ``"dist (module:attr)"``."""
    return f"{_dist_name(ep)} ({ep.value})"


def _where(entry: Entry) -> str:
    """Where an entry comes from, for messages: a built-in also names its module and factory."""
    if entry.source != BUILTIN_SOURCE:
        return entry.source
    factory = entry.factory
    return f"{entry.source} ({factory.__module__}:{getattr(factory, '__qualname__', repr(factory))})"


def _mark_registered(entry: Entry, kind: str) -> None:
    """Record on a registered class the kind and first name it was registered under, so that an instance built
    directly (not through ``create_*``) can still be saved and rebuilt by name."""
    if inspect.isclass(entry.factory) and "imggen_registered" not in entry.factory.__dict__:
        entry.factory.imggen_registered = (kind, entry.name)


class Registry:
    """Names to factories for one kind, filled by built-in decorators and by entry-point plugins."""

    def __init__(self, kind: str, group: str | None = None, lister: str | None = None,
                 contract: Contract | None = None, builtins: Iterable[str] = ()) -> None:
        self.kind = kind
        self.group = group or f"imggen.{kind}"
        self.lister = lister or f"imggen.list_{kind}()"
        self.contract = contract or Contract()
        self._builtins = tuple(builtins)  # modules whose import registers the built-ins, imported on first lookup
        self._entries: dict[str, Entry] = {}
        self._plugins: dict[str, list[EntryPoint]] | None = None
        self._failed: dict[str, str] = {}

    # -- registration -------------------------------------------------------------------------------
    def register(
        self,
        name: str,
        *,
        pretrained: Iterable[PretrainedCfg] = (),
        defaults: dict[str, Any] | None = None,
        description: str | None = None,
        discriminator: str | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator registering a built-in factory (a class or function) under ``name``; ``discriminator`` declares
        the registered discriminator a generator pairs with in adversarial training."""

        def add(factory: Callable[..., Any]) -> Callable[..., Any]:
            doc = (inspect.getdoc(factory) or "").strip().splitlines()
            self.add(
                Entry(
                    name=name,
                    factory=factory,
                    source=BUILTIN_SOURCE,
                    defaults=dict(defaults or {}),
                    pretrained_cfgs=tuple(pretrained),
                    description=description or (doc[0] if doc else ""),
                    discriminator=discriminator,
                )
            )
            return factory

        return add

    @property
    def singular(self) -> str:
        """The kind in the singular, as messages name it (``"generator"``, ``"loss"``, ``"feature_extractor"``)."""
        return self.kind[:-2] if self.kind.endswith("sses") else self.kind.removesuffix("s")

    def check_contract(self, entry: Entry, built: Any = None) -> None:
        """Raise :class:`ContractError` naming the entry, where it comes from and what it lacks, when ``entry`` (or
        the object it ``built``) does not meet this kind's contract."""
        lacks = self.contract.problems(entry.factory if built is None else built, entry.accepted_kwargs())
        if lacks:
            raise ContractError(
                f"{self.singular} {entry.name!r} from {_where(entry)} does not meet the {self.kind} contract: it "
                f"lacks {'; '.join(lacks)}. It must be {self.contract.what}"
            )

    def add(self, entry: Entry) -> None:
        """Add an entry, checked against the kind's contract; a name already taken is an error naming both."""
        self.check_contract(entry)
        if entry.name in self._entries:
            raise DuplicateNameError(
                f"{self.kind} {entry.name!r} is registered twice: by {_where(self._entries[entry.name])} "
                f"and by {_where(entry)}; rename one of them"
            )
        self._entries[entry.name] = entry
        _mark_registered(entry, self.kind)

    def _load_builtins(self) -> None:
        """Import the built-in modules once (their decorators call :meth:`register`); later calls do nothing."""
        builtins, self._builtins = self._builtins, ()  # cleared first: the imports call back into this registry
        for module in builtins:
            importlib.import_module(module)

    # -- plugins ------------------------------------------------------------------------------------
    def _plugin_points(self) -> dict[str, list[EntryPoint]]:
        """Entry points of this registry's group by name, read from installed metadata (not imported)."""
        if self._plugins is None:
            found: dict[str, list[EntryPoint]] = {}
            for ep in entry_points(group=self.group):
                found.setdefault(ep.name, []).append(ep)
            self._plugins = found
        return self._plugins

    def refresh(self) -> None:
        """Forget discovered entry points (after installing a plugin in a running process)."""
        self._plugins = None
        self._failed.clear()
        self._entries = {n: e for n, e in self._entries.items() if e.source == BUILTIN_SOURCE}

    def _load_plugin(self, name: str) -> Entry | None:
        points = self._plugin_points().get(name, [])
        sources = [_ep_source(ep) for ep in points]
        loaded = self._entries.get(name)
        if loaded is not None and sources == [loaded.source]:
            return loaded  # this very entry point, imported by an earlier call
        if name in self._entries and points:
            raise DuplicateNameError(
                f"{self.kind} {name!r} is registered twice: by {_where(self._entries[name])} and by "
                f"{' and '.join(sources)}; uninstall or rename one of them"
            )
        if len(points) > 1:
            raise DuplicateNameError(
                f"{self.kind} {name!r} is registered twice: by {' and by '.join(sources)}; "
                "uninstall or rename one of them"
            )
        if not points or name in self._failed:
            return None
        ep = points[0]
        try:
            obj = ep.load()
            entry = _entry_from_object(name, obj, _ep_source(ep))
        except Exception as exc:  # a broken plugin must not take the rest down
            msg = (
                f"imggen plugin {_dist_name(ep)!r} entry point {name!r} ({ep.value}) in group "
                f"{self.group!r} failed to load: {type(exc).__name__}: {exc}"
            )
            self._failed[name] = msg
            warnings.warn(msg, RuntimeWarning, stacklevel=3)
            return None
        self.check_contract(entry)  # a plugin that loads but does not fit is an error of its own, not a warning
        self._entries[name] = entry
        _mark_registered(entry, self.kind)
        return entry

    # -- lookup -------------------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Every known name, built-in and plugin, without importing any plugin."""
        self._load_builtins()
        return sorted(set(self._entries) | set(self._plugin_points()))

    def __contains__(self, name: str) -> bool:
        self._load_builtins()
        return name in self._entries or name in self._plugin_points()

    def get(self, name: str) -> Entry:
        """The entry for ``name``, importing its plugin if needed; unknown names get did-you-mean hints."""
        self._load_builtins()
        if name in self._plugin_points():
            entry = self._load_plugin(name)
            if entry is not None:
                return entry
            if name in self._failed:
                raise PluginLoadError(self._failed[name])
        if name in self._entries:
            return self._entries[name]
        close = difflib.get_close_matches(name, self.names(), n=3, cutoff=0.6)
        hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
        raise UnknownNameError(
            f"unknown {self.singular} {name!r}{hint}; "
            f"see {self.lister} for the {len(self.names())} available names"
        )

    def list(self, filter: str | Iterable[str] = "*", pretrained: bool = False) -> list[str]:
        """Names matching shell wildcard(s); with ``pretrained`` one ``name.tag`` per weight instead."""
        patterns = [filter] if isinstance(filter, str) else list(filter)
        names = [n for n in self.names() if any(fnmatch.fnmatchcase(n, p) for p in patterns)]
        if not pretrained:
            return names
        out = []
        for name in names:
            try:
                entry = self.get(name)
            except (PluginLoadError, DuplicateNameError):
                continue
            out += [f"{name}.{cfg.tag}" for cfg in entry.pretrained_cfgs]
        return out

    def with_pretrained(self) -> list[str]:
        """Names that have at least one pretrained weight (for error messages)."""
        return sorted({n.split(".", 1)[0] for n in self.list(pretrained=True)})
