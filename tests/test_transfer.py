"""Transfer learning: projected discriminators on timm backbones, backbone weights trained here and handed to timm,
fine-tuning from pretrained weights (init, freeze), data fractions, and the curves script."""

import importlib.util
import inspect
import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import save_file

import imggen
from imggen.cli import cli
from imggen.data import load_images
from imggen.errors import WeightsError
from imggen.hub import local_location, open_weights, save_pretrained
from imggen.train import RunFolderError, Trainer
from imggen.train.recipe import load_recipe, run_recipe
from imggen.train.warm_start import freeze

ROOT = Path(__file__).resolve().parents[1]
SMALL = {"resolution": 32, "channels": [8, 8, 16, 16], "head_width": 8}  # a cheap projected discriminator
TINY = {"model_args": {"widths": [32, 64]}, "batch_size": 16, "progress": False, "precision": "fp32"}


def projected(backbone="resnet10t", **kwargs):
    return imggen.create_discriminator("projected", backbone=backbone, **{**SMALL, **kwargs})


def flat(module):
    return torch.cat([p.detach().flatten() for p in module.parameters()]).clone()


# -- the projected discriminator ------------------------------------------------------------------------------
@pytest.mark.parametrize("backbone", ["resnet10t", "mobilenetv3_small_050", "convnext_atto", "efficientnet_b0"])
def test_projected_discriminator_on_several_timm_backbones_takes_28x28_grey_images(backbone):
    d = projected(backbone)
    logits = d(torch.rand(3, 1, 28, 28) * 2 - 1)
    assert logits.dim() == 2 and logits.shape[0] == 3 and logits.shape[1] >= 4 and torch.isfinite(logits).all()


def test_colour_images_and_the_backbones_own_input_size():
    d = projected("mobilenetv3_small_050", image_shape=(3, 32, 32), resolution=None, channels=[8, 8])
    assert d.resolution == 224 and d.mean.shape == (1, 3, 1, 1)  # timm's data config for the architecture
    assert d(torch.zeros(2, 3, 32, 32)).shape[0] == 2
    with pytest.raises(ValueError, match="has 5 feature levels"):
        projected("mobilenetv3_small_050", channels=[8] * 6)


def test_the_backbone_is_frozen_but_passes_gradients_to_the_images():
    d = projected("resnet10t").train()
    d.requires_grad_(True)  # as a training loop may call it: the heads only
    assert not d.projection.training and d.heads.training
    assert not any(p.requires_grad for p in d.projection.parameters())
    x = (torch.rand(2, 1, 28, 28) * 2 - 1).requires_grad_(True)
    d(x).sum().backward()
    assert x.grad.abs().sum() > 0
    assert all(p.grad is None for p in d.projection.parameters())
    assert all(p.grad is not None for p in d.heads.parameters())


def test_the_conditional_variant_projects_the_label_embedding():
    d = projected("convnext_atto", num_classes=10)
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    assert not torch.allclose(d(x, torch.tensor([0, 0])), d(x, torch.tensor([3, 7])))
    with pytest.raises(ValueError, match="pass labels"):
        d(x)


def test_by_default_an_images_logits_do_not_depend_on_the_batch_it_is_scored_in():
    x = torch.rand(4, 1, 28, 28) * 2 - 1
    # (without spectral norm, whose power iteration moves a little on every training-mode call)
    per_image = projected("resnet10t", spectral_norm=False).train()  # group norm: real and fake share a batch
    assert torch.allclose(per_image(x)[:2], per_image(x[:2]), atol=1e-5)
    batch_norm = projected("resnet10t", spectral_norm=False, norm="batch").train()  # the paper's heads
    assert not torch.allclose(batch_norm(x)[:2], batch_norm(x[:2]), atol=1e-5)
    with pytest.raises(ValueError, match="norm must be one of group, batch, none"):
        projected(norm="layer")


def test_every_loss_takes_patch_logits():
    real, fake = torch.randn(4, 37), torch.randn(8, 37)
    for name in imggen.list_losses():
        loss = imggen.create_loss(name)
        assert torch.isfinite(loss.d_loss(real, fake)) and torch.isfinite(loss.g_loss(fake, real))


def test_the_mixing_is_fixed_by_its_seed():
    a, b, c = projected(mixing_seed=1), projected(mixing_seed=1), projected(mixing_seed=2)
    assert torch.equal(flat(a.projection["mixing"]), flat(b.projection["mixing"]))
    assert not torch.equal(flat(a.projection["mixing"]), flat(c.projection["mixing"]))


