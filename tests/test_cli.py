"""The ``imggen`` command: list, info and sample, their errors, and the provenance chunks in saved PNGs.

Tests call ``imggen.cli.main`` in-process (what the console script runs); tests/test_hub.py runs the installed
``imggen`` script itself, against the Hub stand-in.
"""

from __future__ import annotations

import json
import os

import click
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import imggen
from imggen.cli import main
from imggen.cli.models import MAX_LABELS, parse_labels
from imggen.fileio import sha256_file
from imggen.images import MACHINE_GENERATED, to_grid
from imggen.models.mlp_gan import MLPGenerator

TINY = {"widths": (8,), "noise_dim": 4}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def zoo(tmp_path, swap_registry, cfg_for):
    """Generators ``tiny`` (pretrained tags ``a``, the default, and ``b``; unconditional) and ``ctiny`` (no weights,
    10 classes)."""
    folder = imggen.save_pretrained(imggen.create_model("gan-mlp-mnist", **TINY), tmp_path / "weights-a",
                                    meta={"metrics": {"fid": 9.5}})
    second = imggen.save_pretrained(imggen.create_model("gan-mlp-mnist", **TINY), tmp_path / "weights-b",
                                    meta={"metrics": {"fid": 12.345678}})
    registry = swap_registry("generators")
    registry.register("tiny", defaults=TINY, pretrained=[cfg_for(folder, "a"), cfg_for(second, "b")],
                      description="A tiny test generator")(MLPGenerator)
    registry.register("ctiny", defaults={**TINY, "num_classes": 10})(MLPGenerator)
    return folder


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty directory, so relative output paths land there and stray files are visible."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return work


# -- list and info ----------------------------------------------------------------------------------------------
def test_list_prints_one_name_per_line_and_filters(capsys):
    code, out, _ = run(capsys, "list")
    assert code == 0 and out.splitlines() == imggen.list_models()
    code, out, _ = run(capsys, "list", "cgan-*")
    assert code == 0 and {"cgan-mlp-mnist", "cgan-mlp-fashion"} <= set(out.split())
    assert "gan-mlp-mnist" not in out.split()


def test_list_pretrained_prints_name_dot_tag_and_marks_the_default(capsys, zoo):
    assert run(capsys, "list", "--pretrained") == (0, "tiny.a  (default)\ntiny.b\n", "")


def test_info_describes_the_model_and_its_weights(capsys, zoo):
    code, out, _ = run(capsys, "info", "tiny")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "tiny: A tiny test generator"
    assert "  provided_by: imggen" in lines and "  conditional: False" in lines
    assert f"  parameters: {imggen.model_info('tiny')['parameters']}" in lines
    assert "  output_shape: [1, 28, 28]" in lines
    assert f"  pretrained tiny.a (default): bundled:{zoo}, license MIT" in lines
    assert "    fid: 9.5" in lines and "    fid: 12.35" in lines  # rounded to four significant digits
    assert "  pretrained: none" in run(capsys, "info", "ctiny")[1].splitlines()


def test_info_of_a_tag_shows_that_weight_only(capsys, zoo):
    code, out, _ = run(capsys, "info", "tiny.b")
    assert code == 0
    assert "tiny.b" in out and "tiny.a" not in out and "    fid: 12.35" in out.splitlines()
    assert f"    sha256: {sha256_file(zoo.parent / 'weights-b' / 'model.safetensors')}" in out.splitlines()
    code, out, _ = run(capsys, "info", "tiny.b", "--json")
    weights = json.loads(out)["pretrained"]
    assert code == 0 and [w["name"] for w in weights] == ["tiny.b"] and weights[0]["metrics"] == {"fid": 12.345678}
    assert run(capsys, "info", "tiny.c")[2].startswith("error: 'tiny' has no pretrained tag 'c'; its tags are: a, b")


def test_version(capsys):
    assert run(capsys, "--version") == (0, f"imggen, version {imggen.__version__}\n", "")


