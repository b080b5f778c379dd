"""The command line as a user meets it: exit codes, one-line messages, files written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def expansion(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "expansion.cli", *args], capture_output=True, text=True,
                          cwd=cwd or ROOT, timeout=600)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The error a user sees: exactly one line starting with 'error:' and no traceback."""
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_help_and_version():
    proc = expansion("--help")
    assert proc.returncode == 0
    for cmd in ("run", "demand", "layers", "backtest", "batch", "compare", "demo"):
        assert cmd in proc.stdout
    assert expansion("--version").returncode == 0


def test_usage_errors_exit_2():
    assert expansion("run").returncode == 2
    assert expansion("run", "x.toml", "--runs", "0").returncode == 2
    assert expansion("layers", "import", "c.toml", "--role", "nonsense", "f.tif").returncode == 2
    assert expansion("frobnicate").returncode == 2


def test_missing_scenario_is_one_line(tmp_path):
    msg = one_line_error(expansion("run", str(tmp_path / "nope.toml")))
    assert "scenario file not found" in msg and "nope.toml" in msg


def test_directory_for_scenario(tmp_path):
    msg = one_line_error(expansion("run", str(tmp_path)))
    assert "is a directory" in msg


def test_scenario_with_unknown_key_writes_nothing(tmp_path):
    text = (ROOT / "scenarios" / "bacau-backtest.toml").read_text()
    text = text.replace("runs = 10", "runs = 10\nrnus = 3")
    scen = tmp_path / "s.toml"
    scen.write_text(text.replace('"../layers/', f'"{ROOT}/layers/'))
    out = tmp_path / "out"
    msg = one_line_error(expansion("run", str(scen), "--out", str(out)))
    assert "unknown key 'rnus'" in msg and "valid keys are" in msg
    assert not out.exists()


def test_layers_check_missing_file(tmp_path):
    catalog = 'name = "X"\n[[layers]]\nrole = "boundary"\npath = "nowhere.gpkg"\n'
    (tmp_path / "layers.toml").write_text(catalog)
    proc = expansion("layers", "check", str(tmp_path / "layers.toml"))
    msg = one_line_error(proc)
    assert "nowhere.gpkg" in msg or "nowhere.gpkg" in proc.stdout


def test_layers_check_bacau(shared_data):
    proc = expansion("layers", "check", "layers/bacau/layers.toml")
    assert proc.returncode == 0, proc.stderr
    assert "1975,1990,2000,2014" in proc.stdout and "EPSG:4326" in proc.stdout


OBSERVED = """
name = "observed-trend"
layers = "region/layers.toml"
base_year = 2020
horizon_year = 2030
step_years = 5
resolution_m = 30
[population]
base = 8000
{population}
[density]
base = "observed"
annual_change = "observed"
[growth]
calibrate_from = 2005
runs = 2
seed = 3
"""


