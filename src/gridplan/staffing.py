"""Staffing: "1+2+2" teams for every grid, with staggered shifts, solved exactly.

Guiding county configures its grid management teams "in the '1+2+2' mode" (以"1+2+2"的模式配置管理队伍)
and runs staggered early, middle and late shifts (早、中、晚错时值班). The article does not say
what the three terms are: gridplan's default **reading** is one grid leader (网格长, a
Party-member cadre), two law-enforcement officers (执法队员) and two grid workers
(网格员/协管员), officers on different shifts. It is an assumption, configurable
(:meth:`StaffingModel.parse` with ``roles=`` and the rules), not the article's statement. :class:`StaffingModel` reads such
a formula (``"1+2+2"``, ``"1+3+N"`` with N scaled by the grid's workload) and its
rules; :func:`assign_staff` places the people of a roster into the grids of a
:class:`~gridplan.grids.GridPlan` and gives each a shift.

The assignment is an exact integer programme (scipy's bundled HiGHS), solved
lexicographically: first fill as many slots as the roster allows, then cover as
many (grid, shift) pairs as possible, then minimise the total home-to-post
distance along the streets. With too few people the best partial staffing comes
back with its :attr:`Staffing.vacancies` (or, with ``strict=True``, an
:class:`~gridplan.errors.InfeasibleError` naming the missing roles per grid).

Examples
--------
>>> import pandas as pd
>>> import shapely
>>> import geopandas as gpd
>>> from gridplan.staffing import StaffingModel, assign_staff
>>> StaffingModel.parse("1+2+2")
StaffingModel('1+2+2': 1 leader [Party member] + 2 officer [different shifts] + 2 worker)

A toy plan of two grids and four people (homes and posts in metres, straight-line
distance; real plans use ``distance="network"``):

>>> grids = gpd.GeoDataFrame({"code": ["A", "B"], "weight": [1.0, 1.0]},
...     geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=4545)
>>> posts = gpd.GeoDataFrame({"grid": ["A", "B"], "kind": "post"},
...     geometry=shapely.points([(50, 50), (150, 50)]), crs=4545)
>>> roster = pd.DataFrame({"id": ["p1", "p2", "p3", "p4"],
...     "role": ["leader", "leader", "officer", "officer"],
...     "party_member": [True, True, False, False],
...     "x": [40.0, 160.0, 60.0, 140.0], "y": [50.0, 50.0, 50.0, 50.0]})
>>> s = assign_staff(grids, roster, model="1+1", posts=posts, distance="euclidean")
>>> print(s.assignments[["id", "grid", "role", "distance_m"]].to_string(index=False))
id grid    role  distance_m
p1    A  leader        10.0
p3    A officer        10.0
p2    B  leader        10.0
p4    B officer        10.0
>>> s.params["status"], len(s.vacancies)
('optimal', 0)
"""

from __future__ import annotations

import html
import math
import re
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp

from . import _io, _validate
from . import crs as gcrs
from ._shifts import _SHIFT_ALIASES, SHIFTS, _parse_unavailable  # noqa: F401  (SHIFTS is public here; shared with _roster)
from .errors import CRSError, DataError, GridplanWarning, InfeasibleError
from .network import StreetNetwork

if TYPE_CHECKING:  # pragma: no cover
    import folium
    from matplotlib.axes import Axes

    from .district import District
    from .grids import GridPlan
    from .posts import Posts
    from .typing import CRSLike, PathLike

__all__ = ["StaffingModel", "Staffing", "assign_staff", "roster", "Roster", "DEFAULT_ROLES", "SHIFTS", "WEEKDAYS"]

DEFAULT_ROLES = ("leader", "officer", "worker")
"""Role names of gridplan's default *reading* of "1+2+2" (the article gives no breakdown): grid leader,
law-enforcement officer, grid worker."""


WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_ROLE_ALIASES = {  # Chinese names of the default roles, as rosters write them
    "网格长": "leader",
    "组长": "leader",
    "执法队员": "officer",
    "执法人员": "officer",
    "队员": "officer",
    "网格员": "worker",
    "协管员": "worker",
    "辅助人员": "worker",
}
_TRUE = {"true", "t", "yes", "y", "1", "是", "党员", "中共党员"}
_FALSE = {"false", "f", "no", "n", "0", "否", "非党员", "群众", ""}
_SHOW = 5
_RELGAP = 1e-7  # HiGHS relative gap of the distance stage: 0.1 m on 1,000 km of total travel
# The assignment route (people to slots, then shifts) builds a dense people x slots matrix: above this many
# cells (about 400 MB) the joint programme is used instead.
_MAX_ASSIGNMENT_CELLS = 50_000_000


# =========================================================================== the model
@dataclass(frozen=True)
class StaffingModel:
    """A team formula such as "1+2+2" or "1+3+N", with its rules.

    Build one with :meth:`parse`. The first role is the grid *leader*, the second the
    *officers* (the rules below refer to them by position, whatever their names).

    Attributes
    ----------
    roles : tuple of str
        Role names, as the roster's ``role`` column writes them.
    counts : tuple of int or None
        People per grid for every role; ``None`` for a workload-scaled ``N``.
    n_per_workload : float or None
        Workload (``plan.grids["weight"]``: residents by default) that one ``N`` person
        covers. A grid of weight ``w`` gets ``N = max(n_min, ceil(w / n_per_workload))``.
    n_min : int
        The smallest ``N`` a grid gets (default 1).
    leader_party_member : bool
        The leader must be a Party member (``party_member`` true in the roster).
    officers_split_shifts : bool
        The officers of a grid work different shifts: no shift has more than
        ``ceil(officers / n_shifts)`` of them (so two officers never share a shift).
    """

    roles: tuple[str, ...]
    counts: tuple[int | None, ...]
    n_per_workload: float | None = None
    n_min: int = 1
    leader_party_member: bool = True
    officers_split_shifts: bool = True

    def __post_init__(self) -> None:
        if len(self.roles) != len(self.counts) or not self.roles:
            raise DataError(f"a staffing model needs one count per role, got roles={self.roles} counts={self.counts}")
        names = [r.casefold() for r in self.roles]
        if any(not isinstance(r, str) or not r.strip() for r in self.roles) or len(set(names)) != len(names):
            raise DataError(f"role names must be distinct non-empty strings, got {self.roles}")
        for role, count in zip(self.roles, self.counts):
            _validate.integer(count, f"the count of role {role!r} (or None for N)", minimum=0, allow_none=True)
        if None in self.counts:
            if self.n_per_workload is None or not (np.isfinite(self.n_per_workload) and self.n_per_workload > 0):
                raise DataError(
                    f"'{self.formula}' has a workload-scaled N: pass n_per_workload= (the grid workload one such "
                    f"person covers, e.g. n_per_workload=5000 residents), got {self.n_per_workload!r}"
                )
        _validate.integer(self.n_min, "n_min", minimum=0)
        if None not in self.counts and sum(int(c) for c in self.counts if c is not None) == 0:
            raise DataError(f"'{self.formula}' is an empty team: at least one role needs a count > 0")

    # ------------------------------------------------------------------ construction
    @classmethod
    def parse(
        cls,
        formula: str,
        *,
        roles: Sequence[str] | None = None,
        n_per_workload: float | None = None,
        n_min: int = 1,
        leader_party_member: bool = True,
        officers_split_shifts: bool = True,
    ) -> StaffingModel:
        """Read a formula such as ``"1+2+2"`` or ``"1+3+N"``.

        Parameters
        ----------
        formula : str
            Counts joined by ``+`` (full-width ``＋`` and spaces are fine); a count is a whole
            number or ``N`` (scaled by workload).
        roles : sequence of str, optional
            One name per term. Default: the first terms of ``("leader", "officer", "worker")``;
            formulas of more than three terms must name their roles.
        n_per_workload : float, optional
            Needed with ``N``: the workload one ``N`` person covers;
            ``N = max(n_min, ceil(grid weight / n_per_workload))``.
        n_min : int, default 1
            Smallest ``N``.
        leader_party_member : bool, default True
            The leader (first role) must be a Party member.
        officers_split_shifts : bool, default True
            The officers (second role) of a grid work different shifts.

        Returns
        -------
        StaffingModel

        Raises
        ------
        DataError
            For anything that is not such a formula, or roles that do not match it.

        Examples
        --------
        >>> StaffingModel.parse("1+3+N", n_per_workload=5000).requirements_for([12000.0, 3000.0])
        [[1, 3, 3], [1, 3, 1]]
        """
        if not isinstance(formula, str):
            raise DataError(f"a staffing formula is a string such as '1+2+2', got {type(formula).__name__}")
        text = formula.replace("＋", "+").replace(" ", "").replace("\u3000", "")
        if not re.fullmatch(r"(\d+|[Nn])(\+(\d+|[Nn]))*", text):
            raise DataError(
                f"cannot read the staffing formula {formula!r}: write counts joined by '+', e.g. '1+2+2' "
                "(1 leader, 2 officers, 2 workers) or '1+3+N' (N scaled by workload, with n_per_workload=)"
            )
        terms = text.split("+")
        counts = tuple(None if t in ("N", "n") else int(t) for t in terms)
        if roles is None:
            if len(terms) > len(DEFAULT_ROLES):
                raise DataError(
                    f"{formula!r} has {len(terms)} terms: name them with roles=(...) "
                    f"(the default names cover {len(DEFAULT_ROLES)}: {DEFAULT_ROLES})"
                )
            roles = DEFAULT_ROLES[: len(terms)]
        if isinstance(roles, str):
            raise DataError(f"roles must be a sequence of names, e.g. roles=('leader', 'officer', 'worker'), got {roles!r}")
        roles = tuple(str(r).strip() for r in roles)
        if len(roles) != len(terms):
            raise DataError(f"{formula!r} has {len(terms)} terms but roles={roles} names {len(roles)}")
        return cls(
            roles=roles,
            counts=counts,
            n_per_workload=None if n_per_workload is None else float(n_per_workload),
            n_min=n_min,
            leader_party_member=bool(leader_party_member),
            officers_split_shifts=bool(officers_split_shifts),
        )

    # ------------------------------------------------------------------ facts
    @property
    def formula(self) -> str:
        return "+".join("N" if c is None else str(c) for c in self.counts)

    @property
    def leader(self) -> str:
        """Name of the leader role (the first)."""
        return self.roles[0]

    @property
    def officer(self) -> str | None:
        """Name of the officer role (the second), if any."""
        return self.roles[1] if len(self.roles) > 1 else None

    def requirements_for(self, weights: Iterable[float]) -> list[list[int]]:
        """People per role (list per grid) for grids of these workloads."""
        out = []
        for w in weights:
            row = []
            for c in self.counts:
                if c is None:
                    assert self.n_per_workload is not None
                    w = float(w)
                    if not np.isfinite(w) or w < 0:
                        raise DataError(f"grid workload must be a finite number >= 0 for an N term, got {w!r}")
                    row.append(max(int(self.n_min), int(math.ceil(w / self.n_per_workload - 1e-9))))
                else:
                    row.append(int(c))
            out.append(row)
        return out

    def requirements(self, plan: GridPlan | gpd.GeoDataFrame) -> pd.DataFrame:
        """People needed per grid and role.

        Parameters
        ----------
        plan : GridPlan or GeoDataFrame
            A plan, or a grids table with ``code`` (and ``weight`` for an ``N`` term).

        Returns
        -------
        pandas.DataFrame
            Index: grid code (``grid``); one integer column per role.
        """
        grids = _grids_frame(plan)
        if None in self.counts and "weight" not in grids.columns:
            raise DataError(f"'{self.formula}' scales N by workload: the grids need a 'weight' column")
        w = grids["weight"].to_numpy(float) if "weight" in grids.columns else np.zeros(len(grids))
        req = np.array(self.requirements_for(w), dtype=np.int64).reshape(len(grids), len(self.roles))
        return pd.DataFrame(req, index=pd.Index(grids["code"].astype(str).to_numpy(), name="grid"), columns=list(self.roles))

    def __repr__(self) -> str:
        parts = []
        for i, (r, c) in enumerate(zip(self.roles, self.counts)):
            if c is None:
                s = f"N {r} (1 per {self.n_per_workload:,.0f} workload, min {self.n_min})"
            else:
                s = f"{c} {r}"
            if i == 0 and self.leader_party_member:
                s += " [Party member]"
            if i == 1 and self.officers_split_shifts:
                s += " [different shifts]"
            parts.append(s)
        return f"StaffingModel('{self.formula}': {' + '.join(parts)})"