# -- backbone weights trained here, loaded through timm --------------------------------------------------------
def test_a_backbone_trained_here_reaches_timm_with_its_input_size_and_statistics(tmp_path):
    net = imggen.create_feature_extractor("mnist-timm-convnext", pretrained=False)
    with torch.no_grad():
        for p in net.parameters():
            p.normal_()
    folder = save_pretrained(net, tmp_path / "backbone")
    d = projected("convnext_atto", backbone_weights=str(folder), resolution=None)
    assert d.resolution == 32 and float(d.mean) == pytest.approx(0.1307) and float(d.std) == pytest.approx(0.3081)
    saved = open_weights(local_location(folder)).state
    loaded = d.projection["backbone"].state_dict()
    assert torch.equal(loaded["stem_0.weight"], saved["net.stem.0.weight"])
    assert torch.equal(loaded["stages_3.blocks.1.mlp.fc2.weight"], saved["net.stages.3.blocks.1.mlp.fc2.weight"])
    # a plain timm state dict file goes to timm the same way
    file = tmp_path / "timm.safetensors"
    save_file({k.removeprefix("net."): v for k, v in saved.items() if k.startswith("net.")}, str(file))
    assert torch.equal(projected("convnext_atto", backbone_weights=str(file)).projection["backbone"]
                       .state_dict()["stem_0.weight"], saved["net.stem.0.weight"])
    with pytest.raises(ValueError, match="holds a 'convnext_atto' backbone, not 'resnet10t'"):
        projected("resnet10t", backbone_weights=str(folder))


def test_an_unpublished_imggen_backbone_says_how_to_get_one():
    with pytest.raises(WeightsError, match=r"no published weights yet.*recipes/backbones/mnist-timm-convnext.toml"):
        projected("convnext_atto", backbone_weights="imggen:mnist-timm-convnext")


def test_backbones_are_never_a_metrics_feature_space():
    from imggen.metrics.reference import feature_networks

    for dataset in ("mnist", "fashion-mnist"):
        assert not [n for n in feature_networks(dataset) if "convnext" in n]


# -- training with it ---------------------------------------------------------------------------------------
def test_two_adversarial_steps_with_the_projected_discriminator_move_the_generator_only_through_its_heads(data_dir,
                                                                                                        tmp_path):
    trainer = imggen.create_trainer(
        "adversarial", "cgan-dcgan-fashion", data="fashion-mnist", batch_size=8, progress=False, precision="fp32",
        task_args={"discriminator": "projected", "discriminator_args": {"backbone": "resnet10t", **SMALL}})
    critic = trainer.task.critic
    g0, bb0, h0 = flat(trainer.task.model), flat(critic.projection), flat(critic.heads)
    in_optimiser = {id(p) for group in trainer.task.opt_d.param_groups for p in group["params"]}
    assert in_optimiser == {id(p) for p in critic.heads.parameters()}
    trainer.fit(steps=2)
    assert not torch.equal(g0, flat(trainer.task.model)) and not torch.equal(h0, flat(critic.heads))
    assert torch.equal(bb0, flat(critic.projection))
    assert not any(p.requires_grad for p in critic.projection.parameters())
    bundle = imggen.registry.factory.load_bundle(trainer.save_bundle(tmp_path / "bundle"))
    assert torch.equal(flat(bundle["discriminator"]), flat(critic))  # the whole projected discriminator travels


# -- fine-tuning: freeze and init -------------------------------------------------------------------------------
def test_freeze_patterns_fix_parameters_and_take_them_out_of_the_optimiser(data_dir):
    trainer = imggen.create_trainer("adversarial", "gan-mlp-mnist", **TINY, freeze=["g.net.0.*", "d.net.0.weight"])
    g, d = trainer.task.model, trainer.task.critic
    frozen = [g.net[0].weight, g.net[0].bias, d.net[0].weight]
    before = [p.detach().clone() for p in frozen]
    assert not any(p.requires_grad for p in frozen) and d.net[0].bias.requires_grad
    in_optimisers = {id(p) for opt in trainer.task.optimizers().values()
                     for group in opt.param_groups for p in group["params"]}
    assert not in_optimisers & {id(p) for p in frozen}
    trainer.fit(steps=2)
    assert all(torch.equal(a, b) for a, b in zip(before, frozen, strict=True))
    assert not any(p.requires_grad for p in frozen)  # the generator step's switching left them alone
    networks = {"g": imggen.create_model("gan-mlp-mnist"), "d": imggen.create_discriminator("mlp")}
    with pytest.raises(ValueError, match=r"freeze pattern 'g.stem.\*' matches no parameter.*g.net.0.weight"):
        freeze(networks, ["g.stem.*"])
    with pytest.raises(ValueError, match="leave nothing to train in d"):
        freeze(networks, ["d.*"])


