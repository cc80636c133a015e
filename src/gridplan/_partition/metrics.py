"""Quality of a plan: part sums, contiguity, Polsby-Popper, and the ranking of plans."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

FOUR_PI = 4.0 * math.pi
"""Polsby-Popper compactness is ``FOUR_PI * area / perimeter**2`` (1 for a disc)."""

#: Weight of the worst part's Polsby-Popper beside the mean when plans are ranked.
RANK_WORST_WEIGHT = 0.5


@dataclass
class PartitionResult:
    """A partition of units into parts, with its quality measures.

    Attributes
    ----------
    labels : numpy.ndarray
        Part (0 .. ``n_parts`` - 1) of every unit, ``int64``.
    balance_max, balance_min : float
        Heaviest and lightest part workload divided by the mean part workload.
    feasible : bool
        True if every part's workload is within the tolerance of the mean.
    polsby_popper : numpy.ndarray
        Polsby-Popper compactness 4*pi*A/P**2 of every part (1 for a disc).
    cut_length : float
        Total length of boundary shared by units in different parts.
    cut_edges : int
        Number of adjacent unit pairs in different parts.
    contiguous : bool
        True if every part is connected in the adjacency graph.
    tolerance : float
        The tolerance the plan was made for.
    seed : int
        The seed used.
    retained, disruption, disruption_lower_bound : float or None
        For :func:`resplit_graph` only: share of the total workload that stays in
        the matched old part, its complement, and a lower bound on the disruption
        that any plan within the tolerance must incur.
    matching : numpy.ndarray or None
        For :func:`resplit_graph` only: old label matched to every new part, or -1.
    """

    labels: np.ndarray
    balance_max: float
    balance_min: float
    feasible: bool
    polsby_popper: np.ndarray
    cut_length: float
    cut_edges: int
    contiguous: bool
    tolerance: float = 0.03
    seed: int = 0
    retained: float | None = None
    disruption: float | None = None
    disruption_lower_bound: float | None = None
    matching: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_parts(self) -> int:
        """Number of parts."""
        return int(self.polsby_popper.shape[0])


def part_stats(
    adj: sp.csr_array, labels: np.ndarray, k: int, w: np.ndarray, ar: np.ndarray, pe: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Workload, area, perimeter and unit count of every part."""
    coo = adj.tocoo()
    same = labels[coo.row] == labels[coo.col]
    W = np.bincount(labels, weights=w, minlength=k)
    A = np.bincount(labels, weights=ar, minlength=k)
    P = np.bincount(labels, weights=pe, minlength=k) - np.bincount(labels[coo.row[same]], weights=coo.data[same], minlength=k)
    cnt = np.bincount(labels, minlength=k)
    return W, A, P, cnt


def is_contiguous(adj: sp.csr_array, labels: np.ndarray, k: int) -> bool:
    """True if every part is non-empty and connected in the unit graph."""
    coo = adj.tocoo()
    same = labels[coo.row] == labels[coo.col]
    n = adj.shape[0]
    g = sp.csr_array((np.ones(int(same.sum())), (coo.row[same], coo.col[same])), shape=(n, n))
    nc, _ = connected_components(g, directed=False)
    return nc == len(np.unique(labels)) and np.bincount(labels, minlength=k).min() > 0


def evaluate(
    adj: sp.csr_array,
    labels: np.ndarray,
    k: int,
    w: np.ndarray,
    ar: np.ndarray,
    pe: np.ndarray,
    tolerance: float,
    seed: int,
) -> PartitionResult:
    """The quality measures of a labelling."""
    W, A, P, cnt = part_stats(adj, labels, k, w, ar, pe)
    mean = W.sum() / k
    coo = adj.tocoo()
    cut = (labels[coo.row] != labels[coo.col]) & (coo.row < coo.col)
    bmax = float(W.max() / mean)
    bmin = float(W.min() / mean)
    eps = 1e-9
    return PartitionResult(
        labels=labels.astype(np.int64),
        balance_max=bmax,
        balance_min=bmin,
        feasible=bool(bmax <= 1 + tolerance + eps and bmin >= 1 - tolerance - eps),
        polsby_popper=FOUR_PI * A / np.maximum(P, 1e-300) ** 2,
        cut_length=float(coo.data[cut].sum()),
        cut_edges=int(cut.sum()),
        contiguous=bool(is_contiguous(adj, labels, k)),
        tolerance=float(tolerance),
        seed=int(seed),
    )


def plan_key(
    adj: sp.csr_array,
    lab: np.ndarray,
    k: int,
    w: np.ndarray,
    ar: np.ndarray,
    pe: np.ndarray,
    tolerance: float,
) -> tuple[float, float]:
    """Ranking of plans (lower is better): balance violation first, then -(mean PP + 0.5 min PP)."""
    W, A, P, cnt = part_stats(adj, lab, k, w, ar, pe)
    mean = W.sum() / k
    if cnt.min() == 0:
        return (math.inf, 0.0)
    viol = max(float(W.max() / mean) - 1 - tolerance, 1 - tolerance - float(W.min() / mean), 0.0)
    pp = FOUR_PI * A / P**2
    return (round(viol, 12), -float(pp.mean() + RANK_WORST_WEIGHT * pp.min()))