def test_info_json_is_model_info(capsys):
    code, out, _ = run(capsys, "info", "cgan-mlp-mnist", "--json")
    assert code == 0 and json.loads(out) == imggen.model_info("cgan-mlp-mnist")


def test_unknown_name_is_one_clear_line(capsys):
    code, out, err = run(capsys, "info", "cgan-mlp-mnsit")
    assert code == 2 and out == ""
    assert err.startswith("error: unknown generator 'cgan-mlp-mnsit' (did you mean 'cgan-mlp-mnist'")
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "see `imggen list` for the" in err and "list_models" not in err  # CLI words, not Python's


@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_shows_the_traceback(capsys, where):
    argv = ["--debug", "info", "cgan-mlp-mnsit"] if where == "before" else ["info", "cgan-mlp-mnsit", "--debug"]
    code, _, err = run(capsys, *argv)
    assert code == 2 and "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("error: unknown generator 'cgan-mlp-mnsit'")


def test_an_unexpected_error_is_one_line_pointing_to_debug(capsys, monkeypatch):
    from imggen.cli import models

    def broken(*args, **kwargs):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(models, "list_models", broken)
    code, out, err = run(capsys, "list")
    assert code == 1 and out == "" and "Traceback" not in err
    assert err == "error: unexpected ZeroDivisionError: boom (a bug in imggen? rerun with --debug for the traceback " \
                  "and report it)\n"


def test_the_command_table_matches_the_commands():
    """``imggen --help`` lists commands from a table, without importing them: it must say what the commands say."""
    import importlib

    from imggen.cli import COMMANDS

    modules = {module for module, _ in COMMANDS.values()}
    defined = {c.name: (m, c) for m in modules for c in importlib.import_module(m).COMMANDS}
    assert set(defined) == set(COMMANDS), "add every command of the cli modules to imggen.cli.COMMANDS"
    for name, (module, text) in COMMANDS.items():
        assert defined[name][0] == module and defined[name][1].help.splitlines()[0] == text, name


def test_help_lists_every_command(capsys):
    code, out, _ = run(capsys, "--help")
    from imggen.cli import COMMANDS

    assert code == 0 and all(f"  {name} " in out for name in COMMANDS)


# -- sample -----------------------------------------------------------------------------------------------------
def test_sample_writes_a_png_grid_with_provenance(capsys, zoo, in_tmp):
    code, out, err = run(capsys, "sample", "tiny", "--pretrained", "-n", "4", "--seed", "3", "-o", "grid.png")
    assert (code, err) == (0, "") and out == "wrote 4 images from tiny to grid.png\n"
    image = Image.open(in_tmp / "grid.png")
    assert image.format == "PNG" and image.mode == "L" and image.size == (2 * 28 + 3 * 2, 2 * 28 + 3 * 2)
    assert image.text == {
        "Software": f"imggen {imggen.__version__}", "Description": MACHINE_GENERATED,
        "imggen:version": imggen.__version__, "imggen:machine_generated": "true",
        "imggen:model": "tiny", "imggen:tag": "a", "imggen:weights_sha256": sha256_file(zoo / "model.safetensors"),
        "imggen:seed": "3",
    }
    expected = to_grid(imggen.create_model("tiny", pretrained=True).sample(4, seed=3))
    assert np.array_equal(np.asarray(image), np.asarray(expected))  # the pixels are those samples


def test_sample_with_the_same_seed_gives_the_same_file(capsys, zoo, in_tmp):
    for name in ("one.png", "two.png", "other.png"):
        seed = "9" if name == "other.png" else "1"
        assert run(capsys, "sample", "tiny.a", "--pretrained", "-n", "3", "--seed", seed, "-o", name)[0] == 0
    assert (in_tmp / "one.png").read_bytes() == (in_tmp / "two.png").read_bytes()
    assert (in_tmp / "one.png").read_bytes() != (in_tmp / "other.png").read_bytes()


