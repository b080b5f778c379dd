"""Sections of index.html drawn from the optional parts of ``summary.json``.

Each function takes the summary dict and returns HTML, or '' when the run did
not write that part (so a page from an older run shows nothing rather than
a wrong table). Shapes follow DESIGN.md section 5 and the team's interfaces:

- ``plan.phases``: ``[{"year", "arterial_km", "row_ha", "open_space_ha"}, ...]``;
- ``risk.by_enforcement``: ``[{"enforcement", "high_risk_people", "high_risk_ha"}, ...]``;
- ``migration``: ``{"share_of_growth", "persons", "land_ha"}``;
- ``density``: ``{"annual_change", "source", "observed", "reference": {"scope", "median", "q1", "q3", "n",
  "source"}, "plan_for"}``;
- ``land_need_ha_range``: ``[low, central, high]``;
- ``unmet_demand``: ``{"ha", "year_full"}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ...demand import migration_text
from ...risk import HIGH_RISK as HIGH_RISK_SCORE
from .assumptions import pct_text
from .html_page import POLICIES, esc, fmt, num, risk_assessed, risk_value


def _table(head: Sequence[str], rows: Sequence[Sequence[str | None]], better: str, cls: str = "") -> str:
    """An HTML table with a caption line saying which way is better."""
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = "\n".join("<tr>" + "".join(f"<td>{esc(c) if c is not None else '&ndash;'}</td>" for c in r)
                     + "</tr>" for r in rows)
    attr = f' class="{cls}"' if cls else ""
    return (f'<div class="scroll"><table{attr}>\n<caption>{esc(better)}</caption>\n'
            f"<thead><tr>{th}</tr></thead>\n<tbody>\n{body}\n</tbody></table></div>")


def _list(value: Any) -> list[Mapping]:
    return [r for r in value if isinstance(r, Mapping)] if isinstance(value, list | tuple) else []


def phases(summary: Mapping) -> list[Mapping]:
    plan = summary.get("plan")
    return _list(plan.get("phases")) if isinstance(plan, Mapping) else []


def overdue(year: Any, run_year: int | None) -> bool:
    """A deadline already past on the run date (a base year years before the run)."""
    y = num(year)
    return run_year is not None and y is not None and y < run_year


def phases_html(summary: Mapping, run_year: int | None = None) -> str:
    """The table "secure these rights-of-way by this year" (from ``plan.phases``); a deadline
    before ``run_year`` (the year of the run) is marked "overdue: secure now"."""
    rows, total, late = [], 0.0, False
    for p in phases(summary):
        km = num(p.get("arterial_km")) or 0.0
        total += km
        due = overdue(p.get("year"), run_year)
        late = late or due
        rows.append([str(p.get("year", "")) + (" (overdue: secure now)" if due else ""), fmt(km, "km"),
                     fmt(total, "km"), fmt(p.get("row_ha")), fmt(p.get("open_space_ha"))])
    if not rows:
        return ""
    note = (f" Years before {run_year}, the year of this run, are already past: those rights-of-way are "
            "overdue and should be secured now, before more of the land is built." if late else "")
    return ("<h2>Secure these rights-of-way by this year</h2>\n"
            "<p>Each year is when growth, if nothing is done, is expected to reach those arterials: secure "
            "their rights-of-way and open space before it, while the land is still open and cheap."
            f"{note}</p>\n"
            + _table(["by", "arterials (km)", "arterials so far (km)", "rights-of-way (ha)",
                      "open space (ha)"], rows,
                     "Amounts to secure in each period (neither higher nor lower is better).", "phases"))


def _levels(summary: Mapping) -> list[Mapping]:
    """``risk.by_enforcement`` in order of enforcement."""
    risk = summary.get("risk")
    levels = _list(risk.get("by_enforcement")) if isinstance(risk, Mapping) else []
    return sorted(levels, key=lambda r: num(r.get("enforcement")) or 0.0)


def displacement_sentence(levels: Sequence[Mapping]) -> str:
    """One sentence when securing more of the plan leaves more people at high risk than securing less
    (the secured land pushes growth onto the land left, some of it high-risk); '' otherwise."""
    for i, low in enumerate(levels):
        for high in levels[i + 1:]:
            a, b = num(low.get("high_risk_people")), num(high.get("high_risk_people"))
            if a is not None and b is not None and b > a + max(1.0, 0.01 * a):
                more, less = (pct_text(num(r.get("enforcement")), 0) for r in (high, low))
                return (f"Securing {more} of the plan leaves more people at high risk ({fmt(b)}) than "
                        f"securing {less} ({fmt(a)}): the land it holds back pushes growth onto the land "
                        "that is left, some of it high-risk.")
    return ""


def no_high_risk_sentence(summary: Mapping) -> str:
    """When no land reaches high risk under either policy: say so, with the highest score
    ('' when some land does, when risk was not assessed, or for runs without ``max_score``)."""
    if not risk_assessed(summary):
        return ""
    entries = [risk_value(summary, key, "high_risk_ha") for key, _ in POLICIES]
    tops = [num(risk_value(summary, key, "max_score")) for key, _ in POLICIES]
    if any(num(v) is None or num(v) > 0 for v in entries) or any(t is None for t in tops):
        return ""
    highest = " and ".join(f"{t:.2f} {label}" for t, (_, label) in zip(tops, POLICIES))
    return (f"No land reaches high risk (a risk score of {HIGH_RISK_SCORE:g} or more out of 1), so no one is "
            f"counted at high risk; the highest score is {highest}.")


def enforcement_html(summary: Mapping) -> str:
    """People and hectares at high risk for several enforcement levels (from ``risk.by_enforcement``);
    one sentence saying it is not assessed when the run had neither hazard data nor roads."""
    levels = _levels(summary)
    if not levels:
        return ""
    if not risk_assessed(summary):  # a table of "not assessed" rows says less than one sentence
        return ("<h2>What enforcing the plan buys</h2>\n"
                "<p>Not assessed for this run: without a DEM, a water or flood layer or a roads layer the "
                "model cannot tell hazardous or unserviced land, only where growth crowds, so it cannot say "
                "how many people securing more of the plan would keep off high-risk land.</p>")
    plan = summary.get("plan")
    chosen = num(plan.get("enforcement")) if isinstance(plan, Mapping) else None
    scores = all(num(r.get("max_score")) is not None for r in levels)
    rows = []
    for r in levels:
        e = num(r.get("enforcement"))
        label = pct_text(e, 0) if e is not None else None
        if label is not None and chosen is not None and abs(e - chosen) < 1e-9:
            label += " (this scenario)"
        row = [label, fmt(r.get("high_risk_people")), fmt(r.get("high_risk_ha"))]
        if scores:
            row.append(f"{num(r.get('max_score')):.2f}")
        rows.append(row)
    head = ["share of the plan secured", "people at high risk", "hectares at high risk"]
    if scores:
        head.append(f"highest risk score (high from {HIGH_RISK_SCORE:g})")
    said = " ".join(t for t in (displacement_sentence(levels), no_high_risk_sentence(summary)) if t)
    return ("<h2>What enforcing the plan buys</h2>\n"
            "<p>The share of the proposed rights-of-way and open space that is actually secured changes how "
            "many people are likely to settle informally on high-risk land.</p>\n"
            + _table(head, rows, "Lower is better.", "enforcement")
            + (f"\n<p>{esc(said)}</p>" if said else ""))


def migration_sentence(summary: Mapping) -> str:
    """How much of the growth migration brings ('' when the run did not split it)."""
    mig = summary.get("migration")
    if not isinstance(mig, Mapping) or num(mig.get("persons")) is None:
        return ""
    fields = {k: num(mig.get(k)) for k in ("persons", "share_of_growth", "land_ha", "natural_change")}
    fields["year"] = mig.get("year", summary.get("horizon_year"))
    return migration_text(fields)


def density_sentence(summary: Mapping) -> str:
    """The density path against the reference of comparable cities ('' when absent)."""
    dens = summary.get("density")
    if not isinstance(dens, Mapping):
        return ""
    change = num(dens.get("annual_change"))
    parts = []
    if change is not None:
        source = {"observed": "observed in this city",
                  "reference": "the median of comparable cities: this city's own trend could not be measured",
                  }.get(dens.get("source"), "given in the scenario")
        parts.append(f"Density is assumed to change by {'+' if change > 0 else ''}{pct_text(change)} a year "
                     f"({source})")
    ref = dens.get("reference")
    caveat = ""
    if isinstance(ref, Mapping) and num(ref.get("median")) is not None:
        scope = str(ref.get("scope", ""))
        scope = {"Africa": "African secondary cities", "ETH": "Ethiopian secondary cities"}.get(
            scope, f"secondary cities of {scope}")
        spread = ""
        if num(ref.get("q1")) is not None and num(ref.get("q3")) is not None:
            spread = f", half of them between {pct_text(ref['q1'])} and {pct_text(ref['q3'])}"
        n = (f" ({fmt(ref.get('n'))} cities, 2000-2020; GHSL and Africapolis)"
             if num(ref.get("n")) is not None else "")
        parts.append(f"{scope} changed by {pct_text(ref['median'])} a year in the median{spread}{n}")
        if ref.get("city_in_africa") is False:
            where = f"this city is in {ref['city_country']}" if ref.get("city_country") else \
                "this city's country is not given"
            caveat = (" The reference is African secondary cities and may not fit here: "
                      f"{where}, so read it as a rough guide only.")
    if not parts:
        return ""
    text = "; ".join(parts) + "."
    if dens.get("plan_for") == "high":
        text += " The land to secure is sized for the high end of the land need."
    return text + caveat


def land_range_sentence(summary: Mapping) -> str:
    """The land need at the horizon as low / central / high ('' when absent)."""
    rng = summary.get("land_need_ha_range")
    if not isinstance(rng, list | tuple) or len(rng) != 3 or any(num(v) is None for v in rng):
        return ""
    low, mid, high = (fmt(v) for v in rng)
    horizon = summary.get("horizon_year")
    by = f" by {horizon}" if horizon is not None else ""
    text = (f"The city will need between {low} and {high} hectares of built-up land{by} ({mid} in this "
            "scenario), depending on how its density changes.")
    new = summary.get("new_land_ha_range")
    if isinstance(new, list | tuple) and len(new) == 3 and all(num(v) is not None for v in new):
        text += (f" The expansion area is sized for the high end: {fmt(new[2])} hectares of new land "
                 f"instead of the {fmt(new[1])} of this scenario's central estimate.")
    return text


def unmet_sentence(summary: Mapping) -> str:
    """Demand the study area cannot hold ('' when all of it is met or unknown)."""
    unmet = summary.get("unmet_demand")
    if not isinstance(unmet, Mapping):
        return ""
    ha = num(unmet.get("ha"))
    if ha is None or ha <= 0:
        return ""
    year = unmet.get("year_full")
    when = f"The study area is full by {year}: " if year is not None else ""
    return (f"{when}{fmt(ha)} hectares of the land needed do not fit in it and are not shown on the maps; "
            "extend the study area or plan for higher density.")


#: Open space kinds (``plan.open_space_by_kind_ha``) in plain words, in the order to protect them.
OPEN_SPACE_WORDS = (("floodplain", "floodplains"), ("steep_slope", "steep slopes"),
                    ("protected", "protected land"), ("park", "parks"))


def _open_space_kinds(summary: Mapping) -> str:
    """', floodplains first' when the plan protects floodplains, else ': the kinds it protects'
    ('' when the run does not say)."""
    plan = summary.get("plan")
    by_kind = plan.get("open_space_by_kind_ha") if isinstance(plan, Mapping) else None
    if not isinstance(by_kind, Mapping):
        return ""
    kinds = [words for kind, words in OPEN_SPACE_WORDS if (num(by_kind.get(kind)) or 0) > 0]
    if not kinds:
        return ""
    if kinds[0] == "floodplains":
        return ", floodplains first"
    return ": " + (" and ".join(kinds) if len(kinds) < 3 else ", ".join(kinds[:-1]) + " and " + kinds[-1])


def next_steps(summary: Mapping, run_year: int | None = None) -> list[str]:
    """What to do first, from the run's own figures (``run_year``: the year of the run, to tell
    deadlines already past)."""
    steps = []
    ph = phases(summary)
    if ph:
        first = ph[0]
        km = fmt(first.get("arterial_km"), "km")
        if overdue(first.get("year"), run_year):
            steps.append(f"Secure now the rights-of-way of the first {km} km of arterials: they were due by "
                         f"{first.get('year')}, already past (see the table of phases).")
        else:
            steps.append(f"Secure the rights-of-way of the first {km} km of arterials by {first.get('year')} "
                         "(see the table of phases).")
    elif num(summary.get("arterials_planned_km")) is not None:
        steps.append(f"Secure the rights-of-way of the {fmt(summary['arterials_planned_km'], 'km')} km of "
                     "proposed arterials, nearest to the city first.")
    if num(summary.get("open_space_ha")):
        steps.append(f"Protect the {fmt(summary['open_space_ha'])} hectares of public open space"
                     f"{_open_space_kinds(summary)}.")
    high_ha = num(risk_value(summary, "bau", "high_risk_ha"))
    if not risk_assessed(summary):
        steps.append("Add a DEM, a water or flood layer, or a roads layer and rerun: without them the risk "
                     "of informal settlement cannot be assessed.")
    elif high_ha:
        steps.append(f"Serve or guard the {fmt(high_ha)} hectares where informal settlement is "
                     "most likely (risk map) before growth reaches them.")
    if unmet_sentence(summary):
        steps.append("Decide where the demand that does not fit will go: a larger study area or higher "
                     "density.")
    steps.append("Check the caveats above with the people who know the data, then rerun with the corrected "
                 "layers before this proposal goes to council.")
    return steps
