"""``expansion demand``: the demand table of a scenario, in about a second."""

from __future__ import annotations

from pathlib import Path

import click

from .options import scenario_arg


@click.command()
@scenario_arg
def demand(scenario: Path) -> None:
    """Print SCENARIO's demand table (population, density, land need, new land), its land-need
    range and density reference, without running the growth, plan and risk stages."""
    from ..demand import format_demand_table, migration_text
    from ..density import pct
    from ..pipeline.demand import demand_only

    sc, catalog, dem = demand_only(scenario)
    click.echo(format_demand_table(dem.rows))
    low, high = dem.low[-1].land_need_ha, dem.high[-1].land_need_ha
    p = dem.path
    click.echo(f"land need in {sc.horizon_year}: {dem.rows[-1].land_need_ha:,.0f} ha (range {low:,.0f} to "
               f"{high:,.0f} ha, density change {pct(p.low_need_change)} to {pct(p.high_need_change)}/yr, "
               f"{p.range_source}); new land {dem.new_land_ha:,.0f} ha")
    click.echo(f"density change {pct(p.annual_change)}/yr ({p.source}); reference: what "
               f"{p.reference.describe()}")
    mig = migration_text(dem.summary(sc)["migration"])
    if mig:
        click.echo(mig)
