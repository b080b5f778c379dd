"""The plan, the planned policy at the scenario's enforcement, and the risk under
each policy: the part of a run after the business-as-usual projection.

The plan is placed and phased by the business-as-usual projection, so it waits
for it. The planned policy is simulated at the scenario's ``[plan] enforcement``.
``risk.by_enforcement`` gives the risk at :data:`ENFORCEMENT_LEVELS`: enforcement
0 secures nothing, so it is business as usual and reuses that projection; a
level equal to the scenario's reuses the planned one; the others need only the
calibrated probability of being built by the horizon under that policy
(:func:`expansion.growth.probability_by_horizon`, what the risk of a simulated
policy uses too), not Monte-Carlo runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import demand as demand_mod
from .. import growth, plan, risk
from ..config import Scenario
from ..plan.phases import Secured, secure
from ..stack import Stack

log = logging.getLogger(__name__)

ENFORCEMENT_LEVELS = (0.0, 0.5, 1.0)


@dataclass
class PlannedOutcome:
    plan: plan.Plan
    secured: Secured
    planned: growth.GrowthResult
    planned_excluded: np.ndarray
    risks: dict[str, risk.Risk]
    risk_summary: dict
    hotspots: list
    warnings: list[str]
    unmet: dict  # the planned policy's shortfall for summary.json unmet_demand (empty when all was placed)


def plan_and_risk(sc: Scenario, stack: Stack, suit, model, base: np.ndarray, rows: list,
                  bau: growth.GrowthResult, start_simulation: Callable, spill, timer,
                  plan_new_land_ha: float | None = None) -> PlannedOutcome:
    """Make the plan from the business-as-usual projection ``bau``, simulate the
    planned policy, and score the risk of both (see the module docstring).

    ``plan_new_land_ha`` is the new land (after infill) the expansion area is sized for
    (the high land-need path); default the new land of ``rows``."""
    grid = stack.grid
    years = [r.year for r in rows]
    new_cells = [int(round(r.new_land_ha / grid.cell_area_ha)) for r in rows[1:]]
    land_need_ha = sum(r.new_land_ha for r in rows) if plan_new_land_ha is None else plan_new_land_ha
    the_plan = spill(plan.make_plan(stack, suit.score, suit.excluded, land_need_ha, sc.plan, base,
                                    max_slope_pct=sc.suitability.max_slope_pct,
                                    bau_probability=bau.probability, bau_year=bau.urbanization_year,
                                    years=years))
    timer.mark("plan")

    def inputs(e: float):
        """The planned policy's growth inputs at enforcement ``e``."""
        sec = secure(the_plan, e, stack.valid)
        arterial = np.minimum(stack.arterial_dist_m, sec.arterial_dist_m)
        road = np.minimum(stack.road_dist_m, sec.arterial_dist_m)
        excluded = suit.excluded | sec.constraints
        allowed = the_plan.expansion_area | base if sec.confined else None
        return sec, arterial, road, excluded, allowed

    e0 = sc.plan.enforcement
    if e0 > 0:
        sec, arterial, road_planned, planned_excluded, allowed = inputs(e0)
        log.info("growth: %d Monte-Carlo runs, planned, enforcement %g", sc.growth.runs, e0)
        planned = start_simulation(stack, model, planned_excluded, new_cells, years, seed=sc.growth.seed,
                                   runs=sc.growth.runs, base_builtup=base, arterial_dist_m=arterial,
                                   road_dist_m=road_planned, allowed=allowed, noise=sc.growth.noise)()
        del arterial, allowed
    else:  # nothing secured: business as usual
        sec, road_planned, planned_excluded = secure(the_plan, 0.0, stack.valid), None, suit.excluded
        planned = bau
    planned = spill(planned)
    timer.mark("growth_planned")

    new_residents = max(0.0, rows[-1].population - rows[0].population)
    hazard = spill(risk.hazard_score(stack, sc.suitability.max_slope_pct))

    def scored(policy: str, probability, excluded, road):
        r = risk.risk_for_policy(stack, policy, probability, excluded, base, sc.risk, road_dist_m=road,
                                 hazard=hazard)
        s = risk.risk_summary(r, probability, base, stack.valid, grid.cell_area_ha, new_residents,
                              demanded_cells=sum(new_cells))
        return r, s

    risk_bau, sum_bau = scored("business as usual", bau.probability, suit.excluded, None)
    risk_planned, sum_planned = scored("planned", planned.probability, planned_excluded, road_planned)
    risks = {"bau": spill(risk_bau), "planned": spill(risk_planned)}
    by_enforcement = []
    for e in ENFORCEMENT_LEVELS:
        if e == 0:
            s = sum_bau
        elif e == e0:
            s = sum_planned
        else:  # the risk needs the probability only: no Monte-Carlo runs for the other levels
            _, arterial, road, excluded, allowed = inputs(e)
            p = growth.probability_by_horizon(model, stack, base, excluded, sum(new_cells), arterial, road,
                                              allowed=allowed)
            s = scored("planned", p, excluded, road)[1]
            del arterial, road, excluded, allowed, p
        by_enforcement.append({"enforcement": e, "high_risk_people": s["high_risk_people"],
                               "high_risk_ha": s["high_risk_ha"], "max_score": s["max_score"]})
    summary = {"bau": sum_bau, "planned": sum_planned, "by_enforcement": by_enforcement,
               "new_residents": new_residents, "assessed": assessed(sc, stack),
               "residents_on_hazard_land": risk.residents_on_hazard_land(stack, hazard)}
    spots = []
    for key, result in (("bau", bau), ("planned", planned)):
        spot = risk.hotspots(risks[key], result.probability, stack, summary[key]["people_per_ha"])
        # risk not assessed: no polygon in plan.gpkg claims people at risk (the maps draw none either)
        spots.append(spot if summary["assessed"]["high_risk"] else spot.iloc[:0])
    timer.mark("risk")
    unmet = demand_mod.unmet_demand(planned.demanded_cells, planned.allocated_cells, years, grid.cell_area_ha)
    short = {"planned_ha": unmet["ha"], "planned_year_full": unmet["year_full"]} if unmet["year_full"] else {}
    warnings = _warnings(sc, stack, the_plan, sec)
    if short:
        warnings.append(f"with the plan too the study area fills by about {unmet['year_full']}: "
                        f"{unmet['ha']:,.0f} ha of the new land needed by {sc.horizon_year} do not fit in it "
                        "(unmet demand); enlarge the study area or plan for higher density")
    return PlannedOutcome(the_plan, sec, planned, planned_excluded, risks, summary, spots, warnings, short)


