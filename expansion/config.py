"""Scenario and catalog files: TOML loaded into frozen, validated objects.

Errors name the file and the key: an unknown key lists the valid ones, a wrong
type says what was expected, and a missing file is given as written and as
resolved. Paths are relative to the file that names them.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ConfigError

ROLES = ("boundary", "builtup", "dem", "roads", "water", "protected", "flood", "population", "places")
ENCODINGS = ("binary", "fraction", "ghs-built-s", "ghsl-ldsmt", "classes", "year")
#: Roles read only from vectors, only from rasters, and from either (a raster mask: cells in ``values``).
VECTOR_ROLES = ("roads", "places")
RASTER_ROLES = ("builtup", "dem", "population")
MASK_ROLES = ("boundary", "water", "protected", "flood")

# ---------------------------------------------------------------- scenario


@dataclass(frozen=True)
class Shock:
    """A one-off change of population: ``persons`` arriving (negative: leaving) spread
    evenly over ``over_years`` years from ``year``; they then grow as the population does."""

    year: int
    persons: float
    over_years: int = 1


@dataclass(frozen=True)
class PopulationConfig:
    """Population per step.

    Give ``base`` and either ``natural_growth`` (per year, 0.022 = 2.2 %)
    with ``net_migration`` (persons a year; a number, or a table
    ``{"2020" = 6000, "2035" = 4000}`` whose values hold from their year on),
    or a total ``growth_rate`` (per year), or a ``table`` of population by year
    (linear in between). ``shocks`` (``[{ year = 2030, persons = 20000,
    over_years = 3 }]``) add arrivals or departures on top of any of them.
    """

    base: float
    natural_growth: float | None = None
    net_migration: float | dict[str, float] = 0.0
    growth_rate: float | None = None
    table: dict[str, float] | None = None
    shocks: list[Shock] = field(default_factory=list)


@dataclass(frozen=True)
class DensityConfig:
    """Density path (see :mod:`expansion.demand`).

    ``base`` is the density, in persons per hectare of built-up land, at which
    the base year's *new growth* is housed: ``"observed"`` (from the population
    layer on the base built-up land, else base population / base built-up) or a
    number. The existing city always keeps its own density (base population /
    base built-up), so the base-year land need is the built-up area. Both change
    by ``annual_change`` a year (-0.01 = falls 1 % a year), or by the city's own
    trend with ``"observed"``. ``annual_change_range`` (two rates) gives the low
    and high land need; by default the reference quartiles of the city's country.
    ``infill_share`` is the share of each step's new land need met inside
    today's built-up footprint (0 to 1)."""

    base: str | float = "observed"
    annual_change: float | str = -0.01
    annual_change_range: list[float] | None = None
    infill_share: float = 0.0


@dataclass(frozen=True)
class GrowthConfig:
    """Growth allocation: ``calibrate_from`` is the earlier built-up epoch;
    ``runs`` Monte-Carlo runs seeded from ``seed``; ``quantity`` is
    ``"projected"`` (from demand) or ``"observed"`` (backtests); ``noise`` is
    the scale of the Gumbel noise on the log growth potential (0 a
    deterministic ranking, 1 sampling in proportion to the potential);
    ``survival`` is the weight of the survival discount, ``"auto"`` (learned
    when an epoch before ``calibrate_from`` exists, else a prior of 0.5) or a
    number ≥ 0 (0 turns it off). See expansion/growth/."""

    calibrate_from: int | None = None
    runs: int = 20
    seed: int = 42
    quantity: str = "projected"
    noise: float = 0.1
    survival: float | str = "auto"


@dataclass(frozen=True)
class SuitabilityConfig:
    """Land suitability: factor weights (renormalized over the factors whose
    layers exist) and hard constraints."""

    weights: dict[str, float] = field(default_factory=dict)
    max_slope_pct: float = 30.0


@dataclass(frozen=True)
class PlanConfig:
    """The Making Room plan."""

    arterial_spacing_m: float = 1000.0
    arterial_width_m: float = 30.0
    generosity: float = 1.5
    park_ha: float = 2.0
    enforcement: float = 1.0  # share of planned rights-of-way and open space actually secured (0-1)


