"""A whole city: grids, posts, patrols, staff, an index and a coverage study, district by district.

A city bureau plans all its districts at once. :func:`plan_city` runs the chain of the demo
for a city whose boundary layer has **one row per district** (e.g.
:func:`gridplan.datasets.sample_city`), solving the districts as independent regions,
serially or on the workers of a ``dask.distributed`` client (``client=``), with the same
result for any number of workers:

1. **grids**: the city's grids are shared out among the districts in proportion to their
   residents (largest remainders, at least one each), and every district is cut on its own
   by :func:`gridplan.grids.partition` (grids never cross a district line, as the standards'
   codes say: district, subdistrict, community, grid). The plans are put together into one
   city :class:`~gridplan.grids.GridPlan`.
2. **posts**: :func:`gridplan.posts.place_posts` per district (posts shared out in proportion
   to grids, at least ``min_per_grid`` per grid, one liaison station per community), then
   **reconciled at the seams**: districts are coloured so that two of one colour are more than
   2 × ``max_walk_m`` apart, and colour by colour every district is solved again for the
   residents that no other district's post covers (its own and its neighbours' within reach),
   keeping the new posts only when they cover more. Only the districts within 2 × ``max_walk_m``
   can reach those residents, so a district's seam task waits for those neighbours alone (its
   lower-coloured neighbours' seams, its higher-coloured neighbours' first passes), not for a
   whole colour: on a client the seams overlap with each other and with the first passes. The
   whole is scored on the city's street network (a resident walks across a seam to the nearest
   post wherever it stands), with an upper bound (every resident within ``max_walk_m`` of some
   candidate street node) and the gap to it.
3. **patrols**: :func:`gridplan.routes.balance_routes` per district (every grid's chiefs from
   the grid's first post).
4. **staffing**: :func:`gridplan.staffing.assign_staff` per district, each district from the
   people who live in it. When people may not cross districts this decomposition is **exact**:
   the city's integer programme falls apart into one block per district (every constraint is
   per person or per grid), so the districts' lexicographic optima add up to the city's.
5. **index**: a :class:`~gridplan.locate.GridIndex` of the city's grids and streets.
6. **coverage study**: residents within ``max_walk_m`` (the 15-minute life circle) of a post,
   per grid, community and district, on the city's streets (one multi-source Dijkstra).

Every step's wall time, its tasks' own times and the workers are kept in
:attr:`CityPlan.times`; :func:`write_city` writes the demo's files and report for the city.

Examples
--------
>>> import warnings
>>> from gridplan.datasets import sample_city
>>> city = sample_city(2, seed=0, district_km=2.0)
>>> with warnings.catch_warnings(record=True) as said:  # a small district may leave a slot empty: warned by name
...     warnings.simplefilter("always")
...     res = plan_city(city, 6, effort=0.05, progress=False)
>>> res.plan.n_grids, sorted(res.plan.grids["code"].str[:6].unique())
(6, ['990101', '990102'])
>>> bool((res.posts.posts.query("kind == 'post'").groupby("grid").size() >= 1).all())
True
>>> list(res.times.index)
['grids', 'posts', 'patrols', 'staffing', 'index', 'coverage']
"""

from __future__ import annotations

import inspect
import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _dask, _regions, _validate
from ._speeds import RESIDENT_WALK_M_PER_MIN
from .district import District
from .errors import DataError, GridplanWarning, InfeasibleError

if TYPE_CHECKING:  # pragma: no cover
    import logging

    from matplotlib.axes import Axes

    from .posts import Coverage
    from .typing import DaskClient

__all__ = [
    "POSTS_PER_GRID",
    "STEPS",
    "CityPlan",
    "CityPosts",
    "CityStaffing",
    "estimate_memory",
    "plan_city",
    "write_city",
]

POSTS_PER_GRID = 42 / 15
"""Guiding county's ratio: 42 key posts for 15 grids."""
STEPS = ("grids", "posts", "patrols", "staffing", "index", "coverage")
"""The steps of :func:`plan_city`, in order (the rows of :attr:`CityPlan.times`)."""
_GiB = 1024**3


# =========================================================================== memory
def _bytes_per_step(city: District, n_grids: int, n_regions: int, max_walk_m: float) -> dict[str, float]:
    """A coarse upper estimate of the peak memory of one task of every step (bytes).

    From the largest region's share of the city (regions are tasks): units and the partition's
    graphs (~40 kB per street block), the posts' covering matrix (demand points × street nodes
    within walking distance, 12 B a link, twice for the LP), the staffing programme (people ×
    grids × shifts binaries, ~200 B each with HiGHS's copies), the index's raster (~80 MB for a
    city, it grows with the grids' extent) and the coverage study (the city's network and demand,
    ~200 B a node or point). It errs on the large side; it is there to refuse a city that cannot
    fit before hours are spent, not to size a cluster to the byte.
    """
    share = 1.0 / max(1, n_regions) * 2.0  # the largest region holds at most about twice a fair share
    seg = len(city.streets)
    pts = len(city.population)
    area = max(city.area_km2, 1e-6)
    nodes = seg * 0.8
    node_density = nodes / area  # per km²
    within = min(nodes * share, node_density * math.pi * (max_walk_m / 1000) ** 2)
    grids_r = n_grids * share
    people_r = 5.5 * grids_r
    return {
        "grids": 40e3 * seg * share + 100e6,
        "posts": 24.0 * pts * share * within + 150e6,
        "patrols": 2e3 * seg * share + 100e6,
        "staffing": 200.0 * people_r * grids_r * 3 + 100e6,
        "index": 80e6 + 2e3 * n_grids,
        "coverage": 200.0 * (nodes + pts) + 100e6,
    }


def estimate_memory(city: District, n_grids: int, *, max_walk_m: float = 1200.0) -> pd.Series:
    """Estimated peak memory (GiB) of one task of every step of :func:`plan_city` (see the Notes there)."""
    n_regions = len(city.boundary)
    est = _bytes_per_step(city, int(n_grids), n_regions, float(max_walk_m))
    return pd.Series({k: v / _GiB for k, v in est.items()}, name="GiB per task")


def _memory_available(client: Any) -> float:
    """Memory one task may use: the smallest worker's limit, else the machine's physical memory."""
    if client is not None:
        limits = [w.get("memory_limit") or 0 for w in client.scheduler_info().get("workers", {}).values()]
        limits = [m for m in limits if m]
        if limits:
            return float(min(limits))
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not on POSIX
        return float("inf")


def _check_memory(city: District, n_grids: int, max_walk_m: float, memory_limit: float | None, client: Any) -> None:
    limit = float(memory_limit) if memory_limit is not None else _memory_available(client)
    est = _bytes_per_step(city, n_grids, len(city.boundary), max_walk_m)
    over = {k: v for k, v in est.items() if v > limit}
    if over:
        step, need = max(over.items(), key=lambda kv: kv[1])
        raise InfeasibleError(
            f"the city is too large for the memory given: the {step} step needs about {need / _GiB:.1f} GiB per task "
            f"(estimate), but a task may use {limit / _GiB:.1f} GiB"
            f"{' (the smallest worker limit)' if memory_limit is None and client is not None else ''}; steps over "
            f"the limit: {', '.join(f'{k} {v / _GiB:.1f} GiB' for k, v in over.items())}. Give the workers more "
            "memory, or split the city into more districts (rows of the boundary layer)"
        )


