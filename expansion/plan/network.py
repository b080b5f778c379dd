"""The arterial network as a graph: which lines meet, which crossings of built land
join pieces that would otherwise be apart, stubs, and collinear pieces made one.

Lines meet where they come within ``touch_m`` (1 m) of each other; every query
goes through an STRtree, so the cost grows with the number of lines, not its square.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def pieces(lines, touch_m: float = 1.0) -> np.ndarray:
    """Label of the connected piece of each line of ``lines`` (lines are joined where
    they come within ``touch_m`` metres), 0..k-1."""
    lines = np.asarray(lines, dtype=object)
    n = len(lines)
    if n == 0:
        return np.zeros(0, np.int64)
    a, b = shapely.STRtree(lines).query(lines, predicate="dwithin", distance=touch_m)
    graph = coo_matrix((np.ones(len(a), np.int8), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1].astype(np.int64)


def needed_bridges(lines, bridges: list[tuple[int, int, float]], touch_m: float = 1.0) -> list[int]:
    """The bridges worth building: Kruskal's pass over the pieces of ``lines``.

    ``bridges`` are candidate links ``(a, b, cost)`` between lines ``a`` and ``b``
    (e.g. a stretch of a planned line over built land, ``cost`` its length there).
    In order of cost (then of index), a bridge is kept only when its two lines lie in
    different pieces of the network built so far, which it then joins; one that
    would join lines already connected (say by the next parallel line) is redundant.
    Returns the indices of the kept bridges, in order.
    """
    label = pieces(lines, touch_m)
    parent = np.arange(int(label.max()) + 1 if len(label) else 0)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return int(i)

    kept = []
    for k in sorted(range(len(bridges)), key=lambda k: (bridges[k][2], k)):
        ra, rb = find(label[bridges[k][0]]), find(label[bridges[k][1]])
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
            kept.append(k)
    return sorted(kept)


def stubs(planned: list, existing: list, min_len_m: float, touch_m: float = 1.0) -> np.ndarray:
    """Bool per line of ``planned``: a stub, to drop. A planned line shorter than
    ``min_len_m`` stays only if it connects two other arterials (it touches at least
    two other planned or existing lines within ``touch_m`` metres); dropping one may
    make another a stub, so this repeats until nothing changes."""
    drop = np.zeros(len(planned), bool)
    while True:
        keep = np.flatnonzero(~drop)
        if not len(keep):
            return drop
        lines = np.asarray([planned[i] for i in keep] + list(existing), dtype=object)
        pairs = shapely.STRtree(lines).query(lines[:len(keep)], predicate="dwithin", distance=touch_m)
        other = pairs[0] != pairs[1]
        degree = np.bincount(pairs[0][other], minlength=len(keep))
        stub = (shapely.length(lines[:len(keep)]) < min_len_m) & (degree < 2)
        if not stub.any():
            return drop
        drop[keep[stub]] = True


def drop_stubs(planned: list, existing: list, min_len_m: float, touch_m: float = 1.0) -> list:
    """``planned`` without its :func:`stubs`, order kept."""
    drop = stubs(planned, existing, min_len_m, touch_m)
    return [g for g, d in zip(planned, drop) if not d]


def merge_collinear(geoms: list, keys: list) -> tuple[list, list[int]]:
    """Pieces of the same straight line that follow each other made one segment.

    ``keys[i]`` is ``(line, t0, t1)``: piece i runs from ``t0`` to ``t1`` metres
    along traced line ``line`` (None for a piece on no traced line, kept as it is).
    Returns the segments and, for each, the index of its first piece."""
    order = sorted(range(len(geoms)), key=lambda i: (keys[i] is None, keys[i] or (0, 0.0, 0.0), i))
    out, first = [], []
    run_start = None
    for pos, i in enumerate(order):
        if run_start is None:
            run_start = i
        nxt = order[pos + 1] if pos + 1 < len(order) else None
        joined = (nxt is not None and keys[i] is not None and keys[nxt] is not None
                  and keys[nxt][0] == keys[i][0] and abs(keys[nxt][1] - keys[i][2]) < 1e-6)
        if joined:
            continue
        if run_start == i:
            out.append(geoms[i])
        else:
            a = shapely.get_coordinates(geoms[run_start])[0]
            b = shapely.get_coordinates(geoms[i])[-1]
            out.append(shapely.LineString([a, b]))
        first.append(run_start)
        run_start = None
    back = np.argsort(first, kind="stable")
    return [out[k] for k in back], [first[k] for k in back]
