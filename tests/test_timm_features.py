"""The second feature space: a timm ResNet per dataset, bundled, accurate, used by every metric and `imggen eval`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

import imggen
from imggen.cli import main
from imggen.data import load_images
from imggen.data.augment import random_hflip
from imggen.metrics import evaluate, score_images
from imggen.metrics.reference import default_feature_extractor, feature_networks
from imggen.metrics.timm_features import TimmResNet

ROOT = Path(__file__).resolve().parents[1]
TIMM = {"mnist-timm-resnet": "mnist", "fashion-timm-resnet": "fashion-mnist"}

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def networks() -> dict[str, TimmResNet]:
    return {name: imggen.create_feature_extractor(name) for name in TIMM}


@pytest.mark.parametrize("name", TIMM)
def test_registered_built_by_timm_and_bundled(name: str, networks: dict[str, TimmResNet]) -> None:
    import timm.models

    net = networks[name]
    assert name in imggen.list_feature_extractors() and name in feature_networks(TIMM[name])
    assert isinstance(net, TimmResNet) and isinstance(net.net, timm.models.ResNet)
    assert net.pretrained_tag == "v1" and net.dataset == TIMM[name] and not net.training
    x = torch.rand(6, 1, 28, 28)
    with torch.no_grad():
        feats, logits = net.features_and_logits(x)
        assert feats.shape == (6, net.num_features) == (6, 192) and logits.shape == (6, 10)
        assert torch.allclose(net.net.get_classifier()(feats / net.feature_scale), logits, atol=1e-4)
        assert torch.equal(net.features(x), feats) and torch.equal(net(x), logits)
    with pytest.raises(ValueError, match="28x28 images, got 32x32"):
        net.features(torch.rand(2, 1, 32, 32))


def test_the_cnns_stay_the_default_feature_spaces() -> None:
    assert default_feature_extractor("mnist") == "mnist-cnn"
    assert default_feature_extractor("fashion-mnist") == "fashion-cnn"


def test_only_timm_resnets_are_accepted() -> None:
    with pytest.raises(ValueError, match=r"'convnext_atto' is not one.*timm.list_models\('resnet\*'\)"):
        TimmResNet(arch="convnext_atto")


@pytest.mark.parametrize("name", TIMM)
def test_bundled_weights_reach_their_recorded_accuracy_on_a_test_slice(name: str, networks: dict[str, TimmResNet],
                                                                       data_dir: Path) -> None:
    test = load_images(TIMM[name], "test")
    n = 2000
    idx = torch.randperm(len(test.images), generator=torch.Generator().manual_seed(0))[:n]
    recorded = networks[name].imggen_cfg.get("meta") or imggen.model_info(name, kind="feature_extractors")[
        "pretrained"][0]["meta"]
    p = recorded["test_accuracy"]
    with torch.no_grad():
        predicted = networks[name].eval()(test.images[idx].float() / 255).argmax(1)
    measured = float((predicted == test.labels[idx]).float().mean())
    assert measured >= p - 3 * math.sqrt(p * (1 - p) / n) - 1e-9  # three binomial standard errors


@pytest.mark.parametrize("name", TIMM)
def test_features_have_unit_rms_on_real_train_images(name: str, networks: dict[str, TimmResNet],
                                                     data_dir: Path) -> None:
    images = load_images(TIMM[name], "train").as_float()[:2000]
    with torch.no_grad():
        rms = float(networks[name].features(images).square().mean().sqrt())
    assert rms == pytest.approx(1.0, rel=0.05)


@pytest.mark.usefixtures("small_reference")
def test_score_and_evaluate_in_the_second_space() -> None:
    real = load_images("mnist", "train").as_float()[:500]
    scores = score_images(real, reference="mnist:test", metrics="fd,pr,classes",
                          feature_extractor="mnist-timm-resnet")
    assert scores["class_coverage"] == 1.0 and scores["recall"] > 0.5
    model = imggen.create_model("cgan-mlp-mnist", pretrained=True)
    timm_scores = evaluate(model, n=300, metrics="fd,cond_acc", feature_extractor="mnist-timm-resnet")
    cnn_scores = evaluate(model, n=300, metrics="fd,cond_acc")
    assert timm_scores["cond_acc"] > 0.9 and timm_scores["fd"] != cnn_scores["fd"]


@pytest.mark.usefixtures("small_reference")
def test_eval_cli_takes_features(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scores.json"
    assert main(["eval", "cgan-mlp-fashion", "--pretrained", "-n", "300", "--metrics", "fd,pr,cond_acc",
                 "--features", "fashion-timm-resnet", "--json", str(out)]) == 0
    assert "in fashion-timm-resnet features" in capsys.readouterr().out
    record = json.loads(out.read_text())
    assert record["features"] == "fashion-timm-resnet" and record["reference"] == "fashion-mnist:test"
    assert set(record["metrics"]) == {"fd", "precision", "recall", "cond_acc"} and record["metrics"]["fd"] > 0
    assert main(["eval", "cgan-mlp-fashion", "--pretrained", "-n", "300", "--metrics", "fd", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["features"] == "fashion-cnn"
    assert main(["eval", "cgan-mlp-fashion", "--pretrained", "-n", "300", "--features", "fashion-timm-resnte"]) != 0
    assert "did you mean 'fashion-timm-resnet'" in capsys.readouterr().err


# -- the parts of the training recipe the CNN recipes do not use ----------------------------------------------
def test_the_timm_recipes_sgd_and_cosine_schedule_run_on_the_shared_loop(data_dir: Path) -> None:
    from imggen.train.recipe import build_trainer, load_recipe

    recipe = load_recipe(ROOT / "recipes/features/mnist-timm-resnet.toml")
    recipe["trainer"].update(batch_size=16, progress=False)
    trainer = build_trainer(recipe, None)
    opt = trainer.task.optimizers()["model"]
    assert isinstance(opt, torch.optim.SGD) and opt.defaults["nesterov"] and opt.defaults["momentum"] == 0.9
    before = [p.clone() for p in trainer.task.model.parameters()]
    trainer.fit(steps=2)
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.task.model.parameters(), strict=True))


def test_hflip_mirrors_about_the_share_asked() -> None:
    x = torch.rand(1000, 1, 4, 4)
    flipped = random_hflip(x, torch.Generator().manual_seed(0), 0.5)
    mirrored = (flipped == x.flip(-1)).flatten(1).all(1)
    assert 400 < int(mirrored.sum()) < 600 and torch.equal(flipped[~mirrored], x[~mirrored])
    assert torch.equal(random_hflip(x, torch.Generator(), 0.0), x)


# -- the docs' table of every default weight in both spaces is current -------------------------------------------
def defaults_with_feature_networks() -> dict[str, tuple[str, str]]:
    """arch -> (default tag, dataset) of each generator family whose default weight was trained on a dataset with
    feature networks: the MLP GANs and every new family's, as docs/gen_feature_spaces.py finds them."""
    found = {}
    for name in imggen.list_models(pretrained=True):
        arch, tag = name.split(".", 1)
        weight = next(w for w in imggen.model_info(arch)["pretrained"] if w["tag"] == tag)
        data = weight["meta"].get("data")
        if weight["default"] and data in ("mnist", "fashion-mnist"):
            found[arch] = (tag, data)
    return found


