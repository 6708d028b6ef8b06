"""Noise schedules and the samplers that walk them backwards: the sampling maths, apart from any network.

As in diffusers, a network only predicts noise and a sampler owns the update rule; a model builds a fresh sampler
for each sampling call, so a multistep sampler keeps its history in the instance. A sampler is built with the
model's :class:`NoiseSchedule` (``schedule=``) and its own options, and has two methods:

- ``timesteps(steps)``: the training timesteps (ints, decreasing) at which the network is evaluated, ``steps`` of
  them; it also resets the sampler's state;
- ``step(model_output, t, x, rng)``: from ``x`` at timestep ``t`` and the network's noise prediction there, the
  sample at the next timestep of the list (the clean image after the last), drawing any fresh noise from ``rng``.

The built-ins follow the update rules and defaults of diffusers' ``DDPMScheduler`` (ancestral, ``"ddpm"``),
``DDIMScheduler`` (``"ddim"``, ``eta``) and ``DPMSolverMultistepScheduler`` (DPM-Solver++(2M), ``"dpmpp-2m"``) for an
epsilon-predicting network; ``tests/test_samplers.py`` checks the schedules and steps against diffusers itself. A
plugin adds a sampler through the entry-point group ``imggen.samplers``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from imggen.models.base import draw_normal
from imggen.registry import samplers

BETA_SCHEDULES = ("linear", "cosine")
SPACINGS = ("leading", "trailing", "linspace")


@dataclass(frozen=True)
class NoiseSchedule:
    """The forward process q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I) over ``len(betas)`` training timesteps.

    ``betas`` (float32, as diffusers keeps them) define ``alphas_cumprod`` = abar_t = prod_{s <= t} (1 - beta_s).
    """

    betas: torch.Tensor

    @classmethod
    def create(cls, kind: str = "linear", num_train_timesteps: int = 1000, beta_start: float = 1e-4,
               beta_end: float = 0.02) -> NoiseSchedule:
        """A named schedule: ``"linear"`` betas from ``beta_start`` to ``beta_end`` (Ho et al. 2020), or
        ``"cosine"`` (Nichol & Dhariwal 2021: abar follows cos^2, each beta capped at 0.999; diffusers'
        ``squaredcos_cap_v2``)."""
        if kind not in BETA_SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(BETA_SCHEDULES)}, got {kind!r}")
        if isinstance(num_train_timesteps, bool) or not isinstance(num_train_timesteps, int) or num_train_timesteps < 2:
            raise ValueError(f"num_train_timesteps must be an integer >= 2, got {num_train_timesteps!r}")
        if kind == "linear":
            if not 0 < beta_start <= beta_end < 1:
                raise ValueError(f"need 0 < beta_start <= beta_end < 1, got {beta_start} and {beta_end}")
            return cls(torch.linspace(beta_start, beta_end, num_train_timesteps, dtype=torch.float32))

        def abar(s: float) -> float:
            return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

        n = num_train_timesteps
        betas = [min(1 - abar((i + 1) / n) / abar(i / n), 0.999) for i in range(n)]
        return cls(torch.tensor(betas, dtype=torch.float32))

    @property
    def num_train_timesteps(self) -> int:
        return len(self.betas)

    @property
    def alphas_cumprod(self) -> torch.Tensor:
        """abar_t for t = 0 .. T-1 (float32)."""
        return torch.cumprod(1.0 - self.betas, dim=0)


def spaced_timesteps(num_train_timesteps: int, steps: int, spacing: str) -> list[int]:
    """``steps`` decreasing training timesteps spread over [0, T) as diffusers' ``timestep_spacing`` does:
    ``"leading"`` (0, r, 2r, ... with r = T // steps), ``"trailing"`` (ending at T - 1, the better choice for few
    steps: Lin et al. 2023) or ``"linspace"`` (rounded points of linspace(0, T - 1, steps + 1), the last dropped)."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= num_train_timesteps:
        raise ValueError(f"steps must be an integer in 1..{num_train_timesteps} (the training timesteps), got "
                         f"{steps!r}")
    if spacing == "leading":
        ratio = num_train_timesteps // steps
        return [i * ratio for i in reversed(range(steps))]
    if spacing == "trailing":
        ratio = num_train_timesteps / steps
        return [round(num_train_timesteps - i * ratio) - 1 for i in range(steps)]
    if spacing == "linspace":
        points = torch.linspace(0, num_train_timesteps - 1, steps + 1, dtype=torch.float64)
        return [int(v) for v in points.round().flip(0)[:-1].tolist()]
    raise ValueError(f"spacing must be one of {', '.join(SPACINGS)}, got {spacing!r}")


