"""The seed's GAN training loop (its section 1.1), re-implemented as the baseline of the training benchmark.

Faithful where it costs time: torchvision MNIST through a ``DataLoader`` with ``ToTensor`` (per-image PIL to
tensor work inside the loop; batch 64, shuffled, no worker processes), a Sigmoid discriminator with ``BCELoss``,
Adam at lr 2e-4 with default betas, and the seed's step order: discriminator on the real batch and on the detached
fake batch, its step, then the generator through the discriminator, its step. The seed's quality bug (a Tanh
generator against [0, 1] data) is kept on purpose: this is a speed baseline, not a recipe.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from imggen.data import data_root, spec_for
from imggen.data.datasets import torchvision_root

NOISE_DIM = 100
LR = 2e-4


class SeedGenerator(nn.Module):
    """Noise → 256 → 512 → 1024 → 784 with ReLU, Tanh output, reshaped to (B, 1, 28, 28)."""

    def __init__(self, noise_dim: int = NOISE_DIM) -> None:
        super().__init__()
        self.model = nn.Sequential(
            nn.Linear(noise_dim, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU(),
            nn.Linear(512, 1024), nn.ReLU(), nn.Linear(1024, 28 * 28), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.model(z).reshape(-1, 1, 28, 28)


class SeedDiscriminator(nn.Module):
    """Image → 512 → 256 → 1 with LeakyReLU 0.2 and a Sigmoid probability out."""

    def __init__(self) -> None:
        super().__init__()
        self.model = nn.Sequential(
            nn.Flatten(), nn.Linear(28 * 28, 512), nn.LeakyReLU(0.2), nn.Linear(512, 256), nn.LeakyReLU(0.2),
            nn.Linear(256, 1), nn.Sigmoid(),
        )

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.model(img)


def seed_mnist(root: str | None = None) -> datasets.MNIST:
    """torchvision's MNIST with ``ToTensor``, from the same torchvision root that ``imggen.data`` prepares."""
    tv_root = torchvision_root(data_root(root), spec_for("mnist"))
    return datasets.MNIST(str(tv_root), train=True, download=True, transform=transforms.ToTensor())


@dataclass(frozen=True)
class SeedLoopStats:
    """What one timed run of the seed loop did."""

    steps: int
    images: int
    seconds: float
    d_loss: float
    g_loss: float

    @property
    def images_per_s(self) -> float:
        return self.images / self.seconds


def _batches(loader: DataLoader) -> Iterator[torch.Tensor]:
    """Real batches epoch after epoch, as the seed's ``for epoch ...: for real_imgs, _ in dataloader`` does."""
    while True:
        for real, _ in loader:
            yield real


def train_seed_loop(steps: int, batch_size: int = 64, device: str | torch.device = "cpu", warmup_steps: int = 5,
                    seed: int = 0, dataset: datasets.MNIST | None = None) -> SeedLoopStats:
    """Run the seed's loop for ``warmup_steps`` untimed then ``steps`` timed optimisation steps.

    The timed part includes the ``DataLoader`` (that is the seed's hot loop); building the dataset does not.
    """
    device = torch.device(device)
    torch.manual_seed(seed)
    loader = DataLoader(dataset or seed_mnist(), batch_size=batch_size, shuffle=True)
    generator, discriminator = SeedGenerator().to(device), SeedDiscriminator().to(device)
    optimizer_g = torch.optim.Adam(generator.parameters(), lr=LR)
    optimizer_d = torch.optim.Adam(discriminator.parameters(), lr=LR)
    bce = nn.BCELoss()
    batches = _batches(loader)
    images, start = 0, 0.0
    for step in range(warmup_steps + steps):
        if step == warmup_steps:
            if device.type == "cuda":
                torch.cuda.synchronize(device)
            start = time.perf_counter()
        real = next(batches).to(device)
        n = real.size(0)
        optimizer_d.zero_grad()
        fake = generator(torch.randn(n, NOISE_DIM, device=device))
        d_loss_real = bce(discriminator(real), torch.ones(n, 1, device=device))
        d_loss_fake = bce(discriminator(fake.detach()), torch.zeros(n, 1, device=device))
        d_loss = d_loss_real + d_loss_fake
        d_loss.backward()
        optimizer_d.step()
        optimizer_g.zero_grad()
        g_loss = bce(discriminator(fake), torch.ones(n, 1, device=device))
        g_loss.backward()
        optimizer_g.step()
        images += n if step >= warmup_steps else 0
    d_value, g_value = d_loss.item(), g_loss.item()  # the seed reads the losses once per epoch; this syncs
    return SeedLoopStats(steps, images, time.perf_counter() - start, d_value, g_value)
