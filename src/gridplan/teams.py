"""Teams with territories: squads and stations that have a base and the communities or grids they serve.

Leshan set up **58 community city-management squads** (社区城管中队) and **37 sanitation stations**
(社区环卫工作站) in the communities of its central city and high-tech zone. A squad is not a point
placed for walking coverage: it is a team with a base and a territory it answers for.
:func:`place_teams` chooses ``n_teams`` bases among the territory units (communities by default,
or grids) and gives every unit to exactly one team, so that the teams' loads (residents by
default) are balanced within ``balance`` of the average and the load-weighted street distance from
every unit to its team's base is least: a capacitated p-median with single sourcing
(location-allocation; ReVelle & Swain 1970 with balance constraints), solved exactly with HiGHS
and reported with the same status / bound / gap as :func:`gridplan.posts.place_posts`.

Examples
--------
>>> import gridplan
>>> from gridplan.teams import place_teams
>>> district = gridplan.sample_district(seed=0)
>>> squads = place_teams(district, 4, balance=0.5, progress=False)
>>> squads.params["status"], len(squads.bases), int(squads.territory["team"].nunique())
('optimal', 4, 4)
>>> bool((squads.bases["load"] <= 1.5 * squads.params["average_load"] + 1e-6).all())
True
"""

from __future__ import annotations

import html
import math
import time
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
from .errors import DataError, InfeasibleError
from .network import StreetNetwork

if TYPE_CHECKING:  # pragma: no cover
    import folium
    from matplotlib.axes import Axes

    from .district import District
    from .grids import GridPlan

__all__ = ["Teams", "place_teams", "FULL_PAIRS"]

FULL_PAIRS = 40_000
"""Largest (unit x base) model solved over every pair; larger ones keep each unit's nearest bases
(at least 20 and 4 x units / teams), which the notes say (the proof is then for that restriction)."""
_SHOW = 8
_MAX_BALANCE = 1e6  # a load spread a million times the average is a typo, not a wish


def _units(source: Any, territory: Any, load: str) -> tuple[gpd.GeoDataFrame, Any, str]:
    """Territory units (code, name, load, geometry), the District (for streets), a description."""
    from .district import District
    from .grids import GridPlan

    district = source.district if isinstance(source, GridPlan) else source
    if isinstance(territory, gpd.GeoDataFrame):
        units = territory.copy()
        if "code" not in units.columns:
            raise DataError("territory units need a 'code' column")
        what = f"{len(units)} given units"
    elif territory in ("communities", "community"):
        if not isinstance(district, District) or len(district.communities) == 0:
            raise DataError(
                "territory='communities' needs a district with communities; pass territory='grids' "
                "with a plan, or a GeoDataFrame of units"
            )
        units = district.communities.copy()
        what = "communities"
    elif territory in ("grids", "grid"):
        if not isinstance(source, GridPlan):
            raise DataError("territory='grids' needs a GridPlan (from gridplan.grids.partition)")
        units = source.grids.copy()
        what = "grids"
    else:
        raise DataError(f"territory={territory!r}: use 'communities', 'grids' or a GeoDataFrame of polygons with 'code'")
    if len(units) == 0:
        raise DataError("there are no territory units")
    codes = units["code"].astype(str)
    if codes.duplicated().any():
        raise DataError(f"territory codes repeat: {sorted(set(codes[codes.duplicated()]))[:_SHOW]}")
    if not isinstance(district, District):
        raise DataError(f"place_teams needs a District or a GridPlan that knows its district, got {type(source).__name__}")
    if units.crs is None or not pyproj.CRS(units.crs).equals(district.crs):
        if units.crs is None:
            raise DataError("the territory units have no CRS; set it with gdf.set_crs(...)")
        units = units.to_crs(district.crs)
    if load in units.columns and load != "geometry":
        w = pd.to_numeric(units[load], errors="coerce").to_numpy(float)
    elif load == "population" and len(district.population):
        pop = district.population
        hit = gpd.sjoin(
            pop[["population", "geometry"]], units[["geometry"]].reset_index(drop=True), predicate="within", how="inner"
        )
        hit = hit[~hit.index.duplicated(keep="first")]
        w = np.bincount(hit["index_right"].to_numpy(np.int64), weights=hit["population"].to_numpy(float), minlength=len(units))
    elif load == "count":
        w = np.ones(len(units))
    else:
        raise DataError(f"load={load!r} is not a column of the units, 'population' (with population points) or 'count'")
    bad = ~np.isfinite(w) | (w < 0)
    if bad.any():
        raise DataError(f"loads of units {list(codes[bad][:_SHOW])} are negative or NaN; fix them")
    if w.sum() <= 0:
        raise DataError("every territory unit has load 0: nothing to balance")
    out = gpd.GeoDataFrame(
        {
            "code": codes.to_numpy(),
            "name": units["name"].astype(str).to_numpy() if "name" in units.columns else codes.to_numpy(),
            "load": w,
        },
        geometry=gpd.GeoSeries(units.geometry.values, crs=district.crs),
        crs=district.crs,
    )
    return out, district, what


