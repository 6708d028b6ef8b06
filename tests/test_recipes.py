"""Every published weight names the recipe in recipes/ that reproduces it, and the recipe, read by the one training
loop, asks for exactly the settings the weight was trained with (most weights predate the loop: their metadata records
the single GAN trainer's flat arguments, which the recipe's [trainer], [task] and [task.parts] must translate to)."""

import inspect
from pathlib import Path

import pytest

import imggen
from imggen.train import AdversarialTask, Trainer
from imggen.train.recipe import REPORTING_KEYS, load_recipe

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes").glob("*.toml"))
MLP_RECIPES = [p for p in RECIPES if "-mlp-" in p.name]  # the families whose weights are published
WEIGHTS = [w for name in imggen.list_models("*-mlp-*") for w in imggen.model_info(name)["pretrained"]]
# the old trainer's argument names → where the one loop's recipes keep them
RENAMED = {"generator": ("trainer", "model"), "generator_args": ("trainer", "model_args")}
# what a key the recipe leaves unset becomes: the loop's or the task's default, or off for an option the loop dropped
DEFAULTS = {name: param.default for cls in (Trainer, AdversarialTask)
            for name, param in inspect.signature(cls).parameters.items()}
DROPPED = {"r1": 0.0, "r2": 0.0, "gp": 0.0, "mode_seeking": 0.0, "imle": 0.0, "imle_pool": 4, "instance_noise": 0.0,
           "pack": 1, "spectral_norm": False, "augment": [], "discriminator": None}
NOT_TRAINING = {"name", "device", "data_root", "cuda_graphs", "compile", "eval_n", "out", "precision"}
TASK_KEYS = {"loss", "lr_g", "lr_d", "betas_g", "betas_d", "n_critic", "discriminator_args", "mismatched_labels",
             "real_range"}


def recipe_of(weight: dict) -> Path:
    """The recipe that reproduces ``weight``: ``recipes/ARCH.toml`` for a family's first recipe (tag v2), else
    ``recipes/ARCH-TAG.toml`` (a weight exported by a sweep records the base recipe it was run from instead)."""
    arch, tag = weight["name"].split(".")
    return ROOT / "recipes" / (f"{arch}.toml" if tag == "v2" else f"{arch}-{tag}.toml")


def recipe_value(recipe: dict, old_key: str):
    """Where the old trainer's ``old_key`` lives in a new-format recipe, and its value there (``None`` if unset)."""
    if old_key in RENAMED:
        section, key = RENAMED[old_key]
        return recipe[section].get(key)
    if old_key in TASK_KEYS:
        return recipe.get("task", {}).get(old_key)
    if old_key == "r1":
        return recipe.get("task", {}).get("parts", {}).get("r1", {}).get("gamma")
    return recipe["trainer"].get(old_key)


def test_recipes_and_weights_are_found():
    assert {p.name for p in RECIPES} >= {"gan-mlp-mnist.toml", "gan-mlp-mnist-v3.toml", "cgan-mlp-mnist-v3.toml"}
    assert len(WEIGHTS) >= 16


@pytest.mark.parametrize("weight", WEIGHTS, ids=[w["name"] for w in WEIGHTS])
def test_each_weights_recipe_asks_for_the_settings_it_was_trained_with(weight):
    meta = weight["meta"]
    recipe = load_recipe(recipe_of(weight))
    assert recipe["trainer"]["task"] == "adversarial" and recipe["trainer"]["model"] == weight["name"].split(".")[0]
    for key, value in meta["trainer_args"].items():
        if f"trainer.{key}" in REPORTING_KEYS or key in NOT_TRAINING:
            continue
        wanted = recipe_value(recipe, key)
        if wanted is None:  # unset: the default now must be what the weight had
            expected = DROPPED[key] if key in DROPPED else DEFAULTS[RENAMED.get(key, ("", key))[1]]
            assert value == expected or (isinstance(expected, tuple) and value == list(expected)), \
                f"{recipe_of(weight).name} leaves {key} unset (now {expected!r}); the weight had {value!r}"
            continue
        assert wanted == value or (isinstance(value, list) and list(wanted) == value), \
            f"{recipe_of(weight).name}: {key} is {wanted!r}, the weight had {value!r}"
    if recipe["trainer"].get("lr_decay_start") is not None:
        assert recipe["trainer"]["lr_schedule"] == "linear"
    assert meta["epochs"] == recipe["fit"]["epochs"]
    # a recipe that leaves precision unset trains in "auto": fp32 on CPUs without native bf16, as the weight did
    assert recipe["trainer"].get("precision", "auto") in (meta["trainer_args"]["precision"], "auto")
    folded = meta.get("noise_scale")
    assert recipe.get("export", {}).get("sampling", {}).get("noise_scale") == folded


@pytest.mark.parametrize("path", MLP_RECIPES, ids=[p.stem for p in MLP_RECIPES])
def test_every_recipe_is_the_recipe_of_a_published_weight(path):
    assert any(recipe_of(w) == path for w in WEIGHTS), path.name
