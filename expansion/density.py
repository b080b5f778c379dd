"""Density evidence (issue 16): the reference spread of density change in African secondary
cities, the city's own observed trend, the base density from the population layer, and the
low / central / high density paths that give the land need as a range.

Rates are yearly fractions of persons per hectare of built-up land (-0.01 = falls 1 % a
year). A *falling* density needs *more* land, so the high land need comes from the lowest
rate. Pure: reads only its package data (``expansion/data/density_reference.json``, built
by ``scripts/build_density_reference.py``), writes nothing.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from .config import DensityConfig, PopulationConfig
from .grid import row_slices

# A rate this far outside the reference's middle half (in widths of that half) draws a warning.
FAR_OUTSIDE_IQR = 1.0
# A population layer whose density on built-up land differs from base population / built-up by
# more than this share draws a warning (the two disagree about the base population).
POPULATION_MISMATCH = 0.25


#: ISO 3166 alpha-3 codes of the African countries (the reference's continent).
AFRICA = frozenset(
    "DZA AGO BEN BWA BFA BDI CPV CMR CAF TCD COM COG COD CIV DJI EGY GNQ ERI SWZ ETH GAB GMB GHA GIN GNB "
    "KEN LSO LBR LBY MDG MWI MLI MRT MUS MAR MOZ NAM NER NGA RWA STP SEN SYC SLE SOM ZAF SSD SDN TZA TGO "
    "TUN UGA ZMB ZWE ESH".split())


@functools.cache
def _table() -> dict:
    text = resources.files("expansion").joinpath("data/density_reference.json").read_text(encoding="utf-8")
    return json.loads(text)


@dataclass(frozen=True)
class Reference:
    """Median and quartiles of the annual density change, 2000-2020, of ``n`` cities of ``scope``
    (an ISO 3166 alpha-3 country code, or "Africa")."""

    scope: str
    median: float
    q1: float
    q3: float
    n: int
    source: str
    caveat: str

    def as_dict(self) -> dict:
        return {"scope": self.scope, "median": self.median, "q1": self.q1, "q3": self.q3, "n": self.n,
                "source": self.source, "caveat": self.caveat}

    def far_outside(self, rate: float) -> bool:
        iqr = self.q3 - self.q1
        return rate < self.q1 - FAR_OUTSIDE_IQR * iqr or rate > self.q3 + FAR_OUTSIDE_IQR * iqr

    def describe(self) -> str:
        """What the reference cities did, as a phrase: "<cities> did in 2000-2020 (median ..., ...)"."""
        where = "African secondary cities" if self.scope == "Africa" else f"secondary cities of {self.scope}"
        return (f"{where} did in 2000-2020 (median {pct(self.median)} a year, half of them between "
                f"{pct(self.q1)} and {pct(self.q3)}; {self.n:,} cities)")


def reference(country: str | None) -> Reference:
    """The country's reference when it has enough cities in the table, else the continent's."""
    t = _table()
    scope = country if country in t["countries"] else "Africa"
    row = t["countries"][scope] if scope != "Africa" else t["Africa"]
    return Reference(scope=scope, median=row["median"], q1=row["q1"], q3=row["q3"], n=row["n"],
                     source=t["source"], caveat=t["caveat"])


def plausible_range() -> tuple[float, float]:
    """The 1st and 99th percentile of the continent's yearly density change: an observed trend is
    bounded to this."""
    lo, hi = _table()["plausible"]
    return float(lo), float(hi)


def pct(rate: float) -> str:
    """A yearly rate as a signed percentage: -0.0123 -> '-1.2 %'."""
    return f"{rate * 100:+.1f} %"


def population_at(pop: PopulationConfig, year: int) -> float | None:
    """The ``[population] table``'s value at ``year`` (linear in between), or None outside it."""
    if not pop.table:
        return None
    points = sorted((int(k), float(v)) for k, v in pop.table.items())
    if not points[0][0] <= year <= points[-1][0]:
        return None
    for (y0, p0), (y1, p1) in zip(points, points[1:]):
        if y0 <= year <= y1:
            return p0 if y1 == y0 else p0 + (p1 - p0) * (year - y0) / (y1 - y0)
    return points[0][1]


