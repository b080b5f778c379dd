"""Text labels on the web maps, to find one's way offline: place names and main road names.

Labels come from the city's own layers: named points of the stack's ``places``
(OpenStreetMap ``place`` nodes or a catalog ``places`` layer) and the ``name``
column of the roads (arterial roads only, one label per name, at the middle of
its longest stretch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .raster import LONLAT

#: At most this many labels of each kind on a map (more would cover it).
MAX_LABELS = 60

#: Place kinds (OSM ``place`` values) in order of importance; others come last.
PLACE_RANK = ("city", "town", "suburb", "quarter", "village", "neighbourhood", "hamlet", "locality")


@dataclass(frozen=True)
class LabelLayer:
    """Text drawn at points: ``labels`` is a list of (latitude, longitude, text, size class)
    with size class 1 (large) to 3 (small)."""

    name: str
    labels: tuple[tuple[float, float, str, int], ...]
    legend: str = ""
    show: bool = True


def _usable(gdf) -> bool:
    return gdf is not None and len(gdf) and "name" in gdf.columns and gdf.crs is not None


def place_labels(places) -> LabelLayer | None:
    """Named places as labels (None without any)."""
    if not _usable(places):
        return None
    gdf = places[places["name"].notna() & (places["name"].astype(str).str.strip() != "")]
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if not len(gdf):
        return None
    kinds = gdf["place"].astype(str).tolist() if "place" in gdf.columns else [""] * len(gdf)
    rank = [PLACE_RANK.index(k) if k in PLACE_RANK else len(PLACE_RANK) for k in kinds]
    pts = gdf.geometry.representative_point().to_crs(LONLAT)
    rows = sorted(zip(rank, gdf["name"].astype(str).tolist(), pts.y.tolist(), pts.x.tolist()),
                  key=lambda r: (r[0], r[1]))[:MAX_LABELS]
    labels = tuple((round(lat, 6), round(lon, 6), name, 1 if r <= 1 else 2 if r <= 3 else 3)
                   for r, name, lat, lon in rows)
    return LabelLayer("Place names", labels, "from the city's places layer")


def road_labels(roads) -> LabelLayer | None:
    """Names of the main (arterial) roads, one label per name (None without named roads)."""
    if not _usable(roads):
        return None
    main = roads
    if "road_class" in roads.columns:
        main = roads[roads["road_class"] == "arterial"]
    main = main[main["name"].notna() & (main["name"].astype(str).str.strip() != "")]
    main = main[~(main.geometry.isna() | main.geometry.is_empty)]
    if not len(main):
        return None
    lengths = main.geometry.length.to_numpy()
    best: dict[str, tuple[float, object]] = {}
    for name, geom, length in zip(main["name"].astype(str), main.geometry, lengths):
        if name not in best or length > best[name][0]:
            best[name] = (float(length), geom)
    chosen = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[0]))[:MAX_LABELS]
    import geopandas as gpd

    mids = gpd.GeoSeries([g.interpolate(0.5, normalized=True) for _, (_, g) in chosen], crs=main.crs)
    mids = mids.to_crs(LONLAT)
    labels = tuple((round(p.y, 6), round(p.x, 6), name, 3) for (name, _), p in zip(chosen, mids)
                   if math.isfinite(p.x) and math.isfinite(p.y))
    return LabelLayer("Road names", labels, "main roads, from the roads layer") if labels else None
