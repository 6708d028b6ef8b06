"""Every recipe in recipes/ names a bundled weight, and that weight was trained with the recipe's settings."""

import json
from pathlib import Path

import pytest

import imggen
from imggen.train.recipe import REPORTING_KEYS, load_recipe

ROOT = Path(__file__).resolve().parents[1]
RECIPES = sorted((ROOT / "recipes").glob("*.toml"))


def test_recipes_are_found():
    assert {p.name for p in RECIPES} >= {"gan-mlp-mnist.toml", "gan-mlp-mnist-v3.toml", "cgan-mlp-mnist-v3.toml"}


@pytest.mark.parametrize("path", RECIPES, ids=[p.stem for p in RECIPES])
def test_recipe_matches_the_weight_it_exports(path):
    recipe = load_recipe(path)
    folder = ROOT / "hub-repos" / Path(recipe["export"]["folder"]).name  # every published weight, as on the Hub
    arch, _, tag = folder.name.rpartition(".")
    assert recipe["trainer"]["generator"] == arch
    assert f"{arch}.{tag}" in imggen.list_models(pretrained=True), f"{folder.name} is not a registered weight"
    meta = json.loads((folder / "config.json").read_text())["meta"]
    trained = meta["trainer_args"]
    for key, value in recipe["trainer"].items():
        if key != "name" and f"trainer.{key}" not in REPORTING_KEYS:
            assert trained[key] == value, f"{path.name}: trainer.{key} is {value!r}, the weight had {trained[key]!r}"
    assert meta["epochs"] == recipe["fit"]["epochs"]
