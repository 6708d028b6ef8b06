"""Copy a finished run's exported weights into the repository: hub-repos/<arch>.<tag>, and the package too when the
tag is bundled (maintainers only; training never writes there itself).

Why: the package's weights must change only on purpose. A run exports under its ``--out`` folder
(``imggen.fileio.export_folder``); this script checks the folder loads (hash recorded in its config.json, finite
weights, the architecture it names), copies it whole (an atomic folder swap) and prints the line to put in the
tag's ``PretrainedCfg``. The recipe the weight names is the repository's file with the text it was trained with
(a run may have read it from elsewhere). Then run ``python scripts/publish_hub.py --index`` and, with a token, publish.

    python scripts/export_to_package.py runs/cgan-mlp-mnist-v8/weights cgan-mlp-mnist.v8            # Hub only
    python scripts/export_to_package.py runs/cgan-mlp-mnist-v8/weights cgan-mlp-mnist.v8 --bundle   # new default
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import imggen
from imggen.fileio import atomic_folder, sha256_file
from imggen.hub import CONFIG_NAME, SHA256_KEY, WEIGHTS_NAME, read_config

ROOT = Path(__file__).resolve().parents[1]


def repository_recipe(meta: dict) -> str | None:
    """The repository path (``recipes/...``) of the recipe file a run was trained from, found by its recorded text:
    a run may have read it from anywhere (an absolute path on the training machine), but the weight must name the
    file in the repository that reproduces it. ``None`` when the run recorded no recipe."""
    if not meta.get("recipe_text"):
        return None
    name = Path(meta["recipe"]).name
    for path in sorted((ROOT / "recipes").rglob(name)):
        if path.read_text() == meta["recipe_text"]:
            return path.relative_to(ROOT).as_posix()
    raise SystemExit(f"no recipes/**/{name} holds the recipe text this weight was trained with; put the recipe the "
                     "run used into recipes/ first (one recipe per shipped weight)")


def copy_folder(source: Path, target: Path, recipe: str | None) -> None:
    """Replace ``target`` by a copy of ``source``'s files, as one folder swap, its metadata naming ``recipe``."""
    with atomic_folder(target) as tmp:
        for path in sorted(source.iterdir()):
            if path.is_file():
                shutil.copy2(path, tmp / path.name)
        config = read_config(tmp)
        if recipe and config["meta"]["recipe"] != recipe:
            config["meta"]["recipe"] = recipe
            (tmp / CONFIG_NAME).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a folder written by save_pretrained (a run's export)")
    parser.add_argument("name", help="arch.tag it becomes, e.g. cgan-mlp-mnist.v8")
    parser.add_argument("--bundle", action="store_true", help="also ship it inside the package (defaults only)")
    parser.add_argument("--recipe", help="the repository recipe (recipes/...) that reproduces the weight, when the "
                        "run read another file or continued one with --init/--set (its metadata keeps what it read)")
    args = parser.parse_args(argv)
    arch, _, tag = args.name.partition(".")
    config = read_config(args.folder)
    if config["architecture"] != arch or not tag:
        print(f"{args.folder / CONFIG_NAME} holds {config['architecture']!r}, not {args.name!r}", file=sys.stderr)
        return 1
    if config.get("kind", "generators") == "generators":
        imggen.create_model(args.folder)  # loads through the verified door: hash, finite weights, architecture
    link = ROOT / "hub-repos" / args.name
    package = ROOT / "src" / "imggen" / "weights" / args.name
    bundled = args.bundle or link.is_symlink()  # hub-repos/ links to a bundled copy instead of holding a second
    recipe = args.recipe or repository_recipe(config.get("meta", {}))
    if args.recipe and not (ROOT / args.recipe).is_file():
        parser.error(f"--recipe {args.recipe} is not a file of the repository")
    copy_folder(args.folder, package if bundled else link, recipe)
    if bundled and not link.is_symlink():
        if link.exists():
            shutil.rmtree(link)
        link.symlink_to(Path("..") / "src" / "imggen" / "weights" / args.name)
    print(f"wrote {(package if bundled else link).relative_to(ROOT)}")
    sha256 = config.get(SHA256_KEY) or sha256_file(args.folder / WEIGHTS_NAME)
    print(f'PretrainedCfg: hub_weight("{arch}", "{tag}", "{sha256}", "<description>")')
    return 0


if __name__ == "__main__":
    sys.exit(main())
