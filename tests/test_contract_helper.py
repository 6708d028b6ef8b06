"""``imggen.testing``: the one-line generator contract check plugins use, and that it catches what it promises."""

from __future__ import annotations

import re

import pytest
import torch

from imggen.models.base import Generator
from imggen.testing import check_generator


class Flat(Generator):
    """A generator with knobs to break the contract one way at a time."""

    def __init__(self, wrong_shape: bool = False, ignore_seed: bool = False, num_classes: int = 0) -> None:
        super().__init__()
        self.num_classes, self.image_shape, self.noise_dim = num_classes, (1, 4, 4), 3
        self.wrong_shape, self.ignore_seed = wrong_shape, ignore_seed
        self.net = torch.nn.Linear(3, 16)

    def generate(self, n, labels, rng):
        z = torch.randn(n, 3, generator=None if self.ignore_seed else rng)
        return torch.sigmoid(self.net(z)).view(n, 1, 2, 8) if self.wrong_shape else torch.sigmoid(self.net(z)).view(
            n, 1, 4, 4)


@pytest.fixture
def flat(swap_registry):
    swap_registry("generators").register("flat")(Flat)


def test_a_generator_keeping_the_contract_passes(flat, tmp_path):
    check_generator("flat", tmp_path)
    check_generator("flat", num_classes=3)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"wrong_shape": True}, "flat: sample(3) gave shape (3, 1, 2, 8)"),
    ({"ignore_seed": True}, "flat: the same seed must give the same images"),
])
def test_a_broken_generator_fails_saying_what_broke(flat, kwargs, message):
    with pytest.raises(AssertionError, match=re.escape(message)):
        check_generator("flat", **kwargs)


def test_builtin_generators_keep_the_contract(tmp_path):
    for name in ("gan-mlp-mnist", "cgan-mlp-mnist"):
        check_generator(name, tmp_path, pretrained=False)
