"""Batch-size sweeps: a fixed list, or ``auto`` (double from 64 until out of memory or no longer faster)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from benchmarks.results import OK

AUTO_START = 64
AUTO_CAP = {"cpu": 4096, "cuda": 1 << 20}
AUTO_MIN_GAIN = 1.05  # a doubling that gains less than 5% twice in a row ends the sweep


def parse_batch_sizes(text: str) -> list[int] | None:
    """``"64,1024"`` → ``[64, 1024]``; ``"auto"`` → ``None``. Anything else is a ``ValueError`` that says why."""
    if text.strip().lower() == "auto":
        return None
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--batch-sizes {text!r}: expected comma-separated positive integers or 'auto'") from None
    if not sizes or any(s < 1 for s in sizes):
        raise ValueError(f"--batch-sizes {text!r}: expected comma-separated positive integers or 'auto'")
    return sizes


def run_sweep(sizes: list[int] | None, device: torch.device,
              measure_at: Callable[[int], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Rows of ``measure_at(batch)`` over the sweep. In auto mode the first row of each batch size (the peak
    path) decides: stop after an OOM or error, or when doubling stopped paying off."""
    if sizes is not None:
        return [row for batch in sizes for row in measure_at(batch)]
    rows: list[dict[str, Any]] = []
    best, stale, batch = 0.0, 0, AUTO_START
    while batch <= AUTO_CAP.get(device.type, AUTO_CAP["cpu"]):
        got = measure_at(batch)
        rows += got
        if not got or got[0]["status"] != OK:
            break
        speed = got[0]["images_per_s"]
        stale = 0 if speed > best * AUTO_MIN_GAIN else stale + 1
        best = max(best, speed)
        if stale >= 2:
            break
        batch *= 2
    return rows
