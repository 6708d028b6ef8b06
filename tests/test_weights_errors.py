"""Weights on disk: the save_pretrained folder round trip, and every way a weight file can be wrong.

Each bad input gives a ``WeightsError`` (or ``FileNotFoundError`` for output paths) that says what was wrong
and how to fix it, and nothing half-written is left behind.
"""

from __future__ import annotations

import json
import os
import pickle

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

import imggen
from imggen import PretrainedCfg
from imggen.errors import WeightsError
from imggen.fileio import atomic_output, sha256_file
from imggen.images import save_grid
from imggen.models.mlp_gan import MLPGenerator

TINY = {"widths": (8,), "noise_dim": 4}
WEIGHTS = "model.safetensors"


def listing(folder) -> list[str]:
    return sorted(os.listdir(folder))


@pytest.fixture
def tiny_folder(tmp_path):
    return imggen.save_pretrained(imggen.create_model("gan-mlp-mnist", **TINY), tmp_path / "tiny")


# -- the folder round trip ------------------------------------------------------------------------------------
def test_save_pretrained_then_create_model_rebuilds_the_same_model(saved_folder, small_model):
    again = imggen.create_model(saved_folder)
    assert type(again) is type(small_model)
    mine, theirs = small_model.state_dict(), again.state_dict()
    assert mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)
    assert torch.equal(again.sample(6, labels=[0, 9], seed=3), small_model.sample(6, labels=[0, 9], seed=3))
    assert again.weights_sha256 == sha256_file(saved_folder / WEIGHTS)
    assert listing(saved_folder) == ["README.md", "config.json", WEIGHTS, "samples.png"]  # and no temp files


def test_config_json_records_architecture_arguments_and_version(tmp_path, small_model):
    folder = imggen.save_pretrained(small_model, tmp_path / "m", meta={"metrics": {"fid": 12.5}, "data": "mnist"})
    config = json.loads((folder / "config.json").read_text())
    assert config == {
        "architecture": "cgan-mlp-mnist", "kind": "generators",
        "args": {"noise_dim": 8, "widths": [16, 32], "image_shape": [1, 28, 28], "num_classes": 10},
        "imggen_version": imggen.__version__, "meta": {"metrics": {"fid": 12.5}, "data": "mnist"},
        "weights_sha256": sha256_file(folder / WEIGHTS),
    }
    assert imggen.create_model(folder).imggen_cfg["meta"] == {"metrics": {"fid": 12.5}, "data": "mnist"}
    assert load_file(folder / WEIGHTS).keys() == small_model.state_dict().keys()


def test_model_card_has_hub_metadata_and_says_how_to_load(saved_folder, tmp_path, small_model):
    card = (saved_folder / "README.md").read_text()
    assert card.startswith("---\n") and "library_name: imggen" in card and "- cgan-mlp-mnist" in card
    assert "imggen.create_model(" in card and "machine-generated" in card
    with_metrics = imggen.save_pretrained(small_model, tmp_path / "m", meta={"metrics": {"fid": 12.5}})
    assert "| fid | 12.5 |" in (with_metrics / "README.md").read_text()


def front_matter(card: str) -> dict:
    from huggingface_hub import ModelCard

    return ModelCard(card).data.to_dict()


@pytest.mark.parametrize("name", ["cgan-mlp-mnist.v7", "cgan-mlp-fashion.v2", "gan-mlp-mnist.seed",
                                  "vae-conv-fashion.v1"])
