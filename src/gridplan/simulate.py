"""Simulate incidents, patrol discovery and response: do the grids, teams and patrols meet "7123"?

Researchers ask how staffing, shifts, posts, grid splits and patrols change discovery and
response. :func:`simulate` runs a district's week (or month) of city-management incidents many
times over a :class:`~gridplan.grids.GridPlan` with its posts, teams and road-chief patrols, and
reports how fast problems are found, how fast staff stand face to face with the reporter, and
how many cases are closed within the "7123" limits (7 minutes; 1 day in the grid, 2 days by the
community, 3 days by the subdistrict), per grid, community, source, shift and problem type, with
confidence intervals across runs.

The model (:class:`IncidentModel`)
----------------------------------
* **Arrivals.** Every problem type (street vending, illegal parking, garbage, small ads, dog
  keeping, drainage, ...) arrives as a space-time Poisson process: its intensity is a rate per
  10,000 residents (at the district's population points) or per street kilometre (uniformly
  along the streets), times an hour-of-day profile. Counts per run are Poisson.
* **Discovery.** A problem that is *visible from the street* (vending, parking, garbage, ads,
  drainage, ...) stays unseen until the first of: the road chief who sweeps that street walks
  past it on duty (each chief repeats their closed walk from ``RoutePlan`` at
  ``patrol_speed_m_per_min`` during their shift, starting each run at a random point of the
  walk and resuming where the last shift ended); grid staff on duty at a post within
  ``staff_watch_m`` notice it; or a citizen reports it (exponential delay with the type's mean,
  through one of the citizen sources). Other problems (dog keeping, noise, fly charging
  cables) are reported by citizens after a short delay. Every case carries one of the model's
  sources, by default the 9 of the domain: 12345 and 12319 hotlines, road-chief patrol,
  grid-staff self-discovery, citizen photo apps (随手拍), media, higher-level referral, community
  reports, IoT/video (``IncidentModel(sources=...)`` renames, adds or drops them).
* **Face to face.** A reported case is answered by the on-duty member of the grid's team
  (:class:`~gridplan.staffing.Staffing`) who can be there first: travelling from their post
  along the streets at ``response_speed_m_per_min`` (e-bike by default; 80 m/min on foot),
  after finishing the case in hand; outside every shift of the grid it waits for the next
  shift. Staff are busy on site and while riding back to their post. Cases found by patrols
  or staff are face to face at once.
* **Resolution.** After the visit, small matters are closed on the spot with probability
  ``solve_on_site`` or after a follow-up (gamma-distributed hours); larger and hard matters go
  to the community or subdistrict and close after their own gamma-distributed handling times.
  A case meets its limit when it is closed within the limit of its level
  (:data:`~gridplan.locate.TIME_LIMITS_7123`), counted from its registration.
* A grid with nobody on a team leaves its reported cases **unmet**: they are counted, never
  divided by zero.
* **The closed loop** (``loop=``, :mod:`gridplan._caseflow`): every kept case of the ledger is
  filed, dispatched to its department (:mod:`gridplan.catalogue`), handled with escalation grid →
  community → squad, fed back, verified by supervisors on beats (with rework) and closed, each
  step time-stamped; ``gridplan.evaluate`` ranks grids, departments and streets from it. Its
  numbers are assumptions unless fitted to a ledger (:meth:`IncidentModel.fit`).

Runs are independent, each with its own seed spawned from one :class:`numpy.random.SeedSequence`,
so results are identical whether the runs go one after another or on the workers of a
``dask.distributed`` client (``client=``, the ``[distributed]`` extra).

Examples
--------
>>> import gridplan
>>> from gridplan.grids import partition
>>> from gridplan.simulate import IncidentModel, simulate
>>> district = gridplan.District.from_frames(**_example_layers())
>>> plan = partition(district, 2, units="cells", seed=0)
>>> result = simulate(plan, staffing="sample", days=2, runs=4, seed=0, progress=False)
>>> len(result.runs), sorted(result.per_grid.index) == sorted(plan.grids["code"])
(4, True)
>>> bool(0 <= result.summary().loc["compliance_7min", "mean"] <= 1)
True
>>> simulate(plan, days=2, runs=4, seed=0, posts=result.posts, staffing=result.staffing,
...          routes=result.routes, progress=False).runs.equals(result.runs)
True
"""

from __future__ import annotations

import html
import math
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _caseflow, _validate
from ._sameplan import _check_same_plan, _grids_of
from ._speeds import PATROL_WALK_M_PER_MIN
from .errors import DataError
from .locate import TIME_LIMITS_7123, TimeLimits

if TYPE_CHECKING:  # pragma: no cover
    import datetime

    import folium
    from matplotlib.axes import Axes

    from .district import District
    from .grids import GridPlan
    from .network import StreetNetwork
    from .posts import Posts
    from .routes import RoutePlan
    from .staffing import Staffing
    from .typing import DaskClient, PathLike

__all__ = [
    "IncidentModel",
    "SimulationResult",
    "LifeCircle",
    "simulate",
    "coverage",
    "SOURCES",
    "PROFILES",
    "default_types",
    "DEADLINE_KPI",
    "kpi_name",
]

# the closed loop's parameters (gridplan._caseflow), public here
from ._caseflow import LEDGER_STEPS, CaseLoop, HandlingChain, Supervisors  # noqa: E402

__all__ += ["CaseLoop", "HandlingChain", "Supervisors", "LEDGER_STEPS"]

# life-circle coverage lives beside the posts it measures; the old path gridplan.simulate.coverage keeps working
from .posts import LifeCircle, coverage  # noqa: E402

DAY = 1440.0  # minutes

SOURCES = ("hotline_12345", "hotline_12319", "patrol", "grid_staff", "photo_app", "media", "referral", "community", "iot_video")
"""The 9 default incident sources: gridplan's **reading** (an assumption) of "9大类事件来源": the Lixia and
Guiding articles (seeds 001 and 004) give the number of kinds, not their names. ``patrol`` and ``grid_staff`` are found by
the simulation itself (road chiefs walking past, staff at their posts); the others report. A model can use
other sources: ``IncidentModel(sources=...)``, or fit them to a ledger (``IncidentModel.fit``)."""

SOURCE_LABELS = {
    "hotline_12345": "12345政务服务热线",
    "hotline_12319": "12319城管热线",
    "patrol": "路长巡查",
    "grid_staff": "网格员自主发现",
    "photo_app": "随手拍",
    "media": "媒体曝光",
    "referral": "上级交办",
    "community": "社区上报",
    "iot_video": "物联感知/视频",
}
_FOUND = ("patrol", "grid_staff")  # the default discovery_sources of IncidentModel


def _profile(hours: Sequence[float]) -> np.ndarray:
    a = np.asarray(hours, dtype=float)
    return a / a.sum()


PROFILES: dict[str, np.ndarray] = {
    # relative intensity for each hour 0..23 (normalised)
    "flat": _profile([1] * 24),
    "day": _profile([0.2] * 6 + [0.6, 1, 1.4, 1.6, 1.6, 1.5, 1.3, 1.4, 1.5, 1.5, 1.4, 1.2, 0.9, 0.6, 0.4, 0.3] + [0.2] * 2),
    "morning": _profile([0.2] * 5 + [0.8, 1.6, 2, 1.8, 1.4, 1.1, 1, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]),
    "evening": _profile([0.3] * 6 + [0.4, 0.6, 0.8, 0.8, 0.9, 1.2, 1.1, 0.8, 0.8, 0.9, 1.2, 1.8, 2.4, 2.6, 2.2, 1.4, 0.8, 0.5]),
    "night": _profile(
        [1.2, 1.0, 0.8, 0.6, 0.5, 0.5, 0.4, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.4, 0.5, 0.7, 0.9, 1.2, 1.5, 1.6, 1.5]
    ),
}
"""Hour-of-day profiles of the arrival intensity (each sums to 1)."""


def _profile_array(p: Any) -> np.ndarray | None:
    """A type's arrival profile as 168 hour-of-week weights summing to 1 (None when malformed).

    A name of :data:`PROFILES` or 24 weights repeat every day; 168 weights (a fitted model's) give
    each hour of the week its own.
    """
    if isinstance(p, str):
        return np.tile(PROFILES[p], 7) / 7.0 if p in PROFILES else None
    try:
        a = np.asarray(p, dtype=float)
    except (TypeError, ValueError):
        return None
    if a.shape not in ((24,), (168,)) or not (np.isfinite(a).all() and (a >= 0).all() and a.sum() > 0):
        return None
    a = np.tile(a, 7) if len(a) == 24 else a
    return a / a.sum()


def _profile_weights(profiles: pd.Series) -> list[np.ndarray]:
    """Every type's profile as :func:`_profile_array` weights; a DataError names the malformed ones.

    ``IncidentModel`` checks the profiles, but its ``types`` table can still be edited afterwards.
    """
    weights = [_profile_array(p) for p in profiles]
    bad = [name for name, w in zip(profiles.index, weights) if w is None]
    if bad:
        raise DataError(
            f"profile must be one of {sorted(PROFILES)} or 24 (hour of day) / 168 (hour of week) weights "
            f">= 0 with a positive sum; not so for types {bad} (edited after IncidentModel checked them?)"
        )
    return [w for w in weights if w is not None]


_TYPE_COLUMNS = ("label", "driver", "rate", "visible", "report_h", "profile", "p_small", "p_larger", "p_hard", "sources")


def default_types() -> pd.DataFrame:
    """The default problem types: one row each, editable (``IncidentModel(types=...)``).

    The types, rates, visibility, reporting delays and severity shares are gridplan's assumptions,
    not figures from the source articles; calibrate them to a city's own case records.

    Columns: ``label`` (Chinese name), ``driver`` (``"population"``: rate per 10,000 residents
    per day at population points; ``"street"``: rate per street km per day along the streets),
    ``rate``, ``visible`` (seen from the street by patrols and staff), ``report_h`` (mean hours
    until a citizen reports it; ``inf`` never), ``profile`` (a key of :data:`PROFILES`),
    ``p_small``/``p_larger``/``p_hard`` (severity shares, "7123" levels), ``sources`` (weights of
    the reporting sources when citizens or others report it).

    The rates give about 300 cases a day for a district of 280,000 residents and 500 km of
    streets, of the order reported by Chinese districts of that size; change them for yours.

    Examples
    --------
    >>> t = default_types()
    >>> "street_vending" in t.index and bool(((t.p_small + t.p_larger + t.p_hard) - 1).abs().max() < 1e-9)
    True
    """
    rows = [
        (
            "street_vending",
            "占道经营",
            "street",
            0.12,
            True,
            8.0,
            "evening",
            0.85,
            0.13,
            0.02,
            {"hotline_12345": 0.4, "hotline_12319": 0.2, "photo_app": 0.3, "community": 0.1},
        ),
        (
            "illegal_parking",
            "违规停车",
            "street",
            0.10,
            True,
            3.0,
            "day",
            0.90,
            0.09,
            0.01,
            {"hotline_12345": 0.3, "photo_app": 0.5, "iot_video": 0.2},
        ),
        (
            "garbage",
            "暴露垃圾",
            "street",
            0.08,
            True,
            12.0,
            "morning",
            0.80,
            0.17,
            0.03,
            {"hotline_12345": 0.3, "hotline_12319": 0.3, "photo_app": 0.3, "community": 0.1},
        ),
        ("small_ads", "小广告", "street", 0.06, True, 48.0, "night", 0.95, 0.05, 0.00, {"photo_app": 0.6, "community": 0.4}),
        (
            "drainage",
            "排水不畅/积水",
            "street",
            0.010,
            True,
            4.0,
            "flat",
            0.40,
            0.40,
            0.20,
            {"hotline_12345": 0.3, "hotline_12319": 0.2, "iot_video": 0.4, "media": 0.1},
        ),
        (
            "lighting",
            "路灯不亮",
            "street",
            0.010,
            True,
            24.0,
            "night",
            0.70,
            0.30,
            0.00,
            {"hotline_12345": 0.5, "hotline_12319": 0.3, "iot_video": 0.2},
        ),
        (
            "heat_pipe",
            "热力管道渗漏",
            "street",
            0.002,
            True,
            2.0,
            "flat",
            0.10,
            0.40,
            0.50,
            {"hotline_12345": 0.5, "media": 0.2, "referral": 0.2, "iot_video": 0.1},
        ),
        (
            "illegal_construction",
            "违法建设",
            "population",
            0.02,
            True,
            72.0,
            "day",
            0.20,
            0.40,
            0.40,
            {"hotline_12345": 0.5, "community": 0.3, "referral": 0.2},
        ),
        (
            "dog_keeping",
            "不文明养犬",
            "population",
            0.15,
            False,
            0.5,
            "evening",
            0.70,
            0.25,
            0.05,
            {"hotline_12345": 0.6, "hotline_12319": 0.2, "community": 0.2},
        ),
        (
            "noise",
            "噪音扰民",
            "population",
            0.30,
            False,
            0.3,
            "night",
            0.80,
            0.20,
            0.00,
            {"hotline_12345": 0.7, "hotline_12319": 0.3},
        ),
        (
            "fly_cable",
            "飞线充电",
            "population",
            0.05,
            False,
            1.0,
            "evening",
            0.60,
            0.30,
            0.10,
            {"hotline_12345": 0.4, "community": 0.4, "photo_app": 0.2},
        ),
    ]
    frame = pd.DataFrame(rows, columns=["type", *_TYPE_COLUMNS]).set_index("type")
    frame["visible"] = frame["visible"].astype(bool)
    return frame


