"""Balanced road-chief patrols: the min-max k Chinese (rural) postman problem.

Under the road-chief system (路长制) every street has one responsible chief who sweeps
it end to end; the longest patrol decides how often a street is seen, so the patrols
must be balanced. :func:`balance_routes` finds k closed walks from a depot that
together traverse every (required) street edge at least once and makes the longest
one as short as it can:

* on a whole network (a :class:`~gridplan.network.StreetNetwork`, a networkx graph or
  a GeoDataFrame of lines) with ``n_routes`` chiefs, or
* per grid, on a :class:`~gridplan.grids.GridPlan`: every grid's streets (cut where they
  cross grid lines; a street along a grid line goes to the grid it keeps connected, see
  ``gridplan._grid_streets``) are split among ``chiefs_per_grid`` chiefs from the grid's
  post or centre, travelling through the shortest streets outside the grid between pieces
  that do not touch. Grids are independent problems and may run on a dask.distributed
  client (``client=``) with identical results.

The algorithm (route first, cluster second with an exact min-max split of many random
postman tours, then local search and ruin-and-recreate on the routes; see
``gridplan._routing``) is deterministic for a seed. Every result carries a lower bound
(the larger of the optimal postman tour over k and the farthest depot-edge-depot
cycle), so the gap to the optimum is bounded by :attr:`RoutePlan.gap`.

Examples
--------
>>> import networkx as nx
>>> from gridplan.routes import balance_routes
>>> g = nx.grid_2d_graph(4, 4)                      # 24 street edges of 100 m
>>> nx.set_edge_attributes(g, 100.0, "length")
>>> plan = balance_routes(g, 3, depot=(0, 0), seed=0)
>>> plan.n_routes, bool(plan.max_length >= plan.lower_bound)
(3, True)
"""

from __future__ import annotations

import json
import numbers
import warnings
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from . import _grid_streets as _grid_streets_mod
from . import _io, _mixed, _routing, _validate
from ._speeds import PATROL_WALK_M_PER_MIN
from .errors import DataError, GridplanWarning, NetworkError
from .network import StreetNetwork

if TYPE_CHECKING:  # pragma: no cover
    import folium
    from matplotlib.axes import Axes

    from .district import District
    from .grids import GridPlan
    from .posts import Posts
    from .typing import DaskClient, PointLike

__all__ = ["RoutePlan", "balance_routes", "WALKING_SPEED_M_PER_MIN"]

WALKING_SPEED_M_PER_MIN = PATROL_WALK_M_PER_MIN
"""Default patrol speed: an inspecting walk of 3.6 km/h (:data:`gridplan._speeds.PATROL_WALK_M_PER_MIN`;
slower than a resident's :data:`~gridplan._speeds.RESIDENT_WALK_M_PER_MIN`)."""


# --------------------------------------------------------------------------- inputs
@dataclass
class _Net:
    """A network as arrays: nodes 0..n-1, edges (u, v, w) with labels and optional geometry."""

    n: int
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    edge_ids: pd.Index
    node_labels: np.ndarray
    xy: np.ndarray | None
    geoms: np.ndarray | None
    street: np.ndarray
    crs: pyproj.CRS | None
    network: StreetNetwork | None
    grid: np.ndarray | None = None  # per edge: grid position (per-grid mode), -1 travel only
    component: np.ndarray | None = None  # per node: connected component (computed once, on first use)
    name: np.ndarray | None = None  # per edge: the street's name ("name", else "road_name"), when the data has one
    oneway: np.ndarray | None = None  # per edge: 0 two-way, 1 one way u -> v, -1 one way v -> u (see _oneway)


def _names_along(names: np.ndarray, walk: list[tuple[int, int, int]], served: np.ndarray) -> str:
    """The named streets a chief serves, in the order first walked, joined by "; "."""
    mine = set(served.tolist())
    out = dict.fromkeys(str(names[e]) for e, _, _ in walk if e in mine and names[e])
    return "; ".join(out)


def _from_street_network(net: StreetNetwork, weight: str) -> _Net:
    e = net.edges
    if weight not in e.columns:
        raise DataError(f"weight={weight!r} is not an edge column; the network has {list(e.columns)}")
    return _Net(
        n=net.n_nodes,
        u=e["u"].to_numpy(np.int64),
        v=e["v"].to_numpy(np.int64),
        w=pd.to_numeric(e[weight], errors="coerce").to_numpy(float),
        edge_ids=e.index,
        node_labels=_object_array(list(range(net.n_nodes))),  # plain ints in walks, params and notes
        xy=net.nodes[["x", "y"]].to_numpy(float),
        geoms=np.asarray(e.geometry.values),
        street=e["street"].to_numpy(object) if "street" in e.columns else e.index.to_numpy(object),
        crs=net.crs,
        network=net,
        name=_street_names(e),
        oneway=_oneway(e),
    )


NAME_COLUMNS = ("name", "road_name")
"""Edge columns holding a street's name, first found wins (OpenStreetMap ``name``, the Chang'an ``road_name``)."""
_ONEWAY_TRUE = {"yes", "true", "1", "t", "y"}
_ONEWAY_FALSE = {"no", "false", "0", "f", "n", "", "nan", "none", "<na>"}


def _street_names(e: pd.DataFrame) -> np.ndarray | None:
    for col in NAME_COLUMNS:
        if col in e.columns:
            names = e[col].astype("string").fillna("").to_numpy(object)
            if any(names):
                return names
    return None


def _oneway(e: pd.DataFrame) -> np.ndarray:
    """Direction of every edge: 0 two-way, 1 one way as drawn (u -> v), -1 one way against it.

    From ``oneway`` (True/False, OSM ``yes``/``no``/``1``/``-1``) or, without it, ``dir``
    (1 as drawn, 0 two-way, -1 against, as in the Chang'an data). Edges keep the drawing
    direction of their street (``u`` is the start of the line). Unreadable values raise.
    """
    out = np.zeros(len(e), dtype=np.int64)
    if "oneway" in e.columns:
        raw = e["oneway"].astype("string").str.strip().str.lower().fillna("")
        known = raw.isin(_ONEWAY_TRUE | _ONEWAY_FALSE | {"-1", "reverse"})
        if not known.all():
            i = e.index[~known.to_numpy()][0]
            raise DataError(f"edge {i!r} has oneway={e.loc[i, 'oneway']!r}; use True/False, yes/no, 1/0 or -1")
        out[raw.isin(_ONEWAY_TRUE).to_numpy()] = 1
        out[raw.isin({"-1", "reverse"}).to_numpy()] = -1
    elif "dir" in e.columns:
        d = pd.to_numeric(e["dir"], errors="coerce")
        bad = ~d.isin([0, 1, -1]) & e["dir"].notna()
        if bad.any():
            i = e.index[bad.to_numpy()][0]
            raise DataError(f"edge {i!r} has dir={e.loc[i, 'dir']!r}; use 1 (one way as drawn), 0 (two-way) or -1")
        out[:] = d.fillna(0).to_numpy(np.int64)
    return out


def _from_networkx(g: nx.Graph, weight: str) -> _Net:
    nodes = list(g.nodes)
    pos = {x: i for i, x in enumerate(nodes)}
    if g.is_directed():
        raise DataError("the patrol network must be undirected (streets are walked both ways); pass g.to_undirected()")
    if g.is_multigraph():
        data = list(g.edges(keys=True, data=True))
        ids = pd.Index([(a, b, k) for a, b, k, _ in data], name="edge", tupleize_cols=False)
        attrs = [d for *_, d in data]
    else:
        data = list(g.edges(data=True))
        ids = pd.Index([(a, b) for a, b, _ in data], name="edge", tupleize_cols=False)
        attrs = [d for *_, d in data]
    missing = [i for i, d in zip(ids, attrs) if weight not in d]
    if missing:
        raise DataError(f"{len(missing)} edges have no {weight!r} attribute (e.g. {missing[:3]}); give every edge a length")
    xy = None
    if nodes and all("x" in g.nodes[x] and "y" in g.nodes[x] for x in nodes):
        xy = np.array([[g.nodes[x]["x"], g.nodes[x]["y"]] for x in nodes], dtype=float)
    geoms = None
    if attrs and all(isinstance(d.get("geometry"), shapely.LineString) for d in attrs):
        geoms = np.array([d["geometry"] for d in attrs], dtype=object)
    elif xy is not None:
        geoms = shapely.linestrings(np.stack([xy[[pos[a] for a, *_ in data]], xy[[pos[b] for _, b, *_ in data]]], axis=1))
    crs = g.graph.get("crs")
    return _Net(
        n=len(nodes),
        u=np.array([pos[a] for a, *_ in data], dtype=np.int64),
        v=np.array([pos[b] for _, b, *_ in data], dtype=np.int64),
        w=np.array([_as_float(d[weight]) for d in attrs], dtype=float),
        edge_ids=ids,
        node_labels=_object_array(nodes),
        xy=xy,
        geoms=geoms,
        street=_object_array([d.get("street", i) for i, d in zip(ids, attrs)]),
        crs=pyproj.CRS(crs) if crs is not None else None,
        network=None,
    )


