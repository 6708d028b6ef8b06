"""``imggen upscale``: super-resolve a picture or a folder of pictures with a pretrained SR model."""

from __future__ import annotations

from pathlib import Path

import click

from imggen.cli.options import DEVICE_HELP, parse_device
from imggen.errors import ImggenError
from imggen.fileio import check_parent_dir

#: file suffixes a folder's pictures are recognised by (other files in the folder are left alone)
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".ppm", ".pgm")


def open_picture(path: Path):  # -> PIL.Image.Image (PIL is imported here, not at start-up)
    """The picture at ``path``, fully read, or one line saying it is not one."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except UnidentifiedImageError:
        raise ImggenError(f"{path} is not a picture imggen can read (PNG, JPEG, BMP, TIFF, WebP, GIF, PPM); "
                          "convert it to PNG first") from None


def pictures_in(folder: Path) -> list[Path]:
    """The picture files directly in ``folder`` (by suffix), sorted, or a clear error when there are none."""
    found = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in PICTURE_SUFFIXES)
    if not found:
        raise ImggenError(f"{folder} holds no picture files ({', '.join(PICTURE_SUFFIXES)})")
    return found


@click.command("upscale")
@click.argument("source", type=click.Path(exists=True))
@click.option("-s", "--scale", type=click.IntRange(2), default=3, show_default=True, help="Upscaling factor.")
@click.option("-o", "--output", required=True, help="Output picture (for one input), or folder (for a folder: one "
              "PNG per picture, same names).")
@click.option("-m", "--model", default="espcn", show_default=True,
              help="SR family (espcn, srcnn, bicubic), registered name (espcn-x3.v2) or weights folder.")
@click.option("--tile", default=128, show_default=True,
              help="Low-resolution tile side: bounds memory, never changes the result.")
@click.option("--self-ensemble", is_flag=True,
              help="Average the model over the 8 flips and quarter turns of each picture (8 times the work).")
@click.option("--device", default="cpu", show_default=True, help=DEVICE_HELP)
def upscale_command(source: str, scale: int, output: str, model: str, tile: int, self_ensemble: bool,
                    device: str) -> None:
    """Upscale a picture (or every picture of a folder) SCALE times with a super-resolution model."""
    from imggen.models.upscale import create_upscaler

    src, out = Path(source), Path(output)
    if src.is_dir():
        inputs = pictures_in(src)
        if out.suffix:
            raise ImggenError(f"-o {output}: a folder of pictures is written to a folder; give a name without suffix")
        targets = [out / f"{p.stem}.png" for p in inputs]
    else:
        inputs, targets = [src], [out]
        if out.suffix.lower() not in PICTURE_SUFFIXES:
            raise ImggenError(f"-o {output}: name the output picture with a suffix such as .png")
        check_parent_dir(output)
    pictures = [open_picture(p) for p in inputs[:1]]  # a bad single input fails before the model loads
    upscaler = create_upscaler(model, scale).to(parse_device(device))
    for i, (path, target) in enumerate(zip(inputs, targets, strict=True)):
        picture = pictures[0] if i == 0 else open_picture(path)
        result = upscaler.upscale(picture, tile=tile, self_ensemble=self_ensemble)
        target.parent.mkdir(parents=True, exist_ok=True)
        result.save(target)
        click.echo(f"{path} ({picture.width}x{picture.height}) -> {target} ({result.width}x{result.height})")


COMMANDS = [upscale_command]
