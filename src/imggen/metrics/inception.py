"""The standard FID Inception-v3 as an imggen feature network, through torchmetrics and torch-fidelity.

Why: published FIDs use these weights; imggen does not keep its own copy. They are downloaded at first use, so this
path fails offline, with an error that says how to provide the weights and that ``mnist-cnn``/``fashion-cnn`` need none.
"""

from __future__ import annotations

from typing import Any

import torch

from imggen.errors import WeightsError
from imggen.metrics.features import FeatureNet, check_images
from imggen.registry import feature_extractors

WEIGHTS_URL = "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/weights-inception-2015-12-05-6726825d.pth"
OFFLINE = ("The bundled feature networks mnist-cnn and fashion-cnn work offline (the defaults for MNIST and "
           "Fashion-MNIST references).")


def _inception(weights_path: str | None) -> torch.nn.Module:
    """torchmetrics' frozen FID Inception, with imggen's errors when torch-fidelity or the weights are missing."""
    from torchmetrics.image.fid import NoTrainInceptionV3

    try:
        return NoTrainInceptionV3(name="inception-v3-compat", features_list=["2048"],
                                  feature_extractor_weights_path=weights_path)
    except ModuleNotFoundError as exc:
        raise WeightsError(f"the inception-v3 feature network needs torch-fidelity ({exc}); install it with "
                           f"`pip install \"imggen[inception]\"` (or `pip install torch-fidelity`). {OFFLINE}") from exc
    except (OSError, RuntimeError) as exc:
        target = f"{torch.hub.get_dir()}/checkpoints/{WEIGHTS_URL.rsplit('/', 1)[1]}"
        raise WeightsError(
            f"the FID Inception weights could not be fetched ({type(exc).__name__}: {exc}). Provide them: download "
            f"{WEIGHTS_URL} on a machine with internet and copy it to {target} (the torch hub cache, $TORCH_HOME), or "
            f"pass weights_path=<file> to create_feature_extractor('inception-v3', weights_path=...). {OFFLINE}"
        ) from exc


class InceptionV3Features(FeatureNet):
    """FID Inception-v3 pool features (2048-d) of images in [0, 1], grey or RGB, any size (resized to 299x299).

    Its ImageNet logits are not classes of an imggen dataset, so class metrics are skipped in this space.
    """

    num_features = 2048
    num_classes = 0

    def __init__(self, weights_path: str | None = None) -> None:
        super().__init__()
        self.net = _inception(weights_path)

    def check(self, x: Any) -> torch.Tensor:
        channels = x.shape[1] if isinstance(x, torch.Tensor) and x.dim() == 4 and x.shape[1] in (1, 3) else 3
        size = tuple(x.shape[2:]) if isinstance(x, torch.Tensor) and x.dim() == 4 else (299, 299)
        return check_images(x, (channels, *size), "inception-v3")

    def features_and_logits(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.check(x)
        pixels = (x.expand(-1, 3, -1, -1) * 255).round().to(torch.uint8)
        feats = self.net(pixels)
        return feats, feats.new_zeros(feats.shape[0], 0)


feature_extractors.register("inception-v3", description="FID Inception-v3 (torch-fidelity weights, downloaded; "
                            "2048-d)")(InceptionV3Features)
