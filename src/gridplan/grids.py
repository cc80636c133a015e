"""Grids: balanced, contiguous, compact management grids, and redraws with least disruption.

The planner's core task. :func:`partition` cuts a district's units (street
blocks by default) into ``n_grids`` grids; :func:`resplit` redraws an existing
plan into a new number of grids (Guiding county's 12 → 15) moving as little
workload as it can. Both return a :class:`GridPlan`.

Guarantees, whatever the method: every unit is in exactly one grid; every grid
is contiguous (rook adjacency); every grid's workload is within ±``tolerance``
of the mean whenever the units allow it, and otherwise an
:class:`~gridplan.errors.InfeasibleError` says by how much it cannot be (or,
with ``strict=False``, the best plan comes with a warning).

Examples
--------
>>> import gridplan
>>> from gridplan.grids import partition
>>> district = gridplan.sample_district(seed=0)
>>> plan = partition(district, 15, seed=0)
>>> m = plan.metrics()
>>> bool(m["contiguous"]), m["balance_max"] <= 1.03, m["balance_min"] >= 0.97
(True, True, True)
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import connected_components

from . import _balance, _io, _validate
from . import crs as gcrs
from ._multibalance import partition_multi
from ._partition import partition_graph, resplit_graph
from ._partition.problem import bounds
from ._precision import QUANTUM, quantize
from .errors import DataError, GeometryError, GridplanWarning, InfeasibleError
from .units import Units, build_units, split_heavy_units

if TYPE_CHECKING:  # pragma: no cover
    import folium
    from matplotlib.axes import Axes

    from .district import District
    from .typing import CRSLike, WeightLike

__all__ = ["GridPlan", "PlanComparison", "partition", "resplit", "METHODS"]

METHODS = ("multilevel",)
_SHP_NAMES = {"communities": "comm_codes", "subdistrict": "subdist"}


# ---------------------------------------------------------------------- helpers
def _check_n(n_grids: Any, n_units: int, what: str = "n_grids") -> int:
    n = _validate.integer(n_grids, what)
    if n < 1:
        raise InfeasibleError(f"{what}={n}: a plan needs at least one grid")
    if n > n_units:
        raise InfeasibleError(
            f"{what}={n} is more grids than there are units ({n_units}); use fewer grids or smaller units "
            "(units='cells' with a smaller cell_size, or blocks with a smaller min_area)"
        )
    return n


def _check_tolerance(tolerance: Any) -> float:
    return _validate.number(tolerance, "tolerance (a fraction, e.g. 0.03 for ±3 %)", above=0, below=1)


def _check_options(seed: Any, strict: Any, time_limit: Any, locked: Any) -> tuple[int, bool, float | None, list[str]]:
    """The options partition and resplit share, checked (seed, strict, time_limit, locked)."""
    if locked is not None and (isinstance(locked, (str, bytes)) or not isinstance(locked, Iterable)):
        raise DataError(f"locked must be a list of grid codes, e.g. locked=['A01'], got {locked!r}")
    return (
        _validate.seed(seed),
        _validate.boolean(strict, "strict"),
        _validate.number(time_limit, "time_limit (seconds)", above=0, allow_none=True),
        [str(c) for c in locked] if locked is not None else [],
    )


def _part_geometry(units: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Each grid's polygon: the union of its units.

    The fast coverage union needs units whose shared edges have the same vertices on both sides;
    where they do not (cells of a split heavy unit meeting a neighbour's edge between its vertices)
    it raises or, worse, returns an invalid polygon. The full overlay union is used there.
    """
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    out = np.empty(k, dtype=object)
    for g in range(k):
        members = units[order[bounds[g] : bounds[g + 1]]]
        try:
            out[g] = shapely.coverage_union_all(members)
        except shapely.errors.GEOSException:
            out[g] = None
        if out[g] is None or not shapely.is_valid(out[g]):
            out[g] = shapely.union_all(members)
    return out


def _bands_order(points: np.ndarray, band: float) -> np.ndarray:
    """Order points north→south in bands of height ``band``, west→east within a band."""
    x, y = shapely.get_x(points), shapely.get_y(points)
    row = np.floor((y.max() - y) / max(band, 1e-9)) if len(y) else y
    return np.lexsort((x, row))


def _grid_codes(geoms: np.ndarray, community: np.ndarray, district_code: str) -> np.ndarray:
    """Unit-grid style codes: community code (district + subdistrict + community) + sequence.

    Grids are numbered within their community north→south in bands, west→east within a band;
    a grid with no community gets the district code padded with zeros.
    """
    base = np.array([c if c else (district_code or "000000").ljust(12, "0") for c in community], dtype=object)
    pts = shapely.point_on_surface(geoms)
    band = float(np.sqrt(np.mean(shapely.area(geoms)))) if len(geoms) else 1.0
    codes = np.empty(len(geoms), dtype=object)
    for b in sorted(set(base)):
        idx = np.flatnonzero(base == b)
        order = idx[_bands_order(pts[idx], band)]
        width = max(2, len(str(len(idx))))
        for seq, i in enumerate(order, start=1):
            codes[i] = f"{b}{seq:0{width}d}"
    return codes


_SEQ_WIDTH = 2
"""Digits of a grid's sequence number within its community (more when a community has 100 grids)."""


