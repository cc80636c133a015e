"""Balanced road-chief patrols: the min-max k Chinese (rural) postman problem.

Under the road-chief system (路长制) every street has one responsible chief who sweeps
it end to end; the longest patrol decides how often a street is seen, so the patrols
must be balanced. :func:`balance_routes` finds k closed walks from a depot that
together traverse every (required) street edge at least once and makes the longest
one as short as it can:

* on a whole network (a :class:`~gridplan.network.StreetNetwork`, a networkx graph or
  a GeoDataFrame of lines) with ``n_routes`` chiefs, or
* per grid, on a :class:`~gridplan.grids.GridPlan`: every grid's streets (cut at the
  grid lines; a street on a grid line goes to the grid listed first) are split among
  ``chiefs_per_grid`` chiefs from the grid's post or centre, travelling through the
  whole network between pieces of a grid that do not touch.

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

import numbers
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from . import _io, _routing, _validate
from .errors import DataError, GridplanWarning, NetworkError
from .network import StreetNetwork

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .grids import GridPlan

__all__ = ["RoutePlan", "balance_routes", "WALKING_SPEED_M_PER_MIN"]

WALKING_SPEED_M_PER_MIN = 60.0
"""Default patrol speed: an inspecting walk of 3.6 km/h (slower than the 80 m/min life-circle walk)."""


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
    )


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
        geoms = shapely.linestrings(
            np.stack([xy[[pos[a] for a, *_ in data]], xy[[pos[b] for _, b, *_ in data]]], axis=1))
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
    if hasattr(network, "network") and isinstance(getattr(network, "network", None), StreetNetwork) and hasattr(network, "streets"):
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
            f"{int(bad.sum())} edges have a negative, NaN or infinite length (e.g. edges {ex}); "
            "fix or drop them before routing"
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
        hit = np.flatnonzero([x == depot for x in net.node_labels]) if net.node_labels.dtype == object \
            else np.flatnonzero(net.node_labels == depot)
    except (TypeError, ValueError):
        hit = np.zeros(0, dtype=np.int64)
    if len(hit):  # a node of the network (node labels may themselves be (x, y) tuples)
        return int(hit[0])
    if isinstance(depot, shapely.Point) or (isinstance(depot, (tuple, list)) and len(depot) == 2
                                            and all(isinstance(c, numbers.Real) for c in depot)):
        if net.xy is None:
            raise DataError("a depot point needs node coordinates; pass a node of the network instead")
        x, y = (depot.x, depot.y) if isinstance(depot, shapely.Point) else depot
        if not (np.isfinite(x) and np.isfinite(y)):
            raise DataError(f"the depot point has NaN or infinite coordinates: {(x, y)}")
        d = np.hypot(net.xy[:, 0] - x, net.xy[:, 1] - y)
        node = int(np.argmin(d))
        if d.min() > 1e-6:
            if not snap:
                raise DataError(f"the depot ({x:.1f}, {y:.1f}) is {d.min():.1f} m from the nearest node; "
                                "move it onto a node or pass snap=True")
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
    desc = ", ".join(f"component {int(c)}: {int((req_comp == c).sum())} edges / {lengths[c] / 1000:.2f} km"
                     + (" (depot)" if c == comp[depot] else "") for c in comps[:6])
    if components != "largest":
        raise NetworkError(
            f"the streets to patrol lie in {len(comps)} disconnected parts of the network ({desc}); no walk from "
            "the depot can reach them all. Connect the network (StreetNetwork.from_lines with a larger "
            "snap_tolerance, or add the missing links), or pass components='largest' to patrol only the "
            "depot's part and report the rest"
        )
    keep = mask & (comp[net.u] == comp[depot])
    lost = mask & ~keep
    notes.append(f"components='largest': {int(lost.sum())} edges ({net.w[lost].sum() / 1000:.2f} km) are not reachable "
                 f"from the depot and are left out ({desc})")
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
        Per-grid mode: one row per grid with ``chiefs``, ``max_length``, ``lower_bound``, ``gap``,
        ``pieces`` (parts of the grid's streets that do not touch), ``deadhead_share``.
    network : StreetNetwork or None
        The routed network (per grid: the streets cut at the grid lines); its edge ids are
        the index of :attr:`edges`, as :class:`gridplan.locate.GridIndex` ``routes=`` needs.
    params, notes
        What made the plan and what was done on the way.
    """

    def __init__(self, *, net: _Net, walks: list[list[tuple[int, int, int]]], chiefs: Sequence[str],
                 grids: Sequence[str | None], depots: Sequence[int], served: list[np.ndarray], required: np.ndarray,
                 lower_bound: float, per_grid: pd.DataFrame | None, params: dict[str, Any], notes: list[str]) -> None:
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
            rows.append({
                "route": i, "chief": chief_arr[i], "grid": grids[i], "depot": net.node_labels[depots[i]],
                "length": lengths[i], "served": served_len, "deadhead": lengths[i] - served_len,
                "deadhead_share": (lengths[i] - served_len) / lengths[i] if lengths[i] > 0 else 0.0,
                "n_edges": len(served[i]), "n_streets": len(set(net.street[served[i]].tolist())),
                "geometry": geom,
            })
        table = pd.DataFrame(rows)
        edges = pd.DataFrame({
            "u": net.node_labels[net.u], "v": net.node_labels[net.v], "length": net.w, "street": net.street,
            "required": required, "route": owner,
            "chief": pd.array(np.where(owner >= 0, chief_arr[np.maximum(owner, 0)] if len(chief_arr) else None, None),
                              dtype="string"),
        }, index=net.edge_ids)
        if net.grid is not None:
            edges.insert(4, "grid", net.grid)
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
        return pd.Series({
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
        }, name="routes")

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
        out = pd.DataFrame({
            "length": self.lengths,
            "sweep_min": sweep,
            "sweeps_per_shift": np.where(sweep > 0, shift / np.maximum(sweep, 1e-12), np.inf),
            "revisit_min": sweep,
        })
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
        return (f"<RoutePlan: {scope}{self.n_routes} routes, longest {s['max_length_m'] / 1000:.2f} km, "
                f"lower bound {s['lower_bound_m'] / 1000:.2f} km, gap {s['gap']:.1%}>")

    def _repr_html_(self) -> str:
        s = self.summary().to_frame().to_html(float_format=lambda x: f"{x:,.3f}")
        r = self.routes.drop(columns="geometry", errors="ignore").to_html(index=False, float_format=lambda x: f"{x:,.1f}",
                                                                          max_rows=30)
        return f"<div><b>{self.__repr__()[1:-1]}</b>{s}{r}</div>"

    # ------------------------------------------------------------------ display & export
    def plot(self, ax: "Axes | None" = None, *, deadhead: bool = True, grids: Any = None, title: str | None = None) -> "Axes":
        """Map of the patrols: every street coloured by its chief, deadhead walking dashed."""
        from matplotlib import colormaps

        from . import plot as _plot

        if not isinstance(self.edges, gpd.GeoDataFrame):
            raise DataError("the network has no geometry to draw; use plan.routes and plan.edges as tables")
        ax = _plot.axes(ax)
        if grids is not None:
            frame = getattr(grids, "grids", grids)
            frame.to_crs(self.crs).boundary.plot(ax=ax, color="#222222", linewidth=1.2, zorder=3)
        e = self.edges
        if (e["route"] < 0).any():
            e[e["route"] < 0].plot(ax=ax, color="#d0d0d0", linewidth=0.5, zorder=1)
        cmap = colormaps["tab20"] if self.n_routes > 10 else colormaps["tab10"]
        legend = []
        for i, chief in enumerate(self.lengths.index):
            colour = cmap(i % cmap.N)
            mine = e[e["route"] == i]
            if len(mine):
                mine.plot(ax=ax, color=colour, linewidth=1.8, zorder=2)
            if deadhead and isinstance(self.routes, gpd.GeoDataFrame):
                walked = set(self.walk_edges[i]) - set(mine.index)
                if walked:  # by position: edge ids may be tuples (networkx multigraphs)
                    dead = np.fromiter((x in walked for x in e.index), dtype=bool, count=len(e))
                    e[dead].plot(ax=ax, color=colour, linewidth=1.0, linestyle=(0, (2, 2)), zorder=2)
            if i < 20:
                legend.append((str(chief), _hex(colour), "-"))
        title = title or (f"Road-chief patrols: {self.n_routes} chiefs, longest {self.max_length / 1000:.1f} km "
                          f"(gap ≤ {self.gap:.1%})")
        return _plot.finish(ax, title, legend=legend)

    def explore(self, **kwargs: Any) -> Any:
        """Interactive map (folium, through geopandas) of the routes, coloured by chief."""
        if not isinstance(self.edges, gpd.GeoDataFrame):
            raise DataError("the network has no geometry to draw")
        e = self.edges[self.edges["route"] >= 0]
        kwargs.setdefault("column", "chief")
        kwargs.setdefault("tooltip", ["chief", "grid", "street", "length"] if "grid" in e else ["chief", "street", "length"])
        return e.explore(**kwargs)

    def to_file(self, path: str | Path) -> Path:
        """Write the ``routes`` and ``edges`` layers to a GeoPackage (metric CRS)."""
        if not isinstance(self.routes, gpd.GeoDataFrame):
            raise DataError("the network has no geometry; write plan.routes / plan.edges as tables instead")
        path = _io.as_path(path)
        routes = self.routes.copy()
        routes["grid"] = routes["grid"].astype("string")
        routes["depot"] = _storable(routes["depot"])
        edges = self.edges.reset_index()
        for col in ("edge", "street", "u", "v", "source_edge"):
            if col in edges:
                edges[col] = _storable(edges[col])

        def write(tmp: Path) -> None:  # atomic: a failed save leaves the old file
            routes.to_file(tmp, layer="routes", driver="GPKG")
            edges.to_file(tmp, layer="edges", driver="GPKG")

        def verify(tmp: Path) -> None:
            for name, frame in (("routes", routes), ("edges", edges)):
                if len(_io.read_layer(tmp, name)) != len(frame):
                    raise DataError(f"layer {name!r} did not come back whole; nothing was replaced")

        return _io.atomic_write(path, write, verify=verify)


