"""Training bundles: a generator with its discriminator (and EMA copy, and optimiser states) saved under one name,
and partial loads that report exactly what did not fit.

Why: fine-tuning a pretrained GAN goes better when the discriminator starts trained too, and resuming needs the
optimisers. A bundle is a folder of ordinary weights folders, one per part, so each part also loads on its own with
``create_model(bundle / "generator")``::

    bundle/
      bundle.json               parts, optimiser names, imggen version, meta
      generator/  discriminator/  ema/   (save_pretrained folders)
      optimizers.safetensors    every optimiser tensor (moments, steps)
      optimizers.json           the rest of each optimiser's state dict (param groups, plain numbers)

Building the parts back needs the registry, so ``imggen.registry.factory.load_bundle`` reads bundles; this module
writes them and holds what both need.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save as save_safetensors

from imggen.errors import WeightsError
from imggen.fileio import atomic_folder
from imggen.hub.folder import FIX_FOLDER, SHA256_KEY, key_report, read_weights, save_pretrained
from imggen.hub.loader import local_location, open_weights
from imggen.version import __version__

BUNDLE_NAME = "bundle.json"
OPTIMIZER_TENSORS = "optimizers.safetensors"
OPTIMIZER_STATE = "optimizers.json"
#: the parts a bundle may hold and the kind of model each one is
PARTS = {"generator": "generators", "discriminator": "discriminators", "ema": "generators"}


@dataclass
class LoadReport:
    """What a partial load left out: keys the model has but the weights lack (``missing``), keys the weights have
    but the model lacks (``unexpected``), and keys whose shapes differ (``shape``); ``loaded`` is what went in."""

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    shape: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether every key fitted (a strict load would have succeeded)."""
        return not (self.missing or self.unexpected or self.shape)

    def __str__(self) -> str:
        lines = [f"loaded {len(self.loaded)} tensors"]
        lines += [f"missing keys (left as initialised): {', '.join(self.missing)}"] if self.missing else []
        lines += [f"unexpected keys (ignored): {', '.join(self.unexpected)}"] if self.unexpected else []
        lines += [f"shape mismatch (left as initialised): {s}" for s in self.shape]
        return "\n".join(lines)


def load_partially(model: torch.nn.Module, source: dict[str, torch.Tensor] | str | os.PathLike[str]) -> LoadReport:
    """Load the tensors of ``source`` (a state dict, or a weights folder or file, read through the verified door)
    that fit ``model`` (same key, same shape) and report the rest.

    For loading part of a model on purpose (a discriminator with another number of classes, a wider head); a load
    that should fit completely goes through ``fit_state_dict``, which refuses instead.
    """
    state = source if isinstance(source, dict) else open_weights(local_location(source)).state
    report = key_report(model, state)
    own = model.state_dict()
    fitting = {k: v for k, v in state.items() if k in own and v.shape == own[k].shape}
    model.load_state_dict(fitting, strict=False)
    return LoadReport(sorted(fitting), report["missing"], report["unexpected"], report["shape"])


def _flatten_optimizer(name: str, state: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    """An optimiser state dict with its tensors moved into ``tensors`` (keys ``name.state.i.key``) and named."""
    plain: dict[str, Any] = {"param_groups": state["param_groups"], "state": {}}
    for index, values in state["state"].items():
        plain["state"][str(index)] = {}
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{name}.state.{index}.{key}"] = value.detach().contiguous().cpu()
                plain["state"][str(index)][key] = {"tensor": f"{name}.state.{index}.{key}"}
            else:
                plain["state"][str(index)][key] = value
    return plain


def _unflatten_optimizer(plain: dict[str, Any], tensors: dict[str, torch.Tensor]) -> dict[str, Any]:
    state = {int(i): {k: tensors[v["tensor"]] if isinstance(v, dict) and "tensor" in v else v
                      for k, v in values.items()}
             for i, values in plain["state"].items()}
    # JSON turned tuples (Adam's betas) into lists; the optimisers built them as tuples
    groups = [{k: tuple(v) if isinstance(v, list) and k != "params" else v for k, v in group.items()}
              for group in plain["param_groups"]]
    return {"state": state, "param_groups": groups}


def save_bundle(folder: str | os.PathLike[str], parts: dict[str, torch.nn.Module], *,
                optimizers: dict[str, torch.optim.Optimizer] | None = None, meta: dict[str, Any] | None = None,
                half: bool = False) -> Path:
    """Save models made by ``imggen.create_*`` (``parts``: generator, discriminator, ema) and optimiser states under
    one folder, written whole and swapped in like a weights folder."""
    unknown = sorted(set(parts) - set(PARTS))
    if unknown or "generator" not in parts:
        raise ValueError(f"a bundle holds a generator and optionally a discriminator and an ema copy; got parts "
                         f"{sorted(parts)}")
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    optimizers = optimizers or {}
    with atomic_folder(folder) as tmp:
        for part, model in parts.items():
            save_pretrained(model, tmp / part, half=half, samples=0)
        tensors: dict[str, torch.Tensor] = {}
        plain = {name: _flatten_optimizer(name, opt.state_dict(), tensors) for name, opt in optimizers.items()}
        config = {"parts": sorted(parts), "optimizers": sorted(optimizers), "imggen_version": __version__,
                  "meta": meta or {}}
        if optimizers:
            data = save_safetensors(tensors, metadata={"format": "pt"})
            (tmp / OPTIMIZER_TENSORS).write_bytes(data)
            (tmp / OPTIMIZER_STATE).write_text(json.dumps(plain, indent=1, sort_keys=True) + "\n")
            config[SHA256_KEY] = hashlib.sha256(data).hexdigest()
        (tmp / BUNDLE_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    return folder


def read_bundle(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """A bundle's ``bundle.json``, with a clear error when ``folder`` is not a bundle."""
    path = Path(folder) / BUNDLE_NAME
    if not path.is_file():
        raise WeightsError(f"{str(folder)!r} has no {BUNDLE_NAME}; it is not a training bundle "
                           "(save one with imggen.hub.save_bundle)")
    return json.loads(path.read_text())


def load_optimizer_states(folder: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The optimiser state dicts of a bundle, by name, ready for ``optimizer.load_state_dict``."""
    folder = Path(folder)
    if not (folder / OPTIMIZER_STATE).is_file():
        return {}
    plain = json.loads((folder / OPTIMIZER_STATE).read_text())
    tensors, _ = read_weights(folder / OPTIMIZER_TENSORS, read_bundle(folder).get(SHA256_KEY), fix=FIX_FOLDER)
    return {name: _unflatten_optimizer(state, tensors) for name, state in plain.items()}
