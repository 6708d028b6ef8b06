"""Multi-process training under ``torchrun``: process-group set-up and the few collective helpers we need."""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def world() -> tuple[int, int]:
    """``(rank, world_size)``; ``(0, 1)`` when not launched by torchrun."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def local_device(device: torch.device) -> torch.device:
    """Under torchrun each process takes its own GPU (``cuda:LOCAL_RANK``); other devices are left as given."""
    if device.type == "cuda" and device.index is None and "LOCAL_RANK" in os.environ:
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    return device


def init_from_env(device: torch.device) -> tuple[int, int]:
    """Join the process group torchrun describes in the environment (gloo on CPU, nccl on CUDA)."""
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) < 2:
        return 0, 1
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return world()


def is_main() -> bool:
    """True on the process that writes files and logs (rank 0)."""
    return world()[0] == 0
