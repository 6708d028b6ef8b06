"""Super-resolution: MATLAB bicubic and BT.601 against the provided files, upscale and tiling, bad input, training on
SR patches, Y-PSNR / SSIM, ``imggen upscale`` and ``imggen eval`` on SR models."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

import imggen
from imggen.cli import main
from imggen.data import DataNotFoundError, load_images
from imggen.data.resize import imresize, rgb_to_ycbcr, ycbcr_to_rgb
from imggen.data.sr import load_pairs, load_patches, sr_folder
from imggen.errors import UnknownNameError
from imggen.metrics.sr import evaluate_upscaler, psnr, ssim
from imggen.models.upscale import create_upscaler, tiled

pytestmark = pytest.mark.usefixtures("one_thread")
TINY = {"widths": (6, 4)}  # tiny random networks: the pipeline, not the quality, is under test


def picture(c: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(c, h, w, generator=torch.Generator().manual_seed(seed))


# -- MATLAB bicubic and colour -----------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "scale"), [("set5", 2), ("set5", 3), ("set5", 4), ("set14", 3)])
def test_bicubic_downscale_matches_the_provided_matlab_lr_files(data_dir: Path, name: str, scale: int) -> None:
    # The stated tolerance: mean absolute error under 0.15 grey levels, at most 2 levels away from the border (the
    # provided HR files were cropped to a multiple of the scale after the LR files were made, so their outermost
    # pixels saw different neighbours).
    for pair in load_pairs(name, scale):
        ours = imresize(pair.hr, scale=1 / scale).int()
        assert ours.shape == pair.lr.shape
        diff = (ours - pair.lr.int()).abs()
        assert diff.float().mean() < 0.15, pair.name
        assert diff[:, 2:-2, 2:-2].max() <= 2, pair.name


def test_ycbcr_is_matlabs_studio_range_and_inverts() -> None:
    rgb = torch.tensor([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])[:, :, None]  # white and black
    ycc = rgb_to_ycbcr(rgb) * 255
    assert ycc[:, 0, 0].tolist() == pytest.approx([235, 128, 128]) and ycc[:, 1, 0].tolist() == pytest.approx(
        [16, 128, 128])
    x = picture(3, 5, 7)
    assert torch.allclose(ycbcr_to_rgb(rgb_to_ycbcr(x)), x, atol=1e-6)


@settings(max_examples=15, deadline=None)
@given(top=st.integers(0, 3), left=st.integers(0, 3), size=st.integers(5, 9), scale=st.sampled_from([2, 3, 4]))
def test_a_patch_downscale_away_from_its_edges_equals_the_whole_pictures(top, left, size, scale) -> None:
    # What the training loss relies on: past 2 low-resolution pixels from a patch's edge, its bicubic downscale is the
    # whole picture's, when the patch starts on the low-resolution grid.
    whole = picture(1, 16 * scale, 16 * scale)
    patch = whole[:, top * scale:(top + size) * scale, left * scale:(left + size) * scale]
    ours = imresize(patch, scale=1 / scale)[:, 2:-2, 2:-2]
    assert torch.allclose(ours, imresize(whole, scale=1 / scale)[:, top + 2:top + size - 2, left + 2:left + size - 2],
                          atol=1e-12)


# -- upscale --------------------------------------------------------------------------------------------------
@settings(max_examples=8, deadline=None)
@given(family=st.sampled_from(["espcn", "srcnn"]), scale=st.sampled_from([2, 3, 4]), h=st.integers(13, 40),
       w=st.integers(13, 40), tile=st.integers(5, 24))
def test_tiled_upscale_equals_the_whole_picture(family, scale, h, w, tile) -> None:
    model = imggen.create_model(f"{family}-x{scale}", **TINY)
    x = picture(3, h, w)
    whole = model.upscale(x, tile=10_000)
    assert whole.shape == (3, h * scale, w * scale)
    assert torch.allclose(model.upscale(x, tile=tile), whole, atol=2e-6)


@settings(max_examples=6, deadline=None)
@given(family=st.sampled_from(["espcn", "srcnn"]), scale=st.sampled_from([2, 3]), h=st.integers(13, 30),
       w=st.integers(13, 30))
def test_self_ensemble_turns_and_flips_with_its_input_and_tiles(family, scale, h, w) -> None:
    model = imggen.create_model(f"{family}-x{scale}", **TINY)
    noise = torch.Generator().manual_seed(1)
    with torch.no_grad():  # away from the near-bicubic start, which is nearly symmetric already
        for weight in model.parameters():
            weight.add_(0.1 * torch.randn(weight.shape, generator=noise))
    x = picture(3, h, w)
    mean = model.upscale(x, self_ensemble=True)
    assert mean.shape == (3, h * scale, w * scale)
    assert not torch.allclose(mean, model.upscale(x), atol=1e-3)  # the network alone is not symmetric
    assert torch.allclose(model.upscale(x.flip(-1), self_ensemble=True), mean.flip(-1), atol=2e-6)
    turned = model.upscale(torch.rot90(x, 1, (-2, -1)), self_ensemble=True)
    assert torch.allclose(turned, torch.rot90(mean, 1, (-2, -1)), atol=2e-6)
    assert torch.allclose(model.upscale(x, self_ensemble=True, tile=7), mean, atol=2e-6)


def test_self_ensemble_leaves_a_symmetric_upscaler_unchanged() -> None:
    model = imggen.create_model("bicubic-x3")  # MATLAB's bicubic treats every direction alike
    x = picture(3, 17, 22)
    assert torch.allclose(model.upscale(x, self_ensemble=True), model.upscale(x), atol=1e-6)


def test_tiled_covers_every_output_pixel_once() -> None:
    x = torch.arange(7 * 11, dtype=torch.float64).reshape(1, 1, 7, 11)
    out = tiled(lambda t: t.repeat_interleave(2, -1).repeat_interleave(2, -2), x, 2, tile=3, context=1)
    assert torch.equal(out, x.repeat_interleave(2, -1).repeat_interleave(2, -2))


def test_bicubic_upscaler_is_matlab_bicubic_on_the_luma_and_keeps_grey_grey() -> None:
    model = imggen.create_model("bicubic-x2")
    grey = picture(1, 20, 16)
    out = model.upscale(grey)
    assert out.shape == (1, 40, 32)
    expected = imresize(16 / 255 + grey * 219 / 255, scale=2).sub(16 / 255).mul(255 / 219).clamp(0, 1)
    assert torch.allclose(out, expected, atol=1e-6)


@pytest.mark.parametrize("mode", ["L", "LA", "RGB", "RGBA", "P", "CMYK"])
def test_upscale_takes_pil_pictures_of_any_mode(mode: str) -> None:
    model = imggen.create_model("espcn-x2", **TINY)
    rgb = Image.fromarray((picture(3, 15, 17).permute(1, 2, 0).numpy() * 255).astype(np.uint8))
    source = rgb.convert(mode)
    out = model.upscale(source)
    assert out.size == (34, 30)
    assert out.mode == {"P": "RGB", "CMYK": "RGB"}.get(mode, mode)
    if mode == "RGBA":  # alpha is upscaled with bicubic and kept
        assert np.asarray(out)[..., 3].min() == 255


def test_upscale_refuses_bad_input_with_the_fix() -> None:
    model = imggen.create_model("espcn-x3", **TINY)
    with pytest.raises(ValueError, match=r"upscales by 3, not 2: use create_model\('espcn-x2'"):
        model.upscale(picture(3, 20, 20), scale=2)
    with pytest.raises(ValueError, match=r"6x6 pixels, smaller than the 9x9"):
        model.upscale(picture(3, 6, 6))
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        model.upscale(picture(3, 20, 20) * 255)
    with pytest.raises(TypeError, match="divide 8-bit pictures by 255"):
        model.upscale((picture(3, 20, 20) * 255).to(torch.uint8))
    with pytest.raises(ValueError, match="got 5"):
        model.upscale(picture(5, 20, 20))


def test_create_upscaler_names_what_exists() -> None:
    with pytest.raises(UnknownNameError, match="families: bicubic, espcn, srcnn"):
        create_upscaler("edsr", 3)
    assert create_upscaler("bicubic", 4).scale == 4
    with pytest.raises(ValueError, match="upscales by 2, not 3"):
        create_upscaler("bicubic-x2", 3)


def test_a_saved_upscaler_loads_back_the_same(tmp_path: Path) -> None:
    model = imggen.create_model("srcnn-x2", **TINY)
    folder = imggen.save_pretrained(model, tmp_path / "w")
    again = imggen.create_model(str(folder))
    x = picture(3, 16, 16)
    assert type(again).__name__ == "SRCNN" and again.init_args == json.loads(json.dumps(model.init_args))
    assert torch.equal(again.upscale(x), model.upscale(x))


# -- data and training ----------------------------------------------------------------------------------------
def fake_sr_root(root: Path, pictures: int = 3, side: int = 72) -> Path:
    folder = root / "sr" / "BSD100" / "image_SRF_2"
    folder.mkdir(parents=True)
    for i in range(pictures):
        array = (picture(3, side, side + 10, seed=i).permute(1, 2, 0).numpy() * 255).astype(np.uint8)
        Image.fromarray(array).save(folder / f"img_{i:03d}_SRF_2_HR.png")
    return root


def test_missing_sr_data_says_where_to_put_it(tmp_path: Path) -> None:
    with pytest.raises(DataNotFoundError, match=r"IMGGEN_DATA_DIR .*sr/Set5/image_SRF_<scale>"):
        sr_folder("set5", 3, tmp_path)


def test_patches_are_luma_tiles_of_every_picture(tmp_path: Path) -> None:
    patches = load_patches(root=fake_sr_root(tmp_path), patch=60, stride=30)
    assert patches.images.shape == (3 * 1 * 1, 1, 60, 60) and patches.images.dtype == torch.uint8
    assert int(patches.images.min()) >= 16 and int(patches.images.max()) <= 235  # studio-range luma
    assert len(patches.archives_sha256) == 3


def test_a_recipe_sets_the_training_patch_size_through_data_args(tmp_path: Path) -> None:
    root = str(fake_sr_root(tmp_path, side=90))  # 90 x 100 pictures: one 90-pixel patch each, or 2 x 3 of 30 / 20
    trainer = imggen.create_trainer("objective", "espcn-x3", model_args=TINY, data="bsd100", data_root=root,
                                    data_args={"patch": 30, "stride": 30}, batch_size=2, progress=False)
    assert trainer.dataset.images.shape == (3 * 3 * 3, 1, 30, 30)
    assert trainer.config["data_args"] == {"patch": 30, "stride": 30}  # recorded with the run and its weights
    assert load_images("bsd100", root=root, patch=90, stride=45).images.shape == (3, 1, 90, 90)
    with pytest.raises(ValueError, match=r"unknown data options \['size'\] for bsd100; it takes patch= and stride="):
        load_images("bsd100", root=root, size=30)
    with pytest.raises(ValueError, match="patch and stride must be positive"):
        load_images("bsd100", root=root, patch=30, stride=0)
    with pytest.raises(ValueError, match=r"mnist \(train\) takes no data options, got \['patch'\]"):
        load_images("mnist", root=root, patch=30)


def test_the_objective_task_trains_an_upscaler_on_sr_patches(tmp_path: Path) -> None:
    trainer = imggen.create_trainer("objective", "espcn-x2", model_args=TINY, data="bsd100",
                                    data_root=str(fake_sr_root(tmp_path, pictures=4, side=90)), batch_size=4,
                                    progress=False, task_args={"lr": 1e-3})
    batch = trainer.batch(0)  # one batch again and again (new flips each time): a new ESPCN starts near bicubic,
    first = trainer.step(*batch)["loss"].item()  # so its loss falls slowly, but it must fall
    for _ in range(60):
        last = trainer.step(*batch)["loss"].item()
    assert last < 0.98 * first
    assert "bicubic" in trainer.task.protocol()["inputs"]


# -- metrics and the commands ---------------------------------------------------------------------------------
def test_psnr_and_ssim_on_known_cases() -> None:
    a = torch.full((20, 20), 100.0)
    assert psnr(a, a + 1) == pytest.approx(10 * math.log10(255**2))
    assert psnr(a, a) == math.inf
    x = picture(1, 32, 32)[0] * 255
    assert ssim(x, x) == pytest.approx(1.0)
    noisy = (x + 20 * picture(1, 32, 32, seed=1)[0]).clamp(0, 255)
    assert ssim(x, noisy) == pytest.approx(ssim(noisy, x)) and 0 < ssim(x, noisy) < 1


def test_eval_of_bicubic_reproduces_the_published_set5_numbers(data_dir: Path, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    # Bicubic x3 on Set5 is 30.39 dB / 0.8682 in the SRCNN and ESPCN papers' tables.
    out = tmp_path / "bicubic.json"
    assert main(["eval", "bicubic-x3", "--sets", "set5", "--json", str(out)]) == 0
    metrics = json.loads(out.read_text())["metrics"]
    assert metrics["set5_psnr"] == pytest.approx(30.39, abs=0.01)
    assert metrics["set5_ssim"] == pytest.approx(0.868, abs=0.001)
    assert "set5_psnr" in capsys.readouterr().out
    assert main(["eval", "bicubic-x3", "--sets", "set5", "--self-ensemble", "--json", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["self_ensemble"] and record["metrics"]["set5_psnr"] == pytest.approx(metrics["set5_psnr"], abs=1e-4)
    assert "mean over the 8 flips and turns" in capsys.readouterr().out
    assert main(["eval", "gan-mlp-mnist", "--random-weights", "--self-ensemble"]) == 2
    assert "not a super-resolution model; --self-ensemble is for those" in capsys.readouterr().err


def test_upscale_command_on_a_picture_a_folder_and_bad_input(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for i, mode in enumerate(["RGB", "L"]):
        Image.fromarray((picture(3, 12, 14, seed=i).permute(1, 2, 0).numpy() * 255).astype(np.uint8)).convert(
            mode).save(folder / f"p{i}.png")
    (folder / "notes.txt").write_text("not a picture")
    assert main(["upscale", str(folder / "p0.png"), "-s", "2", "-m", "bicubic", "-o", str(tmp_path / "o.png")]) == 0
    assert Image.open(tmp_path / "o.png").size == (28, 24)
    assert main(["upscale", str(folder / "p0.png"), "-s", "2", "-m", "bicubic", "--self-ensemble",
                 "-o", str(tmp_path / "e.png")]) == 0
    assert np.abs(np.asarray(Image.open(tmp_path / "e.png"), dtype=int)
                  - np.asarray(Image.open(tmp_path / "o.png"), dtype=int)).max() <= 1
    assert main(["upscale", str(folder), "-s", "3", "-m", "bicubic", "-o", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["p0.png", "p1.png"]
    assert Image.open(tmp_path / "out" / "p1.png").mode == "L"
    capsys.readouterr()
    assert main(["upscale", str(folder / "notes.txt"), "-s", "2", "-o", str(tmp_path / "x.png")]) == 2
    assert "is not a picture imggen can read" in capsys.readouterr().err
    assert main(["sample", "bicubic-x2", "-o", str(tmp_path / "s.png")]) == 2
    assert "imggen upscale PICTURE -s 2 -m bicubic-x2" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in imggen.list_models("*-x*", pretrained=True)])
def test_shipped_sr_weights_score_their_recorded_metrics(name: str, data_dir: Path, zoo_hub) -> None:
    arch, _, tag = name.partition(".")
    recorded = next(w for w in imggen.model_info(arch)["pretrained"] if w["tag"] == tag)["metrics"]
    measured = evaluate_upscaler(imggen.create_model(name, pretrained=True))
    for key, value in recorded.items():
        assert measured[key] == pytest.approx(value, abs=1e-3), key


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_bicubic_phase_weights_reproduce_the_matlab_bicubic_upscale(scale: int) -> None:
    from einops import rearrange

    from imggen.models.sr import bicubic_phases

    lr = torch.rand(1, 1, 12, 14, dtype=torch.float64)
    weights = bicubic_phases(scale, 5).double()[:, None]  # a 5x5 window holds the whole bicubic support
    out = rearrange(torch.nn.functional.conv2d(lr, weights, padding=2), "b (p q) h w -> b 1 (h p) (w q)", p=scale)
    inner = (..., slice(2 * scale, -2 * scale), slice(2 * scale, -2 * scale))  # away from the zero padding
    assert torch.allclose(out[inner], imresize(lr, scale=scale)[inner], atol=1e-6)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_a_new_espcn_starts_near_bicubic(scale: int, data_dir: Path) -> None:
    torch.manual_seed(0)
    new = evaluate_upscaler(imggen.create_model(f"espcn-x{scale}"), ("set5",))["set5_psnr"]
    assert new > evaluate_upscaler(imggen.create_model(f"bicubic-x{scale}"), ("set5",))["set5_psnr"] - 1.0