@dataclass(frozen=True)
class RiskConfig:
    """Informal-settlement risk weights."""

    weights: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    """A scenario file, validated. ``path`` and ``layers`` are absolute."""

    name: str
    path: Path
    layers: Path
    base_year: int
    horizon_year: int
    step_years: int = 5
    resolution_m: float = 30.0
    crs: str | None = None
    margin_m: float = 1000.0
    population: PopulationConfig = field(default_factory=lambda: PopulationConfig(base=0.0))
    density: DensityConfig = field(default_factory=DensityConfig)
    growth: GrowthConfig = field(default_factory=GrowthConfig)
    suitability: SuitabilityConfig = field(default_factory=SuitabilityConfig)
    plan: PlanConfig = field(default_factory=PlanConfig)
    risk: RiskConfig = field(default_factory=RiskConfig)

    @property
    def years(self) -> list[int]:
        """Base year, every step, and the horizon (always included)."""
        ys = list(range(self.base_year, self.horizon_year, self.step_years))
        return ys + [self.horizon_year]

    def replace(self, **changes) -> Scenario:
        return dataclasses.replace(self, **changes)


# ---------------------------------------------------------------- catalog


@dataclass(frozen=True)
class CatalogLayer:
    """One entry of a catalog. ``path`` is absolute (resolved against the
    catalog); ``path_as_written`` is what the catalog says.

    ``values``: the land-cover codes that are built-up (``classes``), or the
    cells that are in for a raster in a mask role (default: non-zero);
    ``years``: the epochs taken from a ``year`` (year-first-built) raster;
    ``arterial_values``: the values of the roads' ``class_field`` that are
    arterial (the rest are local; default: OpenStreetMap's motorway, trunk,
    primary, secondary and their links); ``band``: the raster band (1-based);
    ``threshold``: a share for fractions and GHS-BUILT-S, metres of depth for a
    flood raster; ``year`` on roads, water or protected land: the year the
    layer shows (see :meth:`expansion.stack.Stack.roads_as_of`).
    """

    role: str
    path: Path
    path_as_written: str
    year: int | None = None
    encoding: str | None = None
    layer: str | None = None
    class_field: str | None = None
    threshold: float | None = None
    nodata: float | None = None
    values: tuple[float, ...] | None = None
    years: tuple[int, ...] | None = None
    arterial_values: tuple[str | int, ...] | None = None
    band: int | None = None


@dataclass(frozen=True)
class Catalog:
    """A catalog file, validated. ``country`` is the ISO 3166 alpha-3 code of the
    city's country (for the density reference), or None."""

    name: str
    path: Path
    synthetic: bool
    layers: tuple[CatalogLayer, ...]
    country: str | None = None

    @property
    def folder(self) -> Path:
        return self.path.parent

    def by_role(self, role: str) -> list[CatalogLayer]:
        return [entry for entry in self.layers if entry.role == role]


# ---------------------------------------------------------------- loading


def _read_toml(path: Path, what: str) -> dict:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{what} file not found: {path} (resolved: {path.resolve()})")
    if path.is_dir():
        raise ConfigError(f"{what} file {path} is a directory; give the .toml file inside it")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: is not UTF-8 text; save it as UTF-8 TOML") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: is not valid TOML: {exc}") from None


_TYPE_NAMES = {int: "a whole number", float: "a number", str: "text", bool: "true or false",
               dict: "a table", list: "a list", type(None): "nothing"}


def _type_name(tp) -> str:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp) if a is not type(None))
    return _TYPE_NAMES.get(origin or tp, getattr(tp, "__name__", str(tp)))


def _coerce(value, tp, where: str):
    """Check ``value`` against the annotation ``tp``; ints are accepted as floats."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(tp):
            try:
                return _coerce(value, arg, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where} must be {_type_name(tp)}, got {value!r}")
    if tp is type(None):
        if value is None:
            return None
        raise ConfigError(f"{where} must be empty")
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{where} must be a finite number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where} must be a whole number, got {value!r}")
        return value
    if tp is str or tp is bool:
        if not isinstance(value, tp):
            raise ConfigError(f"{where} must be {_type_name(tp)}, got {value!r}")
        return value
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be a list, got {value!r}")
        (vt,) = typing.get_args(tp)
        return [_coerce(v, vt, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin is tuple:  # tuple[X, ...]: a TOML list of X (a tuple keeps the dataclass hashable)
        if not isinstance(value, list) or not value:
            raise ConfigError(f"{where} must be a non-empty list, got {value!r}")
        item = typing.get_args(tp)[0]
        return tuple(_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where} must be a table, got {value!r}")
        _, vt = typing.get_args(tp)
        return {str(k): _coerce(v, vt, f"{where}.{k}") for k, v in value.items()}
    if tp is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a path (text), got {value!r}")
        return value
    raise TypeError(f"unsupported annotation {tp}")  # a programming error


def _build(cls, data: dict, where: str, skip: tuple[str, ...] = (), extra: dict | None = None):
    """Make dataclass ``cls`` from a TOML table, naming ``where`` in errors."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where} must be a table, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in skip}
    unknown = [k for k in data if k not in fields]
    if unknown:
        raise ConfigError(
            f"{where}: unknown key '{unknown[0]}'; valid keys are: {', '.join(fields)}"
        )
    kwargs = dict(extra or {})
    for name, f in fields.items():
        if name in data:
            tp = hints[name]
            if dataclasses.is_dataclass(tp):
                kwargs[name] = _build(tp, data[name], f"{where} [{name}]")
            else:
                kwargs[name] = _coerce(data[name], tp, f"{where}: '{name}'")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{where}: missing required key '{name}'")
    return cls(**kwargs)


