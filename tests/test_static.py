"""Static PNG maps for reports and slides: size, determinism, no embedded software or date stamp."""

from __future__ import annotations

import struct
import zlib
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
from shapely.geometry import LineString, Point, box

from expansion.outputs.web import static


def fake_run(stack, phased: bool = True) -> SimpleNamespace:
    """The parts of a computed run the static maps read, on the tiny conftest stack."""
    left, bottom, right, top = stack.grid.bounds
    crs = stack.grid.crs
    stack.vectors["boundary"] = gpd.GeoDataFrame(
        geometry=[box(left + 60, bottom + 60, right - 60, top - 60)], crs=crs)
    stack.vectors["water"] = gpd.GeoDataFrame(
        geometry=[LineString([(left, bottom + 45), (right, bottom + 45)])], crs=crs)
    stack.places = gpd.GeoDataFrame(
        {"name": ["Centre", "Hamlet"], "place": ["town", "hamlet"]},
        geometry=[Point(left + 900, top - 900), Point(left + 300, top - 300)], crs=crs)
    lines = [LineString([(left + 200, bottom + y), (right - 200, bottom + y)]) for y in (600, 1200)]
    arts = {"kind": ["planned", "existing"], "length_m": [1400.0, 1400.0], "width_m": [30.0, 30.0]}
    if phased:
        arts["phase_year"] = [2030.0, None]
    plan = SimpleNamespace(
        arterials=gpd.GeoDataFrame(arts, geometry=lines, crs=crs),
        open_space=gpd.GeoDataFrame(
            {"kind": ["park"]}, geometry=[box(left + 300, bottom + 300, left + 500, bottom + 500)], crs=crs),
        expansion_gdf=gpd.GeoDataFrame(
            {"hectares": [100.0]}, geometry=[box(left + 150, bottom + 150, right - 150, top - 150)], crs=crs))
    classes = (np.arange(60)[None, :] // 15 * np.ones((60, 1))).astype("uint8")
    return SimpleNamespace(
        stack=stack, plan=plan,
        scenario=SimpleNamespace(name="test", base_year=2020, horizon_year=2050,
                                 plan=SimpleNamespace(arterial_width_m=30.0)),
        catalog=SimpleNamespace(name="Test Town", synthetic=True),
        risk={"bau": SimpleNamespace(classes=classes), "planned": SimpleNamespace(classes=classes // 2)})


def png_chunks(data: bytes) -> dict:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        tag = data[pos + 4:pos + 8].decode("ascii")
        chunks.setdefault(tag, []).append(data[pos + 8:pos + 8 + n])
        pos += 12 + n
    return chunks


def test_static_maps_are_1600_px_wide_and_carry_no_stamp(tmp_path, stack):
    m = fake_run(stack)
    images = static.write_static_maps(m, tmp_path, "2026-01-01")
    assert [name for _, name in images] == [name for name, _ in static.IMAGES]
    for _, name in images:
        data = (tmp_path / name).read_bytes()
        chunks = png_chunks(data)
        width, height = struct.unpack(">II", chunks["IHDR"][0][:8])
        assert width == 1600 and height > 400
        texts = b"".join(chunks.get("tEXt", []) + chunks.get("iTXt", []) + chunks.get("zTXt", []))
        assert b"Software" not in texts and b"atplotlib" not in texts and "tIME" not in chunks
        # not a blank image: the map has many colours
        raw = zlib.decompress(b"".join(chunks["IDAT"]))
        assert len(set(raw[::97])) > 10


def test_same_run_and_date_give_the_same_png_bytes(tmp_path):
    from conftest import make_stack

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    static.write_static_maps(fake_run(make_stack()), a, "2026-01-01")
    static.write_static_maps(fake_run(make_stack()), b, "2026-01-01")
    for name, _ in static.IMAGES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    c = tmp_path / "c"
    c.mkdir()
    static.write_static_maps(fake_run(make_stack()), c, "2026-01-02")
    assert (c / static.IMAGES[0][0]).read_bytes() != (a / static.IMAGES[0][0]).read_bytes()  # the date shows


def test_unphased_plans_draw_one_colour_for_planned_arterials(tmp_path, stack):
    static.write_static_maps(fake_run(stack, phased=False), tmp_path, "2026-01-01")
    assert (tmp_path / "map_expansion_plan.png").stat().st_size > 10_000


def test_scale_bar_lengths_are_round():
    assert static.nice_length(10_000) == 2000
    assert static.nice_length(60_000) == 10_000
    assert static.nice_length(3_000) == 500


def test_risk_maps_carry_the_not_assessed_caveat(tmp_path, stack):
    """QA 4: without hazard data the risk PNGs say flood-prone and steep land were not assessed."""
    m = fake_run(stack)
    static.risk_png(m, tmp_path / "plain.png", "2026-01-01", "bau")
    m.summary = {"risk": {"assessed": {"hazard": False}}}
    static.risk_png(m, tmp_path / "caveat.png", "2026-01-01", "bau")
    assert (tmp_path / "plain.png").read_bytes() != (tmp_path / "caveat.png").read_bytes()
    m.summary = {"risk": {"assessed": {"hazard": True}}}
    static.risk_png(m, tmp_path / "assessed.png", "2026-01-01", "bau")
    assert (tmp_path / "plain.png").read_bytes() == (tmp_path / "assessed.png").read_bytes()
