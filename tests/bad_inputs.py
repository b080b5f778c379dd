"""Bad inputs for tests/test_reliability.py: what an office might feed the tool.

Every case is built in its own temporary folder from one small generated demo
region (``expansion.demo.write_demo``, 120 cells of 30 m, seed 7) that the
cases share read-only: a case's catalog names the region's good files by
absolute path and writes only the bad file it is about into its own folder.

A :class:`Case` builds the command-line arguments (``run SCENARIO --out DIR``
or ``layers check CATALOG``) and says what the user must read: the exit code
and the words of the one-line error (what is wrong *and* how to fix it).
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import subprocess
import tomllib
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from shapely.geometry import LineString, Polygon

from expansion.demo import write_demo

REGION_SIZE = 120  # cells per side (30 m cells: a 3.6 km square)
REGION_SEED = 7
DROP = object()  # a value in a change dict that removes the key


def write_region(folder: Path) -> Path:
    """The small demo region; returns its ``layers.toml``."""
    return write_demo(folder, size=REGION_SIZE, seed=REGION_SEED)


# ---------------------------------------------------------------- a small TOML writer


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str | Path):
        # a TOML basic string (JSON escapes are TOML escapes; TOML also forbids a raw DEL)
        return json.dumps(str(v), ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):  # an inline table
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"no TOML for {v!r}")


def _toml_key(k: str) -> str:
    return k if k and all(c.isalnum() or c in "-_" for c in k) else json.dumps(k)


def toml_dumps(data: dict) -> str:
    """``data`` as TOML: scalars first, then ``[tables]`` and ``[[arrays of tables]]``.

    Enough for scenarios and catalogs: a dict value becomes a table (one level,
    deeper dicts inline), a list of dicts an array of tables.
    """
    lines, tables = [], []
    for k, v in data.items():
        if isinstance(v, dict):
            tables.append((k, v, False))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            tables.append((k, v, True))
        else:
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k, v, is_array in tables:
        for table in v if is_array else [v]:
            lines.append("")
            lines.append(f"[[{_toml_key(k)}]]" if is_array else f"[{_toml_key(k)}]")
            lines.extend(f"{_toml_key(kk)} = {_toml_value(vv)}" for kk, vv in table.items())
    return "\n".join(lines) + "\n"


def merged(base: dict, changes: dict) -> dict:
    """``base`` with ``changes`` applied (nested dicts merged, :data:`DROP` removes a key)."""
    out = copy.deepcopy(base)
    for k, v in changes.items():
        if v is DROP:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merged(out[k], v)
        else:
            out[k] = v
    return out


# ---------------------------------------------------------------- scenario and catalog


def scenario_data(catalog: Path) -> dict:
    """A valid scenario for the small region: 20 000 people, two Monte-Carlo runs."""
    return {
        "name": "reliability",
        "layers": str(catalog),
        "base_year": 2020,
        "horizon_year": 2040,
        "step_years": 10,
        "resolution_m": 30,
        "population": {"base": 20000, "natural_growth": 0.02, "net_migration": 200},
        "density": {"base": "observed", "annual_change": -0.01},
        "growth": {"calibrate_from": 2005, "runs": 2, "seed": 42},
        "plan": {"arterial_spacing_m": 600, "arterial_width_m": 30},
    }


def catalog_data(region_catalog: Path) -> dict:
    """The region's catalog with every path made absolute (so a copy works anywhere)."""
    data = tomllib.loads(region_catalog.read_text(encoding="utf-8"))
    for entry in data["layers"]:
        entry["path"] = str((region_catalog.parent / entry["path"]).resolve())
    return data


