"""The metrics' feature networks: bundled, hash-checked, accurate, strict about their input; the Inception path."""

from __future__ import annotations

import json
import shutil
import urllib.error
from pathlib import Path

import pytest
import torch
from torch import nn

import imggen
from imggen.data import load_images
from imggen.errors import WeightsError
from imggen.fileio import sha256_file
from imggen.metrics import inception
from imggen.metrics.features import SmallCNN
from imggen.registry import PretrainedCfg, feature_extractors
from imggen.registry.factory import bundled_folder
from imggen.train.recipe import load_recipe, run_recipe

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = {"mnist-cnn": ("mnist", 0.99), "fashion-cnn": ("fashion-mnist", 0.91),
           "mnist-timm-resnet": ("mnist", 0.99), "fashion-timm-resnet": ("fashion-mnist", 0.91)}


@pytest.fixture(scope="module")
def mnist_cnn() -> nn.Module:
    return imggen.create_feature_extractor("mnist-cnn")


# -- bundled weights -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_weights_are_small_and_record_how_they_were_made(name: str) -> None:
    dataset, target = BUNDLED[name]
    weight = imggen.model_info(name, kind="feature_extractors")["pretrained"][0]
    cfg = feature_extractors.get(name).pretrained_cfg(None)
    folder = bundled_folder(cfg)
    assert sha256_file(folder / "model.safetensors") == cfg.sha256
    assert (folder / "model.safetensors").stat().st_size < 2 * 2**20
    meta = weight["meta"]
    assert (ROOT / meta["recipe"]).is_file() and load_recipe(ROOT / meta["recipe"])["trainer"]["model"] == name
    assert meta["data"] == dataset and meta["steps"] > 0 and meta["epochs"] >= 1
    assert meta["test_accuracy"] >= target


@pytest.mark.parametrize("name", BUNDLED)
def test_recorded_data_hashes_are_the_data_archives(name: str, data_dir: Path) -> None:
    meta = imggen.model_info(name, kind="feature_extractors")["pretrained"][0]["meta"]
    dataset = BUNDLED[name][0]
    archives = {**load_images(dataset, "train").archives_sha256, **load_images(dataset, "test").archives_sha256}
    assert meta["data_sha256"] == archives


@pytest.mark.slow
@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_classifiers_reach_their_test_accuracy(name: str, data_dir: Path) -> None:
    dataset, target = BUNDLED[name]
    test = load_images(dataset, "test")
    model = imggen.create_feature_extractor(name).eval()
    with torch.no_grad():
        measured = float((model(test.as_float()).argmax(1) == test.labels).float().mean())
    assert measured >= target
    assert measured == pytest.approx(model.imggen_cfg.get("meta", {}).get("test_accuracy", measured), abs=3e-4)


