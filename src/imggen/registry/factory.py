"""The one door: ``create_*`` builds a registered component, optionally with pretrained weights;
``list_*`` and ``model_info`` describe what is available without building anything heavy.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
from importlib.resources import files
from pathlib import Path
from typing import Any

import torch
from torch import nn

from imggen import hub
from imggen.errors import WeightsError
from imggen.registry.kinds import REGISTRIES, registry_for
from imggen.registry.pretrained import PretrainedCfg
from imggen.registry.registry import Entry, Registry

#: the package file holding the config.json of every built-in weight (written by scripts/publish_hub.py --index)
HUB_INDEX = "hub-index.json"


RUN_EXPORT = "weights"  # where a training run's folder keeps its exported weights (imggen.train.recipe)


def split_name(name: str) -> tuple[str, str | None]:
    """``"arch.tag"`` → ``("arch", "tag")``; ``"arch"`` → ``("arch", None)``."""
    arch, _, tag = name.partition(".")
    return arch, tag or None


def bundled_folder(cfg: PretrainedCfg) -> Path:
    """The folder of a bundled (or absolute-path) weight; a slim install may not hold it (see :func:`location`)."""
    if os.path.isabs(cfg.file):
        return Path(cfg.file)
    return Path(str(files("imggen").joinpath("weights", cfg.file)))


def location(cfg: PretrainedCfg) -> hub.Location:
    """Where the weights I/O looks for a pretrained weight: the bundled copy, a local folder, the Hub, a URL."""
    local = bundled_folder(cfg) if cfg.file else None
    repo_id, revision = cfg.hub_repo or (None, None)
    absolute = local is not None and os.path.isabs(cfg.file)
    return hub.Location(bundled=None if absolute else local, path=local if absolute else None, repo_id=repo_id,
                        revision=revision, url=cfg.url, sha256=cfg.sha256)


@functools.cache
def hub_index() -> dict[str, Any]:
    """The config.json of every built-in Hub weight, by repo id, so metadata needs no download (see HUB_INDEX)."""
    path = Path(str(files("imggen").joinpath("weights", HUB_INDEX)))
    return json.loads(path.read_text()) if path.is_file() else {}


def pretrained_meta(cfg: PretrainedCfg) -> dict[str, Any]:
    """What is recorded about a weight: the cfg's ``meta`` over its config.json ``meta`` (bundled folder, else
    the package's index of Hub weights)."""
    config_path = bundled_folder(cfg) / hub.CONFIG_NAME if cfg.file else None
    if config_path is not None and config_path.is_file():
        config = json.loads(config_path.read_text())
    else:
        config = hub_index().get(cfg.hub_repo[0], {}) if cfg.hub_repo else {}
    return {**config.get("meta", {}), **cfg.meta}


def _attach(model: nn.Module, kind: str, arch: str, args: dict[str, Any], **provenance: Any) -> nn.Module:
    """Record how the model was built, so save_pretrained and PNG provenance can say so."""
    model.imggen_cfg = {"architecture": arch, "kind": kind, "args": json.loads(json.dumps(args))}
    model.pretrained_tag = provenance.get("tag")
    model.weights_sha256 = provenance.get("sha256")
    return model


def _no_weights_error(registry: Registry, arch: str) -> WeightsError:
    have = registry.with_pretrained()
    return WeightsError(
        f"{registry.singular} {arch!r} has no pretrained weights; names with weights: "
        f"{', '.join(have) or 'none yet'} (see {registry.lister.replace('()', '(pretrained=True)')})"
    )


