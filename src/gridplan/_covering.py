"""Shared pieces of the location models: street distances, the covering rows, solutions and their status.

Used by :mod:`gridplan.posts` (coverage, p-median) and its kernel :mod:`gridplan._location` (set cover,
p-center, capacitated coverage), so that the kernel never imports the module above it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

HIGHS_MIP_REL_GAP = 1e-4
"""HiGHS's own default relative MIP gap: an exact solve that HiGHS reports optimal with a gap up to this
counts as ``status == "optimal"`` (see :class:`Posts`)."""
_STATUS = {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded", 4: "error"}


def _chunks(n_rows: int, n_cols: int, budget: float = 4e6) -> list[slice]:
    size = max(1, int(budget // max(n_cols, 1)))
    return [slice(i, min(i + size, n_rows)) for i in range(0, n_rows, size)]


def _sparse_distances(csr: sparse.csr_matrix, sources: np.ndarray, limit: float, progress: bool, desc: str) -> sparse.csr_matrix:
    """Street distances (len(sources) x n_nodes) within ``limit``, as a sparse matrix of d + 1e-9.

    The tiny offset keeps zero distances (a source to itself) as stored entries.
    """
    from tqdm.auto import tqdm

    n = csr.shape[0]
    parts = []
    for sl in tqdm(_chunks(len(sources), n), desc=desc, unit="chunk", disable=not progress):
        d = csgraph.dijkstra(csr, directed=False, indices=sources[sl], limit=limit)
        r, c = np.nonzero(np.isfinite(d))
        parts.append(sparse.csr_matrix((d[r, c] + 1e-9, (r, c)), shape=(sl.stop - sl.start, n)))
    return sparse.vstack(parts).tocsr() if parts else sparse.csr_matrix((0, n))


@dataclass
class _Solution:
    chosen: np.ndarray  # candidate positions
    status: str
    objective: float  # covered demand (coverage) or demand-weighted street distance (p-median)
    bound: float
    gap: float
    method: str
    seconds: float
    detail: dict[str, Any] = field(default_factory=dict)


def _gap(obj: float, bound: float, maximise: bool) -> float:
    if not (np.isfinite(obj) and np.isfinite(bound)):
        return float("nan")
    diff = (bound - obj) if maximise else (obj - bound)
    return max(0.0, diff) / max(abs(obj), 1e-9)


@dataclass
class _CoverRows:
    """Demand rows of the covering model, one per (street node, set of covering candidates).

    A point at node i with snap distance s is covered by candidate j when d(j, i) <= max_walk - s,
    so the points of one node have nested covering sets: a chain of rows, each adding a band of
    candidates to the previous row's set. ``band[r]`` holds those candidates and ``prev[r]`` the
    previous row of the chain (-1 for the first).
    """

    band: list[np.ndarray]
    prev: np.ndarray
    weight: np.ndarray
    row_of_point: np.ndarray
    m: int

    def matrix(self) -> sparse.csr_matrix:
        """Rows x candidates 0/1 matrix of the full covering sets."""
        sets: list[np.ndarray] = []
        for r, b in enumerate(self.band):
            sets.append(b if self.prev[r] < 0 else np.r_[sets[self.prev[r]], b])
        nnz = np.array([len(s) for s in sets], dtype=np.int64)
        cols = np.concatenate(sets) if sets else np.zeros(0, np.int64)
        return sparse.csr_matrix((np.ones(len(cols)), (np.repeat(np.arange(len(sets)), nnz), cols)), shape=(len(sets), self.m))

    def chain(self) -> sparse.csr_matrix:
        """Rows x (candidates + rows): z_r - z_prev(r) - sum_{j in band r} y_j (<= 0 in the model)."""
        n_r = len(self.band)
        lens = np.array([len(b) for b in self.band], dtype=np.int64)
        has = self.prev >= 0
        rows = np.r_[np.repeat(np.arange(n_r), lens), np.arange(n_r), np.flatnonzero(has)]
        cols = np.r_[
            np.concatenate(self.band) if n_r else np.zeros(0, np.int64), self.m + np.arange(n_r), self.m + self.prev[has]
        ]
        vals = np.r_[-np.ones(int(lens.sum())), np.ones(n_r), -np.ones(int(has.sum()))]
        return sparse.csr_matrix((vals, (rows, cols)), shape=(n_r, self.m + n_r))


def _coverage_rows(cov: sparse.csr_matrix, dem: Any, max_walk: float) -> _CoverRows:
    """Group demand points by (node, number of candidates within max_walk - snap): see :class:`_CoverRows`.

    ``cov`` is candidates x nodes (street distances within max_walk, stored as d + 1e-9).
    """
    by_node = cov.T.tocsr()  # nodes x candidates
    node, snap, w = dem.node, dem.snap, dem.weight
    row_of_point = np.full(len(node), -1)
    band: list[np.ndarray] = []
    prev: list[int] = []
    weights: list[float] = []
    order = np.argsort(node, kind="stable")
    bounds = np.searchsorted(node[order], np.arange(by_node.shape[0] + 1))
    for i in np.unique(node):
        pts = order[bounds[i] : bounds[i + 1]]
        lo, hi = by_node.indptr[i], by_node.indptr[i + 1]
        if hi == lo:
            continue
        cols, d = by_node.indices[lo:hi], by_node.data[lo:hi] - 1e-9
        srt = np.lexsort((cols, d))
        cols, d = cols[srt], d[srt]
        count = np.searchsorted(d, max_walk - snap[pts] + 1e-7, side="right")
        last, last_k = -1, 0
        for k in np.unique(count):
            if k == 0:
                continue
            members = pts[count == k]
            band.append(cols[last_k:k].astype(np.int64))
            prev.append(last)
            weights.append(float(w[members].sum()))
            last, last_k = len(band) - 1, int(k)
            row_of_point[members] = last
    return _CoverRows(band, np.asarray(prev, dtype=np.int64), np.asarray(weights, float), row_of_point, cov.shape[0])


def _status(res: Any) -> str:
    return _STATUS.get(int(res.status), str(res.status))


def _final_status(raw: str, method: str, gap: float, mip_gap: float) -> str:
    """The reported status: "optimal" only for a proven optimum (see :class:`Posts`).

    ``raw`` is what the model code found: "optimal" when HiGHS or a bound proved the answer within
    ``mip_gap``, "heuristic" for an unproven heuristic answer, "time_limit" when HiGHS stopped early.
    The status says what is proven, whatever found the answer: a gap of 0 is optimal, a gap
    within ``mip_gap`` (and above HiGHS's own tolerance for an exact solve) is within_gap.
    """
    if raw not in ("optimal", "heuristic", "time_limit"):
        return raw
    ok = bool(np.isfinite(gap))
    if ok and (gap <= 1e-12 or (raw == "optimal" and method == "exact" and gap <= HIGHS_MIP_REL_GAP + 1e-12)):
        return "optimal"
    if raw == "optimal" or (ok and gap <= mip_gap + 1e-12):
        return "within_gap"
    return raw
