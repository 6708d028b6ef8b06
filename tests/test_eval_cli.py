"""``imggen eval`` from the command line, the zoo page (``python -m imggen.reports.zoo``), and the generated docs
pages being current."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import torch

import imggen
from imggen.cli import main
from imggen.errors import WeightsError
from imggen.models.mlp_gan import MLPGenerator
from imggen.registry import feature_extractors

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"widths": (16, 32), "noise_dim": 8}


pytestmark = pytest.mark.usefixtures("one_thread", "small_reference")



def test_eval_prints_a_table_and_writes_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scores.json"
    rc = main(["eval", "gan-mlp-mnist", "--random-weights", "-n", "300", "--metrics", "fd,pr,coverage",
               "--reference", "mnist:test", "--json", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0
    assert re.search(r"^fd\s+[\d.e+]+\s+lower$", printed, re.M)
    assert re.search(r"^coverage\s+[\d.e+-]+\s+higher$", printed, re.M)
    record = json.loads(out.read_text())
    assert record["reference"] == "mnist:test" and record["n"] == 300 and record["seed"] == 0
    assert record["sampling"] == {"noise_scale": 1.0}  # how the samples were drawn, so a new default is noticed
    assert set(record["metrics"]) == {"fd", "precision", "recall", "density", "coverage"}
    assert record["metrics"]["fd"] == pytest.approx(float(re.search(r"^fd\s+(\S+)", printed, re.M)[1]), rel=1e-4)


def test_eval_reports_the_nll_of_a_likelihood_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scores.json"
    rc = main(["eval", "vae-conv-mnist", "--random-weights", "-n", "300", "--metrics", "fd", "--reference",
               "mnist:test", "--nll-n", "40", "--log-prob-arg", "k=2", "--json", str(out)])
    printed = capsys.readouterr().out
    assert rc == 0 and "NLL on 40 test images (binarized)" in printed
    nats = float(re.search(r"^nll\s+(\S+)\s+lower$", printed, re.M)[1])
    bits = float(re.search(r"^nll_bpd\s+(\S+)\s+lower$", printed, re.M)[1])
    assert nats > 0 and bits == pytest.approx(nats / (784 * math.log(2)), rel=1e-3)
    record = json.loads(out.read_text())
    assert record["nll"] == {"n": 40, "inputs": "binarized", "log_prob_args": {"k": 2}}
    assert set(record["metrics"]) == {"fd", "nll", "nll_bpd"}
    assert main(["eval", "vae-conv-mnist", "--random-weights", "-n", "300", "--metrics", "fd", "--reference",
                 "mnist:test", "--log-prob-arg", "k"]) == 2
    assert "expected KEY=VALUE" in capsys.readouterr().err


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
    (["--device", "foo"], "--device 'foo' is not a device"),
])
def test_eval_errors_are_one_clear_line(args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "gan-mlp-mnist", "--random-weights", "-n", "300", "--reference", "mnist:test", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


# -- the zoo page ---------------------------------------------------------------------------------------------
def test_zoo_page_shows_defaults_first_folds_superseded_weights_and_has_a_gallery(tmp_path: Path, swap_registry,
                                                                                 cfg_for) -> None:
    from imggen.reports import zoo

    def weight(folder: str, **meta) -> Path:
        return imggen.save_pretrained(imggen.create_model("cgan-mlp-mnist", **SMALL), tmp_path / folder, meta=meta)

    good = weight("a", data="mnist", metrics={"fd": 1.25, "recall": 0.8, "cond_acc": 0.97})
    older = weight("b", data="mnist", metrics={"fd": 3.5}, recipe="recipes/old.toml",
                   trainer_args={"device": "cuda"})
    seed = weight("c", data="mnist", metrics={"fd": 9.5}, recipe="recipes/seed.toml")
    registry = swap_registry("generators")
    registry.register("cgan-mlp-mnist", defaults={**SMALL, "num_classes": 10},
                      pretrained=[cfg_for(good, "good"), cfg_for(older, "old"), cfg_for(seed, "seed")])(MLPGenerator)
    out, assets = tmp_path / "docs" / "zoo.md", tmp_path / "docs" / "assets" / "zoo"
    out.parent.mkdir()
    zoo.main(["--out", str(out), "--assets", str(assets), "-n", "1000"])
    page = out.read_text()
    assert "do not edit by hand" in page and "python -m imggen.reports.zoo" in page
    lines = page.splitlines()
    rows = {line.split("|")[1].strip(): line for line in lines if line.startswith("| ")}
    default = rows["**`cgan-mlp-mnist.good`** (default)"]
    assert "1.25" in default and "0.8" in default and "0.97" in default and "mlp_gan (conditional)" in default
    assert len(default.split("|")) == 8  # weight, family, params, FD, recall, cond. acc.: a compact table
    assert "`cgan-mlp-mnist.seed` (seed recipe)" in rows and "*real mnist train images* (real-data floor)" in rows
    keys = ("**`cgan-mlp-mnist.good`** (default)", "`cgan-mlp-mnist.seed` (seed recipe)",
            "*real mnist train images* (real-data floor)")
    order = [lines.index(rows[k]) for k in keys]
    assert order == sorted(order)
    folded = next(i for i, line in enumerate(lines) if line.startswith('??? note "Superseded mnist weights (1)'))
    old_row = next(i for i, line in enumerate(lines) if line.startswith("    | `cgan-mlp-mnist.old` |"))
    assert old_row > folded > order[-1] and "trained on `cuda`" in lines[old_row]
    assert '<div class="zoo-gallery" markdown>' in page and "<figcaption>cgan-mlp-mnist.good</figcaption>" in page
    assert "<figcaption>cgan-mlp-mnist.old</figcaption>" not in page  # superseded grids are linked, not shown
    for link in re.findall(r"\]\(([^)]+\.png)\)", page):
        assert (out.parent / link).is_file()
    assert (assets / "cgan-mlp-mnist.old.png").is_file()


def test_zoo_reads_the_weights_from_a_folder_of_hub_repos_when_asked(tmp_path: Path, swap_registry, cfg_for) -> None:
    import shutil

    from PIL import Image

    from imggen.reports import zoo

    registered = imggen.save_pretrained(imggen.create_model("gan-mlp-mnist", **SMALL), tmp_path / "registered",
                                        meta={"data": "mnist", "metrics": {"fd": 2.0}})
    copy = tmp_path / "hub-repos" / "gan-mlp-mnist.good"
    shutil.copytree(registered, copy)
    swap_registry("generators").register("gan-mlp-mnist", defaults=SMALL,
                                         pretrained=[cfg_for(registered, "good")])(MLPGenerator)
    (registered / "model.safetensors").unlink()  # the registered folder keeps its metadata; only the copy loads
    assets = tmp_path / "assets"
    args = ["--out", str(tmp_path / "zoo.md"), "--assets", str(assets), "-n", "1000",
            "--weights-from", str(tmp_path / "hub-repos")]
    zoo.main(args)
    text = Image.open(assets / "gan-mlp-mnist.good.png").text
    assert text["imggen:weights_sha256"] == imggen.create_model(str(copy)).weights_sha256
    assert text["imggen:tag"] == "good"

    torch.manual_seed(1)  # a stale copy: other weights under the registered name
    imggen.save_pretrained(imggen.create_model("gan-mlp-mnist", **SMALL), copy,
                           meta={"data": "mnist", "metrics": {"fd": 2.0}})
    with pytest.raises(WeightsError, match="other weights than the registered gan-mlp-mnist.good"):
        zoo.main(args)


def test_zoo_with_no_weights_still_has_the_floor(tmp_path: Path, swap_registry) -> None:
    from imggen.reports.zoo import write_leaderboard

    swap_registry("generators")
    page = write_leaderboard(tmp_path / "zoo.md", tmp_path / "assets", n=1000, datasets=("mnist",))
    assert "*real mnist train images* (real-data floor)" in page
    assert "No pretrained weights for this dataset yet." in page


def test_maintainer_tools_are_not_user_commands(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("zoo", "calibrate"):
        assert main([command]) == 2
        assert f"No such command '{command}'" in capsys.readouterr().err


def test_metrics_do_not_import_the_layers_above() -> None:
    """Floors: metrics may not import train, cli or reports (the zoo page moved to imggen.reports for this)."""
    sources = (ROOT / "src" / "imggen" / "metrics").rglob("*.py")
    upward = [f"{p.name}: {line.strip()}" for p in sources for line in p.read_text().splitlines()
              if re.match(r"\s*(from|import) imggen\.(train|cli|reports)\b", line)]
    assert not upward, upward


# -- the generated pages in the repo are current -----------------------------------------------------------------
def test_docs_zoo_lists_every_registered_pretrained_weight() -> None:
    page = (ROOT / "docs" / "zoo.md").read_text()
    upscalers = set(imggen.list_models("*-x[0-9]", pretrained=True))  # listed on their own page, below
    missing = [name for name in imggen.list_models(pretrained=True)
               if f"`{name}`" not in page and name not in upscalers]
    assert not missing, (f"docs/zoo.md is stale (missing {missing}); regenerate it with: "
                         "python -m imggen.reports.zoo --out docs/zoo.md --assets docs/assets/zoo")
    sr_page = (ROOT / "docs" / "super-resolution.md").read_text()
    missing = [name for name in upscalers if f"`{name}`" not in sr_page]
    assert not missing, (f"docs/super-resolution.md is stale (missing {missing}); regenerate it with: "
                         "OMP_NUM_THREADS=1 python docs/gen_super_resolution.py")


@pytest.mark.parametrize(("page", "block", "pattern", "first", "command"), [
    ("vae.md", "vae-table", "*vae-conv-*", "{nll:.2f}", "python docs/gen_vae.py"),
    ("conv-gan.md", "conv-gan-table", "*gan-dcgan-*", "{fd:.4f}", "python docs/gen_conv_gan.py"),
])
def test_docs_family_table_holds_each_default_weight_s_recorded_score(page: str, block: str, pattern: str,
                                                                       first: str, command: str) -> None:
    text = (ROOT / "docs" / page).read_text()
    rows = text.split(f"<!-- {block}:start")[1].split(f"<!-- {block}:end -->")[0]
    for arch in imggen.list_models(pattern):
        default = next((w for w in imggen.model_info(arch)["pretrained"] if w["default"]), None)
        row = next(line for line in rows.splitlines() if line.startswith(f"| `{arch}` |"))
        expected = (f"| `{arch}` | `{default['name']}` | {first.format(**default['metrics'])} |" if default
                    else "not trained yet")
        assert expected in row, f"docs/{page} is stale for {arch}; regenerate it with: {command}"


def test_docs_calibration_was_made_with_the_bundled_feature_networks() -> None:
    page = (ROOT / "docs" / "calibration.md").read_text()
    for name in feature_extractors.with_pretrained():  # every bundled network: mnist-cnn, mnist-timm-resnet, ...
        sha = feature_extractors.get(name).pretrained_cfg(None).sha256
        assert f"`{name}`, weights sha256 `{sha[:12]}`" in page, (
            "docs/calibration.md is stale; regenerate it with: "
            "python -m imggen.reports.calibration --out docs/calibration.md")
    assert "**fails**" not in page


def test_eval_of_weights_that_record_no_dataset_asks_for_a_reference(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "cgan-mlp-fashion", "--random-weights", "-n", "300"]) == 2
    assert "record no dataset" in capsys.readouterr().err  # never guessed from the name, whatever it says
