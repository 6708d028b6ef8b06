"""Shared test fixtures.

- The example plugins in ``tests/plugins/`` are real distributions; they are pip-installed (once, before
  collection) into ``tests/plugins/.installed``, which this session and its subprocesses have on their path, so
  imggen finds them through real entry-point metadata without showing up outside the tests.
- ``local_hub`` / ``hub_offline``: a Hugging Face Hub stand-in on 127.0.0.1 with ``huggingface_hub`` pointed at it.
- ``small_model`` / ``saved_folder``: a small generator and its ``save_pretrained`` folder.
- ``swap_registry`` / ``cfg_for``: a fresh registry for one test, and pretrained configs for saved folders.

Keep each fixture short and documented; add new ones at the end of the file under a heading.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hubserver import LocalHub, hub_constants, hub_environment

TESTS = Path(__file__).parent
PLUGINS = TESTS / "plugins"
PLUGIN_SITE = PLUGINS / ".installed"  # pip --target folder: on sys.path for the tests only (git-ignored)
PLUGIN_DISTRIBUTIONS = {  # distribution → its one top-level package
    "imggen-example-plugin": "imggen_example_plugin",  # one entry point of each kind
    "imggen-broken-plugin": "imggen_broken_plugin",  # its module raises on import
    "imggen-twin-plugin": None,  # metadata only: an entry-point name the broken plugin declares too
}
INSTALL_HINT = (
    f"install them with: {Path(sys.executable).name} -m pip install --no-deps --upgrade --target {PLUGIN_SITE} "
    + " ".join(str(PLUGINS / d) for d in PLUGIN_DISTRIBUTIONS)
)


# -- the example plugins ------------------------------------------------------------------------------------
# They are real pip-built distributions, installed into tests/plugins/.installed rather than site-packages, so
# the test session (and its subprocesses, through PYTHONPATH) sees them while `imggen list` in the developer's
# own shell does not show test plugins. imggen finds them through importlib.metadata like any installed package.
def plugin_install_problem(dist_name: str, package: str | None) -> str | None:
    """Why the plugin in PLUGIN_SITE does not match its source in tests/plugins (``None`` when it does)."""
    source = PLUGINS / dist_name
    found = [d for d in importlib.metadata.distributions(path=[str(PLUGIN_SITE)]) if d.metadata["Name"] == dist_name]
    if not found:
        return f"{dist_name} is not installed in {PLUGIN_SITE}"
    dist = found[0]
    with contextlib.suppress(ImportError):  # tomllib is Python 3.11+; on 3.10 only the files are compared
        import tomllib

        declared = tomllib.loads((source / "pyproject.toml").read_text())["project"].get("entry-points", {})
        installed = {(ep.group, ep.name, ep.value) for ep in dist.entry_points}
        wanted = {(group, name, value) for group, points in declared.items() for name, value in points.items()}
        if installed != wanted:
            return f"{dist_name}'s installed entry points differ from {source / 'pyproject.toml'}"
    for path in sorted((source / "src" / package).rglob("*.py")) if package else []:
        installed_file = PLUGIN_SITE / path.relative_to(source / "src")
        if not installed_file.is_file() or installed_file.read_bytes() != path.read_bytes():
            return f"{dist_name}'s installed {path.name} differs from its source"
    return None


PIP_LOG: list[str] = []  # what pip said when the automatic install failed, for the failure message


def install_plugins() -> None:
    """pip-install the example plugins into PLUGIN_SITE (not editable: importable at once, in this process)."""
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--upgrade", "--target",
               str(PLUGIN_SITE)]
    if importlib.util.find_spec("setuptools") is not None:
        command.append("--no-build-isolation")  # build with the setuptools already here: no index needed
    lock_path = Path(tempfile.gettempdir()) / "imggen-test-plugins.lock"
    with open(lock_path, "w") as lock:
        with contextlib.suppress(ImportError):
            import fcntl  # one installer at a time when several test runs start together

            fcntl.flock(lock, fcntl.LOCK_EX)
        if any(plugin_install_problem(d, p) for d, p in PLUGIN_DISTRIBUTIONS.items()):
            shutil.rmtree(PLUGIN_SITE, ignore_errors=True)
            done = subprocess.run([*command, *(str(PLUGINS / d) for d in PLUGIN_DISTRIBUTIONS)],
                                  capture_output=True, text=True, check=False)
            if done.returncode:
                said = [line.strip() for line in (done.stdout + done.stderr).splitlines() if "error" in line.lower()]
                PIP_LOG.append("\n".join(said[-10:]) or done.stderr.strip()[-2000:])
            for dist_name in PLUGIN_DISTRIBUTIONS:  # pip builds in the source tree; leave it clean
                shutil.rmtree(PLUGINS / dist_name / "build", ignore_errors=True)
                for pattern in ("*.egg-info", "src/*.egg-info"):
                    for egg_info in (PLUGINS / dist_name).glob(pattern):
                        shutil.rmtree(egg_info, ignore_errors=True)
    importlib.invalidate_caches()


def pytest_configure(config: pytest.Config) -> None:
    """Install the example plugins before collection and put them on the path of this session and its children."""
    if any(plugin_install_problem(d, p) for d, p in PLUGIN_DISTRIBUTIONS.items()):
        install_plugins()
    if str(PLUGIN_SITE) not in sys.path:
        sys.path.insert(0, str(PLUGIN_SITE))
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(PLUGIN_SITE), os.environ.get("PYTHONPATH")) if p)
    # The broken plugin warns (once per process) whenever pretrained weights are listed; tests/test_plugins.py
    # asserts that warning explicitly, everywhere else it is expected noise.
    config.addinivalue_line("filterwarnings", "ignore:imggen plugin 'imggen-broken-plugin':RuntimeWarning")


@pytest.fixture(scope="session")
def plugins_installed() -> None:
    """Fail (not skip) with the command to run when the example plugins are missing or stale."""
    problems = [p for d, pkg in PLUGIN_DISTRIBUTIONS.items() if (p := plugin_install_problem(d, pkg))]
    if problems:
        pip_said = f"\npip said: {PIP_LOG[-1]}" if PIP_LOG else ""
        pytest.fail(f"the test plugins are not installed as expected ({'; '.join(problems)}); {INSTALL_HINT}{pip_said}")


# -- the Hub stand-in ---------------------------------------------------------------------------------------
@pytest.fixture
def local_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalHub]:
    """A Hub stand-in on 127.0.0.1; ``huggingface_hub`` points at it with an empty cache in ``hub.home``.

    ``hub.env`` holds the environment variables a subprocess needs to see the same Hub and cache.
    """
    from huggingface_hub import constants

    hub = LocalHub().start()
    hub.home = tmp_path / "hf-home"
    hub.env = hub_environment(hub.url, hub.home)
    for key, value in hub.env.items():
        if value is None:
            monkeypatch.delenv(key, raising=False)
        else:
            monkeypatch.setenv(key, value)
    for key, value in hub_constants(hub.url, hub.home).items():
        monkeypatch.setattr(constants, key, value)
    yield hub
    hub.stop()


@pytest.fixture
def hub_offline(local_hub: LocalHub, monkeypatch: pytest.MonkeyPatch):
    """A switch: ``hub_offline()`` turns on ``HF_HUB_OFFLINE`` for the rest of the test."""
    from huggingface_hub import constants

    def go_offline() -> None:
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
        local_hub.env["HF_HUB_OFFLINE"] = "1"

    return go_offline


# -- small models and folders -------------------------------------------------------------------------------
SMALL_GAN = {"widths": (16, 32), "noise_dim": 8}  # the MLP GAN family with tiny widths: fast to build and save


@pytest.fixture
def small_model():
    """A small conditional MLP generator built through ``create_model`` (so it can be saved)."""
    import imggen

    return imggen.create_model("cgan-mlp-mnist", **SMALL_GAN)


@pytest.fixture
def saved_folder(tmp_path: Path, small_model) -> Path:
    """``small_model`` saved with ``imggen.save_pretrained``."""
    import imggen

    return imggen.save_pretrained(small_model, tmp_path / "saved")


# -- registries -----------------------------------------------------------------------------------------------
@pytest.fixture
def swap_registry(monkeypatch: pytest.MonkeyPatch):
    """``swap_registry("generators")`` → a fresh Registry that ``create_*``, ``list_*`` and ``model_info`` use
    for the rest of the test. Its entry-point group has no plugins, so only what the test registers is there.
    """
    from imggen.registry import REGISTRIES, Registry

    def swap(kind: str = "generators") -> Registry:
        registry = Registry(kind, group=f"imggen_tests.{kind}", lister=REGISTRIES[kind].lister,
                            contract=REGISTRIES[kind].contract)
        monkeypatch.setitem(REGISTRIES, kind, registry)
        return registry

    return swap


@pytest.fixture
def cfg_for():
    """``cfg_for(folder, tag, **kw)`` → a ``PretrainedCfg`` for a saved folder, with its weights' sha256."""
    from imggen import PretrainedCfg
    from imggen.fileio import sha256_file

    def make(folder: Path, tag: str, **kwargs) -> PretrainedCfg:
        return PretrainedCfg(tag=tag, file=str(folder), sha256=sha256_file(Path(folder) / "model.safetensors"),
                             **kwargs)

    return make