def _object_array(values: list[Any]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _as_float(x: Any) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return float("nan")


def _as_net(network: Any, weight: str, notes: list[str]) -> _Net:
    if isinstance(network, StreetNetwork):
        return _from_street_network(network, weight)
    if (
        hasattr(network, "network")
        and isinstance(getattr(network, "network", None), StreetNetwork)
        and hasattr(network, "streets")
    ):
        return _from_street_network(network.network, weight)  # a District
    if isinstance(network, nx.Graph):
        return _from_networkx(network, weight)
    if isinstance(network, gpd.GeoDataFrame):
        net = StreetNetwork.from_lines(network)
        notes.append(f"built a street network from {len(network)} lines: {net.n_nodes} nodes, {net.n_edges} edges")
        return _from_street_network(net, weight)
    raise DataError(
        f"network must be a StreetNetwork, a District, a networkx graph or a GeoDataFrame of lines, "
        f"got {type(network).__name__}; for per-grid patrols pass a GridPlan"
    )


def _check_weights(net: _Net) -> None:
    bad = ~np.isfinite(net.w) | (net.w < 0)
    if bad.any():
        ex = [net.edge_ids[i] for i in np.flatnonzero(bad)[:5]]
        raise DataError(
            f"{int(bad.sum())} edges have a negative, NaN or infinite length (e.g. edges {ex}); fix or drop them before routing"
        )


_MAX_CHIEFS = 10_000  # more chiefs than this on one network is a typo, and would only make empty walks


def _check_k(k: Any, what: str) -> int:
    return _validate.integer(k, f"{what} (chiefs)", minimum=1, maximum=_MAX_CHIEFS)


def _required_mask(net: _Net, required: Any) -> np.ndarray:
    if required is None:
        return np.ones(len(net.u), bool)
    if isinstance(required, str):
        if net.network is not None and required in net.network.edges.columns:
            col = net.network.edges[required]
        else:
            raise DataError(f"required={required!r} is not an edge attribute of the network")
        return col.fillna(False).astype(bool).to_numpy()
    if isinstance(required, (np.ndarray, pd.Series)) and np.asarray(required).dtype == bool:
        mask = np.asarray(required, dtype=bool)
        if len(mask) != len(net.u):
            raise DataError(f"a boolean required= needs one value per edge ({len(net.u)}), got {len(mask)}")
        return mask
    wanted = list(required)
    hit = net.edge_ids.get_indexer(wanted)
    if (hit < 0).any():
        raise DataError(f"required edges not in the network: {[x for x, h in zip(wanted, hit) if h < 0][:5]}")
    mask = np.zeros(len(net.u), bool)
    mask[hit] = True
    return mask


def _components(net: _Net) -> np.ndarray:
    """Connected component of every node (once per network: per grid it is asked for every grid)."""
    if net.component is None:
        adj = sparse.coo_matrix((np.ones(len(net.u)), (net.u, net.v)), shape=(net.n, net.n))
        net.component = csgraph.connected_components(adj, directed=False)[1]
    return net.component


def _resolve_depot(net: _Net, depot: Any, mask: np.ndarray, *, snap: bool, notes: list[str]) -> int:
    """Node index of the depot (snapping a point to the nearest node)."""
    if depot is None:
        ends = np.unique(np.r_[net.u[mask], net.v[mask]])
        if net.xy is None or not len(ends):
            node = int(ends[0]) if len(ends) else 0
            notes.append(f"depot: none given, used node {net.node_labels[node]!r} (the first node of the required edges)")
            return node
        # the required streets' node nearest their length-weighted centre
        mid = (net.xy[net.u[mask]] + net.xy[net.v[mask]]) / 2
        centre = np.average(mid, axis=0, weights=np.maximum(net.w[mask], 1e-9))
        node = int(ends[np.argmin(np.hypot(*(net.xy[ends] - centre).T))])
        notes.append(f"depot: none given, used node {net.node_labels[node]!r}, the street node nearest the streets' centre")
        return node
    try:
        hit = (
            np.flatnonzero([x == depot for x in net.node_labels])
            if net.node_labels.dtype == object
            else np.flatnonzero(net.node_labels == depot)
        )
    except (TypeError, ValueError):
        hit = np.zeros(0, dtype=np.int64)
    if len(hit):  # a node of the network (node labels may themselves be (x, y) tuples)
        return int(hit[0])
    if isinstance(depot, shapely.Point) or (
        isinstance(depot, (tuple, list)) and len(depot) == 2 and all(isinstance(c, numbers.Real) for c in depot)
    ):
        if net.xy is None:
            raise DataError("a depot point needs node coordinates; pass a node of the network instead")
        x, y = (depot.x, depot.y) if isinstance(depot, shapely.Point) else depot
        if not (np.isfinite(x) and np.isfinite(y)):
            raise DataError(f"the depot point has NaN or infinite coordinates: {(x, y)}")
        d = np.hypot(net.xy[:, 0] - x, net.xy[:, 1] - y)
        node = int(np.argmin(d))
        if d.min() > 1e-6:
            if not snap:
                raise DataError(
                    f"the depot ({x:.1f}, {y:.1f}) is {d.min():.1f} m from the nearest node; "
                    "move it onto a node or pass snap=True"
                )
            notes.append(f"depot: snapped ({x:.1f}, {y:.1f}) to node {net.node_labels[node]!r}, {d.min():.1f} m away")
        return node
    raise DataError(f"depot {depot!r} is not a node of the network; pass a node id or a point (x, y) to snap")


def _restrict_component(net: _Net, mask: np.ndarray, depot: int, components: str, notes: list[str]) -> np.ndarray:
    """Required edges reachable from the depot; the rest raise or are reported as left out."""
    comp = _components(net)
    req_comp = comp[net.u[mask]]
    comps = np.unique(np.r_[req_comp, comp[depot]])
    if len(comps) <= 1:
        return mask
    lengths = pd.Series(net.w[mask]).groupby(req_comp).sum().reindex(comps, fill_value=0.0)
    desc = ", ".join(
        f"component {int(c)}: {int((req_comp == c).sum())} edges / {lengths[c] / 1000:.2f} km"
        + (" (depot)" if c == comp[depot] else "")
        for c in comps[:6]
    )
    if components != "largest":
        raise NetworkError(
            f"the streets to patrol lie in {len(comps)} disconnected parts of the network ({desc}); no walk from "
            "the depot can reach them all. Connect the network (StreetNetwork.from_lines with a larger "
            "snap_tolerance, or add the missing links), or pass components='largest' to patrol only the "
            "depot's part and report the rest"
        )
    keep = mask & (comp[net.u] == comp[depot])
    lost = mask & ~keep
    notes.append(
        f"components='largest': {int(lost.sum())} edges ({net.w[lost].sum() / 1000:.2f} km) are not reachable "
        f"from the depot and are left out ({desc})"
    )
    return keep


# --------------------------------------------------------------------------- the plan
class RoutePlan:
    """Closed patrol walks of road chiefs, with their lengths and a lower bound.

    Made by :func:`balance_routes`.

    Attributes
    ----------
    walks : list of list
        For every route, the node sequence of its closed walk (first and last node the depot).
    walk_edges : list of list
        For every route, the edge ids it walks, in order (parallel edges are told apart here).
    lengths : pandas.Series
        Walk length (in the network's weight unit, metres for street networks) by chief.
    lower_bound : float
        No set of walks can have a shorter longest walk: the largest, over the routed
        problems (the network, or every grid), of max(postman tour / k, farthest
        depot-edge-depot cycle), rounded up when all lengths are whole numbers.
    routes : GeoDataFrame
        One row per route: ``route``, ``chief``, ``grid``, ``depot``, ``length``, ``served``,
        ``deadhead``, ``deadhead_share``, ``n_edges``, ``n_streets``, geometry (the walk).
    edges : GeoDataFrame or DataFrame
        Every edge of the routed network: ``u``, ``v``, ``length``, ``street``, ``grid``, ``required``,
        ``chief`` (the chief who sweeps it; None for travel-only edges), ``route``, geometry.
    per_grid : DataFrame or None
        Per-grid mode: one row per grid with ``chiefs``, ``streets_km``, ``max_length``,
        ``lower_bound``, ``gap``, ``pieces`` (parts of the grid's streets that do not touch),
        ``connect_km`` (the shortest connections joining them), ``deadhead_share``,
        ``unreachable_km`` and ``unreachable_edges`` (streets no walk from the depot reaches),
        ``depot``, ``stopped_by``.
    network : StreetNetwork or None
        The routed network (per grid: the streets cut at the grid lines); its edge ids are
        the index of :attr:`edges`, as :class:`gridplan.locate.GridIndex` ``routes=`` needs.
    params, notes
        What made the plan and what was done on the way.
    """

    def __init__(
        self,
        *,
        net: _Net,
        walks: list[list[tuple[int, int, int]]],
        chiefs: Sequence[str],
        grids: Sequence[str | None],
        depots: Sequence[int],
        served: list[np.ndarray],
        required: np.ndarray,
        lower_bound: float,
        per_grid: pd.DataFrame | None,
        params: dict[str, Any],
        notes: list[str],
    ) -> None:
        self._net = net
        self.network = net.network
        self.params = dict(params)
        self.notes = list(notes)
        self.per_grid = per_grid
        self.walk_edges = [[net.edge_ids[e] for e, _, _ in wk] for wk in walks]
        self.walks = [[net.node_labels[d]] + [net.node_labels[b] for _, _, b in wk] for wk, d in zip(walks, depots)]
        lengths = np.array([float(net.w[[e for e, _, _ in wk]].sum()) for wk in walks])
        self.lengths = pd.Series(lengths, index=pd.Index(list(chiefs), name="chief"), name="length")
        self.lower_bound = float(lower_bound)
        owner = np.full(len(net.u), -1)
        for i, s in enumerate(served):
            owner[s] = i
        if (owner[required] < 0).any():  # the kernel guarantees this; never hand out a plan that misses a street
            raise RuntimeError("internal error: a required edge was not served")
        chief_arr = np.asarray(list(chiefs), dtype=object)
        rows = []
        for i, wk in enumerate(walks):
            ids = np.array([e for e, _, _ in wk], dtype=np.int64)
            served_len = float(net.w[served[i]].sum())
            geom = None
            if net.geoms is not None and len(ids):
                geom = shapely.multilinestrings(list(net.geoms[np.unique(ids)]))
            rows.append(
                {
                    "route": i,
                    "chief": chief_arr[i],
                    "grid": grids[i],
                    "depot": net.node_labels[depots[i]],
                    "length": lengths[i],
                    "served": served_len,
                    "deadhead": lengths[i] - served_len,
                    "deadhead_share": (lengths[i] - served_len) / lengths[i] if lengths[i] > 0 else 0.0,
                    "n_edges": len(served[i]),
                    "n_streets": len(set(net.street[served[i]].tolist())),
                    **({"names": _names_along(net.name, wk, served[i])} if net.name is not None else {}),
                    "geometry": geom,
                }
            )
        table = pd.DataFrame(rows)
        edges = pd.DataFrame(
            {
                "u": net.node_labels[net.u],
                "v": net.node_labels[net.v],
                "length": net.w,
                "street": net.street,
                "required": required,
                "route": owner,
                "chief": pd.array(
                    np.where(owner >= 0, chief_arr[np.maximum(owner, 0)] if len(chief_arr) else None, None), dtype="string"
                ),
            },
            index=net.edge_ids,
        )
        if net.grid is not None:
            edges.insert(4, "grid", net.grid)
        if net.name is not None:
            edges.insert(edges.columns.get_loc("street") + 1, "name", net.name)
        if net.geoms is not None:
            self.routes = gpd.GeoDataFrame(table, geometry="geometry", crs=net.crs)
            self.edges = gpd.GeoDataFrame(edges, geometry=gpd.GeoSeries(net.geoms, index=net.edge_ids), crs=net.crs)
        else:
            self.routes = table.drop(columns="geometry")
            self.edges = edges

    # ------------------------------------------------------------------ facts
    @property
    def n_routes(self) -> int:
        return len(self.lengths)

    @property
    def max_length(self) -> float:
        """Length of the longest walk."""
        return float(self.lengths.max()) if len(self.lengths) else 0.0

    @property
    def gap(self) -> float:
        """``max_length / lower_bound - 1``: how far from optimal the plan can at most be."""
        return self.max_length / self.lower_bound - 1 if self.lower_bound > 0 else 0.0

    @property
    def crs(self) -> pyproj.CRS | None:
        return self._net.crs

    def summary(self) -> pd.Series:
        """Routes, longest and shortest walk, lower bound, gap, deadhead, time."""
        L = self.lengths
        tot = float(L.sum())
        served = float(self.routes["served"].sum())
        return pd.Series(
            {
                "routes": self.n_routes,
                "grids": int(self.per_grid.shape[0]) if self.per_grid is not None else None,
                "max_length_m": self.max_length,
                "min_length_m": float(L.min()) if len(L) else 0.0,
                "balance": float(L.max() / L.mean()) if len(L) and L.mean() > 0 else 1.0,
                "lower_bound_m": self.lower_bound,
                "gap": self.gap,
                "streets_km": served / 1000,
                "walked_km": tot / 1000,
                "deadhead_share": (tot - served) / tot if tot > 0 else 0.0,
                "seconds": self.params.get("seconds"),
            },
            name="routes",
        )

    def frequency(self, *, speed_m_per_min: float = WALKING_SPEED_M_PER_MIN, shift_hours: float = 8.0) -> pd.DataFrame:
        """How often each chief sweeps their streets in a shift.

        Parameters
        ----------
        speed_m_per_min : float
            Patrol speed (default 60 m/min, an inspecting walk; e-bike patrols ~200).
        shift_hours : float
            Length of a shift (default 8 h, one of the early/middle/late shifts).

        Returns
        -------
        pandas.DataFrame
            One row per chief: ``length``, ``sweep_min`` (minutes for one full walk),
            ``sweeps_per_shift`` (full walks that fit in a shift, fractional), and
            ``revisit_min``: the longest time a street of that chief waits between two
            passes when the walk is repeated (one sweep; a whole shift when the walk is
            longer than the shift, and then some streets are not reached every shift).
        """
        speed_m_per_min = _validate.number(speed_m_per_min, "speed_m_per_min", above=0)
        shift_hours = _validate.number(shift_hours, "shift_hours", above=0)
        sweep = self.lengths / speed_m_per_min
        shift = shift_hours * 60.0
        out = pd.DataFrame(
            {
                "length": self.lengths,
                "sweep_min": sweep,
                "sweeps_per_shift": np.where(sweep > 0, shift / np.maximum(sweep, 1e-12), np.inf),
                "revisit_min": sweep,
            }
        )
        out["reaches_all_streets_each_shift"] = sweep <= shift
        return out

    def revisit_interval(self, *, speed_m_per_min: float = WALKING_SPEED_M_PER_MIN) -> pd.Series:
        """Minutes between two passes of every required street edge (its chief's sweep time), by edge id.

        Travel-only edges (not required) get NaN. The simulator uses this for how long a
        problem on a street stays unseen by patrols.
        """
        sweep = self.frequency(speed_m_per_min=speed_m_per_min)["sweep_min"]
        chief = self.edges["chief"]
        return pd.Series(sweep.reindex(chief.astype(object)).to_numpy(float), index=self.edges.index, name="revisit_min")

    def __repr__(self) -> str:
        s = self.summary()
        scope = f"{self.per_grid.shape[0]} grids, " if self.per_grid is not None else ""
        return (
            f"<RoutePlan: {scope}{self.n_routes} routes, longest {s['max_length_m'] / 1000:.2f} km, "
            f"lower bound {s['lower_bound_m'] / 1000:.2f} km, gap {s['gap']:.1%}>"
        )

    def _repr_html_(self) -> str:
        s = self.summary().to_frame().to_html(float_format=lambda x: f"{x:,.3f}")
        r = self.routes.drop(columns="geometry", errors="ignore").to_html(
            index=False, float_format=lambda x: f"{x:,.1f}", max_rows=30
        )
        return f"<div><b>{self.__repr__()[1:-1]}</b>{s}{r}</div>"

    # ------------------------------------------------------------------ display & export
    def plot(
        self,
        ax: Axes | None = None,
        *,
        deadhead: bool = True,
        grids: GridPlan | gpd.GeoDataFrame | None = None,
        title: str | None = None,
    ) -> Axes:
        """Map of the patrols: every street coloured by its chief, deadhead walking dashed.

        Up to 20 chiefs each get their own colour and legend entry; with more, per-grid patrols are
        coloured by grid (the grid's chiefs in shades of its colour), one legend entry per grid
        naming its chiefs. The legend sits beside the map when long.
        """
        from . import plot as _plot

        if not isinstance(self.edges, gpd.GeoDataFrame):
            raise DataError("the network has no geometry to draw; use plan.routes and plan.edges as tables")
        e = self.edges
        ax = _plot.axes(ax, bounds=e.total_bounds)
        if grids is not None:
            frame = grids if isinstance(grids, gpd.GeoDataFrame) else grids.grids
            frame.to_crs(self.crs).boundary.plot(ax=ax, color="#222222", linewidth=1.2, zorder=3)
        if (e["route"] < 0).any():
            e[e["route"] < 0].plot(ax=ax, color="#d0d0d0", linewidth=0.5, zorder=1)
        colours, legend = self._colours()
        for i in range(len(self.lengths.index)):
            colour = colours[i]
            mine = e[e["route"] == i]
            if len(mine):
                mine.plot(ax=ax, color=colour, linewidth=1.8, zorder=2)
            if deadhead and isinstance(self.routes, gpd.GeoDataFrame):
                walked = set(self.walk_edges[i]) - set(mine.index)
                if walked:  # by position: edge ids may be tuples (networkx multigraphs)
                    dead = np.fromiter((x in walked for x in e.index), dtype=bool, count=len(e))
                    e[dead].plot(ax=ax, color=colour, linewidth=1.0, linestyle=(0, (2, 2)), zorder=2)
        title = title or (
            f"Road-chief patrols: {self.n_routes} chiefs, longest {self.max_length / 1000:.1f} km (gap ≤ {self.gap:.1%})"
        )
        return _plot.finish(ax, title, legend=legend)

    def _colours(self) -> tuple[list[Any], list[tuple[str, str, str]]]:
        """A colour per chief and the legend: every chief its own colour while they fit in
        :data:`_CHIEF_COLOURS`; beyond, one colour per grid (its chiefs in shades of it), one entry per grid."""
        from matplotlib.colors import to_rgb

        from . import plot as _plot

        chiefs = [str(c) for c in self.lengths.index]
        grid = self.routes["grid"] if "grid" in self.routes.columns else pd.Series([None] * len(chiefs))
        grid = [None if pd.isna(g) else str(g) for g in grid]
        per_grid = all(g is not None for g in grid)
        if len(chiefs) <= _CHIEF_COLOURS or not per_grid:
            colours = _distinct(len(chiefs))
            return colours, [(c, _hex(col), "-") for c, col in zip(chiefs, colours)]
        codes = list(dict.fromkeys(grid))
        base = dict(zip(codes, _distinct(len(codes))))
        seen: dict[str, int] = {}
        colours = []
        for g in grid:
            k = seen[g] = seen.get(g, -1) + 1
            shade = 1.0 - 0.35 * (k % 3) / 2.0  # the grid's second and third chief: darker
            colours.append(tuple(v * shade for v in to_rgb(base[g])))
        labels = dict(zip(codes, _plot.short_labels(codes)))

        def own(chief: str, g: str) -> str:  # chiefs are named after their grid: "<grid>-R1" reads "R1" here
            return chief[len(g) + 1 :] if chief.startswith(g + "-") else chief

        legend = [
            (f"grid {labels[g]}: " + ", ".join(own(c, g) for c, gg in zip(chiefs, grid) if gg == g), _hex(base[g]), "-")
            for g in codes
        ]
        return colours, legend

    def explore(self, **kwargs: Any) -> folium.Map:
        """Interactive map (folium, through geopandas) of the routes, coloured by chief."""
        if not isinstance(self.edges, gpd.GeoDataFrame):
            raise DataError("the network has no geometry to draw")
        e = self.edges[self.edges["route"] >= 0]
        kwargs.setdefault("column", "chief")
        kwargs.setdefault("tooltip", ["chief", "grid", "street", "length"] if "grid" in e else ["chief", "street", "length"])
        return e.explore(**kwargs)

    def to_file(self, path: str | Path) -> Path:
        """Save the plan to a GeoPackage: lossless, read it back with :meth:`read_file`.

        Layers ``routes`` and ``edges`` (readable by any GIS), the network's ``nodes``, the
        walks step by step, ``per_grid`` and the parameters and notes. Node labels and edge ids
        that are not whole numbers (networkx graphs with tuple labels) are stored as text.
        """
        if not isinstance(self.routes, gpd.GeoDataFrame):
            raise DataError("the network has no geometry; write plan.routes / plan.edges as tables instead")
        net = self._net
        text = not all(isinstance(x, numbers.Integral) for x in net.node_labels) or not all(
            isinstance(x, numbers.Integral) for x in net.edge_ids
        )
        label = (lambda x: str(x)) if text else (lambda x: int(x))
        routes = self.routes.copy()
        routes["depot"] = [label(x) for x in routes["depot"]]
        edges = self.edges.copy()
        edges.index = pd.Index([label(x) for x in edges.index], name="edge")
        for col in ("u", "v"):
            edges[col] = [label(x) for x in edges[col]]
        if "street" in edges:
            edges["street"] = _storable_ids(edges["street"])
        steps = [
            (i, j, label(e), label(n))
            for i, (wk, nodes) in enumerate(zip(self.walk_edges, self.walks))
            for j, (e, n) in enumerate(zip(wk, nodes[1:]))
        ]
        walks = pd.DataFrame(steps, columns=["route", "step", "edge", "node"])
        crs = net.crs
        nodes = gpd.GeoDataFrame(
            {"node": [label(x) for x in net.node_labels]},
            crs=crs,
            geometry=shapely.points(net.xy) if net.xy is not None else [None] * net.n,
        )
        frames = {"routes": routes, "edges": edges, "nodes": nodes, "walks": _io.table_layer(walks, crs)}
        if self.per_grid is not None:
            frames["per_grid"] = _io.table_layer(
                self.per_grid.assign(depot=[None if x is None else label(x) for x in self.per_grid["depot"]]), crs
            )
        if self.network is not None:
            ne = pd.DataFrame(self.network.edges.drop(columns="geometry"))
            for col in ("street", "source_edge"):
                if col in ne:
                    ne[col] = _storable_ids(ne[col])
            frames["network_edges"] = _io.table_layer(ne, crs)
        objects = {
            name: [c for c in cols if c in obj.columns and obj[c].dtype == object]
            for name, obj, cols in (
                ("edges", self.edges, ["street", "grid"]),
                ("per_grid", self.per_grid, ["depot", "stopped_by"]),
                ("network_edges", self.network.edges if self.network is not None else None, ["street", "source_edge"]),
            )
            if obj is not None
        }
        params = {
            "params": self.params,
            "notes": self.notes,
            "lower_bound": self.lower_bound,
            "objects": objects,
            "chiefs": [str(c) for c in self.lengths.index],
            "labels_as_text": text,
            "crs": crs.to_wkt() if crs is not None else None,
        }
        return _io.write_frames(path, "RoutePlan", frames, json.loads(json.dumps(params, default=_jsonable)))

    @classmethod
    def read_file(cls, path: str | Path, *, streets: District | StreetNetwork | None = None) -> RoutePlan:
        """Read a plan saved by :meth:`to_file` (the same class, equal tables and walks).

        Parameters
        ----------
        path : str or Path
        streets : District or StreetNetwork, optional
            The streets the plan is meant for: checked against the streets the plan was made
            from (per grid: the network cut at the grid lines), so that a file made for another
            district is refused.

        Raises
        ------
        DataError
            Not a RoutePlan file, or made for other streets than ``streets``.
        """
        frames, stored = _io.read_frames(path, "RoutePlan")
        for name, cols in stored.get("objects", {}).items():  # columns of mixed Python objects in memory
            for col in cols:
                frame = frames[name]
                frame[col] = pd.Series([None if pd.isna(x) else x for x in frame[col]], index=frame.index, dtype=object)
        crs = pyproj.CRS(stored["crs"]) if stored.get("crs") else None
        edges, nodes = frames["edges"], frames["nodes"]
        node_labels = _object_array(nodes["node"].tolist())
        pos = {x: i for i, x in enumerate(node_labels)}
        has_xy = bool(len(nodes)) and not nodes.geometry.isna().any()
        xy = shapely.get_coordinates(nodes.geometry.values) if has_xy else None
        network = None
        if "network_edges" in frames:
            ne = _io.plain_table(frames["network_edges"])
            ne = gpd.GeoDataFrame(ne, geometry=edges.geometry.reindex(ne.index).values, crs=crs)
            assert xy is not None and crs is not None
            network = StreetNetwork(ne, xy, crs=crs)
        net = _Net(
            n=len(node_labels),
            u=np.array([pos[x] for x in edges["u"]], dtype=np.int64),
            v=np.array([pos[x] for x in edges["v"]], dtype=np.int64),
            w=edges["length"].to_numpy(float),
            edge_ids=edges.index,
            node_labels=node_labels,
            xy=xy,
            geoms=np.asarray(edges.geometry.values),
            street=edges["street"].to_numpy(object) if "street" in edges else edges.index.to_numpy(object),
            crs=crs,
            network=network,
            grid=edges["grid"].to_numpy(object) if "grid" in edges else None,
            name=edges["name"].astype("string").fillna("").to_numpy(object) if "name" in edges else None,
        )
        if streets is not None:
            _check_same_streets(net, streets, path)
        plan = cls.__new__(cls)
        plan._net, plan.network = net, network
        plan.params, plan.notes = dict(stored["params"]), list(stored["notes"])
        plan.per_grid = _io.plain_table(frames["per_grid"]) if "per_grid" in frames else None
        plan.lower_bound = float(stored["lower_bound"])
        chiefs = stored["chiefs"]
        routes = frames["routes"]
        walks = _io.plain_table(frames["walks"])
        by_route = {int(r): g for r, g in walks.groupby("route", sort=True)}
        plan.walk_edges = [by_route[i]["edge"].tolist() if i in by_route else [] for i in range(len(chiefs))]
        plan.walks = [
            [routes["depot"].iloc[i]] + (by_route[i]["node"].tolist() if i in by_route else []) for i in range(len(chiefs))
        ]
        plan.lengths = pd.Series(routes["length"].to_numpy(float), index=pd.Index(chiefs, name="chief"), name="length")
        plan.routes = routes
        edges = edges.copy()
        edges["u"], edges["v"] = net.node_labels[net.u], net.node_labels[net.v]
        plan.edges = edges
        if "status" not in plan.params:  # saved before routes spoke the one status vocabulary
            if plan.per_grid is not None:
                plan.params.update(
                    status=_plan_status(plan.per_grid), gap=float(plan.per_grid["gap"].max()) if len(plan.per_grid) else 0.0
                )
            else:
                plan.params.update(status=route_status(plan.params.get("stopped_by"), plan.gap), gap=plan.gap)
        return plan


_CHIEF_COLOURS = 20  # chiefs drawn each in its own colour; more are coloured by grid


def _distinct(n: int) -> list[Any]:
    """``n`` colours no two alike: tab10 / tab20, else evenly spaced hues of a cyclic map."""
    from matplotlib import colormaps

    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [colormaps["tab20"](i) for i in range(n)]
    return [colormaps["hsv"](i / n) for i in range(n)]


def _storable(col: pd.Series) -> pd.Series:
    """Whole numbers stay numbers in a GeoPackage; node labels like (x, y) tuples become text."""
    if col.dtype != object:
        return col
    try:
        return pd.to_numeric(col, errors="raise").astype(np.int64)
    except (TypeError, ValueError):
        return col.astype(str)


def _storable_ids(col: pd.Series) -> pd.Series | np.ndarray | list[Any]:
    """Ids of mixed Python objects as a GeoPackage can hold them: whole numbers as numbers, else text."""
    if col.dtype != object:
        return col
    vals = col.tolist()
    if all(isinstance(x, numbers.Integral) for x in vals):
        return np.array(vals, dtype=np.int64)
    if all(isinstance(x, str) for x in vals):
        return col
    return [None if x is None else str(x) for x in vals]


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, (np.ndarray, tuple)):
        return list(obj)
    return str(obj)