def test_published_cards_follow_hub_conventions_and_name_their_feature_space(name):
    from pathlib import Path

    folder = Path(__file__).resolve().parents[1] / "hub-repos" / name
    card = (folder / "README.md").read_text()
    data = front_matter(card)
    dataset, features = ("zalando-datasets/fashion_mnist", "fashion-cnn") if "fashion" in name else ("ylecun/mnist",
                                                                                                     "mnist-cnn")
    assert (data["library_name"], data["pipeline_tag"], data["license"]) == (
        "imggen", "unconditional-image-generation", "mit")
    assert data["datasets"] == [dataset]
    metrics = {m["type"]: m for m in data["model-index"][0]["results"][0]["metrics"]}
    assert metrics["fd"]["name"] == f"fd ({features} features)" and metrics["fd"]["value"] > 0
    if "nll" in metrics:  # the model's own likelihood of the test images: no feature network involved
        assert metrics["nll"]["name"] == "nll" and metrics["nll_bpd"]["name"] == "nll_bpd"
    assert f"features of imggen's small `{features}` classifier" in card and "not Inception-v3 FID" in card
    assert "![16 samples, seed 0](samples.png)" in card and (folder / "samples.png").is_file()
    snippet = card.split("```python\n")[1].split("```")[0]
    assert f'imggen.create_model("{name}")' in snippet
    if name.endswith(".v7"):  # bundled: the snippet runs as printed
        scope: dict = {}
        exec(snippet, scope)
        assert tuple(scope["images"].shape) == (10, 1, 28, 28)


def test_a_pretrained_models_card_survives_a_save_pretrained_round_trip(tmp_path):
    model = imggen.create_model("cgan-mlp-mnist", pretrained=True)
    first = imggen.save_pretrained(model, tmp_path / "first")
    card = (first / "README.md").read_text()
    assert "(none measured)" not in card and "No metrics were recorded" not in card
    assert front_matter(card)["datasets"] == ["ylecun/mnist"] and "| fd | 0.4737 |" in card
    again = imggen.save_pretrained(imggen.create_model(first), tmp_path / "again")
    assert (again / "README.md").read_text() == card
    assert json.loads((again / "config.json").read_text())["meta"] == json.loads(
        (first / "config.json").read_text())["meta"]


def test_half_precision_folder_loads_into_a_float32_model(tmp_path, small_model):
    folder = imggen.save_pretrained(small_model, tmp_path / "half", half=True)
    assert all(t.dtype == torch.float16 for t in load_file(folder / WEIGHTS).values())
    again = imggen.create_model(folder)
    for key, value in small_model.state_dict().items():
        assert again.state_dict()[key].dtype == torch.float32
        assert torch.equal(again.state_dict()[key], value.half().float())


def test_saving_a_model_of_an_unregistered_class_is_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match="not a registered imggen model.*imggen.create_model\\(name\\), or register"):
        imggen.save_pretrained(torch.nn.Linear(2, 2), tmp_path / "out")
    assert not (tmp_path / "out").exists()


# -- pretrained=True without weights --------------------------------------------------------------------------
def test_pretrained_where_no_weights_exist_lists_the_names_that_have_them(swap_registry, cfg_for, tiny_folder):
    registry = swap_registry("generators")
    registry.register("tiny", defaults=TINY, pretrained=[cfg_for(tiny_folder, "v1")])(MLPGenerator)
    registry.register("other", defaults=TINY, pretrained=[cfg_for(tiny_folder, "v1")])(MLPGenerator)
    registry.register("bare", defaults=TINY)(MLPGenerator)
    for name in ("bare", "bare.v1"):
        with pytest.raises(WeightsError) as caught:
            imggen.create_model(name, pretrained=True)
        assert str(caught.value) == ("generator 'bare' has no pretrained weights; names with weights: other, tiny "
                                     "(see imggen.list_models(pretrained=True))")


def test_pretrained_builtin_without_weights_names_the_ones_with_weights():
    with pytest.raises(WeightsError, match="discriminator 'mlp' has no pretrained weights; names with "
                                           r"weights: none yet \(see imggen.list_discriminators\(pretrained=True\)\)"):
        imggen.create_discriminator("mlp", pretrained=True)


