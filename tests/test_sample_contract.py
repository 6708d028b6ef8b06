"""The generator contract (``sample``) for every registered generator, and the seed's MLP GAN family.

``model.sample(n, *, labels=None, seed=None)`` → ``(n, C, H, W)`` in [0, 1] on the model's device, the same
images for the same seed; bad arguments raise ``ValueError`` saying why. New built-in generators are picked
up here automatically.
"""

from __future__ import annotations

from fnmatch import fnmatch
from importlib.metadata import entry_points

import pytest
import torch
from torch import nn

import imggen
from imggen.models.base import Generator
from imggen.testing import randomize_zero_layers

PLUGIN_NAMES = {ep.name for ep in entry_points(group="imggen.generators")}
UPSCALERS = set(imggen.list_models("*-x[0-9]"))  # super-resolution models upscale instead (tests/test_sr.py)
BUILTINS = [name for name in imggen.list_models() if name not in PLUGIN_NAMES | UPSCALERS]
# every built-in, plus the example plugin (a third-party Generator subclass must get the same contract for free)
CONTRACT = [*BUILTINS, "example-gen"]
#: families whose full-size sampling takes seconds per call on one CPU thread are checked at a toy size (the contract
#: does not depend on the size): diffusion runs its network once per step, the autoregressive models once per pixel.
#: Zero-started layers get random weights, else an untrained diffusion network predicts zero noise whatever the label.
CHEAP = {
    "ddpm-unet-*": ({"widths": (8, 16, 16), "blocks": 1, "heads": 1}, {"steps": 2}),
    "dit-*": ({"dim": 16, "depth": 1, "heads": 1}, {"steps": 2}),
    "*pixelcnn-*": ({"channels": 8, "layers": 2, "head": 8}, {}),
    "*pixelsnail-*": ({"channels": 8, "layers": 2, "head": 8, "attention_every": 1, "heads": 2}, {}),
}


def build(name: str) -> Generator:
    args, sampling = next((cheap for pattern, cheap in CHEAP.items() if fnmatch(name, pattern)), (None, None))
    model = imggen.create_model(name, **(args or {})).eval()
    if args is not None:
        model.sampling_config = sampling
        randomize_zero_layers(model)
    assert isinstance(model, Generator), f"{name} must subclass imggen.models.base.Generator"
    return model


def some_labels(model: Generator) -> list[int] | None:
    return [0, model.num_classes - 1] if model.conditional else None


@pytest.mark.parametrize("name", CONTRACT)
def test_sample_shape_range_dtype_and_device(name):
    model = build(name)
    images = model.sample(3, labels=some_labels(model), seed=0)
    assert images.shape == (3, *model.image_shape)
    assert images.dtype == torch.float32 and images.device == model.device
    assert images.min() >= 0 and images.max() <= 1
    assert list(model.image_shape) == imggen.model_info(name)["output_shape"]


@pytest.mark.parametrize("name", CONTRACT)
def test_sample_is_deterministic_per_seed(name):
    model = build(name)
    labels = some_labels(model)
    first = model.sample(4, labels=labels, seed=123)
    assert torch.equal(first, model.sample(4, labels=labels, seed=123))
    assert not torch.equal(first, model.sample(4, labels=labels, seed=124))


@pytest.mark.parametrize("name", CONTRACT)
def test_bad_sample_arguments_raise_value_error_saying_why(name):
    model = build(name)
    labels = some_labels(model)
    for n in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            model.sample(n, labels=labels)
    if not model.conditional:
        with pytest.raises(ValueError, match="unconditional and takes no labels"):
            model.sample(2, labels=[0])
        return
    top = model.num_classes - 1
    with pytest.raises(ValueError, match=rf"is conditional: pass labels= \(integers in 0..{top}\)"):
        model.sample(2)
    with pytest.raises(ValueError, match=rf"labels out of range: \[-1, {top + 1}\]; this model has classes 0..{top}"):
        model.sample(3, labels=[0, top + 1, -1])
    with pytest.raises(ValueError, match="labels must be integers, got dtype torch.float32"):
        model.sample(2, labels=torch.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="labels must be integers"):
        model.sample(2, labels=[0.5])
    with pytest.raises(ValueError, match="labels is empty"):
        model.sample(2, labels=[])
    with pytest.raises(ValueError, match="3 labels for 2 images"):
        model.sample(2, labels=[0, 1, 0])
    with pytest.raises(ValueError, match=r"flat sequence of class indices, got shape \(2, 1\)"):
        model.sample(2, labels=[[0], [1]])


@pytest.mark.parametrize("name", [n for n in BUILTINS if imggen.model_info(n).get("conditional")])
def test_labels_are_cycled_and_pick_the_class(name):
    model = build(name)
    cycled = model.sample(5, labels=[1, 2], seed=0)
    assert torch.equal(cycled, model.sample(5, labels=torch.tensor([1, 2, 1, 2, 1]), seed=0))
    assert not torch.equal(cycled, model.sample(5, labels=[2, 1], seed=0))  # same noise, other classes


