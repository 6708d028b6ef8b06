"""The code in the docs runs as a reader would paste it: each ```python block alone, in a fresh process and an
empty temporary folder (forked from one that has imported torch and imggen, and run nothing else, so the imports are
paid once), and each ```console block's ``$ imggen`` lines through the CLI's ``main`` the same way. A
block that needs an import, a variable or a file from an earlier block fails, so every snippet carries its own.

Markers on the line before a fence (use them sparingly):

- ``<!-- skip-test: why -->``: never run (hours of training, the real Hub);
- ``<!-- requires-pretrained: NAME -->``: run only once NAME has pretrained weights, reported as a skip until then;
- ``<!-- requires-model: NAME -->``: run only when generator NAME is registered (e.g. the example plugin).

In a console block, lines after a ``$ imggen ...`` line up to the next ``$`` are output that must appear (as whole
lines, in any order) in what the command prints.
"""

from __future__ import annotations

import json
import os
import re
import select
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pytest
from hubserver import LocalHub, hub_environment

import imggen

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)(?P<rest>.*)$")
MARKER = re.compile(r"^\s*<!--\s*(?P<key>skip-test|requires-pretrained|requires-model)\s*:?\s*(?P<arg>.*?)\s*-->\s*$")


@dataclass
class Block:
    """One fenced code block of a docs page."""

    page: str
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    markers: dict[str, str] = field(default_factory=dict)

    @property
    def where(self) -> str:
        return f"docs/{self.page}:{self.line}"


def parse_blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown page, with the markers on the line before its fence."""
    lines = path.read_text().splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        match = FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        indent, fence = match["indent"], match["fence"]
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not re.match(rf"^{indent}{re.escape(fence)}{fence[0]}*\s*$", lines[j]):
            body.append(lines[j])
            j += 1
        markers = {}
        k = i - 1
        while k >= 0 and (m := MARKER.match(lines[k])):
            markers[m["key"]] = m["arg"]
            k -= 1
        code = textwrap.dedent("\n".join(body)) + "\n"
        blocks.append(Block(path.relative_to(DOCS).as_posix(), i + 1, match["lang"].lower(), code, markers))
        i = j + 1
    return blocks


def is_runnable(block: Block) -> bool:
    """Python blocks and console blocks with ``$ imggen`` lines; snippet includes are files shown, not run."""
    if "--8<--" in block.code or "skip-test" in block.markers:
        return False
    if block.lang in ("python", "py"):
        return True
    return block.lang == "console" and any(line.startswith("$ imggen ") for line in block.code.splitlines())


def unmet_requirement(block: Block) -> str | None:
    """Why a block cannot run in this checkout yet, or ``None``."""
    if (name := block.markers.get("requires-pretrained")) and not imggen.list_models(name, pretrained=True):
        return (f"{block.where} needs pretrained weights for {name!r}, which are not in this checkout yet "
                "(imggen.list_models(pretrained=True) does not list them)")
    if (name := block.markers.get("requires-model")) and name not in imggen.list_models(name):
        return (f"{block.where} needs generator {name!r}, which is not registered here; for the example plugin "
                "run: pip install --no-deps tests/plugins/imggen-example-plugin")
    return None


PAGES = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
BLOCKS = {page: [b for b in parse_blocks(DOCS / page) if is_runnable(b)] for page in PAGES}

# Runs in the child process: executes the blocks given as JSON, stopping at the first failure.
RUNNER = r'''
import contextlib, io, json, shlex, sys
from imggen.cli import main
blocks = json.load(open(sys.argv[1]))
ns = {"__name__": "__docs__"}
for b in blocks:
    where = "docs/%s:%d" % (b["page"], b["line"])
    if b["lang"] in ("python", "py"):
        # padded so tracebacks give the line in the Markdown file
        exec(compile("\n" * b["line"] + b["code"], "docs/" + b["page"], "exec"), ns)
        continue
    lines = b["code"].splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("$ imggen "):
            continue
        expected = []
        for out in lines[i + 1:]:
            if out.startswith("$"):
                break
            if out.strip():
                expected.append(out.strip())
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            try:
                rc = main(shlex.split(line[len("$ imggen "):]))
            except SystemExit as exc:  # --version and --help exit through click
                rc = exc.code or 0
        text = buf.getvalue()
        if rc != 0:
            sys.exit("%s: %r exited %s:\n%s" % (where, line, rc, text))
        got = [x.strip() for x in text.splitlines()]
        missing = [x for x in expected if x not in got]
        if missing:
            sys.exit("%s: %r did not print %r; it printed:\n%s" % (where, line, missing, text))
'''


def child_env(hf_home: Path) -> dict[str, str]:
    """The docs' environment: no Hub traffic (the Hub cache in ``hf_home``), data from the shared folder when the
    user has not set one."""
    hub = hub_environment("http://127.0.0.1:9", hf_home, offline=True)  # offline: the endpoint is never asked
    env = {k: v for k, v in {**os.environ, **hub}.items() if v is not None}
    shared = ROOT.parent / "shared" / "data"
    if "IMGGEN_DATA_DIR" not in env and shared.is_dir():
        env["IMGGEN_DATA_DIR"] = str(shared)
    env.setdefault("MPLBACKEND", "Agg")
    return env


RUNNABLE = [b for page in PAGES for b in BLOCKS[page]]


def hub_only_defaults() -> list[str]:
    """``arch.tag`` of the default weights that blocks ask for (``requires-pretrained``) and the package does not
    bundle: a reader's first ``create_model(..., pretrained=True)`` downloads them from the Hub."""
    names = sorted({b.markers["requires-pretrained"] for b in RUNNABLE if "requires-pretrained" in b.markers})
    defaults = [next((w for w in imggen.model_info(name)["pretrained"] if w["default"]), None) for name in names]
    return [w["name"] for w in defaults if w and not w["bundled"]]