def observed_trend(builtup_ha: dict[int, float], pop: PopulationConfig, base_year: int,
                   calibrate_from: int | None,
                   layer_persons: dict[int, float] | None = None) -> tuple[float | None, dict | str]:
    """The city's own yearly density change between two built-up epochs.

    Uses ``calibrate_from -> base_year`` when both are observed, else the two latest epochs
    up to the base year; the population at both years comes from the ``[population] table``
    when it covers both, else from the population layers of those years (``layer_persons``:
    persons on each year's built-up land).

    Returns
    -------
    ``(rate, info)`` with ``info`` = ``{"from_year", "to_year", "density_from_pph",
    "density_to_pph", "population_source", "rate_unbounded", "bounded"}``; or
    ``(None, reason)`` when the data cannot give it.
    """
    years = sorted(y for y, ha in builtup_ha.items() if y <= base_year and ha > 0)
    if len(years) < 2:
        return None, (f"built-up land is mapped for {', '.join(map(str, years)) or 'no year'} up to "
                      f"{base_year} only; two epochs are needed (for planners: add an earlier built-up "
                      "layer to the catalog)")
    if calibrate_from in years and base_year in years:
        y0, y1 = calibrate_from, base_year
    else:
        y0, y1 = years[-2], years[-1]
    p0, p1 = population_at(pop, y0), population_at(pop, y1)
    source = "[population] table"
    if (p0 is None or p1 is None) and layer_persons and y0 in layer_persons and y1 in layer_persons:
        p0, p1, source = layer_persons[y0], layer_persons[y1], "population layers"
    if p0 is None or p1 is None or not (p0 > 0 and p1 > 0):
        return None, (f"the population is not known for both {y0} and {y1} (for planners: give a "
                      "[population] table covering both years, or a population layer of each year in the "
                      "catalog)")
    d0, d1 = p0 / builtup_ha[y0], p1 / builtup_ha[y1]
    raw = (d1 / d0) ** (1.0 / (y1 - y0)) - 1.0
    lo, hi = plausible_range()
    rate = min(max(raw, lo), hi)
    return rate, {"from_year": y0, "to_year": y1, "density_from_pph": d0, "density_to_pph": d1,
                  "population_source": source, "rate_unbounded": raw, "bounded": rate != raw}


@dataclass
class DensityPath:
    """The density assumptions of a run: the central yearly change and where it came from, the low
    and high land-need rates, the density of new growth at the base year, and what was said."""

    annual_change: float
    source: str                       # "scenario" | "observed" | "reference"
    observed: dict | None
    reference: Reference
    high_need_change: float           # the lowest rate: most land
    low_need_change: float            # the highest rate: least land
    range_source: str                 # "scenario" | "reference"
    growth_pph: float | None          # density of new growth at the base year; None: the city's own
    growth_pph_source: str
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    country: str | None = None        # the catalog's ISO 3166 alpha-3 code, when given

    def summary(self) -> dict:
        """The ``density`` block of summary.json."""
        return {"annual_change": self.annual_change, "source": self.source, "observed": self.observed,
                "reference": {**{k: v for k, v in self.reference.as_dict().items() if k != "caveat"},
                              "city_country": self.country, "city_in_africa": self.country in AFRICA},
                "reference_caveat": self.reference.caveat,
                "range": [self.high_need_change, self.annual_change, self.low_need_change],
                "range_source": self.range_source, "plan_for": "high",
                "growth_base_pph": self.growth_pph, "growth_base_source": self.growth_pph_source}


