"""Projected discriminators (Sauer et al. 2021) on any timm model that supports ``features_only``.

The discriminator looks at images through a frozen pretrained network: ``timm.create_model(backbone,
features_only=True, ...)`` gives feature maps at several scales; fixed random 1x1 convolutions mix their channels
(cross-channel mixing, CCM) and, from the deepest scale up, fold each coarser map into the next finer one (cross-scale
mixing, CSM); small trainable heads turn every mixed map into a map of real/fake logits. Only the heads learn. The
backbone and the mixing stay as built (eval mode, no weight gradients), but gradients flow through them to the input
images, so the generator learns from them. Why: a discriminator in a pretrained feature space reaches a given FD in a
fraction of the images an ordinary one needs (the paper reports up to 40x on large images).

Images come in ``input_range`` (the generator's Tanh range by default), are mapped to [0, 1], resized to the
backbone's input size (``resolution``; default: the size timm's ``resolve_data_config`` gives for the backbone's
weights) and normalised with its mean and std; 1-channel images use a backbone built with ``in_chans=1`` (timm sums
the first convolution's pretrained weights over colour, which is the same as showing it the grey image in colour).

Where the backbone's weights come from (``backbone_weights``; ``pretrained=`` of ``create_discriminator`` stays the
discriminator's own weights, as for every registered name):

- ``False``: random weights (tests, or a random-projection baseline);
- ``True``: timm's own Hub weights for ``backbone`` (needs network access);
- ``"imggen:NAME[.TAG]"``: a backbone trained by this project (a registered feature extractor such as
  ``mnist-timm-convnext``, trained by ``recipes/backbones/``), or a path to such a weights folder (that recipe's
  run's ``weights/``): the verified tensors are handed to timm as a state-dict file through
  ``pretrained_cfg_overlay=dict(file=...)`` with the input size, mean and std they were trained with;
- a path to a ``.safetensors`` / ``.pth`` file holding a plain timm state dict for ``backbone``.

The backbone must not be a network that scores the results (mnist-cnn, fashion-cnn, the ``*-timm-resnet`` spaces): a
discriminator trained in the evaluation network's feature space lowers that space's FD without better images.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

from imggen import hub
from imggen.errors import WeightsError
from imggen.models.layers import norm_layer, projection_embedding, spectral_norm_if
from imggen.registry import REGISTRIES, discriminators
from imggen.registry.factory import location, split_name

IMGGEN_PREFIX = "imggen:"
#: the prefix of the timm network's tensors in a backbone trained by imggen (``TimmClassifier.net``)
NET_PREFIX = "net."


def _grey(values: Sequence[float], channels: int) -> tuple[float, ...]:
    """Per-channel ``values`` (a mean or std) for ``channels`` input channels: averaged over colour for grey."""
    values = tuple(float(v) for v in values)
    if len(values) == channels:
        return values
    return (sum(values) / len(values),) * channels


def _imggen_backbone(source: str) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The timm state dict and data config (arch, input size, mean, std, classes, timm arguments) of a backbone trained
    by imggen: ``imggen:NAME[.TAG]`` (a registered feature extractor's weights) or a saved weights folder."""
    if source.startswith(IMGGEN_PREFIX):
        arch, tag = split_name(source[len(IMGGEN_PREFIX):])
        entry = REGISTRIES["feature_extractors"].get(arch)
        if not entry.pretrained_cfgs:
            raise WeightsError(f"{arch!r} has no published weights yet: train it (recipes/backbones/{arch}.toml) and "
                               "pass its run's weights folder as backbone_weights=, or pass backbone_weights=False")
        weights = hub.open_weights(location(entry.pretrained_cfg(tag)))
        args = entry.resolve_args({})
    else:
        weights = hub.open_weights(hub.local_location(source), need_config=True)
        config = weights.config or {}
        entry = REGISTRIES["feature_extractors"].get(config.get("architecture", "?"))
        args = entry.resolve_args(config.get("args", {}))
    if "arch" not in args:
        raise WeightsError(f"{source!r} is not a timm backbone trained by imggen (its config names no timm arch)")
    state = {k[len(NET_PREFIX):]: v for k, v in weights.state.items() if k.startswith(NET_PREFIX)}
    return state, args


