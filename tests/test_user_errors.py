"""Mistakes a new user makes in the first hour, each answered by one clear imggen error (and the CLI starts fast).

The CLI's own errors are in tests/test_cli.py; these are the Python API's, and the start-up import check.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

import imggen
from imggen.errors import HubError, UnknownNameError, WeightsError


@pytest.mark.parametrize("name", ["./not-here", "not-here/", "org/repo"])
def test_a_missing_folder_is_named_as_a_missing_folder(name: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(WeightsError, match=f"no folder '{name}': pass a registered name .*hf-hub:org/repo"):
        imggen.create_model(name)


def test_model_info_of_an_unknown_kind_lists_the_kinds() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown kind 'feature_extractr' \(did you mean "
                                               r"'feature_extractors'\?\); kinds are: generators, "):
        imggen.model_info("mnist-cnn", kind="feature_extractr")
    for kind in ("feature_extractors", "feature_extractor"):  # singular or plural, as the user writes it
        assert imggen.model_info("mnist-cnn", kind=kind)["name"] == "mnist-cnn"


def test_push_to_hub_offline_says_so(local_hub, hub_offline, small_model) -> None:
    hub_offline()
    with pytest.raises(HubError, match="cannot upload to 'org/x': HF_HUB_OFFLINE=1 is set"):
        imggen.push_to_hub(small_model, "org/x")


def test_push_to_hub_with_the_hub_unreachable_says_so(local_hub, small_model) -> None:
    local_hub.stop()
    with pytest.raises(HubError, match="cannot upload to 'org/x': the Hub at .* failed or is unreachable"):
        imggen.push_to_hub(small_model, "org/x")


START_UP = """
import sys
from imggen.cli import main
for argv in (["--help"], ["--version"], ["no-such-command"]):
    try:
        main(argv)
    except SystemExit:
        pass
heavy = sorted(m for m in ("torch", "torchvision", "torchmetrics", "huggingface_hub") if m in sys.modules)
print(heavy)
"""


def test_help_version_and_typos_import_no_heavy_library() -> None:
    """What keeps ``imggen --help`` fast (benchmarks/cli_startup.py times it): it imports neither torch nor the
    libraries built on it."""
    run = subprocess.run([sys.executable, "-c", START_UP], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().splitlines()[-1] == "[]"


def test_import_imggen_is_light_and_the_api_is_all_there() -> None:
    code = ("import sys, imggen; light = 'torch' not in sys.modules; "
            "print(light, imggen.list_models('gan-*'), imggen.list_losses('ns'), 'torch' in sys.modules)")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "True ['gan-dcgan-mnist', 'gan-mlp-mnist'] ['ns'] True"
    assert set(imggen.__all__) <= set(dir(imggen))
