"""Scenario and catalog loading: valid files load; every error names the file and the key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from expansion.config import load_catalog, load_scenario
from expansion.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

SCENARIO = """
name = "t"
layers = "layers.toml"
base_year = 2020
horizon_year = 2050
step_years = 5
resolution_m = 30
[population]
base = 350000
natural_growth = 0.022
net_migration = 6000
[density]
base = "observed"
annual_change = -0.01
[growth]
calibrate_from = 2005
runs = 20
seed = 42
[plan]
arterial_spacing_m = 1000
arterial_width_m = 30
"""

CATALOG = """
name = "Town"
[[layers]]
role = "boundary"
path = "boundary.gpkg"
[[layers]]
role = "builtup"
path = "b2005.tif"
year = 2005
"""


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_scenario_loads_with_paths_relative_to_file(tmp_path):
    s = load_scenario(write(tmp_path, SCENARIO))
    assert s.layers == (tmp_path / "layers.toml").resolve()
    assert s.years == [2020, 2025, 2030, 2035, 2040, 2045, 2050]
    assert s.population.net_migration == 6000.0 and s.growth.seed == 42
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.base_year = 2000  # frozen


@pytest.mark.parametrize("old,new,needle", [
    ("seed = 42", "seed = 42\nsede = 1", "unknown key 'sede'; valid keys are: calibrate_from, runs, seed"),
    ("base_year = 2020", "base_year = 2020\ncolour = 1", "unknown key 'colour'"),
    ("runs = 20", 'runs = "many"', "'runs' must be a whole number"),
    ("horizon_year = 2050", "horizon_year = 2010", "'horizon_year' (2010) must be after 'base_year' (2020)"),
    ("base = 350000", "base = -5", "'base' must be more than 0 people"),
    ('base = "observed"', "base = 0", "'base' must be more than 0 persons per hectare"),
    ("arterial_spacing_m = 1000", "arterial_spacing_m = -1000", "'arterial_spacing_m' must be at least"),
    ("calibrate_from = 2005", "calibrate_from = 2030", "'calibrate_from' (2030) must be before"),
    ("annual_change = -0.01", "annual_change = -1", "yearly fraction"),
    ("resolution_m = 30", "resolution_m = 0", "'resolution_m' must be positive"),
    ("step_years = 5", "step_years = 2.5", "'step_years' must be a whole number"),
    ("step_years = 5", "step_years = 5\ncrs = \"EPSG:4326\"", "geographic"),
])
def test_scenario_errors_name_file_and_key(tmp_path, old, new, needle):
    assert old in SCENARIO
    path = write(tmp_path, SCENARIO.replace(old, new, 1))
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    msg = str(err.value)
    assert needle in msg
    assert str(path) in msg
    assert "\n" not in msg


def test_scenario_missing_file_and_directory(tmp_path):
    with pytest.raises(ConfigError, match="scenario file not found: nope.toml .resolved"):
        load_scenario(Path("nope.toml"))
    with pytest.raises(ConfigError, match="is a directory"):
        load_scenario(tmp_path)


def test_scenario_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_scenario(write(tmp_path, "name = \n"))


def test_migration_schedule_and_table(tmp_path):
    text = SCENARIO.replace("net_migration = 6000", 'net_migration = {"2020" = 6000, "2035" = 3000}')
    s = load_scenario(write(tmp_path, text))
    assert s.population.net_migration == {"2020": 6000.0, "2035": 3000.0}
    text = SCENARIO.replace("natural_growth = 0.022", "growth_rate = 0.03")
    with pytest.raises(ConfigError, match="'net_migration' goes with 'natural_growth'"):
        load_scenario(write(tmp_path, text))
    text = text.replace("net_migration = 6000", 'table = {"2020" = 350000, "2050" = 900000}')
    with pytest.raises(ConfigError, match="only one of"):
        load_scenario(write(tmp_path, text))


def test_catalog_loads_and_resolves(tmp_path):
    c = load_catalog(write(tmp_path, CATALOG, "layers.toml"))
    assert c.name == "Town" and not c.synthetic
    b = c.by_role("builtup")[0]
    assert b.path == (tmp_path / "b2005.tif").resolve() and b.path_as_written == "b2005.tif"
    assert b.encoding == "binary" and b.year == 2005


@pytest.mark.parametrize("old,new,needle", [
    ('path = "b2005.tif"', 'path = "b2005.tif"\nfoo = 1', "unknown key 'foo'; valid keys are: role, year"),
    ('role = "builtup"', 'role = "bilt"', "unknown role 'bilt'"),
    ("year = 2005", "year = 2005\nencoding = \"ghs\"", "unknown encoding 'ghs'"),
    ("year = 2005", "", "needs a 'year'"),
    ("year = 2005", 'year = "2005"', "'year' must be a whole number"),
    ('role = "boundary"', 'role = "roads"', "no layer has role 'boundary'"),
])
def test_catalog_errors(tmp_path, old, new, needle):
    path = write(tmp_path, CATALOG.replace(old, new, 1), "layers.toml")
    with pytest.raises(ConfigError) as err:
        load_catalog(path)
    assert needle in str(err.value) and str(path) in str(err.value)


def test_committed_scenarios_load():
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        s = load_scenario(path)
        assert s.layers.exists(), f"{path} names a missing catalog {s.layers}"
        load_catalog(s.layers)


def test_catalog_country_is_an_iso_alpha3_code(tmp_path):
    from expansion.config import load_catalog
    from expansion.errors import ConfigError

    base = '[[layers]]\nrole = "boundary"\npath = "b.gpkg"\n'
    (tmp_path / "a.toml").write_text('name = "X"\ncountry = "ETH"\n' + base)
    assert load_catalog(tmp_path / "a.toml").country == "ETH"
    (tmp_path / "b.toml").write_text('name = "X"\n' + base)
    assert load_catalog(tmp_path / "b.toml").country is None
    (tmp_path / "c.toml").write_text('name = "X"\ncountry = "Ethiopia"\n' + base)
    with pytest.raises(ConfigError, match="ISO 3166 alpha-3"):
        load_catalog(tmp_path / "c.toml")
