"""Benchmark imggen's models: the throughput that fits each family (benchmarks/measures.py), training steps,
roofline, and the seed-loop comparison, recorded with the machine they ran on.

    python benchmarks/run.py --device cpu --models gan-mlp-mnist
    python benchmarks/run.py --device cuda --precision bf16 --cuda-graphs --batch-sizes auto --out r.json
    python benchmarks/run.py --models "cgan-*" --compare r.json --markdown one-run.md
    python benchmarks/docs_page.py     # docs/benchmarks.md from every results file in benchmarks/results/

Exit status: 0 when everything asked for was measured (OOM batch sizes are results, not failures), 1 when some
model names were unknown or some benchmark failed (the rest is still measured and written), 2 for options that
cannot work here (such as ``--device cuda`` without a GPU), reported before anything runs.
"""

from __future__ import annotations

import argparse
import dataclasses
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
from benchmarks.environment import (  # noqa: E402
    PRECISION_CHOICES,
    SetupError,
    choose_precision,
    configure_precision,
    describe_environment,
    precision_reason,
    resolve_device,
)
from benchmarks.measure import LOOP_S, MAX_AUTO_ITERS  # noqa: E402
from benchmarks.measures import sampling_rows  # noqa: E402
from benchmarks.report import bench_label, print_compare, print_report, write_json  # noqa: E402
from benchmarks.results import ERROR, add_roofline, throughput  # noqa: E402
from benchmarks.roofline import best_peaks, measure_peaks  # noqa: E402
from benchmarks.sweep import parse_batch_sizes  # noqa: E402
from benchmarks.training import (  # noqa: E402
    SEED_MODEL,
    add_seed_roofline,
    seed_comparison,
    training_rows,
    training_task,
)
from imggen.data import DATA_ENV  # noqa: E402
from imggen.errors import ImggenError  # noqa: E402
from imggen.progress import progress  # noqa: E402
from imggen.registry import registry_for  # noqa: E402

BENCHES = ("sample", "train", "seed")
DEFAULT_BATCHES = {"cpu": "64,256", "cuda": "64,1024,16384,131072"}  # a CPU is saturated by batch 256 already
QUICK = {"batch_sizes": "8", "warmup": 1, "iters": 2, "repeats": 1, "seed_steps": 5}
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"  # the workspace's data, as the tests use
FULL = {"warmup": 3, "iters": {"cpu": "auto", "cuda": 10}, "repeats": 3, "seed_steps": {"cpu": 200, "cuda": 2000},
        "max_call_s": {"cpu": 2.0, "cuda": 1.0}}