def fill_hub_cache(home: Path, weights: list[str]) -> None:
    """Download ``weights`` into the Hub cache in ``home`` from the stand-in serving their hub-repos/ folders, as a
    reader's cache holds them after the first download, so the blocks that use them run offline."""
    from imggen.registry.pretrained import HUB_ORG, HUB_REVISION

    hub = LocalHub().start()
    try:
        for name in weights:
            hub.publish_folder(f"{HUB_ORG}/{name}", ROOT / "hub-repos" / name, HUB_REVISION)
        env = {k: v for k, v in {**os.environ, **hub_environment(hub.url, home)}.items() if v is not None}
        subprocess.run([sys.executable, "-c", "import sys, imggen\nfor name in sys.argv[1:]: "
                        "imggen.create_model(name, pretrained=True)", *weights], env=env, check=True)
    finally:
        hub.stop()

# A fork server: one interpreter imports what every block needs once (torch, torchvision, timm, imggen and its
# plugins: seconds a block on a 2-core machine), runs no tensor operation, and forks a fresh child for each block.
# A child starts from that state, never from another block's, in its own empty folder; it runs RUNNER there.
SERVER = r'''
import json, os, sys, traceback
import torch, torchvision, timm, imggen, imggen.cli
imggen.list_models()
print("ready", flush=True)
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.chdir(request["cwd"])
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(log, 1)
        os.dup2(log, 2)
        sys.argv = ["runner.py", request["blocks"]]
        try:
            exec(compile(open(request["runner"]).read(), "runner.py", "exec"), {"__name__": "__main__"})
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) or exc.code is None else (print(exc.code) or 1)
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code or 0)
    print(json.dumps({"rc": os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}), flush=True)
'''


@dataclass
class SnippetRun:
    """What one block did: its exit status and everything it printed."""

    returncode: int
    output: str


