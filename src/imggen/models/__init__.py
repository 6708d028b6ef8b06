"""Built-in model families, one module each; importing this package registers them."""

from imggen.models import dcgan, mlp_gan, sr, vae
from imggen.models.base import Generator

__all__ = ["Generator", "dcgan", "mlp_gan", "sr", "vae"]