def _check(cond: bool, message: str) -> None:
    if not cond:
        raise ConfigError(message)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file.

    Raises
    ------
    ConfigError
        naming the file and the key for any problem.
    """
    path = Path(path)
    data = _read_toml(path, "scenario")
    where = str(path)
    if isinstance(data.get("layers"), list) or ("synthetic" in data and "base_year" not in data):
        raise ConfigError(f"{where}: this is a layers catalog, not a scenario; give a scenario .toml whose "
                          "'layers' key names this catalog (like scenarios/demo.toml)")
    valid = [f.name for f in dataclasses.fields(Scenario) if f.name != "path"]
    unknown = [k for k in data if k not in valid]
    if unknown:
        raise ConfigError(f"{where}: unknown key '{unknown[0]}'; valid keys are: {', '.join(valid)}")
    if "layers" not in data:
        raise ConfigError(f"{where}: missing required key 'layers' (the path of a layers.toml)")
    layers_written = _coerce(data["layers"], str, f"{where}: 'layers'")
    layers = (path.parent / layers_written).resolve()
    s = _build(Scenario, {k: v for k, v in data.items() if k != "layers"}, where,
               skip=("path", "layers"), extra={"path": path.resolve(), "layers": layers})
    _check(bool(s.name.strip()), f"{where}: 'name' must not be empty")
    _check(1800 <= s.base_year <= 2200, f"{where}: 'base_year' {s.base_year} is not a plausible year")
    _check(s.horizon_year > s.base_year,
           f"{where}: 'horizon_year' ({s.horizon_year}) must be after 'base_year' ({s.base_year})")
    _check(s.horizon_year - s.base_year <= 200,
           f"{where}: 'horizon_year' is more than 200 years after 'base_year'")
    _check(s.step_years >= 1, f"{where}: 'step_years' must be at least 1, got {s.step_years}")
    _check(s.resolution_m > 0, f"{where}: 'resolution_m' must be positive, got {s.resolution_m}")
    _check(s.margin_m >= 0, f"{where}: 'margin_m' must be zero or more, got {s.margin_m}")
    if s.crs is not None:
        from .grid import check_projected

        try:
            check_projected(s.crs, what=f"{where}: 'crs'")
        except ConfigError as exc:
            raise ConfigError(str(exc)) from None
    _validate_population(s.population, where, s.base_year)
    d = s.density
    if isinstance(d.base, str):
        _check(d.base == "observed",
               f"{where} [density]: 'base' must be \"observed\" or persons per hectare, got {d.base!r}")
    else:
        _check(d.base > 0, f"{where} [density]: 'base' must be more than 0 persons per hectare")
    if isinstance(d.annual_change, str):
        _check(d.annual_change == "observed",
               f"{where} [density]: 'annual_change' must be a yearly fraction (e.g. -0.01) or \"observed\", "
               f"got {d.annual_change!r}")
    else:
        _check(-0.5 < d.annual_change < 0.5,
               f"{where} [density]: 'annual_change' {d.annual_change} is a yearly fraction; "
               "use e.g. -0.01 for a 1 % fall a year")
    if d.annual_change_range is not None:
        _check(len(d.annual_change_range) == 2 and all(-0.5 < r < 0.5 for r in d.annual_change_range),
               f"{where} [density]: 'annual_change_range' must be two yearly fractions, like [-0.02, 0.005]")
    _check(0 <= d.infill_share < 1, f"{where} [density]: 'infill_share' must be in [0, 1)")
    g = s.growth
    _check(g.runs >= 1, f"{where} [growth]: 'runs' must be at least 1, got {g.runs}")
    _check(g.seed >= 0, f"{where} [growth]: 'seed' must be zero or more, got {g.seed}")
    _check(g.quantity in ("projected", "observed"),
           f"{where} [growth]: 'quantity' must be \"projected\" or \"observed\", got {g.quantity!r}")
    _check(0 <= g.noise <= 5, f"{where} [growth]: 'noise' must be in [0, 5], got {g.noise}")
    _check(g.survival == "auto" if isinstance(g.survival, str) else g.survival >= 0,
           f"{where} [growth]: 'survival' must be \"auto\" or a number zero or more, got {g.survival!r}")
    if g.calibrate_from is not None:
        _check(g.calibrate_from < s.base_year,
               f"{where} [growth]: 'calibrate_from' ({g.calibrate_from}) must be before "
               f"'base_year' ({s.base_year})")
    _check(0 < s.suitability.max_slope_pct <= 1000,
           f"{where} [suitability]: 'max_slope_pct' must be in (0, 1000]")
    for key, w in {**s.suitability.weights, **s.risk.weights}.items():
        _check(w >= 0, f"{where}: weight '{key}' must be zero or more, got {w}")
    p = s.plan
    _check(p.arterial_spacing_m >= 100,
           f"{where} [plan]: 'arterial_spacing_m' must be at least 100 m, got {p.arterial_spacing_m}")
    _check(0 < p.arterial_width_m < p.arterial_spacing_m / 2,
           f"{where} [plan]: 'arterial_width_m' must be positive and under half the spacing")
    _check(p.generosity >= 1, f"{where} [plan]: 'generosity' must be at least 1, got {p.generosity}")
    _check(p.park_ha >= 0, f"{where} [plan]: 'park_ha' must be zero or more")
    _check(0 <= p.enforcement <= 1,
           f"{where} [plan]: 'enforcement' is the share of the plan actually secured, from 0 to 1; "
           f"got {p.enforcement}")
    return s


def _validate_population(p: PopulationConfig, where: str, base_year: int) -> None:
    w = f"{where} [population]"
    _check(p.base > 0, f"{w}: 'base' must be more than 0 people, got {p.base:g}")
    modes = sum(x is not None for x in (p.natural_growth, p.growth_rate, p.table))
    _check(modes <= 1, f"{w}: give only one of 'natural_growth' (with 'net_migration'), "
           "'growth_rate' or 'table'")
    if (p.growth_rate is not None or p.table is not None) and p.net_migration:
        raise ConfigError(f"{w}: 'net_migration' goes with 'natural_growth'; 'growth_rate' and 'table' "
                          "already include migration")
    for key in ("natural_growth", "growth_rate"):
        v = getattr(p, key)
        if v is not None:
            _check(-0.2 < v < 0.2, f"{w}: '{key}' {v} is a yearly fraction; use e.g. 0.025 for 2.5 %")
    if isinstance(p.net_migration, dict):
        for k in p.net_migration:
            _check(k.isdigit(), f"{w}: 'net_migration' keys must be years, got '{k}'")
    if p.table is not None:
        for k, v in p.table.items():
            _check(k.isdigit(), f"{w}: 'table' keys must be years, got '{k}'")
            _check(v > 0, f"{w}: 'table' population for {k} must be more than 0")
    for i, shock in enumerate(p.shocks, start=1):
        _check(shock.year >= base_year,
               f"{w}: shock #{i} is in {shock.year}, before base_year {base_year}; the base population "
               "already includes it")
        _check(shock.over_years >= 1, f"{w}: shock #{i}: 'over_years' must be at least 1")
        _check(shock.persons != 0, f"{w}: shock #{i}: 'persons' must not be 0 (negative for departures)")


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate a ``layers.toml`` catalog (files are not opened here)."""
    path = Path(path)
    data = _read_toml(path, "catalog")
    where = str(path)
    allowed = ("name", "synthetic", "country", "layers")
    for k in data:
        _check(k in allowed, f"{where}: unknown key '{k}'; valid keys are: {', '.join(allowed)}")
    name = _coerce(data.get("name", path.parent.name), str, f"{where}: 'name'")
    synthetic = _coerce(data.get("synthetic", False), bool, f"{where}: 'synthetic'")
    country = data.get("country")
    if country is not None:
        country = _coerce(country, str, f"{where}: 'country'")
        _check(len(country) == 3 and country.isalpha() and country.isupper(),
               f"{where}: 'country' must be an ISO 3166 alpha-3 code in capitals (like ETH), got {country!r}")
    entries = data.get("layers", [])
    _check(isinstance(entries, list), f"{where}: 'layers' must be a list of [[layers]] tables")
    layers = []
    for i, raw in enumerate(entries, start=1):
        w = f"{where} [[layers]] #{i}"
        if not isinstance(raw, dict):
            raise ConfigError(f"{w} must be a table")
        _check("path" in raw, f"{w}: missing required key 'path'")
        written = _coerce(raw["path"], str, f"{w}: 'path'")
        entry = _build(CatalogLayer, {k: v for k, v in raw.items() if k != "path"}, w,
                       skip=("path", "path_as_written"),
                       extra={"path": (path.parent / written).resolve(), "path_as_written": written})
        layers.append(check_layer_keys(entry, w))
    _check(any(e.role == "boundary" for e in layers),
           f"{where}: no layer has role 'boundary'; the study area boundary is required "
           f"(add it with `expansion layers import {where} --role boundary FILE`)")
    return Catalog(name=name, path=path.resolve(), synthetic=synthetic, layers=tuple(layers), country=country)


