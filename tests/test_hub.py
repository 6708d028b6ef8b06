"""Hub weights through the real ``huggingface_hub`` client and a stand-in Hub on 127.0.0.1 (tests/hubserver.py).

Covers download (revisions, cache hits, offline mode, unreachable Hub), upload with ``push_to_hub``, and
pretrained configs that live in a Hub repo. The client keeps its own cache under a temporary ``HF_HOME``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from safetensors.torch import load_file

import imggen
from imggen import PretrainedCfg
from imggen.errors import HubError, WeightsError
from imggen.fileio import sha256_file
from imggen.hub import Location, parse_hub_id
from imggen.hub.card import is_upscaler
from imggen.models.mlp_gan import MLPGenerator

TINY = {"widths": (8,), "noise_dim": 4}


def same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture
def gan_repo(local_hub, tmp_path):
    """``org/gan`` on the stand-in Hub: ``main`` holds model ``a``, branch ``v2`` holds model ``b``."""
    models = {}
    for name, seed in (("a", 1), ("b", 2)):
        torch.manual_seed(seed)
        models[name] = imggen.create_model("cgan-mlp-mnist", **TINY)
        imggen.save_pretrained(models[name], tmp_path / name)
    models["a_commit"] = local_hub.commit_folder("org/gan", tmp_path / "a", message="model a")
    local_hub.create_branch("org/gan", "v2")
    local_hub.commit_folder("org/gan", tmp_path / "b", branch="v2", message="model b")
    local_hub.requests.clear()
    return models


# -- download ---------------------------------------------------------------------------------------------------
def test_hf_hub_name_downloads_and_rebuilds_the_saved_model(local_hub, gan_repo):
    model = imggen.create_model("hf-hub:org/gan")
    assert same_weights(model, gan_repo["a"])
    assert torch.equal(model.sample(4, labels=[3], seed=0), gan_repo["a"].sample(4, labels=[3], seed=0))
    assert model.imggen_cfg["architecture"] == "cgan-mlp-mnist"
    snapshot = local_hub.home / "hub" / "models--org--gan" / "snapshots" / gan_repo["a_commit"]
    assert model.weights_sha256 == sha256_file(snapshot / "model.safetensors")  # it went through the HF cache
    assert len(local_hub.downloads("model.safetensors")) == 1


def test_a_revision_picks_a_branch_or_a_commit(local_hub, gan_repo):
    assert same_weights(imggen.create_model("hf-hub:org/gan@v2"), gan_repo["b"])
    assert same_weights(imggen.create_model(f"hf-hub:org/gan@{gan_repo['a_commit']}"), gan_repo["a"])
    assert same_weights(imggen.create_model("hf-hub:org/gan@main"), gan_repo["a"])


def test_a_second_call_is_a_cache_hit_even_with_the_hub_gone(local_hub, gan_repo):
    first = imggen.create_model("hf-hub:org/gan")
    local_hub.requests.clear()
    imggen.create_model("hf-hub:org/gan")
    files = [(r.method, r.path) for r in local_hub.requests if "/resolve/" in r.path or r.server == "cdn"]
    assert files == [("HEAD", "/org/gan/resolve/main/config.json"),  # is main still there? yes: no GET
                     ("HEAD", "/org/gan/resolve/main/model.safetensors")]
    local_hub.stop()
    assert same_weights(imggen.create_model("hf-hub:org/gan"), first)


def test_offline_mode_loads_from_the_cache_without_any_request(local_hub, gan_repo, hub_offline):
    imggen.create_model("hf-hub:org/gan")
    hub_offline()
    local_hub.requests.clear()
    assert same_weights(imggen.create_model("hf-hub:org/gan"), gan_repo["a"])
    assert local_hub.requests == []
    with pytest.raises(HubError, match="HF_HUB_OFFLINE=1 is set"):
        imggen.create_model("hf-hub:org/gan@v2")  # this revision was never downloaded


def test_offline_with_nothing_cached_says_so_and_how_to_fix(local_hub, gan_repo, hub_offline):
    hub_offline()
    with pytest.raises(HubError) as caught:
        imggen.create_model("hf-hub:org/gan")
    message = str(caught.value)
    assert "could not fetch 'org/gan': HF_HUB_OFFLINE=1 is set (offline mode)" in message
    assert "not in the local Hugging Face cache" in message
    assert "download it once while online" in message and "local folder saved with imggen.save_pretrained" in message
    assert local_hub.requests == []


def test_unreachable_hub_with_nothing_cached_fails_fast_and_says_how_to_fix(local_hub):
    local_hub.stop()
    start = time.monotonic()
    with pytest.raises(HubError) as caught:  # one short probe, not huggingface_hub's 5 retries (about 23 s)
        imggen.create_model("hf-hub:org/gan")
    assert time.monotonic() - start < 5
    message = str(caught.value)
    assert f"the Hub at {local_hub.url} is unreachable" in message
    assert "not in the local Hugging Face cache" in message and "HF_HUB_OFFLINE=1 works" in message


def test_an_endpoint_that_is_not_a_hub_is_reported_as_unreachable(local_hub, monkeypatch):
    from huggingface_hub import constants

    # the stand-in CDN answers plain 404s without the Hub's headers, like a wrong HF_ENDPOINT would
    monkeypatch.setattr(constants, "ENDPOINT", local_hub.cdn_url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        local_hub.cdn_url + "/{repo_id}/resolve/{revision}/{filename}")
    with pytest.raises(HubError, match=f"the Hub at {local_hub.cdn_url} is unreachable"):
        imggen.create_model("hf-hub:org/gan")


@pytest.mark.parametrize(("name", "expected"), [
    ("hf-hub:org/nothing", "Hub repo 'org/nothing' does not exist"),
    ("hf-hub:org/gan@v9", "Hub repo 'org/gan' has no revision 'v9'"),
    ("hf-hub:org/empty", "Hub repo 'org/empty' is not an imggen weights folder"),
])
def test_hub_errors_name_the_repo_and_what_is_missing(local_hub, gan_repo, name, expected):
    local_hub.create_repo("org/empty")
    with pytest.raises(HubError, match=expected):
        imggen.create_model(name)


# -- pretrained configs that live on the Hub ------------------------------------------------------------------
def test_pretrained_cfg_with_hf_hub_id_downloads_and_checks_the_sha256(local_hub, gan_repo, swap_registry, tmp_path):
    weights = tmp_path / "a" / "model.safetensors"
    registry = swap_registry("generators")
    registry.register("tiny", defaults={**TINY, "num_classes": 10}, pretrained=[
        PretrainedCfg(tag="hub", hf_hub_id="org/gan", sha256=sha256_file(weights)),
        PretrainedCfg(tag="branch", hf_hub_id="org/gan@v2", sha256=sha256_file(tmp_path / "b" / "model.safetensors")),
        PretrainedCfg(tag="tampered", hf_hub_id="org/gan", sha256="f" * 64),
    ])(MLPGenerator)
    model = imggen.create_model("tiny", pretrained=True)
    assert same_weights(model, gan_repo["a"]) and model.pretrained_tag == "hub"
    assert imggen.model_info("tiny")["pretrained"][0]["source"] == "hf-hub:org/gan"
    assert same_weights(imggen.create_model("tiny.branch"), gan_repo["b"])
    with pytest.raises(WeightsError, match=f"expected {'f' * 64}\n  actual   {sha256_file(weights)}"):
        imggen.create_model("tiny.tampered")


# -- upload -----------------------------------------------------------------------------------------------------
def test_push_to_hub_uploads_the_folder_and_create_model_round_trips(local_hub, tmp_path, small_model):
    url = imggen.push_to_hub(small_model, "org/pushed", token="hf_test_token")
    head = local_hub.repos["org/pushed"].branches["main"]
    assert url == f"{local_hub.url}/org/pushed/commit/{head}"
    local = imggen.save_pretrained(small_model, tmp_path / "local", name="hf-hub:org/pushed")
    for name in ("config.json", "model.safetensors", "README.md", "samples.png"):
        assert local_hub.file("org/pushed", name) == (local / name).read_bytes()
    writes = [r for r in local_hub.requests if r.method == "POST"]
    assert {r.path.split("?")[0] for r in writes} >= {"/api/repos/create", "/api/models/org/pushed/preupload/main",
                                                      "/api/models/org/pushed/commit/main"}
    assert all(r.headers.get("authorization") == "Bearer hf_test_token" for r in writes)
    again = imggen.create_model("hf-hub:org/pushed")
    assert same_weights(again, small_model)
    assert torch.equal(again.sample(3, labels=[7], seed=1), small_model.sample(3, labels=[7], seed=1))


def test_pushing_new_weights_makes_a_new_commit_and_keeps_the_old_one(local_hub, small_model):
    imggen.push_to_hub(small_model, "org/pushed")
    first = local_hub.repos["org/pushed"].branches["main"]
    imggen.push_to_hub(small_model, "org/pushed")  # unchanged: no new commit
    assert local_hub.repos["org/pushed"].branches["main"] == first
    changed = imggen.create_model("cgan-mlp-mnist", widths=(16, 32), noise_dim=8)
    imggen.push_to_hub(changed, "org/pushed", commit_message="retrained")
    second = local_hub.repos["org/pushed"].branches["main"]
    assert second != first and local_hub.repos["org/pushed"].commits[second].message == "retrained"
    assert same_weights(imggen.create_model("hf-hub:org/pushed"), changed)
    assert same_weights(imggen.create_model(f"hf-hub:org/pushed@{first}"), small_model)


def test_push_to_hub_half_stores_float16(local_hub, small_model):
    imggen.push_to_hub(small_model, "org/half", half=True)
    folder = imggen.hub.download_folder("org/half")
    assert {t.dtype for t in load_file(folder / "model.safetensors").values()} == {torch.float16}


# -- the environment variables alone, as a user sets them -----------------------------------------------------
OFFLINE_SCRIPT = textwrap.dedent("""
    import imggen
    from imggen.errors import HubError
    imggen.create_model("hf-hub:org/gan")
    try:
        imggen.create_model("hf-hub:org/gan@v2")
    except HubError as exc:
        print(exc)