# =========================================================================== tasks (module level: picklable)
def _quietly(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
    """Run fn, returning its result and its gridplan warnings as text (workers do not show warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GridplanWarning)
        out = fn(*args, **kwargs)
    return out, [str(w.message) for w in caught if issubclass(w.category, GridplanWarning)]


def _grids_task(item: dict[str, Any]) -> tuple[Any, list[str], Any]:
    """One district's grids, and its street network built here (in parallel), which the client keeps so
    that the later steps' tasks receive it instead of each building it again."""
    from .grids import partition

    region = item["region"]
    plan, warned = _quietly(
        partition,
        region.district,
        item["n_grids"],
        units=item["units"],
        seed=item["seed"],
        tolerance=item["tolerance"],
        strict=False,
    )
    plan.district = None  # the client knows the district; do not ship it back
    return plan, warned, region.district.network


def _posts_task(item: dict[str, Any], *_shared: Any) -> dict[str, Any]:
    """Place one region's posts (first pass: its own residents; at the seams: the residents left)."""
    from .posts import place_posts

    whole = item["plan"]
    district = item["region"].district
    orphans = _grids_without_nodes(whole, district.network)
    plan = whole if not len(orphans) else _regions.sub_plan(whole, np.setdiff1d(np.arange(whole.n_grids), orphans))
    plan.district = district
    kw = dict(item["options"])
    demand = item.get("demand")
    if demand is not None:
        kw.update(demand=demand, stations=None)
    posts, warned = _quietly(place_posts, plan, item["n_posts"], seed=item["seed"], progress=False, **kw)
    if len(orphans) and demand is None:
        codes = whole.grids["code"].astype(str).to_numpy()[orphans].tolist()
        warned.append(
            f"grids {codes} have no street node of their own (every node on their edge belongs to a "
            "neighbouring grid with a lower code, none inside): they get no post, and their residents "
            "walk to the neighbours' posts"
        )
    out = {"frame": posts.posts.copy(), "params": dict(posts.params), "notes": list(posts.notes), "warned": warned}
    if demand is not None:  # keep the new posts only when they cover more of this demand than the old ones
        net = plan.district.network
        old, new = (
            _covered(net, demand, f["node"].to_numpy(np.int64), kw["max_walk_m"])
            for f in (item["old"], posts.posts[posts.posts["kind"] == "post"])
        )
        out.update(old_covered=old, new_covered=new)
    plan.district = None
    whole.district = None
    return out


def _within_walk(demand: gpd.GeoDataFrame, dist: np.ndarray, walk: float) -> np.ndarray:
    """Which rows of ``demand`` (``node``, ``snap_m``) walk at most ``walk`` metres, given every street
    node's distance ``dist`` to the nearest post."""
    return demand["snap_m"].to_numpy(float) + dist[demand["node"].to_numpy()] <= walk + 1e-7


def _seam_neighbours(regions: list[_regions.Region], i: int, distance_m: float) -> list[int]:
    """The other regions within ``distance_m`` of region ``i`` (2 × ``max_walk_m``: the only ones
    whose posts can reach a resident within ``max_walk_m`` of it)."""
    polygons = np.asarray([r.polygon for r in regions], dtype=object)
    near = shapely.distance(polygons[i], polygons) <= distance_m
    return [int(j) for j in np.flatnonzero(near) if j != i]


def _seam_task(item: dict[str, Any], net: Any, first: dict[str, Any], *neighbours: dict[str, Any]) -> dict[str, Any]:
    """Re-solve one region for its nearby residents that its neighbours' posts do not cover.

    ``first`` is the region's own first pass; ``neighbours`` the posts, as they stand when this
    region's colour comes, of every region within 2 × ``max_walk_m`` (no other region's post
    can reach a resident within ``max_walk_m`` of this one). Returns the region's posts after
    the seam (``changed``: the new ones cover more of those residents than the old ones).
    """
    walk = item["options"]["max_walk_m"]
    near = item["near"]
    others = [o["frame"][o["frame"]["kind"] == "post"] for o in neighbours]
    others = [f for f in others if len(f)]
    if others:
        dist, _ = _regions.nearest_source(net.to_sparse(), _nodes_of(net, pd.concat(others)), limit=walk)
        free = ~_within_walk(near, dist, walk)
    else:
        free = np.ones(len(near), bool)
    left = near.loc[free & (near["weight"].to_numpy() > 0), ["weight", "geometry"]]
    kept = {"frame": first["frame"], "changed": False, "warned": []}
    if len(left) == 0:
        return kept
    old = first["frame"][first["frame"]["kind"] == "post"]
    out = _posts_task({**item, "demand": left, "old": old})
    if out["new_covered"] <= out["old_covered"] + 1e-9:
        return {**kept, "warned": out["warned"]}
    stations = first["frame"][first["frame"]["kind"] == "station"]
    new = out["frame"][out["frame"]["kind"] == "post"]
    return {"frame": pd.concat([new, stations]), "changed": True, "status": out["params"]["status"], "warned": out["warned"]}


def _grids_without_nodes(plan: Any, net: Any) -> np.ndarray:
    """Positions of grids that own no street node (a node on a grid line goes to the lowest code, as in
    :func:`~gridplan.posts.place_posts`): they cannot hold a post of their own."""
    tree = shapely.STRtree(np.asarray(plan.grids.geometry.values))
    node_pos, grid_pos = tree.query(np.asarray(net.nodes.geometry.values), predicate="intersects")
    owner = pd.Series(grid_pos).groupby(node_pos).min()
    return np.setdiff1d(np.arange(plan.n_grids), owner.unique())


def _nodes_of(net: Any, points: gpd.GeoDataFrame) -> np.ndarray:
    """The street nodes at (nearest to) a frame's points."""
    geoms = points.geometry.values
    return np.asarray(net.nearest_nodes(shapely.get_x(geoms), shapely.get_y(geoms)), dtype=np.int64)


def _covered(net: Any, demand: gpd.GeoDataFrame, post_nodes: np.ndarray, walk: float) -> float:
    xy = shapely.get_coordinates(np.asarray(demand.geometry.values))
    node, snap = net.nearest_nodes(xy[:, 0], xy[:, 1], return_dist=True)
    dist, _ = _regions.nearest_source(net.to_sparse(), post_nodes, limit=walk)
    return float(demand["weight"].to_numpy(float)[snap + dist[node] <= walk + 1e-7].sum())


def _balance_routes_serial(plan: Any, **kwargs: Any) -> Any:
    """The public balance_routes, serially (with client=None where its signature has one)."""
    from .routes import balance_routes

    if "client" in inspect.signature(balance_routes).parameters:
        kwargs["client"] = None
    return balance_routes(plan, **kwargs)


def _patrols_task(item: dict[str, Any]) -> dict[str, Any]:
    plan = item["plan"]
    plan.district = item["region"].district
    routes, warned = _quietly(
        _balance_routes_serial,
        plan,
        chiefs_per_grid=item["chiefs"],
        depot="post",
        posts=item["posts"],
        seed=item["seed"],
        effort=item["effort"],
        progress=False,
        components="largest",
    )
    plan.district = None
    e = routes.edges
    if "grid" in e.columns:  # streets of a grid its chiefs cannot reach from the depot: left out, said by grid
        lost = e[e["grid"].notna() & ~e["required"].astype(bool)]
        lost = lost[lost["grid"].isin(routes.per_grid.index[routes.per_grid["depot"].notna()])]
        for code, grp in lost.groupby("grid", sort=True):
            warned.append(
                f"grid {code}: {len(grp)} street edges ({grp['length'].sum() / 1000:.2f} km) are not "
                "connected to the rest of the grid's streets and its depot; they are left out of its "
                "patrols (connect them, e.g. with a larger snap tolerance)"
            )
    return {
        "routes": routes.routes,
        "per_grid": routes.per_grid,
        "params": dict(routes.params),
        "notes": list(routes.notes),
        "warned": warned,
    }


def _staffing_task(item: dict[str, Any]) -> dict[str, Any]:
    from .staffing import assign_staff

    plan = item["plan"]
    plan.district = item["region"].district
    try:
        s, warned = _quietly(
            assign_staff,
            plan,
            item["roster"],
            model=item["model"],
            posts=item["posts"],
            seed=item["seed"],
            time_limit=item["time_limit"],
        )
    except InfeasibleError as exc:  # HiGHS found no solution in time: the nearest-grid greedy, said plainly
        if "found no solution" not in str(exc):
            raise
        from . import staffing as _staffing

        s, warned = _quietly(
            _staffing._greedy_assignment, plan, item["roster"], model=item["model"], posts=item["posts"], seed=item["seed"]
        )
        warned.insert(
            0,
            f"the exact staffing solver found no solution within {item['time_limit']:.0f} s ({exc}); "
            "this district is staffed by the nearest-grid greedy instead (not proven optimal, shifts "
            "not guaranteed covered): raise staffing_time_limit= for the exact answer",
        )
    plan.district = None
    return {
        "assignments": s.assignments,
        "teams": s.teams,
        "vacancies": s.vacancies,
        "unassigned": s.unassigned,
        "params": dict(s.params),
        "notes": list(s.notes),
        "warned": warned,
    }


# =========================================================================== results
class CityPosts:
    """The city's key posts and liaison stations, placed district by district and reconciled at the seams.

    Attributes
    ----------
    posts : GeoDataFrame
        Index ``post`` (``<district>-P01``..., ``<district>-S01``...): ``kind``, ``grid``,
        ``community``, ``district``, ``geometry``.
    params : dict
        ``n_posts``, ``max_walk_m``, ``covered`` (residents within ``max_walk_m`` of a post on the
        city's streets), ``bound`` (residents within ``max_walk_m`` of any candidate street node:
        no placement can cover more), ``gap`` = (bound − covered) / bound, ``reconciled``
        (districts whose posts changed at the seams), ``per_district`` statuses.
    notes : list of str
    """

    def __init__(
        self,
        posts: gpd.GeoDataFrame,
        *,
        params: dict[str, Any],
        notes: list[str],
        city: District,
        grids: gpd.GeoDataFrame,
        demand: gpd.GeoDataFrame,
    ) -> None:
        self.posts = posts
        self.params = params
        self.notes = notes
        self._city = city
        self._grids = grids
        self.demand = demand

    @property
    def n_posts(self) -> int:
        return int((self.posts["kind"] == "post").sum())

    @property
    def n_stations(self) -> int:
        return int((self.posts["kind"] == "station").sum())

    def coverage(
        self, max_walk_m: float | None = None, *, speed_m_per_min: float = RESIDENT_WALK_M_PER_MIN, include_stations: bool = False
    ) -> Coverage:
        """Residents within walking distance of a post on the city's streets (a :class:`~gridplan.posts.Coverage`)."""
        from .posts import Coverage, coverage_tables

        walk = float(self.params["max_walk_m"] if max_walk_m is None else max_walk_m)
        net = self._city.network
        pts = self.posts if include_stations else self.posts[self.posts["kind"] == "post"]
        pnode = _nodes_of(net, pts)
        dist, src = _regions.nearest_source(net.to_sparse(), pnode)
        node = self.demand["node"].to_numpy(np.int64)
        walk_m = self.demand["snap_m"].to_numpy(float) + dist[node]
        first = pd.Series(pts.index.to_numpy(object)).groupby(pnode).first()
        labels = np.where(src[node] >= 0, first.reindex(src[node]).to_numpy(object), np.array(None, dtype=object))
        d, overall, table = coverage_tables(self.demand, labels, walk_m, walk, speed_m_per_min)
        per_grid = table("grid").reindex(pd.Index(self._grids["code"].astype(str), name="grid"), fill_value=0.0)
        cov = Coverage(
            max_walk_m=walk,
            speed_m_per_min=speed_m_per_min,
            minutes=walk / speed_m_per_min,
            overall=overall,
            per_grid=per_grid,
            per_community=table("community"),
            points=d,
            uncovered=d[~d["covered"].to_numpy()],
            posts=self.posts,
            grids=self._grids,
        )
        cov.per_district = table("district")  # type: ignore[attr-defined]
        return cov

    def summary(self) -> pd.Series:
        p = self.params
        return pd.Series(
            {
                "posts": self.n_posts,
                "stations": self.n_stations,
                "districts": len(p["per_district"]),
                "max_walk_m": p["max_walk_m"],
                "covered": p["covered"],
                "bound": p["bound"],
                "gap": p["gap"],
                "reconciled_districts": p["reconciled"],
                "seconds": p["seconds"],
            },
            name="posts",
            dtype=object,
        )

    def __repr__(self) -> str:
        return (
            f"<CityPosts {self.n_posts} posts, {self.n_stations} stations in {len(self.params['per_district'])} "
            f"districts; {self.params['covered_share']:.2%} covered, gap {self.params['gap']:.3%}>"
        )

    def plot(self, ax: Axes | None = None, *, title: str | None = None) -> Axes:
        from . import plot as gplot
        from .posts import _plot_posts

        ax = gplot.axes(ax)
        self._grids.boundary.plot(ax=ax, color="#999999", linewidth=0.3)
        _plot_posts(ax, self.posts)
        gplot.finish(ax, title or f"{self.n_posts} key posts and {self.n_stations} liaison stations")
        return ax

    def to_file(self, path: str | Path) -> Path:
        path = Path(path)
        self.posts.to_file(path, layer="posts", driver="GPKG")
        return path


class CityStaffing:
    """The city's teams, staffed district by district from the people who live in each.

    Attributes
    ----------
    assignments, teams, vacancies, unassigned : DataFrame
        As in :class:`~gridplan.staffing.Staffing`, stacked over districts, with a ``district``
        column (``unassigned`` also lists people whose home lies in no district).
    params : dict
        ``per_district``: each district's solver status, objective and gap; ``status``
        ``"optimal"`` when every district is, ``exact_decomposition`` True (see :func:`plan_city`).
    """

    def __init__(
        self,
        assignments: gpd.GeoDataFrame,
        teams: pd.DataFrame,
        vacancies: pd.DataFrame,
        unassigned: pd.DataFrame,
        params: dict[str, Any],
        notes: list[str],
    ) -> None:
        self.assignments, self.teams, self.vacancies, self.unassigned = assignments, teams, vacancies, unassigned
        self.params, self.notes = params, notes

    def summary(self) -> pd.Series:
        p = self.params
        return pd.Series(
            {
                "people": p["n_people"],
                "assigned": len(self.assignments),
                "slots": int(p["slots"]),
                "vacancies": int(self.vacancies["missing"].sum()) if len(self.vacancies) else 0,
                "status": p["status"],
                "total_distance_km": float(self.assignments["distance_m"].sum()) / 1e3 if len(self.assignments) else 0.0,
                "seconds": p["seconds"],
            },
            name="staffing",
            dtype=object,
        )

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<CityStaffing {s['assigned']} of {s['people']} people in {s['slots']} slots, "
            f"{s['vacancies']} vacancies, {s['status']}>"
        )