class ForkServer:
    """The :data:`SERVER` process, started on first use and ended with the test session."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> subprocess.Popen[str]:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen([sys.executable, "-c", SERVER], stdin=subprocess.PIPE,
                                            stdout=subprocess.PIPE, env=self.env, text=True)
            assert self.process.stdout is not None and self.process.stdout.readline().strip() == "ready"
        return self.process

    def run(self, folder: Path, blocks: Path, timeout: float = 600) -> int:
        process = self.start()
        assert process.stdin is not None and process.stdout is not None
        request = {"cwd": str(folder / "work"), "log": str(folder / "output.txt"), "blocks": str(blocks),
                   "runner": str(folder / "runner.py")}
        process.stdin.write(json.dumps(request) + "\n")
        process.stdin.flush()
        if not select.select([process.stdout], [], [], timeout)[0]:
            self.close()
            raise TimeoutError(f"a docs block ran for more than {timeout} s")
        return json.loads(process.stdout.readline())["rc"]

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForkServer]:
    hf_home = tmp_path_factory.mktemp("hf-home")
    if weights := hub_only_defaults():
        fill_hub_cache(hf_home, weights)
    fork_server = ForkServer(child_env(hf_home))
    yield fork_server
    fork_server.close()


def run_alone(block: Block, folder: Path, server: ForkServer) -> SnippetRun:
    """Run one block by itself: a fresh process forked before any block ran, an empty working folder, nothing from
    other blocks."""
    (folder / "work").mkdir()
    (folder / "block.json").write_text(json.dumps([asdict(block)]))
    (folder / "runner.py").write_text(RUNNER)
    returncode = server.run(folder, folder / "block.json")
    return SnippetRun(returncode, (folder / "output.txt").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("block", RUNNABLE, ids=[b.where for b in RUNNABLE])
def test_snippet_runs_alone(block: Block, tmp_path: Path, server: ForkServer) -> None:
    if reason := unmet_requirement(block):
        pytest.skip(reason)
    run = run_alone(block, tmp_path, server)
    assert run.returncode == 0, (f"{block.where} fails when pasted alone into a fresh interpreter (each snippet needs "
                                 f"its own imports, variables and files):\n{run.output}")


@pytest.mark.parametrize(("code", "fails"), [
    ("import numpy as np\nprint(np.zeros(2))\n", False),
    ("print(np.zeros(2))  # np was imported by an earlier block\n", True),
    ("open('samples.png', 'rb')  # written by an earlier block\n", True),
])
def test_a_snippet_that_leans_on_another_fails(code: str, fails: bool, tmp_path: Path, server: ForkServer) -> None:
    """The check can fail: names and files from other blocks are not there."""
    run = run_alone(Block("page.md", 1, "python", code), tmp_path, server)
    assert (run.returncode != 0) == fails, run.output


REQUIRING = [b for page in PAGES for b in BLOCKS[page] if set(b.markers) & {"requires-pretrained", "requires-model"}]


@pytest.mark.parametrize("block", REQUIRING, ids=[b.where for b in REQUIRING])
def test_snippet_requirements_met(block: Block) -> None:
    """One line per block that could not run yet, so a missing weight or plugin shows as a skip with its reason."""
    if reason := unmet_requirement(block):
        pytest.skip(reason)


def test_parser_reads_markers_and_indented_fences(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "DOCS", tmp_path)
    page = tmp_path / "p.md"
    page.write_text(
        "text\n<!-- skip-test: slow -->\n```python\nx = 1\n```\n\n"
        "!!! note\n    ```python\n    y = 2\n    ```\n"
        "<!-- requires-pretrained: cgan-mlp-mnist -->\n```console\n$ imggen list\ngan-mlp-mnist\n```\n"
        '```toml title="x"\n--8<-- "pyproject.toml"\n```\n'
    )
    blocks = parse_blocks(page)
    assert [(b.line, b.lang) for b in blocks] == [(3, "python"), (8, "python"), (12, "console"), (16, "toml")]
    assert blocks[0].markers == {"skip-test": "slow"} and not is_runnable(blocks[0])
    assert blocks[1].code == "y = 2\n" and is_runnable(blocks[1])
    assert blocks[2].markers == {"requires-pretrained": "cgan-mlp-mnist"} and is_runnable(blocks[2])
    assert not is_runnable(blocks[3])
