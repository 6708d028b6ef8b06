"""Where a training step's time goes: the seed loop and imggen's trainer profiled side by side on one device.

    python benchmarks/step_profile.py --threads 1

Each loop first runs ``--steps`` timed steps without the profiler (its true speed; the ratio of these is the seed
comparison's), then ``--steps`` more under ``torch.profiler``, which split the time per step into matrix
multiplications (``mm``/``addmm``/``bmm``, self time), the optimiser (``Optimizer.step``, with everything it calls),
the data pipeline (the seed's ``DataLoader``; imggen's batch gather) and the rest (elementwise work, autograd and
Python; the profiler's own cost per operator lands here too, so the profiled loops run slower). Why: the seed
comparison's target is a ratio of the two loops, and a loop cannot be faster than its matrix multiplications and its
optimiser step; the last line says what ratio is left if imggen spent no time at all on anything else.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable for ``benchmarks.*``
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from benchmarks.config import BenchConfig  # noqa: E402
from benchmarks.environment import describe_environment  # noqa: E402
from benchmarks.roofline import count_flops  # noqa: E402
from benchmarks.seed_loop import seed_mnist, train_seed_loop  # noqa: E402
from benchmarks.training import make_trainer, seed_recipe_args  # noqa: E402

MATMULS = ("aten::mm", "aten::addmm", "aten::bmm")
CATEGORIES = ("matmul", "optimizer", "data", "other")


def split_profile(run: Callable[[], Any], steps: int) -> dict[str, float]:
    """Milliseconds per step of ``run`` (which trains ``steps`` steps) in each of :data:`CATEGORIES`."""
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    wall = (time.perf_counter() - start) * 1e3 / steps
    events = prof.key_averages()
    matmul = sum(e.self_cpu_time_total for e in events if e.key in MATMULS)
    optimizer = sum(e.cpu_time_total for e in events if e.key.startswith("Optimizer.step#"))
    data = sum(e.cpu_time_total for e in events if e.key.startswith(("enumerate(DataLoader)", "trainer.batch")))
    split = {"matmul": matmul, "optimizer": optimizer, "data": data}
    split = {k: v / 1e3 / steps for k, v in split.items()}  # profiler times are microseconds
    split["other"] = max(wall - sum(split.values()), 0.0)
    return {"ms_per_step": wall, **split}


def profile_both(steps: int, batch_size: int = 64) -> dict[str, Any]:
    """Both loops at ``batch_size`` on the CPU, imggen's trainer with the seed recipe in fp32."""
    cfg = BenchConfig(device=torch.device("cpu"), precision="fp32", dtype=torch.float32)
    args = {**seed_recipe_args(), "batch_size": batch_size, "checkpoint_every": 10**9}
    for key in ("device", "precision", "compile"):  # this profile's settings decide these, not the recipe's
        args.pop(key, None)
    trainer = make_trainer(args.pop("task"), args.pop("model"), cfg, **args)
    real, labels = trainer.batch(0)
    imggen_flops = count_flops(lambda: trainer.step(real, labels)) / batch_size
    trainer.fit(steps=trainer.step_count + 10)
    dataset = seed_mnist()
    train_seed_loop(10, batch_size, dataset=dataset)
    original_batch = trainer.batch

    def labelled_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.profiler.record_function("trainer.batch"):
            return original_batch(step)

    def run_seed() -> None:
        train_seed_loop(steps, batch_size, warmup_steps=0, dataset=dataset)

    def run_imggen() -> None:
        trainer.fit(steps=trainer.step_count + steps)

    unprofiled = {"seed": wall_ms_per_step(run_seed, steps), "imggen": wall_ms_per_step(run_imggen, steps)}
    trainer.batch = labelled_batch  # type: ignore[method-assign]  # only to name the gather in the profile
    seed, ours = split_profile(run_seed, steps), split_profile(run_imggen, steps)
    essential = ours["matmul"] + ours["optimizer"]
    return {"environment": describe_environment(cfg.device), "steps": steps, "batch_size": batch_size,
            "unprofiled_ms_per_step": unprofiled, "ratio": unprofiled["seed"] / unprofiled["imggen"],
            "seed": seed, "imggen": ours, "imggen_matmul_and_optimizer_ms": essential,
            "flops_per_image": {"seed": seed_step_flops(batch_size, dataset), "imggen": imggen_flops},
            "ratio_bound": unprofiled["seed"] / essential}


def wall_ms_per_step(run: Callable[[], Any], steps: int) -> float:
    """Milliseconds per step of ``run`` (which trains ``steps`` steps), without the profiler."""
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1e3 / steps


def seed_step_flops(batch_size: int, dataset: Any) -> float:
    """Matmul FLOPs per image of one seed-loop step (it computes the discriminator's weight gradients in the
    generator's step too, so it does more than imggen's step)."""
    return count_flops(lambda: train_seed_loop(1, batch_size, warmup_steps=0, dataset=dataset)) / batch_size


def print_split(result: dict[str, Any]) -> None:
    """The two loops' time per step by category, and the ratio they allow."""
    print(f"{result['environment']['cpu']}, torch threads {result['environment']['torch_threads']}, batch "
          f"{result['batch_size']}, {result['steps']} steps each, timed then profiled")
    plain = result["unprofiled_ms_per_step"]
    print(f"unprofiled: seed {plain['seed']:.2f} ms/step, imggen {plain['imggen']:.2f} ms/step, ratio "
          f"{result['ratio']:.2f}x")
    print(f"profiled  {'ms/step':>8} " + " ".join(f"{c:>10}" for c in CATEGORIES))
    for name in ("seed", "imggen"):
        row = result[name]
        print(f"{name:>8}  {row['ms_per_step']:8.2f} " + " ".join(f"{row[c]:10.2f}" for c in CATEGORIES))
    flops = result["flops_per_image"]
    print(f"MFLOP per image per step: seed {flops['seed'] / 1e6:.2f}, imggen {flops['imggen'] / 1e6:.2f}")
    print(f"imggen's matmuls and optimiser step alone take {result['imggen_matmul_and_optimizer_ms']:.2f} ms/step: "
          f"with no time for anything else it would be at most {result['ratio_bound']:.2f}x the seed loop")


def main(argv: list[str] | None = None) -> int:
    """Profile both loops and print (and optionally write) the split."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=100, help="profiled steps per loop (default 100)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: torch's choice)")
    p.add_argument("--out", help="write the split as JSON here")
    args = p.parse_args(argv)
    threads = torch.get_num_threads()
    try:
        if args.threads:
            torch.set_num_threads(args.threads)
        result = profile_both(args.steps)
    finally:
        torch.set_num_threads(threads)  # put back, so the profile can run inside another process (its test)
    print_split(result)
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