def _check_same_streets(net: _Net, streets: Any, path: Any) -> None:
    """Refuse a saved plan whose streets are not ``streets`` (per grid: not cut from them)."""
    network = streets if isinstance(streets, StreetNetwork) else getattr(streets, "network", None)
    if not isinstance(network, StreetNetwork):
        raise DataError(f"streets must be a District or a StreetNetwork, got {type(streets).__name__}")
    theirs = network.edges
    mine = net.network.edges if net.network is not None else None
    if mine is not None and "source_edge" in mine.columns:
        got = pd.Series(net.w, index=mine["source_edge"].to_numpy()).groupby(level=0).sum()
    elif mine is not None:
        got = pd.Series(net.w, index=mine.index)
    else:
        got = pd.Series(net.w, index=net.edge_ids)
    want = theirs["length"].reindex(got.index)
    same_crs = net.crs is None or pyproj.CRS(theirs.crs).equals(net.crs)
    if not same_crs or want.isna().any() or not np.allclose(got.to_numpy(), want.to_numpy(), rtol=0, atol=0.05):
        bad = int(want.isna().sum()) if not want.isna().all() else len(got)
        raise DataError(
            f"{str(path)!r} holds patrols made for other streets than the ones given (another district or plan): "
            f"{bad if want.isna().any() else int((~np.isclose(got, want, atol=0.05)).sum())} of its {len(got)} street "
            "edges do not match in id and length"
            + ("" if same_crs or net.crs is None else f", and its CRS is {net.crs.name} not {pyproj.CRS(theirs.crs).name}")
            + "; pass the District the patrols were computed for, or compute them again with balance_routes"
        )


