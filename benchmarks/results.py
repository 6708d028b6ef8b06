"""One result row per (model, benchmark, batch size): the numbers, or why there are none (OOM, error)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch

from benchmarks.measure import PeakMemory, Timing, free_memory, is_oom
from benchmarks.roofline import DevicePeaks, roofline

OK, OOM, ERROR, SKIPPED = "ok", "OOM", "error", "skipped"


def ok_row(model: str, bench: str, variant: str, timing: Timing, memory: PeakMemory, params: int,
           flops_per_image: float, bytes_per_image: float | None, unit: str = "img/s", units_per_image: float = 1.0,
           **extra: Any) -> dict[str, Any]:
    """A measured result (its roofline figures are added by :func:`add_roofline` once the peaks are known).

    ``throughput`` is the rate in the ``unit`` that fits the model (img/s for generators; an upscaler says
    ``unit="MP/s"`` and the megapixels of one output image as ``units_per_image``); ``images_per_s`` is always
    there, and the roofline is per image. ``extra`` fields (such as ``steps``) are kept as they are."""
    return {
        "model": model, "bench": bench, "variant": variant, "batch_size": timing.batch_size, "status": OK,
        "images_per_s": timing.images_per_s, "unit": unit, "throughput": timing.images_per_s * units_per_image,
        "ms_per_batch": timing.ms_per_batch, "iters_per_loop": timing.iters,
        "repeat_images_per_s": [timing.batch_size / s for s in timing.seconds_per_iter],
        "peak_memory_bytes": memory.bytes, "memory_kind": memory.kind, "params": params,
        "flops_per_image": flops_per_image, "bytes_written_per_image": bytes_per_image, **extra,
    }


def add_roofline(rows: list[dict[str, Any]], peaks: DevicePeaks) -> None:
    """Fill in each measured row's limits, binding limit and achieved fraction for the device ``peaks``."""
    for row in rows:
        if row["status"] == OK:
            row.update(roofline(row["images_per_s"], row["flops_per_image"], row["bytes_written_per_image"], peaks))


def failed_row(model: str, bench: str, variant: str, batch_size: int, status: str, message: str) -> dict[str, Any]:
    """A result that could not be measured: ``status`` is OOM or error, ``message`` says why."""
    return {"model": model, "bench": bench, "variant": variant, "batch_size": batch_size, "status": status,
            "message": message, "images_per_s": None, "ms_per_batch": None}


def skipped_row(model: str, bench: str, variant: str, batch_size: int, flops: float, max_call_flops: float,
                **extra: Any) -> dict[str, Any]:
    """A batch size left out because one call is over the run's cap (not a failure: ``--max-call-s 0`` runs it)."""
    message = (f"one call is {flops / 1e9:,.3g} GFLOP, over this run's cap of {max_call_flops / 1e9:,.3g} GFLOP "
               "(--max-call-s at the measured matmul peak; --max-call-s 0 measures it)")
    return {**failed_row(model, bench, variant, batch_size, SKIPPED, message), **extra}


def guarded(model: str, bench: str, variant: str, batch_size: int, device: torch.device,
            run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``run()``'s row, or an OOM / error row when it raises, so one bad batch size never ends the sweep."""
    try:
        return run()
    except Exception as exc:  # noqa: BLE001 - any failure becomes a reported row, as in timm's sweep
        status = OOM if is_oom(exc) else ERROR
        first_line = (str(exc).strip().splitlines() or [""])[0][:300]
        return failed_row(model, bench, variant, batch_size, status, f"{type(exc).__name__}: {first_line}")
    finally:
        free_memory(device)


def best_images_per_s(rows: list[dict[str, Any]]) -> float:
    """The highest throughput among measured rows (0 when none was measured)."""
    return max((r["images_per_s"] for r in rows if r["status"] == OK), default=0.0)


def throughput(row: dict[str, Any]) -> tuple[float | None, str]:
    """A row's rate and its unit (rows written before units existed are img/s)."""
    return row.get("throughput", row.get("images_per_s")), row.get("unit", "img/s")


def finite(x: float | None) -> bool:
    """Whether ``x`` is a real number (not None, inf or NaN)."""
    return x is not None and math.isfinite(x)
