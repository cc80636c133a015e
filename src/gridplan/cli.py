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
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from . import _dask, _io

if TYPE_CHECKING:
    import pandas

__all__ = ["main", "build_parser"]

EXIT_ERROR = 2
"""Exit code of every failed command (a one-line message on stderr; ``--verbose`` adds the traceback)."""


class _Stderr(logging.StreamHandler):
    """Log to whatever ``sys.stderr`` is at the time (a redirected or captured stream too)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


class _Parser(argparse.ArgumentParser):
    """argparse with errors as one line (``gridplan: error: ...``) and exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_ERROR, f"gridplan: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``gridplan`` argument parser (sub-commands: ``demo``, ``locate``)."""
    from ._version import __version__

    parser = _Parser(
        prog="gridplan",
        description="Grid-based city management (网格化城市管理): districts, grids, patrols, incidents.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only errors")
    parser.add_argument("--verbose", action="store_true", help="on an error, print the traceback too")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser(
        "demo",
        help="run the main job on the built-in synthetic sample district and write maps and tables",
        description="Build the synthetic sample district, draw its grids (the 12 existing ones, a fresh "
        "partition and the 12 -> 15 redraw), and write maps (PNG), tables (CSV), plans (GeoPackage) and "
        "a short report to a folder.",
    )
    demo.add_argument("--out", default="demo", help="output folder (default: ./demo)")
    demo.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="print only errors")
    demo.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help="on an error, print the traceback too")
    demo.add_argument("--seed", type=int, default=0, help="seed of the sample district and the plans (default: 0)")
    demo.add_argument("--grids", type=int, default=15, help="number of grids to draw (default: 15, as Guiding county's 12 -> 15)")
    demo.add_argument(
        "--effort",
        type=float,
        default=1.0,
        help="search effort of the patrol routing (default: 1; 0.2 is five times quicker and a few per cent longer)",
    )
    demo.add_argument("--runs", type=int, default=30, help="simulated weeks per plan in the 12 vs 15 comparison (default: 30)")
    loc = sub.add_parser(
        "locate",
        help="route incidents in a CSV to grid, community, street and 7123 deadline, streaming in chunks",
        description="Read incidents from a CSV in chunks (files larger than memory are fine), locate each to its "
        "grid, community and nearest street, set level and deadline by the 7123 rule, and write the same rows "
        "with the new columns to a CSV. Rows that cannot be routed are kept with a reason.",
    )
    loc.add_argument("input", help="incidents CSV")
    loc.add_argument("--grids", required=True, help="a plan (.gpkg from GridPlan.to_file) or any file of grid polygons")
    loc.add_argument("--out", required=True, help="output CSV")
    loc.add_argument(
        "--crs", default=None, help="CRS of the coordinates: GCJ-02, BD-09, EPSG:4490, EPSG:4326, ... (default: the grids' CRS)"
    )
    loc.add_argument("--x", default=None, help="x/longitude column (default: x, lon, lng or longitude)")
    loc.add_argument("--y", default=None, help="y/latitude column (default: y, lat or latitude)")
    loc.add_argument("--severity", default=None, help="severity column (1/2/3 or small/larger/hard)")
    loc.add_argument("--time", default=None, help="report time column, for deadlines as timestamps")
    loc.add_argument("--code", default=None, help="grid code column of a plain grid layer (default: code)")
    loc.add_argument("--streets", default=None, help="street lines file, for the nearest street of each incident")
    loc.add_argument("--chunksize", type=int, default=200_000, help="rows per chunk (default: 200000)")
    loc.add_argument(
        "--timezone",
        default="Asia/Shanghai",
        help="the district's time zone: --time values without "
        "a zone are local time there, values with one are converted to it (default: Asia/Shanghai)",
    )
    loc.add_argument(
        "--encoding", default=None, help="text encoding of the CSV (default: UTF-8, then GB18030/GBK when the file is not UTF-8)"
    )
    loc.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="print only errors")
    loc.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help="on an error, print the traceback too")
    rep = sub.add_parser(
        "report",
        help="write a self-contained HTML report of a plan (summary, per-grid table, rankings, maps)",
        description="Write one HTML page about a plan saved by GridPlan.to_file: its summary and metrics, a "
        "per-grid table, rankings, maps as embedded images, and, when given, the change from a previous plan, "
        "key posts, staffing, patrols per grid and simulation KPIs. The page loads nothing from the internet.",
    )
    rep.add_argument("plan", help="the plan (.gpkg written by GridPlan.to_file or `gridplan demo`)")
    rep.add_argument("--out", required=True, help="HTML file to write")
    rep.add_argument("--previous", default=None, help="the plan it replaces (.gpkg), for the change table (e.g. 12 -> 15)")
    rep.add_argument("--posts", default=None, help="key posts (.gpkg written by Posts.to_file)")
    rep.add_argument("--routes", default=None, help="patrols (.gpkg written by RoutePlan.to_file, its 'routes' layer)")
    rep.add_argument("--staffing", default=None, help="teams per grid (.gpkg written by Staffing.to_file)")
    rep.add_argument(
        "--simulation",
        default=None,
        help="simulation KPIs (.gpkg written by SimulationResult.to_file, e.g. by `gridplan simulate`)",
    )
    rep.add_argument(
        "--streets",
        default=None,
        help="the district (.gpkg written by District.to_file, or a file with "
        "boundary/streets/communities layers): streets on the maps, community names, post coverage",
    )
    rep.add_argument("--title", default=None, help="page title (default: district name and number of grids)")
    rep.add_argument("--top", type=int, default=5, help="grids per ranking (default: 5)")
    rep.add_argument(
        "--interactive",
        action="store_true",
        help="add an interactive folium map (needs folium; the map loads tiles from the internet)",
    )
    rep.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="print only errors")
    rep.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help="on an error, print the traceback too")
    sim = sub.add_parser(
        "simulate",
        help="simulate incidents, patrols and responses over a plan many times; KPIs and 7123 compliance per grid",
        description="Run independent simulated periods of incidents over a saved plan (posts, a sample roster's "
        "'1+2+2' teams and road-chief patrols derived from the plan unless given) and write the KPIs: per run, "
        "per grid, source and shift, with confidence intervals, a map of compliance, and the first run's ledger. "
        "With --compare, the same study of a second plan (e.g. the 12 existing grids vs the 15 redrawn ones).",
    )
    sim.add_argument("--plan", required=True, help="the plan (.gpkg written by GridPlan.to_file or `gridplan demo`)")
    sim.add_argument(
        "--district",
        default=None,
        help="its district (.gpkg written by District.to_file, e.g. the "
        "demo's district.gpkg): streets, population and communities (default: the district saved in the "
        "plan file by GridPlan.to_file(path, district=True))",
    )
    sim.add_argument("--compare", default=None, help="a second plan of the same district to simulate and compare")
    sim.add_argument("--runs", type=int, default=100, help="independent runs (default: 100)")
    sim.add_argument("--days", type=int, default=7, help="days per run (default: 7)")
    sim.add_argument("--seed", type=int, default=0, help="seed of the study (default: 0)")
    sim.add_argument(
        "--workers",
        type=int,
        default=1,
        help="run on a local Dask cluster of this many worker processes (needs the [distributed] extra; default: 1, no Dask)",
    )
    sim.add_argument("--out", default="simulation", help="output folder (default: ./simulation)")
    sim.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="print only errors")
    sim.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help="on an error, print the traceback too")
    from . import _cli_city

    _cli_city.add_parser(sub)
    parser.set_defaults(version_string=f"gridplan {__version__}")
    return parser