def _hex(colour: Sequence[float]) -> str:
    return "#" + "".join(f"{int(round(c * 255)):02x}" for c in colour[:3])


# --------------------------------------------------------------------------- per grid
def _grid_depots(
    plan: GridPlan, net: _Net, mask_by_grid: list[np.ndarray], depot: Any, posts: Any, notes: list[str]
) -> list[int | None]:
    """Every grid's depot node: on the part of the network holding most of the grid's streets.

    The node is the grid's street node (on that part) nearest the grid's post, else its centre.
    """
    codes = plan.grids["code"].astype(str).tolist()
    post_pts: dict[str, shapely.Point] = {}
    if depot == "post":
        if posts is None:
            notes.append("depot='post' but no posts= given: every grid's patrols start at its centre instead")
        else:
            frame = getattr(posts, "posts", posts)
            if not isinstance(frame, gpd.GeoDataFrame) or "grid" not in frame.columns:
                raise DataError("posts must be a Posts result or a GeoDataFrame of points with a 'grid' column (grid code)")
            if net.crs is not None and frame.crs is not None and not pyproj.CRS(frame.crs).equals(net.crs):
                frame = frame.to_crs(net.crs)
            if "kind" in frame.columns:
                frame = frame.sort_values("kind", key=lambda s: s.ne("post"), kind="stable")
            for code, geom in zip(frame["grid"].astype(str), frame.geometry):
                post_pts.setdefault(code, geom)
            missing = [c for c in codes if c not in post_pts]
            if missing:
                more = "..." if len(missing) > 5 else ""
                notes.append(f"no post for grids {missing[:5]}{more}: their patrols start at the grid centre")
    elif depot not in ("centroid", "post", None):
        raise DataError(f"per-grid depot must be 'post' or 'centroid', got {depot!r}")
    comp = _components(net)
    out: list[int | None] = []
    for i, code in enumerate(codes):
        mask = mask_by_grid[i]
        if not mask.any():
            out.append(None)
            continue
        main = int(pd.Series(net.w[mask]).groupby(comp[net.u[mask]]).sum().idxmax())
        on_main = mask & (comp[net.u] == main)
        ends = np.unique(np.r_[net.u[on_main], net.v[on_main]])
        pt = post_pts.get(code)
        if pt is None:
            poly = plan.grids.geometry.iloc[i]
            if net.crs is not None and not pyproj.CRS(plan.grids.crs).equals(net.crs):
                poly = gpd.GeoSeries([poly], crs=plan.grids.crs).to_crs(net.crs).iloc[0]
            pt = poly.centroid if poly.contains(poly.centroid) else poly.point_on_surface()
        assert net.xy is not None
        d = np.hypot(net.xy[ends, 0] - pt.x, net.xy[ends, 1] - pt.y)
        out.append(int(ends[np.argmin(d)]))
    return out


