"""The registry through the public API: create/list/info, ``arch.tag`` names, and errors that say how to fix them."""

from __future__ import annotations

import copy
import fnmatch

import pytest
import torch
from safetensors.torch import load_file

import imggen
from imggen.errors import DuplicateNameError, ImggenError, UnknownNameError
from imggen.models.mlp_gan import MLPDiscriminator, MLPGenerator
from imggen.registry import Registry

BUILTIN_GENERATORS = ["cgan-mlp-fashion", "cgan-mlp-mnist", "gan-mlp-mnist"]
TINY = {"widths": (8,), "noise_dim": 4}


@pytest.fixture
def zoo(tmp_path, swap_registry, cfg_for):
    """A generator registry with ``tiny`` (tags ``a`` and ``b``, different weights) and ``bare`` (no weights)."""
    folders = {}
    for tag, seed in (("a", 1), ("b", 2)):
        torch.manual_seed(seed)
        folders[tag] = imggen.save_pretrained(imggen.create_model("gan-mlp-mnist", **TINY), tmp_path / tag,
                                              meta={"metrics": {"fid": 10.0 + seed}})
    registry = swap_registry("generators")
    registry.register("tiny", defaults=TINY, pretrained=[
        cfg_for(folders["a"], "a", license="CC-BY-4.0", description="seed 1"),
        cfg_for(folders["b"], "b"),
    ])(MLPGenerator)
    registry.register("bare", defaults=TINY)(MLPGenerator)
    return folders


def weights_equal(a: torch.nn.Module, b: torch.nn.Module | dict) -> bool:
    sa, sb = a.state_dict(), b if isinstance(b, dict) else b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def saved(folder) -> dict[str, torch.Tensor]:
    return load_file(folder / "model.safetensors")


# -- create_model ---------------------------------------------------------------------------------------------
def test_create_model_builds_each_builtin_generator_with_its_defaults():
    for name in BUILTIN_GENERATORS:
        model = imggen.create_model(name)
        assert isinstance(model, MLPGenerator)
        assert model.imggen_cfg["architecture"] == name
        assert model.pretrained_tag is None and model.weights_sha256 is None
    assert imggen.create_model("cgan-mlp-mnist").num_classes == 10
    assert imggen.create_model("gan-mlp-mnist").num_classes == 0


def test_keyword_arguments_override_constructor_defaults_and_are_recorded():
    model = imggen.create_model("cgan-mlp-fashion", noise_dim=7, widths=(16, 8))
    assert model.noise_dim == 7
    assert model.net[0].in_features == 7 + 10
    assert model.imggen_cfg["args"] == {"noise_dim": 7, "widths": [16, 8], "image_shape": [1, 28, 28],
                                        "num_classes": 10}


def test_same_verbs_exist_for_discriminators():
    assert "mlp" in imggen.list_discriminators()
    disc = imggen.create_discriminator("mlp", num_classes=10)
    assert isinstance(disc, MLPDiscriminator) and disc.num_classes == 10
    assert imggen.model_info("mlp", kind="discriminator")["parameters"] == sum(  # singular or plural kinds
        p.numel() for p in imggen.create_discriminator("mlp").parameters())


@pytest.mark.parametrize("name", BUILTIN_GENERATORS)
def test_each_generator_declares_the_discriminator_it_trains_against(name):
    assert imggen.registry.generators.get(name).discriminator in imggen.list_discriminators()


def test_discriminator_dropout_adds_no_weights_and_keeps_the_state_dict_keys():
    plain, dropped = (imggen.create_discriminator("mlp", dropout=p) for p in (0.0, 0.3))
    assert list(plain.state_dict()) == list(dropped.state_dict())
    dropped.load_state_dict(plain.state_dict())  # a checkpoint of one loads into the other
    x = torch.randn(4, 1, 28, 28)
    assert torch.equal(dropped.eval()(x), plain(x))  # dropout only acts in training mode


@pytest.mark.parametrize("name", ["gan-mlp-mnist", "cgan-mlp-mnist"])
def test_noise_scale_is_a_sampling_option_not_a_change_of_weights(name):
    model = imggen.create_model(name, pretrained=True)
    before = copy.deepcopy(model.state_dict())
    labels = [3] if model.conditional else None
    z = torch.randn(8, model.noise_dim, generator=torch.Generator().manual_seed(0))
    expected = (model(1.3 * z, torch.full((8,), 3) if labels else None) + 1) / 2
    torch.testing.assert_close(model.sample(8, labels=labels, seed=0, noise_scale=1.3), expected.clamp(0, 1))
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())
    with pytest.raises(ValueError, match="noise_scale must be > 0"):
        model.sample(2, labels=labels, noise_scale=0.0)


