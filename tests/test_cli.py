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
    for cmd in ("run", "layers", "backtest", "batch", "compare", "demo"):
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
    assert "no population for both 2005 and 2020" in proc.stderr
    summary = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert summary["density"]["source"] == "reference"
    assert any("no population for both" in w for w in summary["warnings"])
    assert summary["migration"] is None   # natural growth only


def _demand(folder: Path) -> list[dict]:
    import csv

    with open(folder / "demand.csv", newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
