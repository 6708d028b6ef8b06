"""Fine-tuning: start a run from pretrained weights (``init``) and keep some parameters fixed (``freeze``).

Why: fine-tuning a pretrained GAN on a small new dataset (seed section 6.4) is the everyday use of a model zoo, and it
goes better when the discriminator starts trained too and when the first layers stay as they were (FreezeD, Mo et al.
2020). ``init`` names where the weights come from:

- a registered ``NAME[.TAG]`` or ``hf-hub:org/repo``: the published weights (the generator only);
- a weights folder saved with ``save_pretrained`` (a run's ``weights/``): that model only;
- a training bundle (``imggen.hub.save_bundle``; every adversarial run writes one to ``OUT/bundle``), or a run folder
  holding one: the generator, its discriminator and the EMA copy;
- a run folder without a bundle: its exported ``weights/``.

``freeze`` lists shell patterns matched against ``network.parameter`` names, the networks named as the task's
checkpoint names them (``g`` and ``d`` for the adversarial task, ``model`` for the others): ``["g.stem.*",
"d.features.0.*"]``. A frozen parameter gets ``requires_grad=False`` and leaves its optimiser.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from imggen.hub import fit_state_dict
from imggen.hub.bundle import BUNDLE_NAME
from imggen.registry import create_discriminator, create_feature_extractor, create_model
from imggen.registry.factory import load_bundle

#: the folder of a run that holds its training bundle
RUN_BUNDLE = "bundle"
#: how a model of each kind is built from a name or folder
CREATE = {"generators": create_model, "discriminators": create_discriminator,
          "feature_extractors": create_feature_extractor}


def init_sources(source: str | os.PathLike[str], kind: str = "generators") -> dict[str, nn.Module]:
    """The pretrained networks ``source`` holds (see the module docstring), by role: ``model`` (the network a run
    exports), and for a bundle ``discriminator`` and ``ema`` when it has them."""
    path = Path(source)
    if path.is_dir() and (path / RUN_BUNDLE / BUNDLE_NAME).is_file():
        path = path / RUN_BUNDLE
    if path.is_dir() and (path / BUNDLE_NAME).is_file():
        loaded = load_bundle(path)
        roles = {"generator": "model", "discriminator": "discriminator", "ema": "ema"}
        return {role: loaded[part] for part, role in roles.items() if part in loaded}
    if kind not in CREATE:
        raise ValueError(f"init= starts a {kind[:-1]} from pretrained weights; only {', '.join(CREATE)} can")
    return {"model": CREATE[kind](os.fspath(source), pretrained=True)}


def load_init(targets: dict[str, nn.Module], sources: dict[str, nn.Module], source: str) -> list[str]:
    """Copy each source network into the target of the same role (strictly: every key, every shape); returns the
    roles loaded. A discriminator that does not fit names the way out: start from the generator alone."""
    loaded = []
    for role, network in sources.items():
        if role not in targets:
            continue
        where = f"init={source!r} ({role})"
        try:
            fit_state_dict(targets[role], network.state_dict(), where)
        except Exception as exc:
            if role == "discriminator":
                raise type(exc)(f"{exc}\nthe run's discriminator differs from the one in {source!r}: to start "
                                f"only the generator, pass init={str(Path(source) / 'generator')!r} (a bundle's "
                                "generator folder) or that run's weights/ folder") from None
            raise
        loaded.append(role)
    if "model" not in loaded:
        raise ValueError(f"init={source!r} holds no network for the run's model (it holds {', '.join(sources)})")
    return loaded


def freeze(networks: dict[str, nn.Module], patterns: Sequence[str]) -> list[str]:
    """Set ``requires_grad=False`` on every parameter whose ``network.name`` matches one of ``patterns``; returns the
    names frozen. A pattern that matches nothing is an error listing some names it could have matched."""
    if isinstance(patterns, str):
        patterns = [patterns]
    named = {f"{net_name}.{name}": p for net_name, net in networks.items() for name, p in net.named_parameters()}
    frozen: list[str] = []
    for pattern in patterns:
        hits = [name for name in named if fnmatch.fnmatchcase(name, pattern)]
        if not hits:
            example = ", ".join(list(named)[:6])
            raise ValueError(f"freeze pattern {pattern!r} matches no parameter; names look like "
                             f"'{'.*, '.join(networks)}.*' (e.g. {example}); see [n for n, _ in "
                             "net.named_parameters()]")
        frozen += [name for name in hits if name not in frozen]
    everything = [n for n in networks if all(f"{n}.{name}" in frozen for name, _ in networks[n].named_parameters())]
    if everything:
        raise ValueError(f"freeze patterns {list(patterns)} leave nothing to train in {', '.join(everything)}; freeze "
                         "some of its layers, not all")
    for name in frozen:
        named[name].requires_grad_(False)
    return frozen


def drop_frozen(optimizers: dict[str, torch.optim.Optimizer]) -> None:
    """Remove parameters that need no gradient from every optimiser (before its first step: no state to move)."""
    for opt in optimizers.values():
        if opt.state:
            raise RuntimeError("drop_frozen runs before the first optimiser step")
        for group in opt.param_groups:
            group["params"] = [p for p in group["params"] if p.requires_grad]
