"""Roofline: the device's measured peak matmul rate and copy bandwidth, FLOPs counted per image, and how
close a result comes to the limit that binds it.

A generator's throughput is bounded by ``peak_flops / flops_per_image`` (compute) and by
``copy_bandwidth / bytes_written_per_image`` (writing the images); the lower one binds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.measure import synchronize, time_loop


@dataclass(frozen=True)
class DevicePeaks:
    """What the suite measured the device can do, in the benchmark's precision."""

    precision: str
    matmul_flops_per_s: float
    matmul_size: int
    copy_bytes_per_s: float
    copy_buffer_bytes: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _best_seconds(step: Callable[[int], Any], device: torch.device, tries: int) -> float:
    step(0)  # warm-up: kernel selection, page faults
    synchronize(device)
    return min(time_loop(step, 1, device) for _ in range(tries))


def _matmul_seconds(size: int, device: torch.device, dtype: torch.dtype) -> float:
    a = torch.randn(size, size, device=device).to(dtype)
    b = torch.randn(size, size, device=device).to(dtype)
    out = torch.empty(size, size, device=device, dtype=dtype)
    return _best_seconds(lambda i: torch.matmul(a, b, out=out), device, tries=10)


def _copy_seconds(nbytes: int, device: torch.device) -> float:
    src = torch.ones(nbytes, device=device, dtype=torch.uint8)
    dst = torch.empty_like(src)
    return _best_seconds(lambda i: dst.copy_(src), device, tries=10)


def measure_peaks(device: torch.device, dtype: torch.dtype, precision: str, quick: bool = False) -> DevicePeaks:
    """Peak matmul FLOP/s (square matmuls of two sizes, best of several runs) and copy bandwidth (read + write
    bytes per second, best of several copies of a buffer much larger than the caches)."""
    cuda = device.type == "cuda"
    largest = (8192 if cuda else 1024) // (4 if quick else 1)
    rates = {n: 2 * n**3 / _matmul_seconds(n, device, dtype) for n in (largest // 2, largest)}
    size = max(rates, key=rates.__getitem__)  # some kernels peak below the largest size
    nbytes = (1 << 30 if cuda else 64 << 20) // (8 if quick else 1)
    return DevicePeaks(
        precision=precision,
        matmul_flops_per_s=rates[size],
        matmul_size=size,
        copy_bytes_per_s=2 * nbytes / _copy_seconds(nbytes, device),
        copy_buffer_bytes=nbytes,
    )


def best_peaks(a: DevicePeaks, b: DevicePeaks) -> DevicePeaks:
    """The higher of two measurements of each peak (a busy machine only ever lowers them)."""
    return DevicePeaks(a.precision, max(a.matmul_flops_per_s, b.matmul_flops_per_s), a.matmul_size,
                       max(a.copy_bytes_per_s, b.copy_bytes_per_s), a.copy_buffer_bytes)


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs of one call of ``fn``, counted by torch's FLOP counter (matmuls and convolutions, forward and
    backward); elementwise work is not counted."""
    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


def roofline(images_per_s: float, flops_per_image: float, bytes_per_image: float | None,
             peaks: DevicePeaks) -> dict[str, Any]:
    """Limits in images/s from compute and from writing the output, which one binds, and the achieved fraction."""
    limits = {}
    if flops_per_image > 0:
        limits["compute"] = peaks.matmul_flops_per_s / flops_per_image
    if bytes_per_image:
        limits["memory"] = peaks.copy_bytes_per_s / bytes_per_image
    if not limits:
        return {"compute_limit_images_per_s": None, "memory_limit_images_per_s": None, "bound": None,
                "limit_images_per_s": None, "fraction_of_limit": None}
    bound = min(limits, key=limits.__getitem__)
    return {
        "compute_limit_images_per_s": limits.get("compute"),
        "memory_limit_images_per_s": limits.get("memory"),
        "bound": bound,
        "limit_images_per_s": limits[bound],
        "fraction_of_limit": images_per_s / limits[bound],
    }
