"""Plot FD against training images seen and against training seconds for a few runs, from their ``log.jsonl``.

Why: the transfer-learning page (docs/transfer-learning.md) compares runs that differ in one thing (the discriminator,
a pretrained start, the data fraction) on the same budget; the trainer's periodic evaluation (``eval_every``) writes
one line per epoch with the ``images`` seen, the training ``seconds`` (evaluation excluded) and the ``metrics``. This
draws both curves as one SVG (no plotting library needed) and writes a Markdown table: the final value of each run, and
the images each run needed to reach the first run's final value (the issue's target: a third or less).

    python scripts/transfer_curves.py --run baseline=runs/transfer/cgan-dcgan-fashion-baseline \\
        --run projected=runs/transfer/cgan-dcgan-fashion-projected \\
        -o docs/assets/transfer/fashion-projected.svg --table docs/assets/transfer/fashion-projected.md
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
WIDTH, HEIGHT, MARGIN = 420, 300, 56


def read_curve(run: str | Path, metric: str = "fd") -> list[dict[str, float]]:
    """The evaluated epochs of a run folder (or a ``log.jsonl`` path): ``images``, ``seconds`` and ``value``."""
    path = Path(run)
    log = path / "log.jsonl" if path.is_dir() else path
    points = []
    for line in log.read_text().splitlines():
        record = json.loads(line) if line.strip() else {}
        if metric in record.get("metrics", {}):
            if "images" not in record:
                raise ValueError(f"{log}: epoch {record.get('epoch')} records no 'images' (a log from before the "
                                 "trainer counted them); rerun the recipe")
            points.append({"images": float(record["images"]), "seconds": float(record["seconds"]),
                           "value": float(record["metrics"][metric])})
    if not points:
        raise ValueError(f"{log} has no evaluated epoch with metric {metric!r}; set trainer.eval_every in the recipe")
    return points


def images_to_reach(curve: list[dict[str, float]], target: float) -> float | None:
    """The images seen at the first evaluation whose value is at or below ``target`` (``None``: never)."""
    return next((p["images"] for p in curve if p["value"] <= target), None)


def summary(curves: dict[str, list[dict[str, float]]]) -> list[dict[str, float | str | None]]:
    """Per run: its final value, and the images it needed to reach the first run's final value (and that as a
    fraction of the first run's images)."""
    first = next(iter(curves.values()))
    target, budget = first[-1]["value"], first[-1]["images"]
    rows: list[dict[str, float | str | None]] = []
    for label, curve in curves.items():
        reached = images_to_reach(curve, target)
        rows.append({"run": label, "final": curve[-1]["value"], "images": curve[-1]["images"],
                     "seconds": curve[-1]["seconds"], "images_to_first_final": reached,
                     "fraction_of_first": reached / budget if reached is not None else None})
    return rows


def markdown_table(rows: list[dict[str, float | str | None]], metric: str) -> str:
    """The summary as a Markdown table."""
    lines = [f"| run | final {metric} | images | training s | images to reach {rows[0]['run']}'s final | fraction |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        reached = "never" if r["images_to_first_final"] is None else f"{r['images_to_first_final']:.0f}"
        frac = "–" if r["fraction_of_first"] is None else f"{r['fraction_of_first']:.2f}"
        lines.append(f"| {r['run']} | {r['final']:.4g} | {r['images']:.0f} | {r['seconds']:.0f} | {reached} | {frac} |")
    return "\n".join(lines) + "\n"


def _panel(curves: dict[str, list[dict[str, float]]], x_key: str, x_label: str, y_label: str, left: float) -> str:
    """One plot: every curve's value (log scale) against ``x_key``, with axes, ticks and labels."""
    xs = [p[x_key] for c in curves.values() for p in c]
    ys = [math.log10(max(p["value"], 1e-12)) for c in curves.values() for p in c]
    x_max, y_lo, y_hi = max(xs) or 1.0, math.floor(min(ys)), math.ceil(max(ys))
    y_hi = y_hi if y_hi > y_lo else y_lo + 1
    w, h = WIDTH - MARGIN - 16, HEIGHT - 2 * MARGIN

    def px(x: float, y: float) -> tuple[float, float]:
        return left + MARGIN + w * x / x_max, MARGIN + h * (1 - (math.log10(max(y, 1e-12)) - y_lo) / (y_hi - y_lo))

    parts = [f'<rect x="{left + MARGIN}" y="{MARGIN}" width="{w}" height="{h}" fill="none" stroke="#444"/>']
    for e in range(y_lo, y_hi + 1):
        _, y = px(0, 10.0 ** e)
        parts.append(f'<text x="{left + MARGIN - 6}" y="{y + 4:.1f}" text-anchor="end">1e{e}</text>')
    for k in range(5):
        x, _ = px(x_max * k / 4, 10.0 ** y_lo)
        parts.append(f'<text x="{x:.1f}" y="{MARGIN + h + 16}" text-anchor="middle">{x_max * k / 4:.3g}</text>')
    parts.append(f'<text x="{left + MARGIN + w / 2}" y="{HEIGHT - 12}" text-anchor="middle">{x_label}</text>')
    parts.append(f'<text x="{left + 14}" y="{MARGIN + h / 2}" text-anchor="middle" '
                 f'transform="rotate(-90 {left + 14} {MARGIN + h / 2})">{y_label}</text>')
    for colour, curve in zip(COLOURS, curves.values(), strict=False):
        points = " ".join("{:.1f},{:.1f}".format(*px(p[x_key], p["value"])) for p in curve)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
    return "\n".join(parts)


def svg_figure(curves: dict[str, list[dict[str, float]]], metric: str = "fd") -> str:
    """Two panels (the metric against training images seen, and against training seconds) with a legend."""
    if len(curves) > len(COLOURS):
        raise ValueError(f"at most {len(COLOURS)} runs per figure, got {len(curves)}")
    label = f"{metric.upper()} (log scale)"
    legend = [f'<text x="{MARGIN + 8}" y="{20 + 14 * i}" fill="{c}">{name}</text>'
              for i, (c, name) in enumerate(zip(COLOURS, curves, strict=False))]
    body = "\n".join([_panel(curves, "images", "training images seen", label, 0),
                      _panel(curves, "seconds", "training seconds", label, WIDTH), *legend])
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * WIDTH}" height="{HEIGHT}" '
            f'font-family="sans-serif" font-size="11">\n<rect width="100%" height="100%" fill="white"/>\n'
            f'{body}\n</svg>\n')


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", action="append", required=True, metavar="LABEL=FOLDER",
                        help="a run folder (or its log.jsonl) and its label; the first is the reference (repeatable)")
    parser.add_argument("--metric", default="fd", help="the key of the log's metrics to plot (default fd)")
    parser.add_argument("-o", "--out", required=True, help="the SVG file to write")
    parser.add_argument("--table", help="also write the summary as a Markdown table to this file")
    args = parser.parse_args(argv)
    curves = {}
    for spec in args.run:
        label, sep, folder = spec.partition("=")
        if not sep:
            parser.error(f"--run {spec!r} must be LABEL=FOLDER")
        curves[label] = read_curve(folder, args.metric)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(svg_figure(curves, args.metric))
    table = markdown_table(summary(curves), args.metric)
    if args.table:
        Path(args.table).write_text(table)
    print(table, end="")


if __name__ == "__main__":
    main()
