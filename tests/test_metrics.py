"""The metric functions against known values: Fréchet distance, KID, k-NN manifold metrics, class metrics, NLL."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from imggen.metrics import (
    bits_per_dim,
    class_coverage,
    class_histogram,
    class_kl,
    conditional_accuracy,
    density_coverage,
    frechet_distance,
    kernel_distance,
    knn_radii,
    manifold,
    manifold_metrics,
    nll_nats,
    precision_recall,
)
from imggen.metrics.scoring import ALIASES, GROUPS, parse_metrics


def gaussian(n: int, d: int, seed: int) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def whitened(n: int, d: int, seed: int) -> torch.Tensor:
    """Samples whose empirical mean is exactly 0 and empirical covariance (n-1 normalised) exactly the identity."""
    x = gaussian(n, d, seed)
    x = x - x.mean(0)
    cov = x.T @ x / (n - 1)
    return x @ torch.linalg.inv(torch.linalg.cholesky(cov)).T


# -- Fréchet distance ------------------------------------------------------------------------------------
def test_frechet_distance_of_a_set_with_itself_is_zero():
    x = gaussian(2000, 16, 0) @ gaussian(16, 16, 1)  # correlated features
    assert abs(frechet_distance(x, x)) < 1e-6


def test_frechet_distance_matches_the_closed_form_for_exact_gaussians():
    x = whitened(500, 8, 0)  # N(0, I) exactly
    mu = torch.arange(8, dtype=torch.float64) / 4
    y = 2 * whitened(500, 8, 1) + mu  # N(mu, 4I) exactly
    # ||mu||^2 + tr(I + 4I - 2 (4I)^(1/2)) = ||mu||^2 + 8 * (1 + 4 - 4)
    assert frechet_distance(x, y) == pytest.approx(float(mu.square().sum()) + 8, rel=1e-9)


def test_frechet_distance_of_sampled_gaussians_approaches_the_closed_form():
    mu1, mu2 = torch.tensor([0.0, 1.0, -1.0]), torch.tensor([1.0, 1.0, 0.5])
    s1, s2 = torch.tensor([1.0, 2.0, 0.5]), torch.tensor([0.5, 2.0, 1.5])
    x = gaussian(50000, 3, 0) * s1 + mu1
    y = gaussian(50000, 3, 1) * s2 + mu2
    expected = float((mu1 - mu2).square().sum() + (s1 - s2).square().sum())
    assert frechet_distance(x, y) == pytest.approx(expected, rel=0.02)


def test_frechet_distance_agrees_with_a_scipy_sqrtm_reference():
    x = gaussian(3000, 10, 0) @ gaussian(10, 10, 1)
    y = gaussian(3000, 10, 2) @ gaussian(10, 10, 3) + 0.3
    mx, my = x.mean(0).numpy(), y.mean(0).numpy()
    cx, cy = np.cov(x.numpy(), rowvar=False), np.cov(y.numpy(), rowvar=False)
    covmean = scipy.linalg.sqrtm(cx @ cy).real
    expected = ((mx - my) ** 2).sum() + np.trace(cx + cy - 2 * covmean)
    assert frechet_distance(x, y) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_stays_finite_for_a_collapsed_set():
    real = gaussian(1000, 6, 0)
    collapsed = torch.zeros(1000, 6, dtype=torch.float64)  # one point: a singular (zero) covariance
    expected = float(real.mean(0).square().sum() + torch.cov(real.T).trace())
    assert frechet_distance(real, collapsed) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(("a", "b", "match"), [
    (torch.zeros(10, 4), torch.zeros(10, 5), "feature sizes differ"),
    (torch.zeros(1, 4), torch.zeros(10, 4), "at least 2 samples"),
    (torch.zeros(10, 4), torch.full((10, 4), float("nan")), "NaN"),
    (torch.zeros(10), torch.zeros(10, 4), "2-D"),
])
def test_frechet_distance_rejects_bad_feature_sets(a, b, match):
    with pytest.raises(ValueError, match=match):
        frechet_distance(a, b)


# -- KID -----------------------------------------------------------------------------------------------------
def unbiased_mmd2(x: torch.Tensor, y: torch.Tensor) -> float:
    """Unbiased MMD² with the cubic polynomial kernel (x·y/d + 1)^3, written out directly (float64)."""
    x, y = x.double(), y.double()
    k = lambda a, b: (a @ b.T / x.shape[1] + 1) ** 3  # noqa: E731
    m = x.shape[0]
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return float((kxx.sum() - kxx.trace() + kyy.sum() - kyy.trace()) / (m * (m - 1)) - 2 * kxy.mean())


def test_kernel_distance_with_one_full_subset_is_the_unbiased_mmd():
    x, y = gaussian(300, 5, 0).float(), (gaussian(300, 5, 1) * 1.5 + 0.5).float()
    mean, std = kernel_distance(x, y, subsets=1, subset_size=300)
    assert mean == pytest.approx(unbiased_mmd2(x, y), rel=1e-4)
    assert std == 0


def test_kernel_distance_separates_same_from_different_distributions():
    x, same, other = gaussian(1000, 8, 0), gaussian(1000, 8, 1), gaussian(1000, 8, 2) + 0.5
    kid_same, std_same = kernel_distance(x, same, subsets=10, subset_size=300)
    kid_other, _ = kernel_distance(x, other, subsets=10, subset_size=300)
    assert abs(kid_same) < 3 * std_same + 1e-3
    assert kid_other > 10 * max(abs(kid_same), 1e-3)


def test_kernel_distance_is_seeded_and_leaves_the_global_rng_alone():
    x, y = gaussian(600, 4, 0), gaussian(600, 4, 1) + 0.2
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = kernel_distance(x, y, subsets=5, subset_size=100, seed=7)
    assert torch.equal(torch.rand(3), expected_next)
    assert kernel_distance(x, y, subsets=5, subset_size=100, seed=7) == first
    assert kernel_distance(x, y, subsets=5, subset_size=100, seed=8) != first


def test_kernel_distance_needs_a_full_subset():
    with pytest.raises(ValueError, match="at least 1000 samples"):
        kernel_distance(torch.zeros(999, 4), torch.zeros(2000, 4))


# -- precision, recall, density, coverage -----------------------------------------------------------------
def clusters(n: int, centre: float, seed: int, d: int = 4) -> torch.Tensor:
    return gaussian(n, d, seed).float() * 0.1 + centre


def test_identical_sets_have_perfect_precision_recall_and_coverage():
    x = clusters(300, 0.0, 0)
    assert precision_recall(x, x.clone()) == (1.0, 1.0)
    density, coverage = density_coverage(x, x.clone())
    assert coverage == 1.0
    assert density == pytest.approx(1.0, abs=0.05)


def test_disjoint_clusters_score_zero():
    real, fake = clusters(300, 0.0, 0), clusters(300, 100.0, 1)
    assert precision_recall(real, fake) == (0.0, 0.0)
    assert density_coverage(real, fake) == (0.0, 0.0)


def test_a_generator_that_covers_one_of_two_modes_has_precision_but_half_the_recall():
    real = torch.cat([clusters(300, 0.0, 0), clusters(300, 50.0, 1)])
    fake = clusters(300, 0.0, 2)  # only the first mode
    precision, recall = precision_recall(real, fake)
    density, coverage = density_coverage(real, fake)
    assert precision > 0.9 and recall == pytest.approx(0.5, abs=0.05)
    assert coverage == pytest.approx(0.5, abs=0.05) and density > 0.8


def brute_force(real: np.ndarray, fake: np.ndarray, k: int) -> dict[str, float]:
    """The papers' definitions on full distance matrices (numpy), for comparison."""
    drr = np.linalg.norm(real[:, None] - real[None], axis=-1)
    dff = np.linalg.norm(fake[:, None] - fake[None], axis=-1)
    dfr = np.linalg.norm(fake[:, None] - real[None], axis=-1)
    r_real, r_fake = np.sort(drr, axis=1)[:, k], np.sort(dff, axis=1)[:, k]
    return {
        "precision": float((dfr <= r_real[None]).any(axis=1).mean()),
        "recall": float((dfr <= r_fake[:, None]).any(axis=0).mean()),
        "density": float((dfr < r_real[None]).sum() / (k * len(fake))),
        "coverage": float((dfr.min(axis=0) < r_real).mean()),
    }