# -- broken files ---------------------------------------------------------------------------------------------
def test_truncated_safetensors_is_reported_with_the_fix(tiny_folder):
    data = (tiny_folder / WEIGHTS).read_bytes()
    (tiny_folder / WEIGHTS).write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError) as caught:  # a bare file: no recorded hash, so the parser notices
        imggen.create_model("gan-mlp-mnist", checkpoint_path=tiny_folder / WEIGHTS, **TINY)
    message = str(caught.value)
    assert str(tiny_folder / WEIGHTS) in message and "truncated or not a valid safetensors file" in message
    assert "delete it and fetch or save it again" in message
    with pytest.raises(WeightsError, match="sha256 mismatch"):  # the folder: its config.json records the hash
        imggen.create_model(tiny_folder)


@pytest.mark.parametrize("damage", ["header", "garbage", "empty"])
def test_corrupt_safetensors_is_reported(tiny_folder, damage):
    path = tiny_folder / WEIGHTS
    data = path.read_bytes()
    path.write_bytes({"header": data[:8] + b"#" * 16 + data[24:], "garbage": os.urandom(len(data)),
                      "empty": b""}[damage])
    with pytest.raises(WeightsError, match="truncated or not a valid safetensors file"):
        imggen.create_model("gan-mlp-mnist", checkpoint_path=path, **TINY)


def test_a_pickle_is_never_unpickled(tmp_path):
    marker = tmp_path / "unpickled"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    path = tmp_path / "weights.pt"
    path.write_bytes(pickle.dumps({"net.0.weight": Payload()}))
    with pytest.raises(WeightsError, match="not a valid safetensors file"):
        imggen.create_model("gan-mlp-mnist", checkpoint_path=path, **TINY)
    assert not marker.exists()


def test_sha256_mismatch_shows_both_hashes(tiny_folder, swap_registry):
    actual = sha256_file(tiny_folder / WEIGHTS)
    wrong = "0" * 64
    swap_registry("generators").register("tiny", defaults=TINY, pretrained=[
        PretrainedCfg(tag="v1", file=str(tiny_folder), sha256=wrong)])(MLPGenerator)
    with pytest.raises(WeightsError) as caught:
        imggen.create_model("tiny", pretrained=True)
    message = str(caught.value)
    assert f"expected {wrong}" in message and f"actual   {actual}" in message
    assert "save it again with imggen.save_pretrained" in message  # a local folder: nothing to fetch again


def test_a_flipped_byte_inside_a_tensor_is_caught_by_the_sha256(tiny_folder, swap_registry, cfg_for):
    swap_registry("generators").register("tiny", defaults=TINY, pretrained=[cfg_for(tiny_folder, "v1")])(
        MLPGenerator)
    imggen.create_model("tiny.v1")  # loads while the file is intact
    data = bytearray((tiny_folder / WEIGHTS).read_bytes())
    data[-1] ^= 0xFF  # still a valid safetensors file, with one wrong weight
    (tiny_folder / WEIGHTS).write_bytes(bytes(data))
    load_file(tiny_folder / WEIGHTS)  # safetensors alone would not notice
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        imggen.create_model("tiny.v1")


def test_missing_unexpected_and_misshaped_keys_are_all_listed(tmp_path):
    path = tmp_path / "w.safetensors"
    save_file({k: v for k, v in imggen.create_model("gan-mlp-mnist", **TINY).state_dict().items()
               if k != "net.2.bias"} | {"extra.weight": torch.zeros(1)}, path)
    with pytest.raises(WeightsError) as caught:
        imggen.create_model("gan-mlp-mnist", checkpoint_path=path, widths=(8,), noise_dim=5)
    lines = str(caught.value).splitlines()
    assert lines[0] == f"weights from {path} do not fit MLPGenerator:"
    assert "  missing keys: net.2.bias" in lines
    assert "  unexpected keys: extra.weight" in lines
    assert "  shape mismatch: net.0.weight: file (8, 4) vs model (8, 5)" in lines
    assert "arguments match" in lines[-1]


