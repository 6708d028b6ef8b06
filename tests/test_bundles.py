"""Training bundles: generator + discriminator (+ EMA, optimisers) under one name, and partial loads with a report."""

from __future__ import annotations

import pytest
import torch

import imggen
from imggen.errors import WeightsError
from imggen.hub import load_partially, save_bundle
from imggen.registry.factory import load_bundle

TINY = {"widths": (16, 32), "noise_dim": 8}


def same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture
def trained(tmp_path):
    """A few Adam steps on a small conditional G and D, saved as a bundle with an EMA copy."""
    torch.manual_seed(0)
    g = imggen.create_model("cgan-mlp-mnist", **TINY)
    d = imggen.create_discriminator("mlp", num_classes=10, widths=(32, 16))
    ema = imggen.create_model("cgan-mlp-mnist", **TINY)
    opt_g, opt_d = torch.optim.Adam(g.parameters(), 1e-3), torch.optim.Adam(d.parameters(), 1e-3)
    for _ in range(3):
        labels = torch.arange(4)
        loss = d(g(torch.randn(4, 8), labels), labels).mean()
        opt_g.zero_grad(), opt_d.zero_grad()
        loss.backward()
        opt_g.step(), opt_d.step()
    folder = save_bundle(tmp_path / "bundle", {"generator": g, "discriminator": d, "ema": ema},
                         optimizers={"g": opt_g, "d": opt_d}, meta={"step": 3})
    return {"g": g, "d": d, "ema": ema, "opt_g": opt_g, "opt_d": opt_d, "folder": folder}


def test_a_bundle_round_trips_every_part_and_the_optimisers(trained):
    loaded = load_bundle(trained["folder"])
    assert same(loaded["generator"], trained["g"]) and same(loaded["discriminator"], trained["d"])
    assert same(loaded["ema"], trained["ema"])
    g = loaded["generator"]
    opt = torch.optim.Adam(g.parameters(), 1e-3)
    opt.load_state_dict(loaded["optimizers"]["g"])
    mine, theirs = opt.state_dict(), trained["opt_g"].state_dict()
    assert mine["param_groups"] == theirs["param_groups"]
    for index, values in theirs["state"].items():
        for key, value in values.items():
            assert torch.equal(torch.as_tensor(mine["state"][index][key]), torch.as_tensor(value)), key
    # each part is an ordinary weights folder too
    assert same(imggen.create_discriminator(trained["folder"] / "discriminator"), trained["d"])


def test_fine_tuning_can_start_from_the_discriminator_alone(trained):
    loaded = load_bundle(trained["folder"], parts=["discriminator"])
    assert set(loaded) == {"discriminator", "optimizers"} and same(loaded["discriminator"], trained["d"])
    with pytest.raises(WeightsError, match="has no critic; it holds discriminator, ema, generator"):
        load_bundle(trained["folder"], parts=["critic"])


def test_a_partial_load_on_purpose_reports_missing_unexpected_and_misshaped_keys(trained):
    wider = imggen.create_discriminator("mlp", num_classes=10, widths=(32, 24, 16))  # one more layer, other shapes
    before = wider.state_dict()["net.0.weight"].clone()
    report = load_partially(wider, trained["folder"] / "discriminator")
    assert report.loaded == ["net.0.bias", "net.0.weight"] and not report.complete
    assert torch.equal(wider.state_dict()["net.0.weight"], trained["d"].state_dict()["net.0.weight"])
    assert not torch.equal(before, wider.state_dict()["net.0.weight"])
    assert report.missing == ["net.6.bias", "net.6.weight"]
    assert report.shape == ["net.2.bias: file (16,) vs model (24,)", "net.2.weight: file (16, 32) vs model (24, 32)",
                            "net.4.bias: file (1,) vs model (16,)", "net.4.weight: file (1, 16) vs model (16, 24)"]
    assert report.unexpected == []
    text = str(report)
    assert text.splitlines()[0] == "loaded 2 tensors" and "missing keys (left as initialised): net.6.bias" in text


def test_a_tampered_optimiser_file_is_caught(trained):
    path = trained["folder"] / "optimizers.safetensors"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="sha256 mismatch"):
        load_bundle(trained["folder"])


def test_a_bundle_needs_a_generator_and_known_parts(tmp_path, small_model):
    with pytest.raises(ValueError, match="a bundle holds a generator"):
        save_bundle(tmp_path / "b", {"critic": small_model})
    with pytest.raises(WeightsError, match="has no bundle.json; it is not a training bundle"):
        load_bundle(tmp_path)