@dataclass
class Kit:
    """A case's folder, the shared region, and helpers to write bad files into the folder."""

    folder: Path
    region: Path  # the region's layers.toml (read-only)

    @property
    def out(self) -> Path:
        """The --out folder: it must not exist after a failed run."""
        return self.folder / "outs" / "run"

    def file(self, name: str) -> Path:
        """A layer file of the region (absolute)."""
        return self.region.parent / name

    def catalog(self, changes: dict | None = None, layers: dict | None = None, extra=()) -> Path:
        """Write ``layers.toml`` into the case folder.

        ``changes`` are top-level changes; ``layers`` maps a region file name
        (``"dem.tif"``) to changes of its entry (:data:`DROP` removes the
        entry); ``extra`` are entries appended.
        """
        data = merged(catalog_data(self.region), changes or {})
        entries = []
        for entry in data.get("layers", []):
            change = (layers or {}).get(Path(entry["path"]).name)
            if change is DROP:
                continue
            entries.append(merged(entry, change or {}))
        data["layers"] = entries + list(extra)
        path = self.folder / "layers.toml"
        path.write_text(toml_dumps(data), encoding="utf-8")
        return path

    def scenario(self, changes: dict | None = None, catalog: Path | None = None) -> Path:
        data = merged(scenario_data(catalog or self.region), changes or {})
        path = self.folder / "scenario.toml"
        path.write_text(toml_dumps(data), encoding="utf-8")
        return path

    def run(self, scenario: Path, *more: str) -> list[str]:
        (self.folder / "outs").mkdir(exist_ok=True)
        return ["run", str(scenario), "--out", str(self.out), *more]

    def run_with(self, scenario_changes: dict | None = None, **catalog_kw) -> list[str]:
        """``run`` a scenario with ``scenario_changes`` on a catalog with ``catalog_kw`` changes."""
        catalog = self.catalog(**catalog_kw) if catalog_kw else None
        return self.run(self.scenario(scenario_changes, catalog))

    def check(self, **catalog_kw) -> list[str]:
        return ["layers", "check", str(self.catalog(**catalog_kw))]

    # ---- bad files

    def raster_like(
        self, name: str, source: str, data=None, crs=..., nodata=..., shift=(0.0, 0.0), dtype=None
    ) -> Path:
        """A GeoTIFF like the region's ``source`` with other data, CRS, nodata or position."""
        with rasterio.open(self.file(source)) as src:
            profile = src.profile.copy()
            arr = src.read(1) if data is None else data(src.read(1))
        if dtype is not None:
            arr = arr.astype(dtype)
        profile.update(dtype=arr.dtype.name, driver="GTiff")
        for key in ("blockxsize", "blockysize", "tiled", "compress", "interleave"):
            profile.pop(key, None)
        if crs is not ...:
            profile.pop("crs", None)
            if crs is not None:
                profile["crs"] = crs
        if nodata is not ...:
            profile["nodata"] = nodata
        t = profile["transform"]
        profile["transform"] = rasterio.Affine(t.a, t.b, t.c + shift[0], t.d, t.e, t.f + shift[1])
        path = self.folder / name
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(arr, 1)
        return path

    def truncated(self, name: str, source: str, keep: float) -> Path:
        """The region's ``source`` cut to ``keep`` of its bytes (an interrupted download)."""
        raw = self.file(source).read_bytes()
        path = self.folder / name
        path.write_bytes(raw[: int(len(raw) * keep)])
        return path

    def vector(
        self, name: str, geoms, crs="EPSG:32637", columns: dict | None = None, layer: str | None = None
    ) -> Path:
        """A GeoPackage of ``geoms`` (in ``crs``; None writes one without a CRS)."""
        gdf = gpd.GeoDataFrame(columns or {}, geometry=gpd.GeoSeries(list(geoms)), crs=crs)
        path = self.folder / name
        with warnings.catch_warnings():  # pyogrio warns about writing without a CRS: that is the point
            warnings.simplefilter("ignore", UserWarning)
            gdf.to_file(path, layer=layer, engine="pyogrio")
        return path

    def region_vector(self, source: str) -> gpd.GeoDataFrame:
        return gpd.read_file(self.file(source), engine="pyogrio")


