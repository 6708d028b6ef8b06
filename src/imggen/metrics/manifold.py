"""k-nearest-neighbour manifold metrics: precision and recall (Kynkäänniemi et al. 2019), density and coverage
(Naeem et al. 2020).

Why: the Fréchet distance mixes fidelity and diversity into one number; these separate them (a collapsed generator
has high precision but low recall and coverage). Distances are computed in row chunks, so 10k x 10k sets fit in memory.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from imggen.metrics.distances import check_features

CHUNK = 2048


def knn_radii(x: torch.Tensor, ks: Sequence[int] = (3,)) -> dict[int, torch.Tensor]:
    """For each k, the distance from every row of ``x`` to its k-th nearest other row (the k-NN ball radius)."""
    if x.shape[0] <= max(ks):
        raise ValueError(f"k-NN radii with k={max(ks)} need more than {max(ks)} samples; got {x.shape[0]}")
    kth = []
    for start in range(0, x.shape[0], CHUNK):
        d = torch.cdist(x[start:start + CHUNK], x)
        kth.append(d.topk(max(ks) + 1, dim=1, largest=False).values)  # column 0 is the point itself
    dist = torch.cat(kth)
    return {k: dist[:, k].contiguous() for k in ks}


def manifold_metrics(real: torch.Tensor, fake: torch.Tensor, *, pr_k: int | None = 3, dc_k: int | None = 5,
                     real_radii: dict[int, torch.Tensor] | None = None) -> dict[str, float]:
    """Precision/recall with ``pr_k`` and density/coverage with ``dc_k`` (``None`` skips a pair) in one pass.

    ``real_radii`` may hold precomputed :func:`knn_radii` of ``real`` (e.g. a cached reference set).
    """
    ks = [k for k in (pr_k, dc_k) if k is not None]
    if not ks:
        return {}
    check_features(real, fake, max(ks) + 1, f"k-NN metrics (k={max(ks)})")
    real, fake = real.float(), fake.float()
    radii = dict(real_radii or {})
    missing = [k for k in ks if k not in radii]
    if missing:
        radii.update(knn_radii(real, missing))
    fake_radius = knn_radii(fake, [pr_k])[pr_k] if pr_k is not None else None
    hits = in_balls = 0
    recalled = torch.zeros(real.shape[0], dtype=torch.bool)
    covered = torch.zeros(real.shape[0], dtype=torch.bool)
    for start in range(0, fake.shape[0], CHUNK):
        d = torch.cdist(fake[start:start + CHUNK], real)  # (chunk, n_real)
        if pr_k is not None:
            hits += int((d <= radii[pr_k]).any(dim=1).sum())
            recalled |= (d <= fake_radius[start:start + CHUNK, None]).any(dim=0)
        if dc_k is not None:
            inside = d < radii[dc_k]
            in_balls += int(inside.sum())
            covered |= inside.any(dim=0)
    out: dict[str, float] = {}
    if pr_k is not None:
        out.update(precision=hits / fake.shape[0], recall=float(recalled.double().mean()))
    if dc_k is not None:
        out.update(density=in_balls / (dc_k * fake.shape[0]), coverage=float(covered.double().mean()))
    return out


def precision_recall(real: torch.Tensor, fake: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision (fake samples inside the real k-NN manifold) and recall (real inside the fake one)."""
    out = manifold_metrics(real, fake, pr_k=k, dc_k=None)
    return out["precision"], out["recall"]


def density_coverage(real: torch.Tensor, fake: torch.Tensor, k: int = 5) -> tuple[float, float]:
    """Density (mean count of real k-NN balls holding a fake, over k) and coverage (real balls holding any fake)."""
    out = manifold_metrics(real, fake, pr_k=None, dc_k=k)
    return out["density"], out["coverage"]
