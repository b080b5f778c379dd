"""Land demand: population and density paths turned into hectares of new land.

Method (DESIGN.md section 2, step 1)
------------------------------------
Population is projected year by year from the base year ``t0``:

- natural growth and migration: ``P(t+1) = P(t)·(1 + n) + M(t)``, where ``n`` is
  ``natural_growth`` (per year) and ``M(t)`` the net migration in persons per
  year. ``net_migration`` is a number, or a schedule ``{"2020": 6000, "2035": 4000}``
  whose values hold from their year on (years before the first key have no
  migration);
- a total growth rate: ``P(t+1) = P(t)·(1 + g)``;
- a table of population by year, linearly interpolated between its years; the
  table is authoritative (also for the base year) and a year outside its range
  is an error.

Shocks (``[population] shocks``) add arrivals or departures over a few years, which
then grow like the rest of the population.

Density, in persons per hectare of built-up area: the existing city keeps its own
density (base population / base built-up), so the base-year land need is the built-up
area; the people added since the base year are housed at the density of new growth
(``[density] base``: a number, or "observed" = the population layer's density on
built-up land, else the city's own). Both change by ``r`` a year:
``A(t) = (base_ha + (P(t) − P0) / D_growth) / (1 + r)^(t − t0)``; the table's density
is ``P(t) / A(t)``. New land for the step ending at ``t`` is
``max(0, A(t) − A(t_prev))·(1 − infill_share)``: land outside today's footprint, the
one figure of new land. The base-year row has no new land.

Everything here is pure; :func:`demand_csv` and :func:`format_demand_table` only
make text.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import DensityConfig, PopulationConfig
from .density import population_at
from .errors import ConfigError, DataError

CSV_COLUMNS = ("year", "population", "density_pph", "land_need_ha", "new_land_ha")


@dataclass(frozen=True)
class DemandRow:
    """Demand at one year.

    Attributes
    ----------
    year : calendar year.
    population : persons.
    density_pph : persons per hectare of built-up area.
    land_need_ha : built-up hectares needed for ``population`` at ``density_pph``.
    new_land_ha : new hectares to allocate in the step that ends at ``year``
        (after the infill share); 0 for the base year.
    """

    year: int
    population: float
    density_pph: float
    land_need_ha: float
    new_land_ha: float


def _migration_at(pop: PopulationConfig, year: int) -> float:
    m = pop.net_migration
    if not isinstance(m, dict):
        return float(m)
    value = 0.0
    for key in sorted(m, key=int):
        if int(key) <= year:
            value = float(m[key])
    return value


def _shock_arrivals(pop: PopulationConfig, year: int) -> float:
    """Persons arriving (negative: leaving) during ``year`` from the scenario's shocks."""
    return sum(s.persons / s.over_years for s in pop.shocks if s.year <= year < s.year + s.over_years)


def _table_at(pop: PopulationConfig, year: int) -> float:
    value = population_at(pop, year)
    if value is None:
        years = sorted(int(k) for k in pop.table)
        raise ConfigError(
            f"[population] 'table' covers {years[0]}–{years[-1]} but the scenario needs {year}; "
            "add that year to the table or change base_year/horizon_year"
        )
    return value