def test_chunked_manifold_metrics_match_the_definitions(monkeypatch):
    monkeypatch.setattr(manifold, "CHUNK", 37)  # several chunks, the last one partial
    real, fake = gaussian(200, 5, 0).float(), (gaussian(150, 5, 1) * 1.3 + 0.2).float()
    got = manifold_metrics(real, fake, pr_k=3, dc_k=3)
    expected = brute_force(real.numpy(), fake.numpy(), 3)
    assert got == pytest.approx(expected, abs=1e-9)


def test_precomputed_real_radii_give_the_same_result():
    real, fake = gaussian(200, 5, 0).float(), gaussian(150, 5, 1).float()
    assert manifold_metrics(real, fake, real_radii=knn_radii(real, [3, 5])) == manifold_metrics(real, fake)


@settings(max_examples=30, deadline=None)
@given(n_real=st.integers(4, 40), n_fake=st.integers(4, 40), d=st.integers(1, 6), seed=st.integers(0, 2**16))
def test_precision_and_recall_swap_when_the_sets_swap(n_real: int, n_fake: int, d: int, seed: int):
    real, fake = gaussian(n_real, d, seed).float(), (gaussian(n_fake, d, seed + 1) + 0.5).float()
    precision, recall = precision_recall(real, fake)
    assert precision_recall(fake, real) == (recall, precision)
    assert 0 <= precision <= 1 and 0 <= recall <= 1


