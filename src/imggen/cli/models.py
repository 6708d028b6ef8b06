"""``imggen list``, ``imggen info`` and ``imggen sample``."""

from __future__ import annotations

import json

import click
import torch

from imggen.fileio import check_parent_dir
from imggen.images import save_grid
from imggen.registry import create_model, list_models, model_info

MAX_LABELS = 10_000  # a longer --labels list is a typo (0-99999), not a request; refuse it before allocating


def parse_labels(text: str) -> list[int]:
    """``"0-9"`` → 0..9, ``"3,3,7"`` → [3, 3, 7], ``"0-2,7"`` → [0, 1, 2, 7]."""
    labels: list[int] = []
    for part in text.split(","):
        part = part.strip()
        lo, sep, hi = part.partition("-")
        try:
            if sep:
                start, stop = int(lo), int(hi)
                if stop < start:
                    raise ValueError
                if len(labels) + stop - start + 1 > MAX_LABELS:
                    raise click.BadParameter(f"label spec {text!r} gives more than {MAX_LABELS} labels")
                labels += range(start, stop + 1)
            else:
                labels.append(int(part))
        except ValueError:
            raise click.BadParameter(
                f"bad label spec {part!r} in {text!r}: use integers, ranges like 0-9, separated by commas"
            ) from None
    return labels


@click.command("list")
@click.argument("filter", default="*")
@click.option("--pretrained", is_flag=True, help="List one name.tag per pretrained weight.")
def list_command(filter: str, pretrained: bool) -> None:
    """List registered generators matching FILTER (shell wildcards)."""
    for name in list_models(filter, pretrained=pretrained):
        click.echo(name)


@click.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the full description as JSON.")
def info_command(name: str, as_json: bool) -> None:
    """Describe a generator: parameters, output, conditioning, pretrained weights and their metrics."""
    info = model_info(name)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"{info['name']}: {info['description']}")
    for key in ("provided_by", "parameters", "output_shape", "conditional", "num_classes", "arguments"):
        if key in info:
            click.echo(f"  {key}: {info[key]}")
    if not info["pretrained"]:
        click.echo("  pretrained: none")
    for weight in info["pretrained"]:
        default = " (default)" if weight["default"] else ""
        click.echo(f"  pretrained {weight['name']}{default}: {weight['source']}, license {weight['license']}")
        for metric, value in weight["metrics"].items():
            click.echo(f"    {metric}: {value}")


@click.command("sample")
@click.argument("name")
@click.option("--pretrained", is_flag=True, help="Load the default (or NAME.tag) pretrained weights.")
@click.option("-n", "--num", "n", default=64, show_default=True, help="Number of images.")
@click.option("--labels", default=None, help="Class labels for conditional models: 0-9 or 3,3,7 (cycled).")
@click.option("--seed", default=0, show_default=True, help="Random seed; the same seed gives the same images.")
@click.option("--device", default="cpu", show_default=True, help="Device to sample on (cpu, cuda, ...).")
@click.option("-o", "--output", default="samples.png", show_default=True, help="PNG file for the grid.")
def sample_command(name: str, pretrained: bool, n: int, labels: str | None, seed: int, device: str,
                   output: str) -> None:
    """Sample N images from a generator and save them as one PNG grid with provenance."""
    check_parent_dir(output)
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        raise click.BadParameter("CUDA is not available on this machine; use --device cpu", param_hint="--device")
    model = create_model(name, pretrained=pretrained).to(torch.device(device)).eval()
    label_list = parse_labels(labels) if labels is not None else None
    if label_list is None and getattr(model, "conditional", False):
        label_list = list(range(model.num_classes))
    images = model.sample(n, labels=label_list, seed=seed)
    nrow = len(label_list) if label_list and len(label_list) <= 16 else None
    provenance = {"model": model.imggen_cfg["architecture"], "tag": model.pretrained_tag,
                  "weights_sha256": model.weights_sha256, "seed": seed,
                  "labels": labels if labels is not None else None}
    save_grid(images, output, nrow=nrow, provenance=provenance)
    click.echo(f"wrote {n} images from {name} to {output}")


COMMANDS = [list_command, info_command, sample_command]
