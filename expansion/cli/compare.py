"""``expansion compare``: run folders side by side."""

from __future__ import annotations

from pathlib import Path

import click

from .options import overwrite_option


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write the comparison page here (default: no page, only the table).")
@click.option("--baseline", type=click.Path(path_type=Path), default=None,
              help="The run the others are compared with (shown first, with differences against it).")
@overwrite_option("an existing comparison page this tool wrote (never any other file)")
def compare(run_dirs: tuple[Path, ...], out: Path | None, baseline: Path | None, overwrite: bool) -> None:
    """Compare run folders side by side: a table, and a page with --out that a council can read
    (assumptions beside results, differences against --baseline, shared-axis charts, a map of the
    land and arterials needed in every scenario, each run's caveats)."""
    from ..pipeline.compare import compare_runs

    table = compare_runs(list(run_dirs), out=out, overwrite=overwrite, baseline=baseline)
    click.echo(table)
    if out is not None:
        click.echo(f"\nComparison page: {out}")
