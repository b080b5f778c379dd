"""Atlas metrics on hand-made rasters with answers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from expansion import metrics
from expansion.metrics import (
    CAPTURED,
    FRINGE,
    RURAL,
    SUBURBAN,
    URBAN,
    atlas_metrics,
    classify_builtup,
    disk_cells,
    disk_spans,
    disk_sum,
    within_distance,
)


def _ones(shape):
    return np.ones(shape, dtype=bool)


def _zeros(shape):
    return np.zeros(shape, dtype=bool)


def _brute_disk_sum(a, radius_m, res_m):
    h, w = a.shape
    rc2 = (radius_m / res_m) ** 2
    out = np.zeros((h, w), dtype=np.int64)
    for i in range(h):
        for j in range(w):
            s = 0
            for ii in range(h):
                for jj in range(w):
                    if (ii - i) ** 2 + (jj - j) ** 2 <= rc2 + 1e-9:
                        s += int(a[ii, jj])
            out[i, j] = s
    return out


def test_disk_cells_known_counts():
    # Gauss circle problem: N(r) for r = 1, 2, 3, 5 cells.
    assert disk_cells(30, 30) == 5
    assert disk_cells(60, 30) == 13
    assert disk_cells(90, 30) == 29
    assert disk_cells(500, 100) == 81
    # 1 km² circle at 30 m: within 1 % of 1e6 / 900 cells.
    assert abs(disk_cells(564, 30) * 900 / 1e6 - 1) < 0.01
    assert all(w >= 0 for _, w in disk_spans(564, 30))


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    h=st.integers(1, 9),
    w=st.integers(1, 9),
    radius_cells=st.floats(0, 6),
)
def test_disk_sum_matches_brute_force(seed, h, w, radius_cells):
    a = np.random.default_rng(seed).random((h, w)) < 0.4
    assert np.array_equal(disk_sum(a, radius_cells * 10, 10), _brute_disk_sum(a, radius_cells * 10, 10))


def _disk_footprint(radius_cells):
    r = int(np.floor(radius_cells + 1e-9))
    dy, dx = np.mgrid[-r:r + 1, -r:r + 1]
    return (dx * dx + dy * dy <= radius_cells**2 + 1e-9).astype(np.int64)


def test_disk_sum_in_row_blocks_matches_a_correlation(monkeypatch):
    monkeypatch.setattr(metrics, "BLOCK_CELLS", 1)  # blocks of 8 disk radii of rows
    a = np.random.default_rng(3).random((61, 37)) < 0.5
    for radius_cells in (1, 2.5, 3):
        expect = ndimage.correlate(a.astype(np.int64), _disk_footprint(radius_cells), mode="constant")
        got = disk_sum(a, radius_cells * 10, 10)
        assert got.dtype == np.uint16 and np.array_equal(got, expect)
        assert np.array_equal(within_distance(a, radius_cells * 10, 10), expect > 0)


def test_disk_sum_uint16_prefix_wraps_exactly():
    a = np.ones((3, 70_000), bool)  # row prefix sums pass 65,535
    a[1, 40_000] = False
    expect = ndimage.correlate(a.astype(np.int64), _disk_footprint(2), mode="constant")
    assert np.array_equal(disk_sum(a, 20, 10), expect)


def test_fully_built_block_is_all_urban():
    shape = (20, 20)
    m = atlas_metrics(_ones(shape), _ones(shape), _zeros(shape), 50.0, population=10_000)
    assert m["builtup_ha"] == 100.0
    assert m["urban_ha"] == 100.0
    assert m["suburban_ha"] == m["rural_ha"] == 0.0
    assert m["fringe_open_space_ha"] == m["captured_open_space_ha"] == 0.0
    assert m["urban_extent_ha"] == 100.0
    assert m["openness_index"] == 0.0
    assert m["builtup_density_pph"] == 100.0
    assert m["extent_density_pph"] == 100.0


def test_single_isolated_pixel_is_rural_and_open():
    shape = (41, 41)
    built = _zeros(shape)
    built[20, 20] = True
    cls = classify_builtup(built, _ones(shape), _zeros(shape), 30.0)
    assert cls[20, 20] == RURAL
    assert np.count_nonzero(cls) == 1  # rural built-up makes no fringe
    m = atlas_metrics(built, _ones(shape), _zeros(shape), 30.0)
    n = disk_cells(564, 30)  # the disk (radius 18.8 cells) fits inside 41 x 41
    assert m["rural_ha"] == 0.09
    assert m["openness_index"] == (n - 1) / n
    assert m["urban_extent_ha"] == 0.0
    assert m["builtup_density_pph"] is None


def test_water_is_not_land_in_the_circle():
    # One built cell on an island: its circle holds no other land, so it is 100 % built: urban.
    shape = (21, 21)
    built = _zeros(shape)
    built[10, 10] = True
    water = ~built
    cls = classify_builtup(built, _ones(shape), water, 100.0)
    assert cls[10, 10] == URBAN
    m = atlas_metrics(built, _ones(shape), water, 100.0)
    assert m["openness_index"] == 0.0
    assert m["fringe_open_space_ha"] == 0.0  # water is never open space
    # Cells outside the study area count in neither numerator nor denominator.
    cls2 = classify_builtup(built, built.copy(), _zeros(shape), 100.0)
    assert cls2[10, 10] == URBAN


def test_fringe_within_100_m_on_a_50_m_grid():
    # A 1 km² block (20 x 20 cells of 50 m) in open land. Every block cell is urban or
    # suburban (edge cells see at least half a disk, corners a quarter plus two axes).
    shape = (40, 40)
    built = _zeros(shape)
    built[10:30, 10:30] = True
    cls = classify_builtup(built, _ones(shape), _zeros(shape), 50.0)
    assert set(np.unique(cls[built])) <= {URBAN, SUBURBAN}
    # Fringe: 2 cells (50 m, 100 m) off each side, plus the (1, 1) diagonal (70.7 m)
    # at each corner; (2, 1) is 111.8 m away.
    assert np.count_nonzero(cls == FRINGE) == 4 * 20 * 2 + 4 * 1
    m = atlas_metrics(built, _ones(shape), _zeros(shape), 50.0)
    assert m["fringe_open_space_ha"] == 164 * 0.25
    assert m["captured_open_space_ha"] == 0.0
    assert m["urban_extent_ha"] == 100.0 + 41.0


def test_fringe_within_100_m_on_a_10_m_grid():
    shape = (130, 130)
    built = _zeros(shape)
    built[15:115, 15:115] = True  # 1 km x 1 km
    cls = classify_builtup(built, _ones(shape), _zeros(shape), 10.0)
    assert set(np.unique(cls[built])) <= {URBAN, SUBURBAN}
    # Per corner: cells (dx, dy) with dx, dy >= 1 and dx² + dy² <= 100:
    # floor(sqrt(100 - dx²)) for dx = 1..10 = 9, 9, 9, 9, 8, 8, 7, 6, 4, 0 -> 69.
    assert np.count_nonzero(cls == FRINGE) == 4 * 100 * 10 + 4 * 69


def _block_with_hole(hole: int, ring: int, margin: int = 6):
    n = hole + 2 * ring + 2 * margin
    built = _zeros((n, n))
    built[margin:n - margin, margin:n - margin] = True
    a = margin + ring
    hole_mask = _zeros((n, n))
    hole_mask[a:a + hole, a:a + hole] = True
    built[hole_mask] = False
    return built, hole_mask


def test_enclosed_3x3_hole_at_coarse_resolution_is_captured():
    # At 150 m no open cell is within 100 m of another cell's centre: no fringe at all,
    # so the hole is enclosed by urban built-up only and is 9 x 2.25 ha = 20.25 ha.
    built, hole = _block_with_hole(3, ring=6)
    shape = built.shape
    cls = classify_builtup(built, _ones(shape), _zeros(shape), 150.0)
    ring = ndimage_ring(hole)
    assert np.all(cls[ring] == URBAN)
    assert np.all(cls[hole] == CAPTURED)
    m = atlas_metrics(built, _ones(shape), _zeros(shape), 150.0)
    assert m["fringe_open_space_ha"] == 0.0
    assert m["captured_open_space_ha"] == 9 * 2.25
    assert m["urban_extent_ha"] == m["urban_ha"] + m["suburban_ha"] + 9 * 2.25


def test_enclosed_hole_at_100_m_splits_into_fringe_and_captured():
    # At 100 m, hole cells 4-adjacent to built-up are fringe (100 m away); the centre
    # of a 3 x 3 hole is 200 m from built-up and is enclosed by fringe: captured.
    built, hole = _block_with_hole(3, ring=7)
    shape = built.shape
    cls = classify_builtup(built, _ones(shape), _zeros(shape), 100.0)
    assert np.count_nonzero(cls[hole] == FRINGE) == 8
    assert np.count_nonzero(cls[hole] == CAPTURED) == 1


def test_holes_of_200_ha_or_more_are_not_captured():
    # At 150 m a cell is 2.25 ha: 9 x 9 = 182.25 ha is captured, 10 x 10 = 225 ha is not.
    for side, captured in ((9, True), (10, False)):
        built, hole = _block_with_hole(side, ring=8)
        shape = built.shape
        cls = classify_builtup(built, _ones(shape), _zeros(shape), 150.0)
        assert set(np.unique(cls[ndimage_ring(hole)])) <= {URBAN, SUBURBAN}
        assert np.all(cls[hole] == (CAPTURED if captured else 0))


def test_hole_touching_the_study_area_edge_is_not_captured():
    built, hole = _block_with_hole(3, ring=6)
    shape = built.shape
    valid = _ones(shape)
    valid[hole.nonzero()[0][0], hole.nonzero()[1][0]] = False  # a gap in the data
    cls = classify_builtup(built, valid, _zeros(shape), 150.0)
    assert not np.any(cls == CAPTURED)


def test_openness_matches_brute_force_on_a_full_disk():
    # A built disk of the walking circle's size at 100 m: the centre cell sees only
    # built-up (openness 0); the index is the mean over all built cells of their open share.
    shape = (25, 25)
    yy, xx = np.mgrid[:25, :25]
    built = (yy - 12) ** 2 + (xx - 12) ** 2 <= 5.64**2
    m = atlas_metrics(built, _ones(shape), _zeros(shape), 100.0)
    nb = _brute_disk_sum(built, 564, 100)
    nl = _brute_disk_sum(_ones(shape), 564, 100)
    expected = np.mean(((nl - nb) / nl)[built])
    assert m["openness_index"] == pytest.approx(expected, rel=1e-12)
    assert nb[12, 12] == nl[12, 12]  # the centre is fully built
    assert classify_builtup(built, _ones(shape), _zeros(shape), 100.0)[12, 12] == URBAN


def test_suburban_threshold_is_inclusive_at_25_percent():
    # 1-cell disk radius at 100 m (r = 100 m): 5 cells. Built centre + 0 others = 20 %
    # (rural); centre + 1 = 40 % (suburban); centre + 2 = 60 % (urban).
    shape = (7, 7)
    for neighbours, expected in (([], RURAL), ([(3, 4)], SUBURBAN), ([(3, 4), (2, 3)], URBAN)):
        built = _zeros(shape)
        built[3, 3] = True
        built[3, 5] = True  # 200 m away: outside the centre's disk
        for rc in neighbours:
            built[rc] = True
        cls = classify_builtup(built, _ones(shape), _zeros(shape), 100.0, radius_m=100.0)
        assert cls[3, 3] == expected
    # Exactly 1 of 4 land cells built (the rest water): 25 % is suburban.
    built = _zeros(shape)
    built[3, 3] = True
    water = _zeros(shape)
    water[2, 3] = True
    cls = classify_builtup(built, _ones(shape), water, 100.0, radius_m=100.0)
    assert cls[3, 3] == SUBURBAN
    # Exactly 2 of 4: 50 % is urban.
    built[3, 2] = True
    cls = classify_builtup(built, _ones(shape), water, 100.0, radius_m=100.0)
    assert cls[3, 3] == URBAN


def ndimage_ring(mask):
    from scipy import ndimage

    return ndimage.binary_dilation(mask, np.ones((3, 3), bool)) & ~mask


def test_bad_shapes_raise():
    with pytest.raises(ValueError):
        atlas_metrics(_ones((3, 3)), _ones((3, 4)), _zeros((3, 3)), 30.0)
