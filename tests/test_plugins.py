"""Entry-point plugins, through the real metadata of the pip-installed distributions in tests/plugins/.

``imggen-example-plugin`` declares one entry point of each kind; ``imggen-broken-plugin``'s module raises on
import; ``imggen-twin-plugin`` declares a name the broken one declares too. Nothing here patches
``entry_points``: what imggen sees is what pip installed (see conftest.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch

import imggen
from imggen.errors import DuplicateNameError, PluginLoadError
from imggen.models.base import Generator
from imggen.models.mlp_gan import MLPGenerator
from imggen.registry import Registry, generators

pytestmark = pytest.mark.usefixtures("plugins_installed")

EXAMPLE_GEN_SOURCE = "imggen-example-plugin (imggen_example_plugin.models:TinyGenerator)"
BROKEN = ("imggen-broken-plugin", "'broken-gen'", "imggen_broken_plugin:BrokenGenerator", "'imggen.generators'",
          "RuntimeError: imggen_broken_plugin fails to import on purpose")

LAZINESS = textwrap.dedent("""
    import json, sys
    def plugin_modules():
        return sorted(m for m in sys.modules if m.startswith(("imggen_example_plugin", "imggen_broken_plugin")))
    import imggen
    seen = {"import": plugin_modules()}
    listed = imggen.list_models() + imggen.list_discriminators() + imggen.list_losses() + imggen.list_parts()
    seen["list"] = plugin_modules()
    imggen.model_info("example-gen")
    seen["model_info"] = plugin_modules()
    imggen.create_loss("example-loss")
    seen["create_loss"] = plugin_modules()
    print(json.dumps({"seen": seen, "listed": listed}))
