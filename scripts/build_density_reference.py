"""Build expansion/data/density_reference.json from the density-trend table of African secondary cities.

Usage: python scripts/build_density_reference.py [CSV] [OUT]
(default CSV ../shared/data/density_trends/african_secondary_cities_2000_2020.csv beside the repository).

Only the derived summary is committed (median and quartiles of the annual density change per
country with at least MIN_CITIES cities, and for the continent), never the table itself.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CSV = ROOT / "../shared/data/density_trends/african_secondary_cities_2000_2020.csv"
OUT = ROOT / "expansion" / "data" / "density_reference.json"
MIN_CITIES = 10

SOURCE = ("Annual change of persons per hectare of built-up land, 2000-2020, in 1,513 African secondary "
          "cities (50,000-2,000,000 people in 2020): GHSL R2023A population and built-up (EC JRC, CC BY 4.0) "
          "in Africapolis agglomerations (OECD/SWAC), as processed in the World Bank repository "
          "jqnmunozdiaz/SO_dashboard")
CAVEAT = ("GHS-POP spreads census counts over built-up land, so part of any density trend there is the "
          "model's; the spread between cities, not one city's figure, is the evidence")


def spread(values: list[float]) -> dict:
    v = np.asarray(values, float)
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"n": int(v.size), "median": round(float(med), 5), "q1": round(float(q1), 5),
            "q3": round(float(q3), 5)}


def build(csv_path: Path) -> dict:
    by_country: dict[str, list[float]] = defaultdict(list)
    allv: list[float] = []
    with open(csv_path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            r = float(row["annual_density_change"])
            by_country[row["iso3"]].append(r)
            allv.append(r)
    lo, hi = np.percentile(allv, [1, 99])
    return {
        "source": SOURCE,
        "caveat": CAVEAT,
        "min_cities": MIN_CITIES,
        "plausible": [round(float(lo), 3), round(float(hi), 3)],  # 1st-99th percentile of the continent
        "Africa": spread(allv),
        "countries": {k: spread(v) for k, v in sorted(by_country.items()) if len(v) >= MIN_CITIES},
    }


def main(argv: list[str]) -> None:
    src = Path(argv[1]) if len(argv) > 1 else CSV
    out = Path(argv[2]) if len(argv) > 2 else OUT
    out.write_text(json.dumps(build(src), indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv)
