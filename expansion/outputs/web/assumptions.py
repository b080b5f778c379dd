"""What a run assumed, where its data came from, how far its model can be trusted, and its caveats.

Pure functions from a run's ``summary.json`` (a dict), its scenario parameters
(the ``parameters`` of ``run.json``: ``dataclasses.asdict`` of the scenario) and
its provenance (see :func:`run_provenance`) to plain-language text and HTML.
Every page that shows a run (index.html, the maps, the comparison) takes its
wording from here, so a figure is said one way everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .html_page import esc, fmt, num, risk_assessed

# ---------------------------------------------------------------- plain numbers


def pct_text(rate: Any, digits: int = 1) -> str | None:
    """A yearly rate (0.022) as "2.2 %"; None when missing."""
    v = num(rate)
    if v is None:
        return None
    text = f"{v * 100:.{digits}f}".rstrip("0").rstrip(".") if digits else f"{v * 100:.0f}"
    return f"{text} %"


def distance_text(metres: Any) -> str | None:
    """1000 -> "1 km", 1500 -> "1.5 km", 800 -> "800 m"; None when missing."""
    v = num(metres)
    if v is None:
        return None
    if v >= 1000:
        return f"{v / 1000:,.1f}".rstrip("0").rstrip(".") + " km"
    return f"{v:,.0f} m"


def _section(parameters: Mapping | None, key: str) -> Mapping:
    value = parameters.get(key) if isinstance(parameters, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def horizon_years(summary: Mapping, parameters: Mapping | None = None) -> tuple[Any, Any]:
    """(base year, horizon year) from the summary, else from the scenario."""
    p = parameters if isinstance(parameters, Mapping) else {}
    return (summary.get("base_year", p.get("base_year")), summary.get("horizon_year", p.get("horizon_year")))


def arterial_text(parameters: Mapping | None) -> str:
    """" (30 m rights-of-way, about 1 km apart)" from the scenario's plan; '' when unknown."""
    plan = _section(parameters, "plan")
    width, spacing = num(plan.get("arterial_width_m")), distance_text(plan.get("arterial_spacing_m"))
    bits = []
    if width is not None:
        bits.append(f"{width:g} m rights-of-way")
    if spacing is not None:
        bits.append(f"about {spacing} apart")
    return f" ({', '.join(bits)})" if bits else ""


# ---------------------------------------------------------------- assumptions

#: Plain labels of the ``assumptions`` keys written into summary.json (others are shown by their key).
ASSUMPTION_LABELS = {
    "population": "Population at the start",
    "natural_growth": "Natural growth (births less deaths)",
    "migration": "Net migration into the city",
    "shocks": "Sudden arrivals or departures",
    "density": "Density of new and existing neighbourhoods",
    "infill": "Growth inside today's city",
    "infill_share": "Share of new land needs met inside today's city",
    "density_range": "Range of densities considered",
    "period": "Period",
    "plan": "The proposed plan",
    "enforcement": "Share of the plan actually secured",
    "growth_model": "Where growth goes",
}


def _shock_text(shock: Any) -> str:
    if not isinstance(shock, Mapping):
        return str(shock)
    persons, year, over = num(shock.get("persons")), shock.get("year"), num(shock.get("over_years"))
    if persons is None:
        return ", ".join(f"{k}: {v}" for k, v in shock.items())
    what = f"{fmt(abs(persons))} people {'arriving' if persons >= 0 else 'leaving'}"
    when = f" from {year}" if year is not None else ""
    spread = f" over {over:g} years" if over is not None and over > 1 else ""
    return what + when + spread