def density_path(density: DensityConfig, pop: PopulationConfig, base_year: int, calibrate_from: int | None,
                 builtup_ha: dict[int, float], country: str | None,
                 population_layer_pph: float | None = None,
                 layer_persons: dict[int, float] | None = None) -> DensityPath:
    """Resolve the scenario's density settings against the evidence.

    Parameters
    ----------
    builtup_ha : built-up hectares in the study area per observed year.
    country : the catalog's ISO 3166 alpha-3 code, or None (then the continent's reference).
    population_layer_pph : persons per hectare of the population layer on the base year's
        built-up land, or None without a population layer for the base year.
    layer_persons : persons of the population layer of each year on that year's built-up land
        (for the observed trend when the population table does not cover both epochs).
    """
    ref = reference(country)
    notes: list[str] = []
    warnings: list[str] = []
    observed = None
    if density.annual_change == "observed":
        rate, info = observed_trend(builtup_ha, pop, base_year, calibrate_from, layer_persons)
        if rate is None:
            rate, source = ref.median, "reference"
            warnings.append(f"this city's own density trend could not be measured: {info}; the land "
                            f"need uses instead what {ref.describe()}")
        else:
            source, observed = "observed", info
            bound = (f" (bounded from {pct(info['rate_unbounded'])} to the plausible range)"
                     if info["bounded"] else "")
            notes.append(f"density trend observed {info['from_year']}->{info['to_year']}: "
                         f"{info['density_from_pph']:.1f} -> {info['density_to_pph']:.1f} p/ha, "
                         f"{pct(rate)}/yr{bound} (built-up layers and {info['population_source']})")
    else:
        rate, source = float(density.annual_change), "scenario"
    notes.append(f"density change {pct(rate)}/yr ({source}); reference: what {ref.describe()}")
    if country not in AFRICA:
        warnings.append(f"the density reference is African secondary cities; this city is in {country}, "
                        "outside Africa, so the reference may not fit it" if country else
                        "the density reference is African secondary cities and may not fit a city outside "
                        "Africa (for planners: set the catalog's country, ISO 3166 alpha-3)")
    if source == "scenario" and ref.far_outside(rate):
        warnings.append(f"the scenario's density change of {pct(rate)} a year lies far outside what "
                        f"{ref.describe()} (for planners: check [density] annual_change, or use "
                        "\"observed\")")
    if density.annual_change_range is not None:
        lo_rate, hi_rate = sorted(float(r) for r in density.annual_change_range)
        range_source = "scenario"
    else:
        lo_rate, hi_rate = ref.q1, ref.q3
        range_source = "reference"
    growth_pph, growth_source = None, "population / built-up"
    base_ha = builtup_ha.get(base_year, 0.0)
    if not isinstance(density.base, str):
        growth_pph, growth_source = float(density.base), "scenario"
    elif population_layer_pph is not None and population_layer_pph > 0:
        growth_pph, growth_source = population_layer_pph, "population layer"
        city_pph = pop.base / base_ha if base_ha > 0 else None
        if city_pph and abs(population_layer_pph / city_pph - 1) > POPULATION_MISMATCH:
            warnings.append(
                f"the population layer gives {population_layer_pph:.1f} persons per hectare of built-up land "
                f"in {base_year}, but [population] base over the built-up area gives {city_pph:.1f}; new "
                "growth is housed at the layer's density: check [population] base or the population layer"
            )
    return DensityPath(annual_change=rate, source=source, observed=observed, reference=ref,
                       high_need_change=min(lo_rate, rate), low_need_change=max(hi_rate, rate),
                       range_source=range_source, growth_pph=growth_pph, growth_pph_source=growth_source,
                       notes=notes, warnings=warnings, country=country)


def persons_on_builtup(stack, year: int) -> tuple[float, float]:
    """(persons of the stack's population layer on ``year``'s built-up land, those hectares),
    in row blocks."""
    persons, cells = 0.0, 0
    for rows in row_slices(stack.grid.shape):
        built = stack.builtup[year][rows] & stack.valid[rows]
        cells += int(np.count_nonzero(built))
        persons += float(np.nansum(stack.population[rows][built], dtype=np.float64))
    return persons, cells * stack.grid.cell_area_ha


def population_layer_pph(stack, base_year: int) -> float | None:
    """Persons per hectare of the stack's population layer on the base year's built-up land,
    or None without a population layer or built-up land."""
    if stack.population is None or base_year not in stack.builtup:
        return None
    persons, ha = persons_on_builtup(stack, base_year)
    return persons / ha if ha > 0 and persons > 0 else None


def path_for_stack(density: DensityConfig, pop: PopulationConfig, base_year: int, calibrate_from: int | None,
                   stack, country: str | None, population_years: list[int | None],
                   layer_persons: dict[int, float] | None = None) -> DensityPath:
    """:func:`density_path` with the built-up areas and the population layer read from ``stack``.

    ``population_years`` are the catalog's population layers' years: the layer gives the base
    density only when it is of the base year (a layer without a year is not used, and a note says so).
    ``layer_persons`` (persons on built-up land by year, from each dated layer read on its own)
    gives the base year's instead of the stack's merged layer, and the observed trend.
    """
    builtup_ha = {y: stack.builtup_ha(y) for y in stack.years}
    layer_pph = None
    note = None
    if layer_persons and base_year in layer_persons and builtup_ha.get(base_year, 0) > 0:
        layer_pph = layer_persons[base_year] / builtup_ha[base_year] or None  # the base year's layer alone
    elif stack.population is not None:
        if base_year in population_years:
            layer_pph = population_layer_pph(stack, base_year)
        elif isinstance(density.base, str):
            said = ", ".join(str(y) for y in population_years if y is not None) or "no year"
            note = (f"the population layer ({said}) is not of the base year {base_year}, so the density of "
                    "new growth is the city's own (give the layer 'year' in the catalog to use it)")
    path = density_path(density, pop, base_year, calibrate_from, builtup_ha, country, layer_pph,
                        layer_persons)
    if note:
        path.notes.append(note)
    return path
