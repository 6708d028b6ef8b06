"""Structured bad input, generated: whatever a caller passes to sample() or writes after --set, the answer is either
the right result or a named error that says what is wrong, never a raw error from deep inside torch or Python."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import imggen
from imggen.cli import main
from imggen.errors import ImggenError
from imggen.train.recipe import apply_settings

MODEL = imggen.create_model("cgan-mlp-mnist", widths=[8, 8]).eval()
ANYTHING = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True),
                     st.text(max_size=5), st.lists(st.integers(-3, 12), max_size=6),
                     st.lists(st.lists(st.integers(0, 9), max_size=2), max_size=3))
NAMED = (ValueError, TypeError, ImggenError)  # what the contract raises, each with a message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.one_of(st.integers(-2, 40), ANYTHING), labels=ANYTHING, seed=ANYTHING)
def test_sample_arguments_give_images_or_a_named_error(n, labels, seed):
    try:
        images = MODEL.sample(n, labels=labels, seed=seed)
    except NAMED as exc:
        assert str(exc) and type(exc).__module__ in ("builtins", "imggen.errors")
        assert "Traceback" not in str(exc)
        return
    assert isinstance(n, int) and images.shape == (n, 1, 28, 28)
    assert 0 <= float(images.min()) <= float(images.max()) <= 1


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_setting_string_parses_or_is_named(setting):
    try:
        recipe = apply_settings({"trainer": {"model": "gan-mlp-mnist"}}, [setting])
    except ValueError as exc:
        assert "SECTION.KEY=VALUE" in str(exc) or "not a table" in str(exc)
        return
    assert set(recipe) <= {"trainer", "task", "fit", "eval", "export"}


@pytest.mark.parametrize("args", [
    ["--set", "trainer.batch_size=0", "--set", "fit.steps=1"],
    ["--set", "trainer.batch_size=-4", "--set", "fit.steps=1"],
    ["--set", "task.n_critic=0", "--set", "fit.steps=1"],
    ["--set", "fit.steps=0"],
    ["--set", "fit.steps=-3"],
    ["--set", "fit.epochs=1e-5"],
    ["--set", "task.loss=hinje", "--set", "fit.steps=1"],
    ["--set", "task.parts.r9={}", "--set", "fit.steps=1"],
    ["--set", "trainer.precision=fp8", "--set", "fit.steps=1"],
    ["--set", "nonsense"],
])
def test_bad_training_flags_end_in_one_line_and_exit_code_2(tmp_path, data_dir, args, capsys):
    code = main(["train", "gan-mlp-mnist", "--out", str(tmp_path / "run"), *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and err.strip().startswith("error") or "Error:" in err


def test_a_missing_recipe_is_named(tmp_path, capsys):
    assert main(["train", "--recipe", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "run")]) == 2
    assert "nope.toml' does not exist; recipes live in the repo's recipes/ folder" in capsys.readouterr().err


def test_typo_in_a_loss_name_suggests_the_right_one():
    with pytest.raises(ImggenError, match=r"unknown loss 'hinje' \(did you mean 'hinge'\?\)"):
        imggen.create_loss("hinje")


def test_the_model_is_untouched_by_all_of_that():
    assert all(torch.isfinite(p).all() for p in MODEL.parameters())


# -- config.json and constructor arguments -------------------------------------------------------------------
@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    return imggen.save_pretrained(imggen.create_model("gan-mlp-mnist", widths=[8, 8]),
                                  tmp_path_factory.mktemp("w") / "tiny", samples=0)


JSONISH = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(-1e12, 1e12),
                                 st.text(max_size=6)),
                       lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                                   max_size=3), max_leaves=6)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(["architecture", "kind", "args", "meta", "sampling", "args.noise_dim", "args.widths",
                              "args.image_shape", "args.num_classes"]), value=JSONISH)
def test_any_config_json_field_loads_or_is_a_named_error(saved, tmp_path_factory, field, value):
    import json
    import shutil

    folder = tmp_path_factory.mktemp("bad") / "w"
    shutil.copytree(saved, folder)
    config = json.loads((folder / "config.json").read_text())
    table, _, key = field.rpartition(".")
    (config[table] if table else config)[key] = value
    (folder / "config.json").write_text(json.dumps(config))
    try:
        model = imggen.create_model(folder)
    except (ImggenError, ValueError, TypeError) as exc:
        assert str(exc) and type(exc).__module__ in ("builtins", "imggen.errors"), repr(exc)
        return
    assert model.sample(1, seed=0).shape == (1, 1, 28, 28)


@pytest.mark.parametrize(("args", "match"), [
    ({"noise_dim": "100"}, "noise_dim must be an integer >= 1, got '100'"),
    ({"noise_dim": 0}, "noise_dim must be an integer >= 1, got 0"),
    ({"num_classes": -1}, "num_classes must be an integer >= 0, got -1"),
    ({"widths": [1e9]}, r"widths\[0\] must be an integer >= 1, got 1000000000.0"),
    ({"image_shape": [1, -28, 28]}, r"image_shape\[1\] must be an integer >= 1"),
])
@pytest.mark.parametrize("name", ["gan-mlp-mnist", "gan-dcgan-mnist"])
def test_constructor_arguments_are_checked_before_anything_is_allocated(name, args, match):
    with pytest.raises(ValueError, match=match):
        imggen.create_model(name, **args)


@pytest.mark.parametrize(("name", "args", "match"), [
    ("vae-conv-mnist", {"latent_dim": -1}, "latent_dim must be an integer >= 1, got -1"),
    ("vae-conv-mnist", {"num_classes": "10"}, "num_classes must be an integer >= 0"),
    ("cgan-dcgan-fashion", {"image_shape": [1, 28]}, "image_shape must be a list of 3 integers"),
])
def test_every_family_checks_the_common_arguments_in_one_place(name, args, match):
    with pytest.raises(ValueError, match=match):
        imggen.create_model(name, **args)


def test_a_huge_model_in_a_small_folder_allocates_nothing(saved, tmp_path):
    import json
    import shutil

    folder = tmp_path / "huge"
    shutil.copytree(saved, folder)
    config = json.loads((folder / "config.json").read_text())
    config["args"]["widths"] = [10**9, 8]
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ImggenError, match="shape mismatch"):
        imggen.create_model(folder)  # built on the meta device first: 7.8e11 parameters would need terabytes


def test_metadata_that_is_not_json_is_refused_before_anything_is_written(tmp_path):
    model = imggen.create_model("gan-mlp-mnist", widths=[8, 8])
    for meta in ({"x": object()}, {"when": {1, 2}}):
        with pytest.raises(ValueError, match="meta must be plain JSON.*Nothing was written"):
            imggen.save_pretrained(model, tmp_path / "w", meta=meta, samples=0)
    assert not (tmp_path / "w").exists()