@dataclass
class CityPlan:
    """Everything :func:`plan_city` made, with the time of every step.

    Attributes
    ----------
    city : District
    plan : GridPlan
        The city's grids (one plan; every grid inside one district).
    posts : CityPosts
    routes : GeoDataFrame
        Every chief's patrol (the ``routes`` tables of the districts' RoutePlans, stacked).
    route_grids : DataFrame
        Per grid: chiefs, streets, longest walk, its lower bound and gap.
    staffing : CityStaffing
    index : GridIndex
    coverage : Coverage
        With ``per_district`` beside ``per_grid`` and ``per_community``.
    times : DataFrame
        Per step: ``wall_s``, ``task_s`` (sum of the tasks' own times), ``max_task_s``, ``tasks``,
        ``workers``, ``parallel`` (True for the steps run as independent tasks).
    params : dict
        The arguments, ``grids_per_district``, ``workers`` and ``task_times``: per step, the own
        time of every task, round by round (for the posts: the first passes, then the seams colour
        by colour; the rounds overlap on a client, so an estimate that runs them one after
        another errs long), from which the scaling to more workers is estimated.
    notes : list of str
    """

    city: District
    plan: Any
    posts: CityPosts
    routes: gpd.GeoDataFrame
    route_grids: pd.DataFrame
    staffing: CityStaffing
    index: Any
    coverage: Any
    times: pd.DataFrame
    params: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.Series:
        cov = self.coverage.overall
        return pd.Series(
            {
                "districts": len(self.city.boundary),
                "grids": self.plan.n_grids,
                "posts": self.posts.n_posts,
                "stations": self.posts.n_stations,
                "chiefs": len(self.routes),
                "longest_patrol_km": float(self.routes["length"].max()) / 1e3 if len(self.routes) else 0.0,
                "people_assigned": len(self.staffing.assignments),
                "vacancies": int(self.staffing.vacancies["missing"].sum()) if len(self.staffing.vacancies) else 0,
                "covered_share": float(cov["share"]),
                "workers": self.params["workers"],
                "seconds": float(self.times["wall_s"].sum()),
            },
            name="city",
            dtype=object,
        )

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<CityPlan {s['districts']} districts, {s['grids']} grids, {s['posts']} posts, {s['chiefs']} chiefs, "
            f"{s['people_assigned']} staff; {s['covered_share']:.2%} within the life circle; "
            f"{s['seconds']:.0f} s on {s['workers']} worker(s)>"
        )

    def _repr_html_(self) -> str:
        return f"<div><b>{self!r}</b>{self.times.round(2).to_html()}</div>"


