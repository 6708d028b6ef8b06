"""``imggen eval`` and ``imggen zoo`` from the command line, and the generated docs pages being current."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import imggen
from imggen.cli import main
from imggen.models.mlp_gan import MLPGenerator
from imggen.registry import feature_extractors

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"widths": (16, 32), "noise_dim": 8}


pytestmark = pytest.mark.usefixtures("one_thread", "small_reference")



def test_eval_prints_a_table_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scores.json"
    rc = main(["eval", "gan-mlp-mnist", "-n", "300", "--metrics", "fd,pr,coverage", "--json", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0
    assert re.search(r"^fd\s+[\d.e+]+\s+lower$", printed, re.M)
    assert re.search(r"^coverage\s+[\d.e+-]+\s+higher$", printed, re.M)
    record = json.loads(out.read_text())
    assert record["reference"] == "mnist:test" and record["n"] == 300 and record["seed"] == 0
    assert set(record["metrics"]) == {"fd", "precision", "recall", "density", "coverage"}
    assert record["metrics"]["fd"] == pytest.approx(float(re.search(r"^fd\s+(\S+)", printed, re.M)[1]), rel=1e-4)


def test_eval_picks_the_models_dataset_as_reference(tmp_path: Path) -> None:
    out = tmp_path / "scores.json"
    assert main(["eval", "cgan-mlp-fashion", "-n", "300", "--metrics", "fd,cond_acc", "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["reference"] == "fashion-mnist:test" and set(record["metrics"]) == {"fd", "cond_acc"}


def test_eval_pretrained_records_the_weights_and_uses_their_dataset(tmp_path: Path, swap_registry, cfg_for) -> None:
    folder = imggen.save_pretrained(imggen.create_model("cgan-mlp-mnist", **SMALL), tmp_path / "w",
                                    meta={"data": "fashion-mnist"})
    cfg = cfg_for(folder, "tiny")
    swap_registry("generators").register("cgan-tiny", defaults={**SMALL, "num_classes": 10},
                                         pretrained=[cfg])(MLPGenerator)
    out = tmp_path / "scores.json"
    assert main(["eval", "cgan-tiny.tiny", "--pretrained", "-n", "300", "--metrics", "fd", "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["weights_sha256"] == cfg.sha256 and record["reference"] == "fashion-mnist:test"


@pytest.mark.parametrize(("args", "message"), [
    (["--reference", "mnist:val"], "valid references: mnist:train, mnist:test"),
    (["-n", "2", "--metrics", "pr"], "pr needs >= 4"),
    (["--metrics", "fid2"], "unknown metric 'fid2'"),
    (["--json", "/nonexistent-dir/x.json"], "does not exist"),
])
def test_eval_errors_are_one_clear_line(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "gan-mlp-mnist", "-n", "300", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


# -- the leaderboard -----------------------------------------------------------------------------------------
def test_zoo_lists_every_weight_with_metrics_grid_and_reference_rows(tmp_path: Path, swap_registry, cfg_for) -> None:
    mnist_weight = imggen.save_pretrained(imggen.create_model("cgan-mlp-mnist", **SMALL), tmp_path / "a",
                                          meta={"data": "mnist", "metrics": {"fd": 1.25, "recall": 0.8}})
    seed_weight = imggen.save_pretrained(imggen.create_model("cgan-mlp-mnist", **SMALL), tmp_path / "b",
                                         meta={"data": "mnist", "metrics": {"fd": 9.5}, "recipe": "recipes/seed.toml",
                                               "trainer_args": {"device": "cuda"}})
    registry = swap_registry("generators")
    registry.register("cgan-mlp-mnist", defaults={**SMALL, "num_classes": 10},
                      pretrained=[cfg_for(mnist_weight, "good"), cfg_for(seed_weight, "seed")])(MLPGenerator)
    out, assets = tmp_path / "docs" / "zoo.md", tmp_path / "docs" / "assets" / "zoo"
    out.parent.mkdir()
    assert main(["zoo", "--out", str(out), "--assets", str(assets), "-n", "1000"]) == 0
    page = out.read_text()
    assert "do not edit by hand" in page
    rows = {line.split("|")[1].strip(): line for line in page.splitlines() if line.startswith("| ")}
    assert "1.25" in rows["`cgan-mlp-mnist.good`"] and "0.8" in rows["`cgan-mlp-mnist.good`"]
    assert "seed recipe (reference)" in rows["`cgan-mlp-mnist.seed`"] and "recipes/seed.toml" in page
    assert "trained on `cuda`" in rows["`cgan-mlp-mnist.seed`"] and "trained on" not in rows["`cgan-mlp-mnist.good`"]
    assert "real-data floor" in rows["real mnist train images"]
    assert "real-data floor" in rows["real fashion-mnist train images"]
    lines = page.splitlines()
    assert lines.index(rows["real mnist train images"]) < lines.index(rows["`cgan-mlp-mnist.seed`"]) \
        < lines.index(rows["`cgan-mlp-mnist.good`"])
    for link in re.findall(r"!\[[^]]*\]\(([^)]+)\)", page):
        assert (out.parent / link).is_file()
    assert (assets / "cgan-mlp-mnist.good.png").is_file()


def test_zoo_with_no_weights_still_has_the_floor(tmp_path: Path, swap_registry) -> None:
    from imggen.metrics.leaderboard import write_leaderboard

    swap_registry("generators")
    page = write_leaderboard(tmp_path / "zoo.md", tmp_path / "assets", n=1000, datasets=("mnist",))
    assert "real mnist train images" in page and "No pretrained weights for this dataset yet." in page


# -- the generated pages in the repo are current -----------------------------------------------------------------
def test_docs_zoo_lists_every_registered_pretrained_weight() -> None:
    page = (ROOT / "docs" / "zoo.md").read_text()
    missing = [name for name in imggen.list_models(pretrained=True) if f"`{name}`" not in page]
    assert not missing, f"docs/zoo.md is stale (missing {missing}); regenerate it with: imggen zoo --out docs/zoo.md"


def test_docs_calibration_was_made_with_the_bundled_feature_networks() -> None:
    page = (ROOT / "docs" / "calibration.md").read_text()
    for name in feature_extractors.with_pretrained():  # every bundled network: mnist-cnn, mnist-timm-resnet, ...
        sha = feature_extractors.get(name).pretrained_cfg(None).sha256
        assert f"`{name}`, weights sha256 `{sha[:12]}`" in page, (
            "docs/calibration.md is stale; regenerate it with: imggen calibrate --out docs/calibration.md")
    assert "**fails**" not in page
