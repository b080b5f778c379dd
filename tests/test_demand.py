import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expansion.config import DensityConfig, PopulationConfig
from expansion.demand import demand_csv, format_demand_table, project_demand, project_population
from expansion.errors import ConfigError, DataError


def test_thirty_years_three_percent_density_falling_one_percent():
    # A30/A0 = 1.03**30 / 0.99**30 = 3.2814...
    rows = project_demand(PopulationConfig(base=100_000, growth_rate=0.03),
                          DensityConfig(base=50.0, annual_change=-0.01), [2020, 2050], 2000.0)
    ratio = rows[-1].land_need_ha / rows[0].land_need_ha
    assert ratio == pytest.approx(3.2814, abs=5e-4)
    assert rows[0].land_need_ha == pytest.approx(2000.0)
    assert rows[-1].new_land_ha == pytest.approx(2000.0 * (ratio - 1))
    assert rows[0].new_land_ha == 0


def test_natural_growth_plus_migration_by_hand():
    pop = PopulationConfig(base=1000, natural_growth=0.1, net_migration=50)
    # 1000 -> 1150 -> 1315
    assert project_population(pop, [2000, 2001, 2002]) == pytest.approx([1000, 1150, 1315])


def test_migration_schedule_holds_from_its_year_on():
    pop = PopulationConfig(base=1000, natural_growth=0.0, net_migration={"2001": 10, "2003": 100})
    # 2000->2001: none; 2001->2002: 10; 2002->2003: 10; 2003->2004: 100
    assert project_population(pop, [2000, 2004]) == pytest.approx([1000, 1120])


def test_table_interpolates_and_rejects_years_outside():
    pop = PopulationConfig(base=1, table={"2000": 100, "2010": 200})
    assert project_population(pop, [2000, 2005, 2010]) == pytest.approx([100, 150, 200])
    with pytest.raises(ConfigError, match="2000–2010"):
        project_population(pop, [2000, 2015])


def test_migration_with_total_growth_is_an_error():
    with pytest.raises(ConfigError, match="net_migration"):
        project_population(PopulationConfig(base=1, growth_rate=0.01, net_migration=5), [2000, 2001])


def test_observed_density_and_infill():
    rows = project_demand(PopulationConfig(base=50_000, growth_rate=0.0, net_migration=0),
                          DensityConfig(base="observed", annual_change=-0.02, infill_share=0.25),
                          [2020, 2025], 1000.0)
    assert rows[0].density_pph == pytest.approx(50.0)
    need = 50_000 / (50 * 0.98**5)
    assert rows[1].land_need_ha == pytest.approx(need)
    assert rows[1].new_land_ha == pytest.approx((need - 1000) * 0.75)


def test_observed_density_needs_builtup():
    with pytest.raises(DataError, match="0 ha"):
        project_demand(PopulationConfig(base=10), DensityConfig(), [2020, 2030], 0.0)


def test_shrinking_city_needs_no_new_land():
    rows = project_demand(PopulationConfig(base=1000, growth_rate=-0.05), DensityConfig(base=10.0,
                          annual_change=0.0), [2020, 2025, 2030], 100.0)
    assert [r.new_land_ha for r in rows] == [0, 0, 0]


def test_csv_is_exact_and_stable():
    rows = project_demand(PopulationConfig(base=1000, natural_growth=0.02, net_migration=10),
                          DensityConfig(base=20.0, annual_change=-0.01), [2020, 2025], 50.0)
    text = demand_csv(rows)
    lines = text.splitlines()
    assert lines[0] == "year,population,density_pph,land_need_ha,new_land_ha"
    assert lines[1] == "2020,1000.0,20.000,50.00,0.00"
    assert text == demand_csv(list(rows))
    assert text.endswith("\n") and len(lines) == 3
    table = format_demand_table(rows)
    assert "2025" in table and len({len(line) for line in table.splitlines()}) == 1


years_st = st.lists(st.integers(1, 10), min_size=1, max_size=8).map(
    lambda steps: [2000 + sum(steps[:i]) for i in range(len(steps) + 1)])


@settings(max_examples=60, deadline=None)
@given(base=st.floats(1, 1e7), n=st.floats(-0.1, 0.1), m=st.floats(-1e4, 1e5),
       r=st.floats(-0.1, 0.1), infill=st.floats(0, 0.99), built=st.floats(1, 1e5), years=years_st)
