"""Where a benchmark runs: device checks, the precision (``auto`` resolved for the device), and the exact hardware
(CPU model and instruction-set features) and software recorded."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path
from typing import Any

import torch

import imggen
from imggen.train.precision import cpu_runs_bf16_natively, resolve_precision

PRECISIONS: dict[str, torch.dtype] = {
    "fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16,
}
PRECISION_CHOICES = ("auto", *PRECISIONS)
CPUINFO = Path("/proc/cpuinfo")
#: instruction-set features worth recording, as /proc/cpuinfo spells them: vector width, fused multiply-add, and the
#: low-precision matrix instructions that decide whether bf16 / int8 run natively (x86, then aarch64)
ISA_FEATURES = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
    "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8", "amx_fp16",
    "asimd", "asimdhp", "fphp", "sve", "sve2", "bf16", "i8mm", "sme",
)


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


def choose_precision(precision: str, device: torch.device) -> str:
    """The precision a run measures in: ``auto`` resolved for ``device`` as imggen's trainer resolves it (bf16 only
    where it runs natively: CUDA with bf16, CPUs with AVX512-BF16 or AMX; fp32 elsewhere), explicit choices as they
    are (bf16 on a CPU that emulates it warns once). ``tf32`` is a CUDA matmul mode of fp32, kept as asked."""
    if precision not in PRECISION_CHOICES:
        raise SetupError(f"unknown precision {precision!r}; use one of {', '.join(PRECISION_CHOICES)}")
    return precision if precision == "tf32" else resolve_precision(precision, device)


def precision_reason(chosen: str, device: torch.device) -> str:
    """Why ``auto`` chose ``chosen`` on ``device``, in a few words for the report."""
    if device.type == "cuda":
        return "the GPU supports bf16" if chosen == "bf16" else "the GPU has no bf16 support"
    if chosen == "bf16":
        return "the CPU has native bf16 (avx512_bf16 or amx_bf16)"
    return "the CPU has no native bf16 (no avx512_bf16 or amx_bf16): bf16 would be emulated, slower than fp32"


def configure_precision(precision: str, device: torch.device) -> torch.dtype:
    """Set the float32 matmul mode for a chosen (not ``auto``) ``precision`` and return the dtype models and inputs
    are cast to."""
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


def cpu_flags(cpuinfo: str | None = None) -> set[str] | None:
    """The CPU's feature flags (x86 ``flags``, aarch64 ``Features``) from ``/proc/cpuinfo`` text (read when not
    given), or ``None`` where the kernel does not say (not Linux)."""
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO.read_text(errors="replace")
        except OSError:
            return None
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            return set(value.split())
    return None


def cpu_isa(flags: set[str] | None) -> list[str] | None:
    """The :data:`ISA_FEATURES` among ``flags``, in that order (``None`` when the flags are unknown)."""
    return None if flags is None else [f for f in ISA_FEATURES if f in flags]


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
        "cpu_isa": cpu_isa(cpu_flags()),
        "cpu_native_bf16": cpu_runs_bf16_natively(),
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
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
