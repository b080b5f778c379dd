"""Offline HTML maps: raster and vector layers on one Leaflet page.

Pure functions: arrays on a :class:`~expansion.grid.Grid` and GeoDataFrames in,
complete HTML text out; only :func:`write_html` touches a file.

The pages are made for officials who open them offline on modest laptops:

- no network: Leaflet's script and stylesheet are inlined from the
  ``xstatic-leaflet`` package (its images become data URIs); folium's other
  default assets (jQuery, Bootstrap, Font Awesome, awesome-markers) are not
  used by these maps and are left out;
- the default background is a hillshade computed from the DEM; OpenStreetMap
  tiles are an optional background that only loads with a connection;
- rasters are warped from the grid's CRS to Web Mercator (EPSG:3857), the
  map's own projection, before they are drawn, so they line up with the
  vectors (which are converted to EPSG:4326 here and nowhere else);
- every user string (city, scenario, layer names, attribute values) is
  HTML-escaped;
- the same inputs give byte-identical HTML (element ids come from a counter,
  not from random UUIDs).
"""

from __future__ import annotations

import base64
import functools
import html
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ...grid import Grid
from .labels import LabelLayer
from .legend import label_legend, raster_legend, vector_legend
from .raster import (
    MAX_OVERLAY_PX,
    Overlay,
    RasterLayer,
    hillshade_overlay,
    latlon_bounds,
    mercator_frame,
    raster_overlay,
)
from .vector import VectorLayer, tooltip_items, vector_geojson

#: Pane z-indexes (Leaflet: tiles 200, overlays/vectors 400): the hillshade
#: lies over tiles, raster overlays under the vectors, whatever the order in
#: which a user toggles them.
_HILLSHADE_Z = 250
_RASTER_Z = 350

# ---------------------------------------------------------------- offline assets


@functools.lru_cache(maxsize=1)
def leaflet_assets() -> tuple[str, str, str]:
    """Leaflet's (version, script, stylesheet), from the ``xstatic-leaflet`` package.

    Source-map comments are dropped and the stylesheet's images are inlined
    as data URIs, so nothing is fetched.
    """
    try:
        from xstatic.pkg import leaflet as xleaflet
    except ImportError:  # pragma: no cover - a packaging error, not bad data
        raise RuntimeError(
            "the offline maps need Leaflet from the 'xstatic-leaflet' package: pip install xstatic-leaflet"
        ) from None
    base = Path(xleaflet.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    js = re.sub(r"\n//# sourceMappingURL=\S*\s*$", "\n", js)
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    css = re.sub(r"/\*# sourceMappingURL=.*?\*/", "", css)

    def inline(match: re.Match) -> str:
        path = base / match.group(1)
        return "url(data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii") + ")"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)
    if "</script" in js.lower() or "</style" in css.lower():  # pragma: no cover - cannot inline safely
        raise RuntimeError("Leaflet's files contain a closing tag and cannot be inlined")
    return xleaflet.VERSION, js, css


# ---------------------------------------------------------------- page

