"""Pseudo-labels without labels: k-means clusters of the training images, for a generator's discrete latent.

An unconditional GAN on MNIST blends digits (``research/README.md``, "Why the unconditional DCGAN misses"): its one
continuous latent must cross from one digit to the next somewhere, and what lies between reads as no digit. Giving
the generator a discrete latent that means something (Sage et al. 2018, "Logo synthesis and manipulation with
clustered GANs"; Liu et al. 2020, "Diverse image generation via self-conditioned GANs") lets it jump instead: each
training image gets the index of its nearest cluster centre as a pseudo-label, generator and projection discriminator
are conditioned on it, and sampling draws the index from the clusters' frequencies. The clustering sees pixels
only, never the dataset's labels, so the model stays unconditional.
"""

from __future__ import annotations

import torch
from einops import rearrange


def nearest_centre(points: torch.Tensor, centres: torch.Tensor, groups: torch.Tensor | None = None) -> torch.Tensor:
    """Index of the nearest centre (Euclidean) for each of ``points`` ``(N, ...)``, against ``centres`` ``(K, D)``.

    With ``groups`` (each point's group, such as its class), ``centres`` is ``(G, P, D)``: ``P`` centres per group,
    as :func:`kmeans_within` makes them; each point picks the nearest of its own group's, and its index counts
    groups in order (``group * P + j``).
    """
    flat = rearrange(points, "n ... -> n (...)").to(centres.dtype)
    if groups is None:
        return _assign(flat, centres, chunk=8192)[0]
    per_group, chunk = centres.shape[1], 1024
    nearest = [torch.cdist(part.unsqueeze(1), centres[g]).squeeze(1).argmin(dim=1)
               for part, g in zip(flat.split(chunk), groups.split(chunk), strict=True)]
    return groups * per_group + torch.cat(nearest)


def kmeans_within(points: torch.Tensor, groups: torch.Tensor, num_groups: int, k: int, *,
                  seed: int = 0) -> torch.Tensor:
    """``k`` k-means centres within each of ``num_groups`` groups of ``points`` (``groups``: each point's group),
    ``(num_groups, k, D)``: sub-class clusters for a conditional generator's modes."""
    return torch.stack([kmeans(points[groups == g], k, seed=seed) for g in range(num_groups)])


def kmeans(points: torch.Tensor, k: int, *, iterations: int = 30, seed: int = 0,
           chunk: int = 8192) -> torch.Tensor:
    """``k`` cluster centres ``(k, D)`` of ``points`` ``(N, ...)`` by Lloyd's k-means from a k-means++ start.

    Deterministic for a given seed (the start draws from a seeded generator), so a resumed run rebuilds the same
    clusters. ``chunk`` points at a time bound the distance matrix's memory. An emptied cluster is restarted on the
    point farthest from its centre, so all ``k`` stay in use.
    """
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k is a number of clusters >= 1, got {k!r}")
    flat = rearrange(points, "n ... -> n (...)").float()
    if flat.shape[0] < k:
        raise ValueError(f"{flat.shape[0]} points cannot make {k} clusters; lower the number of clusters")
    rng = torch.Generator(device="cpu").manual_seed(seed)
    centres = _kmeans_plus_plus(flat, k, rng, chunk)
    for _ in range(iterations):
        assigned, distance = _assign(flat, centres, chunk)
        counts = torch.bincount(assigned, minlength=k)
        sums = torch.zeros_like(centres).index_add_(0, assigned, flat)
        updated = sums / counts.clamp(min=1).unsqueeze(1).to(flat.dtype)
        for empty in (counts == 0).nonzero().flatten().tolist():
            farthest = int(distance.argmax())
            updated[empty], distance[farthest] = flat[farthest], 0.0
        if torch.equal(updated, centres):
            break
        centres = updated
    return centres


def _assign(flat: torch.Tensor, centres: torch.Tensor, chunk: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Each point's nearest centre and its squared distance, ``chunk`` points at a time."""
    indices, distances = [], []
    for part in flat.split(chunk):
        d = torch.cdist(part, centres).pow(2)
        best = d.min(dim=1)
        indices.append(best.indices)
        distances.append(best.values)
    return torch.cat(indices), torch.cat(distances)


def _kmeans_plus_plus(flat: torch.Tensor, k: int, rng: torch.Generator, chunk: int) -> torch.Tensor:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): each next centre drawn with probability ∝ squared distance."""
    first = int(torch.randint(flat.shape[0], (1,), generator=rng))
    centres = flat[first:first + 1]
    _, distance = _assign(flat, centres, chunk)
    for _ in range(1, k):
        weights = distance.double().cpu()
        pick = int(torch.multinomial(weights / weights.sum(), 1, generator=rng)) if weights.sum() > 0 else 0
        centres = torch.cat([centres, flat[pick:pick + 1]])
        _, new = _assign(flat, centres[-1:], chunk)
        distance = torch.minimum(distance, new)
    return centres
