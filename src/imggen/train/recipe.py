"""Recipes: a TOML file that reproduces a weight with one command, on the one training loop.

``[trainer]`` holds the loop's arguments (``task``, ``model``, ``model_args``, ``data``, ``batch_size``, EMA,
schedule, precision, ...; see :class:`imggen.train.Trainer`), ``[task]`` the task's own (its ``parts`` as a table of
part name → arguments), ``[fit]`` those of ``fit``; ``[eval]`` says how to measure the result and ``[export]`` how to
write the weights folder: ``half``, ``sampling`` (the weight's own sampling defaults, stored in its config) and any
other key, which is recorded in its metadata. The folder goes under the run's ``--out`` (``weights/``), never into the
installed package. A top-level ``extends = "other.toml"`` (relative to the recipe's folder) starts from another recipe
and changes only the keys it sets. The recipe text, the resolved recipe, the data hashes, the steps and the measured
metrics are recorded in the exported ``config.json``. A run whose task has a discriminator also writes its training
bundle (generator, discriminator, EMA, optimiser states) to ``OUT/bundle``, for fine-tuning runs to start from.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from imggen.fileio import atomic_output, export_folder, sha256_file
from imggen.hub import WEIGHTS_NAME
from imggen.registry import generators
from imggen.registry.factory import RUN_EXPORT
from imggen.train.checkpoint import CheckpointManager
from imggen.train.loop import Trainer
from imggen.train.warm_start import RUN_BUNDLE

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 reads TOML with the tomli backport (a declared dependency there)
    import tomli as tomllib

SECTIONS = {"trainer", "task", "fit", "eval", "export"}
STATS_NAME = "stats.json"  # a finished run's stats, in its run folder
RUN_LENGTHS = {"epochs": "steps", "steps": "epochs"}  # a --set of one replaces the other
# settings that change where a run writes and how often it reports, not what it trains
REPORTING_KEYS = {"trainer.progress", "trainer.log_every", "trainer.sample_every", "trainer.eval_every",
                  "trainer.eval_args", "trainer.checkpoint_every"}


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` laid over it, tables merged key by key (so a recipe can change one part's gamma)."""
    merged = dict(base)
    for key, value in override.items():
        merged[key] = merge(merged[key], value) if isinstance(value, dict) and isinstance(merged.get(key),
                                                                                          dict) else value
    return merged


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
        recipe = merge(load_recipe(path.parent / base_name, (*_chain, path.resolve())), recipe)
    unknown = set(recipe) - SECTIONS
    if unknown or "trainer" not in recipe:
        raise ValueError(f"recipe {path}: sections must be {sorted(SECTIONS)} with [trainer] required "
                         f"(or an extends = \"other.toml\" that has it); unknown: {sorted(unknown)}")
    return recipe


def apply_settings(recipe: dict[str, Any], settings: Sequence[str]) -> dict[str, Any]:
    """``recipe`` with ``section.key[.subkey...]=value`` settings applied; values are TOML (``3``, ``1e-4``,
    ``[0.0, 0.99]``, ``"hinge"``, ``{ gamma = 3 }``) and a bare word is taken as a string."""
    recipe = json.loads(json.dumps(recipe))  # a deep copy
    for setting in settings:
        key, sep, value = setting.partition("=")
        path = [part.strip() for part in key.split(".")]
        if not sep or len(path) < 2 or not all(path) or path[0] not in SECTIONS:
            raise ValueError(f"setting {setting!r} must look like SECTION.KEY=VALUE with SECTION one of "
                             f"{sorted(SECTIONS)}, e.g. task.lr_g=1e-4, task.parts.r1.gamma=3 or fit.epochs=10")
        try:
            parsed = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value.strip()
        table = recipe
        for name in path[:-1]:
            table = table.setdefault(name, {})
            if not isinstance(table, dict):
                raise ValueError(f"setting {setting!r}: {name!r} is a value, not a table")
        table[path[-1]] = parsed
        if path[0] == "fit" and path[-1] in RUN_LENGTHS:  # a run is as long as one of them says: the other goes
            table.pop(RUN_LENGTHS[path[-1]], None)
    return recipe


def training_settings(settings: Sequence[str]) -> list[str]:
    """The ``settings`` that change what is trained or measured (reporting intervals and export keys dropped, but
    ``export.sampling``, which changes how the weight samples)."""
    keys = [setting.partition("=")[0].strip() for setting in settings]
    return [s for s, key in zip(settings, keys, strict=True)
            if (key.startswith("export.sampling") or not key.startswith("export.")) and key not in REPORTING_KEYS]


def default_recipe(model: str) -> dict[str, Any]:
    """The smallest recipe that trains ``model``: its natural task on MNIST for one epoch, exported as it is."""
    task = "adversarial" if generators.get(model).discriminator else "objective"
    return {"trainer": {"task": task, "model": model, "data": "mnist"}, "fit": {"epochs": 1}, "export": {}}