# =========================================================================== the pipeline
def _step_row(times: _dask.TaskTimes, parallel: bool) -> dict[str, Any]:
    return {
        "wall_s": times.wall_seconds,
        "task_s": times.busy_seconds,
        "max_task_s": max(times.task_seconds, default=0.0),
        "tasks": len(times.task_seconds),
        "workers": times.workers,
        "parallel": parallel,
    }


def _serial_step(fn: Any, workers: int) -> tuple[Any, dict[str, Any]]:
    t = time.perf_counter()
    out = fn()
    sec = time.perf_counter() - t
    return out, {"wall_s": sec, "task_s": sec, "max_task_s": sec, "tasks": 1, "workers": workers, "parallel": False}


def _warn(messages: list[str], notes: list[str]) -> None:
    for msg in messages:
        notes.append(msg)
        warnings.warn(msg, GridplanWarning, stacklevel=3)


def plan_city(
    city: District,
    n_grids: int,
    *,
    client: DaskClient | None = None,
    units: str | None = None,
    tolerance: float = 0.05,
    posts_per_grid: float = POSTS_PER_GRID,
    min_per_grid: int = 1,
    max_walk_m: float = 1200.0,
    chiefs_per_grid: int = 2,
    effort: float = 0.2,
    roster: pd.DataFrame | None = None,
    model: str = "1+2+2",
    staffing_time_limit: float = 120.0,
    post_options: dict[str, Any] | None = None,
    memory_limit: float | None = None,
    clusters: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> CityPlan:
    """Grids, posts, patrols, staff, index and coverage for a whole city, district by district.

    Parameters
    ----------
    city : District
        The city, its boundary layer holding **one row per district** (``code``, ``name``), e.g.
        :func:`gridplan.datasets.sample_city`. A single row is one region (no decomposition).
    n_grids : int
        Grids for the whole city, shared among districts by residents (at least one each).
    client : dask.distributed.Client, optional
        Run the districts of every step on its workers; None runs them one after another. Same
        ``seed``, same result either way and for any number of workers.
    units : {"blocks", "cells", "communities"}, optional
        Units of :func:`~gridplan.grids.partition` (default street blocks).
    tolerance : float
        Balance tolerance of every district's grids (default ±5 %).
    posts_per_grid : float
        Key posts per grid (default Guiding county's 42 for 15); at least ``min_per_grid``.
    min_per_grid : int
        Posts at least in every grid.
    max_walk_m : float
        Walking distance that counts as covered (default 1,200 m, the 15-minute life circle).
    chiefs_per_grid : int
        Road chiefs sharing every grid's streets.
    effort : float
        Search effort of the patrol routing (see :func:`~gridplan.routes.balance_routes`).
    roster : DataFrame, optional
        The city's people (see :func:`~gridplan.staffing.assign_staff`; homes in the city's CRS).
        Default: :func:`~gridplan.datasets.sample_roster` of the plan (30 % more people than the
        "1+2+2" slots; synthetic, said so in the notes). Each person works in the district they live in.
    model : str
        Team formula (default "1+2+2").
    staffing_time_limit : float
        Seconds for every district's staffing solver.
    post_options : dict, optional
        More keywords for :func:`~gridplan.posts.place_posts` (e.g. ``mip_gap``, ``time_limit``;
        default ``mip_gap=1e-3``). The seam reconciliation and the city bound are for the coverage
        objective: another ``objective``, ``demand`` or ``min_per_grid`` here is refused.
    clusters : int, optional
        For a city given as one boundary row: cut the whole city into grids at once (serially), then
        group the grids into this many compact clusters (recursive bisection of their centres), the
        regions of the later steps. Staffing by cluster is then not exact (people may work across a
        cluster line; the params say so).
    memory_limit : float, optional
        Bytes one task may use; default the smallest worker's limit (or the machine's memory).
        A city whose estimate (:func:`estimate_memory`) is larger is refused before any work.
    seed : int
        Every district's seeds come from this one.
    progress : bool
        Progress bars per step.

    Returns
    -------
    CityPlan

    Raises
    ------
    DataError
        A closed client or one without workers, a district without streets, repeated codes.
    InfeasibleError
        Fewer grids than districts, a city too large for the memory given (naming the step and
        the memory it needs).

    Warns
    -----
    GridplanWarning
        Grids without streets (their chiefs have nothing to walk), grids that own no street node
        (no post of their own), streets cut off from their grid's depot (left out of its patrols),
        districts with no staff or too few people (their vacancies), districts whose partition
        misses the tolerance; each names the district and grid.

    Notes
    -----
    Time per step is in :attr:`CityPlan.times`. The index and the coverage study run on the
    client (they are serial: one index, one Dijkstra over the city), as do the merging of the
    districts' results and the seams' bookkeeping; these are the serial fractions of the run.
    """
    from .locate import GridIndex

    t_start = time.perf_counter()
    if not isinstance(city, District):
        raise DataError(f"city must be a District whose boundary has one row per district, got {type(city).__name__}")
    n_grids = _validate.integer(n_grids, "n_grids")
    if len(city.boundary) > n_grids:
        raise InfeasibleError(
            f"n_grids={n_grids} is fewer than the city's {len(city.boundary)} districts; every district needs at least one grid"
        )
    workers = _dask.client_workers(client)
    if clusters is not None:
        if len(city.boundary) > 1:
            raise DataError(
                f"clusters= is for a city given as one boundary row; this one has {len(city.boundary)} "
                "district rows, which are the regions already (drop clusters=)"
            )
        _validate.integer(clusters, f"clusters (at most n_grids={n_grids})", minimum=1, maximum=n_grids)
    objective = (post_options or {}).get("objective", "coverage")
    if objective != "coverage" or "demand" in (post_options or {}) or "min_per_grid" in (post_options or {}):
        raise DataError(
            "post_options may not change the objective (the seams' reconciliation and the city's bound "
            f"are for the coverage objective, got {objective!r}), demand or min_per_grid (use "
            "plan_city(min_per_grid=...)); pass mip_gap=, time_limit=, method= or candidates="
        )
    _check_memory(city, n_grids, float(max_walk_m), memory_limit, client)
    notes: list[str] = []
    rows: dict[str, dict[str, Any]] = {}
    n_regions = len(city.boundary) if clusters is None else int(clusters)
    seeds = np.random.SeedSequence(seed).generate_state(4 * n_regions).reshape(-1, 4)

    # ---------------------------------------------------------------- grids
    early: dict[str, Any] = {}  # the city's residents on its streets, worked out while the workers cut grids
    if clusters is None:
        plan, plans, regions, codes, grid_share, rows["grids"], task_times = _grids_by_district(
            city,
            n_grids,
            seeds,
            client=client,
            progress=progress,
            units=units,
            tolerance=tolerance,
            max_walk_m=float(max_walk_m),
            seed=seed,
            notes=notes,
            meanwhile=lambda: early.update(residents=_city_residents(city)),
        )
    else:
        plan, plans, regions, codes, grid_share, rows["grids"], task_times = _grids_by_cluster(
            city,
            n_grids,
            clusters,
            workers,
            units=units,
            tolerance=tolerance,
            max_walk_m=float(max_walk_m),
            seed=seed,
            notes=notes,
        )
    by = "districts" if clusters is None else "clusters of grids"
    t = time.perf_counter()
    refs = _dask.share(regions, client)  # each district goes to the workers once, not with every task
    share_s = time.perf_counter() - t

    # ---------------------------------------------------------------- posts
    posts, rows["posts"] = _city_posts(
        city,
        plan,
        plans,
        regions,
        codes,
        seeds,
        refs=refs,
        residents=early.get("residents"),
        client=client,
        progress=progress,
        posts_per_grid=posts_per_grid,
        min_per_grid=min_per_grid,
        max_walk_m=float(max_walk_m),
        options=post_options or {},
        notes=notes,
    )
    rows["posts"]["wall_s"] += share_s

    # ---------------------------------------------------------------- patrols
    frames = [posts.posts[posts.posts["district"] == c] for c in codes]
    items = [
        {"region": r, "plan": p, "posts": f, "chiefs": chiefs_per_grid, "seed": int(seeds[i, 2]), "effort": effort}
        for i, (r, p, f) in enumerate(zip(refs, plans, frames))
    ]
    out, times = _dask.run_tasks(
        _patrols_task, items, client=client, progress=progress, desc="patrols", names=codes, costs=[p.n_grids for p in plans]
    )
    task_times["patrols"] = [times.task_seconds]
    t = time.perf_counter()
    routes = gpd.GeoDataFrame(
        pd.concat([o["routes"].assign(district=c) for c, o in zip(codes, out)]), geometry="geometry", crs=city.crs
    )
    route_grids = pd.concat([o["per_grid"].assign(district=c) for c, o in zip(codes, out)])
    _warn([f"district {c}: {m}" for c, o in zip(codes, out) for m in o["warned"]], notes)
    _warn([f"district {c}: {n}" for c, o in zip(codes, out) for n in o["notes"] if "has no streets" in n], notes)
    rows["patrols"] = _step_row(times, True)
    rows["patrols"]["wall_s"] += time.perf_counter() - t

    # ---------------------------------------------------------------- staffing
    staffing, rows["staffing"] = _city_staffing(
        city,
        plan,
        plans,
        regions,
        codes,
        seeds,
        frames,
        refs=refs,
        roster=roster,
        model=model,
        time_limit=staffing_time_limit,
        client=client,
        progress=progress,
        seed=seed,
        notes=notes,
    )
    if clusters is not None:
        staffing.params["exact_decomposition"] = False
        staffing.notes[:] = [
            f"staffing solved cluster by cluster ({len(codes)} clusters of grids, each from the "
            "people who live in it): exact for each cluster, not for the city, where people could "
            "work across a cluster line"
        ]

    # ---------------------------------------------------------------- index and coverage (serial)
    index, rows["index"] = _serial_step(lambda: GridIndex(plan, streets=city.streets), workers)
    coverage, rows["coverage"] = _serial_step(lambda: posts.coverage(), workers)
    times_table = pd.DataFrame.from_dict(rows, orient="index")[["wall_s", "task_s", "max_task_s", "tasks", "workers", "parallel"]]
    times_table.index.name = "step"
    run_params = {
        "n_grids": n_grids,
        "regions": by,
        "districts": codes,
        "grids_per_district": dict(zip(codes, map(int, grid_share))),
        "units": units,
        "tolerance": tolerance,
        "posts_per_grid": posts_per_grid,
        "min_per_grid": min_per_grid,
        "max_walk_m": float(max_walk_m),
        "chiefs_per_grid": chiefs_per_grid,
        "effort": effort,
        "model": model,
        "seed": seed,
        "workers": workers,
        "seconds": time.perf_counter() - t_start,
        "task_times": {**task_times, "posts": rows["posts"].pop("rounds"), "staffing": rows["staffing"].pop("rounds")},
    }
    how = f"on {workers} Dask worker(s)" if client is not None else "serially"
    notes[:0] = [f"{len(codes)} {by} solved as independent regions ({how}); grids never cross a district line"]
    return CityPlan(
        city=city,
        plan=plan,
        posts=posts,
        routes=routes,
        route_grids=route_grids,
        staffing=staffing,
        index=index,
        coverage=coverage,
        times=times_table,
        params=run_params,
        notes=notes,
    )


def _grids_by_district(
    city: District,
    n_grids: int,
    seeds: np.ndarray,
    *,
    client: Any,
    progress: bool,
    units: str | None,
    tolerance: float,
    max_walk_m: float,
    seed: int,
    notes: list[str],
    meanwhile: Any = None,
) -> tuple[Any, ...]:
    """Every district cut on its own (in parallel), then put together; ``meanwhile`` as in
    :func:`gridplan._dask.run_graph`."""
    t = time.perf_counter()
    regions = _regions.split_city(city, max_walk_m=max_walk_m)
    split_s = time.perf_counter() - t
    codes = [r.code for r in regions]
    pop = [float(r.district.population["population"].sum()) if len(r.district.population) else 0.0 for r in regions]
    if sum(pop) <= 0:
        pop = [float(r.district.streets.length.sum()) for r in regions]
    grid_share = _regions.allocate(n_grids, pop, minimum=1)
    items = [
        {"region": r, "n_grids": int(k), "units": units, "seed": int(seeds[i, 0]), "tolerance": tolerance}
        for i, (r, k) in enumerate(zip(regions, grid_share))
    ]
    out, times = _dask.run_tasks(
        _grids_task,
        items,
        client=client,
        progress=progress,
        desc="grids",
        names=codes,
        costs=grid_share.tolist(),
        meanwhile=meanwhile,
    )
    plans = [p for p, _, _ in out]
    _warn([f"district {c}: {m}" for c, (_, ws, _) in zip(codes, out) for m in ws], notes)
    for r, (_, _, net) in zip(regions, out):  # a worker built it: posts, patrols and staffing tasks get it built
        if r.district._network is None:
            r.district._network = net
    t = time.perf_counter()
    params = {
        "method": "city",
        "n_grids": n_grids,
        "units": plans[0].params.get("units"),
        "weight": plans[0].params.get("weight"),
        "weight_by": plans[0].params.get("weight_by", ""),
        "tolerance": tolerance,
        "seed": seed,
        "district": city.name,
        "district_code": city.code,
        "source_crs": city.source_crs,
        "synthetic": bool(city.synthetic),
        "regions": "districts",
        "districts": dict(zip(codes, map(int, grid_share))),
    }
    plan = _regions.merge_plans(plans, city, params)
    row = _step_row(times, True)
    row["wall_s"] += split_s + time.perf_counter() - t
    return plan, plans, regions, codes, grid_share, row, {"grids": [times.task_seconds]}


def _grids_by_cluster(
    city: District,
    n_grids: int,
    clusters: int,
    workers: int,
    *,
    units: str | None,
    tolerance: float,
    max_walk_m: float,
    seed: int,
    notes: list[str],
) -> tuple[Any, ...]:
    """The whole city cut at once (serially), its grids then grouped into ``clusters`` compact regions."""
    from .grids import partition

    t = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GridplanWarning)
        plan = partition(city, n_grids, units=units, seed=seed, tolerance=tolerance, strict=False)
    _warn([str(w.message) for w in caught if issubclass(w.category, GridplanWarning)], notes)
    label = _regions.cluster_grids(plan, clusters)
    k = int(label.max()) + 1
    codes = [f"C{j + 1:02d}" for j in range(k)]
    plans = [_regions.sub_plan(plan, np.flatnonzero(label == j)) for j in range(k)]
    table = gpd.GeoDataFrame(
        {"code": codes, "name": [f"cluster {c}" for c in codes]},
        geometry=[p.grids.geometry.union_all() for p in plans],
        crs=city.crs,
    )
    regions = _regions.split_city(city, max_walk_m=max_walk_m, regions=table)
    plan.params.update({"method": "city", "regions": "clusters", "clusters": dict(zip(codes, [p.n_grids for p in plans]))})
    sec = time.perf_counter() - t
    notes.append(
        f"the city was cut into {n_grids} grids at once and its grids grouped into {k} compact clusters "
        "(recursive bisection) for the posts, patrols and staffing"
    )
    row = {"wall_s": sec, "task_s": sec, "max_task_s": sec, "tasks": 1, "workers": workers, "parallel": False}
    return plan, plans, regions, codes, np.array([p.n_grids for p in plans]), row, {}