@dataclass(frozen=True)
class Case:
    """One bad input: ``build(kit)`` returns the command-line arguments.

    ``words`` must all appear (case-insensitive) in the one ``error:`` line.
    """

    name: str
    build: Callable[[Kit], list[str]]
    words: tuple[str, ...] = ()
    code: int = 1
    writes: bool = field(default=False)  # True only for cases that may leave files (none so far)


# ---------------------------------------------------------------- geometry helpers


def region_box(kit: Kit) -> tuple[float, float, float, float]:
    """(left, bottom, right, top) of the region's boundary, in EPSG:32637 metres."""
    return tuple(kit.region_vector("boundary.gpkg").total_bounds)


def bowtie(kit: Kit) -> Polygon:
    """A self-intersecting (invalid but repairable) polygon inside the region."""
    left, bottom, right, top = region_box(kit)
    x0, y0 = left + 300, bottom + 300
    return Polygon([(x0, y0), (x0 + 400, y0 + 400), (x0 + 400, y0), (x0, y0 + 400), (x0, y0)])


def _arr(fn):
    return lambda a: fn(np.asarray(a))


# ---------------------------------------------------------------- the corpus


def _scenario_raw(text: str):
    def build(kit: Kit) -> list[str]:
        path = kit.folder / "scenario.toml"
        path.write_bytes(text.encode("latin-1") if "\xe9" in text else text.encode())
        return kit.run(path)

    return build


def _builtup_2020(**kw):
    """Replace the 2020 built-up layer by a variant written with :meth:`Kit.raster_like`."""

    def build(kit: Kit) -> list[str]:
        path = kit.raster_like("bad_2020.tif", "builtup_2020.tif", **kw)
        return kit.run_with(layers={"builtup_2020.tif": {"path": str(path)}})

    return build


def _dem(**kw):
    def build(kit: Kit) -> list[str]:
        path = kit.raster_like("bad_dem.tif", "dem.tif", **kw)
        return kit.run_with(layers={"dem.tif": {"path": str(path)}})

    return build


def _layer(file: str, make: Callable[[Kit], Path], change: dict | None = None, command: str = "run"):
    """Replace the region's ``file`` by what ``make(kit)`` writes."""

    def build(kit: Kit) -> list[str]:
        layers = {file: {"path": str(make(kit)), **(change or {})}}
        return kit.check(layers=layers) if command == "check" else kit.run_with(layers=layers)

    return build


def _not_overlapping(kit: Kit) -> Path:
    return kit.raster_like("far_2020.tif", "builtup_2020.tif", shift=(200_000.0, 0.0))


