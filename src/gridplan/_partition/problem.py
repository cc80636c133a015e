"""The partitioning problem: checked input arrays, balance bounds and the options every step reads.

:func:`prepare` checks the public arguments (shapes, positivity, symmetry, connectivity) and
:class:`Problem` carries the result through the steps (starts, search, polish, resplit), so
that no step threads a dozen positional arguments.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from .. import _validate
from ..errors import DataError, InfeasibleError

#: Shared lengths measured on real geometries overshoot perimeters by a little (snapping,
#: near-coincident vertices): up to this share is clamped, more is an input error.
PERIMETER_SLACK = 0.05

#: Relative widening of the balance bounds, so that exact ties (e.g. tolerance 0) pass.
BOUND_EPS = 1e-12


@dataclass(frozen=True, eq=False)
class Problem:
    """One checked partitioning problem: the unit graph, its measures and the balance bounds.

    Attributes
    ----------
    adjacency : scipy.sparse.csr_array
        Symmetric shared boundary lengths, sorted indices, connected.
    n_parts : int
        Number of parts.
    weights, areas, perimeters : numpy.ndarray
        Workload, area and perimeter of every unit (float64, > 0).
    lo, hi : float
        Lowest and highest workload a part may have.
    tolerance : float
        The balance tolerance the bounds come from.
    deadline : float
        ``time.perf_counter()`` value after which optional work stops (``inf``: none).
    groups : numpy.ndarray or None
        A group (community) id per unit: cuts inside a group are penalised.
    fixed : numpy.ndarray or None
        A part label per unit, -1 for free units.
    centroids : numpy.ndarray or None
        A point per unit, shape (n, 2): enables straight cuts.
    """

    adjacency: sp.csr_array
    n_parts: int
    weights: np.ndarray
    areas: np.ndarray
    perimeters: np.ndarray
    lo: float
    hi: float
    tolerance: float
    deadline: float
    groups: np.ndarray | None = None
    fixed: np.ndarray | None = None
    centroids: np.ndarray | None = None

    @property
    def n_units(self) -> int:
        """Number of units."""
        return int(self.adjacency.shape[0])

    @property
    def locked(self) -> np.ndarray | None:
        """True for the units fixed to a part, or None when nothing is fixed."""
        return None if self.fixed is None else self.fixed >= 0

    def replace(self, **changes: object) -> Problem:
        """A copy with some fields changed (e.g. tighter bounds for planned carves)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def bounds(total: float, k: int, tolerance: float) -> tuple[float, float, float]:
    """Mean part workload and the lowest and highest workload a part may have."""
    mean = total / k
    return mean, (1.0 - tolerance) * mean * (1 - BOUND_EPS), (1.0 + tolerance) * mean * (1 + BOUND_EPS)


# ----------------------------------------------------------------------------------------
# input checks
# ----------------------------------------------------------------------------------------


def _as_vector(x: object, n: int, name: str, *, positive: bool = True) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{name} must be numeric; got {type(x).__name__}.") from exc
    if arr.shape != (n,):
        raise DataError(f"{name} must have one value per unit, shape ({n},); got shape {arr.shape}.")
    bad = ~np.isfinite(arr)
    if positive:
        bad |= ~(arr > 0)
    if bad.any():
        idx = np.flatnonzero(bad)
        raise DataError(
            f"{name} must be finite and > 0 for every unit; {idx.size} unit(s) are not "
            f"(e.g. unit {idx[0]}: {arr[idx[0]]!r}). Give empty units a small positive "
            "value (a floor) or drop them before partitioning."
        )
    return arr


