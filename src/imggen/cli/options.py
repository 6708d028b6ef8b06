"""Checks shared by the commands that build a model: which weights (timm's rules) and which device.

Why: ``imggen sample`` and ``imggen eval`` must read a name the same way and refuse the same mistakes, each with one
line that says what to type instead.
"""

from __future__ import annotations

import os

import click

from imggen.errors import ImggenError
from imggen.registry import REGISTRIES, list_models, model_info
from imggen.registry.factory import split_name

DEVICE_HELP = "Device: cpu, cuda, cuda:N or mps."


def pretrained_option(command: click.Command) -> click.Command:
    """``--pretrained`` and ``--random-weights``, the two ways to say which weights a registered name gets."""
    command = click.option("--random-weights", is_flag=True,
                           help="Use the untrained network of a bare NAME on purpose (its samples are noise).")(command)
    return click.option("--pretrained", is_flag=True,
                        help="Load the default pretrained weights, or NAME.TAG's.")(command)


def check_weights_choice(name: str, pretrained: bool, random_weights: bool) -> None:
    """timm's rules, said aloud: a bare NAME is untrained unless ``--pretrained``; NAME.TAG needs ``--pretrained``.

    A saved folder or ``hf-hub:`` repo carries its own weights, so neither flag applies to it.
    """
    arch, tag = split_name(name)
    if name.startswith("hf-hub:") or (os.path.isdir(name) and arch not in REGISTRIES["generators"]):
        if pretrained or random_weights:
            flag = "--pretrained" if pretrained else "--random-weights"
            raise ImggenError(f"{name} is a saved model that carries its own weights; drop {flag}")
        return
    if pretrained and random_weights:
        raise ImggenError("--pretrained and --random-weights contradict each other; pass one of them")
    if tag and not pretrained:
        raise ImggenError(f"{name} names pretrained weights (tag {tag!r}) but --pretrained is missing; add "
                          f"--pretrained to load them (as in timm, a tag only picks which weights --pretrained loads)")
    if not pretrained and not random_weights:
        if arch in REGISTRIES["generators"] and model_info(arch).get("parameters") == 0:
            return  # nothing to train, nothing to load (bicubic): the name alone is the model
        untrained = f"{name} without --pretrained is an untrained network and makes noise"
        if list_models(arch, pretrained=True):
            raise ImggenError(f"{untrained}; add --pretrained for its default trained weights (`imggen list {arch} "
                              "--pretrained` lists them), or pass --random-weights to use the untrained network on "
                              "purpose")
        raise ImggenError(f"{untrained}, and {arch} has no pretrained weights yet; pass --random-weights to use the "
                          "untrained network on purpose (`imggen list --pretrained` lists the models with weights)")


def parse_device(text: str):  # -> torch.device (torch is imported here, not at start-up)
    """``--device`` as a ``torch.device`` that exists on this machine, else one line naming what does."""
    import torch

    try:
        device = torch.device(text)
    except (RuntimeError, ValueError):
        raise ImggenError(f"--device {text!r} is not a device; use cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ImggenError(f"--device {text}: CUDA is not available on this machine; use --device cpu")
        if device.index is not None and device.index >= count:
            raise ImggenError(f"--device {text}: this machine has {count} CUDA device(s), cuda:0..cuda:{count - 1}")
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ImggenError(f"--device {text}: Apple's MPS is not available on this machine; use --device cpu")
    elif device.type not in ("cpu", "cuda", "mps"):
        raise ImggenError(f"--device {text}: imggen runs on cpu, cuda or mps; use one of those")
    return device
