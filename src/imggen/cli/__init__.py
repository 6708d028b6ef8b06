"""The ``imggen`` command: a thin layer that parses arguments and calls the Python API.

Each group of commands lives in its own module, imported only when one of its commands runs (or shows its help):
``imggen --help``, ``--version`` and typos never import torch. :data:`COMMANDS` is the table of contents.
"""

from __future__ import annotations

import importlib
import os
import sys
import traceback

import click

from imggen.errors import ImggenError
from imggen.version import __version__

#: command → (module that defines it, the one-line help ``imggen --help`` shows without importing that module)
COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("imggen.cli.models", "List registered generators matching FILTER (shell wildcards)."),
    "info": ("imggen.cli.models", "Describe a generator, or one of its pretrained weights (NAME.TAG)."),
    "sample": ("imggen.cli.models", "Sample N images from a generator and save them with provenance."),
    "train": ("imggen.cli.train", "Train MODEL with its default recipe (one epoch of MNIST; change it with --set), or "
              "reproduce --recipe."),
    "export": ("imggen.cli.train", "Export the model of RUN_DIR's last checkpoint as a weights folder."),
    "upscale": ("imggen.cli.upscale", "Upscale a picture (or every picture of a folder) SCALE times with a "
                "super-resolution model."),
    "eval": ("imggen.cli.evaluate", "Score generator NAME[.tag] against real data (or an SR model on Set5/Set14) "
             "and print a table."),
    "download": ("imggen.cli.weights", "Fetch the pretrained weights matching PATTERN into the Hugging Face cache, "
                 "each checked against its sha256."),
    "cache": ("imggen.cli.weights", "Move downloaded weights to a machine without network (Hugging Face cache "
              "layout)."),
    "verify": ("imggen.cli.weights", "Re-make NAME's golden samples and compare them with the digest stored in its "
               "metadata."),
}
#: API phrasing → the CLI's words, for error messages that come up from the Python API
CLI_WORDS = {
    "imggen.list_models(pretrained=True)": "`imggen list --pretrained`",
    "imggen.list_models()": "`imggen list`",
    "drop labels=": "drop --labels",
    "pass labels=": "pass --labels",
}
_STATE = {"debug": False}


class LazyGroup(click.Group):
    """A group whose commands are imported on demand, from the :data:`COMMANDS` table."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[name][0])
        return next(c for c in module.COMMANDS if c.name == name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_, text) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="imggen")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error (also: IMGGEN_DEBUG=1).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars (they are off anyway when stderr is no terminal).")
def cli(debug: bool, quiet: bool) -> None:
    """imggen: list, inspect, sample, train and evaluate image-generation models."""
    if quiet:
        from imggen import progress

        progress.QUIET = True


def in_cli_words(message: str) -> str:
    """An error message with the Python API's phrasing (``labels=``, ``imggen.list_models()``) in CLI words."""
    for api, words in CLI_WORDS.items():
        message = message.replace(api, words)
    return message


def report(exc: BaseException, known: bool) -> int:
    """Print one line for an error (the traceback too under ``--debug``); returns the exit code."""
    if _STATE["debug"]:
        traceback.print_exception(exc)
    if known:
        click.echo(f"error: {in_cli_words(str(exc))}", err=True)
        return 2
    click.echo(f"error: unexpected {type(exc).__name__}: {exc} (a bug in imggen? rerun with --debug for the "
               "traceback and report it)", err=True)
    return 1


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; errors print one clear line instead of a traceback."""
    args = list(sys.argv[1:] if argv is None else argv)
    _STATE["debug"] = "--debug" in args or os.environ.get("IMGGEN_DEBUG", "") not in ("", "0")
    args = [a for a in args if a != "--debug"]  # accepted anywhere on the line, not only before the command
    try:
        cli.main(args=args, prog_name="imggen", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.UsageError as exc:  # bad options or arguments: one line too, with where to read more
        where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        click.echo(f"error: {in_cli_words(exc.format_message())}{where}", err=True)
        return exc.exit_code
    except click.ClickException as exc:
        exc.message = in_cli_words(exc.message)
        exc.show()
        return exc.exit_code
    except (ImggenError, ValueError, TypeError, OSError) as exc:
        return report(exc, known=True)
    except Exception as exc:  # noqa: BLE001  (a bug: still one line, with the way to the traceback)
        return report(exc, known=False)
    finally:
        if "imggen.progress" in sys.modules:  # in-process callers (tests) start each call afresh
            sys.modules["imggen.progress"].QUIET = False
    return 0


if __name__ == "__main__":
    sys.exit(main())