def _drive_directions(net: _Net, mode: str, notes: list[str]) -> np.ndarray | None:
    """Per edge 0/1/-1 in drive mode (None on foot); a note when the streets say nothing of one-way traffic."""
    if mode != "drive":
        return None
    if net.oneway is None or not net.oneway.any():
        notes.append(
            "mode='drive': the streets have no one-way street (no oneway or dir column, or none set), "
            "so every street is driven either way"
        )
        return np.zeros(len(net.u), dtype=np.int64) if net.oneway is None else net.oneway
    n1 = int((net.oneway != 0).sum())
    notes.append(
        f"mode='drive': {n1} one-way street edges ({net.w[net.oneway != 0].sum() / 1000:.2f} km) are driven "
        "only in their direction"
    )
    return net.oneway


def _strong_labels(net: _Net, oneway: np.ndarray) -> np.ndarray:
    _, a, b = _mixed.arcs(net.u, net.v, oneway)
    adj = sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(net.n, net.n))
    return csgraph.connected_components(adj, directed=True, connection="strong")[1]


def _drive_depot(net: _Net, mask: np.ndarray, depot: int, oneway: np.ndarray, code: str, notes: list[str]) -> int:
    """Per grid: a depot a car can leave and come back to from most of the grid's streets.

    When the grid's depot lies outside the part of the one-way system (strongly connected
    component) holding most of the grid's street length, the depot moves to the nearest
    street node of that part, with a note.
    """
    lab = _strong_labels(net, oneway)
    inside = mask & (lab[net.u] == lab[net.v])
    if not inside.any():
        return depot
    length = pd.Series(net.w[inside]).groupby(lab[net.u[inside]]).sum()
    best = int(length.idxmax())
    if lab[depot] == best or length.get(lab[depot], 0.0) >= length[best]:
        return depot
    ends = np.unique(np.r_[net.u[inside], net.v[inside]])
    ends = ends[lab[ends] == best]
    node = int(ends[np.argmin(np.hypot(*(net.xy[ends] - net.xy[depot]).T))]) if net.xy is not None else int(ends[0])
    notes.append(
        f"grid {code}: mode='drive': the depot {net.node_labels[depot]!r} cannot be driven from and back to "
        f"most of the grid's streets (one-way streets), so the chiefs start at node {net.node_labels[node]!r}"
    )
    return node


def _undrivable(
    net: _Net, mask: np.ndarray, depot: int, oneway: np.ndarray, code: str | None, components: str, notes: list[str]
) -> np.ndarray:
    """Required edges a car from the depot cannot reach or cannot leave to come back (other strong component)."""
    lab = _strong_labels(net, oneway)
    lost = mask & ((lab[net.u] != lab[depot]) | (lab[net.v] != lab[depot]))
    if not lost.any():
        return lost
    idx = np.flatnonzero(lost)
    named = [f"{net.edge_ids[e]!r}" + (f" ({net.name[e]})" if net.name is not None and net.name[e] else "") for e in idx[:10]]
    where = f"grid {code}: " if code is not None else ""
    what = (
        f"{where}{len(idx)} street edges ({net.w[lost].sum() / 1000:.2f} km) cannot be driven in their direction "
        f"and back to the depot (one-way streets lead in and not out, or out and not in): edges "
        f"{', '.join(named)}{' ...' if len(idx) > 10 else ''}"
    )
    if components == "raise":
        raise NetworkError(
            f"{what}. Check their oneway/dir values (a missing link or a one-way drawn backwards), "
            "patrol them on foot (mode='walk'), or pass components='largest' to leave them out and "
            "list them"
        )
    notes.append(f"{what}: left out, they have no chief")
    return lost