_PAGE_CSS = """
html, body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; }
.leaflet-container { font-family: inherit; background: #f4f3ef; }
.xp-title { position: absolute; z-index: 1000; top: 10px; left: 54px; max-width: calc(100% - 450px);
  box-sizing: border-box;
  background: rgba(255,255,255,0.94); border-radius: 6px; padding: 8px 12px;
  box-shadow: 0 1px 5px rgba(0,0,0,0.35); pointer-events: auto; }
.xp-title h1 { font-size: 18px; margin: 0; line-height: 1.25; color: #1b1b1b; }
.xp-title p { font-size: 13px; margin: 3px 0 0; color: #444; }
.xp-badge { display: inline-block; margin-top: 5px; padding: 2px 8px; border-radius: 10px;
  background: #c0392b; color: #fff; font-size: 12px; font-weight: 600; letter-spacing: 0.02em; }
.xp-legend { position: absolute; z-index: 1000; right: 10px; bottom: 26px; max-width: 300px;
  max-height: calc(100% - 130px); overflow-y: auto; background: rgba(255,255,255,0.94);
  border-radius: 6px; padding: 8px 10px; box-shadow: 0 1px 5px rgba(0,0,0,0.35);
  font-size: 12px; color: #222; }
.xp-legend h2 { font-size: 13px; margin: 0 0 4px; }
.xp-entry { margin: 6px 0 0; }
.xp-entry .xp-name { font-weight: 600; }
.xp-entry .xp-units { color: #555; }
.xp-bar { height: 10px; border: 1px solid #999; margin-top: 3px; }
.xp-ticks { display: flex; justify-content: space-between; color: #333; }
.xp-swatch { display: inline-block; width: 14px; height: 11px; border: 1px solid #777;
  vertical-align: middle; margin-right: 5px; }
.xp-row { margin-top: 2px; }
.xp-line { display: inline-block; width: 18px; height: 0; vertical-align: middle; margin-right: 5px; }
.leaflet-control-layers-expanded { font-size: 13px; }
.xp-notes { margin-top: 6px; padding: 4px 8px; background: #fff8e1; border-left: 3px solid #b7791f;
  font-size: 12px; color: #3d2c00; }
.xp-notes ul { margin: 2px 0 0; padding-left: 16px; max-height: 28vh; overflow-y: auto; }
.xp-label { background: none; border: none; white-space: nowrap; color: #1b1b1b; font-weight: 600;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; pointer-events: none; }
.xp-label span { display: inline-block; transform: translate(-50%, -50%); }
.xp-label-1 { font-size: 15px; } .xp-label-2 { font-size: 13px; }
.xp-label-3 { font-size: 11px; font-weight: 500; font-style: italic; color: #333; }
.xp-legend-btn { display: none; position: absolute; z-index: 1001; right: 10px; bottom: 26px;
  padding: 7px 12px; border-radius: 6px; border: 1px solid #888; background: #fff; font: inherit;
  font-size: 14px; font-weight: 600; box-shadow: 0 1px 5px rgba(0,0,0,0.35); }
@media (max-width: 700px) {
  .xp-title { left: 50px; right: 56px; max-width: none; padding: 5px 8px; }
  .xp-title h1 { font-size: 15px; } .xp-title p { font-size: 12px; }
  .xp-legend-btn { display: block; }
  .xp-legend { display: none; bottom: 70px; left: 10px; right: 10px; max-width: none; max-height: 55%; }
  body.xp-legend-open .xp-legend { display: block; }
}
@page { size: A4 landscape; margin: 10mm; }
@media print {
  html, body { height: auto !important; overflow: visible !important; }
  body { display: flex; flex-direction: column; }
  .folium-map { position: relative !important; width: 100% !important; height: 118mm !important;
    border: 1px solid #999; }
  .xp-title { order: -1; position: static; max-width: none !important; box-shadow: none; padding: 0 0 4px; }
  .xp-legend { position: static; display: block !important; max-width: none; max-height: none;
    box-shadow: none; overflow: visible; columns: 4; column-gap: 14px; padding: 4px 0 0; font-size: 9px; }
  .xp-legend h2 { display: none; }
  .xp-entry { break-inside: avoid; }
  .leaflet-control-layers, .leaflet-control-zoom, .xp-legend-btn,
  .leaflet-control-attribution { display: none; }
}
"""