CASES: list[Case] = [
    # ---- scenario files
    Case("scenario-missing", lambda k: k.run(k.folder / "nope.toml"), ("not found", "nope.toml")),
    Case("scenario-is-directory", lambda k: k.run(k.folder), ("is a directory", ".toml file inside")),
    Case("scenario-not-toml", _scenario_raw('name = "x"\nbase_year = = 2020\n'), ("not valid toml",)),
    Case("scenario-not-utf8", _scenario_raw('name = "caf\xe9"\n'), ("not utf-8", "save it as utf-8")),
    Case(
        "scenario-unknown-key",
        lambda k: k.run_with({"horizon": 2050}),
        ("unknown key 'horizon'", "valid keys are", "horizon_year"),
    ),
    Case(
        "scenario-unknown-key-in-table",
        lambda k: k.run_with({"growth": {"rnus": 3}}),
        ("[growth]", "unknown key 'rnus'", "valid keys are", "runs"),
    ),
    Case(
        "scenario-missing-key",
        lambda k: k.run_with({"base_year": DROP}),
        ("missing required key 'base_year'",),
    ),
    Case(
        "scenario-year-as-text",
        lambda k: k.run_with({"base_year": "2020"}),
        ("'base_year'", "must be a whole number", "'2020'"),
    ),
    Case(
        "scenario-table-as-number",
        lambda k: k.run_with({"population": 20000}),
        ("[population]", "must be a table"),
    ),
    Case(
        "scenario-number-as-text",
        lambda k: k.run_with({"population": {"base": "many"}}),
        ("'base'", "must be a number", "'many'"),
    ),
    Case(
        "scenario-nan",
        lambda k: k.run_with({"resolution_m": float("nan")}),
        ("'resolution_m'", "finite number"),
    ),
    Case(
        "scenario-horizon-before-base",
        lambda k: k.run_with({"horizon_year": 2010}),
        ("'horizon_year' (2010)", "must be after", "'base_year' (2020)"),
    ),
    Case(
        "scenario-calibration-after-base",
        lambda k: k.run_with({"growth": {"calibrate_from": 2030}}),
        ("'calibrate_from' (2030)", "must be before"),
    ),
    Case(
        "scenario-base-year-without-builtup",
        lambda k: k.run_with({"base_year": 2018}),
        ("base_year 2018", "no built-up layer", "1995, 2005, 2020", "use one of them"),
    ),
    Case(
        "scenario-calibration-year-without-builtup",
        lambda k: k.run_with({"growth": {"calibrate_from": 2000}}),
        ("calibrate_from 2000", "no built-up layer", "1995, 2005, 2020"),
    ),
    Case(
        "scenario-catalog-missing",
        lambda k: k.run_with({"layers": str(k.folder / "none" / "layers.toml")}),
        ("layers catalog", "none/layers.toml", "is not found", "relative to the scenario"),
    ),
    Case(
        "scenario-catalog-is-directory",
        lambda k: k.run_with({"layers": str(k.region.parent)}),
        ("is a directory", "give the .toml file"),
    ),
    Case(
        "scenario-geographic-crs",
        lambda k: k.run_with({"crs": "EPSG:4326"}),
        ("'crs'", "geographic", "projected crs in metres"),
    ),
    Case(
        "scenario-crs-in-feet", lambda k: k.run_with({"crs": "EPSG:2249"}), ("'crs'", "use a crs in metres")
    ),
    Case("scenario-crs-unknown", lambda k: k.run_with({"crs": "EPSG:999999"}), ("'crs'", "not a crs")),
    # ---- absurd parameters
    Case(
        "population-negative",
        lambda k: k.run_with({"population": {"base": -5000}}),
        ("[population]", "'base'", "more than 0"),
    ),
    Case(
        "growth-rate-in-percent",
        lambda k: k.run_with({"population": {"natural_growth": 2.2}}),
        ("'natural_growth'", "yearly fraction", "0.025"),
    ),
    Case(
        "density-zero", lambda k: k.run_with({"density": {"base": 0}}), ("[density]", "'base'", "more than 0")
    ),
    Case(
        "density-negative",
        lambda k: k.run_with({"density": {"base": -40}}),
        ("[density]", "'base'", "more than 0"),
    ),
    Case(
        "density-word",
        lambda k: k.run_with({"density": {"base": "observd"}}),
        ("[density]", "'base'", '"observed"'),
    ),
    Case(
        "infill-over-one",
        lambda k: k.run_with({"density": {"infill_share": 1.5}}),
        ("'infill_share'", "[0, 1)"),
    ),
    Case(
        "arterial-spacing-negative",
        lambda k: k.run_with({"plan": {"arterial_spacing_m": -500}}),
        ("'arterial_spacing_m'", "at least 100"),
    ),
    Case(
        "arterial-spacing-larger-than-region",
        lambda k: k.run_with({"plan": {"arterial_spacing_m": 50000}}),
        ("'arterial_spacing_m'", "50000", "study area", "km"),
    ),
    Case(
        "arterial-width-over-spacing",
        lambda k: k.run_with({"plan": {"arterial_width_m": 400}}),
        ("'arterial_width_m'", "under half the spacing"),
    ),
    Case("step-years-zero", lambda k: k.run_with({"step_years": 0}), ("'step_years'", "at least 1")),
    Case("resolution-negative", lambda k: k.run_with({"resolution_m": -30}), ("'resolution_m'", "positive")),
    Case(
        "resolution-absurdly-fine",
        lambda k: k.run_with({"resolution_m": 0.01}),
        ("out of memory", "use a coarser resolution_m"),
    ),
    Case(
        "population-table-short-of-horizon",
        lambda k: k.run_with(
            {
                "population": {
                    "natural_growth": DROP,
                    "net_migration": DROP,
                    "table": {"2020": 20000, "2030": 25000},
                }
            }
        ),
        ("table", "2040"),
    ),
    Case(
        "resolution-coarser-than-region",
        lambda k: k.run_with({"resolution_m": 5000}),
        ("boundary.gpkg", "covers no cell", "5000 m grid", "finer 'resolution_m'"),
    ),
    Case(
        "builtup-all-zero-with-observed-density",
        _builtup_2020(data=_arr(lambda a: np.where(a == 255, a, 0).astype(a.dtype))),
        ("0 ha", "[density] base in persons per hectare"),
    ),
    Case("horizon-centuries-away", lambda k: k.run_with({"horizon_year": 2400}), ("'horizon_year'",)),
    Case(
        "runs-zero-in-scenario",
        lambda k: k.run_with({"growth": {"runs": 0}}),
        ("[growth]", "'runs'", "at least 1"),
    ),
    Case("runs-zero-on-command-line", lambda k: k.run(k.scenario(), "--runs", "0"), code=2),
    Case("seed-negative-on-command-line", lambda k: k.run(k.scenario(), "--seed", "-1"), code=2),
    Case(
        "backtest-year-without-builtup",
        lambda k: ["backtest", str(k.scenario({"base_year": 2005, "growth": {"calibrate_from": 1995}})),
                   "--observed-year", "2013", "--out", str(k.out)],
        ("--observed-year 2013", "no built-up layer", "1995, 2005, 2020"),
    ),
    Case(
        "backtest-year-not-after-base-year",
        lambda k: ["backtest", str(k.scenario()), "--observed-year", "2020", "--out", str(k.out)],
        ("--observed-year 2020", "must be after", "base_year 2020"),
    ),
    Case(
        "backtest-year-not-a-number",
        lambda k: ["backtest", str(k.scenario()), "--observed-year", "soon"],
        code=2,
    ),
    # ---- catalogs
    Case(
        "catalog-unknown-key",
        lambda k: k.run_with(changes={"nmae": "x"}),
        ("unknown key 'nmae'", "valid keys are: name, synthetic, country, layers"),
    ),
    Case(
        "catalog-unknown-layer-key",
        lambda k: k.run_with(layers={"dem.tif": {"yeer": 2005}}),
        ("[[layers]] #5", "unknown key 'yeer'", "valid keys are"),
    ),
    Case(
        "catalog-year-as-text",
        lambda k: k.run_with(layers={"builtup_2005.tif": {"year": "2005"}}),
        ("[[layers]] #3", "'year'", "whole number"),
    ),
    Case(
        "catalog-unknown-role",
        lambda k: k.run_with(layers={"water.gpkg": {"role": "rivers"}}),
        ("unknown role 'rivers'", "valid roles are"),
    ),
    Case(
        "catalog-builtup-without-year",
        lambda k: k.run_with(layers={"builtup_2005.tif": {"year": DROP}}),
        ("builtup_2005.tif", "needs a 'year'"),
    ),
    Case(
        "catalog-no-boundary",
        lambda k: k.run_with(layers={"boundary.gpkg": DROP}),
        ("no layer has role 'boundary'", "layers.toml --role boundary file"),
    ),
    Case(
        "catalog-no-builtup",
        lambda k: k.run_with(layers={f"builtup_{y}.tif": DROP for y in (1995, 2005, 2020)}),
        ("no built-up layer", "expansion layers import"),
    ),
    Case(
        "layer-file-missing",
        lambda k: k.run_with(layers={"dem.tif": {"path": "gone/dem.tif"}}),
        ("gone/dem.tif", "file not found", "fix its 'path'"),
    ),
    Case(
        "layer-is-directory",
        lambda k: k.run_with(layers={"dem.tif": {"path": str(k.folder)}}),
        ("is a directory", "give the file inside it"),
    ),
    Case(
        "check-layer-file-missing",
        lambda k: k.check(layers={"builtup_2020.tif": {"path": "gone.tif"}}),
        ("gone.tif", "file not found"),
    ),
    # ---- rasters
    Case(
        "raster-without-crs",
        _builtup_2020(crs=None),
        ("bad_2020.tif", "no coordinate reference system", "set one"),
    ),
    Case(
        "check-raster-without-crs",
        _layer(
            "builtup_2020.tif",
            lambda k: k.raster_like("bad_2020.tif", "builtup_2020.tif", crs=None),
            command="check",
        ),
        ("has no crs", "gdal_edit.py"),
    ),
    Case(
        "raster-nodata-does-not-fit-dtype",
        lambda k: k.run_with(layers={"builtup_2020.tif": {"nodata": 300}}),
        ("nodata value 300", "does not fit", "uint8", "set a fitting 'nodata'"),
    ),
    Case(
        "raster-nodata-tag-does-not-fit-dtype",
        _layer("dem.tif", lambda k: _nodata_tag_too_big(k)),
        ("bad_dem.tif", "nodata value", "int16", "gdal_edit.py"),
    ),
    Case(
        "check-raster-nodata-tag-does-not-fit-dtype",
        _layer("builtup_2020.tif", lambda k: _builtup_nodata_tag_negative(k), command="check"),
        ("bad_2020.tif", "nodata value -99", "uint8", "set a fitting 'nodata'"),
    ),
    Case(
        "raster-all-nodata",
        _builtup_2020(data=_arr(lambda a: np.full_like(a, 255))),
        ("bad_2020.tif", "only nodata", "check its nodata value"),
    ),
    Case(
        "dem-all-nan",
        _dem(data=_arr(lambda a: np.full(a.shape, np.nan, "float32")), nodata=None),
        ("bad_dem.tif", "only nodata"),
    ),
    Case(
        "raster-truncated-header",
        _layer("builtup_2020.tif", lambda k: k.truncated("cut_2020.tif", "builtup_2020.tif", 0.05)),
        ("cut_2020.tif", "cannot be read", "download it again"),
    ),
    Case(
        "raster-truncated-data",
        _layer("dem.tif", lambda k: k.truncated("cut_dem.tif", "dem.tif", 0.6)),
        ("cut_dem.tif", "truncated or damaged", "download it again"),
    ),
    Case(
        "raster-not-a-raster",
        _layer("dem.tif", lambda k: _text(k, "dem_notes.tif", "elevation: see email\n")),
        ("dem_notes.tif", "cannot be read as a raster"),
    ),
    Case(
        "raster-role-given-a-vector",
        lambda k: k.run_with(layers={"dem.tif": {"path": str(k.file("roads.gpkg"))}}),
        ("roads.gpkg", "raster"),
    ),
    Case(
        "raster-does-not-overlap",
        _layer("builtup_2020.tif", _not_overlapping),
        ("far_2020.tif", "does not overlap the study area", "check the file"),
    ),
    Case(
        "check-raster-does-not-overlap",
        _layer("builtup_2020.tif", _not_overlapping, command="check"),
        ("far_2020.tif", "does not overlap", "check its crs"),
    ),
    # ---- vectors
    Case(
        "boundary-without-crs",
        _layer(
            "boundary.gpkg",
            lambda k: k.vector("town.gpkg", k.region_vector("boundary.gpkg").geometry, crs=None),
        ),
        ("town.gpkg", "no coordinate reference system", "set one"),
    ),
    Case(
        "boundary-all-empty",
        _layer("boundary.gpkg", lambda k: k.vector("town.gpkg", [Polygon(), Polygon()])),
        ("town.gpkg", "no polygon with an area"),
    ),
    Case(
        "boundary-no-features",
        _layer("boundary.gpkg", lambda k: k.vector("town.gpkg", [], columns={"name": []})),
        ("town.gpkg", "no polygon with an area"),
    ),
    Case(
        "boundary-only-lines",
        _layer(
            "boundary.gpkg",
            lambda k: k.vector(
                "town.gpkg",
                [LineString(np.asarray(k.region_vector("boundary.gpkg").geometry.iloc[0].exterior.coords))],
            ),
        ),
        ("town.gpkg", "no polygon with an area", "as a polygon layer"),
    ),
    Case(
        "boundary-is-a-raster",
        lambda k: k.run_with(layers={"boundary.gpkg": {"path": str(k.file("dem.tif"))}}),
        ("dem.tif", "distinct values", "set 'values'", "polygons"),
    ),
    Case(
        "vector-garbage",
        _layer("water.gpkg", lambda k: _text(k, "water.gpkg", "not a database")),
        ("water.gpkg", "cannot be read as a vector layer"),
    ),
    Case(
        "vector-two-layers-no-name",
        _layer("protected.gpkg", lambda k: _two_layers(k)),
        ("parks.gpkg", "has 2 layers", "layer = "),
    ),
    Case(
        "roads-without-highway-field",
        _layer(
            "roads.gpkg",
            lambda k: k.vector(
                "roads.gpkg",
                k.region_vector("roads.gpkg").geometry,
                columns={"kind": ["x"] * len(k.region_vector("roads.gpkg"))},
            ),
        ),
        ("roads.gpkg", "no field 'highway'", "fields are: kind", "set 'class_field'"),
    ),
    # ---- layers as GIS staff have them (issue 13)
    Case(
        "landcover-classes-read-as-binary",
        _layer("builtup_2020.tif", lambda k: _classes(k)),
        ("lc_2020.tif", "distinct values", 'encoding = "classes"', "values"),
    ),
    Case(
        "landcover-classes-read-as-binary-check",
        _layer("builtup_2020.tif", lambda k: _classes(k), command="check"),
        ("lc_2020.tif", "distinct values", 'encoding = "classes"'),
    ),
    Case(
        "classes-without-values",
        lambda k: k.run_with(layers={"builtup_2020.tif": {"encoding": "classes"}}),
        ("needs 'values'", "built-up"),
    ),
    Case(
        "classes-values-absent-check",
        lambda k: k.check(layers={"builtup_2020.tif": {"encoding": "classes", "values": [50]}}),
        ("builtup_2020.tif", "none of its values is in 'values' (50)"),
    ),
    Case(
        "band-beyond-the-file",
        lambda k: k.run_with(layers={"dem.tif": {"band": 3}}),
        ("dem.tif", "no band 3"),
    ),
    Case(
        "values-on-a-dem",
        lambda k: k.run_with(layers={"dem.tif": {"values": [1]}}),
        ("'values' applies to built-up classes and raster masks",),
    ),
    # ---- the output folder
    Case("out-exists", lambda k: _existing_out(k), ("already exists", "--overwrite")),
    Case("out-is-a-file", lambda k: _file_out(k), ("is a file", "choose another --out")),
    Case(
        "out-under-a-file",
        lambda k: _under_file_out(k),
        ("cannot create output folder", "choose another --out"),
    ),
]


