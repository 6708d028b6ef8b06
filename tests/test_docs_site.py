"""The docs site renders in a real browser: build it, serve it on 127.0.0.1, open it in headless Chromium.

Chromium is driven through its DevTools protocol (a websocket; ``websocket-client``), which can evaluate JavaScript
in the page: that is how the test knows images really loaded (``naturalWidth > 0``), not only that ``<img>`` tags
exist. Screenshots are saved under ``site/_artifacts/`` as CI artefacts.
"""

from __future__ import annotations

import base64
import functools
import http.server
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "site"
ARTIFACTS = SITE / "_artifacts"
INSTALL_HINT = (
    "headless Chromium is needed for the docs site test: install Debian's package with "
    "`apt-get update && apt-get install -y chromium` (as root, or with CI=true, the test installs it itself; set "
    "IMGGEN_SKIP_BROWSER=1 to skip this test locally)"
)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-dev-shm-usage", "--remote-allow-origins=*", "--window-size=1920,1080"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if path := shutil.which(name):
            return path
    return None


def may_install_chromium() -> bool:
    """Whether the test may install Chromium itself: on CI, or as root, where Debian's apt-get is there."""
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    return (os.environ.get("CI") == "true" or root) and shutil.which("apt-get") is not None


def install_chromium() -> None:
    """``apt-get install chromium`` (after ``apt-get update``), so the README's plain ``pytest`` works on a fresh
    machine; one installer at a time when several test runs start together."""
    sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
    steps = [[*sudo, "apt-get", "update"], [*sudo, "apt-get", "install", "-y", "--no-install-recommends", "chromium"]]
    lock_path = Path(tempfile.gettempdir()) / "imggen-chromium-install.lock"
    with open(lock_path, "w") as lock:
        import fcntl

        fcntl.flock(lock, fcntl.LOCK_EX)
        if chromium_path():
            return
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for step in steps:
            done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=900)
            if done.returncode:
                pytest.fail(f"`{' '.join(step)}` failed ({done.stderr.strip()[-500:]}); {INSTALL_HINT}")


def find_chromium() -> str:
    """The Chromium executable, installed first where :func:`may_install_chromium` allows it."""
    if not chromium_path() and may_install_chromium():
        install_chromium()
    return chromium_path() or pytest.fail(INSTALL_HINT)


def build_site() -> Path:
    """``mkdocs build --strict`` into ``site/``, so the test checks the docs as they are now."""
    try:
        import mkdocs  # noqa: F401
    except ImportError:
        pytest.fail('mkdocs is not installed: pip install -e ".[dev,docs]"')
    run = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(SITE)], cwd=ROOT,
                         capture_output=True, text=True, timeout=600, env=dict(os.environ, NO_MKDOCS_2_WARNING="1"))
    assert run.returncode == 0, f"mkdocs build --strict failed:\n{run.stdout}\n{run.stderr}"
    return SITE


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # keep the test output for failures
        pass


@pytest.fixture(scope="module")
def site_url() -> Iterator[str]:
    """The built site served by the standard library on a free port of 127.0.0.1."""
    site = build_site()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


class Browser:
    """Headless Chromium with one tab, spoken to over the DevTools protocol."""

    def __init__(self, executable: str, profile: Path) -> None:
        import websocket  # websocket-client, from the dev extra

        self.proc = subprocess.Popen(
            [executable, *CHROMIUM_FLAGS, "--remote-debugging-port=0", f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.is_file() and port_file.read_text().strip()):
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.proc.returncode}: {self.proc.stderr.read().decode()}")
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port within 60 s")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as resp:
            tab = next(t for t in json.load(resp) if t["type"] == "page")
        self.ws = websocket.create_connection(tab["webSocketDebuggerUrl"], timeout=60, suppress_origin=True)
        self.ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command and return its result (events arriving meanwhile are ignored)."""
        msg_id = next(self.ids)
        self.ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method} failed: {msg['error']}")
                return msg["result"]

    def js(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"JavaScript failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, timeout: float = 30) -> None:
        """Navigate and wait for the page and all its images to finish loading (or failing)."""
        self.call("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = self.js(
                "document.location.href === " + json.dumps(url) + " && document.readyState === 'complete' && "
                "Array.from(document.images).every(i => { i.loading = 'eager'; return i.complete; })"
            )
            if ready:
                return
            time.sleep(0.2)
        raise AssertionError(f"{url} did not finish loading within {timeout} s")

    def images(self) -> list[dict[str, Any]]:
        """The images in the page's article: address, load state and natural size."""
        return self.js(
            "Array.from(document.querySelectorAll('article img')).map(i => "
            "({src: i.currentSrc || i.src, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}))"
        )

    def screenshot(self, path: Path) -> Path:
        """A full-page PNG (capped at 6000 px tall)."""
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000), "scale": 1}
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        if getattr(self, "ws", None) is not None:
            self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if os.environ.get("IMGGEN_SKIP_BROWSER") == "1":
        pytest.skip("IMGGEN_SKIP_BROWSER=1: the docs site browser test is skipped")
    executable = find_chromium()
    pytest.importorskip("websocket", reason='websocket-client is missing: pip install -e ".[dev,docs]"')
    # chromium's helper processes may still write into the profile while it is removed: ignore that
    with tempfile.TemporaryDirectory(prefix="imggen-chromium-", ignore_cleanup_errors=True) as profile:
        chrome = Browser(executable, Path(profile))
        try:
            yield chrome
        finally:
            chrome.close()


