"""Progress bars on long work: drawn on a terminal, silent in pipes and logs and under ``imggen --quiet``."""

from __future__ import annotations

import io
import sys

import pytest

import imggen
from imggen import progress
from imggen.cli import main


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_bars_follow_the_terminal_and_quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert not progress.bars_enabled()
    monkeypatch.setattr(sys, "stderr", Terminal())
    assert progress.bars_enabled() and not progress.bars_enabled(False)
    monkeypatch.setattr(progress, "QUIET", True)
    assert not progress.bars_enabled() and progress.bars_enabled(True)


def test_a_bar_counts_its_work(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert list(progress.progress(range(3), desc="counting")) == [0, 1, 2]
    assert "counting:   0%|" in terminal.getvalue() and "| 0/3 [" in terminal.getvalue()


@pytest.mark.usefixtures("one_thread", "small_reference")
def test_evaluate_shows_a_bar_over_its_batches_when_asked(capsys: pytest.CaptureFixture[str]) -> None:
    from imggen.metrics import evaluate

    model = imggen.create_model("gan-mlp-mnist", widths=(8,), noise_dim=4)
    evaluate(model, n=300, metrics="fd", batch_size=100, progress=True)
    err = capsys.readouterr().err
    assert "sampling and scoring" in err and "/3 [" in err
    evaluate(model, n=300, metrics="fd", batch_size=100)  # the default (what the trainer calls): no bar
    assert capsys.readouterr().err == ""


@pytest.mark.usefixtures("one_thread", "small_reference")
@pytest.mark.parametrize("quiet", [False, True])
def test_imggen_eval_draws_a_bar_on_a_terminal_unless_quiet(quiet: bool, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    argv = ["eval", "gan-mlp-mnist", "--random-weights", "--reference", "mnist:test", "-n", "300",
            "--batch-size", "100", "--metrics", "fd"]
    assert main(["--quiet", *argv] if quiet else argv) == 0
    assert ("sampling and scoring" in terminal.getvalue()) != quiet
    assert not progress.QUIET  # --quiet lasts one call