def create_backbone(backbone: str, weights: bool | str, in_chans: int,
                    timm_args: dict[str, Any] | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """``timm.create_model(backbone, features_only=True, ...)`` with its weights from ``weights`` (see the module
    docstring), and its data config (``input_size``, ``mean``, ``std``) from ``timm.data.resolve_data_config``."""
    import timm  # imported here: timm takes a second to import and only these discriminators need it

    kwargs: dict[str, Any] = dict(timm_args or {})
    with tempfile.TemporaryDirectory(prefix="imggen-backbone-") as tmp:
        if isinstance(weights, (str, os.PathLike)):
            source = os.fspath(weights)
            if source.startswith(IMGGEN_PREFIX) or os.path.isdir(source):
                state, args = _imggen_backbone(source)
                if args["arch"] != backbone:
                    raise ValueError(f"backbone_weights={source!r} holds a {args['arch']!r} backbone, not "
                                     f"{backbone!r}; pass backbone={args['arch']!r}")
                kwargs = {**dict(args.get("timm_args") or {}), **kwargs}
                file = Path(tmp) / "backbone.safetensors"
                save_file({k: v.contiguous() for k, v in state.items()}, str(file))
                c = int(args["image_shape"][0])
                size = int(args["input_size"])
                overlay = {"file": str(file), "num_classes": int(args["num_classes"]), "input_size": (c, size, size),
                           "mean": (float(args["mean"]),) * c, "std": (float(args["std"]),) * c}
            elif os.path.isfile(source):
                overlay = {"file": source}
            else:
                raise FileNotFoundError(f"backbone_weights={source!r} is neither imggen:NAME, a weights folder nor a "
                                        "file")
            kwargs["pretrained_cfg_overlay"] = overlay
            weights = True
        net = timm.create_model(backbone, features_only=True, pretrained=bool(weights), in_chans=in_chans, **kwargs)
    config = timm.data.resolve_data_config({}, model=net)
    return net, config


class FixedMixing(nn.Module):
    """Cross-channel mixing (a 1x1 convolution per scale to ``channels[i]``) and cross-scale mixing (each coarser
    mixed map, upsampled and projected by a 1x1 convolution, added to the next finer one), all random and fixed.

    The weights are drawn from a generator seeded with ``seed``, so one seed gives the same projection every time.
    """

    def __init__(self, in_channels: Sequence[int], channels: Sequence[int], seed: int = 0) -> None:
        super().__init__()
        rng = torch.Generator().manual_seed(seed)
        self.ccm = nn.ModuleList(nn.Conv2d(c_in, c, 1) for c_in, c in zip(in_channels, channels, strict=True))
        self.csm = nn.ModuleList(nn.Conv2d(c_coarse, c, 1) for c_coarse, c in zip(channels[1:], channels[:-1],
                                                                                  strict=True))
        with torch.no_grad():
            for conv in [*self.ccm, *self.csm]:
                bound = 1 / math.sqrt(conv.in_channels)  # PyTorch's default conv init, drawn from the seeded generator
                conv.weight.uniform_(-bound, bound, generator=rng)
                conv.bias.uniform_(-bound, bound, generator=rng)

    def forward(self, features: Sequence[torch.Tensor]) -> list[torch.Tensor]:
        mixed = [conv(f) for conv, f in zip(self.ccm, features, strict=True)]
        for i in range(len(mixed) - 2, -1, -1):  # from the coarsest scale to the finest
            coarse = F.interpolate(mixed[i + 1], size=mixed[i].shape[-2:], mode="bilinear", align_corners=False)
            mixed[i] = mixed[i] + self.csm[i](coarse)
        return mixed


def head_norm(norm: str, channels: int) -> nn.Module:
    """The normalisation after each head convolution (:func:`~imggen.models.layers.norm_layer`; GroupNorm with two
    channels a group, per image). The heads' convolutions carry spectral norm, which caps how far their outputs can
    grow; a normalisation after each gives the scale back."""
    return norm_layer(norm, channels, groups=max(1, channels // 2))


class ScaleHead(nn.Module):
    """The trainable part at one scale: strided 4x4 convolutions (each followed by ``norm``) down to at most 4x4, then
    one logit per position; when conditional, plus the projection term ``embed(y) . phi`` at every position (Miyato &
    Koyama 2018)."""

    def __init__(self, channels: int, size: int, num_classes: int, width: int, spectral_norm: bool,
                 norm: str = "group") -> None:
        super().__init__()
        sn = spectral_norm_if(spectral_norm)
        layers: list[nn.Module] = []
        c = channels
        while size > 4:
            layers += [sn(nn.Conv2d(c, width, 4, stride=2, padding=1)), head_norm(norm, width), nn.LeakyReLU(0.2)]
            c, size = width, (size + 1) // 2
        if not layers:
            layers += [sn(nn.Conv2d(c, width, 1)), head_norm(norm, width), nn.LeakyReLU(0.2)]
        self.body = nn.Sequential(*layers)
        self.logit = sn(nn.Conv2d(width, 1, 1))
        self.embed = sn(projection_embedding(num_classes, width)) if num_classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        phi = self.body(x)
        out = self.logit(phi).flatten(1)
        if self.embed is not None:
            out = out + torch.einsum("bchw,bc->bhw", phi, self.embed(labels)).flatten(1)
        return out


class ProjectedDiscriminator(nn.Module):
    """Images (and optionally classes) to patch logits ``(B, K)``, over several feature maps of a frozen timm
    ``backbone`` (see the module docstring); K sums the logit positions of every scale.

    ``backbone_weights``: where the backbone's weights come from; ``resolution``: the side the images are resized to
    (default the backbone's data config input size); ``channels``: the mixed channels per scale, finest first (one
    entry per scale: the last ``len(channels)`` of the backbone's feature levels); ``head_width``: the trainable
    heads' channels; ``spectral_norm`` and ``norm``: on the heads' convolutions and after each (see
    :func:`head_norm`; ``"group"`` by default, not the paper's BatchNorm, because the adversarial task scores real and
    generated images in one batch and the generator step scores generated ones alone, so batch statistics would
    differ between the two); ``timm_args``: more ``timm.create_model`` arguments; ``mixing_seed``: the seed of the fixed
    random mixing. A saved projected discriminator holds the backbone's tensors too, but rebuilding it reads
    ``backbone_weights`` again for the backbone's input size and statistics, so that source must still exist.
    """

    def __init__(
        self,
        backbone: str = "convnext_atto",
        backbone_weights: bool | str = False,
        image_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 0,
        resolution: int | None = None,
        channels: Sequence[int] = (32, 64, 128, 256),
        head_width: int = 64,
        spectral_norm: bool = True,
        norm: str = "group",
        input_range: Sequence[float] = (-1.0, 1.0),
        mixing_seed: int = 0,
        timm_args: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.image_shape, self.num_classes = tuple(image_shape), num_classes
        self.low, self.high = (float(v) for v in input_range)
        net, config = create_backbone(backbone, backbone_weights, self.image_shape[0], timm_args)
        info = net.feature_info
        levels = len(info.channels())
        if not 1 <= len(channels) <= levels:
            raise ValueError(f"{backbone} has {levels} feature levels: channels names one width per scale used, 1 to "
                             f"{levels} of them; got {list(channels)}")
        self.levels = list(range(levels - len(channels), levels))
        self.resolution = int(resolution or config["input_size"][-1])
        sizes = [-(-self.resolution // info.reduction()[i]) for i in self.levels]
        self.projection = nn.ModuleDict({
            "backbone": net,
            "mixing": FixedMixing([info.channels()[i] for i in self.levels], channels, mixing_seed),
        })
        self.projection.requires_grad_(False)
        c = self.image_shape[0]
        self.register_buffer("mean", torch.tensor(_grey(config["mean"], c)).view(1, c, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_grey(config["std"], c)).view(1, c, 1, 1), persistent=False)
        self.heads = nn.ModuleList(ScaleHead(ch, size, num_classes, head_width, spectral_norm, norm)
                                   for ch, size in zip(channels, sizes, strict=True))
        self.train()

    def train(self, mode: bool = True) -> ProjectedDiscriminator:
        """Train mode for the heads only: the backbone keeps its eval-mode behaviour (frozen batch statistics)."""
        super().train(mode)
        self.projection.eval()
        return self

    def requires_grad_(self, requires_grad: bool = True) -> ProjectedDiscriminator:
        """Switch the heads' weight gradients; the backbone and the fixed mixing never get any."""
        self.heads.requires_grad_(requires_grad)
        return self

    def project(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The mixed multi-scale features of images ``x`` (in ``input_range``), finest first."""
        x = (x - self.low) / (self.high - self.low)
        if x.shape[-1] != self.resolution or x.shape[-2] != self.resolution:
            x = F.interpolate(x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False)
        x = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        features = self.projection["backbone"](x)
        return self.projection["mixing"]([features[i] for i in self.levels])

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Images ``(B, C, H, W)`` in ``input_range`` → patch logits ``(B, K)``."""
        if self.num_classes and labels is None:
            raise ValueError(f"this discriminator is conditional on {self.num_classes} classes: pass labels")
        labels = labels if self.num_classes else None
        return torch.cat([head(f, labels) for head, f in zip(self.heads, self.project(x), strict=True)], dim=1)


discriminators.register("projected", description="Projected GAN discriminator: trainable heads on the multi-scale "
                        "features of a frozen timm backbone (fixed random channel and scale mixing)")(
    ProjectedDiscriminator)
