"""Command line: ``gridplan demo`` and friends. Uses the public API only.

Examples
--------
>>> main(["--version"])  # doctest: +ELLIPSIS
gridplan ...
0
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Sequence

__all__ = ["main", "build_parser"]


def build_parser() -> argparse.ArgumentParser:
    """The ``gridplan`` argument parser (sub-commands: ``demo``)."""
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="gridplan",
        description="Grid-based city management (网格化城市管理): districts, grids, patrols, incidents.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="run the main job on the built-in synthetic sample district and write maps and tables",
        description="Build the synthetic sample district and write its map (PNG), summary (CSV), "
        "layers (GeoPackage) and a short report to a folder.",
    )
    demo.add_argument("--out", default="demo", help="output folder (default: ./demo)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the sample district (default: 0)")
    parser.set_defaults(version_string=f"gridplan {__version__}")
    return parser


def _demo(out: Path, seed: int, log: logging.Logger) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .datasets import sample_district

    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    district = sample_district(seed=seed)
    log.info("built %r in %.1f s", district, time.perf_counter() - t0)
    summary = district.summary()
    summary.to_csv(out / "district_summary.csv", header=["value"], index_label="fact")
    communities = district.communities.drop(columns="geometry").copy()
    communities["area_km2"] = (district.communities.area / 1e6).round(3)
    communities.to_csv(out / "communities.csv", index=False)
    fig, ax = plt.subplots(figsize=(9, 9))
    district.plot(ax=ax)
    fig.savefig(out / "district.png", dpi=130, bbox_inches="tight")
    plt.close(fig)
    district.to_file(out / "district.gpkg")
    lines = [f"gridplan demo (seed={seed})", "", summary.to_string(), "", "notes:"]
    lines += [f"- {n}" for n in district.notes]
    (out / "README.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name in ("district.png", "district_summary.csv", "communities.csv", "district.gpkg", "README.txt"):
        log.info("wrote %s", out / name)
    log.info("done in %.1f s", time.perf_counter() - t0)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    from .errors import GridplanError

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.version:
        print(args.version_string)
        return 0
    log = logging.getLogger("gridplan.cli")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.ERROR if args.quiet else logging.INFO)
    log.propagate = False
    try:
        if args.command == "demo":
            return _demo(Path(args.out), args.seed, log)
        parser.print_help()
        return 0
    except GridplanError as exc:
        log.error("gridplan: error: %s", exc)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
