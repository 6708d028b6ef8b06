"""The declared dependencies are the ones the code uses: nothing installed for nothing, nothing missing."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
#: distribution name → the module it installs, where they differ
MODULE_OF = {"pillow": "PIL", "huggingface_hub": "huggingface_hub", "torch-fidelity": "torch_fidelity"}
#: declared but imported by no module of src/imggen yet, and why
NOT_IMPORTED_YET = {
    "timm": "the timm feature networks (metrics/features.py) are being built on it",
    "torch-fidelity": "loaded by torchmetrics for the inception-v3 feature network, not imported by imggen",
}


def requirement_name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def declared(*extras: str) -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [requirement_name(r) for r in project["dependencies"]]
    for extra in extras:
        names += [requirement_name(r) for r in project["optional-dependencies"][extra]]
    return {n for n in names if n != "imggen"}


def imported_modules(folder: Path) -> set[str]:
    """Top-level modules imported anywhere under ``folder`` (inside functions too)."""
    found = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return found


def test_every_declared_dependency_is_used() -> None:
    used = imported_modules(ROOT / "src" / "imggen")
    unused = [name for name in sorted(declared("inception")) if name not in NOT_IMPORTED_YET
              and MODULE_OF.get(name, name.replace("-", "_")) not in used]
    assert not unused, f"declared in pyproject.toml but imported nowhere in src/imggen: {unused}"


def test_every_third_party_import_is_declared() -> None:
    modules = {MODULE_OF.get(name, name.replace("-", "_")) for name in declared()}
    third_party = {m for m in imported_modules(ROOT / "src" / "imggen")
                   if m not in sys.stdlib_module_names and m not in ("imggen", "tomli")}
    tomli_declared = any(r.startswith("tomli") and "python_version < '3.11'" in r for r in
                         tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])
    assert tomli_declared, "recipes read TOML with tomli on Python 3.10: declare tomli for python_version < '3.11'"
    extras = {MODULE_OF.get(name, name.replace("-", "_")) for name in declared("inception", "testing")}
    missing = sorted(third_party - modules - extras)
    assert not missing, f"imported by src/imggen but not declared in pyproject.toml's dependencies: {missing}"


def test_test_only_tools_stay_out_of_the_install() -> None:
    assert "scipy" not in declared() and "scipy" in declared("dev"), "scipy is only used by the tests"
    assert "torch-fidelity" in declared("inception")