def population_by_year(pop: PopulationConfig, first: int, last: int, migration: bool = True,
                       shocks: bool = True) -> dict[int, float]:
    """Population (persons) in every year from ``first`` (the base year) to ``last``.

    Natural growth and migration: ``P(t+1) = P(t)·(1 + n) + M(t)``; a total rate:
    ``P(t+1) = P(t)·(1 + g)``; a table: interpolated. Shocks add their arrivals
    during their years, and those persons then grow by the same yearly factor as
    the rest of the population (``1 + n``, ``1 + g``, or the table's own ratio from
    year to year). ``migration=False`` leaves out ``net_migration`` (and
    ``shocks=False`` the shocks): what natural growth alone would give.
    Never below 0.
    """
    out = {}
    if pop.table is not None:
        _table_at(pop, last)  # a table short of the horizon: say so with the horizon's year
    p = float(pop.base) if pop.table is None else _table_at(pop, first)
    cohort = 0.0  # the shocks' persons and their descendants
    for year in range(first, last + 1):
        out[year] = max(p + cohort, 0.0)
        if year == last:
            break
        if pop.table is not None:
            nxt = _table_at(pop, year + 1)
            factor = nxt / p if p > 0 else 1.0
            p = nxt
        elif pop.growth_rate is not None:
            factor = 1.0 + pop.growth_rate
            p = p * factor
        else:
            factor = 1.0 + (pop.natural_growth or 0.0)
            p = p * factor + (_migration_at(pop, year) if migration else 0.0)
        cohort = cohort * factor + (_shock_arrivals(pop, year) if shocks else 0.0)
    return out


def project_population(pop: PopulationConfig, years: list[int]) -> list[float]:
    """Population (persons) at each of ``years``; ``years[0]`` is the base year.

    Raises
    ------
    ConfigError
        when ``years`` are not strictly ascending, when ``net_migration`` is given
        with ``growth_rate`` or ``table`` (they already are totals), or when a
        year lies outside the population table.
    """
    if not years:
        raise ConfigError("demand needs at least the base year")
    if any(b <= a for a, b in zip(years, years[1:])):
        raise ConfigError(f"demand years must be strictly ascending, got {years}")
    migration_given = isinstance(pop.net_migration, dict) or pop.net_migration != 0
    if pop.table is not None and migration_given:
        raise ConfigError("[population] 'net_migration' applies only with 'natural_growth', "
                          "not with a population 'table'")
    if pop.growth_rate is not None and migration_given:
        raise ConfigError("[population] 'net_migration' applies only with 'natural_growth'; "
                          "'growth_rate' is already the total growth")
    series = population_by_year(pop, years[0], years[-1])
    return [series[y] for y in years]


def project_demand(
    pop: PopulationConfig,
    density: DensityConfig,
    years: list[int],
    base_builtup_ha: float,
    annual_change: float | None = None,
    growth_pph: float | None = None,
) -> list[DemandRow]:
    """Population, density and land need at each year, and new land per step.

    The existing city keeps its own density ``D_city = P0 / base built-up``, so the
    base-year land need is the built-up area; the people added since the base year
    are housed at the density of new growth ``D_growth`` (``growth_pph``, else a
    numeric ``[density] base``, else ``D_city``). Both change by ``r`` a year:
    ``A(t) = (base_ha + (P(t) − P0) / D_growth) / (1 + r)^(t − t0)`` (a population
    below ``P0`` leaves at the city's own density); the ``density_pph`` column is
    the whole city's, ``P(t) / A(t)`` (what the Atlas metric measures). With no
    built-up land at the base year and a numeric base, the whole city is at ``D_growth``.

    Parameters
    ----------
    pop : the population configuration.
    density : the density settings (``infill_share``; ``base`` and
        ``annual_change`` unless given below).
    years : the base year then every step year, strictly ascending.
    base_builtup_ha : built-up area at the base year in hectares (from the same
        built-up layer that the growth allocation uses).
    annual_change : the yearly density change to use (an observed trend, or a
        low/high path); default ``density.annual_change`` (which must be a number).
    growth_pph : density of new growth at the base year (persons per hectare, e.g.
        from the population layer); default from ``density.base``.

    Returns
    -------
    list of DemandRow, one per year; the first (base year) has ``new_land_ha = 0``.
    New land per step is ``max(0, A(t) − A(t_prev))·(1 − infill_share)``: the land
    outside today's footprint, the one figure growth, plan and pages use.

    Raises
    ------
    ConfigError for inconsistent configuration; DataError when the density is
    "observed" but there is no built-up area at the base year.
    """
    population = project_population(pop, years)
    rate = density.annual_change if annual_change is None else annual_change
    if isinstance(rate, str):
        raise ConfigError(f"[density] 'annual_change' {rate!r} must be resolved to a number first "
                          "(see expansion.density.density_path)")
    if isinstance(density.base, str) and density.base != "observed":
        raise ConfigError(f"[density] 'base' must be \"observed\" or a number, got {density.base!r}")
    p0 = population[0]
    if growth_pph is None and not isinstance(density.base, str):
        growth_pph = float(density.base)
    if base_builtup_ha > 0:
        existing_ha = base_builtup_ha
    elif growth_pph is not None:
        existing_ha = p0 / growth_pph if growth_pph > 0 else 0.0
    else:
        raise DataError(
            "density base is \"observed\" but the base-year built-up area is 0 ha; "
            "check the built-up layer for the base year or give [density] base in persons per hectare"
        )
    if growth_pph is None:
        growth_pph = p0 / existing_ha
    if not growth_pph > 0:
        raise ConfigError(f"[density] base density must be more than 0 persons per hectare, got {growth_pph}")
    rows: list[DemandRow] = []
    prev_need = None
    for year, p in zip(years, population):
        # arrivals are housed at the growth density; a falling population leaves at the city's own
        here_ha = existing_ha + (p - p0) / growth_pph if p >= p0 else existing_ha * p / p0
        need = here_ha / (1.0 + rate) ** (year - years[0])
        d = p / need if need > 0 else growth_pph * (1.0 + rate) ** (year - years[0])
        new = 0.0 if prev_need is None else max(0.0, need - prev_need) * (1.0 - density.infill_share)
        rows.append(DemandRow(year=int(year), population=p, density_pph=d, land_need_ha=need,
                              new_land_ha=new))
        prev_need = need
    return rows