@pytest.mark.parametrize("name", CONTRACT)
def test_noise_on_the_cpu_is_the_default_noise_of_a_cpu_model(name):
    model = build(name)
    labels = some_labels(model)
    assert torch.equal(model.sample(3, labels=labels, seed=9), model.sample(3, labels=labels, seed=9,
                                                                           noise_device="cpu"))
    with pytest.raises(ValueError, match="noise_device='nowhere' cannot hold a random generator"):
        model.sample(2, labels=labels, seed=0, noise_device="nowhere")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", BUILTINS)
def test_sample_on_cuda_stays_there_and_matches_cpu_with_cpu_noise(name):
    model = build(name)
    labels = some_labels(model)
    on_cpu = model.sample(4, labels=labels, seed=5)
    on_gpu = model.to("cuda").sample(4, labels=labels, seed=5, noise_device="cpu")
    assert on_gpu.device.type == "cuda"
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, atol=1e-4, rtol=0)  # the same noise, copied over
    drawn_there = model.sample(4, labels=labels, seed=5)  # the default: noise drawn on the GPU, seeded
    assert drawn_there.device.type == "cuda" and torch.equal(drawn_there, model.sample(4, labels=labels, seed=5))


# -- the seed's MLP GAN family --------------------------------------------------------------------------------
def linear_widths(module: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def test_mlp_generators_have_the_seed_architecture():
    assert linear_widths(imggen.create_model("gan-mlp-mnist")) == [(100, 256), (256, 512), (512, 1024),
                                                                   (1024, 784)]
    assert linear_widths(imggen.create_model("cgan-mlp-mnist"))[0] == (110, 256)  # noise + one-hot label
    layers = [type(m).__name__ for m in imggen.create_model("gan-mlp-mnist").net]
    assert layers == ["Linear", "ReLU", "Linear", "ReLU", "Linear", "ReLU", "Linear"]  # then Tanh in forward


def test_mlp_generator_forward_is_the_raw_tanh_network():
    model = imggen.create_model("cgan-mlp-mnist")
    out = model(torch.randn(6, 100) * 50, torch.arange(6))
    assert out.shape == (6, 1, 28, 28)
    assert out.min() < 0 and out.min() >= -1 and out.max() <= 1  # Tanh range, not yet mapped to [0, 1]


def test_mlp_discriminators_have_the_seed_architecture_and_return_raw_logits():
    disc = imggen.create_discriminator("mlp")
    assert linear_widths(disc) == [(784, 512), (512, 256), (256, 1)]
    assert [type(m).__name__ for m in disc.net] == ["Linear", "LeakyReLU", "Linear", "LeakyReLU", "Linear"]
    assert disc.net[1].negative_slope == 0.2
    assert not any(isinstance(m, nn.Sigmoid) for m in disc.modules())
    with torch.no_grad():
        disc.net[-1].bias.fill_(5.0)  # a logit far from [0, 1] must come out as it is
        logits = disc(torch.zeros(3, 1, 28, 28))
    assert logits.shape == (3,) and torch.all(logits > 1)
    cdisc = imggen.create_discriminator("mlp", num_classes=10)
    assert linear_widths(cdisc)[0] == (794, 512)
    assert cdisc(torch.zeros(2, 1, 28, 28), torch.tensor([0, 9])).shape == (2,)


def test_constructor_arguments_let_one_architecture_serve_other_datasets():
    model = imggen.create_model("cgan-mlp-fashion", noise_dim=64, widths=(128, 256), image_shape=(3, 32, 32),
                                num_classes=5)
    assert linear_widths(model) == [(69, 128), (128, 256), (256, 3 * 32 * 32)]
    assert model.sample(2, labels=[4], seed=0).shape == (2, 3, 32, 32)
    disc = imggen.create_discriminator("mlp", widths=(64,), image_shape=(3, 32, 32), num_classes=5)
    assert linear_widths(disc) == [(3 * 32 * 32 + 5, 64), (64, 1)]


@pytest.mark.parametrize("seed", [1.5, "42", 2**64, -1, True])
def test_a_seed_that_is_not_a_63_bit_integer_is_refused(seed):
    with pytest.raises(ValueError, match=r"seed must be an integer in 0..2\*\*63-1"):
        build("gan-mlp-mnist").sample(2, seed=seed)


def test_huge_requests_stream_in_bounded_batches_instead_of_one_tensor():
    model = build("cgan-mlp-mnist")
    with pytest.raises(ValueError, match=r"would return 2920.6 GiB in one tensor; stream it.*iter_samples"):
        model.sample(10**9, labels=[1])
    batches = list(model.iter_samples(10, labels=[1, 2], seed=3, batch_size=4))
    assert [b.shape[0] for b, _ in batches] == [4, 4, 2] and batches[0][1].tolist() == [1, 2, 1, 2]
    assert torch.equal(torch.cat([b for b, _ in batches]), model.sample(10, labels=[1, 2], seed=3, batch_size=4))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.sample(2, labels=[1], batch_size=0)
