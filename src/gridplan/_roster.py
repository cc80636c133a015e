"""Monthly duty rosters for staffed grids: rest days, fair shift rotation, leave, coverage (exact, HiGHS).

Guiding's teams work staggered early, middle and late shifts (早、中、晚错时值班). :func:`roster`
turns a :class:`~gridplan.staffing.Staffing` (who is in which grid) into a day-by-day duty roster
over weeks: every person rests ``rest_days_per_week`` days in each week and works the others
(except leave days), the early/middle/late shifts rotate fairly within every grid's team, nobody
works a late shift followed by an early one, and as many (grid, day, shift) slots as possible
have someone on duty. The article says nothing about rest days or rotation; these rules are
gridplan's defaults, configurable, and labelled as such.

Exported from :mod:`gridplan.staffing` (``gridplan.staffing.roster``).
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from . import _validate
from ._shifts import SHIFTS, _parse_unavailable
from .errors import DataError, InfeasibleError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["Roster", "roster", "REST", "LEAVE", "SHIFT_LABELS"]

REST = "rest"
LEAVE = "leave"
SHIFT_LABELS = {"early": "早", "middle": "中", "late": "晚", REST: "休", LEAVE: "假"}
"""Chinese one-character labels of the duty table (``duty_table(labels="zh")``)."""
_STATUS = {0: "optimal", 1: "time_limit", 2: "infeasible", 3: "unbounded", 4: "error"}
_SHOW = 8


def _is_staffing(obj: Any) -> bool:
    """A :class:`~gridplan.staffing.Staffing` (told by its shape: this kernel sits below staffing)."""
    return all(hasattr(obj, name) for name in ("assignments", "shifts", "model", "vacancies"))


def _people(staffing: Any) -> tuple[pd.DataFrame, tuple[str, ...], dict[str, Any]]:
    """id, grid, role of every person to roster; the shifts; the model's rules."""
    info: dict[str, Any] = {}
    if _is_staffing(staffing):
        a = pd.DataFrame(staffing.assignments.drop(columns=staffing.assignments.geometry.name))
        shifts = tuple(staffing.shifts)
        m = staffing.model
        if m.officers_split_shifts and m.officer is not None:
            info["officer"] = m.officer
        info["source"] = f"Staffing '{m.formula}'"
    elif isinstance(staffing, pd.DataFrame):
        a = pd.DataFrame(staffing)
        shifts = SHIFTS
        info["source"] = f"table of {len(a)} people"
    else:
        raise DataError(
            f"staffing must be a Staffing (from assign_staff) or a table with id, grid and role columns, "
            f"got {type(staffing).__name__}"
        )
    missing = [c for c in ("id", "grid", "role") if c not in a.columns]
    if missing:
        raise DataError(f"the staffing table lacks the columns {missing}; it needs id, grid and role")
    if len(a) == 0:
        raise DataError("there is nobody to roster: the staffing has no assigned people")
    ids = a["id"].astype(str)
    if ids.duplicated().any():
        raise DataError(f"ids repeat in the staffing: {sorted(set(ids[ids.duplicated()]))[:_SHOW]}")
    out = pd.DataFrame({"id": ids.to_numpy(), "grid": a["grid"].astype(str).to_numpy(), "role": a["role"].astype(str).to_numpy()})
    return out, shifts, info


