"""Run variants of training recipes side by side on one device and tabulate their metrics.

A sweep file (TOML) names the variants: ``set`` holds settings for all of them, each ``[[run]]`` a name, a
recipe and its own settings (``imggen train --set`` syntax). Every run writes to ``OUT/<name>`` and exports its
weights to ``OUT/<name>/weights``; ``OUT/summary.md`` lists the last metrics each run logged (with
``trainer.eval_every`` the metrics over training are in ``OUT/<name>/log.jsonl``). A run past ``--timeout`` is
stopped and reported with what it logged so far.

    python scripts/sweep.py recipes/sweeps/mlp-gan.toml --device cuda --jobs 12 --out runs/sweep
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from imggen.train.recipe import STATS_NAME

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

COLUMNS = ("fd", "recall", "precision", "coverage", "class_coverage", "cond_acc")


def load_sweep(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Common settings and the runs of a sweep file, with each run's name checked."""
    sweep = tomllib.loads(path.read_text())
    runs = sweep.get("run", [])
    names = [r.get("name") for r in runs]
    if not runs or None in names or len(set(names)) != len(names):
        raise SystemExit(f"{path}: needs [[run]] tables, each with a unique name (got {names})")
    return list(sweep.get("set", [])), runs


def command(run: dict[str, Any], common: list[str], out: Path, device: str, resume: bool) -> list[str]:
    """``imggen train --recipe`` for one run, its weights exported inside its own folder."""
    settings = [*common, *run.get("set", []), f"export.folder={json.dumps((out / 'weights').as_posix())}"]
    argv = [sys.executable, "-m", "imggen", "train", "--recipe", run["recipe"], "--out", str(out),
            "--device", device, *(["--resume"] if resume and (out / "last.pt").is_file() else [])]
    for setting in settings:
        argv += ["--set", setting]
    return argv


def last_logged(folder: Path) -> dict[str, Any]:
    """The stats of a finished run (its ``stats.json``), else its last logged epoch and last logged metrics."""
    if (folder / STATS_NAME).is_file():
        return {"finished": True, **json.loads((folder / STATS_NAME).read_text())}
    records = [json.loads(line) for line in (folder / "log.jsonl").read_text().splitlines()] \
        if (folder / "log.jsonl").is_file() else []
    with_metrics = [r for r in records if "metrics" in r]
    return {"finished": False, "epochs": records[-1]["epoch"] if records else 0,
            "metrics": with_metrics[-1]["metrics"] if with_metrics else {},
            "metrics_epoch": with_metrics[-1]["epoch"] if with_metrics else None}


def summary_table(results: dict[str, dict[str, Any]]) -> str:
    """Markdown: one row per run with its epochs, speed and last metrics."""
    lines = ["| run | finished | epochs | img/s | " + " | ".join(COLUMNS) + " |",
             "| --- | --- | ---: | ---: | " + " | ".join("---:" for _ in COLUMNS) + " |"]
    for name, r in results.items():
        m = r.get("metrics", {})
        cells = [f"{m[c]:.4g}" if isinstance(m.get(c), int | float) else "–" for c in COLUMNS]
        lines.append(f"| {name} | {'yes' if r.get('finished') else 'no'} | {float(r.get('epochs', 0)):.1f} | "
                     f"{float(r.get('images_per_s', 0)):.0f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("sweep", type=Path, help="sweep file (TOML)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--jobs", type=int, default=1, help="runs at the same time")
    p.add_argument("--timeout", type=float, default=None, help="seconds before a run is stopped")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds for the whole sweep: then running runs are stopped and the rest not started")
    p.add_argument("--resume", action="store_true", help="continue runs that have a checkpoint (exactly)")
    p.add_argument("--summary", action="store_true", help="only tabulate the runs already in --out")
    p.add_argument("--only", default=None, help="comma-separated run names (default: all)")
    p.add_argument("--out", type=Path, default=Path("runs/sweep"))
    p.add_argument("--set", dest="settings", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="a setting for every run, after the sweep file's own")
    args = p.parse_args(argv)
    common, runs = load_sweep(args.sweep)
    common += args.settings
    if args.only:
        runs = [r for r in runs if r["name"] in args.only.split(",")]
    pending, active, sweep_start = [] if args.summary else list(runs), {}, time.monotonic()
    while pending or active:
        if args.budget is not None and time.monotonic() - sweep_start > args.budget and pending:
            print(f"not started (over the --budget): {', '.join(r['name'] for r in pending)}", flush=True)
            pending = []
        while pending and len(active) < args.jobs:
            run = pending.pop(0)
            folder = args.out / run["name"]
            folder.mkdir(parents=True, exist_ok=True)
            log = open(folder / "stdout.log", "a" if args.resume else "w")  # noqa: SIM115 - closed when the run ends
            active[run["name"]] = (subprocess.Popen(command(run, common, folder, args.device, args.resume), stdout=log,
                                                    stderr=subprocess.STDOUT), log, time.monotonic())
        time.sleep(1)
        for name, (proc, log, started) in list(active.items()):
            now = time.monotonic()
            late = (args.timeout is not None and now - started > args.timeout) or \
                (args.budget is not None and now - sweep_start > args.budget)
            if proc.poll() is None and not late:
                continue
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            log.close()
            print(f"{name}: {'exit ' + str(proc.returncode) if not late else 'stopped at the time limit'}", flush=True)
            del active[name]
    results = {r["name"]: last_logged(args.out / r["name"]) for r in runs}
    (args.out / "summary.json").write_text(json.dumps(results, indent=2, default=str))
    table = summary_table(results)
    (args.out / "summary.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
