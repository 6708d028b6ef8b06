#!/usr/bin/env bash
# Every run of the transfer-learning comparison (docs/transfer-learning.md), in dependency order, then its figures.
# Run from the repository root on a GPU:  bash scripts/transfer_runs.sh [DEVICE]   (default cuda)
# Each run writes runs/transfer/NAME (checkpoints, log.jsonl with FD in fashion-cnn's and fashion-timm-resnet's spaces
# every evaluated epoch, weights/, bundle/); a run
# folder that already holds stats.json is skipped, so the script resumes where it stopped.
set -euo pipefail
DEVICE="${1:-cuda}"
RUNS=runs/transfer
train() {  # train RECIPE OUT
  if [[ -f "$2/stats.json" ]]; then echo "done already: $2"; return; fi
  imggen train --recipe "$1" --out "$2" --device "$DEVICE"
}
# the backbone (MNIST, for the Fashion-MNIST projected discriminator) and the fine-tuning source: the run of the
# zoo's MNIST cGAN, whose bundle/ holds its generator, discriminator and EMA
train recipes/backbones/mnist-timm-convnext.toml "$RUNS/mnist-timm-convnext"
train recipes/cgan-dcgan-mnist.toml runs/cgan-dcgan-mnist
for name in baseline projected baseline-10pct projected-10pct baseline-10pct-diffaugment projected-10pct-diffaugment \
            finetune finetune-freezed 1pct 1pct-finetune; do
  train "recipes/transfer/cgan-dcgan-fashion-$name.toml" "$RUNS/cgan-dcgan-fashion-$name"
done
figure() {  # figure NAME LABEL=RUN...  (the first run is the reference); both feature spaces
  local name="$1"; shift
  local args=()
  for spec in "$@"; do args+=(--run "${spec%%=*}=$RUNS/cgan-dcgan-fashion-${spec#*=}"); done
  python scripts/transfer_curves.py "${args[@]}" -o "docs/assets/transfer/$name.svg" --table "docs/assets/transfer/$name.md"
  python scripts/transfer_curves.py "${args[@]}" --metric fd@fashion-timm-resnet \
    -o "docs/assets/transfer/$name-timm.svg" --table "docs/assets/transfer/$name-timm.md"
}
figure projected ordinary=baseline projected=projected
figure projected-10pct ordinary=baseline-10pct projected=projected-10pct \
  ordinary+diffaugment=baseline-10pct-diffaugment projected+diffaugment=projected-10pct-diffaugment
figure finetune scratch=baseline mnist-init=finetune mnist-init+freezeD=finetune-freezed
figure finetune-1pct scratch=1pct mnist-init=1pct-finetune
