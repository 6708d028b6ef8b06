"""Super-resolution families from the seed (section 2.1): SRCNN, ESPCN, and bicubic as the reference row.

- SRCNN (Dong et al. 2014/2016, the 9-5-5 network): the low-resolution luma is upscaled with MATLAB's bicubic, then
  three convolutions (9x9 to 64 channels, 5x5 to 32, 5x5 to 1; ReLU between) restore the detail, all at high
  resolution (~57k multiply-adds per output pixel). A new SRCNN starts as the identity on its bicubic input (one
  channel of each layer passes it through, the rest start small), so training begins at bicubic's quality instead of
  at noise: a saving of compute, not a change of architecture (weights load over it).
- ESPCN (Shi et al. 2016): three convolutions at low resolution (5x5 to 64, 3x3 to 32, 3x3 to ``scale**2``; tanh
  between), then a pixel shuffle rearranges the ``scale**2`` channels into a ``scale``-times larger picture (~22k
  multiply-adds per input pixel: 2.5k per output pixel at x3). A new ESPCN starts as (nearly) bicubic upscaling, the
  same kind of saving as SRCNN's identity start.
- bicubic: MATLAB's bicubic upscaling of the luma, no weights; the row every SR table starts from.

Each works on the BT.601 luma, one registered name per scale (``espcn-x3``), so a weight and its architecture are one
name as everywhere in imggen. See :mod:`imggen.models.upscale` for ``upscale``, tiling and the training loss.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from imggen.data.resize import imresize
from imggen.models.upscale import Upscaler, receptive_context, scale_arg
from imggen.registry import generators
from imggen.registry.pretrained import PretrainedCfg, hub_weights


def conv_stack(out_channels: int, widths: tuple[int, ...], kernels: tuple[int, ...],
               activation: type[nn.Module]) -> nn.Sequential:
    """Same-padded convolutions from one channel through ``widths`` to ``out_channels``, ``activation`` between."""
    if len(kernels) != len(widths) + 1 or any(k % 2 == 0 for k in kernels):
        raise ValueError(f"kernels lists one odd size per convolution ({len(widths) + 1}), got {kernels!r}")
    channels = (1, *widths, out_channels)
    layers: list[nn.Module] = []
    for i, k in enumerate(kernels):
        layers.append(nn.Conv2d(channels[i], channels[i + 1], k, padding=k // 2))
        if i < len(kernels) - 1:
            layers.append(activation())
    return nn.Sequential(*layers)


@torch.no_grad()
def pass_channel_zero(convs: list[nn.Conv2d], first_gain: float = 1.0) -> None:
    """Channel 0 of each convolution copies channel 0 of the one before (the first at ``first_gain``), so the input
    reaches the layer after them unchanged (ReLU passes inputs >= 0; tanh is nearly linear at a small gain)."""
    for i, conv in enumerate(convs):
        k = conv.kernel_size[0] // 2
        conv.weight[0].zero_()
        conv.weight[0, 0, k, k] = first_gain if i == 0 else 1.0
        conv.bias[0] = 0.0


class SRCNN(Upscaler):
    """SRCNN: bicubic upscaling then three same-padded convolutions at high resolution."""

    family = "srcnn"

    def __init__(self, scale: int = 3, widths: tuple[int, ...] = (64, 32), kernels: tuple[int, ...] = (9, 5, 5)
                 ) -> None:
        super().__init__()
        self.scale = scale_arg(scale)
        self.net = conv_stack(1, widths, kernels, nn.ReLU)
        self.context = receptive_context(sum(k // 2 for k in kernels), self.scale, bicubic=True)
        # starts as the identity on its bicubic input: channel 0 passes it through every layer, the other weights
        # into the output are scaled down
        convs = [m for m in self.net if isinstance(m, nn.Conv2d)]
        pass_channel_zero(convs)
        with torch.no_grad():
            convs[-1].weight[:, 1:] *= 0.1

    def forward(self, luma: torch.Tensor) -> torch.Tensor:
        return self.net(imresize(luma, scale=self.scale))


class ESPCN(Upscaler):
    """ESPCN: three convolutions at low resolution, then a pixel shuffle to ``scale`` times the size."""

    family = "espcn"

    def __init__(self, scale: int = 3, widths: tuple[int, ...] = (64, 32), kernels: tuple[int, ...] = (5, 3, 3)
                 ) -> None:
        super().__init__()
        self.scale = scale_arg(scale)
        self.net = conv_stack(self.scale**2, widths, kernels, nn.Tanh)
        self.context = sum(k // 2 for k in kernels)
        self._start_as_bicubic()

    @torch.no_grad()
    def _start_as_bicubic(self) -> None:
        """Channel 0 carries the input through the tanh layers at a small gain (where tanh is linear) and the last
        layer turns it into each sub-pixel phase with MATLAB's bicubic weights (cut to its window, renormalised); the
        other weights into the output are scaled down. The new network's output is nearly bicubic's, so training
        starts there: from random weights ESPCN sat at ~31.3 dB on Set5 x3 for thousands of steps."""
        convs = [m for m in self.net if isinstance(m, nn.Conv2d)]
        gain = BICUBIC_START_GAIN if len(convs) > 1 else 1.0
        pass_channel_zero(convs[:-1], gain)
        last = convs[-1]
        last.weight[:, 1:] *= 0.1
        last.bias.zero_()
        if not last.weight.is_meta:  # a model built on the meta device (to size a folder's weights) holds no values
            last.weight[:, 0] = bicubic_phases(self.scale, last.kernel_size[0]) / gain

    def forward(self, luma: torch.Tensor) -> torch.Tensor:
        return rearrange(self.net(luma), "b (s1 s2) h w -> b 1 (h s1) (w s2)", s1=self.scale, s2=self.scale)


#: the input's scale on ESPCN's identity channel: small enough that tanh passes it nearly linearly
BICUBIC_START_GAIN = 0.05


def bicubic_phases(scale: int, window: int) -> torch.Tensor:
    """``(scale**2, window, window)``: for each sub-pixel phase ``(p, q)`` of a ``scale``-times upscale, MATLAB's
    bicubic weights on the ``window`` x ``window`` low-resolution pixels around it (cut to the window, summing to 1),
    read off the upscale of a single bright pixel."""
    r, c = window // 2, window // 2 + 3  # the bright pixel at c, far enough from the edges that they play no part
    delta = torch.zeros(1, 1, 2 * c + 1, 2 * c + 1, dtype=torch.float64)
    delta[..., c, c] = 1.0
    up = imresize(delta, scale=scale)[0, 0]
    weights = torch.empty(scale, scale, window, window, dtype=torch.float64)
    for di in range(-r, r + 1):
        for dj in range(-r, r + 1):
            # the phases of low-resolution pixel (c - di, c - dj) see the bright pixel at offset (di, dj)
            weights[:, :, di + r, dj + r] = up[(c - di) * scale:(c - di + 1) * scale,
                                               (c - dj) * scale:(c - dj + 1) * scale]
    weights /= weights.sum(dim=(-2, -1), keepdim=True)
    return rearrange(weights, "p q h w -> (p q) h w").float()


class Bicubic(Upscaler):
    """MATLAB's bicubic upscaling of the luma: no weights, the reference row of every SR table."""

    family = "bicubic"

    def __init__(self, scale: int = 3) -> None:
        super().__init__()
        self.scale = scale_arg(scale)
        self.context = 2

    def forward(self, luma: torch.Tensor) -> torch.Tensor:
        return imresize(luma, scale=self.scale)


