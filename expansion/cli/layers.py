"""``expansion layers check`` and ``expansion layers import``."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ExpansionError
from .options import catalog_arg


@click.group()
def layers() -> None:
    """Check and import a city's input layers."""


@layers.command("check")
@catalog_arg
def layers_check(catalog: Path) -> None:
    """Print a table of CATALOG's layers and their problems."""
    from ..config import load_catalog
    from ..inputs import check_catalog, check_problems, format_check_table

    cat = load_catalog(catalog)
    rows = check_catalog(cat)
    click.echo(format_check_table(rows))
    problems = check_problems(cat, rows)
    if problems:
        raise ExpansionError(f"{catalog}: " + "; ".join(problems))


@layers.command("import")
@catalog_arg
@click.option("--role", required=True, type=click.Choice(
    ["boundary", "builtup", "dem", "roads", "water", "protected", "flood", "population"]))
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--year", type=click.IntRange(1800, 2200), default=None, help="Year of a built-up layer.")
@click.option("--encoding", type=click.Choice(["binary", "fraction", "ghs-built-s", "ghsl-ldsmt"]),
              default=None, help="Encoding of a built-up layer.")
def layers_import(catalog: Path, role: str, file: Path, year: int | None, encoding: str | None) -> None:
    """Validate FILE, copy it beside CATALOG and add it to the catalog."""
    from ..inputs import import_layer

    entry = import_layer(catalog, role, file, year=year, encoding=encoding)
    click.echo(f"added {entry.role} layer {entry.path_as_written} to {catalog}")
