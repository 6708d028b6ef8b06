"""Building blocks shared by the families: the feature-grid check, normalisation layers and the projection
discriminators' class embeddings (conv GAN, VAE, projected discriminator), and the denoising networks' embeddings,
residual block, attention and DiT block (``models/diffusion.py``). Small modules with every reshape an ``einops``
pattern, so each shape story reads in one line."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as with_spectral_norm

#: the normalisations :func:`norm_layer` builds
NORMS = ("group", "batch", "none")


def feature_grid(image_shape: Sequence[int], halvings: int) -> tuple[int, int]:
    """The (h, w) of the feature map ``halvings`` stride-2 steps below ``image_shape``, with a clear error when the
    image's sides are not divisible by ``2 ** halvings``."""
    if len(image_shape) != 3:
        raise ValueError(f"image_shape is (C, H, W), got {tuple(image_shape)}")
    _, h, w = image_shape
    factor = 2 ** halvings
    if h % factor or w % factor:
        raise ValueError(f"image sides {h}x{w} must be divisible by {factor} for {halvings} stride-2 stage(s); "
                         "change image_shape or the number of widths")
    return h // factor, w // factor


def norm_layer(kind: str, channels: int, groups: int | None = None) -> nn.Module:
    """A normalisation over ``channels`` feature maps: ``"group"`` (GroupNorm with ``groups`` groups; by default 8,
    or fewer when ``channels`` is small), ``"batch"`` (BatchNorm) or ``"none"`` (identity)."""
    if kind not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {kind!r}")
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "none":
        return nn.Identity()
    if groups is None:
        groups = next(g for g in (8, 4, 2, 1) if channels % g == 0)
    return nn.GroupNorm(groups, channels)


def spectral_norm_if(enabled: bool) -> Callable[[nn.Module], nn.Module]:
    """Wraps a layer in spectral normalisation when ``enabled``, else hands it back unchanged."""
    return with_spectral_norm if enabled else (lambda module: module)


def projection_embedding(num_classes: int, dim: int) -> nn.Embedding:
    """Class embeddings for the projection term ``embed(y) . phi`` of a projection discriminator (Miyato & Koyama
    2018), initialised as small as a linear logit's weights."""
    embed = nn.Embedding(num_classes, dim)
    nn.init.normal_(embed.weight, std=dim ** -0.5)
    return embed


def sinusoidal_embedding(t: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Timesteps ``(B,)`` (any real values) to ``(B, dim)`` features: cosines then sines at geometrically spaced
    frequencies from 1 to 1 / ``max_period`` (the Transformer's positional encoding, as DDPM uses it)."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    angles = t.float()[:, None] * freqs[None]
    out = torch.cat([angles.cos(), angles.sin()], dim=1)
    return F.pad(out, (0, dim % 2))


def sincos_2d(dim: int, h: int, w: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine position embeddings ``(h * w, dim)``: half the features encode the row, half the column
    (the ViT/MAE/DiT choice); ``dim`` must be divisible by 4."""
    if dim % 4:
        raise ValueError(f"sincos position embeddings need a width divisible by 4, got {dim}")
    rows, cols = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return torch.cat([sinusoidal_embedding(rows.flatten(), dim // 2), sinusoidal_embedding(cols.flatten(), dim // 2)],
                     dim=1)


class TimestepEmbedding(nn.Module):
    """Timesteps ``(B,)`` to ``(B, dim)``: sinusoidal features through a two-layer MLP."""

    def __init__(self, dim: int, frequencies: int = 256) -> None:
        super().__init__()
        self.frequencies = frequencies
        self.mlp = nn.Sequential(nn.Linear(frequencies, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        return self.mlp(sinusoidal_embedding(t, self.frequencies).to(self.mlp[0].weight.dtype))


class ClassEmbedding(nn.Module):
    """Class labels ``(B,)`` to ``(B, dim)``, with one extra learned "null" class (index ``num_classes``) that stands
    for "no label": training swaps labels for it at random (label dropout), so one network also models the
    unconditional distribution, which classifier-free guidance needs."""

    def __init__(self, num_classes: int, dim: int) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.embed = nn.Embedding(num_classes + 1, dim)

    def null(self, n: int, device: torch.device) -> torch.Tensor:
        """``n`` copies of the null class."""
        return torch.full((n,), self.num_classes, dtype=torch.long, device=device)

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        return self.embed(labels)


class ResBlock(nn.Module):
    """GroupNorm-SiLU-conv twice, with the conditioning vector as a per-channel scale and shift after the second
    norm (FiLM, as in improved DDPM); the last conv starts at zero, so a new block is the identity."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.norm1, self.conv1 = norm_layer("group", c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.film = nn.Sequential(nn.SiLU(), nn.Linear(cond_dim, 2 * c_out))
        self.norm2, self.dropout = norm_layer("group", c_out), nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = rearrange(self.film(cond), "b (two c) -> two b c 1 1", two=2)
        h = self.norm2(h) * (1 + scale) + shift
        return self.skip(x) + self.conv2(self.dropout(F.silu(h)))


class SpatialAttention(nn.Module):
    """Multi-head self-attention over the pixels of a feature map, pre-norm and residual, output projection at
    zero."""

    def __init__(self, channels: int, heads: int = 4) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"attention over {channels} channels needs a head count that divides it, got {heads}")
        self.heads = heads
        self.norm, self.qkv = norm_layer("group", channels), nn.Conv2d(channels, 3 * channels, 1)
        self.out = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, _, h, w = x.shape
        q, k, v = rearrange(self.qkv(self.norm(x)), "b (three n d) x y -> three b n (x y) d", three=3, n=self.heads)
        attended = F.scaled_dot_product_attention(q, k, v)
        return x + self.out(rearrange(attended, "b n (x y) d -> b (n d) x y", x=h, y=w))


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN: tokens ``(B, N, D)`` scaled and shifted per image by ``(B, D)`` vectors."""
    return x * (1 + scale[:, None]) + shift[:, None]


class DiTBlock(nn.Module):
    """A transformer block conditioned by adaLN-Zero (Peebles & Xie 2023): the conditioning vector regresses the
    shift, scale and residual gate of both sub-layers, and that regression starts at zero, so each block starts as
    the identity."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"a width of {dim} needs a head count that divides it, got {heads}")
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, dim))
        self.ada = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))
        nn.init.zeros_(self.ada[1].weight)
        nn.init.zeros_(self.ada[1].bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.ada(cond).chunk(6, dim=1)
        q, k, v = rearrange(self.qkv(modulate(self.norm1(x), shift1, scale1)), "b t (three n d) -> three b n t d",
                            three=3, n=self.heads)
        attended = rearrange(F.scaled_dot_product_attention(q, k, v), "b n t d -> b t (n d)")
        x = x + gate1[:, None] * self.proj(attended)
        return x + gate2[:, None] * self.mlp(modulate(self.norm2(x), shift2, scale2))
