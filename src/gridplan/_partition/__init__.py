"""Balanced, contiguous, compact graph partitioning: the kernel behind ``gridplan.grids``.

The kernel works on arrays only: a symmetric sparse matrix whose entry ``(i, j)`` is
the length of boundary shared by units ``i`` and ``j`` (rook adjacency), and a
workload, area and perimeter per unit.  :func:`partition_graph` groups the units
into ``n_parts`` management grids; :func:`resplit_graph` redraws an existing plan
with a new number of grids, moving as little workload as possible.

Algorithm
---------
1. **Balanced graph-Voronoi initialisation** (a graph version of the balanced
   power-diagram / capacitated Lloyd method used for districting, cf. Hess et al.
   1965; Cohen-Addad, Klein & Young 2018).  Seeds are spread over the graph; each
   unit joins the seed closest to it in *additively weighted* shortest-path
   distance (one multi-source Dijkstra, in C, per iteration).  Seeds move to the
   deepest unit of their region (Lloyd step) and the additive offsets are tuned
   until the regions' workloads are balanced.  Every region is a shortest-path
   tree, so it is contiguous by construction.
2. **Balance repair**: first *ejection chains* (a part outside the bounds passes
   boundary units to, or takes them from, a neighbour so that it lands inside the
   bounds; a neighbour pushed out of the bounds continues the chain, possibly
   overshooting to swap heavy units; a chain is kept only if the sum of squared
   violations drops; randomised retries once plain chains stall), then, for parts
   still outside, a part and a few parts around it are split again exactly
   (exhaustive search over connected sets with a bounded number of tries: heavy
   units, where every single move overshoots the bounds), then workload is pushed
   along shortest paths of the *part graph* from overloaded to underloaded parts,
   one contiguity-safe boundary unit at a time.  Resplits (with a home plan) use
   only the path repair.
3. **Contiguity-preserving boundary refinement** (Fiduccia-Mattheyses-style
   passes without negative moves): a boundary unit moves to a neighbouring part
   if the donor stays connected (a local articulation test, a breadth-first
   search inside the donor part that stops once all of the unit's donor
   neighbours are reached), the balance stays within the tolerance, and the
   objective improves.  The objective is the mean Polsby-Popper score of the
   parts, with a penalty on the worst shapes, on cut length and on cut group
   (community) boundaries; its change is computed incrementally from the area,
   perimeter and shared-length bookkeeping, so a move costs O(degree).

4. **Pair re-splitting** (iterated local search): the union of two neighbouring
   parts is cut again in two at half its workload (power-diagram split between
   the parts' centres or a random pseudo-diameter), balanced and refined with
   moves between the two parts only, and kept if the balance violation or the
   objective improves; worst-shaped parts first, a bounded number of attempts.

Starts: METIS k-way partitions (``pymetis``, contiguous option, shared lengths as
edge weights) when it is importable and ``starts.USE_METIS`` is true, plus the
initialisations above and, given unit centroids, a recursive coordinate bisection
(straight axis-parallel cuts, near-rectangles on square cells; pair re-splits then
also try a straight cut); each is repaired and refined, the best ones are polished
with pair re-splitting and the best plan is kept.  Effort is counted in
attempts, not seconds, so results are deterministic for a seed (``time_limit``
only cuts the optional work short).

Every function is deterministic for a given ``seed``.

Modules, in the order of the steps
----------------------------------
``problem``
    input checks, balance bounds and :class:`~.problem.Problem`, the checked arrays and
    options every step reads.
``metrics``
    :class:`PartitionResult`, part sums, contiguity, Polsby-Popper, the ranking of plans.
``starts``
    METIS, balanced graph-Voronoi, recursive bisection and coordinate bisection starts.
``search``
    :class:`~.search.Search`, the labelling with its part sums, the objective
    (:meth:`~.search.Search.compactness_objective`) and single-unit moves (refinement).
``repair``
    balance repair: ejection chains, exact re-packing, path repair.
``polish``
    pair re-splitting.
``partition``
    :func:`partition_graph`: the restart schedule, starts, polishing.
``carve``, ``resplit``
    :func:`resplit_graph`: planned carves from the old plan, disruption budget.
"""

from __future__ import annotations

from .metrics import PartitionResult
from .partition import partition_graph
from .resplit import resplit_graph

__all__ = ["PartitionResult", "partition_graph", "resplit_graph"]
