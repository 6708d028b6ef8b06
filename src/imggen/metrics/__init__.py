"""Metrics for generative models: feature networks, distances, k-NN manifold metrics, class metrics, likelihoods.

Why: users of the zoo need to know how good each weight is, and GAN training needs a signal other than its losses.
``evaluate(generator)`` and ``score_images(images)`` are the entry points; the rest are their tested parts.

>>> from imggen.metrics import bits_per_dim
>>> bits_per_dim(0.0, num_images=1, dims=784, bins=256)  # a uniform density on [0, 1] is 8 bits per 8-bit pixel
8.0
"""

from imggen.metrics import backbones, features, inception, timm_features  # noqa: F401  (register the networks)
from imggen.metrics.classes import class_coverage, class_histogram, class_kl, conditional_accuracy
from imggen.metrics.distances import frechet_distance, kernel_distance
from imggen.metrics.features import FeatureNet, SmallCNN, check_images
from imggen.metrics.likelihood import bits_per_dim, likelihood_metrics, likelihood_test_split, nll_nats
from imggen.metrics.manifold import density_coverage, knn_radii, manifold_metrics, precision_recall
from imggen.metrics.reference import load_reference, reference_names
from imggen.metrics.scoring import DEFAULT_METRICS, GROUPS, HIGHER_IS_BETTER, evaluate, parse_metrics, score_images
from imggen.metrics.timm_features import TimmResNet

__all__ = [
    "DEFAULT_METRICS", "GROUPS", "HIGHER_IS_BETTER", "FeatureNet", "SmallCNN", "TimmResNet", "bits_per_dim",
    "check_images", "class_coverage", "class_histogram", "class_kl", "conditional_accuracy", "density_coverage",
    "evaluate", "frechet_distance", "kernel_distance", "knn_radii", "likelihood_metrics", "likelihood_test_split",
    "load_reference", "manifold_metrics", "nll_nats", "parse_metrics", "precision_recall", "reference_names",
    "score_images",
]