# -- real data ------------------------------------------------------------------------------------------------
SHARED_DATA = TESTS.resolve().parents[1] / "shared" / "data"


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real MNIST / Fashion-MNIST archives: ``$IMGGEN_DATA_DIR``, else ``../shared/data`` beside the repo."""
    import os

    root = Path(os.environ.get("IMGGEN_DATA_DIR") or SHARED_DATA)
    if not (root / "mnist").is_dir():
        pytest.fail(f"no MNIST archives under {root}: set IMGGEN_DATA_DIR to the folder holding mnist/")
    os.environ.setdefault("IMGGEN_DATA_DIR", str(root))
    return root


# -- metrics ------------------------------------------------------------------------------------------------
SMALL_REFERENCE = 2000  # references are capped at 10k images; 2k keeps the metrics tests fast


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread: on a busy 2-core machine OpenMP's spinning threads make these tests slower, not faster."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def small_reference(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    """Score against 2,000 reference images instead of 10,000."""
    from imggen.metrics import reference

    monkeypatch.setattr(reference, "REFERENCE_SIZE", SMALL_REFERENCE)


# -- the built-in weights on the Hub stand-in ---------------------------------------------------------------
HUB_REPOS = TESTS.parent / "hub-repos"  # one folder per Hub repo, as scripts/publish_hub.py publishes them


@pytest.fixture
def zoo_hub(local_hub: LocalHub) -> LocalHub:
    """``local_hub`` holding every folder of hub-repos/ as ``imggen/<arch>.<tag>``, tagged with the pinned revision
    (what scripts/publish_hub.py does on the real Hub), so every built-in tag downloads as it will for users."""
    from imggen.registry.pretrained import HUB_ORG, HUB_REVISION

    for folder in sorted(p for p in HUB_REPOS.iterdir() if p.is_dir()):
        local_hub.publish_folder(f"{HUB_ORG}/{folder.name}", folder, HUB_REVISION)
    local_hub.requests.clear()
    return local_hub
