"""Train fresh discriminators against one frozen generator and print how fast each learns to tell its samples apart.

Why: a GAN whose discriminator loss sits at chance (2 ln 2 = 1.386 for the non-saturating loss) may have a
generator too good to tell apart, or a discriminator too weak to see what is wrong. Holding the generator fixed
separates the two: a discriminator that cannot separate a generator's samples from the data, when another one
can in a few dozen steps, is blind to their flaws, and a generator trained against it gets little signal.
Each discriminator starts fresh (seed 0), sees the same batches (64 real training images and 64 samples of their
classes, in [-1, 1]) and trains with Adam (betas 0, 0.99) on the non-saturating loss; printed: its mean loss over
each ``--every`` steps and the mean real and generated logits of the last batch.

``--blurred`` replaces the generator by a control that needs none: the "generated" images are the real batch itself
under a 3x3 Gaussian blur (sigma 1, torchvision's ``gaussian_blur``), so the only difference left to see is fine
detail. A discriminator that cannot learn that either is blind by construction, whatever generator it would face.

    python scripts/probe_discriminator.py runs/transfer/cgan-dcgan-fashion-projected/weights --data fashion-mnist \
        --discriminator dcgan --discriminator 'projected:{"backbone": "convnext_atto",
        "backbone_weights": "runs/transfer/mnist-timm-convnext/weights"}'
    python scripts/probe_discriminator.py --blurred --data fashion-mnist --discriminator dcgan
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable

import torch
from torchvision.transforms.functional import gaussian_blur

import imggen
from imggen.data import load_images


def parse_discriminator(spec: str) -> tuple[str, dict]:
    """``NAME`` or ``NAME:{json arguments}``."""
    name, _, args = spec.partition(":")
    return name, json.loads(args) if args else {}


#: draws the "generated" half of a batch from its real half, their labels and the probe's random generator
Fakes = Callable[[torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]


def samples_of(generator: torch.nn.Module) -> Fakes:
    """Samples of ``generator`` for the real batch's labels (ignored when it is unconditional)."""
    def draw(real: torch.Tensor, labels: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
        with torch.no_grad():
            z = torch.randn(len(real), generator.noise_dim, generator=rng)
            return generator(z, labels if generator.conditional else None)
    return draw


def blurred(real: torch.Tensor, labels: torch.Tensor, rng: torch.Generator) -> torch.Tensor:
    """The control: the real batch itself under a 3x3 Gaussian blur (sigma 1)."""
    return gaussian_blur(real, kernel_size=3, sigma=1.0)


def probe(fakes: Fakes, images: torch.Tensor, labels: torch.Tensor, num_classes: int, spec: str, steps: int,
          lr: float, every: int) -> None:
    """Train discriminator ``spec`` (see :func:`parse_discriminator`; conditional on ``num_classes`` classes unless
    0) for ``steps`` steps to tell real batches from ``fakes``; print its progress, one table row per ``every``
    steps, labelled with ``spec``."""
    name, args = parse_discriminator(spec)
    torch.manual_seed(0)
    rng = torch.Generator().manual_seed(0)
    critic = imggen.create_discriminator(name, image_shape=tuple(images.shape[1:]), num_classes=num_classes,
                                         **args).train()
    opt = torch.optim.Adam([p for p in critic.parameters() if p.requires_grad], lr=lr, betas=(0.0, 0.99))
    ns = imggen.create_loss("ns")  # the project's non-saturating loss, as the adversarial task uses
    losses = []
    for step in range(1, steps + 1):
        index = torch.randint(0, len(images), (64,), generator=rng)
        real, y = images[index].float() / 127.5 - 1, labels[index]
        fake = fakes(real, y, rng)
        logits = critic(torch.cat([real, fake]), torch.cat([y, y]) if num_classes else None).float()
        loss = ns.d_loss(logits[:64], logits[64:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
        if step % every == 0:
            print(f"| `{spec}` | {step} | {sum(losses[-every:]) / every:.3f} | {logits[:64].mean():.2f} | "
                  f"{logits[64:].mean():.2f} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("generator", nargs="?",
                        help="a registered generator, NAME.TAG or a weights folder (a run's weights/)")
    parser.add_argument("--blurred", action="store_true",
                        help="no generator: tell the real images from themselves blurred (the control)")
    parser.add_argument("--data", required=True, help="the dataset the generator was trained on (its train split)")
    parser.add_argument("--discriminator", action="append", required=True,
                        help="NAME or NAME:{json arguments}, repeatable")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--every", type=int, default=50, help="print every this many steps")
    parser.add_argument("--lr", type=float, default=2e-4)
    args = parser.parse_args()
    if (args.generator is None) == (not args.blurred):
        parser.error("name a generator or pass --blurred (one of the two)")
    data = load_images(args.data)
    if args.blurred:
        fakes, num_classes = blurred, data.num_classes
    else:
        generator = imggen.create_model(args.generator, pretrained=True).eval()
        fakes, num_classes = samples_of(generator), generator.num_classes if generator.conditional else 0
    print("| discriminator | step | mean loss | real logit | generated logit |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for spec in args.discriminator:
        probe(fakes, data.images, data.labels, num_classes, spec, args.steps, args.lr, args.every)


if __name__ == "__main__":
    main()
