"""The one door: ``create_*`` builds a registered component, optionally with pretrained weights;
``list_*`` and ``model_info`` describe what is available without building anything heavy.
"""

from __future__ import annotations

import json
import os
from importlib.resources import files
from pathlib import Path
from typing import Any

import torch
from torch import nn

from imggen import hub
from imggen.errors import UnknownNameError, WeightsError
from imggen.fileio import cache_dir, sha256_file
from imggen.registry.kinds import REGISTRIES
from imggen.registry.pretrained import PretrainedCfg
from imggen.registry.registry import Entry, Registry


def split_name(name: str) -> tuple[str, str | None]:
    """``"arch.tag"`` → ``("arch", "tag")``; ``"arch"`` → ``("arch", None)``."""
    arch, _, tag = name.partition(".")
    return arch, tag or None


def bundled_folder(cfg: PretrainedCfg) -> Path:
    """The folder of a bundled (or absolute-path) weight."""
    if os.path.isabs(cfg.file):
        return Path(cfg.file)
    return Path(str(files("imggen").joinpath("weights", cfg.file)))


def pretrained_meta(cfg: PretrainedCfg) -> dict[str, Any]:
    """What is recorded about a weight: the cfg's ``meta`` plus, for bundled ones, the folder's config meta."""
    meta = dict(cfg.meta)
    if cfg.file:
        config_path = bundled_folder(cfg) / hub.CONFIG_NAME
        if config_path.is_file():
            meta = {**json.loads(config_path.read_text()).get("meta", {}), **meta}
    return meta


def fetch_weights(cfg: PretrainedCfg) -> Path:
    """Local path of a pretrained weight's safetensors file, downloading it if it lives elsewhere."""
    if cfg.file:
        return bundled_folder(cfg) / hub.WEIGHTS_NAME
    if cfg.hf_hub_id:
        repo_id, revision = hub.parse_hub_id(cfg.hf_hub_id)
        return hub.download_file(repo_id, hub.WEIGHTS_NAME, revision)
    target = cache_dir("url", f"{cfg.sha256}.safetensors")
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            torch.hub.download_url_to_file(cfg.url, str(target), progress=False)
        except OSError as exc:
            raise WeightsError(f"could not download {cfg.url} ({exc}); check the connection or pass "
                               "checkpoint_path= with a local copy") from exc
    return target


def _attach(model: nn.Module, kind: str, arch: str, args: dict[str, Any], **provenance: Any) -> nn.Module:
    """Record how the model was built, so save_pretrained and PNG provenance can say so."""
    model.imggen_cfg = {"architecture": arch, "kind": kind, "args": json.loads(json.dumps(args))}
    model.pretrained_tag = provenance.get("tag")
    model.weights_sha256 = provenance.get("sha256")
    return model


def _no_weights_error(registry: Registry, arch: str) -> WeightsError:
    have = registry.with_pretrained()
    return WeightsError(
        f"{registry.kind[:-1]} {arch!r} has no pretrained weights; names with weights: "
        f"{', '.join(have) or 'none yet'} (see {registry.lister.replace('()', '(pretrained=True)')})"
    )


def _registry(kind: str) -> Registry:
    """The registry of ``kind``, or an error listing the kinds (``"generator"`` gets a did-you-mean)."""
    if kind not in REGISTRIES:
        hint = f" (did you mean {kind + 's'!r}?)" if kind + "s" in REGISTRIES else ""
        raise UnknownNameError(f"unknown kind {kind!r}{hint}; kinds are: {', '.join(REGISTRIES)}")
    return REGISTRIES[kind]


def _create(kind: str, name: str | os.PathLike[str], pretrained: bool,
            checkpoint_path: str | os.PathLike[str] | None, kwargs: dict[str, Any]) -> Any:
    registry = _registry(kind)
    name = os.fspath(name)  # a pathlib.Path to a saved folder works like its string
    if name.startswith(hub.HF_PREFIX):
        repo_id, revision = hub.parse_hub_id(name)
        return _from_folder(registry, hub.download_folder(repo_id, revision), kwargs, source=name)
    arch, tag = split_name(name)
    if ("/" in name or os.sep in name or name.startswith(("~", "."))) and not os.path.isdir(name):
        raise WeightsError(f"no folder {name!r}: pass a registered name (see {registry.lister}), a folder saved with "
                           "save_pretrained, or hf-hub:org/repo for a Hub repo")
    if os.path.isdir(name) and arch not in registry:  # a registered name wins over a same-named folder
        return _from_folder(registry, Path(name), kwargs, source=name)
    entry = registry.get(arch)
    args = entry.resolve_args(kwargs)
    obj = entry.factory(**args)
    if not isinstance(obj, nn.Module):
        return obj
    cfg = None
    if pretrained or tag:
        if not entry.pretrained_cfgs:
            raise _no_weights_error(registry, arch)
        cfg = entry.pretrained_cfg(tag)
        path = fetch_weights(cfg)
        hub.fit_state_dict(obj, hub.load_weights(path, cfg.sha256), f"{arch}.{cfg.tag}")
    if checkpoint_path is not None:
        path = Path(checkpoint_path)
        path = path / hub.WEIGHTS_NAME if path.is_dir() else path
        hub.fit_state_dict(obj, hub.load_weights(path), str(path))
        return _attach(obj, kind, arch, args, sha256=sha256_file(path))
    return _attach(obj, kind, arch, args, tag=cfg.tag if cfg else None, sha256=cfg.sha256 if cfg else None)


