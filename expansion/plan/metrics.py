"""Figures of a plan (DESIGN section 7: plan metrics)."""

from __future__ import annotations

import numpy as np

from ..stack import Stack
from .core import Plan
from .held import held_figures
from .open_space import OPEN_KINDS


def plan_metrics(plan: Plan, stack: Stack | None = None, land_need_ha: float | None = None) -> dict:
    """Figures of a plan.

    Returns a dict: ``expansion_area_ha``, ``new_land_ha`` (buildable land in it),
    ``land_need_ha``, ``target_ha``, ``expansion_vs_need`` (expansion area ÷ land
    need), ``arterials_planned_km``, ``arterials_existing_km`` (inside the area),
    ``arterial_spacing_m`` (measured: 2 × area ÷ network length inside the area),
    ``row_share`` (share of the expansion area in rights-of-way), ``within_500m_share``
    (share of the expansion area within 500 m of a planned or existing arterial),
    ``open_space_ha`` and ``open_space_by_kind_ha``, ``parks``, ``bearing_deg`` (the
    grid's orientation in its largest sector) and ``bearings_deg`` (one per sector);
    ``crossings_km`` (planned arterial length on land built at the base year) and
    ``crossings_share`` (of the planned length), the ``bau_growth*`` figures (the
    share of the city's business-as-usual growth held by today's urban extent or the
    expansion area, and its parts: see :func:`.held.held_figures`), ``compactness``
    (Polsby-Popper, 4πA/P²), ``boundary_km`` and ``parts`` of the area's polygons,
    ``row_ha`` (planned rights-of-way) and ``phases`` (see :mod:`.phases`).
    Hectares of the expansion area, the open space and the rights-of-way are those
    of the polygons delivered in ``plan.gpkg`` (the expansion area's outline is
    generalized, so its area differs a little from its cell count; open space
    polygons follow the cells exactly).
    ``stack`` is accepted for symmetry with the other stages and not needed;
    ``land_need_ha`` overrides the plan's own.
    """
    area = plan.expansion_area
    n = int(np.count_nonzero(area))
    need = plan.land_need_ha if land_need_ha is None else float(land_need_ha)
    kinds = plan.arterials["kind"].to_numpy()
    lengths = plan.arterials["length_m"].to_numpy(dtype=float)
    network_m = float(lengths.sum())
    planned_m = float(lengths[kinds == "planned"].sum())
    area_ha = float(plan.expansion["hectares"].sum()) if len(plan.expansion) else 0.0
    os_kind, os_ha = plan.open_space["kind"].to_numpy(), plan.open_space["hectares"].to_numpy(dtype=float)
    by_kind = {name: float(os_ha[os_kind == name].sum()) for name in OPEN_KINDS.values()}
    return {
        "expansion_area_ha": area_ha,
        "new_land_ha": plan.new_land_ha,
        "land_need_ha": need,
        "target_ha": plan.target_ha,
        "expansion_vs_need": area_ha / need if need > 0 else None,
        "arterials_planned_km": planned_m / 1000.0,
        "arterials_existing_km": float(lengths[kinds == "existing"].sum()) / 1000.0,
        "arterial_spacing_m": 2.0 * area_ha * 10_000.0 / network_m if network_m > 0 else None,
        "row_share": float(np.count_nonzero(plan.row & area)) / n if n else None,
        "within_500m_share": (float(np.count_nonzero(area & (plan.network_dist_m <= 500.0))) / n
                              if n else None),
        "open_space_ha": float(os_ha.sum()),
        "open_space_by_kind_ha": by_kind,
        "parks": int(np.count_nonzero(plan.open_space["kind"].to_numpy() == "park")),
        "bearing_deg": plan.bearing_deg,
        "bearings_deg": plan.bearings_deg,
        "crossings_km": plan.crossings_m / 1000.0,
        "crossings_share": plan.crossings_m / planned_m if planned_m > 0 else 0.0,
        **held_figures(plan.held),
        "compactness": plan.compactness,
        "boundary_km": float(plan.expansion.geometry.length.sum()) / 1000.0,
        "parts": int(len(plan.expansion)),
        "row_ha": float(plan.right_of_way["hectares"].to_numpy()[plan.right_of_way["kind"].to_numpy()
                                                                  == "planned"].sum()),
        "phases": plan.phases,
    }

