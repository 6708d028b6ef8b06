"""The gan trainer: a few real steps, exact resume after kill -9, NaN stop, DDP on two CPU processes, export."""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
import torch
from click.testing import CliRunner

import imggen
from imggen.cli import cli
from imggen.train import CheckpointManager, TrainingDivergedError
from imggen.train.recipe import fold_noise_scale, load_recipe, run_recipe

TINY = {"generator_args": {"widths": [32, 64]}, "batch_size": 16, "progress": False}


def tiny_trainer(out=None, **kwargs):
    return imggen.create_trainer("gan", **{**TINY, "out": out, **kwargs})


def test_steps_update_both_networks_and_ema(data_dir):
    trainer = tiny_trainer(generator="cgan-mlp-mnist", augment=["color", "translation", "cutout"], r1=1.0)
    g0 = [p.clone() for p in trainer.g_raw.parameters()]
    stats = trainer.fit(steps=5)
    assert stats["steps"] == 5 and stats["images_per_s"] > 0
    assert all(not torch.equal(a, b) for a, b in zip(g0, trainer.g_raw.parameters(), strict=True))
    ema = trainer.generator_to_export
    assert ema is not trainer.g_raw and ema.sample(4, labels=[1], seed=0).shape == (4, 1, 28, 28)


@pytest.mark.parametrize("loss", ["hinge", "lsgan"])
def test_other_losses_and_n_critic_run(data_dir, loss):
    trainer = tiny_trainer(loss=loss, n_critic=2)
    assert trainer.fit(steps=3)["steps"] == 3


def test_integer_betas_are_accepted(data_dir):
    assert tiny_trainer(betas_g=(0, 0.99), betas_d=[0, 0.99]).fit(steps=1)["steps"] == 1  # as --set writes them


def test_wgan_gp_runs(data_dir):
    assert tiny_trainer(loss="wgan", gp=10.0, n_critic=2).fit(steps=2)["steps"] == 2


def test_bad_trainer_arguments_are_named(data_dir):
    with pytest.raises(TypeError, match="lr_gen"):
        imggen.create_trainer("gan", lr_gen=1e-3)
    with pytest.raises(ValueError, match="exactly one"):
        tiny_trainer().fit()
    with pytest.raises(ValueError, match="precision"):
        tiny_trainer(precision="fp8")