def recipe_label(path: str | os.PathLike[str]) -> str:
    """How a weight's metadata names the recipe file it was trained from: the path from its ``recipes`` folder on
    (``recipes/espcn-x3-v3.toml``, as the repository holds it), else the file's name; never the training machine's
    absolute path (the recipe's whole text is recorded beside it)."""
    parts = Path(path).parts
    start = max((i for i, part in enumerate(parts) if part == "recipes"), default=len(parts) - 1)
    return Path(*parts[start:]).as_posix()


def build_trainer(recipe: dict[str, Any], out: str | os.PathLike[str] | None, **overrides: Any) -> Trainer:
    """The loop the recipe describes, writing to ``out`` (``overrides`` replace trainer arguments)."""
    args = {**recipe["trainer"], **overrides, "out": out}
    task = args.pop("task", None)
    if task is None:
        raise ValueError("the recipe's [trainer] names no task: add task = \"adversarial\", \"objective\" or "
                         "\"classifier\" (see imggen.list_tasks())")
    return Trainer(task, task_args=recipe.get("task", {}), **args)


@torch.no_grad()
def round_to_half_(model: torch.nn.Module) -> None:
    """Round every floating-point tensor of ``model`` to float16 precision, in place (it stays float32)."""
    for tensor in model.state_dict().values():
        if tensor.is_floating_point():
            tensor.copy_(tensor.half())


def export_run(trainer: Trainer, recipe: dict[str, Any], folder: str | os.PathLike[str],
               meta: dict[str, Any] | None = None) -> Path:
    """Write ``trainer``'s exported model to ``folder`` as the recipe's ``[export]`` says."""
    target = dict(recipe.get("export", {}))
    half, sampling = target.pop("half", True), target.pop("sampling", None)
    return trainer.export(folder, half=half, sampling=sampling, meta={**target, **(meta or {})})


def run_recipe(recipe: str | os.PathLike[str] | dict[str, Any], out: str | os.PathLike[str], *,
               resume: bool = False, resume_changes: Sequence[str] = (),
               export_to: str | os.PathLike[str] | None = None, settings: Sequence[str] = (),
               **overrides: Any) -> dict[str, Any]:
    """Train as the recipe (a file, or an already loaded dict) says, with ``settings`` as in :func:`apply_settings`
    and ``overrides`` of trainer arguments; evaluate; export the weights to ``export_to`` (default ``out/weights``).
    ``resume`` continues the run in ``out`` (``resume_changes``: trainer settings it may change, see ``Trainer.fit``).

    Returns the run stats with ``metrics``, ``folder`` and ``sha256`` of the weights file; the same stats are written
    to ``out/stats.json`` when the run is done.
    """
    target = export_folder(export_to, out, RUN_EXPORT)  # refused before training when it is inside the package
    loaded = load_recipe(recipe) if not isinstance(recipe, dict) else recipe
    text = Path(recipe).read_text() if not isinstance(recipe, dict) else None  # now: the file may change later
    (Path(out) / STATS_NAME).unlink(missing_ok=True)  # a rerun is unfinished until it writes its own
    resolved = apply_settings(loaded, settings)
    trainer = build_trainer(resolved, out, **overrides)
    stats = trainer.fit(**resolved.get("fit", {}), resume=resume, resume_changes=resume_changes)
    if resolved.get("export", {}).get("half", True):  # measure what ships: the weights rounded to float16
        round_to_half_(trainer.model_to_export)
    finished = trainer.task.finish(trainer.model_to_export)
    if resolved.get("export", {}).get("sampling"):  # before the evaluation: measure the weight as it ships
        trainer.model_to_export.sampling_config = resolved["export"]["sampling"]
    if resolved.get("eval"):
        evaluation = dict(resolved["eval"])
        stats["metrics"] = trainer.evaluate(evaluation.pop("n", 10000), **evaluation)
    meta = {"recipe_resolved": resolved, "settings": list(settings), "metrics": stats.get("metrics", {}), **finished}
    if text is not None:
        meta.update(recipe=recipe_label(recipe), recipe_text=text)
    folder = export_run(trainer, resolved, target, meta)
    trainer.save_bundle(Path(out) / RUN_BUNDLE)  # what a fine-tuning run's init= starts from (GANs only)
    stats.update(folder=str(folder), sha256=sha256_file(folder / WEIGHTS_NAME))
    with atomic_output(Path(out) / STATS_NAME) as tmp:
        tmp.write_text(json.dumps(stats, indent=2, default=str) + "\n")
    return stats


def export_checkpoint(run_dir: str | os.PathLike[str], folder: str | os.PathLike[str]) -> Path:
    """Rebuild the run in ``run_dir`` from its last checkpoint and export its model to ``folder`` (the recipe's
    export settings, when the run came from one, apply)."""
    state = CheckpointManager(run_dir).load("cpu")
    config = dict(state["config"])
    task_args = config.pop("task_args", None) or {}
    config.pop("out", None)
    config.pop("init", None)  # the checkpoint holds every weight: a fine-tuning run's source is not needed again
    recipe = {"trainer": config, "task": task_args}
    trainer = build_trainer(recipe, run_dir, progress=False)
    trainer.load_state_dict(state)
    trainer.task.finish(trainer.model_to_export)
    return trainer.export(folder, meta={"exported_from": str(Path(run_dir) / CheckpointManager(run_dir).path.name)})