def test_a_folder_loaded_with_other_arguments_lists_the_layers_that_differ(tiny_folder):
    with pytest.raises(WeightsError) as caught:
        imggen.create_model(tiny_folder, widths=(8, 8))
    message = str(caught.value)
    assert "missing keys: net.4.bias, net.4.weight" in message
    assert "shape mismatch: net.2.weight: file (784, 8) vs model (8, 8)" in message


@pytest.mark.parametrize(("config", "expected"), [
    (None, "has no config.json; it is not an imggen weights folder"),
    ("{not json", "is not valid JSON"),
    ('{"args": {}}', "names no 'architecture'"),
    ('{"architecture": "mlp", "kind": "discriminators"}', "holds a discriminator, not a generator"),
])
def test_a_folder_with_a_bad_config_says_what_is_wrong(tiny_folder, config, expected):
    if config is None:
        (tiny_folder / "config.json").unlink()
    else:
        (tiny_folder / "config.json").write_text(config)
    with pytest.raises(WeightsError, match=expected):
        imggen.create_model(tiny_folder)


def test_a_folder_without_weights_says_so(tiny_folder):
    (tiny_folder / WEIGHTS).unlink()
    with pytest.raises(WeightsError, match=f"weights file '{tiny_folder / WEIGHTS}' does not exist"):
        imggen.create_model(tiny_folder)


# -- output paths and atomic writes ---------------------------------------------------------------------------
def test_save_grid_into_a_missing_directory_says_how_to_fix_and_writes_nothing(tmp_path):
    target = tmp_path / "missing" / "grid.png"
    with pytest.raises(FileNotFoundError) as caught:
        save_grid(torch.rand(4, 1, 8, 8), target)
    assert f"directory '{tmp_path / 'missing'}' does not exist" in str(caught.value)
    assert "mkdir -p" in str(caught.value)
    assert listing(tmp_path) == []


def test_a_failed_save_grid_keeps_the_old_file_and_leaves_no_temp_file(tmp_path):
    target = save_grid(torch.rand(4, 1, 8, 8), tmp_path / "grid.png")
    before = target.read_bytes()
    with pytest.raises(ValueError, match=r"expected images of shape \(N, C, H, W\)"):
        save_grid(torch.rand(1, 8, 8), target)  # bad input: refused before the old file is touched
    assert target.read_bytes() == before and listing(tmp_path) == ["grid.png"]
    with pytest.raises(ValueError, match=r"must end in \.png"):
        save_grid(torch.rand(4, 1, 8, 8), tmp_path / "grid.jpg")
    assert listing(tmp_path) == ["grid.png"]


