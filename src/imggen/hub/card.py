"""Model cards: the README.md of a weights folder, following the Hub's conventions, built from its config.json.

The YAML front matter carries ``library_name``, ``pipeline_tag``, ``datasets``, ``license``, ``tags`` and a
``model-index`` with the recorded metrics (each named with the feature space it is measured in); the body shows the
sample grid, a usage snippet, the metrics with what they mean, and how the weight was made. Everything comes from
config.json, so a ``save_pretrained`` of a loaded model writes the same card again.
"""

from __future__ import annotations

import json
from typing import Any

from huggingface_hub import EvalResult, ModelCardData

#: the ``imggen`` function that rebuilds each kind of saved model
LOADERS = {"generator": "create_model", "discriminator": "create_discriminator",
           "feature_extractor": "create_feature_extractor"}
#: Hub pipeline tag per kind (the Hub has no class-conditional generation tag; "conditional" is a plain tag)
PIPELINES = {"generator": "unconditional-image-generation", "feature_extractor": "image-classification"}
#: imggen dataset name → Hub dataset id, and the small feature network its metrics are measured with
DATASETS = {"mnist": "ylecun/mnist", "fashion-mnist": "zalando-datasets/fashion_mnist"}
FEATURES = {"mnist": "mnist-cnn", "fashion-mnist": "fashion-cnn"}
#: metrics of the model's own likelihood, measured on the test images themselves (no feature network)
LIKELIHOOD_METRICS = ("nll", "nll_bpd")
SAMPLES_NAME = "samples.png"
#: what each metric is, for the card's table
METRICS = {
    "fd": "Fréchet distance between sample and test-set features (lower is better)",
    "kid": "kernel distance (KID's cubic polynomial kernel) on the same features (lower is better)",
    "kid_std": "standard deviation of kid over its subsets",
    "precision": "share of samples inside the test set's feature manifold (fidelity)",
    "recall": "share of the test set inside the samples' feature manifold (diversity)",
    "density": "precision counting how many test neighbourhoods cover each sample",
    "coverage": "share of test images with a sample among their nearest neighbours",
    "cond_acc": "share of samples the classifier assigns to the label they were asked for",
    "class_coverage": "share of classes the samples cover",
    "class_kl": "KL divergence of the samples' predicted classes from uniform (lower is better)",
    "test_accuracy": "accuracy on the dataset's test split",
    "nll": "negative log-likelihood of the test images in nats per image (a VAE's: its importance-weighted bound)",
    "nll_bpd": "the same negative log-likelihood in bits per dimension (pixel)",
    "set5_psnr": "Y-PSNR in dB on Set5 (provided MATLAB LR files, scale pixels shaved)",
    "set5_ssim": "SSIM (Wang et al., 11x11 Gaussian) of the luma on Set5",
    "set14_psnr": "Y-PSNR in dB on Set14 (provided MATLAB LR files, scale pixels shaved)",
    "set14_ssim": "SSIM (Wang et al., 11x11 Gaussian) of the luma on Set14",
}


def _round(value: Any) -> Any:
    return float(f"{value:.4g}") if isinstance(value, float) else value


def is_upscaler(config: dict[str, Any]) -> bool:
    """Whether a saved model is a super-resolution model (its architecture takes ``scale=``)."""
    return "scale" in config.get("args", {})


def _sr_results(meta: dict[str, Any]) -> list[EvalResult]:
    """The model-index of an SR weight: ``<set>_<metric>`` metrics as results on each test set."""
    results = []
    for key, value in meta.get("metrics", {}).items():
        dataset, _, metric = key.partition("_")
        if metric and isinstance(value, (int, float)):
            results.append(EvalResult(task_type="image-to-image", dataset_type=dataset, dataset_name=dataset,
                                      metric_type=metric, metric_value=_round(value),
                                      metric_name=f"Y-{metric.upper()} (BT.601, scale pixels shaved)"))
    return results


def card_data(config: dict[str, Any], name: str) -> ModelCardData:
    """The card's YAML metadata: library, pipeline, datasets, license, tags and a model-index of the metrics."""
    meta = config.get("meta", {})
    kind = config.get("kind", "generators").removesuffix("s")
    data = meta.get("data")
    if is_upscaler(config):
        return ModelCardData(library_name="imggen", pipeline_tag="image-to-image", license=meta.get("license", "mit"),
                             datasets=[data] if data else None, model_name=name,
                             tags=["imggen", "super-resolution", config["architecture"]],
                             eval_results=_sr_results(meta) or None)
    features = meta.get("feature_extractor") or FEATURES.get(data or "", "the dataset's feature network")
    pipeline = PIPELINES.get(kind)
    results = [
        EvalResult(task_type=pipeline or "other", dataset_type=DATASETS.get(data, data),
                   dataset_name=f"{data} test split", dataset_split="test", metric_type=metric,
                   metric_value=_round(value),
                   metric_name=f"{metric} ({features} features)"
                   if kind == "generator" and metric not in LIKELIHOOD_METRICS else metric)
        for metric, value in meta.get("metrics", {}).items() if isinstance(value, (int, float)) and data
    ]
    conditional = bool(config.get("args", {}).get("num_classes"))
    return ModelCardData(
        library_name="imggen", pipeline_tag=pipeline, license=meta.get("license", "mit"),
        datasets=[DATASETS.get(data, data)] if data else None, model_name=name,
        tags=["imggen", "image-generation" if kind == "generator" else kind, config["architecture"]]
        + (["class-conditional"] if conditional and kind == "generator" else []),
        eval_results=results or None,
    )


