"""The summary page and the comparison of runs."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from expansion.outputs.web import compare, html_page, index

NASTY = '<script>alert(1)</script> & "Ñandú"'
NASTY_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Ñandú&quot;"


@dataclass
class Row:  # the pipeline's demand rows are objects with attributes
    year: int
    population: float
    density_pph: float
    land_need_ha: float
    new_land_ha: float


def demand_rows() -> list[Row]:
    rows, pop, prev = [], 350_000.0, None
    for year in range(2020, 2051, 5):
        density = 80 * 0.99 ** (year - 2020)
        need = pop / density
        rows.append(Row(year, pop, density, need, 0.0 if prev is None else need - prev))
        prev, pop = need, pop * 1.022**5 + 30_000
    return rows


@pytest.fixture
def summary() -> dict:
    rows = demand_rows()
    return {
        "city": NASTY, "scenario": "medium " + NASTY, "synthetic": True,
        "base_year": 2020, "horizon_year": 2050,
        "population_base": rows[0].population, "population_horizon": rows[-1].population,
        "land_need_ha": rows[-1].land_need_ha, "new_land_ha": sum(r.new_land_ha for r in rows),
        "expansion_area_ha": 21_000.4, "arterials_planned_km": 183.26, "open_space_ha": 2400.0,
        "risk": {"bau": {"high_risk_ha": 812.0, "high_risk_people": 52_340.2, "hazard_share": 0.234},
                 "planned": {"high_risk_ha": 95.0, "high_risk_people": 6_100.0, "hazard_share": 0.05}},
        "metrics": {"anything": 1},
    }


LINKS = [("Land suitability", "suitability.html"), ("Risk " + NASTY, "risk map.html"),
         ("evil", "javascript:alert(1)")]


def test_index_page_states_the_numbers(summary):
    page = index.index_page(summary, demand_rows(), LINKS, summary["city"], True)
    for text in ("912,719", "15,424", "21,000", "183.3", "2,400", "52,340", "6,100", "812", "23 %",
                 "by 2050", "from 350,000 in 2020"):
        assert text in page, text
    assert "SYNTHETIC DATA" in page
    assert html_page.NOT_COMPUTED not in page
    # the demand table: one row per step
    demand = page.split("People and land, step by step")[1]
    assert demand.count("<tr>") == 1 + 7
    # two inline SVG charts, with one point per step each
    assert page.count("<svg") == 2 and page.count("<circle") == 14


def test_missing_keys_show_a_gap_not_a_crash(summary):
    partial = {k: v for k, v in summary.items() if k not in ("risk", "arterials_planned_km", "open_space_ha")}
    page = index.index_page(partial, demand_rows(), LINKS, "City", False)
    assert page.count(html_page.NOT_COMPUTED) == 2 + 6  # km, open space, 3 risk facts x 2 policies
    assert "SYNTHETIC DATA" not in page
    empty = index.index_page({}, [], [], "City", False)
    assert html_page.NOT_COMPUTED in empty and "<svg" not in empty
    odd_summary = {"risk": {"bau": None}, "population_horizon": "n/a", "land_need_ha": float("nan")}
    odd = index.index_page(odd_summary, [{"year": 2020}], [], "City", False)
    assert odd.count(html_page.NOT_COMPUTED) >= 10


def test_index_page_escapes_everything(summary):
    page = index.index_page(summary, demand_rows(), LINKS, summary["city"], True)
    assert "<script" not in page
    assert NASTY_ESCAPED in page
    assert 'href="javascript:' not in page
    assert 'href="risk%20map.html"' in page
    assert not re.search(r"<(script|link|img|iframe)\b", page)  # nothing to fetch or run (no images given)
    assert not re.search(r"(src|href)=\"(https?:)?//", page)


def test_index_page_is_deterministic(summary):
    a = index.index_page(summary, demand_rows(), LINKS, "City", True)
    b = index.index_page(dict(summary), demand_rows(), list(LINKS), "City", True)
    assert a == b


def test_dict_rows_work_like_objects(summary):
    rows = demand_rows()
    as_dicts = [r.__dict__ for r in rows]
    assert index.demand_table(as_dicts) == index.demand_table(rows)


def test_compare_table_and_page(summary):
    other = {"scenario": "high migration", "city": "Demo", "population_horizon": 1_200_000,
             "risk": {"bau": {"high_risk_people": 80_000}}}
    runs = [{"summary": summary, "demand": demand_rows()}, other]
    text = compare.compare_table(runs)
    lines = text.splitlines()
    assert len(lines) == 4 and lines[0].startswith("scenario")
    assert "1,200,000" in lines[3] and "80,000" in lines[3] and lines[3].rstrip().endswith("-")
    assert "52,340" in lines[2] and "6,100" in lines[2]
    # the terminal says it as the pages do: "if nothing is done" / "with the plan", never "no plan"
    assert "people at high risk, if nothing is done" in lines[0] and "with the plan" in lines[0]
    assert "no plan" not in text and "with plan" not in text
    page = compare.compare_page(runs)
    assert "<script" not in page and NASTY_ESCAPED in page
    assert "1,200,000" in page and "&ndash;" in page and "A dash means" in page
    full = compare.compare_page([{"summary": summary, "demand": demand_rows()}])
    assert ("A dash means" in full) == ("&ndash;" in full.split("</table>")[0])  # said only with a dash
    assert page.count('aria-label="Population (people)"') == 1  # one chart per quantity, all runs in it
    assert compare.compare_page(runs) == page
    assert compare.compare_table([]).count("\n") == 2


def test_links_are_label_then_page():
    page = index.index_page({}, [], [("Land suitability", "suitability.html")], "City", False)
    assert '<a href="suitability.html">Land suitability</a>' in page


def test_metrics_tables_show_plan_and_atlas_metrics():
    summary = {"plan": {"arterials_planned_km": 256.07, "row_share": 0.0605, "within_500m_share": 0.998},
               "metrics": {"base": {"builtup_ha": 3500.0, "openness_index": 0.335},
                           "horizon_bau": {"builtup_ha": 12485.2}}}
    page = index.index_page(summary, [], [], "City", False)
    assert "Plan and urban form metrics" in page
    assert "<td>256.1</td>" in page and "<td>6.0 %</td>" in page and "<td>99.8 %</td>" in page
    assert "<td>3,500</td>" in page and "<td>12,485</td>" in page and "<td>0.34</td>" in page
    assert "horizon, with the plan" not in page   # columns only for the runs present
    assert "Plan and urban form metrics" not in index.index_page({}, [], [], "City", False)


def test_plan_metrics_show_the_open_land_the_expansion_area_holds_beside_the_need():
    """An expansion area as large as the need can hold much less land to build (Rionegro: 14,578 ha for a
    need of 14,516 ha, of which 6,358 ha open and buildable, the rest built or protected): the table shows
    that land beside the area and the need, so the ratio 1.00 does not read as room to spare alone."""
    import html

    plan = {"expansion_area_ha": 14578.5, "new_land_ha": 6358.0, "land_need_ha": 14515.7,
            "expansion_vs_need": 1.0043}
    rows = re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td>", html.unescape(index.metrics_tables(
        {"plan": plan})))
    labels = [label for label, _ in rows]
    built = labels.index("open land that can be built inside the expansion area (ha)")
    assert rows[built][1] == "6,358"
    assert labels.index("expansion area (ha)") < built < labels.index(
        "new land the plan is sized for: the high end of the need by the horizon (ha)")


# ---------------------------------------------------------------- issue 18: what a council needs on the page

JARGON = ("generosity", "seed", "risk >=", "risk &gt;=", "BAU")


def full_summary(summary: dict) -> dict:
    """The summary with every optional part the producers write (DESIGN section 5 and the team's shapes)."""
    return {
        **summary,
        "warnings": ["no DEM: slope and flood exposure are not used",
                     "the roads layer covers only part of the study area; risk far from roads is unreliable",
                     "density assumption far from the reference of comparable cities"],
        "growth": {"validation": {"window": [2005, 2020], "fom": 0.31, "null_nearest_fom": 0.24, "ece": 0.03,
                                  "brier_skill": 0.2, "model": "logistic, chosen on held-out AUC"}},
        "plan": {"arterials_planned_km": 183.26, "enforcement": 0.5, "crossings_km": 2.0,
                 "bau_growth_share": 0.88, "compactness": 0.61,
                 "phases": [{"year": 2030, "arterial_km": 80.0, "row_ha": 240.0, "open_space_ha": 300.0},
                            {"year": 2040, "arterial_km": 60.0, "row_ha": 180.0, "open_space_ha": 200.0},
                            {"year": 2050, "arterial_km": 43.26, "row_ha": 130.0, "open_space_ha": 100.0}]},
        "risk": {**summary["risk"], "by_enforcement": [
            {"enforcement": 0.0, "high_risk_people": 52_340.2, "high_risk_ha": 812.0},
            {"enforcement": 0.5, "high_risk_people": 20_000.0, "high_risk_ha": 300.0},
            {"enforcement": 1.0, "high_risk_people": 6_100.0, "high_risk_ha": 95.0}]},
        "land_need_ha_range": [12_000.0, 15_424.0, 19_000.0],
        "land_need_range": [{"year": y, "low_ha": 4000 + 250 * (y - 2020),
                             "central_ha": 4375 + 330 * (y - 2020), "high_ha": 4800 + 450 * (y - 2020)}
                            for y in range(2020, 2051, 5)],
        "density": {"annual_change": -0.01, "source": "scenario", "observed": None, "plan_for": "high",
                    "reference": {"scope": "ETH", "median": -0.021, "q1": -0.03, "q3": -0.012, "n": 14,
                                  "source": "Atlas of Urban Expansion"}},
        "migration": {"share_of_growth": 0.41, "persons": 230_000.0, "land_ha": 3_100.0},
        "unmet_demand": {"ha": 1_250.0, "year_full": 2045},
    }


PARAMETERS = {"base_year": 2020, "horizon_year": 2040, "step_years": 5,
              "population": {"base": 350_000, "natural_growth": 0.022, "net_migration": 8000, "table": None,
                             "growth_rate": None},
              "density": {"base": "observed", "annual_change": 0.0, "infill_share": 0.0},
              "growth": {"runs": 20, "seed": 42},
              "plan": {"arterial_spacing_m": 800.0, "arterial_width_m": 25.0, "generosity": 1.5}}


def test_every_warning_and_the_skill_sentence_are_on_the_index(summary):
    s = full_summary(summary)
    page = index.index_page(s, demand_rows(), LINKS, "City", False, parameters=PARAMETERS)
    caveats = page.split("<h2>Caveats</h2>")[1].split("</ul>")[0]
    for w in s["warnings"]:
        assert w in caveats
    assert "figure of merit of 31 %" in caveats and "better than the simple rule" in caveats
    assert "2005-2020" in caveats
    # without a validation window the page says so, and that the maps are indicative only
    bare = index.index_page(summary, demand_rows(), LINKS, "City", False)
    assert "could not be checked" in bare and "indicative only" in bare


def test_page_text_takes_its_numbers_from_the_scenario(summary):
    s = {**summary, "horizon_year": 2040}
    page = index.index_page(s, demand_rows(), LINKS, "City", False, parameters=PARAMETERS)
    assert "25 m rights-of-way, about 800 m apart" in page
    assert "30 years" not in page and "30 m" not in page and "1 km apart" not in page
    assert "growth to 2040" in page


def test_assumptions_from_the_scenario_or_from_summary_json(summary):
    summary = {**summary, "horizon_year": 2040}
    page = index.index_page(summary, demand_rows(), LINKS, "City", False, parameters=PARAMETERS)
    table = page.split("What this scenario assumes")[1].split("</table>")[0]
    for text in ("8,000 people a year arriving", "2.2 % a year", "held constant", "2020 to 2040",
                 "350,000 people in 2020", "about 800 m apart"):
        assert text in table, text
    given = {**summary, "assumptions": {"migration": "8,000 a year, then 3,000 from 2030",
                                        "shocks": [{"year": 2030, "persons": 20000, "over_years": 3}],
                                        "density": "held at today's 100 people per hectare"}}
    page = index.index_page(given, demand_rows(), LINKS, "City", False, parameters=PARAMETERS)
    table = page.split("What this scenario assumes")[1].split("</table>")[0]
    assert "8,000 a year, then 3,000 from 2030" in table and "held at today" in table
    assert "20,000 people arriving from 2030 over 3 years" in table
    assert "2.2 % a year" not in table  # summary.json's assumptions take precedence


def test_optional_parts_are_rendered_when_present(summary):
    page = index.index_page(full_summary(summary), demand_rows(), LINKS, "City", False, parameters=PARAMETERS)
    phases = page.split("Secure these rights-of-way by this year")[1].split("</table>")[0]
    assert phases.count("<tr>") == 1 + 3 and "<td>2030</td>" in phases and "<td>183.3</td>" in phases
    enforcement = page.split("What enforcing the plan buys")[1].split("</table>")[0]
    assert "50 % (this scenario)" in enforcement and "20,000" in enforcement
    assert "Lower is better" in enforcement
    assert "Migration brings 41 % of the city" in page and "230,000 people" in page
    assert "between 12,000 and 19,000 hectares" in page
    assert "Ethiopian secondary cities changed by -2.1 % a year" in page and "14 cities" in page
    assert "full by 2045" in page and "1,250 hectares" in page
    assert "plausible range" in page and "<polygon" in page  # the land-need band on the chart
    assert "Secure the rights-of-way of the first 80.0 km of arterials by 2030" in page
    # the plan table says which way is better, and shows the new plan measures
    assert "which way is better" in page and "lower is better" in page and "88.0 %" in page


def test_pages_use_plain_words_and_a_glossary(summary):
    page = index.index_page(full_summary(summary), demand_rows(), LINKS, "City", False, parameters=PARAMETERS)
    for word in JARGON:
        assert word not in page, word
    assert "<h2>Glossary</h2>" in page and "If nothing is done" in page
    # the cards and tables say "if nothing is done", as the maps do; the glossary gives the planners' term
    brief, glossary = page.split("<h2>Glossary</h2>")
    assert "business as usual" not in brief.lower() and "business as usual" in glossary
    assert "Proposal for the scenario" in page and "What this plan says" not in page
    compare_page = compare.compare_page([{"summary": full_summary(summary), "demand": demand_rows()}])
    for word in JARGON:
        assert word not in compare_page, word


def test_provenance_lists_sources_date_and_version(summary):
    prov = {"run_date": "2026-01-01", "version": "0.1.0", "catalog": "Demo City",
            "sources": [{"role": "builtup", "file": "builtup_2005.tif", "year": 2005},
                        {"role": "builtup", "file": "builtup_2020.tif", "year": 2020},
                        {"role": "dem", "file": "dem.tif", "year": None},
                        {"role": "boundary", "file": "../../../shared/data/rionegro/mask.tif", "year": None},
                        {"role": "water", "file": "C:\\data\\rivers.gpkg", "year": None}]}
    page = index.index_page(summary, demand_rows(), LINKS, "City", False, provenance=prov)
    data = page.split("Data and method")[1]
    assert "builtup_2005.tif (2005), builtup_2020.tif (2020)" in data and "terrain (elevation)" in data
    # file names only: a catalog's relative path means nothing to an official (run.json keeps it)
    assert "<td>mask.tif</td>" in data and "<td>rivers.gpkg</td>" in data
    assert "shared" not in data and "data\\" not in data
    assert "Run on 2026-01-01" in data and "expansion 0.1.0" in data


def test_the_brief_is_marked_for_print(summary):
    images = [("Plan", "map_expansion_plan.png"), ("Risk", "map_risk_without_plan.png"),
              ("Risk with plan", "map_risk_with_plan.png")]
    page = index.index_page(full_summary(summary), demand_rows(), LINKS, "City", False, images=images)
    brief, detail = page.split('<section class="detail">')
    assert "Key maps" in brief and "Next steps" in brief and "Caveats" in brief
    assert brief.count("<img") == 3 and brief.count('class="noprint"') == 1  # two maps on paper
    assert "@media print" in page and ".detail" in page and "size: A4" in page
    assert "Glossary" in detail



# ---------------------------------------------------------------- compare --baseline


def plan_layers(shift_m: float, crs: str = "EPSG:32637") -> dict:
    """An expansion area (a 4 x 4 km square moved east by ``shift_m``), planned arterials 1 km apart."""
    import geopandas as gpd
    from shapely.geometry import LineString, box

    x0, y0 = 500_000.0 + shift_m, 1_000_000.0
    lines = [LineString([(x0 + k * 1000, y0), (x0 + k * 1000, y0 + 4000)]) for k in range(5)]
    lines += [LineString([(x0, y0 + k * 1000), (x0 + 4000, y0 + k * 1000)]) for k in range(5)]
    square = box(x0, y0, x0 + 4000, y0 + 4000)
    return {"expansion_area": gpd.GeoDataFrame({"hectares": [1600.0]}, geometry=[square], crs=crs),
            "arterials": gpd.GeoDataFrame({"kind": ["planned"] * len(lines)}, geometry=lines, crs=crs)}


def scenario_run(summary: dict, name: str, migration: float, shift_m: float, scale: float) -> dict:
    rows = [{**r.__dict__, "population": r.population * scale, "land_need_ha": r.land_need_ha * scale}
            for r in demand_rows()]
    s = {**summary, "scenario": name, "population_horizon": summary["population_horizon"] * scale,
         "land_need_ha": summary["land_need_ha"] * scale, "warnings": [f"caveat of {name}"]}
    params = {**PARAMETERS, "population": {**PARAMETERS["population"], "net_migration": migration}}
    return {"summary": s, "demand": rows, "parameters": params, "plan_layers": plan_layers(shift_m),
            "href": f"../{name}/index.html"}


def test_compare_page_for_a_council(summary):
    runs = [scenario_run(summary, "medium", 8000, 0.0, 1.0), scenario_run(summary, "low", 3000, 1000.0, 0.8),
            scenario_run(summary, "high", 12000, 2000.0, 1.25)]
    page = compare.compare_page(runs, baseline=0)
    table = page.split('<table class="compare">')[1].split("</table>")[0]
    # assumptions beside results, each run in its own column, the baseline named
    assert "medium (baseline)" in table and "What each scenario assumes" in table
    assert "8,000 people a year arriving" in table and "3,000 people a year arriving" in table
    # differences against the baseline: 20 % less population for "low", 25 % more for "high"
    assert "(-20 %)" in table and "(+25 %)" in table and "same as baseline" in table
    assert "lower is better" in table
    # one chart per quantity with every scenario on it (a legend names all three)
    pop = page.split('aria-label="Population (people)"')[1].split("</svg>")[0]
    assert all(f">{n}</text>" in pop for n in ("medium", "low", "high"))
    # the no-regret land: the 2 km wide strip the three squares share (2 x 4 km = 800 ha), and its arterials
    assert "800 hectares of land lie in every scenario" in page
    assert "no-regret arterials" in page and 'fill="url(#xp-hatch)"' in page
    km = float(re.search(r"and ([\d.]+) km of arterials are proposed in every", page).group(1))
    assert 21.9 <= km <= 22.2  # 3 north-south lines of 4 km, 5 east-west stretches of 2 km (+ 20 m at ends)
    # each run's caveats and a link to its pages
    for n in ("medium", "low", "high"):
        assert f"caveat of {n}" in page and f'href="../{n}/index.html"' in page
    assert "@media print" in page and "table-layout: fixed" in page
    for word in JARGON:
        assert word not in page, word
    # without a baseline there are no differences, and without plans no map (said plainly)
    plain = compare.compare_page([{**r, "plan_layers": {}} for r in runs])
    assert "%)" not in plain.split('<table class="compare">')[1].split("</table>")[0]
    assert "No map:" in plain
    text = compare.compare_table(runs, baseline=0)
    assert "medium *" in text and "* baseline" in text


def test_one_new_land_figure_per_meaning(summary):
    """QA 5: the headline's new land is the central estimate; the plan table's is the high end the plan
    is sized for, and the ratio says so."""
    s = {**full_summary(summary), "new_land_ha_range": [900.0, 1_500.0, 4_000.0]}
    s["plan"] = {**s["plan"], "land_need_ha": 4_000.0, "expansion_vs_need": 1.2}
    page = index.index_page(s, demand_rows(), LINKS, "City", False, parameters=PARAMETERS)
    assert "new land to urbanize, 2020-2050 (central estimate)" in page
    assert "new land the plan is sized for: the high end" in page
    assert "expansion area / new land the plan is sized for (high end)" in page
    assert "new land needed by the horizon" not in page
    assert "sized for the high end: 4,000 hectares of new land instead of the 1,500" in page


def test_migration_with_a_natural_decline_is_not_a_share_above_all(summary):
    """QA 6: with more deaths than births migration is people added and the fall without it."""
    s = {**summary, "migration": {"share_of_growth": 1.86, "persons": 23_316.8, "land_ha": 245.0,
                                  "natural_change": -10_784.0, "year": 2044}}
    page = index.index_page(s, demand_rows(), LINKS, "City", False)
    assert "186 %" not in page and "Migration adds 23,317 people by 2044" in page
    assert "without it the population would fall by 10,784" in page
    # an older summary without natural_change but a share above 1 is not shown as a share either
    old = {**summary, "migration": {"share_of_growth": 1.86, "persons": 23_316.8, "land_ha": 456.0}}
    page = index.index_page(old, demand_rows(), LINKS, "City", False)
    assert "186 %" not in page and "Migration adds 23,317 people" in page and "456" not in page


def test_risk_not_assessed_without_hazard_data(summary):
    """QA 4: without a DEM or water layer the headline says 'not assessed', not 0."""
    s = {**summary, "risk": {"bau": {"high_risk_ha": 0.0, "high_risk_people": 0.0, "hazard_share": 0.0},
                             "planned": {"high_risk_ha": 12.0, "high_risk_people": 0.0, "hazard_share": 0.0},
                             "assessed": {"hazard": False}}}
    facts = dict(index.summary_facts(s))
    partial = " (flood-prone and steep land not assessed)"
    assert facts["people likely to settle on high-risk land, if nothing is done"] == \
        "not assessed: no DEM or water layer"
    assert facts["hectares at high risk, with the plan" + partial] == "12"   # a figure found is still shown
    assert facts["share of new growth on flood-prone or steep land, if nothing is done"] == \
        "not assessed: no DEM or water layer"
    page = index.index_page(s, demand_rows(), LINKS, "City", False)
    assert page.count("not assessed: no DEM or water layer") == 5 and ">0 %<" not in page
    # with hazard data (or an older run without the key) the figures are shown as they are
    assessed = {**s, "risk": {**s["risk"], "assessed": {"hazard": True}}}
    assert "not assessed" not in index.index_page(assessed, demand_rows(), LINKS, "City", False)


def test_caveats_in_plain_words(summary):
    """QA 14 and 18: a short citation, not the raw source; a non-African city is told the reference may
    not fit; the next step points at the caveats above."""
    s = full_summary(summary)
    raw = ("Annual change ... as processed in the World Bank repository jqnmunozdiaz/SO_dashboard")
    s["density"] = {**s["density"], "reference": {"scope": "Africa", "median": -0.0013, "q1": -0.0145,
                                                  "q3": 0.0081, "n": 1513, "source": raw,
                                                  "city_country": "ROU", "city_in_africa": False}}
    page = index.index_page(s, demand_rows(), LINKS, "City", False)
    assert "jqnmunozdiaz" not in page and "1,513 cities, 2000-2020; GHSL and Africapolis" in page
    assert "may not fit here: this city is in ROU" in page
    assert "Check the caveats above" in page and "caveats below" not in page
    s["density"]["reference"] = {**s["density"]["reference"], "city_country": "KEN", "city_in_africa": True}
    assert "may not fit" not in index.index_page(s, demand_rows(), LINKS, "City", False)


def test_growth_warnings_in_hectares():
    """QA 14: the allocation's 'demand is N cells' becomes hectares and plain words."""
    from expansion.pipeline.run import in_hectares

    w = "step 2039–2044: demand is 1737 cells but only 1731 open cells are left; all of them were allocated"
    assert in_hectares(w, 0.09) == ("2039–2044, if nothing is done: only 156 hectares of open land were left "
                                    "in the study area for the 156 hectares of new land needed; all of it is "
                                    "shown as built")
    full = "step 2044–2049: demand is 1900 cells but only 0 open cells are left; all of them were allocated"
    assert in_hectares(full, 1.0, "with the plan") == (
        "2044–2049, with the plan: no open land was left in the study area for the 1,900 hectares of new "
        "land needed")
    assert in_hectares("no DEM", 1.0, "with the plan") == "with the plan: no DEM"
    assert in_hectares("no DEM", 1.0) == "no DEM"


def test_deadlines_before_the_run_date_are_overdue(summary):
    """QA 7: a base year years before the run: a warning, and past deadlines 'overdue: secure now'."""
    from expansion.pipeline.run import stale_base_warning

    s = full_summary(summary)   # phases due by 2030, 2040, 2050
    page = index.index_page(s, demand_rows(), LINKS, "City", False, provenance={"run_date": "2041-03-01"})
    phases = page.split("Secure these rights-of-way by this year")[1].split("</table>")[0]
    assert phases.count("overdue: secure now") == 2 and "<td>2050</td>" in phases
    assert "Secure now the rights-of-way of the first 80.0 km of arterials: they were due by 2030" in page
    fresh = index.index_page(s, demand_rows(), LINKS, "City", False, provenance={"run_date": "2026-03-01"})
    assert "overdue" not in fresh and "by 2030 (see the table of phases)" in fresh
    said = stale_base_warning(2014, 2026)
    assert len(said) == 1 and "12 years before this run (2026)" in said[0]
    assert stale_base_warning(2024, 2026) == []


def test_enforcement_table_says_when_securing_more_displaces_growth_onto_high_risk_land(summary):
    """Issue 14 (4): where securing more of the plan leaves more people at high risk (real displacement in
    the model: the secured land pushes growth onto the land left), one plain sentence says so beside the
    table; a table falling with enforcement gets no such sentence."""
    s = full_summary(summary)
    levels = [{"enforcement": 0.0, "high_risk_people": 5_000.0, "high_risk_ha": 80.0, "max_score": 0.5},
              {"enforcement": 0.5, "high_risk_people": 6_200.0, "high_risk_ha": 95.0, "max_score": 0.6},
              {"enforcement": 1.0, "high_risk_people": 900.0, "high_risk_ha": 12.0, "max_score": 0.35}]
    s["risk"] = {**s["risk"], "by_enforcement": levels}
    page = index.index_page(s, demand_rows(), LINKS, "City", False)
    section = page.split("What enforcing the plan buys")[1].split("<h2>")[0]
    said = ("Securing 50 % of the plan leaves more people at high risk (6,200) than securing 0 % (5,000): "
            "the land it holds back pushes growth onto the land that is left, some of it high-risk.")
    assert said in section
    assert "<td>0.60</td>" in section and "highest risk score" in section
    falling = index.index_page(full_summary(summary), demand_rows(), LINKS, "City", False)
    assert "pushes growth" not in falling


def test_no_land_at_high_risk_is_said_with_the_highest_score(summary):
    """Bacău: the highest risk score is 0.23, so no land reaches high risk (0.3) and 0 people are counted;
    the page says so, with the highest score, instead of leaving a bare 0."""
    s = full_summary(summary)
    zero = {"high_risk_ha": 0.0, "high_risk_people": 0.0, "hazard_share": 0.03}
    s["risk"] = {"bau": {**zero, "max_score": 0.227}, "planned": {**zero, "max_score": 0.222},
                 "assessed": {"hazard": True, "unserviced": False, "pressure": True, "high_risk": True},
                 "by_enforcement": [{"enforcement": e, "high_risk_people": 0.0, "high_risk_ha": 0.0,
                                     "max_score": m} for e, m in ((0.0, 0.227), (0.5, 0.238), (1.0, 0.222))]}
    page = index.index_page(s, demand_rows(), LINKS, "City", False)
    said = ("No land reaches high risk (a risk score of 0.3 or more out of 1), so no one is counted at high "
            "risk; the highest score is 0.23 if nothing is done and 0.22 with the plan.")
    brief = page.split('<section class="detail">')[0]
    assert said in brief
    assert said in page.split("What enforcing the plan buys")[1]
    assert "Serve or guard" not in page  # no hectares to serve
    # some land at high risk: no such sentence
    assert "No land reaches high risk" not in index.index_page(full_summary(summary), demand_rows(), LINKS,
                                                               "City", False)


def test_people_already_on_hazard_land_are_shown_when_the_population_layer_counts_them(summary):
    """Issue 14 (5): the population layer's count of people already living on flood-prone or steep land
    (risk.residents_on_hazard_land) is a card of the brief; none without a population layer (None) or
    without hazard data (it would count nothing)."""
    label = "people already living on flood-prone or steep land (population layer)"
    s = {**summary, "base_year": 2020, "risk": {**summary["risk"], "residents_on_hazard_land": 6636.7}}
    assert dict(index.summary_facts(s))[label] == "6,637"
    none = {**s, "risk": {**s["risk"], "residents_on_hazard_land": None}}
    assert label not in dict(index.summary_facts(none))
    blind = {**s, "risk": {**s["risk"], "assessed": {"hazard": False}}}
    assert label not in dict(index.summary_facts(blind))


@pytest.mark.parametrize("by_kind, said", [
    ({"floodplain": 1916.8, "park": 287.3, "protected": 57.1, "steep_slope": 29.6}, ", floodplains first."),
    ({"floodplain": 0.0, "park": 0.0, "protected": 6546.0, "steep_slope": 0.0}, ": protected land."),
    ({"park": 1143.0}, ": parks."),
    ({"steep_slope": 4.2, "protected": 3.0, "park": 40.0}, ": steep slopes, protected land and parks."),
])
def test_next_step_on_open_space_names_the_kinds_the_plan_protects(by_kind, said):
    """'floodplains first' only when the plan protects floodplains (Rionegro's open space is all protected
    land, with no water layer to find floodplains; Hubballi-Dharwad's all parks)."""
    from expansion.outputs.web.sections import next_steps

    summary = {"open_space_ha": sum(by_kind.values()), "plan": {"open_space_by_kind_ha": by_kind}}
    step = [s for s in next_steps(summary) if s.startswith("Protect the")]
    assert len(step) == 1 and step[0].endswith(" hectares of public open space" + said), step


def test_glossary_explains_crowding_when_risk_is_not_assessed():
    assessed = index.glossary_html({"risk": {"assessed": {"high_risk": True}}})
    assert "<dt>High risk</dt>" in assessed and "Crowding" not in assessed
    not_assessed = index.glossary_html({"risk": {"assessed": {"high_risk": False}}})
    assert "<dt>Crowding</dt>" in not_assessed and "<dt>High risk</dt>" not in not_assessed
    assert "not a measure of risk" in not_assessed
