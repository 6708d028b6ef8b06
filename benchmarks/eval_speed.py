"""How long ``imggen.metrics.evaluate`` takes to score 10k samples on this machine (target: <= 30 s on 2 CPU cores).

Why: the trainer evaluates every few epochs, so scoring must stay cheap. Standalone: prints seconds, asserts nothing.
On a busy shared CPU one torch thread can beat two (OpenMP threads spin while waiting), so it times each count given.

    python benchmarks/eval_speed.py [--n 10000] [--model cgan-mlp-mnist] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import os
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10000)
    parser.add_argument("--model", default="cgan-mlp-mnist")
    parser.add_argument("--reference", default="mnist:test")
    parser.add_argument("--threads", default=f"1,{os.cpu_count()}", help="comma-separated torch thread counts")
    args = parser.parse_args()
    start = time.perf_counter()
    import imggen
    from imggen.metrics import evaluate
    from imggen.metrics.distances import frechet_distance

    frechet_distance(torch.rand(4, 2), torch.rand(4, 2))  # imports torchmetrics
    print(f"import imggen + torchmetrics: {time.perf_counter() - start:.1f} s")
    generator = imggen.create_model(args.model)  # random weights: the timing does not depend on them
    start = time.perf_counter()
    evaluate(generator, n=args.n, reference=args.reference)
    print(f"first evaluate ({torch.get_num_threads()} threads; reference from the disk cache or extracted): "
          f"{time.perf_counter() - start:.1f} s")
    for threads in dict.fromkeys(int(t) for t in args.threads.split(",")):
        torch.set_num_threads(threads)
        start = time.perf_counter()
        scores = evaluate(generator, n=args.n, reference=args.reference, seed=1)
        print(f"evaluate {args.n} samples ({len(scores)} metrics, reference cached), {threads} thread(s): "
              f"{time.perf_counter() - start:.1f} s (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
