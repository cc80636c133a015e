"""Plan a district from your own GeoPackage: read its layers, draw 15 balanced grids, save, summarise.

Your file needs a ``boundary`` layer and, for grids of street blocks, ``streets``; ``population``
(points with a ``population`` column) and ``communities`` are optional. Lon/lat layers from Amap or
Tencent are in GCJ-02: say so with ``crs="GCJ-02"`` (Baidu: ``"BD-09"``). Here the file is the built-in
synthetic sample district written to a GeoPackage first; point ``SOURCE`` at yours instead.

Run from the repository root (no other data needed)::

    python examples/plan_from_geopackage.py [--out DIR]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import gridplan

N_GRIDS = 15


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="gridplan_plan_")))
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)

    source = out / "my_district.gpkg"  # stands in for your own GeoPackage
    gridplan.sample_district(seed=0).to_file(source)

    # your own file: District.from_file(path, layers={"boundary": "quxian", "streets": "daolu"}, crs="GCJ-02")
    district = gridplan.District.from_file(source)
    print(district.crs.name, "|", "; ".join(district.notes[:2]))

    plan = gridplan.partition(district, N_GRIDS, seed=0)
    plan.to_file(out / "plan.gpkg")  # lossless: GridPlan.read_file(out / "plan.gpkg")
    print(plan.metrics().to_string())
    print(plan.grids[["code", "population", "street_km", "area_km2"]].to_string(index=False))
    print(f"wrote {out / 'plan.gpkg'}")


if __name__ == "__main__":
    main()