def test_cpu_noise_records_itself_and_on_a_cpu_matches_the_default(capsys, zoo, in_tmp):
    common = ("sample", "tiny.a", "--pretrained", "-n", "3", "--seed", "4")
    assert run(capsys, *common, "-o", "d.pt")[0] == 0
    assert run(capsys, *common, "--cpu-noise", "-o", "c.pt")[0] == 0
    default, on_cpu = torch.load(in_tmp / "d.pt"), torch.load(in_tmp / "c.pt")
    assert torch.equal(default["images"], on_cpu["images"])  # on a CPU the model's device is the CPU
    assert on_cpu["provenance"]["noise_device"] == "cpu" and "noise_device" not in default["provenance"]


def test_sample_random_init_records_no_weights(capsys, in_tmp):
    assert run(capsys, "sample", "gan-mlp-mnist", "--random-weights", "-n", "2", "-o", "g.png")[0] == 0
    text = Image.open(in_tmp / "g.png").text
    assert text["imggen:model"] == "gan-mlp-mnist" and text["imggen:seed"] == "0"
    assert "imggen:weights_sha256" not in text and "imggen:tag" not in text


def test_sample_conditional_labels_lay_out_one_column_per_label(capsys, zoo, in_tmp):
    assert run(capsys, "sample", "ctiny", "--random-weights", "-n", "6", "--labels", "3,3,7", "-o", "c.png")[0] == 0
    image = Image.open(in_tmp / "c.png")
    assert image.size == (3 * 28 + 4 * 2, 2 * 28 + 3 * 2) and image.text["imggen:labels"] == "3,3,7"
    assert run(capsys, "sample", "ctiny", "--random-weights", "-n", "20", "-o", "all.png")[0] == 0  # 0-9 per row
    assert Image.open(in_tmp / "all.png").size == (10 * 28 + 11 * 2, 2 * 28 + 3 * 2)


@pytest.mark.parametrize(("argv", "cells"), [
    (["tiny", "--pretrained"], (8, 8)),  # 64 images, 8 full rows
    (["ctiny", "--random-weights"], (10, 8)),  # one column per class, 8 full rows: 80 images
    (["ctiny", "--random-weights", "--labels", "3,7"], (2, 8)),
])
def test_the_default_count_fills_every_row(capsys, zoo, in_tmp, argv, cells):
    assert run(capsys, "sample", *argv, "-o", "g.png")[0] == 0
    cols, rows = cells
    assert Image.open(in_tmp / "g.png").size == (cols * 28 + (cols + 1) * 2, rows * 28 + (rows + 1) * 2)


def test_sample_to_a_folder_writes_one_png_per_image_with_provenance(capsys, zoo, in_tmp):
    code, out, _ = run(capsys, "sample", "ctiny", "--random-weights", "-n", "3", "--labels", "4,5", "-o", "imgs")
    assert code == 0 and out == "wrote 3 images from ctiny to imgs\n"
    assert sorted(os.listdir(in_tmp / "imgs")) == ["00000-label4.png", "00001-label5.png", "00002-label4.png"]
    image = Image.open(in_tmp / "imgs" / "00001-label5.png")
    assert image.size == (28, 28) and image.mode == "L"
    assert image.text["imggen:label"] == "5" and image.text["imggen:index"] == "1"
    assert image.text["imggen:model"] == "ctiny" and image.text["imggen:machine_generated"] == "true"
    assert run(capsys, "sample", "tiny", "--pretrained", "-n", "2", "--seed", "5", "-o", "out")[0] == 0
    assert sorted(os.listdir(in_tmp / "out")) == ["00000.png", "00001.png"]
    expected = imggen.create_model("tiny", pretrained=True).sample(2, seed=5)[1, 0]  # the pixels are those samples
    pixels = np.asarray(Image.open(in_tmp / "out" / "00001.png"))
    assert np.array_equal(pixels, (expected * 255).round().to(torch.uint8).numpy())


