"""Does the one training loop train the MLP GANs exactly as the old single GAN trainer did?

Runs two short configurations (a conditional GAN with R1, mismatched labels, EMA and linear lr decay; an
unconditional one with hinge loss, two critic steps, WGAN-GP and DiffAugment) for 30 steps each on the old trainer
(commit f529d66, checked out beside the repo) and on the loop, in separate processes, and compares every weight.

    git worktree add ../imggen-f529d66 f529d66
    IMGGEN_DATA_DIR=../shared/data python research/core_equivalence.py ../imggen-f529d66
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

OLD = """
import sys, torch, imggen
torch.set_num_threads(1)
cases = {
 "a": dict(generator="cgan-mlp-mnist", generator_args={"widths": [32, 64]}, discriminator_args={"widths": [64, 32]},
           r1=1.0, mismatched_labels=0.1, ema_decay=0.999, lr_decay_start=0.5, batch_size=16, seed=3,
           lr_g=1e-4, lr_d=4e-4, betas_g=(0.0, 0.99), betas_d=(0.0, 0.99), progress=False),
 "b": dict(generator="gan-mlp-mnist", generator_args={"widths": [32, 64]}, loss="hinge", n_critic=2, gp=1.0,
           augment=["color", "translation", "cutout"], batch_size=16, seed=5, progress=False, real_range=(0.0, 1.0)),
}
out = {}
for k, args in cases.items():
    t = imggen.create_trainer("gan", **args)
    t.fit(steps=30)
    out[k] = {"g": t.g_raw.state_dict(), "d": t.d_raw.state_dict()}
torch.save(out, sys.argv[1])
"""

NEW = """
import sys, torch, imggen
torch.set_num_threads(1)
cases = {
 "a": dict(model="cgan-mlp-mnist", model_args={"widths": [32, 64]}, ema_decay=0.999, lr_schedule="linear",
           lr_decay_start=0.5, batch_size=16, seed=3, progress=False, precision="fp32",
           task_args=dict(discriminator_args={"widths": [64, 32]}, mismatched_labels=0.1, lr_g=1e-4, lr_d=4e-4,
                          betas_g=(0.0, 0.99), betas_d=(0.0, 0.99), parts={"r1": {"gamma": 1.0}})),
 "b": dict(model="gan-mlp-mnist", model_args={"widths": [32, 64]}, batch_size=16, seed=5, progress=False,
           ema_decay=0.999, precision="fp32",
           task_args=dict(loss="hinge", n_critic=2, real_range=(0.0, 1.0),
                          parts={"gp": {"weight": 1.0},
                                 "diffaugment": {"policies": ["color", "translation", "cutout"]}})),
}
out = {}
for k, args in cases.items():
    t = imggen.create_trainer("adversarial", **args)
    t.fit(steps=30)
    out[k] = {"g": t.task.model.state_dict(), "d": t.task.critic.state_dict()}
torch.save(out, sys.argv[1])
"""


def run(code: str, src: Path, path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(src)}
    subprocess.run([sys.executable, "-c", code, str(path)], env=env, check=True)


def main() -> None:
    import torch

    old_repo, here = Path(sys.argv[1]).resolve(), Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        old, new = Path(tmp) / "old.pt", Path(tmp) / "new.pt"
        run(OLD, old_repo / "src", old)
        run(NEW, here / "src", new)
        a, b = torch.load(old), torch.load(new)
    result = {case: {net: all(torch.equal(x, y) for x, y in zip(a[case][net].values(), b[case][net].values(),
                                                                 strict=True))
                     for net in ("g", "d")} for case in a}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