def _match_grids(
    new_labels: np.ndarray, old_labels: np.ndarray, w: np.ndarray, k_new: int, k_old: int
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matching of new grids to old ones keeping the most workload in place (Hungarian
    method on the new x old overlap); returns the old grid of every new one (-1: none) and the overlap."""
    overlap = np.zeros((k_new, k_old))
    known = old_labels >= 0
    np.add.at(overlap, (new_labels[known], old_labels[known]), w[known])
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    match = np.full(k_new, -1)
    match[rows] = cols
    return match, overlap


def _fresh_codes(geoms: np.ndarray, community: np.ndarray, district_code: str, used: set[str]) -> np.ndarray:
    """Codes never used before for new grids: community code + the next sequence number after every
    number that community has used (north→south in bands, west→east within a band, as
    :func:`_grid_codes` numbers a first plan)."""
    standard = _grid_codes(geoms, community, district_code)
    base = np.array([c if c else (district_code or "000000").ljust(12, "0") for c in community], dtype=object)
    out = np.empty(len(geoms), dtype=object)
    for b in sorted(set(base)):
        taken = [int(c[len(b) :]) for c in used if c.startswith(b) and c[len(b) :].isdigit()]
        start = max(taken, default=0)
        members = sorted(np.flatnonzero(base == b), key=lambda i: int(standard[i][len(b) :]))
        width = max(_SEQ_WIDTH, len(str(start + len(members))))
        for n, i in enumerate(members, start=start + 1):
            code = f"{b}{n:0{width}d}"
            while code in used:  # only for codes the user wrote in this pattern but longer
                n += len(members)
                code = f"{b}{n:0{width}d}"
            out[i] = code
    return out


def _continuing_codes(
    old: GridPlan, labels: np.ndarray, u: Units, keep: np.ndarray, old_labels: np.ndarray | None = None
) -> tuple[np.ndarray, set[str]]:
    """Codes for a redraw of ``old``: a new grid matched to an old one (:func:`_match_grids`, as
    :meth:`GridPlan.compare` matches them) keeps its code where ``keep[old grid]``; every other grid
    gets a code never used in the district (``old``'s codes and the codes it retired).  ``old_labels``:
    the old grid of every unit of ``u`` (default ``old.labels``, when ``u`` holds ``old``'s units).
    Returns the codes and the set of codes ever used."""
    k = int(labels.max()) + 1
    w = u.frame["weight"].to_numpy(dtype=float)
    match, overlap = _match_grids(labels, old.labels if old_labels is None else old_labels, w, k, old.n_grids)
    old_codes = old.grids["code"].astype(str).to_numpy()
    used = set(old_codes) | set(old.params.get("retired_codes") or [])
    codes = np.full(k, "", dtype=object)
    for g in range(k):
        m = match[g]
        if m >= 0 and keep[m] and overlap[g, m] > 0:
            codes[g] = old_codes[m]
    new = np.flatnonzero(codes == "")
    if len(new):
        geoms = _part_geometry(np.asarray(u.frame.geometry.values), labels, k)[new]
        comm = _dominant(u.frame["community"].astype(str).to_numpy(), w, labels, k)[new]
        codes[new] = _fresh_codes(geoms, comm, str(old.params.get("district_code", "")), used)
    return codes, used | set(codes)


def _dominant(values: np.ndarray, weights: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    df = pd.DataFrame({"g": labels, "v": values, "w": weights + 1e-12})
    s = df.groupby(["g", "v"], sort=True)["w"].sum().reset_index()
    s = s.sort_values(["g", "w", "v"], ascending=[True, False, True]).drop_duplicates("g")
    out = np.full(k, "", dtype=object)
    out[s["g"].to_numpy()] = s["v"].to_numpy()
    return out


def _contiguous(adj: sparse.csr_matrix, labels: np.ndarray, k: int) -> np.ndarray:
    """Per grid: is it connected in the unit graph?"""
    coo = adj.tocoo()
    same = labels[coo.row] == labels[coo.col]
    inner = sparse.csr_matrix((np.ones(same.sum()), (coo.row[same], coo.col[same])), shape=adj.shape)
    _, comp = connected_components(inner, directed=False)
    n_pieces = pd.Series(comp).groupby(labels).nunique().reindex(range(k), fill_value=0).to_numpy()
    return n_pieces == 1


# ---------------------------------------------------------------------- the plan
#: ``(plan_report, write_report)``, registered by :mod:`gridplan.report` when it is imported (the package
#: root imports it). ``grids`` sits below ``report`` in the layers and never imports it, not even inside a
#: function: the upper module hands the lower one its writers.
_REPORT_WRITERS: tuple[Callable[..., str], Callable[..., Path]] | None = None


class GridPlan:
    """A partition of a district's units into management grids.

    Made by :func:`partition`, :func:`resplit`, :meth:`reassign`, :meth:`from_district_grids`
    or :meth:`read_file`.

    Attributes
    ----------
    units : GeoDataFrame
        One row per unit with its attributes, ``weight`` and ``grid`` (the grid's code).
    grids : GeoDataFrame
        One row per grid: ``code``, ``geometry``, ``weight``, ``population``, ``street_km``,
        ``area_km2``, ``n_units``, ``communities``, ``subdistrict``.
    labels : ndarray of int
        Grid position (row of :attr:`grids`) of every unit, for fast work.
    adjacency : scipy.sparse.csr_matrix
        Units' shared boundary lengths (m).
    params : dict
        Everything that made the plan (method, n_grids, tolerance, seed, weight, ``synthetic``, ...).
    notes : list of str
    synthetic : bool or None
        The district's streets, communities and population were generated (see the property).
    district : District or None
        The district the plan was cut from (set by :func:`partition`, :func:`resplit` and
        :meth:`from_district_grids`; saved with the plan by ``to_file(path, district=True)`` and then
        restored by :meth:`read_file`). Patrol routing and simulation use its streets.
    """

    def __init__(
        self,
        units: gpd.GeoDataFrame,
        labels: np.ndarray,
        adjacency: sparse.csr_matrix,
        *,
        params: dict[str, Any],
        notes: Sequence[str] = (),
        codes: Sequence[str] | np.ndarray | None = None,
        source_crs: str | None = None,
    ) -> None:
        labels = np.asarray(labels, dtype=np.int64)
        k = int(labels.max()) + 1 if len(labels) else 0
        if len(labels) != len(units) or labels.min(initial=0) < 0 or len(np.unique(labels)) != k:
            raise DataError("labels must give every unit a grid 0..k-1, with no grid empty")
        self.adjacency = adjacency.tocsr()
        self.previous: GridPlan | None = None
        # the grid in ``previous`` of every unit, when the units are not previous's (a redraw split heavy units)
        self._previous_labels: np.ndarray | None = None
        self.district: District | None = None  # in memory only: the district the plan was cut from
        self.params = dict(params)
        self.notes = list(notes)
        self.source_crs = source_crs or self.params.get("source_crs") or units.crs.to_string()
        self.labels = labels
        geoms = _part_geometry(np.asarray(units.geometry.values), labels, k)
        w = units["weight"].to_numpy(dtype=float)
        if codes is None:
            comm = _dominant(units["community"].astype(str).to_numpy(), w, labels, k)
            codes = _grid_codes(geoms, comm, str(self.params.get("district_code", "")))
        code_of = np.asarray(codes, dtype=object)
        # grid rows ordered by code, so that .grids reads in the coding order
        order = np.argsort(code_of, kind="stable")
        rank = np.empty(k, dtype=np.int64)
        rank[order] = np.arange(k)
        self.labels = rank[labels]
        geoms, code_of = geoms[order], code_of[order]
        self.units = units.copy()
        self.units["grid"] = pd.array(code_of[self.labels], dtype="str")
        self.grids = self._grid_table(geoms, code_of)

    def _grid_table(self, geoms: np.ndarray, codes: np.ndarray) -> gpd.GeoDataFrame:
        u, lab = self.units, self.labels
        k = len(codes)

        def total(col: str) -> np.ndarray:
            return np.bincount(lab, weights=u[col].to_numpy(dtype=float), minlength=k)

        comms = u.groupby(lab)["community"].agg(lambda s: ",".join(sorted({c for c in s if c})))
        subs = _dominant(u["subdistrict"].astype(str).to_numpy(), u["weight"].to_numpy(float), lab, k)
        frame = gpd.GeoDataFrame(
            {
                "code": pd.array(codes, dtype="str"),
                "weight": total("weight"),
                "population": total("population"),
                "street_km": total("street_m") / 1e3,
                "area_km2": total("area_m2") / 1e6,
                "n_units": np.bincount(lab, minlength=k),
                "communities": pd.array(comms.reindex(range(k), fill_value="").to_numpy(), dtype="str"),
                "subdistrict": pd.array(subs, dtype="str"),
            },
            geometry=gpd.GeoSeries(geoms, crs=u.crs),
        )
        for name in self.params.get("balance") or {}:  # balanced measures the table lacks (e.g. cases)
            col = _balance.MEASURE_COLUMNS.get(name, name)
            if col not in ("population", "street_m", "area_m2") and col in u:
                frame.insert(len(frame.columns) - 1, col, total(col))
        frame.index.name = "grid"
        return frame

    # ------------------------------------------------------------------ facts
    @property
    def n_grids(self) -> int:
        return len(self.grids)

    @property
    def crs(self) -> pyproj.CRS:
        return pyproj.CRS(self.units.crs)

    def polsby_popper(self) -> pd.Series:
        """Polsby-Popper compactness 4πA/P² of every grid (1 for a disc), indexed by code."""
        g = self.grids
        pp = 4 * np.pi * shapely.area(g.geometry.values) / np.maximum(shapely.length(g.geometry.values) ** 2, 1e-12)
        return pd.Series(pp, index=pd.Index(g["code"], name="code"), name="polsby_popper")

    def summary(self) -> pd.Series:
        """Headline figures of the plan: :meth:`metrics` (balance, compactness, cut, contiguity) and
        the method, units and seed that made it (the result protocol's ``summary``)."""
        m = self.metrics()
        facts = {key: self.params[key] for key in ("method", "units", "seed") if key in self.params and key not in m}
        return pd.concat([m.astype(object), pd.Series(facts, dtype=object)]).rename("plan")

    def metrics(self) -> pd.Series:
        """Balance, compactness, cut edges and contiguity of the plan.

        ``balance_max`` = max grid weight / mean, ``balance_min`` = min / mean; ``pp_mean`` and
        ``pp_min`` are Polsby-Popper; ``cut_edges`` counts adjacent unit pairs in different grids
        and ``cut_km`` their shared boundary length.
        """
        w = self.grids["weight"].to_numpy(dtype=float)
        pp = self.polsby_popper().to_numpy()
        coo = sparse.triu(self.adjacency).tocoo()
        cut = self.labels[coo.row] != self.labels[coo.col]
        tol = self.params.get("tolerance")
        bmax, bmin = float(w.max() / w.mean()), float(w.min() / w.mean())
        return pd.Series(
            {
                "n_grids": self.n_grids,
                "n_units": len(self.units),
                "balance_max": bmax,
                "balance_min": bmin,
                "within_tolerance": bool(tol is not None and bmax <= 1 + tol + 1e-9 and bmin >= 1 - tol - 1e-9)
                if not self.params.get("balance")
                else bool(self.spreads()["within"].all()),
                "pp_mean": float(pp.mean()),
                "pp_min": float(pp.min()),
                "cut_edges": int(cut.sum()),
                "cut_km": float(coo.data[cut].sum() / 1e3),
                "contiguous": bool(_contiguous(self.adjacency, self.labels, self.n_grids).all()),
                "weight_by": self.params.get("weight_by", ""),
                "tolerance": tol,
                "seed": self.params.get("seed"),
                **self._measure_metrics(),
            },
            name="metrics",
            dtype=object,
        )

    def spreads(self, measures: Iterable[str] | None = None) -> pd.DataFrame:
        """Lightest and heaviest grid over the mean of every measure: the balanced ones (with their
        tolerance and whether it is met), else population and street length; or the ``measures``
        named (unit columns such as ``"cases"``, or ``"street_km"``, ``"area"``)."""
        balance = self.params.get("balance") or {
            name: np.nan
            for name, col in (("population", "population"), ("street_km", "street_m"))
            if col in self.units and float(self.units[col].sum()) > 0
        }
        if measures is not None:
            balance = {name: balance.get(name, np.nan) for name in measures}
        if not balance:
            return pd.DataFrame(columns=["min", "max", "tolerance", "within", "off_by"])
        return _balance.spreads(self.units, self.labels, self.n_grids, balance)

    def _measure_metrics(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, row in self.spreads().iterrows():
            out[f"{name}_min"] = float(row["min"])
            out[f"{name}_max"] = float(row["max"])
        return out

    def __repr__(self) -> str:
        m = self.metrics()
        return (
            f"<GridPlan {m['n_grids']} grids of {m['n_units']} {self.params.get('units', 'units')}, "
            f"balance {m['balance_min']:.3f}-{m['balance_max']:.3f}, PP mean {m['pp_mean']:.3f}, "
            f"{'contiguous' if m['contiguous'] else 'NOT contiguous'}"
            f"{', synthetic streets' if self.synthetic else ''}>"
        )

    @property
    def synthetic(self) -> bool | None:
        """True when the plan was cut from a synthetic district (generated streets, communities and
        population, e.g. :func:`~gridplan.datasets.sample_district`), False for given data, None when
        not known (a plan saved by an older gridplan). Kept in :attr:`params` and in saved plans."""
        value = self.params.get("synthetic")
        return None if value is None else bool(value)

    def _repr_html_(self) -> str:
        m = self.metrics()
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
            for k, v in m.items()
        )
        if self.synthetic:
            rows += "<tr><th style='text-align:left'>streets</th><td>synthetic (generated, not real data)</td></tr>"
        table = self.grids.drop(columns="geometry").round(3).to_html(max_rows=20)
        return f"<div><b>gridplan GridPlan</b><table>{rows}</table><details><summary>grids</summary>{table}</details></div>"

    # ------------------------------------------------------------------ comparison
    def compare(self, other: GridPlan) -> PlanComparison:
        """Compare this plan (new) with ``other`` (old): disruption, its lower bound, transfers.

        Disruption is the share of workload whose grid changes when every new grid is matched
        one-to-one to an old grid by a maximum-weight matching (unmatched new grids count as
        changed). Its lower bound follows from balance alone, as the larger of two bounds: at
        most Σ min(old grid weight, (1 + tolerance) × mean new weight) can be retained (over the
        min(old, new) largest terms), and the new grids beyond the old count, each holding at
        least (1 − tolerance) × mean, retain nothing.
        """
        if not isinstance(other, GridPlan):
            raise DataError(f"compare needs another GridPlan (the old plan), got {type(other).__name__}")
        old_labels = other._labels_on(self)
        w = self.units["weight"].to_numpy(dtype=float)
        k_new, k_old = self.n_grids, other.n_grids
        known = old_labels >= 0
        match, overlap = _match_grids(self.labels, old_labels, w, k_new, k_old)
        total = float(w.sum())
        retained = float(overlap[np.flatnonzero(match >= 0), match[match >= 0]].sum())
        tol = float(self.params.get("tolerance") or 0.0)
        mean_new = total / k_new
        old_w = np.bincount(old_labels[known], weights=w[known], minlength=k_old)
        terms = np.sort(np.minimum(old_w, (1 + tol) * mean_new))[::-1][: min(k_old, k_new)]
        # new grids beyond the old count are unmatched, and each holds at least (1 - tol) x mean
        unmatched = max(0, k_new - k_old) * (1 - tol) * mean_new
        lb = max(0.0, 1 - float(terms.sum()) / total, unmatched / total)
        new_codes, old_codes = self.grids["code"].to_numpy(), other.grids["code"].to_numpy()
        # a new grid whose code an old grid it does not continue had (independent plans number their
        # grids alike) is named so, so that no transfer reads as a grid moving to itself
        code_of_old = {c: i for i, c in enumerate(old_codes)}
        shown = np.array([c if code_of_old.get(c, m) == m else f"{c} (new grid)" for c, m in zip(new_codes, match)], dtype=object)
        matching = pd.DataFrame(
            {
                "new": new_codes,
                "old": [old_codes[m] if m >= 0 else "" for m in match],
                "new_weight": self.grids["weight"].to_numpy(),
                "retained_weight": [overlap[i, m] if m >= 0 else 0.0 for i, m in enumerate(match)],
            }
        )
        pop = self.units["population"].to_numpy(dtype=float)
        moved = np.ones(len(w), dtype=bool)
        moved[known] = match[self.labels[known]] != old_labels[known]
        tr = pd.DataFrame(
            {
                "old": np.where(known, old_codes[np.maximum(old_labels, 0)], ""),
                "new": shown[self.labels],
                "weight": w,
                "population": pop,
                "n_units": 1,
                "moved": moved,
            }
        )
        transfers = (
            tr[tr["moved"]]
            .groupby(["old", "new"], sort=True)[["weight", "population", "n_units"]]
            .sum()
            .reset_index()
            .sort_values(["weight", "old", "new"], ascending=[False, True, True], ignore_index=True)
        )
        summary = pd.Series(
            {
                "old_grids": k_old,
                "new_grids": k_new,
                "disruption": 1 - retained / total,
                "disruption_lower_bound": lb,
                "ratio_to_bound": (1 - retained / total) / lb if lb > 0 else (1.0 if retained >= total else np.inf),
                "moved_population": float(pop[moved].sum()),
                "moved_units": int(moved.sum()),
            },
            name="comparison",
            dtype=object,
        )
        return PlanComparison(
            summary=summary,
            matching=matching,
            transfers=transfers,
            moved=self.units.loc[moved, ["grid", "weight", "population", "geometry"]].assign(
                old_grid=tr.loc[moved, "old"].to_numpy()
            ),
            new=self,
            old=other,
        )

    def _labels_on(self, target: GridPlan) -> np.ndarray:
        """This plan's grid positions for ``target``'s units (same units: direct; a redraw of this plan that
        split units: the grid of the unit each cell was cut from; else by location)."""
        if target.previous is self and target._previous_labels is not None:
            return target._previous_labels
        if (
            len(self.units) == len(target.units)
            and self.units.geometry.geom_equals_exact(target.units.geometry, tolerance=1e-6).all()
        ):
            return self.labels
        pts = shapely.point_on_surface(np.asarray(target.units.geometry.values))
        tree = shapely.STRtree(np.asarray(self.grids.geometry.values))
        pidx, gidx = tree.query(pts, predicate="intersects")
        out = np.full(len(pts), -1)
        order = np.lexsort((gidx, pidx))
        first = np.r_[True, pidx[order][1:] != pidx[order][:-1]] if len(pidx) else np.zeros(0, bool)
        out[pidx[order][first]] = gidx[order][first]
        return out

    # ------------------------------------------------------------------ editing
    def reassign(self, units: Iterable[int] | int, grid: str, *, allow_split: bool = False) -> GridPlan:
        """A new plan with ``units`` (unit ids, the index of :attr:`units`) moved to ``grid`` (a code).

        Metrics are recomputed; codes of all grids are kept. A move that would leave a grid
        in pieces (or the receiving grid not touching the units) is refused with
        :class:`InfeasibleError` unless ``allow_split=True``; emptying a grid is always refused.
        """
        if (
            units is None
            or isinstance(units, (str, bytes, dict, float))
            or not (np.isscalar(units) or isinstance(units, Iterable))
        ):
            raise DataError(f"units must be unit ids (the index of plan.units) or a list of them, got {units!r}")
        ids = np.atleast_1d(np.asarray([units] if np.isscalar(units) else list(units), dtype=object))  # type: ignore[arg-type]  # numpy's isscalar does not narrow
        try:
            pos = self.units.index.get_indexer(pd.Index(ids, dtype=self.units.index.dtype))
        except (TypeError, ValueError, OverflowError):
            pos = np.full(len(ids), -1)
        if (pos < 0).any():
            raise DataError(f"unknown unit ids {ids[pos < 0][:5].tolist()}; use ids from plan.units.index")
        codes = self.grids["code"].to_numpy()
        if not isinstance(grid, str):
            raise DataError(f"grid must be one grid code (a string such as {codes[0]!r}), got {grid!r}")
        hit = np.flatnonzero(codes == grid)
        if len(hit) == 0:
            raise DataError(f"no grid with code {grid!r}; codes are plan.grids['code'], e.g. {codes[0]!r}")
        labels = self.labels.copy()
        labels[pos] = hit[0]
        emptied = set(range(self.n_grids)) - set(np.unique(labels))
        if emptied:
            raise InfeasibleError(
                f"moving these units would empty grid(s) {[codes[i] for i in sorted(emptied)]}; a plan cannot have empty grids"
            )
        ok = _contiguous(self.adjacency, labels, self.n_grids)
        if not ok.all() and not allow_split:
            broken = [codes[i] for i in np.flatnonzero(~ok)]
            raise InfeasibleError(
                f"the move would leave grid(s) {broken} in pieces; move a connected set of boundary units "
                "or pass allow_split=True"
            )
        params = {**self.params, "edited": self.params.get("edited", 0) + 1}
        notes = [*self.notes, f"reassigned {len(pos)} units to {grid}" + ("" if ok.all() else " (grid split allowed)")]
        plan = GridPlan(
            self.units.drop(columns="grid"),
            labels,
            self.adjacency,
            params=params,
            notes=notes,
            codes=codes,
            source_crs=self.source_crs,
        )
        plan.district = self.district
        return plan

    # ------------------------------------------------------------------ display
    def plot(
        self,
        ax: Axes | None = None,
        *,
        column: str | None = None,
        labels: bool = True,
        title: str | None = None,
        cmap: str | None = None,
        vmin: float | None = None,
        vmax: float | None = None,
    ) -> Axes:
        """Map the grids, coloured by ``column`` of :attr:`grids` (default: one colour per grid).

        ``column="balance"`` colours by workload over the mean workload, the measure that compares
        across plans with different numbers of grids. Labels are the shortest tails of the codes that
        tell the grids apart. Give panels compared side by side one colour scale with ``vmin``/``vmax``
        (see :func:`gridplan.plot.colour_range`).
        """
        from . import plot as gplot

        if column != "balance":  # workload over the mean, computed below
            _validate.column(self.grids, column, "column=: the grids'", allow_none=True)
        g = self.grids
        if column == "balance" and "balance" not in g.columns:
            g = g.assign(balance=g["weight"] / g["weight"].mean())
        ax = gplot.axes(ax, bounds=g.total_bounds)
        if column is None:
            g.plot(ax=ax, column="code", categorical=True, cmap=cmap or "tab20", edgecolor="white", linewidth=0.3, alpha=0.85)
        else:
            g.plot(
                ax=ax,
                column=column,
                cmap=cmap or "YlOrRd",
                legend=True,
                edgecolor="white",
                linewidth=0.3,
                vmin=vmin,
                vmax=vmax,
                legend_kwds={"shrink": 0.6, "label": column},
            )
        g.boundary.plot(ax=ax, color="black", linewidth=1.0)
        if labels and self.n_grids <= 60:
            pts = g.geometry.representative_point()
            for text, p in zip(gplot.short_labels(g["code"]), pts):
                ax.annotate(
                    text,
                    (p.x, p.y),
                    ha="center",
                    va="center",
                    fontsize=7,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.7, "lw": 0},
                )
        m = self.metrics()
        gplot.finish(
            ax,
            title
            or f"{self.n_grids} grids · balance {m['balance_min']:.2f}-{m['balance_max']:.2f} · PP {m['pp_mean']:.2f}"
            + (" · synthetic streets" if self.synthetic else ""),
        )
        return ax

    def explore(self, column: str | None = None, **kwargs: Any) -> folium.Map:
        """Interactive folium map of the grids (needs the ``[explore]`` extra)."""
        try:
            import folium  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("GridPlan.explore needs folium: pip install 'gridplan[explore]'") from exc
        return self.grids.explore(
            column=column or "code",
            categorical=column is None,
            tooltip=list(c for c in self.grids.columns if c != "geometry"),
            **kwargs,
        )

    def report(self, path: str | Path | None = None, **kwargs: Any) -> str | Path:
        """A self-contained HTML report of the plan (see :func:`gridplan.report.plan_report`).

        Parameters
        ----------
        path : str or Path, optional
            Write the page there (UTF-8) and return the path; without it, return the HTML text.
        **kwargs
            ``previous=``, ``posts=``, ``staffing=``, ``routes=``, ``simulation=``, ``title=``,
            ``interactive=``, ``top=`` of :func:`~gridplan.report.plan_report`.

        Returns
        -------
        str or Path

        Examples
        --------
        >>> import gridplan
        >>> plan = partition(gridplan.sample_district(seed=0), 3, seed=0)
        >>> plan.report(title="三个网格").count('class="grid-row"')
        3
        """
        if _REPORT_WRITERS is None:  # pragma: no cover - gridplan/__init__ imports gridplan.report
            raise ImportError("GridPlan.report needs gridplan.report: import gridplan.report")
        plan_report, write_report = _REPORT_WRITERS
        if path is None:
            return plan_report(self, **kwargs)
        return write_report(self, path, **kwargs)

    # ------------------------------------------------------------------ files
    def to_file(self, path: str | Path, *, crs: CRSLike | None = None, district: bool = False) -> Path:
        """Save the plan.

        ``.gpkg``: lossless (units, grids, adjacency, parameters, notes); read it back with
        :meth:`read_file`. With ``district=True`` the file also holds the plan's :attr:`district`
        (its boundary, streets, communities, population and existing grids as ``district_*``
        layers), so that :meth:`read_file` gives back a plan that knows its streets (e.g. for
        ``gridplan simulate --plan PLAN.gpkg`` without ``--district``).
        ``.geojson``/``.json`` and ``.shp``: the grids layer only, for
        desktop GIS and web maps (a Shapefile gets a ``.cpg`` saying UTF-8 so Chinese names
        survive; ``communities`` and ``subdistrict`` become ``comm_codes`` and ``subdist``,
        as dBASE names have at most 10 characters). ``crs`` converts the exported layer, e.g. ``crs="GCJ-02"`` for display on
        Amap/Tencent base maps (only for exports; the GeoPackage stays in the plan's CRS).
        """
        path = _io.as_path(path)
        suffix = path.suffix.lower()
        if district and (suffix != ".gpkg" or crs is not None):
            raise DataError("district=True needs the lossless GeoPackage: a .gpkg path and no crs=")
        if district and self.district is None:
            raise DataError(
                "the plan does not know its district (a plan read from a file saved without it?); set "
                "plan.district = District.read_file(...) first, or save with district=False"
            )
        if suffix == ".gpkg" and crs is None:
            coo = sparse.triu(self.adjacency).tocoo()
            adj = _io.table_layer(
                pd.DataFrame({"i": coo.row.astype(np.int64), "j": coo.col.astype(np.int64), "length_m": coo.data}), self.crs
            )
            params = {**self.params, "notes": self.notes, "source_crs": self.source_crs, "crs": self.crs.to_wkt()}
            frames = {"grids": self.grids, "units": self.units.assign(label=self.labels), "adjacency": adj}
            if district and self.district is not None:  # checked above: district=True needs one
                layers, params["stored_district"] = self.district._stored()
                frames.update({f"district_{k}": f for k, f in layers.items()})
            return _io.write_frames(path, "GridPlan", frames, params)
        out = self.grids if crs is None else gcrs.to_crs(self.grids, crs)
        if suffix in (".geojson", ".json"):
            return _io.atomic_write(path, lambda tmp: out.to_file(tmp, driver="GeoJSON"), verify=_io.verify_rows(len(out)))
        if suffix == ".shp":
            out = out.rename(columns=_SHP_NAMES)  # dBASE names are at most 10 characters

            def shapefile(tmp: Path) -> None:
                out.to_file(tmp, driver="ESRI Shapefile", encoding="UTF-8")
                tmp.with_suffix(".cpg").write_text("UTF-8", encoding="ascii")

            return _io.atomic_write(
                path, shapefile, verify=_io.verify_rows(len(out)), companions=(".shx", ".dbf", ".prj", ".cpg")
            )
        if suffix == ".gpkg":
            return _io.atomic_write(
                path, lambda tmp: out.to_file(tmp, layer="grids", driver="GPKG"), verify=_io.verify_rows(len(out))
            )
        raise DataError(f"unknown file type {path.suffix!r}; use .gpkg (lossless), .geojson or .shp")

    @classmethod
    @_io.guarded_read
    def read_file(cls, path: str | Path) -> GridPlan:
        """Load a plan saved with :meth:`to_file` to a ``.gpkg`` (with its :attr:`district` when saved with it)."""
        frames, params = _io.read_frames(path, "GridPlan")
        crs = pyproj.CRS.from_wkt(params.pop("crs"))
        notes = params.pop("notes")
        stored = params.pop("stored_district", None)
        units = frames["units"].set_crs(crs, allow_override=True)
        labels = units.pop("label").to_numpy()
        _check_saved_layers(path, units, labels, frames["grids"], frames["adjacency"])
        codes_by_label = pd.Series(units["grid"].to_numpy(), index=labels).groupby(level=0).first()
        adj = frames["adjacency"]
        n = len(units)
        m = sparse.coo_matrix(
            (np.r_[adj["length_m"], adj["length_m"]], (np.r_[adj["i"], adj["j"]], np.r_[adj["j"], adj["i"]])), shape=(n, n)
        ).tocsr()
        with _io.reading(path, "units, grids and adjacency"):
            plan = cls(
                units.drop(columns="grid"),
                labels,
                m,
                params=params,
                notes=notes,
                codes=codes_by_label.sort_index().to_numpy(),
                source_crs=params.get("source_crs"),
            )
        plan.grids = frames["grids"].set_crs(crs, allow_override=True)
        if stored is not None:
            from .district import LAYERS, District

            plan.district = District._restored({k: frames[f"district_{k}"] for k in LAYERS}, stored)
        return plan

    @classmethod
    def from_district_grids(
        cls, district: District, *, units: Units | str | None = None, weight: WeightLike | None = None, code: str | None = None
    ) -> GridPlan:
        """The district's existing grids layer as a plan on its units (each unit goes to the grid
        covering most of it), e.g. the 12 grids before a redraw.

        The grids keep their own codes: the ``code`` column of the grids layer (or the column
        named by ``code=``, or by ``grid_code=`` when the district was built); a layer without
        one is numbered "01", "02", ... in its row order, and the notes say so.

        Units outside every existing grid go to the nearest one, and the uncovered area is
        reported with a :class:`~gridplan.errors.GridplanWarning`.
        """
        if len(district.grids) == 0:
            raise DataError("the district has no existing grids; pass grids= to District.from_frames")
        u = units if isinstance(units, Units) else build_units(district, units, weight=weight)
        old = np.asarray(district.grids.geometry.values)
        ug = np.asarray(u.frame.geometry.values)
        tree = shapely.STRtree(old)
        ui, gi = tree.query(ug, predicate="intersects")
        inter = shapely.area(shapely.intersection(ug[ui], old[gi]))
        df = pd.DataFrame({"u": ui, "g": gi, "a": inter}).sort_values(["u", "a", "g"], ascending=[True, False, True])
        best = df[df["a"] > 0].drop_duplicates("u")
        labels = np.full(len(ug), -1)
        labels[best["u"].to_numpy()] = best["g"].to_numpy()
        notes = list(u.notes)
        uncovered = district.shape.difference(shapely.union_all(old)).area
        if uncovered > 1e-6 * district.shape.area:
            msg = (
                f"existing grids leave {uncovered / 1e6:.3f} km² ({uncovered / district.shape.area:.2%}) of the district "
                "uncovered; units there were given to the nearest grid"
            )
            notes.append(msg)
            warnings.warn(msg, GridplanWarning, stacklevel=2)
        missing = np.flatnonzero(labels < 0)
        if len(missing):
            near = tree.query_nearest(ug[missing], return_distance=False, all_matches=False)[1]
            labels[missing] = near
        present = np.unique(labels)
        if len(present) < len(old):
            lost = [
                str(c)
                for c in district.grids.iloc[np.setdiff1d(np.arange(len(old)), present)]
                .get("code", pd.Series(np.setdiff1d(np.arange(len(old)), present)))
                .tolist()
            ]
            raise GeometryError(f"existing grids {lost} hold no unit (too small or outside the district); fix the grid layer")
        remap = np.searchsorted(present, labels)
        column = code or "code"
        if column in district.grids:
            codes = _checked_codes(district.grids[column], column)[present]
        elif code is not None:
            raise DataError(
                f"code={code!r} is not a column of the district's grids layer; its columns are "
                f"{[c for c in district.grids.columns if c != district.grids.geometry.name]}"
            )
        else:
            codes = np.array([f"{i + 1:02d}" for i in present], dtype=object)
            notes.append(
                f"existing grids: the grids layer has no 'code' column, so its {len(present)} grids are "
                "numbered 01, 02, ... in row order; pass code='your column' (resplit) or "
                "grid_code='your column' (District.from_frames) to keep your own codes"
            )
        params = {
            "method": "existing",
            "n_grids": len(present),
            "units": u.kind,
            "weight": u.params["weight"],
            "weight_by": u.weight_by,
            "tolerance": None,
            "seed": None,
            "district_code": district.code,
            "district": district.name,
            "source_crs": district.source_crs,
            "synthetic": bool(district.synthetic),
        }
        if u.params.get("workload"):  # point counts (cases, ...): a redraw that splits a unit shares them out
            params["workload"] = list(u.params["workload"])
        plan = cls(u.frame, remap, u.adjacency, params=params, notes=notes, codes=codes, source_crs=district.source_crs)
        plan.district = district
        return plan


def _checked_codes(column: pd.Series, name: str) -> np.ndarray:
    """The existing grids' codes as strings; missing or repeated codes are refused (they would make two
    grids one in every table)."""
    missing = column.isna().to_numpy() | (column.astype(str).str.strip() == "").to_numpy()
    if missing.any():
        raise DataError(
            f"the grids layer's {name!r} column has no code in rows {column.index[missing][:5].tolist()}; "
            "give every existing grid a code"
        )
    codes = column.astype(str).to_numpy(dtype=object)
    dup = pd.Series(codes).duplicated(keep=False).to_numpy()
    if dup.any():
        raise DataError(
            f"the grids layer's {name!r} column repeats codes {sorted(set(codes[dup]))[:5]} (rows "
            f"{column.index[dup][:5].tolist()}); every existing grid needs its own code"
        )
    return codes


def _fmt(v: Any) -> str:
    return f"{v:.4f}" if isinstance(v, float) else str(v)


def _check_saved_layers(
    path: Any, units: gpd.GeoDataFrame, labels: np.ndarray, grids: gpd.GeoDataFrame, adjacency: pd.DataFrame
) -> None:
    """A saved plan's layers must agree (a grid row deleted or a unit's code edited in desktop GIS is refused)."""

    def bad(what: str) -> DataError:
        return DataError(
            f"{str(path)!r}: the plan's layers disagree: {what}; the file was edited outside gridplan, "
            "save the plan again or restore the file from a backup"
        )

    unit_codes, grid_codes = set(units["grid"].astype(str)), set(grids["code"].astype(str))
    if grids["code"].duplicated().any():
        raise bad(f"grid codes {sorted(grids.loc[grids['code'].duplicated(), 'code'].astype(str))} appear twice")
    if unit_codes != grid_codes:
        lost, empty = sorted(unit_codes - grid_codes), sorted(grid_codes - unit_codes)
        raise bad(
            f"{int(units['grid'].astype(str).isin(lost).sum())} units refer to grids {lost[:5]} missing from the grids layer"
            if lost
            else f"grids {empty[:5]} have no units"
        )
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu" or len(labels) and (labels.min() < 0 or labels.max() >= len(grids)):
        raise bad("unit labels outside the grids layer")
    pairs = pd.Series(units["grid"].astype(str).to_numpy(), index=labels)
    if pairs.groupby(level=0).nunique().gt(1).any():
        raise bad("units of one grid label carry different grid codes")
    ij = adjacency[["i", "j"]].to_numpy()
    if len(ij) and (ij.min() < 0 or ij.max() >= len(units)):
        raise bad("the adjacency refers to units that are not in the units layer")


@dataclass
class PlanComparison:
    """What changes from an old plan to a new one (see :meth:`GridPlan.compare`)."""

    summary: pd.Series
    matching: pd.DataFrame
    transfers: pd.DataFrame
    moved: gpd.GeoDataFrame
    new: GridPlan
    old: GridPlan

    def _repr_html_(self) -> str:
        return (
            f"<div><b>Plan comparison</b>{self.summary.to_frame().to_html()}"
            f"<details><summary>transfers</summary>{self.transfers.round(2).to_html(max_rows=30)}</details></div>"
        )

    @property
    def params(self) -> dict[str, Any]:
        """What was compared: the parameters of the new plan and of the old one."""
        return {"new": dict(self.new.params), "old": dict(self.old.params)}

    def explore(self, **kwargs: Any) -> folium.Map:
        """Interactive folium map: old grid lines, new grid lines, the units that change grid (needs ``[explore]``)."""
        try:
            import folium  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("PlanComparison.explore needs folium: pip install 'gridplan[explore]'") from exc
        m = self.old.grids[["code", self.old.grids.geometry.name]].explore(
            style_kwds={"fillOpacity": 0.0, "color": "#3182bd", "weight": 3}, name="old grids", **kwargs
        )
        m = self.new.grids[["code", self.new.grids.geometry.name]].explore(
            m=m, style_kwds={"fillOpacity": 0.0, "color": "#d62728", "weight": 1, "dashArray": "5"}, name="new grids"
        )
        if len(self.moved):
            moved = self.moved.reset_index()
            m = moved.explore(
                m=m,
                color="#fdae6b",
                name="units that change grid",
                tooltip=[c for c in moved.columns if c != moved.geometry.name][:6],
            )
        return m

    def plot(self, ax: Axes | None = None) -> Axes:
        """Map of what moves: old grid lines, new grid lines, and the units that change grid."""
        from . import plot as gplot

        ax = gplot.axes(ax)
        self.moved.plot(ax=ax, color="#fdae6b", edgecolor="none", zorder=1)
        self.old.grids.boundary.plot(ax=ax, color="#3182bd", linewidth=2.2, zorder=2)
        self.new.grids.boundary.plot(ax=ax, color="#d62728", linewidth=1.0, linestyle="--", zorder=3)
        s = self.summary
        gplot.finish(
            ax,
            f"{s['old_grids']} → {s['new_grids']} grids: {s['disruption']:.1%} of workload moves "
            f"(bound {s['disruption_lower_bound']:.1%})",
            legend=[("old grids", "#3182bd", "-"), ("new grids", "#d62728", "--")],
        )
        return ax


# ---------------------------------------------------------------------- entry points
def _units_for(district: District, units: Any, weight: Any) -> Units:
    if isinstance(units, Units):
        if weight is not None:
            raise DataError("weight= applies when gridplan builds the units; it is already set on the Units given")
        return units
    return build_units(district, units, weight=weight)


HEAVY_RETRY_SHARES = (0.5, 0.25)
"""When a plan with the too-heavy units split still misses the tolerance, :func:`partition` splits
units heavier than these shares of a grid's mean workload too, one share after the other."""


def _heavy_units(
    u: Units, district: District | None, n_grids: Any, tol: float, *, split: bool, strict: bool, share: float | None = None
) -> Units:
    """The units with every unit heavier than ``share`` (default ``1 + tol``) of a grid's mean workload
    split into cells (``split``), or, for units too heavy for one grid, refused with a message naming
    them (``strict``)."""
    if isinstance(n_grids, bool) or not isinstance(n_grids, (int, np.integer)) or n_grids < 1:
        return u  # _check_n says what is wrong
    w = u.frame["weight"].to_numpy(dtype=float)
    share = 1 + tol if share is None else share
    heavy = np.flatnonzero(w > share * w.sum() / int(n_grids))
    if not len(heavy):
        return u
    if split and district is not None:
        return split_heavy_units(u, district, n_grids=int(n_grids), tolerance=tol, share=share)[0]
    heavy = np.flatnonzero(w > (1 + tol) * w.sum() / int(n_grids))
    if not len(heavy):
        return u
    if strict:
        raise InfeasibleError(
            _too_heavy(u, heavy, int(n_grids), tol) + "; pass split_heavy=True to cut them into "
            "cells, ask for fewer grids, or strict=False for the best plan anyway"
        )
    return u


def _too_heavy(u: Units, heavy: np.ndarray, n_grids: int, tol: float) -> str:
    """Names the first units of ``heavy``: how much heavier than a grid's mean each is, and where."""
    w = u.frame["weight"].to_numpy(dtype=float)
    mean = w.sum() / n_grids
    pts = shapely.point_on_surface(np.asarray(u.frame.geometry.values)[heavy[:3]])
    named = "; ".join(
        f"unit {i} weighs {w[i] / mean:.2f} x a grid's mean workload (around ({p.x:.0f}, {p.y:.0f}))" for i, p in zip(heavy, pts)
    )
    return (
        f"{len(heavy)} unit(s) alone weigh more than a grid may (1 + tolerance = {1 + tol:.2f} x the mean): "
        f"{named}{' and more' if len(heavy) > 3 else ''}"
    )


def _locked_labels(units: Units, locked: Sequence[str] | None, old: GridPlan | None) -> np.ndarray | None:
    """-1 for free units, else the position of the locked grid in ``old`` holding the unit."""
    if not locked:
        return None
    if old is None:
        raise DataError("locked= names grids of an existing plan; the district has no grids layer to lock")
    codes = old.grids["code"].to_numpy()
    unknown = [c for c in locked if c not in set(codes)]
    if unknown:
        raise DataError(f"locked grids {unknown} are not in the existing plan; its codes are {list(codes)}")
    old_labels = old.labels  # the old plan is built on the same units
    keep = np.isin(codes[old_labels], list(locked))
    return np.where(keep, old_labels, -1)


def _finish(
    units: Units,
    labels: np.ndarray,
    params: dict[str, Any],
    notes: list[str],
    source_crs: str,
    strict: bool,
    tolerance: float,
    codes: Sequence[str] | np.ndarray | None = None,
) -> GridPlan:
    plan = GridPlan(units.frame, labels, units.adjacency, params=params, notes=notes, codes=codes, source_crs=source_crs)
    if params.get("balance"):
        table = plan.spreads()
        if not table["within"].all():
            msg = _balance.miss_message(table)
            if strict:
                raise InfeasibleError(
                    msg + "; raise that measure's tolerance, use smaller units, or strict=False for the best plan"
                )
            plan.notes.append(msg)
            warnings.warn(msg, GridplanWarning, stacklevel=3)
        return plan
    free = ~plan.grids["code"].isin(params.get("locked") or [])
    w = plan.grids.loc[free, "weight"].to_numpy(dtype=float)
    hi, lo = float(w.max() / w.mean()), float(w.min() / w.mean())
    if hi > 1 + tolerance + 1e-9 or lo < 1 - tolerance - 1e-9:
        scope = "the grids not locked" if (~free).any() else "grid"
        msg = (
            f"no plan within ±{tolerance:.1%} was found: {scope} workloads range {lo:.3f}-{hi:.3f} of the mean "
            f"(off by {max(hi - 1, 1 - lo) - tolerance:.1%})"
        )
        if params.get("nested"):
            msg += "; grids nested in communities are only as balanced as the communities' workloads divide into whole grids"
        if strict:
            raise InfeasibleError(msg + "; use a larger tolerance, smaller units, or strict=False for the best plan")
        plan.notes.append(msg)
        warnings.warn(msg, GridplanWarning, stacklevel=3)
    return plan


def _nest_adjacency(adj: sparse.csr_matrix, groups: np.ndarray, w: np.ndarray, n: int) -> tuple[sparse.csr_matrix, list[str]]:
    """The unit graph without the edges between groups (communities), so that every grid
    stays inside one group; detached fragments of a group (not its heaviest piece) lighter
    than half a grid keep their link to the neighbouring piece they share most boundary
    with, and the notes say so."""
    coo = sparse.triu(adj, k=1).tocoo()
    r, c, d = coo.row, coo.col, coo.data
    same = groups[r] == groups[c]
    inner = sparse.csr_matrix((np.ones(int(same.sum())), (r[same], c[same])), shape=adj.shape)
    _, piece = connected_components(inner, directed=False)
    half = 0.5 * w.sum() / n
    pw0 = np.bincount(piece, weights=w)
    group_of = np.zeros(len(pw0), np.int64)
    group_of[piece] = groups
    main = pd.Series(pw0).groupby(group_of).idxmax().to_numpy()  # each community's heaviest piece
    fragment = np.ones(len(pw0), bool)
    fragment[main] = False
    joined = 0
    while True:
        pw = np.bincount(piece, weights=w, minlength=len(pw0))
        pr, pc = piece[r], piece[c]
        cross = pr != pc
        if not cross.any():
            break
        edges = pd.DataFrame(
            {"a": np.r_[pr[cross], pc[cross]], "b": np.r_[pc[cross], pr[cross]], "len": np.r_[d[cross], d[cross]]}
        )
        a_ = edges["a"].to_numpy()
        edges = edges[(pw[a_] < half) & fragment[a_]]
        if edges.empty:
            break
        edges = edges.groupby(["a", "b"], as_index=False)["len"].sum()
        # the lightest small piece joins the neighbour it shares most boundary with
        a = int(min(edges["a"].unique(), key=lambda x: (pw[x], x)))
        cand = edges[edges["a"] == a].sort_values(["len", "b"], ascending=[False, True])
        piece[piece == a] = int(cand["b"].iloc[0])
        fragment[a] = False
        joined += 1
    keep = piece[r] == piece[c]
    out = sparse.csr_matrix((np.r_[d[keep], d[keep]], (np.r_[r[keep], c[keep]], np.r_[c[keep], r[keep]])), shape=adj.shape)
    notes = []
    if joined:
        notes.append(
            f"nested: {joined} detached fragment(s) of a community lighter than half a grid joined the "
            "neighbouring piece they share most boundary with (their grid crosses that community line)"
        )
    return out, notes


def _allocate(comp_w: np.ndarray, n: int) -> np.ndarray:
    """Grids per piece, at least one each, so that the heaviest workload per grid is as light
    as it can be: one grid each, then every further grid to the piece with the most workload
    per grid (the D'Hondt rule, which minimises that maximum)."""
    alloc = np.ones(len(comp_w), dtype=int)
    while alloc.sum() < n:
        alloc[np.argmax(comp_w / alloc)] += 1
    return alloc


def _nested_blocks(
    q: sparse.csr_matrix,
    pw: np.ndarray,
    pa: np.ndarray,
    pp: np.ndarray,
    n: int,
    *,
    tolerance: float,
    seed: int,
    time_limit: float | None,
) -> list[tuple[list[int], int]]:
    """Plan nested grids: ``(pieces, grids)`` blocks, each one piece cut into one or more grids
    or a group of whole pieces making one grid.  With at least as many grids as pieces, every
    piece gets the number of grids that keeps the heaviest grid lightest (at least one); with
    fewer, pieces of a grid and a half or more get whole grids of their own and the rest are
    grouped on their own adjacency graph, one grid per group.  ``q`` is the pieces' adjacency
    (shared lengths), ``pw``/``pa``/``pp`` their workload, area and perimeter."""
    p = len(pw)
    mu = pw.sum() / n

    def grouped(members: np.ndarray, k: int) -> list[tuple[list[int], int]]:
        if len(members) <= k:
            alloc = _allocate(pw[members], k)
            return [([int(m)], int(a)) for m, a in zip(members, alloc)]
        sub = q[members][:, members]
        kw = dict(areas=pa[members], perimeters=pp[members], seed=seed, time_limit=time_limit)
        # whole pieces rarely balance within the tolerance: search at widening tolerances and
        # keep the plan whose worst grid is nearest the mean
        best: tuple[float, np.ndarray] | None = None
        for tol in sorted({tolerance, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 0.95}):
            if tol < tolerance:
                continue
            res = partition_graph(sub, pw[members], k, tolerance=tol, strict=False, **kw)
            dev = max(res.balance_max - 1.0, 1.0 - res.balance_min)
            if best is None or dev < best[0] - 1e-12:
                best = (dev, res.labels)
            if res.feasible:
                break
        assert best is not None  # the widest tolerance is always tried
        lab = best[1]
        return [([int(m) for m in members[lab == g]], 1) for g in range(k)]

    if p <= n:  # a grid or more for every piece: as many as keep the grids nearest the mean
        return grouped(np.arange(p), n)
    heavy = np.flatnonzero(pw >= 1.5 * mu)
    k_heavy = np.maximum(2, np.rint(pw[heavy] / mu).astype(int))
    rest = np.setdiff1d(np.arange(p), heavy)
    n_rest = n - int(k_heavy.sum())
    if len(heavy) and len(rest) and n_rest >= 1:
        n_c, cc = connected_components(q[rest][:, rest], directed=False)
        if n_c <= n_rest:
            out = [([int(h)], int(k)) for h, k in zip(heavy, k_heavy)]
            for c, k in enumerate(_allocate(np.bincount(cc, weights=pw[rest]), n_rest)):
                out += grouped(rest[cc == c], int(k))
            return out
    return grouped(np.arange(p), n)


def _solve(
    units: Units,
    n: int,
    *,
    tolerance: float,
    seed: int,
    groups: np.ndarray | None,
    locked: np.ndarray | None,
    time_limit: float | None,
    strict: bool,
    old_labels: np.ndarray | None = None,
    nest: np.ndarray | None = None,
    notes: list[str] | None = None,
    balance: dict[str, float] | None = None,
    effort: float = 1.0,
) -> np.ndarray:
    """Run the kernel, keeping locked grids exactly as they are (they are cut out of the graph).

    With ``nest`` (a group id per unit), grids never cross group lines: the graph is cut at them
    and every piece gets its own grids."""
    f = units.frame
    w = f["weight"].to_numpy(dtype=float)
    w = np.where(w > 0, w, max(w.mean(), 1e-12) * 1e-9)  # empty units (parks, water) still belong somewhere
    areas, perims = f["area_m2"].to_numpy(float), f["perimeter_m"].to_numpy(float)
    adj = units.adjacency
    if nest is not None:
        adj, nest_notes = _nest_adjacency(sparse.csr_matrix(adj), nest, w, n)
        if notes is not None:
            notes.extend(nest_notes)
    free = np.ones(len(f), bool) if locked is None else locked < 0
    n_locked = 0 if locked is None else len(np.unique(locked[locked >= 0]))
    n_free = n - n_locked
    labels = np.full(len(f), -1)
    if locked is not None:
        _, lab = np.unique(locked[locked >= 0], return_inverse=True)
        labels[locked >= 0] = n_free + lab
    if n_free < 1:
        raise InfeasibleError(f"{n_locked} grids are locked but only {n} are asked for; ask for more grids")
    idx = np.flatnonzero(free)
    sub = adj[idx][:, idx]
    n_comp, comp = connected_components(sub, directed=False)
    comp_w = np.bincount(comp, weights=w[idx])

    def cut(members: np.ndarray, k: int) -> np.ndarray:
        """Labels 0..k-1 of ``members`` (a connected piece) in ``k`` grids."""
        if strict and not balance:
            _check_piece_heavy(f, w, members, k, tolerance, piece=_piece_name(n_comp, n_locked, nest))
        a = adj[members][:, members]
        kw: dict[str, Any] = dict(
            areas=areas[members], perimeters=perims[members], tolerance=tolerance, seed=seed, time_limit=time_limit, strict=strict
        )
        if balance:
            return _cut_balanced(
                a,
                f.iloc[members],
                k,
                balance,
                kw,
                None if old_labels is None else old_labels[members],
                None if groups is None or nest is not None else groups[members],
                effort,
            )
        if old_labels is not None:
            _, old_sub = np.unique(old_labels[members], return_inverse=True)
            return resplit_graph(a, w[members], old_sub, k, **kw).labels
        cen = shapely.get_coordinates(shapely.centroid(np.asarray(f.geometry.values)[members]))
        cen = quantize(cen - cen.min(axis=0), QUANTUM["centroid_m"])  # a shifted copy gives the same numbers
        inner = None if groups is None or nest is not None else groups[members]  # nested: one community
        return partition_graph(a, w[members], k, groups=inner, centroids=cen, effort=effort, **kw).labels

    if nest is not None:
        # pieces of a grid and a half or more get whole grids of their own; the others make one grid
        # each, or, where they outnumber the grids left, are grouped, whole, into one grid per group
        full = units.adjacency[idx][:, idx]
        ind = sparse.csr_matrix((np.ones(len(idx)), (np.arange(len(idx)), comp)), shape=(len(idx), n_comp))
        q = sparse.csr_matrix(ind.T @ full @ ind)
        inside = q.diagonal()
        q.setdiag(0)
        q.eliminate_zeros()
        pa = np.bincount(comp, weights=areas[idx], minlength=n_comp)
        pp = np.bincount(comp, weights=perims[idx], minlength=n_comp) - inside
        blocks = _nested_blocks(q, comp_w, pa, pp, n_free, tolerance=tolerance, seed=seed, time_limit=time_limit)
        offset = 0
        for pieces, k in blocks:
            members = idx[np.isin(comp, pieces)]
            labels[members] = offset + (0 if k == 1 else cut(members, k))
            offset += k
        if notes is not None:
            union = sum(1 for pieces, k in blocks if k == 1 and len(pieces) > 1)
            single = sum(1 for pieces, k in blocks if k == 1 and len(pieces) == 1)
            split = [k for pieces, k in blocks if k > 1]
            notes.append(
                f"nested: {n_comp} community pieces, {n_free} grids: {single} grids are one community "
                f"(piece) each, {union} are unions of whole communities, {sum(split)} lie inside the "
                f"{len(split)} communities cut into several grids"
            )
        return labels
    if n_comp > n_free:
        why = ("the locked grids cut the free units" if n_locked else "the district falls") + f" into {n_comp} pieces"
        raise InfeasibleError(
            f"{why} that do not touch (separate parts of the district), more than the {n_free} grids "
            "to draw, and no grid may span two pieces; ask for at least "
            f"{n_comp + n_locked} grids" + (" or lock fewer" if n_locked else "")
        )
    # parts per piece in proportion to weight (largest remainder), at least one each
    share = comp_w / comp_w.sum() * n_free
    alloc = np.maximum(1, np.floor(share).astype(int))
    while alloc.sum() > n_free:
        alloc[np.argmax(alloc - share)] -= 1
    while alloc.sum() < n_free:
        alloc[np.argmax(share - alloc)] += 1
    offset = 0
    for c in range(n_comp):
        members = idx[comp == c]
        k = int(alloc[c])
        labels[members] = offset + cut(members, k)
        offset += k
    return labels


def _piece_name(n_comp: int, n_locked: int, nest: np.ndarray | None) -> str:
    """What a piece of the unit graph cut on its own is, for messages."""
    if nest is not None:
        return "its community (grids are nested in communities)"
    if n_locked:
        return "the units the locked grids leave free"
    if n_comp == 1:
        return "the district"
    return f"its part of the district ({n_comp} parts that do not touch; grids are shared out among them by workload)"


def _check_piece_heavy(f: pd.DataFrame, w: np.ndarray, members: np.ndarray, k: int, tolerance: float, *, piece: str) -> None:
    """A unit heavier than ``1 + tolerance`` times the mean of the ``k`` grids drawn over its piece makes
    that piece unbalanceable: refused naming the unit (its row label and where it is), not the kernel's
    index within the piece."""
    mean, _, hi = bounds(float(w[members].sum()), k, tolerance)  # the kernel's own bound
    i = int(members[np.argmax(w[members])])
    if w[i] <= hi:
        return
    p = shapely.point_on_surface(f.geometry.values[i])
    raise InfeasibleError(
        f"unit {f.index[i]!r} (around ({p.x:.0f}, {p.y:.0f})) alone weighs {w[i] / mean:.3f} x the mean "
        f"workload of the {k} grid(s) drawn over {piece}, more than ±{tolerance:.1%} allows (a cell cut from a "
        "heavy unit stays this heavy when its workload sits on points too close together to cut apart); use "
        "smaller units, ask for fewer grids, raise the tolerance or pass strict=False for the best plan anyway"
    )


def _cut_balanced(
    adj: sparse.csr_matrix,
    frame: gpd.GeoDataFrame,
    k: int,
    balance: dict[str, float],
    kw: dict[str, Any],
    old_labels: np.ndarray | None,
    groups: np.ndarray | None,
    effort: float = 1.0,
) -> np.ndarray:
    """Labels of a connected piece cut into ``k`` grids balanced on every measure of ``balance``."""
    cen = shapely.centroid(np.asarray(frame.geometry.values))
    res = partition_multi(
        adj,
        _balance.measure_matrix(frame, balance),
        np.array(list(balance.values())),
        k,
        names=list(balance),
        areas=kw["areas"],
        perimeters=kw["perimeters"],
        seed=kw["seed"],
        groups=groups,
        centroids=np.column_stack([shapely.get_x(cen), shapely.get_y(cen)]),
        old_labels=old_labels,
        time_limit=kw["time_limit"],
        strict=False,
        effort=effort,
    )
    return res.labels


def _with_balance(u: Units, balance: Any, district: District | None = None) -> tuple[Units, dict[str, float] | None]:
    """The units with their ``weight`` set to the combined measures when ``balance`` is given
    (and ``patrol_m`` computed from the district's network when ``patrol_km`` is asked for)."""
    if balance is None:
        return u, None
    bal = _balance.check_balance(balance)
    frame = u.frame.copy()
    if any(_balance.MEASURE_COLUMNS.get(m) == "patrol_m" for m in bal) and "patrol_m" not in frame:
        if district is None or len(district.streets) == 0:
            raise DataError("balance on 'patrol_km' needs the district's streets; partition a District with streets")
        frame["patrol_m"] = _balance.patrol_lengths(frame, district)
    x = _balance.measure_matrix(frame, bal)
    frame["weight"] = _balance.combined_weight(x, np.array(list(bal.values())))
    label = _balance.label(bal)
    return Units(
        frame=frame,
        adjacency=u.adjacency,
        kind=u.kind,
        weight_by=label,
        params={**u.params, "weight": None, "balance": bal},
        notes=[*u.notes, f"weight: {label}"],
        islands=u.islands,
    ), bal


def partition(
    district: District,
    n_grids: int,
    *,
    units: Units | str | None = None,
    weight: WeightLike | None = None,
    tolerance: float = 0.03,
    seed: int = 0,
    respect: str | None = "communities",
    nested: bool = False,
    method: str = "multilevel",
    locked: Sequence[str] | None = None,
    strict: bool = True,
    time_limit: float | None = None,
    balance: dict[str, float] | None = None,
    split_heavy: bool = True,
    effort: float = 1.0,
) -> GridPlan:
    """Cut a district into ``n_grids`` balanced, contiguous, compact grids.

    Parameters
    ----------
    district : District
    n_grids : int
    units : {"blocks", "communities", "cells"} or Units, optional
        The atoms (see :func:`gridplan.units.build_units`); default street blocks.
    weight : str or dict, optional
        The workload to balance (default population, else street length).
    tolerance : float
        Every grid's workload within ±tolerance of the mean (default ±3 %).
    seed : int
        Same seed, same plan.
    respect : {"communities", None}
        Keep grid lines on community lines where balance allows (a preference, weighed
        against compactness under the hard balance bound).
    nested : bool
        Make community lines hard: no grid line runs through a community where it could
        run on a community line.  With at least as many grids as communities, every grid
        lies inside one community: each community gets whole grids (at least one; as many
        as keep its grids' workload closest to the district's mean) and is cut on its own.
        With fewer grids than communities, every grid is a union of whole communities (the
        communities are partitioned on their own adjacency graph).  A piece of a community
        lighter than half a grid (a small community, or a detached corner of one) goes
        with the neighbouring piece it shares most boundary with, and the notes say so.  Balance is
        then what the communities allow: outside the tolerance, ``strict=True`` raises
        :class:`InfeasibleError` and ``strict=False`` returns the plan with a warning saying by how much it misses.
    method : {"multilevel"}
        Multilevel partitioning with contiguity-preserving boundary refinement.
    locked : list of str, optional
        Codes of the district's existing grids to keep exactly as they are; the rest of the
        district is cut into ``n_grids - len(locked)`` grids, balanced among themselves
        (the tolerance applies to the grids that are not locked).
    strict : bool
        Raise :class:`InfeasibleError` when no plan within tolerance is found (default), or
        return the best plan with a :class:`GridplanWarning` saying by how much it misses.
    time_limit : float, optional
        Seconds for the improvement phase.
    balance : dict, optional
        Several workloads at once, each with its own tolerance, e.g.
        ``{"population": 0.05, "street_km": 0.10, "cases": 0.10}``: every grid within
        ±5 % of the mean population, ±10 % of the mean street length and ±10 % of the
        mean number of cases (``cases`` counted per unit by
        ``build_units(district, workload={"cases": ledger})``, passed as ``units=``).
        Replaces ``weight=`` and ``tolerance=``; ``strict=False`` returns the best plan
        and the warning names every measure that misses, by how much.
        :meth:`GridPlan.spreads` and :meth:`GridPlan.metrics` report every measure.
    split_heavy : bool
        A unit that alone weighs more than a grid may (``1 + tolerance`` times the mean: a large
        campus, park or rural block) is cut into square cells clipped to it, each at most
        ``tolerance`` times the mean where the workload allows
        (:func:`gridplan.units.split_heavy_units`), and the notes name it.  Should the plan still
        miss the tolerance, units heavier than half a grid, then a quarter, are split too
        (:data:`HEAVY_RETRY_SHARES`; not for ``units="communities"`` or ``nested=True``, where
        whole communities are the point).  With ``False`` a unit too heavy for one grid is refused
        with :class:`InfeasibleError` naming it (or, with ``strict=False``, kept whole in a plan
        outside the tolerance).  Not with ``balance=``: there the multi-measure kernel names the
        measure that misses.
    effort : float
        Search effort (default 1): the number of starts and polished starts for one workload,
        the annealing's steps for several (``balance=``), times ``effort``.  More effort buys
        more compact grids for proportionally more time, on the whole and not for every seed
        (three measures, seed 0: Polsby-Popper mean on the sample district's blocks 0.35 at 1,
        0.34 at 3, 0.37 at 10; on 5,228 cells 0.38, 0.44, 0.46; ``benchmarks/RESULTS.md``);
        less is faster.  Same effort and seed, same plan.  Kept in ``params``.

    Returns
    -------
    GridPlan
    """
    if balance is not None and weight is not None:
        raise DataError("give either weight= (one workload) or balance= (several, each with its tolerance), not both")
    _validate.choice(method, "method", list(METHODS))
    _validate.choice(respect, "respect", ("communities", None))
    nested = _validate.boolean(nested, "nested")
    tol = _check_tolerance(tolerance)
    seed, strict, time_limit, locked = _check_options(seed, strict, time_limit, locked)
    effort = float(_validate.number(effort, "effort (1 = the default search)", above=0))
    given, bal = _with_balance(_units_for(district, units, weight), balance, district)
    split_heavy = bool(split_heavy) and not bal  # several measures: the multi-measure kernel says which one misses
    options: dict[str, Any] = dict(
        tol=tol,
        seed=seed,
        respect=respect,
        nested=nested,
        method=method,
        locked=locked,
        time_limit=time_limit,
        split_heavy=split_heavy,
        bal=bal,
        effort=effort,
    )
    _check_n(n_grids, len(given))  # more grids than units is refused before anything is split
    retry = split_heavy and not nested and given.kind != "communities"  # whole communities stay whole if they can
    shares = [1 + tol, *(s for s in HEAVY_RETRY_SHARES if s < 1 + tol and retry)] if split_heavy else [None]
    previous = given
    for attempt, share in enumerate(shares):
        last = attempt == len(shares) - 1
        u = _heavy_units(given, district, n_grids, tol, split=split_heavy, strict=strict, share=share)
        if attempt and len(u) == len(previous):
            continue  # nothing heavier than this share: the same units as the last try
        previous = u
        try:
            plan = _partition_units(district, u, n_grids, strict=strict if last else True, **options)
        except InfeasibleError:
            if last:
                raise
            continue
        if attempt:
            plan.notes.append(
                f"heavy units: with only the units too heavy for one grid split, no plan within "
                f"±{tol:.1%} was found; units heavier than {share:g} x a grid's mean workload were "
                "split too"
            )
        return plan
    return _partition_units(district, previous, n_grids, strict=strict, **options)


def _partition_units(
    district: District,
    u: Units,
    n_grids: Any,
    *,
    tol: float,
    seed: int,
    respect: str | None,
    nested: bool,
    method: str,
    locked: Sequence[str] | None,
    strict: bool,
    time_limit: float | None,
    split_heavy: bool,
    bal: dict[str, float] | None,
    effort: float = 1.0,
) -> GridPlan:
    """:func:`partition` on given units."""
    n = _check_n(n_grids, len(u))
    groups = None
    has_communities = bool((u.frame["community"] != "").any())
    if respect == "communities" and has_communities:
        groups = pd.factorize(u.frame["community"])[0]
    nest = None
    if nested:
        if not has_communities:
            raise DataError(
                "nested=True keeps grids inside communities, but no unit lies in a community; give the "
                "district a communities layer (District.from_frames(communities=...))"
            )
        nest = pd.factorize(u.frame["community"])[0]
    old = GridPlan.from_district_grids(district, units=u) if locked else None
    lock = _locked_labels(u, locked, old)
    notes = list(u.notes)
    labels = _solve(
        u,
        n,
        tolerance=tol,
        seed=seed,
        groups=groups,
        locked=lock,
        time_limit=time_limit,
        strict=strict,
        nest=nest,
        notes=notes,
        balance=bal,
        effort=effort,
    )
    params = {
        "method": method,
        "n_grids": n,
        "units": u.kind,
        "weight": u.params["weight"],
        "weight_by": u.weight_by,
        "tolerance": tol,
        "seed": seed,
        "respect": respect,
        "nested": bool(nested),
        "locked": list(locked or []),
        "strict": strict,
        "split_heavy": bool(split_heavy),
        "effort": float(effort),
        "district": district.name,
        "district_code": district.code,
        "source_crs": district.source_crs,
        "synthetic": bool(district.synthetic),
    }
    if u.params.get("workload"):  # point counts (cases, ...): a redraw that splits a unit shares them out
        params["workload"] = list(u.params["workload"])
    if bal:
        params["balance"] = bal
    codes = None
    if lock is not None and old is not None:  # locked grids keep their codes; the others get unused ones
        codes, used = _continuing_codes(old, labels, u, keep=old.grids["code"].isin(list(locked or [])).to_numpy())
        params["retired_codes"] = sorted(used - set(codes))
    plan = _finish(u, labels, params, notes, district.source_crs, strict, tol, codes)
    plan.district = district
    return plan


def resplit(
    plan: GridPlan | District,
    n_grids: int,
    *,
    tolerance: float = 0.05,
    seed: int = 0,
    locked: Sequence[str] | None = None,
    strict: bool = True,
    time_limit: float | None = None,
    units: Units | str | None = None,
    weight: WeightLike | None = None,
    balance: dict[str, float] | None = None,
    code: str | None = None,
    split_heavy: bool = True,
) -> GridPlan:
    """Redraw an existing plan into ``n_grids`` grids with the least disruption.

    Codes mean the same grid before and after: every new grid that continues an old one (the
    one-to-one matching that keeps the most workload in place, as :meth:`GridPlan.compare` matches
    them) keeps the old grid's code; every other new grid gets a code never used before in the
    district (neither by the old plan nor by any grid an earlier redraw retired: ``params
    ["retired_codes"]`` remembers them), numbered after the codes its community has used.

    Parameters
    ----------
    plan : GridPlan or District
        The existing plan, or a District whose ``grids`` layer holds the existing grid
        polygons (as :func:`gridplan.datasets.sample_district` has).
    n_grids : int
    tolerance : float
        Balance tolerance of the new grids (default ±5 %).
    seed, locked, strict, time_limit
        As in :func:`partition`; locked grids keep their shape and code.
    units, weight
        Only when ``plan`` is a District: the units and workload to use.
    balance : dict, optional
        Several workloads at once, each with its tolerance, as in :func:`partition`
        (replaces ``tolerance=``); the redraw starts from the least-disruption redraw
        on the combined workload.
    code : str, optional
        Only when ``plan`` is a District: the column of its grids layer holding the existing
        grids' codes (default: the district's ``grid_code`` column, ``"code"`` unless
        :meth:`~gridplan.district.District.from_frames` was told otherwise).
    split_heavy : bool
        As in :func:`partition`: a unit that alone weighs more than a new grid may (``1 +
        tolerance`` times the new mean; more grids make the mean lighter) is cut into cells
        clipped to it (:func:`gridplan.units.split_heavy_units`, needs the plan's
        :attr:`~GridPlan.district`), and the notes name it; should the redraw still miss the
        tolerance, units heavier than half a grid, then a quarter, are split too
        (:data:`HEAVY_RETRY_SHARES`).  Every cell starts in the old grid of the unit it was cut
        from, so disruption, codes and :meth:`GridPlan.compare` count it there.  With ``False``
        such a unit is refused with :class:`InfeasibleError` naming it (or, with ``strict=False``,
        kept whole in a plan outside the tolerance).  Not with ``balance=``, as in :func:`partition`.

    Returns
    -------
    GridPlan
        Its ``previous`` attribute is the old plan; ``new.compare(new.previous)`` reports
        disruption, its lower bound and the transfers (split units' cells counted in the old
        grid of the unit they were cut from).
    """
    from .district import District

    tol = _check_tolerance(tolerance)
    seed, strict, time_limit, locked = _check_options(seed, strict, time_limit, locked)
    if isinstance(plan, District):
        old = GridPlan.from_district_grids(plan, units=units, weight=weight, code=code)
    elif isinstance(plan, GridPlan):
        if units is not None or weight is not None or code is not None:
            raise DataError(
                "units=, weight= and code= apply when resplitting a District; a GridPlan keeps its own units, workload and codes"
            )
        old = plan
    else:
        raise DataError(f"resplit needs a GridPlan or a District with a grids layer, got {type(plan).__name__}")
    u = Units(
        frame=old.units.drop(columns="grid"),
        adjacency=old.adjacency,
        kind=str(old.params.get("units")),
        weight_by=str(old.params.get("weight_by")),
        params={"weight": old.params.get("weight"), "workload": _shared_columns(old)},
    )
    u, bal = _with_balance(u, balance, old.district)
    split_heavy = _validate.boolean(split_heavy, "split_heavy") and not bal  # several measures: as partition
    _check_n(n_grids, len(u))  # more grids than units is refused before anything is split
    retry = split_heavy and u.kind != "communities"  # whole communities stay whole if they can
    shares = [1 + tol, *(s for s in HEAVY_RETRY_SHARES if s < 1 + tol and retry)] if split_heavy else [None]
    options: dict[str, Any] = dict(
        n_grids=n_grids, tol=tol, seed=seed, locked=locked, time_limit=time_limit, bal=bal, split_heavy=split_heavy
    )
    previous: tuple[Units, np.ndarray] | None = None
    for attempt, share in enumerate(shares):
        last = attempt == len(shares) - 1
        cut = _heavy_cells(old, u, n_grids, tol, split=split_heavy, strict=strict, share=share)
        if previous is not None and len(cut[0]) == len(previous[0]):
            continue  # nothing heavier than this share: the same units as the last try
        previous = cut
        try:
            new = _redraw(old, *cut, strict=strict if last else True, **options)
        except InfeasibleError:
            if last:
                raise
            continue
        if attempt:
            new.notes.append(
                f"heavy units: with only the units too heavy for one grid split, no redraw within "
                f"±{tol:.1%} was found; units heavier than {share:g} x a grid's mean workload were "
                "split too"
            )
        return new
    assert previous is not None
    return _redraw(old, *previous, strict=strict, **options)


def _shared_columns(old: GridPlan) -> list[str]:
    """Workload columns of ``old``'s units that are counts (point workloads, weighed on, or balanced): a split unit's cells
    share them out by area rather than copy them (see :func:`gridplan.units.split_heavy_units`)."""
    from .units import _COMPUTED, _FACTOR_NAMES

    spec = old.params.get("weight")
    names = list(spec) if isinstance(spec, dict) else [spec] if isinstance(spec, str) else []
    names += [*(old.params.get("balance") or {}), *(old.params.get("workload") or [])]
    cols = {_balance.MEASURE_COLUMNS.get(n, _FACTOR_NAMES.get(n, n)) for n in names}
    return sorted(c for c in cols if c in old.units and c not in _COMPUTED)


def _heavy_cells(
    old: GridPlan, u: Units, n_grids: Any, tol: float, *, split: bool, strict: bool, share: float | None
) -> tuple[Units, np.ndarray]:
    """The units for a redraw of ``old`` (heavy ones split into cells as :func:`_heavy_units` does) and
    the old grid of every one of them: a cell's is the old grid of the unit it was cut from."""
    w = u.frame["weight"].to_numpy(dtype=float)
    limit = (1 + tol if share is None else share) * w.sum() / int(n_grids)
    if not split or not (w > limit).any():
        return _heavy_units(u, old.district, n_grids, tol, split=False, strict=strict), old.labels
    if old.district is None:  # split_heavy_units weighs cells on the district's residents and streets
        heavy = np.flatnonzero(w > (1 + tol) * w.sum() / int(n_grids))
        if len(heavy):
            msg = (
                _too_heavy(u, heavy, int(n_grids), tol) + "; they cannot be split: the plan does not know its "
                "district (read from a file saved without it); set plan.district = District.read_file(...) "
                "first, ask for fewer grids, or strict=False for the best plan anyway"
            )
            if strict:
                raise InfeasibleError(msg)
            warnings.warn(msg, GridplanWarning, stacklevel=4)
        return u, old.labels
    cells = _heavy_units(u, old.district, n_grids, tol, split=True, strict=strict, share=share)
    return cells, old.labels[_parent_units(u, cells)]


def _parent_units(u: Units, cells: Units) -> np.ndarray:
    """Position in ``u`` of the unit every unit of ``cells`` lies in (most of its area: the cells of
    a split unit tile it, and the other units are the same polygons, their corners snapped by a micrometre)."""
    old_g, new_g = np.asarray(u.frame.geometry.values), np.asarray(cells.frame.geometry.values)
    ci, ui = shapely.STRtree(old_g).query(new_g, predicate="intersects")
    area = shapely.area(shapely.intersection(new_g[ci], old_g[ui]))
    df = pd.DataFrame({"c": ci, "u": ui, "a": area}).sort_values(["c", "a", "u"], ascending=[True, False, True])
    best = df[df["a"] > 0].drop_duplicates("c")
    parent = np.full(len(new_g), -1)
    parent[best["c"].to_numpy()] = best["u"].to_numpy()
    if (parent < 0).any():  # pragma: no cover - cells are cut from the units
        raise GeometryError(f"split units {np.flatnonzero(parent < 0)[:5].tolist()} lie in no unit of the old plan")
    return parent


def _redraw(
    old: GridPlan,
    u: Units,
    old_labels: np.ndarray,
    *,
    n_grids: Any,
    tol: float,
    seed: int,
    locked: Sequence[str],
    strict: bool,
    time_limit: float | None,
    bal: dict[str, float] | None,
    split_heavy: bool,
) -> GridPlan:
    """:func:`resplit` on given units, ``old_labels`` their grids in ``old``."""
    n = _check_n(n_grids, len(u))
    lock = None
    if locked:
        codes = old.grids["code"].to_numpy()
        unknown = [c for c in locked if c not in set(codes)]
        if unknown:
            raise DataError(f"locked grids {unknown} are not in the existing plan; its codes are {list(codes)}")
        lock = np.where(np.isin(codes[old_labels], list(locked)), old_labels, -1)
    labels = _solve(
        u,
        n,
        tolerance=tol,
        seed=seed,
        groups=None,
        locked=lock,
        time_limit=time_limit,
        strict=strict,
        old_labels=old_labels,
        balance=bal,
    )
    params = {
        **old.params,
        "method": "resplit",
        "n_grids": n,
        "tolerance": tol,
        "seed": seed,
        "locked": list(locked or []),
        "strict": strict,
        "previous_n_grids": old.n_grids,
        "split_heavy": bool(split_heavy),
    }
    if bal:
        params.update(balance=bal, weight_by=u.weight_by)
    else:
        params.pop("balance", None)
    codes, used = _continuing_codes(old, labels, u, keep=np.ones(old.n_grids, dtype=bool), old_labels=old_labels)
    params["retired_codes"] = sorted(used - set(codes))
    kept = int(np.isin(codes, old.grids["code"].astype(str).to_numpy()).sum())
    split_notes = [note for note in u.notes if note.startswith("heavy units")]
    notes = [
        *old.notes,
        *split_notes,
        f"codes: {kept} grids continue an old grid and keep its code, {n - kept} new grids got "
        f"codes never used before" + (f"; retired: {', '.join(params['retired_codes'])}" if params["retired_codes"] else ""),
    ]
    new = _finish(u, labels, params, notes, old.source_crs, strict, tol, codes)
    new.previous = old
    new.district = old.district
    if len(u.frame) != len(old.units):
        new._previous_labels = old_labels
    return new
