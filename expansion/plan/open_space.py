"""The hierarchy of open spaces: floodplains, steep slopes, protected land, parks."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
from scipy import ndimage

from ..config import PlanConfig
from ..grid import Grid
from ..hazard import MAX_SLOPE_PCT, flood_prone, steep
from ..stack import Stack
from .morphology import crop, deepest, dilate, polygons, sq_cells

OPEN_SPACE_MARGIN_M = 500.0  # large open spaces kept this far around the expansion area
MIN_OPEN_HA = 1.0  # large open-space patches smaller than this are dropped

OPEN_KINDS = {1: "floodplain", 2: "steep_slope", 3: "protected", 4: "park"}


def open_space(stack: Stack, expansion_area: np.ndarray, row: np.ndarray, cfg: PlanConfig, *,
               max_slope_pct: float = MAX_SLOPE_PCT, margin_m: float = OPEN_SPACE_MARGIN_M,
               min_open_ha: float = MIN_OPEN_HA) -> np.ndarray:
    """Open-space kind raster (codes of :data:`OPEN_KINDS`).

    Large spaces within ``margin_m`` of the expansion area (and inside the study
    area, never water): floodplain (flood-prone land, :func:`expansion.hazard.flood_prone`),
    steep slopes (above ``max_slope_pct``), protected land; where they
    overlap, protected wins over floodplain over steep slope; patches under
    ``min_open_ha`` are dropped. Then a park of ``cfg.park_ha`` in every
    superblock (expansion land between rights-of-way, at least a quarter of a
    spacing squared) that touches less than ``park_ha`` of open space, centred
    at the point farthest from the superblock's edge (the middle one where
    several are, see :func:`deepest`).
    """
    grid = stack.grid
    res, cell_ha = grid.res, grid.cell_area_ha
    kind = np.zeros(grid.shape, np.uint8)
    zone = dilate(expansion_area, margin_m, res)
    zone &= stack.valid
    zone &= ~stack.water
    if zone.any():
        flood = flood_prone(stack)
        layers = [(1, flood)]
        if stack.slope_pct is not None:
            layers.append((2, steep(stack.slope_pct, max_slope_pct)))
        layers.append((3, stack.protected))
        for code, m in layers:  # later layers win
            kind[m & zone] = code
        del layers, flood, zone
        lab, n = ndimage.label(kind > 0, structure=np.ones((3, 3), bool))
        if n:
            small = np.bincount(lab.ravel(), minlength=n + 1) * cell_ha < min_open_ha
            small[0] = False
            kind[small[lab]] = 0
        del lab

    box = crop(expansion_area, 0.0, res)  # superblocks lie in it, with two cells of margin
    if cfg.park_ha > 0 and box is not None:
        blocks = expansion_area & ~row & (kind == 0) & ~stack.water
        lab, n = ndimage.label(blocks)
        del blocks
        if n:
            sizes = np.bincount(lab.ravel(), minlength=n + 1) * cell_ha
            near = ndimage.maximum_filter(lab[box], size=3)  # zero on the margin, as on the whole grid
            has_open = np.bincount(near[kind[box] > 0], minlength=n + 1) * cell_ha >= cfg.park_ha
            del near
            min_block = max(0.25 * cfg.arterial_spacing_m ** 2 / 10_000.0, 4 * cfg.park_ha)
            want = np.flatnonzero((sizes >= min_block) & ~has_open)
            want = want[want > 0]
            if len(want):
                # Depth: squared distance in cells to the nearest cell outside every
                # superblock (the same maxima as the distance itself).
                depth = sq_cells(lab[box] > 0)
                centres = deepest(depth, lab[box], want) + [box[0].start, box[1].start]
                del depth
                r_cells = math.sqrt(cfg.park_ha * 10_000.0 / math.pi) / res
                rc = int(math.ceil(r_cells))
                dy, dx = np.mgrid[-rc:rc + 1, -rc:rc + 1]
                disk = dy ** 2 + dx ** 2 <= r_cells ** 2
                for label, (r0, c0) in zip(want, centres):
                    rs, cs = r0 + dy[disk], c0 + dx[disk]
                    ok = (rs >= 0) & (rs < grid.height) & (cs >= 0) & (cs < grid.width)
                    rs, cs = rs[ok], cs[ok]
                    ok = lab[rs, cs] == label
                    kind[rs[ok], cs[ok]] = 4
    return kind


def open_space_frame(kind: np.ndarray, grid: Grid) -> gpd.GeoDataFrame:
    rows = [(OPEN_KINDS[v], g) for v, g in polygons(kind, grid, 0.0)]  # exact cells: the figures' area
    return gpd.GeoDataFrame({"kind": [k for k, _ in rows],
                             "hectares": [float(g.area) / 10_000.0 for _, g in rows]},
                            geometry=[g for _, g in rows], crs=grid.crs)