def test_init_from_a_published_weight_starts_the_generator_there(data_dir):
    trainer = imggen.create_trainer("adversarial", "cgan-mlp-mnist", batch_size=16, progress=False,
                                    init="cgan-mlp-mnist")
    published = imggen.create_model("cgan-mlp-mnist", pretrained=True)
    assert torch.equal(flat(trainer.task.model), flat(published))
    with pytest.raises(WeightsError, match="do not fit"):
        imggen.create_trainer("adversarial", "cgan-mlp-mnist", **TINY, init="cgan-mlp-mnist")  # other widths


def test_a_run_writes_a_bundle_that_init_starts_generator_discriminator_and_ema_from(tmp_path, data_dir):
    recipe = {"trainer": {"task": "adversarial", "model": "gan-mlp-mnist", "ema_decay": 0.9, **TINY},
              "fit": {"steps": 2}, "export": {"half": False}}
    run_recipe(recipe, tmp_path / "source")
    assert (tmp_path / "source" / "bundle" / "bundle.json").is_file()
    source = imggen.registry.factory.load_bundle(tmp_path / "source" / "bundle")
    tuned = imggen.create_trainer("adversarial", "gan-mlp-mnist", **TINY, ema_decay=0.9, init=str(tmp_path / "source"),
                                  out=tmp_path / "tuned")
    assert torch.equal(flat(tuned.task.model), flat(source["generator"]))
    assert torch.equal(flat(tuned.task.critic), flat(source["discriminator"]))
    assert torch.equal(flat(tuned.model_to_export), flat(source["ema"]))
    tuned.fit(steps=1)
    again = imggen.create_trainer("adversarial", "gan-mlp-mnist", **TINY, ema_decay=0.9, out=tmp_path / "tuned")
    with pytest.raises(RunFolderError, match="init"):  # resuming checks the recorded init
        again.fit(steps=2, resume=True)


def test_cli_init_and_freeze_are_recorded_in_the_exported_config(tmp_path, data_dir):
    result = CliRunner().invoke(cli, [
        "train", "cgan-mlp-mnist", "--out", str(tmp_path / "run"), "--init", "cgan-mlp-mnist", "--freeze", "g.net.0.*",
        "--set", "fit.steps=1", "--set", "trainer.progress=false", "--set", "trainer.batch_size=16"])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "run" / "weights" / "config.json").read_text())
    assert config["meta"]["trainer_args"]["init"] == "cgan-mlp-mnist"
    assert config["meta"]["trainer_args"]["freeze"] == ["g.net.0.*"]
    tuned, published = imggen.create_model(tmp_path / "run" / "weights"), imggen.create_model("cgan-mlp-mnist",
                                                                                              pretrained=True)
    assert torch.equal(tuned.net[0].weight, published.net[0].weight)  # frozen at its published value
    assert not torch.equal(tuned.net[2].weight, published.net[2].weight)  # fine-tuned


# -- data fractions and the log ----------------------------------------------------------------------------------
def test_a_data_fraction_is_a_seeded_per_class_subset(data_dir, tmp_path):
    full = load_images("fashion-mnist")
    part = full.subset(0.01, seed=0)
    assert len(part) == 600 and torch.bincount(part.labels).tolist() == [60] * 10
    assert torch.equal(part.images, full.subset(0.01, seed=0).images)
    assert not torch.equal(part.images, full.subset(0.01, seed=1).images)
    trainer = imggen.create_trainer("adversarial", "gan-mlp-mnist", **{**TINY, "batch_size": 100}, data="fashion-mnist",
                                    data_fraction=0.01,
                                    out=tmp_path / "run", sample_every=0)
    assert trainer.steps_per_epoch == 6
    trainer.fit(epochs=1)
    record = json.loads((tmp_path / "run" / "log.jsonl").read_text().splitlines()[-1])
    assert record["images"] == 600 and record["seconds"] > 0
    with pytest.raises(ValueError, match=r"a data fraction is in \(0, 1\]"):
        full.subset(0.0)