def assessed(sc: Scenario, stack: Stack) -> dict:
    """``risk.assessed`` of summary.json: which terms of the score had data (``hazard``,
    ``unserviced``, ``pressure``: bools), the ``weights`` used where all of them had, and
    ``high_risk``: False when neither hazard nor unserviced could be assessed, so that the
    high-risk figures measure growth pressure alone (where growth crowds), not risk;
    ``share_of_study_area``: where one of them could (without hazard data, the roads' cover)."""
    return {"hazard": risk.hazard_assessed(stack), "unserviced": bool(stack.has_roads), "pressure": True,
            "high_risk": risk.risk_assessed(stack), "share_of_study_area": risk.assessed_share(stack),
            "weights": risk.weights_for(sc.risk, stack.has_roads, risk.hazard_assessed(stack))}


def _warnings(sc: Scenario, stack: Stack, the_plan: plan.Plan, sec: Secured) -> list[str]:
    """Plain-language caveats of the plan and the risk figures, for summary.json."""
    out = list(the_plan.notes)
    hazard, roads = risk.hazard_assessed(stack), stack.has_roads
    if not hazard and not roads:
        out.append("informal-settlement risk not assessed: with no DEM, no water or flood layer and no roads "
                   "layer, flood-prone, steep and unserviced land cannot be mapped, so the risk map shows "
                   "only where unplanned growth will crowd and no count of people at risk is given; add a "
                   "DEM, a water or flood layer, or a roads layer to the catalog and rerun")
    elif not hazard:
        share = risk.roads_share(stack)
        beyond = (f"; beyond the roads layer's cover ({1 - share:.0%} of the study area) risk is not "
                  "assessed and left blank" if share < 1 else "")
        out.append("no DEM and no water or flood layer: flood-prone and steep land cannot be mapped, so the "
                   "risk map and the people at high risk count only land far from roads and where growth "
                   f"crowds{beyond}, and the share of growth on hazard land is not known (not 0); add a DEM "
                   "or a water layer and rerun")
    elif roads and (share := risk.roads_share(stack)) < 1:  # no roads at all: suitability's caveat says it
        out.append(f"the roads layer covers {share:.0%} of the study area: beyond it the risk map cannot "
                   "tell which land is far from roads, and counts only flood-prone or steep land and "
                   "where growth crowds; a roads layer covering the whole study area would complete it")
    if sec.enforcement < 1:
        out.append(f"the scenario assumes the plan is only {sec.enforcement:.0%} enforced: "
                   f"{sec.row_share:.0%} of the planned rights-of-way and {sec.open_space_share:.0%} of the "
                   "open space are secured, the rest may be built over, and growth may spill past the "
                   "expansion area")
    if stack.population is None and hazard:
        out.append("no population layer: the risk map cannot count the people already living on flood-prone "
                   "or steep land; add a population raster (e.g. WorldPop) to count them")
    return out
