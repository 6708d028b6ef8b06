"""Convolutional variational autoencoder (Kingma & Welling 2014; seed section 1.2), unconditional and class-conditional.

Encoder q(z | x, y): two strided 4x4 convolutions (SiLU), flattened, the one-hot label appended when conditional, a
hidden layer, then the mean and log-variance of a diagonal Gaussian over ``latent_dim`` dimensions. Decoder
p(x | z, y): the mirror image (z with the one-hot label → hidden → feature map → two transposed convolutions) ending in
the parameters of a per-pixel distribution. The prior is N(0, I).

Two decoders (``likelihood=``):

- ``"bernoulli"`` (binarized MNIST): one logit per pixel. Trained on dynamically binarized images (the objective
  task's ``inputs = "binarized"``) and measured on the fixed seeded binarization of the test split
  (``imggen.data.binarized_test_split``), the protocol the autoregressive family uses too; ``log_prob`` refuses
  images that are not binary, where a Bernoulli is no likelihood.
- ``"logistic"`` (grey levels, Fashion-MNIST): a discretized logistic per pixel (PixelCNN++, Salimans et al. 2017)
  over the 256 levels of 8-bit images, location and log-scale predicted per pixel. Chosen over a Bernoulli on grey
  values (a common objective but not a likelihood of grey images) so that ``log_prob`` of a grey image is a true
  discrete likelihood in nats, comparable with other families' on the same images.

``training_loss`` is the negative ELBO per image (reconstruction minus the analytic KL); ``log_prob(images, k=...)`` is
the importance-weighted bound (IWAE, Burda et al. 2016), the ELBO for ``k = 1`` and tightening as ``k`` grows; the NLL
the zoo reports uses ``k >= 1000``. ``sample`` decodes ``z ~ N(0, temperature^2 I)`` and returns the decoder's mean by
default (``output="sample"`` draws from the decoder instead: binary or noisy images).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import nn

from imggen.models.base import Generator, draw_normal, draw_uniform
from imggen.models.layers import feature_grid
from imggen.models.mlp_gan import with_one_hot
from imggen.registry import generators
from imggen.registry.pretrained import hub_weights

LIKELIHOODS = {"bernoulli": 1, "logistic": 2}  # decoder parameters per image channel
OUTPUTS = ("mean", "sample")
LOG_2PI = math.log(2 * math.pi)
LOGISTIC_MIN_LOG_SCALE = -7.0  # PixelCNN++'s floor: a scale below e^-7 is far inside one 1/255 bin


def bernoulli_log_likelihood(images: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """log p(images | logits) per image, summed over pixels; ``images`` in {0, 1} (or grey levels, as a
    cross-entropy)."""
    return -F.binary_cross_entropy_with_logits(logits, images, reduction="none").flatten(1).sum(1)


def discretized_logistic_log_likelihood(images: torch.Tensor, loc: torch.Tensor, log_scale: torch.Tensor,
                                        levels: int = 256) -> torch.Tensor:
    """log P(images) per image under a logistic discretized to ``levels`` bins on [-1, 1], summed over pixels.

    ``images`` in [0, 1] on the grid k / (levels - 1); the first and last bins take the tails (PixelCNN++).
    """
    x = images * 2 - 1
    half_bin = 1.0 / (levels - 1)
    log_scale = log_scale.clamp(min=LOGISTIC_MIN_LOG_SCALE)
    inv_scale = torch.exp(-log_scale)
    centred = x - loc
    upper, lower = inv_scale * (centred + half_bin), inv_scale * (centred - half_bin)
    log_cdf_upper = upper - F.softplus(upper)  # log sigmoid(upper): the lowest bin's mass
    log_survival_lower = -F.softplus(lower)  # log (1 - sigmoid(lower)): the highest bin's mass
    mass = torch.sigmoid(upper) - torch.sigmoid(lower)
    mid = inv_scale * centred  # where the bin's mass underflows, the density at its centre times its width
    log_density_mid = mid - log_scale - 2 * F.softplus(mid) + math.log(2 * half_bin)
    log_mass = torch.where(mass > 1e-5, torch.log(mass.clamp(min=1e-12)), log_density_mid)
    per_pixel = torch.where(x < -1 + half_bin, log_cdf_upper, torch.where(x > 1 - half_bin, log_survival_lower,
                                                                         log_mass))
    return per_pixel.flatten(1).sum(1)


class ConvVAE(Generator):
    """Convolutional VAE: ``encode``/``decode``, its negative ELBO as ``training_loss``, the IWAE bound as
    ``log_prob``, sampling from the prior and latent ``interpolate``."""

    sampling_defaults = {"temperature": 1.0, "output": "mean"}

    def __init__(
        self,
        latent_dim: int = 32,
        widths: Sequence[int] = (32, 64),
        hidden: int = 512,
        image_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 0,
        likelihood: str = "bernoulli",
    ) -> None:
        super().__init__()
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {likelihood!r}")
        if len(widths) < 1:
            raise ValueError("widths lists the channels after each stride-2 convolution, at least one")
        self.latent_dim, self.num_classes, self.image_shape = latent_dim, num_classes, tuple(image_shape)
        self.likelihood = likelihood
        c = self.image_shape[0]
        self.grid = feature_grid(self.image_shape, len(widths))
        flat = widths[-1] * self.grid[0] * self.grid[1]
        down: list[nn.Module] = []
        for c_in, c_out in zip((c, *widths[:-1]), widths, strict=True):
            down += [nn.Conv2d(c_in, c_out, 4, stride=2, padding=1), nn.SiLU()]
        self.encoder = nn.Sequential(*down)
        self.to_posterior = nn.Sequential(nn.Linear(flat + num_classes, hidden), nn.SiLU(),
                                          nn.Linear(hidden, 2 * latent_dim))
        self.from_latent = nn.Sequential(nn.Linear(latent_dim + num_classes, hidden), nn.SiLU(),
                                         nn.Linear(hidden, flat), nn.SiLU())
        up: list[nn.Module] = []
        outs = (*reversed(widths[:-1]), c * LIKELIHOODS[likelihood])
        for i, (c_in, c_out) in enumerate(zip(reversed(widths), outs, strict=True)):
            up.append(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1))
            if i < len(widths) - 1:
                up.append(nn.SiLU())
        self.decoder = nn.Sequential(*up)

    # -- the two halves -------------------------------------------------------------------------------
    def encode(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The posterior q(z | x, y) of images ``(B, C, H, W)`` in [0, 1]: its mean and log-variance, ``(B, D)``."""
        h = rearrange(self.encoder(images * 2 - 1), "b c h w -> b (c h w)")
        mean, log_var = self.to_posterior(with_one_hot(h, labels, self.num_classes)).float().chunk(2, dim=1)
        return mean, log_var

    def decoder_output(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder's raw per-pixel parameters for latents ``(B, D)``: logits ``(B, C, H, W)`` (Bernoulli) or
        locations and log-scales ``(B, 2C, H, W)`` (logistic)."""
        h, w = self.grid
        x = rearrange(self.from_latent(with_one_hot(z, labels, self.num_classes)), "b (c h w) -> b c h w", h=h, w=w)
        return self.decoder(x).float()

    def decode(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The decoder's mean images in [0, 1] for latents ``(B, D)`` (the Bernoulli's pixel probabilities, or the
        logistic's location)."""
        return self.mean_image(self.decoder_output(z.to(self.device), self._labels(len(z), labels)))

    def mean_image(self, params: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] from raw decoder parameters: what ``output="mean"`` samples and ``decode`` return."""
        if self.likelihood == "bernoulli":
            return torch.sigmoid(params)
        loc = params[:, : self.image_shape[0]]
        return (loc.clamp(-1, 1) + 1) / 2

    def log_likelihood(self, images: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """log p(images | decoder parameters) per image, in nats."""
        if self.likelihood == "bernoulli":
            return bernoulli_log_likelihood(images.float(), params)
        c = self.image_shape[0]
        return discretized_logistic_log_likelihood(images.float(), params[:, :c], params[:, c:])

    # -- training and likelihood ----------------------------------------------------------------------
    @property
    def training_inputs(self) -> str:
        """What the objective task feeds this model: binarized images for a Bernoulli decoder, grey levels else."""
        return "binarized" if self.likelihood == "bernoulli" else "grey"

    def training_loss(self, images: torch.Tensor, labels: torch.Tensor | None,
                      rng: torch.Generator | None) -> dict[str, torch.Tensor]:
        """The negative ELBO per image, averaged over the batch (``loss``), with its reconstruction and KL terms.

        One reparameterised draw z = mean + std * eps per image, eps from ``rng``; the KL to N(0, I) is analytic.
        """
        if self.conditional and labels is None:
            raise ValueError(f"{type(self).__name__} is conditional: training_loss needs the batch's labels")
        mean, log_var = self.encode(images, labels)
        eps = draw_normal(mean.shape, rng, mean.device)
        z = mean + torch.exp(0.5 * log_var) * eps
        reconstruction = self.log_likelihood(images, self.decoder_output(z, labels))
        kl = 0.5 * (mean.pow(2) + log_var.exp() - 1 - log_var).sum(1)
        return {"loss": (kl - reconstruction).mean(), "reconstruction": -reconstruction.mean(), "kl": kl.mean()}

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None,
                rng: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """The training loss (as lucidrains' models return theirs), so a wrapper (DDP) that calls the module sees
        every parameter the loss uses."""
        return self.training_loss(images, labels, rng)

    @torch.no_grad()
    def log_prob(self, images: torch.Tensor, labels: torch.Tensor | None = None, k: int = 1, seed: int = 0,
                 max_batch: int = 2048) -> torch.Tensor:
        """The importance-weighted lower bound on log p(x | y) per image, in nats (IWAE with ``k`` samples).

        ``log mean_i p(x, z_i) / q(z_i | x)`` with ``z_i ~ q(z | x)``: the ELBO for ``k = 1``, tightening towards
        log p(x) as ``k`` grows (report NLL with ``k >= 1000``). The draws come from a CPU generator seeded with
        ``seed``, so a bound is reproducible on any device; at most ``max_batch`` images are decoded at once.
        """
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise ValueError(f"k is a number of importance samples >= 1, got {k!r}")
        if images.dim() != 4 or tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(f"images must be (N, {', '.join(map(str, self.image_shape))}), got {tuple(images.shape)}")
        if self.likelihood == "bernoulli" and not ((images == 0) | (images == 1)).all():
            raise ValueError("this VAE's Bernoulli decoder is a likelihood of binary images only; binarize them "
                             "first (imggen.data.binarized_test_split for the test split)")
        images = images.to(self.device)
        labels = self._labels(len(images), labels)
        mean, log_var = self.encode(images, labels)
        std = torch.exp(0.5 * log_var)
        rng = torch.Generator().manual_seed(seed)
        chunk = max(1, max_batch // len(images))
        log_weights = []
        for start in range(0, k, chunk):
            m = min(chunk, k - start)
            eps = torch.randn(m, *mean.shape, generator=rng).to(self.device)
            z = mean + std * eps  # (m, B, D)
            params = self.decoder_output(rearrange(z, "m b d -> (m b) d"),
                                         repeat(labels, "b -> (m b)", m=m) if labels is not None else None)
            log_px = self.log_likelihood(repeat(images, "b c h w -> (m b) c h w", m=m), params)
            log_pz = -0.5 * (z.pow(2) + LOG_2PI).sum(-1)
            log_qz = -0.5 * (eps.pow(2) + log_var + LOG_2PI).sum(-1)
            log_weights.append(rearrange(log_px, "(m b) -> m b", m=m) + log_pz - log_qz)
        return torch.logsumexp(torch.cat(log_weights), dim=0) - math.log(k)

    # -- sampling -------------------------------------------------------------------------------------
    def generate(self, n: int, labels: torch.Tensor | None, rng: torch.Generator | None,
                 temperature: float = 1.0, output: str = "mean") -> torch.Tensor:
        """Decode ``z ~ N(0, temperature^2 I)``: the decoder's mean (``output="mean"``: smooth grey images) or a draw
        from it (``"sample"``: binary images from the Bernoulli, 8-bit grey levels from the logistic)."""
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if output not in OUTPUTS:
            raise ValueError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
        z = draw_normal((n, self.latent_dim), rng, self.device) * temperature
        params = self.decoder_output(z.to(next(self.parameters()).dtype),
                                     labels.to(self.device) if labels is not None else None)
        if output == "mean":
            return self.mean_image(params)
        c = self.image_shape[0]
        u = draw_uniform((n, c, *self.image_shape[1:]), rng, self.device)
        if self.likelihood == "bernoulli":
            return (u < torch.sigmoid(params)).float()
        u = u.clamp(1e-5, 1 - 1e-5)
        x = params[:, :c] + torch.exp(params[:, c:].clamp(min=LOGISTIC_MIN_LOG_SCALE)) * (u.log() - (-u).log1p())
        return torch.round((x.clamp(-1, 1) + 1) / 2 * 255) / 255

    @torch.no_grad()
    def interpolate(self, start: torch.Tensor, end: torch.Tensor, steps: int = 8,
                    labels: Sequence[int] | torch.Tensor | None = None) -> torch.Tensor:
        """Decoded points on the straight line between the posterior means of ``start`` and ``end`` (images
        ``(B, C, H, W)`` in [0, 1], or one image each): ``(B, steps, C, H, W)``, first and last the two
        reconstructions. ``labels`` (conditional models) hold one class per pair, used on the whole line."""
        if steps < 2:
            raise ValueError(f"steps counts the images on each line, ends included: at least 2, got {steps}")
        start, end = (x.unsqueeze(0) if x.dim() == 3 else x for x in (start, end))
        if start.shape != end.shape:
            raise ValueError(f"start and end must have the same shape, got {tuple(start.shape)} and "
                             f"{tuple(end.shape)}")
        labels = self._labels(len(start), labels)
        z0, z1 = (self.encode(x.to(self.device), labels)[0] for x in (start, end))
        t = torch.linspace(0, 1, steps, device=self.device)
        line = rearrange(z0, "b d -> b 1 d") + rearrange(t, "s -> 1 s 1") * rearrange(z1 - z0, "b d -> b 1 d")
        frames = self.mean_image(self.decoder_output(rearrange(line, "b s d -> (b s) d"), repeat(
            labels, "b -> (b s)", s=steps) if labels is not None else None))
        return rearrange(frames, "(b s) c h w -> b s c h w", s=steps)

    def _labels(self, n: int, labels: Sequence[int] | torch.Tensor | None) -> torch.Tensor | None:
        checked = self.check_labels(n, labels)
        return checked.to(self.device) if checked is not None else None


MNIST = {"image_shape": (1, 28, 28)}
BINARY, GREY = {**MNIST, "likelihood": "bernoulli"}, {**MNIST, "likelihood": "logistic"}
#: how recipes/vae-conv-mnist.toml and recipes/cvae-conv-mnist.toml made their v1 weights
BINARIZED_V1 = ("imggen recipe v1: dynamically binarized MNIST, Bernoulli decoder, negative ELBO, Adam 1e-3 with a "
                "cosine decay over 100 epochs, EMA 0.999; NLL: the IWAE bound, k = 1000, on the seeded binarized "
                "test split")
#: how recipes/vae-conv-fashion.toml and recipes/cvae-conv-fashion.toml made their v1 weights
GREY_V1 = ("imggen recipe v1: grey-level Fashion-MNIST, discretized logistic decoder, negative ELBO, Adam 1e-3 with a "
           "cosine decay over 100 epochs, gradients clipped at 100, EMA 0.999; NLL: the IWAE bound, k = 1000, on the "
           "test split")
#: the shipped weights: registered name -> ``(tag, sha256 of its model.safetensors, how it was made)``, the default
#: first; from the Hub only. The MNIST weights are float32 (13 MB each), the Fashion ones float16 (6.7 MB); either
#: way the recorded bound was measured on the weights as shipped
WEIGHTS: dict[str, list[tuple[str, str, str]]] = {
    "vae-conv-mnist": [("v1", "9853a7714110a8c9b0bf8d605212d5a6d836d69d0258eda643b5a94e830eef8d", BINARIZED_V1)],
    "cvae-conv-mnist": [("v1", "b0ea60bd6573ff663763e6771efebd3d01e099bd80c23e96ab5c0a3daef298aa", BINARIZED_V1)],
    "vae-conv-fashion": [("v1", "3beecfa0548953814086d491c9b68c7e2ca23218db920d6aa537d4401fc0a590", GREY_V1)],
    "cvae-conv-fashion": [("v1", "6699d1f218daa8a66ecb1d37debbd8f085a1787598229baeecab41f856ac5103", GREY_V1)],
}

for name, defaults, what in (
    ("vae-conv-mnist", BINARY, "VAE for binarized MNIST (Bernoulli decoder)"),
    ("cvae-conv-mnist", {**BINARY, "num_classes": 10},
     "conditional VAE for binarized MNIST digits (Bernoulli decoder)"),
    ("vae-conv-fashion", GREY, "VAE for grey-level Fashion-MNIST (discretized logistic decoder)"),
    ("cvae-conv-fashion", {**GREY, "num_classes": 10},
     "conditional VAE for grey-level Fashion-MNIST (discretized logistic decoder)"),
):
    generators.register(name, defaults=defaults, description=f"Convolutional {what}",
                        pretrained=hub_weights(name, WEIGHTS.get(name, [])))(ConvVAE)
