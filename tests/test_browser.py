"""Open the pages in headless Chromium with the network cut off.

Each page is loaded once with ``--dump-dom`` (the DOM after scripts ran),
console messages on stderr and a network log, and once more for a screenshot
(saved in the test's tmp_path, for a person to look at).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import LineString, box

from expansion.grid import Grid
from expansion.outputs.web import html_page, index, leaflet, raster, vector

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not on PATH (Debian: apt-get install chromium)"),
]

# Chromium's own background requests (updates, time, accounts) are not the page's.
BROWSER_HOSTS = ("google.com", "googleapis.com", "gstatic.com", "gvt1.com", "~notfound")


def chromium(page: Path, tmp: Path, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess:
    args = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--disable-default-apps", "--disable-extensions",
        f"--user-data-dir={tmp / 'profile'}",
        # no network: nothing external can load
        "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
        "--window-size=1280,900", "--virtual-time-budget=5000",
        *extra, page.resolve().as_uri(),
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


def requested_urls(netlog: Path) -> set[str]:
    """The network URLs in a Chromium net log, less the browser's own background requests."""
    text = netlog.read_text(errors="replace")
    try:
        events = json.loads(text)["events"]
        urls = {str(e["params"][k]) for e in events for k in ("url", "original_url")
                if isinstance(e.get("params"), dict) and k in e["params"]}
    except (ValueError, KeyError):  # a log cut short: fall back to a text search
        urls = set(re.findall(r"\b(?:https?|wss?)://[^\"\s\\<>;]+", text))
    return {u for u in urls if urlsplit(u).scheme in ("http", "https", "ws", "wss")
            and not (urlsplit(u).hostname or "").endswith(BROWSER_HOSTS)}


def load(page: Path, tmp: Path) -> tuple[str, list[str], set[str]]:
    """Load a page: its DOM after scripts ran, its console messages, the URLs it asked for."""
    netlog = tmp / f"{page.stem}.netlog.json"
    run = chromium(page, tmp, "--dump-dom", "--enable-logging=stderr", "--v=0", f"--log-net-log={netlog}")
    assert run.returncode == 0, run.stderr[-2000:]
    console = [line for line in run.stderr.splitlines() if ":CONSOLE" in line]
    return run.stdout, console, requested_urls(netlog)


def open_offline(page: Path, tmp: Path) -> str:
    """Load a page; fail on console messages or requests it makes; screenshot it; return its DOM."""
    dom, console, urls = load(page, tmp)
    assert not console, "console messages:\n" + "\n".join(console)
    assert not urls, f"the page asked the network for {sorted(urls)}"
    shot = tmp / f"{page.stem}.png"
    chromium(page, tmp, f"--screenshot={shot}")
    assert shot.exists() and shot.stat().st_size > 10_000
    return dom


def elements(dom: str, tag: str, cls: str) -> int:
    """How many ``tag`` elements carry the class ``cls``."""
    classes = re.findall(rf"<{tag}\b[^>]*?\bclass=\"([^\"]*)\"", dom)
    return sum(cls in c.split() for c in classes)


