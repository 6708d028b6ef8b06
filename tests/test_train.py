"""The one training loop and its tasks, through the public API: real steps on MNIST, exact resume after kill -9,
the divergence guard, DDP on two CPU processes, export, recipes and the CLI."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

import imggen
from imggen.cli import cli
from imggen.models.base import Generator
from imggen.train import CheckpointManager, TrainingDivergedError
from imggen.train.ema import EMA
from imggen.train.loop import lr_factor
from imggen.train.precision import resolve_precision
from imggen.train.recipe import apply_settings, load_recipe, run_recipe, training_settings

TINY = {"model_args": {"widths": [32, 64]}, "batch_size": 16, "progress": False, "precision": "fp32"}


def tiny_trainer(model="gan-mlp-mnist", out=None, task_args=None, **kwargs):
    return imggen.create_trainer("adversarial", model, **{**TINY, "out": out, "task_args": task_args or {}, **kwargs})


def flat(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()]).clone()


# -- the adversarial task -------------------------------------------------------------------------------------
def test_a_step_moves_both_networks_and_the_ema_follows(data_dir):
    trainer = tiny_trainer("cgan-mlp-mnist", ema_decay=0.9, task_args={
        "parts": {"r1": {"gamma": 1.0}, "diffaugment": {"policies": ["color", "translation", "cutout"]}}})
    g0, d0, e0 = flat(trainer.task.model), flat(trainer.task.critic), flat(trainer.model_to_export)
    trainer.fit(steps=5)
    g1, e1 = flat(trainer.task.model), flat(trainer.model_to_export)
    assert not torch.equal(g0, g1) and not torch.equal(d0, flat(trainer.task.critic))
    assert not torch.equal(e0, e1) and not torch.equal(e1, g1)  # the EMA moved, but lags the raw generator
    assert trainer.model_to_export.sample(4, labels=[1], seed=0).shape == (4, 1, 28, 28)


def test_the_ema_warm_up_follows_the_first_updates_and_ends_at_the_decay():
    def share_of_a_step_taken(warmup: bool, updates_before: int) -> float:
        model = nn.Linear(2, 2)
        ema = EMA(model, 0.999, warmup=warmup)
        ema.updates.fill_(updates_before)
        with torch.no_grad():
            model.weight.add_(1.0)  # the trained weights take a step of 1
        ema.update(model)
        return (ema.module.weight - model.weight + 1.0).abs().max().item()

    assert share_of_a_step_taken(False, 0) == pytest.approx(0.001, rel=1e-3)
    assert share_of_a_step_taken(True, 0) == pytest.approx(1 - 2 / 11, rel=1e-3)  # decay (1 + 1) / (10 + 1)
    assert share_of_a_step_taken(True, 10**6) == pytest.approx(0.001, rel=1e-3)


def test_a_checkpoint_from_before_a_setting_existed_resumes(tmp_path, data_dir):
    tiny_trainer(out=tmp_path, ema_decay=0.9, checkpoint_every=3).fit(steps=3)
    state = torch.load(tmp_path / "last.pt", weights_only=False)
    del state["config"]["ema_warmup"], state["ema"]["updates"]  # as written before the warm-up was added
    torch.save(state, tmp_path / "last.pt")
    resumed = tiny_trainer(out=tmp_path, ema_decay=0.9)
    assert resumed.fit(steps=4, resume=True)["steps"] == 4
    assert resumed.ema.updates.item() > 10**8  # counts as warmed up: it trained without a warm-up


@pytest.mark.parametrize("n_critic", [1, 3])
def test_n_critic_discriminator_updates_per_generator_update(data_dir, n_critic):
    trainer = tiny_trainer(task_args={"n_critic": n_critic, "loss": "hinge"})
    trainer.fit(steps=4)
    steps = {name: int(next(iter(opt.state.values()))["step"]) for name, opt in trainer.task.optimizers().items()}
    assert steps == {"g": 4, "d": 4 * n_critic}
    assert trainer.steps_per_epoch == 60000 // (16 * n_critic)


@pytest.mark.parametrize("loss", ["lsgan", "rpgan"])
def test_other_losses_train(data_dir, loss):
    trainer = tiny_trainer(task_args={"loss": loss})
    g0 = flat(trainer.task.model)
    stats = trainer.fit(steps=3)
    assert not torch.equal(g0, flat(trainer.task.model)) and all(map(lambda v: v == v, stats.values()))


def test_wgan_gp_and_betas_as_toml_writes_them(data_dir):
    trainer = tiny_trainer(task_args={"loss": "wgan", "n_critic": 2, "parts": {"gp": {"weight": 10.0}},
                                      "betas_g": [0, 0.99], "betas_d": [0, 0.99]})
    assert trainer.task.penalties and trainer.fit(steps=2)["steps"] == 2


def test_bad_arguments_are_named(data_dir):
    with pytest.raises(TypeError, match="lr_gen"):
        tiny_trainer(task_args={"lr_gen": 1e-3})
    with pytest.raises(ValueError, match="exactly one"):
        tiny_trainer().fit()
    with pytest.raises(ValueError, match="at least one step"):
        tiny_trainer().fit(epochs=1e-6)
    with pytest.raises(ValueError, match="precision"):
        tiny_trainer(precision="fp8")
    with pytest.raises(ValueError, match="n_critic"):
        tiny_trainer(task_args={"n_critic": 0})
    with pytest.raises(ValueError, match="needs a conditional generator"):
        tiny_trainer(task_args={"mismatched_labels": 0.1})
    with pytest.raises(imggen.errors.UnknownNameError, match="unknown part 'r3'"):
        tiny_trainer(task_args={"parts": {"r3": {}}})
    with pytest.raises(ValueError, match="lr_schedule"):
        tiny_trainer(lr_decay_start=0.5)


# -- the objective task ---------------------------------------------------------------------------------------
class TinyAutoencoder(Generator):
    """A linear autoencoder whose training loss is its reconstruction error (for the objective task)."""

    def __init__(self, latent: int = 8, image_shape=(1, 28, 28)) -> None:
        super().__init__()
        self.image_shape, self.latent = tuple(image_shape), latent
        self.enc, self.dec = nn.Linear(784, latent), nn.Linear(latent, 784)

    def training_loss(self, images, labels, rng):
        recon = torch.sigmoid(self.dec(self.enc(images.flatten(1))))
        return {"loss": (recon - images.flatten(1)).square().sum(1).mean()}

    def generate(self, n, labels, rng):
        z = torch.randn(n, self.latent, generator=rng)
        return torch.sigmoid(self.dec(z)).view(n, *self.image_shape)


def test_the_objective_task_lowers_the_models_own_loss_on_a_fixed_batch(data_dir, swap_registry):
    swap_registry("generators").register("tiny-autoencoder")(TinyAutoencoder)
    trainer = imggen.create_trainer("objective", "tiny-autoencoder", batch_size=32, progress=False,
                                    task_args={"lr": 3e-3})
    images, labels = trainer.batch(0)
    with torch.no_grad():
        before = float(trainer.task.model.training_loss(images, None, None)["loss"])
    for _ in range(20):
        trainer.step(images, labels)
    with torch.no_grad():
        after = float(trainer.task.model.training_loss(images, None, None)["loss"])
    assert after < 0.7 * before


def test_the_objective_task_refuses_a_model_without_its_own_loss(data_dir):
    with pytest.raises(TypeError, match="returns its own loss"):
        imggen.create_trainer("objective", "gan-mlp-mnist", progress=False)


# -- the classifier task --------------------------------------------------------------------------------------
def test_the_classifier_task_learns_and_scales_its_features(data_dir):
    trainer = imggen.create_trainer("classifier", "mnist-cnn", batch_size=64, progress=False, precision="fp32",
                                    task_args={"lr": 3e-3, "augment": {"translate_px": 1.0}})
    trainer.fit(steps=40)
    assert trainer.evaluate()["test_accuracy"] > 0.8  # chance is 0.1
    rms = trainer.task.finish(trainer.task.model)["feature_rms"]
    features = trainer.task.model.features(trainer.images[:1000])
    assert rms > 0 and float(features.square().mean().sqrt()) == pytest.approx(1.0, rel=0.1)


# -- the loop -------------------------------------------------------------------------------------------------
def test_lr_schedules():
    assert [lr_factor("constant", s, 100) for s in (0, 99)] == [1.0, 1.0]
    assert lr_factor("linear", 50, 100, decay_start=0.5) == 1.0 and lr_factor("linear", 75, 100, decay_start=0.5) == 0.5
    assert lr_factor("cosine", 10, 100, warmup=0.1) == 1.0 and lr_factor("cosine", 100, 100, warmup=0.1) == 0.0
    assert lr_factor("cosine", 4, 100, warmup=0.1) == 0.5  # linear warm-up


def test_precision_auto_uses_bf16_only_where_the_device_runs_it(monkeypatch):
    from imggen.train import precision

    monkeypatch.setattr(precision, "cpu_runs_bf16_natively", lambda: False)
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    precision._warn_emulated_bf16.cache_clear()
    with pytest.warns(RuntimeWarning, match="emulated"):
        assert resolve_precision("bf16", torch.device("cpu")) == "bf16"
    monkeypatch.setattr(precision, "cpu_runs_bf16_natively", lambda: True)
    assert resolve_precision("auto", torch.device("cpu")) == "bf16"


RUN = textwrap.dedent(
    """
    import sys, imggen
    out, steps, resume = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
    trainer = imggen.create_trainer("adversarial", "gan-mlp-mnist", model_args={"widths": [32, 64]}, batch_size=16,
                                    progress=False, out=out, checkpoint_every=50, log_every=50, seed=3,
                                    ema_decay=0.999, precision="fp32", task_args={"parts": {"r1": {"gamma": 1.0}}})
    trainer.fit(steps=steps, resume=resume)
    """
)


def run(out, steps, resume=False, **popen):
    return subprocess.Popen([sys.executable, "-c", RUN, str(out), str(steps), "1" if resume else "0"], **popen)


def checkpoint_step(path):
    try:
        return torch.load(path, weights_only=True)["step"]
    except (FileNotFoundError, RuntimeError, EOFError):
        return -1


def assert_same(a, b, where="checkpoint"):
    """Two checkpoint trees are equal: every tensor bit for bit, every other value exactly."""
    if isinstance(a, dict):
        assert set(a) == set(b), f"{where}: keys differ"
        for key in a:
            assert_same(a[key], b[key], f"{where}.{key}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{where}: lengths differ"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), f"{where} differs"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


@pytest.mark.slow
def test_resume_after_several_kill_9s_is_bitwise_identical(tmp_path, data_dir):
    """A soak: one run killed with SIGKILL at three random points and resumed each time ends exactly where an
    uninterrupted run ends: weights, optimiser moments and step counts, EMA, RNG states."""
    import random

    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert run(straight, 600).wait() == 0
    kill_points = sorted(random.Random(0).sample(range(100, 550, 50), 3))
    for i, point in enumerate(kill_points):
        proc = run(killed, 600, resume=i > 0)
        deadline = time.time() + 240
        while checkpoint_step(killed / "last.pt") < point and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert point <= checkpoint_step(killed / "last.pt") < 600, f"kill {i} landed at the wrong step"
    assert run(killed, 600, resume=True).wait() == 0
    a, b = CheckpointManager(straight).load(), CheckpointManager(killed).load()
    assert a["step"] == b["step"] == 600
    for part in ("task", "ema", "rng"):
        assert_same(a[part], b[part], part)
    assert not list(killed.glob(".*.tmp"))


def test_sigterm_saves_a_checkpoint_at_the_step_it_stopped_and_the_run_resumes(tmp_path, data_dir):
    proc = run(tmp_path, 100_000, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while checkpoint_step(tmp_path / "last.pt") < 50 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.5)  # somewhere between two checkpoints
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    stopped = checkpoint_step(tmp_path / "last.pt")
    assert proc.returncode != 0 and f"stopped by SIGTERM at step {stopped}" in err and "--resume" in err
    assert 50 < stopped < 100_000
    assert run(tmp_path, stopped + 3, resume=True).wait() == 0
    assert checkpoint_step(tmp_path / "last.pt") == stopped + 3


def test_nan_stops_training_and_keeps_last_good_checkpoint(tmp_path, data_dir):
    tiny_trainer(out=tmp_path, checkpoint_every=10, log_every=10).fit(steps=10)
    good = CheckpointManager(tmp_path).load()
    exploding = tiny_trainer(out=tmp_path, checkpoint_every=10, log_every=10,
                             task_args={"real_range": (0.0, 1e38), "loss": "lsgan"})
    with pytest.raises(TrainingDivergedError, match="diverged") as err:
        exploding.fit(steps=40, resume=True, resume_changes=["task_args"])
    assert "last.pt" in str(err.value)
    kept = CheckpointManager(tmp_path).load()
    assert kept["step"] == 10
    assert all(torch.equal(kept["task"]["net.g"][k], good["task"]["net.g"][k]) for k in good["task"]["net.g"])


DDP = textwrap.dedent(
    """
    import hashlib, os, sys, torch, imggen
    trainer = imggen.create_trainer("adversarial", "cgan-mlp-mnist", model_args={"widths": [32, 64]},
                                    batch_size=32, progress=False, seed=5, ema_decay=0.99, precision="fp32",
                                    task_args={"mismatched_labels": 0.1, "parts": {"r1": {"gamma": 1.0}}})
    before = torch.cat([p.detach().flatten() for p in trainer.task.model.parameters()]).clone()
    trainer.fit(steps=8)
    state = {**trainer.task.model.state_dict(), **{"d." + k: v for k, v in trainer.task.critic.state_dict().items()},
             **{"ema." + k: v for k, v in trainer.ema.state_dict().items()}}
    digest = hashlib.sha256(b"".join(v.cpu().numpy().tobytes() for _, v in sorted(state.items()))).hexdigest()
    moved = not torch.equal(before, torch.cat([p.detach().flatten() for p in trainer.task.model.parameters()]))
    with open(os.path.join(sys.argv[1], f"rank{trainer.rank}.txt"), "w") as fh:
        fh.write(f"{trainer.world_size} {moved} {digest}")
    """
)


@pytest.mark.slow
def test_ddp_two_cpu_processes_end_with_identical_weights(tmp_path, data_dir):
    script = tmp_path / "ddp_run.py"
    script.write_text(DDP)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           "--master_port=0", "--rdzv_backend=c10d", "--rdzv_endpoint=127.0.0.1:0", str(script), str(tmp_path)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [(tmp_path / f"rank{r}.txt").read_text().split() for r in (0, 1)]
    assert ranks[0][:2] == ["2", "True"] and ranks[1][:2] == ["2", "True"]
    assert ranks[0][2] == ranks[1][2]


# -- export and recipes ---------------------------------------------------------------------------------------
def test_export_records_data_and_protocol_and_round_trips(tmp_path, data_dir):
    trainer = tiny_trainer("cgan-mlp-mnist", ema_decay=0.99)
    trainer.fit(steps=3)
    folder = trainer.export(tmp_path / "w", half=False, meta={"note": "test"}, sampling={"noise_scale": 1.2})
    model = imggen.create_model(str(folder))
    config = json.loads((folder / "config.json").read_text())
    meta = config["meta"]
    assert meta["steps"] == 3 and meta["data"] == "mnist" and meta["note"] == "test"
    assert meta["precision"] == trainer.precision in ("fp32", "bf16")  # "auto" as resolved on this machine
    assert meta["protocol"] == {"real_range": [-1.0, 1.0], "reference": "mnist:test"}
    assert set(meta["data_sha256"]) == {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"}
    assert config["sampling"] == {"noise_scale": 1.2} and model.sampling_config == {"noise_scale": 1.2}
    assert torch.equal(model.sample(4, labels=[2], seed=1), trainer.model_to_export.sample(4, labels=[2], seed=1))


def test_cli_train_ends_in_a_folder_that_samples_and_export_writes_another(tmp_path, data_dir):
    run_dir = tmp_path / "run"
    result = CliRunner().invoke(cli, ["train", "gan-mlp-mnist", "--out", str(run_dir), "--set", "fit.steps=4",
                                      "--set", "trainer.batch_size=16", "--set", "trainer.progress=false",
                                      "--set", "task.parts.diffaugment.policies=['translation']"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{"):result.output.rindex("}") + 1])["steps"] == 4
    assert CheckpointManager(run_dir).load()["step"] == 4
    result = CliRunner().invoke(cli, ["sample", str(run_dir), "-n", "4", "-o", str(tmp_path / "s.png")])  # the run
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s.png").is_file()
    result = CliRunner().invoke(cli, ["export", str(run_dir), "-o", str(tmp_path / "again")])
    assert result.exit_code == 0, result.output
    a, b = (imggen.create_model(str(f)) for f in (run_dir / "weights", tmp_path / "again"))
    assert torch.equal(a.sample(3, seed=0), b.sample(3, seed=0))


RECIPE = """
[trainer]
task = "adversarial"
model = "cgan-mlp-mnist"
model_args = { widths = [32, 64] }
batch_size = 16
progress = false
precision = "fp32"