class Sampler:
    """Shared parts of the built-in samplers: the schedule, the timestep list and where the walk has got to.

    ``clip_sample`` clamps each step's estimate of the clean image to [-1, 1] (diffusers' ``clip_sample``)."""

    default_spacing = "leading"

    def __init__(self, schedule: NoiseSchedule, spacing: str | None = None, clip_sample: bool = True) -> None:
        if not isinstance(schedule, NoiseSchedule):
            raise TypeError(f"schedule must be an imggen NoiseSchedule, got {type(schedule).__name__}")
        self.schedule, self.clip_sample = schedule, bool(clip_sample)
        self.spacing = spacing or self.default_spacing
        if self.spacing not in SPACINGS:
            raise ValueError(f"spacing must be one of {', '.join(SPACINGS)}, got {self.spacing!r}")
        self.alphas_cumprod = schedule.alphas_cumprod
        self._timesteps: list[int] = []
        self._index = 0

    def timesteps(self, steps: int) -> list[int]:
        """The ``steps`` timesteps to evaluate the network at, decreasing; resets the sampler."""
        self._timesteps = spaced_timesteps(self.schedule.num_train_timesteps, steps, self.spacing)
        self._index = 0
        return list(self._timesteps)

    def _advance(self, t: int) -> tuple[int, int]:
        """This step's index and the timestep after ``t`` (-1 after the last), checking the order of calls."""
        if self._index >= len(self._timesteps) or self._timesteps[self._index] != int(t):
            expected = self._timesteps[self._index] if self._index < len(self._timesteps) else "none (done)"
            raise ValueError(f"{type(self).__name__}.step got t={int(t)}, expected {expected}: call timesteps(steps) "
                             "first, then step once per timestep in its order")
        index = self._index
        self._index += 1
        return index, self._timesteps[index + 1] if index + 1 < len(self._timesteps) else -1

    def _abar(self, t: int) -> float:
        return float(self.alphas_cumprod[t]) if t >= 0 else 1.0

    def _clean_estimate(self, eps: torch.Tensor, x: torch.Tensor, abar_t: float) -> torch.Tensor:
        x0 = (x - math.sqrt(1 - abar_t) * eps) / math.sqrt(abar_t)
        return x0.clamp(-1, 1) if self.clip_sample else x0


@samplers.register("ddpm", description="ancestral DDPM sampling (Ho et al. 2020), the posterior q(x_{t-1} | x_t, x_0) "
                   "with the small variance; diffusers' DDPMScheduler")
class DDPMSampler(Sampler):
    """Ancestral sampling: x_{t'} ~ N(posterior mean, beta~) with beta~ = (1 - abar_t') / (1 - abar_t) (1 - abar_t /
    abar_t'), where t' is the next timestep (t - 1 with all T steps). Needs many steps to be good."""

    def step(self, model_output: torch.Tensor, t: int, x: torch.Tensor,
             rng: torch.Generator | None) -> torch.Tensor:
        """The sample at the next timestep from ``x`` at ``t`` and the predicted noise ``model_output``."""
        _, prev = self._advance(t)
        abar_t, abar_prev = self._abar(t), self._abar(prev)
        alpha = abar_t / abar_prev
        x0 = self._clean_estimate(model_output, x, abar_t)
        mean = (math.sqrt(abar_prev) * (1 - alpha) / (1 - abar_t)) * x0 + (
            math.sqrt(alpha) * (1 - abar_prev) / (1 - abar_t)) * x
        if t > 0:
            variance = max((1 - abar_prev) / (1 - abar_t) * (1 - alpha), 1e-20)
            mean = mean + math.sqrt(variance) * draw_normal(x.shape, rng, x.device).to(x.dtype)
        return mean


@samplers.register("ddim", description="DDIM (Song et al. 2021): deterministic with eta=0, ancestral-like with eta=1; "
                   "diffusers' DDIMScheduler")
