"""ESPCN x3 training variants on one CPU thread, scored on Set5 every 1,000 steps (the lab behind its recipe).

A plain loop over the product's pieces (the model, the BSD100 patches, the MATLAB bicubic degradation, the dihedral
augmentation, the SR metrics), so that one change at a time can be tried quickly:

    python research/espcn_x3_variants.py --start random --steps 6000 --batch 64                 # the v1 setting
    python research/espcn_x3_variants.py --start random --steps 6000 --batch 64 --padding reflect
    python research/espcn_x3_variants.py --start random --steps 6000 --batch 64 --interior
    python research/espcn_x3_variants.py --start random --steps 20000 --batch 16 --ema 0.999
    python research/espcn_x3_variants.py --start bicubic --steps 8000 --batch 16 --ema 0.999
    python research/espcn_x3_variants.py --start bicubic --steps 8000 --batch 16 --ema 0.999 --gain 0.25
    python research/espcn_x3_variants.py --start bicubic --lr 3e-4 --steps 20000 --batch 16 --ema 0.999 \
        --interior --patch 96
    python research/espcn_x3_variants.py --start bicubic --lr 3e-4 --steps 30000 --batch 16 --ema 0.999 --patch 120
    python research/espcn_x3_variants.py --start bicubic --lr 3e-4 --steps 30000 --batch 16 --ema 0.999 --patch 120 \
        --loss l1
    python research/espcn_x3_variants.py --start bicubic --lr 3e-4 --steps 30000 --batch 4 --ema 0.999 --patch 240 \
        --stride 40
    python research/espcn_x3_variants.py --start bicubic --lr 3e-4 --steps 30000 --batch 16 --ema 0.999 --patch 240 \
        --stride 40

Each prints one JSON line per 1,000 steps: the Set5 x3 Y-PSNR of the EMA (``set5_psnr``, when ``--ema``) and of the
raw weights (``raw``); the last line adds the EMA's Set14 x3 Y-PSNR (``set14_psnr``). What the runs showed is in
research/README.md.
"""

from __future__ import annotations

import argparse
import copy
import json
import time

import torch
import torch.nn.functional as F

import imggen
from imggen.data.augment import dihedral
from imggen.data.resize import imresize
from imggen.data.sr import load_patches
from imggen.metrics.sr import evaluate_upscaler
from imggen.models import sr
from imggen.models.sr import BICUBIC_START_GAIN
from imggen.models.upscale import DEGRADATION_MARGIN


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--start", choices=("random", "bicubic"), default="bicubic",
                        help="random: PyTorch's default initialisation; bicubic: the model's own start")
    parser.add_argument("--padding", choices=("zeros", "reflect"), default="zeros")
    parser.add_argument("--interior", action="store_true", help="score only outputs the zero padding cannot reach")
    parser.add_argument("--ema", type=float, default=0.0, help="EMA decay with a warm-up (0: none)")
    parser.add_argument("--gain", type=float, default=BICUBIC_START_GAIN,
                        help="the bicubic start's identity-channel gain (imggen.models.sr.BICUBIC_START_GAIN)")
    parser.add_argument("--patch", type=int, default=60, help="high-resolution training patch side")
    parser.add_argument("--stride", type=int, default=0, help="pixels between patches (0: half the patch side)")
    parser.add_argument("--loss", choices=("mse", "l1"), default="mse",
                        help="the training loss (l1: mean absolute error, as EDSR trains)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    sr.BICUBIC_START_GAIN = args.gain  # read when the model is built
    model = imggen.create_model("espcn-x3")
    for conv in (m for m in model.modules() if isinstance(m, torch.nn.Conv2d)):
        conv.padding_mode = args.padding
        if args.start == "random":
            conv.reset_parameters()
    average = copy.deepcopy(model).requires_grad_(False)
    patches = load_patches(patch=args.patch, stride=args.stride or args.patch // 2).images
    opt = torch.optim.Adam(model.parameters(), args.lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, args.lr, total_steps=args.steps, pct_start=0.02)
    rng = torch.Generator().manual_seed(0)
    s, m, c = model.scale, DEGRADATION_MARGIN, model.context * model.scale
    started = time.time()
    for step in range(1, args.steps + 1):
        hr = dihedral(patches[torch.randint(len(patches), (args.batch,), generator=rng)].float() / 255, rng)
        out, target = model(imresize(hr, scale=1 / s)[..., m:-m, m:-m]), hr[..., m * s:-m * s, m * s:-m * s]
        if args.interior:
            out, target = out[..., c:-c, c:-c], target[..., c:-c, c:-c]
        loss = F.l1_loss(out, target) if args.loss == "l1" else F.mse_loss(out, target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
        with torch.no_grad():
            decay = min(args.ema, (1 + step) / (10 + step)) if args.ema else 0.0
            for mine, theirs in zip(average.parameters(), model.parameters(), strict=True):
                mine.lerp_(theirs, 1 - decay)
        if step % 1000 == 0 or step == args.steps:
            with torch.no_grad():
                record = {"step": step, "seconds": round(time.time() - started),
                          "set5_psnr": round(evaluate_upscaler(average, ("set5",))["set5_psnr"], 3),
                          "raw": round(evaluate_upscaler(model, ("set5",))["set5_psnr"], 3)}
                if step == args.steps:  # the second ruler, at the end only (the runs are compared on Set5)
                    record["set14_psnr"] = round(evaluate_upscaler(average, ("set14",))["set14_psnr"], 3)
            print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
