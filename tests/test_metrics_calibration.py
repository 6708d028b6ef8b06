"""Calibration: the metrics order real, perturbed, two-class and noise sets as a person would, in each feature space."""

from __future__ import annotations

from pathlib import Path

import pytest
from datafixtures import data_dir  # noqa: F401  (fixture)

from imggen.metrics.calibrate import FLOOR, TWO, UNIFORM, calibrate, ordering_problems, to_markdown


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["mnist", "fashion-mnist"])
def test_metrics_order_the_calibration_sets_as_a_person_would(dataset: str, data_dir: Path) -> None:  # noqa: F811
    results = calibrate([dataset], n=2000)
    scores = results[dataset]
    assert ordering_problems(scores) == []
    assert scores[FLOOR]["class_coverage"] == 1.0 and scores[TWO]["class_coverage"] == pytest.approx(0.2)
    assert scores[UNIFORM]["fd"] > 10 * scores[FLOOR]["fd"]
    page = to_markdown(results, 2000, 0)
    assert "**passes**" in page and f"| {FLOOR} |" in page


def test_ordering_check_reports_a_misordered_table() -> None:
    good = {"fd": 1.0, "precision": 0.8, "recall": 0.8, "coverage": 0.9, "class_coverage": 1.0, "class_kl": 0.0}
    scores = {FLOOR: good, TWO: {**good, "fd": 5.0, "recall": 0.2, "coverage": 0.2, "class_coverage": 0.2,
                                 "class_kl": 1.6},
              UNIFORM: {**good, "fd": 0.5, "precision": 0.0, "recall": 0.0, "coverage": 0.0, "class_coverage": 0.1,
                        "class_kl": 2.0}}
    problems = ordering_problems(scores)
    assert any(p.startswith("fd: uniform noise (0.5) beats the floor") for p in problems)
    scores[UNIFORM]["fd"] = 50.0
    assert ordering_problems(scores) == []
    scores[TWO]["recall"] = 0.7
    assert ordering_problems(scores) == ["recall: two classes (0.7) not below half the floor (0.8)"]