def _usage(config: dict[str, Any], load_as: str, kind: str) -> str:
    loader = LOADERS.get(kind, "create_model")
    if is_upscaler(config):
        scale = config["args"]["scale"]
        return (f"```python\nimport imggen\nfrom PIL import Image\n\nmodel = imggen.create_model(\"{load_as}\")\n"
                f"bigger = model.upscale(Image.open(\"photo.png\"))  # {scale} times larger; tensors (N, C, H, W) in "
                "[0, 1] work too\n```\n\n"
                f"or from a shell: `imggen upscale photo.png -s {scale} -m {load_as} -o photo-x{scale}.png`\n")
    if kind != "generator":
        return f"```python\nimport imggen\n\nmodel = imggen.{loader}(\"{load_as}\")\n```\n"
    classes = config.get("args", {}).get("num_classes") or 0
    labels = f", labels=list(range({classes}))" if classes else ""
    n = classes or 16
    return (f"```python\nimport imggen\n\nmodel = imggen.create_model(\"{load_as}\")\n"
            f"images = model.sample({n}{labels}, seed=0)  # ({n}, C, H, W), values in [0, 1]\n```\n\n"
            f"or from a shell: `imggen sample {load_as} -n {n} -o grid.png`\n")


def _metrics(meta: dict[str, Any], kind: str) -> str:
    metrics = meta.get("metrics", {}) or ({"test_accuracy": meta["test_accuracy"]} if "test_accuracy" in meta else {})
    if not metrics:
        return "No metrics were recorded for these weights.\n"
    rows = "\n".join(f"| {k} | {_round(v)} | {METRICS.get(k, '')} |" for k, v in metrics.items())
    table = f"| metric | value | meaning |\n| --- | --- | --- |\n{rows}\n"
    data = meta.get("data")
    if kind != "generator" or not data:
        return table
    features = meta.get("feature_extractor") or FEATURES.get(data, "the dataset's feature network")
    n = meta.get("recipe_resolved", {}).get("eval", {}).get("n")
    return (
        f"{table}\n**Feature space.** The distances and manifold metrics are measured in the 128-d penultimate "
        f"features of imggen's small `{features}` classifier, trained on {data}, comparing "
        + (f"{n:,} samples with " if n else "samples with ")
        + f"the {data} test split. This is not Inception-v3 FID: the numbers compare imggen models on this dataset "
        "with each other, not with FID values published elsewhere. `cond_acc` uses the same classifier's "
        "predictions.\n"
    )


def model_card(config: dict[str, Any], *, name: str | None = None, samples: bool = False) -> str:
    """A README.md model card with Hub metadata, built from the folder's config.

    ``name`` is how users load it (``"hf-hub:org/repo"`` or a registered ``arch.tag``; a folder path otherwise);
    ``samples`` says whether the folder holds :data:`SAMPLES_NAME` to show.
    """
    meta = config.get("meta", {})
    kind = "super-resolution model" if is_upscaler(config) else config.get("kind", "generators").removesuffix("s")
    load_as = name or "path/to/this/folder"
    title = name.removeprefix("hf-hub:") if name else config["architecture"]
    lines = [f"---\n{card_data(config, title).to_yaml()}\n---\n", f"# {title}\n",
             f"An imggen {kind.replace('_', ' ')} (architecture `{config['architecture']}`)."
             + (f" {meta['description']}" if meta.get("description") else "") + "\n"]
    if samples:
        lines.append(f"![16 samples, seed 0]({SAMPLES_NAME})\n")
    lines += ["## Usage\n", _usage(config, load_as, kind), "## Metrics\n", _metrics(meta, kind), "## How it was made\n"]
    made = [f"- architecture arguments: `{json.dumps(config.get('args', {}), sort_keys=True)}`"]
    made += [f"- recipe: `{meta['recipe']}`"] if meta.get("recipe") else []
    made += [f"- data: {meta['data']} (archives' sha256 in config.json)"] if meta.get("data") else []
    if "steps" in meta and "epochs" in meta:
        made.append(f"- {meta['steps']} steps ({_round(float(meta['epochs']))} epochs)")
    if config.get("weights_sha256"):
        made.append(f"- weights: `model.safetensors`, sha256 `{config['weights_sha256']}`")
    made += [f"- saved by imggen {config['imggen_version']}"] if config.get("imggen_version") else []
    lines.append("\n".join(made) + "\n")
    if kind == "generator":
        lines.append("Images made with this model are machine-generated.\n")
    return "\n".join(lines)