def _storable(col: pd.Series) -> pd.Series:
    """Whole numbers stay numbers in a GeoPackage; node labels like (x, y) tuples become text."""
    if col.dtype != object:
        return col
    try:
        return pd.to_numeric(col, errors="raise").astype(np.int64)
    except (TypeError, ValueError):
        return col.astype(str)


def _hex(colour: Sequence[float]) -> str:
    return "#" + "".join(f"{int(round(c * 255)):02x}" for c in colour[:3])


# --------------------------------------------------------------------------- per grid
def _split_at_grids(network: StreetNetwork, plan: "GridPlan") -> tuple[StreetNetwork, np.ndarray]:
    """The network cut at the grid lines; per edge the grid position owning it (-1 none)."""
    grids = plan.grids.to_crs(network.crs) if not pyproj.CRS(plan.grids.crs).equals(network.crs) else plan.grids
    polys = np.asarray(grids.geometry.values)
    e = network.edges
    lines = np.asarray(e.geometry.values)
    gi, ei = shapely.STRtree(lines).query(polys, predicate="intersects")
    order = np.lexsort((ei, gi))  # grid position first: on a shared grid line the first grid wins
    gi, ei = gi[order], ei[order]
    parts = shapely.intersection(lines[ei], polys[gi])
    rows_geom, rows_grid, rows_edge = [], [], []
    for g, edge, part in zip(gi, ei, parts):
        for p in shapely.get_parts(shapely.line_merge(part) if part.geom_type == "MultiLineString" else part):
            if p.geom_type == "LineString" and p.length > 0:
                rows_geom.append(p)
                rows_grid.append(g)
                rows_edge.append(edge)
    # whole edges last: any piece outside every grid stays as travel-only street
    rows_geom.extend(lines.tolist())
    rows_grid.extend([-1] * len(lines))
    rows_edge.extend(range(len(lines)))
    frame = gpd.GeoDataFrame({"grid_pos": rows_grid, "source_edge": rows_edge}, geometry=rows_geom, crs=network.crs)
    split = StreetNetwork.from_lines(frame, snap_tolerance=1e-3)
    se = split.edges
    src = se["source_edge"].to_numpy(np.int64)
    se["street"] = e["street"].to_numpy(object)[src] if "street" in e.columns else e.index.to_numpy(object)[src]
    se["source_edge"] = e.index.to_numpy()[src]
    grid = se.pop("grid_pos").to_numpy(np.int64)
    out = StreetNetwork(se, split.nodes[["x", "y"]].to_numpy(float), crs=network.crs, noding_report=split.noding_report)
    return out, grid