def _source_names(value: Any) -> dict[str, str]:
    """``IncidentModel(sources=...)`` as a dict name → label (checked)."""
    if isinstance(value, Mapping):
        items = [(k, v) for k, v in value.items()]
    elif isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray, pd.Index)):
        raise DataError(f"sources must be a list of source names or a dict name -> label, got {value!r}")
    else:
        items = [(k, SOURCE_LABELS.get(k, k) if isinstance(k, str) else k) for k in value]
    bad = [k for k, v in items if not (isinstance(k, str) and k and isinstance(v, str))]
    if bad or not items:
        raise DataError(f"sources must be non-empty text names (and text labels), got {list(value)!r}")
    names = [k for k, _ in items]
    dup = sorted({k for k in names if names.count(k) > 1})
    if dup:
        raise DataError(f"sources must not repeat names; {dup} appear more than once")
    return dict(items)


@dataclass(frozen=True)
class IncidentModel:
    """How incidents arise, are found, answered and closed (see the module docstring).

    Parameters
    ----------
    types : DataFrame, optional
        Problem types (:func:`default_types`); index = type name.
    shifts : mapping
        Shift name → ``(start hour, end hour)``; an end before the start runs past midnight.
        Default staggered shifts (早中晚错时): early 06-14, middle 10-18, late 14-22. The names
        must be the shifts of the staffing.
    patrol_shifts : tuple of str
        Shift of each road chief of a grid, in turn (default: the first chief early, the second
        late, the third middle, ...).
    limits : TimeLimits
        Response time and the resolution limit of every severity (default "7123").
    rate_scale : float
        Multiplies every rate (e.g. 2 for a busy season).
    response_speed_m_per_min : float
        Staff travelling to a case (default 250 m/min, an e-bike; 80 on foot).
    patrol_speed_m_per_min : float
        Road chiefs' inspecting walk (default 60 m/min, as :mod:`gridplan.routes`).
    patrol_sight_m : float
        A problem at a population point is visible from the street when its nearest street is
        at most this far (default 50 m).
    staff_watch_m : float
        On-duty staff notice visible problems within this street distance of their grid's posts
        (default 150 m), after an exponential delay of ``staff_notice_min`` minutes.
    onsite_min : mapping
        Mean minutes on site by severity (exponential).
    solve_on_site : float
        Share of small matters closed during the visit.
    handling_h : mapping
        Severity → ``(mean hours, gamma shape)`` of the handling after the visit (small matters
        not solved on site: follow-up in the grid; larger: community; hard: subdistrict).
    sources : sequence of str or mapping
        The incident sources (default the 9 of :data:`SOURCES`), as names or as a mapping
        name → label (names alone take their label from ``SOURCE_LABELS`` or keep the name).
        Stored as a dict name → label, in order; the KPI table by source and the ledger use
        these names. Every source in the ``sources`` weights of ``types`` must be one of them.
    discovery_sources : (str, str)
        The two ``sources`` the simulation finds itself: cases found by road-chief patrols and by
        grid staff at their posts (default ``("patrol", "grid_staff")``). Both must be in
        ``sources``, and no problem type may name them among its reporting sources.
    unit_intensity : DataFrame, optional
        Relative intensity of every type (columns) in every unit of the plan (index: the units'
        index), multiplying the population or street weights (a fitted model's, smoothed; 1 =
        as the residents or streets say).
    loop : CaseLoop, optional
        The closed loop's parameters (a fitted model's); ``simulate(loop=None)`` uses them.
    fit_report : FitReport, optional
        How well a fitted model reproduces its ledger (:meth:`fit`).

    Examples
    --------
    >>> m = IncidentModel(rate_scale=2.0)
    >>> m.shift_windows()["early"]
    (360.0, 480.0)
    >>> t = default_types()
    >>> t.at["noise", "sources"] = {"hotline_12345": 0.5, "wechat": 0.5}
    >>> m = IncidentModel(types=t, sources=[*SOURCES, "wechat"])
    >>> len(m.sources), m.sources["wechat"], m.reporting_sources()[-1]
    (10, 'wechat', 'wechat')
    >>> IncidentModel(rate_scale=-1)
    Traceback (most recent call last):
    ...
    gridplan.errors.DataError: rate_scale must be a number >= 0, got -1
    """

    types: pd.DataFrame = field(default_factory=default_types)
    shifts: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: {"early": (6.0, 14.0), "middle": (10.0, 18.0), "late": (14.0, 22.0)}
    )
    patrol_shifts: tuple[str, ...] = ("early", "late", "middle")
    limits: TimeLimits = TIME_LIMITS_7123
    rate_scale: float = 1.0
    response_speed_m_per_min: float = 250.0
    patrol_speed_m_per_min: float = PATROL_WALK_M_PER_MIN
    patrol_sight_m: float = 50.0
    staff_watch_m: float = 150.0
    staff_notice_min: float = 15.0
    onsite_min: Mapping[str, float] = field(default_factory=lambda: {"small": 20.0, "larger": 30.0, "hard": 45.0})
    solve_on_site: float = 0.6
    handling_h: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: {"small": (6.0, 2.0), "larger": (24.0, 3.0), "hard": (48.0, 4.0)}
    )
    sources: Sequence[str] | Mapping[str, str] = SOURCES
    discovery_sources: tuple[str, str] = _FOUND
    unit_intensity: pd.DataFrame | None = None
    loop: Any = None
    fit_report: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def fit(cls, ledger: pd.DataFrame, plan: GridPlan, **kw: Any) -> IncidentModel:
        """A model fitted to a bureau's case ledger (see :func:`gridplan._fit.fit_model` for the method)."""
        from ._fit import fit_model

        return fit_model(cls, ledger, plan, **kw)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", _source_names(self.sources))
        found = self.discovery_sources
        if (
            isinstance(found, str)
            or not isinstance(found, Sequence)
            or len(found) != 2
            or not all(isinstance(f, str) for f in found)
            or found[0] == found[1]
        ):
            raise DataError(
                f"discovery_sources must be two different source names (road-chief patrol, grid staff), got {found!r}"
            )
        object.__setattr__(self, "discovery_sources", tuple(found))
        missing = [f for f in found if f not in self.sources]
        if missing:
            raise DataError(
                f"sources lacks {missing}: the simulation itself finds cases by road-chief patrols and by "
                f"grid staff ({list(found)}), so sources must keep them; add them to sources=, or name "
                "yours with discovery_sources=(patrol source, staff source)"
            )
        for name in ("rate_scale", "patrol_sight_m", "staff_watch_m", "staff_notice_min"):
            _validate.number(getattr(self, name), name, minimum=0)
        for name in ("response_speed_m_per_min", "patrol_speed_m_per_min"):
            _validate.number(getattr(self, name), f"{name} (a speed in m/min)", above=0)
        _validate.number(self.solve_on_site, "solve_on_site (a share)", minimum=0, maximum=1)
        t = self.types
        if not isinstance(t, pd.DataFrame) or t.empty:
            raise DataError("types must be a non-empty DataFrame like default_types()")
        missing = [c for c in _TYPE_COLUMNS if c not in t.columns]
        if missing:
            raise DataError(f"types lacks columns {missing}; start from gridplan.simulate.default_types()")
        rate = pd.to_numeric(t["rate"], errors="coerce")
        bad = t.index[~(np.isfinite(rate) & (rate >= 0))].tolist()
        if bad:
            raise DataError(f"rates must be finite and >= 0; negative or missing for types {bad}")
        bad = t.index[~t["driver"].isin(["population", "street"])].tolist()
        if bad:
            raise DataError(f"driver must be 'population' or 'street'; not so for types {bad}")
        bad = [name for name, p in t["profile"].items() if _profile_array(p) is None]
        if bad:
            raise DataError(
                f"profile must be one of {sorted(PROFILES)} or 24 (hour of day) / 168 (hour of week, Monday "
                f"00-01 first) weights >= 0 with a positive sum; not so for types {bad}"
            )
        rep = pd.to_numeric(t["report_h"], errors="coerce")
        bad = t.index[~(rep > 0)].tolist()
        if bad:
            raise DataError(f"report_h must be > 0 hours (inf: citizens never report it); not so for types {bad}")
        sev = t[["p_small", "p_larger", "p_hard"]].apply(pd.to_numeric, errors="coerce")
        bad = t.index[~((sev >= 0).all(axis=1) & ((sev.sum(axis=1) - 1).abs() < 1e-6))].tolist()
        if bad:
            raise DataError(f"p_small + p_larger + p_hard must be shares adding up to 1; not so for types {bad}")
        for name, src in t["sources"].items():
            if not isinstance(src, Mapping) or not src:
                raise DataError(f"sources of type {name!r} must be a non-empty dict of source -> weight")
            own = [s for s in src if s in self.discovery_sources]
            if own:
                raise DataError(
                    f"type {name!r} names {own} among its reporting sources, but the simulation finds "
                    f"those cases itself (patrols and staff: {list(self.discovery_sources)}); use some of "
                    f"{self.reporting_sources()}"
                )
            unknown = [s for s in src if s not in self.sources]
            if unknown:
                raise DataError(
                    f"type {name!r} names sources {unknown} that the model does not have; its reporting "
                    f"sources are {self.reporting_sources()}: add them to IncidentModel(sources=...) or "
                    "change the type's sources weights"
                )
            w = np.array(list(src.values()), dtype=float)
            if not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
                raise DataError(f"source weights of type {name!r} must be >= 0 with a positive sum, got {src}")
        if not self.shifts:
            raise DataError("shifts must name at least one shift")
        for name, se in self.shifts.items():
            if not (isinstance(se, (tuple, list)) and len(se) == 2):
                raise DataError(f"shift {name!r} must be (start hour, end hour), got {se!r}")
            a = _validate.number(se[0], f"the start of shift {name!r} (hours)")
            b = _validate.number(se[1], f"the end of shift {name!r} (hours)")
            if not (0 <= a < 24 and 0 <= b <= 24) or a == b:
                raise DataError(f"shift {name!r} must run between two different hours in 0-24, got {se!r}")
        unknown = [s for s in self.patrol_shifts if s not in self.shifts]
        if unknown or not self.patrol_shifts:
            raise DataError(f"patrol_shifts must name shifts of {list(self.shifts)}, got {list(self.patrol_shifts)}")
        for name in ("small", "larger", "hard"):
            if name not in self.onsite_min or name not in self.handling_h:
                raise DataError(f"onsite_min and handling_h need the severities small, larger and hard; {name!r} is missing")
            mean, shape = self.handling_h[name]
            if not (self.onsite_min[name] >= 0 and mean >= 0 and shape > 0):
                raise DataError(f"onsite_min and handling_h of {name!r} must be >= 0 (shape > 0)")
        for name in ("small", "larger", "hard"):
            if self.limits.severity(name) is None:
                raise DataError(f"limits must know the severities small, larger and hard (or aliases); {name!r} is unknown")

    def reporting_sources(self) -> list[str]:
        """The sources through which citizens and others report (all but :attr:`discovery_sources`)."""
        return [s for s in self.sources if s not in self.discovery_sources]

    def shift_windows(self) -> dict[str, tuple[float, float]]:
        """Shift name → ``(start minute of the day, length in minutes)``."""
        out = {}
        for name, (a, b) in self.shifts.items():
            start = float(a) * 60.0
            out[name] = (start, ((float(b) - float(a)) % 24 or 24.0) * 60.0)
        return out

    def limit_names(self) -> dict[str, str]:
        """KPI column of each limit: ``respond`` and the severities, e.g. ``compliance_7min``, ``compliance_1d``."""

        def fmt(td: pd.Timedelta) -> str:
            m = td.total_seconds() / 60
            if m % DAY == 0:
                return f"{m / DAY:g}d"
            if m % 60 == 0:
                return f"{m / 60:g}h"
            return f"{m:g}min"

        names = {"respond": f"compliance_{fmt(self.limits.respond)}"}
        seen = set(names.values())
        for sev in ("small", "larger", "hard"):
            n = f"compliance_{fmt(self.limits.limit(sev))}"
            if n in seen:
                n = f"{n}_{sev}"
            names[sev] = n
            seen.add(n)
        return names

    def params(self) -> dict[str, Any]:
        """Everything of the model as plain values (stored in results)."""
        t = self.types.copy()
        t["sources"] = t["sources"].map(dict)
        t["profile"] = t["profile"].map(lambda p: p if isinstance(p, str) else [float(v) for v in np.asarray(p)])
        assert isinstance(self.sources, Mapping)  # __post_init__ made it a dict name -> label
        return {
            "types": t.reset_index().to_dict(orient="records"),
            "shifts": {k: list(v) for k, v in self.shifts.items()},
            "patrol_shifts": list(self.patrol_shifts),
            "respond_min": self.limits.respond.total_seconds() / 60,
            "limits_days": {s: self.limits.limit(s).total_seconds() / 86400 for s in ("small", "larger", "hard")},
            "rate_scale": self.rate_scale,
            "response_speed_m_per_min": self.response_speed_m_per_min,
            "patrol_speed_m_per_min": self.patrol_speed_m_per_min,
            "patrol_sight_m": self.patrol_sight_m,
            "staff_watch_m": self.staff_watch_m,
            "staff_notice_min": self.staff_notice_min,
            "onsite_min": dict(self.onsite_min),
            "solve_on_site": self.solve_on_site,
            "handling_h": {k: list(v) for k, v in self.handling_h.items()},
            "sources": dict(self.sources),
            "discovery_sources": list(self.discovery_sources),
            "fitted": self.fit_report is not None,
        }


