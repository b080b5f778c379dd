"""``expansion layers check`` and ``expansion layers import``."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import ENCODINGS, ROLES
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


def _numbers(text: str | None) -> list[float] | None:
    """``--values 6,7`` as numbers (whole numbers as ints, so the catalog reads ``[6, 7]``)."""
    if text is None:
        return None
    out = []
    for part in (p.strip() for p in text.split(",")):
        try:
            v = float(part)
        except ValueError:
            raise click.BadParameter(f"'{part}' is not a number; give numbers separated by commas") from None
        out.append(int(v) if v.is_integer() else v)
    return out


def _words(text: str | None) -> list[str] | None:
    return None if text is None else [p.strip() for p in text.split(",") if p.strip()]


@layers.command("import")
@catalog_arg
@click.option("--role", required=True, type=click.Choice(list(ROLES)))
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--year", type=click.IntRange(1800, 2200), default=None,
              help="Year of a built-up layer, or the year a roads, water or protected layer shows.")
@click.option("--encoding", type=click.Choice(list(ENCODINGS)), default=None,
              help="Encoding of a built-up layer (default binary).")
@click.option("--values", "values", default=None, metavar="V,...",
              help="classes: the land-cover codes that are built-up; a raster mask: the codes that are in.")
@click.option("--years", default=None, metavar="Y,...",
              help="Encoding year: the epochs to take from a year-first-built raster.")
@click.option("--threshold", type=float, default=None,
              help="Share for fraction / ghs-built-s built-up; metres of depth for a flood raster.")
@click.option("--class-field", default=None, help="Roads: the field holding the road class.")
@click.option("--arterial-values", default=None, metavar="V,...",
              help="Roads: the values of the class field that are arterial (the rest are local).")
@click.option("--layer", default=None, help="The layer inside a GeoPackage or other multi-layer file.")
@click.option("--band", type=click.IntRange(min=1), default=None, help="The raster band to read (default 1).")
@click.option("--nodata", type=float, default=None, help="The raster's nodata value, if its file lacks one.")
def layers_import(catalog: Path, role: str, file: Path, year: int | None, encoding: str | None,
                  values: str | None, years: str | None, threshold: float | None, class_field: str | None,
                  arterial_values: str | None, layer: str | None, band: int | None,
                  nodata: float | None) -> None:
    """Validate FILE, copy it (with its sidecar files) beside CATALOG and add it to the catalog."""
    from ..inputs import import_layer

    year_list = _numbers(years)
    if year_list is not None and any(not isinstance(y, int) for y in year_list):
        raise click.BadParameter("give whole years separated by commas", param_hint="--years")
    entry = import_layer(catalog, role, file, year=year, encoding=encoding, values=_numbers(values),
                         years=year_list, threshold=threshold, class_field=class_field,
                         arterial_values=_words(arterial_values), layer=layer, band=band, nodata=nodata)
    click.echo(f"added {entry.role} layer {entry.path_as_written} to {catalog}")