def _unreachable(net: _Net, mask: np.ndarray, depot: int, code: str, components: str, notes: list[str]) -> np.ndarray:
    """The grid's edges in another part of the network than its depot (no walk from it reaches them)."""
    comp = _components(net)
    lost = mask & (comp[net.u] != comp[depot])
    if not lost.any():
        return lost
    ids = [net.edge_ids[e] for e in np.flatnonzero(lost)]
    what = (
        f"grid {code}: {int(lost.sum())} street edges ({net.w[lost].sum() / 1000:.2f} km) cannot be reached from "
        f"the grid's depot at all (no street joins them to the rest of the network), edges "
        f"{ids[:10]}{' ...' if len(ids) > 10 else ''}"
    )
    if components == "raise":
        raise NetworkError(
            f"{what}. Connect them (StreetNetwork.from_lines with a larger snap_tolerance, or add the "
            "missing links), or leave components at its default to patrol the rest and list these"
        )
    notes.append(f"{what}: they have no chief")
    return lost


# --------------------------------------------------------------------------- entry point
def balance_routes(
    network: StreetNetwork | District | nx.Graph | gpd.GeoDataFrame | GridPlan,
    n_routes: int | None = None,
    *,
    depot: Hashable | PointLike | None = None,
    weight: str = "length",
    required: str | np.ndarray | pd.Series | Iterable[Hashable] | None = None,
    chiefs_per_grid: int = 2,
    posts: Posts | gpd.GeoDataFrame | None = None,
    streets: StreetNetwork | District | None = None,
    chiefs: Sequence[str] | None = None,
    components: str | None = None,
    snap: bool = True,
    seed: int = 0,
    time_limit: float | None = None,
    effort: float = 1.0,
    target_gap: float | None = None,
    progress: bool = True,
    client: DaskClient | None = None,
    mode: str = "walk",
) -> RoutePlan:
    """Balanced road-chief patrols: k closed walks covering every street, the longest as short as possible.

    Parameters
    ----------
    network : StreetNetwork, District, networkx graph, GeoDataFrame of lines, or GridPlan
        What to patrol. A :class:`~gridplan.grids.GridPlan` routes every grid on its own
        (per-grid mode); anything else is routed as one network with ``n_routes`` chiefs.
    n_routes : int
        Number of chiefs (walks) for a whole network. More chiefs than required edges is
        allowed: the extra chiefs get an empty walk and a warning says so.
    depot : node id, point (x, y) / shapely Point, or None; per grid ``"post"`` or ``"centroid"``
        Where every walk starts and ends. A point is snapped to the nearest node (with a
        note; ``snap=False`` refuses instead). None: the street node nearest the centre of
        the streets. Per grid (default ``"post"``): the grid's post from ``posts=``, else the
        street node of the grid nearest its centre.
    weight : str
        Edge attribute to balance (default ``"length"``, metres).
    required : str, iterable of edge ids, boolean array, or None
        Only these edges must be walked (the rural postman case); the others may be used
        to travel. A string names a boolean edge column. None: every edge.
    chiefs_per_grid : int
        Per-grid mode: chiefs sharing every grid's streets (default 2).
    posts : Posts or GeoDataFrame, optional
        Per-grid mode: points with a ``grid`` column (code); the first ``kind == "post"`` of a
        grid is its depot.
    streets : StreetNetwork or District, optional
        Per-grid mode: the street network, when the plan does not know its district
        (a plan read from a file).
    chiefs : sequence of str, optional
        Names of the chiefs (one per walk). Default ``R01``...; per grid ``<grid code>-R1``...
    components : {"raise", "largest"}, optional
        What to do when the required streets are not all reachable from the depot (they lie
        in parts of the network no street joins): raise :class:`~gridplan.errors.NetworkError`
        listing the parts (naming the grid per grid), or route the depot's part and report what
        was left out in ``notes`` (per grid also in ``per_grid``). Default: ``"raise"`` for one
        network, ``"largest"`` per grid (real street data always has stray pieces).
    snap : bool
        Snap a depot point to the nearest node (default) or refuse.
    seed : int
        Random seed; the same seed gives the same plan.
    time_limit : float, optional
        Seconds for the whole search (per grid in per-grid mode). Without it the search does
        a fixed amount of work, so results do not depend on the machine; with it the search
        may stop earlier and the result can differ between machines (``params["stopped_by"]``).
    effort : float
        Scales the number of tours split and of improvement rounds (default 1).
    target_gap : float, optional
        Stop improving once the longest walk is within this share of the lower bound.
        Default: 0.005 per grid (and a grid's search also stops after a quarter of its
        rounds without a better plan), 0 for one network (the full ``effort``).
    progress : bool
        Show a progress bar over grids (per-grid mode).
    client : dask.distributed.Client, optional
        Per-grid mode: route the grids on the client's workers (the ``[distributed]`` extra).
        Grids are independent problems, so the same seed gives the identical plan serially
        and on any number of workers (without ``time_limit``).
    mode : {"walk", "drive"}
        ``"walk"`` (default): chiefs on foot may walk a one-way street either way. ``"drive"``:
        a one-way street (edge column ``oneway`` True/``yes``/``1``, ``-1`` against the drawing,
        or ``dir`` 1/-1 as in the Chang'an data) is driven only in its direction, two-way
        streets either way: the mixed postman case, solved by a balancing flow, a matching and
        an exact split of Euler tours (see docs/routes.md for the bound; no local search).

    Returns
    -------
    RoutePlan

    Raises
    ------
    DataError
        n_routes < 1, negative/NaN lengths, unknown weight, depot or required edges.
    NetworkError
        Required streets not reachable from the depot (unless ``components="largest"``); with
        ``mode="drive"`` also one-way streets that cannot be reached from the depot or left
        back to it, named.
    """
    from .grids import GridPlan

    seed = _validate.seed(seed)
    effort = _validate.number(effort, "effort", above=0)
    time_limit = _validate.number(time_limit, "time_limit (seconds)", above=0, allow_none=True)
    _validate.choice(components, "components (None: 'largest' per grid, 'raise' on one network)", (None, "raise", "largest"))
    snap = _validate.boolean(snap, "snap")
    if not isinstance(weight, str):
        raise DataError(f"weight must be the name of an edge column (e.g. 'length'), got {weight!r}")
    if chiefs is not None and (isinstance(chiefs, (str, bytes)) or not isinstance(chiefs, Iterable)):
        raise DataError(f"chiefs must be a list of names, one per chief, got {chiefs!r}")
    _validate.choice(mode, "mode ('walk': one-way streets walked either way on foot; 'drive': by vehicle)", ("walk", "drive"))

    if isinstance(network, GridPlan):
        if n_routes is not None:
            raise DataError("per-grid patrols take chiefs_per_grid=, not n_routes")
        return _per_grid(
            network,
            chiefs_per_grid=chiefs_per_grid,
            depot="post" if depot is None else depot,
            posts=posts,
            streets=streets,
            weight=weight,
            chiefs=chiefs,
            components="largest" if components is None else components,
            seed=seed,
            time_limit=time_limit,
            effort=effort,
            progress=progress,
            client=client,
            target_gap=PER_GRID_TARGET_GAP if target_gap is None else target_gap,
            mode=mode,
        )
    if n_routes is None:
        raise DataError("give n_routes, the number of chiefs to share the network")
    k = _check_k(n_routes, "n_routes")
    components = "raise" if components is None else components
    if client is not None:
        raise DataError("client= farms out the grids of a GridPlan; one network is routed here (pass client=None)")
    notes: list[str] = []
    net = _as_net(network, weight, notes)
    _check_weights(net)
    mask = _required_mask(net, required)
    if not mask.any():
        raise DataError("no edge to patrol: the network has no edges, or required= selects none")
    node = _resolve_depot(net, depot, mask, snap=snap, notes=notes)
    mask = _restrict_component(net, mask, node, components, notes)
    oneway = _drive_directions(net, mode, notes)
    if oneway is not None:
        mask &= ~_undrivable(net, mask, node, oneway, None, components, notes)
        if not mask.any():
            raise NetworkError(
                f"mode='drive': no street to patrol can be driven from the depot and back ({notes[-1]}); "
                "move the depot onto the one-way system's main part"
            )
    tg = 0.0 if target_gap is None else _check_gap(target_gap)
    sol = _Local(net).solve(mask, node, k, seed=seed, time_limit=time_limit, effort=effort, target_gap=tg, oneway=oneway)
    names = list(chiefs) if chiefs is not None else [f"R{i + 1:02d}" for i in range(k)]
    if len(names) != k or len(set(names)) != k:
        raise DataError(f"chiefs must be {k} distinct names, got {list(names)}")
    idle = int((sol.lengths == 0).sum())
    if idle and k > int(mask.sum()):
        msg = f"{idle} of {k} chiefs have nothing to walk (only {int(mask.sum())} edges to patrol)"
        notes.append(msg)
        warnings.warn(msg, GridplanWarning, stacklevel=2)
    elif idle:
        notes.append(f"{idle} of {k} chiefs have nothing to walk: more chiefs would not shorten the longest walk")
    params = {
        "n_routes": k,
        "mode": mode,
        "depot": net.node_labels[node],
        "weight": weight,
        "seed": seed,
        "time_limit": time_limit,
        "effort": effort,
        "target_gap": tg,
        "required_edges": int(mask.sum()),
        "components": components,
        **_sol_params(sol),
    }
    plan = RoutePlan(
        net=net,
        walks=sol.walks,
        chiefs=names,
        grids=[None] * k,
        depots=[node] * k,
        served=sol.served,
        required=mask,
        lower_bound=sol.lower_bound,
        per_grid=None,
        params=params,
        notes=notes,
    )
    plan.params.update(status=route_status(sol.stopped_by, plan.gap), gap=plan.gap)
    return plan