""")


@pytest.mark.slow
def test_cli_and_offline_mode_through_environment_variables_only(local_hub, gan_repo, tmp_path):
    """What a user does: HF_ENDPOINT/HF_HOME set, the installed ``imggen`` script, then HF_HUB_OFFLINE=1."""
    env = {k: v for k, v in os.environ.items() if k not in local_hub.env}
    env.update({k: v for k, v in local_hub.env.items() if v is not None})
    out = tmp_path / "grid.png"
    script = shutil.which("imggen") or pytest.fail("the imggen console script is not on PATH; pip install -e .")
    online = subprocess.run([script, "sample", "hf-hub:org/gan", "-n", "4", "--labels", "0-3", "-o", str(out)],
                            env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert online.returncode == 0, online.stderr
    assert Image.open(out).text["imggen:model"] == "cgan-mlp-mnist"
    local_hub.requests.clear()
    offline = subprocess.run([sys.executable, "-c", OFFLINE_SCRIPT], env={**env, "HF_HUB_OFFLINE": "1"},
                             capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert offline.returncode == 0, offline.stderr
    assert "could not fetch 'org/gan@v2': HF_HUB_OFFLINE=1 is set" in offline.stdout
    assert local_hub.requests == []


# -- parsing Hub ids --------------------------------------------------------------------------------------------
NAME = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,20}", fullmatch=True)
REVISION = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,40}", fullmatch=True)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a loaded machine is no failure
@given(org=NAME, repo=NAME, revision=st.none() | REVISION, prefix=st.sampled_from(["hf-hub:", ""]))
def test_parse_hub_id_splits_repo_and_revision(org, repo, revision, prefix):
    spec = f"{prefix}{org}/{repo}" + (f"@{revision}" if revision else "")
    assert parse_hub_id(spec) == (f"{org}/{repo}", revision)


@settings(deadline=None)
@given(st.text(max_size=30))
def test_parse_hub_id_returns_org_slash_repo_or_raises_value_error(text):
    try:
        repo_id, _ = parse_hub_id(text)
    except ValueError as exc:
        assert "expected 'hf-hub:org/repo' or 'hf-hub:org/repo@revision'" in str(exc)
    else:
        org, repo = repo_id.split("/")
        assert org and repo and "@" not in repo_id


@pytest.mark.parametrize("spec", ["hf-hub:gan", "hf-hub:org/", "hf-hub:/repo", "hf-hub:a/b/c", "hf-hub:@v1"])
def test_bad_hub_ids_are_refused_before_any_request(spec):
    with pytest.raises(ValueError, match="bad Hub id"):
        imggen.create_model(spec)


def test_hub_stand_in_records_what_it_served(local_hub, gan_repo):
    """The stand-in itself: LFS files answer with a redirect carrying sha256 and size, like the Hub."""
    imggen.create_model("hf-hub:org/gan")
    heads = [r for r in local_hub.requests if r.method == "HEAD"]
    assert [r.path for r in heads] == ["/org/gan/resolve/main/config.json",  # imggen's one short probe
                                       "/org/gan/resolve/main/config.json", "/org/gan/resolve/main/model.safetensors"]
    assert [r.server for r in local_hub.downloads("model.safetensors")] == ["cdn"]
    assert json.loads(local_hub.file("org/gan", "config.json"))["architecture"] == "cgan-mlp-mnist"


# -- the built-in weights: every tag on the Hub, the defaults also bundled ---------------------------------------
ROOT = Path(__file__).resolve().parents[1]
PACKAGE_WEIGHTS = Path(imggen.__file__).parent / "weights"
CREATE = {"generators": imggen.create_model, "discriminators": imggen.create_discriminator,
          "feature_extractors": imggen.create_feature_extractor}
BUNDLED = ["cgan-mlp-fashion.v4", "cgan-mlp-mnist.v7", "espcn-x2.v2", "espcn-x3.v4", "espcn-x4.v2", "fashion-cnn.v1",
           "fashion-timm-resnet.v1", "gan-mlp-mnist.v7", "mnist-cnn.v1", "mnist-timm-resnet.v1"]


def builtin_weights() -> list[tuple[str, str, PretrainedCfg]]:
    """``(kind, arch, cfg)`` of every weight imggen itself registers (plugins' weights are not imggen's)."""
    script = publish_script()
    return [(kind, entry.name, cfg) for kind, entry in script.builtin_entries() for cfg in entry.pretrained_cfgs]


def publish_script():
    spec = importlib.util.spec_from_file_location("publish_hub", ROOT / "scripts" / "publish_hub.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def slim_install(monkeypatch):
    """As if the package bundled no weights at all: every tag must come from the Hub."""
    monkeypatch.setattr(Location, "bundled_present", property(lambda self: False))


def test_every_builtin_tag_names_its_hub_repo_a_pinned_revision_and_the_full_sha256():
    weights = builtin_weights()
    # 27 generator weights (16 MLP GANs, 7 DCGANs, 4 VAEs), 13 SR weights, 4 feature networks (both spaces)
    assert len(weights) == 44
    for _, arch, cfg in weights:
        assert cfg.hub_repo == (f"imggen/{arch}.{cfg.tag}", "v1"), arch
        assert re.fullmatch("[0-9a-f]{64}", cfg.sha256)


def test_the_package_bundles_only_the_seed_models_defaults_and_the_feature_networks():
    assert sorted(p.name for p in PACKAGE_WEIGHTS.iterdir() if p.is_dir()) == BUNDLED
    for kind, arch, cfg in builtin_weights():
        info = imggen.model_info(arch, kind=kind)
        described = next(w for w in info["pretrained"] if w["tag"] == cfg.tag)
        assert described["bundled"] == (f"{arch}.{cfg.tag}" in BUNDLED)
        assert not described["bundled"] or info["default_tag"] == cfg.tag  # only defaults ship


def test_hub_repos_hold_every_tag_with_its_registered_hash_and_the_index_is_current():
    script = publish_script()
    weights = script.builtin_weights()
    assert script.check(weights) == []  # a folder per tag, nothing else, every sha256 as registered
    assert (PACKAGE_WEIGHTS / "hub-index.json").read_text() == script.index_text(list(weights)), \
        "stale: run python scripts/publish_hub.py --index"


def test_hub_only_tags_describe_themselves_without_any_request(local_hub):
    v2 = next(w for w in imggen.model_info("cgan-mlp-mnist")["pretrained"] if w["tag"] == "v2")
    assert v2["bundled"] is False and v2["source"] == "hf-hub:imggen/cgan-mlp-mnist.v2@v1"
    assert v2["metrics"]["fd"] > 0 and v2["meta"]["recipe"] == "recipes/cgan-mlp-mnist.toml"
    assert local_hub.requests == []


def test_bundled_defaults_load_from_the_package_without_any_request(local_hub):
    for kind, arch, cfg in builtin_weights():
        if f"{arch}.{cfg.tag}" in BUNDLED:
            assert CREATE[kind](f"{arch}.{cfg.tag}").weights_sha256 == cfg.sha256
    assert local_hub.requests == []


def test_every_builtin_tag_downloads_once_is_verified_and_then_loads_offline(zoo_hub, slim_install, hub_offline):
    weights = builtin_weights()
    for kind, arch, cfg in weights:
        model = CREATE[kind](f"{arch}.{cfg.tag}")
        assert (model.pretrained_tag, model.weights_sha256) == (cfg.tag, cfg.sha256)
        assert (zoo_hub.home / "hub" / f"models--imggen--{arch}.{cfg.tag}" / "refs" / "v1").is_file()
    assert len(zoo_hub.downloads("model.safetensors")) == len(weights)
    hub_offline()
    zoo_hub.requests.clear()
    for kind, arch, cfg in weights:
        assert CREATE[kind](f"{arch}.{cfg.tag}").weights_sha256 == cfg.sha256
    assert zoo_hub.requests == []


def test_a_corrupt_download_names_the_cached_file_to_delete(zoo_hub, slim_install):
    imggen.create_model("gan-mlp-mnist.seed")
    blob = next((zoo_hub.home / "hub" / "models--imggen--gan-mlp-mnist.seed" / "snapshots").glob("*/model.safetensors"))
    blob = blob.resolve()
    data = bytearray(blob.read_bytes())
    data[-1] ^= 0xFF
    blob.write_bytes(bytes(data))
    with pytest.raises(WeightsError) as caught:
        imggen.create_model("gan-mlp-mnist.seed")
    message = str(caught.value)
    assert "sha256 mismatch" in message and f"delete the cached copy ({blob})" in message
    assert "reinstall" not in message
    blob.unlink()  # the advice works: the next load downloads it again
    assert imggen.create_model("gan-mlp-mnist.seed").weights_sha256 == sha256_file(
        ROOT / "hub-repos" / "gan-mlp-mnist.seed" / "model.safetensors")


def test_the_pinned_revision_holds_when_main_moves_on(zoo_hub, slim_install, small_model, tmp_path):
    pinned = imggen.model_info("gan-mlp-mnist")["pretrained"][-1]
    assert pinned["tag"] == "seed"
    zoo_hub.commit_folder("imggen/gan-mlp-mnist.seed", imggen.save_pretrained(small_model, tmp_path / "new"),
                          message="new weights on main")
    assert imggen.create_model("gan-mlp-mnist.seed").weights_sha256 == pinned["sha256"]
    assert imggen.create_model("hf-hub:imggen/gan-mlp-mnist.seed").weights_sha256 != pinned["sha256"]


def test_the_publish_script_uploads_a_folder_and_tags_the_pinned_revision(local_hub, slim_install, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    record = tmp_path / "published.json"
    arguments = ["--only", "mnist-cnn.v1", "--record", str(record)]
    assert publish_script().main(arguments) == 0
    repo = local_hub.repos["imggen/mnist-cnn.v1"]
    assert list(local_hub.repos) == ["imggen/mnist-cnn.v1"] and repo.tags == {"v1": repo.branches["main"]}
    assert json.loads(record.read_text())["imggen/mnist-cnn.v1"]["commit"] == repo.tags["v1"]
    assert {r.headers.get("authorization") for r in local_hub.requests if r.method == "POST"} == {
        "Bearer hf_test_token"}
    for name in ("config.json", "model.safetensors", "README.md"):
        published = ROOT / "hub-repos" / "mnist-cnn.v1" / name
        assert local_hub.file("imggen/mnist-cnn.v1", name, "v1") == published.read_bytes()
    assert publish_script().main(arguments) == 0
    assert len(repo.commits) == 2  # published already: no new commit, the tag is not moved
    assert imggen.create_feature_extractor("mnist-cnn").weights_sha256 == sha256_file(
        ROOT / "hub-repos" / "mnist-cnn.v1" / "model.safetensors")  # from the published repo: nothing bundled


@pytest.mark.slow
def test_the_wheel_is_at_most_15_mb(tmp_path):
    """The number the issue sets: `python -m pip wheel --no-deps --no-build-isolation -w DIR .` (47.3 MB before)."""
    source = tmp_path / "source"  # a clean copy: an old in-tree build/ folder would be packed again
    shutil.copytree(ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                           str(tmp_path), str(source)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("imggen-*.whl")
    assert wheel.stat().st_size <= 15 * 10**6, wheel.stat().st_size
    with zipfile.ZipFile(wheel) as archive:
        shipped = {Path(n).parent.name for n in archive.namelist() if n.endswith("/model.safetensors")}
    assert sorted(shipped) == BUNDLED


# -- offline-first verbs: download, cache export / import, verify ------------------------------------------------
def cli(capsys, *argv: str) -> tuple[int, str, str]:
    from imggen.cli import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_download_prefetches_matching_tags_so_they_load_offline(zoo_hub, slim_install, hub_offline, capsys):
    code, out, err = cli(capsys, "download", "gan-mlp-mnist.v[56]")
    assert code == 0, err
    assert out.splitlines() == [
        f"gan-mlp-mnist.{t}: cached from hf-hub:imggen/gan-mlp-mnist.{t}@v1, sha256 {sha[:12]} verified"
        for t, sha in (("v6", "ae281bcdb1ae"), ("v5", "9efc88a96c14"))]
    assert len(zoo_hub.downloads("model.safetensors")) == 2
    hub_offline()
    zoo_hub.requests.clear()
    imggen.create_model("gan-mlp-mnist.v5"), imggen.create_model("gan-mlp-mnist.v6")
    assert zoo_hub.requests == []
    with pytest.raises(HubError, match="HF_HUB_OFFLINE=1 is set.*`imggen download NAME`"):
        imggen.create_model("gan-mlp-mnist.v4")


def test_download_of_a_bundled_default_needs_no_network_and_no_match_is_an_error(local_hub, capsys):
    code, out, _ = cli(capsys, "download", "cgan-mlp-mnist")
    assert (code, out) == (0, "cgan-mlp-mnist.v7: bundled in the package, sha256 29b25c67c921 verified\n")
    assert local_hub.requests == []
    code, _, err = cli(capsys, "download", "nothing-*")
    assert code == 1 and "no pretrained weight matches 'nothing-*'; see `imggen list --pretrained`" in err


def test_cache_export_and_import_move_weights_to_an_offline_machine(zoo_hub, slim_install, hub_offline, capsys,
                                                                    tmp_path, monkeypatch):
    from huggingface_hub import constants

    assert cli(capsys, "download", "cgan-mlp-fashion.*")[0] == 0
    archive = tmp_path / "weights.tar.gz"
    code, out, _ = cli(capsys, "cache", "export", str(archive), "--pattern", "cgan-mlp-fashion.*")
    assert code == 0 and out.splitlines() == [f"exported imggen/cgan-mlp-fashion.{t}" for t in ("v2", "v3", "v4")]
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "air-gapped"))  # another machine's empty cache
    hub_offline()
    zoo_hub.requests.clear()
    with pytest.raises(HubError, match="not in the local Hugging Face cache.*imggen cache import FILE"):
        imggen.create_model("cgan-mlp-fashion.v3")
    code, out, _ = cli(capsys, "cache", "import", str(archive))
    assert code == 0 and "imported imggen/cgan-mlp-fashion.v3" in out
    for tag in ("v2", "v3", "v4"):
        assert imggen.create_model(f"cgan-mlp-fashion.{tag}").pretrained_tag == tag
    assert zoo_hub.requests == []


def test_cache_import_refuses_an_archive_that_is_not_a_cache(tmp_path, capsys, local_hub):
    import tarfile

    evil = tmp_path / "evil.tar.gz"
    (tmp_path / "x").write_text("x")
    with tarfile.open(evil, "w:gz") as archive:
        archive.add(tmp_path / "x", arcname="../outside")
    code, _, err = cli(capsys, "cache", "import", str(evil))
    assert code == 2 and "not Hugging Face cache folders" in err
    (tmp_path / "plain.txt").write_text("not an archive")
    code, _, err = cli(capsys, "cache", "import", str(tmp_path / "plain.txt"))
    assert code == 2 and "is not a cache archive made by `imggen cache export`" in err


def test_verify_remakes_the_golden_samples_of_bundled_and_hub_weights(zoo_hub, slim_install, capsys):
    for name in ("cgan-mlp-mnist", "gan-mlp-mnist.seed"):
        code, out, err = cli(capsys, "verify", name)
        assert code == 0, err
        assert out.startswith(f"{name}: identical (max pooled difference 0") or " within tolerance " in out


def test_verify_catches_weights_that_load_but_are_not_the_ones_recorded(tmp_path, small_model, capsys):
    from imggen.hub.golden import SEED, golden_labels, golden_record

    labels = golden_labels(10)
    golden = golden_record(small_model.sample(8, labels=labels, seed=SEED), labels)
    good = imggen.save_pretrained(small_model, tmp_path / "good", meta={"golden": golden})
    assert cli(capsys, "verify", str(good))[1].startswith(f"{good}: identical")
    other = imggen.create_model("cgan-mlp-mnist", widths=(16, 32), noise_dim=8)  # same shapes, other weights
    wrong = imggen.save_pretrained(other, tmp_path / "wrong", meta={"golden": golden})
    code, out, err = cli(capsys, "verify", str(wrong))
    assert code == 1 and ": different (max pooled difference" in out and "samples differ" in err
    bare = imggen.save_pretrained(other, tmp_path / "bare")
    code, _, err = cli(capsys, "verify", str(bare))
    assert code == 2 and "records no golden samples" in err


def test_the_published_cards_are_current():
    """hub-repos/*/README.md is what the card builder writes from each config.json (python scripts/publish_hub.py
    --cards rewrites them)."""
    for folder in sorted(p for p in (ROOT / "hub-repos").iterdir() if p.is_dir()):
        config = imggen.hub.read_config(folder)
        expected = imggen.hub.model_card(config, name=folder.name, samples=(folder / "samples.png").is_file())
        assert (folder / "README.md").read_text() == expected, f"{folder.name}: run scripts/publish_hub.py --cards"
        samples = config["kind"] == "generators" and not is_upscaler(config)  # SR models upscale, nothing to sample
        assert (folder / "samples.png").is_file() == samples
