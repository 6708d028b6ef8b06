"""Timing, peak memory and out-of-memory handling shared by every benchmark.

Timing follows timm's benchmark method: warm up, then time whole loops of iterations with the device
synchronised (CUDA events on GPU, ``perf_counter`` on CPU), and report the median over repeats.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

LOOP_S = 0.25  # with automatic iterations: seconds one timed loop lasts (and warm-up may take) at least
MAX_AUTO_ITERS = 10  # ... and the most iterations per loop it picks
STATUS_PATH = Path("/proc/self/status")
CLEAR_REFS_PATH = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class Timing:
    """Seconds per iteration for each repeat; throughput figures use their median."""

    batch_size: int
    seconds_per_iter: tuple[float, ...]
    iters: int = 0  # iterations per timed loop

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds_per_iter)

    @property
    def images_per_s(self) -> float:
        return self.batch_size / self.median_s

    @property
    def ms_per_batch(self) -> float:
        return 1000 * self.median_s


def synchronize(device: torch.device) -> None:
    """Wait for queued device work (a no-op on CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_loop(step: Callable[[int], Any], iters: int, device: torch.device) -> float:
    """Seconds for ``iters`` calls of ``step(i)``, measured with CUDA events on GPU, ``perf_counter`` on CPU."""
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        synchronize(device)
        start.record()
        for i in range(iters):
            step(i)
        end.record()
        end.synchronize()
        return start.elapsed_time(end) / 1000
    begin = time.perf_counter()
    for i in range(iters):
        step(i)
    return time.perf_counter() - begin


def measure(step: Callable[[int], Any], batch_size: int, *, warmup: int, iters: int | None, repeats: int,
            device: torch.device, loop_s: float = LOOP_S) -> Timing:
    """Warm ``step`` up, then time ``repeats`` loops of ``iters`` iterations each.

    ``iters=None`` sizes the loops from the warm-up instead: as many iterations as fill ``loop_s`` seconds (1 to
    :data:`MAX_AUTO_ITERS`), and the warm-up stops once it has taken ``loop_s`` (after at least one call). A small
    model still gets full loops, a large one at a large batch a few calls instead of dozens: that keeps a CPU run
    of one model within minutes without hand-set iterations per model."""
    calls, spent, last = 0, 0.0, 0.0
    while calls < max(warmup, 1 if iters is None else 0) and not (iters is None and calls and spent >= loop_s):
        last = time_loop(lambda i, c=calls: step(c), 1, device)
        spent, calls = spent + last, calls + 1
    synchronize(device)
    if iters is None:
        iters = max(1, min(MAX_AUTO_ITERS, math.ceil(loop_s / max(last, 1e-9))))
    seconds = []
    for r in range(repeats):
        offset = calls + r * iters  # keep rotating through the pre-made inputs across repeats
        seconds.append(time_loop(lambda i, o=offset: step(o + i), iters, device) / iters)
    return Timing(batch_size, tuple(seconds), iters)


def _trim_heap() -> None:
    """Hand freed heap memory back to the OS (glibc), so RSS growth reflects what the measured code needs."""
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        libc = ctypes.CDLL(libc_name)
        if hasattr(libc, "malloc_trim"):
            libc.malloc_trim(0)


def _status_kib(field: str) -> int | None:
    if not STATUS_PATH.is_file():
        return None
    for line in STATUS_PATH.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return None


class PeakMemory:
    """Peak memory of the code inside ``with``: CUDA ``max_memory_allocated``, or on CPU the growth of the
    process's peak resident set (``VmHWM`` after resetting it) over the resident set at entry, freed heap
    returned to the OS first (glibc ``malloc_trim``) so the growth reflects what the measured loop needs.

    ``bytes`` is ``None`` where it cannot be measured honestly (no ``/proc``, or the reset is not allowed).
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.bytes: int | None = None
        self.kind = "cuda max_memory_allocated" if device.type == "cuda" else "cpu peak RSS growth"
        self._base: int | None = None

    def __enter__(self) -> PeakMemory:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return self
        _trim_heap()
        try:
            CLEAR_REFS_PATH.write_text("5")  # resets VmHWM to the current RSS (Linux)
            self._base = _status_kib("VmRSS")
        except OSError:
            self._base = None
        return self

    def __exit__(self, *exc: object) -> None:
        if self.device.type == "cuda":
            self.bytes = torch.cuda.max_memory_allocated(self.device)
            return
        peak = _status_kib("VmHWM")
        if self._base is not None and peak is not None:
            self.bytes = max(0, peak - self._base) * 1024


def is_oom(exc: BaseException) -> bool:
    """Whether ``exc`` is the device (or host) running out of memory."""
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, (RuntimeError, MemoryError)) and (
        "out of memory" in text or "can't allocate memory" in text or isinstance(exc, MemoryError)
    )


def free_memory(device: torch.device) -> None:
    """Drop garbage and cached device blocks, so the next measurement starts clean."""
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