def _elements():
    """folium/branca element classes used by make_map (imported lazily: folium is slow to import)."""
    import folium
    from branca.element import Element, MacroElement
    from jinja2 import Template

    class Raw(Element):
        """Literal HTML (already escaped by us; never read as a template)."""

        _template = Template("{{ this.text }}")

        def __init__(self, text: str):
            super().__init__()
            self._name = "Raw"
            self.text = text

    class Legend(MacroElement):
        """The legend box; an entry hides while its layer is switched off."""

        _template = Template("""
{% macro html(this, kwargs) %}
<div class="xp-legend" id="{{ this.get_name() }}"><h2>Legend</h2>
{%- for layer, body in this.entries %}
<div class="xp-entry" data-layer="{{ layer.get_name() }}"
{%- if not layer.show %} style="display:none"{% endif %}>{{ body }}</div>
{%- endfor %}
</div>
{% endmacro %}
{% macro script(this, kwargs) %}
(function () {
  var entries = {
  {%- for layer, body in this.entries %}
    {{ layer.get_name()|tojson }}: {{ layer.get_name() }},
  {%- endfor %}
  };
  function toggle(e) {
    var box = document.getElementById({{ this.get_name()|tojson }});
    for (var key in entries) {
      if (entries[key] === e.layer) {
        var el = box.querySelector('[data-layer="' + key + '"]');
        if (el) { el.style.display = (e.type === 'overlayadd') ? '' : 'none'; }
      }
    }
  }
  {{ this._parent.get_name() }}.on('overlayadd overlayremove', toggle);
})();
{% endmacro %}
""")

        def __init__(self, entries: list):
            super().__init__()
            self._name = "Legend"
            self.entries = entries

    class Behaviour(MacroElement):
        """A metric-only scale bar; on narrow screens the layer list and the legend collapse behind
        buttons; before printing the map is refitted to its printed size."""

        _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var map = {{ this._parent.get_name() }}, ctrl = {{ this.control.get_name() }};
  var bounds = {{ this.bounds|tojson }};
  L.control.scale({metric: true, imperial: false, maxWidth: 150}).addTo(map);
  if (window.matchMedia && window.matchMedia('(max-width: 700px)').matches) {
    ctrl.collapse();
    map.on('click', function () { ctrl.collapse(); });
  }
  var btn = document.querySelector('.xp-legend-btn');
  if (btn) {
    btn.addEventListener('click', function () {
      var open = document.body.classList.toggle('xp-legend-open');
      btn.setAttribute('aria-expanded', open ? 'true' : 'false');
    });
  }
  function refit() { map.invalidateSize(false); map.fitBounds(bounds); }
  // on screen the city is fitted below the title and caveats box and left of the legend
  // (each at most half the map), so that neither hides part of it
  function screenFit() {
    var box = map.getContainer().getBoundingClientRect();
    var title = document.querySelector('.xp-title'), legend = document.querySelector('.xp-legend');
    if (title) {  // on wide screens the title box ends where the layer list begins
      var wide = !(window.matchMedia && window.matchMedia('(max-width: 700px)').matches);
      var room = ctrl.getContainer().getBoundingClientRect().left - title.getBoundingClientRect().left - 10;
      title.style.maxWidth = wide && room > 200 ? room + 'px' : '';
    }
    var top = title ? Math.max(0, title.getBoundingClientRect().bottom - box.top + 8) : 0;
    var right = legend && legend.offsetWidth > 0 ? box.right - legend.getBoundingClientRect().left + 8 : 0;
    map.invalidateSize(false);
    map.fitBounds(bounds, {paddingTopLeft: [0, Math.min(top, box.height / 2)], animate: false,
                           paddingBottomRight: [Math.min(Math.max(0, right), box.width / 2), 0]});
  }
  screenFit();
  window.addEventListener('beforeprint', refit);
  window.addEventListener('afterprint', screenFit);
  if (window.matchMedia) {
    var mq = window.matchMedia('print');
    if (mq.addEventListener) {
      mq.addEventListener('change', function (e) { if (e.matches) { refit(); } else { screenFit(); } });
    }
  }
})();
{% endmacro %}
""")

        def __init__(self, control, bounds):
            super().__init__()
            self._name = "Behaviour"
            self.control = control
            self.bounds = bounds

    class Labels(MacroElement):
        """Text labels added to the feature group this element belongs to (not interactive)."""

        _template = Template("""
{% macro script(this, kwargs) %}
(function () {
  var group = {{ this._parent.get_name() }};
  {{ this.labels|tojson }}.forEach(function (l) {
    var span = document.createElement('span');
    span.textContent = l[2];
    L.marker([l[0], l[1]], {interactive: false, keyboard: false, icon: L.divIcon({
      className: 'xp-label xp-label-' + l[3], html: span.outerHTML, iconSize: null})}).addTo(group);
  });
})();
{% endmacro %}
""")

        def __init__(self, labels):
            super().__init__()
            self._name = "Labels"
            self.labels = [list(lab) for lab in labels]

    return folium, Raw, Legend, Behaviour, Labels


def _fix_ids(root) -> None:
    """Replace folium's random element ids by a counter (deterministic HTML)."""
    counter = 0
    stack = [root]
    while stack:
        el = stack.pop()
        counter += 1
        el._id = f"{counter:04d}"
        stack.extend(reversed(list(getattr(el, "_children", {}).values())))


