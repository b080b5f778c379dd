"""The benchmark harness (benchmarks/run.py) runs and reports what DESIGN.md section 5 promises."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

RUN = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"


@pytest.mark.slow
def test_benchmark_on_a_small_region(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, str(RUN), "--sizes", "200", "--json", str(out),
                           "--regions", str(tmp_path / "regions")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    (r,) = json.loads(out.read_text())
    rows, cols = r["grid"]
    assert r["size"] == 200 and r["cells"] == 200 * 200 and r["grid_cells"] == rows * cols > 0
    assert list(r["stages"]) == ["layers", "demand", "suitability", "growth", "plan", "growth_planned",
                                 "risk", "metrics", "write", "maps"]
    assert set(r["stage_peak_mb"]) == set(r["stages"]) == set(r["stage_peak_anon_mb"])
    assert 0 < r["peak_anon_mb"] <= r["peak_mb"]
    assert r["us_per_cell"] == pytest.approx(r["total_s"] / r["grid_cells"] * 1e6, rel=0.01)
    assert "us/cell" in proc.stdout and "200" in proc.stdout
    # the region is kept for the next run, its stack cache is not
    assert (tmp_path / "regions" / "demo-200" / "layers.toml").is_file()
    assert not (tmp_path / "regions" / "demo-200" / ".cache").exists()


SKILL = RUN.parent / "skill.py"


@pytest.mark.slow
def test_skill_benchmark_on_the_demo(tmp_path):
    out = tmp_path / "skill.json"
    proc = subprocess.run([sys.executable, str(SKILL), "--cases", "demo", "--json", str(out), "--markdown"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    (case,) = json.loads(out.read_text())["cases"]
    (w,) = case["windows"]
    assert w["window"] == [1995, 2005, 2020] and w["in_sample"]
    assert w["nearest_builtup"]["min"] <= w["nearest_builtup"]["mean"] <= w["nearest_builtup"]["max"]
    assert w["versus_nearest"]["low"] <= w["versus_nearest"]["difference"] <= w["versus_nearest"]["high"]
    assert 0 <= w["probability"]["ece"] <= 1 and w["quantity_ratio"] > 0
    assert w["model"]["runs"] == 20 and "| demo | 1995→2005, 2005→2020 |" in proc.stdout


PLAN_REAL = RUN.parent / "plan_real.py"


def load_plan_real():
    import importlib.util

    spec = importlib.util.spec_from_file_location("plan_real", PLAN_REAL)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_network_pieces_joins_lines_that_meet():
    import shapely

    pr = load_plan_real()
    lines = [shapely.LineString([(0, 0), (2000, 0)]), shapely.LineString([(2000, 0), (2000, 1500)]),
             shapely.LineString([(5000, 0), (5500, 0)])]
    pieces, short = pr.network_pieces(lines)
    assert pieces == 2
    assert short == pytest.approx(500 / 4000)
    assert pr.network_pieces([]) == (0, 0.0)


@pytest.mark.slow
def test_plan_real_on_rionegro(tmp_path, shared_data):
    """The issue-14 checks on a real city: figures read back from the run's own files."""
    out = tmp_path / "rows.json"
    proc = subprocess.run([sys.executable, str(PLAN_REAL), "--cases", "rionegro", "--json", str(out),
                           "--keep", str(tmp_path / "runs"), "--markdown"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    (r,) = json.loads(out.read_text())
    assert r["case"] == "rionegro" and r["peak_mb"] > 0 and r["pieces"] >= 1
    assert r["high_risk_ok"] and r["phases_ok"]
    assert r["warnings_shown"], r["warnings_missing"]
    assert 0 <= r["crossings_share"] < 1 and 0 < r["bau_growth_share"] <= 1
    assert "| rionegro |" in proc.stdout