def test_demand_properties(base, n, m, r, infill, built, years):
    rows = project_demand(PopulationConfig(base=base, natural_growth=n, net_migration=m),
                          DensityConfig(base="observed", annual_change=r, infill_share=infill),
                          years, built)
    assert [row.year for row in rows] == years
    assert rows[0].new_land_ha == 0
    for prev, row in zip(rows, rows[1:]):
        assert row.new_land_ha >= 0
        assert row.population >= 0
        assert math.isclose(row.land_need_ha, row.population / row.density_pph, rel_tol=1e-9)
        expected = max(0.0, row.land_need_ha - prev.land_need_ha) * (1 - infill)
        assert math.isclose(row.new_land_ha, expected, rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=30, deadline=None)
@given(base=st.floats(1, 1e7), built=st.floats(1, 1e5), years=years_st)
def test_no_growth_no_density_change_no_new_land(base, built, years):
    rows = project_demand(PopulationConfig(base=base, growth_rate=0.0),
                          DensityConfig(base="observed", annual_change=0.0), years, built)
    assert all(row.new_land_ha == 0 for row in rows)
    assert all(math.isclose(row.land_need_ha, built, rel_tol=1e-12) for row in rows)


# ---------------------------------------------------------------- issue 16: land need from evidence

from expansion import density as dens  # noqa: E402
from expansion.config import Shock  # noqa: E402
from expansion.demand import (  # noqa: E402
    land_need_range,
    migration_summary,
    new_land_total,
    population_by_year,
    range_summary,
    scenario_warnings,
)


def test_observed_trend_from_two_epochs_and_a_population_table():
    pop = PopulationConfig(base=120_000, table={"2005": 100_000, "2020": 120_000, "2050": 200_000})
    rate, info = dens.observed_trend({2005: 1000.0, 2020: 1500.0}, pop, 2020, 2005)
    assert rate == pytest.approx(0.8 ** (1 / 15) - 1)  # 100 p/ha -> 80 p/ha in 15 years
    assert info["from_year"] == 2005 and info["to_year"] == 2020 and not info["bounded"]
    path = dens.density_path(DensityConfig(annual_change="observed"), pop, 2020, 2005,
                             {2005: 1000.0, 2020: 1500.0}, "ETH")
    assert path.source == "observed" and path.annual_change == pytest.approx(rate)
    assert any("observed 2005->2020" in n for n in path.notes)
    assert path.summary()["observed"]["density_to_pph"] == pytest.approx(80.0)


def test_observed_trend_is_bounded_and_falls_back_with_the_reason():
    pop = PopulationConfig(base=1000, table={"2005": 10_000, "2020": 1000})
    rate, info = dens.observed_trend({2005: 100.0, 2020: 100.0}, pop, 2020, 2005)
    assert info["bounded"] and rate == dens.plausible_range()[0]
    no_table = PopulationConfig(base=1000, natural_growth=0.02)
    path = dens.density_path(DensityConfig(annual_change="observed"), no_table, 2020, 2005,
                             {2005: 100.0, 2020: 120.0}, "KEN")
    assert path.source == "reference" and path.annual_change == dens.reference("KEN").median
    assert "not known for both 2005 and 2020" in path.warnings[0] and "KEN" in path.warnings[0]
    assert not path.warnings[0].startswith("[") and "could not be measured" in path.warnings[0]
    one_epoch = dens.density_path(DensityConfig(annual_change="observed"), no_table, 2020, None,
                                  {2020: 120.0}, None)
    assert "two epochs are needed" in one_epoch.warnings[0]


def test_reference_by_country_else_the_continent_and_far_outside_warns():
    eth = dens.reference("ETH")
    assert eth.scope == "ETH" and eth.n >= 100 and eth.median == pytest.approx(-0.023, abs=0.001)
    assert eth.q1 < eth.median < eth.q3
    assert dens.reference("XXX").scope == "Africa" and dens.reference(None).n == 1513
    assert "CC BY 4.0" in eth.source and "GHS-POP" in eth.caveat
    near = dens.density_path(DensityConfig(annual_change=-0.02), PopulationConfig(base=1), 2020, None,
                             {2020: 1.0}, "ETH")
    assert near.warnings == []
    far = dens.density_path(DensityConfig(annual_change=0.03), PopulationConfig(base=1), 2020, None,
                            {2020: 1.0}, "ETH")
    assert "far outside what secondary cities of ETH did in 2000-2020 (median" in far.warnings[0]
    assert far.warnings[0].startswith("the scenario's density change of +3.0 % a year")