def _demo(out: Path, seed: int, n_grids: int, log: logging.Logger, runs: int = 30, effort: float = 1.0) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    from .datasets import sample_district
    from .grids import GridPlan, partition, resplit

    t0 = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []

    def wrote(name: str) -> None:
        written.append(name)
        log.info("wrote %s", out / name)

    district = sample_district(seed=seed)
    log.info("built %r in %.1f s", district, time.perf_counter() - t0)
    summary = district.summary()
    _io.write_csv(out / "district_summary.csv", summary, header=["value"], index_label="fact")
    wrote("district_summary.csv")
    communities = district.communities.drop(columns="geometry").copy()
    communities["area_km2"] = (district.communities.area / 1e6).round(3)
    _io.write_csv(out / "communities.csv", communities, index=False)
    wrote("communities.csv")
    fig, ax = plt.subplots(figsize=(9, 9))
    district.plot(ax=ax)
    _savefig(fig, out / "district.png", dpi=130, bbox_inches="tight")
    plt.close(fig)
    wrote("district.png")
    district.to_file(out / "district.gpkg")
    wrote("district.gpkg")

    t1 = time.perf_counter()
    before = GridPlan.from_district_grids(district)
    fresh = partition(district, n_grids, seed=seed)
    redraw = resplit(district, n_grids, seed=seed)
    log.info("partitioned and redrew %d -> %d grids in %.1f s", before.n_grids, n_grids, time.perf_counter() - t1)
    plans = {
        f"existing_{before.n_grids}": before,
        f"partition_{n_grids}": fresh,
        f"resplit_{before.n_grids}_to_{n_grids}": redraw,
    }
    metrics = pd.DataFrame({name: plan.metrics() for name, plan in plans.items()}).T
    comparison = pd.DataFrame({name: plan.compare(before).summary for name, plan in plans.items() if plan is not before}).T
    table = metrics.join(comparison[["disruption", "disruption_lower_bound", "ratio_to_bound"]])
    _io.write_csv(out / "plan_metrics.csv", table, index_label="plan")
    wrote("plan_metrics.csv")
    fig, axes = plt.subplots(1, 3, figsize=(21, 7.5))
    from . import plot as gplot

    # workload over the mean on one colour scale: a grid at 0.97 of the mean looks the same in every panel
    low, high = gplot.colour_range(*(p.grids["weight"] / p.grids["weight"].mean() for p in plans.values()))
    spread = max(1.0 - low, high - 1.0, 0.01)
    vmin, vmax = 1.0 - spread, 1.0 + spread  # centred on the mean: blue below, red above
    for ax, (name, plan) in zip(axes, plans.items()):
        m = plan.metrics()
        plan.plot(
            ax=ax,
            column="balance",
            labels=False,
            vmin=vmin,
            vmax=vmax,
            cmap="RdBu_r",
            title=f"{name.replace('_', ' ')}: balance {m['balance_min']:.2f}-{m['balance_max']:.2f}, PP {m['pp_mean']:.2f}",
        )
    _savefig(fig, out / "grids_12_15.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    wrote("grids_12_15.png")
    change = redraw.compare(before)
    fig, ax = plt.subplots(figsize=(9, 9))
    change.plot(ax=ax)
    _savefig(fig, out / "redraw_transfers.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    wrote("redraw_transfers.png")
    _io.write_csv(out / "redraw_transfers.csv", change.transfers, index=False)
    wrote("redraw_transfers.csv")
    for name, plan in plans.items():
        plan.to_file(out / f"plan_{name}.gpkg", district=True)  # `gridplan simulate --plan` needs no --district
        wrote(f"plan_{name}.gpkg")
        _io.write_csv(out / f"plan_{name}_grids.csv", plan.grids.drop(columns="geometry"), index=False)
        wrote(f"plan_{name}_grids.csv")

    # key posts and liaison stations of the redrawn plan (Guiding: 42 posts for 15 grids)
    posts, cover = _demo_posts(redraw, seed, out, wrote, log)

    # road-chief patrols of the redrawn plan: every grid's streets shared by its chiefs, from the grid's first post
    from .routes import balance_routes

    t2 = time.perf_counter()
    patrols = balance_routes(
        redraw, chiefs_per_grid=2, depot="post", posts=posts, seed=seed, effort=effort, progress=log.isEnabledFor(logging.INFO)
    )
    log.info("balanced %d patrols in %.1f s: %r", patrols.n_routes, time.perf_counter() - t2, patrols)
    fig, ax = plt.subplots(figsize=(10, 10))
    patrols.plot(
        ax=ax,
        grids=redraw,
        deadhead=False,
        title=f"Road-chief patrols (synthetic streets): {patrols.n_routes} chiefs in {redraw.n_grids} grids, "
        f"longest {patrols.max_length / 1000:.1f} km",
    )
    _savefig(fig, out / "patrols.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    wrote("patrols.png")
    patrols.to_file(out / "patrols.gpkg")
    wrote("patrols.gpkg")
    assert patrols.per_grid is not None  # per-grid patrols (chiefs_per_grid=) always carry their grid table
    patrol_table = patrols.per_grid.join(patrols.routes.groupby("grid")["length"].min().rename("min_length"))
    _io.write_csv(out / "patrol_grids.csv", patrol_table)
    wrote("patrol_grids.csv")
    _io.write_csv(out / "patrol_frequency.csv", patrols.frequency())
    wrote("patrol_frequency.csv")
    patrol_balance = _demo_patrol_aware(district, patrols, n_grids, seed, effort, out, wrote, log)

    # "1+2+2" teams on early/middle/late shifts from the sample roster, reporting to the posts
    staffing = _demo_staffing(redraw, posts, seed, out, wrote, log)

    # the 12 existing grids vs the redrawn ones: simulated weeks of incidents, patrols and responses
    sim_before, sim_after, sim_table = _demo_simulation(before, redraw, posts, staffing, patrols, seed, runs, out, wrote, log)
    from .report import write_report

    write_report(
        redraw, out / "report.html", previous=before, posts=posts, staffing=staffing, routes=patrols, simulation=sim_after
    )
    wrote("report.html")

    o = cover.overall
    lines = [
        f"gridplan demo (seed={seed})",
        "",
        summary.to_string(),
        "",
        "plans:",
        table.to_string(),
        "",
        f"posts ({posts.n_posts} key posts, at least one per grid, and {posts.n_stations} liaison stations, one "
        f"per community, on the redrawn plan; maximal covering of the 15-minute life circle, {o['max_walk_m']:.0f} m "
        f"walking along the streets, solved with mip_gap=1e-3):",
        posts.summary().to_string(),
        "",
        f"coverage: {o['covered']:,.0f} of {o['demand']:,.0f} residents ({o['share']:.2%}) within "
        f"{o['max_walk_m']:.0f} m of a post; lowest grid {cover.per_grid['share'].min():.2%}, lowest community "
        f"{cover.per_community['share'].min():.2%}; mean walk {o['mean_walk_m']:.0f} m",
        "",
        "patrols (2 road chiefs per grid of the redrawn plan, starting from the grid's first post):",
        patrols.summary().to_string(),
        "",
        f"patrol-aware grids (a fresh plan balanced on {PATROL_BALANCE}; its chiefs start from the grid's "
        "centroid node): the longest road chief's walk over the shortest, against the redrawn plan:",
        patrol_balance.to_string(),
        "",
        "staffing ('1+2+2' in gridplan's reading: 1 leader, a Party member; 2 officers on different shifts; "
        "2 workers; early/middle/late shifts; sample roster; home-to-post distance along the streets, solved exactly):",
        staffing.summary().to_string(),
        "",
        f"simulation ({runs} weeks per plan; the 12 existing grids (A) vs the {redraw.n_grids} redrawn ones (B), "
        "each with its own posts, '1+2+2' teams and patrols; B - A with a 95 % interval and Welch's p-value):",
        sim_table.round(4).to_string(),
        "",
        "notes:",
    ]
    lines += [f"- {n}" for n in district.notes + posts.notes + patrols.notes + staffing.notes]
    lines += [f"- simulation, 12 grids: {n}" for n in sim_before.notes]
    lines += ["", "files:"] + [f"- {name}" for name in written]
    _io.write_text(out / "README.txt", "\n".join(lines) + "\n")
    log.info("wrote %s", out / "README.txt")
    shown = ["balance_min", "balance_max", "pp_mean", "pp_min", "cut_edges", "contiguous", "disruption"]
    log.info("\n%s", table[shown].to_string())
    log.info("done in %.1f s", time.perf_counter() - t0)
    return 0


PATROL_BALANCE = {"population": 0.15, "street_km": 0.03}
"""What the demo's patrol-aware plan balances: street length within ±3 % (what road chiefs walk) while
residents stay within ±15 %; on the sample district the longest chief's walk is then about 1.2 x the
shortest, against 3.4 x for the population-balanced redraw."""
DEMO_POSTS_SECONDS = 30.0
"""The demo's key posts stop here (seconds), with their status and gap, if HiGHS has not proven the 0.1 % gap."""


def _demo_patrol_aware(district, patrols, n_grids, seed, effort, out, wrote, log):
    """A plan balanced on residents and street length, its patrols, and the walk table against the redraw."""
    import warnings

    import pandas as pd

    from .errors import GridplanWarning
    from .grids import partition
    from .routes import balance_routes

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)
        aware = partition(district, n_grids, seed=seed, balance=PATROL_BALANCE, strict=False)
    aware.to_file(out / f"plan_patrol_aware_{n_grids}.gpkg", district=True)
    wrote(f"plan_patrol_aware_{n_grids}.gpkg")
    walks = balance_routes(
        aware, chiefs_per_grid=2, depot="centroid", seed=seed, effort=effort, progress=log.isEnabledFor(logging.INFO)
    )
    walks.to_file(out / "patrols_patrol_aware.gpkg")
    wrote("patrols_patrol_aware.gpkg")
    rows = {}
    for name, plan_walks, plan_spread in (
        ("redrawn (population ±5 %)", patrols, None),
        (f"patrol-aware {PATROL_BALANCE}", walks, aware.spreads()),
    ):
        length = plan_walks.routes["length"] / 1000
        rows[name] = {
            "chiefs": len(length),
            "shortest_km": length.min(),
            "longest_km": length.max(),
            "longest_over_shortest": length.max() / length.min(),
        }
        if plan_spread is not None:
            rows[name].update({f"{m}_spread": f"{r['min']:.3f}-{r['max']:.3f}" for m, r in plan_spread.iterrows()})
    table = pd.DataFrame(rows).T
    table.to_csv(out / "patrol_balance.csv", index_label="plan")
    wrote("patrol_balance.csv")
    log.info(
        "patrol-aware grids: longest walk / shortest %.2f (redrawn plan %.2f)",
        table["longest_over_shortest"].iloc[1],
        table["longest_over_shortest"].iloc[0],
    )
    return table


def _demo_posts(plan, seed, out, wrote, log):
    """Demo: 42 posts (scaled to the number of grids) and one station per community, with their coverage."""
    import matplotlib.pyplot as plt

    from .posts import place_posts

    t = time.perf_counter()
    n_posts = max(plan.n_grids, round(42 * plan.n_grids / 15))
    # mip_gap=1e-3 and at most DEMO_POSTS_SECONDS: HiGHS may take minutes to prove the last 0.1 % on 42 posts;
    # the plan's status and gap say where it stopped
    posts = place_posts(
        plan,
        n_posts,
        min_per_grid=1,
        stations="community",
        mip_gap=1e-3,
        seed=seed,
        time_limit=DEMO_POSTS_SECONDS,
        progress=log.isEnabledFor(logging.INFO),
    )
    cover = posts.coverage()
    log.info("placed %s in %.1f s; %r", posts, time.perf_counter() - t, cover)
    fig, ax = plt.subplots(figsize=(10, 10))
    posts.plot(ax=ax, title=f"{posts.n_posts} key posts and {posts.n_stations} liaison stations (synthetic streets)")
    _savefig(fig, out / "posts.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    wrote("posts.png")
    fig, ax = plt.subplots(figsize=(10, 10))
    cover.plot(ax=ax)
    _savefig(fig, out / "coverage.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    wrote("coverage.png")
    posts.to_file(out / "posts.gpkg")
    wrote("posts.gpkg")
    table = posts.posts.drop(columns="geometry").assign(x=posts.posts.geometry.x.round(2), y=posts.posts.geometry.y.round(2))
    _io.write_csv(out / "posts.csv", table)
    wrote("posts.csv")
    _io.write_csv(out / "coverage_grids.csv", cover.per_grid)
    wrote("coverage_grids.csv")
    _io.write_csv(out / "coverage_communities.csv", cover.per_community)
    wrote("coverage_communities.csv")
    return posts, cover


def _demo_simulation(before, after, posts, staffing, patrols, seed, runs, out, wrote, log):
    """Demo: the 12 existing grids vs the redrawn plan over simulated weeks (KPIs, comparison, maps)."""
    import matplotlib.pyplot as plt

    from .datasets import sample_roster
    from .posts import place_posts
    from .routes import balance_routes
    from .simulate import simulate
    from .staffing import assign_staff

    t = time.perf_counter()
    progress = log.isEnabledFor(logging.INFO)
    # the existing plan gets its own posts (Guiding's ratio, 42 for 15 grids), teams and quicker patrols
    posts12 = place_posts(
        before, max(before.n_grids, round(42 * before.n_grids / 15)), mip_gap=1e-3, time_limit=10, seed=seed, progress=False
    )
    staff12 = assign_staff(before, sample_roster(before, seed=seed), posts=posts12, seed=seed)
    routes12 = balance_routes(before, chiefs_per_grid=2, posts=posts12, effort=0.05, seed=seed, progress=False)
    sim_before = simulate(before, posts=posts12, staffing=staff12, routes=routes12, runs=runs, seed=seed, progress=progress)
    sim_before.notes.insert(
        0, f"posts: {posts12.n_posts} ({posts12.params['status']}, gap {posts12.params['gap']:.2%}, 10 s); patrols at effort 0.05"
    )
    sim_after = simulate(after, posts=posts, staffing=staffing, routes=patrols, runs=runs, seed=seed, progress=progress)
    log.info(
        "simulated %d weeks of each plan in %.1f s:\n  12 grids: %r\n  %d grids: %r",
        runs,
        time.perf_counter() - t,
        sim_before,
        after.n_grids,
        sim_after,
    )
    table = sim_before.compare(sim_after)
    _io.write_csv(out / "simulation_comparison.csv", table)
    wrote("simulation_comparison.csv")
    for name, res in (("existing_12", sim_before), (f"redrawn_{after.n_grids}", sim_after)):
        _io.write_csv(out / f"simulation_{name}_grids.csv", res.per_grid)
        wrote(f"simulation_{name}_grids.csv")
        res.to_file(out / f"simulation_{name}.gpkg")  # for `gridplan report --simulation`
        wrote(f"simulation_{name}.gpkg")
    fig, axes = plt.subplots(1, 2, figsize=(16, 7.5))
    from . import plot as gplot

    vmin, vmax = gplot.colour_range(sim_before.per_grid["compliance_7min"], sim_after.per_grid["compliance_7min"])
    sim_before.plot(
        ax=axes[0], column="compliance_7min", title="12 existing grids: face to face within 7 min", vmin=vmin, vmax=vmax
    )
    sim_after.plot(
        ax=axes[1],
        column="compliance_7min",
        vmin=vmin,
        vmax=vmax,
        title=f"{after.n_grids} redrawn grids: face to face within 7 min",
    )
    _savefig(fig, out / "simulation_12_15.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    wrote("simulation_12_15.png")
    return sim_before, sim_after, table


def _demo_staffing(plan, posts, seed, out, wrote, log):
    """Demo: "1+2+2" teams on staggered shifts from the sample roster; tables, the week's duty table and a map."""
    import matplotlib.pyplot as plt

    from .datasets import sample_roster
    from .staffing import assign_staff

    t = time.perf_counter()
    roster = sample_roster(plan, seed=seed)
    staffing = assign_staff(plan, roster, model="1+2+2", posts=posts, seed=seed)
    log.info("staffed %r in %.1f s", staffing, time.perf_counter() - t)
    a = staffing.assignments
    _io.write_csv(
        out / "staffing_assignments.csv",
        a.drop(columns="post").assign(
            post_x=a.geometry.x.round(2), post_y=a.geometry.y.round(2), distance_m=a["distance_m"].round(1)
        ),
        index=False,
    )
    wrote("staffing_assignments.csv")
    _io.write_csv(out / "staffing_teams.csv", staffing.teams)
    wrote("staffing_teams.csv")
    _io.write_csv(out / "staffing_vacancies.csv", staffing.vacancies, index=False)
    wrote("staffing_vacancies.csv")
    _io.write_csv(out / "staffing_unassigned.csv", staffing.unassigned, index=False)
    wrote("staffing_unassigned.csv")
    _io.write_csv(out / "staffing_shifts.csv", staffing.shift_table())
    wrote("staffing_shifts.csv")
    fig, ax = plt.subplots(figsize=(10, 10))
    staffing.plot(ax=ax)
    _savefig(fig, out / "staffing.png", dpi=120, bbox_inches="tight")
    plt.close(fig)
    wrote("staffing.png")
    staffing.to_file(out / "staffing.gpkg")
    wrote("staffing.gpkg")
    return staffing


def _csv_encoding(src: Path, given: str | None, log: logging.Logger) -> str:
    """The text encoding of a CSV: ``given`` if any, else UTF-8 (with or without BOM), else GB18030 (GBK's superset)."""
    import codecs

    from .errors import DataError

    if given is not None:
        try:
            return codecs.lookup(given).name
        except LookupError:
            raise DataError(f"unknown --encoding {given!r}; use e.g. utf-8, gbk, gb18030 or big5") from None
    for encoding in _CSV_ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with open(src, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    decoder.decode(block)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        if encoding != _CSV_ENCODINGS[0]:
            log.info("%s is not UTF-8; read it as %s (GBK's superset, what Chinese Excel often writes)", src, encoding)
        return encoding
    raise DataError(f"{src} is neither UTF-8 nor GBK/GB18030 text; say its encoding with --encoding (e.g. big5)")


_CSV_ENCODINGS = ("utf-8-sig", "gb18030")


def _read_grids(path: str) -> object:
    """A plan saved by GridPlan.to_file, or the first layer of any file of grid polygons."""
    from . import _io
    from .errors import DataError
    from .grids import GridPlan

    if _io.META_LAYER in _io.list_layers(path):
        return GridPlan.read_file(path)
    frame = _io.read_vector(path)
    if len(frame) == 0:
        raise DataError(f"--grids {path} has no grid polygons")
    return frame


def _csv_chunks(src: Path, encoding: str, chunksize: int):
    """(chunk, bytes read so far) of a CSV, every parsing failure a DataError naming the file."""
    import pandas as pd

    from .errors import DataError

    with open(src, "rb") as fh:
        try:
            reader = pd.read_csv(fh, chunksize=chunksize, encoding=encoding)
            any_rows = False
            for chunk in reader:
                any_rows = True
                yield chunk, fh.tell()
            if not any_rows:  # a header without rows: an empty output with the same columns
                fh.seek(0)
                yield pd.read_csv(fh, nrows=0, encoding=encoding), fh.tell()
        except pd.errors.EmptyDataError:
            raise DataError(f"{src} is empty: a CSV with a header row (e.g. id,lon,lat) is expected") from None
        except pd.errors.ParserError as exc:
            raise DataError(
                f"{src} is not a well-formed CSV: {str(exc).strip()}; fix that row (a stray comma or quote?) and run again"
            ) from None
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{src} cannot be read as {encoding} ({exc.reason} at byte {exc.start}); give its encoding with --encoding"
            ) from None


def _locate(args: argparse.Namespace, log: logging.Logger) -> int:
    import hashlib

    from tqdm.auto import tqdm

    from . import _io, _validate
    from .errors import DataError
    from .locate import GridIndex

    src, out = Path(args.input), Path(args.out)
    if not src.is_file():
        raise DataError(f"input file {src} does not exist")
    chunksize = _validate.integer(args.chunksize, "--chunksize", minimum=1)
    if (args.x is None) != (args.y is None):
        raise DataError(
            "--x and --y go together: give both coordinate columns, or neither (then x/y, lon/lat, "
            "lng/lat or longitude/latitude are looked for)"
        )
    _io.refuse_overwriting_inputs(out, {"input": src, "--grids": args.grids, "--streets": args.streets})
    encoding = _csv_encoding(src, args.encoding, log)
    grids = _read_grids(args.grids)
    streets = _io.read_vector(args.streets) if args.streets else None
    index = GridIndex(grids, code=args.code, streets=streets)
    log.info("%s", index)
    counts = {"rows": 0, "located": 0, "outside": 0, "flagged": 0, "zoned": 0}
    t0 = time.perf_counter()

    written = hashlib.sha256()

    def write(tmp: Path) -> None:
        with (
            open(tmp, "wb") as fh,
            tqdm(total=src.stat().st_size, unit="B", unit_scale=True, desc="locate", disable=args.quiet) as bar,
        ):
            for i, (chunk, done) in enumerate(_csv_chunks(src, encoding, chunksize)):
                routed = index.assign(
                    chunk, x=args.x, y=args.y, crs=args.crs, severity=args.severity, time=args.time, timezone=args.timezone
                )
                counts["zoned"] += sum(int(n.split()[0]) for n in routed.attrs.get("notes", []))
                data = routed.to_csv(None, header=i == 0, index=False).encode("utf-8")
                fh.write(data)
                written.update(data)
                for key, n in _locate_counts(routed).items():
                    counts[key] += n
                bar.update(done - bar.n)

    def verify(tmp: Path) -> None:  # the bytes on disk are the bytes written (SHA-256 of both)
        back = hashlib.sha256()
        with open(tmp, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                back.update(block)
        if back.digest() != written.digest():
            raise DataError(f"{out}: the file read back differs from what was written; the old file is unchanged")

    _io.atomic_write(out, write, verify=verify)
    if counts["zoned"]:
        log.info("%d report times carried a time zone and were converted to %s local time", counts["zoned"], args.timezone)
    log.info(
        "wrote %s: %d rows, %d located, %d outside every grid, %d with a reason (%.1f s)",
        out,
        counts["rows"],
        counts["located"],
        counts["outside"],
        counts["flagged"],
        time.perf_counter() - t0,
    )
    return 0


def _locate_counts(routed: pandas.DataFrame) -> dict[str, int]:
    """Rows, rows located, rows outside every grid (whatever else their reason says), rows with a reason."""
    reason = routed["reason"].astype("string")
    outside = routed["grid"].isna() & reason.str.contains("outside every grid", regex=False).fillna(False)
    return {
        "rows": len(routed),
        "located": int(routed["grid"].notna().sum()),
        "outside": int(outside.sum()),
        "flagged": int(reason.notna().sum()),
    }


def _savefig(fig, path: Path, **kwargs) -> None:
    """Save a figure atomically (a failed save leaves the old image)."""
    from . import _io

    def verify(tmp: Path) -> None:
        if tmp.stat().st_size == 0:
            raise OSError(f"{path}: the image written is empty")

    _io.atomic_write(path, lambda tmp: fig.savefig(tmp, **kwargs), verify=verify)


def _report(args: argparse.Namespace, log: logging.Logger) -> int:
    from .district import District
    from .errors import DataError
    from .grids import GridPlan
    from .posts import Posts
    from .report import read_simulation, write_report
    from .staffing import Staffing

    _io.refuse_overwriting_inputs(
        args.out,
        {
            "plan": args.plan,
            "--previous": args.previous,
            "--posts": args.posts,
            "--routes": args.routes,
            "--staffing": args.staffing,
            "--simulation": args.simulation,
            "--streets": args.streets,
        },
    )
    plan = GridPlan.read_file(args.plan)
    district = None
    if args.streets:
        try:
            district = District.read_file(args.streets)
        except DataError:  # not written by gridplan: a file with boundary/streets/... layers
            district = District.from_file(args.streets)
        plan.district = district
    previous = GridPlan.read_file(args.previous) if args.previous else None
    posts = Posts.read_file(args.posts, streets=district) if args.posts else None
    routes = None
    if args.routes:
        if "routes" not in _io.list_layers(args.routes):
            raise DataError(
                f"{args.routes} has no 'routes' layer (it has {_io.list_layers(args.routes)}); write "
                "patrols with RoutePlan.to_file"
            )
        routes = _io.read_layer(args.routes, "routes")
    staffing = Staffing.read_file(args.staffing) if args.staffing else None
    simulation = read_simulation(args.simulation) if args.simulation else None
    out = write_report(
        plan,
        args.out,
        previous=previous,
        posts=posts,
        staffing=staffing,
        routes=routes,
        simulation=simulation,
        title=args.title,
        interactive=args.interactive,
        top=args.top,
    )
    log.info("wrote %s (%.0f kB)", out, out.stat().st_size / 1024)
    return 0


def _simulate(args: argparse.Namespace, log: logging.Logger) -> int:

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .district import District
    from .errors import DataError
    from .grids import GridPlan
    from .simulate import simulate

    if args.workers < 1:
        raise DataError(f"--workers must be at least 1, got {args.workers}")
    paths = {"plan": args.plan, **({"compare": args.compare} if args.compare else {})}
    for what, given in {**paths, "district": args.district}.items():
        if given is not None and Path(args.out).exists() and _io.same_file(args.out, given):
            raise DataError(f"--out {args.out} is the {what} file; give a folder for the outputs")
    plans = {name: GridPlan.read_file(path) for name, path in paths.items()}
    if args.district is not None:
        district = District.read_file(args.district)
        for plan in plans.values():
            plan.district = district
    else:  # the district saved in the plan file; a plan without one uses the other plan's
        holder = next((name for name, p in plans.items() if p.district is not None), None)
        known = None if holder is None else plans[holder].district
        for name, plan in plans.items():
            if plan.district is not None:
                continue
            if known is None:
                raise DataError(
                    f"{paths[name]} does not hold its district, and simulate needs its streets and "
                    "population: pass --district DISTRICT.gpkg (written by District.to_file, e.g. the "
                    "demo's district.gpkg), or save the plan with GridPlan.to_file(path, district=True)"
                )
            assert holder is not None  # known is plans[holder].district
            outside = plan.grids.geometry.union_all().difference(known.shape).area
            if not plan.grids.crs.equals(known.crs) or outside > 1e-3 * known.shape.area:
                raise DataError(
                    f"{paths[name]} does not hold its district and is not a plan of the district saved in "
                    f"{paths[holder]}: pass --district DISTRICT.gpkg"
                )
            log.info("%s: using the district saved in %s", name, paths[holder])
            plan.district = known
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with _dask.local_client(args.workers) as client:
        results = {}
        log.info("staff: a synthetic sample roster per plan (simulate(staffing='sample'); said in the notes)")
        for name, plan in plans.items():
            t0 = time.perf_counter()
            res = simulate(
                plan, staffing="sample", runs=args.runs, days=args.days, seed=args.seed, client=client, progress=not args.quiet
            )
            log.info("%s: %r (%.1f s)", name, res, time.perf_counter() - t0)
            results[name] = res
            res.to_file(out / f"{name}_simulation.gpkg")
            _io.write_csv(out / f"{name}_summary.csv", res.summary())
            _io.write_csv(out / f"{name}_runs.csv", res.runs)
            _io.write_csv(out / f"{name}_per_grid.csv", res.per_grid)
            _io.write_csv(out / f"{name}_per_source.csv", res.per_source)
            _io.write_csv(out / f"{name}_per_shift.csv", res.per_shift)
            fig, axes = plt.subplots(1, 2, figsize=(16, 7))
            res.plot(ax=axes[0])
            res.plot(ax=axes[1], kind="runs")
            _savefig(fig, out / f"{name}_compliance.png", dpi=110, bbox_inches="tight")
            plt.close(fig)
    if "compare" in results:
        cmp = results["plan"].compare(results["compare"])
        _io.write_csv(out / "comparison.csv", cmp)
        how = (
            "paired differences run by run (both saw the same incidents)"
            if cmp.attrs["method"] == "paired"
            else "Welch's unpaired interval (the runs did not see the same incidents)"
        )
        log.info("plan (A) vs compare (B), %s:\n%s", how, cmp.round(4).to_string())
    log.info("wrote %s", out)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the process exit code (0, or 2 after a one-line error message)."""
    import traceback

    from .errors import GridplanError

    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, message already printed)
        return int(exc.code or 0)
    if args.version:
        print(args.version_string)
        return 0
    log = logging.getLogger("gridplan.cli")
    if not any(isinstance(h, _Stderr) for h in log.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
    log.setLevel(logging.ERROR if args.quiet else logging.INFO)
    log.propagate = False
    commands = {
        "demo": lambda: _demo(Path(args.out), args.seed, args.grids, log, runs=args.runs, effort=args.effort),
        "locate": lambda: _locate(args, log),
        "report": lambda: _report(args, log),
        "simulate": lambda: _simulate(args, log),
    }
    try:
        if args.command == "city":
            from ._cli_city import run as _city

            return _city(args, log)
        if args.command in commands:
            return commands[args.command]()
        parser.print_help()
        return 0
    except KeyboardInterrupt:
        log.error("gridplan: interrupted")
        return 130
    except Exception as exc:  # every failure: one line, exit 2; the traceback only with --verbose
        if getattr(args, "verbose", False):
            traceback.print_exc()
        message = " ".join(str(exc).split()) or type(exc).__name__
        if not isinstance(exc, GridplanError):
            message = f"{type(exc).__name__}: {message} (an unexpected error; --verbose shows where)"
        log.error("gridplan: error: %s", message)
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
