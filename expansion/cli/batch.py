"""``expansion batch``: many scenarios on Dask."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ExpansionError
from .options import overwrite_option, runs_opt, seed_opt


@click.command()
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes of the local Dask cluster (default 2).")
@click.option("--scheduler", default=None, help="Address of an existing Dask scheduler (tcp://host:8786).")
@click.option("--out-root", type=click.Path(path_type=Path), default=None,
              help="Write each run to OUT_ROOT/<scenario file name> (default outputs/<city>/<scenario>/).")
@overwrite_option("existing run folders this tool wrote (never a folder holding other files)")
@runs_opt
@seed_opt
def batch(scenarios: tuple[Path, ...], workers: int | None, scheduler: str | None, out_root: Path | None,
          overwrite: bool, runs: int | None, seed: int | None) -> None:
    """Run several SCENARIOS at once on Dask (a local cluster by default)."""
    from ..pipeline.batch import format_batch_table, run_batch

    if workers and scheduler:
        raise click.UsageError("give either --workers or --scheduler, not both")

    def report(r) -> None:
        status = f"done in {r.seconds:.1f} s" if r.ok else f"FAILED: {r.message}"
        click.echo(f"{Path(r.scenario).name}: {status}", err=True)

    results = run_batch(list(scenarios), workers=workers, scheduler=scheduler, out_root=out_root,
                        overwrite=overwrite, on_result=report, runs=runs, seed=seed)
    click.echo(format_batch_table(results))
    failed = [r for r in results if not r.ok]
    if failed:
        raise ExpansionError(f"{len(failed)} of {len(results)} scenarios failed (see the table above)")