class Teams:
    """Teams with a base and a territory, made by :func:`place_teams`.

    Attributes
    ----------
    bases : GeoDataFrame
        Index ``team`` (``T01``...): ``unit`` (code of the unit the base stands in), ``node`` (street
        node), ``units`` (how many it serves), ``load``, ``load_ratio`` (load / average),
        ``mean_distance_m`` (load-weighted, unit to base), ``max_distance_m``, ``parts`` (pieces of
        its territory: 1 when contiguous), geometry: the base point.
    territory : GeoDataFrame
        One row per unit, indexed by its code: ``name``, ``load``, ``team``, ``distance_m`` (its seat
        to the base along the streets), geometry (the unit).
    params : dict
        Every argument; ``status``, ``objective_value`` (sum of load x distance), ``bound``, ``gap``,
        ``seconds``, ``average_load``, ``load_min_ratio``, ``load_max_ratio``, ``pairs``.
    notes : list of str
    """

    def __init__(self, bases: gpd.GeoDataFrame, territory: gpd.GeoDataFrame, params: dict[str, Any], notes: list[str]) -> None:
        self.bases = bases
        self.territory = territory
        self.params = dict(params)
        self.notes = list(notes)

    @property
    def territories(self) -> gpd.GeoDataFrame:
        """One polygon per team: the union of its units."""
        t = self.territory.reset_index()
        out = t.dissolve(by="team", aggfunc={"load": "sum", "code": "count"}).rename(columns={"code": "units"})
        return out

    def summary(self) -> pd.Series:
        p = self.params
        b = self.bases
        return pd.Series(
            {
                "teams": len(b),
                "units": len(self.territory),
                "territory": p["territory"],
                "kind": p["kind"],
                "average_load": p["average_load"],
                "load_min_ratio": p["load_min_ratio"],
                "load_max_ratio": p["load_max_ratio"],
                "balance": p["balance"],
                "mean_distance_m": p["mean_distance_m"],
                "max_distance_m": float(b["max_distance_m"].max()),
                "contiguous_teams": int((b["parts"] == 1).sum()),
                "status": p["status"],
                "gap": p["gap"],
                "seconds": p["seconds"],
            },
            name="teams",
            dtype=object,
        )

    def __repr__(self) -> str:
        p = self.params
        return (
            f"<Teams {len(self.bases)} {p['kind']}s over {len(self.territory)} {p['territory']}: loads "
            f"{p['load_min_ratio']:.2f}-{p['load_max_ratio']:.2f} x average, mean distance "
            f"{p['mean_distance_m']:.0f} m, {p['status']}, gap {p['gap']:.2%}>"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in self.summary().items()
        )
        table = self.bases.drop(columns="geometry").round(2).to_html(max_rows=30)
        return f"<div><b>gridplan Teams</b><table>{rows}</table><details><summary>bases</summary>{table}</details></div>"

    def plot(self, ax: Axes | None = None, *, title: str | None = None, column: str = "team") -> Axes:
        """Map the territories (one colour per team) and the bases (black squares)."""
        from . import plot as gplot

        ax = gplot.axes(ax)
        t = self.territory
        if column == "team":
            t.plot(ax=ax, column="team", categorical=True, cmap="tab20", edgecolor="white", linewidth=0.3, alpha=0.8, zorder=1)
        else:
            t.plot(ax=ax, column=column, cmap="viridis", legend=True, edgecolor="white", linewidth=0.3, zorder=1)
        self.territories.boundary.plot(ax=ax, color="black", linewidth=0.9, zorder=2)
        self.bases.plot(ax=ax, marker="s", color="black", markersize=18, zorder=3)
        p = self.params
        gplot.finish(
            ax,
            title
            or f"{len(self.bases)} {p['kind']}s and their territories · loads "
            f"{p['load_min_ratio']:.2f}-{p['load_max_ratio']:.2f} x average",
            legend=[("territory", "black", "-")],
        )
        return ax

    def explore(self, **kwargs: Any) -> folium.Map:
        """Interactive folium map of the territories and bases (needs the ``[explore]`` extra)."""
        try:
            import folium  # noqa: F401
        except ImportError as exc:  # pragma: no cover
            raise ImportError("Teams.explore needs folium: pip install 'gridplan[explore]'") from exc
        m = self.territory.reset_index().explore(
            column="team", categorical=True, tooltip=["code", "name", "team", "load"], name="territory", **kwargs
        )
        return self.bases.reset_index().explore(m=m, color="black", marker_kwds={"radius": 5}, name="bases")

    def to_file(self, path: str | Path) -> Path:
        """Save bases, territory, parameters and notes to a GeoPackage (:meth:`read_file` reads it back)."""
        return _io.write_frames(
            path,
            "Teams",
            {"bases": self.bases, "territory": self.territory},
            {**self.params, "notes": self.notes, "crs": pyproj.CRS(self.bases.crs).to_wkt()},
        )

    @classmethod
    def read_file(cls, path: str | Path) -> Teams:
        frames, params = _io.read_frames(path, "Teams")
        crs = pyproj.CRS.from_wkt(params.pop("crs"))
        notes = params.pop("notes")
        return cls(
            frames["bases"].set_crs(crs, allow_override=True),
            frames["territory"].set_crs(crs, allow_override=True),
            params,
            notes,
        )