def _patch_nodata_tag(path: Path, old: bytes, new: bytes) -> Path:
    """Rewrite the GDAL_NODATA tag's text in place (GDAL stores any text there;
    rasterio refuses to write a value that does not fit the dtype)."""
    raw = path.read_bytes()
    assert raw.count(old + b"\x00") == 1 and len(old) == len(new)
    path.write_bytes(raw.replace(old + b"\x00", new + b"\x00"))
    return path


def _nodata_tag_too_big(kit: Kit) -> Path:
    """An int16 DEM whose nodata tag says 99999."""
    path = kit.raster_like(
        "bad_dem.tif", "dem.tif", data=_arr(lambda a: np.nan_to_num(a).round()), dtype="int16", nodata=-9999
    )
    return _patch_nodata_tag(path, b"-9999", b"99999")


def _builtup_nodata_tag_negative(kit: Kit) -> Path:
    """A uint8 built-up layer whose nodata tag says -99."""
    return _patch_nodata_tag(kit.raster_like("bad_2020.tif", "builtup_2020.tif"), b"255", b"-99")


def _classes(kit: Kit) -> Path:
    """The region's 2020 built-up as a land-cover classification: 1-3 not built, 4 built."""
    return kit.raster_like(
        "lc_2020.tif",
        "builtup_2020.tif",
        data=lambda a: np.where(a == 1, 4, 1 + np.arange(a.shape[1]) % 3).astype("uint8"),
    )


