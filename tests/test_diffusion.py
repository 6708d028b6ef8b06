"""The diffusion family (models/diffusion.py): UNet and DiT noise predictors, label dropout, classifier-free guidance,
sampling through the registered samplers, and training on the objective task. Toy sizes: seconds on one CPU."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

import imggen
from imggen.models.diffusion import DiffusionModel
from imggen.models.samplers import NoiseSchedule
from imggen.registry import create_sampler
from imggen.testing import randomize_zero_layers
from imggen.train.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]

TINY = {"ddpm-unet-mnist": {"widths": (8, 16, 16), "blocks": 1, "heads": 2, "dropout": 0.0},
        "dit-s2-mnist": {"dim": 16, "depth": 2, "heads": 2}}
NAMES = list(TINY)


def tiny(name: str, **kwargs: object) -> DiffusionModel:
    """A toy-sized model with random weights in its zero-started layers (output heads, adaLN-Zero, residual ends),
    so that its predictions depend on every input: an untrained model predicts zero noise everywhere."""
    torch.manual_seed(0)
    return randomize_zero_layers(imggen.create_model(name, **{**TINY[name], **kwargs}).eval())


def inputs(n: int = 4) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(n, 1, 28, 28, generator=g), torch.randint(0, 1000, (n,), generator=g), torch.arange(n) % 10


@pytest.mark.parametrize("name", NAMES)
def test_the_network_predicts_noise_of_the_image_shape_with_or_without_labels(name):
    model = tiny(name)
    x, t, y = inputs()
    with torch.no_grad():
        cond, uncond = model(x, t, y), model(x, t, None)
    assert cond.shape == uncond.shape == x.shape
    assert not torch.allclose(cond, uncond)  # the label reaches the output
    assert not torch.allclose(model(x, t.flip(0), y), cond)  # and so does the timestep


def test_the_registered_pairs_are_conditional_and_of_comparable_size():
    sizes = {}
    for name in ("ddpm-unet-mnist", "dit-s2-mnist"):
        info = imggen.model_info(name)
        assert info["conditional"] and info["output_shape"] == [1, 28, 28]
        sizes[name] = info["parameters"]
    assert 0.8 < sizes["ddpm-unet-mnist"] / sizes["dit-s2-mnist"] < 1.25  # UNet vs DiT on equal terms
    page = (ROOT / "docs" / "diffusion.md").read_text()
    assert all(f"| {size / 1e6:.1f}M |" in page for size in sizes.values())  # the docs' table says the same


@pytest.mark.parametrize("data", ["mnist", "fashion"])
def test_the_recipes_train_unet_and_dit_on_equal_terms(data):
    unet, dit = (load_recipe(ROOT / "recipes" / f"{arch}-{data}.toml") for arch in ("ddpm-unet", "dit-s2"))
    assert (unet["trainer"]["model"], dit["trainer"]["model"]) == (f"ddpm-unet-{data}", f"dit-s2-{data}")
    assert unet["trainer"]["data"] == dit["trainer"]["data"] == ("mnist" if data == "mnist" else "fashion-mnist")
    for recipe in (unet, dit):
        assert recipe["trainer"]["task"] == "objective" and recipe["eval"]["n"] == 10000
    for section, key in [("trainer", "batch_size"), ("fit", "steps"), ("trainer", "ema_decay"), ("export", "sampling")]:
        assert unet[section][key] == dit[section][key], f"{section}.{key} differs between UNet and DiT"


def test_label_dropout_swaps_labels_for_the_null_class_at_its_rate():
    model = tiny("ddpm-unet-mnist", label_dropout=0.5)
    seen = []
    model.class_embed.register_forward_hook(lambda module, args, out: seen.append(args[0].clone()))
    images, labels = torch.rand(200, 1, 28, 28), torch.arange(200) % 10
    model.training_loss(images, labels, torch.Generator().manual_seed(0))
    dropped = seen[-1] == 10
    assert 0.35 < dropped.float().mean() < 0.65
    assert torch.equal(seen[-1][~dropped], labels[~dropped])
    model = tiny("ddpm-unet-mnist", label_dropout=0.0)
    model.class_embed.register_forward_hook(lambda module, args, out: seen.append(args[0].clone()))
    model.training_loss(images[:8], labels[:8], torch.Generator().manual_seed(0))
    assert torch.equal(seen[-1], labels[:8])


@pytest.mark.parametrize("name", NAMES)
def test_guidance_combines_the_conditional_and_unconditional_predictions(name):
    model = tiny(name)
    x, t, y = inputs()
    with torch.no_grad():
        cond, uncond = model(x, torch.full((4,), 500), y), model(x, torch.full((4,), 500), None)
        assert torch.equal(model.predict_noise(x, 500, y, 1.0), cond)
        assert torch.equal(model.predict_noise(x, 500, y, 0.0), uncond)
        torch.testing.assert_close(model.predict_noise(x, 500, y, 3.0), uncond + 3.0 * (cond - uncond))


@pytest.mark.parametrize("name", NAMES)
def test_guidance_one_samples_the_conditional_model_and_zero_ignores_the_labels(name):
    model = tiny(name)
    one = model.sample(2, labels=[3, 7], seed=0, steps=3, guidance=1.0)
    assert not torch.equal(one, model.sample(2, labels=[3, 7], seed=0, steps=3, guidance=2.0))
    assert not torch.equal(one, model.sample(2, labels=[4, 8], seed=0, steps=3, guidance=1.0))
    unconditional = model.sample(2, labels=[3, 7], seed=0, steps=3, guidance=0.0)
    assert torch.equal(unconditional, model.sample(2, labels=[0, 1], seed=0, steps=3, guidance=0.0))


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpmpp-2m"])
def test_every_sampler_is_deterministic_per_seed(sampler):
    model = tiny("dit-s2-mnist")
    args = {"eta": 1.0} if sampler == "ddim" else {}
    first = model.sample(3, labels=[1], seed=5, steps=4, sampler=sampler, sampler_args=args)
    assert first.shape == (3, 1, 28, 28) and first.min() >= 0 and first.max() <= 1
    assert torch.equal(first, model.sample(3, labels=[1], seed=5, steps=4, sampler=sampler, sampler_args=args))
    assert not torch.equal(first, model.sample(3, labels=[1], seed=6, steps=4, sampler=sampler, sampler_args=args))


@pytest.mark.parametrize(("sampler", "steps", "args"), [("ddpm", 1000, {}), ("ddim", 10, {}),
                                                        ("ddim", 50, {"eta": 1.0}), ("dpmpp-2m", 10, {})])
@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_samplers_recover_the_data_when_the_noise_prediction_is_exact(sampler, steps, args, schedule):
    """For data that is one image x*, the exact noise prediction is (x_t - sqrt(abar) x*) / sqrt(1 - abar): every
    sampler must then land on x* (an end-to-end check of the timesteps, coefficients and final step)."""
    schedule = NoiseSchedule.create(schedule)
    abar = schedule.alphas_cumprod.double()
    target = torch.linspace(-0.9, 0.9, 16).view(1, 1, 4, 4)
    solver = create_sampler(sampler, schedule=schedule, **args)
    rng = torch.Generator().manual_seed(0)
    x = torch.randn(2, 1, 4, 4, generator=rng)
    for t in solver.timesteps(steps):
        eps = ((x.double() - abar[t].sqrt() * target) / (1 - abar[t]).sqrt()).float()
        x = solver.step(eps, t, x, rng)
    torch.testing.assert_close(x, target.expand_as(x), atol=2e-3, rtol=0)


@pytest.mark.parametrize("name", NAMES)
def test_sampling_options_are_checked_and_stored_defaults_apply(name):
    model = tiny(name)
    with pytest.raises(ValueError, match="guidance must be a number >= 0"):
        model.sample(1, labels=[0], guidance=-1.0)
    with pytest.raises(ValueError, match="steps must be an integer in 1..1000"):
        model.sample(1, labels=[0], steps=0)
    with pytest.raises(imggen.errors.UnknownNameError, match="ddim"):
        model.sample(1, labels=[0], sampler="ddin")
    with pytest.raises(TypeError, match="unknown option"):
        model.sample(1, labels=[0], temperature=2.0)
    model.sampling_config = {"steps": 2, "sampler": "ddim"}
    assert torch.equal(model.sample(2, labels=[1], seed=0), model.sample(2, labels=[1], seed=0, steps=2,
                                                                           sampler="ddim"))


@pytest.mark.parametrize("name", NAMES)
def test_a_saved_weight_keeps_its_sampling_defaults_and_its_samples(name, tmp_path):
    model = tiny(name)
    model.sampling_config = {"steps": 3, "sampler": "ddim", "guidance": 2.0}
    folder = imggen.save_pretrained(model, tmp_path / name)
    again = imggen.create_model(folder)
    assert type(again) is type(model) and again.sampling_config == model.sampling_config
    assert torch.equal(again.sample(2, labels=[4, 5], seed=1), model.sample(2, labels=[4, 5], seed=1))
    assert "alphas_cumprod" not in again.state_dict()  # the schedule is rebuilt from the config, not stored


@pytest.mark.parametrize("name", NAMES)
def test_training_loss_falls_on_a_fixed_batch(name):
    model = tiny(name).train()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    images, labels = torch.rand(16, 1, 28, 28).round(), torch.arange(16) % 10

    def loss() -> torch.Tensor:
        return model.training_loss(images, labels, torch.Generator().manual_seed(0))["loss"]

    before = float(loss().detach())
    for _ in range(15):
        opt.zero_grad()
        loss().backward()
        opt.step()
    assert float(loss().detach()) < 0.8 * before


def test_three_steps_on_the_objective_task_move_the_weights(data_dir):
    name = "dit-s2-mnist"
    trainer = imggen.create_trainer("objective", name, model_args=TINY[name], batch_size=8, ema_decay=0.9,
                                    warmup=0.3, lr_schedule="cosine", progress=False)
    w0 = [p.clone() for p in trainer.task.model.parameters()]
    stats = trainer.fit(steps=3)
    assert math.isfinite(stats["loss"])
    assert any(not torch.equal(a, b) for a, b in zip(w0, trainer.task.model.parameters(), strict=True))
    exported = trainer.model_to_export.sample(2, labels=[0, 1], seed=0, steps=2)
    assert exported.shape == (2, 1, 28, 28)
