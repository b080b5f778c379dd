"""`expansion compare A B C --baseline A --out page.html`: run folders read from disk, the page a council
reads, and its print on A4 (no column cut)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys

import pytest
from test_report import PARAMETERS, demand_rows, full_summary, plan_layers

ROWS = demand_rows()


def run_folder(root, name: str, migration: float, shift_m: float, scale: float, city: str = "Test City",
               crs: str = "EPSG:32637"):
    """A run folder as `expansion run` writes it: summary.json, demand.csv, run.json, plan.gpkg."""
    folder = root / name
    folder.mkdir()
    base = {"city": city, "scenario": name, "synthetic": True, "base_year": 2020, "horizon_year": 2050,
            "population_base": 350_000.0, "population_horizon": ROWS[-1].population * scale,
            "land_need_ha": ROWS[-1].land_need_ha * scale, "new_land_ha": 9000.0 * scale,
            "expansion_area_ha": 1600.0, "arterials_planned_km": 40.0, "open_space_ha": 200.0,
            "risk": {"bau": {"high_risk_people": 40_000.0 * scale, "high_risk_ha": 600.0},
                     "planned": {"high_risk_people": 500.0, "high_risk_ha": 8.0}}}
    summary = {**full_summary(base), "warnings": [f"caveat of {name}"]}
    (folder / "summary.json").write_text(json.dumps(summary))
    with open(folder / "demand.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["year", "population", "density_pph", "land_need_ha", "new_land_ha"])
        for r in ROWS:
            w.writerow([r.year, r.population * scale, r.density_pph, r.land_need_ha * scale,
                        r.new_land_ha * scale])
    params = {**PARAMETERS, "population": {**PARAMETERS["population"], "net_migration": migration}}
    (folder / "run.json").write_text(json.dumps({"written_by": "expansion", "parameters": params}))
    for layer, gdf in plan_layers(shift_m, crs).items():
        gdf.to_file(folder / "plan.gpkg", layer=layer, driver="GPKG")
    return folder


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    a = run_folder(root, "medium", 8000, 0.0, 1.0)
    b = run_folder(root, "low", 3000, 1000.0, 0.8)
    c = run_folder(root, "high", 12000, 2000.0, 1.25)
    out = root / "council" / "page.html"
    proc = subprocess.run([sys.executable, "-m", "expansion.cli", "compare", str(b), str(a), str(c),
                           "--baseline", str(a), "--out", str(out)], capture_output=True, text=True, cwd=root)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[2].startswith("medium *")  # the baseline comes first
    return out


def test_the_page_compares_against_the_baseline(page):
    html = page.read_text(encoding="utf-8")
    table = html.split('<table class="compare">')[1].split("</table>")[0]
    head = table.split("</thead>")[0]
    assert head.index("medium (baseline)") < head.index("low") < head.index("high")
    assert "3,000 people a year arriving" in table and "12,000 people a year arriving" in table
    assert "(-20 %)" in table and "(+25 %)" in table
    assert "800 hectares of land lie in every scenario" in html
    # links to each run's pages, relative to where the page is
    for name in ("medium", "low", "high"):
        assert f'href="../{name}/index.html"' in html and f"caveat of {name}" in html


def test_runs_of_different_cities_or_crs_get_a_warning_and_no_map(tmp_path):
    """QA 16: Bacau + Rionegro drew a 2,000 km map and '0 hectares ... in every scenario', silently."""
    a = run_folder(tmp_path, "bacau", 800, 0.0, 1.0, city="Bacau")
    b = run_folder(tmp_path, "rionegro", 2500, 0.0, 1.0, city="Rionegro", crs="EPSG:32618")
    c = run_folder(tmp_path, "bacau-utm34", 800, 0.0, 1.0, city="Bacau", crs="EPSG:32634")
    for runs, why in (([a, b], "different cities (Bacau, Rionegro)"),
                      ([a, c], "different coordinate systems (EPSG:32634, EPSG:32637)")):
        out = tmp_path / f"{runs[1].name}.html"
        proc = subprocess.run([sys.executable, "-m", "expansion.cli", "compare", *map(str, runs), "--out",
                               str(out)], capture_output=True, text=True, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert why in proc.stderr
        html = out.read_text(encoding="utf-8")
        section = html.split("every scenario needs</h2>")[1].split("<h2>")[0]
        assert "No map: the runs" in section and why in html and "<svg" not in section
        assert "lie in every scenario" not in html


def test_a_baseline_outside_the_runs_is_added_first(tmp_path):
    from expansion.pipeline.compare import order_with_baseline

    a, b = tmp_path / "a", tmp_path / "b"
    assert order_with_baseline([b], a) == [a, b]
    assert order_with_baseline([b, a], a) == [a, b]
    assert order_with_baseline([b, a], None) == [b, a]


@pytest.mark.browser
@pytest.mark.skipif(shutil.which("chromium") is None or shutil.which("pdftotext") is None,
                    reason="needs chromium and pdftotext (Debian: chromium, poppler-utils)")
def test_the_page_prints_on_a4_without_cutting_a_column(page, tmp_path):
    pdf = tmp_path / "page.pdf"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    "--disable-background-networking", f"--print-to-pdf={pdf}", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert "pts (A4)" in info
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    # every column is on the paper: the last scenario's figures and the "which way is better" column
    assert "which way is" in text and "lower is better" in text
    assert "1,140,899" in text  # the high scenario's population at the horizon (last scenario column)
