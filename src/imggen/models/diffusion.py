"""Denoising diffusion models (Ho et al. 2020): a class-conditional UNet and a Diffusion Transformer (DiT, Peebles &
Xie 2023), one objective and one sampling path for both.

Training (``training_loss``): images in [0, 1] become x_0 in [-1, 1]; a timestep t is drawn uniformly from the
``num_train_timesteps`` of the :class:`~imggen.models.samplers.NoiseSchedule` (``schedule``: linear or cosine betas)
and noise eps ~ N(0, I); the network sees x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps and predicts eps, under a
mean squared error. With probability ``label_dropout`` a label is replaced by a learned null class, so the same
network models p(x | y) and p(x).

Sampling (``sample``): a registered sampler (``sampler=``: ``"ddpm"``, ``"ddim"``, ``"dpmpp-2m"``, or a plugin's;
``sampler_args=`` its own options such as ``{"eta": 1.0}``) walks ``steps`` timesteps from pure noise; at each the
network's prediction is combined by classifier-free guidance (Ho & Salimans 2022): eps = eps(x, null) + ``guidance``
(eps(x, y) - eps(x, null)). ``guidance=1`` is the plain conditional model (one network pass per step), ``0`` the
unconditional one (labels ignored), above 1 trades diversity for fidelity to the label (two passes per step).

Networks, both sized for 1 x 28 x 28 images with no padding (28 = 4 x 7) and comparable parameter counts:

- :class:`DiffusionUNet`: a stem conv, then per resolution (28, 14, 7 with the default ``widths``) ``blocks``
  residual blocks conditioned on the timestep and class embedding (FiLM), self-attention in the blocks at the lowest
  resolution and in the middle, a mirrored decoder with skip connections, and a zero-initialised output conv.
- :class:`DiT`: 2 x 2 patches (196 tokens for 28 x 28) embedded with an ``einops`` patchify and fixed 2-D sin-cos
  (or learned) positions, ``depth`` transformer blocks with adaLN-Zero on the sum of the timestep and class
  embeddings, and an adaLN-modulated linear head that is unpatchified back to an image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from imggen.models.base import Generator, draw_normal, draw_uniform
from imggen.models.layers import (
    ClassEmbedding,
    DiTBlock,
    ResBlock,
    SpatialAttention,
    TimestepEmbedding,
    feature_grid,
    modulate,
    norm_layer,
    sincos_2d,
)
from imggen.models.samplers import NoiseSchedule
from imggen.registry import create_sampler, generators

POSITIONS = ("sincos", "learned")


class DiffusionModel(Generator):
    """A Generator whose network predicts the noise in x_t: the shared objective, guidance and sampling loop.

    Subclasses call :meth:`_init_diffusion` and implement ``forward(x, t, labels)`` -> predicted noise, where
    ``labels`` may hold the null class ``num_classes``.
    """

    sampling_defaults: Mapping[str, Any] = {"sampler": "dpmpp-2m", "steps": 25, "guidance": 1.5, "sampler_args": {}}

    def _init_diffusion(self, image_shape: Sequence[int], num_classes: int, cond_dim: int, schedule: str,
                        num_train_timesteps: int, label_dropout: float) -> None:
        if not 0.0 <= label_dropout < 1.0:
            raise ValueError(f"label_dropout is a probability in [0, 1), got {label_dropout}")
        if num_classes == 0 and label_dropout:
            label_dropout = 0.0  # nothing to drop: an unconditional model is its own null class
        self.image_shape, self.num_classes, self.label_dropout = tuple(image_shape), num_classes, float(label_dropout)
        self.noise_schedule = NoiseSchedule.create(schedule, num_train_timesteps)
        # not saved with the weights: rebuilt from the constructor arguments
        self.register_buffer("alphas_cumprod", self.noise_schedule.alphas_cumprod, persistent=False)
        self.time_embed = TimestepEmbedding(cond_dim)
        self.class_embed = ClassEmbedding(num_classes, cond_dim) if num_classes else None

    def condition(self, t: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """The conditioning vector ``(B, cond_dim)``: timestep embedding plus class embedding (the null class when
        ``labels`` is ``None``)."""
        cond = self.time_embed(t)
        if self.class_embed is not None:
            labels = self.class_embed.null(len(t), t.device) if labels is None else labels
            cond = cond + self.class_embed(labels)
        return cond

    # -- training -------------------------------------------------------------------------------------
    def training_loss(self, images: torch.Tensor, labels: torch.Tensor | None,
                      rng: torch.Generator | None) -> dict[str, torch.Tensor]:
        """The noise-prediction mean squared error at uniformly drawn timesteps (DDPM's simple loss), labels
        dropped to the null class with probability ``label_dropout``; every draw comes from ``rng``."""
        if self.conditional and labels is None:
            raise ValueError(f"{type(self).__name__} is conditional: training_loss needs the batch's labels")
        x0 = images * 2 - 1
        n, steps = len(x0), len(self.alphas_cumprod)
        t = (draw_uniform((n,), rng, x0.device) * steps).long().clamp(max=steps - 1)
        noise = draw_normal(x0.shape, rng, x0.device)
        abar = self.alphas_cumprod[t].view(n, 1, 1, 1)
        xt = abar.sqrt() * x0 + (1 - abar).sqrt() * noise
        if self.class_embed is not None and self.label_dropout:
            drop = draw_uniform((n,), rng, x0.device) < self.label_dropout
            labels = torch.where(drop, self.class_embed.null(n, x0.device), labels)
        loss = F.mse_loss(self(xt, t, labels if self.conditional else None).float(), noise)
        return {"loss": loss}

    # -- sampling -------------------------------------------------------------------------------------
    def predict_noise(self, x: torch.Tensor, t: int, labels: torch.Tensor | None, guidance: float) -> torch.Tensor:
        """The guided noise prediction at timestep ``t``: eps(x, null) + guidance (eps(x, y) - eps(x, null))."""
        n = len(x)
        tt = torch.full((n,), int(t), device=x.device)
        if labels is None or self.class_embed is None or guidance == 0:
            return self(x, tt, None).float()
        if guidance == 1:
            return self(x, tt, labels).float()
        both = torch.cat([labels, self.class_embed.null(n, x.device)])
        cond, uncond = self(torch.cat([x, x]), torch.cat([tt, tt]), both).float().chunk(2)
        return uncond + guidance * (cond - uncond)

    def network_evaluations(self, steps: int, guidance: float) -> int:
        """Network passes per image for a sampling run (two per step under guidance other than 0 or 1): the cost
        a sampler comparison should hold equal."""
        return steps * (2 if self.conditional and guidance not in (0, 1) else 1)

    def generate(self, n: int, labels: torch.Tensor | None, rng: torch.Generator | None, sampler: str = "dpmpp-2m",
                 steps: int = 25, guidance: float = 1.5, sampler_args: Mapping[str, Any] | None = None
                 ) -> torch.Tensor:
        """``n`` images in [0, 1]: start from N(0, I) drawn from ``rng`` and take ``steps`` steps of ``sampler``."""
        if not isinstance(guidance, (int, float)) or isinstance(guidance, bool) or not guidance >= 0:
            raise ValueError(f"guidance must be a number >= 0 (1: conditional, 0: unconditional), got {guidance!r}")
        if not isinstance(sampler_args, Mapping | None):
            raise ValueError(f"sampler_args must be a dict of the sampler's options, got {sampler_args!r}")
        solver = create_sampler(sampler, schedule=self.noise_schedule, **dict(sampler_args or {}))
        timesteps = solver.timesteps(steps)
        labels = labels.to(self.device) if labels is not None else None
        x = draw_normal((n, *self.image_shape), rng, self.device)
        for t in timesteps:
            x = solver.step(self.predict_noise(x, t, labels, float(guidance)), t, x, rng)
        return (x.float().clamp(-1, 1) + 1) / 2


class DiffusionUNet(DiffusionModel):
    """A UNet noise predictor: residual blocks at each resolution, attention at the lowest, skip connections."""

    def __init__(
        self,
        widths: Sequence[int] = (64, 128, 128),
        blocks: int = 2,
        heads: int = 4,
        dropout: float = 0.1,
        image_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 0,
        schedule: str = "linear",
        num_train_timesteps: int = 1000,
        label_dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if len(widths) < 2 or blocks < 1:
            raise ValueError(f"widths lists the channels at each resolution (at least two) and blocks >= 1; got "
                             f"{tuple(widths)} and {blocks}")
        feature_grid(image_shape, len(widths) - 1)  # the sides must halve cleanly
        cond_dim = 4 * widths[0]
        self._init_diffusion(image_shape, num_classes, cond_dim, schedule, num_train_timesteps, label_dropout)
        channels = self.image_shape[0]
        self.stem = nn.Conv2d(channels, widths[0], 3, padding=1)
        lowest = len(widths) - 1
        self.down, self.up = nn.ModuleList(), nn.ModuleList()
        skips, c = [widths[0]], widths[0]
        for level, width in enumerate(widths):
            for _ in range(blocks):
                self.down.append(self._stage(c, width, cond_dim, dropout, heads, level == lowest))
                c = width
                skips.append(c)
            if level != lowest:
                self.down.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)
        self.mid = nn.ModuleList([ResBlock(c, c, cond_dim, dropout), SpatialAttention(c, heads),
                                  ResBlock(c, c, cond_dim, dropout)])
        for level, width in reversed(list(enumerate(widths))):
            for _ in range(blocks + 1):
                self.up.append(self._stage(c + skips.pop(), width, cond_dim, dropout, heads, level == lowest))
                c = width
            if level:
                self.up.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                             nn.Conv2d(c, c, 3, padding=1)))
        self.head = nn.Sequential(norm_layer("group", c), nn.SiLU(), nn.Conv2d(c, channels, 3, padding=1))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)

    @staticmethod
    def _stage(c_in: int, c_out: int, cond_dim: int, dropout: float, heads: int, attend: bool) -> nn.ModuleList:
        return nn.ModuleList([ResBlock(c_in, c_out, cond_dim, dropout),
                              *([SpatialAttention(c_out, heads)] if attend else [])])

    @staticmethod
    def _run(stage: nn.Module, h: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if not isinstance(stage, nn.ModuleList):  # a down- or upsampling layer
            return stage(h)
        for layer in stage:
            h = layer(h, cond) if isinstance(layer, ResBlock) else layer(h)
        return h

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Noisy images ``(B, C, H, W)`` in about [-1, 1], timesteps ``(B,)`` and labels ``(B,)`` (or ``None``:
        the null class) to the predicted noise ``(B, C, H, W)``."""
        cond = self.condition(t, labels)
        h = self.stem(x)
        skips = [h]
        for stage in self.down:
            h = self._run(stage, h, cond)
            skips.append(h)
        for layer in self.mid:
            h = layer(h, cond) if isinstance(layer, ResBlock) else layer(h)
        for stage in self.up:
            if isinstance(stage, nn.ModuleList):
                h = torch.cat([h, skips.pop()], dim=1)
            h = self._run(stage, h, cond)
        return self.head(h)


class DiT(DiffusionModel):
    """A Diffusion Transformer noise predictor over ``patch_size`` x ``patch_size`` patches, adaLN-Zero blocks."""

    def __init__(
        self,
        dim: int = 256,
        depth: int = 6,
        heads: int = 4,
        patch_size: int = 2,
        mlp_ratio: float = 4.0,
        positions: str = "sincos",
        image_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 0,
        schedule: str = "linear",
        num_train_timesteps: int = 1000,
        label_dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if positions not in POSITIONS:
            raise ValueError(f"positions must be one of {', '.join(POSITIONS)}, got {positions!r}")
        if depth < 1:
            raise ValueError(f"depth counts transformer blocks, at least 1, got {depth}")
        self._init_diffusion(image_shape, num_classes, dim, schedule, num_train_timesteps, label_dropout)
        channels, height, width = self.image_shape
        if height % patch_size or width % patch_size:
            raise ValueError(f"image sides {height}x{width} must be divisible by patch_size={patch_size}")
        self.patch_size, self.grid = patch_size, (height // patch_size, width // patch_size)
        self.patch_embed = nn.Linear(channels * patch_size ** 2, dim)
        tokens = sincos_2d(dim, *self.grid)
        if positions == "learned":
            self.positions = nn.Parameter(tokens.clone())
        else:
            self.register_buffer("positions", tokens, persistent=False)
        self.blocks = nn.ModuleList([DiTBlock(dim, heads, mlp_ratio) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(dim, 2 * dim))
        self.to_patches = nn.Linear(dim, channels * patch_size ** 2)
        for layer in (self.ada[1], self.to_patches):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Noisy images ``(B, C, H, W)``, timesteps ``(B,)`` and labels ``(B,)`` (or ``None``: the null class) to
        the predicted noise ``(B, C, H, W)``."""
        p = self.patch_size
        tokens = self.patch_embed(rearrange(x, "b c (h p1) (w p2) -> b (h w) (p1 p2 c)", p1=p, p2=p))
        tokens = tokens + self.positions.to(tokens.dtype)
        cond = self.condition(t, labels)
        for block in self.blocks:
            tokens = block(tokens, cond)
        shift, scale = self.ada(cond).chunk(2, dim=1)
        patches = self.to_patches(modulate(self.norm(tokens), shift, scale))
        return rearrange(patches, "b (h w) (p1 p2 c) -> b c (h p1) (w p2)", h=self.grid[0], p1=p, p2=p)


CONDITIONAL = {"image_shape": (1, 28, 28), "num_classes": 10}
DATASETS = {"mnist": "MNIST digits", "fashion": "Fashion-MNIST"}

for key, what in DATASETS.items():
    generators.register(f"ddpm-unet-{key}", defaults=CONDITIONAL, description=(
        f"Class-conditional DDPM UNet for {what} (residual blocks, attention at 7x7, label dropout for "
        "classifier-free guidance)"))(DiffusionUNet)
    generators.register(f"dit-s2-{key}", defaults=CONDITIONAL, description=(
        f"Class-conditional Diffusion Transformer for {what} (2x2 patches, adaLN-Zero, label dropout for "
        "classifier-free guidance)"))(DiT)
