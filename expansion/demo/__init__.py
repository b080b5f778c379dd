"""A synthetic secondary-city region for demos, tests and benchmarks.

:func:`write_demo` writes a made-up city in Ethiopia's rift valley (centred
near 39.27 E, 8.54 N): a study-area boundary, an SRTM-like DEM in EPSG:4326, a
meandering river with its floodplain and a lake, regional highways and local
streets, a forest reserve on the hills, three built-up epochs (1995, 2005,
2020) grown by a stochastic process, a 2020 population raster, and the
``layers.toml`` catalog that names them.

Everything follows from ``size`` (cells per side, 30 m each) and ``seed``:
the same pair gives byte-identical files. Large-scale features (the city core,
the river's course, the hills, the boundary) scale with the region; small
ones (street spacing, village size, meanders, hill texture) keep their size in
metres, and their number grows with the area. Generation uses whole-array
numpy/scipy operations and is roughly linear in the number of cells.

The growth between epochs depends on distance to built-up, the built-up
share of the neighbourhood, distance to roads, slope and the floodplain, so a
logistic model on those drivers can learn it; it never touches water or the
forest reserve, and each epoch contains the one before.
"""


from .write import check_demo_target, write_demo

__all__ = ["check_demo_target", "write_demo"]
