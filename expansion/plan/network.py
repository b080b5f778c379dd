"""The arterial network as a graph: which lines meet, which crossings of built land
join pieces that would otherwise be apart, stubs, collinear pieces made one, and
the straight connectors that join dead ends and small pieces to the rest.

Lines meet where they come within ``touch_m`` (1 m) of each other; every query
goes through an STRtree, so the cost grows with the number of lines, not its square.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from ..grid import Grid
from .lines import Traced, cells_of, passable_along


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


class DisjointSet:
    """Union-find over the pieces 0..n-1 (path halving), for joining pieces one link at a time."""

    def __init__(self, n: int) -> None:
        self.parent = np.arange(n)

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return int(i)

    def attach(self, root: int, under: int) -> None:
        """Make the piece whose root is ``root`` part of the one whose root is ``under``."""
        self.parent[root] = under


def needed_bridges(lines, bridges: list[tuple[int, int, float]], touch_m: float = 1.0,
                   budget_m: float = math.inf) -> list[int]:
    """The bridges worth building: Kruskal's pass over the pieces of ``lines``.

    ``bridges`` are candidate links ``(a, b, cost)`` between lines ``a`` and ``b``
    (e.g. a stretch of a planned line over built land, ``cost`` its length there).
    In order of cost (then of index), a bridge is kept only when its two lines lie in
    different pieces of the network built so far, which it then joins; one that
    would join lines already connected (say by the next parallel line) is redundant.
    Bridges stop being kept once their costs would add up to more than ``budget_m``.
    Returns the indices of the kept bridges, in order.
    """
    label = pieces(lines, touch_m)
    joined = DisjointSet(int(label.max()) + 1 if len(label) else 0)
    kept = []
    spent = 0.0
    for k in sorted(range(len(bridges)), key=lambda k: (bridges[k][2], k)):
        ra, rb = joined.find(label[bridges[k][0]]), joined.find(label[bridges[k][1]])
        if ra != rb and spent + bridges[k][2] <= budget_m:
            spent += bridges[k][2]
            joined.attach(max(ra, rb), min(ra, rb))
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


def link_pieces(lines: list, passable: np.ndarray, grid: Grid, max_m: float, small_m: float) -> list:
    """Straight links that join small pieces of the network to the rest.

    For each piece of ``lines`` shorter than ``small_m`` metres in all (smallest
    first, while it is still apart), the shortest straight link at most ``max_m``
    long from an end of one of its lines to a line of another piece, every sample of
    which (a third of a cell apart) lies on ``passable``. Returns the links."""
    if not lines:
        return []
    lines_a = np.asarray(lines, dtype=object)
    label = pieces(lines_a)
    size = np.bincount(label, weights=shapely.length(lines_a))
    joined = DisjointSet(len(size))
    find = joined.find

    tree = shapely.STRtree(lines_a)
    ends = np.stack([shapely.get_coordinates(shapely.get_point(lines_a, 0)),
                     shapely.get_coordinates(shapely.get_point(lines_a, -1))], axis=1)
    members = np.argsort(label, kind="stable")
    starts = np.searchsorted(label[members], np.arange(len(size)))
    step = grid.res / 3.0
    links = []
    for p in np.argsort(size, kind="stable"):
        if size[find(p)] >= small_m:
            continue
        own = members[starts[p]:(starts[p + 1] if p + 1 < len(size) else len(members))]
        best = None
        for i in own:
            for end in ends[i]:
                pt = shapely.Point(end)
                near = tree.query(pt, predicate="dwithin", distance=max_m)
                near = near[[find(label[j]) != find(p) for j in near]]
                if not len(near):
                    continue
                d = shapely.distance(lines_a[near], pt)
                for k in np.argsort(d, kind="stable"):
                    if best is not None and d[k] >= best[0]:
                        break
                    q = shapely.get_coordinates(shapely.shortest_line(pt, lines_a[near[k]]))
                    if d[k] >= 1.0 and passable_along(q, passable, grid, step):
                        best = (float(d[k]), q, int(near[k]))
                        break
        if best is not None:
            a, b = find(p), find(label[best[2]])
            joined.attach(a, b)
            size[b] += size[a] + best[0]
            links.append(shapely.LineString(best[1]))
    return links


def nearest_connector(point, network: list, exclude: int | None, max_m: float, passable, grid, step,
                       tree: shapely.STRtree | None = None):
    """Shortest straight connector from ``point`` to a line of ``network`` (not
    ``exclude``) within ``max_m`` that stays on ``passable``; None if none.

    ``tree``: an STRtree of ``network``, so that only lines within ``max_m`` are
    measured (measuring every line from every dead end was quadratic in the
    area: minutes on a 240 km region)."""
    if not network:
        return None
    p = shapely.Point(point)
    if tree is None:
        tree = shapely.STRtree(network)
    near = np.sort(tree.query(p, predicate="dwithin", distance=max_m))
    dists = shapely.distance(np.asarray(network, dtype=object)[near], p)
    for k in np.argsort(dists, kind="stable"):
        i = near[k]
        if i == exclude:
            continue
        if dists[k] < 1.0:
            return None  # already connected
        q = shapely.get_coordinates(shapely.shortest_line(p, network[i]))
        if passable_along(q, passable, grid, step):
            return (tuple(q[0]), tuple(q[1]))
    return None


def join_dead_ends(traced: Traced, existing_in: list, art, passable, grid: Grid, spacing: float) -> list:
    """Straight, passable connectors (at least a cell long) from dead ends to the
    nearest other line within half a spacing: ends of planned lines stopped by a
    band or a sector's edge, and existing arterials ending inside the area."""
    step = grid.res / 3.0
    runs = traced.runs
    connectors: list = []
    network = runs + existing_in
    if network:
        tree = shapely.STRtree(network)
        for end, i in traced.dead_ends:
            con = nearest_connector(end, network, i, spacing / 2, passable, grid, step, tree)
            if con is not None:
                connectors.append(shapely.LineString(con))
    if art is not None and runs:
        parts = shapely.get_parts(art.geometry.values)
        parts = parts[shapely.get_type_id(parts) == 1]
        ends = np.concatenate([shapely.get_coordinates(shapely.get_point(parts, 0)),
                               shapely.get_coordinates(shapely.get_point(parts, -1))])
        tree = shapely.STRtree(parts)
        planned_tree = shapely.STRtree(runs)
        for end in ends:
            r_, c_, ins = cells_of(end[:1], end[1:], grid)
            if not (ins[0] and passable[r_[0], c_[0]]):
                continue
            if len(tree.query(shapely.Point(end).buffer(1.0))) > 1:
                continue  # a junction, not a dead end
            con = nearest_connector(end, runs, None, spacing / 2, passable, grid, step, planned_tree)
            if con is not None:
                connectors.append(shapely.LineString(con))
    return [c for c in connectors if c.length >= grid.res]