@pytest.mark.slow
def test_observed_density_trend_is_found_or_the_fallback_says_why(tmp_path):
    import json

    from expansion.demo import write_demo

    write_demo(tmp_path / "region", size=100, seed=5)
    (tmp_path / "with.toml").write_text(OBSERVED.format(population='table = { "2005" = 6000, "2020" = 8000, '
                                                                   '"2030" = 10000 }'))
    (tmp_path / "without.toml").write_text(OBSERVED.format(population="natural_growth = 0.02"))
    proc = expansion("run", "with.toml", "--out", "a", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "density trend observed 2005->2020" in proc.stderr and "ETH" in proc.stderr
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    d = summary["density"]
    assert d["source"] == "observed" and d["observed"]["from_year"] == 2005
    assert d["reference"]["scope"] == "ETH" and d["plan_for"] == "high"
    low, central, high = summary["land_need_ha_range"]
    assert low <= central <= high
    csv_new_land = sum(r["new_land_ha"] for r in _demand(tmp_path / "a"))
    assert summary["new_land_ha"] == pytest.approx(csv_new_land, abs=0.01)   # one figure of new land
    proc = expansion("run", "without.toml", "--out", "b", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "population is not known for both 2005 and 2020" in proc.stderr
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["density"]["source"] == "reference"
    assert any("population is not known for both" in w for w in summary["warnings"])
    assert summary["migration"] is None   # natural growth only


def _demand(folder: Path) -> list[dict]:
    import csv

    with open(folder / "demand.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


# ---------------------------------------------------------------- issue 17: slips


def test_catalog_given_as_a_scenario_says_so():
    msg = one_line_error(expansion("run", "layers/demo/layers.toml"))
    assert "this is a layers catalog, not a scenario" in msg and "{" not in msg


def test_unknown_top_level_key_lists_layers_among_the_valid_ones(tmp_path):
    scen = tmp_path / "s.toml"
    scen.write_text((ROOT / "scenarios" / "demo.toml").read_text() .replace("step_years", "setp_years"))
    msg = one_line_error(expansion("run", str(scen)))
    assert "unknown key 'setp_years'" in msg and "layers, base_year" in msg


def test_missing_catalog_is_said_once_relative_to_the_scenario(tmp_path):
    scen = tmp_path / "sub" / "s.toml"
    scen.parent.mkdir()
    scen.write_text((ROOT / "scenarios" / "demo.toml").read_text())   # ../layers/demo/layers.toml
    msg = one_line_error(expansion("run", str(scen)))
    assert msg.count("layers.toml") == 1 and "relative to the scenario file's folder" in msg
    assert str(tmp_path / "layers" / "demo" / "layers.toml") in msg


def test_quiet_and_verbose_work_after_the_subcommand(tmp_path):
    proc = expansion("demo", str(tmp_path / "d"), "--size", "60", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "demo 1/10" not in proc.stderr
    proc = expansion("run", str(tmp_path / "nope.toml"), "-v")
    assert proc.returncode == 1 and "Traceback" in proc.stderr   # -v after the command: the traceback


def test_batch_takes_runs_and_seed_and_its_help_names_out_root():
    proc = expansion("batch", "--help")
    assert "--runs" in proc.stdout and "--seed" in proc.stdout and "--out-root" in proc.stdout
    for command, words in (("compare", "comparison page this tool wrote"), ("demo", "earlier demo region")):
        assert words in " ".join(expansion(command, "--help").stdout.split())


def test_batch_worker_messages_name_their_scenario():
    import io
    import logging
    import threading

    from expansion.pipeline.batch import named_warnings

    root = logging.getLogger("expansion")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    root.addHandler(handler)
    try:
        with named_warnings("city-a.toml"):
            logging.getLogger("expansion.growth").warning("demand not met in %d", 2070)
            other = threading.Thread(target=lambda: logging.getLogger("expansion.plan").warning("elsewhere"))
            other.start()
            other.join()
    finally:
        root.removeHandler(handler)
    lines = out.getvalue().splitlines()
    assert lines == ["city-a.toml: demand not met in 2070", "elsewhere"]   # only its own thread's


def test_python_warnings_are_one_line_of_the_tool(capsys):
    import warnings

    from expansion.cli.app import _setup_logging

    saved = warnings.showwarning
    try:
        _setup_logging(0, False)
        warnings.warn("Dataset has no geotransform, gcps, or rpcs.\nThe identity matrix will be returned.",
                      UserWarning, stacklevel=1)
    finally:
        warnings.showwarning = saved
    err = capsys.readouterr().err
    assert err == "warning: Dataset has no geotransform, gcps, or rpcs.\n"


def test_heartbeat_on_a_terminal_only(monkeypatch):
    import io
    import logging
    import threading

    from expansion.cli import progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    monkeypatch.setattr("sys.stderr", tty)
    monkeypatch.setattr(logging.getLogger("expansion"), "level", logging.INFO)   # as without -q
    done = threading.Event()
    with progress.Heartbeat(quiet_after_s=0.0) as beat:
        assert beat.enabled
        done.wait(2.5)   # a silent stage: at least one beat
    assert "working ..." in tty.getvalue() and tty.getvalue().endswith("\r\033[K")
    plain = io.StringIO()
    monkeypatch.setattr("sys.stderr", plain)
    with progress.Heartbeat(quiet_after_s=0.0) as beat:
        assert not beat.enabled
    assert plain.getvalue() == ""


def test_demand_prints_the_table_without_building_the_layers(tmp_path):
    from expansion.demo import write_demo

    write_demo(tmp_path / "region", size=100, seed=5)
    shock = "shocks = [{ year = 2020, persons = 2000, over_years = 2 }]"
    (tmp_path / "calm.toml").write_text(OBSERVED.format(population="natural_growth = 0.02")
                                        .replace('"observed"\n[growth]', "-0.01\n[growth]"))
    (tmp_path / "shock.toml").write_text((tmp_path / "calm.toml").read_text()
                                         .replace("natural_growth = 0.02", f"natural_growth = 0.02\n{shock}"))
    before = sorted(p.name for p in (tmp_path / "region").iterdir())
    calm = expansion("demand", "calm.toml", cwd=tmp_path)
    assert calm.returncode == 0, calm.stderr
    assert "land need (ha)" in calm.stdout and "land need in 2030" in calm.stdout
    assert "reference" in calm.stdout
    assert sorted(p.name for p in (tmp_path / "region").iterdir()) == before   # no stack was cached
    shocked = expansion("demand", "shock.toml", cwd=tmp_path)
    assert shocked.returncode == 0, shocked.stderr

    def population(text: str, year: int) -> float:
        row = next(ln for ln in text.splitlines() if ln.strip().startswith(str(year)))
        return float(row.split()[1].replace(",", ""))

    assert population(shocked.stdout, 2020) == population(calm.stdout, 2020)
    # 2,000 arrive during 2020-2021 and grow 2 % a year from their arrival: 1000·1.02^9 + 1000·1.02^8
    assert population(shocked.stdout, 2030) - population(calm.stdout, 2030) == pytest.approx(
        1000 * 1.02**9 + 1000 * 1.02**8, abs=1.5)
    assert "Migration" not in calm.stdout   # natural growth only: no migration line
    assert "Migration brings" in shocked.stdout


@pytest.mark.slow
def test_observed_trend_from_a_population_layer_of_each_epoch(tmp_path):
    import json

    import rasterio

    from expansion.demo import write_demo

    region = tmp_path / "region"
    write_demo(region, size=100, seed=5)
    with rasterio.open(region / "population_2020.tif") as src:
        profile, data = src.profile, src.read(1)
    with rasterio.open(region / "population_2005.tif", "w", **profile) as dst:
        dst.write(data * 0.6, 1)
    catalog = (region / "layers.toml").read_text()
    # listed first: the run must still take the base density from the 2020 layer alone
    catalog = catalog.replace("[[layers]]", '[[layers]]\nrole = "population"\npath = "population_2005.tif"\n'
                                            "year = 2005\n\n[[layers]]", 1)
    (region / "layers.toml").write_text(catalog)
    (tmp_path / "s.toml").write_text(OBSERVED.format(population="natural_growth = 0.02"))
    proc = expansion("run", "s.toml", "--out", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    d = json.loads((tmp_path / "out" / "summary.json").read_text())["density"]
    assert d["source"] == "observed" and d["observed"]["population_source"] == "population layers"
    assert d["growth_base_source"] == "population layer"
    built_ha = json.loads((tmp_path / "out" / "summary.json").read_text())["builtup_base_ha"]
    layer_2020 = float(data[data > 0].sum()) / built_ha   # the demo puts people on built-up cells only
    assert d["growth_base_pph"] == pytest.approx(layer_2020, rel=0.02)   # the 2020 layer, not 0.6 times it
    warnings = json.loads((tmp_path / "out" / "summary.json").read_text())["warnings"]
    assert any("population layer gives" in w for w in warnings)   # 8,000 people given, ~5,000 in the layer


def test_page_says_when_the_density_is_the_reference_median():
    from expansion.outputs.web.sections import density_sentence

    text = density_sentence({"density": {"annual_change": -0.023, "source": "reference"}})
    assert "could not be measured" in text and "given in the scenario" not in text
