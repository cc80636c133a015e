"""Cost of atomic, verified saves: GridPlan.to_file(district=True) with and without the read-back check.

Run: PYTHONPATH=src python benchmarks/bench_reliability.py [reps]
Alternates verified and unverified saves of the sample district's 15-grid plan in one process and
reports the median of each and their ratio (robust to load on a shared machine).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import gridplan
from gridplan import _io
from gridplan.grids import partition


def main(reps: int = 5) -> None:
    plan = partition(gridplan.sample_district(seed=0), 15, seed=0)
    folder = Path(tempfile.mkdtemp())
    plain = _io.atomic_write

    def unverified(path, write, *, verify=None, companions=()):  # the same atomic write, no read-back
        return plain(path, write, companions=companions)

    times: dict[str, list[float]] = {"verified": [], "unverified": []}
    for _ in range(reps):
        for kind in ("verified", "unverified"):
            t = time.perf_counter()
            if kind == "verified":
                plan.to_file(folder / "plan.gpkg", district=True)
            else:
                with mock.patch.object(_io, "atomic_write", unverified):
                    plan.to_file(folder / "plan.gpkg", district=True)
            times[kind].append(time.perf_counter() - t)
    v, u = statistics.median(times["verified"]), statistics.median(times["unverified"])
    size = (folder / "plan.gpkg").stat().st_size / 2**20
    print(f"plan with district ({size:.1f} MB): verified {v:.2f} s, unverified {u:.2f} s, ratio {v / u:.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
