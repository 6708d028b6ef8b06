"""How sure the dataset's feature network is of the class of each sample: the share of images whose top class
probability is under 0.5, 0.9 and 0.99, for the real test split and for each generator given.

Why: an unconditional GAN that maps one connected noise space onto ten separate digit shapes must pass between them,
and the samples it makes there are blends the classifier cannot place. Low precision with good recall is what that
looks like in the zoo's metrics; this measures it directly.

    IMGGEN_DATA_DIR=../shared/data python research/class_confidence.py hub-repos/gan-dcgan-mnist.v1 \
        hub-repos/cgan-dcgan-mnist.v3 gan-mlp-mnist.v7 --data mnist --features mnist-cnn
"""

from __future__ import annotations

import argparse

import torch

import imggen
from imggen.data import load_images

THRESHOLDS = (0.5, 0.9, 0.99)


def unsure_shares(net: torch.nn.Module, images: torch.Tensor) -> list[float]:
    """Share of ``images`` (in [0, 1]) whose top class probability under ``net`` is below each threshold."""
    with torch.no_grad():
        top = torch.cat([net(batch).softmax(1).amax(1) for batch in images.split(1000)])
    return [(top < t).float().mean().item() for t in THRESHOLDS]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("generators", nargs="+", help="registered NAME[.TAG] or a weights folder")
    parser.add_argument("--data", default="mnist")
    parser.add_argument("--features", default="mnist-cnn")
    parser.add_argument("-n", type=int, default=10000)
    args = parser.parse_args()
    net = imggen.create_feature_extractor(args.features, pretrained=True).eval()
    rows = [("real test split", unsure_shares(net, load_images(args.data, "test").as_float()))]
    for name in args.generators:
        model = imggen.create_model(name, pretrained=True)
        labels = torch.arange(args.n) % model.num_classes if model.conditional else None
        rows.append((name, unsure_shares(net, model.sample(args.n, labels=labels, seed=0))))
    print("| images | " + " | ".join(f"top probability < {t}" for t in THRESHOLDS) + " |")
    print("| --- |" + " ---: |" * len(THRESHOLDS))
    for name, shares in rows:
        print(f"| {name} | " + " | ".join(f"{s:.4f}" for s in shares) + " |")


if __name__ == "__main__":
    main()