def make_map(
    title: str,
    subtitle: str,
    grid: Grid,
    layers: Sequence[RasterLayer | VectorLayer | LabelLayer],
    hillshade: np.ndarray | Overlay | None = None,
    synthetic: bool = False,
    osm_tiles: bool = True,
    max_px: int = MAX_OVERLAY_PX,
    notes: Sequence[str] = (),
    summary_page: str | None = "index.html",
) -> str:
    """A complete, self-contained HTML page with one Leaflet map.

    Parameters
    ----------
    title : the page's heading (the city), plain text.
    subtitle : a line under it (the scenario and what the map shows), plain text.
    grid : the analysis grid; the map opens fitted to its bounds.
    layers : raster, vector and label layers, drawn in this order (vectors
        above rasters, labels above all); each is listed in the layer control
        and the legend.
    hillshade : the default background: uint8 shaded relief on the grid (see
        :func:`hillshade`), or that relief already drawn as an overlay for this
        grid and ``max_px`` (see :func:`terrain_overlay`, cheaper on large grids
        and shared by the maps of a run); None for a plain background.
    synthetic : show a "synthetic data" badge under the title.
    osm_tiles : offer OpenStreetMap tiles as a background (not the default: they
        need a connection).
    max_px : longest side of each raster image in pixels.
    notes : caveats shown under the title (plain text), with a pointer to the
        summary page that lists them all.
    summary_page : that summary page, relative to the map (None: the map has none beside it,
        as a backtest's, and the caveats box has no link).

    Returns
    -------
    The page as text (UTF-8 when written; see :func:`write_html`). It needs
    no network except for the optional OpenStreetMap background.
    """
    folium, Raw, Legend, Behaviour, Labels = _elements()
    from folium.map import CustomPane

    version, leaflet_js, leaflet_css = leaflet_assets()
    (left, bottom, right, top), _, _ = mercator_frame(grid, max_px)
    (south, west), (north, east) = latlon_bounds((left, bottom, right, top))

    m = folium.Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=12, tiles=None,
                   control_scale=False, prefer_canvas=False, zoom_snap=0.25, zoom_delta=0.5)
    # Leaflet is inlined below; jQuery, Bootstrap, Font Awesome and
    # awesome-markers serve folium's popups and markers, which these maps do not use.
    m.default_js = []
    m.default_css = []
    root = m.get_root()
    root.header.add_child(Raw(f"<title>{html.escape(title)} - {html.escape(subtitle)}</title>"),
                          name="xp_title")
    root.header.add_child(Raw(f"<!-- Leaflet {html.escape(version)} from the xstatic-leaflet package -->\n"
                              f"<style>{leaflet_css}</style>\n<script>{leaflet_js}</script>"),
                          name="xp_leaflet")
    root.header.add_child(Raw(f"<style>{_PAGE_CSS}</style>"), name="xp_css")

    CustomPane("xp_hillshade", z_index=_HILLSHADE_Z, pointer_events=False).add_to(m)
    CustomPane("xp_rasters", z_index=_RASTER_Z, pointer_events=False).add_to(m)

    # backgrounds (radio buttons): hillshade by default, OSM optional, or plain
    if hillshade is not None:
        shade = hillshade if isinstance(hillshade, Overlay) else hillshade_overlay(hillshade, grid, max_px)
        folium.raster_layers.ImageOverlay(
            shade.data_uri(), bounds=shade.bounds_latlon, name="Terrain (hillshade, offline)",
            overlay=False, show=True, pixelated=False, pane="xp_hillshade", opacity=1.0,
        ).add_to(m)
    if osm_tiles:
        folium.TileLayer("OpenStreetMap", name="OpenStreetMap (needs internet)", overlay=False,
                         show=False).add_to(m)
    if hillshade is not None or osm_tiles:
        folium.FeatureGroup(name="Plain background", overlay=False, show=hillshade is None).add_to(m)

    entries = []
    for layer in [lay for lay in layers if isinstance(lay, RasterLayer)]:
        ov = raster_overlay(layer, max_px)
        el = folium.raster_layers.ImageOverlay(
            ov.data_uri(), bounds=ov.bounds_latlon, name=html.escape(layer.name), show=layer.show,
            opacity=float(layer.opacity), pixelated=layer.categories is not None, pane="xp_rasters",
        )
        el.add_to(m)
        entries.append((el, raster_legend(layer)))
    for layer in [lay for lay in layers if isinstance(lay, VectorLayer)]:
        data = vector_geojson(layer)
        el = _geojson(folium, layer, data)
        el.add_to(m)
        entries.append((el, vector_legend(layer, data)))
    for layer in [lay for lay in layers if isinstance(lay, LabelLayer)]:
        el = folium.FeatureGroup(name=html.escape(layer.name), show=layer.show)
        el.add_child(Labels(layer.labels))
        el.add_to(m)
        entries.append((el, label_legend(layer)))
    kinds = RasterLayer | VectorLayer | LabelLayer
    unknown = [type(lay).__name__ for lay in layers if not isinstance(lay, kinds)]
    if unknown:
        raise TypeError("map layers must be RasterLayer, VectorLayer or LabelLayer, "
                        f"not {', '.join(unknown)}")

    control = folium.LayerControl(collapsed=False, position="topright")
    control.add_to(m)
    # the view is fitted by Behaviour's script (below the title, left of the legend), not by
    # folium's fit_bounds: its animated zoom would end after that fit and undo it
    badge = '<div class="xp-badge">SYNTHETIC DATA - not a real city</div>' if synthetic else ""
    root.html.add_child(Raw(
        f'<div class="xp-title"><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p>{badge}'
        f"{_notes_html(notes, summary_page)}</div>"
    ), name="xp_titleblock")
    if entries:
        Legend(entries).add_to(m)
        root.html.add_child(Raw('<button class="xp-legend-btn" type="button" aria-expanded="false">Legend'
                                "</button>"), name="xp_legend_button")
    Behaviour(control, [[south, west], [north, east]]).add_to(m)
    _fix_ids(root)
    return root.render()


