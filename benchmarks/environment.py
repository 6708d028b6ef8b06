"""Where a benchmark runs: device checks, precision settings, and the exact hardware and software recorded."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path
from typing import Any

import torch

import imggen

PRECISIONS: dict[str, torch.dtype] = {
    "fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16,
}


class SetupError(Exception):
    """Options that cannot work on this machine; reported before any model is measured."""


def resolve_device(name: str) -> torch.device:
    """``name`` as a device, or a :class:`SetupError` when CUDA is asked for and there is none."""
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        built = f"built with CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise SetupError(
            f"--device {name} requested, but no CUDA device is visible (torch {torch.__version__}, {built}, "
            "torch.cuda.is_available() is False); run with --device cpu, or on a machine with a GPU and driver"
        )
    if device.type not in ("cpu", "cuda"):
        raise SetupError(f"--device {name}: only cpu and cuda are supported")
    return device


def configure_precision(precision: str, device: torch.device) -> torch.dtype:
    """Set the float32 matmul mode for ``precision`` and return the dtype models and inputs are cast to."""
    if precision not in PRECISIONS:
        raise SetupError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    tf32 = precision == "tf32" and device.type == "cuda"
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    torch.backends.cudnn.allow_tf32 = tf32
    return PRECISIONS[precision]


def cpu_name() -> str:
    """The CPU model as the kernel reports it (``/proc/cpuinfo``), else what ``platform`` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine() or "unknown CPU"


def device_name(device: torch.device) -> str:
    """The exact name of the measured device."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_name()


def describe_environment(device: torch.device) -> dict[str, Any]:
    """Everything needed to tell two results apart: device, software versions, threads and the date."""
    env: dict[str, Any] = {
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "device": device.type,
        "device_name": device_name(device),
        "cpu": cpu_name(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "torch": torch.__version__,
        "torch_cuda_build": torch.version.cuda,
        "imggen": imggen.__version__,
        "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        env.update(
            cuda_capability=f"{props.major}.{props.minor}",
            cuda_memory_bytes=props.total_memory,
            cudnn=torch.backends.cudnn.version(),
        )
    return env