#: how the first recipes made each family's v1 weights (recipes/<name>.toml in git history, and each weight's metadata)
V1 = {
    "espcn": "imggen recipe: BSD100 luma patches, MATLAB bicubic degradation, flips and quarter turns, MSE, Adam "
             "with cosine decay",
    "srcnn": "imggen recipe: identity start on the bicubic input, BSD100 luma patches, MATLAB bicubic degradation, "
             "flips and quarter turns, MSE, Adam with cosine decay",
}
#: how recipes/espcn-x3-v2.toml and espcn-x4-v2.toml made espcn-x3.v2 and espcn-x4.v2 (Adam 1e-3)
ESPCN_V2 = ("imggen recipe v2: bicubic start, BSD100 luma patches, MATLAB bicubic degradation, flips and quarter "
            "turns, MSE, Adam with cosine decay, batch 16, EMA with a warm-up")
#: how recipes/espcn-x3-v3.toml and espcn-x2-v2.toml made espcn-x3.v3 and espcn-x2.v2: the ESPCN v2 recipe at a
#: third of its learning rate
ESPCN_LOW_LR = ("imggen recipe: bicubic start, BSD100 luma patches, MATLAB bicubic degradation, flips and quarter "
                "turns, MSE, Adam 3e-4 with cosine decay, batch 16, EMA with a warm-up")
