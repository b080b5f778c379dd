"""Everything that writes files: the run folder, GeoTIFFs, GeoPackages, JSON and the web pages.

- ``folder``: the atomic run folder (written beside the target, renamed into place) and spilling
  finished grids to memory-mapped files on large runs;
- ``geotiff``: tiled, compressed GeoTIFFs with overviews;
- ``gpkg``: the one GeoPackage writer, with pinned timestamps, so the same layers give the same bytes;
- ``provenance``: stable JSON, input hashes, package versions.
"""
