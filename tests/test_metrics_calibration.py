"""Calibration: the metrics order real, perturbed, two-class and noise sets as a person would, in each feature space."""

from __future__ import annotations

from pathlib import Path

import pytest

from imggen.metrics.calibrate import (
    BLUR,
    FLOOR,
    NOISE,
    TWO,
    UNIFORM,
    blind_spots,
    calibrate,
    ordering_problems,
)
from imggen.metrics.reference import feature_networks
from imggen.reports.calibration import to_markdown

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_metrics_order_the_calibration_sets_as_a_person_would(dataset: str, data_dir: Path) -> None:
    results = calibrate([dataset], n=2000)
    assert list(results) == feature_networks(dataset) and len(results) == 2  # the CNN and the timm ResNet
    for scores in results.values():
        assert ordering_problems(scores) == []
        assert scores[FLOOR]["class_coverage"] == 1.0 and scores[TWO]["class_coverage"] <= 0.4  # 2 classes + errors
        assert scores[UNIFORM]["fd"] > 10 * scores[FLOOR]["fd"]
    page = to_markdown(results, 2000, 0)
    assert page.count("**passes**") == 2 and f"| {FLOOR} |" in page
    assert all(f"## {dataset} (feature network `{network}`" in page for network in results)


def test_ordering_check_reports_a_misordered_table_and_blind_spots() -> None:
    keys = ("fd", "precision", "recall", "coverage", "class_coverage", "class_kl")
    row = lambda *values: dict(zip(keys, values, strict=True))  # noqa: E731
    scores = {FLOOR: row(1.0, 0.8, 0.8, 0.9, 1.0, 0.0), NOISE: row(5.0, 0.6, 0.3, 0.3, 1.0, 0.2),
              BLUR: row(4.0, 0.9, 0.2, 0.2, 1.0, 0.0), TWO: row(8.0, 0.85, 0.2, 0.2, 0.2, 1.6),
              UNIFORM: row(0.5, 0.0, 0.0, 0.0, 0.1, 2.0)}
    assert "fd: uniform noise (0.5) beats the floor (1)" in ordering_problems(scores)
    scores[UNIFORM]["fd"] = 50.0
    assert ordering_problems(scores) == []
    assert blind_spots(scores) == ["precision rates 3x3 blur (0.9) at or above the floor (0.8)"]
    scores[TWO]["recall"] = 0.7
    assert ordering_problems(scores) == ["recall: two classes (0.7) not below half the floor (0.8)"]
    scores[NOISE]["precision"] = 0.95
    assert "precision: gaussian noise σ=0.2 (0.95) beats the floor (0.8)" in ordering_problems(scores)
