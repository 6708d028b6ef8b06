"""Built-in model families, one module each; importing this package registers them."""

from imggen.models import dcgan, diffusion, mlp_gan, pixelcnn, projected, samplers, sr, vae
from imggen.models.base import Generator

__all__ = ["Generator", "dcgan", "diffusion", "mlp_gan", "pixelcnn", "projected", "samplers", "sr", "vae"]