def _text(kit: Kit, name: str, text: str) -> Path:
    path = kit.folder / name
    path.write_text(text)
    return path


def _two_layers(kit: Kit) -> Path:
    gdf = kit.region_vector("protected.gpkg")
    path = kit.folder / "parks.gpkg"
    gdf.to_file(path, layer="parks", engine="pyogrio")
    gdf.to_file(path, layer="forests", engine="pyogrio")
    return path


def _existing_out(kit: Kit) -> list[str]:
    args = kit.run(kit.scenario())
    kit.out.mkdir()
    (kit.out / "keep.txt").write_text("earlier result")
    return args


def _file_out(kit: Kit) -> list[str]:
    args = kit.run(kit.scenario())
    kit.out.write_text("not a folder")
    return args


def _under_file_out(kit: Kit) -> list[str]:
    (kit.folder / "outs").mkdir()
    (kit.folder / "outs" / "file").write_text("x")
    return ["run", str(kit.scenario()), "--out", str(kit.folder / "outs" / "file" / "run")]


# ---------------------------------------------------------------- running many cases

# A warm interpreter forks one child per case; the child runs the real entry point
# (``expansion.cli.main``, what the ``expansion`` script calls) with its own argv,
# working folder, stdout and stderr, so each case is a process of its own that
# pays for the imports once instead of seventy times.
_DRIVER = r"""
import json, os, sys
import expansion.cli, expansion.pipeline.run, expansion.inputs  # warm up
jobs = json.load(sys.stdin)
codes = []
for args, cwd, out, err in jobs:
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.chdir(cwd)
            for fd, path in ((1, out), (2, err)):
                f = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                os.dup2(f, fd)
                os.close(f)
            sys.argv = ["expansion", *args]
            expansion.cli.main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    codes.append(os.waitstatus_to_exitcode(status))
print(json.dumps(codes))
"""


def run_many(jobs: list[tuple[list[str], Path]], workers: int = 2) -> list[subprocess.CompletedProcess]:
    """Run ``expansion ARGS`` in folder ``cwd`` for each job, ``workers`` drivers at a time."""
    import sys
    import tempfile

    logs = Path(tempfile.mkdtemp(prefix="expansion-cases-"))
    rows = [
        (list(map(str, args)), str(cwd), str(logs / f"{i}.out"), str(logs / f"{i}.err"))
        for i, (args, cwd) in enumerate(jobs)
    ]
    shares = [rows[w::workers] for w in range(workers)]
    drivers = [
        subprocess.Popen(
            [sys.executable, "-c", _DRIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        for _ in shares
    ]
    codes: dict[str, int] = {}
    for share, proc in zip(shares, drivers):
        out, _ = proc.communicate(json.dumps(share), timeout=900)
        assert proc.returncode == 0, f"case driver failed: {out}"
        codes.update({row[2]: code for row, code in zip(share, json.loads(out))})
    results = [
        subprocess.CompletedProcess(args, codes[out], Path(out).read_text(), Path(err).read_text())
        for args, _, out, err in rows
    ]
    shutil.rmtree(logs, ignore_errors=True)
    return results