def _as_model(model: Any) -> StaffingModel:
    if isinstance(model, StaffingModel):
        return model
    if isinstance(model, str):
        return StaffingModel.parse(model)
    raise DataError(f"model must be a formula such as '1+2+2' or a StaffingModel, got {type(model).__name__}")


def _grids_frame(plan: Any) -> gpd.GeoDataFrame:
    grids = getattr(plan, "grids", plan)
    if not isinstance(grids, pd.DataFrame) or "code" not in grids.columns:
        raise DataError("plan must be a GridPlan or a grids table (GeoDataFrame) with a 'code' column")
    if grids["code"].astype(str).duplicated().any():
        raise DataError(f"grid codes repeat: {sorted(set(grids['code'][grids['code'].astype(str).duplicated()]))[:_SHOW]}")
    return grids


# =========================================================================== the problem
@dataclass
class _Problem:
    """Everything the solvers need, as arrays. People are the eligible roster rows."""

    model: StaffingModel
    codes: np.ndarray  # (G,) grid codes
    req: np.ndarray  # (G, R) people needed
    shifts: tuple[str, ...]
    roster: pd.DataFrame  # every roster row, normalised: id, role, party_member, x, y, unavailable, reason
    people: np.ndarray  # (P,) positions in roster of the eligible people
    role: np.ndarray  # (P,) role position
    avail: np.ndarray  # (P, S) bool
    dist: np.ndarray  # (P, G) metres to the grid's nearest post; inf where not allowed
    post: np.ndarray  # (P, G) row of `posts` each would report to (-1 if none)
    posts: gpd.GeoDataFrame  # post points: grid (code), kind, node, snap_m, geometry
    grids: gpd.GeoDataFrame
    crs: pyproj.CRS | None
    params: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    @property
    def split_cap(self) -> np.ndarray:
        """(G,) most officers on one shift (a large number when the rule is off)."""
        big = np.full(len(self.codes), 1 << 30)
        if not self.model.officers_split_shifts or len(self.model.roles) < 2:
            return big
        return np.ceil(self.req[:, 1] / len(self.shifts)).astype(np.int64)


def _check_shifts(shifts: Any) -> tuple[str, ...]:
    if isinstance(shifts, str) or not isinstance(shifts, (list, tuple)) or not shifts:
        raise DataError(f"shifts must be a non-empty tuple of names such as ('early', 'middle', 'late'), got {shifts!r}")
    out = tuple(shifts)
    if any(not isinstance(s, str) or not s.strip() for s in out) or len({s.casefold() for s in out}) != len(out):
        raise DataError(f"shifts must be distinct non-empty strings, got {shifts!r}")
    return out


def _parse_bool(values: pd.Series, ids: pd.Series) -> tuple[np.ndarray, int]:
    out = np.zeros(len(values), bool)
    n_missing = 0
    bad = []
    for i, v in enumerate(values.tolist()):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            n_missing += 1
        elif isinstance(v, (bool, np.bool_)):
            out[i] = bool(v)
        elif isinstance(v, (int, np.integer, float, np.floating)) and v in (0, 1):
            out[i] = bool(v)
        elif isinstance(v, str) and v.strip().casefold() in _TRUE | _FALSE:
            out[i] = v.strip().casefold() in _TRUE
        else:
            bad.append((ids.iloc[i], v))
    if bad:
        raise DataError(f"party_member must be true/false (or yes/no, 1/0, 是/否); cannot read {bad[:_SHOW]}")
    return out, n_missing


def _homes(roster: pd.DataFrame, crs: Any, target: pyproj.CRS | None, bounds: np.ndarray) -> tuple[np.ndarray, np.ndarray, str]:
    """Home coordinates in the plan's CRS (NaN where missing) and a note on where they came from."""
    if crs is None and roster.attrs.get("crs"):
        crs = roster.attrs["crs"]
    if isinstance(roster, gpd.GeoDataFrame) and roster.geometry.name in roster.columns:
        geoms = roster.geometry
        src = crs if crs is not None else roster.crs
        if src is None:
            raise CRSError("the roster's home points have no CRS; set one (roster.set_crs(...)) or pass crs=")
        ok = ~(geoms.isna() | geoms.is_empty)
        if (ok & (geoms.geom_type != "Point")).any():
            raise DataError("roster homes must be points; use e.g. roster.geometry.representative_point()")
        x = np.full(len(roster), np.nan)
        y = np.full(len(roster), np.nan)
        x[ok.to_numpy()] = shapely.get_x(np.asarray(geoms[ok].values))
        y[ok.to_numpy()] = shapely.get_y(np.asarray(geoms[ok].values))
        how = f"points in {gcrs.crs_label(src)}"
    elif {"x", "y"} <= set(roster.columns):
        x = pd.to_numeric(roster["x"], errors="coerce").to_numpy(float)
        y = pd.to_numeric(roster["y"], errors="coerce").to_numpy(float)
        src = crs if crs is not None else target
        how = f"x/y in {gcrs.crs_label(src) if src is not None else 'the plan CRS'}"
        if crs is None and target is not None and pyproj.CRS(target).is_projected:
            fin = np.isfinite(x) & np.isfinite(y)
            b = bounds  # degrees-looking homes nowhere near grids in metres
            far = ~((x[fin] > b[0] - 1e4) & (x[fin] < b[2] + 1e4) & (y[fin] > b[1] - 1e4) & (y[fin] < b[3] + 1e4))
            if fin.any() and (np.abs(x[fin]) <= 180).all() and (np.abs(y[fin]) <= 90).all() and far.all():
                raise CRSError(
                    "the roster's x/y look like lon/lat degrees but the plan is in metres; name the "
                    "columns lon/lat and pass crs= (e.g. crs='EPSG:4326' or crs='GCJ-02')"
                )
    elif {"lon", "lat"} <= set(roster.columns):
        if crs is None:
            raise CRSError(
                "the roster has lon/lat homes: say which datum with crs=, e.g. crs='EPSG:4326' (WGS84), "
                "crs='GCJ-02' (Amap/Tencent) or crs='BD-09' (Baidu)"
            )
        x = pd.to_numeric(roster["lon"], errors="coerce").to_numpy(float)
        y = pd.to_numeric(roster["lat"], errors="coerce").to_numpy(float)
        src = crs
        how = f"lon/lat in {gcrs.crs_label(src)}"
    else:
        raise DataError(
            "the roster needs home locations: columns x, y (plan CRS), lon, lat with crs=, or a GeoDataFrame of points"
        )
    if src is not None and target is not None:
        parsed = gcrs.parse_crs(src)
        if isinstance(parsed, str) or not parsed.equals(target):
            fin = np.isfinite(x) & np.isfinite(y)
            if fin.any():
                tx, ty = gcrs.transform(x[fin], y[fin], source=parsed, target=target)
                x, y = x.copy(), y.copy()
                x[fin], y[fin] = tx, ty
                how += f", converted to {gcrs.crs_label(target)}"
    return x, y, how


