"""Autoregressive models with exact likelihoods (seed section 3.2): gated PixelCNN and a PixelSNAIL-style model.

Both factor p(x | y) = prod_i p(x_i | x_<i, y) over the pixels in raster order (row by row, left to right), so
``log_prob`` is the exact log-likelihood of an image in nats, and ``sample`` draws the pixels one at a time.

**Gated PixelCNN** (van den Oord et al. 2016, "Conditional image generation with PixelCNN decoders"). Two stacks of
gated layers: the *vertical* stack sees the rows above the current one (a ``(k//2 + 1) x k`` convolution over the
rows up to each row, shifted down one row before anything else reads it), the *horizontal* stack sees the pixels to
the left in the current row (a ``1 x (k//2 + 1)`` convolution, ``1 x k//2`` and excluding the pixel itself in the
first layer) plus a 1x1 projection of the vertical stack. Together they cover every earlier pixel within the
receptive field, the ones up and to the right included: no blind spot (the original PixelCNN's masked 3x3 missed
them). Each layer's activation is ``tanh(a) * sigmoid(b)`` with a per-class bias added to ``a`` and ``b`` in both stacks
(the class-conditional PixelCNN); the horizontal stack is residual. A 1x1 head maps the last horizontal features to
the output distribution.

**PixelSNAIL-style** (Chen et al. 2018): the same two stacks with a causal self-attention block after every
``attention_every``-th layer of the horizontal stack. Pixel i's query (its features plus a learned position) attends
to keys and values made from the features *and the value* of every earlier pixel j < i (a learned start slot stands in
for "no pixel yet"), so after the first block each pixel sees the whole image before it, not only a convolution's
receptive field. Smaller than the paper's (no dilated residual blocks, one attention width): the point is the same
exact-likelihood family with global context at a cost that trains in minutes.

Two output distributions (``likelihood=``), as in the VAE family (:mod:`imggen.models.vae`):

- ``"bernoulli"`` (binarized MNIST): one logit per pixel; trained on dynamically binarized images (the objective
  task's ``inputs = "binarized"``) and measured on the fixed seeded binarization of the test split
  (``imggen.data.binarized_test_split``), the VAE's protocol, so the two NLLs compare (the VAE's is a bound);
- ``"categorical"`` (grey Fashion-MNIST): a 256-way softmax over the grey levels of 8-bit images (the original
  PixelCNN's choice: exact, no tails to clamp, and temperature sampling is a division of the logits). Report
  bits per dimension: the NLL in nats divided by ``H * W * ln 2``.

Sampling needs ``H * W`` sequential steps, made cheap by caching (as "Fast generation for convolutional
autoregressive models", Ramachandran et al. 2017): at the start of row r each layer's vertical stack computes one new
row (r - 1; the rows above are cached), and each pixel then runs the horizontal stack on that one pixel, reading the
cached pixels to its left; attention keeps a key/value cache. A full image thus costs about two forward passes of the
network instead of ``H * W`` of them. :meth:`PixelCNN.raster_logits` runs those caches on given images, so a test can
check they give exactly the logits of a full forward pass. Noise is one uniform per pixel drawn up front with
``draw_uniform`` on the model's device; ``temperature`` divides the logits (below 1: cleaner, less diverse samples).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from imggen.models.base import Generator, check_int, draw_uniform
from imggen.registry import generators

#: outputs per pixel of each output distribution
LIKELIHOODS = {"bernoulli": 1, "categorical": 256}


def gate(x: torch.Tensor, dim: int = 1) -> torch.Tensor:
    """The gated activation tanh(a) * sigmoid(b) of a tensor holding a and b as its two halves along ``dim``."""
    a, b = x.chunk(2, dim=dim)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One layer of the vertical and horizontal stacks, with the full-image pass (training, likelihood) and the
    one-row and one-pixel passes (sampling) computed by the same weights."""

    def __init__(self, c_in: int, channels: int, kernel_size: int, first: bool) -> None:
        super().__init__()
        self.half, self.first = kernel_size // 2, first
        self.vertical = nn.Conv2d(c_in, 2 * channels, (self.half + 1, kernel_size), padding=(0, self.half))
        self.vertical_to_horizontal = nn.Conv2d(2 * channels, 2 * channels, 1)
        # the first layer must not see the pixel it predicts: its kernel stops one column short
        self.horizontal = nn.Conv2d(c_in, 2 * channels, (1, self.half + (0 if first else 1)))
        self.horizontal_out = nn.Conv2d(channels, channels, 1)

    def forward(self, v: torch.Tensor, h: torch.Tensor, bias_v: torch.Tensor,
                bias_h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both stacks on whole images ``(B, C, H, W)``: the vertical stack's new features and the horizontal's;
        the class biases are ``(B, 2C)``."""
        bias_v, bias_h = bias_v[..., None, None], bias_h[..., None, None]
        v_pre = self.vertical(F.pad(v, (0, 0, self.half, 0)))  # row r sees rows r - k//2 .. r
        h_pre = self.horizontal(F.pad(h, (self.half, -1 if self.first else 0)))  # column c sees c - k//2 .. c (- 1)
        h_pre = h_pre + self.vertical_to_horizontal(F.pad(v_pre, (0, 0, 1, -1)))  # row r gets the rows above only
        h_new = self.horizontal_out(gate(h_pre + bias_h))
        return gate(v_pre + bias_v), h_new if self.first else h + h_new


class CausalAttention(nn.Module):
    """Self-attention over the pixels in raster order, pixel i attending to the features and values of pixels j < i
    (and a start slot): the PixelSNAIL block, residual on the horizontal stack's features."""

    def __init__(self, channels: int, image_channels: int, num_pixels: int, heads: int) -> None:
        super().__init__()
        if channels % heads:
            raise ValueError(f"channels ({channels}) must be divisible by heads ({heads})")
        self.heads = heads
        self.norm = nn.LayerNorm(channels)
        self.position = nn.Parameter(torch.randn(num_pixels, channels) * 0.02)
        self.query = nn.Linear(channels, channels)
        self.key_value = nn.Linear(channels + image_channels, 2 * channels)
        self.out = nn.Linear(channels, channels)

    def sources(self, h: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        """What keys and values are made of: normalised features beside the pixel values, ``(..., C + C_img)``."""
        return torch.cat([self.norm(h), pixels], dim=-1)

    def forward(self, h: torch.Tensor, pixels: torch.Tensor) -> torch.Tensor:
        """``h`` ``(B, C, H, W)`` with attention added; ``pixels`` ``(B, C_img, H, W)`` are the (scaled) image."""
        height = h.shape[2]
        seq = rearrange(h, "b c h w -> b (h w) c")
        q = self.query(self.norm(seq) + self.position)
        src = self.sources(seq, rearrange(pixels, "b c h w -> b (h w) c"))
        k, v = self.key_value(F.pad(src, (0, 0, 1, -1))).chunk(2, dim=-1)  # slot i holds pixel i - 1; slot 0 zeros
        q, k, v = (rearrange(t, "b n (g d) -> b g n d", g=self.heads) for t in (q, k + self.position, v))
        attended = rearrange(F.scaled_dot_product_attention(q, k, v, is_causal=True), "b g n d -> b n (g d)")
        return h + rearrange(self.out(attended), "b (h w) c -> b c h w", h=height)

    def step(self, h: torch.Tensor, previous: torch.Tensor | None, i: int,
             cache: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """Pixel ``i``'s features ``(B, C)`` with attention added, given the key/value sources of pixel ``i - 1``
        (``None`` for the first pixel) and the ``(keys, values)`` cache ``(B, heads, N, d)``, which it extends."""
        keys, values = cache
        src = previous if previous is not None else h.new_zeros(h.shape[0], self.key_value.in_features)
        k, v = self.key_value(src).chunk(2, dim=-1)
        keys[:, :, i] = rearrange(k + self.position[i], "b (g d) -> b g d", g=self.heads)
        values[:, :, i] = rearrange(v, "b (g d) -> b g d", g=self.heads)
        q = rearrange(self.query(self.norm(h) + self.position[i]), "b (g d) -> b g 1 d", g=self.heads)
        attended = F.scaled_dot_product_attention(q, keys[:, :, : i + 1], values[:, :, : i + 1])
        return h + self.out(rearrange(attended, "b g 1 d -> b (g d)"))


class PixelCNN(Generator):
    """Gated PixelCNN: vertical and horizontal stacks of gated layers, class-conditional biases, exact
    ``log_prob``, cached raster-order sampling (``attention_every > 0`` adds causal attention: see PixelSNAIL)."""

    sampling_defaults = {"temperature": 1.0}

    def __init__(
        self,
        channels: int = 64,
        layers: int = 8,
        kernel_size: int = 5,
        head: int = 128,
        image_shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 0,
        likelihood: str = "bernoulli",
        attention_every: int = 0,
        heads: int = 4,
    ) -> None:
        super().__init__()
        for name, value, least in (("channels", channels, 1), ("layers", layers, 1), ("head", head, 1),
                                   ("attention_every", attention_every, 0), ("heads", heads, 1)):
            check_int(name, value, least)
        if check_int("kernel_size", kernel_size, 3) % 2 == 0:
            raise ValueError(f"kernel_size must be odd (the vertical stack is centred on its column), got "
                             f"{kernel_size}")
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {', '.join(LIKELIHOODS)}, got {likelihood!r}")
        if image_shape[0] != 1:
            raise ValueError(f"{type(self).__name__} models one-channel images (raster order over colour channels "
                             f"needs channel masks, not built); got image_shape {tuple(image_shape)}")
        self.image_shape, self.num_classes, self.likelihood = tuple(image_shape), num_classes, likelihood
        self.channels, self.kernel_size = channels, kernel_size
        c, height, width = self.image_shape
        self.layers = nn.ModuleList(GatedLayer(c if i == 0 else channels, channels, kernel_size, first=i == 0)
                                    for i in range(layers))
        # attention after every attention_every-th layer (never before the first layer has mixed anything)
        self.attention = nn.ModuleDict({str(i): CausalAttention(channels, c, height * width, heads)
                                        for i in range(layers) if attention_every and (i + 1) % attention_every == 0})
        self.class_bias = nn.Embedding(num_classes, layers * 4 * channels) if num_classes else None
        if self.class_bias is not None:
            nn.init.normal_(self.class_bias.weight, std=0.1)
        outputs = LIKELIHOODS[likelihood]
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, head, 1), nn.ReLU(), nn.Conv2d(head, c * outputs, 1))

    # -- the network ----------------------------------------------------------------------------------
    @staticmethod
    def scale(images: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] as the network reads them, in [-1, 1] (zero padding is then mid-grey)."""
        return images * 2 - 1

    def biases(self, labels: torch.Tensor | None, n: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Per layer, the class biases ``(B, 2C)`` of the vertical and horizontal stacks (zeros ``(1, 2C)`` for an
        unconditional model)."""
        if self.class_bias is None:
            zero = self.head[-1].weight.new_zeros(1, 2 * self.channels)
            return [(zero, zero)] * len(self.layers)
        if labels is None or len(labels) != n:
            raise ValueError(f"{type(self).__name__} is conditional: pass one label per image")
        per_layer = rearrange(self.class_bias(labels), "b (l s c) -> l s b c", l=len(self.layers), s=2)
        return [(v, h) for v, h in per_layer]

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The raw logits of every pixel given the ones before it: ``(B, 1, H, W)`` (Bernoulli) or
        ``(B, 256, H, W)`` (categorical), for images ``(B, 1, H, W)`` in [0, 1]."""
        x = self.scale(images.to(self.head[-1].weight.dtype))
        v = h = x
        for i, (layer, (bias_v, bias_h)) in enumerate(zip(self.layers, self.biases(labels, len(images)),
                                                          strict=True)):
            v, h = layer(v, h, bias_v, bias_h)
            if str(i) in self.attention:
                h = self.attention[str(i)](h, x)
        return self.head(h)

    # -- likelihood and training ----------------------------------------------------------------------
    @property
    def training_inputs(self) -> str:
        """What the objective task feeds this model: binarized images for a Bernoulli output, grey levels else."""
        return "binarized" if self.likelihood == "bernoulli" else "grey"

    def targets(self, images: torch.Tensor) -> torch.Tensor:
        """The pixel values the output distribution is over: the binary images, or grey-level indices 0..255.

        A Bernoulli is no likelihood of grey images, nor a 256-way softmax of values off the 8-bit grid: both are
        refused with how to fix the input.
        """
        if images.dim() != 4 or tuple(images.shape[1:]) != self.image_shape:
            raise ValueError(f"images must be (N, {', '.join(map(str, self.image_shape))}), got {tuple(images.shape)}")
        images = images.float()
        if self.likelihood == "bernoulli":
            if not ((images == 0) | (images == 1)).all():
                raise ValueError("this model's Bernoulli output is a likelihood of binary images only; binarize them "
                                 "first (imggen.data.binarized_test_split for the test split)")
            return images
        levels = images * 255
        if (levels - levels.round()).abs().max() > 1e-3 or images.min() < 0 or images.max() > 1:
            raise ValueError("this model's 256-way softmax is a likelihood of 8-bit images: pass values k / 255 in "
                             "[0, 1] (imggen.data.load_images(...).as_float())")
        return levels.round().long()[:, 0]

    def log_likelihood(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """log p(x | y) per image in nats from :meth:`forward`'s logits and :meth:`targets`."""
        if self.likelihood == "bernoulli":
            per_pixel = -F.binary_cross_entropy_with_logits(logits.float(), targets, reduction="none")
        else:
            per_pixel = -F.cross_entropy(logits.float(), targets, reduction="none")
        return per_pixel.flatten(1).sum(1)

    def training_loss(self, images: torch.Tensor, labels: torch.Tensor | None,
                      rng: torch.Generator | None) -> dict[str, torch.Tensor]:
        """The negative log-likelihood per image in nats, averaged over the batch (``loss``), and in bits per
        dimension (``bits_per_dim``); ``rng`` is unused (the likelihood is exact, nothing is sampled)."""
        if self.conditional and labels is None:
            raise ValueError(f"{type(self).__name__} is conditional: training_loss needs the batch's labels")
        nll = -self.log_likelihood(self(images, labels), self.targets(images))
        loss = nll.mean()
        return {"loss": loss, "bits_per_dim": loss.detach() / (math.prod(self.image_shape) * math.log(2))}

    @torch.no_grad()
    def log_prob(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """The exact log-likelihood log p(x | y) of each image, in nats: ``(N,)``."""
        targets = self.targets(images.to(self.device))
        labels = self.check_labels(len(images), labels)
        labels = labels.to(self.device) if labels is not None else None
        return self.log_likelihood(self(images.to(self.device), labels), targets)

    # -- sampling -------------------------------------------------------------------------------------
    def generate(self, n: int, labels: torch.Tensor | None, rng: torch.Generator | None,
                 temperature: float = 1.0) -> torch.Tensor:
        """Draw the pixels in raster order with the sampler's caches, each from its distribution with the logits
        divided by ``temperature``; one uniform per pixel, drawn up front from ``rng``."""
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        _, height, width = self.image_shape
        u = draw_uniform((n, height, width), rng, self.device)

        def draw(row: int, col: int, logits: torch.Tensor) -> torch.Tensor:
            logits = logits.float() / temperature
            if self.likelihood == "bernoulli":
                return (u[:, row, col] < torch.sigmoid(logits[:, 0])).float()
            cdf = torch.softmax(logits, dim=1).cumsum(1)
            level = (cdf < u[:, row, col, None]).sum(1).clamp(max=logits.shape[1] - 1)
            return level.float() / (logits.shape[1] - 1)

        return self._raster(n, labels, draw)

    @torch.no_grad()
    def raster_logits(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`forward`'s logits computed the way sampling computes them (row and pixel caches, one pixel at a
        time), reading each pixel from ``images``: equal to ``forward(images)`` up to rounding, which shows the caches
        are exact. Slow per image; for tests and debugging."""
        images = images.to(self.device)
        n, _, height, width = images.shape
        out = torch.empty(n, self.head[-1].out_channels, height, width, device=self.device)

        def read(row: int, col: int, logits: torch.Tensor) -> torch.Tensor:
            out[:, :, row, col] = logits.float()
            return images[:, 0, row, col].float()

        checked = self.check_labels(n, labels)
        self._raster(n, checked.to(self.device) if checked is not None else None, read)
        return out

    def _raster(self, n: int, labels: torch.Tensor | None,
                choose: Callable[[int, int, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """Visit the pixels in raster order with cached stacks: ``choose(row, col, logits (n, K))`` returns the
        pixel's value ``(n,)`` in [0, 1]; the images of chosen values come back.

        Per pixel only matrix products on ``(n, features)`` run (the horizontal convolutions' weights flattened
        once), so the sequential part costs few, small kernel calls."""
        _, height, width = self.image_shape
        half, channels, device = self.kernel_size // 2, self.channels, self.device
        dtype = self.head[-1].weight.dtype
        biases = self.biases(labels.to(device) if labels is not None else None, n)
        horizontal = [layer.horizontal.weight.permute(0, 2, 3, 1).flatten(1).T for layer in self.layers]
        out = [(layer.horizontal_out.bias, layer.horizontal_out.weight.flatten(1).T) for layer in self.layers]
        head = [(conv.bias, conv.weight.flatten(1).T) for conv in (self.head[1], self.head[3])]
        # the scaled image, zero-padded above and to the left as the convolutions pad it
        pixels = torch.zeros(n, 1, half + height, half + width, device=device, dtype=dtype)
        # each later layer's inputs: its vertical input (all rows so far) and, channels last, its horizontal input
        # (the current row)
        v_in = [torch.zeros(n, channels, half + height, width, device=device, dtype=dtype) for _ in self.layers[1:]]
        h_in = [torch.zeros(n, half + width, channels, device=device, dtype=dtype) for _ in self.layers[1:]]
        caches = {key: tuple(torch.zeros(n, a.heads, height * width, channels // a.heads, device=device, dtype=dtype)
                             for _ in range(2)) for key, a in self.attention.items()}
        sources: dict[str, torch.Tensor] = {}
        chosen = torch.zeros(n, 1, height, width, device=device)
        for row in range(height):
            above = self._row_start(row, pixels, v_in, biases)
            for col in range(width):
                i = row * width + col
                h = pixels.new_zeros(n, channels)  # the residual stream, empty before the first layer
                for depth in range(len(self.layers)):
                    window = (pixels[:, 0, half + row, col : col + half] if depth == 0
                              else h_in[depth - 1][:, col : col + half + 1].flatten(1))
                    a, b = torch.addmm(above[depth][:, :, col], window, horizontal[depth]).chunk(2, dim=1)
                    h_new = torch.addmm(out[depth][0], torch.tanh(a) * torch.sigmoid(b), out[depth][1])
                    h = h + h_new
                    if (key := str(depth)) in self.attention:
                        attention = self.attention[key]
                        previous = sources.get(key) if i else None
                        if previous is not None:  # pixel i - 1 is drawn now: its value joins its features
                            value = pixels[:, :, half + (i - 1) // width, half + (i - 1) % width]
                            previous = torch.cat([previous[:, :-1], value], dim=1)
                        sources[key] = attention.sources(h, h.new_zeros(n, 1))
                        h = attention.step(h, previous, i, caches[key])
                    if depth + 1 < len(self.layers):
                        h_in[depth][:, half + col] = h
                hidden = torch.addmm(head[0][0], torch.relu(h), head[0][1])
                value = choose(row, col, torch.addmm(head[1][0], torch.relu(hidden), head[1][1]))
                chosen[:, 0, row, col] = value
                pixels[:, 0, half + row, half + col] = self.scale(value).to(dtype)
        return chosen

    def _row_start(self, row: int, pixels: torch.Tensor, v_in: list[torch.Tensor],
                   biases: list[tuple[torch.Tensor, torch.Tensor]]) -> list[torch.Tensor]:
        """At the start of ``row``: each layer's vertical stack on the row above (its rows above that are cached),
        stored for the next layer, and what reaches the horizontal stack from above: the vertical stack's projection
        plus the horizontal convolution's and class biases, ``(n, 2C, W)`` per layer."""
        half = self.kernel_size // 2
        above = []
        for depth, layer in enumerate(self.layers):
            source = pixels[:, :, :, half:] if depth == 0 else v_in[depth - 1]
            if row == 0:  # nothing above the first row: the shifted vertical stack is zero there
                v_pre = source.new_zeros(source.shape[0], 2 * self.channels, 1, source.shape[-1])
            else:
                v_pre = layer.vertical(source[:, :, row - 1 : row + half])  # rows row - 1 - k//2 .. row - 1
                if depth + 1 < len(self.layers):
                    v_in[depth][:, :, half + row - 1] = gate(v_pre + biases[depth][0][..., None, None])[:, :, 0]
            bias = layer.horizontal.bias + biases[depth][1]
            above.append(layer.vertical_to_horizontal(v_pre)[:, :, 0] + bias[..., None])
        return above


class PixelSNAIL(PixelCNN):
    """PixelSNAIL-style: the gated PixelCNN's stacks with causal self-attention after every ``attention_every``-th
    layer, so each pixel sees the whole image before it (exact ``log_prob``, cached raster-order sampling). Every
    other argument is :class:`PixelCNN`'s, by keyword."""

    def __init__(self, *, attention_every: int = 4, **pixelcnn_args: Any) -> None:
        if not attention_every:
            raise ValueError("a PixelSNAIL model has attention: attention_every must be >= 1 (0 is PixelCNN)")
        super().__init__(attention_every=attention_every, **pixelcnn_args)


MNIST = {"image_shape": (1, 28, 28)}
BINARY, GREY = {**MNIST, "likelihood": "bernoulli"}, {**MNIST, "likelihood": "categorical"}

for family, factory, what in (
    ("pixelcnn-gated", PixelCNN, "Gated PixelCNN (vertical and horizontal stacks, no blind spot)"),
    ("pixelsnail", PixelSNAIL, "PixelSNAIL-style model (gated stacks with causal self-attention)"),
):
    # binarized MNIST unconditional (the NLL benchmark; num_classes=10 makes it conditional), Fashion-MNIST both ways
    for name, defaults, data in (
        (f"{family}-mnist", BINARY, "binarized MNIST (Bernoulli output)"),
        (f"{family}-fashion", GREY, "grey-level Fashion-MNIST (256-way softmax)"),
        (f"c{family}-fashion", {**GREY, "num_classes": 10}, "class-conditional, grey-level Fashion-MNIST (256-way "
                                                           "softmax)"),
    ):
        generators.register(name, defaults=defaults, description=f"{what}, {data}")(factory)