RUN = textwrap.dedent(
    """
    import sys, imggen
    out, steps, resume = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
    trainer = imggen.create_trainer("gan", generator_args={"widths": [32, 64]}, batch_size=16, progress=False,
                                    out=out, checkpoint_every=100, log_every=100, seed=3)
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


@pytest.mark.slow
def test_resume_after_kill_9_is_bitwise_identical(tmp_path, data_dir):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert run(straight, 2000).wait() == 0
    proc = run(killed, 2000)
    deadline = time.time() + 240
    while checkpoint_step(killed / "last.pt") < 1000 and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stopped_at = checkpoint_step(killed / "last.pt")
    assert 1000 <= stopped_at < 2000, f"kill landed at step {stopped_at}; expected mid-run"
    assert not list(killed.glob(".*.tmp")), "a killed run must not leave temporary files that look like checkpoints"
    assert run(killed, 2000, resume=True).wait() == 0
    a, b = CheckpointManager(straight).load(), CheckpointManager(killed).load()
    assert a["step"] == b["step"] == 2000
    for part in ("g", "d", "ema"):
        for key in a[part]:
            assert torch.equal(a[part][key], b[part][key]), f"{part}.{key} differs after resume"
    assert torch.equal(a["rng"]["trainer"], b["rng"]["trainer"])


def test_nan_stops_training_and_keeps_last_good_checkpoint(tmp_path, data_dir):
    tiny_trainer(out=tmp_path, checkpoint_every=10, log_every=10).fit(steps=10)
    good = CheckpointManager(tmp_path).load()
    exploding = tiny_trainer(out=tmp_path, checkpoint_every=10, log_every=10, real_range=(0.0, 1e38), loss="lsgan")
    with pytest.raises(TrainingDivergedError, match="diverged") as err:
        exploding.fit(steps=40, resume=True)
    assert "last.pt" in str(err.value)
    kept = CheckpointManager(tmp_path).load()
    assert kept["step"] == 10
    assert all(torch.equal(kept["g"][k], good["g"][k]) for k in good["g"])


DDP = textwrap.dedent(
    """
    import hashlib, os, sys, torch, imggen
    trainer = imggen.create_trainer("gan", generator="cgan-mlp-mnist", generator_args={"widths": [32, 64]},
                                    batch_size=32, progress=False, seed=5, imle=float(sys.argv[2]))
    before = torch.cat([p.detach().flatten() for p in trainer.g_raw.parameters()]).clone()
    trainer.fit(steps=8)
    state = {**trainer.g_raw.state_dict(), **{"d." + k: v for k, v in trainer.d_raw.state_dict().items()},
             **{"ema." + k: v for k, v in trainer.ema.state_dict().items()}}
    digest = hashlib.sha256(b"".join(v.cpu().numpy().tobytes() for _, v in sorted(state.items()))).hexdigest()
    moved = not torch.equal(before, torch.cat([p.detach().flatten() for p in trainer.g_raw.parameters()]))
    with open(os.path.join(sys.argv[1], f"rank{trainer.rank}.txt"), "w") as fh:
        fh.write(f"{trainer.world_size} {moved} {digest}")
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("imle", [0.0, 0.3])  # with IMLE the generator runs twice before one backward
def test_ddp_two_cpu_processes_end_with_identical_weights(tmp_path, data_dir, imle):
    script = tmp_path / "ddp_run.py"
    script.write_text(DDP)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_addr=127.0.0.1",
           "--master_port=0", "--rdzv_backend=c10d", "--rdzv_endpoint=127.0.0.1:0", str(script),
           str(tmp_path), str(imle)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    ranks = [(tmp_path / f"rank{r}.txt").read_text().split() for r in (0, 1)]
    assert ranks[0][:2] == ["2", "True"] and ranks[1][:2] == ["2", "True"]
    assert ranks[0][2] == ranks[1][2]


def test_export_round_trips_through_create_model(tmp_path, data_dir):
    trainer = tiny_trainer(generator="cgan-mlp-mnist")
    trainer.fit(steps=3)
    folder = trainer.export(tmp_path / "w", half=False, meta={"note": "test"})
    model = imggen.create_model(str(folder))
    meta = json.loads((folder / "config.json").read_text())["meta"]
    assert meta["steps"] == 3 and meta["data"] == "mnist" and meta["note"] == "test"
    assert set(meta["data_sha256"]) == {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"}
    assert torch.equal(model.sample(4, labels=[2], seed=1), trainer.generator_to_export.sample(4, labels=[2], seed=1))


def test_cli_train_writes_checkpoint_and_sample_grid(tmp_path, data_dir):
    result = CliRunner().invoke(cli, ["train", "gan-mlp-mnist", "--steps", "4", "--batch-size", "16",
                                      "--augment", "translation", "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output[result.output.index("{"):])["steps"] == 4
    assert CheckpointManager(tmp_path).load()["step"] == 4


RECIPE = """
[trainer]
name = "gan"
generator = "cgan-mlp-mnist"
generator_args = {{ widths = [32, 64] }}
batch_size = 16
progress = false

[fit]
steps = 3

[eval]
n = 1000

[export]
folder = "{folder}"
half = true
description = "test recipe"
"""


def test_recipe_trains_evaluates_and_exports_with_provenance(tmp_path, data_dir):
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE.format(folder=(tmp_path / "weights").as_posix()))
    result = CliRunner().invoke(cli, ["train", "--recipe", str(recipe), "--out", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.output[result.output.index("{"):])
    meta = json.loads((tmp_path / "weights" / "config.json").read_text())["meta"]
    assert meta["recipe_text"] == recipe.read_text() and meta["steps"] == 3
    assert meta["recipe_resolved"]["trainer"]["batch_size"] == 16
    assert json.loads((tmp_path / "run" / "stats.json").read_text()) == json.loads(json.dumps(stats))
    assert set(meta["metrics"]) >= {"fd", "precision", "recall", "cond_acc"}
    assert stats["sha256"] == imggen.create_model(str(tmp_path / "weights")).weights_sha256


def test_recipe_noise_scale_is_folded_into_the_exported_weights_before_evaluation(tmp_path, data_dir):
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE.format(folder=(tmp_path / "plain").as_posix()))
    plain = run_recipe(recipe, tmp_path / "run")
    folded = run_recipe(recipe, tmp_path / "run", resume=True,  # the finished run, exported again
                        settings=["export.noise_scale=1.5", f"export.folder='{(tmp_path / 'folded').as_posix()}'"])
    a, b = (imggen.create_model(str(tmp_path / name)) for name in ("plain", "folded"))
    assert json.loads((tmp_path / "folded" / "config.json").read_text())["meta"]["noise_scale"] == 1.5
    k = a.noise_dim  # noise columns scaled (in half precision), label columns kept
    torch.testing.assert_close(b.net[0].weight[:, :k], a.net[0].weight[:, :k] * 1.5, rtol=2e-3, atol=0)
    assert torch.equal(b.net[0].weight[:, k:], a.net[0].weight[:, k:])
    assert folded["metrics"] != plain["metrics"]  # measured on the folded weights
    with pytest.raises(ValueError, match="cannot: remove the setting"):
        fold_noise_scale(torch.nn.Linear(2, 2), 1.5)


def test_recipe_with_unknown_section_is_rejected(tmp_path):
    recipe = tmp_path / "bad.toml"
    recipe.write_text("[trainer]\ngenerator = 'gan-mlp-mnist'\n[fitt]\nsteps = 1\n")
    with pytest.raises(ValueError, match="fitt"):
        load_recipe(recipe)


def test_recipe_extends_another_and_changes_only_what_it_sets(tmp_path):
    (tmp_path / "base.toml").write_text("[trainer]\ngenerator = 'gan-mlp-mnist'\nr1 = 10.0\nlr_g = 1e-4\n"
                                        "[fit]\nepochs = 100\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "child.toml").write_text("extends = '../base.toml'\n[trainer]\nr1 = 3.0\n"
                                                 "[export]\nfolder = 'w'\n")
    recipe = load_recipe(tmp_path / "sub" / "child.toml")
    assert recipe == {"trainer": {"generator": "gan-mlp-mnist", "r1": 3.0, "lr_g": 1e-4}, "fit": {"epochs": 100},
                      "export": {"folder": "w"}}
    (tmp_path / "loop.toml").write_text("extends = 'loop.toml'\n[trainer]\n")
    with pytest.raises(ValueError, match="extends itself"):
        load_recipe(tmp_path / "loop.toml")
    (tmp_path / "orphan.toml").write_text("extends = 'missing.toml'\n")
    with pytest.raises(FileNotFoundError, match="missing.toml"):
        load_recipe(tmp_path / "orphan.toml")


def test_recipe_settings_change_values_and_are_recorded(tmp_path, data_dir):
    recipe = tmp_path / "tiny.toml"
    recipe.write_text(RECIPE.format(folder=(tmp_path / "weights").as_posix()))
    result = CliRunner().invoke(cli, ["train", "--recipe", str(recipe), "--out", str(tmp_path / "run"),
                                      "--set", "fit.steps=2", "--set", "trainer.loss=hinge",
                                      "--set", "trainer.betas_g=[0.0, 0.99]"])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "weights" / "config.json").read_text())["meta"]
    assert meta["steps"] == 2 and meta["trainer_args"]["loss"] == "hinge"
    assert meta["trainer_args"]["betas_g"] == [0.0, 0.99]
    assert meta["settings"] == ["fit.steps=2", "trainer.loss=hinge", "trainer.betas_g=[0.0, 0.99]"]


def test_bad_recipe_setting_names_the_form(tmp_path):
    from imggen.train.recipe import apply_settings

    with pytest.raises(ValueError, match="SECTION.KEY=VALUE"):
        apply_settings({"trainer": {}}, ["r1=1"])
    with pytest.raises(ValueError, match="SECTION.KEY=VALUE"):
        apply_settings({"trainer": {}}, ["fitt.steps=1"])
    assert apply_settings({"trainer": {"loss": "ns"}}, ["trainer.loss=hinge"])["trainer"]["loss"] == "hinge"


def test_training_settings_leave_out_output_and_reporting():
    from imggen.train.recipe import training_settings

    settings = ["fit.epochs=200", "trainer.eval_every=50", "trainer.progress=false", "export.folder='runs/w'",
                "trainer.mismatched_labels=1.0", "eval.n=5000", "export.noise_scale=1.3"]
    assert training_settings(settings) == ["fit.epochs=200", "trainer.mismatched_labels=1.0", "eval.n=5000",
                                           "export.noise_scale=1.3"]


def test_cuda_graphs_need_a_cuda_device(data_dir):
    with pytest.raises(ValueError, match="cuda_graphs=True needs one CUDA device"):
        tiny_trainer(cuda_graphs=True)
    assert not tiny_trainer().cuda_graphs  # the default is off on the CPU


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
@pytest.mark.parametrize("options", [{}, {"generator": "cgan-mlp-mnist", "r1": 10.0, "augment": ["translation"]},
                                     {"loss": "wgan", "gp": 10.0, "n_critic": 2},
                                     {"generator": "cgan-mlp-mnist", "mode_seeking": 1.0, "mismatched_labels": 0.25},
                                     {"spectral_norm": True, "r1": 10.0},
                                     {"generator": "cgan-mlp-mnist", "imle": 0.3, "n_critic": 2},
                                     {"instance_noise": 0.2, "lr_decay_start": 0.5},
                                     {"generator": "cgan-mlp-mnist", "pack": 2, "r1": 10.0},
                                     {"generator": "cgan-mlp-mnist", "loss": "rpgan", "r1": 3.0, "r2": 3.0,
                                      "mismatched_labels": 0.1},
                                     {"discriminator_args": {"dropout": 0.3}, "r1": 3.0}])
def test_cuda_graph_steps_match_eager_steps(data_dir, options):
    """Replayed graphs must draw fresh noise every step and update like eager steps on the same random stream."""
    graphs = tiny_trainer(device="cuda", cuda_graphs=True, **options)
    eager = tiny_trainer(device="cuda", cuda_graphs=False, **options)
    eager.step_rng = None  # the same random stream the graphed trainer draws from
    torch.manual_seed(0)
    graphs.fit(steps=12)
    torch.manual_seed(0)
    eager.fit(steps=12)
    assert graphs.graph.graph is not None  # captured after the warm-up steps, then replayed
    for a, b in zip(graphs.state_dict()["g"].values(), eager.state_dict()["g"].values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    for a, b in zip(graphs.ema.state_dict().values(), eager.ema.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_bf16_autocast_on_cpu_runs_the_networks_in_bf16_and_keeps_fp32_weights(data_dir):
    """The same first step in both precisions: losses agree to bf16 accuracy but not bit for bit."""
    losses = {}
    for precision in ("fp32", "bf16"):
        trainer = tiny_trainer(precision=precision, r1=1.0)
        losses[precision] = trainer.step(trainer.images[:16], trainer.labels[:16])
        assert all(p.dtype == torch.float32 for p in trainer.g_raw.parameters())
    for name in ("d_loss", "g_loss"):
        assert not torch.equal(losses["fp32"][name], losses["bf16"][name])
        torch.testing.assert_close(losses["bf16"][name], losses["fp32"][name], rtol=2e-2, atol=1e-3)


def test_rpgan_with_r2_trains_and_r2_adds_a_penalty_at_the_fakes(data_dir):
    """R2 draws no random numbers, so the first step sees the same batch and fakes with and without it."""
    d_losses = []
    for r2 in (0.0, 100.0):
        trainer = tiny_trainer(generator="cgan-mlp-mnist", loss="rpgan", r1=1.0, r2=r2, mismatched_labels=0.25)
        d_losses.append(trainer.step(*trainer.batch(0))["d_loss"])
    assert d_losses[1] > d_losses[0]
    stats = trainer.fit(steps=4)
    assert stats["steps"] == 4 and all(math.isfinite(stats[k]) for k in ("d_loss", "g_loss"))


def test_mismatched_labels_draw_every_wrong_label_and_train(data_dir):
    trainer = tiny_trainer(generator="cgan-mlp-mnist", mismatched_labels=1.0)
    labels = torch.arange(10).repeat(200)
    wrong = trainer._wrong_labels(labels)
    assert (wrong != labels).all()
    assert all(set(wrong[labels == k].tolist()) == set(range(10)) - {k} for k in range(10))
    assert trainer.fit(steps=3)["steps"] == 3
    assert tiny_trainer(generator="cgan-mlp-mnist", mismatched_labels=0.25).fit(steps=2)["steps"] == 2
    with pytest.raises(ValueError, match="needs a conditional generator"):
        tiny_trainer(mismatched_labels=1.0)
    with pytest.raises(ValueError, match=r"fraction of the real batch in \[0, 1\]"):
        tiny_trainer(generator="cgan-mlp-mnist", mismatched_labels=2)


def test_mode_seeking_pairs_share_labels_and_trains(data_dir):
    trainer = tiny_trainer(generator="cgan-mlp-mnist", mode_seeking=1.0)
    paired = trainer._paired(torch.arange(7))
    assert paired.tolist() == [0, 1, 2, 0, 1, 2, 6]
    assert tiny_trainer(generator="cgan-mlp-mnist")._paired(torch.arange(4)).tolist() == [0, 1, 2, 3]
    g0 = [p.clone() for p in trainer.g_raw.parameters()]
    assert trainer.fit(steps=3)["steps"] == 3
    assert all(not torch.equal(a, b) for a, b in zip(g0, trainer.g_raw.parameters(), strict=True))
    assert tiny_trainer(mode_seeking=1.0).fit(steps=2)["steps"] == 2  # unconditional: any two samples pair
    with pytest.raises(ValueError, match="mode_seeking is a weight >= 0"):
        tiny_trainer(mode_seeking=-1.0)


def test_imle_searches_a_pool_per_real_image_and_moves_the_generator(data_dir):
    trainer = tiny_trainer(generator="cgan-mlp-mnist", imle=1.0, imle_pool=3)
    real, labels = trainer.images[:16], trainer.labels[:16]
    loss = trainer._imle_loss(real, labels)
    assert loss.item() > 0 and loss.requires_grad
    loss.backward()
    assert all(p.grad is not None for p in trainer.g_raw.parameters())
    assert all(p.grad is None for p in trainer.d_raw.parameters())  # the term involves no discriminator
    assert trainer.fit(steps=3)["steps"] == 3
    assert tiny_trainer(imle=0.3, n_critic=2).fit(steps=2)["steps"] == 2  # unconditional: any sample can match
    with pytest.raises(ValueError, match="imle needs a weight >= 0"):
        tiny_trainer(imle=-1.0)


def test_instance_noise_reaches_the_discriminator_and_falls_to_zero(data_dir):
    trainer = tiny_trainer(instance_noise=0.5, lr_decay_start=0.5)
    x = torch.zeros(64, 1, 28, 28)
    trainer._schedule(total=10)
    assert trainer._augment(x).std().item() == pytest.approx(0.5, rel=0.1)
    trainer.fit(steps=10)
    assert trainer.noise_std.item() == pytest.approx(0.05)  # the last step's: one step of ten left
    trainer._schedule(total=10)
    assert torch.equal(trainer._augment(x), x)
    assert tiny_trainer()._augment(x) is x
    with pytest.raises(ValueError, match="instance_noise is a standard deviation"):
        tiny_trainer(instance_noise=-0.1)


def test_pack_feeds_the_discriminator_same_label_packs_and_trains(data_dir):
    from imggen.train.packing import grouped_permutation

    labels = torch.tensor([0, 1, 0, 1, 1, 0, 2])
    perm = grouped_permutation(labels, 2, torch.Generator().manual_seed(0))
    assert len(perm) == 4 and len(set(perm.tolist())) == 4  # classes 0 and 1: one pack of 2 each; class 2: none
    assert (labels[perm[0::2]] == labels[perm[1::2]]).all()
    trainer = tiny_trainer(generator="cgan-mlp-mnist", pack=2, r1=1.0)
    real, labels = trainer.batch(0)
    assert (labels[0::2] == labels[1::2]).all()
    assert trainer.d_raw(real, labels).shape == (8,)  # one logit per pack of two
    assert trainer.fit(steps=3)["steps"] == 3
    assert tiny_trainer(pack=4, loss="wgan", gp=1.0).fit(steps=2)["steps"] == 2
    with pytest.raises(ValueError, match="pack must be >= 1 and divide"):
        tiny_trainer(pack=3)
    with pytest.raises(ValueError, match="cannot be combined"):
        tiny_trainer(generator="cgan-mlp-mnist", pack=2, mismatched_labels=0.5)


def test_spectral_norm_keeps_the_discriminator_weights_at_unit_spectral_norm(data_dir):
    trainer = tiny_trainer(spectral_norm=True, r1=1.0)
    trainer.fit(steps=20)  # each forward runs one power iteration; the estimate converges as training goes on
    linears = [m for m in trainer.d_raw.modules() if isinstance(m, torch.nn.Linear)]
    assert linears and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in linears)
    for layer in linears:
        assert torch.linalg.matrix_norm(layer.weight.detach(), ord=2).item() == pytest.approx(1.0, rel=0.05)
    assert not any(torch.nn.utils.parametrize.is_parametrized(m) for m in trainer.g_raw.modules())


def test_discriminator_dropout_is_on_in_training_and_resumes_exactly(tmp_path, data_dir):
    args = {"discriminator_args": {"dropout": 0.5}, "checkpoint_every": 3, "sample_every": 0}
    trainer = tiny_trainer(tmp_path / "straight", **args)
    trainer.fit(steps=6)
    tiny_trainer(tmp_path / "resumed", **args).fit(steps=3)
    resumed = tiny_trainer(tmp_path / "resumed", **args)
    resumed.fit(steps=6, resume=True)  # the masks continue from the saved global RNG state
    for a, b in zip(trainer.d_raw.state_dict().values(), resumed.d_raw.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    x = torch.zeros(8, 1, 28, 28)
    assert not torch.equal(trainer.d_raw(x), trainer.d_raw(x))  # dropout is on: a fresh mask per call
    with pytest.raises(ValueError, match="dropout is a probability"):
        tiny_trainer(discriminator_args={"dropout": 1.0})


def test_lr_decay_reaches_zero_at_the_last_step(data_dir):
    trainer = tiny_trainer(lr_decay_start=0.5, lr_g=1e-3, lr_d=2e-3)
    trainer.fit(steps=4)
    assert trainer.opt_g.param_groups[0]["lr"] == pytest.approx(1e-3 * 1 / 2)  # the 4th step ran at half the rate
    trainer.fit(steps=6)  # a longer run: the schedule follows the new total
    assert trainer.opt_d.param_groups[0]["lr"] == pytest.approx(2e-3 * 1 / 3)
    with pytest.raises(ValueError, match="lr_decay_start"):
        tiny_trainer(lr_decay_start=1.5)
