"""``imggen list``, ``imggen info`` and ``imggen sample``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from imggen.cli.options import DEVICE_HELP, check_weights_choice, parse_device, pretrained_option
from imggen.errors import ImggenError
from imggen.fileio import check_parent_dir
from imggen.registry import create_model, list_models, model_info
from imggen.registry.factory import split_name

MAX_LABELS = 10_000  # a longer --labels list is a typo (0-99999), not a request; refuse it before allocating
GRID_ROWS = 8  # the default -n fills this many rows
TENSOR_FORMATS = (".pt", ".npz")


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
@click.option("--pretrained", is_flag=True, help="List one name.tag per pretrained weight, the defaults marked.")
def list_command(filter: str, pretrained: bool) -> None:
    """List registered generators matching FILTER (shell wildcards)."""
    if not pretrained:
        for name in list_models(filter):
            click.echo(name)
        return
    for name in list_models(filter, pretrained=True):
        arch, tag = split_name(name)
        default = model_info(arch)["default_tag"] == tag
        click.echo(f"{name}  (default)" if default else name)


def rounded(value: Any) -> str:
    """A metric as printed by ``imggen info``: four significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@click.command("info")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON (metrics unrounded).")
def info_command(name: str, as_json: bool) -> None:
    """Describe a generator, or one of its pretrained weights (NAME.TAG)."""
    info = model_info(name)
    _, tag = split_name(name)
    if tag is not None:  # model_info has checked that the tag exists
        info["pretrained"] = [w for w in info["pretrained"] if w["tag"] == tag]
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"{info['name']}: {info['description']}")
    for key in ("provided_by", "parameters", "output_shape", "conditional", "num_classes", "arguments",
                "sampling_options"):
        if key in info:
            click.echo(f"  {key}: {info[key]}")
    if not info["pretrained"]:
        click.echo("  pretrained: none")
    for weight in info["pretrained"]:
        default = " (default)" if weight["default"] else ""
        click.echo(f"  pretrained {weight['name']}{default}: {weight['source']}, license {weight['license']}")
        if tag is not None:
            click.echo(f"    sha256: {weight['sha256']}")
        for metric, value in weight["metrics"].items():
            click.echo(f"    {metric}: {rounded(value)}")


def output_kind(output: str) -> str:
    """What ``-o`` asks for: ``"grid"`` (.png), ``"tensors"`` (.pt or .npz) or ``"folder"`` (no suffix)."""
    suffix = Path(output).suffix.lower()
    if suffix == ".png":
        return "grid"
    if suffix in TENSOR_FORMATS:
        return "tensors"
    if not suffix or output.endswith(("/", "\\")):
        return "folder"
    raise ImggenError(f"-o {output}: use NAME.png for a grid, a folder name (no suffix) for one PNG per image, or "
                      "NAME.pt / NAME.npz for tensors")


def parse_options(options: tuple[str, ...]) -> dict[str, object]:
    """``("noise_scale=1.2", "output=sample")`` → ``{"noise_scale": 1.2, "output": "sample"}`` (numbers as numbers)."""
    parsed: dict[str, object] = {}
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{option!r} must look like KEY=VALUE, e.g. noise_scale=1.2",
                                     param_hint="--option")
        try:
            parsed[key.strip()] = int(value) if value.strip().lstrip("-").isdigit() else float(value)
        except ValueError:
            parsed[key.strip()] = value.strip()
    return parsed


def default_count(label_list: list[int] | None, nrow: int | None) -> int:
    """The default ``-n``: full rows, :data:`GRID_ROWS` of them (one column per label when labels make the rows)."""
    if nrow:
        return GRID_ROWS * nrow
    return len(label_list) if label_list else GRID_ROWS * GRID_ROWS


@click.command("sample")
@click.argument("name")
@pretrained_option
@click.option("-n", "--num", "n", type=int, default=None,
              help="Number of images [default: 8 full rows: 64, or 8 per label for conditional models].")
@click.option("--labels", default=None, help="Class labels for conditional models: 0-9 or 3,3,7 (cycled).")
@click.option("--seed", default=0, show_default=True, help="Random seed; the same seed gives the same images.")
@click.option("--device", default="cpu", show_default=True, help=DEVICE_HELP)
@click.option("-o", "--output", default="samples.png", show_default=True,
              help="NAME.png: one grid; a folder name (no suffix): one PNG per image; NAME.pt or NAME.npz: the "
              "images as a float tensor (N, C, H, W) in [0, 1] with their labels.")
@click.option("--option", "options", multiple=True, metavar="KEY=VALUE",
              help="A sampling option of the model's family, e.g. --option noise_scale=1.2 or --option temperature=0.8 "
              "(repeatable; `imggen info NAME` lists them).")
@click.option("--batch-size", default=1024, show_default=True, help="Images generated at a time (bounds memory).")
@click.option("--cpu-noise", is_flag=True,
              help="Draw the noise on the CPU: a seed then gives the same images on every device (a GPU samples "
              "faster without it).")
def sample_command(name: str, pretrained: bool, random_weights: bool, n: int | None, labels: str | None, seed: int,
                   device: str, output: str, options: tuple[str, ...], batch_size: int, cpu_noise: bool) -> None:
    """Sample N images from a generator and save them with provenance."""
    from imggen.images import save_grid, save_image_folder, save_tensors

    kind = output_kind(output)
    check_parent_dir(output.rstrip("/\\") if kind == "folder" else output)
    label_list = parse_labels(labels) if labels is not None else None
    check_weights_choice(name, pretrained, random_weights)
    target = parse_device(device)
    model = create_model(name, pretrained=pretrained).to(target).eval()
    if not callable(getattr(model, "sample", None)):
        raise ImggenError(f"{name} is a super-resolution model: it upscales pictures instead of sampling them; use "
                          f"imggen upscale PICTURE -s {getattr(model, 'scale', 3)} -m {name} -o OUT.png")
    if label_list is None and getattr(model, "conditional", False):
        label_list = list(range(model.num_classes))
    nrow = len(label_list) if label_list and len(label_list) <= 16 else None
    n = default_count(label_list, nrow) if n is None else n
    sampling = parse_options(options)
    provenance = {"model": model.imggen_cfg["architecture"], "tag": model.pretrained_tag,
                  "weights_sha256": model.weights_sha256, "seed": seed,
                  "labels": labels if labels is not None else None, **sampling}
    noise_device = "cpu" if cpu_noise else None
    if cpu_noise:
        provenance["noise_device"] = "cpu"
    if kind == "folder":  # streamed batch by batch: any n that fits on disk, in bounded memory
        done = 0
        for batch, used in model.iter_samples(n, labels=label_list, seed=seed, batch_size=batch_size,
                                              noise_device=noise_device, **sampling):
            save_image_folder(batch, output, labels=None if used is None else used.tolist(), provenance=provenance,
                              start=done, total=n)
            done += len(batch)
        click.echo(f"wrote {n} images from {name} to {output}")
        return
    images = model.sample(n, labels=label_list, seed=seed, batch_size=batch_size, noise_device=noise_device,
                          **sampling)
    used = [label_list[i % len(label_list)] for i in range(n)] if label_list else None
    if kind == "grid":
        save_grid(images, output, nrow=nrow, provenance=provenance)
    else:
        save_tensors(images, output, labels=used, provenance=provenance)
    click.echo(f"wrote {n} images from {name} to {output}")


COMMANDS = [list_command, info_command, sample_command]
