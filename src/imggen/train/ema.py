"""Exponential moving average of a generator's weights: what a GAN recipe ships.

One fused ``lerp`` over all parameters and no data-dependent branch, so the update also runs inside a captured
CUDA graph (``torch.optim.swa_utils.AveragedModel`` checks a counter on the host, which a graph cannot).
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import nn

#: updates treated as done when a checkpoint from before the warm-up existed is loaded (its EMA never warmed up)
WARM = 1e9


class EMA(nn.Module):
    """``module`` starts as a copy of ``model``; each :meth:`update` moves it ``1 - decay`` of the way to ``model``.

    With ``warmup``, the decay of update ``n`` is ``min(decay, (1 + n) / (10 + n))`` (as diffusers' ``EMAModel``
    does): the first updates follow the trained weights closely, so a short run's average is not mostly its random
    initial weights (at 0.999 those still make up 13% of the average after 2,000 updates without it). Off by default,
    so the recorded runs of older recipes reproduce.
    """

    def __init__(self, model: nn.Module, decay: float, warmup: bool = False) -> None:
        super().__init__()
        if not 0.0 < decay < 1.0:
            raise ValueError(f"EMA decay must be in (0, 1), got {decay}; use 0.999 or similar, or turn EMA off")
        self.decay, self.warmup = decay, warmup
        self.module = copy.deepcopy(model).requires_grad_(False)
        device = next(self.module.parameters(), torch.empty(0)).device
        self.register_buffer("updates", torch.zeros((), device=device))

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Average ``model``'s parameters into ``module``; buffers are copied as they are."""
        self.updates += 1
        weight: float | torch.Tensor = 1.0 - self.decay
        if self.warmup:  # a device tensor, not a host number, so the update can be captured in a CUDA graph
            weight = 1.0 - torch.clamp((1 + self.updates) / (10 + self.updates), max=self.decay)
        torch._foreach_lerp_(list(self.module.parameters()), [p.detach() for p in model.parameters()], weight)
        for mine, theirs in zip(self.module.buffers(), model.buffers(), strict=True):
            mine.copy_(theirs)

    def load_state_dict(self, state_dict: dict[str, Any], strict: bool = True, assign: bool = False) -> Any:
        """Load a saved average; one saved before updates were counted counts as warmed up."""
        state = {"updates": torch.tensor(WARM), **state_dict}
        return super().load_state_dict(state, strict=strict, assign=assign)