def _value_text(value: Any, key: str = "") -> str:
    """A value of summary.json's ``assumptions`` in words; rates and shares (named so in
    their key, at most 1) as percentages."""
    v = num(value)
    if v is not None and abs(v) <= 1 and any(w in key for w in ("growth", "rate", "change", "share")):
        yearly = any(w in key for w in ("growth", "rate", "change"))
        return (pct_text(v) or "") + (" a year" if yearly else "")
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "; ".join(f"{str(k).replace('_', ' ')}: {_value_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_shock_text(v) for v in value) if value else "none"
    v = num(value)
    if v is None:
        return "not given" if value is None else str(value)
    return fmt(v, "dec") if abs(v) < 100 and not float(v).is_integer() else fmt(v)


def _migration_text(pop: Mapping) -> str:
    mig = pop.get("net_migration")
    if isinstance(mig, Mapping) and mig:
        items = sorted(mig.items(), key=lambda kv: str(kv[0]))
        first, last = items[0], items[-1]
        return (f"a year-by-year table: {fmt(first[1])} a year in {first[0]} to {fmt(last[1])} a year in "
                f"{last[0]}")
    v = num(mig)
    if v is None:
        return "not given"
    if v == 0:
        return "none"
    return f"{fmt(abs(v))} people a year {'arriving' if v > 0 else 'leaving'}"


def _density_text(dens: Mapping, summary: Mapping) -> str:
    base = dens.get("base")
    d0 = num(summary.get("density_base_pph"))
    if isinstance(base, str) or base is None:
        start = "today's observed density" + (f" ({fmt(d0, 'dec')} people per hectare)" if d0 else "")
    else:
        start = f"{fmt(base, 'dec')} people per hectare (given in the scenario)"
    change = num(dens.get("annual_change"))
    if change is None or change == 0:
        path = ", held constant"
    else:
        path = f", {'falling' if change < 0 else 'rising'} {pct_text(abs(change))} a year"
    d1 = num(summary.get("density_horizon_pph"))
    end = f" (to {fmt(d1, 'dec')} at the horizon)" if d1 and change else ""
    return start + path + end


def assumption_rows(summary: Mapping, parameters: Mapping | None = None) -> list[tuple[str, str]]:
    """The scenario's inputs in plain words, as (label, text) rows.

    From ``summary["assumptions"]`` when the run wrote it, else from the
    scenario parameters (``run.json``'s ``parameters``); empty when neither.
    """
    given = summary.get("assumptions")
    if isinstance(given, Mapping) and given:
        return [(ASSUMPTION_LABELS.get(str(k), str(k).replace("_", " ").capitalize()), _value_text(v, str(k)))
                for k, v in given.items()]
    if not isinstance(parameters, Mapping) or not parameters:
        return []
    rows: list[tuple[str, str]] = []
    base, horizon = horizon_years(summary, parameters)
    step = parameters.get("step_years")
    if base is not None and horizon is not None:
        rows.append(("Period", f"{base} to {horizon}" + (f", in steps of {step} years" if step else "")))
    pop = _section(parameters, "population")
    if pop:
        p0 = fmt(pop.get("base"))
        if isinstance(pop.get("table"), Mapping) and pop["table"]:
            rows.append(("Population", "a year-by-year table given in the scenario"))
        elif p0:
            rows.append(("Population at the start", f"{p0} people in {base}" if base is not None else p0))
        if num(pop.get("natural_growth")) is not None:
            rows.append(("Natural growth (births less deaths)", f"{pct_text(pop['natural_growth'])} a year"))
        elif num(pop.get("growth_rate")) is not None:
            rows.append(("Population growth (all causes)", f"{pct_text(pop['growth_rate'])} a year"))
        if "net_migration" in pop and num(pop.get("growth_rate")) is None:
            rows.append(("Net migration into the city", _migration_text(pop)))
        if pop.get("shocks"):
            rows.append(("Sudden arrivals or departures", _value_text(list(pop["shocks"]))))
    dens = _section(parameters, "density")
    if dens:
        rows.append(("Density", _density_text(dens, summary)))
        infill = num(dens.get("infill_share"))
        if infill:
            rows.append(("Growth inside today's city", f"{pct_text(infill, 0)} of new land needs"))
    plan = _section(parameters, "plan")
    if plan:
        room = num(plan.get("generosity"))
        text = "arterial roads" + arterial_text(parameters)
        if room is not None:
            text += f"; an expansion area {room:g} times the new land needed"
        rows.append(("The proposed plan", text))
        enforcement = num(plan.get("enforcement"))
        if enforcement is not None:
            rows.append(("Share of the plan actually secured", pct_text(enforcement, 0) or ""))
    runs = num(_section(parameters, "growth").get("runs"))
    if runs:
        rows.append(("Where growth goes", f"learned from past growth; {runs:g} simulations, averaged"))
    return rows


# ---------------------------------------------------------------- model skill


def skill_sentence(summary: Mapping) -> str:
    """One plain sentence on how well the growth model placed past growth it was not tuned on."""
    growth = summary.get("growth")
    val = growth.get("validation") if isinstance(growth, Mapping) else None
    if not isinstance(val, Mapping) or num(val.get("fom")) is None:
        return ("The growth model could not be checked against past growth it was not fitted on (the layers "
                "give no earlier period to test on), so where the maps place growth is indicative only.")
    window = val.get("window") or []
    period = f"{window[0]}-{window[1]}" if len(window) == 2 else "an earlier period"
    fom, null = num(val.get("fom")), num(val.get("null_nearest_fom"))
    text = (f"Tested on the growth of {period}, which it was not fitted on, the model scored a figure of "
            f"merit of {fom * 100:.0f} % (of the land it predicted or that was built, the share both "
            "predicted and built; higher is better)")
    if null is not None:
        verdict = "better than" if fom > null * 1.05 else "no better than"
        text += (f", {verdict} the simple rule of growing next to the existing city ({null * 100:.0f} %)")
    text += "."
    if null is not None and fom <= null * 1.05:
        text += " Where the maps place growth is indicative only."
    return text


# ---------------------------------------------------------------- caveats

#: Words (regular expressions, from a word's start) that tie a warning to the map it concerns
#: (besides index.html, where all are shown).
PAGE_TOPICS = {
    "suitability.html": (r"dem\b", "elevation", "slope", "terrain", "flood", "water layer", "protected",
                         "suitab", "factor", "buildable"),
    "risk.html": (r"dem\b", "elevation", "slope", "flood", "water layer", "risk", "hazard",
                  "no population layer", "growth model", "coefficient", "enforce", "assessed"),
    "expansion.html": ("arterial", "expansion area", "growth", "coefficient", "unmet", "study area",
                       "open land", "density", "open space", "enforce", "buildable"),
}
#: A warning that names one map concerns that map only.
PAGE_ONLY = {"risk map": "risk.html", "suitability map": "suitability.html"}

#: What the pages say instead of a figure the run could not assess (``risk.assessed`` term -> False).
NOT_ASSESSED = {"hazard": "not assessed: no DEM or water layer"}


def not_assessed(summary: Mapping) -> list[str]:
    """The risk terms the run could not assess (``summary["risk"]["assessed"]``: term -> bool)."""
    risk = summary.get("risk")
    assessed = risk.get("assessed") if isinstance(risk, Mapping) else None
    terms = ("hazard", "unserviced", "pressure")
    return [k for k in terms if assessed.get(k) is False] if isinstance(assessed, Mapping) else []


def not_assessed_caveat(summary: Mapping) -> str:
    """The risk pages' caveat when flood-prone and steep land, or risk at all (neither hazard
    nor roads), could not be assessed ('' when it was)."""
    if not risk_assessed(summary):
        return ("Risk not assessed: the layers have no DEM, no water or flood layer and no roads layer, so "
                "this map shows only where unplanned growth will crowd, not where it is at risk (add one of "
                "them and rerun).")
    if "hazard" not in not_assessed(summary):
        return ""
    return ("Flood-prone and steep land not assessed: the layers have no DEM or water layer, so the risk "
            "shown comes only from growth pressure and distance to roads; the real risk may be higher "
            "(add a DEM and a water layer and rerun).")


def warnings_of(summary: Mapping) -> list[str]:
    """The run's warnings (``summary["warnings"]``), each once, in order."""
    raw = summary.get("warnings")
    seen: list[str] = []
    for w in raw if isinstance(raw, list | tuple) else []:
        text = str(w).strip()
        if text and text not in seen:
            seen.append(text)
    return seen


def warnings_for(page: str, warnings: Iterable[str]) -> list[str]:
    """The warnings that concern a map page (by its file name), by the words they use."""
    topics = PAGE_TOPICS.get(page, ())
    out = []
    for w in warnings:
        low = w.lower()
        only = [p for phrase, p in PAGE_ONLY.items() if phrase in low]
        if (page in only if only else any(re.search(r"\b" + t, low) for t in topics)) \
                and w not in out:
            out.append(w)
    return out


def caveats_html(summary: Mapping) -> str:
    """Every warning of the run and the model-skill sentence, as an HTML list."""
    items = [esc(w) for w in warnings_of(summary)]
    items.append(esc(skill_sentence(summary)))
    return '<ul class="caveats">\n' + "\n".join(f"<li>{i}</li>" for i in items) + "\n</ul>"


# ---------------------------------------------------------------- provenance

ROLE_NAMES = {"builtup": "built-up land", "dem": "terrain (elevation)", "roads": "roads", "water": "water",
              "protected": "protected land", "boundary": "study area boundary", "flood": "flood zones",
              "population": "population", "places": "place names"}


def source_rows(sources: Sequence[Mapping]) -> list[tuple[str, str]]:
    """(data, file names and years) rows from ``[{"role", "file", "year"}, ...]``, one row per role."""
    by_role: dict[str, list[str]] = {}
    for s in sources:
        role = str(s.get("role", "other"))
        year = s.get("year")
        # the file's name: the catalog's relative path ("../../../shared/data/...") means nothing on a
        # page an official reads; run.json beside it keeps the paths and checksums
        name = re.split(r"[\\/]", str(s.get("file", "")))[-1]
        text = name + (f" ({year})" if year is not None else "")
        by_role.setdefault(role, []).append(text)
    return [(ROLE_NAMES.get(role, role), ", ".join(files)) for role, files in by_role.items()]


def provenance_html(provenance: Mapping | None, summary: Mapping) -> str:
    """Data sources and years, run date and version, and the model's skill, as HTML."""
    prov = provenance if isinstance(provenance, Mapping) else {}
    parts = []
    rows = source_rows(prov.get("sources") or [])
    if rows:
        body = "\n".join(f"<tr><td>{esc(a)}</td><td>{esc(b)}</td></tr>" for a, b in rows)
        parts.append('<table class="sources">\n<thead><tr><th>data</th><th>file (year)</th></tr></thead>\n'
                     f"<tbody>\n{body}\n</tbody></table>")
    facts = []
    if prov.get("run_date"):
        facts.append(f"Run on {esc(prov['run_date'])}")
    if prov.get("version"):
        facts.append(f"with expansion {esc(prov['version'])}")
    if prov.get("catalog"):
        facts.append(f"from the layers catalog {esc(prov['catalog'])}")
    if facts:
        parts.append(f'<p class="note">{" ".join(facts)}. The inputs, their checksums and every parameter '
                     "are in run.json beside this page.</p>")
    parts.append(f"<p>{esc(skill_sentence(summary))}</p>")
    return "\n".join(parts)