""")


@pytest.mark.slow
def test_plugins_are_listed_without_import_and_imported_on_first_use(tmp_path):
    done = subprocess.run([sys.executable, "-c", LAZINESS], capture_output=True, text=True, cwd=tmp_path,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    seen = result["seen"]
    assert seen["import"] == [] and seen["list"] == []
    assert {"example-gen", "example-disc", "example-loss", "example-penalty", "broken-gen"} <= set(result["listed"])
    assert seen["model_info"] == ["imggen_example_plugin", "imggen_example_plugin.models"]
    assert seen["create_loss"] == ["imggen_example_plugin", "imggen_example_plugin.models",
                                   "imggen_example_plugin.parts"]
    assert "imggen-broken-plugin" not in done.stderr  # nothing asked for the broken plugin, so no warning


def test_each_kind_lists_its_plugin_name():
    assert "example-gen" in imggen.list_models() and "broken-gen" in imggen.list_models()
    assert "example-disc" in imggen.list_discriminators()
    assert "example-loss" in imggen.list_losses("example-*")
    assert "example-penalty" in imggen.list_parts("example-*")


def test_plugin_generator_is_built_with_its_spec_defaults_and_follows_the_contract():
    model = imggen.create_model("example-gen")
    assert isinstance(model, Generator) and type(model).__module__ == "imggen_example_plugin.models"
    assert model.noise_dim == 8 and model.image_shape == (3, 8, 8) and model.num_classes == 4
    images = model.sample(5, labels=[0, 3], seed=1)
    assert images.shape == (5, 3, 8, 8) and images.min() >= 0 and images.max() <= 1
    assert torch.equal(images, model.sample(5, labels=[0, 3], seed=1))
    assert imggen.create_model("example-gen", num_classes=0).sample(2).shape == (2, 3, 8, 8)


def test_model_info_reports_the_plugin_metadata_and_provider():
    info = imggen.model_info("example-gen")
    assert info["description"] == "Tiny example generator from a third-party plugin"
    assert info["provided_by"] == EXAMPLE_GEN_SOURCE
    assert info["output_shape"] == [3, 8, 8] and info["conditional"] is True and info["num_classes"] == 4
    assert info["parameters"] == (8 + 4) * 3 * 8 * 8 + 3 * 8 * 8
    disc = imggen.model_info("example-disc", kind="discriminators")
    assert disc["provided_by"] == "imggen-example-plugin (imggen_example_plugin.models:TinyDiscriminator)"


def test_plugin_loss_is_built_through_the_same_door():
    loss = imggen.create_loss("example-loss", margin=2.0)
    assert loss.margin == 2.0
    assert float(loss.d_loss(torch.tensor([3.0]), torch.tensor([-3.0]))) == 0.0
    info = imggen.model_info("example-loss", kind="losses")
    assert info["description"] == "Hinge loss on raw discriminator logits (example plugin)."  # docstring line
    assert "parameters" not in info  # not an nn.Module
    with pytest.raises(TypeError, match="got unexpected argument.*scale.*it accepts: margin"):
        imggen.create_loss("example-loss", scale=1)


def test_plugin_generator_discriminator_loss_and_part_train_end_to_end(data_dir):
    """The example plugin's networks, loss and penalty train on the one loop: both networks move and the plugin's
    part is applied at every discriminator step."""
    trainer = imggen.create_trainer(
        "adversarial", "example-gen", model_args={"image_shape": (1, 28, 28), "num_classes": 10}, data="mnist",
        batch_size=8, progress=False, precision="fp32",
        task_args={"loss": "example-loss", "n_critic": 2, "parts": {"example-penalty": {"weight": 0.1}}},
    )
    assert type(trainer.task.critic).__name__ == "TinyDiscriminator"  # the pair the generator declares
    g0 = [p.clone() for p in trainer.task.model.parameters()]
    d0 = [p.clone() for p in trainer.task.critic.parameters()]
    trainer.fit(steps=3)
    assert all(not torch.equal(a, b) for a, b in zip(g0, trainer.task.model.parameters(), strict=True))
    assert any(not torch.equal(a, b) for a, b in zip(d0, trainer.task.critic.parameters(), strict=True))
    assert trainer.task.penalties[0].calls == 3 * 2  # three steps of two discriminator updates
    assert trainer.task.model.sample(4, labels=[7], seed=0).shape == (4, 1, 28, 28)


def test_plugin_model_round_trips_through_save_pretrained(tmp_path):
    model = imggen.create_model("example-gen", noise_dim=3)
    again = imggen.create_model(imggen.save_pretrained(model, tmp_path / "example"))
    assert type(again) is type(model) and again.noise_dim == 3
    assert torch.equal(again.sample(2, labels=[1], seed=0), model.sample(2, labels=[1], seed=0))


def test_a_broken_plugin_warns_once_and_everything_else_keeps_working():
    registry = Registry("generators")  # reads the real imggen.generators entry points, nothing cached yet
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert "broken-gen" in registry.names()  # listed from metadata: no import, no warning
        assert caught == []
        for _ in range(2):
            with pytest.raises(PluginLoadError) as error:
                registry.get("broken-gen")
            assert registry.list(pretrained=True) == []
        assert registry.get("example-gen").source == EXAMPLE_GEN_SOURCE
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1, messages
    assert all(part in messages[0] for part in BROKEN)
    assert str(error.value) == messages[0]


def test_create_model_of_a_broken_plugin_raises_plugin_load_error_naming_it():
    generators.refresh()  # forget what earlier tests loaded, so the first failure (and its warning) happens here
    with pytest.warns(RuntimeWarning, match="imggen-broken-plugin"):
        imggen.list_models(pretrained=True)
    with pytest.raises(PluginLoadError) as caught:
        imggen.create_model("broken-gen")
    assert all(part in str(caught.value) for part in BROKEN)
    assert "broken-gen" in imggen.list_models()
    assert imggen.create_model("gan-mlp-mnist").sample(1, seed=0).shape == (1, 1, 28, 28)
    assert imggen.create_model("example-gen").sample(1, labels=[0]).shape == (1, 3, 8, 8)


def test_a_builtin_and_a_plugin_with_one_name_is_an_error_naming_both():
    registry = Registry("generators", group="imggen.generators")
    registry.register("example-gen")(MLPGenerator)  # no error yet: the plugin is not imported at registration
    with pytest.raises(DuplicateNameError) as caught:
        registry.get("example-gen")
    message = str(caught.value)
    assert "generators 'example-gen' is registered twice" in message
    assert "imggen (imggen.models.mlp_gan:MLPGenerator)" in message and EXAMPLE_GEN_SOURCE in message
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # the broken plugin's warning is not this test's subject
        assert registry.list(pretrained=True) == []  # listing skips the clash instead of failing


def test_two_distributions_with_one_name_is_an_error_naming_both():
    registry = Registry("generators", group="imggen_tests.twins")  # two test distributions declare "twin" here
    with pytest.raises(DuplicateNameError) as caught:
        registry.get("twin")
    message = str(caught.value)
    assert "generators 'twin' is registered twice" in message
    assert "imggen-twin-plugin (imggen_example_plugin.models:TinyGenerator)" in message
    assert "imggen-broken-plugin (imggen_broken_plugin:TwinGenerator)" in message
    assert "uninstall or rename one of them" in message