def route_status(stopped_by: str | None, gap: float) -> str:
    """The solver status in gridplan's one vocabulary (see :data:`gridplan.posts.STATUSES`).

    ``"optimal"`` when the longest walk meets the lower bound (gap 0), ``"within_gap"`` when the search
    stopped at ``target_gap``, ``"time_limit"`` when it ran out of time, ``"heuristic"`` otherwise
    (it stopped after its iterations or patience, with the gap beside it). ``stopped_by`` says why it
    stopped.
    """
    if np.isfinite(gap) and gap <= 1e-9:
        return "optimal"
    return {"target_gap": "within_gap", "time_limit": "time_limit"}.get(str(stopped_by), "heuristic")


def _plan_status(per_grid: pd.DataFrame) -> str:
    """One status for a plan of many grids: the least proven of its grids'."""
    statuses = {route_status(s, g) for s, g in zip(per_grid["stopped_by"], per_grid["gap"])}
    for worst in ("time_limit", "heuristic", "within_gap"):
        if worst in statuses:
            return worst
    return "optimal"


def _sol_params(sol: _routing.Solution) -> dict[str, Any]:
    return {
        "lower_bound_exact_postman": sol.cpp_exact,
        "postman_bound": sol.cpp_bound,
        "far_cycle": sol.far_cycle,
        "split_max": sol.split_max,
        "starts": sol.starts,
        "iterations": sol.iterations,
        "stopped_by": sol.stopped_by,
        "seconds": round(sol.seconds, 3),
    }


@dataclass
class _Task:
    """One routing problem, self-contained so that it can run on a worker.

    The network is the part around the streets to walk (``edges``/``nodes`` map its edges and
    nodes back to the whole network; None when it is the whole network).
    """

    n: int
    u: np.ndarray
    v: np.ndarray
    w: np.ndarray
    mask: np.ndarray
    depot: int
    k: int
    seed: int
    time_limit: float | None
    effort: float
    edges: np.ndarray | None = None
    nodes: np.ndarray | None = None
    target_gap: float = 0.0
    patience: float | None = None  # share of the rounds without a new best after which the search stops
    oneway: np.ndarray | None = None  # mode="drive": per edge 0 two-way, 1 u -> v, -1 v -> u


_DRIVE_MIN_TOURS = 200
"""mode="drive": at least this many random Euler tours are split (times ``effort``; a split is cheap)."""
PER_GRID_TARGET_GAP = 0.005
"""Per grid, the search stops once the longest walk is within 0.5 % of the grid's lower bound."""
PER_GRID_PATIENCE = 0.25
"""Per grid, the search stops after a quarter of its rounds without a new best (at least ``_MIN_PATIENCE``)."""
_MIN_PATIENCE = 40