def new_land_total(rows: list[DemandRow]) -> float:
    """New land outside today's footprint by the last row's year (hectares, after infill)."""
    return sum(r.new_land_ha for r in rows)


def land_need_range(pop: PopulationConfig, density: DensityConfig, years: list[int], base_builtup_ha: float,
                    path) -> tuple[list[DemandRow], list[DemandRow], list[DemandRow]]:
    """The (low, central, high) demand rows of a :class:`expansion.density.DensityPath`: the
    low land need from its highest rate, the high from its lowest."""
    def rows(rate: float) -> list[DemandRow]:
        return project_demand(pop, density, years, base_builtup_ha, annual_change=rate,
                              growth_pph=path.growth_pph)

    return rows(path.low_need_change), rows(path.annual_change), rows(path.high_need_change)


def range_summary(low: list[DemandRow], central: list[DemandRow], high: list[DemandRow]) -> dict:
    """``land_need_ha_range`` ([low, central, high] at the horizon) and ``land_need_range``
    (per year) for summary.json."""
    per_year = [{"year": c.year, "low_ha": lo.land_need_ha, "central_ha": c.land_need_ha,
                 "high_ha": hi.land_need_ha} for lo, c, hi in zip(low, central, high)]
    return {"land_need_ha_range": [low[-1].land_need_ha, central[-1].land_need_ha, high[-1].land_need_ha],
            "land_need_range": per_year,
            "new_land_ha_range": [new_land_total(low), new_land_total(central), new_land_total(high)]}


def migration_summary(pop: PopulationConfig, rows: list[DemandRow]) -> dict | None:
    """What share of the growth to the horizon is migration (net migration and shocks, with their
    natural growth) and the new land that share needs; None unless the scenario gives natural
    growth with migration or shocks."""
    migration_given = isinstance(pop.net_migration, dict) or pop.net_migration != 0
    if pop.table is not None or pop.growth_rate is not None or not (migration_given or pop.shocks):
        return None
    first, last = rows[0].year, rows[-1].year
    natural = population_by_year(pop, first, last, migration=False, shocks=False)[last]
    growth = rows[-1].population - rows[0].population
    persons = rows[-1].population - natural
    share = persons / growth if growth > 0 else None
    # with a natural decline migration is more than all the growth: its land is at most all the new land
    land = new_land_total(rows) * min(share, 1.0) if share is not None else None
    return {"share_of_growth": share, "persons": persons, "land_ha": land,
            "natural_change": natural - rows[0].population, "year": last}