def test_a_city_outside_africa_is_told_the_reference_may_not_fit():
    """QA 14: Romania, Colombia, India were compared with African cities without a caveat."""
    for country, text in (("ROU", "this city is in ROU, outside Africa"),
                          (None, "may not fit a city outside")):
        path = dens.density_path(DensityConfig(annual_change=-0.001), PopulationConfig(base=1), 2020, None,
                                 {2020: 1.0}, country)
        assert any(text in w for w in path.warnings), path.warnings
    ken = dens.density_path(DensityConfig(annual_change=-0.001), PopulationConfig(base=1), 2020, None,
                            {2020: 1.0}, "KEN")
    assert ken.warnings == []


def test_land_need_range_brackets_the_central_path():
    pop = PopulationConfig(base=100_000, natural_growth=0.02, net_migration=1000)
    years = [2020, 2030, 2040]
    for cfg, scope in ((DensityConfig(annual_change=-0.01), "reference"),
                       (DensityConfig(annual_change=-0.01, annual_change_range=[0.0, -0.03]), "scenario")):
        path = dens.density_path(cfg, pop, 2020, None, {2020: 1000.0}, "ETH")
        assert path.range_source == scope
        low, central, high = land_need_range(pop, cfg, years, 1000.0, path)
        assert low[-1].land_need_ha <= central[-1].land_need_ha <= high[-1].land_need_ha
        assert low[0].land_need_ha == central[0].land_need_ha == high[0].land_need_ha == pytest.approx(1000)
        summary = range_summary(low, central, high)
        assert summary["land_need_ha_range"][1] == central[-1].land_need_ha
        assert [r["year"] for r in summary["land_need_range"]] == years
    assert path.high_need_change == -0.03 and path.low_need_change == 0.0


def test_numeric_base_density_applies_to_new_growth_and_tables_agree():
    """80 p/ha given, 100 observed: the base year needs exactly the built-up area, and the table's
    density is the whole city's (population / land need), as the Atlas metric measures it."""
    rows = project_demand(PopulationConfig(base=350_000, natural_growth=0.02),
                          DensityConfig(base=80.0, annual_change=0.0), [2020, 2050], 3500.0)
    assert rows[0].land_need_ha == pytest.approx(3500.0) and rows[0].density_pph == pytest.approx(100.0)
    added = rows[-1].population - 350_000
    assert rows[-1].land_need_ha == pytest.approx(3500.0 + added / 80.0)
    assert rows[-1].density_pph == pytest.approx(rows[-1].population / rows[-1].land_need_ha)
    assert 80.0 < rows[-1].density_pph < 100.0


def test_population_layer_gives_the_density_of_new_growth(stack):
    import numpy as np

    built = stack.builtup[2020]
    ha = float(built.sum()) * stack.grid.cell_area_ha
    stack.population = np.where(built, 50.0 * stack.grid.cell_area_ha, np.nan).astype(np.float32)
    assert dens.population_layer_pph(stack, 2020) == pytest.approx(50.0)
    pop = PopulationConfig(base=100.0 * ha, natural_growth=0.01)
    path = dens.path_for_stack(DensityConfig(), pop, 2020, None, stack, None, [2020])
    assert path.growth_pph == pytest.approx(50.0) and path.growth_pph_source == "population layer"
    assert any("population layer gives 50.0" in w for w in path.warnings)  # 50 against 100: told
    other_year = dens.path_for_stack(DensityConfig(), pop, 2020, None, stack, None, [None])
    assert other_year.growth_pph is None and "not of the base year" in other_year.notes[-1]


def test_shock_adds_its_arrivals_and_their_natural_growth():
    calm = PopulationConfig(base=1000, natural_growth=0.1)
    shock = PopulationConfig(base=1000, natural_growth=0.1,
                             shocks=[Shock(year=2021, persons=100, over_years=2)])
    a = population_by_year(calm, 2020, 2025)
    b = population_by_year(shock, 2020, 2025)
    assert b[2021] == pytest.approx(a[2021])                       # arrivals during 2021 count from 2022
    assert b[2022] - a[2022] == pytest.approx(50)
    assert b[2023] - a[2023] == pytest.approx(50 * 1.1 + 50)
    assert b[2025] - a[2025] == pytest.approx(50 * 1.1**3 + 50 * 1.1**2)
    leave = PopulationConfig(base=1000, growth_rate=0.0, shocks=[Shock(year=2020, persons=-300)])
    assert population_by_year(leave, 2020, 2022)[2022] == pytest.approx(700)
    table = PopulationConfig(base=1000, table={"2020": 1000, "2030": 2000},
                             shocks=[Shock(year=2020, persons=100)])
    # the 100 arrive during 2020 and then grow as the table does from 2021 (1,100) to 2030 (2,000)
    assert population_by_year(table, 2020, 2030)[2030] == pytest.approx(2000 + 100 * 2000 / 1100)