def test_loading_checks_the_sha256(tmp_path: Path, swap_registry) -> None:
    cfg = feature_extractors.get("mnist-cnn").pretrained_cfg(None)
    copy = shutil.copytree(bundled_folder(cfg), tmp_path / "mnist-cnn.v1")
    registry = swap_registry("feature_extractors")
    registry.register("mnist-cnn", pretrained=[PretrainedCfg(tag="v1", file=str(copy), sha256=cfg.sha256)],
                      defaults={"dataset": "mnist"})(SmallCNN)
    assert isinstance(imggen.create_feature_extractor("mnist-cnn"), SmallCNN)
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (copy / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        imggen.create_feature_extractor("mnist-cnn")


# -- the network's interface -----------------------------------------------------------------------------------
def test_features_are_the_penultimate_layer_and_logits_the_classes(mnist_cnn: nn.Module) -> None:
    x = torch.rand(5, 1, 28, 28)
    with torch.no_grad():
        feats, logits = mnist_cnn.features(x), mnist_cnn(x)
        assert feats.shape == (5, mnist_cnn.num_features) and logits.shape == (5, 10)
        assert torch.allclose(mnist_cnn.head(feats / mnist_cnn.feature_scale), logits, atol=1e-5)
    assert (feats >= 0).all()  # after the ReLU


@pytest.mark.parametrize(("x", "match"), [
    (torch.rand(1, 28, 28), r"shape \(N, 1, 28, 28\).*unsqueeze"),
    (torch.rand(2, 3, 28, 28), r"1 channel\(s\), got 3.*mean\(1, keepdim=True\)"),
    (torch.rand(2, 1, 32, 32), r"28x28 images, got 32x32.*interpolate"),
    (torch.randint(0, 255, (2, 1, 28, 28), dtype=torch.uint8), r"float\(\) / 255"),
    (torch.rand(2, 1, 28, 28) * 2 - 1, r"values in \[0, 1\].*\(x \+ 1\) / 2"),
    (torch.full((2, 1, 28, 28), float("nan")), r"2 of 2 images contain NaN"),
    (torch.rand(2, 1, 28, 28).numpy(), r"torch.Tensor"),
    (torch.rand(0, 1, 28, 28), r"empty batch"),
])
def test_bad_input_is_a_clear_error(mnist_cnn: nn.Module, x, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mnist_cnn.features(x)


def test_the_recipe_trains_saves_and_reloads(tmp_path: Path, data_dir: Path) -> None:
    stats = run_recipe(ROOT / "recipes/features/mnist-cnn.toml", tmp_path / "run",
                       settings=["fit.steps=5", "trainer.model_args={ channels = [4, 8], num_features = 16 }",
                                 "trainer.progress=false"])
    meta = json.loads((tmp_path / "run" / "weights" / "config.json").read_text())["meta"]
    assert meta["steps"] == 5 and 0 < stats["metrics"]["test_accuracy"] <= 1 and meta["feature_rms"] > 0
    assert meta["data_sha256"] == load_images("mnist", "train").archives_sha256
    reloaded = imggen.create_feature_extractor(str(tmp_path / "run" / "weights"))
    assert reloaded.imggen_cfg["meta"]["recipe"] == "recipes/features/mnist-cnn.toml"  # not the absolute path given
    with torch.no_grad():
        assert float(reloaded.eval().features(load_images("mnist", "train").as_float()[:10000]).square().mean()) == \
            pytest.approx(1.0, rel=1e-3)  # features are scaled to unit RMS on the train set


# -- Inception -------------------------------------------------------------------------------------------------
def _inception_available() -> bool:
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        return False
    return (Path(torch.hub.get_dir()) / "checkpoints" / inception.WEIGHTS_URL.rsplit("/", 1)[1]).is_file()


@pytest.mark.skipif(_inception_available(), reason="the Inception weights are installed here")
def test_inception_without_weights_says_how_to_get_them() -> None:
    with pytest.raises(WeightsError, match="mnist-cnn and fashion-cnn work offline") as info:
        imggen.create_feature_extractor("inception-v3")
    assert "torch-fidelity" in str(info.value) or "could not be fetched" in str(info.value)


def test_inception_download_failure_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import torchmetrics.image.fid

    def offline(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torchmetrics.image.fid, "NoTrainInceptionV3", offline)
    with pytest.raises(WeightsError) as info:
        imggen.create_feature_extractor("inception-v3")
    message = str(info.value)
    for needle in ("could not be fetched", inception.WEIGHTS_URL, torch.hub.get_dir(), "weights_path=", "mnist-cnn"):
        assert needle in message


class FakeInception(nn.Module):
    """Stands in for torchmetrics' Inception: records its input, returns 2048 features."""

    def __init__(self, **kwargs) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x)
        return x.float().mean(dim=(1, 2, 3))[:, None].expand(-1, 2048)


def test_inception_gets_uint8_rgb_and_needs_no_registry_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    import torchmetrics.image.fid

    monkeypatch.setattr(torchmetrics.image.fid, "NoTrainInceptionV3", FakeInception)
    net = imggen.create_feature_extractor("inception-v3")
    feats = net.features(torch.rand(3, 1, 28, 28))
    assert feats.shape == (3, 2048)
    seen = net.net.seen[0]
    assert seen.dtype == torch.uint8 and seen.shape == (3, 3, 28, 28)
    with pytest.raises(ValueError, match=r"values in \[0, 1\]"):
        net.features(torch.rand(3, 3, 64, 64) * 255)
