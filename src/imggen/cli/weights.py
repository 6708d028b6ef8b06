"""``imggen download``, ``imggen cache export|import`` and ``imggen verify``: weights for offline and checked use."""

from __future__ import annotations

import click
from tqdm import tqdm

from imggen.hub.cache import export_cache, import_cache
from imggen.registry.factory import fetch_pretrained, find_pretrained, location, verify_pretrained


def _matches(pattern: str) -> list:
    found = find_pretrained(pattern)
    if not found:
        raise click.ClickException(f"no pretrained weight matches {pattern!r}; see `imggen list --pretrained`")
    return found


@click.command("download")
@click.argument("pattern")
def download_command(pattern: str) -> None:
    """Fetch the pretrained weights matching PATTERN into the Hugging Face cache, each checked against its sha256.

    PATTERN is arch.tag with shell wildcards (a bare arch means its default tag); what is fetched loads later with
    HF_HUB_OFFLINE=1."""
    found = _matches(pattern)
    for _, name, cfg in tqdm(found, desc="weights", unit="weight", disable=len(found) < 2):
        where = location(cfg)
        weights = fetch_pretrained(cfg)
        how = "bundled in the package" if where.bundled_present else f"cached from {cfg.source}"
        tqdm.write(f"{name}: {how}, sha256 {weights.sha256[:12]} verified")


@click.group("cache")
def cache_group() -> None:
    """Move downloaded weights to a machine without network (Hugging Face cache layout)."""


@cache_group.command("export")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--pattern", default="*", show_default=True, help="Which weights (arch.tag, shell wildcards).")
def cache_export_command(file: str, pattern: str) -> None:
    """Pack the cached Hub weights matching PATTERN into FILE (a .tar.gz)."""
    repos = [cfg.hub_repo[0] for _, _, cfg in _matches(pattern) if cfg.hub_repo]
    for repo_id in export_cache(file, repos):
        click.echo(f"exported {repo_id}")


@cache_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def cache_import_command(file: str) -> None:
    """Unpack FILE (from `imggen cache export`) into this machine's Hugging Face cache."""
    for repo_id in import_cache(file):
        click.echo(f"imported {repo_id}")
    click.echo("load them offline with HF_HUB_OFFLINE=1")


@click.command("verify")
@click.argument("name")
def verify_command(name: str) -> None:
    """Re-make NAME's golden samples and compare them with the digest stored in its metadata."""
    result = verify_pretrained(name)
    click.echo(f"{result['name']}: {result['status']} (max pooled difference {result['max_diff']:.2g}, "
               f"tolerance {result['tolerance']:g}; weights sha256 {result['sha256'][:12]})")
    if result["status"] == "different":
        raise click.ClickException(f"{name}'s samples differ from its golden samples: the weights loaded wrongly "
                                   "or this torch/device computes differently beyond the tolerance")


COMMANDS = [download_command, cache_group, verify_command]