def _seats(units: gpd.GeoDataFrame, net: StreetNetwork) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's seat: the street node nearest a point inside it (and that distance)."""
    pts = shapely.point_on_surface(np.asarray(units.geometry.values))
    xy = shapely.get_coordinates(pts)
    node, snap = net.nearest_nodes(xy[:, 0], xy[:, 1], return_dist=True)
    return np.asarray(node, np.int64), np.asarray(snap, float)


def place_teams(
    source: District | GridPlan,
    n_teams: int,
    *,
    territory: str | gpd.GeoDataFrame = "communities",
    load: str = "population",
    balance: float = 0.25,
    kind: str = "team",
    time_limit: float | None = 120.0,
    mip_gap: float = 1e-4,
    progress: bool = True,
) -> Teams:
    """Choose ``n_teams`` bases and give every territory unit to one team, with balanced loads.

    Parameters
    ----------
    source : District or GridPlan
        Where the units and streets come from.
    n_teams : int
        Teams (Leshan: 58 squads, or 37 sanitation stations).
    territory : {"communities", "grids"} or GeoDataFrame
        The units teams answer for: the district's communities (default), the plan's grids, or
        polygons with a ``code`` (and ``name``) column.
    load : str
        What is balanced: ``"population"`` (residents inside each unit, from the population
        points), a column of the units, or ``"count"`` (every unit 1).
    balance : float, default 0.25
        Every team's load lies within ``[1 - balance, 1 + balance]`` times the average.
    kind : str
        What a team is called in the output ("squad", "station").
    time_limit : float, optional
        Seconds for HiGHS; a result not proven within ``mip_gap`` says so in ``params["status"]``.
    mip_gap : float
        Relative gap at which HiGHS stops.
    progress : bool
        Kept for symmetry with :func:`~gridplan.posts.place_posts` (the model is built in one step).

    Returns
    -------
    Teams

    Raises
    ------
    InfeasibleError
        More teams than units, a unit heavier than ``1 + balance`` times the average (named, with
        the fix), or no balanced assignment (raise ``balance``).
    DataError
        Bad options or units.

    Notes
    -----
    Every unit has a *seat*: the street node nearest a point inside it. A base stands at the seat
    of one of the units, and serves that unit. Binary y_j (a base at unit j), binary x_ij (unit i
    served from j): minimise sum_ij L_i d_ij x_ij with sum_j x_ij = 1, x_ij <= y_j, x_jj = y_j,
    sum_j y_j = n_teams and (1 - balance) A y_j <= sum_i L_i x_ij <= (1 + balance) A y_j (A the
    average load). d_ij is the street distance between the seats. Contiguity of a territory is
    not imposed; ``bases["parts"]`` reports it.
    """
    t0 = time.perf_counter()
    _validate.integer(n_teams, "n_teams", minimum=1)
    _validate.number(balance, "balance (e.g. 0.25 for loads within 25 % of the average)", minimum=0, below=_MAX_BALANCE)
    _validate.number(time_limit, "time_limit (seconds, or None)", above=0, allow_none=True, allow_inf=True)
    _validate.number(mip_gap, "mip_gap", minimum=0, below=1)
    units, district, what = _units(source, territory, load)
    p, n = int(n_teams), len(units)
    if p > n:
        raise InfeasibleError(
            f"{p} teams for {n} {what}: every team needs a unit to stand in; ask for at most {n} "
            "teams or use smaller units (territory='grids' on a finer plan)"
        )
    notes: list[str] = []
    L = units["load"].to_numpy(float)
    avg = float(L.sum()) / p
    hi_cap, lo_cap = (1 + float(balance)) * avg, (1 - float(balance)) * avg
    heavy = np.flatnonzero(L > hi_cap + 1e-9)
    if len(heavy):
        names = [f"{units['code'].iat[i]} ({L[i]:,.0f})" for i in heavy[:_SHOW]]
        need = float(L.max()) / avg - 1
        raise InfeasibleError(
            f"{len(heavy)} {what} are heavier on their own than a team may be ({hi_cap:,.0f} = "
            f"(1 + balance={balance:g}) x average {avg:,.0f}): {', '.join(names)}; raise balance to at "
            f"least {need:.2f}, use fewer teams or split those units (territory='grids')"
        )
    net = district.network
    seat, snap = _seats(units, net)
    uniq, inv = np.unique(seat, return_inverse=True)
    dn = csgraph.dijkstra(net.to_sparse(), directed=False, indices=uniq)[:, seat]  # (unique seats, units)
    D = dn[inv]  # (units as bases j, units i): street distance seat_j -> seat_i
    D = D.T  # (i, j)
    if n * n <= FULL_PAIRS:
        allowed = np.isfinite(D)
    else:
        k = min(n, max(20, int(math.ceil(4 * n / p))))
        order = np.argsort(np.where(np.isfinite(D), D, np.inf), axis=1)[:, :k]
        allowed = np.zeros((n, n), bool)
        allowed[np.arange(n)[:, None], order] = True
        allowed &= np.isfinite(D)
        notes.append(
            f"{n} units: each may be served from its {k} nearest bases only (FULL_PAIRS={FULL_PAIRS:,}); "
            "the optimum is proven for that restriction"
        )
    np.fill_diagonal(allowed, True)
    ii, jj = np.nonzero(allowed)
    P = len(ii)
    nv = n + P
    xi = n + np.arange(P)
    cost = np.r_[np.zeros(n), L[ii] * np.where(np.isfinite(D[ii, jj]), D[ii, jj], 0.0)]
    cons = [
        LinearConstraint(sparse.csr_matrix((np.ones(P), (ii, xi)), shape=(n, nv)), 1, 1),  # one team per unit
        LinearConstraint(
            sparse.csr_matrix(
                (np.r_[np.ones(P), -np.ones(P)], (np.r_[np.arange(P), np.arange(P)], np.r_[xi, jj])), shape=(P, nv)
            ),
            -np.inf,
            0,
        ),
        LinearConstraint(sparse.csr_matrix(np.r_[np.ones(n), np.zeros(P)][None, :]), p, p),
        LinearConstraint(
            sparse.csr_matrix(
                (np.r_[L[ii], -hi_cap * np.ones(n)], (np.r_[jj, np.arange(n)], np.r_[xi, np.arange(n)])), shape=(n, nv)
            ),
            -np.inf,
            0,
        ),
        LinearConstraint(
            sparse.csr_matrix(
                (np.r_[L[ii], -lo_cap * np.ones(n)], (np.r_[jj, np.arange(n)], np.r_[xi, np.arange(n)])), shape=(n, nv)
            ),
            0,
            np.inf,
        ),
    ]
    diag = np.flatnonzero(ii == jj)
    cons.append(
        LinearConstraint(
            sparse.csr_matrix(
                (
                    np.r_[np.ones(len(diag)), -np.ones(len(diag))],
                    (np.r_[np.arange(len(diag)), np.arange(len(diag))], np.r_[xi[diag], jj[diag]]),
                ),
                shape=(len(diag), nv),
            ),
            0,
            0,
        )
    )
    opts: dict[str, Any] = {"disp": False, "mip_rel_gap": max(float(mip_gap), 1e-12)}
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    res = milp(cost, constraints=cons, integrality=np.ones(nv), bounds=Bounds(0, 1), options=opts)
    from .posts import _final_status, _gap, _status

    raw = _status(res)
    if res.x is None:
        if raw == "infeasible":
            raise InfeasibleError(
                f"no assignment of the {n} {what} to {p} teams keeps every load within "
                f"{balance:.0%} of the average ({avg:,.0f}); raise balance or change n_teams"
            )
        raise InfeasibleError(f"HiGHS found no assignment within time_limit={time_limit} s ({raw}); raise time_limit")
    x = res.x[n:] > 0.5
    team_of = np.full(n, -1)
    team_of[ii[x]] = jj[x]
    value = float(cost[n:][x].sum())
    dual = getattr(res, "mip_dual_bound", None)
    bound = float(dual) if dual is not None and np.isfinite(dual) else (value if raw == "optimal" else 0.0)
    bound = min(bound, value)
    gap = _gap(value, bound, False) if value > 0 else 0.0
    status = _final_status(raw, "exact", gap, float(mip_gap))

    # ------------------------------------------------------------------ tables
    base_units = np.flatnonzero(res.x[:n] > 0.5)
    ids = {j: f"T{r + 1:02d}" for r, j in enumerate(sorted(base_units, key=lambda j: units["code"].iat[j]))}
    dist = D[np.arange(n), team_of]
    terr = units.assign(team=[ids[j] for j in team_of], distance_m=dist).set_index("code")
    terr = terr[["name", "load", "team", "distance_m", "geometry"]]
    xy = net.nodes[["x", "y"]].to_numpy(float)
    rows = []
    for j in sorted(base_units, key=lambda j: ids[j]):
        mine = team_of == j
        w = L[mine]
        parts = shapely.union_all(np.asarray(units.geometry.values)[mine])
        n_parts = len(getattr(parts, "geoms", [parts])) if parts.geom_type.startswith("Multi") else 1
        rows.append(
            {
                "team": ids[j],
                "kind": kind,
                "unit": units["code"].iat[j],
                "node": int(seat[j]),
                "units": int(mine.sum()),
                "load": float(w.sum()),
                "load_ratio": float(w.sum() / avg),
                "mean_distance_m": float(np.average(dist[mine], weights=w)) if w.sum() > 0 else 0.0,
                "max_distance_m": float(dist[mine].max()),
                "parts": n_parts,
                "geometry": shapely.Point(xy[seat[j]]),
            }
        )
    bases = gpd.GeoDataFrame(rows, geometry="geometry", crs=district.crs).set_index("team")
    if (bases["parts"] > 1).any():
        notes.append(
            f"{int((bases['parts'] > 1).sum())} teams' territories are in more than one piece (contiguity is not imposed)"
        )
    params = {
        "n_teams": p,
        "territory": what,
        "load": load,
        "balance": float(balance),
        "kind": kind,
        "time_limit": time_limit,
        "mip_gap": float(mip_gap),
        "status": status,
        "objective_value": value,
        "bound": bound,
        "gap": gap,
        "average_load": avg,
        "load_min_ratio": float(bases["load_ratio"].min()),
        "load_max_ratio": float(bases["load_ratio"].max()),
        "mean_distance_m": float(np.average(dist, weights=L)) if L.sum() > 0 else 0.0,
        "pairs": int(P),
        "units": n,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    notes.append(
        f"{p} {kind}s over {n} {what}: loads {params['load_min_ratio']:.2f}-{params['load_max_ratio']:.2f} x "
        f"the average {avg:,.0f} {load}; HiGHS {raw}, gap {gap:.2%}"
    )
    return Teams(bases, terr, params, notes)
