"""Benchmark imggen's generators: sampling and training throughput, roofline, the seed-loop comparison, and the
upscaling speed (megapixels/s) of the super-resolution models.

    python benchmarks/run.py --device cpu
    python benchmarks/run.py --device cuda --precision bf16 --cuda-graphs --batch-sizes auto --out r.json
    python benchmarks/run.py --models "cgan-*" --compare r.json --markdown docs/benchmarks.md

Exit status: 0 when everything asked for was measured (OOM batch sizes are results, not failures), 1 when some
model names were unknown or some benchmark failed (the rest is still measured and written), 2 for options that
cannot work here (such as ``--device cuda`` without a GPU), reported before anything runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import warnings
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable for ``benchmarks.*``
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

import imggen  # noqa: E402
from benchmarks.config import COMPILE_MODES, BenchConfig  # noqa: E402
from benchmarks.docs_page import markdown_page  # noqa: E402
from benchmarks.environment import SetupError, configure_precision, describe_environment, resolve_device  # noqa: E402
from benchmarks.report import print_compare, print_report, write_json  # noqa: E402
from benchmarks.results import ERROR, add_roofline  # noqa: E402
from benchmarks.roofline import best_peaks, measure_peaks  # noqa: E402
from benchmarks.sampling import sampling_rows  # noqa: E402
from benchmarks.sweep import parse_batch_sizes  # noqa: E402
from benchmarks.training import add_seed_roofline, has_trainer, seed_comparison, training_rows  # noqa: E402
from benchmarks.upscaling import is_upscaler, upscale_rows  # noqa: E402
from imggen.data import DATA_ENV  # noqa: E402
from imggen.errors import ImggenError  # noqa: E402
from imggen.progress import progress  # noqa: E402

BENCHES = ("sample", "train", "seed", "upscale")
DEFAULT_BATCHES = {"cpu": "64,256,1024", "cuda": "64,1024,16384,131072"}
QUICK = {"batch_sizes": "8", "warmup": 1, "iters": 2, "repeats": 1, "seed_steps": 5}
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # the workspace's data, as the tests use
FULL = {"warmup": 3, "iters": 10, "repeats": 3, "seed_steps": {"cpu": 200, "cuda": 2000}}


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="*", help="comma-separated names or shell wildcards (default: all generators)")
    p.add_argument("--bench", default=",".join(BENCHES), help=f"comma-separated subset of {', '.join(BENCHES)}")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: torch's choice); 1 is steadier on a shared machine")
    p.add_argument("--precision", default="fp32", choices=("fp32", "tf32", "bf16", "fp16"))
    p.add_argument("--channels-last", action="store_true", help="channels_last memory format for 4-D weights")
    p.add_argument("--compile", nargs="?", const="default", default=None, choices=COMPILE_MODES, metavar="MODE",
                   help=f"torch.compile the networks (mode: {', '.join(COMPILE_MODES)}; default 'default')")
    p.add_argument("--cuda-graphs", action="store_true", help="capture the sampling forward in CUDA graphs")
    p.add_argument("--batch-sizes", default=None,
                   help=f"comma-separated, or 'auto' (default: cpu {DEFAULT_BATCHES['cpu']}, cuda "
                        f"{DEFAULT_BATCHES['cuda']})")
    p.add_argument("--warmup", type=int, default=None, help=f"warm-up iterations (default {FULL['warmup']})")
    p.add_argument("--iters", type=int, default=None, help=f"iterations per timed loop (default {FULL['iters']})")
    p.add_argument("--repeats", type=int, default=None, help=f"timed loops; the median counts ({FULL['repeats']})")
    p.add_argument("--seed-steps", type=int, default=None,
                   help="steps of the seed-loop vs trainer comparison (default: cpu 200, cuda 2000)")
    p.add_argument("--data-root", default=None,
                   help=f"folder holding mnist/ (default: ${DATA_ENV}, else {SHARED_DATA} when it exists, else "
                        "imggen's default cache)")
    p.add_argument("--quick", action="store_true", help="tiny settings for a smoke test (batch 8, 2 iterations)")
    p.add_argument("--out", help="write the results as JSON here")
    p.add_argument("--markdown", help="write the generated docs page here (e.g. docs/benchmarks.md)")
    p.add_argument("--compare", help="an earlier --out JSON: print new/old throughput ratios")
    return p


def pick(value: Any, key: str, quick: bool, device: str) -> Any:
    """An explicit option, else the quick or full default for ``key``."""
    if value is not None:
        return value
    default = QUICK[key] if quick and key in QUICK else FULL[key]
    return default[device] if isinstance(default, dict) else default


def data_root(args: argparse.Namespace) -> str | None:
    """The data root to train from: ``--data-root``, else ``$IMGGEN_DATA_DIR``, else the shared data folder."""
    if args.data_root:
        return args.data_root
    if os.environ.get(DATA_ENV):
        return os.environ[DATA_ENV]
    return str(SHARED_DATA) if (SHARED_DATA / "mnist").is_dir() else None


def make_config(args: argparse.Namespace) -> BenchConfig:
    """Validated options; a :class:`SetupError` for anything that cannot work on this machine."""
    device = resolve_device(args.device)
    if args.cuda_graphs and device.type != "cuda":
        raise SetupError("--cuda-graphs needs --device cuda (CUDA graphs capture GPU kernels); drop it on CPU")
    if args.cuda_graphs and args.compile == "reduce-overhead":
        raise SetupError("--compile reduce-overhead already captures CUDA graphs; drop --cuda-graphs or pick "
                         "another compile mode")
    for name in ("warmup", "iters", "repeats", "seed_steps"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "warmup" else 1):
            raise SetupError(f"--{name.replace('_', '-')} must be {'>= 0' if name == 'warmup' else '>= 1'}")
    unknown = set(args.bench.split(",")) - set(BENCHES)
    if unknown:
        raise SetupError(f"--bench: unknown {', '.join(sorted(unknown))}; choose from {', '.join(BENCHES)}")
    if args.threads is not None:
        if args.threads < 1:
            raise SetupError("--threads must be >= 1")
        torch.set_num_threads(args.threads)
    dtype = configure_precision(args.precision, device)
    if args.precision == "tf32" and device.type != "cuda":
        print("note: tf32 applies to CUDA matmuls only; on CPU this run is plain fp32", file=sys.stderr)
    kind = device.type
    return BenchConfig(device=device, precision=args.precision, dtype=dtype, channels_last=args.channels_last,
                       compile_mode=args.compile, cuda_graphs=args.cuda_graphs, quick=args.quick,
                       warmup=pick(args.warmup, "warmup", args.quick, kind),
                       iters=pick(args.iters, "iters", args.quick, kind),
                       repeats=pick(args.repeats, "repeats", args.quick, kind))


def resolve_models(spec: str) -> tuple[list[str], list[str]]:
    """Generator names for ``--models`` (names and wildcards) and a message for each one that matches nothing."""
    names: list[str] = []
    errors: list[str] = []
    for item in (s.strip() for s in spec.split(",") if s.strip()):
        if any(ch in item for ch in "*?["):
            found = imggen.list_models(item)
            errors += [] if found else [f"--models {item!r} matches no generator; see imggen.list_models()"]
        else:
            try:
                with warnings.catch_warnings():  # a broken plugin's warning says what the error below says
                    warnings.simplefilter("ignore", RuntimeWarning)
                    imggen.registry.generators.get(item)
                found = [item]
            except ImggenError as exc:
                errors.append(str(exc))
                found = []
        names += [n for n in found if n not in names]
    return names, errors


def run(args: argparse.Namespace, cfg: BenchConfig) -> dict[str, Any]:
    """Every requested benchmark; failures become rows or messages and the sweep goes on."""
    benches = set(args.bench.split(","))
    sizes = parse_batch_sizes(args.batch_sizes or (QUICK["batch_sizes"] if args.quick else
                                                   DEFAULT_BATCHES[cfg.device.type]))
    environment = describe_environment(cfg.device)  # before the run, so the load average is the machine's own
    names, errors = resolve_models(args.models)
    for message in errors:
        print(f"error: {message}", file=sys.stderr)
    peaks = measure_peaks(cfg.device, cfg.dtype, cfg.precision, quick=cfg.quick)
    results: list[dict[str, Any]] = []
    upscalers = {name for name in names if is_upscaler(name)}
    jobs = [(name, "sample", sampling_rows) for name in names if "sample" in benches and name not in upscalers]
    jobs += [(name, "upscale", upscale_rows) for name in names if "upscale" in benches and name in upscalers]
    jobs += [(name, "train", training_rows) for name in names if "train" in benches and has_trainer(name)]
    bar = progress(sorted(jobs, key=lambda job: names.index(job[0])), desc="benchmarks", unit="job")
    for name, bench, fn in bar:
        bar.set_postfix_str(f"{name} {bench}")
        try:
            rows = fn(name, sizes, cfg)
        except Exception as exc:  # noqa: BLE001 - a model that cannot be built is reported, others go on
            rows = []
            errors.append(f"{name} {bench}: {type(exc).__name__}: {exc}")
            bar.write(f"error: {errors[-1]}", file=sys.stderr)
        for row in rows:
            bar.write(progress_line(row), file=sys.stderr)
        results += rows
    seed = None
    if "seed" in benches:
        seed = seed_comparison(cfg, pick(args.seed_steps, "seed_steps", cfg.quick, cfg.device.type))
    if not cfg.quick:  # measure the peaks again and keep the best: other load on the machine only lowers them
        peaks = best_peaks(peaks, measure_peaks(cfg.device, cfg.dtype, cfg.precision))
    add_roofline(results, peaks)
    if seed is not None:
        add_seed_roofline(seed, peaks)
    return {"suite": "imggen-benchmarks", "format": 1, "environment": environment,
            "options": cfg.as_dict(), "peaks": peaks.as_dict(), "results": results, "errors": errors,
            "seed_comparison": seed}


def progress_line(row: dict[str, Any]) -> str:
    """One short line per measured row, printed while the sweep runs."""
    what = f"{row['model']} {row['bench']} [{row['variant']}] batch {row['batch_size']}"
    if row["status"] != "ok":
        return f"  {what}: {row['status']} ({row.get('message', '')})"
    if "megapixels_per_s" in row:
        return f"  {what}: {row['megapixels_per_s']:,.2f} MP/s ({row['picture']}), {row['ms_per_batch']:.1f} ms/picture"
    return f"  {what}: {row['images_per_s']:,.0f} img/s, {row['ms_per_batch']:.3f} ms/batch"


def command_line(argv: list[str]) -> str:
    """How this run was started, for the JSON and the docs page."""
    return " ".join(["python", "benchmarks/run.py", *(shlex.quote(a) for a in argv)])


def run_and_write(argv: list[str]) -> int:
    """Parse, check, measure, then print and write every requested output; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        cfg = make_config(args)
        old = json.loads(Path(args.compare).read_text()) if args.compare else None
        parse_batch_sizes(args.batch_sizes or "auto")
    except (SetupError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    root = data_root(args)
    if root:
        os.environ[DATA_ENV] = root  # the trainer and the seed loop read it
    report = {**run(args, cfg), "command": command_line(argv)}
    print_report(report)
    if old is not None:
        report["compare"] = {"against": args.compare, "ratios": print_compare(old, report, args.compare)}
    if args.out:
        write_json(report, args.out)
    if args.markdown:
        Path(args.markdown).write_text(markdown_page(report) + "\n")
    failed = report["errors"] or any(r["status"] == ERROR for r in report["results"])
    failed = failed or (report["seed_comparison"] or {}).get("status") == ERROR
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """Run the suite (see the module docstring for the exit status). Threads, matmul precision and the data root
    are put back afterwards, so the suite can also run inside another process, as its test does."""
    saved = (torch.get_num_threads(), torch.get_float32_matmul_precision(), torch.backends.cudnn.allow_tf32,
             os.environ.get(DATA_ENV))
    try:
        return run_and_write(sys.argv[1:] if argv is None else list(argv))
    finally:
        torch.set_num_threads(saved[0])
        torch.set_float32_matmul_precision(saved[1])
        torch.backends.cudnn.allow_tf32 = saved[2]
        if saved[3] is None:
            os.environ.pop(DATA_ENV, None)
        else:
            os.environ[DATA_ENV] = saved[3]


if __name__ == "__main__":
    sys.exit(main())