DEFAULTS = defaults_with_feature_networks()


def test_the_mlp_defaults_are_among_the_weights_reported_in_both_spaces() -> None:
    assert {"gan-mlp-mnist", "cgan-mlp-mnist", "cgan-mlp-fashion"} <= set(DEFAULTS)


@pytest.mark.parametrize("arch", sorted(DEFAULTS))
def test_docs_report_each_default_weight_in_both_spaces(arch: str) -> None:
    page = (ROOT / "docs" / "evaluation.md").read_text()
    tag, dataset = DEFAULTS[arch]
    default = next(w for w in imggen.model_info(arch)["pretrained"] if w["default"])
    for network in feature_networks(dataset):
        path = ROOT / "docs" / "assets" / "feature-spaces" / f"{arch}.{network}.json"
        assert path.is_file(), f"{path} is missing; run: OMP_NUM_THREADS=1 python docs/gen_feature_spaces.py"
        record = json.loads(path.read_text())
        assert record["weights_sha256"] == default["sha256"] and record["features"] == network, (
            f"{path} is stale; rerun: OMP_NUM_THREADS=1 python docs/gen_feature_spaces.py")
        assert record["n"] == 10000 and record["reference"] == f"{dataset}:test"
        row = next(line for line in page.splitlines() if line.startswith(f"| `{arch}.{tag}` | `{network}` |"))
        assert f"| {record['metrics']['fd']:.4g} |" in row and f"| {record['metrics']['recall']:.4f} |" in row
