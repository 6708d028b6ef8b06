"""Results out: the stdout table, the JSON file, the generated docs page, and ratios against an earlier run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.config import precision_label
from benchmarks.results import OK, finite, throughput

NOT_RECORDED = "not recorded"
COLUMNS = ("model", "bench", "variant", "batch", "throughput", "ms/batch", "peak mem", "params", "MFLOP/img",
           "B/img", "bound", "% of limit")


def fmt_count(x: float | None, digits: int = 0) -> str:
    """``1234567.8`` → ``1,234,568``; missing → ``-``."""
    return f"{x:,.{digits}f}" if finite(x) else "-"


def fmt_bytes(n: int | float | None) -> str:
    """Bytes as MiB, or ``n/a`` when they could not be measured."""
    return "n/a" if n is None else f"{n / 2**20:,.1f} MiB"


def fmt_rate(row: dict[str, Any]) -> str:
    """A measured row's throughput with its unit: ``34,899 img/s``, ``12.34 MP/s``."""
    rate, unit = throughput(row)
    return f"{fmt_count(rate, 0 if finite(rate) and rate >= 100 else 2)} {unit}"


def bench_label(row: dict[str, Any]) -> str:
    """What a row timed, with its step count for an iterative sampler: ``sample``, ``sample (50 steps)``."""
    return f"{row['bench']} ({row['steps']} steps)" if row.get("steps") else row["bench"]


def isa_text(env: dict[str, Any]) -> str:
    """The CPU's recorded instruction-set features and torch's kernel level, or ``not recorded`` (older files)."""
    if "cpu_isa" not in env:
        return NOT_RECORDED
    features = ", ".join(env["cpu_isa"]) if env["cpu_isa"] is not None else "unknown (no /proc/cpuinfo flags)"
    extra = [f"torch kernels {env['torch_cpu_capability']}"] if env.get("torch_cpu_capability") else []
    if env.get("cpu_native_bf16") is not None:
        extra.append("native bf16" if env["cpu_native_bf16"] else "no native bf16")
    return features + (f" ({'; '.join(extra)})" if extra else "")


def table_cells(row: dict[str, Any]) -> list[str]:
    """One result row as the cells of :data:`COLUMNS`."""
    head = [row["model"], bench_label(row), row["variant"], str(row["batch_size"])]
    if row["status"] != OK:
        return head + [row["status"], "-", "-", "-", "-", "-", "-", row.get("message", "")[:60]]
    fraction = row.get("fraction_of_limit")
    return head + [
        fmt_rate(row), f"{row['ms_per_batch']:.3f}", fmt_bytes(row.get("peak_memory_bytes")),
        fmt_count(row.get("params")), f"{row['flops_per_image'] / 1e6:.2f}",
        fmt_count(row.get("bytes_written_per_image")), row.get("bound") or "-",
        f"{100 * fraction:.1f}%" if finite(fraction) else "-",
    ]


