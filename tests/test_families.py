"""The DCGAN and convolutional VAE families through their public interfaces: sampling, labels, saving, the VAE's
loss and likelihood bound, and a few real training steps of each on the one loop."""

import json
import math

import pytest
import torch

import imggen
from imggen.models.dcgan import DCGANGenerator
from imggen.models.vae import ConvVAE, discretized_logistic_log_likelihood
from imggen.train.tasks.adversarial import wrong_labels

TINY_GAN = {"widths": [16, 8, 8]}
TINY_D = {"widths": [8, 16]}
TINY_VAE = {"latent_dim": 8, "widths": [8, 16], "hidden": 32}
GANS = ["gan-dcgan-mnist", "cgan-dcgan-mnist", "cgan-dcgan-fashion"]
VAES = ["vae-conv-mnist", "cvae-conv-mnist", "vae-conv-fashion", "cvae-conv-fashion"]


def tiny(name):
    return imggen.create_model(name, **(TINY_GAN if "dcgan" in name else TINY_VAE))


def labels_for(model, n):
    return list(range(n)) if model.conditional else None


# -- both families: the generator contract ----------------------------------------------------------------
@pytest.mark.parametrize("name", GANS + VAES)
def test_samples_are_seeded_images_in_unit_range(name):
    model = tiny(name)
    images = model.sample(6, labels=labels_for(model, 6), seed=3)
    assert images.shape == (6, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    assert torch.equal(images, model.sample(6, labels=labels_for(model, 6), seed=3))
    assert not torch.equal(images, model.sample(6, labels=labels_for(model, 6), seed=4))


@pytest.mark.parametrize("name", ["cgan-dcgan-mnist", "cvae-conv-mnist"])
def test_conditional_models_honour_and_check_labels(name):
    model = tiny(name)
    a = model.sample(4, labels=[2], seed=0)
    b = model.sample(4, labels=[7], seed=0)
    assert a.shape == b.shape == (4, 1, 28, 28) and not torch.equal(a, b)  # same noise, other class
    with pytest.raises(ValueError, match="pass labels"):
        model.sample(4, seed=0)
    with pytest.raises(ValueError, match="out of range"):
        model.sample(4, labels=[10], seed=0)


@pytest.mark.parametrize("name", ["gan-dcgan-mnist", "vae-conv-mnist"])
def test_unconditional_models_refuse_labels_and_unknown_options(name):
    model = tiny(name)
    with pytest.raises(ValueError, match="unconditional"):
        model.sample(2, labels=[1])
    with pytest.raises(TypeError, match="unknown option"):
        model.sample(2, guidance=3.0)


def test_sampling_options_change_the_samples():
    gan = tiny("gan-dcgan-mnist")
    assert not torch.equal(gan.sample(4, seed=0), gan.sample(4, seed=0, noise_scale=0.5))
    vae = tiny("vae-conv-mnist")
    drawn = vae.sample(4, seed=0, output="sample")
    assert set(drawn.unique().tolist()) <= {0.0, 1.0}  # Bernoulli draws are binary
    assert not torch.equal(vae.sample(4, seed=0), vae.sample(4, seed=0, temperature=0.5))
    grey = tiny("vae-conv-fashion").sample(4, seed=0, output="sample")
    assert torch.equal(grey, torch.round(grey * 255) / 255)  # logistic draws land on the 256 grey levels
    with pytest.raises(ValueError, match="output must be"):
        vae.sample(2, output="mode")


def test_batch_norm_generator_samples_do_not_depend_on_their_batch():
    gen = DCGANGenerator(widths=[16, 8, 8], norm="batch").train()
    one = gen.sample(1, seed=5)
    assert torch.allclose(one, gen.sample(8, seed=5)[:1], atol=1e-6) and gen.training


def test_bad_architectures_are_named():
    with pytest.raises(ValueError, match="divisible by 4"):
        DCGANGenerator(image_shape=(1, 30, 30))
    with pytest.raises(ValueError, match="norm must be"):
        DCGANGenerator(norm="layer")
    with pytest.raises(ValueError, match="likelihood must be"):
        ConvVAE(likelihood="gaussian")


@pytest.mark.parametrize("model", [DCGANGenerator(num_classes=10, **TINY_GAN),
                                   ConvVAE(num_classes=10, likelihood="logistic", **TINY_VAE)],
                         ids=["dcgan", "vae"])
def test_an_instance_built_directly_round_trips_through_save_pretrained(tmp_path, model):
    model.sampling_config = {"noise_scale": 0.8} if isinstance(model, DCGANGenerator) else {"temperature": 0.9}
    imggen.save_pretrained(model, tmp_path / "w")
    again = imggen.create_model(tmp_path / "w")
    assert type(again) is type(model) and json.dumps(again.init_args) == json.dumps(model.init_args)
    assert again.sampling_config == model.sampling_config
    assert torch.equal(again.sample(3, labels=[1], seed=0), model.sample(3, labels=[1], seed=0))


# -- latent modes: a generator with a discrete latent ----------------------------------------------------------
def test_latent_modes_are_drawn_from_the_prior_and_need_no_labels(tmp_path):
    gen = imggen.create_model("gan-dcgan-mnist", num_modes=4, **TINY_GAN)
    assert not gen.conditional
    with pytest.raises(ValueError, match="unconditional"):
        gen.sample(2, labels=[1])
    gen.set_mode_prior(torch.tensor([0, 3, 0, 1]))
    drawn = torch.bincount(gen.draw_modes(4000, torch.Generator().manual_seed(0)), minlength=4)
    assert drawn[0] == drawn[2] == 0 and abs(drawn[1].item() / 4000 - 0.75) < 0.03
    only_one = imggen.create_model("gan-dcgan-mnist", num_modes=4, **TINY_GAN)
    only_one.load_state_dict(gen.state_dict())
    only_one.set_mode_prior(torch.tensor([0, 1, 0, 0]))
    mode_one = (gen(torch.zeros(1, gen.noise_dim), torch.tensor([1])) + 1) / 2  # mode 1 at zero noise
    assert torch.allclose(only_one.sample(1, seed=0, noise_scale=1e-9), mode_one, atol=1e-5)
    imggen.save_pretrained(gen, tmp_path / "w")  # the prior travels with the weights
    again = imggen.create_model(tmp_path / "w")
    assert torch.equal(again.mode_prior, gen.mode_prior) and torch.equal(again.sample(5, seed=1), gen.sample(5, seed=1))


def test_a_conditional_generator_draws_modes_among_its_labels_own():
    gen = imggen.create_model("cgan-dcgan-mnist", num_modes=20, **TINY_GAN)  # 2 modes per digit
    assert gen.conditional and gen.num_modes == 20
    counts = torch.zeros(20)
    counts[[6, 7]] = torch.tensor([1.0, 3.0])  # digit 3: modes 6 and 7, one in four the first
    counts[[0, 1, 2, 3, 4, 5, *range(8, 20)]] = 1.0
    gen.set_mode_prior(counts)
    labels = torch.full((4000,), 3)
    drawn = gen.draw_modes(4000, torch.Generator().manual_seed(0), labels)
    assert set(drawn.unique().tolist()) == {6, 7} and abs((drawn == 7).float().mean().item() - 0.75) < 0.03
    only_seven = imggen.create_model("cgan-dcgan-mnist", num_modes=20, **TINY_GAN)
    only_seven.load_state_dict(gen.state_dict())
    counts[6] = 0.0
    only_seven.set_mode_prior(counts)
    mode_seven = (gen(torch.zeros(1, gen.noise_dim), torch.tensor([7])) + 1) / 2
    assert torch.allclose(only_seven.sample(1, labels=[3], seed=0, noise_scale=1e-9), mode_seven, atol=1e-5)


def test_latent_modes_need_a_multiple_of_the_classes_and_a_prior_for_each():
    with pytest.raises(ValueError, match="no multiple of num_classes"):
        DCGANGenerator(num_classes=10, num_modes=25)
    with pytest.raises(ValueError, match="needs 3 non-negative counts"):
        DCGANGenerator(num_modes=3).set_mode_prior(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="within any class"):
        DCGANGenerator(num_classes=2, num_modes=4).set_mode_prior(torch.tensor([1, 2, 0, 0]))


# -- the discriminator ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("num_classes", "spectral_norm"), [(0, False), (10, False), (10, True)])
def test_discriminator_gives_one_logit_per_image(num_classes, spectral_norm):
    critic = imggen.create_discriminator("dcgan", num_classes=num_classes, spectral_norm=spectral_norm, **TINY_D)
    images = torch.rand(5, 1, 28, 28) * 2 - 1
    labels = torch.arange(5) if num_classes else None
    logits = critic(images, labels)
    assert logits.shape == (5,) and torch.isfinite(logits).all()
    if num_classes:  # the projection term makes the logit depend on the label
        assert not torch.allclose(logits, critic(images, (labels + 1) % 10))


def test_generators_declare_the_dcgan_discriminator():
    assert all(imggen.registry.generators.get(name).discriminator == "dcgan" for name in GANS)
    assert all(imggen.registry.generators.get(name).discriminator is None for name in VAES)


# -- the VAE ----------------------------------------------------------------------------------------------------
def binary_batch(n=32):
    from imggen.data import binarized_test_split

    split = binarized_test_split("mnist")
    return split.images[:n].float() / 255, split.labels[:n]


def test_vae_loss_is_finite_and_falls_on_a_fixed_batch(data_dir):
    torch.manual_seed(0)
    vae = tiny("vae-conv-mnist")
    images, _ = binary_batch()
    opt = torch.optim.Adam(vae.parameters(), lr=3e-3)
    losses = []
    for step in range(20):
        terms = vae.training_loss(images, None, torch.Generator().manual_seed(step))
        assert set(terms) >= {"loss", "reconstruction", "kl"} and torch.isfinite(terms["loss"])
        opt.zero_grad()
        terms["loss"].backward()
        opt.step()
        losses.append(float(terms["loss"].detach()))
    assert losses[-1] < 0.8 * losses[0], losses


def test_log_prob_with_one_sample_is_the_elbo(data_dir):
    torch.manual_seed(0)
    vae = tiny("cvae-conv-mnist")
    images, labels = binary_batch(8)
    mean, log_var = vae.encode(images, labels)
    eps = torch.randn(1, *mean.shape, generator=torch.Generator().manual_seed(11))[0]  # what log_prob draws first
    z = mean + torch.exp(0.5 * log_var) * eps
    probs = vae.decode(z, labels).clamp(1e-7, 1 - 1e-7)
    log_px = (images * probs.log() + (1 - images) * (1 - probs).log()).flatten(1).sum(1)
    log_pz = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(1)
    log_qz = torch.distributions.Normal(mean, torch.exp(0.5 * log_var)).log_prob(z).sum(1)
    bound = vae.log_prob(images, labels, k=1, seed=11)
    assert bound.shape == (8,) and torch.allclose(bound, log_px + log_pz - log_qz, rtol=1e-4, atol=1e-2)


def test_iwae_bound_tightens_with_more_samples_and_averages_to_minus_the_loss(data_dir):
    torch.manual_seed(0)
    vae = tiny("vae-conv-mnist")
    images, _ = binary_batch(16)
    elbo = torch.stack([vae.log_prob(images, k=1, seed=s) for s in range(50)]).mean()
    iwae = vae.log_prob(images, k=256, seed=0, max_batch=1000).mean()  # several chunks
    assert iwae > elbo
    with torch.no_grad():
        loss = torch.stack([vae.training_loss(images, None, torch.Generator().manual_seed(s))["loss"]
                            for s in range(50)]).mean()
    assert abs(float(elbo + loss)) < 0.01 * float(loss)  # the sampled KL averages to the analytic one


def test_log_prob_checks_its_input():
    vae = tiny("vae-conv-mnist")
    with pytest.raises(ValueError, match="binary images"):
        vae.log_prob(torch.full((2, 1, 28, 28), 0.5))
    with pytest.raises(ValueError, match="importance samples"):
        vae.log_prob(torch.zeros(2, 1, 28, 28), k=0)
    with pytest.raises(ValueError, match="images must be"):
        vae.log_prob(torch.zeros(2, 28, 28))


@pytest.mark.parametrize(("loc", "log_scale"), [(0.0, -2.0), (-0.97, -5.0), (0.4, -9.0), (1.3, 1.0)])
def test_discretized_logistic_masses_over_the_grey_levels_sum_to_one(loc, log_scale):
    levels = (torch.arange(256.0) / 255).view(256, 1, 1, 1)  # one one-pixel image per grey level
    log_masses = discretized_logistic_log_likelihood(levels, torch.full_like(levels, loc),
                                                     torch.full_like(levels, log_scale))
    assert log_masses.shape == (256,) and torch.isfinite(log_masses).all()
    assert math.isclose(float(torch.logsumexp(log_masses, 0)), 0.0, abs_tol=1e-3)


def test_interpolation_runs_between_the_two_reconstructions():
    vae = tiny("cvae-conv-fashion")
    a, b = torch.rand(2, 1, 28, 28), torch.rand(2, 1, 28, 28)
    line = vae.interpolate(a, b, steps=5, labels=[3, 4])
    assert line.shape == (2, 5, 1, 28, 28)
    ends = vae.decode(vae.encode(torch.cat([a, b]), torch.tensor([3, 4, 3, 4]))[0], [3, 4, 3, 4])
    assert torch.allclose(line[:, 0], ends[:2], atol=1e-5) and torch.allclose(line[:, -1], ends[2:], atol=1e-5)


# -- training on the one loop -----------------------------------------------------------------------------------
def test_dcgan_trains_adversarially_on_the_loop(data_dir):
    trainer = imggen.create_trainer("adversarial", "cgan-dcgan-mnist", model_args=TINY_GAN,
                                    task_args={"discriminator_args": TINY_D, "parts": {"r1": {"gamma": 1.0}}},
                                    batch_size=8, ema_decay=0.9, progress=False)
    g0 = [p.clone() for p in trainer.task.model.parameters()]
    d0 = [p.clone() for p in trainer.task.critic.parameters()]
    stats = trainer.fit(steps=2)
    assert math.isfinite(stats["d_loss"]) and math.isfinite(stats["g_loss"])
    assert all(not torch.equal(a, b) for a, b in zip(g0, trainer.task.model.parameters(), strict=True))
    assert all(not torch.equal(a, b) for a, b in zip(d0, trainer.task.critic.parameters(), strict=True))
    assert type(trainer.task.critic).__name__ == "DCGANDiscriminator"


def test_a_generator_with_latent_modes_trains_on_pixel_clusters_not_labels(data_dir):
    trainer = imggen.create_trainer("adversarial", "gan-dcgan-mnist", model_args={"num_modes": 6, **TINY_GAN},
                                    task_args={"discriminator_args": TINY_D, "mismatched_labels": 0.25},
                                    batch_size=8, ema_decay=0.9, progress=False, data_fraction=0.02)
    task = trainer.task
    assert task.critic.num_classes == 6 and task.centres.shape == (6, 28 * 28)
    prior = trainer.model_to_export.mode_prior  # the EMA copy ships the clusters' sizes
    assert torch.allclose(prior, task.model.mode_prior) and (prior > 0).all() and not torch.allclose(prior, prior[:1])
    assert trainer.task.protocol()["latent_modes"]["clusters"] == 6
    stats = trainer.fit(steps=2)
    assert math.isfinite(stats["d_loss"]) and math.isfinite(stats["g_loss"])
    assert trainer.model_to_export.sample(4, seed=0).shape == (4, 1, 28, 28)


def test_a_conditional_generator_with_modes_trains_on_clusters_within_each_class(data_dir):
    trainer = imggen.create_trainer("adversarial", "cgan-dcgan-mnist", model_args={"num_modes": 20, **TINY_GAN},
                                    task_args={"discriminator_args": TINY_D, "mismatched_labels": 0.25},
                                    batch_size=8, ema_decay=0.9, progress=False, data_fraction=0.05)
    task = trainer.task
    assert task.critic.num_classes == 20 and task.centres.shape == (10, 2, 28 * 28)
    prior = trainer.model_to_export.mode_prior.view(10, 2)
    real_share = torch.bincount(trainer.labels, minlength=10).double() / len(trainer.labels)
    assert torch.allclose(prior.sum(1), real_share.to(prior.dtype)) and (prior > 0).all()
    assert "within each class" in task.protocol()["latent_modes"]["of"]
    modes = torch.arange(20).repeat(50)
    wrong = wrong_labels(modes, 20, torch.Generator().manual_seed(0), per_class=2)
    assert (wrong // 2 != modes // 2).all() and len(wrong.unique()) == 20  # any mode of another class
    stats = trainer.fit(steps=2)
    assert math.isfinite(stats["d_loss"]) and math.isfinite(stats["g_loss"])
    assert trainer.model_to_export.sample(4, labels=[0, 9], seed=0).shape == (4, 1, 28, 28)


def test_vae_trains_on_the_objective_task_and_reports_its_bound(data_dir):
    trainer = imggen.create_trainer("objective", "vae-conv-mnist", model_args=TINY_VAE, progress=False,
                                    task_args={"inputs": "binarized", "nll_n": 20, "log_prob_args": {"k": 4}},
                                    batch_size=8)
    w0 = [p.clone() for p in trainer.task.model.parameters()]
    stats = trainer.fit(steps=2)
    assert {"loss", "reconstruction", "kl"} <= set(stats) and math.isfinite(stats["loss"])
    assert any(not torch.equal(a, b) for a, b in zip(w0, trainer.task.model.parameters(), strict=True))
    nll = trainer.task.nll(trainer.model_to_export, 20)
    assert 0 < nll < 28 * 28 * math.log(2) * 2  # a bound in nats, no worse than twice a coin per pixel


def test_a_weight_with_latent_modes_loads_under_the_plain_name():
    with_modes, plain = imggen.model_info("gan-dcgan-mnist.v2"), imggen.model_info("gan-dcgan-mnist.v1")
    assert with_modes["arguments"]["num_modes"] == 50 and plain["arguments"]["num_modes"] == 0
    assert with_modes["parameters"] > plain["parameters"] and not with_modes["conditional"]
    model_args = {weight["tag"]: weight["model_args"] for weight in with_modes["pretrained"]}
    assert model_args["v2"] == {"num_modes": 50} and model_args["v1"] == {}