def _create(kind: str, name: str | os.PathLike[str], pretrained: bool,
            checkpoint_path: str | os.PathLike[str] | None, kwargs: dict[str, Any]) -> Any:
    registry = registry_for(kind)
    name = os.fspath(name)  # a pathlib.Path to a saved folder works like its string
    if name.startswith(hub.HF_PREFIX):
        repo_id, revision = hub.parse_hub_id(name)
        return _from_saved(registry, hub.Location(repo_id=repo_id, revision=revision), kwargs, name)
    arch, tag = split_name(name)
    if ("/" in name or os.sep in name or name.startswith(("~", "."))) and not os.path.isdir(name):
        raise WeightsError(f"no folder {name!r}: pass a registered name (see {registry.lister}), a folder saved with "
                           "save_pretrained, or hf-hub:org/repo for a Hub repo")
    if os.path.isdir(name) and arch not in registry:  # a registered name wins over a same-named folder
        exported = Path(name) / RUN_EXPORT
        if not (Path(name) / hub.CONFIG_NAME).is_file() and (exported / hub.CONFIG_NAME).is_file():
            name = str(exported)  # a training run's folder: the weights it exported
        return _from_saved(registry, hub.local_location(name), kwargs, name)
    entry = registry.get(arch)
    cfg = None
    if pretrained or tag:
        if not entry.pretrained_cfgs:
            raise _no_weights_error(registry, arch)
        cfg = entry.pretrained_cfg(tag)
    args = entry.resolve_args({**(cfg.model_args if cfg is not None else {}), **kwargs})
    if cfg is None and checkpoint_path is None:
        obj = built_checked(registry, entry, args)
        return _attach(obj, kind, arch, args) if isinstance(obj, nn.Module) else obj
    where = hub.local_location(checkpoint_path) if checkpoint_path is not None else location(cfg)
    model, weights = hub.load_model(where, lambda _config: built_checked(registry, entry, args))
    if checkpoint_path is not None:
        return _attach(model, kind, arch, args, sha256=weights.sha256)
    model = _attach(model, kind, arch, args, tag=cfg.tag, sha256=weights.sha256)
    # what is known about these weights (recipe, data, metrics) travels with them into save_pretrained's card
    model.imggen_cfg["meta"] = {**(weights.config or {}).get("meta", {}), **cfg.meta}
    return with_sampling_config(model, weights.config)


def built_checked(registry: Registry, entry: Entry, args: dict[str, Any]) -> Any:
    """``entry``'s factory called with ``args``, its result checked against the kind's contract."""
    obj = entry.factory(**args)
    registry.check_contract(entry, built=obj)
    return obj


def with_sampling_config(model: nn.Module, config: dict[str, Any] | None) -> nn.Module:
    """``model`` with the sampling defaults its weights' config.json stores (a generator's, if any)."""
    if (config or {}).get("sampling"):
        model.sampling_config = config["sampling"]
    return model


def _from_saved(registry: Registry, where: hub.Location, kwargs: dict[str, Any], source: str) -> nn.Module:
    """A model rebuilt from a saved folder or Hub repo: its config.json says the architecture and arguments."""
    built: dict[str, Any] = {}

    def build(config: dict[str, Any] | None) -> nn.Module:
        assert config is not None  # need_config=True
        if config.get("kind", registry.kind) != registry.kind:
            raise WeightsError(f"{source} holds a {registry_for(str(config['kind'])).singular}, "
                               f"not a {registry.singular}")
        entry = registry.get(config["architecture"])
        built["args"] = entry.resolve_args({**config.get("args", {}), **kwargs})
        return built_checked(registry, entry, built["args"])

    model, weights = hub.load_model(where, build, need_config=True)
    config = weights.config or {}
    model = _attach(model, registry.kind, config["architecture"], built["args"], sha256=weights.sha256)
    model.imggen_cfg["meta"] = config.get("meta", {})
    return with_sampling_config(model, config)


def create_model(name: str | os.PathLike[str], pretrained: bool = False, *,
                 checkpoint_path: str | os.PathLike[str] | None = None, **kwargs: Any) -> nn.Module:
    """Build a registered generator by name (``arch`` or ``arch.tag``), a local folder or ``hf-hub:org/repo``.

    ``pretrained`` loads the default weights (or the tag's); ``checkpoint_path`` loads a local safetensors
    file or folder; other keyword arguments override the architecture's constructor arguments.
    """
    return _create("generators", name, pretrained, checkpoint_path, kwargs)