def _leave_table(leave: Any, ids: pd.Series, dates: pd.DatetimeIndex) -> np.ndarray:
    """(P, D) bool: person on leave that day. ``leave``: {id: dates}, or a table (id, date) or (id, start, end)."""
    P, D = len(ids), len(dates)
    out = np.zeros((P, D), bool)
    if leave is None:
        return out
    pos = {v: i for i, v in enumerate(ids)}
    day = {d: j for j, d in enumerate(dates)}
    rows: list[tuple[str, pd.Timestamp]] = []
    if isinstance(leave, dict):
        for k, v in leave.items():
            vals = [v] if isinstance(v, (str, pd.Timestamp)) else list(v)
            rows += [(str(k), d) for d in vals]
    elif isinstance(leave, pd.DataFrame):
        if "id" not in leave.columns or not ({"date"} <= set(leave.columns) or {"start", "end"} <= set(leave.columns)):
            raise DataError("leave must have columns id and date (one row per day), or id, start and end")
        if "date" in leave.columns:
            rows = list(zip(leave["id"].astype(str), leave["date"]))
        else:
            for i, s, e in zip(leave["id"].astype(str), leave["start"], leave["end"]):
                try:
                    span = pd.date_range(pd.Timestamp(s).normalize(), pd.Timestamp(e).normalize(), freq="D")
                except (ValueError, TypeError) as exc:
                    raise DataError(f"leave of {i}: cannot read {s!r}..{e!r} as dates") from exc
                rows += [(i, d) for d in span]
    else:
        raise DataError(f"leave must be a dict {{id: [dates]}} or a DataFrame, got {type(leave).__name__}")
    unknown = sorted({i for i, _ in rows if i not in pos})
    if unknown:
        raise DataError(f"leave names people who are not in the staffing: {unknown[:_SHOW]}")
    for i, d in rows:
        try:
            ts = pd.Timestamp(d).normalize()
        except (ValueError, TypeError) as exc:
            raise DataError(f"leave of {i}: cannot read {d!r} as a date") from exc
        if ts in day:
            out[pos[i], day[ts]] = True
    return out


def _can_work(staffing: Any, unavailable: Any, people: pd.DataFrame, shifts: tuple[str, ...]) -> np.ndarray:
    """(P, S) bool: the person can work the shift."""
    can = np.ones((len(people), len(shifts)), bool)
    table = unavailable
    if table is None and isinstance(staffing, pd.DataFrame) and "unavailable" in staffing.columns:
        table = staffing
    if table is None:
        return can
    if not isinstance(table, pd.DataFrame) or not {"id", "unavailable"} <= set(table.columns):
        raise DataError("unavailable must be a table with columns id and unavailable (e.g. the roster given to assign_staff)")
    t = table.assign(id=table["id"].astype(str)).drop_duplicates("id").set_index("id")
    known = t.reindex(people["id"])
    ok = _parse_unavailable(known["unavailable"].reset_index(drop=True), people["id"], shifts)
    return can & ok


