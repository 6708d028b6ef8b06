"""Batch-size sweeps: a fixed list, or ``auto`` (double from 64 until out of memory or no longer faster), within the
run's per-call work cap (``--max-call-s``): a batch whose one call would take longer than the cap even at the
device's measured peak is skipped, and when no size of the sweep fits, the smallest is halved until one does, so a
diffusion model at 250 steps on a CPU costs seconds, not hours."""

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


def fitting_sizes(sizes: list[int] | None, flops_per_image: float, max_call_flops: float | None,
                  at_least_one: bool = True) -> tuple[list[int] | None, list[int], int | None]:
    """The sweep within the cap: ``(sizes to measure, sizes skipped, the largest batch allowed)``. With no cap, or
    no FLOPs counted, everything stays. When no fixed size fits, the smallest is halved until one does; when not even
    one image fits, batch 1 is kept only ``at_least_one`` (``auto`` sizes then give an empty sweep)."""
    if not max_call_flops or flops_per_image <= 0:
        return sizes, [], None
    largest = int(max_call_flops // flops_per_image)
    if largest < 1:
        if not at_least_one:
            return ([] if sizes is not None else None), list(sizes or []), 0
        largest = 1
    if sizes is None:
        return None, [], largest
    keep = [b for b in sizes if b <= largest]
    if not keep:
        batch = min(sizes)
        while batch > largest:
            batch //= 2
        keep = [batch]
    return keep, [b for b in sizes if b not in keep], largest


def run_sweep(sizes: list[int] | None, device: torch.device, measure_at: Callable[[int], list[dict[str, Any]]],
              flops_per_image: float = 0.0, max_call_flops: float | None = None,
              skipped: Callable[[int], list[dict[str, Any]]] | None = None,
              at_least_one: bool = True) -> list[dict[str, Any]]:
    """Rows of ``measure_at(batch)`` over the sweep, within ``max_call_flops`` per call (see :func:`fitting_sizes`;
    ``skipped(batch)`` gives the rows of a size left out). In auto mode the first row of each batch size (the peak
    path) decides: stop after an OOM or error, when doubling stopped paying off, or at the cap."""
    sizes, left_out, cap = fitting_sizes(sizes, flops_per_image, max_call_flops, at_least_one)
    left = [row for batch in left_out for row in (skipped(batch) if skipped else [])]
    if sizes is not None:
        return [row for batch in sizes for row in measure_at(batch)] + left
    rows: list[dict[str, Any]] = []
    best, stale, batch = 0.0, 0, AUTO_START if cap is None else min(AUTO_START, cap)
    while 0 < batch <= min(AUTO_CAP.get(device.type, AUTO_CAP["cpu"]), cap or AUTO_CAP["cuda"]):
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
