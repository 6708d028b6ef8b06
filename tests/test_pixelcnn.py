"""The autoregressive family (gated PixelCNN, PixelSNAIL-style) through its public interfaces: causal masks, exact
likelihoods that sum to one, the sampler's caches against the full network, sampling per seed and label, and a few
real training steps on the objective task."""

import itertools
import math
from pathlib import Path

import pytest
import torch

import imggen
from imggen.models.pixelcnn import PixelCNN, PixelSNAIL

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"channels": 16, "layers": 3, "kernel_size": 3, "head": 16, "image_shape": (1, 8, 8)}
FAMILIES = {"pixelcnn-gated": {}, "pixelsnail": {"attention_every": 2}}


def small(family: str, likelihood: str = "bernoulli", **kwargs) -> PixelCNN:
    torch.manual_seed(0)
    dataset = "mnist" if likelihood == "bernoulli" else "fashion"
    return imggen.create_model(f"{family}-{dataset}", **{**SMALL, **FAMILIES[family], **kwargs}).eval()


def images_for(model: PixelCNN, n: int, seed: int = 0) -> torch.Tensor:
    rng = torch.Generator().manual_seed(seed)
    shape = (n, *model.image_shape)
    if model.likelihood == "bernoulli":
        return torch.bernoulli(torch.full(shape, 0.3), generator=rng)
    return torch.randint(0, 256, shape, generator=rng).float() / 255


def pixel_gradients(model: PixelCNN, image: torch.Tensor) -> torch.Tensor:
    """``(P, P)``: entry [i, j] is the gradient norm of output pixel i's logits with respect to input pixel j."""
    _, height, width = model.image_shape
    pixels = height * width
    inputs = image.expand(pixels, -1, -1, -1).clone().requires_grad_(True)  # one copy per output pixel
    logits = model(inputs).flatten(2)  # (P, K, P)
    logits[torch.arange(pixels), :, torch.arange(pixels)].sum().backward()
    return inputs.grad.flatten(1).abs()


# -- causality ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("likelihood", ["bernoulli", "categorical"])
def test_each_pixel_depends_on_earlier_pixels_only(family, likelihood):
    model = small(family, likelihood)
    grads = pixel_gradients(model, images_for(model, 1))
    later_or_same = torch.ones_like(grads, dtype=torch.bool).triu()
    assert torch.all(grads[later_or_same] == 0), "an output pixel depends on itself or a later pixel"
    assert torch.all(grads[1:].amax(1) > 0), "every pixel after the first depends on some earlier pixel"


def test_the_gated_pixelcnn_has_no_blind_spot():
    model = small("pixelcnn-gated")
    grads = pixel_gradients(model, images_for(model, 1))
    width = model.image_shape[2]
    for row, col in itertools.product(range(1, 8), range(7)):  # the pixel up and to the right of (row, col)
        assert grads[row * width + col, (row - 1) * width + col + 1] > 0, (row, col)
        assert grads[row * width + col, (row - 1) * width + col] > 0  # and the one straight above


def test_attention_lets_every_pixel_see_all_earlier_pixels():
    model = small("pixelsnail")
    grads = pixel_gradients(model, images_for(model, 1))
    earlier = torch.ones_like(grads, dtype=torch.bool).tril(-1)
    assert torch.all(grads[earlier] > 0)
    convolutional = pixel_gradients(small("pixelcnn-gated"), images_for(model, 1))
    assert not torch.all(convolutional[earlier] > 0)  # three 3x3 layers alone do not reach that far


# -- likelihood -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_log_prob_is_a_normalised_distribution_over_all_binary_images(family):
    model = small(family, image_shape=(1, 3, 3))
    every = torch.tensor(list(itertools.product([0.0, 1.0], repeat=9))).reshape(-1, 1, 3, 3)
    assert torch.logsumexp(model.log_prob(every).double(), 0).exp().item() == pytest.approx(1.0, abs=1e-5)


def test_categorical_log_prob_sums_to_one_over_all_grey_levels():
    model = small("pixelcnn-gated", "categorical", image_shape=(1, 1, 2), channels=4, head=4)
    levels = torch.arange(256).float() / 255
    every = torch.cartesian_prod(levels, levels).reshape(-1, 1, 1, 2)
    assert torch.logsumexp(model.log_prob(every).double(), 0).exp().item() == pytest.approx(1.0, abs=1e-4)


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("likelihood", ["bernoulli", "categorical"])
def test_log_prob_is_minus_the_training_loss_per_image(family, likelihood):
    model = small(family, likelihood, num_classes=10)
    images, labels = images_for(model, 6), torch.arange(6)
    log_p = model.log_prob(images, labels)
    assert log_p.shape == (6,) and torch.all(log_p < 0)
    terms = model.training_loss(images, labels, None)
    assert terms["loss"].item() * 6 == pytest.approx(-log_p.sum().item(), rel=1e-5)
    assert terms["bits_per_dim"].item() == pytest.approx(terms["loss"].item() / (64 * math.log(2)), rel=1e-6)
    assert not torch.allclose(log_p, model.log_prob(images, torch.arange(6) + 1))  # the class changes p(x | y)