def test_create_model_accepts_a_pathlib_folder(saved_folder):
    assert imggen.create_model(saved_folder).imggen_cfg["architecture"] == "cgan-mlp-mnist"


# -- list_models ----------------------------------------------------------------------------------------------
def test_list_models_is_sorted_and_holds_the_builtins():
    names = imggen.list_models()
    assert names == sorted(names) and set(BUILTIN_GENERATORS) <= set(names)
    assert imggen.list_models("*") == names


@pytest.mark.parametrize(("pattern", "expected", "excluded"), [
    ("*mnist", {"cgan-mlp-mnist", "gan-mlp-mnist"}, {"cgan-mlp-fashion"}),
    ("cgan-*", {"cgan-mlp-mnist", "cgan-mlp-fashion"}, {"gan-mlp-mnist"}),
    ("gan-mlp-mnis?", {"gan-mlp-mnist"}, {"cgan-mlp-mnist"}),
    ("[c]gan-mlp-*", {"cgan-mlp-mnist", "cgan-mlp-fashion"}, {"gan-mlp-mnist"}),
    ("*FASHION*", set(), {"cgan-mlp-fashion"}),  # wildcards are case-sensitive, like timm's
])
def test_list_models_filters_with_shell_wildcards(pattern, expected, excluded):
    names = imggen.list_models(pattern)
    assert expected <= set(names) and not excluded & set(names)
    assert all(fnmatch.fnmatchcase(n, pattern) for n in names)


def test_list_models_takes_several_patterns():
    assert {"gan-mlp-mnist", "cgan-mlp-fashion"} <= set(imggen.list_models(["gan-*", "*fashion"]))
    assert "cgan-mlp-mnist" not in imggen.list_models(["gan-*", "*fashion"])


def test_list_models_pretrained_lists_one_name_per_weight(zoo):
    assert imggen.list_models() == ["bare", "tiny"]
    assert imggen.list_models(pretrained=True) == ["tiny.a", "tiny.b"]
    assert imggen.list_models("b*", pretrained=True) == []


# -- arch.tag --------------------------------------------------------------------------------------------------
def test_no_tag_with_pretrained_loads_the_default_first_tag(zoo):
    model = imggen.create_model("tiny", pretrained=True)
    assert weights_equal(model, saved(zoo["a"]))
    assert model.pretrained_tag == "a"
    assert model.weights_sha256 == imggen.model_info("tiny")["pretrained"][0]["sha256"]


def test_a_tag_picks_its_weights_even_without_pretrained(zoo):
    model = imggen.create_model("tiny.b")
    assert weights_equal(model, saved(zoo["b"]))
    assert not weights_equal(model, saved(zoo["a"]))
    assert model.pretrained_tag == "b"


def test_without_pretrained_the_weights_are_freshly_initialised(zoo):
    assert not weights_equal(imggen.create_model("tiny"), imggen.create_model("tiny.a"))


def test_unknown_tag_lists_the_tags_there_are(zoo):
    with pytest.raises(UnknownNameError, match=r"'tiny' has no pretrained tag 'c'; its tags are: a, b"):
        imggen.create_model("tiny.c")
    with pytest.raises(UnknownNameError, match="its tags are: a, b"):
        imggen.model_info("tiny.c")


# -- model_info -------------------------------------------------------------------------------------------------
def test_model_info_describes_a_builtin_without_building_real_weights():
    info = imggen.model_info("cgan-mlp-mnist")
    real = imggen.create_model("cgan-mlp-mnist")
    assert info["name"] == "cgan-mlp-mnist" and info["kind"] == "generators"
    assert info["description"] == "Seed MLP conditional GAN generator for MNIST digits"
    assert info["provided_by"] == "imggen"
    assert info["parameters"] == sum(p.numel() for p in real.parameters())
    assert info["output_shape"] == [1, 28, 28]
    assert info["conditional"] is True and info["num_classes"] == 10
    assert imggen.model_info("gan-mlp-mnist")["conditional"] is False
    assert info["arguments"] == real.imggen_cfg["args"]
    for weight in info["pretrained"]:  # the bundled weights arrive with the training issue
        assert {"name", "tag", "default", "source", "sha256", "license", "metrics"} <= set(weight)


def test_model_info_lists_each_weight_with_metrics_licence_and_source(zoo):
    info = imggen.model_info("tiny")
    assert info["default_tag"] == "a"
    first, second = info["pretrained"]
    assert first["name"] == "tiny.a" and first["default"] is True and second["default"] is False
    assert first["license"] == "CC-BY-4.0" and first["description"] == "seed 1"
    assert first["source"] == f"bundled:{zoo['a']}"
    assert first["metrics"] == {"fid": 11.0} and second["metrics"] == {"fid": 12.0}  # read from config.json meta
    assert len(first["sha256"]) == 64
    assert imggen.model_info("bare")["pretrained"] == [] and imggen.model_info("bare")["default_tag"] is None


