"""The web pages of a run folder: offline Leaflet maps, the summary page and the comparison page.

- ``leaflet``: the page with one Leaflet map (offline assets, layer control, legend box);
- ``raster``: shaded relief, warping to Web Mercator, paletted PNG overlays;
- ``vector``: GeoJSON layers with escaped tooltips;
- ``legend``: the legend entries of a map;
- ``html_page``: escaping, number formatting, the stylesheet and frame of the text pages;
- ``charts``: inline SVG charts;
- ``index``: the run's index.html;
- ``compare``: the comparison of runs (terminal table and page);
- ``run_maps``: the maps of a run folder and of a backtest, composed from a computed run.

Everything here is pure (data in, HTML text out) except :func:`write_html`.
"""

from .compare import compare_page, compare_table
from .index import index_page
from .leaflet import make_map, write_html
from .raster import Overlay, RasterLayer, hillshade, terrain_overlay
from .vector import VectorLayer

__all__ = ["Overlay", "RasterLayer", "VectorLayer", "compare_page", "compare_table", "hillshade",
           "index_page", "make_map", "terrain_overlay", "write_html"]
