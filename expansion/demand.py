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

Density, in persons per hectare of built-up area: ``D(t) = D0·(1 + r)^(t − t0)``
with ``D0`` either given or "observed" = base population / base built-up hectares.
Land need ``A(t) = P(t) / D(t)`` hectares; new land for the step ending at ``t`` is
``max(0, A(t) − A(t_prev))·(1 − infill_share)``. The base-year row has no new land.

Everything here is pure; :func:`demand_csv` and :func:`format_demand_table` only
make text.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import DensityConfig, PopulationConfig
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


def _interpolate_table(table: dict[str, float], year: int) -> float:
    points = sorted((int(k), float(v)) for k, v in table.items())
    lo, hi = points[0][0], points[-1][0]
    if not lo <= year <= hi:
        raise ConfigError(
            f"[population] 'table' covers {lo}–{hi} but the scenario needs {year}; "
            "add that year to the table or change base_year/horizon_year"
        )
    for (y0, p0), (y1, p1) in zip(points, points[1:]):
        if y0 <= year <= y1:
            return p0 if y1 == y0 else p0 + (p1 - p0) * (year - y0) / (y1 - y0)
    return points[0][1]  # a one-row table holding exactly ``year``


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
    if pop.table is not None:
        if migration_given:
            raise ConfigError("[population] 'net_migration' applies only with 'natural_growth', "
                              "not with a population 'table'")
        return [_interpolate_table(pop.table, y) for y in years]
    if pop.growth_rate is not None and migration_given:
        raise ConfigError("[population] 'net_migration' applies only with 'natural_growth'; "
                          "'growth_rate' is already the total growth")
    out = [float(pop.base)]
    p = float(pop.base)
    year = years[0]
    for target in years[1:]:
        while year < target:
            if pop.growth_rate is not None:
                p = p * (1.0 + pop.growth_rate)
            else:
                p = p * (1.0 + (pop.natural_growth or 0.0)) + _migration_at(pop, year)
            p = max(p, 0.0)
            year += 1
        out.append(p)
    return out


def project_demand(
    pop: PopulationConfig,
    density: DensityConfig,
    years: list[int],
    base_builtup_ha: float,
) -> list[DemandRow]:
    """Population, density and land need at each year, and new land per step.

    Parameters
    ----------
    pop : the population configuration.
    density : the density path; ``base = "observed"`` uses base population /
        ``base_builtup_ha``.
    years : the base year then every step year, strictly ascending.
    base_builtup_ha : built-up area at the base year in hectares (from the same
        built-up layer that the growth allocation uses).

    Returns
    -------
    list of DemandRow, one per year; the first (base year) has ``new_land_ha = 0``.

    Raises
    ------
    ConfigError for inconsistent configuration; DataError when the density is
    "observed" but there is no built-up area at the base year.
    """
    population = project_population(pop, years)
    if density.base == "observed":
        if not base_builtup_ha > 0:
            raise DataError(
                "density base is \"observed\" but the base-year built-up area is 0 ha; "
                "check the built-up layer for the base year or give [density] base in persons per hectare"
            )
        d0 = population[0] / base_builtup_ha
    elif isinstance(density.base, str):
        raise ConfigError(f"[density] 'base' must be \"observed\" or a number, got {density.base!r}")
    else:
        d0 = float(density.base)
    if not d0 > 0:
        raise ConfigError(f"[density] base density must be more than 0 persons per hectare, got {d0}")
    rows: list[DemandRow] = []
    prev_need = None
    for year, p in zip(years, population):
        d = d0 * (1.0 + density.annual_change) ** (year - years[0])
        need = p / d
        new = 0.0 if prev_need is None else max(0.0, need - prev_need) * (1.0 - density.infill_share)
        rows.append(DemandRow(year=int(year), population=p, density_pph=d, land_need_ha=need,
                              new_land_ha=new))
        prev_need = need
    return rows


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