@pytest.mark.parametrize("suffix", [".pt", ".npz"])
def test_sample_to_tensors_keeps_images_and_labels(capsys, zoo, in_tmp, suffix):
    assert run(capsys, "sample", "ctiny", "--random-weights", "-n", "4", "--labels", "1,2", "-o", f"s{suffix}")[0] == 0
    if suffix == ".pt":
        saved = torch.load(in_tmp / "s.pt")
        images, labels, provenance = saved["images"], saved["labels"].tolist(), saved["provenance"]
    else:
        saved = np.load(in_tmp / "s.npz")
        images, labels = torch.from_numpy(saved["images"]), saved["labels"].tolist()
        provenance = json.loads(str(saved["provenance"]))
    assert images.shape == (4, 1, 28, 28) and images.dtype == torch.float32 and 0 <= images.min() <= images.max() <= 1
    assert labels == [1, 2, 1, 2]
    assert provenance["model"] == "ctiny" and provenance["seed"] == 0 and provenance["machine_generated"] is True


def test_tensors_of_an_unconditional_model_are_its_samples_without_labels(capsys, zoo, in_tmp):
    expected = imggen.create_model("tiny", pretrained=True).sample(2, seed=0)
    assert run(capsys, "sample", "tiny", "--pretrained", "-n", "2", "-o", "s.npz")[0] == 0
    saved = np.load(in_tmp / "s.npz")
    assert set(saved.files) == {"images", "provenance"} and np.array_equal(saved["images"], expected.numpy())
    assert run(capsys, "sample", "tiny", "--pretrained", "-n", "2", "-o", "s.pt")[0] == 0
    saved = torch.load(in_tmp / "s.pt")
    assert saved["labels"] is None and torch.equal(saved["images"], expected)
    assert saved["provenance"]["tag"] == "a" and saved["provenance"]["weights_sha256"] == sha256_file(
        zoo / "model.safetensors")


@pytest.mark.parametrize(("argv", "expected"), [
    (["tiny", "-o", "missing/x.png"], "error: cannot write 'missing/x.png': directory 'missing' does not exist; "
                                       "create it first (mkdir -p missing)"),
    (["tiny", "-o", "missing/imgs"], "error: cannot write 'missing/imgs': directory 'missing' does not exist"),
    (["tiny", "-o", "x.jpg"], "error: -o x.jpg: use NAME.png for a grid, a folder name (no suffix) for one PNG per "
                              "image, or NAME.pt / NAME.npz for tensors"),
    (["tiny", "--pretrained", "-n", "0"], "error: n must be a positive integer number of images, got 0"),
    (["tiny", "--pretrained", "--labels", "1"], "error: MLPGenerator is unconditional and takes no labels; "
                                                "drop --labels"),
    (["ctiny", "--random-weights", "--labels", "0-10"], "error: labels out of range: [10]; this model has classes "
                                                        "0..9"),
    (["ctiny", "--labels", "a-b"], "error: Invalid value: bad label spec 'a-b' in 'a-b': use integers, ranges like "
                                   "0-9, separated by commas (see `imggen sample --help`)"),
    (["ctiny", "--pretrained"], "error: generator 'ctiny' has no pretrained weights; names with weights: tiny "
                                "(see `imggen list --pretrained`)"),
    (["tiny.c", "--pretrained"], "error: 'tiny' has no pretrained tag 'c'; its tags are: a, b"),
    # timm's rules, said aloud: a bare name is untrained, a tag needs --pretrained
    (["tiny"], "error: tiny without --pretrained is an untrained network and makes noise; add --pretrained for its "
               "default trained weights (`imggen list tiny --pretrained` lists them), or pass --random-weights"),
    (["ctiny"], "error: ctiny without --pretrained is an untrained network and makes noise, and ctiny has no "
                "pretrained weights yet; pass --random-weights"),
    (["tiny.b"], "error: tiny.b names pretrained weights (tag 'b') but --pretrained is missing; add --pretrained"),
    (["tiny", "--pretrained", "--random-weights"], "error: --pretrained and --random-weights contradict each other"),
    (["tiny", "--pretrained", "--device", "foo"], "error: --device 'foo' is not a device; use cpu, cuda, cuda:N or "
                                                  "mps"),
    (["tiny", "--pretrained", "--device", "mps"], "error: --device mps: Apple's MPS is not available"),
    (["tiny", "--pretrained", "--device", "cuda:99"], "error: --device cuda:99: "),
    (["tiny", "--seed", "x"], "error: Invalid value for '--seed': 'x' is not a valid integer. "
                              "(see `imggen sample --help`)"),
    (["tiny", "--bogus"], "error: No such option '--bogus'. (see `imggen sample --help`)"),
])
def test_sample_errors_are_one_line_and_write_nothing(capsys, zoo, in_tmp, argv, expected):
    if "mps" in argv and torch.backends.mps.is_available():
        pytest.skip("this machine has MPS")
    code, out, err = run(capsys, "sample", *argv)
    assert code == 2 and out == ""
    assert expected in err and "Traceback" not in err
    assert err.startswith(expected) and len(err.strip().splitlines()) == 1  # one line, click's usage errors too
    assert os.listdir(in_tmp) == []