def test_migration_share_of_growth_and_its_land():
    pop = PopulationConfig(base=1000, natural_growth=0.0, net_migration=100)
    rows = project_demand(pop, DensityConfig(annual_change=0.0), [2020, 2030], 10.0)
    m = migration_summary(pop, rows)
    assert m["share_of_growth"] == pytest.approx(1.0) and m["persons"] == pytest.approx(1000)
    assert m["land_ha"] == pytest.approx(new_land_total(rows))
    half = PopulationConfig(base=1000, natural_growth=0.02, net_migration=20)
    rows = project_demand(half, DensityConfig(annual_change=0.0), [2020, 2021], 10.0)
    assert migration_summary(half, rows)["share_of_growth"] == pytest.approx(0.5)
    assert migration_summary(PopulationConfig(base=1000, growth_rate=0.02), rows) is None


def test_migration_with_a_natural_decline_is_said_as_people_added():
    """QA 6 (Bacau): natural decline + migration; no share above 100 %, no land above all new land."""
    from expansion.demand import migration_text

    pop = PopulationConfig(base=185_000, natural_growth=-0.002, net_migration=800)
    rows = project_demand(pop, DensityConfig(annual_change=-0.0013), list(range(2014, 2045, 5)), 2229.75)
    m = migration_summary(pop, rows)
    assert m["share_of_growth"] > 1 and m["natural_change"] < 0 and m["year"] == 2044
    assert m["land_ha"] == pytest.approx(new_land_total(rows))
    text = migration_text(m)
    assert "%" not in text and text.startswith(f"Migration adds {m['persons']:,.0f} people by 2044")
    assert f"would fall by {-m['natural_change']:,.0f}" in text
    half = PopulationConfig(base=1000, natural_growth=0.02, net_migration=20)
    rows = project_demand(half, DensityConfig(annual_change=0.0), [2020, 2021], 10.0)
    assert migration_text(migration_summary(half, rows)).startswith(
        "Migration brings 50 % of the city's growth by 2021: 20 people, who need 0 hectares")


def test_scenario_warnings_name_the_fix():
    said = scenario_warnings(PopulationConfig(base=350_000, table={"2020": 300_000, "2050": 500_000}),
                             2020, 2050)
    assert "table gives 300,000 for 2020 but base is 350,000" in said[0]
    said = scenario_warnings(PopulationConfig(base=1000, natural_growth=0.0, net_migration={"2030": 10}),
                             2020, 2050)
    assert "starts in 2030, after base_year 2020" in said[0] and 'add a "2020" entry' in said[0]
    said = scenario_warnings(PopulationConfig(base=1000, natural_growth=0.0, net_migration=-100), 2020, 2050)
    assert any("reaches zero in 2030" in w for w in said)
    said = scenario_warnings(PopulationConfig(base=5000, natural_growth=0.0, net_migration=6000), 2020, 2030)
    assert any("exceeds the population" in w for w in said)
    assert scenario_warnings(PopulationConfig(base=350_000, natural_growth=0.02, net_migration=6000),
                             2020, 2050) == []


def test_shipped_reference_is_the_table_of_the_shared_data(shared_data):
    import importlib.util
    import json
    from pathlib import Path

    script = Path(__file__).resolve().parents[1] / "scripts" / "build_density_reference.py"
    spec = importlib.util.spec_from_file_location("build_density_reference", script)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    built = mod.build(shared_data / "density_trends" / "african_secondary_cities_2000_2020.csv")
    shipped = json.loads((Path(dens.__file__).parent / "data" / "density_reference.json").read_text())
    assert built == shipped
    assert built["Africa"]["median"] == pytest.approx(-0.0013, abs=1e-4)


def test_unmet_demand_is_reported_with_the_year_the_area_fills():
    from expansion.demand import unmet_demand, unmet_warning

    years = [2020, 2030, 2040, 2050]
    met = unmet_demand([10, 10, 10], [[10, 10, 10], [10, 10, 10]], years, 0.09)
    assert met == {"ha": 0.0, "year_full": None} and unmet_warning(met, 2050) is None
    short = unmet_demand([10, 10, 10], [[10, 6, 0], [10, 4, 0]], years, 0.09)
    assert short["year_full"] == 2040 and short["ha"] == pytest.approx((5 + 10) * 0.09)
    said = unmet_warning(short, 2050)
    assert "fills by about 2040" in said and "not shown as met" in said
