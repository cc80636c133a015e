"""The closed loop of a case (CJJ/T 106): report → file → dispatch → handle → feed back → verify → close.

Digital city management runs every case through one loop (CJJ/T 106-2010, 城市市政综合监管信息
系统技术规范; the steps as a county's rules list them: 信息收集、案卷建立、任务派遣、任务处理、处理反馈、
核实结案、综合评价): a report is **filed** (立案) by the command centre when it meets the filing
standard, **dispatched** (派遣) to the responsible department, **handled** (处置), the handler
**feeds back** (反馈), a supervisor (监督员) **verifies** on site (核查; a failed check sends it back:
rework, 返工) and the centre **closes** it (结案). Escalation follows Leshan's "网格发现、社区吹哨、
城管报到" (seed 002): the grid handles first; a level that cannot close the case within its
allowance "blows the whistle" and the next level (community, then the city-management squad or
department) takes it over after its response time.

:func:`close_loop` adds these steps to the cases of a simulation (or any table with report
times, categories and places); :class:`CaseLoop`, :class:`HandlingChain` and
:class:`Supervisors` hold the parameters. **Every default number here is an assumption** of
gridplan (labelled in ``params``), not a figure of the standards or the seed articles: set
yours, or fit them to a ledger (:meth:`gridplan.simulate.IncidentModel.fit`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._speeds import PATROL_WALK_M_PER_MIN
from .catalogue import (
    RULE_7123,
    Catalogue,
    DeadlineRule,
    WorkCalendar,
    deadlines,
    load_catalogue,
)
from .errors import DataError

_NONE = np.array(None, dtype=object)  # None as a 0-d array, for elementwise np.equal on object arrays

__all__ = ["LEDGER_STEPS", "CaseLoop", "HandlingChain", "Supervisors", "close_loop", "synthetic_ledger"]

LEDGER_STEPS = ("reported", "filed", "dispatched", "handled", "feedback", "verified", "closed")
"""The time-stamped steps of a case, in order."""
SEVERITIES = ("small", "larger", "hard")
DAY = 1440.0


def _gamma(rng: np.random.Generator, mean_shape: Any, n: int) -> np.ndarray:
    """Gamma draws of the given (mean, shape) (a mean of 0 gives zeros)."""
    mean, shape = float(mean_shape[0]), float(mean_shape[1])
    if mean <= 0:
        return np.zeros(n)
    return rng.gamma(shape, mean / shape, n)


def _check_mean_shape(value: Any, name: str) -> None:
    ok = (
        isinstance(value, (tuple, list))
        and len(value) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    )
    if not ok or value[0] < 0 or value[1] <= 0:
        raise DataError(f"{name} must be (mean >= 0, shape > 0), got {value!r}")


@dataclass(frozen=True)
class HandlingChain:
    """Who handles a case and when it escalates: grid → community → squad/department.

    Parameters
    ----------
    levels : tuple of str
        The levels in order (default ``("grid", "community", "squad")``: 网格发现、社区吹哨、城管报到).
    allowance_h : mapping
        Hours a level may take before it escalates (every level but the last). Default grid 24 h,
        community 48 h (the "1" and "2" of "7123").
    hop_min : mapping
        Level → (mean, gamma shape) minutes until it takes over an escalated case (its response
        or travel time). Default community 60, squad 120 minutes (assumption).
    handling_h : mapping
        Level → severity → (mean, shape) hours of handling at that level. The grid's handling in a
        simulation is the simulation's own (face to face, then on-site or follow-up); these
        apply outside a simulation and at the higher levels. Defaults are assumptions.
    """

    levels: tuple[str, ...] = ("grid", "community", "squad")
    allowance_h: Mapping[str, float] = field(default_factory=lambda: {"grid": 24.0, "community": 48.0})
    hop_min: Mapping[str, tuple[float, float]] = field(default_factory=lambda: {"community": (60.0, 2.0), "squad": (120.0, 2.0)})
    handling_h: Mapping[str, Mapping[str, tuple[float, float]]] = field(
        default_factory=lambda: {
            "grid": {"small": (6.0, 2.0), "larger": (30.0, 2.0), "hard": (80.0, 3.0)},
            "community": {"small": (4.0, 2.0), "larger": (16.0, 2.0), "hard": (40.0, 3.0)},
            "squad": {"small": (3.0, 2.0), "larger": (8.0, 2.0), "hard": (24.0, 3.0)},
        }
    )

    def __post_init__(self) -> None:
        if len(self.levels) < 1 or len(set(self.levels)) != len(self.levels):
            raise DataError(f"levels must be distinct level names, got {self.levels!r}")
        for lv in self.levels[:-1]:
            a = self.allowance_h.get(lv)
            if a is None or not (isinstance(a, (int, float)) and a > 0):
                raise DataError(f"allowance_h needs a positive number of hours for level {lv!r} (every level but the last)")
        for lv in self.levels[1:]:
            _check_mean_shape(self.hop_min.get(lv), f"hop_min[{lv!r}]")
        for lv in self.levels:
            for sev in SEVERITIES:
                _check_mean_shape(self.handling_h.get(lv, {}).get(sev), f"handling_h[{lv!r}][{sev!r}]")

    def run(
        self, start: np.ndarray, severity: np.ndarray, rng: np.random.Generator, first: np.ndarray | None = None
    ) -> dict[str, np.ndarray]:
        """Handle cases from ``start`` (minutes): handled time, final level, escalations, first whistle.

        ``first``: handling minutes at the first level (e.g. the simulation's own); NaN → drawn.
        """
        n = len(start)
        t = start.astype(float).copy()
        dur = np.full(n, np.nan) if first is None else first.astype(float).copy()
        need = ~np.isfinite(dur)
        if need.any():
            dur[need] = self._draw(self.levels[0], severity[need], rng)
        level = np.zeros(n, dtype=np.int64)
        handled = np.full(n, np.nan)
        escalations = np.zeros(n, dtype=np.int64)
        whistle = np.full(n, np.nan)
        active = np.isfinite(t)
        for i, lv in enumerate(self.levels):
            here = active & (level == i)
            allowance = self.allowance_h.get(lv, np.inf) * 60.0 if i < len(self.levels) - 1 else np.inf
            ok = here & (dur <= allowance)
            handled[ok] = t[ok] + dur[ok]
            up = here & ~ok
            if not up.any():
                continue
            nxt = self.levels[i + 1]
            gave_up = t[up] + allowance
            whistle[up] = np.where(np.isnan(whistle[up]), gave_up, whistle[up])
            t[up] = gave_up + _gamma(rng, self.hop_min[nxt], int(up.sum()))
            dur[up] = self._draw(nxt, severity[up], rng)
            level[up] = i + 1
            escalations[up] += 1
        return {"handled": handled, "level": level, "escalations": escalations, "whistle": whistle}

    def _draw(self, level: str, severity: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = np.empty(len(severity))
        for k, sev in enumerate(SEVERITIES):
            sel = severity == k
            if sel.any():
                out[sel] = _gamma(rng, self.handling_h[level][sev], int(sel.sum())) * 60.0
        return out

    def params(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items()}


@dataclass(frozen=True)
class Supervisors:
    """Supervisors (监督员) on beats: they find visible problems and verify handled cases.

    A beat is ``grids_per_beat`` grids in code order, walked in a loop at ``speed_m_per_min``
    over the grids' swept streets during ``shift`` (start hour, end hour); a supervisor passes a
    given point once per loop, at a random phase. Every number is an assumption.
    """

    grids_per_beat: int = 3
    speed_m_per_min: float = PATROL_WALK_M_PER_MIN
    shift: tuple[float, float] = (8.0, 20.0)
    discover: bool = True
    notice_min: float = 5.0

    def __post_init__(self) -> None:
        if not (isinstance(self.grids_per_beat, int) and self.grids_per_beat >= 1):
            raise DataError(f"grids_per_beat must be an integer >= 1, got {self.grids_per_beat!r}")
        if not self.speed_m_per_min > 0:
            raise DataError(f"speed_m_per_min must be > 0, got {self.speed_m_per_min!r}")
        a, b = self.shift
        if not (0 <= a < b <= 24):
            raise DataError(f"shift must be (start hour, end hour) within one day, got {self.shift!r}")

    def beats(self, grid_codes: Sequence[str]) -> dict[str, int]:
        codes = sorted(set(map(str, grid_codes)))
        return {c: i // self.grids_per_beat for i, c in enumerate(codes)}

    def next_visit(
        self, t: np.ndarray, beat: np.ndarray, loop_min: np.ndarray, phase: np.ndarray, where: np.ndarray
    ) -> np.ndarray:
        """First clock minute >= t at which the beat's supervisor passes ``where`` (a share of the loop)."""
        start, length = self.shift[0] * 60.0, (self.shift[1] - self.shift[0]) * 60.0
        period = loop_min[beat]
        k = np.floor((t - start) / DAY)
        within = t - start - k * DAY
        tau = k * length + np.minimum(within, length)  # on-duty minutes by t
        with np.errstate(invalid="ignore", divide="ignore"):
            wait = np.mod(where * period - (phase[beat] * period + tau), period)
            tau2 = tau + wait
            k2 = np.floor(tau2 / length)
            r = tau2 - k2 * length
        out = k2 * DAY + start + r
        return np.where(np.isfinite(period) & (period > 0), np.maximum(out, t), np.inf)


@dataclass(frozen=True)
class CaseLoop:
    """Parameters of the closed loop (every default is an assumption of gridplan; see the module docstring).

    Parameters
    ----------
    not_filed : mapping
        Source → share of its reports that are not filed (below the filing standard, duplicates);
        ``"default"`` for the others.
    filing_min, dispatch_min, feedback_min, closing_min : (mean, shape)
        Gamma minutes from report to filing, filing to dispatch, handling to the handler's
        feedback, verification to closing.
    verify_min : (mean, shape)
        Minutes from feedback to verification when no supervisors walk beats.
    rework_share : float
        Share of verifications that fail (返工); the case goes back to its handler.
    rework_h : (mean, shape)
        Hours of handling again after a failed verification.
    max_rework : int
        Verifications after which a case is closed anyway (with the reason).
    chain : HandlingChain
    supervisors : Supervisors or None
    catalogue : Catalogue, optional
        For the category, department and deadline (default :func:`~gridplan.catalogue.load_catalogue`).
    calendar : WorkCalendar, optional
        Working time for the deadlines (default: calendar days, the "7123" rule as written).
    rule : DeadlineRule
    snapshot_days : float, optional
        Cut the ledger this many days after the period's start: later steps are blank and the
        case is "open at the snapshot" (default: the full history of every case).
    """

    not_filed: Mapping[str, float] = field(
        default_factory=lambda: {"default": 0.08, "patrol": 0.02, "grid_staff": 0.02, "supervisor": 0.02}
    )
    filing_min: tuple[float, float] = (10.0, 2.0)
    dispatch_min: tuple[float, float] = (15.0, 2.0)
    feedback_min: tuple[float, float] = (30.0, 2.0)
    verify_min: tuple[float, float] = (120.0, 2.0)
    closing_min: tuple[float, float] = (30.0, 2.0)
    rework_share: float = 0.08
    rework_h: tuple[float, float] = (4.0, 2.0)
    max_rework: int = 3
    chain: HandlingChain = field(default_factory=HandlingChain)
    supervisors: Supervisors | None = field(default_factory=Supervisors)
    catalogue: Catalogue | None = None
    calendar: WorkCalendar | None = None
    rule: DeadlineRule = RULE_7123
    snapshot_days: float | None = None

    def __post_init__(self) -> None:
        for name in ("filing_min", "dispatch_min", "feedback_min", "verify_min", "closing_min", "rework_h"):
            _check_mean_shape(getattr(self, name), name)
        bad = {k: v for k, v in self.not_filed.items() if not (isinstance(v, (int, float)) and 0 <= v <= 1)}
        if bad or "default" not in self.not_filed:
            raise DataError(f"not_filed must map sources (and 'default') to shares in [0, 1]; bad: {bad}")
        if not 0 <= self.rework_share < 1:
            raise DataError(f"rework_share must be in [0, 1), got {self.rework_share!r}")
        if not (isinstance(self.max_rework, int) and self.max_rework >= 0):
            raise DataError(f"max_rework must be an integer >= 0, got {self.max_rework!r}")

    def params(self) -> dict[str, Any]:
        return {
            "assumption": "every number of the closed loop is gridplan's assumption unless fitted to a ledger",
            "not_filed": dict(self.not_filed),
            "filing_min": list(self.filing_min),
            "dispatch_min": list(self.dispatch_min),
            "feedback_min": list(self.feedback_min),
            "verify_min": list(self.verify_min),
            "closing_min": list(self.closing_min),
            "rework_share": self.rework_share,
            "rework_h": list(self.rework_h),
            "max_rework": self.max_rework,
            "chain": self.chain.params(),
            "supervisors": None if self.supervisors is None else asdict(self.supervisors),
            "calendar": None if self.calendar is None else self.calendar.params,
            "rule": {
                "mode": self.rule.mode,
                "levels": {k: list(v) for k, v in self.rule.levels.items()},
                "respond_min": self.rule.respond_min,
            },
            "snapshot_days": self.snapshot_days,
        }


def _minutes(ts: pd.Series, start: pd.Timestamp) -> np.ndarray:
    v = (pd.to_datetime(ts) - start) / pd.Timedelta(minutes=1)
    return v.to_numpy(dtype=float, na_value=np.nan)


def _stamp(m: np.ndarray, start: pd.Timestamp) -> pd.Series:
    return pd.Series(pd.to_datetime(np.where(np.isfinite(m), m, np.nan), unit="m", origin=start))


def close_loop(
    ledger: pd.DataFrame,
    *,
    loop: CaseLoop,
    start: pd.Timestamp,
    seed: Any,
    grid_street_km: Mapping[str, float] | None = None,
    visible: np.ndarray | None = None,
    streets: Any = None,
    subdistricts: Mapping[str, str] | None = None,
    categories: Any = None,
    first_handling_min: np.ndarray | None = None,
) -> pd.DataFrame:
    """The ledger with the closed loop's columns added (see the module docstring).

    Parameters
    ----------
    ledger : DataFrame
        One row per case with ``occurred`` and ``discovered`` (timestamps; NaT: never found),
        ``source``, ``severity`` (small / larger / hard), ``grid`` and ``community``; optionally
        ``arrived`` (face to face).
    loop : CaseLoop
    start : Timestamp
        Start of the period (origin of the minutes).
    seed : int, sequence or SeedSequence
    grid_street_km : mapping, optional
        Swept street km per grid (the supervisors' beats); without it supervisors do not walk.
    visible : array of bool, optional
        Which cases a supervisor can see from the street (default all).
    streets : GeoDataFrame of lines, optional
        With a ``street`` column: the nearest street of every case becomes its ``street``.
    subdistricts : mapping community → subdistrict, optional
    categories : array, optional
        Category of each case (default: the ledger's ``type`` through the catalogue).
    first_handling_min : array, optional
        Minutes the grid takes to handle each case (the simulation's own); NaN → drawn.

    Returns
    -------
    DataFrame
        ``ledger`` plus ``category_id``, ``category_name``, ``department``, ``subdistrict``,
        ``street`` (when ``streets``), the steps :data:`LEDGER_STEPS` (NaT where the case stopped
        earlier), ``deadline``, ``on_time``, ``handled_by``, ``escalations``, ``whistle``,
        ``rework``, ``stop_reason`` (why a case has no ``closed``, else missing) and the possibly
        updated ``source`` (``"supervisor"`` when a supervisor found it first).
    """
    rng = np.random.default_rng(seed)
    out = ledger.copy()
    n = len(out)
    catalogue = loop.catalogue if loop.catalogue is not None else load_catalogue()
    occurred = _minutes(out["occurred"], start)
    reported = _minutes(out["discovered"], start)
    source = out["source"].astype(object).to_numpy()
    sev = pd.Categorical(out["severity"], categories=list(SEVERITIES)).codes.astype(np.int64)
    if (sev < 0).any():
        raise DataError(f"severity must be one of {SEVERITIES}; other values in rows {np.flatnonzero(sev < 0)[:5].tolist()}")
    grid = out["grid"].astype(str).to_numpy()
    seen = np.ones(n, bool) if visible is None else np.asarray(visible, dtype=bool)

    # ---- supervisors on beats: find visible problems first, verify handled ones
    street_km = dict(grid_street_km or {})
    sup = loop.supervisors if street_km else None
    if sup is not None:
        beat_of = sup.beats(list(street_km))
        n_beats = max(beat_of.values()) + 1
        km = np.zeros(n_beats)
        for g, b in beat_of.items():
            km[b] += float(street_km[g])
        loop_min = km * 1000.0 / sup.speed_m_per_min
        phase = rng.random(n_beats)
        beat = np.array([beat_of.get(g, -1) for g in grid], dtype=np.int64)
        where = rng.random(n)
        walks = beat >= 0
        if sup.discover:
            cand = walks & seen & np.isfinite(occurred)
            found = np.full(n, np.inf)
            found[cand] = sup.next_visit(occurred[cand], beat[cand], loop_min, phase, where[cand]) + _gamma(
                rng, (sup.notice_min, 2.0), int(cand.sum())
            )
            first = found < np.where(np.isfinite(reported), reported, np.inf)
            reported = np.where(first, found, reported)
            source = np.where(first, "supervisor", source)
    # ---- filing
    p_not = np.array([loop.not_filed.get(s, loop.not_filed["default"]) for s in source])
    is_reported = np.isfinite(reported)
    filed_ok = is_reported & (rng.random(n) >= p_not)
    filed = np.where(filed_ok, reported + _gamma(rng, loop.filing_min, n), np.nan)
    dispatched = np.where(filed_ok, filed + _gamma(rng, loop.dispatch_min, n), np.nan)
    # ---- category, department, deadline
    cats = out["type"].to_numpy(dtype=object) if categories is None else np.asarray(categories, dtype=object)
    disp = _stamp(dispatched, start)
    dl = deadlines(
        disp.to_numpy(),
        cats,
        severity=np.asarray(SEVERITIES, dtype=object)[sev],
        catalogue=catalogue,
        calendar=loop.calendar,
        rule=loop.rule,
    )
    # ---- handling with escalation: the grid first (the simulation's handling), then up the chain
    begin = dispatched.copy()
    if "arrived" in out.columns:
        arrived = _minutes(out["arrived"], start)
        begin = np.where(np.isfinite(arrived), np.maximum(dispatched, arrived), dispatched)
    chain = loop.chain.run(begin, sev, rng, first=first_handling_min)
    handled = np.where(filed_ok, chain["handled"], np.nan)
    # ---- feedback, verification (rework), closing
    feedback = handled + _gamma(rng, loop.feedback_min, n)
    verified = np.full(n, np.nan)
    rework = np.zeros(n, dtype=np.int64)
    pending = np.isfinite(feedback)
    t_fb = feedback.copy()
    for round_ in range(loop.max_rework + 1):
        if not pending.any():
            break
        idx = np.flatnonzero(pending)
        if sup is not None:
            v = sup.next_visit(t_fb[idx], np.maximum(beat[idx], 0), loop_min, phase, where[idx])
            v = np.where(beat[idx] >= 0, v, t_fb[idx] + _gamma(rng, loop.verify_min, len(idx)))
        else:
            v = t_fb[idx] + _gamma(rng, loop.verify_min, len(idx))
        verified[idx] = v
        fail = rng.random(len(idx)) < loop.rework_share
        if round_ == loop.max_rework:
            fail[:] = False
        again = idx[fail]
        rework[again] += 1
        redo = v[fail] + _gamma(rng, loop.rework_h, len(again)) * 60.0
        handled[again] = redo
        t_fb[again] = redo + _gamma(rng, loop.feedback_min, len(again))
        feedback[again] = t_fb[again]
        pending = np.zeros(n, bool)
        pending[again] = True
    closed = verified + _gamma(rng, loop.closing_min, n)
    # ---- stop reasons and the snapshot cut
    reason = np.full(n, None, dtype=object)
    reason[~is_reported] = "not reported in the period"
    reason[is_reported & ~filed_ok] = "not filed: below the filing standard or a duplicate"
    capped = filed_ok & (rework >= loop.max_rework) & (loop.max_rework > 0)
    steps = {
        "reported": reported,
        "filed": filed,
        "dispatched": dispatched,
        "handled": handled,
        "feedback": feedback,
        "verified": verified,
        "closed": closed,
    }
    if loop.snapshot_days is not None:
        cut = float(loop.snapshot_days) * DAY
        late = np.zeros(n, bool)
        for name in LEDGER_STEPS:
            after = steps[name] > cut
            if name != "reported":
                reason[after & ~late & np.equal(reason, _NONE)] = f"open at the snapshot (not yet {name})"
            late |= after
            steps[name] = np.where(late, np.nan, steps[name])
        reason[np.isnan(steps["reported"]) & is_reported] = "reported after the snapshot"
    out["reported_by"] = pd.array(source, dtype=object)  # the ledger's source, or "supervisor" when one found it first
    out["category_id"] = dl["category_id"].to_numpy()
    out["category_name"] = catalogue.column(dl["category_id"].to_numpy(dtype=object, na_value=None), "minor_name")
    out["department"] = dl["department"].to_numpy()
    if subdistricts is not None:
        out["subdistrict"] = out["community"].astype(str).map(dict(subdistricts)).to_numpy(dtype=object)
    if streets is not None and len(out):
        out["street"] = _nearest_street(out, streets)
    for name in LEDGER_STEPS:
        out[name] = _stamp(steps[name], start).to_numpy()
    out["deadline"] = np.where(np.isfinite(steps["dispatched"]), dl["deadline"].to_numpy(), np.datetime64("NaT"))
    on_time = pd.array(
        steps["handled"] <= np.where(np.isfinite(steps["dispatched"]), _minutes(out["deadline"], start), np.nan), dtype="boolean"
    )
    on_time[~np.isfinite(steps["dispatched"])] = pd.NA  # never dispatched: no deadline
    out["on_time"] = on_time
    out["handled_by"] = np.where(np.isfinite(steps["handled"]), np.asarray(loop.chain.levels, dtype=object)[chain["level"]], None)
    out["escalations"] = np.where(filed_ok, chain["escalations"], 0)
    out["whistle"] = _stamp(np.where(filed_ok, chain["whistle"], np.nan), start).to_numpy()
    out["rework"] = rework
    closed_ok = np.isfinite(steps["closed"])
    reason[closed_ok & capped] = None
    nothing = np.empty((), dtype=object)  # None, kept as one object by np.where
    out["stop_reason"] = pd.array(np.where(closed_ok, nothing, reason), dtype="string")
    out["closing_note"] = pd.array(
        np.where(closed_ok & capped, f"closed after {loop.max_rework} reworks", nothing), dtype="string"
    )
    return out


def _nearest_street(frame: pd.DataFrame, streets: Any) -> np.ndarray:
    import shapely

    geoms = np.asarray(frame.geometry.values)
    lines = np.asarray(streets.geometry.values)
    ids = streets["street"].astype(str).to_numpy(dtype=object) if "street" in streets else streets.index.astype(str).to_numpy()
    tree = shapely.STRtree(lines)
    ok = ~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)
    out = np.full(len(frame), None, dtype=object)
    if ok.any():
        pi, li = tree.query_nearest(geoms[ok], all_matches=False)
        out[np.flatnonzero(ok)[pi]] = ids[li]
    return out