def _notes_html(notes: Sequence[str], summary_page: str | None = "index.html") -> str:
    """Every caveat of the map (a scrolling box when they are many), and a link to the summary page
    (none when ``summary_page`` is None)."""
    notes = list(dict.fromkeys(str(n).strip() for n in notes if str(n).strip()))
    if not notes:
        return ""
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    link = (f'<a href="{html.escape(summary_page, quote=True)}">all caveats of the run: summary page</a>'
            if summary_page else "")
    return f'<div class="xp-notes"><b>Caveats of this map</b><ul>{items}</ul>{link}</div>'



def _geojson(folium, layer: VectorLayer, data: dict):
    items = tooltip_items(layer)
    if callable(layer.style):
        def style_function(feature):
            return feature["properties"].get("_style", {})
    else:
        fixed = dict(layer.style)

        def style_function(feature):
            return fixed

    tooltip = None
    if items and data["features"]:
        tooltip = folium.GeoJsonTooltip(fields=[f"f{k}" for k in range(len(items))],
                                        aliases=[html.escape(label) for _, label in items],
                                        labels=True, sticky=True)
    return folium.GeoJson(data, name=html.escape(layer.name), style_function=style_function,
                          tooltip=tooltip, show=layer.show, smooth_factor=1.0)


def write_html(path: str | Path, page: str) -> Path:
    """Write a page as UTF-8 (no newline translation); returns the path."""
    path = Path(path)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(page)
    return path