#: how recipes/espcn-x3-v4.toml made espcn-x3.v4: the low-rate recipe on 120-pixel patches
ESPCN_LARGE_PATCHES = ("imggen recipe v4: bicubic start, 120-pixel BSD100 luma patches, MATLAB bicubic degradation, "
                       "flips and quarter turns, MSE, Adam 3e-4 with cosine decay, batch 16, EMA with a warm-up")
#: how recipes/srcnn-x3-v2.toml made srcnn-x3.v2
SRCNN_V2 = ("imggen recipe v2: srcnn-x3.v1 trained 12,000 more steps of its recipe (BSD100 luma patches, MATLAB "
            "bicubic degradation, flips and quarter turns, MSE, Adam with cosine decay)")
#: how recipes/srcnn-x3-v3.toml made srcnn-x3.v3
SRCNN_V3 = ("imggen recipe v3: srcnn-x3.v2 trained 10,000 more steps of its recipe at Adam 2e-4 (BSD100 luma "
            "patches, MATLAB bicubic degradation, flips and quarter turns, MSE, cosine decay)")
#: the shipped weights: registered name -> ``(tag, sha256 of its model.safetensors, how it was made)``, the default
#: first. How each was made is in its metadata and, for the default, its recipe (recipes/<name>.toml); the default
#: ESPCN weights are bundled in the package (tens of kB, the default of ``imggen upscale``), the rest come from the
#: Hub.
WEIGHTS: dict[str, list[tuple[str, str, str]]] = {
    "srcnn-x2": [("v1", "27655971ced147c57320ec31b617857a77c2d83373a6ef0c7448a23c84691138", V1["srcnn"])],
    "srcnn-x3": [("v3", "7ca58b50f1cee02e74d7e7c9f61b23ad5903bc9ed5868220c99d98b219b30f87", SRCNN_V3),
                 ("v2", "8f0e93c791f7b19883772d45d64eee18578dd33afbeb30b9e658c9125c04ecc2", SRCNN_V2),
                 ("v1", "2e8ce3fdb9046afb20a62470bdaca897652b64f1a57ea0d2bf37b5834912bf27", V1["srcnn"])],
    "srcnn-x4": [("v1", "7435b01feeb0340c7c46f40250ce3e3ee3a3ed5050977bcfc4bb99d4c9a78bb5", V1["srcnn"])],
    "espcn-x2": [("v2", "66db50e1032257de592dcc265be9c9e0c231cb9e61214986e651b4fe0a529cdf", ESPCN_LOW_LR),
                 ("v1", "d64e278fd44d472e916907083690d3b861d75527ca61cb2295df0945f347ca45", V1["espcn"])],
    "espcn-x3": [("v4", "b3ff64a26b68b34026439dadd411931c8895813fc3fe67f95ebf8e11e2edfac0", ESPCN_LARGE_PATCHES),
                 ("v3", "781ba710cedb01c8e6ccb3357b9200e25d0914e8c91b5eb4a024076d3b190690", ESPCN_LOW_LR),
                 ("v2", "2a870e751983f27758e94229ac0c50511054eedea669fe8ccd3f2e3c761f0c30", ESPCN_V2),
                 ("v1", "4f94696709e0960f6adb11450919ba51a8d592feedad1689201a1b0d6cbaa107", V1["espcn"])],
    "espcn-x4": [("v2", "5402527e8a520d57d79e0a33bbc9a7644762289f20291378f48ee00e36417a7a", ESPCN_V2),
                 ("v1", "c39cdb699ae7909979d9c60e8a0cbca0fdee8c728e24939c828b08f1312cd3e9", V1["espcn"])],
}


def shipped(family: str, scale: int) -> list[PretrainedCfg]:
    """The pretrained weights of ``family`` at ``scale``, the default first (none when none ships)."""
    name = f"{family}-x{scale}"
    return hub_weights(name, WEIGHTS.get(name, []))


for _scale in (2, 3, 4):
    generators.register(f"bicubic-x{_scale}", defaults={"scale": _scale},
                        description=f"MATLAB bicubic x{_scale} upscaling of the luma (reference, no weights)")(Bicubic)
    generators.register(f"srcnn-x{_scale}", defaults={"scale": _scale}, pretrained=shipped("srcnn", _scale),
                        description=f"SRCNN 9-5-5 x{_scale} super-resolution (luma)")(SRCNN)
    generators.register(f"espcn-x{_scale}", defaults={"scale": _scale}, pretrained=shipped("espcn", _scale),
                        description=f"ESPCN x{_scale} super-resolution (luma, pixel shuffle)")(ESPCN)