def create_discriminator(name: str | os.PathLike[str], pretrained: bool = False, *,
                         checkpoint_path: str | os.PathLike[str] | None = None, **kwargs: Any) -> nn.Module:
    """Build a registered discriminator (raw logits out) by name; same rules as :func:`create_model`."""
    return _create("discriminators", name, pretrained, checkpoint_path, kwargs)


def create_feature_extractor(name: str, pretrained: bool | None = None, **kwargs: Any) -> nn.Module:
    """Build a registered feature network (used by the metrics).

    ``pretrained=None`` loads registry weights when the name has some; a network whose weights come from another
    library (Inception through torchmetrics) has none registered and fetches its own.
    """
    if pretrained is None:
        arch, registry = split_name(os.fspath(name))[0], REGISTRIES["feature_extractors"]
        pretrained = arch in registry and bool(registry.get(arch).pretrained_cfgs)
    return _create("feature_extractors", name, pretrained, None, kwargs)


def create_loss(name: str, **kwargs: Any) -> Any:
    """Build a registered loss by name."""
    return _create("losses", name, False, None, kwargs)


def create_part(name: str, **kwargs: Any) -> Any:
    """Build a registered training part (a discriminator penalty or an augmentation) by name."""
    return _create("parts", name, False, None, kwargs)


def create_sampler(name: str, **kwargs: Any) -> Any:
    """Build a registered iterative sampler by name (``schedule=`` the model's noise schedule, plus its options):
    a fresh one per sampling run, since multistep samplers keep their history."""
    return _create("samplers", name, False, None, kwargs)


def list_models(filter: str = "*", pretrained: bool = False) -> list[str]:
    """Generator names matching a shell wildcard; ``pretrained=True`` lists ``name.tag`` per weight."""
    return REGISTRIES["generators"].list(filter, pretrained)


def list_discriminators(filter: str = "*", pretrained: bool = False) -> list[str]:
    """Discriminator names matching a shell wildcard."""
    return REGISTRIES["discriminators"].list(filter, pretrained)


def list_losses(filter: str = "*") -> list[str]:
    """Loss names matching a shell wildcard."""
    return REGISTRIES["losses"].list(filter)


def list_tasks(filter: str = "*") -> list[str]:
    """Training-task names matching a shell wildcard (``adversarial``, ``objective``, ``classifier``, plugins')."""
    return REGISTRIES["tasks"].list(filter)


def list_parts(filter: str = "*") -> list[str]:
    """Training-part names (discriminator penalties, augmentations) matching a shell wildcard."""
    return REGISTRIES["parts"].list(filter)


def list_samplers(filter: str = "*") -> list[str]:
    """Iterative-sampler names matching a shell wildcard."""
    return REGISTRIES["samplers"].list(filter)


def list_feature_extractors(filter: str = "*", pretrained: bool = False) -> list[str]:
    """Feature-network names matching a shell wildcard."""
    return REGISTRIES["feature_extractors"].list(filter, pretrained)


def _describe_weight(entry: Entry, cfg: PretrainedCfg) -> dict[str, Any]:
    meta = pretrained_meta(cfg)
    return {
        "name": f"{entry.name}.{cfg.tag}", "tag": cfg.tag, "default": cfg.tag == entry.default_tag,
        "source": cfg.source, "bundled": location(cfg).bundled_present, "sha256": cfg.sha256,
        "license": cfg.license, "description": cfg.description, "model_args": dict(cfg.model_args),
        "metrics": meta.get("metrics", {}), "meta": meta,
    }


def model_info(name: str, kind: str = "generators") -> dict[str, Any]:
    """What a registered name is: description, parameters, output shape, conditioning, weights, provider.

    The model is built on the ``meta`` device, so this is cheap even for large models. A name with a tag
    (``arch.tag``) describes the architecture as that weight builds it (with its ``model_args``).
    """
    registry = registry_for(kind)
    kind = registry.kind
    arch, tag = split_name(name)
    entry = registry.get(arch)
    args = entry.resolve_args(entry.pretrained_cfg(tag).model_args if tag is not None else {})
    with torch.device("meta"):
        model = entry.factory(**args)
    info: dict[str, Any] = {
        "name": arch, "kind": kind, "description": entry.description, "provided_by": entry.source,
        "arguments": json.loads(json.dumps(args, default=str)),
        "pretrained": [_describe_weight(entry, c) for c in entry.pretrained_cfgs],
        "default_tag": entry.default_tag,
    }
    if isinstance(model, nn.Module):
        info["parameters"] = sum(p.numel() for p in model.parameters())
    if hasattr(model, "image_shape"):
        info["output_shape"] = list(model.image_shape)
    if hasattr(model, "num_classes"):
        info["conditional"] = model.num_classes > 0
        info["num_classes"] = model.num_classes
    if getattr(model, "sampling_defaults", None):
        info["sampling_options"] = dict(model.sampling_defaults)
    return info