def _from_folder(registry: Registry, folder: Path, kwargs: dict[str, Any], source: str) -> nn.Module:
    config = hub.read_config(folder)
    if config.get("kind", registry.kind) != registry.kind:
        raise WeightsError(f"{source} holds a {config['kind'].removesuffix('s')}, not a {registry.kind[:-1]}")
    entry = registry.get(config["architecture"])
    args = entry.resolve_args({**config.get("args", {}), **kwargs})
    model = entry.factory(**args)
    path = folder / hub.WEIGHTS_NAME
    hub.fit_state_dict(model, hub.load_weights(path), source)
    model = _attach(model, registry.kind, config["architecture"], args, sha256=sha256_file(path))
    model.imggen_cfg["meta"] = config.get("meta", {})
    return model


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


def create_trainer(name: str, **kwargs: Any) -> Any:
    """Build a registered trainer by name."""
    return _create("trainers", name, False, None, kwargs)


def list_models(filter: str = "*", pretrained: bool = False) -> list[str]:
    """Generator names matching a shell wildcard; ``pretrained=True`` lists ``name.tag`` per weight."""
    return REGISTRIES["generators"].list(filter, pretrained)


def list_discriminators(filter: str = "*", pretrained: bool = False) -> list[str]:
    """Discriminator names matching a shell wildcard."""
    return REGISTRIES["discriminators"].list(filter, pretrained)


def list_losses(filter: str = "*") -> list[str]:
    """Loss names matching a shell wildcard."""
    return REGISTRIES["losses"].list(filter)


def list_trainers(filter: str = "*") -> list[str]:
    """Trainer names matching a shell wildcard."""
    return REGISTRIES["trainers"].list(filter)


def list_feature_extractors(filter: str = "*", pretrained: bool = False) -> list[str]:
    """Feature-network names matching a shell wildcard."""
    return REGISTRIES["feature_extractors"].list(filter, pretrained)


def _describe_weight(entry: Entry, cfg: PretrainedCfg) -> dict[str, Any]:
    meta = pretrained_meta(cfg)
    return {
        "name": f"{entry.name}.{cfg.tag}", "tag": cfg.tag, "default": cfg.tag == entry.default_tag,
        "source": cfg.source, "sha256": cfg.sha256, "license": cfg.license, "description": cfg.description,
        "metrics": meta.get("metrics", {}), "meta": meta,
    }


def model_info(name: str, kind: str = "generators") -> dict[str, Any]:
    """What a registered name is: description, parameters, output shape, conditioning, weights, provider.

    The model is built on the ``meta`` device, so this is cheap even for large models.
    """
    registry = _registry(kind)
    arch, tag = split_name(name)
    entry = registry.get(arch)
    args = entry.resolve_args({})
    with torch.device("meta"):
        model = entry.factory(**args)
    info: dict[str, Any] = {
        "name": arch, "kind": kind, "description": entry.description, "provided_by": entry.source,
        "arguments": json.loads(json.dumps(args, default=str)),
        "pretrained": [_describe_weight(entry, c) for c in entry.pretrained_cfgs],
        "default_tag": entry.default_tag,
    }
    if tag is not None:
        entry.pretrained_cfg(tag)  # an unknown tag raises, listing the tags there are
    if isinstance(model, nn.Module):
        info["parameters"] = sum(p.numel() for p in model.parameters())
    if hasattr(model, "image_shape"):
        info["output_shape"] = list(model.image_shape)
    if hasattr(model, "num_classes"):
        info["conditional"] = model.num_classes > 0
        info["num_classes"] = model.num_classes
    return info
