"""Built-in model families, one module each; importing this package registers them."""

from imggen.models import mlp_gan
from imggen.models.base import Generator

__all__ = ["Generator", "mlp_gan"]