def _city_residents(city: District) -> gpd.GeoDataFrame:
    """The city's residents on the city's streets: weight, node, snap_m, district (no grids needed,
    so :func:`plan_city` works it out while the workers cut the grids)."""
    pop = city.population
    if len(pop) == 0:
        raise DataError(
            "the city has no population points: posts and the coverage study need residents "
            "(District.from_frames(population=...))"
        )
    net = city.network
    pts = np.asarray(pop.geometry.values)
    xy = shapely.get_coordinates(pts)
    node, snap = net.nearest_nodes(xy[:, 0], xy[:, 1], return_dist=True)
    regions = _regions.region_table(city)
    owner = _regions.owner_of(pts, list(regions.geometry.values))
    district = np.where(owner >= 0, regions["code"].to_numpy(object)[np.maximum(owner, 0)], "")
    return gpd.GeoDataFrame(
        {
            "weight": pop["population"].to_numpy(float),
            "node": node.astype(np.int64),
            "snap_m": snap,
            "district": pd.array(district, dtype="str"),
        },
        geometry=pop.geometry.values,
        index=pop.index,
        crs=city.crs,
    )


def _city_demand(city: District, plan: Any, residents: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The city's residents on the city's streets: weight, node, snap_m, grid, community, district."""
    residents = _city_residents(city) if residents is None else residents
    units = plan.units
    pts = np.asarray(residents.geometry.values)
    unit_tree = shapely.STRtree(np.asarray(units.geometry.values))
    hit_pt, hit_unit = unit_tree.query(pts, predicate="within")
    upos = np.full(len(pts), -1, dtype=np.int64)
    upos[hit_pt[::-1]] = hit_unit[::-1]  # the first unit that holds the point
    grid = np.where(upos >= 0, units["grid"].astype(object).to_numpy()[np.maximum(upos, 0)], "")
    comm = np.where(upos >= 0, units["community"].astype(object).to_numpy()[np.maximum(upos, 0)], "")
    demand = residents.copy()
    demand.insert(3, "grid", pd.array(grid, dtype="str"))
    demand.insert(4, "community", pd.array(comm, dtype="str"))
    return demand


def _coverage_bound(city: District, demand: gpd.GeoDataFrame, max_walk_m: float) -> float:
    """Residents within ``max_walk_m`` of any street node of the city: no placement covers more."""
    net = city.network
    inside = np.asarray(shapely.covers(city.shape, shapely.points(net.nodes[["x", "y"]].to_numpy(float))))
    cdist, _ = _regions.nearest_source(net.to_sparse(), np.flatnonzero(inside), limit=max_walk_m)
    return float(demand["weight"].to_numpy(float)[_within_walk(demand, cdist, max_walk_m)].sum())


def _city_posts(
    city: District,
    plan: Any,
    plans: list[Any],
    regions: list[_regions.Region],
    codes: list[str],
    seeds: np.ndarray,
    *,
    refs: list[Any] | None = None,
    residents: gpd.GeoDataFrame | None = None,
    client: Any,
    progress: bool,
    posts_per_grid: float,
    min_per_grid: int,
    max_walk_m: float,
    options: dict[str, Any],
    notes: list[str],
) -> tuple[CityPosts, dict[str, Any]]:
    t0 = time.perf_counter()
    opts = {"mip_gap": 1e-3, **options, "max_walk_m": max_walk_m, "min_per_grid": min_per_grid}
    n_post = [max(p.n_grids * min_per_grid, round(posts_per_grid * p.n_grids)) for p in plans]
    items = [
        {"region": r, "plan": p, "n_posts": n, "seed": int(seeds[i, 1]), "options": opts}
        for i, (r, p, n) in enumerate(zip(refs or regions, plans, n_post))
    ]
    demand = _city_demand(city, plan, residents)
    net = city.network
    csr = net.to_sparse()  # built here once, shipped with the network to every worker
    tasks = [_dask.Task(_posts_task, it, priority=float(n)) for it, n in zip(items, n_post)]
    names = list(codes)
    # ---- the seams: in colour order, each district solved again for the residents near it that its
    # neighbours' posts (as they stand when its colour comes) do not cover; a district's seam task
    # starts as soon as those neighbours are done, not when a whole colour is
    colour = _regions.colour_regions([r.polygon for r in regions], distance_m=2 * max_walk_m)
    pts = np.asarray(demand.geometry.values)
    seam_of: dict[int, int] = {}
    if len(regions) > 1:
        for i in sorted(range(len(regions)), key=lambda k: (colour[k], k)):
            nbrs = _seam_neighbours(regions, i, 2 * max_walk_m)
            after = [i] + [seam_of[j] if colour[j] < colour[i] else j for j in nbrs]
            close = np.asarray(shapely.dwithin(regions[i].polygon, pts, max_walk_m))
            item = {**items[i], "near": demand.loc[close, ["weight", "node", "snap_m", "geometry"]]}
            seam_of[i] = len(tasks)
            # a seam task, once ready, goes before the first passes still waiting: the seams are a chain
            tasks.append(_dask.Task(_seam_task, item, after=after, priority=float(max(n_post) + 1 + colour.max() - colour[i])))
            names.append(f"{codes[i]} (seam)")
    bookkeeping = time.perf_counter() - t0
    bounds: list[float] = []  # worked out here while the workers place the posts
    out, times = _dask.run_graph(
        tasks,
        shared=[net],
        client=client,
        progress=progress,
        desc="posts",
        names=names,
        meanwhile=lambda: bounds.append(_coverage_bound(city, demand, max_walk_m)),
    )
    t = time.perf_counter()
    first = out[: len(regions)]
    _warn([f"district {c}: {m}" for c, o in zip(codes, first) for m in o["warned"]], notes)
    status = {c: o["params"]["status"] for c, o in zip(codes, first)}
    current = [o["frame"] for o in first]
    reconciled: list[str] = []
    for i, k in sorted(seam_of.items()):
        o = out[k]
        _warn([f"district {codes[i]} (seam): {m}" for m in o["warned"]], notes)
        current[i] = o["frame"]
        if o["changed"]:
            status[codes[i]] = o["status"]
            reconciled.append(codes[i])
    task_s = list(times.task_seconds)
    rounds = [task_s[: len(regions)]] + [
        [task_s[seam_of[i]] for i in sorted(seam_of) if colour[i] == c] for c in range(int(colour.max()) + 1)
    ]
    rounds = [r for r in rounds if r]
    n_tasks = len(task_s)
    walls = times.wall_seconds
    bookkeeping += time.perf_counter() - t

    # ---- the city's posts, scored on the city's streets
    t = time.perf_counter()
    parts = []
    for code, f in zip(codes, current):
        f = f.copy()
        f.index = pd.Index([f"{code}-{p}" for p in f.index], name="post")
        f["district"] = code
        parts.append(f)
    frame = gpd.GeoDataFrame(pd.concat(parts), geometry="geometry", crs=city.crs)
    frame = frame[["kind", "grid", "community", "district", "demand_served", "geometry"]]
    post_nodes = _nodes_of(net, frame)
    frame.insert(3, "node", post_nodes)
    is_post = (frame["kind"] == "post").to_numpy()
    w = demand["weight"].to_numpy(float)
    dist, _ = _regions.nearest_source(csr, post_nodes[is_post], limit=max_walk_m)
    covered = float(w[_within_walk(demand, dist, max_walk_m)].sum())
    bound = bounds[0]
    gap = (bound - covered) / bound if bound > 0 else 0.0
    bookkeeping += time.perf_counter() - t
    params = {
        "n_posts": int(is_post.sum()),
        "max_walk_m": max_walk_m,
        "covered": covered,
        "covered_share": covered / float(w.sum()),
        "bound": bound,
        "gap": gap,
        "objective": "coverage",
        "reconciled": sorted(set(reconciled)),
        "per_district": status,
        "colours": int(colour.max()) + 1,
        "seconds": time.perf_counter() - t0,
        "options": {k: v for k, v in opts.items()},
    }
    pnotes = [
        f"posts placed district by district ({len(codes)} districts, {int(colour.max()) + 1} colours at the "
        f"seams); {len(set(reconciled))} districts changed their posts at the seams; covered {covered:,.0f} of "
        f"{w.sum():,.0f} residents, bound {bound:,.0f} (every resident within {max_walk_m:.0f} m of a candidate "
        f"street node), gap {gap:.3%}"
    ]
    posts = CityPosts(frame, params=params, notes=pnotes, city=city, grids=plan.grids[["code", "geometry"]].copy(), demand=demand)
    row = {
        "wall_s": walls + bookkeeping,
        "task_s": float(sum(task_s)),
        "max_task_s": max(task_s, default=0.0),
        "tasks": n_tasks,
        "workers": times.workers,
        "parallel": True,
        "rounds": rounds,
    }
    return posts, row


def _city_staffing(
    city: District,
    plan: Any,
    plans: list[Any],
    regions: list[_regions.Region],
    codes: list[str],
    seeds: np.ndarray,
    frames: list[gpd.GeoDataFrame],
    *,
    refs: list[Any] | None = None,
    roster: pd.DataFrame | None,
    model: str,
    time_limit: float,
    client: Any,
    progress: bool,
    seed: int,
    notes: list[str],
) -> tuple[CityStaffing, dict[str, Any]]:
    from .staffing import StaffingModel

    t = time.perf_counter()
    slots = int(StaffingModel.parse(model).requirements(plan.grids).to_numpy().sum())
    if roster is None:
        from .datasets import sample_roster

        roster = sample_roster(plan, seed=seed)
        notes.append(
            f"staffing: a synthetic roster of {len(roster):,} people (sample_roster: 30 % more than the "
            f"{slots:,} slots of '1+2+2'); homes drawn from the residents"
        )
    if not isinstance(roster, pd.DataFrame) or not {"x", "y"} <= set(roster.columns):
        raise DataError("roster must be a DataFrame with homes as x/y columns in the city's CRS (see assign_staff)")
    homes = shapely.points(roster["x"].to_numpy(float), roster["y"].to_numpy(float))
    owner = _regions.owner_of(homes, [r.polygon for r in regions])
    items, names, empty = [], [], []
    for i, (r, p, f) in enumerate(zip(refs or regions, plans, frames)):
        mine = roster[owner == i]
        if len(mine) == 0:
            empty.append(i)
            continue
        items.append(
            {
                "region": r,
                "plan": p,
                "roster": mine,
                "posts": f,
                "model": model,
                "seed": int(seeds[i, 3]),
                "time_limit": time_limit,
                "position": i,
            }
        )
        names.append(codes[i])
    prep = time.perf_counter() - t
    costs = [len(it["roster"]) * it["plan"].n_grids for it in items]  # the assignment's size
    out, times = _dask.run_tasks(
        _staffing_task, items, client=client, progress=progress, desc="staffing", names=names, costs=costs
    )
    t = time.perf_counter()
    parts: dict[str, list[pd.DataFrame]] = {"assignments": [], "teams": [], "vacancies": [], "unassigned": []}
    per: dict[str, Any] = {}
    for it, o in zip(items, out):
        c = codes[it["position"]]
        for k in parts:
            parts[k].append(o[k].assign(district=c))
        per[c] = {
            "status": o["params"]["status"],
            "objective": o["params"].get("objective"),
            "gap": o["params"].get("gap"),
            "people": len(it["roster"]),
        }
        _warn([f"district {c}: {m}" for m in o["warned"]], notes)
        missing = int(o["vacancies"]["missing"].sum()) if len(o["vacancies"]) else 0
        if missing:
            _warn(
                [
                    f"district {c}: {missing} of {int(o['params']['slots'])} slots stay empty "
                    f"({len(it['roster'])} people live there)"
                ],
                notes,
            )
    from .staffing import StaffingModel as _SM

    m = _SM.parse(model)
    for i in empty:
        c = codes[i]
        req = m.requirements(plans[i].grids)
        vac = req.stack().rename("missing").reset_index()
        vac.columns = ["grid", "role", "missing"]
        vac = vac[vac["missing"] > 0].assign(reason=f"nobody in the roster lives in district {c}", district=c)
        parts["vacancies"].append(vac)
        per[c] = {"status": "no staff", "objective": 0.0, "gap": 0.0, "people": 0}
        _warn(
            [
                f"district {c} ({regions[i].name}) has no staff: nobody in the roster lives there, so its "
                f"{int(req.to_numpy().sum())} slots stay empty"
            ],
            notes,
        )
    outside = roster[owner < 0]
    if len(outside):
        parts["unassigned"].append(outside.assign(reason="home outside every district", district=""))
        notes.append(f"staffing: {len(outside)} people live outside every district and are left out")

    def stack(k: str) -> pd.DataFrame:
        frames_k = [f for f in parts[k] if len(f)]
        return pd.concat(frames_k) if frames_k else pd.DataFrame()

    assignments = stack("assignments")
    statuses = {v["status"] for v in per.values()}
    params = {
        "model": model,
        "n_people": len(roster),
        "slots": slots,
        "per_district": per,
        "status": "optimal"
        if statuses <= {"optimal", "no staff"}
        else ("within_gap" if statuses <= {"optimal", "within_gap", "no staff"} else "not proven optimal"),
        "exact_decomposition": True,
        "seconds": 0.0,
    }
    staffing = CityStaffing(
        assignments,
        stack("teams"),
        stack("vacancies"),
        stack("unassigned"),
        params,
        [
            f"staffing solved district by district: people work in the district they live in, so "
            f"the city's programme is {len(codes)} independent blocks and the districts' optima are "
            "the city's"
        ],
    )
    row = _step_row(times, True)
    row["wall_s"] += prep + time.perf_counter() - t
    row["rounds"] = [times.task_seconds]
    params["seconds"] = row["wall_s"]
    return staffing, row


# =========================================================================== files
def write_city(result: CityPlan, out: str | Path, *, log: logging.Logger | None = None) -> list[str]:
    """Write the demo's files and report for a city run; returns the file names written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .report import write_report

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written: list[str] = []

    def wrote(name: str) -> None:
        written.append(name)
        if log is not None:
            log.info("wrote %s", out / name)

    city, plan = result.city, result.plan
    city.summary().to_csv(out / "district_summary.csv", header=["value"], index_label="fact")
    wrote("district_summary.csv")
    comm = city.communities.drop(columns="geometry").copy()
    comm["area_km2"] = (city.communities.area / 1e6).round(3)
    comm.to_csv(out / "communities.csv", index=False)
    wrote("communities.csv")
    city.to_file(out / "district.gpkg")
    wrote("district.gpkg")
    plan.to_file(out / f"plan_city_{plan.n_grids}.gpkg", district=True)
    wrote(f"plan_city_{plan.n_grids}.gpkg")
    plan.grids.drop(columns="geometry").to_csv(out / f"plan_city_{plan.n_grids}_grids.csv", index=False)
    wrote(f"plan_city_{plan.n_grids}_grids.csv")
    metrics = plan.metrics()
    metrics.to_frame("city").T.to_csv(out / "plan_metrics.csv", index_label="plan")
    wrote("plan_metrics.csv")
    fig, ax = plt.subplots(figsize=(11, 11))
    plan.plot(ax=ax, column="weight", labels=False, title=f"{city.name}: {plan.n_grids} grids in {len(city.boundary)} districts")
    city.boundary.boundary.plot(ax=ax, color="black", linewidth=1.5)
    fig.savefig(out / "grids.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    wrote("grids.png")
    posts, cover = result.posts, result.coverage
    posts.to_file(out / "posts.gpkg")
    wrote("posts.gpkg")
    posts.posts.drop(columns="geometry").assign(x=posts.posts.geometry.x.round(2), y=posts.posts.geometry.y.round(2)).to_csv(
        out / "posts.csv"
    )
    wrote("posts.csv")
    fig, ax = plt.subplots(figsize=(11, 11))
    cover.plot(ax=ax)
    fig.savefig(out / "coverage.png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    wrote("coverage.png")
    for name, table in (
        ("coverage_grids.csv", cover.per_grid),
        ("coverage_communities.csv", cover.per_community),
        ("coverage_districts.csv", cover.per_district),
    ):
        table.to_csv(out / name)
        wrote(name)
    result.routes.to_file(out / "patrols.gpkg", layer="routes", driver="GPKG")
    wrote("patrols.gpkg")
    result.route_grids.to_csv(out / "patrol_grids.csv")
    wrote("patrol_grids.csv")
    st = result.staffing
    for name in ("assignments", "teams", "vacancies", "unassigned"):
        frame = getattr(st, name)
        if isinstance(frame, gpd.GeoDataFrame):
            frame = frame.drop(columns=frame.geometry.name)
        frame.to_csv(out / f"staffing_{name}.csv", index=name == "teams")
        wrote(f"staffing_{name}.csv")
    result.times.round(3).to_csv(out / "times.csv")
    wrote("times.csv")
    write_report(
        plan, out / "report.html", posts=posts, staffing=st, routes=result.routes, title=f"{city.name}: {plan.n_grids} grids"
    )
    wrote("report.html")
    o = cover.overall
    lines = [
        f"gridplan city (seed={result.params['seed']}, {result.params['workers']} worker(s))",
        "",
        city.summary().to_string(),
        "",
        "plan:",
        metrics.to_string(),
        "",
        "grids per district: " + ", ".join(f"{k} {v}" for k, v in result.params["grids_per_district"].items()),
        "",
        "posts:",
        posts.summary().to_string(),
        "",
        f"coverage: {o['covered']:,.0f} of {o['demand']:,.0f} residents ({o['share']:.2%}) within "
        f"{o['max_walk_m']:.0f} m of a post; lowest district {cover.per_district['share'].min():.2%}, lowest grid "
        f"{cover.per_grid['share'].min():.2%}",
        "",
        f"patrols: {len(result.routes)} chiefs, longest {result.routes['length'].max() / 1000:.1f} km, mean gap "
        f"to the bound {result.route_grids['gap'].mean():.2%}",
        "",
        "staffing:",
        st.summary().to_string(),
        "",
        "time per step (s):",
        result.times.round(2).to_string(),
        "",
        "notes:",
    ]
    lines += [f"- {n}" for n in result.notes + posts.notes + st.notes + city.notes]
    lines += ["", "files:"] + [f"- {name}" for name in written]
    (out / "README.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    wrote("README.txt")
    return written
