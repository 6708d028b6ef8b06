"""How fast the ``imggen`` command answers: wall time of ``--help``, ``--version`` and ``list`` in fresh processes.

    python benchmarks/cli_startup.py                    # this checkout's src/, 5 runs each, median
    python benchmarks/cli_startup.py --src ../main/src  # another checkout, for a before/after comparison
    python benchmarks/cli_startup.py --json startup.json

Why: every CLI call, ``--help`` and typos included, used to import torch, torchvision and torchmetrics first. The
targets are ``--help`` <= 1 s and ``list`` <= 3 s; ``list`` needs torch (the built-in families are torch modules),
so ``python -c "import torch"`` is measured too, as the floor under it on this machine. Each command runs as
``python -m imggen ...`` with ``PYTHONPATH`` set to ``--src``, so an installed imggen does not get in the way.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = {
    "imggen --help": ["-m", "imggen", "--help"],
    "imggen --version": ["-m", "imggen", "--version"],
    "imggen list": ["-m", "imggen", "list"],
    "python -c 'import torch' (floor for list)": ["-c", "import torch"],
}
TARGETS = {"imggen --help": 1.0, "imggen list": 3.0}


def time_command(args: list[str], src: Path, runs: int) -> list[float]:
    """Wall seconds of ``runs`` fresh ``python ARGS`` processes (output discarded; a failure stops the benchmark)."""
    env = dict(os.environ, PYTHONPATH=str(src))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if done.returncode:
            raise SystemExit(f"python {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python benchmarks/cli_startup.py", description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the src/ folder holding imggen to time")
    parser.add_argument("--runs", type=int, default=5, help="fresh processes per command (the median is reported)")
    parser.add_argument("--json", type=Path, default=None, help="also write the timings to this JSON file")
    args = parser.parse_args(argv)
    time_command(["-c", "import imggen"], args.src, 1)  # warm the file cache and __pycache__ once
    results = {}
    print(f"imggen from {args.src.resolve()}, {args.runs} runs each, load average {os.getloadavg()[0]:.2f}")
    for name, command in COMMANDS.items():
        times = time_command(command, args.src, args.runs)
        median = statistics.median(times)
        results[name] = {"median_s": median, "min_s": min(times), "runs": times}
        target = TARGETS.get(name)
        verdict = "" if target is None else f"  (target <= {target:g} s: {'met' if median <= target else 'MISSED'})"
        print(f"{name:<45} median {median:6.2f} s  min {min(times):6.2f} s{verdict}")
    if args.json:
        args.json.write_text(json.dumps({"src": str(args.src.resolve()), "results": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