def _resolve_network(plan: Any, streets: Any) -> StreetNetwork:
    src = streets if streets is not None else getattr(plan, "district", None)
    if src is None:
        raise DataError(
            "distance='network' needs streets: the plan has no district; pass streets= (a District, a "
            "StreetNetwork or a GeoDataFrame of street lines) or use distance='euclidean'"
        )
    if isinstance(src, StreetNetwork):
        return src
    if isinstance(getattr(src, "network", None), StreetNetwork):
        return src.network
    if isinstance(src, gpd.GeoDataFrame):
        return StreetNetwork.from_lines(src)
    raise DataError(f"streets must be a District, a StreetNetwork or a GeoDataFrame of lines, got {type(src).__name__}")


def _rep_points(grids: gpd.GeoDataFrame) -> np.ndarray:
    geoms = np.asarray(grids.geometry.values)
    cen = shapely.centroid(geoms)
    inside = shapely.contains(geoms, cen)
    return np.where(inside, cen, shapely.point_on_surface(geoms))


def _post_frame(
    posts: Any, grids: gpd.GeoDataFrame, crs: pyproj.CRS | None, net: StreetNetwork | None, notes: list[str]
) -> gpd.GeoDataFrame:
    """Post points per grid (kind 'post'); grids without one get a station, else their default post."""
    codes = grids["code"].astype(str).to_numpy()
    rep = _rep_points(grids)
    default = pd.DataFrame({"grid": codes, "kind": "post", "source": "default"})
    if net is not None:
        node = net.nearest_nodes(shapely.get_x(rep), shapely.get_y(rep))
        xy = net.nodes[["x", "y"]].to_numpy(float)[node]
        default_geom = shapely.points(xy)
    else:
        default_geom = rep
    default = gpd.GeoDataFrame(default, geometry=gpd.GeoSeries(default_geom), crs=crs)
    default.index = pd.Index([f"default:{c}" for c in codes], name="post")
    if posts is None:
        what = "the street node nearest its centre" if net is not None else "its centre"
        notes.append(f"posts: none given, every grid reports to {what}")
        return default
    frame = getattr(posts, "posts", posts)
    if not isinstance(frame, gpd.GeoDataFrame) or "grid" not in frame.columns:
        raise DataError("posts must be a Posts result or a GeoDataFrame of points with a 'grid' column (grid code)")
    if frame.crs is None:
        raise CRSError("the posts have no CRS; set one with posts.set_crs(...)")
    if crs is not None and not pyproj.CRS(frame.crs).equals(crs):
        frame = frame.to_crs(crs)
    frame = frame[~(frame.geometry.isna() | frame.geometry.is_empty)]
    if (frame.geom_type != "Point").any():
        raise DataError("posts must be points")
    kind = frame["kind"].astype(str) if "kind" in frame.columns else pd.Series("post", index=frame.index)
    frame = gpd.GeoDataFrame(
        {"grid": frame["grid"].astype(str).to_numpy(), "kind": kind.to_numpy(), "source": "posts"},
        geometry=gpd.GeoSeries(frame.geometry.to_numpy(), index=pd.Index(frame.index, name="post")),
        crs=crs,
        index=pd.Index(frame.index, name="post"),
    )
    unknown = sorted(set(frame["grid"]) - set(codes))
    if unknown:
        notes.append(f"posts of grids not in the plan are ignored: {unknown[:_SHOW]}")
    frame = frame[frame["grid"].isin(codes)]
    is_post = (frame["kind"] == "post").to_numpy()
    with_post = set(frame["grid"][is_post])
    with_any = set(frame["grid"])
    station_only = [c for c in codes if c in with_any and c not in with_post]
    no_post = [c for c in codes if c not in with_any]
    if station_only:
        notes.append(f"grids with a station but no post report to the station: {station_only[:_SHOW]}")
    if no_post:
        notes.append(f"grids without a post or station report to their default post: {no_post[:_SHOW]}")
    # each grid's posts, else its stations, else its default post; grid by grid in the plan's order
    chosen = pd.concat([frame[is_post | ~frame["grid"].isin(with_post).to_numpy()], default[default["grid"].isin(no_post)]])
    order = np.argsort(pd.Index(codes).get_indexer(chosen["grid"]), kind="stable")
    return chosen.iloc[order]


def _prepare(
    plan: Any, roster: Any, *, model: Any, posts: Any, shifts: Any, distance: str, streets: Any, crs: Any, seed: Any
) -> _Problem:
    m = _as_model(model)
    shifts = _check_shifts(shifts)
    _validate.choice(distance, "distance", ("network", "euclidean"))
    seed = _validate.seed(seed)
    grids = _grids_frame(plan)
    if len(grids) == 0:
        raise DataError("the plan has no grids")
    pcrs = pyproj.CRS(grids.crs) if getattr(grids, "crs", None) is not None else None
    req_frame = m.requirements(grids)
    codes = req_frame.index.to_numpy(dtype=object)
    req = req_frame.to_numpy(np.int64)
    notes: list[str] = []

    # ---- roster
    if not isinstance(roster, pd.DataFrame):
        raise DataError(f"roster must be a DataFrame of people (id, role, party_member, home), got {type(roster).__name__}")
    if len(roster) == 0:
        raise DataError("the roster is empty: there is nobody to assign")
    missing = [c for c in ("id", "role") if c not in roster.columns]
    if missing:
        raise DataError(f"the roster lacks columns {missing}; it needs id, role, party_member and home locations")
    ids = roster["id"]
    if ids.isna().any():
        raise DataError(f"{int(ids.isna().sum())} roster rows have no id; give every person an id")
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        raise DataError(f"duplicate ids in the roster: {sorted(map(str, set(dup)))[:10]}; every person needs one id")
    n = len(roster)
    reason = np.full(n, "", dtype=object)

    role_lookup = {r.casefold(): r for r in m.roles}
    if set(DEFAULT_ROLES) & set(m.roles):
        role_lookup.update({k: v for k, v in _ROLE_ALIASES.items() if v in m.roles})
    raw_roles = roster["role"].astype("string").str.strip()
    role_name = np.array([role_lookup.get(str(r).casefold()) if r is not pd.NA else None for r in raw_roles], dtype=object)
    unknown = np.array([r is None for r in role_name], dtype=bool)
    if unknown.any():
        bad = sorted({str(r) for r in raw_roles[unknown]})
        reason[unknown] = ["no role" if r is pd.NA else f"unknown role {str(r)!r}" for r in raw_roles[unknown]]
        warnings.warn(
            f"{int(unknown.sum())} people have roles the model {m.formula!r} does not know ({bad[:_SHOW]}; "
            f"roles are {list(m.roles)}): they are left out and listed in .unassigned",
            GridplanWarning,
            stacklevel=3,
        )

    if "party_member" in roster.columns:
        party, n_na = _parse_bool(roster["party_member"], ids)
        if n_na:
            notes.append(f"party_member missing for {n_na} people: counted as not Party members")
    elif m.leader_party_member and req[:, 0].any():
        raise DataError(
            "the model requires Party-member leaders but the roster has no party_member column; add it "
            "or use StaffingModel.parse(..., leader_party_member=False)"
        )
    else:
        party = np.zeros(n, bool)
    avail = (
        _parse_unavailable(roster["unavailable"], ids, shifts)
        if "unavailable" in roster.columns
        else np.ones((n, len(shifts)), bool)
    )

    x, y, how = _homes(roster, crs, pcrs, np.asarray(grids.total_bounds, float))
    nohome = ~(np.isfinite(x) & np.isfinite(y)) & (reason == "")
    if nohome.any():
        reason[nohome] = "no home location"
        warnings.warn(
            f"{int(nohome.sum())} people have no home location (e.g. {ids[nohome].astype(str).tolist()[:_SHOW]}): "
            "they are left out and listed in .unassigned",
            GridplanWarning,
            stacklevel=3,
        )
    notes.append(f"homes: {how}")

    r_idx = np.array([m.roles.index(r) if r is not None else -1 for r in role_name], dtype=np.int64)
    ok = reason == ""
    zero = ok & (req.sum(axis=0)[np.maximum(r_idx, 0)] == 0)
    reason[zero] = [f"the model needs no {role_name[i]}" for i in np.flatnonzero(zero)]
    if m.leader_party_member:
        nonparty = (reason == "") & (r_idx == 0) & ~party
        reason[nonparty] = "leader rule: not a Party member"
    never = (reason == "") & ~avail.any(axis=1)
    reason[never] = "unavailable on every shift"

    # ---- distances
    net = _resolve_network(plan, streets) if distance == "network" else None
    if net is None and distance == "euclidean" and (streets is not None or getattr(plan, "district", None) is not None):
        try:
            net = _resolve_network(plan, streets)  # only to put the default posts on the streets
        except DataError:  # pragma: no cover - a district always has a network
            net = None
    if net is not None and pcrs is not None and not pyproj.CRS(net.crs).equals(pcrs):
        raise CRSError(f"the street network is in {gcrs.crs_label(net.crs)} but the plan in {gcrs.crs_label(pcrs)}; use one CRS")
    post_frame = _post_frame(posts, grids, pcrs, net, notes)
    cand = np.flatnonzero(reason == "")
    P, G = len(cand), len(codes)
    post_grid = pd.Index(codes).get_indexer(post_frame["grid"].to_numpy())
    pxy = np.column_stack([shapely.get_x(post_frame.geometry.values), shapely.get_y(post_frame.geometry.values)])
    if distance == "network":
        assert net is not None
        pnode, psnap = net.nearest_nodes(pxy[:, 0], pxy[:, 1], return_dist=True)
        post_frame["node"] = pnode
        post_frame["snap_m"] = psnap
        if P:
            hnode, hsnap = net.nearest_nodes(x[cand], y[cand], return_dist=True)
            unique_nodes, inv = np.unique(pnode, return_inverse=True)
            sp = net.shortest_path_lengths(unique_nodes)  # one multi-source Dijkstra over the post nodes
            d_post = sp[inv][:, hnode].T + hsnap[:, None] + psnap[None, :]  # (P, n_posts)
        else:
            d_post = np.zeros((0, len(post_frame)))
    else:
        d_post = np.hypot(x[cand, None] - pxy[None, :, 0], y[cand, None] - pxy[None, :, 1])
    dist = np.full((P, G), np.inf)
    post = np.full((P, G), -1, dtype=np.int64)
    for g in range(G):
        cols = np.flatnonzero(post_grid == g)
        if len(cols) and P:
            j = np.argmin(d_post[:, cols], axis=1)
            post[:, g] = cols[j]
            dist[:, g] = d_post[np.arange(P), cols[j]]
    role = r_idx[cand]
    need = req[:, role].T > 0 if P else np.zeros((0, G), bool)  # (P, G): the grid has a slot of their role
    dist = np.where(need, dist, np.inf)
    unreachable = ~np.isfinite(dist).any(axis=1)
    if unreachable.any():
        reason[cand[unreachable]] = "home not connected to any post on the street network"
        notes.append(
            f"{int(unreachable.sum())} people live where the street network does not reach a post of a grid that needs their role"
        )
    keep = ~unreachable
    cand, role, dist, post = cand[keep], role[keep], dist[keep], post[keep]

    frame = pd.DataFrame(
        {
            "id": ids.to_numpy(),
            "role": np.where(unknown, raw_roles.astype(object).to_numpy(), role_name),
            "party_member": party,
            "x": x,
            "y": y,
            "unavailable": [";".join(s for s, a in zip(shifts, row) if not a) for row in avail],
            "reason": reason,
        },
        index=roster.index,
    )
    params = {
        "model": m.formula,
        "roles": list(m.roles),
        "leader_party_member": m.leader_party_member,
        "officers_split_shifts": m.officers_split_shifts,
        "n_per_workload": m.n_per_workload,
        "shifts": list(shifts),
        "distance": distance,
        "seed": int(seed),
        "n_grids": G,
        "n_people": n,
        "n_eligible": len(cand),
        "slots": int(req.sum()),
    }
    return _Problem(
        model=m,
        codes=codes,
        req=req,
        shifts=shifts,
        roster=frame,
        people=cand,
        role=role,
        avail=avail[cand],
        dist=dist,
        post=post,
        posts=post_frame,
        grids=grids,
        crs=pcrs,
        params=params,
        notes=notes,
    )


