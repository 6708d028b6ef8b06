"""``imggen train``: train a registered generator from the command line, or reproduce a recipe."""

from __future__ import annotations

import json
from typing import Any

import click

from imggen.registry import create_trainer
from imggen.train.recipe import run_recipe


@click.command("train")
@click.argument("model", required=False)
@click.option("--recipe", type=click.Path(dir_okay=False), help="A recipes/*.toml file to reproduce (trains, "
              "evaluates and exports the weights folder it names).")
@click.option("--set", "settings", multiple=True, metavar="SECTION.KEY=VALUE",
              help="With --recipe: change one recipe value, e.g. --set trainer.r1=1 --set fit.epochs=10.")
@click.option("--data", default="mnist", show_default=True, help="Dataset: mnist or fashion-mnist.")
@click.option("--epochs", type=float, default=None, help="Passes over the training data.")
@click.option("--steps", type=int, default=None, help="Generator updates (instead of --epochs).")
@click.option("--loss", default="ns", show_default=True,
              help="Adversarial loss: ns, hinge, lsgan, wgan or rpgan (relativistic pairing).")
@click.option("--r1", type=float, default=0.0, show_default=True, help="R1 penalty weight (0 = off).")
@click.option("--r2", type=float, default=0.0, show_default=True,
              help="R2 penalty weight: R1's penalty at the generated images (0 = off).")
@click.option("--gp", type=float, default=0.0, show_default=True, help="WGAN-GP penalty weight (0 = off).")
@click.option("--mismatched-labels", type=float, default=0.0, show_default=True,
              help="Conditional models: this fraction of each real batch is shown again with wrong labels, "
              "as fakes for the discriminator (0 = off).")
@click.option("--mode-seeking", type=float, default=0.0, show_default=True,
              help="MSGAN's diversity regulariser on the generator, with this weight (0 = off; 1 is typical).")
@click.option("--imle", type=float, default=0.0, show_default=True,
              help="IMLE term on the generator with this weight: each real image pulls its nearest sample closer "
              "(0 = off; 0.3 is a start).")
@click.option("--imle-pool", type=int, default=4, show_default=True,
              help="Samples drawn per real image for the IMLE nearest-sample search.")
@click.option("--instance-noise", type=float, default=0.0, show_default=True,
              help="Std of Gaussian noise added to every discriminator input, falling linearly to 0 (0 = off).")
@click.option("--pack", type=int, default=1, show_default=True,
              help="PacGAN: the discriminator judges packs of this many images (1 = off).")
@click.option("--spectral-norm", is_flag=True, help="Spectral normalisation of the discriminator's layers.")
@click.option("--augment", default="", help="DiffAugment policies, e.g. color,translation,cutout.")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--lr-g", type=float, default=2e-4, show_default=True)
@click.option("--lr-d", type=float, default=2e-4, show_default=True)
@click.option("--n-critic", type=int, default=1, show_default=True)
@click.option("--ema", "ema_decay", type=float, default=0.999, show_default=True, help="EMA decay (0 = off).")
@click.option("--lr-decay-start", type=float, default=None,
              help="Fraction of the run after which both learning rates fall linearly to zero (default: constant).")
@click.option("--device", default="cpu", show_default=True)
@click.option("--precision", default="fp32", show_default=True, help="fp32, bf16 or fp16 autocast.")
@click.option("--compile", "compile_", is_flag=True, help="torch.compile the networks.")
@click.option("--cuda-graphs/--no-cuda-graphs", default=None,
              help="Replay each step as one CUDA graph (default: on for a single CUDA device without --compile).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--eval-every", type=int, default=0, show_default=True, help="Evaluate every N epochs (0 = off).")
@click.option("--out", required=True, type=click.Path(file_okay=False), help="Run folder: checkpoints, samples, log.")
@click.option("--resume", is_flag=True, help="Continue exactly from OUT/last.pt.")
def train_command(model: str | None, recipe: str | None, settings: tuple[str, ...], epochs: float | None,
                  steps: int | None, out: str, resume: bool, device: str, cuda_graphs: bool | None,
                  augment: str, ema_decay: float, compile_: bool, **trainer_args: Any) -> None:
    """Train MODEL (a registered generator) on DATA, writing checkpoints and sample grids to OUT."""
    graphs = {} if cuda_graphs is None else {"cuda_graphs": cuda_graphs}
    if recipe:
        stats = run_recipe(recipe, out, resume=resume, settings=settings, device=device, **graphs)
    else:
        if settings:
            raise click.UsageError("--set changes a recipe: use it with --recipe")
        if model is None:
            raise click.UsageError("name a MODEL to train, or pass --recipe")
        if (epochs is None) == (steps is None):
            raise click.UsageError("pass exactly one of --epochs or --steps")
        trainer = create_trainer(
            "gan", generator=model, augment=[a for a in augment.split(",") if a], ema_decay=ema_decay or None,
            compile=compile_, device=device, out=out, **graphs, **trainer_args,
        )
        stats = trainer.fit(epochs=epochs, steps=steps, resume=resume)
    click.echo(json.dumps(stats, indent=2, default=str))


COMMANDS = [train_command]
