"""``expansion backtest``: predict a past epoch and compare."""

from __future__ import annotations

from pathlib import Path

import click

from .options import out_opt, overwrite_opt, runs_opt, scenario_arg, seed_opt
from .progress import Heartbeat


@click.command()
@scenario_arg
@click.option("--observed-year", type=click.IntRange(1800, 2200), required=True,
              help="The later observed built-up epoch to predict.")
@click.option("--quantity", type=click.Choice(["observed", "projected"]), default=None,
              help="New land from the observed change, or from the demand projection "
                   "(default: the scenario's [growth] quantity).")
@click.option("--keep-roads", is_flag=True, default=False,
              help="Keep distance to any road (streets) in the model even when the roads layer is undated or "
                   "newer than "
                   "the base year (it may leak the answer).")
@out_opt
@runs_opt
@seed_opt
@overwrite_opt
def backtest(scenario: Path, observed_year: int, quantity: str | None, out: Path | None, runs: int | None,
             seed: int | None, overwrite: bool, keep_roads: bool) -> None:
    """Calibrate on calibrate_from -> base_year, predict OBSERVED_YEAR, compare with what happened."""
    from ..pipeline.backtest import backtest as run_backtest

    with Heartbeat():
        folder, res = run_backtest(scenario, observed_year, quantity=quantity, out=out, overwrite=overwrite,
                                   runs=runs, seed=seed, keep_roads=keep_roads)
    click.echo(f"backtest {res['base_year']} -> {res['observed_year']} ({res['quantity']['mode']} quantity, "
               f"{res['quantity']['observed_cells']} new cells observed)")
    click.echo(f"{'model':<22} {'FoM':>7} {'producer':>9} {'user':>7} {'quantity':>9} {'allocation':>11}")
    blocks = {"growth model": res, **{f"null: {k}": v for k, v in res["null_models"].items()}}
    for name, r in blocks.items():
        click.echo(f"{name:<22} {r['fom']:>7.3f} {r['producers_accuracy']:>9.3f} {r['users_accuracy']:>7.3f} "
                   f"{r['quantity_disagreement']:>9.4f} {r['allocation_disagreement']:>11.4f}")
    click.echo(f"FoM over {res['runs']} runs: {res['fom_mean']:.3f} +/- {res['fom_sd']:.3f}")
    # the warnings were logged (stderr) as they arose, each once; backtest.json and backtest.html keep them
    click.echo(f"\nResults: {folder}")