class Roster:
    """A duty roster over days: who works which shift, who rests, who is on leave (see :func:`roster`).

    Attributes
    ----------
    table : DataFrame
        One row per person and day: ``id``, ``grid``, ``role``, ``date``, ``week`` (1 = the first
        seven days from ``start``), ``shift`` (a shift name, ``"rest"`` or ``"leave"``).
    coverage : DataFrame
        One row per grid, day and shift: ``on_duty`` (people), ``covered``.
    fairness : DataFrame
        Per person: days per shift, ``rest``, ``leave``, ``work``, and ``late_target`` (their
        share of the late shifts of the team members who can work every shift, by working days;
        NaN for people outside the rule) with ``late_off`` (the difference).
    params : dict
        Every argument, ``status``, ``objective`` (grid-shift-days covered), ``bound``, ``gap``,
        ``seconds``, the problem size.
    notes : list of str
    """

    _TABLES = ("table", "coverage", "fairness")

    def __init__(
        self,
        table: pd.DataFrame,
        coverage: pd.DataFrame,
        fairness: pd.DataFrame,
        shifts: Sequence[str],
        params: dict[str, Any],
        notes: list[str],
    ) -> None:
        self.table = table
        self.coverage = coverage
        self.fairness = fairness
        self.shifts = tuple(shifts)
        self.params = dict(params)
        self.notes = list(notes)

    @property
    def uncovered(self) -> pd.DataFrame:
        """The (grid, date, shift) slots nobody works."""
        return self.coverage[~self.coverage["covered"]]

    def to_frame(self) -> pd.DataFrame:
        """The roster as one row per person and day (a copy of :attr:`table`)."""
        return self.table.copy()

    def summary(self) -> pd.Series:
        c = self.coverage
        f = self.fairness
        return pd.Series(
            {
                "people": int(self.table["id"].nunique()),
                "grids": int(c["grid"].nunique()),
                "days": int(self.table["date"].nunique()),
                "start": str(self.params["start"]),
                "rest_days_per_week": self.params["rest_days_per_week"],
                "slots": len(c),
                "covered": int(c["covered"].sum()),
                "covered_share": float(c["covered"].mean()),
                "leave_days": int((self.table["shift"] == LEAVE).sum()),
                "late_spread_max": float(f["late_off"].abs().max()) if len(f) else 0.0,
                "status": self.params.get("status"),
                "gap": self.params.get("gap"),
                "seconds": self.params.get("seconds"),
            },
            name="roster",
            dtype=object,
        )

    def duty_table(self, grid: str | Sequence[str] | None = None, *, labels: str = "zh") -> pd.DataFrame:
        """The printable monthly duty table: rows (grid, role, id), columns the dates (``MM-DD Ddd``).

        Cells: ``早``/``中``/``晚`` for the shifts, ``休`` rest, ``假`` leave (``labels="zh"``), or the
        shift names (``labels="en"``). Print it with ``print(r.duty_table().to_string())`` or save
        it with ``to_csv``/``to_excel``.
        """
        if labels not in ("zh", "en"):
            raise DataError(f"labels={labels!r}: use 'zh' or 'en'")
        t = self.table
        if grid is not None:
            want = [grid] if isinstance(grid, str) else list(grid)
            bad = [g for g in want if g not in set(t["grid"])]
            if bad:
                raise DataError(f"grids {bad[:_SHOW]} are not in the roster")
            t = t[t["grid"].isin(want)]
        cell = t["shift"].map(SHIFT_LABELS).fillna(t["shift"]) if labels == "zh" else t["shift"]
        col = pd.to_datetime(t["date"]).dt.strftime("%m-%d %a")
        wide = pd.DataFrame({"grid": t["grid"], "role": t["role"], "id": t["id"], "col": col, "cell": cell}).pivot(
            index=["grid", "role", "id"], columns="col", values="cell"
        )
        order = pd.to_datetime(t["date"]).drop_duplicates().sort_values().dt.strftime("%m-%d %a")
        wide = wide[list(order)]
        wide.columns.name = None
        rank = {r: i for i, r in enumerate(dict.fromkeys(self.table["role"]))}
        idx = wide.index.to_frame(index=False)
        keys = np.lexsort((idx["id"].to_numpy(), idx["role"].map(rank).to_numpy(), idx["grid"].to_numpy()))
        return wide.iloc[keys]

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<Roster {s['people']} people, {s['grids']} grids, {s['days']} days from {s['start']}: "
            f"{s['covered']}/{s['slots']} grid-shifts covered, {s['status']}, gap {float(s['gap']):.2%}>"
        )

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><th style='text-align:left'>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
            for k, v in self.summary().items()
        )
        return (
            f"<div><b>gridplan Roster</b><table>{rows}</table><details><summary>duty table</summary>"
            f"{self.duty_table().to_html(max_rows=40)}</details></div>"
        )

    def plot(self, ax: Axes | None = None, *, title: str | None = None) -> Axes:
        """The duty table as a chart: one row per person, one column per day, a colour per shift."""
        from matplotlib import colormaps
        from matplotlib.colors import ListedColormap, to_hex
        from matplotlib.patches import Patch

        from . import plot as gplot

        ax = gplot.axes(ax)
        kinds = [*self.shifts, REST, LEAVE]
        shift_colours = ["#fdae61", "#abd9e9", "#2c7bb6"]
        if len(self.shifts) > len(shift_colours):  # more shifts than named colours: a qualitative palette
            shift_colours = [to_hex(c) for c in colormaps["tab20"](np.arange(len(self.shifts)) % 20)]
        colours = [*shift_colours[: len(self.shifts)], "#f0f0f0", "#bdbdbd"]  # rest and leave stay grey
        wide = self.duty_table(labels="en")
        codes = wide.apply(lambda col: col.map({k: i for i, k in enumerate(kinds)})).to_numpy(float)
        ax.imshow(codes, aspect="auto", interpolation="nearest", cmap=ListedColormap(colours), vmin=-0.5, vmax=len(kinds) - 0.5)
        ax.set_xlabel("day")
        ax.set_ylabel("person (by grid)")
        ax.set_yticks([])
        ax.set_title(title or f"Duty roster: {self.params['days']} days from {self.params['start']}")
        ax.legend(
            handles=[Patch(color=c, label=k) for k, c in zip(kinds, colours)],
            loc="upper right",
            bbox_to_anchor=(1.0, -0.08),
            ncol=len(kinds),
            fontsize=8,
            frameon=False,
        )
        return ax

    def to_file(self, path: Any) -> Any:
        """Save to a GeoPackage (tables ``table``, ``coverage``, ``fairness``; parameters and notes)."""
        from . import _io

        frames = {}
        for name in self._TABLES:
            f = getattr(self, name).copy()
            if "date" in f.columns:
                f["date"] = pd.to_datetime(f["date"]).dt.strftime("%Y-%m-%d")
            frames[name] = _io.table_layer(f, "EPSG:4326")
        return _io.write_frames(path, "Roster", frames, {**self.params, "notes": self.notes, "shifts_saved": list(self.shifts)})

    @classmethod
    def read_file(cls, path: Any) -> Roster:
        """Load a roster saved with :meth:`to_file`."""
        from . import _io

        frames, params = _io.read_frames(path, "Roster")
        notes = params.pop("notes")
        shifts = params.pop("shifts_saved")
        tabs = {}
        for name in cls._TABLES:
            f = _io.plain_table(frames[name])
            if "date" in f.columns:
                f["date"] = pd.to_datetime(f["date"])
            tabs[name] = f
        return cls(tabs["table"], tabs["coverage"], tabs["fairness"], shifts, params, notes)


