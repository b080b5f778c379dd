"""The Making Room plan: expansion area, arterial grid, open-space hierarchy.

Following the NYU Urban Expansion Program (``reference/nyu-making-room.md``
section 4), :func:`make_plan` lays out, on the analysis grid:

1. **an expansion area** generous enough for the land need (``land_need_ha ×
   generosity`` of new, buildable land), grown outward from today's urban extent
   over suitable land and smoothed into a few compact polygons;
2. **an arterial grid** about ``arterial_spacing_m`` apart with
   ``arterial_width_m`` rights-of-way, one orientation per sector of the city
   (:mod:`.sectors`: the existing arterials' bearing there, or radial), shifted so
   that its lines run along the existing arterials, cut where it would cross water
   (except near existing crossings), slopes above the limit, protected land or
   land built at the base year (crossed only where that joins the network:
   :mod:`.network`); existing arterials inside the area are part of the network,
   a planned arterial runs along each boundary between sectors, and dead ends and
   small pieces are joined to the nearest line;
3. **a hierarchy of open spaces**: large ones (floodplains, steep slopes,
   protected land) in and near the expansion area, and a small park in every
   arterial superblock that has no open space yet.

Everything is computed on the stack's grid (metres in its projected CRS); the
stage writes nothing (``plan.gpkg`` is written by :mod:`expansion.outputs.plan_gpkg`).

Modules: :mod:`.morphology` (raster dilation, erosion, polygons),
:mod:`.expansion_area`, :mod:`.arterials` (with :mod:`.sectors`, :mod:`.lines`,
:mod:`.network`), :mod:`.open_space`, :mod:`.core`
(:class:`Plan`, :func:`make_plan`) and :mod:`.metrics` (:func:`plan_metrics`).
"""

from .arterials import arterial_grid, dominant_bearing, right_of_way
from .core import Plan, make_plan
from .expansion_area import grow_expansion_area
from .metrics import plan_metrics
from .open_space import OPEN_KINDS, open_space

__all__ = ["OPEN_KINDS", "Plan", "arterial_grid", "dominant_bearing", "grow_expansion_area", "make_plan",
           "open_space", "plan_metrics", "right_of_way"]
