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
    assert not re.search(r"<(script|link|img|iframe)\b", page)  # nothing to fetch, nothing to run
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
    page = compare.compare_page(runs)
    assert "<script" not in page and NASTY_ESCAPED in page
    assert "1,200,000" in page and "&ndash;" in page
    assert page.count("<svg") == 2  # charts for the run that has demand rows
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
