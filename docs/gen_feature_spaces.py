"""Score every default generator weight of MNIST and Fashion-MNIST in both feature spaces; write the table in
``docs/evaluation.md``.

Run from the repo root (CPU-heavy: one ``imggen eval`` of 10,000 samples per weight and feature network)::

    OMP_NUM_THREADS=1 python docs/gen_feature_spaces.py

Each row is a real ``imggen eval hub-repos/ARCH.TAG -n 10000 --features NETWORK --nll-n 0 --json ...`` run (the
repository's copy of the weight's Hub folder, so no network is needed; a likelihood model's NLL is in its own
metadata), its JSON record kept under ``docs/assets/feature-spaces/``; the floor is 10,000 real training images scored
the same way (the calibration table's floor row). The table between the markers in ``docs/evaluation.md`` is
rewritten, never typed; a new family's default weight gets its rows as soon as it ships.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from generated import HUB_REPOS, load_shipped, markers, replace_block

import imggen
from imggen.metrics import score_images
from imggen.metrics.reference import feature_networks, real_subset

DOCS = Path(__file__).resolve().parent
RECORDS = DOCS / "assets" / "feature-spaces"
PAGE = DOCS / "evaluation.md"
BLOCK = markers("feature-spaces", "python docs/gen_feature_spaces.py")
SAMPLES = 10000


def default_weights() -> list[tuple[str, str]]:
    """``(arch.tag, dataset)`` of each generator family's default weight whose dataset has feature networks."""
    found = []
    for name in imggen.list_models(pretrained=True):
        arch, tag = name.split(".", 1)
        weight = next(w for w in imggen.model_info(arch)["pretrained"] if w["tag"] == tag)
        dataset = weight["meta"].get("data", "")  # recorded by its canonical name (mnist, fashion-mnist, bsd100)
        if weight["default"] and feature_networks(dataset):
            found.append((name, dataset))
    return found


def record_path(weight: str, network: str) -> Path:
    """Where the JSON record of ``weight`` (``arch.tag``, its family's default) scored in ``network``'s space is kept:
    one file per architecture, rewritten when its default changes."""
    return RECORDS / f"{weight.split('.', 1)[0]}.{network}.json"


def stale(record: dict, model: imggen.models.Generator) -> bool:
    """Whether ``record`` scored other samples than ``model`` draws now: other weights, or other sampling defaults
    (a weight re-released with a new default noise scale keeps its weights file, and so its hash)."""
    sampling = {**model.sampling_defaults, **model.sampling_config}
    return record["weights_sha256"] != model.weights_sha256 or record.get("sampling") != sampling


def eval_command(weight: str, network: str) -> list[str]:
    """The ``imggen eval`` arguments that score ``weight`` in ``network``'s space and keep the JSON record."""
    return ["eval", str((HUB_REPOS / weight).relative_to(DOCS.parent)), "-n", str(SAMPLES), "--features", network,
            "--nll-n", "0", "--json", str(record_path(weight, network).relative_to(DOCS.parent))]


def floor(dataset: str, network: str) -> dict[str, float]:
    """The real-data floor in ``network``'s space: 10,000 real train images vs the test split."""
    images = real_subset(dataset, "train", SAMPLES)[0].float() / 255
    return score_images(images, reference=f"{dataset}:test", metrics="fd,pr", feature_extractor=network)


def table(rows: list[tuple[str, str, dict, dict[str, float], float]]) -> str:
    """The markdown table: per weight and network, fd beside its floor, precision, recall, cond_acc."""
    lines = ["| weight | feature network | fd ↓ | real-data floor fd | fd / floor | precision ↑ | recall ↑ | "
             "class_coverage ↑ | cond_acc ↑ | network's test accuracy |",
             "| --- | --- |" + " ---: |" * 8]
    for weight, network, record, real, acc in rows:
        m = record["metrics"]
        cond = f"{m['cond_acc']:.4f}" if "cond_acc" in m else "–"
        lines.append(f"| `{weight}` | `{network}` | {m['fd']:.4g} | {real['fd']:.4g} | {m['fd'] / real['fd']:.2f} | "
                     f"{m['precision']:.4f} | {m['recall']:.4f} | {m['class_coverage']:.3g} | {cond} | {acc:.4f} |")
    return "\n".join(lines)


def main() -> int:
    """Run the evaluations not recorded yet for the current weights, then rewrite the table in the page."""
    RECORDS.mkdir(parents=True, exist_ok=True)
    rows, floors = [], {}
    for weight, dataset in default_weights():
        model = load_shipped(weight)
        for network in feature_networks(dataset):
            path = record_path(weight, network)
            if not path.is_file() or stale(json.loads(path.read_text()), model):
                print("imggen", *eval_command(weight, network), flush=True)
                subprocess.run([sys.executable, "-m", "imggen", *eval_command(weight, network)], check=True)
            record = json.loads(path.read_text())
            if (dataset, network) not in floors:
                floors[dataset, network] = floor(dataset, network)
            accuracy = imggen.model_info(network, kind="feature_extractors")["pretrained"][0]["meta"]["test_accuracy"]
            rows.append((weight, network, record, floors[dataset, network], accuracy))
    replace_block(PAGE, BLOCK, table(rows))
    print(f"wrote the table in {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
