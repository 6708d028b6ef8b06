"""Adversarial losses and gradient penalties on fixed logits and critics with known gradients."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import imggen


def test_every_loss_and_penalty_is_registered():
    assert set(imggen.list_losses()) >= {"ns", "hinge", "lsgan", "wgan", "rpgan"}
    assert set(imggen.list_parts()) >= {"r1", "gp", "diffaugment"}


@pytest.mark.parametrize(
    ("name", "real", "fake", "d_expected", "g_expected"),
    [
        ("ns", 0.0, 0.0, 2 * math.log(2), math.log(2)),
        ("ns", 10.0, -10.0, 2 * math.log1p(math.exp(-10)), math.log1p(math.exp(10))),
        ("hinge", 1.0, -1.0, 0.0, 1.0),
        ("hinge", 0.0, 0.0, 2.0, 0.0),
        ("lsgan", 1.0, 0.0, 0.0, 0.5),
        ("lsgan", 0.0, 1.0, 1.0, 0.0),
        ("wgan", 3.0, 1.0, -2.0, -1.0),
        ("rpgan", 2.0, 1.0, math.log1p(math.exp(-1)), math.log1p(math.exp(1))),
        ("rpgan", 0.0, 0.0, math.log(2), math.log(2)),
    ],
)
def test_known_values(name, real, fake, d_expected, g_expected):
    loss = imggen.create_loss(name)
    real_logits, fake_logits = torch.full((4,), real), torch.full((4,), fake)
    assert loss.d_loss(real_logits, fake_logits).item() == pytest.approx(d_expected, rel=1e-5)
    assert loss.g_loss(fake_logits, real_logits).item() == pytest.approx(g_expected, rel=1e-5, abs=1e-6)


def test_rpgan_pairs_each_fake_with_one_real_and_needs_the_reals():
    loss = imggen.create_loss("rpgan")
    real, fake = torch.tensor([1.0, 3.0]), torch.tensor([0.0, 0.0, 1.0])  # pairs (1, 0), (3, 0), (1, 1)
    expected = F.softplus(torch.tensor([-1.0, -3.0, 0.0])).mean()
    torch.testing.assert_close(loss.d_loss(real, fake), expected)
    torch.testing.assert_close(loss.g_loss(fake, real), F.softplus(torch.tensor([1.0, 3.0, 0.0])).mean())
    assert loss.relativistic and not imggen.create_loss("ns").relativistic
    with pytest.raises(ValueError, match="pass the real logits"):
        loss.g_loss(fake)


def test_ns_stays_finite_where_sigmoid_bce_saturates():
    loss = imggen.create_loss("ns")
    assert torch.isfinite(loss.d_loss(torch.tensor([-200.0]), torch.tensor([200.0])))


class LinearCritic(nn.Module):
    """D(x) = w . x, whose input gradient is w everywhere."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x, labels=None):
        return x.flatten(1) @ self.w


def test_r1_equals_half_gamma_squared_weight_norm():
    w = torch.tensor([3.0, 4.0, 0.0, 0.0])
    penalty = imggen.create_part("r1", gamma=2.0)(LinearCritic(w), torch.randn(8, 1, 2, 2))
    assert penalty.item() == pytest.approx(0.5 * 2.0 * 25.0)


@pytest.mark.parametrize(("w", "expected"), [([0.6, 0.8, 0, 0], 0.0), ([3.0, 4.0, 0, 0], 10.0 * 16)])
def test_gradient_penalty_measures_distance_of_norm_from_one(w, expected):
    critic = LinearCritic(torch.tensor(w))
    real, fake = torch.randn(8, 1, 2, 2), torch.randn(8, 1, 2, 2)
    penalty = imggen.create_part("gp", weight=10.0)(critic, real, fake)
    assert penalty.item() == pytest.approx(expected, abs=1e-5)


def test_penalty_gradient_reaches_critic_weights():
    critic = LinearCritic(torch.tensor([3.0, 4.0, 0.0, 0.0]))
    imggen.create_part("r1", gamma=1.0)(critic, torch.randn(4, 1, 2, 2)).backward()
    assert torch.allclose(critic.w.grad, critic.w.detach())  # d/dw of 0.5*|w|^2
