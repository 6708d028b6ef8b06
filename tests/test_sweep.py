"""scripts/sweep.py: recipe variants run side by side, each exported and tabulated; a run past the timeout is
stopped and reported with what it logged."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RECIPE = """
[trainer]
name = "gan"
generator = "cgan-mlp-mnist"
generator_args = { widths = [32, 64] }
batch_size = 500
progress = false
eval_every = 1

[fit]
epochs = 1

[eval]
n = 1000

[export]
folder = "unused"
"""


@pytest.mark.slow
def test_sweep_runs_variants_and_tabulates_them(tmp_path, data_dir):
    (tmp_path / "tiny.toml").write_text(RECIPE)
    recipe = (tmp_path / "tiny.toml").as_posix()
    (tmp_path / "sweep.toml").write_text(
        f'set = ["trainer.eval_n=1000"]\n'
        f'[[run]]\nname = "slow"\nrecipe = "{recipe}"\nset = ["fit.epochs=1000"]\n'
        f'[[run]]\nname = "ns"\nrecipe = "{recipe}"\n'
        f'[[run]]\nname = "hinge"\nrecipe = "{recipe}"\nset = ["trainer.loss=hinge"]\n'
    )
    out = tmp_path / "runs"

    def sweep(*args):
        done = subprocess.run([sys.executable, str(ROOT / "scripts" / "sweep.py"), str(tmp_path / "sweep.toml"),
                               "--out", str(out), *args], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        return done.stdout

    started = time.monotonic()
    sweep("--only", "ns,hinge", "--jobs", "2")
    # two whole one-epoch runs side by side took this long: one run logs its first epoch well within twice that,
    # however busy the machine is
    sweep("--only", "slow", "--timeout", str(max(45, round(2 * (time.monotonic() - started)))))
    sweep("--summary")  # tabulates every run already in --out
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ns"]["finished"] and summary["hinge"]["finished"] and not summary["slow"]["finished"]
    assert summary["slow"]["epochs"] >= 1 and "recall" in summary["slow"]["metrics"]  # logged before the stop
    config = json.loads((out / "hinge" / "weights" / "config.json").read_text())
    assert config["meta"]["trainer_args"]["loss"] == "hinge"
    assert "| hinge | yes |" in (out / "summary.md").read_text()
    # a budget for the whole sweep: the running run is stopped, the queued one never starts
    out = tmp_path / "budget"
    printed = sweep("--only", "slow,ns", "--jobs", "1", "--budget", "10")
    assert "slow: stopped at the time limit" in printed and "not started (over the --budget): ns" in printed
    assert not (out / "ns").exists()