def roster(
    staffing: Any,
    *,
    start: Any,
    days: int = 30,
    rest_days_per_week: int = 1,
    leave: Any = None,
    unavailable: Any = None,
    fair_within: float = 1.0,
    no_late_then_early: bool = True,
    time_limit: float = 120.0,
    mip_gap: float = 0.0,
) -> Roster:
    """Schedule every staffed person day by day: shifts, rest days and leave, exactly (HiGHS).

    Parameters
    ----------
    staffing : Staffing or DataFrame
        From :func:`~gridplan.staffing.assign_staff` (its shifts and its officers-on-different-shifts
        rule are used), or a table with ``id``, ``grid`` and ``role``.
    start : date-like
        The first day (weeks are counted in seven-day blocks from it).
    days : int, default 30
    rest_days_per_week : int, default 1
        Rest days (休息日) of every person in every seven-day block from ``start``: exactly this many,
        the other days are working days (except leave); and any seven consecutive days (so also every
        calendar week) hold at least this many days off, rest or leave. The labour law's floor is
        one a week (《劳动法》第三十八条); the value is gridplan's default, not the article's. A last
        block of fewer than seven days
        gets ``floor(rest_days_per_week * length / 7)``.
    leave : dict or DataFrame, optional
        Leave days: ``{id: [dates]}``, a table ``id, date`` or ``id, start, end``. Leave is neither
        work nor rest: rest days are not counted as leave (《职工带薪年休假条例》第三条).
    unavailable : DataFrame, optional
        The shifts people cannot work: ``id`` and ``unavailable`` (a list or a ``";"``-separated
        string, as for :func:`~gridplan.staffing.assign_staff`; its roster can be passed as is).
        A staffing *table* with an ``unavailable`` column is read the same way.
    fair_within : float, default 1.0
        Fair rotation: in every grid's team, each person's number of days on each shift is within
        this many days of their share of the team's days on it (share = their working days over
        the team's), e.g. each person's late shifts within one of the team average. People who
        cannot work some shift (``unavailable``) are left out of this rule and of the shares.
    no_late_then_early : bool, default True
        Nobody works the last shift and then the first shift the next day (no quick return).
    time_limit : float, default 120
        Seconds for HiGHS. A result not proven optimal says so in ``params["status"]``.
    mip_gap : float, default 0
        Relative gap at which HiGHS stops (0: prove the optimum).

    Returns
    -------
    Roster
        ``.table`` has one row per person and day (``id``, ``grid``, ``role``, ``date``, ``week``,
        ``shift`` or ``"rest"`` or ``"leave"``); ``.duty_table()`` is the printable monthly table.

    Raises
    ------
    InfeasibleError
        The rest-day rule cannot hold: the people and weeks where leave leaves fewer days than the
        rest days owed (names them and says the fix), or the rotation rules admit no roster.
    DataError
        Bad ``days``, ``rest_days_per_week``, ``start``, leave dates or people, a staffing table
        without ``id``/``grid``/``role``.

    Notes
    -----
    Binary x[p, d, s] (person p works shift s on day d) for every day the person is not on leave.
    Rows: at most one shift a day; in every week block exactly (days - leave - rest) working days; in
    every seven consecutive days at most 7 - rest_days_per_week working days (so every calendar week
    has its rest day too, whatever weekday ``start`` is);
    x[p, d, last] + x[p, d + 1, first] <= 1; for every grid, shift and person
    |n_ps - share_p N_gs| <= fair_within (n_ps the person's days on the shift, N_gs the team's);
    under the officers rule at most ceil(officers / shifts) officers of a grid on one shift a day.
    Objective: the most (grid, day, shift) slots with someone on duty (z_gds <= sum_p x_pds). No rule
    links two grids, so each grid's model is solved on its own (``time_limit`` is shared) and the
    month's optimum, bound and gap are their sums.

    Examples
    --------
    >>> import pandas as pd
    >>> team = pd.DataFrame({"id": [f"p{i}" for i in range(5)], "grid": "A",
    ...                      "role": ["leader", "officer", "officer", "worker", "worker"]})
    >>> r = roster(team, start="2024-10-07", days=14)
    >>> r.params["status"], r.summary()["covered_share"]
    ('optimal', 1.0)
    >>> bool(r.table.groupby(["id", "week"])["shift"].apply(lambda s: (s == "rest").sum()).eq(1).all())
    True
    """
    t0 = time.perf_counter()
    _validate.integer(days, "days", minimum=1)
    _validate.integer(
        rest_days_per_week, "rest_days_per_week (at least one rest day a week, 《劳动法》第三十八条)", minimum=1, maximum=6
    )
    _validate.number(fair_within, "fair_within", above=0)
    _validate.number(time_limit, "time_limit (seconds)", above=0)
    _validate.number(mip_gap, "mip_gap", minimum=0, below=1)
    try:
        day0 = pd.Timestamp(start).normalize()
    except (ValueError, TypeError) as exc:
        raise DataError(f"start must be a date such as '2024-10-01', got {start!r}") from exc
    if pd.isna(day0):
        raise DataError(f"start must be a date such as '2024-10-01', got {start!r}")
    people, shifts, rules = _people(staffing)
    can = _can_work(staffing, unavailable, people, shifts)  # (P, S)
    dates = pd.date_range(day0, periods=int(days), freq="D")
    P, D, S = len(people), int(days), len(shifts)
    on_leave = _leave_table(leave, people["id"], dates)
    week = np.arange(D) // 7
    W = int(week.max()) + 1
    r = int(rest_days_per_week)
    length = np.bincount(week, minlength=W)
    rest_w = np.where(length == 7, r, (r * length) // 7)
    leave_w = np.zeros((P, W), np.int64)
    np.add.at(leave_w.T, week, on_leave.T.astype(np.int64))
    free = length[None, :] - leave_w  # days not on leave
    bad = np.argwhere(free < rest_w[None, :])
    if len(bad):
        parts = [
            f"{people['id'].iat[p]} in week {w + 1} ({dates[w * 7].date()}..{dates[min(D, w * 7 + 7) - 1].date()}: "
            f"{int(leave_w[p, w])} leave days, {int(rest_w[w])} rest days owed)"
            for p, w in bad[:_SHOW]
        ]
        raise InfeasibleError(
            f"the rest-day rule cannot hold for {len(np.unique(bad[:, 0]))} people: {'; '.join(parts)}"
            f"{' ...' if len(bad) > _SHOW else ''}. Rest days are not counted as leave (《职工带薪年休假条例》第三条): "
            "take the week's rest days out of the leave dates, or lower rest_days_per_week"
        )
    work = free - rest_w[None, :]  # (P, W) working days owed
    officer = rules.get("officer")

    # ------------------------------------------------------------------ solve, grid by grid
    # no rule links two grids (coverage, rotation and the officers' rule are per grid; rest and leave per
    # person), so the month's optimum is every grid's optimum: smaller models, solved one after another
    grid_codes, grid_of = np.unique(people["grid"].to_numpy(), return_inverse=True)
    G = len(grid_codes)
    shift_of = np.full((P, D), -1, np.int64)
    shares = np.zeros((P, S))
    free = np.zeros(P, bool)
    value = bound = 0.0
    n = n_rows = 0
    statuses = []
    deadline = time.perf_counter() + float(time_limit)
    for g in range(G):
        idx = np.flatnonzero(grid_of == g)
        out = _solve_block(
            people.iloc[idx],
            can[idx],
            on_leave[idx],
            work[idx],
            D=D,
            S=S,
            r=r,
            rules=rules,
            fair_within=float(fair_within),
            no_late_then_early=bool(no_late_then_early),
            time_limit=max(1.0, deadline - time.perf_counter()),
            mip_gap=float(mip_gap),
        )
        shift_of[idx] = out["shift_of"]
        shares[idx] = out["shares"]
        free[idx] = out["free"]
        value += out["value"]
        bound += out["bound"]
        n += out["variables"]
        n_rows += out["constraints"]
        statuses.append(out["status"])
    status = "optimal" if all(st == "optimal" for st in statuses) else "time_limit"
    gap = max(0.0, bound - value) / max(value, 1e-9)
    n_z = G * D * S

    # ------------------------------------------------------------------ the tables
    names = np.array([*shifts, REST, LEAVE], dtype=object)
    code = np.where(on_leave, S + 1, np.where(shift_of >= 0, shift_of, S))
    table = pd.DataFrame(
        {
            "id": np.repeat(people["id"].to_numpy(), D),
            "grid": np.repeat(people["grid"].to_numpy(), D),
            "role": np.repeat(people["role"].to_numpy(), D),
            "date": np.tile(dates.to_numpy(), P),
            "week": np.tile(week + 1, P),
            "shift": names[code.ravel()],
        }
    )
    on_duty = np.zeros((G, D, S), np.int64)
    pp, dd = np.nonzero(shift_of >= 0)
    np.add.at(on_duty, (grid_of[pp], dd, shift_of[pp, dd]), 1)
    coverage = pd.DataFrame(
        {
            "grid": np.repeat(grid_codes, D * S),
            "date": np.tile(np.repeat(dates.to_numpy(), S), G),
            "shift": np.tile(np.array(shifts, dtype=object), G * D),
            "on_duty": on_duty.ravel(),
        }
    )
    coverage["covered"] = coverage["on_duty"] > 0
    counts = np.stack([(code == s).sum(axis=1) for s in range(S + 2)], axis=1)
    fair = pd.DataFrame(counts, columns=[*shifts, REST, LEAVE])
    fair.insert(0, "role", people["role"].to_numpy())
    fair.insert(0, "grid", people["grid"].to_numpy())
    fair.insert(0, "id", people["id"].to_numpy())
    fair["work"] = counts[:, :S].sum(axis=1)
    late_free = np.bincount(grid_of, weights=counts[:, S - 1] * free, minlength=G)
    fair["late_target"] = np.where(free, shares[:, S - 1] * late_free[grid_of], np.nan)  # NaN: outside the rule
    fair["late_off"] = fair[shifts[-1]] - fair["late_target"]
    notes = [
        f"rest days and rotation rules are gridplan's defaults (rest_days_per_week={r}, fair_within="
        f"{fair_within:g}, no_late_then_early={no_late_then_early}); the article names the early/middle/late "
        "shifts only"
    ]
    if (~coverage["covered"]).any():
        notes.append(f"{int((~coverage['covered']).sum())} grid-shift-days have nobody on duty (see .uncovered)")
    params = {
        "start": str(day0.date()),
        "days": D,
        "rest_days_per_week": r,
        "fair_within": float(fair_within),
        "no_late_then_early": bool(no_late_then_early),
        "time_limit": float(time_limit),
        "mip_gap": float(mip_gap),
        "leave_days": int(on_leave.sum()),
        "source": rules["source"],
        "officer_rule": officer,
        "shifts": list(shifts),
        "people": P,
        "grids": G,
        "variables": n,
        "constraints": n_rows,
        "status": status,
        "objective": value,
        "bound": bound,
        "gap": gap,
        "slots": n_z,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return Roster(table, coverage, fair, shifts, params, notes)


def _solve_block(
    people: pd.DataFrame,
    can: np.ndarray,
    on_leave: np.ndarray,
    work: np.ndarray,
    *,
    D: int,
    S: int,
    r: int,
    rules: dict[str, Any],
    fair_within: float,
    no_late_then_early: bool,
    time_limit: float,
    mip_gap: float,
) -> dict[str, Any]:
    """The roster MILP for a set of people (one grid: grids share no rule, so each is solved on its own)."""
    P = len(people)
    work_total = work.sum(axis=1)
    week = np.arange(D) // 7
    W = int(week.max()) + 1
    # ------------------------------------------------------------------ variables
    grid_codes, grid_of = np.unique(people["grid"].to_numpy(), return_inverse=True)
    G = len(grid_codes)
    xid = -np.ones((P, D, S), np.int64)
    avail = ~on_leave
    n_x = int(avail.sum()) * S
    xid[np.repeat(avail[:, :, None], S, axis=2)] = np.arange(n_x)
    banned = xid[:, :, :][np.broadcast_to(~can[:, None, :], xid.shape) & (xid >= 0)]  # shifts a person cannot work
    n_z = G * D * S
    zid = n_x + np.arange(n_z).reshape(G, D, S)
    n = n_x + n_z
    rows_r: list[np.ndarray] = []
    rows_c: list[np.ndarray] = []
    rows_v: list[np.ndarray] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    n_rows = 0

    def add(r_: np.ndarray, c_: np.ndarray, v_: np.ndarray, lo_: np.ndarray, hi_: np.ndarray, count: int) -> None:
        nonlocal n_rows
        rows_r.append(n_rows + r_)
        rows_c.append(c_)
        rows_v.append(v_)
        lo.append(lo_)
        hi.append(hi_)
        n_rows += count

    # one shift a day
    pd_ = np.argwhere(avail)
    if len(pd_):
        ids = xid[pd_[:, 0], pd_[:, 1]]  # (K, S)
        k = np.repeat(np.arange(len(pd_)), S)
        add(k, ids.ravel(), np.ones(k.size), np.zeros(len(pd_)), np.ones(len(pd_)), len(pd_))
    # working days per week block
    for w in range(W):
        sel = avail[:, week == w]  # (P, len)
        dd = np.flatnonzero(week == w)
        rr, cc = [], []
        for p in range(P):
            days_p = dd[sel[p]]
            c = xid[p, days_p].ravel()
            rr.append(np.full(len(c), p))
            cc.append(c)
        rr_ = np.concatenate(rr)
        add(rr_, np.concatenate(cc), np.ones(len(rr_)), work[:, w].astype(float), work[:, w].astype(float), P)
    # every seven consecutive days hold at least r days off (rest or leave): so does every calendar week,
    # whatever weekday the roster starts on
    if D >= 7:
        for d0 in range(D - 6):
            win = np.arange(d0, d0 + 7)
            off_leave = on_leave[:, win].sum(axis=1)
            need = np.maximum(0, r - off_leave)  # rest days still needed in the window
            pp_, dd_ = np.nonzero(avail[:, win])
            cols = xid[pp_, win[dd_]].ravel()
            rows = np.repeat(pp_, S)
            add(rows, cols, np.ones(len(cols)), np.full(P, -np.inf), (7 - off_leave - need).astype(float), P)
    # no quick return
    if no_late_then_early and S >= 2 and D >= 2:
        both = avail[:, :-1] & avail[:, 1:]
        pp, dd = np.nonzero(both)
        k = np.arange(len(pp))
        add(
            np.r_[k, k],
            np.r_[xid[pp, dd, S - 1], xid[pp, dd + 1, 0]],
            np.ones(2 * len(pp)),
            np.zeros(len(pp)),
            np.ones(len(pp)),
            len(pp),
        )
    # coverage: z_gds - sum_{p in g} x_pds <= 0
    pp, dd = np.nonzero(avail)
    for s in range(S):
        add(
            np.r_[np.arange(n_z // S), grid_of[pp] * D + dd],
            np.r_[zid[:, :, s].ravel(), xid[pp, dd, s]],
            np.r_[np.ones(n_z // S), -np.ones(len(pp))],
            np.full(n_z // S, -np.inf),
            np.zeros(n_z // S),
            n_z // S,
        )
    # officers on different shifts
    officer = rules.get("officer")
    if officer is not None:
        is_off = people["role"].to_numpy() == officer
        n_off = np.bincount(grid_of[is_off], minlength=G)
        cap = np.ceil(n_off / S).astype(int)
        tight = n_off > cap
        if tight.any():
            po, do = np.nonzero(avail & is_off[:, None] & tight[grid_of][:, None])
            for s in range(S):
                add(
                    grid_of[po] * D + do,
                    xid[po, do, s],
                    np.ones(len(po)),
                    np.full(G * D, -np.inf),
                    np.repeat(cap, D).astype(float),
                    G * D,
                )
    # fair rotation: |n_ps - share_p * N_gs| <= fair_within
    # among the people who can work every shift (the others' shifts are set by what they cannot work)
    free = can.all(axis=1)
    shares = np.zeros((P, S))
    for s in range(S):
        team_work = np.bincount(grid_of, weights=work_total * free, minlength=G)
        shares[:, s] = np.where(free & (team_work[grid_of] > 0), work_total / np.maximum(team_work[grid_of], 1), 0)
        share = shares[:, s]
        rr, cc, vv = [], [], []
        for row, p in enumerate(np.flatnonzero(free).tolist()):
            mates = np.flatnonzero((grid_of == grid_of[p]) & free)
            mine = xid[p, avail[p], s]
            coef = {int(c): 1.0 for c in mine}
            for q in mates:
                for c in xid[q, avail[q], s]:
                    coef[int(c)] = coef.get(int(c), 0.0) - share[p]
            rr.append(np.full(len(coef), row))
            cc.append(np.fromiter(coef.keys(), np.int64, len(coef)))
            vv.append(np.fromiter(coef.values(), float, len(coef)))
        if rr:
            add(
                np.concatenate(rr),
                np.concatenate(cc),
                np.concatenate(vv),
                np.full(len(rr), -float(fair_within)),
                np.full(len(rr), float(fair_within)),
                len(rr),
            )

    a = sparse.csr_matrix((np.concatenate(rows_v), (np.concatenate(rows_r), np.concatenate(rows_c))), shape=(n_rows, n))
    c = np.r_[np.zeros(n_x), -np.ones(n_z)]
    integrality = np.r_[np.ones(n_x), np.zeros(n_z)]
    ub = np.ones(n)
    ub[banned] = 0.0
    res = milp(
        c,
        constraints=[LinearConstraint(a, np.concatenate(lo), np.concatenate(hi))],
        integrality=integrality,
        bounds=Bounds(0, ub),
        options={"disp": False, "time_limit": float(time_limit), "mip_rel_gap": max(float(mip_gap), 1e-12)},
    )
    status = _STATUS.get(int(res.status), str(res.status))
    if res.x is None:
        if status == "infeasible":
            raise InfeasibleError(
                f"grid {people['grid'].iat[0]}: no roster meets the rotation rules (fair_within={fair_within:g}, "
                f"no_late_then_early={no_late_then_early}, officers on different shifts, shifts people cannot work) "
                f"with {r} rest days "
                "in every week block and in every seven consecutive days: raise fair_within, set "
                "no_late_then_early=False, or move leave dates"
            )
        raise InfeasibleError(f"HiGHS found no roster within time_limit={time_limit:g} s ({status}); raise time_limit")
    value = float(-res.fun)
    dual = getattr(res, "mip_dual_bound", None)
    bound = float(-dual) if dual is not None and np.isfinite(dual) else (value if status == "optimal" else float(n_z))
    bound = max(bound, value)
    gap = max(0.0, bound - value) / max(value, 1e-9)
    if status == "optimal" and gap > max(float(mip_gap), 1e-4) + 1e-9:
        status = "time_limit"

    x = res.x
    shift_of = np.full((P, D), -1, np.int64)
    for s in range(S):
        on = np.zeros((P, D), bool)
        on[avail] = x[xid[avail][:, s]] > 0.5
        shift_of[on] = s
    return {
        "shift_of": shift_of,
        "shares": shares,
        "free": free,
        "value": value,
        "bound": bound,
        "status": status,
        "variables": n,
        "constraints": n_rows,
    }
