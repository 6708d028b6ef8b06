"""Faults injected into training runs: runaway values, collapsed samples, a shared or unusable run folder, changed
configurations, torn and hostile checkpoints. Each must end in a named imggen error that says what to do, and lose
nothing: the last good checkpoint survives and the log has no duplicate records."""

import json
import pickle

import pytest
import torch

import imggen
from imggen.train import CheckpointError, CheckpointManager, DivergenceGuard, RunFolderError, TrainingDivergedError
from imggen.train.run_folder import RunFolder

TINY = {"model_args": {"widths": [32, 64]}, "batch_size": 16, "progress": False, "precision": "fp32"}


def tiny_trainer(out=None, task_args=None, **kwargs):
    return imggen.create_trainer("adversarial", "gan-mlp-mnist", **{**TINY, "out": out, "task_args": task_args or {},
                                                                   **kwargs})


def test_a_runaway_with_finite_losses_is_stopped_and_the_last_good_checkpoint_kept(tmp_path, data_dir):
    tiny_trainer(out=tmp_path, checkpoint_every=10, log_every=10).fit(steps=10)
    runaway = tiny_trainer(out=tmp_path, checkpoint_every=10, log_every=10, task_args={"lr_g": 1e6, "lr_d": 1e6})
    with pytest.raises(TrainingDivergedError, match="weight norm|mean \\|") as err:
        runaway.fit(steps=200, resume=True, resume_changes=["task_args"])
    assert "last.pt" in str(err.value)
    assert CheckpointManager(tmp_path).load()["step"] == 10


def test_samples_collapsed_to_one_image_are_caught(data_dir):
    trainer = tiny_trainer()
    guard = DivergenceGuard(trainer.task.networks(), trainer.task.model)
    assert guard.problems({"g_loss": 0.7}, check_samples=True) == []
    with torch.no_grad():
        trainer.task.model.net[-1].weight.zero_()  # every noise vector now gives the same image
    assert any("collapsed" in p for p in guard.problems({"g_loss": 0.7}, check_samples=True))


def test_a_nan_at_any_step_is_caught_at_the_next_check_even_if_the_mean_recovers():
    guard = DivergenceGuard({}, torch.nn.Linear(1, 1))
    guard.observe({"loss": torch.tensor(float("nan"))})
    guard.observe({"loss": torch.tensor(1.0)})
    assert any("NaN or infinite" in p for p in guard.problems({"loss": 1.0}))
    assert guard.problems({"loss": 1.0}) == []  # the flag is reset at each check


def test_a_run_folder_in_use_by_another_run_is_refused_naming_it(tmp_path, data_dir):
    owner = RunFolder(tmp_path)
    owner.acquire(min_free_bytes=0)
    try:
        with pytest.raises(RunFolderError, match=r"in use by another run \(process \d+ on .*choose another --out"):
            tiny_trainer(out=tmp_path).fit(steps=1)
    finally:
        owner.release()
    assert tiny_trainer(out=tmp_path).fit(steps=1)["steps"] == 1  # free again


def test_an_unwritable_or_full_run_folder_is_found_before_training(tmp_path, data_dir, monkeypatch):
    (tmp_path / "file").write_text("")
    with pytest.raises(RunFolderError, match="cannot write to the run folder"):
        tiny_trainer(out=tmp_path / "file" / "run").fit(steps=1)
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10, 9, 1))
    with pytest.raises(RunFolderError, match="only 0 MiB free"):
        tiny_trainer(out=tmp_path / "run").fit(steps=1)
    assert not (tmp_path / "run" / "last.pt").exists()


def test_resume_refuses_a_changed_configuration_unless_told(tmp_path, data_dir):
    tiny_trainer(out=tmp_path, checkpoint_every=5).fit(steps=5)
    with pytest.raises(RunFolderError, match=r"batch_size: 16 -> 32.*resume_changes=\['batch_size'\]"):
        tiny_trainer(out=tmp_path, batch_size=32).fit(steps=6, resume=True)
    assert tiny_trainer(out=tmp_path, batch_size=32).fit(steps=6, resume=True, resume_changes=["batch_size"])[
        "steps"] == 6
    assert tiny_trainer(out=tmp_path, batch_size=32, log_every=1).fit(steps=7, resume=True)["steps"] == 7  # reporting


def test_zero_periods_turn_events_off_but_the_run_still_ends_in_a_checkpoint(tmp_path, data_dir):
    tiny_trainer(out=tmp_path, checkpoint_every=0, log_every=0).fit(steps=7)
    assert CheckpointManager(tmp_path).load()["step"] == 7
    with pytest.raises(ValueError, match="checkpoint_every .*got -1"):
        tiny_trainer(checkpoint_every=-1)


def test_stale_temporary_files_go_and_the_log_has_no_duplicates_after_a_resume(tmp_path, data_dir):
    tiny_trainer(out=tmp_path, checkpoint_every=5, log_every=5).fit(steps=5)
    (tmp_path / ".last.pt.abc123.tmp").write_bytes(b"half a checkpoint")
    with open(tmp_path / "log.jsonl", "a") as fh:  # written after the checkpoint by a run killed before the next
        fh.write(json.dumps({"epoch": 1, "step": 8}) + "\n")
    (tmp_path / "log.jsonl").write_text((tmp_path / "log.jsonl").read_text() + json.dumps({"step": 5}) + "\n")
    tiny_trainer(out=tmp_path, checkpoint_every=5, log_every=5).fit(steps=6, resume=True)
    assert not list(tmp_path.glob(".*.tmp"))
    assert [json.loads(line)["step"] for line in (tmp_path / "log.jsonl").read_text().splitlines()] == [5]


@pytest.mark.parametrize(("content", "match"), [
    (b"", "truncated or corrupt"),
    (None, "truncated or corrupt"),  # the first half of a real checkpoint
    (pickle.dumps(type("Evil", (), {"__reduce__": lambda self: (print, ("pwned",))})()), "not tensors"),
], ids=["empty", "half-written", "arbitrary-pickle"])
def test_a_torn_or_hostile_checkpoint_is_a_clear_error(tmp_path, data_dir, content, match):
    tiny_trainer(out=tmp_path).fit(steps=2)
    path = tmp_path / "last.pt"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2] if content is None else content)
    with pytest.raises(CheckpointError, match=match):
        tiny_trainer(out=tmp_path).fit(steps=3, resume=True)


def test_a_checkpoint_that_cannot_be_written_keeps_the_previous_one(tmp_path, data_dir, monkeypatch):
    tiny_trainer(out=tmp_path, checkpoint_every=2).fit(steps=2)
    before = (tmp_path / "last.pt").read_bytes()

    def full_disk(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . PytorchStreamWriter failed writing file")

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(CheckpointError, match="disk full"):
        tiny_trainer(out=tmp_path, checkpoint_every=2).fit(steps=4, resume=True)
    assert (tmp_path / "last.pt").read_bytes() == before and not list(tmp_path.glob(".*.tmp"))
