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