def migration_text(mig: dict | None) -> str:
    """What migration brings, in one plain sentence (from :func:`migration_summary`); '' when absent.

    With a natural decline (more deaths than births) migration is more than all of the growth,
    so it is said as people added and the fall without it, never as a share above 100 %.
    """
    if not mig or mig.get("persons") is None:
        return ""
    persons, share, natural = mig["persons"], mig.get("share_of_growth"), mig.get("natural_change")
    by = f" by {mig['year']}" if mig.get("year") is not None else ""
    if (natural is not None and natural < 0) or share is None or share > 1:
        text = f"Migration {'adds' if persons >= 0 else 'takes away'} {abs(persons):,.0f} people{by}"
        if natural is not None and natural < 0:
            text += (f"; without it the population would fall by {-natural:,.0f} (more deaths than "
                     "births), so all of the city's growth comes from migration")
        return text + "."
    text = f"Migration brings {share * 100:.0f} % of the city's growth{by}: {persons:,.0f} people"
    if mig.get("land_ha") is not None:
        text += f", who need {mig['land_ha']:,.0f} hectares of new land"
    return text + "."


def unmet_demand(demanded_cells: list[int], allocated_cells, years: list[int], cell_ha: float) -> dict:
    """New land the growth allocation could not place in the study area.

    ``allocated_cells`` is (runs, steps); ``years`` the base year then each step's year.
    Returns ``{"ha": mean unmet hectares by the horizon, "year_full": the first step year
    whose demand was not all placed (the study area is full), or None}``.
    """
    placed = np.asarray(allocated_cells, dtype=np.float64).reshape(-1, len(demanded_cells)).mean(axis=0)
    short = np.asarray(demanded_cells, dtype=np.float64) - placed
    full = [y for y, s in zip(years[1:], short) if s > 0.5]
    ha = float(max(short.sum(), 0.0)) * cell_ha if full else 0.0
    return {"ha": ha, "year_full": full[0] if full else None}


def unmet_warning(unmet: dict, horizon_year: int) -> str | None:
    """The plain-language warning for :func:`unmet_demand`'s result, or None when all was placed."""
    if not unmet["year_full"]:
        return None
    return (f"the study area fills by about {unmet['year_full']}: {unmet['ha']:,.0f} hectares of the new "
            f"land needed by {horizon_year} cannot be placed in it and is not shown as met (unmet demand); "
            "enlarge the study area or choose an earlier horizon (for planners: the catalog's boundary or "
            "the scenario's margin_m)")


def assumptions(pop: PopulationConfig, density: DensityConfig, path) -> dict:
    """The scenario's assumptions in plain words (summary.json ``assumptions``), for the pages and
    ``compare``; ``path`` is the resolved :class:`expansion.density.DensityPath`."""
    from .density import pct

    if pop.table is not None:
        population = "a population table by year: " + ", ".join(
            f"{int(v):,} in {k}" for k, v in sorted(pop.table.items(), key=lambda kv: int(kv[0])))
    elif pop.growth_rate is not None:
        population = f"{pop.base:,.0f} growing {pct(pop.growth_rate)} a year in all"
    else:
        population = f"{pop.base:,.0f} with natural growth and migration"
    m = pop.net_migration
    if isinstance(m, dict):
        migration = "; ".join(f"{float(v):,.0f} persons a year from {k}"
                              for k, v in sorted(m.items(), key=lambda kv: int(kv[0])))
    elif m:
        migration = f"{float(m):,.0f} persons a year"
    else:
        totals = pop.table is not None or pop.growth_rate is not None
        migration = "included in the population path" if totals else "none"
    from_layer = path.growth_pph_source == "population layer"
    growth = ("the population layer's density on built-up land" if from_layer
              else f"{path.growth_pph:,.1f} persons per hectare" if path.growth_pph is not None
              else "the city's own density")
    return {
        "population": population,
        "natural_growth": pop.natural_growth,
        "migration": migration,
        "shocks": [{"year": s.year, "persons": s.persons, "over_years": s.over_years} for s in pop.shocks],
        "density": (f"{pct(path.annual_change)} a year ({path.source}); new growth housed at {growth}; the "
                    "existing city keeps its own density"),
        "density_range": (f"{pct(path.high_need_change)} to {pct(path.low_need_change)} a year "
                          f"({path.range_source}); the expansion area is sized for the high land need"),
        "infill_share": density.infill_share,
    }