def _search_effort(m: int, effort: float) -> tuple[int, int]:
    """Random postman tours split and ruin-and-recreate rounds for m required edges."""
    starts = int(np.clip(effort * 20000 // max(m, 1), 8, 400 * min(effort, 1.0)))
    iterations = int(np.clip(effort * 60000 // max(m, 1), 20, 1000 * effort))
    return starts, iterations


def _check_gap(target_gap: Any) -> float:
    return float(_validate.number(target_gap, "target_gap (a share, 0.005 = 0.5 %)", minimum=0, below=1))


def _check_effort(effort: float, time_limit: float | None) -> None:
    _validate.number(effort, "effort", above=0)
    _validate.number(time_limit, "time_limit (seconds)", above=0, allow_none=True)


def _run_task(task: _Task) -> _routing.Solution:
    """Solve one task; walks and served edges in the whole network's edge and node ids."""
    starts, iterations = _search_effort(int(task.mask.sum()), task.effort)
    patience = None if task.patience is None else max(_MIN_PATIENCE, int(task.patience * iterations))
    if task.oneway is not None:
        sol = _mixed.solve(
            task.n,
            task.u,
            task.v,
            task.w,
            task.mask,
            task.depot,
            task.k,
            task.oneway,
            seed=task.seed,
            starts=max(starts, int(_DRIVE_MIN_TOURS * task.effort)),
        )
    else:
        sol = _routing.solve(
            task.n,
            task.u,
            task.v,
            task.w,
            task.mask,
            task.depot,
            task.k,
            seed=task.seed,
            time_limit=task.time_limit,
            starts=starts,
            iterations=iterations,
            target_gap=task.target_gap,
            patience=patience,
        )
    if task.edges is not None and task.nodes is not None:
        eid, nodes = task.edges, task.nodes
        sol.walks = [[(int(eid[e]), int(nodes[a]), int(nodes[b])) for e, a, b in wk] for wk in sol.walks]
        sol.served = [eid[s] for s in sol.served]
    return sol


class _Local:
    """Routing tasks on the part of the network around the required streets (so distances stay small).

    The part holds every node within ``radius`` of the required streets and the depot along the
    network; the radius doubles until they are connected inside it, so walks between pieces of a
    grid still run through neighbouring streets, as on the whole network. When every street is
    required the part is the whole network.
    """

    def __init__(self, net: _Net) -> None:
        self.net = net
        cw = np.where(net.w > 0, net.w, 1e-12)
        self.csr = sparse.csr_matrix((np.r_[cw, cw], (np.r_[net.u, net.v], np.r_[net.v, net.u])), shape=(net.n, net.n))

    def task(
        self,
        mask: np.ndarray,
        depot: int,
        k: int,
        *,
        seed: int,
        time_limit: float | None,
        effort: float,
        target_gap: float = 0.0,
        patience: float | None = None,
        oneway: np.ndarray | None = None,
    ) -> _Task:
        net = self.net
        if oneway is not None:  # a drive may need streets far away to come back: the whole network
            return _Task(
                net.n,
                net.u,
                net.v,
                net.w,
                mask,
                depot,
                k,
                seed,
                time_limit,
                effort,
                target_gap=target_gap,
                patience=patience,
                oneway=oneway,
            )
        ends = np.unique(np.r_[net.u[mask], net.v[mask], depot])
        span = float(net.w[mask].sum())
        radius = max(300.0, 0.05 * span)
        while True:
            d = csgraph.dijkstra(self.csr, directed=False, indices=ends, min_only=True, limit=radius)
            inside = np.isfinite(d)
            keep = inside[net.u] & inside[net.v]
            nodes = np.flatnonzero(inside)
            if len(nodes) == net.n:
                return _Task(
                    net.n, net.u, net.v, net.w, mask, depot, k, seed, time_limit, effort, target_gap=target_gap, patience=patience
                )
            new = np.full(net.n, -1)
            new[nodes] = np.arange(len(nodes))
            sub = sparse.coo_matrix(
                (np.ones(int(keep.sum())), (new[net.u[keep]], new[net.v[keep]])), shape=(len(nodes), len(nodes))
            )
            lab = csgraph.connected_components(sub, directed=False)[1]
            if len(np.unique(lab[new[ends]])) == 1:
                break
            radius *= 2
        eid = np.flatnonzero(keep)
        return _Task(
            len(nodes),
            new[net.u[eid]],
            new[net.v[eid]],
            net.w[eid],
            mask[eid],
            int(new[depot]),
            k,
            seed,
            time_limit,
            effort,
            edges=eid,
            nodes=nodes,
            target_gap=target_gap,
            patience=patience,
        )

    def solve(
        self,
        mask: np.ndarray,
        depot: int,
        k: int,
        *,
        seed: int,
        time_limit: float | None,
        effort: float,
        target_gap: float = 0.0,
        oneway: np.ndarray | None = None,
    ) -> _routing.Solution:
        _check_effort(effort, time_limit)
        return _run_task(
            self.task(mask, depot, k, seed=seed, time_limit=time_limit, effort=effort, target_gap=target_gap, oneway=oneway)
        )


def _run_all(tasks: list[_Task], *, client: Any, progress: bool) -> list[_routing.Solution]:
    """Solve the tasks here or on a dask.distributed client (same results either way), in order."""
    from tqdm.auto import tqdm

    if client is None:
        return [_run_task(t) for t in tqdm(tasks, desc="patrols", unit="grid", disable=not progress)]
    _check_client(client)
    from distributed import as_completed

    futures = client.map(_run_task, tasks, pure=False)
    bar = tqdm(total=len(tasks), desc="patrols", unit="grid", disable=not progress)
    for _ in as_completed(futures):
        bar.update(1)
    bar.close()
    return client.gather(futures)


def _check_client(client: Any) -> None:
    """A dask.distributed client that is open and has workers, else a DataError (never a hang)."""
    if not hasattr(client, "map") or not hasattr(client, "scheduler_info"):
        raise DataError(f"client must be a dask.distributed.Client, got {type(client).__name__}")
    status = getattr(client, "status", "running")
    if status != "running":
        raise DataError(f"the dask client is {status}; start a new Client (or pass client=None to route here)")
    if not client.scheduler_info().get("workers"):
        raise DataError("the dask client has no workers; start some (e.g. LocalCluster(n_workers=2)) or pass client=None")


@dataclass
class _GridStreets:
    """A plan's streets per grid: the cut network, every edge's grid, the grid's depot and unreachable edges."""

    net: _Net
    codes: list[str]
    masks: list[np.ndarray]
    depots: list[int | None]
    lost: list[np.ndarray]


def _grid_streets(
    plan: GridPlan, network: StreetNetwork, *, weight: str, depot: Any, posts: Any, components: str, notes: list[str]
) -> _GridStreets:
    split, owner, cand = _grid_streets_mod.split_at_grids(network, plan)
    net = _from_street_network(split, weight)
    _check_weights(net)
    settled = _grid_streets_mod.settle_grid_lines(net.n, net.u, net.v, net.w, owner, cand)
    shared = owner == _grid_streets_mod.SHARED
    notes.append(
        f"streets cut where they cross grid lines: {network.n_edges} edges became {split.n_edges}; "
        f"{int(shared.sum())} edges ({net.w[shared].sum() / 1000:.2f} km) run along a grid line and went to the "
        "grid they keep connected (the one whose pieces they join most, else the nearest)"
    )
    codes = plan.grids["code"].astype(str).tolist()
    net.grid = np.where(settled >= 0, np.asarray(codes, dtype=object)[np.maximum(settled, 0)], np.array(None, dtype=object))
    masks = [settled == i for i in range(len(codes))]
    depots = _grid_depots(plan, net, masks, depot, posts, notes)
    lost = []
    for i, code in enumerate(codes):
        node = depots[i]
        gone = _unreachable(net, masks[i], node, code, components, notes) if node is not None else np.zeros(len(net.u), bool)
        masks[i] = masks[i] & ~gone
        lost.append(gone)
    return _GridStreets(net, codes, masks, depots, lost)


def _per_grid(
    plan: GridPlan,
    *,
    chiefs_per_grid: int,
    depot: Any,
    posts: Any,
    streets: Any,
    weight: str,
    chiefs: Sequence[str] | None,
    components: str,
    seed: int,
    time_limit: float | None,
    effort: float,
    progress: bool,
    client: Any = None,
    target_gap: float = PER_GRID_TARGET_GAP,
    mode: str = "walk",
) -> RoutePlan:
    k = _check_k(chiefs_per_grid, "chiefs_per_grid")
    _check_effort(effort, time_limit)
    target_gap = _check_gap(target_gap)
    source = streets if streets is not None else plan.district
    if source is None:
        raise DataError("the plan does not know its streets (read from a file?): pass streets=district or a StreetNetwork")
    network = source if isinstance(source, StreetNetwork) else getattr(source, "network", None)
    if not isinstance(network, StreetNetwork):
        raise DataError(f"streets must be a District or a StreetNetwork, got {type(source).__name__}")
    if components not in ("raise", "largest"):
        raise DataError(f"components must be 'raise' or 'largest', got {components!r}")
    notes: list[str] = []
    gs = _grid_streets(plan, network, weight=weight, depot=depot, posts=posts, components=components, notes=notes)
    net, codes = gs.net, gs.codes
    oneway = _drive_directions(net, mode, notes)
    if oneway is not None:
        for i, code in enumerate(codes):
            node = gs.depots[i]
            if node is not None:
                node = gs.depots[i] = _drive_depot(net, gs.masks[i], node, oneway, code, notes)
                gone = _undrivable(net, gs.masks[i], node, oneway, code, components, notes)
                gs.masks[i] &= ~gone
                gs.lost[i] |= gone
    local = _Local(net)
    todo = [i for i, node in enumerate(gs.depots) if node is not None]
    tasks = [
        local.task(
            gs.masks[i],
            int(gs.depots[i]),  # type: ignore[arg-type]
            k,
            seed=seed,
            time_limit=time_limit,
            effort=effort,
            target_gap=target_gap,
            patience=PER_GRID_PATIENCE,
            oneway=oneway,
        )
        for i in todo
    ]
    sols: dict[int, _routing.Solution] = dict(zip(todo, _run_all(tasks, client=client, progress=progress)))
    walks: list[list[tuple[int, int, int]]] = []
    served: list[np.ndarray] = []
    names: list[str] = []
    route_grid: list[str | None] = []
    route_depot: list[int] = []
    rows: list[dict[str, Any]] = []
    required = np.zeros(len(net.u), bool)
    bound = 0.0
    seconds = 0.0
    for i, code in enumerate(codes):
        mask, node, sol = gs.masks[i], gs.depots[i], sols.get(i)
        if sol is None:
            notes.append(f"grid {code} has no streets: its {k} chiefs have nothing to walk")
        else:
            required |= mask
            bound = max(bound, sol.lower_bound)
            seconds += sol.seconds
            if sol.pieces > 1:
                notes.append(
                    f"grid {code}: its streets form {sol.pieces - (0 if _depot_on(net, mask, node) else 1)} "
                    f"pieces that do not touch; they are joined through {sol.connect / 1000:.2f} km of the "
                    "shortest streets outside them, walked as deadhead"
                )
        gw = sol.walks if sol else [[] for _ in range(k)]
        walks += gw
        served += sol.served if sol else [np.zeros(0, np.int64) for _ in range(k)]
        names += [f"{code}-R{j + 1}" for j in range(k)]
        route_grid += [code] * k
        route_depot += [node if node is not None else 0] * k
        rows.append(_grid_row(net, code, k, mask, gs.lost[i], node, sol))
    if chiefs is not None:
        names = list(chiefs)
        if len(names) != len(walks) or len(set(names)) != len(names):
            raise DataError(f"chiefs must be {len(walks)} distinct names ({k} per grid), got {len(names)}")
    per_grid = pd.DataFrame(rows).set_index("code")
    params = {
        "mode": "per_grid",
        "travel": mode,
        "chiefs_per_grid": k,
        "depot": depot,
        "weight": weight,
        "seed": seed,
        "time_limit": time_limit,
        "effort": effort,
        "target_gap": target_gap,
        "patience": PER_GRID_PATIENCE,
        "components": components,
        "seconds": round(seconds, 3),
        "grids": len(codes),
        "workers": _workers(client),
        **_plan_identity(plan, net),
    }
    params.update(status=_plan_status(per_grid), gap=float(per_grid["gap"].max()) if len(per_grid) else 0.0)
    return RoutePlan(
        net=net,
        walks=walks,
        chiefs=names,
        grids=route_grid,
        depots=route_depot,
        served=served,
        required=required,
        lower_bound=bound,
        per_grid=per_grid,
        params=params,
        notes=notes,
    )


def _depot_on(net: _Net, mask: np.ndarray, node: int | None) -> bool:
    return node is not None and bool(np.any((net.u[mask] == node) | (net.v[mask] == node)))


def _grid_row(
    net: _Net, code: str, k: int, mask: np.ndarray, lost: np.ndarray, node: int | None, sol: _routing.Solution | None
) -> dict[str, Any]:
    L = sol.lengths if sol is not None else np.zeros(k)
    tot = float(L.sum())
    req = float(net.w[mask].sum())
    lb = sol.lower_bound if sol is not None else 0.0
    return {
        "code": code,
        "chiefs": k,
        "streets_km": req / 1000,
        "max_length": float(L.max()),
        "lower_bound": lb,
        "gap": float(L.max() / lb - 1) if lb > 0 else 0.0,
        "pieces": (sol.pieces - (0 if _depot_on(net, mask, node) else 1)) if sol is not None else 0,
        "connect_km": (sol.connect / 1000) if sol is not None else 0.0,
        "deadhead_share": (tot - req) / tot if tot > 0 else 0.0,
        "unreachable_km": float(net.w[lost].sum()) / 1000,
        "unreachable_edges": int(lost.sum()),
        "depot": net.node_labels[node] if node is not None else None,
        "stopped_by": sol.stopped_by if sol is not None else None,
    }


def _workers(client: Any) -> int:
    if client is None:
        return 1
    return max(1, len(client.scheduler_info().get("workers", {})))


def _plan_identity(plan: GridPlan, net: _Net) -> dict[str, Any]:
    """What a saved RoutePlan must match to be used with a plan again (see RoutePlan.read_file)."""
    district = plan.district
    return {
        "plan_grids": "|".join(plan.grids["code"].astype(str)),
        "plan_district": str(getattr(district, "code", "") or "") if district is not None else "",
        "network_edges": len(net.u),
    }