# -- the label parser -------------------------------------------------------------------------------------------
LABEL = st.integers(min_value=0, max_value=999)
PART = st.one_of(LABEL.map(lambda i: (str(i), [i])),
                 st.tuples(LABEL, st.integers(0, 50)).map(lambda p: (f"{p[0]}-{p[0] + p[1]}",
                                                                      list(range(p[0], p[0] + p[1] + 1)))))


@settings(deadline=None)  # a loaded CI machine must not turn slowness into failures
@given(parts=st.lists(PART, min_size=1, max_size=8), spaces=st.sampled_from(["", " "]))
def test_parse_labels_reads_integers_and_ranges(parts, spaces):
    text = ("," + spaces).join(spec for spec, _ in parts)
    assert parse_labels(text) == [label for _, labels in parts for label in labels]


@settings(deadline=None)
@given(st.text(max_size=20))
def test_parse_labels_gives_non_negative_integers_or_a_clear_error(text):
    try:
        labels = parse_labels(text)
    except click.BadParameter as exc:
        assert "label spec" in str(exc)
    else:
        assert labels and all(isinstance(label, int) and label >= 0 for label in labels)


@pytest.mark.parametrize("text", ["", "3,", "9-0", "-1", "1.5", "a", "0-", f"0-{MAX_LABELS}"])
def test_parse_labels_refuses_bad_specs(text):
    with pytest.raises(click.BadParameter):
        parse_labels(text)


def test_parse_labels_examples_from_the_help():
    assert parse_labels("0-9") == list(range(10))
    assert parse_labels("3,3,7") == [3, 3, 7]
    assert parse_labels("0-2, 7") == [0, 1, 2, 7]
    assert torch.tensor(parse_labels("0-99")).shape == (100,)


def test_sample_takes_the_familys_options_and_streams_a_folder_in_batches(tmp_path, capsys):
    folder = tmp_path / "many"
    code, out, err = run(capsys, "sample", "cgan-mlp-mnist", "--pretrained", "-n", "25", "--batch-size", "4",
                         "--labels", "3", "--option", "noise_scale=0.5", "-o", str(folder))
    assert code == 0, err
    files = sorted(folder.iterdir())
    assert len(files) == 25 and files[0].name == "00000-label3.png" and files[-1].name == "00024-label3.png"
    chunks = Image.open(files[-1]).text
    assert chunks["imggen:noise_scale"] == "0.5" and chunks["imggen:index"] == "24"
    model = imggen.create_model("cgan-mlp-mnist", pretrained=True)
    expected = model.sample(25, labels=[3], seed=0, batch_size=4, noise_scale=0.5)
    got = torch.tensor(list(Image.open(files[-1]).getdata()), dtype=torch.float32).view(28, 28) / 255
    assert torch.allclose(got, expected[-1, 0], atol=1 / 255)
    code, out, err = run(capsys, "sample", "cgan-mlp-mnist", "--pretrained", "--option", "temperature=2",
                         "-o", str(tmp_path / "x.png"))
    assert code == 2 and "its sampling options are: noise_scale" in err
    assert "sampling_options" in imggen.model_info("vae-conv-mnist")
