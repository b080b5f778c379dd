"""``expansion run``: a scenario end to end."""

from __future__ import annotations

from pathlib import Path

import click

from .options import out_opt, overwrite_opt, runs_opt, scenario_arg, seed_opt
from .progress import Heartbeat


@click.command()
@scenario_arg
@out_opt
@runs_opt
@seed_opt
@overwrite_opt
def run(scenario: Path, out: Path | None, runs: int | None, seed: int | None, overwrite: bool) -> None:
    """Run SCENARIO (a scenario .toml) and write the run folder."""
    from ..demand import format_demand_table
    from ..pipeline.run import run as run_pipeline

    with Heartbeat():
        result = run_pipeline(scenario, out=out, overwrite=overwrite, runs=runs, seed=seed)
    click.echo(format_demand_table(result.demand))
    click.echo("")
    for line in result.headline():
        click.echo(line)
    click.echo(f"\nResults: {result.out}")
    click.echo(f"Open {result.out / 'index.html'} in a browser.")
