"""The noise schedules and sampler steps against diffusers' schedulers, a reference nobody here wrote; and the
samplers registry's contract for a plugin sampler."""

from __future__ import annotations

import pytest
import torch

import imggen
from imggen.errors import ContractError
from imggen.models.samplers import NoiseSchedule, spaced_timesteps
from imggen.registry import Entry, create_sampler, samplers

diffusers = pytest.importorskip("diffusers")

DIFFUSERS_SCHEDULE = {"linear": "linear", "cosine": "squaredcos_cap_v2"}
REFERENCES = {"ddpm": "DDPMScheduler", "ddim": "DDIMScheduler", "dpmpp-2m": "DPMSolverMultistepScheduler"}


def reference(name: str, schedule: str, **config: object):
    return getattr(diffusers, REFERENCES[name])(num_train_timesteps=1000, beta_schedule=DIFFUSERS_SCHEDULE[schedule],
                                                **config)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_schedules_match_diffusers(schedule: str) -> None:
    ours = NoiseSchedule.create(schedule, 1000)
    for name in REFERENCES:
        theirs = reference(name, schedule)
        torch.testing.assert_close(ours.betas, theirs.betas, rtol=0, atol=1e-7)
        torch.testing.assert_close(ours.alphas_cumprod, theirs.alphas_cumprod, rtol=0, atol=1e-7)


@pytest.mark.parametrize("name", list(REFERENCES))
@pytest.mark.parametrize("steps", [1, 10, 25, 50, 333, 1000])
def test_timesteps_match_diffusers(name: str, steps: int) -> None:
    theirs = reference(name, "linear")
    theirs.set_timesteps(steps)
    assert create_sampler(name, schedule=NoiseSchedule.create()).timesteps(steps) == theirs.timesteps.tolist()


@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace"])
def test_spacings_match_diffusers(spacing: str) -> None:
    # diffusers' DDIM and DPM-Solver differ in "leading" (T // steps vs T // (steps + 1)); ours is DDIM's
    theirs = reference("dpmpp-2m" if spacing == "linspace" else "ddim", "linear", timestep_spacing=spacing)
    for steps in (7, 20, 100):
        theirs.set_timesteps(steps)
        assert spaced_timesteps(1000, steps, spacing) == theirs.timesteps.tolist()


def walk(name: str, schedule: str, steps: int, n_steps: int, ours_args: dict, theirs_args: dict,
         step_args: dict | None = None) -> None:
    """Run ``n_steps`` consecutive steps of ours and of diffusers from the same inputs and noise; compare each."""
    ours = create_sampler(name, schedule=NoiseSchedule.create(schedule), **ours_args)
    theirs = reference(name, schedule, **theirs_args)
    timesteps = ours.timesteps(steps)
    theirs.set_timesteps(steps)
    inputs = torch.Generator().manual_seed(7)
    x = torch.randn(4, 1, 8, 8, generator=inputs)
    for t in timesteps[:n_steps]:
        eps = torch.randn(x.shape, generator=inputs)  # a stand-in for the network: any prediction must agree
        mine = ours.step(eps, t, x, torch.Generator().manual_seed(t))
        their = theirs.step(eps, t, x, generator=torch.Generator().manual_seed(t), **(step_args or {})).prev_sample
        # 1e-5 absolute, or relative where an unclipped clean estimate reaches ~100 (float32's own spacing there)
        torch.testing.assert_close(mine, their, rtol=1e-5, atol=1e-5)
        x = their


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("clip", [True, False])
def test_ddpm_steps_match_diffusers(schedule: str, clip: bool) -> None:
    walk("ddpm", schedule, 1000, 3, {"clip_sample": clip}, {"clip_sample": clip})
    walk("ddpm", schedule, 10, 10, {"clip_sample": clip}, {"clip_sample": clip})  # to the last step (no noise)


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("eta", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("spacing", ["leading", "trailing"])
def test_ddim_steps_match_diffusers(schedule: str, eta: float, spacing: str) -> None:
    walk("ddim", schedule, 20, 20, {"eta": eta, "spacing": spacing}, {"timestep_spacing": spacing},
         {"eta": eta})


@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("steps", [5, 20])
def test_dpmpp_2m_steps_match_diffusers(schedule: str, steps: int) -> None:
    walk("dpmpp-2m", schedule, steps, steps, {}, {})  # every step: the first-order start, 2M, the first-order end


def test_step_out_of_order_is_refused() -> None:
    sampler = create_sampler("ddim", schedule=NoiseSchedule.create())
    timesteps = sampler.timesteps(10)
    x = torch.zeros(1, 1, 4, 4)
    with pytest.raises(ValueError, match="expected 900"):
        sampler.step(x, timesteps[1], x, None)


def test_builtin_samplers_are_listed() -> None:
    assert {"ddpm", "ddim", "dpmpp-2m"} <= set(imggen.list_samplers())


class EulerPlugin:
    """A tiny plugin sampler: deterministic Euler steps of the probability-flow ODE in x / sqrt(abar)."""

    def __init__(self, schedule: NoiseSchedule) -> None:
        self.abar = schedule.alphas_cumprod.double()
        self.calls = 0

    def timesteps(self, steps: int) -> list[int]:
        self.order = spaced_timesteps(len(self.abar), steps, "trailing")
        return list(self.order)

    def step(self, model_output: torch.Tensor, t: int, x: torch.Tensor, rng: torch.Generator | None) -> torch.Tensor:
        i = self.order.index(t)
        nxt = self.order[i + 1] if i + 1 < len(self.order) else None
        abar_t, abar_n = float(self.abar[t]), float(self.abar[nxt]) if nxt is not None else 1.0
        sigma_t, sigma_n = ((1 - abar_t) / abar_t) ** 0.5, ((1 - abar_n) / abar_n) ** 0.5
        self.calls += 1
        return (x / abar_t ** 0.5 + (sigma_n - sigma_t) * model_output) * abar_n ** 0.5


@pytest.fixture
def plugin_sampler():
    samplers.add(Entry(name="test-euler", factory=EulerPlugin, source="tests"))
    yield "test-euler"
    samplers.refresh()  # forgets entries that did not come from imggen itself


def test_plugin_sampler_samples_through_the_model(plugin_sampler: str) -> None:
    model = imggen.create_model("ddpm-unet-mnist", widths=(8, 16, 16), blocks=1, heads=1)
    images = model.sample(3, labels=[0, 1, 2], seed=0, steps=4, sampler=plugin_sampler, guidance=1.0)
    assert images.shape == (3, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    again = model.sample(3, labels=[0, 1, 2], seed=0, steps=4, sampler=plugin_sampler, guidance=1.0)
    assert torch.equal(images, again)


def test_a_sampler_without_step_is_refused() -> None:
    class NoStep:
        def __init__(self, schedule: NoiseSchedule) -> None: ...

        def timesteps(self, steps: int) -> list[int]:
            return []

    with pytest.raises(ContractError, match="step"):
        samplers.add(Entry(name="test-broken", factory=NoStep, source="tests"))
    assert "test-broken" not in imggen.list_samplers()