def test_atomic_output_replaces_only_on_success(tmp_path):
    """What every imggen writer (save_grid, save_pretrained) goes through: a crash mid-write changes nothing."""
    target = tmp_path / "file.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half of the new")
        assert listing(tmp_path) == sorted(["file.txt", tmp.name])
        raise RuntimeError("crash while writing")
    assert target.read_text() == "old" and listing(tmp_path) == ["file.txt"]
    with atomic_output(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and listing(tmp_path) == ["file.txt"]


def test_the_same_weights_always_give_the_same_bytes(tmp_path, small_model):
    first = imggen.save_pretrained(small_model, tmp_path / "first")
    for i in range(5):  # several saves: a random order inside the file header would show up here
        again = imggen.save_pretrained(small_model, tmp_path / f"again{i}")
        for name in ("model.safetensors", "config.json", "README.md", "samples.png"):
            assert (again / name).read_bytes() == (first / name).read_bytes(), name


def test_grids_keep_grey_images_grey_and_colour_images_colour(tmp_path):
    grey = Image.open(save_grid(torch.rand(4, 1, 8, 8), tmp_path / "grey.png"))
    colour = Image.open(save_grid(torch.rand(4, 3, 8, 8), tmp_path / "colour.png"))
    assert (grey.mode, grey.size) == ("L", (2 * 8 + 3 * 2, 2 * 8 + 3 * 2))
    assert (colour.mode, colour.size) == ("RGB", (2 * 8 + 3 * 2, 2 * 8 + 3 * 2))


# -- every load verified ----------------------------------------------------------------------------------------
def flip_last_byte(path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # still a valid safetensors file, with one wrong weight
    path.write_bytes(bytes(data))


def test_a_saved_folder_records_its_sha256_and_every_load_checks_it(tiny_folder):
    assert json.loads((tiny_folder / "config.json").read_text())["weights_sha256"] == sha256_file(tiny_folder / WEIGHTS)
    imggen.create_model(tiny_folder)
    flip_last_byte(tiny_folder / WEIGHTS)
    for load in (lambda: imggen.create_model(tiny_folder),
                 lambda: imggen.create_model("gan-mlp-mnist", checkpoint_path=tiny_folder, **TINY)):
        with pytest.raises(WeightsError, match="(?s)sha256 mismatch.*save it again with imggen.save_pretrained"):
            load()


def test_the_hash_is_taken_over_the_bytes_that_are_loaded(tiny_folder, monkeypatch):
    """One read of the weights file: hashing a first read and loading a second would let a swap slip between."""
    from pathlib import Path

    import safetensors.torch

    opened = []
    real_open, real_read_bytes = os.open, Path.read_bytes
    monkeypatch.setattr(os, "open", lambda path, *a, **k: opened.append(os.path.basename(path))
                        or real_open(path, *a, **k))
    monkeypatch.setattr(Path, "read_bytes", lambda self: opened.append(self.name) or real_read_bytes(self))
    monkeypatch.setattr(safetensors.torch, "load_file", lambda *a, **k: pytest.fail("the file was read twice"))
    imggen.create_model(tiny_folder)
    assert opened.count(WEIGHTS) == 1


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_are_refused_naming_the_tensor(tmp_path, bad):
    model = imggen.create_model("gan-mlp-mnist", **TINY)
    with torch.no_grad():
        model.net[2].bias[5] = bad
    folder = imggen.save_pretrained(model, tmp_path / "diverged")  # its recorded sha256 matches: only NaN is wrong
    for load in (lambda: imggen.create_model(folder),
                 lambda: imggen.create_model("gan-mlp-mnist", checkpoint_path=folder / WEIGHTS, **TINY)):
        with pytest.raises(WeightsError, match="1 non-finite value.*in tensor 'net.2.bias'.*diverged"):
            load()


def test_a_bundled_file_with_the_wrong_hash_is_never_advised_to_be_fetched_again(tiny_folder):
    from imggen.hub import Location, open_weights

    flip_last_byte(tiny_folder / WEIGHTS)
    with pytest.raises(WeightsError) as caught:
        open_weights(Location(bundled=tiny_folder, sha256=sha256_file(tiny_folder / WEIGHTS).replace("a", "b")))
    message = str(caught.value)
    assert "installed imggen package" in message and "pip install --force-reinstall imggen" in message
    assert "fetch" not in message and "delete" not in message


# -- folders are published whole --------------------------------------------------------------------------------
def test_saving_over_a_folder_swaps_it_whole_and_a_crash_changes_nothing(tiny_folder, monkeypatch):
    before = {name: (tiny_folder / name).read_bytes() for name in listing(tiny_folder)}
    other = imggen.create_model("gan-mlp-mnist", widths=(8,), noise_dim=4)
    from imggen.hub import folder as hub_folder

    def crash(images, path, **kwargs):  # the last file written inside the new folder
        path.write_bytes(b"half a PNG")
        raise RuntimeError("crash while writing the sample grid")

    monkeypatch.setattr(hub_folder, "save_grid", crash)
    with pytest.raises(RuntimeError, match="crash"):
        imggen.save_pretrained(other, tiny_folder)
    assert {name: (tiny_folder / name).read_bytes() for name in listing(tiny_folder)} == before
    assert listing(tiny_folder.parent) == ["tiny"]  # no temporary folder left beside it
    monkeypatch.undo()
    imggen.save_pretrained(other, tiny_folder)
    assert (tiny_folder / WEIGHTS).read_bytes() != before[WEIGHTS]
    assert listing(tiny_folder.parent) == ["tiny"]
    assert listing(tiny_folder) == ["README.md", "config.json", WEIGHTS, "samples.png"]
    assert imggen.create_model(tiny_folder).weights_sha256 == sha256_file(tiny_folder / WEIGHTS)


def test_readers_during_repeated_saves_never_see_a_mix(tmp_path):
    """A reader loading while another thread re-saves two different models always sees one of them whole."""
    import threading

    models = [imggen.create_model("gan-mlp-mnist", **TINY) for _ in range(2)]
    folder = imggen.save_pretrained(models[0], tmp_path / "m")
    hashes = {imggen.save_pretrained(m, tmp_path / f"ref{i}") and sha256_file(tmp_path / f"ref{i}" / WEIGHTS)
              for i, m in enumerate(models)}
    stop = threading.Event()

    def writer():
        i = 0
        while not stop.is_set():
            imggen.save_pretrained(models[i % 2], folder)
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    seen = set()
    try:
        for _ in range(60):  # on Linux the swap is one renameat2(RENAME_EXCHANGE): the folder is always there
            seen.add(imggen.create_model(folder).weights_sha256)
    finally:
        stop.set()
        thread.join()
    assert seen and seen <= hashes


def test_a_folder_holding_other_files_keeps_them(tiny_folder):
    (tiny_folder / "notes.txt").write_text("mine")
    imggen.save_pretrained(imggen.create_model("gan-mlp-mnist", **TINY), tiny_folder)
    assert listing(tiny_folder) == ["README.md", "config.json", WEIGHTS, "notes.txt", "samples.png"]
    assert (tiny_folder / "notes.txt").read_text() == "mine"
    imggen.create_model(tiny_folder)


# -- nothing writes into the installed package --------------------------------------------------------------------
def test_a_runs_export_folder_lands_under_its_out_folder_never_in_the_package(tmp_path):
    from imggen.fileio import PACKAGE_DIR, export_folder

    out = tmp_path / "run"
    assert export_folder("src/imggen/weights/cgan-mlp-mnist.v7", out) == (out / "src/imggen/weights/cgan-mlp-mnist.v7")
    assert export_folder(None, out) == out / "weights"
    assert export_folder(tmp_path / "elsewhere", out) == tmp_path / "elsewhere"  # an explicit absolute path
    for inside in (PACKAGE_DIR / "weights" / "cgan-mlp-mnist.v7", PACKAGE_DIR):
        with pytest.raises(ValueError, match="refusing to export into the installed imggen package.*export_to_package"):
            export_folder(inside, out)
        with pytest.raises(ValueError, match="refusing to export into the installed imggen package"):
            export_folder(os.path.relpath(inside, out), out)  # ../.. back into it is refused too


def test_the_maintainer_script_copies_a_run_into_hub_repos_or_the_package(tmp_path, saved_folder):
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("export_to_package", root / "scripts" / "export_to_package.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.ROOT = tmp_path / "repo"
    (script.ROOT / "hub-repos").mkdir(parents=True)
    (script.ROOT / "src" / "imggen" / "weights").mkdir(parents=True)
    assert script.main([str(saved_folder), "cgan-mlp-mnist.v9"]) == 0
    assert listing(script.ROOT / "hub-repos" / "cgan-mlp-mnist.v9") == listing(saved_folder)
    assert listing(script.ROOT / "src" / "imggen" / "weights") == []
    assert script.main([str(saved_folder), "cgan-mlp-mnist.v9", "--bundle"]) == 0
    link = script.ROOT / "hub-repos" / "cgan-mlp-mnist.v9"
    assert link.is_symlink() and listing(link.resolve()) == listing(saved_folder)
    assert link.resolve() == (script.ROOT / "src" / "imggen" / "weights" / "cgan-mlp-mnist.v9").resolve()
    assert script.main([str(saved_folder), "gan-mlp-mnist.v9"]) == 1  # the folder holds another architecture