def check_layer_keys(entry: CatalogLayer, w: str) -> CatalogLayer:
    """Check that ``entry``'s keys fit its role and encoding (``w`` names it in errors);
    return it with the default encoding filled in for built-up layers."""
    written = entry.path_as_written
    _check(entry.role in ROLES, f"{w}: unknown role '{entry.role}'; valid roles are: {', '.join(ROLES)}")
    enc = entry.encoding
    if entry.role == "builtup":
        enc = enc or "binary"
        _check(enc in ENCODINGS,
               f"{w}: unknown encoding '{enc}'; valid encodings are: {', '.join(ENCODINGS)}")
        if enc in ("ghsl-ldsmt", "year"):
            _check(entry.year is None, f"{w}: a {enc} layer carries its own epochs; remove 'year'"
                   + (" (choose the epochs with 'years')" if enc == "year" else ""))
        else:
            _check(entry.year is not None, f"{w}: built-up layer {written} needs a 'year' "
                   "(only ghsl-ldsmt and year layers carry their own epochs)")
        _check(enc != "classes" or entry.values is not None,
               f"{w}: a classes layer needs 'values', the land-cover codes that are built-up "
               "(e.g. values = [50] for ESA WorldCover, [6] for Dynamic World)")
        _check(enc == "year" or entry.years is None, f"{w}: 'years' applies only to encoding = \"year\"")
        _check(enc != "year" or entry.years is not None,
               f"{w}: a year layer needs 'years', the epochs to take (e.g. years = [2000, 2010, 2020])")
        _check(enc in ("classes",) or entry.values is None,
               f"{w}: 'values' on a built-up layer applies only to encoding = \"classes\"")
        if entry.threshold is not None:
            _check(enc in ("fraction", "ghs-built-s"),
                   f"{w}: 'threshold' on a built-up layer applies to fraction and ghs-built-s only")
    else:
        _check(enc is None, f"{w}: 'encoding' applies only to builtup layers, not '{entry.role}'")
        _check(entry.years is None, f"{w}: 'years' applies only to builtup layers, not '{entry.role}'")
        _check(entry.values is None or entry.role in MASK_ROLES,
               f"{w}: 'values' applies to built-up classes and raster masks "
               f"({', '.join(MASK_ROLES)}), not '{entry.role}'")
        _check(entry.threshold is None or entry.role == "flood",
               f"{w}: 'threshold' applies to built-up fractions and flood-depth rasters, not '{entry.role}'")
    _check(entry.role == "roads" or (entry.class_field is None and entry.arterial_values is None),
           f"{w}: 'class_field' and 'arterial_values' apply only to roads, not '{entry.role}'")
    if entry.threshold is not None:
        _check(entry.threshold > 0, f"{w}: 'threshold' must be more than 0")
    if entry.band is not None:
        _check(entry.band >= 1, f"{w}: 'band' counts from 1, got {entry.band}")
    for y in ((entry.year,) if entry.year is not None else ()) + (entry.years or ()):
        _check(1800 <= y <= 2200, f"{w}: year {y} is not a plausible year")
    if entry.years is not None:
        _check(list(entry.years) == sorted(set(entry.years)),
               f"{w}: 'years' must be increasing, without repeats")
    arterial = None if entry.arterial_values is None else tuple(str(v) for v in entry.arterial_values)
    return dataclasses.replace(entry, encoding=enc, arterial_values=arterial)
