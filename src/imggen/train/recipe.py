"""Recipes: a TOML file that reproduces a pretrained weight with one command.

``[trainer]`` holds the arguments of ``create_trainer(name)``, ``[fit]`` those of ``fit``; ``[eval]`` says how to
measure the result and ``[export]`` where to write the weights folder (and, with ``noise_scale``, a sampling noise scale
to fold into the exported generator's weights). A top-level ``extends = "other.toml"`` (relative to the recipe's folder)
starts from another recipe and changes only the keys it sets. The recipe text, the resolved recipe, the data hashes, the
steps and the measured metrics are recorded in the exported ``config.json``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from torch import nn

from imggen.fileio import atomic_output, sha256_file
from imggen.hub import WEIGHTS_NAME
from imggen.registry import create_trainer

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SECTIONS = {"trainer", "fit", "eval", "export"}
STATS_NAME = "stats.json"  # a finished run's stats, in its run folder
# settings that change where a run writes and how often it reports, not what it trains
REPORTING_KEYS = {"trainer.progress", "trainer.log_every", "trainer.sample_every", "trainer.eval_every",
                  "trainer.checkpoint_every"}
# the [export] settings that change the exported weights rather than where or how they are written
WEIGHT_KEYS = {"export.noise_scale"}


def load_recipe(path: str | os.PathLike[str], _chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Parse a recipe file (and the recipes it ``extends``), rejecting unknown sections so typos do not silently
    change a run."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"recipe {str(path)!r} does not exist; recipes live in the repo's recipes/ folder")
    if path.resolve() in _chain:
        raise ValueError(f"recipe {path} extends itself: {' -> '.join(p.name for p in (*_chain, path))}")
    try:
        recipe = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"recipe {path} is not valid TOML: {exc}") from exc
    base_name = recipe.pop("extends", None)
    if base_name is not None:
        base = load_recipe(path.parent / base_name, (*_chain, path.resolve()))
        recipe = {section: {**base.get(section, {}), **recipe.get(section, {})} for section in {*base, *recipe}}
    unknown = set(recipe) - SECTIONS
    if unknown or "trainer" not in recipe:
        raise ValueError(f"recipe {path}: sections must be {sorted(SECTIONS)} with [trainer] required "
                         f"(or an extends = \"other.toml\" that has it); unknown: {sorted(unknown)}")
    return recipe


def apply_settings(recipe: dict[str, Any], settings: Sequence[str]) -> dict[str, Any]:
    """``recipe`` with ``section.key=value`` settings applied; values are TOML (``3``, ``1e-4``, ``[0.0, 0.99]``,
    ``"hinge"``) and a bare word is taken as a string. Sections are checked as in :func:`load_recipe`."""
    recipe = {section: dict(values) for section, values in recipe.items()}
    for setting in settings:
        key, sep, value = setting.partition("=")
        section, dot, name = key.strip().partition(".")
        if not (sep and dot and name) or section not in SECTIONS:
            raise ValueError(f"setting {setting!r} must look like SECTION.KEY=VALUE with SECTION one of "
                             f"{sorted(SECTIONS)}, e.g. trainer.r1=1.0 or fit.epochs=10")
        try:
            parsed = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value.strip()
        recipe.setdefault(section, {})[name] = parsed
    return recipe


def training_settings(settings: Sequence[str]) -> list[str]:
    """The ``settings`` that change what is trained or measured: those of ``[export]`` (but its ``noise_scale``,
    which changes the weights) and the reporting intervals are dropped."""
    keys = [setting.partition("=")[0].strip() for setting in settings]
    return [s for s, key in zip(settings, keys, strict=True)
            if (key in WEIGHT_KEYS or not key.startswith("export.")) and key not in REPORTING_KEYS]


def fold_noise_scale(generator: nn.Module, scale: float) -> None:
    """Fold ``[export] noise_scale`` into ``generator``'s weights (see ``MLPGenerator.scale_noise_``)."""
    if not hasattr(generator, "scale_noise_"):
        raise ValueError(f"[export] noise_scale needs a generator that can fold a noise scale into its weights "
                         f"(scale_noise_); {type(generator).__name__} cannot: remove the setting")
    generator.scale_noise_(float(scale))


def run_recipe(path: str | os.PathLike[str], out: str | os.PathLike[str], *, resume: bool = False,
               export: bool = True, settings: Sequence[str] = (), **overrides: Any) -> dict[str, Any]:
    """Train as the recipe says (``settings`` as in :func:`apply_settings`, then ``overrides`` of trainer
    arguments), evaluate, and export the weights.

    Returns the run stats with ``metrics`` and, when exported, ``folder`` and ``sha256`` of the weights file;
    the same stats are written to ``out/stats.json`` when the run is done. The exported metadata records the
    settings beside the recipe text.
    """
    text = Path(path).read_text()  # now, not at export: the file may change during a long run
    (Path(out) / STATS_NAME).unlink(missing_ok=True)  # a rerun is unfinished until it writes its own
    recipe = apply_settings(load_recipe(path), settings)
    trainer_args = {k: v for k, v in recipe["trainer"].items() if k != "name"}
    trainer = create_trainer(recipe["trainer"].get("name", "gan"), **{**trainer_args, **overrides, "out": out})
    stats = trainer.fit(**recipe.get("fit", {}), resume=resume)
    noise_scale = recipe.get("export", {}).get("noise_scale")
    if noise_scale is not None:  # before the evaluation, so the metrics are those of the weights that ship
        fold_noise_scale(trainer.generator_to_export, noise_scale)
    evaluation = recipe.get("eval", {})
    if evaluation:
        stats["metrics"] = trainer.evaluate(evaluation.get("n", 10000))
    if export and "export" in recipe:
        target = recipe["export"]
        meta = {"recipe": Path(path).as_posix(), "recipe_text": text, "recipe_resolved": recipe,
                "settings": list(settings),
                "metrics": stats.get("metrics", {}),
                **{k: v for k, v in target.items() if k not in ("folder", "half")}}
        folder = trainer.export(target["folder"], half=target.get("half", True), meta=meta)
        stats.update(folder=str(folder), sha256=sha256_file(folder / WEIGHTS_NAME))
    with atomic_output(Path(out) / STATS_NAME) as tmp:
        tmp.write_text(json.dumps(stats, indent=2, default=str) + "\n")
    return stats