def small_map(tmp_path: Path) -> Path:
    n = 120
    g = Grid(crs="EPSG:32637", left=500_010.0, top=1_003_600.0, res=30.0, width=n, height=n)
    rows, cols = np.mgrid[0:n, 0:n]
    dem = 2000 + 60 * np.sin(cols / 14.0) * np.cos(rows / 17.0) + rows * 0.8
    score = (cols / n).astype("float32")
    score[np.hypot(rows - 60, cols - 60) < 12] = np.nan
    classes = ((rows // 30 + cols // 30) % 3).astype("int16")
    left, bottom, right, top = g.bounds
    gdf = gpd.GeoDataFrame(
        {"name": ['<b>Ñandú</b> & "co"', "ring road"], "hectares": [20.25, 0.0]},
        geometry=[box(left + 900, bottom + 900, left + 1500, bottom + 1500),
                  LineString([(left, top - 600), (right, top - 600)])],
        crs=g.crs,
    )
    page = leaflet.make_map(
        '<script>alert(1)</script> & "Ñandú"', "Scenario: medium migration - land suitability", g,
        [raster.RasterLayer("Land suitability", score, g, "YlGn_09", 0, 1, "score, 0 unsuitable to 1 best"),
         raster.RasterLayer("Zones", classes, g, legend="zone", opacity=0.5,
                          categories={0: ("A", "#e41a1c"), 1: ("B", "#377eb8"), 2: ("C", "#4daf4a")}),
         vector.VectorLayer("Risk hotspots", gdf, {"color": "#b30000", "weight": 3, "fillOpacity": 0.25},
                          {"name": "Name", "hectares": "hectares"}, "hectares at high risk")],
        hillshade=raster.hillshade(dem, g.res), synthetic=True,
    )
    return leaflet.write_html(tmp_path / "map.html", page)


def test_map_renders_offline(tmp_path):
    dom = open_offline(small_map(tmp_path), tmp_path)
    assert "alert(1)" not in re.sub(r"&lt;script&gt;alert\(1\)", "", dom)
    # hillshade + two raster overlays
    assert elements(dom, "img", "leaflet-image-layer") == 3
    # the polygon and the line
    assert elements(dom, "path", "leaflet-interactive") == 2
    assert elements(dom, "div", "leaflet-control-layers") == 1
    assert elements(dom, "div", "leaflet-control-scale") == 1
    assert elements(dom, "div", "xp-legend") == 1 and elements(dom, "div", "xp-badge") == 1
    # OSM is offered, but no tile was asked for
    assert "OpenStreetMap (needs internet)" in dom
    assert elements(dom, "img", "leaflet-tile") == 0


def test_index_page_renders_offline(tmp_path):
    rows = [{"year": y, "population": 350_000 * 1.04 ** (y - 2020),
             "density_pph": 80 * 0.99 ** (y - 2020), "land_need_ha": 4375 * 1.05 ** (y - 2020),
             "new_land_ha": 300.0} for y in range(2020, 2051, 5)]
    summary = {"city": "Demo City", "scenario": "demo-medium-migration", "synthetic": True,
               "base_year": 2020, "horizon_year": 2050, "population_horizon": rows[-1]["population"],
               "land_need_ha": rows[-1]["land_need_ha"],
               "risk": {"bau": {"high_risk_people": 41_000, "high_risk_ha": 640, "hazard_share": 0.2}}}
    page = index.index_page(summary, rows, [("Land suitability", "map.html")], "Demo City", True)
    path = tmp_path / "index.html"
    path.write_text(page, encoding="utf-8")
    dom = open_offline(path, tmp_path)
    assert dom.count("<svg") == 2 and html_page.NOT_COMPUTED in dom
    assert json.dumps("Demo City")[1:-1] in dom


def test_the_checks_catch_a_page_that_fetches_or_fails(tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<html><body><img src="https://tile.openstreetmap.org/1/1/1.png">'
                   '<script>console.error("broken")</script></body></html>', encoding="utf-8")
    _, console, urls = load(bad, tmp_path)
    assert any("broken" in line for line in console)
    assert any("tile.openstreetmap.org" in u for u in urls)


#: The 16 caveats of QA's Rionegro run (its index printed on 3 pages, QA 10).
MANY_CAVEATS = [
    "the density reference is African secondary cities and may not fit a city outside Africa (for planners: "
    "set the catalog's country, ISO 3166 alpha-3)",
    "the study area fills by about 2044: 1,906 hectares of the new land needed by 2049 cannot be placed in "
    "it and is not shown as met (unmet demand); enlarge the study area or choose an earlier horizon (for "
    "planners: the catalog's boundary or the scenario's margin_m)",
    "the base year 2019 is 7 years before this run (2026): the city has grown since, and the deadlines "
    "before 2026 are already past (marked \"overdue: secure now\"); rerun from a more recent base year when "
    "the layers allow",
    "no DEM: the slope factor is dropped and flood exposure uses distance to water only",
    "no water layer: the flood factor is dropped",
    "no roads layer: the arterials and roads factors are dropped",
    "growth: in 2010–2019 the fitted growth model did no better than growing the land nearest today's "
    "built-up land, so the projection uses that simple rule",
    *[f"20{a}–20{a + 5}, {who}: only {n:,} hectares of open land were left in the study area for the 1,737 "
      "hectares of new land needed; all of it is shown as built"
      for a, who, n in ((39, "if nothing is done", 1731), (44, "if nothing is done", 0),
                        (39, "with the plan", 980), (44, "with the plan", 0))],
    "only 6,171 ha of buildable land was found for an expansion area of 21,774 ha (the land need times 1.5): "
    "the study area is too small for the projected growth",
    "no DEM or water layer: flood-prone and steep land cannot be mapped, so hazard is not assessed; the risk "
    "map and the people at high risk show growth pressure and distance to roads only",
    "no roads layer: the risk map leaves out distance to roads (its weight is shared by the other terms), "
    "so it shows hazard and growth pressure only",
    "no population layer: people already living on hazard land are not counted",
    "with the plan too the land fills by about 2044: 2,634 ha of the new land needed by 2049 cannot be "
    "placed (planned unmet demand)",
    "no DEM and no water or flood layer: flood-prone and steep land cannot be mapped, so hazard is not "
    "assessed; the risk map and the people at high risk show growth pressure and distance to roads only",
]


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="needs pdfinfo (Debian: poppler-utils)")
@pytest.mark.parametrize("many", [False, True], ids=["demo", "rionegro-caveats"])
def test_index_prints_as_a_brief_of_at_most_two_a4_pages(tmp_path, many):
    from test_report import PARAMETERS, demand_rows, full_summary

    rows = demand_rows()
    summary = full_summary({
        "city": "Demo City", "scenario": "demo-medium-migration", "synthetic": True, "base_year": 2020,
        "horizon_year": 2050, "population_base": rows[0].population,
        "population_horizon": rows[-1].population,
        "land_need_ha": rows[-1].land_need_ha, "new_land_ha": 11_000.0, "expansion_area_ha": 21_000.4,
        "arterials_planned_km": 183.26, "open_space_ha": 2400.0,
        "risk": {"bau": {"high_risk_ha": 812.0, "high_risk_people": 52_340.2, "hazard_share": 0.234},
                 "planned": {"high_risk_ha": 95.0, "high_risk_people": 6_100.0, "hazard_share": 0.05}}})
    if many:
        summary["warnings"] = MANY_CAVEATS
        summary["plan"]["phases"] = [{"year": y, "arterial_km": 10.0, "row_ha": 30.0, "open_space_ha": 50.0}
                                     for y in range(2024, 2050, 5)]
    # key maps as large as the run's (1,600 x 1,200 px)
    image = raster.png_paletted(np.tile(np.arange(1, 201, dtype="uint8"), (1200, 8)),
                                np.stack([np.arange(256)] * 3, axis=1).astype("uint8"))
    names = ["map_expansion_plan.png", "map_risk_without_plan.png", "map_risk_with_plan.png"]
    for name in names:
        (tmp_path / name).write_bytes(image)
    page = index.index_page(summary, rows, [("Land suitability", "map.html")], "Demo City", True,
                            parameters=PARAMETERS, images=[(n, n) for n in names])
    path = tmp_path / "index.html"
    path.write_text(page, encoding="utf-8")
    pdf = tmp_path / "index.pdf"
    chromium(path, tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    assert "pts (A4)" in info and pages <= 2, info


def test_map_opens_with_the_city_below_the_caveats_and_beside_the_layer_list(tmp_path):
    """With many caveats the title box neither runs under the layer list nor hides the top of the city:
    the view is fitted below it (QA of Rionegro's maps: the caveats covered the city's north and ran
    under the layer list)."""
    n = 120
    g = Grid(crs="EPSG:32637", left=500_010.0, top=1_003_600.0, res=30.0, width=n, height=n)
    left, bottom, right, top = g.bounds
    city = gpd.GeoDataFrame({"hectares": [1.0]}, geometry=[box(left, bottom, right, top)], crs=g.crs)
    layers = [vector.VectorLayer(f"Crowding (risk not assessed) if nothing is done {i}", city,
                                 {"color": "#000000", "weight": 2}, legend="x", show=False) for i in range(3)]
    page = leaflet.make_map("Rionegro", "Proposal for rionegro-2049: the proposed expansion plan", g,
                            [vector.VectorLayer("City", city, {"color": "#000000", "weight": 2}), *layers],
                            notes=MANY_CAVEATS)
    var = re.search(r"var (map_\w+) = L\.map\(", page).group(1)
    north, west = re.search(r"var bounds = \[\[[-\d.]+, ([-\d.]+)\], \[([-\d.]+), ", page).group(2, 1)
    probe = ("<script>setTimeout(function () {"
             f"var m = {var}, box = m.getContainer().getBoundingClientRect();"
             "var t = document.querySelector('.xp-title').getBoundingClientRect();"
             "var c = document.querySelector('.leaflet-control-layers').getBoundingClientRect();"
             "var p = document.createElement('pre'); p.id = 'probe';"
             "p.textContent = JSON.stringify({title_right: t.right, title_bottom: t.bottom - box.top,"
             f"layers_left: c.left, north_y: m.latLngToContainerPoint([{north}, {west}]).y}});"
             "document.body.appendChild(p);}, 500);</script>")
    path = tmp_path / "map.html"
    path.write_text(page.replace("</html>", probe + "</html>"), encoding="utf-8")
    dom, console, _ = load(path, tmp_path)
    assert not console, console
    got = json.loads(re.search(r'<pre id="probe">([^<]*)</pre>', dom).group(1).replace("&quot;", '"'))
    assert got["title_right"] <= got["layers_left"], got
    assert got["title_bottom"] > 150, got  # the caveats make a tall box ...
    assert got["north_y"] >= got["title_bottom"], got  # ... and the city's north edge is below it
