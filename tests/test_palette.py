"""Colours that stay apart for colour-blind readers (simulated with Machado, Oliveira and Fernandes 2009)."""

from __future__ import annotations

import numpy as np
import pytest

from expansion.outputs import palette as pal

# Machado et al. (2009) matrices at full severity, applied to linear RGB.
VISIONS = {
    "normal": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}


def lab(colour: str, vision: str) -> np.ndarray:
    """CIELAB (D65) of a CSS colour as seen with ``vision``."""
    c = np.asarray(pal.parse_colour(colour), dtype=float) / 255
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    rgb = np.clip(VISIONS[vision] @ linear, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ rgb
    t = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(t > 216 / 24389, np.cbrt(t), (24389 / 27 * t + 16) / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a: str, b: str, vision: str) -> float:
    return float(np.linalg.norm(lab(a, vision) - lab(b, vision)))


def hue(colour: str) -> float:
    _, a, b = lab(colour, "normal")
    return float(np.degrees(np.arctan2(b, a)) % 360)


RISK = pal.RISK_COLOURS[1:]
PERIODS = [c for _, c in pal.period_categories(list(range(2020, 2051, 5))).values()][1:]
ARTERIALS = [pal.ARTERIAL_COLOURS["planned"], *pal.PHASE_RAMP, pal.RIGHT_OF_WAY_STYLE["fillColor"]]
WATER = [pal.WATER_STYLE["fillColor"], pal.WATER_STYLE["color"]]
PLAN_AREAS = [pal.EXPANSION_AREA_STYLE["color"], pal.RIGHT_OF_WAY_STYLE["fillColor"],
              *pal.OPEN_SPACE_COLOURS.values()]


def test_the_simulation_can_tell_a_confusable_pair():
    # red and green of the same lightness: far apart for normal vision, close for a deuteranope
    assert delta_e("#d62728", "#2ca02c", "normal") > 60
    assert delta_e("#d62728", "#2ca02c", "deuteranopia") < 25


@pytest.mark.parametrize("vision", VISIONS)
@pytest.mark.parametrize("name, colours, least", [
    ("risk classes", RISK, 12), ("growth periods", PERIODS, 12),
    ("open space kinds", list(pal.OPEN_SPACE_COLOURS.values()), 12),
    ("backtest agreement", [pal.hex_colour(pal.BACKTEST_COLOURS[k]) for k in (1, 2, 3)], 25),
    ("scenario lines", list(pal.SERIES_COLOURS[:5]), 15),
])
def test_classes_stay_apart(vision, name, colours, least):
    worst = min(delta_e(a, b, vision) for i, a in enumerate(colours) for b in colours[i + 1:])
    assert worst >= least, f"{name}: two colours only {worst:.1f} apart for {vision}"


@pytest.mark.parametrize("vision", VISIONS)
def test_arterials_never_look_like_growth_or_risk(vision):
    worst = min(delta_e(a, g, vision) for a in ARTERIALS for g in RISK + PERIODS)
    assert worst >= 25, f"an arterial colour is {worst:.1f} from a growth or risk class for {vision}"


def test_arterials_do_not_share_a_hue_with_growth_or_risk():
    for a in ARTERIALS:
        for g in RISK + PERIODS:
            gap = abs(hue(a) - hue(g)) % 360
            assert min(gap, 360 - gap) >= 60, (a, g)  # purple against yellow-orange-red


@pytest.mark.parametrize("vision", VISIONS)
def test_water_is_never_confused_with_plan_areas(vision):
    worst = min(delta_e(w, p, vision) for w in WATER for p in PLAN_AREAS)
    assert worst >= 10, f"water is {worst:.1f} from a plan area's colour for {vision}"


@pytest.mark.parametrize("vision", VISIONS)
def test_suitability_reads_one_way_for_everyone(vision):
    ramp = [pal.hex_colour(c) for c in pal.colour_ramp(pal.SUITABILITY_RAMP, 11)]
    lightness = [lab(c, vision)[0] for c in ramp]
    assert np.all(np.diff(lightness) > 0)  # darker = less suitable, whatever the colour vision
    assert delta_e(ramp[0], ramp[-1], vision) > 60
