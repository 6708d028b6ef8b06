"""``imggen eval``: a thin wrapper over :func:`imggen.metrics.evaluate` (generators) and
:func:`imggen.metrics.sr.evaluate_upscaler` (super-resolution models: Y-PSNR / SSIM on Set5 and Set14).

The maintainer tools that write docs pages (the zoo, the calibration table) are not user commands: they live in
:mod:`imggen.reports` and run as ``python -m imggen.reports.zoo`` / ``python -m imggen.reports.calibration``.
"""

from __future__ import annotations

import json

import click
import torch

from imggen.cli.options import DEVICE_HELP, check_weights_choice, parse_device, pretrained_option
from imggen.fileio import atomic_output, check_parent_dir
from imggen.metrics import DEFAULT_METRICS, HIGHER_IS_BETTER, evaluate
from imggen.metrics.reference import default_feature_extractor, parse_reference, recorded_dataset
from imggen.metrics.sr import TEST_SETS, evaluate_upscaler
from imggen.models.base import ImageToImage
from imggen.registry import create_model, model_info


def format_table(results: dict[str, float]) -> str:
    """Metric results as an aligned two-column text table with the better direction."""
    rows = [(k, f"{v:.5g}", "higher" if HIGHER_IS_BETTER.get(k, True) else "lower") for k, v in results.items()]
    width = max([len("metric"), *(len(r[0]) for r in rows)])
    lines = [f"{'metric':<{width}}  {'value':>10}  better", f"{'-' * width}  {'-' * 10}  ------"]
    lines += [f"{k:<{width}}  {v:>10}  {b}" for k, v, b in rows]
    return "\n".join(lines)


def recorded_meta(model: torch.nn.Module) -> dict:
    """What is recorded about a built model's weights (pretrained tag or saved folder), for its dataset."""
    if getattr(model, "pretrained_tag", None):
        weights = model_info(model.imggen_cfg["architecture"])["pretrained"]
        return next(w["meta"] for w in weights if w["tag"] == model.pretrained_tag)
    return model.imggen_cfg.get("meta", {})


@click.command("eval")
@click.argument("name")
@pretrained_option
@click.option("-n", "--num", "n", default=10000, show_default=True, help="Number of samples to score.")
@click.option("--metrics", default=",".join(DEFAULT_METRICS), show_default=True,
              help="Comma-separated: fd, kid, pr (precision/recall), dc (density/coverage), classes, cond_acc.")
@click.option("--reference", default=None, help="Real reference set dataset:split [default: the model's dataset, "
              "test split, e.g. mnist:test].")
@click.option("--features", "--feature-extractor", "feature_extractor", default=None,
              help="Feature network, e.g. mnist-timm-resnet for the second space (default: the dataset's CNN).")
@click.option("--json", "json_path", default=None, help="Also write the results to this JSON file.")
@click.option("--seed", default=0, show_default=True, help="Sampling seed.")
@click.option("--batch-size", default=1000, show_default=True)
@click.option("--device", default="cpu", show_default=True, help=DEVICE_HELP)
@click.option("--sets", default=",".join(TEST_SETS), show_default=True,
              help="Super-resolution models: the test sets to score on (their provided LR files).")
def eval_command(name: str, pretrained: bool, random_weights: bool, n: int, metrics: str, reference: str | None,
                 feature_extractor: str | None, json_path: str | None, seed: int, batch_size: int,
                 device: str, sets: str) -> None:
    """Score generator NAME[.tag] against real data (or an SR model on Set5/Set14) and print a table.

    A generator's N samples are scored with the metrics; a super-resolution model upscales the test sets' LR files
    and is scored with Y-PSNR / SSIM."""
    if json_path:
        check_parent_dir(json_path)
    check_weights_choice(name, pretrained, random_weights)
    target = parse_device(device)
    model = create_model(name, pretrained=pretrained).to(target)
    if isinstance(model, ImageToImage):
        eval_upscaler(model, name, pretrained, [s.strip() for s in sets.split(",") if s.strip()], json_path)
        return
    arch = model.imggen_cfg["architecture"]
    reference = reference or f"{recorded_dataset(arch, recorded_meta(model))}:test"
    features = feature_extractor or default_feature_extractor(parse_reference(reference)[0])
    results = evaluate(model, n=n, metrics=metrics, reference=reference, feature_extractor=features,
                       seed=seed, batch_size=batch_size, device=device, progress=None)
    click.echo(f"{name}{' (pretrained)' if pretrained else ''}: {n} samples vs {reference} in {features} "
               f"features, seed {seed}")
    click.echo(format_table(results))
    if json_path:
        record = {"model": name, "pretrained": pretrained, "weights_sha256": model.weights_sha256, "n": n,
                  "reference": reference, "features": features, "seed": seed, "metrics": results}
        with atomic_output(json_path) as tmp:
            tmp.write_text(json.dumps(record, indent=2) + "\n")
        click.echo(f"wrote {json_path}")


def eval_upscaler(model: torch.nn.Module, name: str, pretrained: bool, sets: list[str], json_path: str | None) -> None:
    """Print (and optionally write) the Y-PSNR / SSIM of a super-resolution model on ``sets``."""
    results = evaluate_upscaler(model, sets)
    click.echo(f"{name}{' (pretrained)' if pretrained else ''}: x{model.scale} on {', '.join(sets)} (provided LR "
               f"files), Y-PSNR in dB and SSIM, {model.scale} pixels shaved")
    click.echo(format_table(results))
    if json_path:
        record = {"model": name, "pretrained": pretrained, "weights_sha256": model.weights_sha256,
                  "scale": model.scale, "sets": sets, "metrics": results}
        with atomic_output(json_path) as tmp:
            tmp.write_text(json.dumps(record, indent=2) + "\n")
        click.echo(f"wrote {json_path}")


COMMANDS = [eval_command]
