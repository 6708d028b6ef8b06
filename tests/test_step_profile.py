"""The training-step profile (benchmarks/step_profile.py): both loops split into matmul, optimiser, data and rest."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.step_profile import CATEGORIES, main  # noqa: E402

pytestmark = pytest.mark.usefixtures("data_dir")


def test_both_loops_are_split_and_the_parts_add_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "split.json"
    assert main(["--steps", "3", "--threads", "1", "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    for loop in ("seed", "imggen"):
        row = result[loop]
        assert row["matmul"] > 0 and row["optimizer"] > 0  # both loops multiply matrices and step Adam
        assert sum(row[c] for c in CATEGORIES) >= row["ms_per_step"] * (1 - 1e-9)  # "other" is the remainder
    assert result["seed"]["data"] > 0  # the seed's DataLoader shows up as data
    assert result["flops_per_image"]["seed"] > result["flops_per_image"]["imggen"]  # D weight grads in the G step
    plain = result["unprofiled_ms_per_step"]
    assert result["ratio"] == pytest.approx(plain["seed"] / plain["imggen"])
    assert result["ratio_bound"] == pytest.approx(plain["seed"] / result["imggen_matmul_and_optimizer_ms"])
    assert "it would be at most" in capsys.readouterr().out