class DDIMSampler(Sampler):
    """DDIM: x_{t'} = sqrt(abar_t') x0 + sqrt(1 - abar_t' - sigma^2) eps + sigma z, sigma = eta * beta~^(1/2).

    Like diffusers, the step after ``t`` is ``t - T // steps`` (so use ``"leading"`` or ``"trailing"`` spacing), and
    the last step goes to abar = 1 (``set_alpha_to_one``).
    """

    def __init__(self, schedule: NoiseSchedule, eta: float = 0.0, spacing: str | None = None,
                 clip_sample: bool = True) -> None:
        super().__init__(schedule, spacing, clip_sample)
        if not eta >= 0:
            raise ValueError(f"eta must be >= 0 (0: deterministic DDIM, 1: DDPM-like noise), got {eta}")
        if self.spacing == "linspace":
            raise ValueError("DDIM steps by T // steps; use spacing 'leading' or 'trailing'")
        self.eta = float(eta)

    def step(self, model_output: torch.Tensor, t: int, x: torch.Tensor,
             rng: torch.Generator | None) -> torch.Tensor:
        """The sample at the next timestep from ``x`` at ``t`` and the predicted noise ``model_output``."""
        self._advance(t)
        prev = int(t) - self.schedule.num_train_timesteps // len(self._timesteps)
        # float32 scalars, as diffusers computes them: with eta near 1 at t near T the noise coefficient
        # sqrt(1 - abar' - sigma^2) is a difference of nearly equal numbers, and its rounding is part of the reference
        abar_t = self.alphas_cumprod[t]
        abar_prev = self.alphas_cumprod[prev] if prev >= 0 else torch.tensor(1.0)
        x0 = self._clean_estimate(model_output, x, float(abar_t))
        sigma = self.eta * ((1 - abar_prev) / (1 - abar_t) * (1 - abar_t / abar_prev)).sqrt()
        out = abar_prev.sqrt() * x0 + (1 - abar_prev - sigma ** 2).sqrt() * model_output
        if self.eta > 0:
            out = out + sigma * draw_normal(x.shape, rng, x.device).to(x.dtype)
        return out


@samplers.register("dpmpp-2m", description="DPM-Solver++(2M) (Lu et al. 2022), a second-order multistep ODE solver "
                   "good at 10-25 steps; diffusers' DPMSolverMultistepScheduler")
class DPMSolverPP2M(Sampler):
    """DPM-Solver++ in its second-order multistep form over lambda = log(alpha / sigma), data prediction.

    First order on the first step and on the last (which lands on sigma = 0), second order in between, as diffusers'
    defaults (``final_sigmas_type="zero"``, ``solver_type="midpoint"``). Deterministic: ``rng`` is unused. No
    clipping of the clean estimate by default (diffusers' solver has none without thresholding).
    """

    default_spacing = "linspace"

    def __init__(self, schedule: NoiseSchedule, spacing: str | None = None, clip_sample: bool = False) -> None:
        super().__init__(schedule, spacing, clip_sample)
        self._sigmas: list[float] = []
        self._previous: torch.Tensor | None = None

    def timesteps(self, steps: int) -> list[int]:
        out = super().timesteps(steps)
        abar = self.alphas_cumprod.double()
        sigmas = ((1 - abar) / abar).sqrt()  # sigma / alpha, the noise-to-signal ratio, at every training timestep
        self._sigmas = [float(torch.tensor(float(sigmas[t]), dtype=torch.float32)) for t in out] + [0.0]
        self._previous = None
        return out

    @staticmethod
    def _alpha_sigma(ratio: float) -> tuple[float, float, float]:
        """alpha_t, sigma_t and lambda_t from the noise-to-signal ratio sigma_t / alpha_t."""
        alpha = 1 / math.sqrt(ratio ** 2 + 1)
        sigma = ratio * alpha
        return alpha, sigma, (math.log(alpha) - math.log(sigma)) if sigma > 0 else math.inf

    def step(self, model_output: torch.Tensor, t: int, x: torch.Tensor,
             rng: torch.Generator | None) -> torch.Tensor:
        """The sample at the next timestep from ``x`` at ``t`` and the predicted noise ``model_output``."""
        index, _ = self._advance(t)
        alpha_s, sigma_s, lambda_s = self._alpha_sigma(self._sigmas[index])
        alpha_t, sigma_t, lambda_t = self._alpha_sigma(self._sigmas[index + 1])
        x0 = (x.float() - sigma_s * model_output.float()) / alpha_s
        if self.clip_sample:
            x0 = x0.clamp(-1, 1)
        h = lambda_t - lambda_s
        decay = math.expm1(-h) if math.isfinite(h) else -1.0  # exp(-h) - 1
        last = index == len(self._timesteps) - 1
        if self._previous is None or last:
            out = (sigma_t / sigma_s) * x.float() - alpha_t * decay * x0
        else:
            _, _, lambda_r = self._alpha_sigma(self._sigmas[index - 1])
            r = (lambda_s - lambda_r) / h
            d1 = (x0 - self._previous) / r
            out = (sigma_t / sigma_s) * x.float() - alpha_t * decay * x0 - 0.5 * alpha_t * decay * d1
        self._previous = x0
        return out.to(x.dtype)


__all__: Sequence[str] = ["BETA_SCHEDULES", "DDIMSampler", "DDPMSampler", "DPMSolverPP2M", "NoiseSchedule", "Sampler",
                          "SPACINGS", "spaced_timesteps"]