def _check_graph(adjacency: object) -> sp.csr_array:
    if not sp.issparse(adjacency):
        try:
            adjacency = sp.csr_array(np.asarray(adjacency, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise DataError("adjacency must be a scipy.sparse matrix of shared boundary lengths.") from exc
    adj = sp.csr_array(adjacency, dtype=np.float64)
    if adj.ndim != 2 or adj.shape[0] != adj.shape[1]:
        raise DataError(f"adjacency must be square (n x n); got shape {adj.shape}.")
    adj.sum_duplicates()
    adj.eliminate_zeros()
    if adj.nnz and (not np.isfinite(adj.data).all() or (adj.data < 0).any()):
        raise DataError("adjacency entries must be finite shared boundary lengths > 0; found negative or non-finite values.")
    if adj.diagonal().any():
        raise DataError("adjacency has non-zero diagonal entries (a unit adjacent to itself); set the diagonal to zero.")
    diff = abs(adj - adj.T)
    if diff.nnz and diff.max() > 1e-9 * max(1.0, float(adj.data.max())):
        raise DataError("adjacency must be symmetric (shared length i-j equals j-i); symmetrise it, e.g. (A + A.T) / 2.")
    adj.sort_indices()
    return adj


def _check_connected(adj: sp.csr_array) -> None:
    n_comp, comp = connected_components(adj, directed=False)
    if n_comp <= 1:
        return
    sizes = np.bincount(comp)
    order = np.argsort(sizes)[::-1]
    parts = []
    for c in order[:6]:
        members = np.flatnonzero(comp == c)
        parts.append(f"{sizes[c]} unit(s) e.g. {members[:3].tolist()}")
    more = f" and {n_comp - 6} more" if n_comp > 6 else ""
    raise InfeasibleError(
        f"The unit adjacency graph is disconnected: {n_comp} components "
        f"({'; '.join(parts)}{more}). A grid must be contiguous, so islands must be "
        "joined to their nearest unit (add a small adjacency entry) before partitioning."
    )


def prepare(
    adjacency: object,
    weights: object,
    areas: object,
    perimeters: object,
    n_parts: object,
    tolerance: float,
) -> tuple[sp.csr_array, np.ndarray, np.ndarray, np.ndarray, int]:
    """Check the public arguments; return the adjacency, weights, areas, perimeters and ``n_parts``."""
    adj = _check_graph(adjacency)
    n = adj.shape[0]
    if n == 0:
        raise DataError("adjacency has no units; there is nothing to partition.")
    w = _as_vector(weights, n, "weights")
    ar = _as_vector(areas, n, "areas")
    pe = _as_vector(perimeters, n, "perimeters")
    shared = np.asarray(adj.sum(axis=1)).ravel()
    short = pe < shared * (1.0 - PERIMETER_SLACK) - 1e-9
    if short.any():
        i = int(np.flatnonzero(short)[0])
        raise DataError(
            f"perimeters must be at least the sum of a unit's shared boundary lengths; "
            f"{int(short.sum())} unit(s) are not (e.g. unit {i}: perimeter {pe[i]:.6g} < "
            f"shared {shared[i]:.6g}). Compute both from the same projected geometries."
        )
    pe = np.maximum(pe, shared)
    k = _validate.integer(n_parts, "n_parts")
    if k < 1:
        raise InfeasibleError(f"n_parts must be at least 1; got {k}.")
    if k > n:
        raise InfeasibleError(
            f"n_parts={k} is more than the {n} units: every part needs at least one "
            f"unit. Ask for at most {n} parts or use smaller units."
        )
    _validate.number(tolerance, "tolerance", minimum=0, below=1)
    _check_connected(adj)
    return adj, w, ar, pe, k


def check_fixed(fixed: object, n: int, k: int) -> np.ndarray | None:
    if fixed is None:
        return None
    arr = np.asarray(fixed)
    if arr.shape != (n,):
        raise DataError(f"fixed must have one label per unit, shape ({n},); got {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.integer):
        if not (np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr))):
            raise DataError("fixed must hold integer part labels (-1 for free units).")
    arr = arr.astype(np.int64)
    bad = (arr < -1) | (arr >= k)
    if bad.any():
        raise DataError(f"fixed labels must be -1 (free) or a part in 0..{k - 1}; found {np.unique(arr[bad])[:5].tolist()}.")
    return arr if (arr >= 0).any() else None


def check_fixed_connected(adj: sp.csr_array, fixed: np.ndarray) -> None:
    lab = np.unique(fixed[fixed >= 0])
    for p in lab:
        idx = np.flatnonzero(fixed == p)
        if idx.size > 1:
            nc, _ = connected_components(adj[idx][:, idx], directed=False)
            if nc > 1:
                raise InfeasibleError(
                    f"The units fixed to part {int(p)} form {nc} separate pieces; "
                    "gridplan only locks contiguous grids. Lock a connected set of "
                    "units per part, or free the stray units (fixed = -1)."
                )


def check_groups(groups: object, n: int) -> np.ndarray | None:
    """A group id per unit, or None."""
    if groups is None:
        return None
    arr = np.asarray(groups)
    if arr.shape != (n,):
        raise DataError(f"groups must have one id per unit, shape ({n},); got {arr.shape}.")
    return arr


def check_centroids(centroids: object, n: int) -> np.ndarray | None:
    """A finite (x, y) per unit, or None."""
    if centroids is None:
        return None
    xy = np.asarray(centroids, dtype=np.float64)
    if xy.shape != (n, 2) or not np.isfinite(xy).all():
        raise DataError(f"centroids must be finite, one (x, y) per unit, shape ({n}, 2); got shape {xy.shape}.")
    return xy