def test_log_prob_refuses_images_its_distribution_does_not_cover():
    binary, grey = small("pixelcnn-gated"), small("pixelcnn-gated", "categorical")
    with pytest.raises(ValueError, match="binary images only"):
        binary.log_prob(torch.full((2, 1, 8, 8), 0.5))
    with pytest.raises(ValueError, match="8-bit images"):
        grey.log_prob(torch.full((2, 1, 8, 8), 0.5))
    with pytest.raises(ValueError, match=r"images must be \(N, 1, 8, 8\)"):
        binary.log_prob(torch.zeros(2, 1, 28, 28))
    with pytest.raises(ValueError, match="is conditional"):
        small("pixelcnn-gated", num_classes=10).training_loss(images_for(binary, 2), None, None)


# -- sampling -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("likelihood", ["bernoulli", "categorical"])
def test_the_samplers_caches_give_the_full_networks_logits(family, likelihood):
    model = small(family, likelihood, num_classes=10)
    images, labels = images_for(model, 4), torch.tensor([0, 3, 5, 9])
    assert torch.allclose(model.raster_logits(images, labels), model(images, labels), atol=1e-5)


@pytest.mark.parametrize("family", FAMILIES)
def test_samples_are_seeded_on_the_grid_and_follow_temperature_and_labels(family):
    model = small(family, num_classes=10)
    with torch.no_grad():
        model.class_bias.weight.normal_(std=3.0)  # classes far apart, as after training
    images = model.sample(6, labels=[1, 2], seed=3)
    assert images.shape == (6, 1, 8, 8) and set(images.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(images, model.sample(6, labels=[1, 2], seed=3))
    assert not torch.equal(images, model.sample(6, labels=[1, 2], seed=4))
    assert not torch.equal(images, model.sample(6, labels=[7, 8], seed=3))  # same noise, other classes
    assert not torch.equal(images, model.sample(6, labels=[1, 2], seed=3, temperature=0.5))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        model.sample(2, labels=[0], temperature=0.0)
    grey = small(family, "categorical").sample(3, seed=0)
    assert torch.equal(grey, torch.round(grey * 255) / 255)


def test_samples_follow_the_models_own_likelihood():
    model = small("pixelcnn-gated", image_shape=(1, 2, 2))
    every = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4))).reshape(-1, 1, 2, 2)
    expected = model.log_prob(every).exp()
    samples = model.sample(4000, seed=0).flatten(1) @ torch.tensor([8.0, 4.0, 2.0, 1.0])
    observed = torch.bincount(samples.long(), minlength=16).float() / 4000
    assert torch.allclose(observed, expected, atol=0.03)  # 4000 draws: a standard error of <= 0.008 per image


def test_bad_architectures_are_named():
    with pytest.raises(ValueError, match="one-channel images"):
        PixelCNN(image_shape=(3, 8, 8))
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        PixelCNN(kernel_size=4)
    with pytest.raises(ValueError, match="attention_every must be >= 1"):
        PixelSNAIL(attention_every=0)
    with pytest.raises(ValueError, match="likelihood must be one of"):
        PixelCNN(likelihood="logistic")


# -- training on the one loop ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "data"), [("pixelcnn-gated-mnist", "mnist"), ("cpixelsnail-fashion",
                                                                                  "fashion-mnist")])
def test_training_steps_move_the_weights_and_report_the_nll(name, data, data_dir):
    tiny = {"channels": 8, "layers": 2, "kernel_size": 3, "head": 8}
    trainer = imggen.create_trainer("objective", name, data=data, model_args=tiny, batch_size=8, progress=False,
                                    task_args={"nll_n": 10})
    before = [p.clone() for p in trainer.task.model.parameters()]
    stats = trainer.fit(steps=3)
    assert math.isfinite(stats["loss"]) and "bits_per_dim" in stats
    assert all(not torch.equal(a, b) for a, b in zip(before, trainer.task.model.parameters(), strict=True))
    assert trainer.task.inputs == ("binarized" if name.endswith("mnist") else "grey")
    nll = trainer.task.nll(trainer.model_to_export, 10)
    levels = 2 if name.endswith("mnist") else 256
    assert 0 < nll < 28 * 28 * math.log(levels) * 1.5  # nats: not far from a uniform guess after three steps


@pytest.mark.parametrize("recipe", [
    "pixelcnn-gated-mnist",
    pytest.param("pixelsnail-mnist", marks=pytest.mark.slow),
    pytest.param("cpixelcnn-gated-fashion", marks=pytest.mark.slow),
    pytest.param("cpixelsnail-fashion", marks=pytest.mark.slow),
])
def test_each_recipe_trains_and_exports_a_weight_that_loads(recipe, data_dir, tmp_path):
    from imggen.train.recipe import load_recipe, run_recipe

    resolved = load_recipe(ROOT / "recipes" / f"{recipe}.toml")
    resolved["trainer"].update(batch_size=8, progress=False, eval_every=0, sample_every=0)
    resolved["trainer"]["model_args"].update(channels=8, layers=4, head=8)  # the recipe's model, shrunk
    resolved["fit"] = {"steps": 2}
    del resolved["eval"]  # 10,000 samples: the GPU run's job
    stats = run_recipe(resolved, tmp_path / "run")
    model = imggen.create_model(stats["folder"])
    assert type(model) is (PixelSNAIL if "snail" in recipe else PixelCNN)
    meta = model.imggen_cfg["meta"]
    assert meta["protocol"]["inputs"] == ("binarized" if recipe.endswith("mnist") else "grey")
    assert model.init_args["attention_every"] == (4 if "snail" in recipe else 0)