# -- weights as things to fetch and check (the CLI's download / cache / verify) ------------------------------
KINDS_WITH_WEIGHTS = ("generators", "discriminators", "feature_extractors")


def find_pretrained(pattern: str = "*") -> list[tuple[str, str, PretrainedCfg]]:
    """``(kind, "arch.tag", cfg)`` of every pretrained weight whose ``arch.tag`` matches the shell ``pattern``;
    a bare ``arch`` pattern matches that architecture's default tag."""
    found = []
    for kind in KINDS_WITH_WEIGHTS:
        registry = REGISTRIES[kind]
        for name in registry.list("*", pretrained=True):
            arch, tag = split_name(name)
            entry = registry.get(arch)
            if fnmatch.fnmatchcase(name, pattern) or (tag == entry.default_tag and fnmatch.fnmatchcase(arch, pattern)):
                found.append((kind, name, entry.pretrained_cfg(tag)))
    return found


def fetch_pretrained(cfg: PretrainedCfg) -> hub.Weights:
    """Make sure a pretrained weight is available (bundled, or downloaded into the HF cache) and verified."""
    return hub.open_weights(location(cfg))


def verify_pretrained(name: str) -> dict[str, Any]:
    """Re-make a weight's golden samples (``meta["golden"]``) and compare them with the recorded digest.

    ``name`` is a generator ``arch.tag`` (or ``arch`` for its default), a folder or ``hf-hub:`` repo whose
    config.json records golden samples. Returns the comparison (``status`` identical / within tolerance /
    different, ``max_diff``, ``tolerance``).
    """
    from imggen.hub.golden import compare_golden

    arch, tag = split_name(os.fspath(name))
    registry = REGISTRIES["generators"]
    if arch in registry:
        cfg = registry.get(arch).pretrained_cfg(tag)
        record, model = pretrained_meta(cfg).get("golden"), create_model(f"{arch}.{cfg.tag}")
    else:
        model = create_model(name)
        record = model.imggen_cfg.get("meta", {}).get("golden")
    if record is None:
        raise WeightsError(f"{name!r} records no golden samples in its metadata, so there is nothing to compare; "
                           "a maintainer adds them with python scripts/publish_hub.py --golden")
    with torch.no_grad():
        images = model.sample(record["n"], labels=record["labels"], seed=record["seed"], noise_device="cpu")
    return {"name": os.fspath(name), "sha256": model.weights_sha256, **compare_golden(images, record)}


def load_bundle(folder: str | os.PathLike[str], parts: list[str] | None = None) -> dict[str, Any]:
    """The models of a training bundle (every part, or those named: generator, discriminator, ema), each built and
    verified like a saved folder, and its optimiser state dicts under ``"optimizers"``."""
    config = hub.read_bundle(folder)
    wanted = list(parts) if parts is not None else config["parts"]
    absent = [p for p in wanted if p not in config["parts"]]
    if absent:
        raise WeightsError(f"bundle {os.fspath(folder)!r} has no {', '.join(absent)}; it holds "
                           f"{', '.join(config['parts'])}")
    loaded: dict[str, Any] = {part: _from_saved(REGISTRIES[hub.bundle.PARTS[part]],
                                                hub.local_location(Path(folder) / part), {},
                                                os.fspath(Path(folder) / part))
                              for part in wanted}
    loaded["optimizers"] = hub.load_optimizer_states(folder)
    return loaded
