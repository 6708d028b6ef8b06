"""The generator contract as one check, for plugin packages' tests (and imggen's own).

Why: a plugin's generator must behave like a built-in one (``sample`` shapes, range, seeding, bad-input errors, a
``save_pretrained`` round trip, its pretrained weights loading and verified). One line in a plugin's test suite checks
all of it, through the same public API users call::

    from imggen.testing import contract_test

    test_generator_contract = contract_test("my-gen", "my-other-gen")   # a parametrized pytest test

or, inside an existing test, ``check_generator("my-gen", tmp_path)``. pytest is only needed for
:func:`contract_test`.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import imggen


def _raises(call: Callable[[], Any], words: str, what: str) -> None:
    try:
        call()
    except ValueError as exc:
        assert words in str(exc), f"{what}: the ValueError should say {words!r}, it said {str(exc)!r}"
    else:
        raise AssertionError(f"{what}: expected a ValueError saying {words!r}, nothing was raised")


def _check_sampling(name: str, model: Any) -> list[int] | None:
    conditional = bool(getattr(model, "num_classes", 0))
    labels = [0, model.num_classes - 1] if conditional else None
    images = model.sample(3, labels=labels, seed=0)
    assert tuple(images.shape) == (3, *model.image_shape), f"{name}: sample(3) gave shape {tuple(images.shape)}"
    assert images.dtype == torch.float32, f"{name}: samples must be float32, got {images.dtype}"
    assert float(images.min()) >= 0 and float(images.max()) <= 1, f"{name}: samples must lie in [0, 1]"
    assert list(model.image_shape) == imggen.model_info(name)["output_shape"], f"{name}: model_info's output_shape"
    again = model.sample(3, labels=labels, seed=0)
    assert torch.equal(images, again), f"{name}: the same seed must give the same images"
    assert not torch.equal(images, model.sample(3, labels=labels, seed=1)), f"{name}: another seed, other images"
    for n in (0, -1, 2.0):
        _raises(lambda n=n: model.sample(n, labels=labels), "n must be a positive integer", f"{name}: sample({n!r})")
    if conditional:
        _raises(lambda: model.sample(2), "is conditional: pass labels=", f"{name}: sample without labels")
        _raises(lambda: model.sample(2, labels=[model.num_classes]), "labels out of range",
                f"{name}: a label past the last class")
    else:
        _raises(lambda: model.sample(2, labels=[0]), "unconditional and takes no labels", f"{name}: labels given")
    return labels


def check_generator(name: str, folder: str | os.PathLike[str] | None = None, *, pretrained: bool = True,
                    **kwargs: Any) -> None:
    """Check a registered generator against imggen's contract; raises ``AssertionError`` saying what broke.

    Builds ``imggen.create_model(name, **kwargs)`` and checks sample shape, dtype, [0, 1] range, per-seed
    determinism, the ``ValueError`` messages for bad ``n`` and labels, a ``save_pretrained`` → ``create_model``
    round trip (in ``folder``, else a temporary one) giving the same samples, and (``pretrained``) each pretrained
    tag loading with its registered sha256, downloading it if it lives on the Hub.
    """
    model = imggen.create_model(name, **kwargs).eval()
    with torch.no_grad():
        labels = _check_sampling(name, model)
        with tempfile.TemporaryDirectory() as tmp:
            saved = imggen.save_pretrained(model, Path(folder or tmp) / name.replace("/", "_"), samples=4)
            again = imggen.create_model(saved)
            assert type(again) is type(model), f"{name}: the saved folder rebuilds {type(again).__name__}"
            assert torch.equal(again.sample(3, labels=labels, seed=5), model.sample(3, labels=labels, seed=5)), \
                f"{name}: a save_pretrained round trip must give the same samples"
    for weight in imggen.model_info(name)["pretrained"] if pretrained else []:
        loaded = imggen.create_model(weight["name"])
        assert loaded.weights_sha256 == weight["sha256"], f"{weight['name']}: loaded weights have another sha256"


def contract_test(*names: str) -> Callable[..., None]:
    """A pytest test, parametrized over ``names``, running :func:`check_generator` on each in ``tmp_path``."""
    import pytest

    @pytest.mark.parametrize("generator_name", names)
    def test_generator_contract(generator_name: str, tmp_path: Path) -> None:
        check_generator(generator_name, tmp_path)

    return test_generator_contract


@torch.no_grad()
def randomize_zero_layers(model: torch.nn.Module, std: float = 0.1, seed: int = 0) -> torch.nn.Module:
    """``model`` with every all-zero parameter redrawn from N(0, ``std``^2) (seeded), in place.

    Why: networks that start as the identity or as zero (a diffusion model's zero output layer, adaLN-Zero gates)
    ignore their labels and timesteps until trained, so a test that their inputs reach the output needs weights
    that are not zero.
    """
    rng = torch.Generator().manual_seed(seed)
    for p in model.parameters():
        if not p.any():
            p.copy_(torch.randn(p.shape, generator=rng) * std)
    return model