def assert_images_loaded(images: list[dict[str, Any]], page: str) -> None:
    broken = [i["src"] for i in images if not (i["complete"] and i["width"] > 0 and i["height"] > 0)]
    assert not broken, f"images on {page} did not load: {broken}"


@pytest.mark.slow
def test_home_page_renders(browser: Browser, site_url: str) -> None:
    browser.open(f"{site_url}/")
    assert "imggen" in browser.js("document.title")
    assert_images_loaded(browser.images(), "the home page")
    print(f"screenshot: {browser.screenshot(ARTIFACTS / 'home.png')}")


@pytest.mark.slow
def test_api_page_lists_create_model(browser: Browser, site_url: str) -> None:
    browser.open(f"{site_url}/api/imggen/")
    assert browser.js("!!document.getElementById('imggen.create_model')"), "no create_model entry on the API page"
    assert "create_model" in browser.js("document.querySelector('article').innerText")
    print(f"screenshot: {browser.screenshot(ARTIFACTS / 'api.png')}")


@pytest.mark.slow
def test_every_page_loads_its_images(browser: Browser, site_url: str) -> None:
    pages = sorted(p.parent.relative_to(SITE).as_posix() for p in SITE.rglob("index.html")
                   if "_artifacts" not in p.parts)
    assert len(pages) > 10, f"the build has only {len(pages)} pages"
    for page in pages:
        browser.open(f"{site_url}/{'' if page == '.' else page + '/'}")
        assert browser.js("!!document.querySelector('article h1')"), f"{page}: no page title rendered"
        assert_images_loaded(browser.images(), page)


@pytest.mark.slow
def test_zoo_page_shows_its_images(browser: Browser, site_url: str) -> None:
    browser.open(f"{site_url}/zoo/")
    shot = browser.screenshot(ARTIFACTS / "zoo.png")
    print(f"screenshot: {shot}")
    if not (ROOT / "docs" / "zoo.md").is_file():
        pytest.skip(f"docs/zoo.md is not generated yet (`imggen zoo` writes it); the site shows a stand-in: {shot}")
    images = browser.images()
    assert images, "the zoo page has no images; it should show a sample grid per pretrained weight"
    assert_images_loaded(images, "the zoo page")


# What a table that does not fit looks like from inside the page: wider than the window, or wider than its own box
# (mkdocs-material then gives it a horizontal scroll bar). Closed <details> blocks are opened first, so folded
# tables count too.
OVERFLOWING_TABLES = """
(() => {
  document.querySelectorAll('details').forEach(d => d.open = true);
  const width = document.documentElement.clientWidth;
  return Array.from(document.querySelectorAll('article table')).map((t, i) => {
    const box = t.closest('.md-typeset__scrollwrap') || t.parentElement;
    const right = t.getBoundingClientRect().right;
    return {index: i, right: Math.round(right), scroll: t.scrollWidth, box: box.clientWidth,
            head: t.rows[0].innerText.slice(0, 60)};
  }).filter(t => t.right > width || t.scroll > t.box + 1);
})()
"""


@pytest.mark.slow
def test_zoo_tables_fit_a_1280_px_window(browser: Browser, site_url: str) -> None:
    if not (ROOT / "docs" / "zoo.md").is_file():
        pytest.skip("docs/zoo.md is not generated yet (python -m imggen.reports.zoo writes it)")
    browser.call("Emulation.setDeviceMetricsOverride", width=1280, height=900, deviceScaleFactor=1, mobile=False)
    try:
        browser.open(f"{site_url}/zoo/")
        assert browser.js("document.documentElement.clientWidth") <= 1280
        too_wide = browser.js(OVERFLOWING_TABLES)
        print(f"screenshot: {browser.screenshot(ARTIFACTS / 'zoo-1280.png')}")
        assert not too_wide, f"zoo tables wider than a 1280 px window (or than their box): {too_wide}"
        assert browser.js("document.querySelectorAll('article table').length") >= 4  # per dataset: main + folded
    finally:
        browser.call("Emulation.clearDeviceMetricsOverride")
