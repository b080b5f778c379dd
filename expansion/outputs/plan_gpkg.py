"""``plan.gpkg``: the plan's layers and the risk hotspots, styled for QGIS."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd

from ..plan import Plan
from .gpkg import write_gpkg
from .qgis import plan_layer_styles

ARTERIAL_COLUMNS = ("kind", "length_m", "width_m", "phase_year", "sector", "bearing_deg")
_HOTSPOT_COLUMNS = {"policy": "str", "hectares": "float", "people": "float", "hazard_share": "float",
                    "mean_risk": "float"}


def write_plan_gpkg(plan: Plan, path: str | Path, risk_hotspots: gpd.GeoDataFrame | None = None) -> Path:
    """Write ``plan.gpkg`` with layers ``expansion_area``, ``arterials`` (with
    ``phase_year``: the year by which to secure it, 0 for existing arterials;
    ``sector``: the sector of the city it lies in, 0 on a boundary between sectors;
    ``bearing_deg``: the orientation of that sector's grid),
    ``open_space``, ``risk_hotspots`` (empty, with its columns, when None) and
    ``right_of_way`` (the arterials' rights-of-way as polygons, with ``phase_year``),
    each styled for QGIS through the GeoPackage ``layer_styles`` table.

    Same plan, same bytes (see :mod:`expansion.outputs.gpkg`). An existing file at
    ``path`` is replaced (the pipeline writes into a fresh run folder).
    """
    crs = plan.grid.crs
    if risk_hotspots is None or len(risk_hotspots) == 0:
        cols = {c: pd.Series([], dtype=object if t == "str" else "float64")
                for c, t in _HOTSPOT_COLUMNS.items()}
        if risk_hotspots is not None:
            cols.update({c: risk_hotspots[c].to_numpy() for c in risk_hotspots.columns
                         if c != risk_hotspots.geometry.name and c not in cols})
        risk_hotspots = gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
    return write_gpkg(path, [
        ("expansion_area", plan.expansion, "MultiPolygon"),
        ("arterials", plan.arterials[[c for c in ARTERIAL_COLUMNS if c in plan.arterials] + ["geometry"]],
         "LineString"),
        ("open_space", plan.open_space[["kind", "hectares", "geometry"]], "MultiPolygon"),
        ("risk_hotspots", risk_hotspots, "MultiPolygon"),
        ("right_of_way", plan.right_of_way[["kind", "width_m", "hectares", "phase_year", "geometry"]],
         "MultiPolygon"),
    ], styles=plan_layer_styles(plan.width_m, phase_years(plan)), crs=crs)


def phase_years(plan: Plan) -> list[int]:
    """The planned arterials' phase years (the QGIS style colours the arterials by them)."""
    art = plan.arterials
    if "phase_year" not in art:
        return []
    planned = art["phase_year"].to_numpy()[art["kind"].to_numpy() == "planned"]
    return sorted({int(y) for y in planned if y > 0})

