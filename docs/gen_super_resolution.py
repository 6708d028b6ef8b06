"""Write the PSNR / SSIM table and the side-by-side figure of ``docs/super-resolution.md``.

Run from the repo root (a few minutes on one CPU thread: the self-ensemble rows are measured)::

    OMP_NUM_THREADS=1 python docs/gen_super_resolution.py

The model rows are the metrics recorded in each shipped SR weight's metadata (measured by its recipe's export with
:func:`imggen.metrics.sr.evaluate_upscaler`; ``tests/test_sr.py`` checks that rescoring reproduces them); the bicubic
rows are measured here the same way, and so is each default weight with ``upscale(..., self_ensemble=True)``. The
figure crops one Set14 picture at x3: bicubic, ESPCN, SRCNN and the ground truth side by side. The tables between the
markers in the page (the scores, the Set5 x3 targets against the default weights, the self-ensemble) are rewritten,
never typed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from generated import default_weight, load_shipped, markers, replace_block
from PIL import Image, ImageDraw

import imggen
from imggen.data.sr import SCALES, TEST_SETS, load_pairs
from imggen.metrics.sr import evaluate_upscaler
from imggen.models.upscale import to_pil

DOCS = Path(__file__).resolve().parent
PAGE = DOCS / "super-resolution.md"
FIGURE = DOCS / "assets" / "super-resolution" / "comparison-x3.png"
#: the page's generated blocks: name -> (start marker, end marker)
BLOCKS = {name: markers(f"sr-{name}", "python docs/gen_super_resolution.py")
          for name in ("table", "targets", "ensemble")}
#: issue 19's Set5 x3 targets (Y-PSNR, dB) and the papers' numbers with 91 training images
TARGETS = {"espcn-x3": (32.6, 32.55), "srcnn-x3": (32.5, 32.39)}
FAMILIES = ("espcn", "srcnn")
#: the figure: which picture, which crop (high-resolution pixels: left, top, size), shown enlarged by ZOOM
FIGURE_SET, FIGURE_PICTURE, CROP, ZOOM = "set14", "img_011", (330, 150, 120), 2


def weight_metrics(arch: str) -> tuple[str, dict[str, float]] | None:
    """``(arch.tag, metrics)`` of ``arch``'s default weight, or ``None`` when it has none yet."""
    default = default_weight(arch)
    return (default["name"], default["metrics"]) if default else None


def every_weight(arch: str) -> list[tuple[str, dict[str, float]]]:
    """``(label, metrics)`` of each of ``arch``'s weights, the default first and marked so."""
    weights = sorted(imggen.model_info(arch)["pretrained"], key=lambda w: not w["default"])
    return [(f"`{w['name']}`" + (" (default)" if w["default"] and len(weights) > 1 else ""), w["metrics"])
            for w in weights]


def table() -> str:
    """The markdown table: per scale, bicubic then each family's weights (default first), Y-PSNR / SSIM on each set."""
    head = "| scale | model | " + " | ".join(f"{s.capitalize()} PSNR (dB) ↑ | {s.capitalize()} SSIM ↑"
                                              for s in TEST_SETS) + " |"
    lines = [head, "| --- | --- |" + " ---: |" * (2 * len(TEST_SETS))]
    for scale in SCALES:
        rows = [("bicubic (MATLAB)", evaluate_upscaler(imggen.create_model(f"bicubic-x{scale}")))]
        for family in FAMILIES:
            rows += every_weight(f"{family}-x{scale}")
        for label, metrics in rows:
            cells = [f"{metrics[f'{s}_{m}']:.{2 if m == 'psnr' else 4}f}" for s in TEST_SETS for m in ("psnr", "ssim")]
            lines.append(f"| x{scale} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def targets() -> str:
    """The markdown table of the Set5 x3 targets against the default weights' recorded Y-PSNR."""
    lines = ["| model | default weight | Set5 x3 PSNR (dB) | target | paper (91 images) | status |",
             "| --- | --- | ---: | ---: | ---: | --- |"]
    for arch, (target, paper) in TARGETS.items():
        name, metrics = weight_metrics(arch)
        psnr = metrics["set5_psnr"]
        verdict = "met" if psnr >= target else f"{target - psnr:.2f} dB short"
        lines.append(f"| {arch} | `{name}` | {psnr:.2f} | {target} | {paper} | {verdict} |")
    return "\n".join(lines)


def ensemble() -> str:
    """The markdown table of each family's default weights at every scale: the recorded Y-PSNR of ``upscale`` against
    the Y-PSNR measured here with ``self_ensemble=True`` (the mean over the 8 flips and turns)."""
    head = "| scale | default weight | " + " | ".join(f"{s.capitalize()} PSNR (dB) | self-ensemble | gain"
                                                        for s in TEST_SETS) + " |"
    lines = [head, "| --- | --- |" + " ---: |" * (3 * len(TEST_SETS))]
    for scale in SCALES:
        for family in FAMILIES:
            found = weight_metrics(f"{family}-x{scale}")
            if not found:
                continue
            name, recorded = found
            mean = evaluate_upscaler(load_shipped(name), self_ensemble=True)
            cells = [f"{recorded[f'{s}_psnr']:.2f} | {mean[f'{s}_psnr']:.2f} | "
                     f"{mean[f'{s}_psnr'] - recorded[f'{s}_psnr']:+.2f}" for s in TEST_SETS]
            lines.append(f"| x{scale} | `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def labelled(picture: Image.Image, text: str) -> Image.Image:
    """``picture`` with ``text`` on a white strip above it."""
    out = Image.new("RGB", (picture.width, picture.height + 18), "white")
    out.paste(picture, (0, 18))
    ImageDraw.Draw(out).text((4, 3), text, fill="black")
    return out


def figure() -> Path:
    """Bicubic, each family's x3 weight and the ground truth, cropped and enlarged, side by side."""
    pair = next(p for p in load_pairs(FIGURE_SET, 3) if p.name == FIGURE_PICTURE)
    lr = pair.lr.float() / 255
    left, top, size = CROP
    panels = [("bicubic", imggen.create_model("bicubic-x3"))]
    panels += [(found[0], load_shipped(found[0])) for family in FAMILIES if (found := weight_metrics(f"{family}-x3"))]
    tiles = []
    for label, model in panels:
        with torch.no_grad():
            tiles.append((label, model.upscale(lr).cpu()))
    tiles.append(("ground truth", pair.hr.float() / 255))
    strip = []
    for label, image in tiles:
        crop = to_pil(image[:, top:top + size, left:left + size]).resize((size * ZOOM, size * ZOOM), Image.NEAREST)
        strip.append(labelled(crop, label))
    out = Image.new("RGB", (sum(p.width for p in strip) + 6 * (len(strip) - 1), strip[0].height), "white")
    x = 0
    for panel in strip:
        out.paste(panel, (x, 0))
        x += panel.width + 6
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    out.save(FIGURE)
    return FIGURE


def main() -> int:
    replace_block(PAGE, BLOCKS["table"], table())
    replace_block(PAGE, BLOCKS["targets"], targets())
    replace_block(PAGE, BLOCKS["ensemble"], ensemble())
    print(f"wrote the tables in {PAGE} and {figure()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