# ============================================================================ a synthetic ledger (tests, benchmarks)
def synthetic_ledger(
    n: int,
    *,
    seed: int = 0,
    grids: int = 60,
    days: int = 365,
    start: str = "2026-01-01",
    loop: CaseLoop | None = None,
    types: Sequence[str] | None = None,
) -> pd.DataFrame:
    """A plain-DataFrame ledger of ``n`` cases with the closed loop (no geometry): for benchmarks and tests.

    Cases arrive uniformly over ``days``, in ``grids`` grids (4 per community, 5 communities per
    subdistrict), of gridplan's default types, found after an exponential hour. **Synthetic**:
    not a real ledger.
    """
    from .catalogue import TYPE_CATEGORIES

    rng = np.random.default_rng(seed)
    start_ts = pd.Timestamp(start)
    types = list(TYPE_CATEGORIES) if types is None else list(types)
    g = rng.integers(0, grids, n)
    occurred = np.sort(rng.random(n) * days * DAY)
    frame = pd.DataFrame(
        {
            "type": np.asarray(types, dtype=object)[rng.integers(0, len(types), n)],
            "source": np.asarray(["hotline_12345", "patrol", "grid_staff", "photo_app"], dtype=object)[rng.integers(0, 4, n)],
            "severity": np.asarray(SEVERITIES, dtype=object)[rng.choice(3, n, p=[0.8, 0.17, 0.03])],
            "grid": np.char.add("G", np.char.zfill(g.astype(str), 3)).astype(object),
            "community": np.char.add("C", np.char.zfill((g // 4).astype(str), 2)).astype(object),
            "occurred": _stamp(occurred, start_ts).to_numpy(),
            "discovered": _stamp(occurred + rng.exponential(60.0, n), start_ts).to_numpy(),
        }
    )
    subs = {f"C{c:02d}": f"S{c // 5}" for c in range(grids // 4 + 1)}
    km = {f"G{i:03d}": 8.0 for i in range(grids)}
    return close_loop(frame, loop=loop or CaseLoop(), start=start_ts, seed=seed, grid_street_km=km, subdistricts=subs)


def loop_simulated(
    frame: pd.DataFrame, *, loop: CaseLoop, plan: Any, routes: Any, types: pd.DataFrame, start: pd.Timestamp, seed: Any
) -> pd.DataFrame:
    """:func:`close_loop` on one run's ledger of :func:`gridplan.simulate.simulate`.

    The grid's handling is the simulation's own (from face to face to resolved); supervisors walk
    beats over the grids' swept streets (``routes.edges``); the street of a case is the nearest
    swept street; subdistricts come from the plan's units.
    """
    edges = routes.edges
    swept = edges[edges["route"].notna() & (edges["route"].astype(float) >= 0)] if "route" in edges else edges
    km = (swept.groupby(swept["grid"].astype(str))["length"].sum() / 1000.0).to_dict() if "grid" in swept else {}
    units = plan.units
    subs = (
        dict(zip(units["community"].astype(str), units["subdistrict"].astype(str)))
        if "community" in units and "subdistrict" in units
        else None
    )
    visible = frame["type"].map(types["visible"]).fillna(True).to_numpy(dtype=bool)
    first = (_minutes(frame["resolved"], start) - _minutes(frame["arrived"], start)) if "resolved" in frame else None
    return close_loop(
        frame,
        loop=loop,
        start=start,
        seed=seed,
        grid_street_km=km,
        visible=visible,
        streets=swept if "street" in swept else None,
        subdistricts=subs,
        first_handling_min=first,
    )