def text_table(header: tuple[str, ...] | list[str], rows: list[list[str]]) -> str:
    """A fixed-width table with a rule under the header."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in [list(header), *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def md_table(header: tuple[str, ...] | list[str], rows: list[list[str]]) -> str:
    """A GitHub markdown table."""
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(c.replace("|", "/") for c in r) + " |" for r in rows]
    return "\n".join(out)


def seed_lines(seed: dict[str, Any] | None) -> list[str]:
    """The seed-loop comparison as lines (empty when it was not run)."""
    if not seed:
        return []
    if seed.get("status") != OK:
        return [f"Seed loop vs imggen trainer: not measured ({seed.get('message', seed.get('status'))})."]
    rounds = f"median of {seed['rounds']} alternating rounds" if seed["rounds"] > 1 else "one round"
    return [
        f"Seed loop vs imggen trainer ({seed['model']}, batch {seed['batch_size']}, {seed['steps']} timed steps "
        f"each, {rounds}, same device):",
        f"  seed loop (DataLoader + ToTensor, Sigmoid + BCELoss): {fmt_count(seed['seed_images_per_s'])} img/s "
        f"({seed['seed_seconds']:.2f} s)",
        f"  imggen trainer ({seed['trainer']}, seed recipe): {fmt_count(seed['imggen_images_per_s'])} img/s "
        f"({seed['imggen_seconds']:.2f} s)",
        f"  ratio imggen / seed: {seed['ratio']:.2f}x (target >= {seed['target_ratio']:.0f}x)",
    ] + ([
        f"  compute limit at the measured matmul peak ({seed['flops_per_image'] / 1e6:.2f} MFLOP per image per "
        f"step): {fmt_count(seed['compute_limit_images_per_s'])} img/s, i.e. at most "
        f"{seed['ratio_at_limit']:.2f}x the seed loop; imggen reaches {100 * seed['imggen_fraction_of_limit']:.0f}%"
        f" of it, the seed loop {100 * seed['seed_fraction_of_limit']:.0f}%",
    ] if finite(seed.get("compute_limit_images_per_s")) else [])


def print_report(report: dict[str, Any]) -> None:
    """Everything measured, as tables on stdout."""
    env, peaks = report["environment"], report.get("peaks")
    opts = report["options"]
    reason = f" ({opts['precision_reason']})" if opts.get("precision_reason") else ""
    print(f"\n{env['device_name']} ({env['device']}), torch {env['torch']}, precision {precision_label(opts)}{reason}")
    print(f"CPU: {env['cpu']}; instruction sets: {isa_text(env)}")
    if peaks:
        print(f"measured peaks: matmul {peaks['matmul_flops_per_s'] / 1e9:,.1f} GFLOP/s, copy "
              f"{peaks['copy_bytes_per_s'] / 1e9:,.1f} GB/s (read + write)")
    if report["results"]:
        print(text_table(COLUMNS, [table_cells(r) for r in report["results"]]))
    for line in seed_lines(report.get("seed_comparison")):
        print(line)
    for message in report.get("errors", []):
        print(f"error: {message}")


def write_json(report: dict[str, Any], path: str | Path) -> None:
    """The whole report as JSON (the input of ``--compare``)."""
    Path(path).write_text(json.dumps(report, indent=2, default=str) + "\n")


def _key(row: dict[str, Any]) -> tuple[str, str, str, int, int | None]:
    return row["model"], row["bench"], row["variant"], row["batch_size"], row.get("steps")


def compare_rows(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """For each result measured in both runs: old and new images/s and their ratio (new / old)."""
    before = {_key(r): r for r in old.get("results", []) if r.get("status") == OK}
    out = []
    for row in new["results"]:
        prev = before.get(_key(row))
        if prev is None or row["status"] != OK:
            continue
        out.append({"model": row["model"], "bench": bench_label(row), "variant": row["variant"],
                    "batch_size": row["batch_size"], "old": prev["images_per_s"], "new": row["images_per_s"],
                    "ratio": row["images_per_s"] / prev["images_per_s"]})
    old_seed, new_seed = old.get("seed_comparison") or {}, new.get("seed_comparison") or {}
    for field in ("seed_images_per_s", "imggen_images_per_s"):
        if finite(old_seed.get(field)) and finite(new_seed.get(field)):
            out.append({"model": new_seed["model"], "bench": field.removesuffix("_images_per_s") + "-loop",
                        "variant": "-", "batch_size": new_seed["batch_size"], "old": old_seed[field],
                        "new": new_seed[field], "ratio": new_seed[field] / old_seed[field]})
    return out


def print_compare(old: dict[str, Any], new: dict[str, Any], old_path: str) -> list[dict[str, Any]]:
    """Print the ratios against ``old`` (and what differs in the environment); return them."""
    ratios = compare_rows(old, new)
    print(f"\ncompared with {old_path} ({old['environment'].get('date', '?')}):")
    for field in ("device_name", "torch"):
        if old["environment"].get(field) != new["environment"].get(field):
            print(f"  note: {field} differs: {old['environment'].get(field)} -> {new['environment'].get(field)}")
    old_precision, new_precision = precision_label(old.get("options", {})), precision_label(new["options"])
    if old_precision != new_precision:
        print(f"  note: precision differs: {old_precision} -> {new_precision}")
    if not ratios:
        print("  no result in common (same model, bench, variant and batch size)")
        return ratios
    cells = [[r["model"], r["bench"], r["variant"], str(r["batch_size"]), fmt_count(r["old"]), fmt_count(r["new"]),
              f"{r['ratio']:.2f}x"] for r in ratios]
    print(text_table(("model", "bench", "variant", "batch", "old img/s", "new img/s", "new/old"), cells))
    return ratios
