"""Publish hub-repos/ to the Hugging Face Hub: one repo per built-in weight, pinned with a git tag (maintainers only).

Why: every pretrained tag's ``PretrainedCfg`` names ``imggen/<arch>.<tag>`` at revision ``HUB_REVISION`` ("v1")
and the full sha256 of its ``model.safetensors``. This script is what makes that true on the Hub: for each folder
``hub-repos/<arch>.<tag>`` it checks the weights' sha256 against the registry, creates the repo, uploads the
folder with ``HfApi.upload_folder`` and tags the resulting commit ``HUB_REVISION``. A tag that already exists is
never moved: if it points at the same weights the repo is left alone, otherwise the script stops (publish changed
weights under a new revision and update HUB_REVISION). The commit each tag points at is recorded in
``hub-repos/published.json``. It needs a write token (``HF_TOKEN`` or ``hf auth login``) and the network:

    python scripts/publish_hub.py                      # every repo (HF_ENDPOINT picks another Hub)
    python scripts/publish_hub.py --only 'cgan-mlp-*'  # some of them
    python scripts/publish_hub.py --check              # offline: every folder matches its PretrainedCfg
    python scripts/publish_hub.py --index              # offline: rewrite src/imggen/weights/hub-index.json
    python scripts/publish_hub.py --golden             # offline: record each generator's golden samples
    python scripts/publish_hub.py --cards              # offline: rewrite each README.md (+ samples.png)

``--index`` keeps the package's metadata index (each weight's config.json, so ``model_info`` and the zoo page need
no download) in step with hub-repos/; ``tests/test_hub.py`` fails when it is stale.
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import hashlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from imggen.registry import Entry

ROOT = Path(__file__).resolve().parents[1]
REPOS = ROOT / "hub-repos"
INDEX = ROOT / "src" / "imggen" / "weights" / "hub-index.json"
RECORD = REPOS / "published.json"


def builtin_entries() -> list[tuple[str, Entry]]:
    """``(kind, entry)`` of every registry entry imggen itself provides (plugins publish their own weights)."""
    import imggen
    from imggen.errors import ImggenError
    from imggen.registry import REGISTRIES
    from imggen.registry.registry import BUILTIN_SOURCE

    imggen.list_models()  # imports the built-in families
    found = []
    for kind in ("generators", "discriminators", "feature_extractors"):
        for name in REGISTRIES[kind].names():
            with contextlib.suppress(ImggenError):  # a plugin that fails to import is not ours to publish
                entry = REGISTRIES[kind].get(name)
                if entry.source == BUILTIN_SOURCE:
                    found.append((kind, entry))
    return found


def builtin_weights() -> dict[str, tuple[str, str, str]]:
    """``{folder name: (repo_id, revision, sha256)}`` for every built-in weight published under HUB_ORG."""
    from imggen.registry.pretrained import HUB_ORG

    found = {}
    for _, entry in builtin_entries():
        for cfg in entry.pretrained_cfgs:
            if cfg.hub_repo and cfg.hub_repo[0].startswith(f"{HUB_ORG}/"):
                repo_id, revision = cfg.hub_repo
                found[repo_id.split("/", 1)[1]] = (repo_id, revision or "main", cfg.sha256)
    return found


def check(weights: dict[str, tuple[str, str, str]]) -> list[str]:
    """Problems between hub-repos/ and the registry: missing folders, strays, wrong hashes (empty when none)."""
    problems = []
    folders = {p.name for p in REPOS.iterdir() if p.is_dir()}
    problems += [f"hub-repos/{name} is missing (registered as {weights[name][0]})"
                 for name in sorted(set(weights) - folders)]
    problems += [f"hub-repos/{name} matches no registered weight" for name in sorted(folders - set(weights))]
    for name in sorted(set(weights) & folders):
        actual = hashlib.sha256((REPOS / name / "model.safetensors").read_bytes()).hexdigest()
        if actual != weights[name][2]:
            problems.append(f"hub-repos/{name}/model.safetensors has sha256 {actual}, registered {weights[name][2]}")
    return problems


def index_text(names: list[str]) -> str:
    """The package's metadata index: each published folder's config.json by repo id, sorted."""
    from imggen.registry.pretrained import HUB_ORG

    index = {f"{HUB_ORG}/{name}": json.loads((REPOS / name / "config.json").read_text()) for name in sorted(names)}
    return json.dumps(index, indent=1, sort_keys=True) + "\n"


def record_golden(name: str) -> None:
    """Record in ``hub-repos/<name>/config.json`` its weights' sha256 and (a generator's) golden samples."""
    import torch

    import imggen
    from imggen.fileio import atomic_output
    from imggen.hub.golden import COUNT, SEED, golden_labels, golden_record

    folder = (REPOS / name).resolve()
    config = json.loads((folder / "config.json").read_text())
    # the weights' hash in config.json too, so a plain hf-hub:imggen/<name> load (any revision) is verified
    config["weights_sha256"] = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    model = imggen.create_model(folder) if config.get("kind", "generators") == "generators" else None
    if model is not None and callable(getattr(model, "sample", None)):  # SR models upscale: nothing to sample
        labels = golden_labels(getattr(model, "num_classes", 0))
        with torch.no_grad():
            images = model.sample(COUNT, labels=labels, seed=SEED, noise_device="cpu")
        config["meta"]["golden"] = golden_record(images, labels)
    with atomic_output(folder / "config.json") as tmp:
        tmp.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")


def write_card(name: str) -> None:
    """Rewrite ``hub-repos/<name>/README.md`` from its config.json (and a generator's samples.png)."""
    import imggen
    from imggen.fileio import atomic_output
    from imggen.hub import CARD_NAME, model_card, read_config
    from imggen.hub.card import SAMPLES_NAME
    from imggen.hub.folder import card_samples
    from imggen.images import save_grid

    folder = (REPOS / name).resolve()
    config = read_config(folder)
    samples = None
    if config.get("kind", "generators") == "generators":
        samples = card_samples(imggen.create_model(folder))
    if samples is not None:
        provenance = {"model": config["architecture"], "tag": name.partition(".")[2], "seed": 0,
                      "weights_sha256": hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()}
        save_grid(samples, folder / SAMPLES_NAME, nrow=4, provenance=provenance)
    with atomic_output(folder / CARD_NAME) as tmp:
        tmp.write_text(model_card(config, name=name, samples=samples is not None))


def publish(api, name: str, repo_id: str, revision: str, sha256: str) -> str:  # noqa: ANN001 - an HfApi
    """Upload ``hub-repos/<name>`` to ``repo_id`` and tag the commit ``revision``; returns the tagged commit sha."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError

    api.create_repo(repo_id, exist_ok=True)
    try:  # an existing tag is never moved
        existing = hf_hub_download(repo_id, "model.safetensors", revision=revision)
    except HfHubHTTPError:
        existing = None
    if existing is not None:
        if hashlib.sha256(Path(existing).read_bytes()).hexdigest() != sha256:
            raise SystemExit(f"{repo_id}@{revision} already holds other weights; publish under a new revision")
        return api.model_info(repo_id, revision=revision).sha
    info = api.upload_folder(repo_id=repo_id, folder_path=REPOS / name,
                             commit_message=f"imggen weights {name} (sha256 {sha256[:12]})")
    api.create_tag(repo_id, tag=revision, revision=info.oid, tag_message=f"imggen pinned revision of {name}")
    return info.oid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="*", help="shell pattern over arch.tag names (default: all)")
    parser.add_argument("--check", action="store_true", help="only check hub-repos/ against the registry")
    parser.add_argument("--index", action="store_true", help="only rewrite the package's hub-index.json")
    parser.add_argument("--cards", action="store_true", help="only rewrite each folder's model card")
    parser.add_argument("--golden", action="store_true", help="only record golden samples in each config.json")
    parser.add_argument("--record", type=Path, default=RECORD, help="where to record each tag's commit")
    args = parser.parse_args(argv)
    weights = builtin_weights()
    problems = check(weights)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    if args.cards:
        for name in sorted(n for n in weights if fnmatch.fnmatch(n, args.only)):
            write_card(name)
        print(f"wrote the model cards of {args.only}")
        return 0
    if args.golden:
        for name in sorted(n for n in weights if fnmatch.fnmatch(n, args.only)):
            record_golden(name)
        print("recorded golden samples; now run --index")
        return 0
    if args.index:
        INDEX.write_text(index_text(list(weights)))
        print(f"wrote {INDEX.relative_to(ROOT)} ({len(weights)} weights)")
        return 0
    if args.check:
        print(f"hub-repos/ holds the {len(weights)} registered weights, hashes match")
        return 0
    from huggingface_hub import HfApi

    api = HfApi()
    record = json.loads(args.record.read_text()) if args.record.is_file() else {}
    for name in sorted(n for n in weights if fnmatch.fnmatch(n, args.only)):
        repo_id, revision, sha256 = weights[name]
        commit = publish(api, name, repo_id, revision, sha256)
        record[repo_id] = {"revision": revision, "commit": commit, "sha256": sha256}
        args.record.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        print(f"{repo_id}@{revision} -> {commit}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
