"""Exponential moving average of a generator's weights: what a GAN recipe ships.

One fused ``lerp`` over all parameters and no data-dependent branch, so the update also runs inside a captured
CUDA graph (``torch.optim.swa_utils.AveragedModel`` checks a counter on the host, which a graph cannot).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA(nn.Module):
    """``module`` starts as a copy of ``model``; each :meth:`update` moves it ``1 - decay`` of the way to ``model``."""

    def __init__(self, model: nn.Module, decay: float) -> None:
        super().__init__()
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}; use 0.999 or similar, or turn EMA off")
        self.decay = decay
        self.module = copy.deepcopy(model).requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Average ``model``'s parameters into ``module``; buffers are copied as they are."""
        torch._foreach_lerp_(list(self.module.parameters()), [p.detach() for p in model.parameters()],
                             1.0 - self.decay)
        for mine, theirs in zip(self.module.buffers(), model.buffers(), strict=True):
            mine.copy_(theirs)