def build_parser() -> argparse.ArgumentParser:
    """The command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", default="*", help="comma-separated names or shell wildcards (default: all generators)")
    p.add_argument("--bench", default=None,
                   help=f"comma-separated subset of {', '.join(BENCHES)}; sample is the measure that fits the model "
                        "(img/s; MP/s for an upscaler). Default: sample,train, and seed when the models include "
                        f"the seed's {SEED_MODEL}")
    p.add_argument("--device", default="cpu", help="cpu or cuda[:N]")
    p.add_argument("--threads", type=int, default=None,
                   help="CPU threads for torch (default: torch's choice); 1 is steadier on a shared machine")
    p.add_argument("--precision", default="auto", choices=PRECISION_CHOICES,
                   help="auto (default): bf16 where the device runs it natively (CUDA with bf16, a CPU with "
                        "AVX512-BF16 or AMX), else fp32, as imggen's trainer chooses; the results record the choice")
    p.add_argument("--channels-last", action="store_true", help="channels_last memory format for 4-D weights")
    p.add_argument("--compile", nargs="?", const="default", default=None, choices=COMPILE_MODES, metavar="MODE",
                   help=f"torch.compile the networks (mode: {', '.join(COMPILE_MODES)}; default 'default')")
    p.add_argument("--cuda-graphs", action="store_true", help="capture the sampling forward in CUDA graphs")
    p.add_argument("--batch-sizes", default=None,
                   help=f"comma-separated, or 'auto' (default: cpu {DEFAULT_BATCHES['cpu']}, cuda "
                        f"{DEFAULT_BATCHES['cuda']})")
    p.add_argument("--warmup", type=int, default=None, help=f"warm-up iterations (default {FULL['warmup']})")
    p.add_argument("--iters", type=iters_option, default=None,
                   help=f"iterations per timed loop, or 'auto': as many as fill {LOOP_S} s, at most {MAX_AUTO_ITERS}, "
                        "the warm-up cut to as long (default: cpu auto, cuda 10)")
    p.add_argument("--max-call-s", type=float, default=None,
                   help="skip batch sizes (and step counts) whose one call would take longer than this at the "
                        "device's measured matmul peak; when no size fits, the smallest is halved until one does "
                        "(default: cpu 2, cuda 1; 0 = no cap)")
    p.add_argument("--repeats", type=int, default=None, help=f"timed loops; the median counts ({FULL['repeats']})")
    p.add_argument("--seed-steps", type=int, default=None,
                   help="steps of the seed-loop vs trainer comparison (default: cpu 200, cuda 2000)")
    p.add_argument("--data-root", default=None,
                   help=f"folder holding mnist/ (default: ${DATA_ENV}, else {SHARED_DATA} when it exists, else "
                        "imggen's default cache)")
    p.add_argument("--quick", action="store_true", help="tiny settings for a smoke test (batch 8, 2 iterations)")
    p.add_argument("--out", help="write the results as JSON here")
    p.add_argument("--markdown",
                   help="write this run's page here (docs/benchmarks.md is made by benchmarks/docs_page.py)")
    p.add_argument("--compare", help="an earlier --out JSON: print new/old throughput ratios")
    return p


def iters_option(text: str) -> int | str:
    """``--iters``: a count, or ``auto``."""
    return "auto" if text.strip().lower() == "auto" else int(text)


def pick(value: Any, key: str, quick: bool, device: str) -> Any:
    """An explicit option, else the quick or full default for ``key`` (``auto`` iterations become ``None``)."""
    if value is None:
        value = QUICK[key] if quick and key in QUICK else FULL[key]
        value = value[device] if isinstance(value, dict) else value
    return None if value == "auto" else value


def benches(args: argparse.Namespace, names: list[str]) -> set[str]:
    """The benchmarks to run: ``--bench``, else sampling and training, and the seed comparison when the models
    include the seed's (so ``--models vae-conv-mnist`` measures the VAE, not the seed's MLP GAN too)."""
    if args.bench:
        return set(args.bench.split(","))
    return {"sample", "train", *(["seed"] if SEED_MODEL in names else [])}


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
    if args.max_call_s is not None and not args.max_call_s >= 0:
        raise SetupError("--max-call-s must be >= 0 (0: no cap)")
    for name in ("warmup", "iters", "repeats", "seed_steps"):
        value = getattr(args, name)
        if isinstance(value, int) and value < (0 if name == "warmup" else 1):
            raise SetupError(f"--{name.replace('_', '-')} must be {'>= 0' if name == 'warmup' else '>= 1'}")
    unknown = set((args.bench or "").split(",")) - {"", *BENCHES}
    if unknown:
        raise SetupError(f"--bench: unknown {', '.join(sorted(unknown))}; choose from {', '.join(BENCHES)}")
    if args.threads is not None:
        if args.threads < 1:
            raise SetupError("--threads must be >= 1")
        torch.set_num_threads(args.threads)
    chosen = choose_precision(args.precision, device)
    dtype = configure_precision(chosen, device)
    if chosen == "tf32" and device.type != "cuda":
        print("note: tf32 applies to CUDA matmuls only; on CPU this run is plain fp32", file=sys.stderr)
    if args.precision == "auto":
        print(f"precision auto -> {chosen}: {precision_reason(chosen, device)}", file=sys.stderr)
    kind = device.type
    return BenchConfig(device=device, precision=chosen, precision_asked=args.precision, dtype=dtype,
                       channels_last=args.channels_last,
                       compile_mode=args.compile, cuda_graphs=args.cuda_graphs, quick=args.quick,
                       warmup=pick(args.warmup, "warmup", args.quick, kind),
                       iters=pick(args.iters, "iters", args.quick, kind),
                       max_call_s=pick(args.max_call_s, "max_call_s", args.quick, kind),
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
                    registry_for("generators").get(item)
                found = [item]
            except ImggenError as exc:
                errors.append(str(exc))
                found = []
        names += [n for n in found if n not in names]
    return names, errors


def run(args: argparse.Namespace, cfg: BenchConfig) -> dict[str, Any]:
    """Every requested benchmark; failures become rows or messages and the sweep goes on."""
    sizes = parse_batch_sizes(args.batch_sizes or (QUICK["batch_sizes"] if args.quick else
                                                   DEFAULT_BATCHES[cfg.device.type]))
    environment = describe_environment(cfg.device)  # before the run, so the load average is the machine's own
    names, errors = resolve_models(args.models)
    for message in errors:
        print(f"error: {message}", file=sys.stderr)
    todo = benches(args, names)
    peaks = measure_peaks(cfg.device, cfg.dtype, cfg.precision, quick=cfg.quick)
    if cfg.max_call_s:
        cfg = dataclasses.replace(cfg, max_call_flops=cfg.max_call_s * peaks.matmul_flops_per_s)
    results: list[dict[str, Any]] = []
    jobs = [(name, "sample", sampling_rows) for name in names if "sample" in todo]
    jobs += [(name, "train", training_rows) for name in names if "train" in todo and training_task(name)]
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
    if "seed" in todo:
        seed = seed_comparison(cfg, pick(args.seed_steps, "seed_steps", cfg.quick, cfg.device.type))
    if not cfg.quick:  # measure the peaks again and keep the best: other load on the machine only lowers them
        peaks = best_peaks(peaks, measure_peaks(cfg.device, cfg.dtype, cfg.precision))
    add_roofline(results, peaks)
    if seed is not None:
        add_seed_roofline(seed, peaks)
    options = cfg.as_dict()
    if cfg.precision_asked == "auto":
        options["precision_reason"] = precision_reason(cfg.precision, cfg.device)
    return {"suite": "imggen-benchmarks", "format": 1, "environment": environment,
            "options": options, "peaks": peaks.as_dict(), "results": results, "errors": errors,
            "seed_comparison": seed}


def progress_line(row: dict[str, Any]) -> str:
    """One short line per measured row, printed while the sweep runs."""
    what = f"{row['model']} {bench_label(row)} [{row['variant']}] batch {row['batch_size']}"
    if row["status"] != "ok":
        return f"  {what}: {row['status']} ({row.get('message', '')})"
    rate, unit = throughput(row)
    return f"  {what}: {rate:,.{0 if rate >= 100 else 2}f} {unit}, {row['ms_per_batch']:.3f} ms/batch"


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
