"""Redraw a district's 12 existing grids into 15 and export the result for QGIS or ArcGIS.

``resplit`` keeps as many residents as it can in the grid they were in (the disruption and its lower
bound are in the comparison). The exports: the lossless GeoPackage (reload with
``GridPlan.read_file``), a Shapefile and a GeoJSON in GCJ-02 for Amap/Tencent base maps (the Shapefile
gets a ``.cpg`` so Chinese names survive), and the table of who moves from which old grid to which
new one as CSV (UTF-8 with BOM, so Excel reads the Chinese names).

Run from the repository root (no other data needed)::

    python examples/redraw_for_desktop_gis.py [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import gridplan

EFFORT_SECONDS = 20  # an upper bound on the search; the default (None) lets it run to its own end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="gridplan_redraw_")))
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)

    district = gridplan.sample_district(seed=0)  # has an existing layer of 12 grids
    new = gridplan.resplit(district, 15, seed=0, time_limit=EFFORT_SECONDS)
    change = new.compare(new.previous)
    print(change.summary)

    new.to_file(out / "grids_15.gpkg")  # lossless, in the district's metric CRS
    new.to_file(out / "grids_15.shp", crs="GCJ-02")  # desktop GIS over an Amap base map
    new.to_file(out / "grids_15.geojson", crs="GCJ-02")
    change.transfers.to_csv(out / "transfers_12_15.csv", encoding="utf-8-sig")
    ax = change.plot()
    ax.figure.savefig(out / "grids_12_15.png", dpi=90, bbox_inches="tight")
    print(change.transfers.head(10).to_string())
    print(f"wrote {sorted(p.name for p in out.iterdir())}")


if __name__ == "__main__":
    main()
