"""Inputs: everything that reads the catalog's files.

- :mod:`.sources` opens files (existence, rasters, nodata policy, footprints);
- :mod:`.warp` reads raster windows and warps them onto the grid strip by strip;
- :mod:`.encodings` turns built-up rasters into epochs;
- :mod:`.vectors` reads vector and OpenStreetMap layers and the study area;
- :mod:`.study` chooses the analysis grid; :mod:`.build` builds the aligned
  :class:`expansion.stack.Stack`; :mod:`.cache` keeps it on disk;
- :mod:`.catalog_check` and :mod:`.catalog_import` back ``expansion layers check|import``.
"""

from .build import build_stack
from .cache import cache_path
from .catalog_check import check_catalog, check_problems, format_check_table
from .catalog_import import import_layer
from .study import grid_for
from .vectors import read_vector

__all__ = ["build_stack", "cache_path", "check_catalog", "check_problems", "format_check_table",
           "grid_for", "import_layer", "read_vector"]