@pytest.mark.slow  # about a minute on a busy CPU: every metric in two feature spaces
def test_periodic_evaluation_measures_in_a_second_feature_space(data_dir, small_reference, tmp_path, one_thread):
    trainer = imggen.create_trainer("adversarial", "gan-mlp-mnist", **{**TINY, "batch_size": 100}, data="fashion-mnist",
                                    data_fraction=0.01, out=tmp_path / "run", sample_every=0, eval_every=1, eval_n=1000,
                                    eval_args={"feature_extractors": ["fashion-timm-resnet"]})
    trainer.fit(epochs=1)
    metrics = json.loads((tmp_path / "run" / "log.jsonl").read_text().splitlines()[-1])["metrics"]
    assert {"fd", "fd@fashion-timm-resnet", "recall@fashion-timm-resnet"} <= set(metrics)
    assert metrics["fd"] != metrics["fd@fashion-timm-resnet"]


# -- the recipes the GPU session runs ------------------------------------------------------------------------------
RECIPES = sorted([*(ROOT / "recipes" / "transfer").glob("*.toml"), *(ROOT / "recipes" / "backbones").glob("*.toml")])


@pytest.mark.parametrize("path", RECIPES, ids=[p.name for p in RECIPES])
def test_each_transfer_recipe_asks_only_for_what_the_loop_and_its_task_take(path):
    recipe = load_recipe(path)
    trainer_args = set(inspect.signature(Trainer).parameters)
    assert set(recipe["trainer"]) - {"task"} <= trainer_args and "epochs" in recipe["fit"]
    task = imggen.registry.tasks.get(recipe["trainer"]["task"]).factory
    assert set(recipe.get("task", {})) <= set(inspect.signature(task).parameters)
    for name in recipe.get("task", {}).get("parts", {}):
        assert name in imggen.list_parts()
    weights = recipe.get("task", {}).get("discriminator_args", {}).get("backbone_weights")
    for run in filter(None, [recipe["trainer"].get("init"), weights and str(Path(weights).parent)]):
        writers = (ROOT / "recipes").rglob("*.toml")
        assert any(f"--out {run} " in p.read_text() for p in writers), f"no recipe writes {run}"  # a run made here


# -- the curves script ------------------------------------------------------------------------------------------
def load_script():
    spec = importlib.util.spec_from_file_location("transfer_curves", ROOT / "scripts" / "transfer_curves.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_log(folder: Path, fds: list[float], seconds_per_epoch: float) -> Path:
    folder.mkdir()
    lines = [json.dumps({"epoch": e + 1, "step": 10 * (e + 1), "images": 640 * (e + 1),
                         "seconds": seconds_per_epoch * (e + 1), "d_loss": 1.0, "metrics": {"fd": fd}})
             for e, fd in enumerate(fds)]
    (folder / "log.jsonl").write_text("\n".join([json.dumps({"epoch": 0, "step": 0}), *lines]) + "\n")
    return folder


def test_transfer_curves_plot_and_tabulate_synthetic_logs(tmp_path, capsys):
    script = load_script()
    base = write_log(tmp_path / "base", [40.0, 20.0, 12.0, 9.0, 8.0, 7.5], 2.0)
    proj = write_log(tmp_path / "proj", [15.0, 7.0, 5.0, 4.0, 3.5, 3.0], 3.0)
    script.main(["--run", f"ordinary={base}", "--run", f"projected={proj}", "-o", str(tmp_path / "fig.svg"),
                 "--table", str(tmp_path / "table.md")])
    svg = (tmp_path / "fig.svg").read_text()
    assert svg.startswith("<svg") and svg.count("<polyline") == 4 and "training seconds" in svg
    rows = script.summary({"a": script.read_curve(base), "b": script.read_curve(proj)})
    assert rows[0]["final"] == 7.5 and rows[0]["fraction_of_first"] == 1.0
    assert rows[1]["images_to_first_final"] == 1280 and rows[1]["fraction_of_first"] == pytest.approx(1 / 3)
    table = (tmp_path / "table.md").read_text()
    assert "| projected | 3 | 3840 | 18 | 1280 | 0.33 |" in table and table == capsys.readouterr().out
    with pytest.raises(ValueError, match="no evaluated epoch with metric 'kid'"):
        script.read_curve(base, "kid")
