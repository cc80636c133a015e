"""Posts and liaison stations: where grid staff stand, so that residents can reach them.

Guiding county put **42 key grid posts** (重点网格岗位点) in its 15 grids and **one
city-management liaison station** (城管工作联络站) in every community. :func:`place_posts`
chooses such posts on the street network of a :class:`~gridplan.grids.GridPlan`:

* ``objective="coverage"``: the maximal covering location problem (MCLP) — exactly
  ``n_posts`` posts so that as many residents as possible live within ``max_walk_m``
  walking distance of a post. The default 1,000 m is the 15-minute life circle of China's
  residential planning standard GB 50180-2018 (table 3.0.4: 800-1,000 m; 10 minutes 500 m,
  5 minutes 300 m: :data:`LIFE_CIRCLES_M`). gridplan 0.1 used 1,200 m (an assumed 80 m/min).
* ``objective="p-median"``: the p-median problem — minimise the residents' total
  walking distance to their nearest post.
* ``objective="set-cover"`` (``n_posts=None``): the location set covering problem (LSCP) — the
  fewest posts so that every resident who can be reached is within ``max_walk_m`` of one
  (Leshan's question: how many stations so that every community is served).
* ``objective="p-center"``: ``n_posts`` posts minimising the worst walk of any resident (the
  "7 minutes face to face" question).
* ``capacity=``: capacitated coverage — every post serves at most so many residents or cases.

Set covering, p-center and capacitated models are solved exactly with HiGHS (see
:mod:`gridplan._location`); the rest of this page is about coverage and p-median.

Both keep at least ``min_per_grid`` posts in every grid. Both start from a greedy +
interchange solution and prove how good it is: coverage against all demand any post could
reach, then (if that leaves more than ``mip_gap``) the covering MILP with HiGHS
(:func:`scipy.optimize.milp`); p-median against a Lagrangian bound, then the MILP on the
candidates the bound cannot rule out when that model is small enough. Which instances reach
the MILP with ``method="auto"``:

* coverage: up to :data:`EXACT_MAX_PAIRS` (3,000,000) demand-row/candidate links; the 42 posts
  of the sample district (about 2,700 candidates) are well inside.
* p-median: up to :data:`PMEDIAN_EXACT_MAX_PAIRS` (250,000) demand nodes × candidates left
  after the Lagrangian reduction, e.g. 500 demand nodes × 500 candidates. District-scale
  instances are beyond it (42 posts on the sample district: about 2,500 demand nodes × 2,700
  candidates, none ruled out) and keep the heuristic answer with its gap to the Lagrangian
  bound (about 1.4 % there). ``method="exact"`` hands any instance to HiGHS; give it a
  ``time_limit``: on the sample district HiGHS improves neither the heuristic answer nor its
  bound in about 250 s, and the heuristic answer comes back with ``status="time_limit"`` and
  its gap.

The result reports the solver status (``"optimal"`` only for a proven optimum, see
:class:`Posts`), the objective, the best bound and the optimality gap; models too big for the
MILP keep the heuristic answer with its gap to the bound (the LP relaxation for coverage, the
Lagrangian bound for p-median).

Walking distance
----------------
A resident walks straight to the nearest street node (the *snap distance*, reported
per demand point) and then along the streets to the post, which stands at a street
node. A resident is *covered* when snap + street distance <= ``max_walk_m``; a
resident farther than ``max_walk_m`` from every street node can never be covered and
is counted as uncovered (never dropped), with a note.

Examples
--------
>>> import geopandas as gpd, numpy as np, shapely
>>> import gridplan
>>> from gridplan.grids import partition
>>> from gridplan.posts import place_posts
>>> x0, y0 = 422000.0, 2937000.0                      # a 2 km square, streets every 500 m
>>> v = np.linspace(0, 2000, 5)
>>> lines = [shapely.LineString([(x0 + a, y0), (x0 + a, y0 + 2000)]) for a in v]
>>> lines += [shapely.LineString([(x0, y0 + a), (x0 + 2000, y0 + a)]) for a in v]
>>> rng = np.random.default_rng(0)
>>> people = gpd.GeoDataFrame({"population": rng.integers(1, 30, 200)},
...     geometry=shapely.points(x0 + rng.uniform(0, 2000, 200), y0 + rng.uniform(0, 2000, 200)), crs=4545)
>>> district = gridplan.District.from_frames(
...     gpd.GeoDataFrame(geometry=[shapely.box(x0, y0, x0 + 2000, y0 + 2000)], crs=4545),
...     streets=gpd.GeoDataFrame(geometry=lines, crs=4545), population=people)
>>> plan = partition(district, 2, units="cells", seed=0)
>>> posts = place_posts(plan, 3, max_walk_m=800, stations=None, progress=False)
>>> len(posts.posts), posts.params["status"], bool(posts.params["gap"] <= 1e-4)
(3, 'optimal', True)
>>> bool(posts.posts.groupby("grid").size().min() >= 1)
True
>>> cov = posts.coverage()
>>> bool(abs(cov.overall["covered"] - posts.posts["demand_served"].sum()) < 1e-6)
True
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import csgraph

from . import _io, _validate
from ._covering import (  # noqa: F401  (shared with the _location kernel)
    _STATUS,
    HIGHS_MIP_REL_GAP,
    _chunks,
    _coverage_rows,
    _CoverRows,
    _final_status,
    _gap,
    _Solution,
    _sparse_distances,
    _status,
)
from ._sameplan import _check_same_plan, _grids_of
from ._speeds import RESIDENT_WALK_M_PER_MIN
from .errors import CRSError, DataError, InfeasibleError, NetworkError
from .network import StreetNetwork

if TYPE_CHECKING:  # pragma: no cover
    import folium
    from matplotlib.axes import Axes

    from .district import District
    from .grids import GridPlan

__all__ = [
    "Posts",
    "Coverage",
    "LifeCircle",
    "coverage",
    "place_posts",
    "OBJECTIVES",
    "LIFE_CIRCLE_M",
    "LIFE_CIRCLES_M",
    "life_circle_m",
    "EXACT_MAX_PAIRS",
    "PMEDIAN_EXACT_MAX_PAIRS",
    "MAX_CANDIDATES",
    "HIGHS_MIP_REL_GAP",
    "STATUSES",
]

OBJECTIVES = ("coverage", "p-median", "set-cover", "p-center")
LIFE_CIRCLES_M: dict[float, float] = {5: 300.0, 10: 500.0, 15: 1000.0}
"""Walking distance (m) of the 5-, 10- and 15-minute life circles (生活圈居住区) in China's residential
planning standard GB 50180-2018 《城市居住区规划设计标准》, table 3.0.4: 300 m, 500 m and 800-1,000 m
(the upper end is used for 15 minutes). Replace an entry, or pass the distance, to use another reading."""
LIFE_CIRCLE_M = LIFE_CIRCLES_M[15]
"""The 15-minute life circle's walking distance, 1,000 m (GB 50180-2018: 800-1,000 m); gridplan 0.1
used 1,200 m (15 min at an assumed 80 m/min)."""
EXACT_MAX_PAIRS = 3_000_000
"""Largest coverage model that ``method="auto"`` hands to the MILP: (demand row, candidate) links
of the covering matrix. Larger instances keep the greedy + interchange answer, with its gap to the
LP relaxation."""
PMEDIAN_EXACT_MAX_PAIRS = 250_000
"""Largest p-median instance (demand nodes x candidates left after the Lagrangian reduction) that
``method="auto"`` hands to the MILP when the heuristic and the Lagrangian bound leave a gap; larger
ones keep the interchange answer with its gap to the Lagrangian bound. Not raised: on the sample
district (2,529 demand nodes x 2,661 candidates, none ruled out: the Lagrangian bound leaves about
1.4 %) HiGHS finds neither a better solution nor a better bound in about 250 s."""
_LIST_PAIRS = 4_000_000  # p-median: nearest-candidate list entries kept for the heuristic and the bound
MAX_CANDIDATES = 6000
"""``candidates="street_nodes"`` keeps every street node inside the grids up to this many; beyond
it degree-2 nodes (bends and mid-block joints) are dropped, then every k-th node in id order."""
_LP_SECONDS = 120.0  # cap on the LP relaxation that bounds a heuristic solution
DEFAULT_TIME_LIMIT_S = 60.0
"""``place_posts``'s default ``time_limit``: HiGHS closing the last 0.01 % of a district's coverage
model can take longer than a user waits (42 posts on the sample district: not done after 12
minutes at ``mip_gap=1e-4``); past it the best answer comes back with its bound, its gap and
``status="time_limit"``. ``time_limit=None`` waits for the proof."""
STATUSES = ("optimal", "within_gap", "time_limit", "heuristic")
"""The values of ``Posts.params["status"]`` (see :class:`Posts`)."""


def life_circle_m(minutes: float = 15, *, table: dict[float, float] | None = None) -> float:
    """Walking distance (m) of the ``minutes``-minute life circle, from GB 50180-2018 (:data:`LIFE_CIRCLES_M`).

    Parameters
    ----------
    minutes : {5, 10, 15}
        The life circle.
    table : dict, optional
        Another reading: minutes -> metres (every distance must be positive).

    Raises
    ------
    DataError
        Minutes the table does not list, or a distance that is not a positive number.

    Examples
    --------
    >>> life_circle_m(15), life_circle_m(5), life_circle_m(15, table={15: 800.0})
    (1000.0, 300.0, 800.0)
    """
    tab = LIFE_CIRCLES_M if table is None else table
    if not isinstance(tab, dict) or not tab:
        raise DataError(f"table must be a dict of minutes -> metres, e.g. {LIFE_CIRCLES_M}, got {table!r}")
    for k, v in tab.items():
        _validate.number(v, f"the {k}-minute life-circle distance (table={{{k}: ...}})", above=0)
    if minutes not in tab:
        raise DataError(
            f"there is no {minutes!r}-minute life circle in {dict(tab)}: use one of {sorted(tab)} minutes, "
            "or give the walking distance itself (max_walk_m=...)"
        )
    return float(tab[minutes])


# --------------------------------------------------------------------------- inputs
@dataclass
class _Demand:
    """Demand points snapped to the network: weight, node, snap distance, grid and community."""

    frame: gpd.GeoDataFrame  # columns weight, node, snap_m, grid, community, geometry
    source: str

    @property
    def node(self) -> np.ndarray:
        return self.frame["node"].to_numpy(np.int64)

    @property
    def snap(self) -> np.ndarray:
        return self.frame["snap_m"].to_numpy(float)

    @property
    def weight(self) -> np.ndarray:
        return self.frame["weight"].to_numpy(float)


def _network_for(plan: GridPlan, streets: Any) -> tuple[StreetNetwork, District | None]:
    source = streets if streets is not None else plan.district
    if source is None:
        raise DataError(
            "the plan does not know its district (read from a file?): pass streets=district "
            "(a District) or streets=network (a StreetNetwork)"
        )
    if isinstance(source, StreetNetwork):
        return source, plan.district
    net = getattr(source, "network", None)
    if not isinstance(net, StreetNetwork):
        raise DataError(f"streets must be a District or a StreetNetwork, got {type(source).__name__}")
    return net, source


def _to_net_crs(frame: gpd.GeoDataFrame, net: StreetNetwork, what: str, notes: list[str]) -> gpd.GeoDataFrame:
    if frame.crs is None:
        raise CRSError(f"the {what} points have no CRS; set it with gdf.set_crs(...) (the district is in {net.crs.to_string()})")
    if not pyproj.CRS(frame.crs).equals(net.crs):
        notes.append(f"{what}: reprojected from {pyproj.CRS(frame.crs).to_string()} to the network's CRS")
        frame = frame.to_crs(net.crs)
    return frame


def _points_of(frame: gpd.GeoDataFrame, what: str, notes: list[str]) -> np.ndarray:
    geoms = np.asarray(frame.geometry.values)
    if len(geoms) and (shapely.is_missing(geoms) | shapely.is_empty(geoms)).any():
        raise DataError(f"some {what} geometries are missing or empty; drop them first")
    kinds = shapely.get_type_id(geoms)
    if len(geoms) and (kinds != 0).any():
        notes.append(f"{what}: {int((kinds != 0).sum())} non-point geometries replaced by a point on them")
        geoms = np.where(kinds == 0, geoms, shapely.point_on_surface(geoms))
    xy = shapely.get_coordinates(geoms)
    if len(xy) != len(geoms) or not np.isfinite(xy).all():
        raise DataError(f"the {what} points have NaN or infinite coordinates; fix or drop them")
    return geoms


class _Locator:
    """Which unit (and so grid and community) of the plan a point is in.

    A point on a line between units belongs to the unit of the lowest grid position (grids are
    ordered by code), then the lowest unit position, like :class:`gridplan.locate.GridIndex`.
    """

    def __init__(self, plan: GridPlan) -> None:
        self.plan = plan
        self.geoms = np.asarray(plan.units.geometry.values)
        self.tree = shapely.STRtree(self.geoms)
        self.labels = plan.labels
        self.codes = plan.grids["code"].astype(str).to_numpy(object)
        self.community = plan.units["community"].astype(str).to_numpy(object)

    def hits(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All (point, unit) pairs with the unit covering the point."""
        p, u = self.tree.query(points, predicate="intersects")
        return p, u

    def locate(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Grid position (-1 outside) and unit position (-1 outside) of every point."""
        p, u = self.hits(points)
        grid = np.full(len(points), -1)
        unit = np.full(len(points), -1)
        if len(p):
            order = np.lexsort((u, self.labels[u], p))
            p, u = p[order], u[order]
            first = np.r_[True, p[1:] != p[:-1]]
            unit[p[first]] = u[first]
            grid[p[first]] = self.labels[u[first]]
        return grid, unit


def _demand(
    plan: GridPlan, district: District | None, demand: Any, net: StreetNetwork, loc: _Locator, notes: list[str]
) -> _Demand:
    units = plan.units
    unit_pos: np.ndarray | None = None
    if isinstance(demand, str):
        use_points = demand == "population" and district is not None and len(district.population) > 0
        if use_points:
            assert district is not None
            frame = _to_net_crs(district.population, net, "population", notes)
            w = pd.to_numeric(frame["population"], errors="coerce").to_numpy(float)
            geoms = _points_of(frame, "population", notes)
            index = frame.index
            source = "district population points"
        elif demand in units.columns and demand != "geometry":
            if demand == "population":
                notes.append(
                    "demand: the district has no population points; used the units' population column "
                    "at the units' representative points"
                )
            w = pd.to_numeric(units[demand], errors="coerce").to_numpy(float)
            geoms = shapely.point_on_surface(np.asarray(units.geometry.values))
            frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(geoms, crs=units.crs), index=units.index)
            frame = _to_net_crs(frame, net, "unit", notes)
            geoms = np.asarray(frame.geometry.values)
            index = units.index
            unit_pos = np.arange(len(units))
            source = f"units' {demand!r} at representative points"
        else:
            cols = [c for c in units.columns if c not in ("geometry", "grid")]
            raise DataError(
                f"demand={demand!r} is neither 'population' nor a column of plan.units; "
                f"use one of {cols} or a GeoDataFrame of points with a 'weight' column"
            )
    elif isinstance(demand, gpd.GeoDataFrame):
        if "reason" in demand.columns and "case_id" in demand.columns:  # a case ledger (gridplan.ledger)
            usable = (demand["reason"].fillna("") == "").to_numpy()
            if not usable.all():
                notes.append(
                    f"demand: {int((~usable).sum())} ledger rows with a reason (bad coordinates, times, "
                    "categories) left out; see ledger['reason']"
                )
            demand = demand[usable]
        if "weight" not in demand.columns:
            raise DataError(
                "demand points need a 'weight' column (residents per point); use gdf.assign(weight=1) to count every point once"
            )
        frame = _to_net_crs(demand, net, "demand", notes)
        w = pd.to_numeric(frame["weight"], errors="coerce").to_numpy(float)
        geoms = _points_of(frame, "demand", notes)
        index = frame.index
        source = f"GeoDataFrame of {len(frame)} points"
    else:
        raise DataError(
            f"demand must be 'population', a column of plan.units or a GeoDataFrame of points, got {type(demand).__name__}"
        )
    if len(w) == 0:
        raise DataError("there is no demand: the demand layer is empty")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise DataError(
            f"{int(bad.sum())} demand weights are negative, NaN or infinite "
            f"(e.g. rows {list(index[np.flatnonzero(bad)[:5]])}); fix or drop them"
        )
    if w.sum() <= 0:
        raise DataError("there is no demand: every demand weight is zero")
    xy = shapely.get_coordinates(geoms)
    node, snap = net.nearest_nodes(xy[:, 0], xy[:, 1], return_dist=True)
    if unit_pos is None:
        grid, unit_pos = loc.locate(geoms)
    else:
        grid = plan.labels
    codes, comm = loc.codes, loc.community
    out = gpd.GeoDataFrame(
        {
            "weight": w,
            "node": node.astype(np.int64),
            "snap_m": snap,
            "grid": pd.array(np.where(grid >= 0, codes[np.maximum(grid, 0)], ""), dtype="str"),
            "community": pd.array(np.where(unit_pos >= 0, comm[np.maximum(unit_pos, 0)], ""), dtype="str"),
        },
        geometry=gpd.GeoSeries(geoms, crs=net.crs),
        index=index,
    )
    out.index.name = index.name or "demand"
    return _Demand(out, source)


def _candidates(
    plan: GridPlan, candidates: Any, net: StreetNetwork, loc: _Locator, notes: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Candidate nodes (unique, ascending) and their grid positions."""
    nodes = net.nodes
    if isinstance(candidates, str):
        if candidates != "street_nodes":
            raise DataError(f"candidates={candidates!r}: use 'street_nodes' or a GeoDataFrame of candidate points")
        cand = np.arange(net.n_nodes)
        grid, _ = loc.locate(np.asarray(nodes.geometry.values))
        outside = grid < 0
        if outside.any():
            notes.append(f"candidates: {int(outside.sum())} street nodes outside every grid are not candidates")
        cand, grid = cand[~outside], grid[~outside]
        if len(cand) > MAX_CANDIDATES:
            deg = nodes["degree"].to_numpy()[cand]
            keep = deg != 2
            notes.append(
                f"candidates: {len(cand)} street nodes; dropped {int((~keep).sum())} of degree 2 "
                f"(MAX_CANDIDATES={MAX_CANDIDATES})"
            )
            cand, grid = cand[keep], grid[keep]
        if len(cand) > MAX_CANDIDATES:
            step = int(math.ceil(len(cand) / MAX_CANDIDATES))
            notes.append(f"candidates: kept every {step}th of {len(cand)} street nodes (in node order)")
            cand, grid = cand[::step], grid[::step]
        return cand.astype(np.int64), grid
    if isinstance(candidates, gpd.GeoDataFrame):
        if len(candidates) == 0:
            raise DataError("the candidate layer is empty; pass candidate points or candidates='street_nodes'")
        frame = _to_net_crs(candidates, net, "candidate", notes)
        geoms = _points_of(frame, "candidate", notes)
        xy = shapely.get_coordinates(geoms)
        node, snap = net.nearest_nodes(xy[:, 0], xy[:, 1], return_dist=True)
        notes.append(
            f"candidates: {len(frame)} points snapped to street nodes (snap distance median "
            f"{np.median(snap):.0f} m, max {snap.max():.0f} m)"
        )
        cand = np.unique(node)
        if len(cand) < len(node):
            notes.append(f"candidates: {len(node) - len(cand)} points share a street node with another candidate")
        grid, _ = loc.locate(np.asarray(nodes.geometry.values)[cand])
        outside = grid < 0
        if outside.any():
            notes.append(f"candidates: {int(outside.sum())} snapped candidates lie outside every grid and are left out")
        return cand[~outside].astype(np.int64), grid[~outside]
    raise DataError(f"candidates must be 'street_nodes' or a GeoDataFrame of points, got {type(candidates).__name__}")


# --------------------------------------------------------------------------- distances


# --------------------------------------------------------------------------- models


def _grid_rows(cand_grid: np.ndarray, n_grids: int, min_per_grid: int, n_vars: int) -> list[LinearConstraint]:
    if min_per_grid <= 0:
        return []
    m = len(cand_grid)
    a = sparse.csr_matrix((np.ones(m), (cand_grid, np.arange(m))), shape=(n_grids, n_vars))
    return [LinearConstraint(a, min_per_grid, np.inf)]


def _options(deadline: float | None, mip_gap: float) -> dict[str, Any]:
    opts: dict[str, Any] = {"disp": False, "mip_rel_gap": max(mip_gap, 1e-12)}
    if deadline is not None:
        opts["time_limit"] = max(0.1, deadline - time.perf_counter())
    return opts


def _dominated(a: sparse.csr_matrix, cand_grid: np.ndarray, p: int, min_per_grid: int) -> np.ndarray:
    """Candidates whose covering set is inside that of another candidate of the same grid (ties: the
    later one). Leaving them out keeps an optimal solution as long as every grid keeps
    ``min_per_grid`` candidates and ``p`` remain in all: any chosen dominated candidate can be
    replaced by its dominator, or, if that is chosen too, by any unchosen one, without losing cover.
    """
    m = a.shape[1]
    A = a.tocsc().astype(np.float64)
    size = np.asarray(A.sum(axis=0)).ravel()
    ov = (A.T @ A).tocoo()
    dom = (
        (cand_grid[ov.row] == cand_grid[ov.col])
        & (ov.row != ov.col)
        & (np.abs(ov.data - size[ov.row]) < 0.5)
        & ((size[ov.col] > size[ov.row]) | (ov.col < ov.row))
    )
    out = np.zeros(m, bool)
    out[np.unique(ov.row[dom])] = True
    out[size == 0] = True
    left = np.bincount(cand_grid[~out], minlength=int(cand_grid.max()) + 1 if m else 0)
    if (~out).sum() < p or (left < min_per_grid).any():
        return np.zeros(m, bool)
    return out


def _solve_coverage(
    rows: _CoverRows,
    p: int,
    cand_grid: np.ndarray,
    n_grids: int,
    min_per_grid: int,
    deadline: float | None,
    *,
    mip_gap: float = 1e-4,
    fixed_out: np.ndarray | None = None,
    relax: bool = False,
) -> Any:
    m, r = rows.m, len(rows.band)
    n = m + r
    c = np.r_[np.zeros(m), -rows.weight]
    count = sparse.csr_matrix(np.r_[np.ones(m), np.zeros(r)][None, :])
    cons = [
        LinearConstraint(count, p, p),
        LinearConstraint(rows.chain(), -np.inf, 0.0),
        *_grid_rows(cand_grid, n_grids, min_per_grid, n),
    ]
    integrality = np.r_[np.ones(m), np.zeros(r)] * (0 if relax else 1)
    ub = np.ones(n)
    if fixed_out is not None:
        ub[:m][fixed_out] = 0.0
    return milp(c, constraints=cons, integrality=integrality, bounds=Bounds(np.zeros(n), ub), options=_options(deadline, mip_gap))


def _pmedian_model(
    lists: list[tuple[np.ndarray, np.ndarray]], w: np.ndarray, m: int, complete: np.ndarray
) -> tuple[np.ndarray, np.ndarray, sparse.csr_matrix, np.ndarray, np.ndarray, float, int]:
    """The radius formulation of the p-median problem (Elloumi 2010; Garcia, Labbe & Marin 2011).

    Client i with sorted distinct candidate distances D1 < D2 < ... < DL (its list) costs
    w_i (D1 + sum_k (D(k+1) - Dk) z_k), z_k >= z_(k-1) - sum_{j at Dk} y_j, z_0 = 1: z_k is 1
    when no chosen candidate lies within Dk. With a truncated list the cost beyond DL is left
    out, so the model's optimum is a lower bound; it is exact when every client's nearest chosen
    candidate is in its list. A client whose list holds every candidate it can reach must get one.
    """
    const = 0.0
    cost: list[np.ndarray] = []
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lo: list[np.ndarray] = []
    zero: list[int] = []
    n_z = 0
    n_rows = 0
    for i, (cand, d) in enumerate(lists):
        levels, level_of = np.unique(d, return_inverse=True)
        const += w[i] * levels[0]
        L = len(levels)
        n_lev = L - 1 + (1 if complete[i] else 0)  # z_1..z_(L-1), and z_L (must be 0) when complete
        if n_lev == 0:
            continue
        zi = m + n_z + np.arange(n_lev)
        steps = np.diff(levels)
        cost.append(w[i] * steps if not complete[i] else np.r_[w[i] * steps, 0.0])
        # row k (0-based, level k+1): z_k - z_(k-1) + sum_{j at level k} y_j >= 0 (z_(-1) = 1 -> rhs 1)
        keep = level_of < n_lev
        r = n_rows + level_of[keep]
        rows += [r, n_rows + np.arange(n_lev), n_rows + np.arange(1, n_lev)]
        cols += [cand[keep], zi, zi[:-1]]
        vals += [np.ones(int(keep.sum())), np.ones(n_lev), -np.ones(n_lev - 1)]
        lo.append(np.r_[1.0, np.zeros(n_lev - 1)])
        if complete[i]:
            zero.append(n_z + n_lev - 1)
        n_z += n_lev
        n_rows += n_lev
    up = np.concatenate(lo) if lo else np.zeros(0)
    a = sparse.csr_matrix(
        (
            np.concatenate(vals) if vals else np.zeros(0),
            (np.concatenate(rows) if rows else np.zeros(0, int), np.concatenate(cols) if cols else np.zeros(0, int)),
        ),
        shape=(n_rows, m + n_z),
    )
    zcost = np.concatenate(cost) if cost else np.zeros(0)
    c = np.r_[np.zeros(m), zcost]
    z_ub = np.ones(n_z)
    z_ub[np.asarray(zero, dtype=np.int64)] = 0.0  # complete clients: "nothing within reach" is not allowed
    return c, up, a, np.r_[np.ones(m), z_ub], np.zeros(0), const, n_z


def _solve_pmedian_lists(
    lists: list[tuple[np.ndarray, np.ndarray]],
    w: np.ndarray,
    complete: np.ndarray,
    m: int,
    p: int,
    cand_grid: np.ndarray,
    n_grids: int,
    min_per_grid: int,
    deadline: float | None,
    relax: bool = False,
    mip_gap: float = 1e-4,
) -> tuple[Any, float]:
    c, lo, a, ub, _, const, n_z = _pmedian_model(lists, w, m, complete)
    n = m + n_z
    count = sparse.csr_matrix(np.r_[np.ones(m), np.zeros(n_z)][None, :])
    cons = [LinearConstraint(count, p, p), *_grid_rows(cand_grid, n_grids, min_per_grid, n)]
    if a.shape[0]:
        cons.append(LinearConstraint(a, lo, np.inf))
    integrality = np.r_[np.ones(m), np.zeros(n_z)] * (0 if relax else 1)
    res = milp(c, constraints=cons, integrality=integrality, bounds=Bounds(np.zeros(n), ub), options=_options(deadline, mip_gap))
    return res, const


def _nearest_lists(
    csr: sparse.csr_matrix, cand_nodes: np.ndarray, clients: np.ndarray, k: np.ndarray
) -> tuple[list[tuple[np.ndarray, np.ndarray]], np.ndarray]:
    """For every client node its ``k[i]`` nearest candidates (all tied at the k-th distance kept)."""
    lists: list[tuple[np.ndarray, np.ndarray]] = []
    complete = np.zeros(len(clients), bool)
    for sl in _chunks(len(clients), csr.shape[0]):
        d = csgraph.dijkstra(csr, directed=False, indices=clients[sl])[:, cand_nodes]
        for row, kk in zip(d, k[sl]):
            reach = np.flatnonzero(np.isfinite(row))
            if kk >= len(reach):
                sel = reach
                complete[len(lists)] = True
            else:
                part = reach[np.argpartition(row[reach], kk - 1)[:kk]]
                cut = row[part].max()
                sel = reach[row[reach] <= cut]
            sel = sel[np.lexsort((sel, row[sel]))]
            lists.append((sel.astype(np.int64), row[sel]))
    return lists, complete


# --------------------------------------------------------------------------- heuristic
def _served_by(csc: sparse.csc_matrix, chosen: np.ndarray, fallback: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per client: its best cost in the set, the position (in ``chosen``) that gives it (-1: the
    fallback), and its best cost without that position (the second best, or the fallback)."""
    n = len(fallback)
    if n == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0)
    sub = csc[:, chosen].tocoo()
    r = np.concatenate([sub.row, np.arange(n)])
    v = np.concatenate([sub.data - 1e-9, fallback])
    pos = np.concatenate([sub.col, np.full(n, -1)])
    order = np.lexsort((pos, v, r))
    r, v, pos = r[order], v[order], pos[order]
    first = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    best, near = v[first], pos[first]
    has_second = np.r_[first[1:], len(r)] - first > 1
    second = best.copy()
    second[has_second] = v[first[has_second] + 1]
    return best, near, second


def _clients_of(near: np.ndarray, p: int) -> list[np.ndarray]:
    """The clients each position of the set serves (``near`` from :func:`_served_by`)."""
    order = np.argsort(near, kind="stable")
    bounds = np.searchsorted(near[order], np.arange(p + 1))
    return [order[bounds[i] : bounds[i + 1]] for i in range(p)]


def _row_gains(cost: sparse.csr_matrix, clients: np.ndarray, b: np.ndarray, w: np.ndarray, m: int) -> np.ndarray:
    """Per candidate j: sum over ``clients`` of w_i max(0, b_i - c_ij), ``b`` given in the clients' order."""
    if len(clients) == 0:
        return np.zeros(m)
    sub = cost[clients].tocoo()
    saved = w[clients][sub.row] * np.maximum(0.0, b[sub.row] - (sub.data - 1e-9))
    return np.bincount(sub.col, weights=saved, minlength=m)


def _heuristic(
    cost: sparse.csr_matrix,
    fallback: np.ndarray,
    w: np.ndarray,
    p: int,
    cand_grid: np.ndarray,
    n_grids: int,
    min_per_grid: int,
    seed: int,
    deadline: float | None,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Greedy (grid minimums first) + best-improvement interchange, minimising sum_i w_i min(c_ij, f_i).

    ``cost`` is clients x candidates with entries c_ij + 1e-9 (absent: no better than the fallback).
    ``start``: a feasible set of candidate positions to improve instead of the greedy one.

    Both phases update the candidates' gains incrementally (Whitaker's fast interchange): adding a
    candidate changes the gains only through the clients it serves better, and dropping one only
    through the clients it served (who fall back to their second best), so a step touches those
    clients' rows, not the whole matrix.
    """
    rng = np.random.default_rng(seed)
    m = cost.shape[1]
    csc = cost.tocsc()
    coo = cost.tocoo()
    rows, cols, data = coo.row, coo.col, coo.data - 1e-9

    def gains(b: np.ndarray) -> np.ndarray:
        return np.bincount(cols, weights=w[rows] * np.maximum(0.0, b[rows] - data), minlength=m)

    best = fallback.astype(float).copy()
    gain_now = gains(best)
    chosen: list[int] = []
    taken = np.zeros(m, bool)
    noise = rng.random(m) * 1e-9  # seeded tie-break

    def add(j: int) -> None:
        nonlocal gain_now
        chosen.append(j)
        taken[j] = True
        lo, hi = csc.indptr[j], csc.indptr[j + 1]
        rows_j, c_j = csc.indices[lo:hi], csc.data[lo:hi] - 1e-9
        better = c_j < best[rows_j]
        moved, new_b = rows_j[better], c_j[better]
        gain_now = gain_now - _row_gains(cost, moved, best[moved], w, m) + _row_gains(cost, moved, new_b, w, m)
        best[moved] = new_b

    if start is not None:
        for j in start:
            add(int(j))
    for g in range(n_grids):
        for _ in range(min_per_grid - int(np.count_nonzero(cand_grid[np.asarray(chosen, dtype=np.int64)] == g))):
            gain = gain_now + noise
            gain[taken | (cand_grid != g)] = -np.inf
            add(int(np.argmax(gain)))
    while len(chosen) < p:
        gain = gain_now + noise
        gain[taken] = -np.inf
        add(int(np.argmax(gain)))
    chosen_arr = np.array(chosen, dtype=np.int64)
    best, near, second = _served_by(csc, chosen_arr, fallback)
    served = _clients_of(near, p)
    value = float(w @ best)
    gain_now = gains(best)
    per_grid = np.bincount(cand_grid[chosen_arr], minlength=n_grids)
    swaps = passes = 0
    improved = True
    while improved and (deadline is None or time.perf_counter() < deadline):
        improved = False
        passes += 1
        for pos in range(p):
            if deadline is not None and time.perf_counter() > deadline:
                break
            out = int(chosen_arr[pos])
            lost = served[pos]
            gain = gain_now - _row_gains(cost, lost, best[lost], w, m) + _row_gains(cost, lost, second[lost], w, m) + noise
            gain[taken] = -np.inf
            if per_grid[cand_grid[out]] <= min_per_grid:
                gain[cand_grid != cand_grid[out]] = -np.inf
            j = int(np.argmax(gain))
            new_value = value + float(w[lost] @ (second[lost] - best[lost])) - (gain[j] - noise[j])
            if np.isfinite(gain[j]) and new_value < value - 1e-9 * max(1.0, abs(value)):
                taken[out], taken[j] = False, True
                per_grid[cand_grid[out]] -= 1
                per_grid[cand_grid[j]] += 1
                chosen_arr[pos] = j
                value = new_value
                swaps += 1
                improved = True
                best, near, second = _served_by(csc, chosen_arr, fallback)
                served = _clients_of(near, p)
                gain_now = gains(best)
    return np.sort(chosen_arr), {"swaps": swaps, "passes": passes}


# --------------------------------------------------------------------------- results
@dataclass
class Coverage:
    """Who lives within walking distance of a post (see :meth:`Posts.coverage`).

    Attributes
    ----------
    max_walk_m, minutes : float
        The walking distance and the minutes it takes at ``speed_m_per_min``.
    overall : pandas.Series
        ``demand``, ``covered``, ``share``, ``mean_walk_m``, ``max_walk_found_m`` (over the reachable
        demand), ``unreachable`` (demand with no post on its part of the network).
    per_grid, per_community : DataFrame
        ``demand``, ``covered``, ``share``, ``mean_walk_m`` per grid code / community code. Every
        grid of the plan and every community of the district is listed, also those without demand
        (``demand`` and ``covered`` 0; a community's ``share`` and ``mean_walk_m`` are then NaN);
        demand outside every community is the row ``""``.
    points : GeoDataFrame
        Every demand point: ``weight``, ``node``, ``snap_m``, ``grid``, ``community``, ``post`` (its
        nearest post), ``walk_m`` (snap + street distance, inf if unreachable), ``covered``.
    uncovered : GeoDataFrame
        The demand points farther than ``max_walk_m`` from every post.
    """

    max_walk_m: float
    speed_m_per_min: float
    minutes: float
    overall: pd.Series
    per_grid: pd.DataFrame
    per_community: pd.DataFrame
    points: gpd.GeoDataFrame
    uncovered: gpd.GeoDataFrame
    posts: gpd.GeoDataFrame
    grids: gpd.GeoDataFrame | None = None

    def __repr__(self) -> str:
        o = self.overall
        return (
            f"<Coverage within {self.max_walk_m:.0f} m ({self.minutes:.0f} min): {o['share']:.1%} of {o['demand']:,.0f} demand>"
        )

    def _repr_html_(self) -> str:
        return (
            f"<div><b>Coverage within {self.max_walk_m:.0f} m ({self.minutes:g} min walk)</b>"
            f"{self.overall.to_frame().to_html()}<details><summary>per grid</summary>"
            f"{self.per_grid.round(3).to_html()}</details></div>"
        )

    def plot(self, ax: Axes | None = None, *, title: str | None = None) -> Axes:
        """Map covered (green) and uncovered (red) demand points, the grids and the posts."""
        from . import plot as gplot

        ax = gplot.axes(ax, bounds=None if self.grids is None else self.grids.total_bounds)
        if self.grids is not None:
            self.grids.boundary.plot(ax=ax, color="black", linewidth=1.0, zorder=2)
        pts = self.points
        size = 2 + 10 * np.sqrt(pts["weight"].to_numpy(float) / max(pts["weight"].max(), 1e-9))
        cov = pts["covered"].to_numpy(bool)
        if cov.any():
            pts[cov].plot(ax=ax, color="#31a354", markersize=size[cov], alpha=0.5, zorder=3)
        if (~cov).any():
            pts[~cov].plot(ax=ax, color="#de2d26", markersize=size[~cov], alpha=0.7, zorder=4)
        _plot_posts(ax, self.posts)
        gplot.finish(
            ax,
            title or f"{self.overall['share']:.1%} of demand within {self.max_walk_m:.0f} m ({self.minutes:.0f} min) of a post",
            legend=[
                ("covered", "#31a354", "o"),
                ("not covered", "#de2d26", "o"),
                ("post", "#d62728", "^"),
                ("station", "#3182bd", "s"),
            ],
        )
        return ax

    # ------------------------------------------------------------------ the result protocol
    @property
    def params(self) -> dict[str, float]:
        """The walk that made it: ``max_walk_m``, ``speed_m_per_min``, ``minutes``."""
        return {"max_walk_m": self.max_walk_m, "speed_m_per_min": self.speed_m_per_min, "minutes": self.minutes}

    def summary(self) -> pd.Series:
        """Headline figures: :attr:`overall` with the walk (``max_walk_m``, ``minutes``)."""
        walk = {k: v for k, v in self.params.items() if k not in self.overall.index}
        return pd.concat([self.overall.astype(object), pd.Series(walk, dtype=object)]).rename("coverage")

    def explore(self, **kwargs: Any) -> folium.Map:
        """Interactive folium map: demand points covered or not, the posts, the grids (needs ``[explore]``)."""
        try:
            import folium  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("Coverage.explore needs folium: pip install 'gridplan[explore]'") from exc
        m = None
        if self.grids is not None:
            m = self.grids.explore(style_kwds={"fillOpacity": 0.05, "color": "black"}, name="grids", **kwargs)
            kwargs = {}
        pts = self.points.reset_index(drop=True)
        pts = pts.assign(covered=pts["covered"].map({True: "covered", False: "not covered"}))
        m = pts.explore(
            m=m,
            column="covered",
            categorical=True,
            cmap=["#31a354", "#de2d26"],
            name="demand",
            marker_kwds={"radius": 3},
            **kwargs,
        )
        return self.posts.reset_index().explore(m=m, color="#d62728", name="posts", marker_kwds={"radius": 6})

    def to_file(self, path: str | Path) -> Path:
        """Save every table and layer to a GeoPackage, losslessly (read it back with :meth:`read_file`)."""
        crs = self.points.crs
        frames = {
            "overall": _io.table_layer(self.overall.to_frame().T, crs),
            "per_grid": _io.table_layer(self.per_grid, crs),
            "per_community": _io.table_layer(self.per_community, crs),
            "points": self.points,
            "uncovered": self.uncovered,
            "posts": self.posts,
        }
        if self.grids is not None:
            frames["grids"] = self.grids
        return _io.write_frames(path, "Coverage", frames, {**self.params, "overall_name": self.overall.name})

    @classmethod
    def read_file(cls, path: str | Path) -> Coverage:
        """Read a coverage saved by :meth:`to_file` (the same class, equal tables).

        Raises
        ------
        DataError
            Not a gridplan file, or a file of another result class (named).
        """
        frames, params = _io.read_frames(path, "Coverage")
        overall = _io.plain_table(frames["overall"]).iloc[0].rename(params.get("overall_name"))
        return cls(
            max_walk_m=float(params["max_walk_m"]),
            speed_m_per_min=float(params["speed_m_per_min"]),
            minutes=float(params["minutes"]),
            overall=overall,
            per_grid=_io.plain_table(frames["per_grid"]),
            per_community=_io.plain_table(frames["per_community"]),
            points=frames["points"],
            uncovered=frames["uncovered"],
            posts=frames["posts"],
            grids=frames.get("grids"),
        )


def _plot_posts(ax: Axes, posts: gpd.GeoDataFrame) -> None:
    p = posts[posts["kind"] == "post"]
    s = posts[posts["kind"] == "station"]
    if len(p):
        p.plot(ax=ax, marker="^", color="#d62728", edgecolor="black", linewidth=0.5, markersize=60, zorder=6)
    if len(s):
        s.plot(ax=ax, marker="s", color="#3182bd", edgecolor="black", linewidth=0.5, markersize=50, zorder=6)


class Posts:
    """Grid posts and community liaison stations chosen by :func:`place_posts`.

    Attributes
    ----------
    posts : GeoDataFrame
        Index ``post`` (``P01``... for posts, ``S01``... for stations): ``kind`` ("post" or
        "station"), ``grid`` (code), ``community`` (code), ``node`` (street node id),
        ``demand_served``, ``geometry`` (the node). A post's ``demand_served`` is the demand
        within ``max_walk_m`` whose nearest post it is (every demand point counted once, so
        the posts' values add up to the covered demand); a station's is its community's demand
        within ``max_walk_m`` of it.
    params : dict
        Every argument, the seed and the solver's ``status``, ``objective_value``, ``bound``,
        ``gap`` (relative: how far from the optimum the answer can be), ``seconds``, ``method``
        ("exact" when HiGHS solved the MILP, "heuristic" for the greedy + interchange answer),
        ``covered_share`` and ``mean_walk_m``. ``status`` is one of :data:`STATUSES`:

        * ``"optimal"``: a proven optimum: HiGHS solved the exact model and proved it within its
          own tolerance (``gap`` <= :data:`HIGHS_MIP_REL_GAP`, 0.01 %), or a bound meets the answer
          exactly (``gap`` == 0).
        * ``"within_gap"``: proven within ``mip_gap`` of the optimum (``gap`` <= ``mip_gap``) but not
          proven optimal: a heuristic answer that a bound certifies, or HiGHS stopping at a
          ``mip_gap`` above its own tolerance.
        * ``"time_limit"``: HiGHS stopped at ``time_limit`` before reaching ``mip_gap``; the best
          solution found, with its bound and ``gap``.
        * ``"heuristic"``: the heuristic answer with its ``gap`` to the bound, larger than
          ``mip_gap`` (the model was too big for the MILP, or ``method="heuristic"``).
    notes : list of str
        What was done on the way (snapping, reprojection, uncoverable demand, thinning).
    demand : GeoDataFrame
        The demand points as used: ``weight``, ``node``, ``snap_m``, ``grid``, ``community``.
    """

    def __init__(
        self,
        posts: gpd.GeoDataFrame,
        *,
        params: dict[str, Any],
        notes: list[str],
        demand: gpd.GeoDataFrame,
        network: StreetNetwork | None,
        grids: gpd.GeoDataFrame | None,
        communities: list[str] | None = None,
    ) -> None:
        self.posts = posts
        self.params = dict(params)
        self.notes = list(notes)
        self.demand = demand
        self._network = network
        self._grids = grids
        self._communities = None if communities is None else [str(c) for c in communities]

    @property
    def n_posts(self) -> int:
        return int((self.posts["kind"] == "post").sum())

    @property
    def n_stations(self) -> int:
        return int((self.posts["kind"] == "station").sum())

    # ------------------------------------------------------------------ coverage
    def coverage(
        self, max_walk_m: float | None = None, *, speed_m_per_min: float = RESIDENT_WALK_M_PER_MIN, include_stations: bool = False
    ) -> Coverage:
        """Share of demand within walking distance of a post: overall, per grid, per community.

        Parameters
        ----------
        max_walk_m : float, optional
            Walking distance (m); default the one the posts were placed for.
        speed_m_per_min : float
            Walking speed for the minutes shown (an assumed 80 m/min; GB 50180-2018 sets the life circles'
            distances, not a speed: see :data:`LIFE_CIRCLES_M`).
        include_stations : bool
            Count liaison stations as service points too (default: posts only, as optimised).
        """
        if self._network is None:
            raise DataError(
                "these posts were read from a file without their streets; use Posts.read_file(path, streets=district)"
            )
        walk = _validate.number(self.params["max_walk_m"] if max_walk_m is None else max_walk_m, "max_walk_m", above=0)
        speed = _validate.number(speed_m_per_min, "speed_m_per_min", above=0)
        assert walk is not None and speed is not None
        pts = self.posts if include_stations else self.posts[self.posts["kind"] == "post"]
        if len(pts) == 0:
            raise DataError("there are no posts to measure coverage from")
        nearest, dist = _nearest_post(self._network, pts["node"].to_numpy(np.int64), self.demand)
        labels = np.where(nearest >= 0, pts.index.to_numpy(object)[np.maximum(nearest, 0)], np.array(None, dtype=object))
        d, overall, table = coverage_tables(self.demand, labels, dist, walk, speed)
        per_grid = table("grid")
        if self._grids is not None:
            per_grid = per_grid.reindex(pd.Index(self._grids["code"].astype(str), name="grid"), fill_value=0.0)
        per_community = table("community")
        if self._communities is not None:
            # every community of the district, also those without demand (demand 0, share NaN); demand
            # outside every community (community "") stays as its own row so that the table adds up
            extra = [c for c in per_community.index if c not in set(self._communities)]
            per_community = per_community.reindex(pd.Index(self._communities + extra, name="community"))
            per_community[["demand", "covered"]] = per_community[["demand", "covered"]].fillna(0.0)
        return Coverage(
            max_walk_m=walk,
            speed_m_per_min=speed,
            minutes=walk / speed,
            overall=overall,
            per_grid=per_grid,
            per_community=per_community,
            points=d,
            uncovered=d[~d["covered"].to_numpy()],
            posts=self.posts,
            grids=self._grids,
        )

    # ------------------------------------------------------------------ display
    def summary(self) -> pd.Series:
        """Key figures: posts, stations, objective, bound, gap, solver, coverage, time."""
        p = self.params
        return pd.Series(
            {
                "posts": self.n_posts,
                "stations": self.n_stations,
                "objective": p["objective"],
                "max_walk_m": p["max_walk_m"],
                "covered_share": p.get("covered_share"),
                "mean_walk_m": p.get("mean_walk_m"),
                "solver_objective": p.get("objective_value"),
                "bound": p.get("bound"),
                "gap": p.get("gap"),
                "status": p.get("status"),
                "method": p.get("method"),
                "seconds": p.get("seconds"),
                "min_per_grid": p["min_per_grid"],
                "seed": p["seed"],
            },
            name="posts",
            dtype=object,
        )

    def __repr__(self) -> str:
        p = self.params
        return (
            f"<Posts {self.n_posts} posts + {self.n_stations} stations, {p['objective']}: "
            f"{p.get('covered_share', float('nan')):.1%} within {p['max_walk_m']:.0f} m, "
            f"{p.get('status')}, gap {p.get('gap', float('nan')):.2%}>"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
            for k, v in self.summary().items()
        )
        notes = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
        table = self.posts.drop(columns="geometry").round(1).to_html(max_rows=30)
        return (
            f"<div><b>gridplan Posts</b><table>{rows}</table><details><summary>posts</summary>{table}"
            f"</details>"
            + (f"<details><summary>notes ({len(self.notes)})</summary><ul>{notes}</ul></details>" if notes else "")
            + "</div>"
        )

    def plot(self, ax: Axes | None = None, *, title: str | None = None) -> Axes:
        """Map the posts (red triangles) and stations (blue squares) on the grids and streets."""
        from . import plot as gplot

        ax = gplot.axes(ax, bounds=self.posts.total_bounds if self._grids is None else self._grids.total_bounds)
        if self._network is not None:
            self._network.edges.plot(ax=ax, color="#a6a6a6", linewidth=0.5, zorder=1)
        if self._grids is not None:
            self._grids.boundary.plot(ax=ax, color="black", linewidth=1.2, zorder=2)
        _plot_posts(ax, self.posts)
        p = self.params
        gplot.finish(
            ax,
            title
            or f"{self.n_posts} posts, {self.n_stations} stations · "
            f"{p.get('covered_share', float('nan')):.1%} within {p['max_walk_m']:.0f} m",
            legend=[("post", "#d62728", "^"), ("station", "#3182bd", "s")],
        )
        return ax

    def explore(self, **kwargs: Any) -> folium.Map:
        """Interactive folium map of the grids and posts (needs the ``[explore]`` extra)."""
        try:
            import folium  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("Posts.explore needs folium: pip install 'gridplan[explore]'") from exc
        m = None
        if self._grids is not None:
            m = self._grids.explore(style_kwds={"fillOpacity": 0.05, "color": "black"}, name="grids", tooltip=["code"], **kwargs)
            kwargs = {}
        frame = self.posts.reset_index()
        return frame.explore(
            m=m,
            column="kind",
            categorical=True,
            cmap=["#d62728", "#3182bd"],
            marker_kwds={"radius": 6},
            name="posts",
            tooltip=list(frame.columns.drop("geometry")),
            **kwargs,
        )

    # ------------------------------------------------------------------ files
    def to_file(self, path: str | Path) -> Path:
        """Save posts, demand points, parameters and notes to a GeoPackage (read back with :meth:`read_file`)."""
        params = {
            **self.params,
            "notes": self.notes,
            "crs": pyproj.CRS(self.posts.crs).to_wkt(),
            "community_codes": self._communities,
        }
        frames = {"posts": self.posts, "demand": self.demand}
        if self._grids is not None:
            frames["grids"] = self._grids
        return _io.write_frames(path, "Posts", frames, params)

    @classmethod
    @_io.guarded_read
    def read_file(cls, path: str | Path, *, streets: District | StreetNetwork | None = None) -> Posts:
        """Load posts saved with :meth:`to_file`; pass ``streets=`` (District or StreetNetwork) for coverage."""
        frames, params = _io.read_frames(path, "Posts")
        crs = pyproj.CRS.from_wkt(params.pop("crs"))
        notes = params.pop("notes")
        communities = params.pop("community_codes", None)  # files from gridplan 0.1.0 lack it
        net = None
        if streets is not None:
            net = streets if isinstance(streets, StreetNetwork) else getattr(streets, "network", None)
            if not isinstance(net, StreetNetwork):
                raise DataError(f"streets must be a District or a StreetNetwork, got {type(streets).__name__}")
        grids = frames.get("grids")
        return cls(
            frames["posts"].set_crs(crs, allow_override=True),
            params=params,
            notes=notes,
            demand=frames["demand"].set_crs(crs, allow_override=True),
            network=net,
            grids=None if grids is None else grids.set_crs(crs, allow_override=True),
            communities=communities,
        )


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def coverage_tables(
    demand: pd.DataFrame, post: np.ndarray, walk_m: np.ndarray, max_walk_m: float, speed_m_per_min: float
) -> tuple[pd.DataFrame, pd.Series, Callable[[str], pd.DataFrame]]:
    """Coverage figures from each demand point's nearest post and walk (``inf``: no post reachable).

    Returns the demand points with ``post``, ``walk_m`` and ``covered``; the ``overall`` figures; and
    ``table(key)``, the figures per value of a demand column (``"grid"``, ``"community"``, ...).
    Unreachable demand counts as uncovered and is left out of the mean walk, never dropped.
    """
    d = demand.copy()
    d["post"] = pd.array(post, dtype="str")
    d["walk_m"] = walk_m
    d["covered"] = walk_m <= max_walk_m + 1e-7
    w = d["weight"].to_numpy(float)
    reach = np.isfinite(walk_m)
    covered = float(w[d["covered"].to_numpy()].sum())
    overall = pd.Series(
        {
            "demand": float(w.sum()),
            "covered": covered,
            "share": covered / float(w.sum()),
            "mean_walk_m": float(np.average(walk_m[reach], weights=w[reach])) if w[reach].sum() > 0 else float("nan"),
            "max_walk_found_m": float(walk_m[reach].max()) if reach.any() else float("nan"),
            "unreachable": float(w[~reach].sum()),
            "max_walk_m": max_walk_m,
            "minutes": max_walk_m / speed_m_per_min,
        },
        name="coverage",
        dtype=object,
    )

    def table(key: str) -> pd.DataFrame:
        g = d.assign(
            cw=w * d["covered"].to_numpy(), dw=np.where(reach, w * np.where(reach, walk_m, 0), 0.0), rw=np.where(reach, w, 0.0)
        )
        t = g.groupby(key, sort=True)[["weight", "cw", "dw", "rw"]].sum()
        out = pd.DataFrame(
            {
                "demand": t["weight"],
                "covered": t["cw"],
                "share": t["cw"] / t["weight"].where(t["weight"] > 0),
                "mean_walk_m": t["dw"] / t["rw"].where(t["rw"] > 0),
            }
        )
        out.index.name = key
        return out

    return d, overall, table


def _nearest_post(net: StreetNetwork, post_nodes: np.ndarray, demand: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per demand point: position of its nearest post (-1 unreachable) and walking distance (snap + street).

    Ties go to the post listed first.
    """
    uniq, first = np.unique(post_nodes, return_index=True)
    d = csgraph.dijkstra(net.to_sparse(), directed=False, indices=uniq)
    # nearest source per node, ties to the lowest position in post_nodes
    pos = first
    order = np.argsort(pos, kind="stable")
    d, pos = d[order], pos[order]
    k = np.argmin(d, axis=0)
    dist = d[k, np.arange(d.shape[1])]
    near = np.where(np.isfinite(dist), pos[k], -1)
    node = demand["node"].to_numpy(np.int64)
    walk = demand["snap_m"].to_numpy(float) + dist[node]
    return near[node], walk


# --------------------------------------------------------------------------- stations
def _stations(
    net: StreetNetwork, csr: sparse.csr_matrix, dem: _Demand, cand: np.ndarray, loc: _Locator, max_walk: float, notes: list[str]
) -> list[dict[str, Any]]:
    """One station per community: the candidate node in the community covering most of its demand.

    Ties (and communities whose demand no candidate of theirs can reach) go to the candidate with
    the least demand-weighted walking distance to the community's demand (its most central node),
    then to the lowest node id. A community without candidate nodes inside it gets the street node
    nearest to a point inside it (noted).
    """
    comm_codes = sorted({c for c in loc.community if c})
    node_pts = np.asarray(net.nodes.geometry.values)
    p, u = loc.hits(node_pts[cand])
    node_comm = pd.DataFrame({"cand": cand[p], "community": loc.community[u]}).drop_duplicates()
    geoms = np.asarray(loc.plan.units.geometry.values)
    out = []
    for code in comm_codes:
        mine = np.unique(node_comm.loc[node_comm["community"] == code, "cand"].to_numpy(np.int64))
        dmask = dem.frame["community"].to_numpy(object) == code
        if len(mine) == 0:
            shape = shapely.union_all(geoms[loc.community == code])
            pt = shapely.point_on_surface(shape)
            node = int(net.nearest_nodes(pt.x, pt.y))
            notes.append(
                f"station of community {code}: no candidate street node inside it, used node {node} nearest to a point inside it"
            )
            mine = np.array([node])
        dn, ds, dw = dem.node[dmask], dem.snap[dmask], dem.weight[dmask]
        if len(dn) == 0:
            out.append({"node": int(mine[0]), "community": code, "demand_served": 0.0})
            continue
        d = csgraph.dijkstra(csr, directed=False, indices=mine)[:, dn] + ds[None, :]
        served = np.where(d <= max_walk + 1e-7, dw[None, :], 0.0).sum(axis=1)
        finite = np.where(np.isfinite(d), d, 1e12)
        central = finite @ dw
        best = np.lexsort((mine, central, -served))[0]
        out.append({"node": int(mine[best]), "community": code, "demand_served": float(served[best])})
    return out


# --------------------------------------------------------------------------- shared set-up
def _inputs(
    plan: GridPlan, demand: Any, candidates: Any, streets: Any, notes: list[str]
) -> tuple[StreetNetwork, _Locator, _Demand, np.ndarray, np.ndarray]:
    """The network, locator, demand and candidates (nodes ascending, grid positions) of a model."""
    net, district = _network_for(plan, streets)
    if net.n_nodes == 0:
        raise NetworkError("the street network has no nodes")
    if plan.units.crs is not None and not pyproj.CRS(plan.units.crs).equals(net.crs):
        raise CRSError(
            f"the plan is in {pyproj.CRS(plan.units.crs).to_string()} but the streets are in "
            f"{net.crs.to_string()}; pass the district the plan was cut from"
        )
    loc = _Locator(plan)
    dem = _demand(plan, district, demand, net, loc, notes)
    cand, cand_grid = _candidates(plan, candidates, net, loc, notes)
    return net, loc, dem, cand, cand_grid


@dataclass
class _WalkMatrix:
    """The walking distances a model of :func:`place_posts` works on, as one dense matrix.

    ``distance[i, j]`` is demand point i's snap distance plus the street distance from its node
    to candidate j (inf when unreachable); ``weight`` the demand weights; ``cand_nodes`` the
    candidates' street node ids (ascending) and ``cand_grid`` their grid codes.
    """

    distance: np.ndarray
    weight: np.ndarray
    cand_nodes: np.ndarray
    cand_grid: np.ndarray
    demand: gpd.GeoDataFrame
    notes: list[str]


def _walk_matrix(
    plan: GridPlan, *, demand: Any = "population", candidates: Any = "street_nodes", streets: Any = None, dtype: Any = np.float64
) -> _WalkMatrix:
    """Demand x candidate walking distances exactly as :func:`place_posts` sees them.

    For comparisons with other solvers (``benchmarks/bench_posts.py``): the same demand points,
    snap distances, candidates and street distances, as a dense matrix (demand rows x candidate
    columns; mind the memory: 8 bytes per pair with the default ``dtype``).
    """
    notes: list[str] = []
    net, loc, dem, cand, cand_grid = _inputs(plan, demand, candidates, streets, notes)
    d = csgraph.dijkstra(net.to_sparse(), directed=False, indices=cand)  # candidates x nodes
    dist = np.empty((len(dem.frame), len(cand)), dtype=dtype)
    node, snap = dem.node, dem.snap
    for sl in _chunks(len(node), len(cand)):
        dist[sl] = d[:, node[sl]].T + snap[sl, None]
    return _WalkMatrix(dist, dem.weight, cand, loc.codes[cand_grid].astype(str), dem.frame, notes)


# --------------------------------------------------------------------------- entry point
def place_posts(
    plan: GridPlan,
    n_posts: int | None,
    *,
    demand: str | gpd.GeoDataFrame = "population",
    candidates: str | gpd.GeoDataFrame = "street_nodes",
    max_walk_m: float = LIFE_CIRCLE_M,
    objective: str = "coverage",
    min_per_grid: int = 1,
    stations: str | None = "community",
    streets: District | StreetNetwork | None = None,
    method: str = "auto",
    time_limit: float | None = DEFAULT_TIME_LIMIT_S,
    mip_gap: float = 1e-4,
    seed: int = 0,
    progress: bool = True,
    capacity: float | None = None,
) -> Posts:
    """Place ``n_posts`` grid posts (and a liaison station per community) on the street network.

    Parameters
    ----------
    plan : GridPlan
        The grids; every grid gets at least ``min_per_grid`` posts.
    n_posts : int or None
        Number of posts (Guiding county: 42 for 15 grids); ``None`` with ``objective="set-cover"``,
        which finds the fewest.
    demand : "population", str or GeoDataFrame
        Who should reach a post. ``"population"`` (default): the district's population points
        weighted by residents (or, without them, the units' population column). Another string:
        a column of ``plan.units``, at the units' representative points. A GeoDataFrame: points
        with a ``weight`` column (reprojected to the district's CRS if needed).
    candidates : "street_nodes" or GeoDataFrame
        Where posts may stand: every street node inside the grids (thinned above
        :data:`MAX_CANDIDATES`), or given points, each snapped to its nearest street node.
    max_walk_m : float
        Walking distance that counts as covered (default 1,000 m: the 15-minute life circle of
        GB 50180-2018, :data:`LIFE_CIRCLE_M`; see :func:`life_circle_m`).
    objective : {"coverage", "p-median", "set-cover", "p-center"}
        ``"coverage"``: maximise the demand within ``max_walk_m`` (maximal covering).
        ``"p-median"``: minimise the total demand-weighted walking distance to the nearest post.
        ``"set-cover"`` (LSCP; ``n_posts=None``): the fewest posts so that every resident who can
        reach a candidate within ``max_walk_m`` is within it of a post (to cover every community
        instead, pass one demand point per community). ``"p-center"``: ``n_posts`` posts so that the
        worst walk of any resident (weight > 0) to the nearest post is as short as possible (the
        7-minute face-to-face question); ``objective_value`` is that worst walk in metres and
        ``max_walk_m`` only sets the coverage figures. Both are solved exactly with HiGHS
        (``method="heuristic"`` is refused); p-center by bisection over the distinct walking
        distances, a set-covering MILP deciding every step.
    min_per_grid : int
        Posts at least in every grid (a street node on a grid line belongs to the grid with the
        lowest code among those whose polygon holds it).
    stations : {"community", None}
        Add one liaison station per community (kind "station"), chosen on its own after the
        posts: the candidate node in the community with the most community demand within
        ``max_walk_m`` (ties: the most central, i.e. least demand-weighted walk).
    streets : District or StreetNetwork, optional
        The streets, when the plan does not know its district (a plan read from a file).
    method : {"auto", "exact", "heuristic"}
        Every method starts with greedy + interchange and its bound. ``"auto"``: returns that
        answer when the bound proves it within ``mip_gap``, else solves the MILP with HiGHS when
        the model is within :data:`EXACT_MAX_PAIRS` (coverage) or :data:`PMEDIAN_EXACT_MAX_PAIRS`
        (p-median), else returns the heuristic answer with its gap. ``"exact"``: always the MILP,
        whatever its size (unless the bound already meets the answer exactly); if HiGHS stops at
        ``time_limit`` without a better solution, the heuristic answer comes back with its gap.
        ``"heuristic"``: never the MILP (bounds only).
    time_limit : float or None
        Default :data:`DEFAULT_TIME_LIMIT_S` (60 s); ``None``: no limit, wait for HiGHS's proof
        (minutes or more on a district). Seconds for the whole call's solving (heuristic, bounds
        and HiGHS ``time_limit``; for p-median shared by its rounds). When it stops HiGHS early, the best solution found (the
        heuristic's, if HiGHS found none better) is returned with its bound and gap and
        ``params["status"] == "time_limit"``. It also caps the LP relaxation that bounds a
        heuristic answer (otherwise given up to 120 s).
    mip_gap : float
        Relative optimality gap to stop at (default 1e-4, HiGHS's own default): a heuristic
        answer that a bound proves within it is returned at once (``"within_gap"``), and HiGHS
        stops when it reaches it. 0 proves the optimum exactly, which on near-total coverage can
        take long (many solutions differ by a handful of residents). ``params["gap"]`` is the
        gap achieved, ``params["status"]`` says what is proven (see :class:`Posts`).
    seed : int
        Tie-breaks of the heuristic; the exact solver is deterministic.
    progress : bool
        Show progress bars for the distance computations.
    capacity : float, optional
        Capacitated coverage: every post serves at most this much demand (residents, or cases
        with a demand layer of cases), with ``objective="coverage"`` (maximise the demand served
        within ``max_walk_m`` by exactly ``n_posts`` posts) or ``"set-cover"`` (the fewest posts
        serving every coverable resident). A group of residents at one street node may be split
        between posts. Each post's ``demand_served`` is then the demand it is assigned (its load);
        :meth:`Posts.coverage` still measures the walk to the nearest post, without capacities.

    Returns
    -------
    Posts

    Raises
    ------
    InfeasibleError
        ``n_posts`` below 1 or below ``n_grids * min_per_grid`` (also a p-center with fewer centres
        than grids under one post per grid), a capacity too small to serve everyone in a
        capacitated set cover, a grid with too few candidate
        nodes, more posts than candidates, or (p-median) a part of the network holding demand
        that cannot get a post.
    DataError
        ``n_posts`` not a whole number, an unknown demand column or option, empty or negative
        demand, no streets to work on.
    CRSError
        Demand or candidate points without a CRS.

    Notes
    -----
    Coverage model (MCLP, Church & ReVelle 1974): binary y_j per candidate, z_r in [0, 1] per
    demand row; maximise Σ w_r z_r with z_r <= Σ_{j covers r} y_j, Σ y_j = n_posts and the grid
    minimums. Demand points with the same set of covering candidates share a row (exact).

    p-median model: the radius formulation (Elloumi 2010; García, Labbé & Marín 2011) on every
    client's nearest candidates; the lists grow until every client's nearest chosen post is in
    its list, which proves the truncated model's optimum optimal for the full problem.

    Heuristic: greedy (grid minimums first), then best-improvement interchange (Teitz & Bart
    1968). Its bound: for coverage the demand any candidate covers, then the MILP's dual bound or
    the LP relaxation; for p-median the Lagrangian relaxation of the assignment constraints
    (subgradient optimisation, Beasley 1993), which also rules out candidates for the MILP.
    """
    from .grids import GridPlan

    t0 = time.perf_counter()
    if not isinstance(plan, GridPlan):
        raise DataError(f"plan must be a GridPlan (from gridplan.grids.partition), got {type(plan).__name__}")
    obj_name = (
        {
            "coverage": "coverage",
            "p-median": "p-median",
            "p_median": "p-median",
            "pmedian": "p-median",
            "set-cover": "set-cover",
            "set_cover": "set-cover",
            "lscp": "set-cover",
            "p-center": "p-center",
            "p_center": "p-center",
            "pcenter": "p-center",
        }.get(str(objective).lower())
        if isinstance(objective, str)
        else None
    )
    if obj_name == "set-cover":
        if n_posts is not None:
            raise DataError(
                f"objective='set-cover' finds the fewest posts itself: pass n_posts=None, got {n_posts!r} "
                "(for a fixed number of posts use objective='coverage')"
            )
        p = 0
    else:
        p = _validate.integer(n_posts, "n_posts")
        if p < 1:
            raise InfeasibleError(f"n_posts must be at least 1, got {p}")
    mpg = _validate.integer(min_per_grid, "min_per_grid", minimum=0)
    cap = _validate.number(capacity, "capacity", above=0, allow_none=True)
    if cap is not None and obj_name not in ("coverage", "set-cover"):
        raise DataError(f"capacity= works with objective='coverage' or 'set-cover', not {objective!r}")
    if obj_name in ("set-cover", "p-center") or cap is not None:
        if method == "heuristic":
            raise DataError(
                f"objective={obj_name!r}{' with capacity=' if cap is not None else ''} is solved exactly: "
                "use method='auto' or 'exact'"
            )
    walk = float(_validate.number(max_walk_m, "max_walk_m", above=0))
    tl = _validate.number(time_limit, "time_limit", above=0, allow_none=True)
    mip_gap = _validate.number(mip_gap, "mip_gap (a relative gap, e.g. 1e-4)", minimum=0, below=1)
    seed = _validate.seed(seed)
    obj = obj_name
    if obj is None:
        raise DataError(f"objective={objective!r}: use one of {list(OBJECTIVES)}")
    _validate.choice(stations, "stations", ("community", None))
    _validate.choice(method, "method", ("auto", "exact", "heuristic"))
    k = plan.n_grids
    if obj == "p-center" and p < k * mpg:
        raise InfeasibleError(
            f"a p-center with n_posts={p} centres cannot keep min_per_grid={mpg} in each of the "
            f"{k} grids: ask for n_posts >= {k * mpg}, or min_per_grid=0 to let centres serve "
            "across grid lines"
        )
    if obj != "set-cover" and p < k * mpg:
        raise InfeasibleError(
            f"n_posts={p} is too few: {k} grids × min_per_grid={mpg} need at least {k * mpg} posts; "
            f"ask for n_posts >= {k * mpg} or lower min_per_grid"
        )
    notes: list[str] = []
    net, loc, dem, cand, cand_grid = _inputs(plan, demand, candidates, streets, notes)
    if obj == "set-cover" and len(cand) < k * mpg:
        raise InfeasibleError(
            f"there are only {len(cand)} candidate nodes for {k} grids × min_per_grid={mpg}; "
            "lower min_per_grid or give more candidates"
        )
    if len(cand) < p:
        raise InfeasibleError(
            f"n_posts={p} but there are only {len(cand)} candidate nodes; ask for fewer posts or give more candidates"
        )
    per_grid = np.bincount(cand_grid, minlength=k)
    short = np.flatnonzero(per_grid < mpg)
    if len(short):
        codes = loc.codes
        raise InfeasibleError(
            f"grids {[codes[g] for g in short[:5]]} have fewer candidate nodes than "
            f"min_per_grid={mpg} ({per_grid[short[:5]].tolist()}); lower min_per_grid or add candidates"
        )
    far = dem.snap > walk
    if far.any():
        notes.append(
            f"demand: {int(far.sum())} points ({dem.weight[far].sum():,.0f} demand, "
            f"{dem.weight[far].sum() / dem.weight.sum():.2%}) are farther than {walk:.0f} m from every street "
            "node and cannot be covered"
        )
    notes.append(
        f"demand: {len(dem.frame)} points ({dem.source}), total {dem.weight.sum():,.0f}, snapped to "
        f"{len(np.unique(dem.node))} street nodes (snap distance median {np.median(dem.snap):.0f} m, "
        f"max {dem.snap.max():.0f} m; it counts as walking)"
    )
    csr = net.to_sparse()
    deadline = None if tl is None else t0 + tl

    from . import _location

    if obj == "set-cover":
        sol = _location.place_setcover(csr, cand, cand_grid, dem, walk, k, mpg, deadline, float(mip_gap), progress, notes, cap)
        p = len(sol.chosen)
    elif obj == "p-center":
        sol = _location.place_pcenter(csr, cand, cand_grid, dem, p, k, mpg, deadline, float(mip_gap), progress, notes)
    elif cap is not None:
        sol = _location.place_capacitated_coverage(
            csr, cand, cand_grid, dem, walk, p, k, mpg, deadline, float(mip_gap), progress, notes, cap
        )
    elif obj == "coverage":
        sol = _place_coverage(csr, cand, cand_grid, dem, walk, p, k, mpg, method, seed, deadline, progress, notes, float(mip_gap))
    else:
        sol = _place_pmedian(csr, cand, cand_grid, dem, walk, p, k, mpg, method, seed, deadline, progress, notes, float(mip_gap))

    sol.status = _final_status(sol.status, sol.method, sol.gap, float(mip_gap))

    # ------------------------------------------------------------- the result table
    chosen_nodes = cand[sol.chosen]
    order = np.lexsort((chosen_nodes, loc.codes[cand_grid[sol.chosen]]))  # by grid code, then node
    chosen_nodes = chosen_nodes[order]
    loads = sol.detail.pop("loads", None)
    xy = net.nodes[["x", "y"]].to_numpy(float)
    grid_pos, unit_pos = loc.locate(shapely.points(xy[chosen_nodes]))
    ids = [f"P{i + 1:02d}" for i in range(len(chosen_nodes))]
    near, dist = _nearest_post(net, chosen_nodes, dem.frame)
    cov = dist <= walk + 1e-7
    served = np.bincount(near[cov], weights=dem.weight[cov], minlength=len(chosen_nodes))
    if loads is not None:  # capacitated: what each post is assigned
        served = np.asarray(loads, float)[order]
    rows = {
        "kind": ["post"] * len(chosen_nodes),
        "grid": list(loc.codes[grid_pos]),
        "community": list(loc.community[unit_pos]),
        "node": chosen_nodes.tolist(),
        "demand_served": served.tolist(),
    }
    geoms = list(shapely.points(xy[chosen_nodes]))
    if stations == "community":
        st = _stations(net, csr, dem, cand, loc, walk, notes)
        sn = np.array([s["node"] for s in st], dtype=np.int64)
        sg, _ = loc.locate(shapely.points(xy[sn])) if len(sn) else (np.zeros(0, int), None)
        ids += [f"S{i + 1:02d}" for i in range(len(st))]
        rows["kind"] += ["station"] * len(st)
        rows["grid"] += [loc.codes[g] if g >= 0 else "" for g in sg]
        rows["community"] += [s["community"] for s in st]
        rows["node"] += sn.tolist()
        rows["demand_served"] += [s["demand_served"] for s in st]
        geoms += list(shapely.points(xy[sn]))
    frame = gpd.GeoDataFrame(
        {
            "kind": pd.array(rows["kind"], dtype="str"),
            "grid": pd.array(rows["grid"], dtype="str"),
            "community": pd.array(rows["community"], dtype="str"),
            "node": np.asarray(rows["node"], dtype=np.int64),
            "demand_served": np.asarray(rows["demand_served"], dtype=float),
        },
        geometry=gpd.GeoSeries(geoms, crs=net.crs, index=pd.Index(ids, name="post")),
        index=pd.Index(ids, name="post"),
    )
    w = dem.weight
    reach = np.isfinite(dist)
    mean_walk = float(np.average(dist[reach], weights=w[reach])) if w[reach].sum() > 0 else float("nan")
    if (~reach).any():
        notes.append(f"demand: {w[~reach].sum():,.0f} demand lies on parts of the network with no post")
    params = {
        "n_posts": p,
        "demand": demand if isinstance(demand, str) else dem.source,
        "candidates": candidates if isinstance(candidates, str) else f"GeoDataFrame of {len(candidates)} points",
        "max_walk_m": walk,
        "objective": obj,
        "min_per_grid": mpg,
        "stations": stations,
        "method_requested": method,
        "time_limit": tl,
        "mip_gap": float(mip_gap),
        "seed": seed,
        "n_grids": k,
        "n_candidates": int(len(cand)),
        "status": sol.status,
        "objective_value": sol.objective,
        "bound": sol.bound,
        "gap": sol.gap,
        "method": sol.method,
        "solver_seconds": round(sol.seconds, 3),
        "seconds": round(time.perf_counter() - t0, 3),
        "covered": float(w[cov].sum()) if loads is None else float(served.sum()),
        "covered_share": float((w[cov].sum() if loads is None else served.sum()) / w.sum()),
        "mean_walk_m": mean_walk,
        "capacity": cap,
        "worst_walk_m": float(dist[reach].max()) if reach.any() else float("nan"),
        **sol.detail,
    }
    grids = plan.grids[["code", "geometry"]].copy()
    district = plan.district if streets is None or isinstance(streets, StreetNetwork) else streets
    return Posts(
        frame, params=params, notes=notes, demand=dem.frame, network=net, grids=grids, communities=_community_codes(loc, district)
    )


def _community_codes(loc: _Locator, district: Any) -> list[str]:
    """Every community code of the plan's units and of the district's community layer, sorted."""
    codes = {str(c) for c in loc.community if c}
    comm = getattr(district, "communities", None)
    if isinstance(comm, pd.DataFrame) and "code" in comm.columns:
        codes |= {str(c) for c in comm["code"].dropna() if str(c)}
    return sorted(codes)


def _too_big(pairs: int, method: str, notes: list[str], limit: int = 0) -> bool:
    limit = limit or EXACT_MAX_PAIRS
    if method == "heuristic":
        return True
    if method == "exact":
        return False
    if pairs > limit:
        name = "EXACT_MAX_PAIRS" if limit == EXACT_MAX_PAIRS else "PMEDIAN_EXACT_MAX_PAIRS"
        notes.append(
            f"the model has {pairs:,} demand-candidate pairs, more than {name}={limit:,}: "
            "solved by the heuristic, with its gap to the bound"
        )
        return True
    return False


def _place_coverage(
    csr: sparse.csr_matrix,
    cand: np.ndarray,
    cand_grid: np.ndarray,
    dem: _Demand,
    walk: float,
    p: int,
    k: int,
    mpg: int,
    method: str,
    seed: int,
    deadline: float | None,
    progress: bool,
    notes: list[str],
    mip_gap: float,
) -> _Solution:
    t = time.perf_counter()
    cov = _sparse_distances(csr, cand, walk, progress, "walking distances")
    rows = _coverage_rows(cov, dem, walk)
    unreach = rows.row_of_point < 0
    if unreach.any():
        notes.append(
            f"coverage: {dem.weight[unreach].sum():,.0f} demand ({int(unreach.sum())} points) has no "
            f"candidate within {walk:.0f} m and cannot be covered"
        )
    a = rows.matrix()
    out = _dominated(a, cand_grid, p, mpg)
    pairs = int(sum(len(b) for b in rows.band))
    notes.append(
        f"coverage model: {len(cand)} candidates ({int(out.sum())} dominated by another of their grid, "
        f"left out), {len(rows.band)} demand rows, {pairs:,} row-candidate links"
    )
    detail: dict[str, Any] = {"model_rows": len(rows.band), "model_pairs": pairs, "dominated": int(out.sum())}
    # 1. greedy + interchange; the demand any candidate can cover bounds the optimum
    cost = a.multiply((~out).astype(float)[None, :]).tocsr()
    cost.eliminate_zeros()
    cost.data[:] = 1e-9  # covered: cost 0 (stored as 1e-9), else the fallback 1
    chosen, info = _heuristic(cost, np.ones(a.shape[0]), rows.weight, p, cand_grid, k, mpg, seed, deadline)
    detail.update(info)
    value = float(rows.weight @ (np.asarray(a[:, chosen].sum(axis=1)).ravel() > 0))
    detail["heuristic_value"] = value
    coverable = float(rows.weight.sum())
    gap0 = _gap(value, coverable, True)
    if gap0 <= 1e-12 or (gap0 <= mip_gap and method != "exact"):
        notes.append(
            "coverage: the interchange solution covers all demand that any post could cover: optimal"
            if gap0 <= 1e-12
            else f"coverage: the interchange solution is within mip_gap={mip_gap:g} of all demand that any post "
            "could cover, so proven within that gap of the optimum"
        )
        return _Solution(
            chosen, "optimal", value, coverable, _gap(value, coverable, True), "heuristic", time.perf_counter() - t, detail
        )
    raw = "heuristic"
    if not _too_big(pairs, method, notes):
        # 2. the exact model
        res = _solve_coverage(rows, p, cand_grid, k, mpg, deadline, mip_gap=mip_gap, fixed_out=out)
        status = _status(res)
        if res.x is None:
            if status == "infeasible":
                raise InfeasibleError(f"the coverage model is infeasible: the grid minimums cannot be met with n_posts={p}")
            notes.append(f"HiGHS stopped ({res.message}) without a solution: kept the interchange solution")
            raw = "time_limit" if status == "time_limit" else "heuristic"
        else:
            exact = np.flatnonzero(res.x[: rows.m] > 0.5)
            got = float(rows.weight @ (np.asarray(a[:, exact].sum(axis=1)).ravel() > 0))
            if got >= value:
                chosen, value = exact, got
            dual = getattr(res, "mip_dual_bound", None)
            bound = min(coverable, max(value, float(-dual) if dual is not None and np.isfinite(dual) else coverable))
            return _Solution(chosen, status, value, bound, _gap(value, bound, True), "exact", time.perf_counter() - t, detail)
    # the LP bound gets at most _LP_SECONDS, and never more than what is left of time_limit
    lp_seconds = _LP_SECONDS if deadline is None else min(_LP_SECONDS, deadline - time.perf_counter())
    if lp_seconds <= 0:
        lp = None
        notes.append("no time left of time_limit for the LP relaxation: the bound is the coverable demand")
    else:
        lp = _solve_coverage(rows, p, cand_grid, k, mpg, time.perf_counter() + lp_seconds, relax=True)
    bound = min(coverable, float(-lp.fun)) if lp is not None and lp.x is not None and int(lp.status) == 0 else coverable
    if lp is not None and not (lp.x is not None and int(lp.status) == 0):
        notes.append(f"the LP relaxation did not finish within {lp_seconds:.0f} s: the bound is the coverable demand")
    return _Solution(chosen, raw, value, bound, _gap(value, bound, True), "heuristic", time.perf_counter() - t, detail)


def _select(rho: np.ndarray, cand_grid: np.ndarray, n_grids: int, p: int, mpg: int) -> np.ndarray:
    """The p candidates of least rho with at least ``mpg`` in every grid (greedy is exact here)."""
    m = len(rho)
    order = np.lexsort((np.arange(m), rho))
    take = np.zeros(m, bool)
    if mpg > 0:
        g = cand_grid[order]
        rank = np.zeros(m, np.int64)
        # rank of every candidate within its grid, in rho order
        srt = np.lexsort((np.arange(m), g))
        starts = np.searchsorted(g[srt], g[srt], side="left")
        rank[srt] = np.arange(m) - starts
        take[order[rank < mpg]] = True
    rest = order[~take[order]][: p - int(take.sum())]
    take[rest] = True
    return take


def _lagrangian(
    lists: list[tuple[np.ndarray, np.ndarray]],
    w: np.ndarray,
    complete: np.ndarray,
    m: int,
    p: int,
    cand_grid: np.ndarray,
    n_grids: int,
    mpg: int,
    upper: float,
    deadline: float | None,
    mip_gap: float,
    max_iter: int = 800,
) -> tuple[float, np.ndarray, np.ndarray, dict[str, Any]]:
    """Lagrangian lower bound of the p-median problem on truncated lists, and candidates it rules out.

    The assignment constraints sum_j x_ij = 1 are relaxed with multipliers lambda_i (subgradient
    optimisation, Beasley 1993). Beyond its list a client costs its last listed distance (infinite
    when the list holds every reachable candidate), which keeps the bound valid for the full
    problem. A candidate j is ruled out when even forcing it in lifts the bound above ``upper``
    (the heuristic's value): sum(lambda) + rho_j + the p - 1 least other rho > upper.
    Also returns the facilities of the best Lagrangian solution (a good start for the interchange).
    """
    lens = np.array([len(c) for c, _ in lists], dtype=np.int64)
    rows = np.repeat(np.arange(len(lists)), lens)
    cols = np.concatenate([c for c, _ in lists]) if len(lists) else np.zeros(0, np.int64)
    cost = (np.concatenate([d for _, d in lists]) if len(lists) else np.zeros(0)) * w[rows]
    last = np.array([d[-1] if len(d) else np.inf for _, d in lists]) * w
    beyond = np.where(complete | (lens == 0), np.inf, last)
    first = np.array([d[0] if len(d) else 0.0 for _, d in lists]) * w
    kth = np.minimum(lens - 1, max(1, m // max(p, 1)))
    lam = np.array([d[k] if len(d) else 0.0 for (_, d), k in zip(lists, kth)]) * w
    lam = np.maximum(lam, first)
    best, best_take = -np.inf, np.zeros(m, bool)
    out = np.zeros(m, bool)
    theta, stall, it = 2.0, 0, 0
    scale = max(abs(upper), 1.0)
    while it < max_iter and theta > 1e-4 and (deadline is None or time.perf_counter() < deadline):
        it += 1
        red = np.minimum(0.0, cost - lam[rows])
        base = np.minimum(0.0, beyond - lam)  # inf - lam -> inf -> min 0
        rho = base.sum() + np.bincount(cols, weights=red - base[rows], minlength=m)
        take = _select(rho, cand_grid, n_grids, p, mpg)
        value = float(lam.sum() + rho[take].sum())
        # candidates that cannot be in a solution better than `upper`
        srt = np.sort(rho)
        s_small = srt[: p - 1].sum()
        in_small = rho <= srt[p - 2] if p >= 2 else np.zeros(m, bool)
        others = np.where(in_small, srt[:p].sum() - rho, s_small)
        out |= lam.sum() + rho + others > upper + 1e-9 * scale
        if value > best + 1e-12 * scale:
            best, best_take, stall = value, take, 0
        else:
            stall += 1
            if stall >= 25:
                theta, stall = theta / 2, 0
        if _gap(upper, best, False) <= mip_gap:
            break
        hit = np.bincount(rows, weights=(take[cols] & (cost < lam[rows])).astype(float), minlength=len(lists))
        n_in = np.bincount(rows, weights=take[cols].astype(float), minlength=len(lists))
        hit += (p - n_in) * (beyond < lam)
        g = 1.0 - hit
        norm = float(g @ g)
        if norm == 0:
            break
        lam = lam + theta * (upper - value) / norm * g
    return best, out, np.flatnonzero(best_take), {"lagrangian_iterations": it}


def _pmedian_exact(
    csr: sparse.csr_matrix,
    cand: np.ndarray,
    cand_grid: np.ndarray,
    clients: np.ndarray,
    w: np.ndarray,
    p: int,
    k: int,
    mpg: int,
    deadline: float | None,
    mip_gap: float,
    progress: bool,
) -> tuple[np.ndarray | None, str, float, dict[str, Any]]:
    """Radius-formulation MILP on growing nearest-candidate lists (see :func:`_pmedian_model`).

    Returns the chosen positions (None if HiGHS found no solution), the status, a lower bound
    (street distances only) and details.
    """
    from tqdm.auto import tqdm

    m = len(cand)
    size = np.full(len(clients), min(m, max(8, int(math.ceil(3 * m / p)))))
    lists, complete = _nearest_lists(csr, cand, clients, size)
    rounds = 0
    bar = tqdm(desc="p-median rounds", unit="round", disable=not progress)
    try:
        while True:
            rounds += 1
            res, const = _solve_pmedian_lists(lists, w, complete, m, p, cand_grid, k, mpg, deadline, mip_gap=mip_gap)
            bar.update(1)
            status = _status(res)
            detail = {
                "rounds": rounds,
                "model_pairs": int(sum(len(c) for c, _ in lists)),
                "list_max": int(max(len(c) for c, _ in lists)),
            }
            dual = getattr(res, "mip_dual_bound", None)
            lb = float(dual) + const if dual is not None and np.isfinite(dual) else float("nan")
            if res.x is None:
                return None, status, lb, detail
            chosen = np.flatnonzero(res.x[:m] > 0.5)
            sel = np.zeros(m, bool)
            sel[chosen] = True
            short = np.array([not complete[i] and not sel[c].any() for i, (c, _) in enumerate(lists)])
            if not short.any() or status != "optimal":
                return chosen, status if not short.any() else "time_limit", lb, detail
            size[short] = np.minimum(m, size[short] * 2)
            idx = np.flatnonzero(short)
            more, comp = _nearest_lists(csr, cand, clients[idx], size[idx])
            for i, lst, c in zip(idx, more, comp):
                lists[i] = lst
                complete[i] = c
    finally:
        bar.close()


def _place_pmedian(
    csr: sparse.csr_matrix,
    cand: np.ndarray,
    cand_grid: np.ndarray,
    dem: _Demand,
    walk: float,
    p: int,
    k: int,
    mpg: int,
    method: str,
    seed: int,
    deadline: float | None,
    progress: bool,
    notes: list[str],
    mip_gap: float,
) -> _Solution:
    """Interchange heuristic, Lagrangian bound and reduction, then (if the gap is open) the MILP."""
    t = time.perf_counter()
    m = len(cand)
    W = np.bincount(dem.node, weights=dem.weight, minlength=csr.shape[0])
    clients = np.flatnonzero(W > 0)
    w = W[clients]
    snap_const = float(dem.weight @ dem.snap)
    size = np.full(len(clients), min(m, max(16, min(int(math.ceil(12 * m / p)), _LIST_PAIRS // max(len(clients), 1)))))
    lists, complete = _nearest_lists(csr, cand, clients, size)
    empty = np.array([len(c) == 0 for c, _ in lists])
    if empty.any():
        notes.append(
            f"p-median: {w[empty].sum():,.0f} demand lies where no candidate can be reached and is left out of the objective"
        )
        keep = ~empty
        clients, w, complete = clients[keep], w[keep], complete[keep]
        lists = [lst for lst, e in zip(lists, empty) if not e]
    detail: dict[str, Any] = {"snap_total": snap_const, "list_length": int(size.max())}
    # 1. interchange from the greedy start, on the lists (beyond its list a client costs its last distance)
    rows = np.repeat(np.arange(len(lists)), [len(c) for c, _ in lists])
    cols = np.concatenate([c for c, _ in lists])
    vals = np.concatenate([d for _, d in lists]) + 1e-9
    cost = sparse.csr_matrix((vals, (rows, cols)), shape=(len(clients), m))
    fallback = np.array([d[-1] for _, d in lists]) + 1e-6
    chosen, info = _heuristic(cost, fallback, w, p, cand_grid, k, mpg, seed, deadline)
    upper = _pmedian_value(csr, cand[chosen], clients, w)
    # 2. Lagrangian bound, the candidates it rules out, and interchange from its solution
    lb, out, take, linfo = _lagrangian(lists, w, complete, m, p, cand_grid, k, mpg, upper, deadline, mip_gap)
    detail.update(linfo, swaps=info["swaps"])
    if _gap(upper, lb, False) > mip_gap and len(take) == p:
        again, info2 = _heuristic(cost, fallback, w, p, cand_grid, k, mpg, seed, deadline, start=take)
        value = _pmedian_value(csr, cand[again], clients, w)
        detail["swaps"] += info2["swaps"]
        if value < upper - 1e-9 * max(1.0, upper):
            chosen, upper = again, value
    lb = min(lb, upper)
    detail["ruled_out"] = int(out.sum())
    pairs = len(clients) * int((~out).sum())
    detail["model_pairs"] = pairs
    method_used = "heuristic"
    gap0 = _gap(upper, lb, False)
    status = "optimal" if gap0 <= 1e-12 or (gap0 <= mip_gap and method != "exact") else "heuristic"
    if status == "optimal":
        notes.append(
            "p-median: the interchange solution meets the Lagrangian bound: optimal"
            if gap0 <= 1e-12
            else f"p-median: the interchange solution is proven within mip_gap={mip_gap:g} of the optimum by the Lagrangian bound"
        )
    elif not _too_big(pairs, method, notes, PMEDIAN_EXACT_MAX_PAIRS):
        # 3. the exact model on the candidates the Lagrangian test could not rule out
        keep = ~out
        left = np.bincount(cand_grid[keep], minlength=k)
        if keep.sum() < p or (left < mpg).any() or not keep[chosen].all():
            keep[:] = True
        sub = np.flatnonzero(keep)
        notes.append(
            f"p-median: the Lagrangian bound rules out {m - len(sub)} of {m} candidates; "
            f"the MILP decides among the other {len(sub)}"
        )
        got, st, mlb, minfo = _pmedian_exact(csr, cand[sub], cand_grid[sub], clients, w, p, k, mpg, deadline, mip_gap, progress)
        detail.update(minfo)
        if got is None and st == "infeasible":
            raise InfeasibleError(
                "the p-median model is infeasible: some part of the network holding demand cannot get a post "
                f"with n_posts={p} and the grid minimums; use objective='coverage', more posts, or "
                "streets=network.largest_component()"
            )
        if got is not None:
            value = _pmedian_value(csr, cand[sub[got]], clients, w)
            if value < upper - 1e-9 * max(1.0, upper):
                chosen, upper = np.sort(sub[got]), value
            method_used = "exact"
            if np.isfinite(mlb):
                lb = max(lb, min(mlb, upper))
            status = st if st != "optimal" or _gap(upper, lb, False) <= max(mip_gap, 1e-9) else "time_limit"
            if st != "optimal":
                notes.append(f"p-median: HiGHS stopped ({st}); the result is the best solution found, with its gap")
        else:
            notes.append(f"p-median: HiGHS stopped ({st}) without a solution: kept the interchange solution")
            if st == "time_limit":
                status = "time_limit"
    return _Solution(
        np.sort(chosen),
        status,
        upper + snap_const,
        lb + snap_const,
        _gap(upper + snap_const, lb + snap_const, False),
        method_used,
        time.perf_counter() - t,
        detail,
    )


def _pmedian_value(csr: sparse.csr_matrix, post_nodes: np.ndarray, clients: np.ndarray, w: np.ndarray) -> float:
    """Demand-weighted street distance from client nodes to their nearest post (unreachable: left out)."""
    d = csgraph.dijkstra(csr, directed=False, indices=np.unique(post_nodes), min_only=True)[clients]
    ok = np.isfinite(d)
    return float(w[ok] @ d[ok])


# ------------------------------------------------------------- life-circle coverage (was gridplan.simulate.coverage)
class LifeCircle:
    """Coverage of the 15-minute life circle (see :func:`coverage`): a :class:`~gridplan.posts.Coverage` plus isochrones.

    Attributes
    ----------
    coverage : Coverage
        Share of residents within reach, overall (``overall``), ``per_grid``, ``per_community``,
        the demand points and the uncovered ones.
    isochrones : GeoDataFrame
        One row per service point (post or station): its ``kind``, ``grid`` and the area within
        ``minutes`` along the streets (the reachable streets, buffered by the walk left at their
        ends, at most ``buffer_m``).
    minutes, speed_m_per_min : float
    """

    def __init__(self, cov: Coverage, isochrones: gpd.GeoDataFrame, minutes: float, speed: float) -> None:
        self.coverage = cov
        self.isochrones = isochrones
        self.minutes = minutes
        self.speed_m_per_min = speed

    @property
    def overall(self) -> pd.Series:
        return self.coverage.overall

    @property
    def share(self) -> float:
        return float(self.coverage.overall["share"])

    @property
    def per_grid(self) -> pd.DataFrame:
        return self.coverage.per_grid

    @property
    def per_community(self) -> pd.DataFrame:
        return self.coverage.per_community

    def __repr__(self) -> str:
        return (
            f"<LifeCircle {self.minutes:g} min at {self.speed_m_per_min:g} m/min: {self.share:.1%} of "
            f"{float(self.coverage.overall['demand']):,.0f} residents, {len(self.isochrones)} service points>"
        )

    def _repr_html_(self) -> str:
        return self.coverage._repr_html_()

    def plot(self, ax: Axes | None = None, *, title: str | None = None) -> Axes:
        """Isochrones under the covered/uncovered residents and the posts."""
        from . import plot as _plot

        ax = _plot.axes(ax)
        if len(self.isochrones):
            self.isochrones.plot(ax=ax, color="#74c476", alpha=0.25, linewidth=0, zorder=0)
        self.coverage.plot(ax=ax, title=title or f"{self.minutes:g}-minute life circle: {self.share:.1%} of residents")
        return ax


def coverage(
    plan: GridPlan,
    posts: Posts,
    *,
    minutes: float = 15.0,
    speed_m_per_min: float | None = None,
    include_stations: bool = True,
    buffer_m: float = 100.0,
    walk_m: float | None = None,
) -> LifeCircle:
    """The "15-minute community life circle": residents within ``minutes`` walk of a post or station.

    Parameters
    ----------
    plan : GridPlan
        The plan the posts were placed on (checked).
    posts : Posts
        From :func:`gridplan.posts.place_posts`.
    minutes : float
        The life circle (5, 10 or 15 minutes).
    speed_m_per_min : float, optional
        Walking speed. Default: the walking distances of GB 50180-2018 for the 5-, 10- and
        15-minute life circles (300 m, 500 m, 1,000 m: :data:`gridplan.posts.LIFE_CIRCLES_M`), and an
        assumed 80 m/min for other minutes. Given: the distance is ``minutes * speed_m_per_min``.
    walk_m : float, optional
        The walking distance itself (overrides both).
    include_stations : bool
        Count liaison stations as service points (default True).
    buffer_m : float
        Width of the isochrone around the reachable streets.

    Returns
    -------
    LifeCircle

    Examples
    --------
    >>> import gridplan
    >>> from gridplan.grids import partition
    >>> from gridplan.posts import place_posts
    >>> from gridplan.simulate import _example_layers
    >>> plan = partition(gridplan.District.from_frames(**_example_layers()), 2, units="cells", seed=0)
    >>> posts = place_posts(plan, 2, max_walk_m=800, progress=False)
    >>> lc = coverage(plan, posts, minutes=10)
    >>> bool(0 < lc.share <= 1), len(lc.isochrones) == len(posts.posts)
    (True, True)
    """
    for v, name in (
        (minutes, "minutes"),
        (speed_m_per_min, "speed_m_per_min"),
        (buffer_m, "buffer_m"),
        (walk_m, "walk_m (the life-circle distance)"),
    ):
        _validate.number(v, name, above=0, allow_none=name not in ("minutes", "buffer_m"))
    if not isinstance(posts, Posts):
        raise DataError(f"posts must be the Posts of place_posts(plan, ...), got {type(posts).__name__}")
    _check_same_plan(plan, _grids_of(posts), "posts")
    if walk_m is not None:
        walk = float(walk_m)
    elif speed_m_per_min is None and minutes in LIFE_CIRCLES_M:
        walk = float(LIFE_CIRCLES_M[minutes])  # GB 50180-2018
    else:
        walk = float(minutes) * float(RESIDENT_WALK_M_PER_MIN if speed_m_per_min is None else speed_m_per_min)
    speed_m_per_min = walk / float(minutes)
    cov = posts.coverage(walk, speed_m_per_min=float(speed_m_per_min), include_stations=include_stations)
    net = posts._network
    assert net is not None  # posts.coverage above needs (and checks) the network
    pts = posts.posts if include_stations else posts.posts[posts.posts["kind"] == "post"]
    nodes = pts["node"].to_numpy(np.int64)
    d = net.shortest_path_lengths(nodes, cutoff=walk) if len(nodes) else np.zeros((0, net.n_nodes))
    e = net.edges
    npos = pd.Series(np.arange(net.n_nodes), index=net.nodes.index)
    u = npos.reindex(e["u"].to_numpy()).to_numpy(np.int64)
    v = npos.reindex(e["v"].to_numpy()).to_numpy(np.int64)
    length = e["length"].to_numpy(float)
    geoms = np.asarray(e.geometry.values)
    shapes = []
    for row in d:
        left_u, left_v = walk - row[u], walk - row[v]
        full = (left_u >= 0) & (left_v >= 0) & (left_u + left_v >= length)
        part_u = (left_u > 0) & ~full
        part_v = (left_v > 0) & ~full
        pieces = list(geoms[full])
        if part_u.any():
            pieces += _substrings(geoms[part_u], 0.0, np.minimum(left_u[part_u], length[part_u]))
        if part_v.any():
            pieces += _substrings(geoms[part_v], np.maximum(length[part_v] - left_v[part_v], 0.0), length[part_v])
        if pieces:
            shapes.append(shapely.union_all(shapely.buffer(np.asarray(pieces, dtype=object), float(buffer_m), quad_segs=4)))
        else:
            shapes.append(shapely.Point())
    iso = gpd.GeoDataFrame(
        {"kind": pts["kind"].to_numpy() if "kind" in pts else "post", "grid": pts["grid"].to_numpy()},
        geometry=shapes,
        index=pts.index,
        crs=net.crs,
    )
    return LifeCircle(cov, iso, float(minutes), float(speed_m_per_min))


def _substrings(lines: np.ndarray, start: Any, end: Any) -> list[Any]:
    """Parts of lines between distances ``start`` and ``end`` from their first vertex."""
    from shapely.ops import substring

    start = np.broadcast_to(np.asarray(start, dtype=float), lines.shape)
    end = np.broadcast_to(np.asarray(end, dtype=float), lines.shape)
    return [substring(g, float(a), float(b)) for g, a, b in zip(lines, start, end)]
