"""Golden samples: a digest of a few seeded samples, stored in a weight's metadata, that ``imggen verify`` re-creates.

Why: a weight can load without error and still be wrong (a key mapped to the wrong layer, a dtype or kernel change
in a new torch, a device that computes differently). Re-making the same seeded samples and comparing them with what
the weight made when it was published catches that.

The record holds the exact sha256 of the float32 samples (equal on the machine and torch that made it) and the
samples average-pooled to 4x4 per channel (compared within :data:`TOLERANCE` elsewhere: other devices, BLAS
libraries and torch versions round differently, by about 1e-6 per pixel on the CPU and 1e-4 with TF32 on GPUs;
a mis-load moves pooled values by 0.05 or more).
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch
import torch.nn.functional as F

#: images per golden record, their seed, and the largest pooled difference still called a match
COUNT, SEED, TOLERANCE = 8, 0, 2e-3


def golden_labels(num_classes: int) -> list[int] | None:
    """The labels golden samples use: 0, 1, 2, ... for a conditional model, none otherwise."""
    return [i % num_classes for i in range(COUNT)] if num_classes else None


def _pooled(images: torch.Tensor) -> torch.Tensor:
    return F.adaptive_avg_pool2d(images.detach().float().cpu(), 4)


def golden_record(images: torch.Tensor, labels: list[int] | None) -> dict[str, Any]:
    """The record to store in a weight's ``meta["golden"]`` for ``images`` made with :data:`SEED`."""
    exact = images.detach().float().cpu().contiguous()
    return {"n": int(images.shape[0]), "seed": SEED, "labels": labels, "tolerance": TOLERANCE,
            "sha256": hashlib.sha256(exact.numpy().tobytes()).hexdigest(),
            "pooled": [round(v, 6) for v in _pooled(images).flatten().tolist()]}


def compare_golden(images: torch.Tensor, record: dict[str, Any]) -> dict[str, Any]:
    """How ``images`` (re-made as ``record`` says) compare: ``identical``, ``within tolerance`` or ``different``."""
    exact = images.detach().float().cpu().contiguous()
    if hashlib.sha256(exact.numpy().tobytes()).hexdigest() == record["sha256"]:
        return {"status": "identical", "max_diff": 0.0, "tolerance": record["tolerance"]}
    expected = torch.tensor(record["pooled"])
    got = _pooled(images).flatten()
    max_diff = float((got - expected).abs().max()) if got.shape == expected.shape else float("inf")
    status = "within tolerance" if max_diff <= record["tolerance"] else "different"
    return {"status": status, "max_diff": max_diff, "tolerance": record["tolerance"]}
