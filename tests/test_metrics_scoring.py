"""``score_images`` and ``evaluate`` end to end on real MNIST: known answers, the reference cache, bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from conftest import SMALL_REFERENCE as REF_SIZE

import imggen
from imggen.data import load_images
from imggen.errors import UnknownNameError
from imggen.metrics import evaluate, reference, score_images
from imggen.models.base import Generator

FAST = {"kid_subsets": 5}


pytestmark = pytest.mark.usefixtures("one_thread", "small_reference")



class RealImages(Generator):
    """A 'perfect' conditional generator: it returns real MNIST training images of the requested classes."""

    num_classes = 10
    image_shape = (1, 28, 28)

    def __init__(self) -> None:
        super().__init__()
        data = load_images("mnist", "train")
        self.images, self.labels = data.images, data.labels

    def generate(self, n: int, labels: torch.Tensor, rng: torch.Generator | None) -> torch.Tensor:
        out = torch.empty(n, *self.image_shape)
        for c in labels.unique():
            pool = (self.labels == c).nonzero().flatten()
            where = (labels == c).nonzero().flatten()
            pick = pool[torch.randint(len(pool), (len(where),), generator=rng)]
            out[where] = self.images[pick].float() / 255
        return out


class NaNGenerator(Generator):
    """A diverged generator."""

    image_shape = (1, 28, 28)

    def generate(self, n: int, labels: torch.Tensor | None, rng: torch.Generator | None) -> torch.Tensor:
        return torch.full((n, *self.image_shape), float("nan"))


def test_the_reference_against_itself_scores_perfectly() -> None:
    images = reference.real_subset("mnist", "test", REF_SIZE)[0].float() / 255
    scores = score_images(images, reference="mnist:test", **FAST)
    assert abs(scores["fd"]) < 1e-6
    assert abs(scores["kid"]) < 0.01  # not exactly 0: KID's subsets of the two sets are drawn independently
    assert scores["precision"] == scores["recall"] == scores["coverage"] == scores["class_coverage"] == 1.0
    assert scores["class_kl"] == 0.0


def test_a_generator_of_real_images_scores_like_real_data_and_follows_its_labels() -> None:
    scores = evaluate(RealImages(), n=1500, reference="mnist:test", **FAST)
    assert set(scores) == {"fd", "kid", "kid_std", "precision", "recall", "density", "coverage", "class_coverage",
                           "class_kl", "cond_acc"}
    assert scores["cond_acc"] > 0.98 and scores["class_coverage"] == 1.0 and scores["class_kl"] < 0.01
    assert scores["precision"] > 0.6 and scores["recall"] > 0.6
    random_gan = evaluate(imggen.create_model("cgan-mlp-mnist"), n=1500, reference="mnist:test", **FAST)
    assert random_gan["fd"] > 20 * scores["fd"]
    assert scores["kid"] < 0.01 < 1 < random_gan["kid"]
    assert random_gan["precision"] < 0.1 and random_gan["cond_acc"] < 0.5


def test_evaluate_is_seeded_restores_train_mode_and_skips_cond_acc_when_unconditional() -> None:
    gen = imggen.create_model("gan-mlp-mnist", widths=(16, 32)).train()
    first = evaluate(gen, n=300, metrics="fd,pr,classes,cond_acc", seed=1)
    assert gen.training
    assert set(first) == {"fd", "precision", "recall", "class_coverage", "class_kl"}
    assert all(math.isfinite(v) for v in first.values())
    assert evaluate(gen, n=300, metrics="fd,pr,classes", seed=1) == first
    assert evaluate(gen, n=300, metrics="fd", seed=2)["fd"] != first["fd"]


def test_reference_features_are_cached_on_disk_by_network_and_data_hash(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IMGGEN_CACHE", str(tmp_path))
    monkeypatch.setattr(reference, "_MEMORY", {})
    net = imggen.create_feature_extractor("mnist-cnn")
    first = reference.load_reference("mnist:test", net)
    (cached,) = (tmp_path / "features").glob("*.pt")
    assert net.weights_sha256[-16:] in cached.name
    monkeypatch.setattr(reference, "_MEMORY", {})
    monkeypatch.setattr(reference, "extract", lambda *a, **k: pytest.fail("recomputed instead of read from disk"))
    second = reference.load_reference("mnist:test", net)
    assert torch.equal(first.features, second.features) and torch.equal(first.predictions, second.predictions)
    assert reference.load_reference("mnist:test", net) is second  # then from memory


GOOD = torch.rand(1200, 1, 28, 28)


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"images": GOOD[:, 0]}, ValueError, r"shape \(N, C, H, W\)"),
    ({"images": GOOD.expand(-1, 3, -1, -1)}, ValueError, r"1 channel\(s\), got 3"),
    ({"images": GOOD * 2 - 1}, ValueError, r"values in \[0, 1\]"),
    ({"images": torch.where(GOOD > 0.999, float("nan"), GOOD)}, ValueError, "contain NaN"),
    ({"images": (GOOD * 255).to(torch.uint8)}, ValueError, r"float\(\) / 255"),
    ({"images": GOOD[:500]}, ValueError, r"kid needs >= 1000"),
    ({"images": GOOD[:3], "metrics": "fd,pr"}, ValueError, r"pr needs >= 4"),
    ({"images": GOOD, "reference": "mnist:val"}, UnknownNameError, r"valid references: mnist:train, mnist:test"),
    ({"images": GOOD, "reference": "cifar10:test"}, UnknownNameError, r"fashion-mnist:test"),
    ({"images": GOOD, "metrics": "fd,fid2"}, ValueError, r"unknown metric 'fid2'; choose from fd, kid"),
    ({"images": GOOD, "labels": [1, 2, 3]}, ValueError, r"one label per image"),
    ({"images": GOOD, "labels": torch.full((1200,), 10)}, ValueError, r"labels must be in 0..9"),
    ({"images": GOOD, "feature_extractor": "mnist-cnnn"}, UnknownNameError, "mnist-cnn"),
])
def test_bad_input_is_a_clear_error(kwargs: dict, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        score_images(**kwargs)


def test_evaluate_rejects_too_few_samples_before_sampling_and_nan_samples() -> None:
    gen = imggen.create_model("gan-mlp-mnist", widths=(16, 32))
    with pytest.raises(ValueError, match=r"too few samples \(500 generated.*kid needs >= 1000"):
        evaluate(gen, n=500)
    with pytest.raises(ValueError, match="contain NaN or inf; the generator diverged"):
        evaluate(NaNGenerator(), n=100, metrics="fd")
    with pytest.raises(TypeError, match="score_images"):
        evaluate(torch.nn.Linear(2, 2), n=100)