def test_knn_metrics_need_more_samples_than_k():
    with pytest.raises(ValueError, match="at least 4 samples"):
        precision_recall(torch.rand(100, 3), torch.rand(3, 3), k=3)


# -- metric names --------------------------------------------------------------------------------------------
@given(st.lists(st.sampled_from([*GROUPS, *ALIASES]), min_size=1))
def test_any_mix_of_metric_names_and_aliases_parses_to_groups_in_order(names: list[str]):
    text = ",".join(f" {name.upper()} " for name in names)
    assert parse_metrics(text) == tuple(dict.fromkeys(ALIASES.get(n, n) for n in names))


@given(st.text(min_size=1).filter(lambda s: s.strip().lower() not in {*GROUPS, *ALIASES} and "," not in s))
def test_unknown_metric_names_are_an_error_listing_the_valid_ones(name: str):
    with pytest.raises(ValueError, match="choose from fd, kid, pr, dc"):
        parse_metrics(name)


# -- class metrics -------------------------------------------------------------------------------------------
def test_class_histogram_kl_and_coverage():
    uniform = class_histogram(torch.arange(1000) % 10, 10)
    assert torch.allclose(uniform, torch.full((10,), 0.1, dtype=torch.float64))
    assert class_kl(uniform, uniform) == 0
    assert class_coverage(uniform, uniform) == 1.0
    two = class_histogram(torch.arange(1000) % 2, 10)
    assert class_kl(two, uniform) == pytest.approx(math.log(5))
    assert class_coverage(two, uniform) == pytest.approx(0.2)


def test_class_coverage_counts_a_rare_class_as_missing():
    reference = torch.full((10,), 0.1, dtype=torch.float64)
    preds = torch.cat([torch.arange(9).repeat(110), torch.tensor([9] * 5)])  # class 9: 5 of 995 (0.5%)
    assert class_coverage(class_histogram(preds, 10), reference) == pytest.approx(0.9)


def test_conditional_accuracy():
    labels = torch.arange(100) % 10
    preds = labels.clone()
    preds[:7] = 9
    assert conditional_accuracy(preds, labels) == pytest.approx(0.93)
    with pytest.raises(ValueError, match="one label per sample"):
        conditional_accuracy(preds, labels[:50])


# -- likelihoods ---------------------------------------------------------------------------------------------
def test_nll_and_bits_per_dim():
    # a uniform density on [0, 1]^D has log-likelihood 0: 8 bits per 8-bit pixel
    assert bits_per_dim(0.0, num_images=5, dims=784, bins=256) == 8.0
    # a discrete uniform over 256 levels: log p = -D log 256 per image
    per_image = torch.full((4,), -784 * math.log(256))
    assert nll_nats(per_image, 4) == pytest.approx(784 * math.log(256))
    assert bits_per_dim(per_image, 4, dims=784) == pytest.approx(8.0)
    assert bits_per_dim(float(per_image.sum()), 4, dims=784) == pytest.approx(8.0)  # sums work too
    with pytest.raises(ValueError, match="dims"):
        bits_per_dim(-1.0, 1, dims=0)
    with pytest.raises(ValueError, match="NaN"):
        nll_nats(float("nan"), 1)
