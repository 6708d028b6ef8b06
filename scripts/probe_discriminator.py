"""Train fresh discriminators against one frozen generator and print how fast each learns to tell its samples apart.

Why: a GAN whose discriminator loss sits at chance (2 ln 2 = 1.386 for the non-saturating loss) may have a
generator too good to tell apart, or a discriminator too weak to see what is wrong. Holding the generator fixed
separates the two: a discriminator that cannot separate a generator's samples from the data, when another one
can in a few dozen steps, is blind to their flaws, and a generator trained against it gets little signal.
Each discriminator starts fresh (seed 0), sees the same batches (64 real training images and 64 samples of their
classes, in [-1, 1]) and trains with Adam (betas 0, 0.99) on the non-saturating loss; printed: its mean loss over
each ``--every`` steps and the mean real and generated logits of the last batch.

    python scripts/probe_discriminator.py runs/transfer/cgan-dcgan-fashion-projected/weights --data fashion-mnist \
        --discriminator dcgan --discriminator 'projected:{"backbone": "convnext_atto",
        "backbone_weights": "runs/transfer/mnist-timm-convnext/weights"}'
"""

from __future__ import annotations

import argparse
import json

import torch

import imggen
from imggen.data import load_images


def parse_discriminator(spec: str) -> tuple[str, dict]:
    """``NAME`` or ``NAME:{json arguments}``."""
    name, _, args = spec.partition(":")
    return name, json.loads(args) if args else {}


def probe(generator: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, name: str, args: dict,
          steps: int, lr: float, every: int) -> None:
    """Train discriminator ``name`` for ``steps`` steps against ``generator``'s samples; print its progress."""
    torch.manual_seed(0)
    rng = torch.Generator().manual_seed(0)
    conditional = generator.conditional
    critic = imggen.create_discriminator(name, image_shape=tuple(generator.image_shape),
                                         num_classes=generator.num_classes, **args).train()
    opt = torch.optim.Adam([p for p in critic.parameters() if p.requires_grad], lr=lr, betas=(0.0, 0.99))
    ns = imggen.create_loss("ns")  # the project's non-saturating loss, as the adversarial task uses
    losses = []
    for step in range(1, steps + 1):
        index = torch.randint(0, len(images), (64,), generator=rng)
        real, y = images[index].float() / 127.5 - 1, labels[index]
        with torch.no_grad():
            fake = generator(torch.randn(64, generator.noise_dim, generator=rng), y if conditional else None)
        logits = critic(torch.cat([real, fake]), torch.cat([y, y]) if conditional else None).float()
        loss = ns.d_loss(logits[:64], logits[64:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step % every == 0:
            print(f"| {name} | {step} | {sum(losses[-every:]) / every:.3f} | {logits[:64].mean():.2f} | "
                  f"{logits[64:].mean():.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("generator", help="a registered generator, NAME.TAG or a weights folder (a run's weights/)")
    parser.add_argument("--data", required=True, help="the dataset the generator was trained on (its train split)")
    parser.add_argument("--discriminator", action="append", required=True,
                        help="NAME or NAME:{json arguments}, repeatable")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--every", type=int, default=50, help="print every this many steps")
    parser.add_argument("--lr", type=float, default=2e-4)
    args = parser.parse_args()
    generator = imggen.create_model(args.generator, pretrained=True).eval()
    data = load_images(args.data)
    print("| discriminator | step | mean loss | real logit | generated logit |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for spec in args.discriminator:
        name, kwargs = parse_discriminator(spec)
        probe(generator, data.images, data.labels, name, kwargs, args.steps, args.lr, args.every)


if __name__ == "__main__":
    main()