[task]
loss = "ns"

[task.parts]
r1 = { gamma = 1.0 }

[fit]
steps = 3

[eval]
n = 1000

[export]
half = true
description = "test recipe"
"""


@pytest.mark.slow
def test_recipe_trains_evaluates_and_exports_under_out_with_provenance(tmp_path, data_dir):
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE)
    result = CliRunner().invoke(cli, ["train", "--recipe", str(recipe), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output[result.output.index("{"):result.output.rindex("}") + 1])
    meta = json.loads((tmp_path / "run" / "weights" / "config.json").read_text())["meta"]
    assert meta["recipe_text"] == recipe.read_text() and meta["steps"] == 3
    assert meta["recipe"] == "tiny.toml"  # outside a recipes/ folder: its name, not the machine's path
    assert meta["recipe_resolved"]["task"]["parts"] == {"r1": {"gamma": 1.0}}
    assert json.loads((tmp_path / "run" / "stats.json").read_text()) == json.loads(json.dumps(stats))
    assert set(meta["metrics"]) >= {"fd", "precision", "recall", "cond_acc"}
    assert stats["sha256"] == imggen.create_model(str(tmp_path / "run" / "weights")).weights_sha256


def test_a_sampling_default_is_stored_in_the_config_not_folded_into_the_weights(tmp_path, data_dir):
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE.replace("[eval]\nn = 1000\n", ""))
    run_recipe(recipe, tmp_path / "run")
    run_recipe(recipe, tmp_path / "run", resume=True, export_to=tmp_path / "scaled",  # the same run, exported again
               settings=["export.sampling.noise_scale=1.5"])
    plain, scaled = (imggen.create_model(str(f)) for f in (tmp_path / "run" / "weights", tmp_path / "scaled"))
    assert all(torch.equal(a, b) for a, b in zip(plain.state_dict().values(), scaled.state_dict().values(),
                                                  strict=True))
    assert torch.equal(scaled.sample(4, labels=[3], seed=2), plain.sample(4, labels=[3], seed=2, noise_scale=1.5))
    assert torch.equal(scaled.sample(4, labels=[3], seed=2, noise_scale=1.0), plain.sample(4, labels=[3], seed=2))
    with pytest.raises(TypeError, match="its sampling options are: noise_scale"):
        plain.sample(2, labels=[0], temperature=0.5)


def test_recipe_with_unknown_section_is_rejected(tmp_path):
    recipe = tmp_path / "bad.toml"
    recipe.write_text("[trainer]\nmodel = 'gan-mlp-mnist'\n[fitt]\nsteps = 1\n")
    with pytest.raises(ValueError, match="fitt"):
        load_recipe(recipe)


def test_recipe_extends_another_and_changes_only_what_it_sets(tmp_path):
    (tmp_path / "base.toml").write_text("[trainer]\nmodel = 'gan-mlp-mnist'\n[task]\nlr_g = 1e-4\n"
                                        "[task.parts]\nr1 = { gamma = 10.0 }\ndiffaugment = {}\n[fit]\nepochs = 100\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "child.toml").write_text("extends = '../base.toml'\n[task.parts.r1]\ngamma = 3.0\n")
    recipe = load_recipe(tmp_path / "sub" / "child.toml")
    assert recipe == {"trainer": {"model": "gan-mlp-mnist"}, "fit": {"epochs": 100},
                      "task": {"lr_g": 1e-4, "parts": {"r1": {"gamma": 3.0}, "diffaugment": {}}}}
    (tmp_path / "loop.toml").write_text("extends = 'loop.toml'\n[trainer]\n")
    with pytest.raises(ValueError, match="extends itself"):
        load_recipe(tmp_path / "loop.toml")
    (tmp_path / "orphan.toml").write_text("extends = 'missing.toml'\n")
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        load_recipe(tmp_path / "orphan.toml")


def test_settings_reach_nested_tables_and_only_training_ones_count():
    recipe = apply_settings({"trainer": {"model": "x"}}, ["task.parts.r1.gamma=3", "fit.steps=2", "trainer.seed=4",
                                                          "task.betas_g=[0.0, 0.99]", "task.loss=hinge"])
    assert apply_settings({"trainer": {}, "fit": {"epochs": 1}}, ["fit.steps=5"])["fit"] == {"steps": 5}
    assert recipe == {"trainer": {"model": "x", "seed": 4}, "fit": {"steps": 2},
                      "task": {"parts": {"r1": {"gamma": 3}}, "betas_g": [0.0, 0.99], "loss": "hinge"}}
    with pytest.raises(ValueError, match="SECTION.KEY=VALUE"):
        apply_settings({"trainer": {}}, ["r1=1"])
    with pytest.raises(ValueError, match="is a value, not a table"):
        apply_settings({"trainer": {}, "task": {"loss": "ns"}}, ["task.loss.x=1"])
    assert training_settings(["trainer.progress=false", "export.description=x", "export.sampling.noise_scale=2",
                              "task.lr_g=1"]) == ["export.sampling.noise_scale=2", "task.lr_g=1"]


def test_a_recipe_run_from_anywhere_never_writes_into_the_package(tmp_path, data_dir, monkeypatch):
    package = Path(imggen.__file__).parent
    before = {p: p.stat().st_mtime_ns for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    monkeypatch.chdir(package.parent.parent)  # the repository root, where old recipes wrote src/imggen/weights/...
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE.replace("[eval]\nn = 1000\n", ""))
    stats = run_recipe(recipe, tmp_path / "run")
    assert Path(stats["folder"]) == tmp_path / "run" / "weights"
    with pytest.raises(ValueError, match="refusing to export into the installed imggen package"):
        run_recipe(recipe, tmp_path / "run2", export_to=package / "weights" / "x")
    after = {p: p.stat().st_mtime_ns for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert after == before


def test_the_objective_task_feeds_a_model_what_it_declares_and_measures_nll_as_the_eval_asks(data_dir):
    trainer = imggen.create_trainer("objective", "vae-conv-mnist", batch_size=16, progress=False,
                                    model_args={"latent_dim": 4, "hidden": 16, "widths": [4, 8]})
    assert trainer.task.inputs == "binarized"  # the Bernoulli VAE's training_inputs
    assert set(trainer.task.prepare(trainer.batch(0)[0]).unique().tolist()) <= {0.0, 1.0}
    trainer.fit(steps=2)
    quick = trainer.task.nll(trainer.model_to_export, 8, {"k": 1})
    tight = trainer.task.nll(trainer.model_to_export, 8, {"k": 64})
    assert tight <= quick  # the IWAE bound tightens with k
    grey = imggen.create_trainer("objective", "vae-conv-fashion", data="fashion-mnist", batch_size=16, progress=False,
                                 model_args={"latent_dim": 4, "hidden": 16, "widths": [4, 8]})
    assert grey.task.inputs == "grey"
