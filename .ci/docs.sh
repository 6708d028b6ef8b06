#!/usr/bin/env bash
# Docs section of CI: headless Chromium for tests/test_docs_site.py, the docs tools, and a strict site build.
# Meant to run from the repo root before pytest (the browser test needs chromium; it builds the site again itself).
set -euo pipefail
if ! command -v chromium >/dev/null 2>&1; then
    apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
fi
pip install -e ".[dev,docs]"
NO_MKDOCS_2_WARNING=1 mkdocs build --strict
