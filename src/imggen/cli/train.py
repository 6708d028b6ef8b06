"""``imggen train`` and ``imggen export``: train from a recipe (or a model's default recipe) plus ``--set`` changes,
ending in a weights folder that ``imggen sample`` and ``create_model`` load."""

from __future__ import annotations

import json

import click

from imggen.train.recipe import default_recipe, export_checkpoint, run_recipe


@click.command("train")
@click.argument("model", required=False)
@click.option("--recipe", type=click.Path(dir_okay=False), help="A recipes/*.toml file to reproduce (trains, "
              "evaluates and exports the weights folder OUT/weights).")
@click.option("--set", "settings", multiple=True, metavar="SECTION.KEY=VALUE",
              help="Change one recipe value, e.g. --set task.parts.r1.gamma=3 --set fit.epochs=10 "
              "--set trainer.data=fashion-mnist (repeatable).")
@click.option("--out", required=True, type=click.Path(file_okay=False),
              help="Run folder: checkpoints, samples, log, and the exported weights/ folder.")
@click.option("--resume", is_flag=True, help="Continue exactly from OUT/last.pt.")
@click.option("--allow-change", "allow", multiple=True, metavar="KEY",
              help="With --resume: a trainer setting that may differ from the checkpoint's (e.g. batch_size).")
@click.option("--device", default=None, help="Train on this device (cpu, cuda, cuda:1); default: the recipe's.")
@click.option("--init", default=None, metavar="NAME[.TAG]|FOLDER",
              help="Fine-tune: start from these pretrained weights (a registered name, a weights folder, a training "
              "bundle or a run folder; a bundle also starts the discriminator). Same as --set trainer.init=...")
@click.option("--freeze", multiple=True, metavar="PATTERN",
              help="Keep the parameters whose network.name matches this shell pattern fixed, e.g. 'g.stem.*' or "
              "'d.features.0.*' (repeatable). Same as --set trainer.freeze=[...]")
def train_command(model: str | None, recipe: str | None, settings: tuple[str, ...], out: str, resume: bool,
                  allow: tuple[str, ...], device: str | None, init: str | None, freeze: tuple[str, ...]) -> None:
    """Train MODEL with its default recipe (one epoch of MNIST; change it with --set), or reproduce --recipe."""
    if (model is None) == (recipe is None):
        raise click.UsageError("name a MODEL to train, or pass --recipe FILE (not both)")
    # recorded as recipe settings, so the exported config says how the run started
    settings += (f"trainer.init={json.dumps(init)}",) if init else ()
    settings += (f"trainer.freeze={json.dumps(list(freeze))}",) if freeze else ()
    overrides = {"device": device} if device else {}
    stats = run_recipe(recipe or default_recipe(model), out, resume=resume, resume_changes=allow, settings=settings,
                       **overrides)
    click.echo(json.dumps(stats, indent=2, default=str))
    click.echo(f"weights: {stats['folder']} (imggen sample {stats['folder']} -o samples.png)", err=True)


@click.command("export")
@click.argument("run_dir", type=click.Path(file_okay=False, exists=True))
@click.option("-o", "--out", "folder", required=True, type=click.Path(file_okay=False),
              help="The weights folder to write (config.json + model.safetensors + README.md).")
def export_command(run_dir: str, folder: str) -> None:
    """Export the model of RUN_DIR's last checkpoint as a weights folder."""
    click.echo(export_checkpoint(run_dir, folder))


COMMANDS = [train_command, export_command]
