"""The ``imggen`` command: a thin layer that parses arguments and calls the Python API.

Each group of commands lives in its own module and is attached to :data:`cli` here.
"""

from __future__ import annotations

import sys

import click

from imggen.cli import evaluate, models, train, weights
from imggen.errors import ImggenError
from imggen.version import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="imggen")
def cli() -> None:
    """imggen: list, inspect, sample, train and evaluate image-generation models."""


for command in [*models.COMMANDS, *train.COMMANDS, *evaluate.COMMANDS, *weights.COMMANDS]:
    cli.add_command(command)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; known errors print one clear line instead of a traceback."""
    try:
        cli.main(args=argv, prog_name="imggen", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (ImggenError, ValueError, TypeError, FileNotFoundError) as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