def scenario_warnings(pop: PopulationConfig, base_year: int, horizon_year: int) -> list[str]:
    """Plain-language warnings about a population setting that is probably a mistake, each with the fix."""
    out = []
    if pop.table is not None:
        at_base = population_at(pop, base_year)
        if at_base is not None and abs(at_base / pop.base - 1) > 0.01:
            out.append(f"[population] table gives {at_base:,.0f} for {base_year} but base is "
                       f"{pop.base:,.0f}; the table is used: make base agree with it")
    if isinstance(pop.net_migration, dict) and pop.net_migration:
        first = min(int(k) for k in pop.net_migration)
        if first > base_year:
            out.append(f"[population] net_migration table starts in {first}, after base_year {base_year}, so "
                       f"there is no migration {base_year}–{first - 1}; add a \"{base_year}\" entry "
                       "(0 if that is meant)")
    try:
        series = population_by_year(pop, base_year, horizon_year)
    except ConfigError:
        return out
    zero = [y for y, p in series.items() if p <= 0]
    if zero:
        out.append(f"the population reaches zero in {zero[0]}: check natural_growth, net_migration and "
                   "the shocks (departures are negative persons)")
    if pop.table is None and pop.growth_rate is None:
        for year, p in series.items():
            m = abs(_migration_at(pop, year)) + abs(_shock_arrivals(pop, year))
            if year < horizon_year and p > 0 and m > p:
                out.append(f"migration in {year} ({m:,.0f} persons) exceeds the population ({p:,.0f}): "
                           "net_migration is persons a year, not thousands or a rate")
                break
    return out


def _fmt(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text  # no "-0.00"


def demand_csv(rows: list[DemandRow]) -> str:
    """The demand table as CSV text (``\\n`` line ends, a header row).

    Columns ``year,population,density_pph,land_need_ha,new_land_ha``; population
    with 1 decimal, density with 3, hectares with 2, so that the same inputs give
    byte-identical files.
    """
    lines = [",".join(CSV_COLUMNS)]
    for r in rows:
        lines.append(",".join((str(r.year), _fmt(r.population, 1), _fmt(r.density_pph, 3),
                               _fmt(r.land_need_ha, 2), _fmt(r.new_land_ha, 2))))
    return "\n".join(lines) + "\n"


def format_demand_table(rows: list[DemandRow]) -> str:
    """The demand table as aligned text for the terminal (people, pph, ha)."""
    header = ("year", "population", "density (p/ha)", "land need (ha)", "new land (ha)")
    body = [(str(r.year), f"{r.population:,.0f}", f"{r.density_pph:,.1f}", f"{r.land_need_ha:,.1f}",
             f"{r.new_land_ha:,.1f}") for r in rows]
    widths = [max(len(h), *(len(b[i]) for b in body)) if body else len(h) for i, h in enumerate(header)]
    out = ["  ".join(h.rjust(w) for h, w in zip(header, widths))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.rjust(w) for c, w in zip(b, widths)) for b in body]
    return "\n".join(out) + "\n"