# ============================================================================ the context of a study
@dataclass
class _Context:
    """Everything a run needs, as numpy arrays (shipped once to every worker)."""

    days: int
    grid_codes: np.ndarray
    community_codes: np.ndarray
    # pool 0: population points; pool 1: street edges
    pop_weight: np.ndarray
    pop_grid: np.ndarray
    pop_comm: np.ndarray
    pop_node: np.ndarray
    pop_snap: np.ndarray
    pop_chief: np.ndarray  # chief of the nearest street when within sight, else -1
    pop_offset: np.ndarray
    st_len: np.ndarray
    st_grid: np.ndarray
    st_comm: np.ndarray
    st_u: np.ndarray
    st_v: np.ndarray
    st_chief: np.ndarray
    st_offset: np.ndarray  # distance along the chief's walk where the edge starts
    st_forward: np.ndarray  # walked from u to v
    # chiefs
    chief_len: np.ndarray
    chief_window: np.ndarray  # (k, 2): start minute, length
    # staff
    staff_grid: np.ndarray
    staff_src: np.ndarray  # row of dist
    staff_snap: np.ndarray
    staff_window: np.ndarray
    dist: np.ndarray  # (post nodes, n_nodes) street distances
    post_grid: np.ndarray  # for the staff watch: grid of each row of watch_dist
    pop_watch: np.ndarray  # street distance from the grid's nearest post, per pool element
    st_watch_u: np.ndarray
    st_watch_v: np.ndarray
    grid_windows: list[np.ndarray]  # per grid: windows of shifts with someone on duty
    shift_windows: np.ndarray  # (S, 2)
    # types
    t_pool: np.ndarray  # 0 population, 1 street
    t_lambda: np.ndarray  # expected cases per day
    t_visible: np.ndarray
    t_report_min: np.ndarray
    t_profile: np.ndarray  # (T, 24)
    t_sev: np.ndarray  # (T, 3)
    t_src: np.ndarray  # (T, number of the model's sources) reporting-source probabilities
    src_patrol: int  # column of t_src of the cases found by patrols
    src_staff: int  # ... and by grid staff
    onsite: np.ndarray  # mean minutes by severity
    handling: np.ndarray  # (3, 2) mean minutes, shape
    solve_on_site: float
    respond_min: float
    limit_min: np.ndarray  # by severity
    response_speed: float
    patrol_speed: float
    watch_m: float
    notice_min: float
    t_week: np.ndarray | None = None  # (T, 168) hour-of-week profiles of a fitted model
    start_weekday: int = 0
    t_unit_factor: np.ndarray | None = None  # (T, units) relative intensity of a fitted model
    pop_unit: np.ndarray | None = None
    st_unit: np.ndarray | None = None