# =========================================================================== solvers
def _milp(pb: _Problem, *, seed: int, time_limit: float) -> tuple[np.ndarray, dict[str, Any]]:
    """Exact assignment. Returns (choice, info): choice[p] = g * S + s, or -1 when unused.

    Variables ``x[p, g, s]`` (binary; only where person p may fill a slot of grid g and works
    shift s), slack ``u[g, r]`` (unfilled slots) and ``c[g, s]`` (uncovered shifts), both
    continuous and integral at any integral x. Constraints: each person at most once; per
    grid and role, filled + u = required; per grid and shift, on duty + c >= 1; per grid and
    shift, officers <= ceil(officers / shifts). Stage 1 minimises (#covers + 1)·Σu + Σc
    (fill every slot it can, then cover every shift it can); stage 2 keeps that optimum and
    minimises the total distance.
    """
    P, G = pb.dist.shape
    S, R = len(pb.shifts), len(pb.model.roles)
    rng = np.random.default_rng(seed)
    order = rng.permutation(P)  # the seed decides among equally good assignments (variable order)
    elig = np.isfinite(pb.dist)
    pp, gg, ss = [], [], []
    for p in order:
        gs = np.flatnonzero(elig[p])
        sh = np.flatnonzero(pb.avail[p])
        pp.append(np.full(len(gs) * len(sh), p))
        gg.append(np.repeat(gs, len(sh)))
        ss.append(np.tile(sh, len(gs)))
    xp = np.concatenate(pp) if pp else np.zeros(0, np.int64)
    xg = np.concatenate(gg) if gg else np.zeros(0, np.int64)
    xs = np.concatenate(ss) if ss else np.zeros(0, np.int64)
    nx_ = len(xp)
    slot = [(g, r) for g in range(G) for r in range(R) if pb.req[g, r] > 0]
    cover = [(g, s) for g in range(G) for s in range(S) if pb.req[g].sum() > 0]
    nu, nc = len(slot), len(cover)
    nvar = nx_ + nu + nc
    slot_row = {k: i for i, k in enumerate(slot)}
    cover_row = {k: i for i, k in enumerate(cover)}
    xr = pb.role[xp] if nx_ else np.zeros(0, np.int64)
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def block(r: np.ndarray, c: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> None:
        blocks.append((r, c, lb, ub))

    # each person at most once
    block(xp, np.arange(nx_), np.zeros(P), np.ones(P))
    # slots: filled + u == required
    sr = np.array([slot_row[(g, r)] for g, r in zip(xg, xr)], dtype=np.int64) if nx_ else np.zeros(0, np.int64)
    reqv = np.array([pb.req[g, r] for g, r in slot], dtype=float)
    block(np.r_[sr, np.arange(nu)], np.r_[np.arange(nx_), nx_ + np.arange(nu)], reqv, reqv)
    # coverage: on duty + c >= 1
    cr = np.array([cover_row.get((g, s), -1) for g, s in zip(xg, xs)], dtype=np.int64) if nx_ else np.zeros(0, np.int64)
    ok = cr >= 0
    block(np.r_[cr[ok], np.arange(nc)], np.r_[np.flatnonzero(ok), nx_ + nu + np.arange(nc)], np.ones(nc), np.full(nc, np.inf))
    # officers on different shifts
    cap = pb.split_cap
    if pb.model.officers_split_shifts and R > 1:
        off = np.flatnonzero(xr == 1)
        keys = xg[off] * S + xs[off]
        uniq, inv = np.unique(keys, return_inverse=True)
        tight = cap[uniq // S] < pb.req[uniq // S, 1]  # only where the cap binds
        sel = tight[inv]
        rmap = -np.ones(len(uniq), np.int64)
        rmap[tight] = np.arange(tight.sum())
        block(rmap[inv[sel]], off[sel], np.full(int(tight.sum()), -np.inf), cap[uniq[tight] // S].astype(float))
    A_parts, lbs, ubs, offset = [], [], [], 0
    for r, c, lb, ub in blocks:
        nrow = len(lb)
        A_parts.append(sparse.coo_matrix((np.ones(len(r)), (r, c)), shape=(nrow, nvar)))
        lbs.append(lb)
        ubs.append(ub)
        offset += nrow
    A = sparse.vstack(A_parts).tocsr()
    cons_lb, cons_ub = np.concatenate(lbs), np.concatenate(ubs)
    integrality = np.r_[np.ones(nx_), np.zeros(nu + nc)]
    bounds = Bounds(np.zeros(nvar), np.r_[np.ones(nx_), reqv, np.ones(nc)])
    w_u = float(nc + 1)
    c1 = np.r_[np.zeros(nx_), np.full(nu, w_u), np.ones(nc)]
    info: dict[str, Any] = {"n_variables": nvar, "n_binaries": nx_, "n_constraints": A.shape[0]}
    t0 = time.perf_counter()
    opts = {"time_limit": float(time_limit), "presolve": True}
    # stage 1: fill and cover as much as the roster allows
    r1 = milp(c1, constraints=LinearConstraint(A, cons_lb, cons_ub), integrality=integrality, bounds=bounds, options=opts)
    if r1.x is None:  # pragma: no cover - x = 0, u = req, c = 1 is always feasible
        raise InfeasibleError(f"the staffing solver found no solution ({r1.message})")
    short = float(np.round(r1.fun))
    stage1_optimal = r1.status == 0
    # stage 2: keep that, minimise distance
    dcost = pb.dist[xp, xg] if nx_ else np.zeros(0)
    c2 = np.r_[dcost, np.zeros(nu + nc)]
    A2 = sparse.vstack([A, sparse.csr_matrix(c1)]).tocsr()
    left = max(0.0, float(time_limit) - (time.perf_counter() - t0))
    r2 = milp(
        c2,
        constraints=LinearConstraint(A2, np.r_[cons_lb, -np.inf], np.r_[cons_ub, short + 0.5]),
        integrality=integrality,
        bounds=bounds,
        options={**opts, "time_limit": max(left, 1.0), "mip_rel_gap": _RELGAP},
    )
    res = r2 if r2.x is not None else r1
    sol = res.x
    info["seconds"] = time.perf_counter() - t0
    status = (
        "optimal"
        if (stage1_optimal and r2.status == 0)
        else ("time_limit" if r2.status == 1 or r1.status == 1 else f"failed ({r2.message})")
    )
    xv = sol[:nx_] > 0.5
    choice = np.full(P, -1, dtype=np.int64)
    choice[xp[xv]] = xg[xv] * S + xs[xv]
    obj = float(dcost[xv].sum())
    bound = getattr(r2, "mip_dual_bound", None) if r2.x is not None else None
    bound = float(bound) if bound is not None and np.isfinite(bound) else float("nan")
    info.update(
        {
            "status": status,
            "solver": "HiGHS (scipy.optimize.milp)",
            "objective": obj,
            "bound": bound,
            "gap": max(0.0, (obj - bound) / obj) if obj > 0 and np.isfinite(bound) else 0.0,
            "shortfall": short,
            "weights": {"unfilled_slot": w_u, "uncovered_shift": 1.0},
        }
    )
    return choice, info


def _exact(pb: _Problem, *, seed: int, time_limit: float) -> tuple[np.ndarray, dict[str, Any]]:
    """The exact staffing: the assignment route when it proves itself optimal, else the joint programme."""
    t0 = time.perf_counter()
    by_assignment = _by_assignment(pb, seed=seed, time_limit=time_limit)
    if by_assignment is not None:
        choice, info = by_assignment
        info["seconds"] = time.perf_counter() - t0
        return choice, info
    choice, info = _milp(pb, seed=seed, time_limit=time_limit)
    info["assignment_route"] = "not proven optimal: the joint programme was solved"
    return choice, info


def _slots(req: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(grid, role) of every single slot, grid by grid (req[g, r] copies of (g, r))."""
    grid, role = np.nonzero(req)
    counts = req[grid, role]
    return np.repeat(grid, counts), np.repeat(role, counts)


def _people_to_slots(pb: _Problem, order: np.ndarray) -> tuple[np.ndarray, int]:
    """Min-cost assignment of people (in ``order``) to slots: fewest empty slots first, then least distance.

    Returns the grid of each person (-1 when not placed) and the number of empty slots. This is the
    staffing without its shift rules, so its empty slots and distance bound the joint programme's.
    """
    P, _ = pb.dist.shape
    slot_grid, slot_role = _slots(pb.req)
    n_slots = len(slot_grid)
    grid_of = np.full(P, -1, dtype=np.int64)
    if n_slots == 0 or len(order) == 0:
        return grid_of, n_slots
    cost = pb.dist[np.ix_(order, slot_grid)]
    cost = np.where(pb.role[order][:, None] == slot_role[None, :], cost, np.inf)
    finite = cost[np.isfinite(cost)]
    # an empty slot costs more than any total distance, so the fewest empty slots come first (lexicographic)
    empty_cost = (float(finite.max()) if finite.size else 1.0) * (n_slots + 1) + 1.0
    with_empty = np.vstack([cost, np.full((n_slots, n_slots), empty_cost)])  # one "nobody" row per slot
    rows, cols = linear_sum_assignment(with_empty)
    real = rows < len(order)
    grid_of[order[rows[real]]] = slot_grid[cols[real]]
    return grid_of, int((~real).sum())


def _shifts_for_members(pb: _Problem, grid_of: np.ndarray) -> np.ndarray:
    """Shifts for every placed person: each on a shift they work, the officer cap kept, fewest uncovered shifts.

    One small programme over the placed people (HiGHS). A person who cannot get a shift under the
    rules is left without one (shift -1), at a cost above every uncovered shift. Returns the shift of
    each person.
    """
    S, G = len(pb.shifts), len(pb.codes)
    placed = np.flatnonzero(grid_of >= 0)
    shift_of = np.full(len(grid_of), -1, dtype=np.int64)
    if len(placed) == 0:
        return shift_of
    staffed = np.flatnonzero(pb.req.sum(axis=1) > 0)
    cover_keys = (staffed[:, None] * S + np.arange(S)[None, :]).ravel()
    n_c = len(cover_keys)
    cover_row = -np.ones(G * S, dtype=np.int64)
    cover_row[cover_keys] = np.arange(n_c)
    person, shift = np.nonzero(pb.avail[placed])
    n_y, n_p = len(person), len(placed)
    n_var = n_y + n_c + n_p  # shifts, uncovered (grid, shift) pairs, people left without a shift
    key = grid_of[placed[person]] * S + shift
    rows = [
        sparse.coo_matrix(
            (np.ones(n_y + n_p), (np.r_[person, np.arange(n_p)], np.r_[np.arange(n_y), n_y + n_c + np.arange(n_p)])),
            shape=(n_p, n_var),
        ),
        sparse.coo_matrix(
            (np.ones(n_y + n_c), (np.r_[cover_row[key], np.arange(n_c)], np.r_[np.arange(n_y), n_y + np.arange(n_c)])),
            shape=(n_c, n_var),
        ),
    ]
    lower = [np.ones(n_p), np.ones(n_c)]
    upper = [np.ones(n_p), np.full(n_c, np.inf)]
    officer = np.flatnonzero(pb.role[placed[person]] == 1)
    if pb.model.officers_split_shifts and len(pb.model.roles) > 1 and len(officer):
        keys, row = np.unique(key[officer], return_inverse=True)
        rows.append(sparse.coo_matrix((np.ones(len(officer)), (row, officer)), shape=(len(keys), n_var)))
        lower.append(np.full(len(keys), -np.inf))
        upper.append(pb.split_cap[keys // S].astype(float))
    result = milp(
        np.r_[np.zeros(n_y), np.ones(n_c), np.full(n_p, float(n_c + 1))],
        constraints=LinearConstraint(sparse.vstack(rows).tocsr(), np.concatenate(lower), np.concatenate(upper)),
        integrality=np.r_[np.ones(n_y), np.zeros(n_c + n_p)],
        bounds=Bounds(np.zeros(n_var), np.ones(n_var)),
    )
    if result.x is None:  # pragma: no cover - nobody on a shift, every shift uncovered is always feasible
        raise InfeasibleError(f"the shift programme found no solution ({result.message})")
    chosen = result.x[:n_y] > 0.5
    shift_of[placed[person[chosen]]] = shift[chosen]
    return shift_of


def _unavoidable_uncovered(pb: _Problem) -> np.ndarray:
    """(G,) shifts a grid leaves uncovered in any staffing: a full team smaller than the number of shifts."""
    team = pb.req.sum(axis=1)
    return np.where(team > 0, np.maximum(0, len(pb.shifts) - team), 0)


def _repair_grids(
    pb: _Problem, grid_of: np.ndarray, shift_of: np.ndarray, failing: np.ndarray, *, seed: int, time_limit: float
) -> tuple[np.ndarray, np.ndarray] | None:
    """The joint programme on the ``failing`` grids alone, from their people and everyone not placed.

    Returns the new grid and shift of each person, or None when that programme does not reach the
    failing grids' least empty slots and uncovered shifts (then nothing is proven: the caller gives up).
    """
    S = len(pb.shifts)
    spare = (grid_of < 0) & pb.avail.any(axis=1) & np.isfinite(pb.dist[:, failing]).any(axis=1)
    people = np.flatnonzero(np.isin(grid_of, failing) | spare)
    sub = replace(
        pb,
        codes=pb.codes[failing],
        req=pb.req[failing],
        people=pb.people[people],
        role=pb.role[people],
        avail=pb.avail[people],
        dist=pb.dist[np.ix_(people, failing)],
        post=pb.post[np.ix_(people, failing)],
        grids=pb.grids.iloc[failing],
    )
    sub_choice, info = _milp(sub, seed=seed, time_limit=time_limit)
    if info["status"] != "optimal":
        return None
    grid_of, shift_of = grid_of.copy(), shift_of.copy()
    grid_of[people], shift_of[people] = -1, -1
    taken = sub_choice >= 0
    grid_of[people[taken]] = failing[sub_choice[taken] // S]
    shift_of[people[taken]] = sub_choice[taken] % S
    return grid_of, shift_of


def _by_assignment(pb: _Problem, *, seed: int, time_limit: float = 60.0) -> tuple[np.ndarray, dict[str, Any]] | None:
    """Exact staffing in small steps, when they prove themselves optimal; None otherwise.

    Step 1 places people in slots by a min-cost assignment (:func:`scipy.optimize.linear_sum_assignment`)
    without the shift rules: a relaxation of the joint programme, so its empty slots and its distance
    bound the joint optimum's. Step 2 gives the placed people shifts (one small programme). Grids where
    a person gets no shift, or a shift stays uncovered that a full team could cover, are re-solved by
    the joint programme on those grids alone, from their people and everyone not placed (step 3). When
    the result then has the relaxation's empty slots and only the uncovered shifts no staffing avoids
    (teams smaller than the number of shifts), the first two stages of :func:`assign_staff` are
    proven optimal, and its distance is within ``gap`` of the relaxation's (0 without step 3):
    ``"optimal"`` up to the joint programme's own gap, ``"within_gap"`` above it. Otherwise None, and
    the joint programme decides.
    """
    P, G = pb.dist.shape
    S = len(pb.shifts)
    if (P + int(pb.req.sum())) * int(pb.req.sum()) > _MAX_ASSIGNMENT_CELLS:
        return None
    works = np.flatnonzero(pb.avail.any(axis=1) & np.isfinite(pb.dist).any(axis=1))
    order = works[np.random.default_rng(seed).permutation(len(works))]  # the seed decides among equal assignments
    grid_of, empty = _people_to_slots(pb, order)
    bound = float(pb.dist[np.flatnonzero(grid_of >= 0), grid_of[grid_of >= 0]].sum())
    shift_of = _shifts_for_members(pb, grid_of)
    unavoidable = _unavoidable_uncovered(pb)
    stranded = (grid_of >= 0) & (shift_of < 0)
    failing = np.union1d(grid_of[stranded], np.flatnonzero(_uncovered_per_grid(pb, grid_of, shift_of) > unavoidable))
    if len(failing):
        repaired = _repair_grids(pb, grid_of, shift_of, failing, seed=seed, time_limit=time_limit)
        if repaired is None:
            return None
        grid_of, shift_of = repaired
    uncovered = _uncovered_per_grid(pb, grid_of, shift_of)
    placed = grid_of >= 0
    filled = np.zeros_like(pb.req)
    np.add.at(filled, (grid_of[placed], pb.role[placed]), 1)
    now_empty = int((pb.req - filled).sum())
    if now_empty != empty or (uncovered > unavoidable).any() or (placed & (shift_of < 0)).any():
        return None
    choice = np.full(P, -1, dtype=np.int64)
    choice[placed] = grid_of[placed] * S + shift_of[placed]
    objective = float(pb.dist[np.flatnonzero(placed), grid_of[placed]].sum())
    gap = max(0.0, (objective - bound) / objective) if objective > 0 else 0.0
    empty_weight = float(int((pb.req.sum(axis=1) > 0).sum()) * S + 1)  # as the joint programme weighs them
    info: dict[str, Any] = {
        "status": "optimal" if gap <= _RELGAP else "within_gap",
        "solver": "assignment (scipy linear_sum_assignment) + shifts (HiGHS), proven against its relaxation"
        + (f"; {len(failing)} grids re-solved jointly" if len(failing) else ""),
        "objective": objective,
        "bound": bound,
        "gap": gap,
        "shortfall": empty * empty_weight + int(uncovered.sum()),
        "weights": {"unfilled_slot": empty_weight, "uncovered_shift": 1.0},
        "repaired_grids": [str(c) for c in pb.codes[failing]],
    }
    return choice, info


def _uncovered_per_grid(pb: _Problem, grid_of: np.ndarray, shift_of: np.ndarray) -> np.ndarray:
    """(G,) shifts of each staffed grid nobody works."""
    S, G = len(pb.shifts), len(pb.codes)
    on = np.zeros((G, S), dtype=bool)
    working = (grid_of >= 0) & (shift_of >= 0)
    on[grid_of[working], shift_of[working]] = True
    return np.where(pb.req.sum(axis=1) > 0, (~on).sum(axis=1), 0)


def _shifts_greedy(pb: _Problem, members: list[int], g: int) -> dict[int, int]:
    """Give a grid's members shifts: cover empty shifts first, then the least-staffed allowed shift."""
    S = len(pb.shifts)
    load = np.zeros(S, np.int64)
    officers = np.zeros(S, np.int64)
    cap = pb.split_cap[g]
    out: dict[int, int] = {}
    # people with fewer options choose first (so that they are not left without a shift)
    for p in sorted(members, key=lambda q: (pb.avail[q].sum(), q)):
        ok = pb.avail[p] & ~((pb.role[p] == 1) & (officers >= cap))
        if not ok.any():
            continue
        s = int(np.flatnonzero(ok)[np.argmin(load[ok])])
        out[p] = s
        load[s] += 1
        officers[s] += int(pb.role[p] == 1)
    return out


def _greedy(pb: _Problem) -> np.ndarray:
    """Nearest-grid greedy: every (person, grid) pair by distance, taken while the grid has a slot of the role."""
    P, G = pb.dist.shape
    S = len(pb.shifts)
    open_ = pb.req.copy()
    choice = np.full(P, -1, dtype=np.int64)
    p_idx, g_idx = np.nonzero(np.isfinite(pb.dist))
    order = np.lexsort((g_idx, p_idx, pb.dist[p_idx, g_idx]))
    placed = np.zeros(P, bool)
    members: list[list[int]] = [[] for _ in range(G)]
    for k in order:
        p, g = int(p_idx[k]), int(g_idx[k])
        r = pb.role[p]
        if placed[p] or open_[g, r] <= 0:
            continue
        members[g].append(p)
        placed[p] = True
        open_[g, r] -= 1
    for g in range(G):
        for p, s in _shifts_greedy(pb, members[g], g).items():
            choice[p] = g * S + s
    return choice


# =========================================================================== the result
class Staffing:
    """Teams for every grid: who, where they report, which shift; what is missing.

    Made by :func:`assign_staff`.

    Attributes
    ----------
    assignments : GeoDataFrame
        One row per assigned person, indexed like the roster: ``id``, ``grid`` (code), ``role``,
        ``shift``, ``party_member``, ``post_id`` (row of the posts it reports to, or
        ``default:<code>``), ``distance_m`` (home to post), ``home_x``, ``home_y``; the geometry
        column ``post`` is the point the person reports to.
    teams : DataFrame
        One row per grid (index: code): people per role, ``on_<shift>`` people per shift,
        ``size``, ``required``, ``missing``, ``uncovered`` (shifts nobody works),
        ``distance_m`` (the team's total), ``complete`` (every slot filled) and
        ``all_shifts_covered``.
    vacancies : DataFrame
        One row per grid and role that is short: ``grid``, ``role``, ``required``, ``filled``,
        ``missing``, ``reason``. Empty (with these columns) when every slot is filled.
    unassigned : DataFrame
        Every roster person not assigned, indexed like the roster: ``id``, ``role``, ``reason``,
        ``home_x``, ``home_y``.
    posts : GeoDataFrame
        The post points used (``grid``, ``kind``, ``source``; ``node`` and ``snap_m`` for
        network distance).
    requirements : DataFrame
        People needed per grid and role (:meth:`StaffingModel.requirements`).
    model : StaffingModel
    params : dict
        Model, shifts, distance, seed; solver ``status``, ``objective`` (total distance, m),
        ``bound`` (HiGHS's lower bound on it), ``gap``, ``seconds``, problem size.
    notes : list of str
    """

    def __init__(self, pb: _Problem, choice: np.ndarray, params: dict[str, Any], notes: list[str]) -> None:
        self.model = pb.model
        self.params = dict(params)
        self.notes = list(notes)
        self.shifts = pb.shifts
        self.posts = pb.posts
        self._grids = pb.grids
        self.crs = pb.crs
        S = len(pb.shifts)
        codes = pb.codes
        self.requirements = pd.DataFrame(pb.req, index=pd.Index(codes, name="grid"), columns=list(pb.model.roles))
        used = np.flatnonzero(choice >= 0)
        g = choice[used] // S
        s = choice[used] % S
        rows = pb.people[used]
        ros = pb.roster
        post_rows = pb.post[used, g]
        post_geom = np.asarray(pb.posts.geometry.values)[post_rows]
        a = pd.DataFrame(
            {
                "id": ros["id"].to_numpy()[rows],
                "grid": codes[g].astype(object),
                "role": np.asarray(pb.model.roles, dtype=object)[pb.role[used]],
                "shift": np.asarray(pb.shifts, dtype=object)[s],
                "party_member": ros["party_member"].to_numpy()[rows],
                "post_id": pb.posts.index.to_numpy()[post_rows],
                "distance_m": pb.dist[used, g],
                "home_x": ros["x"].to_numpy()[rows],
                "home_y": ros["y"].to_numpy()[rows],
            },
            index=ros.index[rows],
        )
        order = np.lexsort((a["id"].astype(str).to_numpy(), s, pb.role[used], g))
        a = a.iloc[order]
        self.assignments = gpd.GeoDataFrame(
            a, geometry=gpd.GeoSeries(post_geom[order], index=a.index, crs=pb.crs), crs=pb.crs
        ).rename_geometry("post")

        # unassigned: everyone else, with the reason
        mask = np.ones(len(ros), bool)
        mask[rows] = False
        un = ros.iloc[np.flatnonzero(mask)][["id", "role", "reason", "x", "y"]].rename(columns={"x": "home_x", "y": "home_y"})
        filled = np.zeros_like(pb.req)
        np.add.at(filled, (g, pb.role[used]), 1)
        short_role = (pb.req - filled).clip(min=0).sum(axis=0)
        spare = un["reason"] == ""
        for i in np.flatnonzero(spare.to_numpy()):
            r = un["role"].iloc[i]
            un.iat[i, un.columns.get_loc("reason")] = (
                f"spare: every {r} slot is filled"
                if short_role[pb.model.roles.index(r)] == 0
                else "not placed: no open slot fits their shifts and the rules"
            )
        self.unassigned = un

        # teams
        t = pd.DataFrame(filled, index=pd.Index(codes, name="grid"), columns=list(pb.model.roles))
        on = np.zeros((len(codes), S), np.int64)
        np.add.at(on, (g, s), 1)
        for j, sh in enumerate(pb.shifts):
            t[f"on_{sh}"] = on[:, j]
        t["size"] = filled.sum(axis=1)
        t["required"] = pb.req.sum(axis=1)
        t["missing"] = (pb.req - filled).clip(min=0).sum(axis=1)
        t["uncovered"] = [", ".join(sh for j, sh in enumerate(pb.shifts) if on[k, j] == 0) for k in range(len(codes))]
        t["distance_m"] = np.bincount(g, weights=pb.dist[used, g], minlength=len(codes))
        t["complete"] = t["missing"] == 0
        t["all_shifts_covered"] = (on > 0).all(axis=1)
        self.teams = t

        # vacancies with reasons
        vac = []
        elig_roles = pb.role
        for k, r in zip(*np.nonzero(pb.req > filled)):
            role = pb.model.roles[r]
            vac.append(
                {
                    "grid": codes[k],
                    "role": role,
                    "required": int(pb.req[k, r]),
                    "filled": int(filled[k, r]),
                    "missing": int(pb.req[k, r] - filled[k, r]),
                    "reason": _vacancy_reason(pb, r, int((elig_roles == r).sum())),
                }
            )
        self.vacancies = pd.DataFrame(vac, columns=["grid", "role", "required", "filled", "missing", "reason"])
        self.vacancies[["required", "filled", "missing"]] = self.vacancies[["required", "filled", "missing"]].astype(np.int64)

    # ------------------------------------------------------------------ facts
    @property
    def total_distance_m(self) -> float:
        return float(self.assignments["distance_m"].sum())

    @property
    def complete(self) -> bool:
        """Every slot of every grid is filled."""
        return bool(self.vacancies.empty)

    def summary(self) -> pd.Series:
        """Grids, people, slots filled, vacancies, uncovered shifts, distances, solver status."""
        t = self.teams
        d = self.assignments["distance_m"]
        return pd.Series(
            {
                "model": self.model.formula,
                "grids": len(t),
                "people": self.params.get("n_people"),
                "slots": int(t["required"].sum()),
                "assigned": len(self.assignments),
                "unassigned": len(self.unassigned),
                "vacancies": int(self.vacancies["missing"].sum()) if len(self.vacancies) else 0,
                "uncovered_shifts": int(sum(len(u.split(", ")) for u in t["uncovered"] if u)),
                "total_distance_km": float(d.sum()) / 1000,
                "mean_distance_m": float(d.mean()) if len(d) else 0.0,
                "max_distance_m": float(d.max()) if len(d) else 0.0,
                "distance": self.params.get("distance"),
                "status": self.params.get("status"),
                "gap": self.params.get("gap"),
                "seconds": self.params.get("seconds"),
            },
            name="staffing",
            dtype=object,
        )

    def shift_table(self, grid: str | Sequence[str] | None = None, *, label: str = "id") -> pd.DataFrame:
        """A weekly duty roster: rows (grid, shift), columns Mon-Sun.

        Every day of the week repeats the same pattern (each person works their shift every
        day; rest days and rotation are left to the community). A cell lists who is on duty,
        as ``"<label> (<role>)"``, leader first; ``"—"`` marks a shift nobody covers.

        Parameters
        ----------
        grid : str or sequence of str, optional
            Only these grid codes.
        label : str, default "id"
            Column of the assignments to name people by (e.g. ``"id"``).
        """
        a = self.assignments
        _validate.column(a, label, "label=: the assignments'")
        codes = list(self.teams.index)
        if grid is not None:
            if not isinstance(grid, (str, list, tuple, np.ndarray, pd.Index, pd.Series)):
                raise DataError(f"grid must be a grid code or a list of codes, got {grid!r}")
            want = [grid] if isinstance(grid, str) else list(grid)
            bad = [c for c in want if c not in codes]
            if bad:
                raise DataError(f"grids {bad[:_SHOW]} are not in the plan")
            codes = want
        rank = {r: i for i, r in enumerate(self.model.roles)}
        rows, idx = [], []
        for c in codes:
            mine = a[a["grid"] == c]
            for sh in self.shifts:
                on = mine[mine["shift"] == sh]
                on = on.iloc[np.lexsort((on[label].astype(str).to_numpy(), on["role"].map(rank).to_numpy()))]
                cell = ", ".join(f"{v} ({r})" for v, r in zip(on[label], on["role"])) or "—"
                rows.append([cell] * len(WEEKDAYS))
                idx.append((c, sh))
        return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(idx, names=["grid", "shift"]), columns=list(WEEKDAYS))

    def __repr__(self) -> str:
        s = self.summary()
        vac = f"{s['vacancies']} vacancies" if s["vacancies"] else "complete"
        return (
            f"<Staffing '{s['model']}': {s['grids']} grids, {s['assigned']}/{s['slots']} slots filled ({vac}), "
            f"{s['uncovered_shifts']} uncovered shifts, {s['total_distance_km']:.2f} km home-to-post, {s['status']}>"
        )

    def _repr_html_(self) -> str:
        s = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{html.escape(_fmt(v))}</td></tr>"
            for k, v in self.summary().items()
        )
        teams = self.teams.to_html(float_format=lambda v: f"{v:,.0f}", max_rows=30)
        vac = self.vacancies.to_html(index=False, max_rows=30) if len(self.vacancies) else "<p>no vacancies</p>"
        return (
            f"<div><b>gridplan Staffing</b><table>{s}</table><details><summary>teams</summary>{teams}</details>"
            f"<details><summary>vacancies</summary>{vac}</details></div>"
        )

    def explore(self, **kwargs: Any) -> folium.Map:
        """Interactive folium map: the grids (with their team and vacancies), the posts and each person
        at their post (needs the ``[explore]`` extra)."""
        try:
            import folium  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("Staffing.explore needs folium: pip install 'gridplan[explore]'") from exc
        m = None
        if isinstance(self._grids, gpd.GeoDataFrame):
            g = self._grids[["code", self._grids.geometry.name]].copy()
            team = self.teams.reindex(g["code"].astype(str))
            for col in ("size", "required", "missing", "uncovered"):
                if col in team:
                    g[col] = team[col].to_numpy()
            m = g.explore(
                style_kwds={"fillOpacity": 0.05, "color": "black"},
                name="grids",
                tooltip=list(g.columns.drop(g.geometry.name)),
                **kwargs,
            )
            kwargs = {}
        people = self.assignments.reset_index()
        return people.explore(
            m=m,
            column="grid",
            categorical=True,
            marker_kwds={"radius": 5},
            name="staff",
            tooltip=[c for c in people.columns if c != people.geometry.name][:8],
            **kwargs,
        )

    def plot(self, ax: Axes | None = None, *, title: str | None = None) -> Axes:
        """Map: grid outlines, posts (triangles), homes coloured by grid, lines from home to post.

        People left unassigned with a home are grey crosses.
        """
        from matplotlib import colormaps
        from matplotlib.collections import LineCollection

        from . import plot as _plot

        ax = _plot.axes(ax)
        grids = self._grids
        if isinstance(grids, gpd.GeoDataFrame):
            grids.boundary.plot(ax=ax, color="#222222", linewidth=1.0, zorder=2)
        a = self.assignments
        codes = list(self.teams.index)
        cmap = colormaps["tab20"] if len(codes) > 10 else colormaps["tab10"]
        colour = {c: cmap(i % cmap.N) for i, c in enumerate(codes)}
        if len(a):
            px, py = shapely.get_x(a.geometry.values), shapely.get_y(a.geometry.values)
            segs = np.stack([np.column_stack([a["home_x"], a["home_y"]]), np.column_stack([px, py])], axis=1)
            cols = [colour[c] for c in a["grid"]]
            # matplotlib's stubs want a sequence of segments; an (N, 2, 2) array is documented input
            ax.add_collection(LineCollection(segs, colors=cols, linewidths=0.7, alpha=0.6, zorder=3))  # type: ignore[arg-type]
            ax.scatter(a["home_x"], a["home_y"], c=cols, s=14, zorder=4, edgecolors="white", linewidths=0.3)
        un = self.unassigned
        has_home = np.isfinite(un["home_x"].to_numpy(float)) & np.isfinite(un["home_y"].to_numpy(float))
        if has_home.any():
            ax.scatter(un["home_x"][has_home], un["home_y"][has_home], marker="x", s=14, c="#9e9e9e", zorder=4)
        if len(self.posts):
            p = self.posts
            ax.scatter(shapely.get_x(p.geometry.values), shapely.get_y(p.geometry.values), marker="^", s=40, c="black", zorder=5)
        n_un = len(un)
        legend = [("home → post (colour: grid)", "#1f77b4", "-")] + ([("unassigned", "#9e9e9e", "x")] if n_un else [])
        title = title or (
            f"Staffing '{self.model.formula}': {len(a)} people in {len(codes)} grids, "
            f"{self.total_distance_m / 1000:.1f} km home-to-post" + (f", {n_un} unassigned" if n_un else "")
        )
        ax.autoscale_view()
        return _plot.finish(ax, title, legend=legend)

    # ------------------------------------------------------------------ files
    _TABLES = ("teams", "vacancies", "unassigned", "requirements")

    def to_file(self, path: PathLike) -> Path:
        """Save the staffing to a GeoPackage (read it back with :meth:`read_file`).

        Layers: ``assignments`` (points: the post each person reports to), ``posts``, ``grids``,
        and the tables ``teams``, ``vacancies``, ``unassigned`` and ``requirements``; the model,
        shifts, parameters and notes go with them. Returns the path.
        """
        from . import _io

        frames = {
            "assignments": self.assignments,
            "posts": self.posts,
            **{name: _io.table_layer(getattr(self, name), self.crs) for name in self._TABLES},
        }
        if isinstance(self._grids, gpd.GeoDataFrame):
            frames["grids"] = self._grids
        m = self.model
        params = {
            **self.params,
            "notes": self.notes,
            "shifts_saved": list(self.shifts),
            "crs_wkt": None if self.crs is None else pyproj.CRS(self.crs).to_wkt(),
            "staffing_model": {
                "roles": list(m.roles),
                "counts": list(m.counts),
                "n_per_workload": m.n_per_workload,
                "n_min": m.n_min,
                "leader_party_member": m.leader_party_member,
                "officers_split_shifts": m.officers_split_shifts,
            },
        }
        return _io.write_frames(path, "Staffing", frames, params)

    @classmethod
    @_io.guarded_read
    def read_file(cls, path: PathLike) -> Staffing:
        """Load a staffing saved with :meth:`to_file`: the same teams, assignments, vacancies and notes.

        Examples
        --------
        >>> import tempfile, pathlib, geopandas as gpd, pandas as pd, shapely
        >>> grids = gpd.GeoDataFrame({"code": ["A"], "weight": [1.0]}, geometry=[shapely.box(0, 0, 100, 100)], crs=4545)
        >>> roster = pd.DataFrame({"id": ["p1", "p2"], "role": ["leader", "officer"], "party_member": [True, False],
        ...                        "x": [40.0, 60.0], "y": [50.0, 50.0]})
        >>> s = assign_staff(grids, roster, model="1+1", distance="euclidean")
        >>> back = Staffing.read_file(s.to_file(pathlib.Path(tempfile.mkdtemp()) / "staffing.gpkg"))
        >>> back.teams.equals(s.teams), back.model == s.model, repr(back) == repr(s)
        (True, True, True)
        """
        from . import _io

        frames, params = _io.read_frames(path, "Staffing")
        if params.get("status") == "time limit":  # the spelling of files saved before gridplan's one status vocabulary
            params["status"] = "time_limit"
        spec = params.pop("staffing_model")
        wkt = params.pop("crs_wkt")
        crs = None if wkt is None else pyproj.CRS.from_wkt(wkt)
        self = cls.__new__(cls)
        self.model = StaffingModel(
            roles=tuple(spec["roles"]),
            counts=tuple(spec["counts"]),
            n_per_workload=spec["n_per_workload"],
            n_min=spec["n_min"],
            leader_party_member=spec["leader_party_member"],
            officers_split_shifts=spec["officers_split_shifts"],
        )
        self.shifts = tuple(params.pop("shifts_saved"))
        self.notes = list(params.pop("notes"))
        self.params = params
        self.crs = crs

        def geo(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
            return frame if crs is None else frame.set_crs(crs, allow_override=True)

        self.assignments = geo(frames["assignments"])
        self.posts = geo(frames["posts"])
        self._grids = geo(frames["grids"]) if "grids" in frames else None
        for name in cls._TABLES:
            setattr(self, name, _io.plain_table(frames[name]))
        return self


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.3f}"
    return str(v)


def _vacancy_reason(pb: _Problem, r: int, n_eligible: int) -> str:
    role = pb.model.roles[r]
    ros = pb.roster
    total = int(pb.req[:, r].sum())
    on_roster = int((ros["role"] == role).sum())
    if on_roster == 0:
        return f"no {role} on the roster"
    if r == 0 and pb.model.leader_party_member:
        party = int(((ros["role"] == role) & ros["party_member"]).sum())
        if party < total:
            return f"too few Party-member {role}s ({party} of {on_roster} {role}s for {total} slots)"
    if n_eligible < total:
        return f"too few usable {role}s ({n_eligible} for {total} slots; see .unassigned for the others)"
    return f"no usable {role} can take it (shifts, rules or streets; {n_eligible} usable for {total} slots)"


# =========================================================================== entry point
def assign_staff(
    plan: GridPlan | gpd.GeoDataFrame,
    roster: pd.DataFrame,
    *,
    model: str | StaffingModel = "1+2+2",
    posts: Posts | gpd.GeoDataFrame | None = None,
    shifts: Sequence[str] = SHIFTS,
    distance: str = "network",
    strict: bool = False,
    streets: District | StreetNetwork | gpd.GeoDataFrame | None = None,
    crs: CRSLike | None = None,
    seed: int = 0,
    time_limit: float = 60.0,
) -> Staffing:
    """Give every grid its team and every person a shift, nearest to home, exactly.

    Parameters
    ----------
    plan : GridPlan or GeoDataFrame
        The grids (a plan, or a grids table with ``code``, geometry and ``weight`` for ``N``).
    roster : DataFrame or GeoDataFrame
        One row per person: ``id`` (unique), ``role`` (a role of the model; the Chinese names
        网格长/执法队员/网格员/协管员 of the default roles are understood), ``party_member`` (bool;
        missing values count as False), a home (``x``/``y`` in the plan's CRS, ``lon``/``lat``
        with ``crs=``, or point geometry), and optionally ``unavailable``: the shifts the person
        cannot work, as a list or a ``";"``-separated string.
    model : str or StaffingModel, default "1+2+2"
        The team formula and rules (see :class:`StaffingModel`; a string uses its defaults:
        Party-member leaders, officers on different shifts).
    posts : Posts or GeoDataFrame, optional
        Points with ``grid`` (code) and ``kind`` (``"post"`` or ``"station"``). A person reports
        to the nearest ``"post"`` of their grid (a station when the grid has no post). Default:
        every grid's post is the street node nearest its centre.
    shifts : tuple of str, default ("early", "middle", "late")
    distance : {"network", "euclidean"}
        ``"network"``: home snapped to the nearest street node (plus that snap distance), the
        shortest street path to the post's node, plus the post's snap distance.
        ``"euclidean"``: straight line.
    strict : bool, default False
        Raise :class:`~gridplan.errors.InfeasibleError` (naming the missing roles per grid) when
        a slot stays empty, or a shift uncovered in a grid whose team could cover every shift.
        Otherwise the best partial staffing is returned with its :attr:`Staffing.vacancies`.
    streets : District, StreetNetwork or GeoDataFrame, optional
        Streets for ``distance="network"`` when the plan has no district (or to override it).
    crs : CRS-like, optional
        CRS of the roster's coordinates (needed for ``lon``/``lat``; ``"GCJ-02"`` and
        ``"BD-09"`` are understood). Default: the plan's CRS (or ``roster.attrs["crs"]``).
    seed : int, default 0
        Decides among equally good assignments (same seed, same result).
    time_limit : float, default 60
        Seconds for the solver; a result that is not proven optimal says so in
        ``params["status"]`` and warns.

    Returns
    -------
    Staffing

    Notes
    -----
    Exact integer programme (HiGHS via :func:`scipy.optimize.milp`) over binaries
    x[person, grid, shift], built only where the person's role has a slot in the grid, the
    person works the shift and (for leaders under the Party rule) is a Party member. Solved
    lexicographically: (1) fill as many slots as possible, (2) then cover as many
    (grid, shift) pairs as possible (at least one person on each shift), (3) then minimise the
    total home-to-post distance (relative gap 1e-7). Distances come from one Dijkstra run per
    distinct post node.

    A faster route is tried first and kept only when it proves itself optimal: people placed in
    slots by a min-cost assignment without the shift rules (a relaxation, so it bounds the
    programme's empty slots and distance), then shifts for the placed people. When every placed
    person gets a shift and no shift is left uncovered that a full team could cover, it meets
    the bounds of all three stages (``params["solver"]`` names the route). Otherwise the integer
    programme decides. Whole districts (138 grids from about 900 people) solve this way in well
    under a second, where the programme alone finds no solution in minutes.

    People are left out, each with a reason in :attr:`Staffing.unassigned`, when their role is
    unknown (with a :class:`~gridplan.errors.GridplanWarning`), their home is missing or NaN
    (also warned), they are leaders but not Party members under the Party rule, they cannot
    work any shift, no post of a grid needing their role can be reached on the streets, or
    they are simply not needed (spare).

    Raises
    ------
    DataError
        Empty roster, duplicate or missing ids, missing columns, unreadable ``party_member`` or
        ``unavailable`` values (e.g. shifts not in ``shifts``), bad ``shifts``/``distance``/model.
    CRSError
        Homes in degrees without ``crs=``, or layers in different CRSs.
    InfeasibleError
        ``strict=True`` and the roster cannot fill every slot.

    Examples
    --------
    See the module docstring.
    """
    t0 = time.perf_counter()
    time_limit = _validate.number(time_limit, "time_limit (seconds)", above=0)
    seed = _validate.seed(seed)
    strict = _validate.boolean(strict, "strict")
    pb = _prepare(plan, roster, model=model, posts=posts, shifts=shifts, distance=distance, streets=streets, crs=crs, seed=seed)
    choice, info = _exact(pb, seed=int(seed), time_limit=float(time_limit))
    params = {**pb.params, "method": "milp", "strict": bool(strict), **info, "seconds_total": time.perf_counter() - t0}
    notes = list(pb.notes)
    if info["status"] == "within_gap":
        notes.append(
            f"every slot that can be filled is filled and every shift that can be covered is covered (proven); "
            f"the total distance is within {info['gap']:.3%} of the optimum (the assignment route's bound)"
        )
    elif info["status"] != "optimal":
        warnings.warn(
            f"the staffing solver stopped before proving optimality ({info['status']}, gap "
            f"{info['gap']:.2%}); raise time_limit= for a proven optimum",
            GridplanWarning,
            stacklevel=2,
        )
        notes.append(f"solver status {info['status']}: the staffing may not be optimal")
    result = Staffing(pb, choice, params, notes)
    team_size = pb.req.sum(axis=1)
    uncovered = result.teams[(result.teams["uncovered"] != "") & (team_size >= len(pb.shifts))]
    if strict and (len(result.vacancies) or len(uncovered)):
        parts = []
        for code, grp in result.vacancies.groupby("grid", sort=False):
            parts.append(f"grid {code}: " + ", ".join(f"{m} {r}" for r, m in zip(grp["role"], grp["missing"])))
        for code, row in uncovered.iterrows():
            parts.append(f"grid {code}: nobody on {row['uncovered']}")
        reasons = sorted(set(result.vacancies["reason"]))
        raise InfeasibleError(
            f"the roster cannot staff every grid with '{pb.model.formula}' ({int(result.vacancies['missing'].sum())} "
            f"slots short): {'; '.join(parts[:20])}{' ...' if len(parts) > 20 else ''}. Why: {'; '.join(reasons[:4])}. "
            "Add people, relax the rules, or pass strict=False for the best partial staffing"
        )
    if len(result.vacancies):
        notes_v = f"{int(result.vacancies['missing'].sum())} slots stay empty (see .vacancies)"
        result.notes.append(notes_v)
    n_unc = int((result.teams["uncovered"] != "").sum())
    if n_unc:
        result.notes.append(f"{n_unc} grids have shifts nobody works (see .teams['uncovered'])")
    return result


def _greedy_assignment(plan: Any, roster: pd.DataFrame, **kwargs: Any) -> Staffing:
    """Nearest-grid greedy staffing (for benchmarks): same inputs and rules as :func:`assign_staff`.

    Every (person, grid) pair is taken in order of distance while the grid still has a slot of
    the person's role (Party-member leaders only, under the rule); then every grid's members get
    shifts, people with the fewest available shifts first, each on the least-staffed shift they
    can work (officers never over the split cap). No optimality, no guarantee of coverage.
    """
    kwargs.pop("strict", None)
    kwargs.pop("time_limit", None)
    t0 = time.perf_counter()
    seed = kwargs.pop("seed", 0)
    pb = _prepare(
        plan,
        roster,
        seed=seed,
        **{"model": "1+2+2", "posts": None, "shifts": SHIFTS, "distance": "network", "streets": None, "crs": None, **kwargs},
    )
    choice = _greedy(pb)
    used = np.flatnonzero(choice >= 0)
    obj = float(pb.dist[used, choice[used] // len(pb.shifts)].sum())
    params = {
        **pb.params,
        "method": "greedy",
        "strict": False,
        "status": "heuristic",
        "objective": obj,
        "bound": float("nan"),
        "gap": float("nan"),
        "seconds": time.perf_counter() - t0,
    }
    return Staffing(pb, choice, params, list(pb.notes))


from ._roster import Roster, roster  # noqa: E402  (monthly rosters: gridplan.staffing.roster)
