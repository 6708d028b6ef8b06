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
from imggen.metrics import DEFAULT_METRICS, HIGHER_IS_BETTER, evaluate, likelihood_metrics, likelihood_test_split
from imggen.metrics.reference import default_feature_extractor, parse_reference, recorded_dataset
from imggen.metrics.sr import TEST_SETS, evaluate_upscaler
from imggen.models.base import ImageToImage, Likelihood
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


def likelihood_inputs(model: torch.nn.Module) -> str:
    """How a likelihood model reads test images: as its weights were measured in training (``protocol.inputs`` in
    their metadata), else as the model declares (``training_inputs``: a Bernoulli model says ``binarized``)."""
    recorded = recorded_meta(model).get("protocol", {}).get("inputs")
    return recorded or getattr(model, "training_inputs", "grey")


def parse_log_prob_args(pairs: tuple[str, ...]) -> dict:
    """``KEY=VALUE`` pairs as keyword arguments of ``log_prob`` (values read as JSON: ``k=1000`` is an integer)."""
    args = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.isidentifier():
            raise click.BadParameter(f"expected KEY=VALUE (e.g. k=1000), got {pair!r}", param_hint="--log-prob-arg")
        try:
            args[key] = json.loads(value)
        except json.JSONDecodeError:
            args[key] = value
    return args


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
@click.option("--nll-n", default=10000, show_default=True, type=click.IntRange(min=0),
              help="Likelihood models (VAEs, PixelCNNs): test images to measure the NLL on (nats and bits/dim); "
              "0 skips it. Bernoulli models read the fixed seeded binarization of the test split.")
@click.option("--log-prob-arg", "log_prob_pairs", multiple=True, metavar="KEY=VALUE",
              help="Passed to the model's log_prob, e.g. k=1000 for a VAE's importance-weighted bound (repeatable).")
@click.option("--sets", default=",".join(TEST_SETS), show_default=True,
              help="Super-resolution models: the test sets to score on (their provided LR files).")
@click.option("--self-ensemble", is_flag=True,
              help="Super-resolution models: score the mean over the 8 flips and quarter turns of each picture.")
def eval_command(name: str, pretrained: bool, random_weights: bool, n: int, metrics: str, reference: str | None,
                 feature_extractor: str | None, json_path: str | None, seed: int, batch_size: int,
                 device: str, nll_n: int, log_prob_pairs: tuple[str, ...], sets: str, self_ensemble: bool) -> None:
    """Score generator NAME[.tag] against real data (or an SR model on Set5/Set14) and print a table.

    A generator's N samples are scored with the metrics; a likelihood model (a VAE, a PixelCNN) also gets its
    negative log-likelihood of the test split; a super-resolution model upscales the test sets' LR files and is
    scored with Y-PSNR / SSIM."""
    if json_path:
        check_parent_dir(json_path)
    check_weights_choice(name, pretrained, random_weights)
    target = parse_device(device)
    model = create_model(name, pretrained=pretrained).to(target)
    if isinstance(model, ImageToImage):
        eval_upscaler(model, name, pretrained, [s.strip() for s in sets.split(",") if s.strip()], json_path,
                      self_ensemble)
        return
    if self_ensemble:
        raise click.BadParameter(f"{name} is not a super-resolution model; --self-ensemble is for those",
                                 param_hint="--self-ensemble")
    arch = model.imggen_cfg["architecture"]
    reference = reference or f"{recorded_dataset(arch, recorded_meta(model))}:test"
    features = feature_extractor or default_feature_extractor(parse_reference(reference)[0])
    log_prob_args = parse_log_prob_args(log_prob_pairs)
    results = evaluate(model, n=n, metrics=metrics, reference=reference, feature_extractor=features,
                       seed=seed, batch_size=batch_size, device=device, progress=None)
    nll_note = ""
    if isinstance(model, Likelihood) and nll_n:
        inputs = likelihood_inputs(model)
        images, labels = likelihood_test_split(parse_reference(reference)[0], inputs)
        results.update(likelihood_metrics(model, images[:nll_n], labels[:nll_n], batch_size, **log_prob_args))
        nll_note = f"; NLL on {min(nll_n, len(images))} test images ({inputs})"
    click.echo(f"{name}{' (pretrained)' if pretrained else ''}: {n} samples vs {reference} in {features} "
               f"features, seed {seed}{nll_note}")
    click.echo(format_table(results))
    if json_path:
        record = {"model": name, "pretrained": pretrained, "weights_sha256": model.weights_sha256,
                  "sampling": {**model.sampling_defaults, **model.sampling_config}, "n": n,
                  "reference": reference, "features": features, "seed": seed, "metrics": results}
        if "nll" in results:
            record["nll"] = {"n": min(nll_n, len(images)), "inputs": inputs, "log_prob_args": log_prob_args}
        with atomic_output(json_path) as tmp:
            tmp.write_text(json.dumps(record, indent=2) + "\n")
        click.echo(f"wrote {json_path}")


def eval_upscaler(model: torch.nn.Module, name: str, pretrained: bool, sets: list[str], json_path: str | None,
                  self_ensemble: bool = False) -> None:
    """Print (and optionally write) the Y-PSNR / SSIM of a super-resolution model on ``sets``."""
    results = evaluate_upscaler(model, sets, self_ensemble=self_ensemble)
    click.echo(f"{name}{' (pretrained)' if pretrained else ''}: x{model.scale} on {', '.join(sets)} (provided LR "
               f"files), Y-PSNR in dB and SSIM, {model.scale} pixels shaved"
               f"{', mean over the 8 flips and turns' if self_ensemble else ''}")
    click.echo(format_table(results))
    if json_path:
        record = {"model": name, "pretrained": pretrained, "weights_sha256": model.weights_sha256,
                  "scale": model.scale, "sets": sets, "self_ensemble": self_ensemble, "metrics": results}
        with atomic_output(json_path) as tmp:
            tmp.write_text(json.dumps(record, indent=2) + "\n")
        click.echo(f"wrote {json_path}")


COMMANDS = [eval_command]