def _grid_depots(plan: "GridPlan", net: _Net, mask_by_grid: list[np.ndarray], depot: Any, posts: Any,
                 notes: list[str]) -> list[int | None]:
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
                notes.append(f"no post for grids {missing[:5]}{'...' if len(missing) > 5 else ''}: their patrols start at the grid centre")
    elif depot not in ("centroid", "post", None):
        raise DataError(f"per-grid depot must be 'post' or 'centroid', got {depot!r}")
    out: list[int | None] = []
    for i, code in enumerate(codes):
        mask = mask_by_grid[i]
        if not mask.any():
            out.append(None)
            continue
        ends = np.unique(np.r_[net.u[mask], net.v[mask]])
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


# --------------------------------------------------------------------------- entry point
def balance_routes(
    network: Any,
    n_routes: int | None = None,
    *,
    depot: Any = None,
    weight: str = "length",
    required: Any = None,
    chiefs_per_grid: int = 2,
    posts: Any = None,
    streets: Any = None,
    chiefs: Sequence[str] | None = None,
    components: str = "raise",
    snap: bool = True,
    seed: int = 0,
    time_limit: float | None = None,
    effort: float = 1.0,
    progress: bool = True,
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
    components : {"raise", "largest"}
        What to do when the required streets are not all reachable from the depot: raise
        :class:`~gridplan.errors.NetworkError` listing the parts, or route the depot's part
        and report what was left out in ``notes``.
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
    progress : bool
        Show a progress bar over grids (per-grid mode).

    Returns
    -------
    RoutePlan

    Raises
    ------
    DataError
        n_routes < 1, negative/NaN lengths, unknown weight, depot or required edges.
    NetworkError
        Required streets not reachable from the depot (unless ``components="largest"``).
    """
    from .grids import GridPlan

    seed = _validate.seed(seed)
    effort = _validate.number(effort, "effort", above=0)
    time_limit = _validate.number(time_limit, "time_limit (seconds)", above=0, allow_none=True)
    _validate.choice(components, "components", ("raise", "largest"))
    snap = _validate.boolean(snap, "snap")
    if not isinstance(weight, str):
        raise DataError(f"weight must be the name of an edge column (e.g. 'length'), got {weight!r}")
    if chiefs is not None and (isinstance(chiefs, (str, bytes)) or not isinstance(chiefs, Iterable)):
        raise DataError(f"chiefs must be a list of names, one per chief, got {chiefs!r}")
    if isinstance(network, GridPlan):
        if n_routes is not None:
            raise DataError("per-grid patrols take chiefs_per_grid=, not n_routes")
        return _per_grid(network, chiefs_per_grid=chiefs_per_grid, depot="post" if depot is None else depot,
                         posts=posts, streets=streets, weight=weight, chiefs=chiefs, components=components,
                         seed=seed, time_limit=time_limit, effort=effort, progress=progress)
    if n_routes is None:
        raise DataError("give n_routes, the number of chiefs to share the network")
    k = _check_k(n_routes, "n_routes")
    notes: list[str] = []
    net = _as_net(network, weight, notes)
    _check_weights(net)
    mask = _required_mask(net, required)
    if not mask.any():
        raise DataError("no edge to patrol: the network has no edges, or required= selects none")
    node = _resolve_depot(net, depot, mask, snap=snap, notes=notes)
    mask = _restrict_component(net, mask, node, components, notes)
    sol = _Local(net).solve(mask, node, k, seed=seed, time_limit=time_limit, effort=effort)
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
    params = {"n_routes": k, "depot": net.node_labels[node], "weight": weight, "seed": seed, "time_limit": time_limit,
              "effort": effort, "required_edges": int(mask.sum()), "components": components,
              **_sol_params(sol)}
    return RoutePlan(net=net, walks=sol.walks, chiefs=names, grids=[None] * k, depots=[node] * k,
                     served=sol.served, required=mask, lower_bound=sol.lower_bound, per_grid=None,
                     params=params, notes=notes)


def _sol_params(sol: _routing.Solution) -> dict[str, Any]:
    return {"lower_bound_exact_postman": sol.cpp_exact, "postman_bound": sol.cpp_bound, "far_cycle": sol.far_cycle,
            "split_max": sol.split_max, "starts": sol.starts, "iterations": sol.iterations,
            "stopped_by": sol.stopped_by, "seconds": round(sol.seconds, 3)}


def _solve(net: _Net, mask: np.ndarray, depot: int, k: int, dist: _routing._Distances, *, seed: int,
           time_limit: float | None, effort: float) -> _routing.Solution:
    if not (np.isfinite(effort) and effort > 0):
        raise DataError(f"effort must be a positive number, got {effort!r}")
    if time_limit is not None and not (np.isfinite(time_limit) and time_limit > 0):
        raise DataError(f"time_limit must be a positive number of seconds, got {time_limit!r}")
    m = int(mask.sum())
    starts = int(np.clip(effort * 20000 // max(m, 1), 8, 400 * min(effort, 1.0)))
    iterations = int(np.clip(effort * 60000 // max(m, 1), 20, 1000 * effort))
    return _routing.solve(net.n, net.u, net.v, net.w, mask, depot, k, seed=seed, time_limit=time_limit,
                          starts=starts, iterations=iterations, dist=dist)


class _Local:
    """Solve on the part of the network around the required streets (so distances stay small).

    The part holds every node within ``radius`` of the required streets and the depot along the
    network; the radius doubles until they are connected inside it, so walks between pieces of a
    grid still run through neighbouring streets, as on the whole network. When every street is
    required the part is the whole network.
    """

    def __init__(self, net: _Net) -> None:
        self.net = net
        cw = np.where(net.w > 0, net.w, 1e-12)
        self.csr = sparse.csr_matrix((np.r_[cw, cw], (np.r_[net.u, net.v], np.r_[net.v, net.u])), shape=(net.n, net.n))

    def solve(self, mask: np.ndarray, depot: int, k: int, **kw: Any) -> _routing.Solution:
        net = self.net
        ends = np.unique(np.r_[net.u[mask], net.v[mask], depot])
        span = float(net.w[mask].sum())
        radius = max(300.0, 0.05 * span)
        while True:
            d = csgraph.dijkstra(self.csr, directed=False, indices=ends, min_only=True, limit=radius)
            inside = np.isfinite(d)
            keep = inside[net.u] & inside[net.v]
            nodes = np.flatnonzero(inside)
            if len(nodes) == net.n:
                keep = np.ones(len(net.u), bool)
                break
            new = np.full(net.n, -1)
            new[nodes] = np.arange(len(nodes))
            sub = sparse.coo_matrix((np.ones(int(keep.sum())), (new[net.u[keep]], new[net.v[keep]])),
                                    shape=(len(nodes), len(nodes)))
            lab = csgraph.connected_components(sub, directed=False)[1]
            if len(np.unique(lab[new[ends]])) == 1:
                break
            radius *= 2
        if keep.all():
            return _solve(net, mask, depot, k, _routing._Distances(net.n, net.u, net.v, net.w), **kw)
        eid = np.flatnonzero(keep)
        local = _Net(n=len(nodes), u=new[net.u[eid]], v=new[net.v[eid]], w=net.w[eid], edge_ids=net.edge_ids[eid],
                     node_labels=nodes, xy=None, geoms=None, street=net.street[eid], crs=net.crs, network=None)
        sol = _solve(local, mask[eid], int(new[depot]), k, _routing._Distances(local.n, local.u, local.v, local.w), **kw)
        sol.walks = [[(int(eid[e]), int(nodes[a]), int(nodes[b])) for e, a, b in wk] for wk in sol.walks]
        sol.served = [eid[s] for s in sol.served]
        return sol


def _per_grid(plan: "GridPlan", *, chiefs_per_grid: int, depot: Any, posts: Any, streets: Any, weight: str,
              chiefs: Sequence[str] | None, components: str, seed: int, time_limit: float | None, effort: float,
              progress: bool) -> RoutePlan:
    k = _check_k(chiefs_per_grid, "chiefs_per_grid")
    source = streets if streets is not None else plan.district
    if source is None:
        raise DataError("the plan does not know its streets (read from a file?): pass streets=district or a StreetNetwork")
    network = source if isinstance(source, StreetNetwork) else getattr(source, "network", None)
    if not isinstance(network, StreetNetwork):
        raise DataError(f"streets must be a District or a StreetNetwork, got {type(source).__name__}")
    notes: list[str] = []
    split, grid_of_edge = _split_at_grids(network, plan)
    notes.append(f"streets cut at the grid lines: {network.n_edges} edges became {split.n_edges}; "
                 "an edge on a grid line belongs to the first grid (by code) it bounds")
    net = _from_street_network(split, weight)
    net.grid = np.where(grid_of_edge >= 0, plan.grids["code"].astype(str).to_numpy(object)[np.maximum(grid_of_edge, 0)], None)
    _check_weights(net)
    codes = plan.grids["code"].astype(str).tolist()
    masks = [grid_of_edge == i for i in range(len(codes))]
    depots = _grid_depots(plan, net, masks, depot, posts, notes)
    local = _Local(net)
    walks, served, names, route_grid, route_depot, rows = [], [], [], [], [], []
    required = np.zeros(len(net.u), bool)
    bound = 0.0
    seconds = 0.0
    from tqdm.auto import tqdm

    for i in tqdm(range(len(codes)), desc="patrols", unit="grid", disable=not progress):
        code, mask, node = codes[i], masks[i], depots[i]
        gnames = [f"{code}-R{j + 1}" for j in range(k)]
        if node is None:
            notes.append(f"grid {code} has no streets: its {k} chiefs have nothing to walk")
            sol = None
        else:
            mask = _restrict_component(net, mask, node, components, notes)
            sol = local.solve(mask, node, k, seed=seed, time_limit=time_limit, effort=effort)
            required |= mask
            bound = max(bound, sol.lower_bound)
            seconds += sol.seconds
        pieces = _routing._components(net.n, net.u[mask], net.v[mask], np.unique(np.r_[net.u[mask], net.v[mask]])) \
            if mask.any() else []
        if len(pieces) > 1:
            notes.append(f"grid {code}: its streets form {len(pieces)} pieces that do not touch; "
                         "the chiefs walk between them through neighbouring streets (deadhead)")
        gw = sol.walks if sol else [[] for _ in range(k)]
        gs = sol.served if sol else [np.zeros(0, np.int64) for _ in range(k)]
        walks += gw
        served += gs
        names += gnames
        route_grid += [code] * k
        route_depot += [node if node is not None else 0] * k
        L = sol.lengths if sol else np.zeros(k)
        tot = float(L.sum())
        rows.append({"code": code, "chiefs": k, "streets_km": float(net.w[mask].sum()) / 1000,
                     "max_length": float(L.max()), "lower_bound": sol.lower_bound if sol else 0.0,
                     "gap": float(L.max() / sol.lower_bound - 1) if sol and sol.lower_bound > 0 else 0.0,
                     "pieces": len(pieces), "deadhead_share": (tot - float(net.w[mask].sum())) / tot if tot > 0 else 0.0,
                     "depot": net.node_labels[node] if node is not None else None,
                     "stopped_by": sol.stopped_by if sol else None})
    if chiefs is not None:
        names = list(chiefs)
        if len(names) != len(walks) or len(set(names)) != len(names):
            raise DataError(f"chiefs must be {len(walks)} distinct names ({k} per grid), got {len(names)}")
    per_grid = pd.DataFrame(rows).set_index("code")
    params = {"mode": "per_grid", "chiefs_per_grid": k, "depot": depot, "weight": weight, "seed": seed,
              "time_limit": time_limit, "effort": effort, "components": components, "seconds": round(seconds, 3),
              "grids": len(codes)}
    return RoutePlan(net=net, walks=walks, chiefs=names, grids=route_grid, depots=route_depot, served=served,
                     required=required, lower_bound=bound, per_grid=per_grid, params=params, notes=notes)