# -- errors ------------------------------------------------------------------------------------------------------
def test_unknown_name_suggests_close_names_and_where_to_look():
    with pytest.raises(UnknownNameError) as caught:
        imggen.create_model("cgan-mlp-mnsit")
    message = str(caught.value)
    assert "unknown generator 'cgan-mlp-mnsit'" in message
    assert "did you mean 'cgan-mlp-mnist'" in message
    assert "imggen.list_models()" in message
    assert isinstance(caught.value, ImggenError) and isinstance(caught.value, KeyError)


def test_unknown_name_without_close_match_gives_no_suggestion():
    with pytest.raises(UnknownNameError) as caught:
        imggen.model_info("zzzzzz")
    assert "did you mean" not in str(caught.value) and "imggen.list_models()" in str(caught.value)


def test_unknown_discriminator_points_at_its_own_lister():
    with pytest.raises(UnknownNameError, match=r"did you mean 'mlp'.*imggen.list_discriminators\(\)"):
        imggen.create_discriminator("mpl")


def test_unexpected_keyword_names_it_and_the_accepted_ones():
    with pytest.raises(TypeError) as caught:
        imggen.create_model("gan-mlp-mnist", hidden=3, noise_dim=5)
    message = str(caught.value)
    assert "'gan-mlp-mnist' got unexpected argument(s) hidden" in message
    assert "it accepts: noise_dim, widths, image_shape, num_classes" in message


def test_two_builtins_with_one_name_is_an_error_naming_both():
    registry = Registry("generators", group="imggen_tests.none")
    registry.register("twin")(MLPGenerator)
    with pytest.raises(DuplicateNameError) as caught:
        registry.register("twin")(MLPDiscriminator)
    message = str(caught.value)
    assert "generators 'twin' is registered twice" in message
    assert "imggen.models.mlp_gan:MLPGenerator" in message and "imggen.models.mlp_gan:MLPDiscriminator" in message
    assert registry.get("twin").factory is MLPGenerator  # the first registration stays


# -- contracts ------------------------------------------------------------------------------------------------
def test_each_kind_checks_its_contract_when_an_entry_registers(swap_registry):
    from imggen.errors import ContractError

    class NotAGenerator(torch.nn.Module):
        """Has no sample()."""

    class NoLabels(torch.nn.Module):
        def __init__(self, image_shape=(1, 28, 28)):
            super().__init__()

    swap_registry("generators")
    with pytest.raises(ContractError, match=r"generator 'bad' from imggen \(.*NotAGenerator\).*lacks method sample"):
        imggen.registry.REGISTRIES["generators"].register("bad")(NotAGenerator)
    swap_registry("discriminators")
    with pytest.raises(ContractError, match="lacks constructor argument num_classes="):
        imggen.registry.REGISTRIES["discriminators"].register("bad")(NoLabels)
    swap_registry("losses")
    with pytest.raises(ContractError, match="lacks method d_loss\\(\\); method g_loss\\(\\)"):
        imggen.registry.REGISTRIES["losses"].register("bad")(NotAGenerator)


def test_a_factory_function_is_checked_on_what_it_builds(swap_registry):
    from imggen.errors import ContractError

    registry = swap_registry("losses")
    registry.register("fn-loss")(lambda: object())
    with pytest.raises(ContractError, match="loss 'fn-loss'.*lacks method d_loss"):
        imggen.create_loss("fn-loss")


def test_an_instance_built_directly_records_its_arguments_and_can_be_saved(tmp_path):
    model = MLPGenerator(noise_dim=5, widths=(8, 8), num_classes=10)
    assert model.init_args == {"noise_dim": 5, "widths": (8, 8), "image_shape": (1, 28, 28), "num_classes": 10}
    again = imggen.create_model(imggen.save_pretrained(model, tmp_path / "direct"))
    assert again.imggen_cfg["args"]["widths"] == [8, 8]
    assert torch.equal(again.sample(3, labels=[4], seed=0), model.sample(3, labels=[4], seed=0))


def test_a_subclass_that_only_changes_a_default_records_every_argument_of_its_parent(tmp_path):
    class Narrow(MLPGenerator):
        def __init__(self, *, noise_dim: int = 3, **args):
            super().__init__(noise_dim=noise_dim, **args)

    model = Narrow(widths=(8, 8))
    assert model.init_args == {"noise_dim": 3, "widths": (8, 8), "image_shape": (1, 28, 28), "num_classes": 0}
    assert Narrow(**model.init_args).init_args == model.init_args
