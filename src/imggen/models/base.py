"""The generator contract every imggen generative model follows.

``sample(n, labels=..., seed=...)`` returns ``n`` images in [0, 1] on the model's device; ``forward`` stays the
raw network. GANs map noise to images here; VAEs, autoregressive, diffusion and super-resolution models override
:meth:`Generator.generate` with their own sampling loop and keep the same checks, seeding and output range.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


class Generator(nn.Module):
    """Base class of generative models: argument checks, seeding and [0, 1] output in one place.

    Subclasses set ``num_classes`` (0 for unconditional) and ``image_shape`` (C, H, W), and implement
    :meth:`generate`.
    """

    num_classes: int = 0
    image_shape: tuple[int, int, int]

    @property
    def conditional(self) -> bool:
        """Whether :meth:`sample` takes class labels."""
        return self.num_classes > 0

    @property
    def device(self) -> torch.device:
        """The device of the model's first parameter (CPU for a model without any)."""
        return next(self.parameters(), torch.empty(0)).device

    def check_labels(self, n: int, labels: Sequence[int] | torch.Tensor | None) -> torch.Tensor | None:
        """Validated labels as a long tensor of length ``n`` (a shorter sequence is repeated cyclically)."""
        if not self.conditional:
            if labels is not None:
                raise ValueError(f"{type(self).__name__} is unconditional and takes no labels; drop labels=")
            return None
        if labels is None:
            raise ValueError(
                f"{type(self).__name__} is conditional: pass labels= (integers in 0..{self.num_classes - 1})"
            )
        labels = torch.as_tensor(labels).flatten()
        if labels.numel() == 0:
            raise ValueError("labels is empty; pass at least one class index")
        if labels.dtype.is_floating_point or labels.dtype == torch.bool:
            raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
        bad = labels[(labels < 0) | (labels >= self.num_classes)]
        if bad.numel():
            raise ValueError(
                f"labels out of range: {sorted(set(bad.tolist()))}; this model has classes 0..{self.num_classes - 1}"
            )
        return labels.long().repeat((n + labels.numel() - 1) // labels.numel())[:n]

    @torch.no_grad()
    def sample(
        self, n: int, *, labels: Sequence[int] | torch.Tensor | None = None, seed: int | None = None
    ) -> torch.Tensor:
        """``n`` images, shape ``(n, C, H, W)``, values in [0, 1], on the model's device.

        The same ``seed`` gives the same images on any device (noise is drawn on the CPU).
        """
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive integer number of images, got {n!r}")
        label_tensor = self.check_labels(n, labels)
        rng = torch.Generator().manual_seed(seed) if seed is not None else None
        out = self.generate(n, label_tensor, rng)
        return out.clamp(0, 1)

    def generate(self, n: int, labels: torch.Tensor | None, rng: torch.Generator | None) -> torch.Tensor:
        """Model-specific sampling: ``n`` images in [0, 1]. ``labels`` are checked; draw noise from ``rng``."""
        raise NotImplementedError