# ---------------------------------------------------------------------------- time helpers (minutes)
def _duty_time(t: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """On-duty minutes accumulated by clock time ``t`` under daily windows [start, start+length)."""
    k = np.floor((t - start) / DAY)
    within = t - start - k * DAY
    return k * length + np.minimum(within, length)


def _clock_time(tau: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_duty_time`: the clock time at which ``tau`` on-duty minutes are reached."""
    k = np.floor(tau / length)
    r = tau - k * length
    end = r >= length * (1 - 1e-12)  # the end of a window is the start of the next one
    k, r = np.where(end, k + 1, k), np.where(end, 0.0, r)
    return k * DAY + start + r


def _next_on_duty(t: np.ndarray, start: np.ndarray, length: np.ndarray) -> np.ndarray:
    """Earliest time >= t inside a daily window [start, start+length)."""
    k = np.floor((t - start) / DAY)
    within = t - start - k * DAY
    return np.where(within < length, t, (k + 1) * DAY + start)


def _next_pass(
    t: np.ndarray, offset: np.ndarray, period: np.ndarray, phase: np.ndarray, start: np.ndarray, length: np.ndarray, speed: float
) -> np.ndarray:
    """First time >= t a chief repeating a walk of ``period`` metres passes ``offset`` (inf: empty walk)."""
    tau = _duty_time(t, start, length)
    with np.errstate(invalid="ignore", divide="ignore"):
        pos = phase + tau * speed
        wait = np.mod(offset - pos, period) / speed
        out = _clock_time(tau + wait, start, length)
    return np.where(period > 0, out, np.inf)


# ============================================================================ one run
def _run(ctx: _Context, seed: np.random.SeedSequence, keep: bool) -> dict[str, Any]:
    """One simulated period: per-group sums of every statistic (and the cases when ``keep``)."""
    s_inc, s_patrol, s_handle = seed.spawn(3)
    rng = np.random.default_rng(s_inc)
    days = ctx.days
    T = len(ctx.t_lambda)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("type", "pool", "loc", "t", "sev", "report", "src", "u")}
    for j in range(T):
        n = int(rng.poisson(ctx.t_lambda[j] * days))
        pool_j = int(ctx.t_pool[j])
        w = ctx.pop_weight if pool_j == 0 else ctx.st_len
        if ctx.t_unit_factor is not None:  # a fitted model: relative intensity per unit
            w = w * ctx.t_unit_factor[j][ctx.pop_unit if pool_j == 0 else ctx.st_unit]
        if n == 0 or w.sum() <= 0:
            continue
        cdf = np.cumsum(w)
        loc = np.minimum(np.searchsorted(cdf, rng.random(n) * cdf[-1], side="right"), len(w) - 1)
        if ctx.t_week is not None:  # a fitted model: hour of the week
            weekday = (ctx.start_weekday + np.arange(days)) % 7
            cells = ctx.t_week[j][(weekday[:, None] * 24 + np.arange(24)[None, :]).ravel()]
            cell = rng.choice(days * 24, size=n, p=cells / cells.sum())
            day, hour = cell // 24, cell % 24
        else:
            day = rng.integers(0, days, n)
            hour = rng.choice(24, size=n, p=ctx.t_profile[j])
        t = day * DAY + hour * 60.0 + rng.random(n) * 60.0
        sev = rng.choice(3, size=n, p=ctx.t_sev[j])
        rep = ctx.t_report_min[j]
        report = t + (rng.exponential(rep, n) if np.isfinite(rep) else np.full(n, np.inf))
        src = rng.choice(ctx.t_src.shape[1], size=n, p=ctx.t_src[j])
        parts["type"].append(np.full(n, j))
        parts["pool"].append(np.full(n, pool_j))
        parts["loc"].append(loc)
        parts["t"].append(t)
        parts["sev"].append(sev)
        parts["report"].append(report)
        parts["src"].append(src)
        parts["u"].append(rng.random(n))  # position along a street edge
    if parts["t"]:
        a = {k: np.concatenate(v) for k, v in parts.items()}
    else:
        a = {k: np.zeros(0, dtype=float if k in ("t", "report", "u") else np.int64) for k in parts}
    n = len(a["t"])
    pool, loc = a["pool"], a["loc"]
    street = pool == 1
    ls, lp = np.where(street, loc, 0), np.where(street, 0, loc)
    grid = np.where(street, ctx.st_grid[ls], ctx.pop_grid[lp])
    comm = np.where(street, ctx.st_comm[ls], ctx.pop_comm[lp])
    visible = ctx.t_visible[a["type"]]

    # ---- discovery: patrol, staff watch, citizen report
    rng_p = np.random.default_rng(s_patrol)
    phase = rng_p.random(len(ctx.chief_len)) * ctx.chief_len
    chief = np.where(street, ctx.st_chief[ls], ctx.pop_chief[lp])
    elen = ctx.st_len[ls] * 1000.0
    along = np.where(ctx.st_forward[ls], a["u"], 1 - a["u"]) * elen
    offset = np.where(street, ctx.st_offset[ls] + along, ctx.pop_offset[lp])
    patrol = np.full(n, np.inf)
    seen = visible & (chief >= 0)
    if seen.any():
        c = chief[seen]
        patrol[seen] = _next_pass(
            a["t"][seen],
            offset[seen],
            ctx.chief_len[c],
            phase[c],
            ctx.chief_window[c, 0],
            ctx.chief_window[c, 1],
            ctx.patrol_speed,
        )
    # staff watch near posts
    watch_d = np.where(
        street, np.minimum(ctx.st_watch_u[ls] + a["u"] * elen, ctx.st_watch_v[ls] + (1 - a["u"]) * elen), ctx.pop_watch[lp]
    )
    staff_seen = np.full(n, np.inf)
    near = visible & (watch_d <= ctx.watch_m)
    notice = rng_p.exponential(max(ctx.notice_min, 1e-9), n) if ctx.notice_min > 0 else np.zeros(n)
    if near.any():
        idx = np.flatnonzero(near)
        for g in np.unique(grid[idx]):
            win = ctx.grid_windows[g]
            if len(win) == 0:
                continue
            sel = idx[grid[idx] == g]
            nxt = np.min([_next_on_duty(a["t"][sel], w[0], w[1]) for w in win], axis=0)
            staff_seen[sel] = nxt + notice[sel]
    discovered = np.minimum(np.minimum(patrol, staff_seen), a["report"])
    by = np.where(a["report"] <= np.minimum(patrol, staff_seen), 0, np.where(patrol <= staff_seen, 1, 2))
    src = np.where(by == 1, ctx.src_patrol, np.where(by == 2, ctx.src_staff, a["src"]))
    found = np.isfinite(discovered)

    # ---- face to face: reported cases dispatched to the grid's on-duty staff
    rng_h = np.random.default_rng(s_handle)
    onsite = rng_h.exponential(1.0, n) * ctx.onsite[a["sev"]]
    u_solve = rng_h.random(n)
    hmean, hshape = ctx.handling[a["sev"], 0], ctx.handling[a["sev"], 1]
    handle = rng_h.gamma(hshape, 1.0, n) * hmean / hshape
    arrive = np.where(by > 0, discovered, np.inf)
    dispatch = found & (by == 0)
    node = np.where(street, -1, ctx.pop_node[lp])
    snap = np.where(street, 0.0, ctx.pop_snap[lp])
    staff_by_grid: dict[int, list[int]] = {}
    for s_i, g in enumerate(ctx.staff_grid):
        staff_by_grid.setdefault(int(g), []).append(s_i)
    order = np.flatnonzero(dispatch)
    order = order[np.argsort(discovered[order], kind="stable")]
    free = np.zeros(len(ctx.staff_grid))
    speed = ctx.response_speed
    responder = np.full(n, -1)
    for g in np.unique(grid[order]) if len(order) else []:
        team = staff_by_grid.get(int(g))
        sel = order[grid[order] == g]
        if not team:
            continue
        team_a = np.asarray(team)
        rows = ctx.staff_src[team_a]
        snaps = ctx.staff_snap[team_a]
        w0, wl = ctx.staff_window[team_a, 0], ctx.staff_window[team_a, 1]
        # travel minutes from every team member's post to every case of the grid
        li = loc[sel]
        st = street[sel]
        if st.any():
            e = li[st]
            du = ctx.dist[np.ix_(rows, ctx.st_u[e])] + a["u"][sel][st] * ctx.st_len[e] * 1000.0
            dv = ctx.dist[np.ix_(rows, ctx.st_v[e])] + (1 - a["u"][sel][st]) * ctx.st_len[e] * 1000.0
        travel = np.empty((len(team_a), len(sel)))
        if st.any():
            travel[:, st] = np.minimum(du, dv)
        if (~st).any():
            travel[:, ~st] = ctx.dist[np.ix_(rows, node[sel][~st])] + snap[sel][~st]
        travel = (travel + snaps[:, None]) / speed
        t_disc = discovered[sel]
        for col, i in enumerate(sel):
            start = np.maximum(t_disc[col], free[team_a])
            start = _next_on_duty(start, w0, wl)
            arr = start + travel[:, col]
            best = int(np.argmin(arr))
            if not np.isfinite(arr[best]):
                continue
            arrive[i] = arr[best]
            responder[i] = team_a[best]
            back = travel[best, col] if np.isfinite(travel[best, col]) else 0.0
            free[team_a[best]] = arr[best] + onsite[i] + back
    done_visit = arrive + onsite
    small = a["sev"] == 0
    resolved = np.where(small & (u_solve < ctx.solve_on_site), done_visit, done_visit + handle)
    ff = arrive - discovered
    limit = ctx.limit_min[a["sev"]]
    met = resolved - discovered <= limit
    ff_ok = ff <= ctx.respond_min
    unmet = found & ~np.isfinite(arrive)
    # period (shift) of the discovery: the shift on duty that started last; S = off duty
    S = len(ctx.shift_windows)
    tod = np.mod(np.where(found, discovered, a["t"]), DAY)
    since = np.mod(tod[:, None] - ctx.shift_windows[None, :, 0], DAY)
    on = since < ctx.shift_windows[None, :, 1]
    since = np.where(on, since, np.inf)
    period = np.where(on.any(axis=1), np.argmin(since, axis=1), S) if n else np.zeros(0, np.int64)

    stats = {
        "n": np.ones(n),
        "visible": visible.astype(float),
        "found": found.astype(float),
        "disc_sum": np.where(found, discovered - a["t"], 0.0),
        "vdisc_sum": np.where(found & visible, discovered - a["t"], 0.0),
        "vfound": (found & visible).astype(float),
        "by_patrol": (by == 1).astype(float),
        "by_staff": (by == 2).astype(float),
        "dispatch": dispatch.astype(float),
        "answered": (dispatch & np.isfinite(arrive)).astype(float),
        "ff_sum": np.where(dispatch & np.isfinite(arrive), ff, 0.0),
        "ff_ok": (dispatch & ff_ok).astype(float),
        "unmet": unmet.astype(float),
        "met": (found & met).astype(float),
        "res_sum": np.where(np.isfinite(resolved) & found, resolved - discovered, 0.0),
        "resolved": (np.isfinite(resolved) & found).astype(float),
    }
    for k in range(3):
        stats[f"n_l{k}"] = (found & (a["sev"] == k)).astype(float)
        stats[f"met_l{k}"] = (found & (a["sev"] == k) & met).astype(float)
    keys = {
        "grid": (grid, len(ctx.grid_codes)),
        "community": (comm, len(ctx.community_codes)),
        "source": (src, ctx.t_src.shape[1]),
        "shift": (period, S + 1),
        "type": (a["type"], T),
    }
    names = list(stats)
    out: dict[str, Any] = {"total": np.array([stats[k].sum() for k in names])}
    for key, (lab, size) in keys.items():
        out[key] = (
            np.stack([np.bincount(lab, weights=stats[k], minlength=size) for k in names], axis=1)
            if n
            else np.zeros((size, len(names)))
        )
    out["ff_p90"] = (
        float(np.percentile(ff[dispatch & np.isfinite(arrive)], 90)) if (dispatch & np.isfinite(arrive)).any() else float("nan")
    )
    if keep:
        out["cases"] = {
            "type": a["type"],
            "pool": pool,
            "loc": loc,
            "u": a["u"],
            "occurred": a["t"],
            "discovered": discovered,
            "arrived": arrive,
            "resolved": resolved,
            "severity": a["sev"],
            "source": src,
            "grid": grid,
            "community": comm,
            "shift": period,
            "responder": responder,
            "deadline_met": found & met,
            "respond_met": found & np.isfinite(arrive) & ff_ok,
        }
    return out


_STAT_NAMES = [
    "n",
    "visible",
    "found",
    "disc_sum",
    "vdisc_sum",
    "vfound",
    "by_patrol",
    "by_staff",
    "dispatch",
    "answered",
    "ff_sum",
    "ff_ok",
    "unmet",
    "met",
    "res_sum",
    "resolved",
    "n_l0",
    "met_l0",
    "n_l1",
    "met_l1",
    "n_l2",
    "met_l2",
]


def _run_batch(ctx: _Context, seeds: Sequence[np.random.SeedSequence], keep: Sequence[bool]) -> list[dict[str, Any]]:
    return [_run(ctx, s, k) for s, k in zip(seeds, keep)]


DEADLINE_KPI = "compliance_deadline"
"""Share of the found cases (every level) closed within the limit of their level (1 / 2 / 3 days)."""
_RENAMED_KPIS = {"compliance_all": DEADLINE_KPI}  # old name (gridplan 0.1.0) -> new name


def kpi_name(name: str) -> str:
    """The current name of a KPI; an old name gives a ``FutureWarning`` and its new name.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     kpi_name("compliance_all"), caught[0].category.__name__
    ('compliance_deadline', 'FutureWarning')
    """
    if not isinstance(name, str):
        raise DataError(f"a KPI is named by a string such as {DEADLINE_KPI!r}, got {name!r}")
    if name in _RENAMED_KPIS:
        new = _RENAMED_KPIS[name]
        warnings.warn(
            f"the KPI {name!r} is now called {new!r} (it is the share of found cases closed within "
            f"the limit of their level); {name!r} will stop working in a later version",
            FutureWarning,
            stacklevel=3,
        )
        return new
    return name


def _kpis(s: np.ndarray, days: int, names: Mapping[str, str]) -> dict[str, np.ndarray]:
    """KPIs from summed statistics (last axis = :data:`_STAT_NAMES`); NaN where undefined."""
    i = {k: j for j, k in enumerate(_STAT_NAMES)}

    def ratio(a: str, b: str) -> np.ndarray:
        num, den = s[..., i[a]], s[..., i[b]]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

    out = {
        "incidents_per_day": s[..., i["n"]] / days,
        "discovery_min": ratio("disc_sum", "found"),
        "visible_discovery_min": ratio("vdisc_sum", "vfound"),
        "patrol_found_share": ratio("by_patrol", "vfound"),
        "staff_found_share": ratio("by_staff", "vfound"),
        "face_to_face_min": ratio("ff_sum", "answered"),
        names["respond"]: ratio("ff_ok", "dispatch"),
        names["small"]: ratio("met_l0", "n_l0"),
        names["larger"]: ratio("met_l1", "n_l1"),
        names["hard"]: ratio("met_l2", "n_l2"),
        DEADLINE_KPI: ratio("met", "found"),
        "resolution_h": ratio("res_sum", "resolved") / 60.0,
        "unmet_per_day": s[..., i["unmet"]] / days,
        "undiscovered_per_day": (s[..., i["n"]] - s[..., i["found"]]) / days,
    }
    return out


# ============================================================================ result
class SimulationResult:
    """KPIs of many simulated runs of a plan (made by :func:`simulate`).

    Attributes
    ----------
    runs : DataFrame
        One row per run (index ``run``): the overall KPIs of that run.
    per_grid, per_community, per_source, per_shift, per_type : DataFrame
        Index: grid code / community code / source / shift (``off_duty`` outside every shift) /
        problem type; one column per KPI, the mean over runs (runs where a KPI is undefined,
        e.g. no hard case in a grid, are left out of its mean). Compliance columns:
        ``compliance_7min`` (face to face within the response limit, over dispatched cases),
        ``compliance_1d`` / ``compliance_2d`` / ``compliance_3d`` (small / larger / hard cases
        closed within their limit), ``compliance_deadline`` (found cases of every level closed
        within the limit of their level; formerly ``compliance_all``, which it does not measure:
        the 7-minute response is not part of it).
    incidents : GeoDataFrame
        Every case of the first run(s) (``keep_incidents``): a ledger (台账) with times as
        timestamps from ``start``; ``respond_met`` says the case was face to face within the
        response limit (7 minutes; at once for cases found by patrols or staff), ``deadline_met``
        that it was closed within the limit of its level (1 / 2 / 3 days). The problem type is
        the ``"type"`` column (``ledger["type"]``: ``ledger.type`` is the geometry type).
    plan, posts, staffing, routes
        What was simulated (derived ones included).
    params : dict
        Days, runs, seed, the model, what was derived, seconds.
    notes : list of str
    """

    _saved: dict[str, pd.DataFrame] | None = None  # the per-group tables of a result read from a file
    _summary: pd.DataFrame  # the overall KPIs of a result read from a file
    _grids: gpd.GeoDataFrame  # the grid polygons of a result read from a file
    plan: GridPlan | None  # None in a result read from a file (as are posts, staffing, routes)
    model: IncidentModel | None

    def __init__(
        self,
        *,
        plan: GridPlan,
        posts: Posts | None,
        staffing: Staffing | None,
        routes: RoutePlan | None,
        model: IncidentModel,
        outs: list[dict[str, Any]],
        ctx: _Context,
        params: dict[str, Any],
        notes: list[str],
        incidents: gpd.GeoDataFrame,
    ) -> None:
        self.plan, self.posts, self.staffing, self.routes, self.model = plan, posts, staffing, routes, model
        self.params = dict(params)
        self.notes = list(notes)
        self.incidents = incidents
        self._names = model.limit_names()
        days = ctx.days
        self._days = days
        total = np.stack([o["total"] for o in outs])
        k = _kpis(total, days, self._names)
        self.runs = pd.DataFrame(k, index=pd.RangeIndex(len(outs), name="run"))
        self.runs.insert(self.runs.columns.get_loc("face_to_face_min") + 1, "face_to_face_p90_min", [o["ff_p90"] for o in outs])
        self.runs.insert(0, "incidents", total[:, 0].astype(np.int64))
        shift_names = list(model.shifts) + ["off_duty"]
        self._groups: dict[str, tuple[np.ndarray, pd.Index]] = {
            "grid": (np.stack([o["grid"] for o in outs]), pd.Index(ctx.grid_codes.astype(str), name="grid")),
            "community": (np.stack([o["community"] for o in outs]), pd.Index(ctx.community_codes.astype(str), name="community")),
            "source": (np.stack([o["source"] for o in outs]), pd.Index(list(model.sources), name="source")),
            "shift": (np.stack([o["shift"] for o in outs]), pd.Index(shift_names, name="shift")),
            "type": (np.stack([o["type"] for o in outs]), pd.Index(list(model.types.index), name="type")),
        }

    # ------------------------------------------------------------------ tables
    def table(self, by: str = "grid", *, ci: bool = False, level: float = 0.95) -> pd.DataFrame:
        """KPIs by ``"grid"``, ``"community"``, ``"source"``, ``"shift"`` or ``"type"``.

        With ``ci=True`` the columns are (KPI, ``mean`` / ``low`` / ``high`` / ``runs``): a
        t-interval of the mean over the runs in which the KPI is defined. The intervals of shares
        (``compliance_*``, ``*_share``) are cut to [0, 1], where their mean lies.
        """
        _validate.choice(by, "by", list(_TABLES))
        level = _validate.number(level, "level (a confidence level)", above=0, below=1)
        if self._saved is not None:  # read from a file: the means per group, as saved
            if ci:
                raise DataError(
                    "a SimulationResult read from a file holds the mean KPIs per group, not the runs per "
                    "group: table(ci=True) needs the study itself (run simulate again, same seed)"
                )
            return self._saved[_TABLES[by]].copy()
        sums, index = self._groups[by]
        k = _kpis(sums, self._days, self._names)  # each (runs, groups)
        if not ci:
            return pd.DataFrame({name: _interval(v, level)["mean"] for name, v in k.items()}, index=index)
        return pd.concat({name: pd.DataFrame(_interval(v, level, _bounds(name)), index=index) for name, v in k.items()}, axis=1)

    @property
    def per_grid(self) -> pd.DataFrame:
        """Mean KPIs per grid code (see :meth:`table`)."""
        return self.table("grid")

    @property
    def per_community(self) -> pd.DataFrame:
        return self.table("community")

    @property
    def per_source(self) -> pd.DataFrame:
        return self.table("source")

    @property
    def per_shift(self) -> pd.DataFrame:
        return self.table("shift")

    @property
    def per_type(self) -> pd.DataFrame:
        return self.table("type")

    def summary(self, *, level: float = 0.95) -> pd.DataFrame:
        """Overall KPIs: mean, standard deviation and a ``level`` confidence interval over the runs.

        The interval is a t-interval of the mean over the runs in which the KPI is defined; for
        shares (``compliance_*``, ``*_share``) it is cut to [0, 1] (the mean of shares lies there,
        so the cut interval covers it at least as often; with few runs the t-interval alone can
        reach below 0 or above 1).
        """
        level = _validate.number(level, "level (a confidence level)", above=0, below=1)
        if self._saved is not None and level == 0.95:
            return self._summary.copy()
        rows = {}
        for col in self.runs.columns:
            v = self.runs[col].to_numpy(float)[:, None]
            iv = _interval(v, level, _bounds(col))
            ok = np.isfinite(v[:, 0])
            rows[col] = {
                "mean": iv["mean"][0],
                "std": float(np.std(v[ok, 0], ddof=1)) if ok.sum() > 1 else np.nan,
                "low": iv["low"][0],
                "high": iv["high"][0],
                "runs": int(ok.sum()),
            }
        return pd.DataFrame(rows).T.rename_axis("kpi")

    def pairs_with(self, other: SimulationResult) -> bool:
        """Whether run ``i`` of both studies saw the same incidents (common random numbers).

        True when both have the same seed and number of runs and draw their arrivals from the same
        inputs (problem types, rates, days, sources, population points and swept streets: the
        ``incident_stream`` key of :attr:`params`): e.g. one plan with other teams, speeds or
        patrols. Two plans whose road chiefs sweep other street pieces draw correlated but not
        identical incidents, and are not paired.
        """
        if not isinstance(other, SimulationResult):
            raise DataError(f"pairs_with takes another SimulationResult, got {type(other).__name__}")
        key_a, key_b = self.params.get("incident_stream"), other.params.get("incident_stream")
        return (
            self.params.get("seed") == other.params.get("seed")
            and len(self.runs) == len(other.runs)
            and key_a is not None
            and key_a == key_b
        )

    def compare(self, other: SimulationResult, *, level: float = 0.95, method: str = "auto") -> pd.DataFrame:
        """This result (A) against another (B): means, difference B - A, its interval and p-value.

        Parameters
        ----------
        other : SimulationResult
        level : float
            Confidence level of the interval of the difference.
        method : {"auto", "paired", "welch"}
            ``"paired"``: a t-interval and t-test of the run-by-run differences ``B[i] - A[i]``
            (runs where the KPI is defined in both); right when run ``i`` of both saw the same
            incidents (common random numbers), and much sharper then. ``"welch"``: Welch's
            unpaired interval and test. ``"auto"`` (default) pairs when :meth:`pairs_with` says
            both studies share their incidents run by run, else uses Welch.

        Returns
        -------
        DataFrame
            Index ``kpi``; columns ``A`` and ``B`` (means over the runs where the KPI is
            defined), ``difference`` (B - A; paired: the mean of the run-by-run differences, the
            same when the KPI is defined in every run), ``low`` and ``high`` (its ``level``
            interval; cut to [-1, 1] for shares), ``p_value`` (no difference), ``pairs`` (runs
            used in a paired comparison, 0 for Welch) and ``method`` (``"paired"`` or
            ``"welch"``, also in ``.attrs["method"]``).

        Examples
        --------
        >>> import gridplan
        >>> from gridplan.grids import partition
        >>> plan = partition(gridplan.District.from_frames(**_example_layers()), 2, units="cells", seed=0)
        >>> a = simulate(plan, staffing="sample", days=1, runs=4, seed=0, progress=False)
        >>> walk = IncidentModel(response_speed_m_per_min=80)
        >>> b = simulate(plan, posts=a.posts, staffing=a.staffing, routes=a.routes, model=walk, days=1, runs=4, seed=0,
        ...              progress=False)
        >>> a.compare(b).attrs["method"], a.compare(b, method="welch").attrs["method"]
        ('paired', 'welch')
        """
        if not isinstance(other, SimulationResult):
            raise DataError(f"compare takes another SimulationResult, got {type(other).__name__}")
        if method not in ("auto", "paired", "welch"):
            raise DataError(f"method must be 'auto', 'paired' or 'welch', got {method!r}")
        if method == "auto":
            method = "paired" if self.pairs_with(other) else "welch"
        elif method == "paired" and len(self.runs) != len(other.runs):
            raise DataError(
                f"a paired comparison needs as many runs in both studies ({len(self.runs)} vs "
                f"{len(other.runs)}); use method='welch'"
            )
        rows = {}
        for col in self.runs.columns:
            if col not in other.runs.columns:
                continue
            a_all = self.runs[col].to_numpy(float)
            b_all = other.runs[col].to_numpy(float)
            a, b = a_all[np.isfinite(a_all)], b_all[np.isfinite(b_all)]
            row: dict[str, Any] = {"A": a.mean() if len(a) else np.nan, "B": b.mean() if len(b) else np.nan}
            row["difference"] = row["B"] - row["A"]
            row["low"] = row["high"] = row["p_value"] = np.nan
            row["pairs"] = 0
            if method == "paired":
                both = np.isfinite(a_all) & np.isfinite(b_all)
                d = b_all[both] - a_all[both]
                row["pairs"] = int(both.sum())
                if len(d):
                    row["difference"] = float(d.mean())  # over the runs of both; = B - A when defined in every run
                if len(d) > 1:
                    se = float(d.std(ddof=1)) / math.sqrt(len(d))
                    dof: float = len(d) - 1
                    row.update(_t_interval(row["difference"], se, dof, level))
            elif len(a) > 1 and len(b) > 1:
                va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
                se = math.sqrt(va + vb)
                dof = (va + vb) ** 2 / ((va**2) / (len(a) - 1) + (vb**2) / (len(b) - 1)) if se > 0 else 1.0
                row.update(_t_interval(row["difference"], se, dof, level))
            lo_hi = _bounds(col)
            if lo_hi is not None and np.isfinite(row["low"]):
                row["low"], row["high"] = max(row["low"], -1.0), min(row["high"], 1.0)
            row["method"] = method
            rows[col] = row
        out = pd.DataFrame.from_dict(rows, orient="index")
        out["pairs"] = out["pairs"].astype(np.int64)
        out.index.name = "kpi"
        out.attrs["method"] = method
        return out

    def to_file(self, path: PathLike) -> Path:
        """Write every table to a GeoPackage: ``per_grid`` (with the grid polygons), ``incidents``
        (the ledger, points), ``runs``, ``summary``, ``per_community``, ``per_source``, ``per_shift``,
        ``per_type``, plus the parameters. Open the layers in desktop GIS or with geopandas."""
        from . import _io

        polygons = self._grid_polygons()
        crs = polygons.crs
        grids = polygons[["code", polygons.geometry.name]].set_index("code")
        per_grid = gpd.GeoDataFrame(self.per_grid.join(grids), geometry=polygons.geometry.name, crs=crs)
        tables = {
            "runs": self.runs,
            "summary": self.summary(),
            "per_community": self.per_community,
            "per_source": self.per_source,
            "per_shift": self.per_shift,
            "per_type": self.per_type,
        }
        frames = {"per_grid": per_grid, **{name: _io.table_layer(t, crs) for name, t in tables.items()}}
        if len(self.incidents):
            frames["incidents"] = self.incidents
        params = {k: v for k, v in self.params.items() if k != "plan"}
        return _io.write_frames(path, "SimulationResult", frames, {**params, "notes": self.notes, "kpi_names": dict(self._names)})

    @classmethod
    def read_file(cls, path: PathLike) -> SimulationResult:
        """A result saved by :meth:`to_file`: the same class, its tables equal.

        It holds what a reader needs without running the study again: ``runs``, ``summary()``,
        the ``per_*`` tables (the means per group), the grid polygons and the first run's ledger
        (``incidents``), ``params`` and ``notes``; it draws itself (``plot``, ``explore``) and goes
        into :func:`gridplan.report.plan_report`. What needs the study itself (``plan``, ``posts``,
        ``staffing``, ``routes``, ``model``; ``table(ci=True)``, ``compare``) is ``None`` or says so.

        Raises
        ------
        DataError
            Not a gridplan file, or a file of another result class (named).

        Examples
        --------
        >>> import pathlib, tempfile
        >>> import gridplan
        >>> from gridplan.grids import partition
        >>> plan = partition(gridplan.District.from_frames(**_example_layers()), 2, units="cells", seed=0)
        >>> result = simulate(plan, staffing="sample", days=1, runs=2, seed=0, progress=False)
        >>> back = SimulationResult.read_file(result.to_file(pathlib.Path(tempfile.mkdtemp()) / "sim.gpkg"))
        >>> type(back).__name__, back.summary().equals(result.summary()), back.per_grid.equals(result.per_grid)
        ('SimulationResult', True, True)
        """
        from . import _io

        frames, params = _io.read_frames(path, "SimulationResult")
        notes = list(params.pop("notes", []))
        names = params.pop("kpi_names", None)
        tables: dict[str, pd.DataFrame] = {}
        for name in ("summary", "runs", *_TABLES.values()):
            if name not in frames:
                raise DataError(f"{str(path)!r} has no {name!r} layer; write simulations with SimulationResult.to_file")
            tables[name] = _renamed(_io.plain_table(frames[name]))
        per_grid = frames["per_grid"]
        grids = gpd.GeoDataFrame({"code": per_grid.index.astype(str)}, geometry=per_grid.geometry.values, crs=per_grid.crs)
        out = cls.__new__(cls)
        out.plan = out.posts = out.staffing = out.routes = out.model = None
        out.params, out.notes = params, notes
        out.incidents = frames.get("incidents")
        out.runs = tables.pop("runs")
        out._summary = tables.pop("summary")
        out._saved, out._grids = tables, grids
        out._days = int(params.get("days", 0))
        out._names = dict(names) if names else _names_from(out.runs)
        return out

    def _grid_polygons(self) -> gpd.GeoDataFrame:
        """The grid polygons (``code``, geometry): the plan's, or as saved."""
        if self._saved is not None:
            return self._grids
        assert self.plan is not None  # a simulated (not read) result keeps its plan
        return self.plan.grids

    def explore(self, column: str = DEADLINE_KPI, **kwargs: Any) -> folium.Map:
        """Interactive folium map of a per-grid KPI (default ``compliance_deadline``; needs the ``[explore]`` extra)."""
        try:
            import folium  # noqa: F401
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("SimulationResult.explore needs folium: pip install 'gridplan[explore]'") from exc
        column = kpi_name(column)
        if not isinstance(column, str) or column not in self.per_grid.columns:
            raise DataError(f"column must be a KPI of per_grid: {list(self.per_grid.columns)}")
        g = self._grid_polygons()[["code", self._grid_polygons().geometry.name]].copy()
        table = self.per_grid
        for col in table.columns:
            g[col] = table[col].reindex(g["code"].astype(str)).to_numpy()
        kwargs.setdefault("cmap", "RdYlGn" if "compliance" in column or "share" in column else "viridis_r")
        return g.explore(column=column, tooltip=list(g.columns.drop(g.geometry.name)), **kwargs)

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        s = self.summary()["mean"]
        return (
            f"<SimulationResult: {self.params['runs']} runs x {self._days} days, {s['incidents_per_day']:.0f} "
            f"cases/day, face to face {s['face_to_face_min']:.1f} min, {self._names['respond']} "
            f"{s[self._names['respond']]:.1%}, closed by their deadline {s[DEADLINE_KPI]:.1%}>"
        )

    def _repr_html_(self) -> str:
        return (
            f"<div><b>{html.escape(self.__repr__()[1:-1])}</b>"
            f"{self.summary().to_html(float_format=lambda x: f'{x:,.3f}')}"
            f"<details><summary>per grid</summary>{self.per_grid.to_html(float_format=lambda x: f'{x:,.3f}')}"
            "</details></div>"
        )

    def plot(
        self,
        ax: Axes | None = None,
        *,
        kind: str = "map",
        column: str = DEADLINE_KPI,
        title: str | None = None,
        vmin: float | None = None,
        vmax: float | None = None,
    ) -> Axes:
        """Draw the result.

        ``kind="map"``: the grids coloured by a per-grid KPI (default ``compliance_deadline``); shares are
        drawn on the fixed scale 0-1 unless ``vmin``/``vmax`` say otherwise, so maps of two studies
        compare (give other KPIs one scale with :func:`gridplan.plot.colour_range`).
        ``kind="runs"``: the distribution over the runs of the compliance KPIs (box plots).
        """
        from . import plot as _plot

        column = kpi_name(column)
        _validate.choice(kind, "kind", ("map", "runs"))
        if kind == "map":
            if not isinstance(column, str) or column not in self.per_grid.columns:
                raise DataError(f"column must be a KPI of per_grid: {list(self.per_grid.columns)}")
            g = self._grid_polygons()
            ax = _plot.axes(ax, bounds=g.total_bounds)
            g["kpi"] = self.per_grid[column].reindex(g["code"].astype(str)).to_numpy()
            share = _bounds(column) is not None
            if share and vmin is None and vmax is None:
                vmin, vmax = 0.0, 1.0
            g.plot(
                ax=ax,
                column="kpi",
                cmap="RdYlGn" if "compliance" in column or "share" in column else "viridis_r",
                legend=True,
                edgecolor="black",
                linewidth=0.8,
                missing_kwds={"color": "lightgrey"},
                vmin=vmin,
                vmax=vmax,
                legend_kwds={"shrink": 0.6, "label": column},
            )
            for _, r in g.iterrows():
                p = r.geometry.representative_point()
                if np.isfinite(r["kpi"]):
                    ax.annotate(
                        f"{r['kpi']:.2f}" if abs(r["kpi"]) < 10 else f"{r['kpi']:.0f}", (p.x, p.y), ha="center", fontsize=7
                    )
            return _plot.finish(ax, title or f"{column} per grid ({self.params['runs']} runs x {self._days} days)")
        if kind == "runs":
            ax = _plot.axes(ax, figsize=(8, 4.5))
            cols = [c for c in self.runs.columns if c.startswith("compliance_")]
            data = [self.runs[c].dropna().to_numpy() for c in cols]
            ax.boxplot(data, tick_labels=[c.replace("compliance_", "") for c in cols])
            ax.set_ylabel("share within limit, per run")
            ax.set_ylim(0, 1.02)
            ax.set_title(title or f"Compliance over {self.params['runs']} runs")
            return ax
        raise DataError(f"kind must be 'map' or 'runs', got {kind!r}")


_TABLES = {"grid": "per_grid", "community": "per_community", "source": "per_source", "shift": "per_shift", "type": "per_type"}
"""The groups of :meth:`SimulationResult.table` and the layers that hold them in a saved result."""


def _renamed(table: pd.DataFrame) -> pd.DataFrame:
    """A table saved by an older gridplan, with its KPIs under their current names (``compliance_all``)."""
    renames = {old: new for old, new in _RENAMED_KPIS.items() if old in table.columns or old in table.index}
    return table.rename(columns=renames, index=renames) if renames else table


def _names_from(runs: pd.DataFrame) -> dict[str, str]:
    """The limit KPIs of a result saved before it wrote them down: the model's default names, if present."""
    names = IncidentModel().limit_names()
    return (
        names
        if all(v in runs.columns for v in names.values())
        else {"respond": next((c for c in runs.columns if c.startswith("compliance_")), DEADLINE_KPI)}
    )


def _bounds(kpi: str) -> tuple[float, float] | None:
    """Range of a KPI's mean: [0, 1] for shares (compliance and found shares), else none."""
    return (0.0, 1.0) if kpi.startswith("compliance_") or kpi.endswith("_share") else None


def _t_interval(diff: float, se: float, dof: float, level: float) -> dict[str, float]:
    """``level`` t-interval and two-sided p-value of a difference with standard error ``se``."""
    from scipy import stats

    if se > 0:
        q = float(stats.t.ppf(0.5 + level / 2, dof))
        return {"low": diff - q * se, "high": diff + q * se, "p_value": float(2 * stats.t.sf(abs(diff) / se, dof))}
    return {"low": diff, "high": diff, "p_value": 1.0 if diff == 0 else 0.0}


def _interval(v: np.ndarray, level: float, bounds: tuple[float, float] | None = None) -> dict[str, np.ndarray]:
    """Mean and t-interval over axis 0, ignoring NaN; the interval cut to ``bounds`` when given."""
    from scipy import stats

    ok = np.isfinite(v)
    cnt = ok.sum(axis=0)
    vv = np.where(ok, v, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(cnt > 0, vv.sum(axis=0) / np.maximum(cnt, 1), np.nan)
        var = np.where(cnt > 1, (np.where(ok, v - mean, 0.0) ** 2).sum(axis=0) / np.maximum(cnt - 1, 1), np.nan)
        q = stats.t.ppf(0.5 + level / 2, np.maximum(cnt - 1, 1))
        half = q * np.sqrt(var / np.maximum(cnt, 1))
    low, high = mean - half, mean + half
    if bounds is not None:
        low, high = np.clip(low, *bounds), np.clip(high, *bounds)
    return {"mean": mean, "low": low, "high": high, "runs": cnt}


# ============================================================================ building a study
def _unit_lookup(plan: GridPlan, points: np.ndarray) -> np.ndarray:
    """Row of the unit holding each point (-1 outside every unit)."""
    geoms = np.asarray(plan.units.geometry.values)
    tree = shapely.STRtree(geoms)
    pi, ui = tree.query(points, predicate="intersects")
    out = np.full(len(points), -1, dtype=np.int64)
    if len(pi):
        order = np.lexsort((ui, pi))
        pi, ui = pi[order], ui[order]
        first = np.r_[True, pi[1:] != pi[:-1]]
        out[pi[first]] = ui[first]
    return out


@dataclass
class _GridLookup:
    """The plan's grids and communities, and the row of each in the study's tables."""

    codes: np.ndarray  # grid codes (str), in the plan's order
    position: dict[str, int]  # grid code -> row of codes
    community_codes: np.ndarray  # distinct community codes, sorted
    unit_community: np.ndarray  # per unit: row of community_codes
    unit_grid: np.ndarray  # per unit: row of codes (the plan's labels)

    def rows_of(self, grid_codes: Any) -> np.ndarray:
        """Row of each grid code (-1 for a code the plan does not have)."""
        return np.array([self.position.get(str(code), -1) for code in grid_codes], dtype=np.int64)


@dataclass
class _ChiefWalks:
    """The road chiefs' walks, and where each street edge lies along the walk of the chief who sweeps it."""

    length_m: np.ndarray  # per chief (route)
    window: np.ndarray  # (chiefs, 2): start minute and length of each chief's patrol shift
    edge_chief: np.ndarray  # per row of routes.edges: the chief sweeping it, -1 for none
    edge_offset_m: np.ndarray  # distance along that chief's walk where the edge starts (nan: none)
    edge_forward: np.ndarray  # the chief walks it from u to v


@dataclass
class _Streets:
    """The swept street edges, where street-driven incidents arise (pool 1)."""

    rows: np.ndarray  # rows of routes.edges
    geoms: np.ndarray
    length_m: np.ndarray
    unit: np.ndarray  # unit holding each edge's midpoint (the nearest unit for streets on the outer boundary)
    grid: np.ndarray
    community: np.ndarray
    u_node: np.ndarray  # positions in the network's nodes
    v_node: np.ndarray
    chief: np.ndarray
    offset_m: np.ndarray  # distance along the chief's walk where the edge starts
    forward: np.ndarray


@dataclass
class _Residents:
    """The population points inside the grids, where population-driven incidents arise (pool 0)."""

    weight: np.ndarray  # residents per point
    xy: np.ndarray
    points: np.ndarray
    unit: np.ndarray
    grid: np.ndarray
    community: np.ndarray
    node: np.ndarray  # nearest network node
    snap_m: np.ndarray  # distance to it
    chief: np.ndarray  # chief of the nearest swept street when within sight, else -1
    offset_m: np.ndarray  # where that street's middle lies along the chief's walk
    described: str  # what the points are, for the notes


@dataclass
class _Staff:
    """The grid staff on duty: their grid, shift and post."""

    grid: np.ndarray
    shift: np.ndarray  # shift names (str)
    window: np.ndarray  # (staff, 2): start minute and length of each one's shift
    xy: np.ndarray  # where each one is posted


@dataclass
class _PostDistances:
    """Street distances from the staff's posts and the grid posts (one table for both)."""

    table: np.ndarray  # (distinct nodes of posts, network nodes)
    staff_row: np.ndarray  # per staff member: row of table
    staff_snap_m: np.ndarray  # from the post to its node
    post_row: np.ndarray  # per grid post: row of table
    post_snap_m: np.ndarray
    post_grid: np.ndarray  # per grid post: row of the grid codes

    def from_grid_posts(self, nodes: np.ndarray, grid: np.ndarray, n_grids: int) -> np.ndarray:
        """Street distance from each node to the nearest post of its grid (inf: the grid has none)."""
        out = np.full(len(nodes), np.inf)
        for g in range(n_grids):
            posts = np.flatnonzero(self.post_grid == g)
            here = np.flatnonzero(grid == g)
            if len(posts) and len(here):
                out[here] = (self.table[self.post_row[posts]][:, nodes[here]] + self.post_snap_m[posts, None]).min(axis=0)
        return out


def _street_network_of(plan: GridPlan, routes: RoutePlan) -> StreetNetwork:
    """The routes' street network, checked to be the plan's."""
    network = routes.network
    if network is None or not isinstance(routes.edges, gpd.GeoDataFrame):
        raise DataError("the routes have no street geometry; make them with balance_routes(plan, ...) on a street network")
    if not network.crs.equals(plan.grids.crs):
        raise DataError(
            f"the routes are in {network.crs.to_string()}, the plan in {plan.grids.crs.to_string()}: "
            "they come from different districts"
        )
    return network


def _grid_lookup(plan: GridPlan) -> _GridLookup:
    """The plan's grid codes, its communities (units without one share the community "") and each unit's rows."""
    codes = plan.grids["code"].astype(str).to_numpy()
    units = plan.units
    unit_community = units["community"].astype(str).to_numpy() if "community" in units else np.full(len(units), "")
    community_codes, unit_community_row = np.unique(unit_community, return_inverse=True)
    position = {code: row for row, code in enumerate(codes)}
    return _GridLookup(codes, position, community_codes, unit_community_row, plan.labels)


def _chief_walks(routes: RoutePlan, model: IncidentModel, windows: Mapping[str, Any]) -> _ChiefWalks:
    """Walk lengths and patrol windows of the chiefs (the shifts taken in turn within a grid)."""
    routes_table, edges = routes.routes, routes.edges
    grid_of_route = routes_table["grid"].astype(str) if routes_table["grid"].notna().any() else np.zeros(len(routes_table))
    rank_in_grid = routes_table.groupby(grid_of_route).cumcount().to_numpy()
    patrol_shifts = [model.patrol_shifts[rank % len(model.patrol_shifts)] for rank in rank_in_grid]
    window = np.array([windows[shift] for shift in patrol_shifts], dtype=float).reshape(-1, 2)
    edge_row = {edge: row for row, edge in enumerate(edges.index.to_numpy())}
    offset = np.full(len(edges), np.nan)
    forward = np.ones(len(edges), bool)
    chief = np.full(len(edges), -1, dtype=np.int64)
    served_by = edges["route"].to_numpy()
    edge_length = edges["length"].to_numpy(float)
    start_node = edges["u"].to_numpy()
    for route, (walk, walk_edges) in enumerate(zip(routes.walks, routes.walk_edges)):
        walked = 0.0
        for step, edge in enumerate(walk_edges):
            row = edge_row[edge]
            if served_by[row] == route and np.isnan(offset[row]):  # the first pass of its own chief
                offset[row] = walked
                forward[row] = walk[step] == start_node[row]
                chief[row] = route
            walked += edge_length[row]
    return _ChiefWalks(routes.lengths.to_numpy(float), window, chief, offset, forward)


def _swept_streets(
    plan: GridPlan, routes: RoutePlan, network: StreetNetwork, chiefs: _ChiefWalks, grids: _GridLookup
) -> _Streets:
    """The street edges a chief sweeps, with their grid, community and end nodes."""
    edges = routes.edges
    edge_length = edges["length"].to_numpy(float)
    rows = np.flatnonzero((chiefs.edge_chief >= 0) & (edge_length > 0))
    if len(rows) == 0:
        raise DataError("no street edge is swept by a road chief: the routes are empty")
    geoms = np.asarray(edges.geometry.values)[rows]
    midpoints = shapely.line_interpolate_point(geoms, 0.5, normalized=True)
    unit = _unit_lookup(plan, midpoints)
    if "grid" in edges:
        grid = grids.rows_of(edges["grid"].to_numpy()[rows])
    else:
        grid = np.where(unit >= 0, grids.unit_grid[np.maximum(unit, 0)], -1)
    beyond = np.flatnonzero(unit < 0)
    if len(beyond):  # streets on the outer boundary: the nearest unit
        tree = shapely.STRtree(np.asarray(plan.units.geometry.values))
        unit[beyond] = tree.query_nearest(midpoints[beyond], all_matches=False)[1]
    grid = np.where(grid >= 0, grid, grids.unit_grid[unit])
    node_labels = network.nodes.index.to_numpy()
    node_position = pd.Series(np.arange(len(node_labels)), index=node_labels)
    return _Streets(
        rows=rows,
        geoms=geoms,
        length_m=edge_length[rows],
        unit=unit,
        grid=grid,
        community=grids.unit_community[unit],
        u_node=node_position.reindex(edges["u"].to_numpy()[rows]).to_numpy(np.int64),
        v_node=node_position.reindex(edges["v"].to_numpy()[rows]).to_numpy(np.int64),
        chief=chiefs.edge_chief[rows],
        offset_m=chiefs.edge_offset_m[rows],
        forward=chiefs.edge_forward[rows],
    )


def _population_points(plan: GridPlan, notes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """Weight, coordinates, points and unit of every populated point inside the grids, and what they are.

    The district's population points if it has them, else every unit's population at a point on its surface.
    """
    district = getattr(plan, "district", None)
    units = plan.units
    if district is not None and getattr(district, "population", None) is not None and len(district.population):
        population = district.population
        if "population" in population:
            weight = pd.to_numeric(population["population"], errors="coerce").fillna(0).to_numpy(float)
        else:
            weight = np.ones(len(population))
        xy = shapely.get_coordinates(population.geometry.values)
        points = np.asarray(population.geometry.values)
        described = "the district's population points"
    else:
        weight = pd.to_numeric(units.get("population", pd.Series(0.0, index=units.index)), errors="coerce").fillna(0)
        weight = weight.to_numpy(float)
        points = shapely.point_on_surface(np.asarray(units.geometry.values))
        xy = shapely.get_coordinates(points)
        described = "the units' population at their representative points"
    unit = _unit_lookup(plan, points)
    outside = unit < 0
    if outside.any():
        notes.append(
            f"{int(outside.sum())} population points ({weight[outside].sum():,.0f} residents) lie outside every "
            "grid: no incidents arise there"
        )
    keep = ~outside & (weight > 0)
    if weight[keep].sum() == 0:
        notes.append("no residents in the grids: population-driven problem types have no incidents")
    return weight[keep], xy[keep], points[keep], unit[keep], described


def _residents(
    plan: GridPlan, network: StreetNetwork, streets: _Streets, sight_m: float, grids: _GridLookup, notes: list[str]
) -> _Residents:
    """The population points with their grid, nearest node and the chief who passes within sight."""
    weight, xy, points, unit, described = _population_points(plan, notes)
    if len(xy):
        node, snap = network.nearest_nodes(xy[:, 0], xy[:, 1], return_dist=True)
    else:
        node, snap = np.zeros(0, np.int64), np.zeros(0)
    chief = np.full(len(points), -1, dtype=np.int64)
    offset = np.zeros(len(points))
    if len(points):
        tree = shapely.STRtree(streets.geoms)
        (point, street), distance = tree.query_nearest(points, return_distance=True, all_matches=False)
        in_sight = distance <= sight_m
        point, street = point[in_sight], street[in_sight]
        chief[point] = streets.chief[street]
        offset[point] = streets.offset_m[street] + streets.length_m[street] / 2
    found = len(unit) > 0
    return _Residents(
        weight=weight,
        xy=xy,
        points=points,
        unit=unit,
        grid=grids.unit_grid[unit] if found else np.zeros(0, np.int64),
        community=grids.unit_community[unit] if found else np.zeros(0, np.int64),
        node=np.asarray(node, dtype=np.int64),
        snap_m=np.asarray(snap, dtype=float),
        chief=chief,
        offset_m=offset,
        described=described,
    )


def _staff_on_duty(staffing: Staffing, windows: Mapping[str, Any], grids: _GridLookup) -> _Staff:
    """Every assigned staff member's grid, shift window and post (a shift the model does not know is refused)."""
    assignments = staffing.assignments
    shift = assignments["shift"].astype(str).to_numpy()
    unknown_shifts = sorted(set(shift) - set(windows))
    if unknown_shifts:
        raise DataError(
            f"the staffing uses shifts {unknown_shifts} that the incident model does not know "
            f"({list(windows)}); pass IncidentModel(shifts=...) with their hours"
        )
    return _Staff(
        grid=grids.rows_of(assignments["grid"].astype(str)),
        shift=shift,
        window=np.array([windows[s] for s in shift], dtype=float).reshape(-1, 2),
        xy=shapely.get_coordinates(assignments.geometry.values) if len(assignments) else np.zeros((0, 2)),
    )


def _grid_posts(posts: Any, grids: _GridLookup) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates and grid row of every grid post (service points of other kinds left out)."""
    if posts is None:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    frame = posts.posts if hasattr(posts, "posts") else posts
    frame = frame[frame["kind"] == "post"] if "kind" in frame else frame
    return shapely.get_coordinates(frame.geometry.values), grids.rows_of(frame["grid"].astype(str))


def _post_distances(network: StreetNetwork, staff_xy: np.ndarray, posts: Any, grids: _GridLookup) -> _PostDistances:
    """One distance table from the nodes of the staff's posts and of the grid posts."""
    post_xy, post_grid = _grid_posts(posts, grids)
    all_xy = np.vstack([staff_xy, post_xy]) if len(staff_xy) + len(post_xy) else np.zeros((0, 2))
    if len(all_xy):
        node, snap = network.nearest_nodes(all_xy[:, 0], all_xy[:, 1], return_dist=True)
        distinct_nodes, row = np.unique(np.asarray(node, dtype=np.int64), return_inverse=True)
        table = network.shortest_path_lengths(distinct_nodes)
    else:
        row, snap = np.zeros(0, np.int64), np.zeros(0)
        table = np.zeros((0, network.n_nodes))
    n_staff = len(staff_xy)
    return _PostDistances(
        table=table,
        staff_row=row[:n_staff],
        staff_snap_m=np.asarray(snap[:n_staff], dtype=float),
        post_row=row[n_staff:],
        post_snap_m=np.asarray(snap[n_staff:], dtype=float),
        post_grid=post_grid,
    )


def _grid_duty_windows(staff: _Staff, windows: Mapping[str, Any], grids: _GridLookup, notes: list[str]) -> list[np.ndarray]:
    """Per grid: the windows of the shifts someone of its team is on (a note names the grids with nobody)."""
    duty = []
    for g in range(len(grids.codes)):
        shifts = sorted(set(staff.shift[staff.grid == g]))
        duty.append(np.array([windows[s] for s in shifts], dtype=float).reshape(-1, 2))
    empty = [grids.codes[g] for g in range(len(grids.codes)) if not (staff.grid == g).any()]
    if empty:
        notes.append(
            f"{len(empty)} grids have nobody on their team ({', '.join(empty[:5])}"
            f"{' ...' if len(empty) > 5 else ''}): their reported cases stay unmet"
        )
    return duty


def _population_pool(residents: _Residents, watch_m: np.ndarray) -> dict[str, Any]:
    """The context's pool 0; with no residents one placeholder of weight 0, never drawn, keeps the lookups simple."""
    if len(residents.weight) == 0:
        return {
            "pop_weight": np.zeros(1),
            "pop_grid": np.zeros(1, np.int64),
            "pop_comm": np.zeros(1, np.int64),
            "pop_node": np.zeros(1, np.int64),
            "pop_snap": np.zeros(1),
            "pop_chief": np.full(1, -1, np.int64),
            "pop_offset": np.zeros(1),
            "pop_watch": np.full(1, np.inf),
        }
    return {
        "pop_weight": residents.weight,
        "pop_grid": residents.grid,
        "pop_comm": residents.community,
        "pop_node": residents.node,
        "pop_snap": residents.snap_m,
        "pop_chief": residents.chief,
        "pop_offset": residents.offset_m,
        "pop_watch": watch_m,
    }


def _street_pool(streets: _Streets, distances: _PostDistances, n_grids: int) -> dict[str, Any]:
    """The context's pool 1: the swept streets, with the street distance from their grid's posts."""
    return {
        "st_len": streets.length_m / 1000.0,
        "st_grid": streets.grid,
        "st_comm": streets.community,
        "st_u": streets.u_node,
        "st_v": streets.v_node,
        "st_chief": streets.chief,
        "st_offset": streets.offset_m,
        "st_forward": streets.forward,
        "st_watch_u": distances.from_grid_posts(streets.u_node, streets.grid, n_grids),
        "st_watch_v": distances.from_grid_posts(streets.v_node, streets.grid, n_grids),
    }


def _source_probabilities(types: pd.DataFrame, source_names: list[str]) -> np.ndarray:
    """(types, sources): the chance that a case of each type is reported by each source."""
    probability = np.zeros((len(types), len(source_names)))
    for row, weights in enumerate(types["sources"]):
        for name, weight in weights.items():
            probability[row, source_names.index(name)] = float(weight)
    probability /= probability.sum(axis=1, keepdims=True)
    return probability


def _model_fields(model: IncidentModel, windows: Mapping[str, Any], expected_per_day: np.ndarray) -> dict[str, Any]:
    """The context's problem types and the model's times, speeds and limits, as arrays."""
    types = model.types
    source_names = list(model.sources)
    severity = types[["p_small", "p_larger", "p_hard"]].to_numpy(float)
    has_week_profiles = any(not isinstance(p, str) and len(np.asarray(p)) == 168 for p in types["profile"])
    return {
        "shift_windows": np.array(list(windows.values()), dtype=float).reshape(-1, 2),
        "t_pool": np.where(types["driver"].to_numpy() == "population", 0, 1),
        "t_lambda": expected_per_day,
        "t_visible": types["visible"].to_numpy(bool),
        "t_report_min": pd.to_numeric(types["report_h"]).to_numpy(float) * 60.0,
        "t_profile": np.stack([w.reshape(7, 24).sum(axis=0) for w in _profile_weights(types["profile"])]),
        "t_sev": severity / severity.sum(axis=1, keepdims=True),
        "t_src": _source_probabilities(types, source_names),
        "src_patrol": source_names.index(model.discovery_sources[0]),
        "src_staff": source_names.index(model.discovery_sources[1]),
        "onsite": np.array([model.onsite_min[s] for s in _caseflow.SEVERITIES], dtype=float),
        "handling": np.array([[model.handling_h[s][0] * 60.0, model.handling_h[s][1]] for s in _caseflow.SEVERITIES]),
        "solve_on_site": float(model.solve_on_site),
        "respond_min": model.limits.respond.total_seconds() / 60.0,
        "limit_min": np.array([model.limits.limit(s).total_seconds() / 60.0 for s in _caseflow.SEVERITIES]),
        "response_speed": float(model.response_speed_m_per_min),
        "patrol_speed": float(model.patrol_speed_m_per_min),
        "watch_m": float(model.staff_watch_m),
        "notice_min": float(model.staff_notice_min),
        "t_week": np.stack(_profile_weights(types["profile"])) if has_week_profiles else None,
    }


def _unit_intensity_fields(model: IncidentModel, plan: GridPlan, residents: _Residents, streets: _Streets) -> dict[str, Any]:
    """A fitted model's relative intensity per (type, unit), and the unit of every pool element (none otherwise)."""
    if model.unit_intensity is None:
        return {}
    factor = model.unit_intensity.reindex(index=plan.units.index, columns=model.types.index).fillna(1.0)
    return {"t_unit_factor": factor.to_numpy(dtype=float).T, "pop_unit": residents.unit, "st_unit": streets.unit}


def _expected_per_day(model: IncidentModel, residents: float, street_km: float) -> np.ndarray:
    """Expected cases a day of every problem type: its rate per 10,000 residents or per km of swept street."""
    types = model.types
    driver = np.where(types["driver"].to_numpy() == "population", residents / 1e4, street_km)
    return types["rate"].to_numpy(float) * driver * model.rate_scale


def _build_context(
    plan: GridPlan, posts: Any, staffing: Staffing, routes: RoutePlan, model: IncidentModel, days: int, notes: list[str]
) -> tuple[_Context, dict[str, Any]]:
    """The arrays every run needs, and the facts of the study (with the geometry the ledger draws)."""
    network = _street_network_of(plan, routes)
    grids = _grid_lookup(plan)
    windows = model.shift_windows()
    chiefs = _chief_walks(routes, model, windows)
    streets = _swept_streets(plan, routes, network, chiefs, grids)
    residents = _residents(plan, network, streets, model.patrol_sight_m, grids, notes)
    street_km = streets.length_m.sum() / 1000.0
    n_residents = float(residents.weight.sum())
    notes.append(
        f"incidents: population-driven ones at {residents.described} ({len(residents.points):,} points, "
        f"{residents.weight.sum():,.0f} residents); street-driven ones along {len(streets.rows):,} swept street "
        f"edges ({street_km:,.1f} km)"
    )
    staff = _staff_on_duty(staffing, windows, grids)
    distances = _post_distances(network, staff.xy, posts, grids)
    n_grids = len(grids.codes)
    resident_watch = distances.from_grid_posts(residents.node, residents.grid, n_grids) + residents.snap_m
    grid_windows = _grid_duty_windows(staff, windows, grids, notes)
    expected = _expected_per_day(model, n_residents, street_km)
    ctx = _Context(
        days=days,
        grid_codes=grids.codes.astype(object),
        community_codes=grids.community_codes.astype(object),
        **_population_pool(residents, resident_watch),
        **_street_pool(streets, distances, n_grids),
        chief_len=chiefs.length_m,
        chief_window=chiefs.window,
        staff_grid=staff.grid,
        staff_src=distances.staff_row,
        staff_snap=distances.staff_snap_m,
        staff_window=staff.window,
        dist=distances.table,
        post_grid=distances.post_grid,
        grid_windows=grid_windows,
        **_model_fields(model, windows, expected),
        **_unit_intensity_fields(model, plan, residents, streets),
    )
    facts = {
        "residents": n_residents,
        "street_km": street_km,
        "expected_per_day": dict(zip(model.types.index, expected.tolist())),
        "population_points": int(len(residents.points)),
        "street_edges": int(len(streets.rows)),
        "staff": int(len(staff.grid)),
        "chiefs": int(len(chiefs.length_m)),
        "posts": int(len(distances.post_grid)),
        "incident_stream": _stream_key(ctx, list(model.types.index), list(model.sources), residents.xy, streets.geoms),
    }
    return ctx, {**facts, "_geo": {"pop_xy": residents.xy, "st_geoms": streets.geoms}}


def _stream_key(ctx: _Context, types: list[str], sources: list[str], pop_xy: np.ndarray, st_geoms: np.ndarray) -> str:
    """Fingerprint of everything the arrivals of a run are drawn from.

    Two studies with equal keys and the same seed draw the same incidents in run ``i`` (the same
    types, places, times, severities, report delays and reporting sources): only what follows
    (patrols, staff, handling) differs. :meth:`SimulationResult.compare` pairs their runs then.
    """
    import hashlib

    h = hashlib.sha256()
    h.update(repr((ctx.days, types, sources)).encode("utf-8"))
    for arr in (
        ctx.t_lambda,
        ctx.t_pool,
        ctx.t_profile,
        ctx.t_sev,
        ctx.t_report_min,
        ctx.t_src,
        ctx.pop_weight,
        ctx.st_len,
        pop_xy,
        shapely.get_num_coordinates(st_geoms),
        shapely.get_coordinates(st_geoms),
        *(a for a in (ctx.t_week, ctx.t_unit_factor) if a is not None),
    ):
        a = np.ascontiguousarray(arr)
        h.update(repr((a.dtype.str, a.shape)).encode("ascii"))
        h.update(a.tobytes())
    return h.hexdigest()[:16]


def _ledger(
    ctx: _Context,
    cases: dict[str, np.ndarray],
    run: int,
    model: IncidentModel,
    geo: dict[str, Any],
    start: pd.Timestamp,
    crs: Any,
) -> gpd.GeoDataFrame:
    street = cases["pool"] == 1
    loc = cases["loc"]
    xy = np.zeros((len(loc), 2))
    if (~street).any():
        xy[~street] = geo["pop_xy"][loc[~street]]
    if street.any():
        pts = shapely.line_interpolate_point(geo["st_geoms"][loc[street]], cases["u"][street], normalized=True)
        xy[street] = shapely.get_coordinates(pts)
    sev_names = np.array(["small", "larger", "hard"], dtype=object)
    level = np.array([model.limits.level(s) for s in sev_names], dtype=object)

    def ts(m: np.ndarray) -> pd.Series:
        return pd.Series(pd.to_datetime(np.where(np.isfinite(m), m, np.nan), unit="m", origin=start))

    types = np.asarray(model.types.index, dtype=object)
    labels = model.types["label"].to_numpy(dtype=object)
    shift_names = np.array(list(model.shifts) + ["off_duty"], dtype=object)
    frame = pd.DataFrame(
        {
            "run": run,
            "type": types[cases["type"]],
            "label": labels[cases["type"]],
            "source": np.asarray(list(model.sources), dtype=object)[cases["source"]],
            "severity": sev_names[cases["severity"]],
            "level": level[cases["severity"]],
            "grid": ctx.grid_codes[cases["grid"]],
            "community": ctx.community_codes[cases["community"]],
            "shift": shift_names[cases["shift"]],
            "occurred": ts(cases["occurred"]),
            "discovered": ts(cases["discovered"]),
            "arrived": ts(cases["arrived"]),
            "resolved": ts(cases["resolved"]),
            "discovery_min": cases["discovered"] - cases["occurred"],
            "face_to_face_min": cases["arrived"] - cases["discovered"],
            "resolution_h": (cases["resolved"] - cases["discovered"]) / 60.0,
            "respond_met": cases["respond_met"],
            "deadline_met": cases["deadline_met"],
        }
    )
    for c in ("discovery_min", "face_to_face_min", "resolution_h"):
        frame[c] = frame[c].where(np.isfinite(frame[c]))
    frame = frame.sort_values("occurred", kind="stable").reset_index(drop=True)
    order = np.argsort(cases["occurred"], kind="stable")
    return gpd.GeoDataFrame(frame, geometry=shapely.points(xy[order]), crs=crs)


_MAX_RUNS = 1_000_000  # more runs than this is a typo (each run simulates every day of every grid)


def simulate(
    plan: GridPlan,
    *,
    posts: Posts | None = None,
    staffing: Staffing | str | None = None,
    routes: RoutePlan | None = None,
    model: IncidentModel | None = None,
    days: int = 7,
    runs: int = 100,
    seed: int = 0,
    client: DaskClient | None = None,
    streets: District | StreetNetwork | None = None,
    keep_incidents: int = 1,
    start: str | datetime.datetime = "2026-01-05",
    progress: bool = True,
    loop: CaseLoop | Literal[False] | None = None,
) -> SimulationResult:
    """Simulate ``runs`` independent periods of ``days`` days of incidents over a plan.

    Parameters
    ----------
    plan : GridPlan
        The grids (a plan made by ``partition``/``resplit`` knows its district; one read from a
        file needs ``streets=``).
    posts : Posts, optional
        Grid posts (staff watch around them). Default: ``place_posts(plan, round(2.8 * n_grids))``
        (Guiding's 42 posts for 15 grids), solved to 0.1 % or for at most 30 s (the gap is in the notes).
    staffing : Staffing or "sample"
        The teams and their shifts, from :func:`gridplan.staffing.assign_staff` with your roster.
        Required: gridplan never invents staff silently. ``"sample"`` asks for a **synthetic**
        roster, ``assign_staff(plan, sample_roster(plan, seed), posts=posts)`` ("1+2+2" on
        early/middle/late shifts; said in the notes); without it a :class:`DataError` says how to
        get one.
    routes : RoutePlan, optional
        Road-chief patrols per grid. Default: ``balance_routes(plan, chiefs_per_grid=2,
        posts=posts, effort=0.1)``.
    model : IncidentModel, optional
        Rates, sources, severities, speeds, shifts and limits (default :class:`IncidentModel`).
    days : int
        Length of every run (default a week).
    runs : int
        Independent runs (default 100).
    seed : int
        Seed of the study: run ``i`` uses child ``i`` of ``numpy.random.SeedSequence(seed)``, so
        the same seed gives the same result with or without ``client``, on any number of workers.
    client : dask.distributed.Client, optional
        Run on the client's workers (the ``[distributed]`` extra).
    streets : District or StreetNetwork, optional
        For a plan that does not know its district, when posts/staffing/routes are derived.
    keep_incidents : int
        Keep every case of the first this many runs in :attr:`SimulationResult.incidents`.
    start : str or Timestamp
        Date and time at which every run starts (for the ledger's timestamps).
    progress : bool
        Show a progress bar over runs (and while deriving defaults).
    loop : CaseLoop or False, optional
        The closed loop every kept case goes through (:mod:`gridplan._caseflow`: reported, filed,
        dispatched, handled with escalation grid → community → squad, feedback, verified by
        supervisors on beats with rework, closed; category, department and deadline from the
        catalogue). Default ``CaseLoop()`` (its numbers are assumptions); ``False`` leaves it out.

    Returns
    -------
    SimulationResult

    Raises
    ------
    DataError
        ``days`` or ``runs`` < 1, a bad model, posts/staffing/routes made for another plan or
        district, a plan without streets.
    """
    from .grids import GridPlan

    t0 = time.perf_counter()
    if not isinstance(plan, GridPlan):
        raise DataError(f"simulate needs a GridPlan (from partition, resplit or GridPlan.read_file), got {type(plan).__name__}")
    runs = _validate.integer(runs, "runs", minimum=1, maximum=_MAX_RUNS)
    from .posts import Posts
    from .routes import RoutePlan
    from .staffing import Staffing

    for what, given, kind in (("posts", posts, Posts), ("staffing", staffing, Staffing), ("routes", routes, RoutePlan)):
        if what == "staffing" and (given is None or isinstance(given, str)):
            continue  # checked below: required, or "sample"
        if given is not None and not isinstance(given, kind):
            raise DataError(f"{what} must be a {kind.__name__} (or None to derive it), got {type(given).__name__}")
    if client is not None and not all(hasattr(client, a) for a in ("scheduler_info", "scatter", "submit")):
        raise DataError(f"client must be a dask.distributed.Client (or None), got {type(client).__name__}")
    keep_incidents = _validate.integer(keep_incidents, "keep_incidents", minimum=0)
    seed = _validate.seed(seed)
    model = IncidentModel() if model is None else model
    if not isinstance(model, IncidentModel):
        raise DataError(f"model must be an IncidentModel, got {type(model).__name__}")
    try:
        start_ts = pd.Timestamp(start)
    except (TypeError, ValueError, OverflowError) as exc:
        raise DataError(f"start must be a date/time, got {start!r}") from exc
    if start_ts is pd.NaT or start_ts.tzinfo is not None:
        raise DataError(f"start must be a local date/time without a time zone, got {start!r}")
    # the ledger's timestamps must fit pandas' nanosecond range: refuse up front, not after the work
    max_days = (pd.Timestamp.max.to_pydatetime(warn=False) - start_ts.to_pydatetime(warn=False)).days - 1
    days = _validate.integer(days, "days", minimum=1)
    if days > max_days:
        raise DataError(
            f"days={days} from start {start_ts} runs past {pd.Timestamp.max:%Y-%m-%d}, the last date a "
            f"ledger timestamp can hold; simulate at most {max_days} days (or more runs of fewer days)"
        )
    notes: list[str] = []
    derived: list[str] = []
    if posts is not None:
        _check_same_plan(plan, _grids_of(posts), "posts")
    if staffing is None:
        raise DataError(
            "simulate needs the staff: pass staffing=assign_staff(plan, roster, posts=posts) with your "
            "roster (id, role, party_member, home), or staffing='sample' for a synthetic roster "
            "(gridplan.datasets.sample_roster); gridplan does not invent staff unasked"
        )
    if isinstance(staffing, str):
        if staffing != "sample":
            raise DataError(f"staffing must be a Staffing (from assign_staff) or 'sample', got {staffing!r}")
    else:
        _check_same_plan(plan, _grids_of(staffing), "staff assignments")
        if staffing.crs is not None and not plan.grids.crs.equals(staffing.crs):
            raise DataError("the staffing and the plan are in different CRSs: they come from different districts")
        unknown = sorted(set(staffing.assignments["grid"].astype(str)) - set(plan.grids["code"].astype(str)))
        if unknown:
            raise DataError(
                f"the staffing assigns people to grids {unknown[:5]} that the plan does not have: it was "
                "made for another plan; make it again with assign_staff(plan, roster)"
            )
    if routes is not None and routes.per_grid is not None:
        theirs = set(routes.per_grid.index.astype(str))
        if theirs != set(plan.grids["code"].astype(str)):
            raise DataError(
                "the routes were made for another plan (their grids differ); make them again with balance_routes(plan, ...)"
            )
    if posts is None:
        from .posts import place_posts

        n = max(plan.n_grids, int(round(2.8 * plan.n_grids)))
        posts = place_posts(plan, n, streets=streets, mip_gap=1e-3, time_limit=30.0, seed=seed, progress=progress)
        derived.append(
            f"posts: place_posts(plan, {n}, mip_gap=1e-3, time_limit=30) — {posts.n_posts} posts, "
            f"{posts.n_stations} stations, {posts.params['status']}, gap {posts.params['gap']:.2%}"
        )
    if isinstance(staffing, str) and staffing == "sample":
        from ._synthetic.roster import sample_staff_roster
        from .staffing import assign_staff

        if getattr(plan, "district", None) is None:
            raise DataError(
                "staffing='sample' draws a sample roster from the plan's district, which a plan read "
                "from a file does not have: pass staffing=assign_staff(plan, roster, streets=...)"
            )
        staffing = assign_staff(
            plan, sample_staff_roster(plan, seed=seed), posts=posts, streets=streets, seed=seed, shifts=tuple(model.shifts)
        )
        derived.append(
            f"staffing: assign_staff(plan, sample_roster(plan, seed={seed}), posts=posts) — SYNTHETIC "
            f"staff: {len(staffing.assignments)} people, {int(staffing.vacancies['missing'].sum())} "
            "vacancies"
        )
    if routes is None:
        from .routes import balance_routes

        routes = balance_routes(plan, chiefs_per_grid=2, posts=posts, streets=streets, effort=0.1, seed=seed, progress=progress)
        derived.append(
            f"routes: balance_routes(plan, chiefs_per_grid=2, posts=posts, effort=0.1) — "
            f"{routes.n_routes} road chiefs, longest walk {routes.max_length / 1000:.1f} km"
        )
    notes += [f"derived {d}" for d in derived]
    assert not isinstance(staffing, str)  # "sample" was turned into a Staffing above
    ctx, facts = _build_context(plan, posts, staffing, routes, model, days, notes)
    ctx.start_weekday = int(start_ts.weekday())
    geo = facts.pop("_geo")

    children = np.random.SeedSequence(int(seed)).spawn(runs)
    keep = [i < keep_incidents for i in range(runs)]
    t1 = time.perf_counter()
    outs: list[dict[str, Any]]
    from tqdm.auto import tqdm

    if client is None:
        outs = [_run(ctx, s, k) for s, k in tqdm(list(zip(children, keep)), desc="simulate", unit="run", disable=not progress)]
        workers = 1
    else:
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        size = max(1, math.ceil(runs / (8 * workers)))
        batches = [(children[i : i + size], keep[i : i + size]) for i in range(0, runs, size)]
        [ctx_f] = client.scatter([ctx], broadcast=True)
        futures = [client.submit(_run_batch, ctx_f, b, k, pure=False) for b, k in batches]
        from dask.distributed import as_completed

        bar = tqdm(total=runs, desc="simulate", unit="run", disable=not progress)
        for f in as_completed(futures):
            bar.update(len(f.result()))
        bar.close()
        outs = [o for f in futures for o in f.result()]
    seconds_runs = time.perf_counter() - t1
    frames = [_ledger(ctx, o["cases"], i, model, geo, start_ts, plan.grids.crs) for i, o in enumerate(outs) if "cases" in o]
    if loop is not False:  # the closed loop of every kept case (gridplan._caseflow)
        loop = (model.loop or _caseflow.CaseLoop()) if loop is None else loop
        frames = [
            _caseflow.loop_simulated(
                f, loop=loop, plan=plan, routes=routes, types=model.types, start=start_ts, seed=[int(seed), i, 7123]
            )
            for i, f in enumerate(frames)
        ]
    incidents = (
        pd.concat(frames, ignore_index=True)
        if frames
        else gpd.GeoDataFrame({"run": pd.Series(dtype=int)}, geometry=gpd.GeoSeries([], crs=plan.grids.crs))
    )
    params = {
        "days": days,
        "runs": runs,
        "seed": int(seed),
        "start": str(start_ts),
        "workers": workers,
        "derived": derived,
        "model": model.params(),
        **facts,
        "seconds_runs": seconds_runs,
        "seconds": time.perf_counter() - t0,
        "plan": dict(plan.params),
        "loop": None if loop is False else loop.params(),
    }
    return SimulationResult(
        plan=plan,
        posts=posts,
        staffing=staffing,
        routes=routes,
        model=model,
        outs=outs,
        ctx=ctx,
        params=params,
        notes=notes,
        incidents=incidents,
    )


def _example_layers() -> dict[str, gpd.GeoDataFrame]:
    """A 2 km square with streets every 500 m and 300 residents' address points (for the doctests)."""
    x0, y0 = 422000.0, 2937000.0
    v = np.linspace(0, 2000, 5)
    lines = [shapely.LineString([(x0 + a, y0), (x0 + a, y0 + 2000)]) for a in v]
    lines += [shapely.LineString([(x0, y0 + a), (x0 + 2000, y0 + a)]) for a in v]
    rng = np.random.default_rng(0)
    people = gpd.GeoDataFrame(
        {"population": rng.integers(20, 300, 300)},
        geometry=shapely.points(x0 + rng.uniform(0, 2000, 300), y0 + rng.uniform(0, 2000, 300)),
        crs=4545,
    )
    return {
        "boundary": gpd.GeoDataFrame(geometry=[shapely.box(x0, y0, x0 + 2000, y0 + 2000)], crs=4545),
        "streets": gpd.GeoDataFrame(geometry=lines, crs=4545),
        "population": people,
    }
