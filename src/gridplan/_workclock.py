"""A working-time clock (工作时 / 工作日), vectorised: deadlines on a configurable calendar.

Digital city-management platforms count handling limits in working hours (工作时) and working
days (工作日): CJ/T 315-2009 ("监管案件立案、处置与结案") sets limits in working time, and the
cities' tables (e.g. 济源, S4 of :mod:`gridplan.catalogue`) give "5 工作时", "4 工作日". A
:class:`WorkCalendar` says which days are working days (weekends, public holidays, and the
make-up working days 调休 on which a weekend day is worked) and which hours of a working day are
working hours. One working day is the calendar's working minutes of one day (e.g. 8 h), so "2
working days" from Friday 15:00 on a 9-12 / 13-18 calendar ends on Tuesday 15:00.

How it works
------------
Working time is a non-decreasing function ``W(t)`` of the clock: the working minutes from a
fixed origin. Over the days spanned, ``C[d]`` is ``W`` at midnight of day ``d`` (a cumulative sum
of the minutes of every working day) and within a working day ``W`` grows piecewise linearly over
the working windows. ``W(t)`` is one array read plus the windows; the deadline of ``t + w`` is the
earliest clock time with ``W = W(t) + w``: a binary search over ``C`` (``numpy.searchsorted``) and
the inverse of the piecewise-linear day. Both are vectorised over millions of timestamps; the
day table grows until it covers the latest deadline.

Examples
--------
>>> import pandas as pd
>>> cal = WorkCalendar(hours=((9, 12), (13, 18)), holidays=["2026-10-01/2026-10-07"], workdays=["2026-10-10"])
>>> cal.add(pd.Timestamp("2026-09-30 17:00"), hours=2)[0]
Timestamp('2026-10-08 10:00:00')
>>> cal.add(pd.Timestamp("2026-10-09 15:00"), days=1)[0]  # Saturday 10 October is a make-up working day
Timestamp('2026-10-10 15:00:00')
"""

from __future__ import annotations

import datetime as _dt
import numbers
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from . import _validate
from .errors import DataError

__all__ = ["WorkCalendar"]

DAY_MIN = 1440.0
_NS_PER_MIN = 60_000_000_000
_GROW_DAYS = 366  # the day table grows by at least a year at a time


def _date(value: Any, what: str) -> _dt.date:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what}: {value!r} is not a date; write dates as 'YYYY-MM-DD' or 'YYYY-MM-DD/YYYY-MM-DD'") from exc
    if ts is pd.NaT or pd.isna(ts):
        raise DataError(f"{what}: {value!r} is not a date; write dates as 'YYYY-MM-DD'")
    if (ts.hour, ts.minute, ts.second, ts.microsecond) != (0, 0, 0, 0):
        raise DataError(f"{what}: {value!r} has a time of day; give whole dates")
    return ts.date()


def _ranges(values: Iterable[Any], what: str) -> list[tuple[_dt.date, _dt.date, str]]:
    """Dates or ranges ('a/b', (a, b)) as sorted, checked, non-overlapping (first, last, as given)."""
    if isinstance(values, (str, _dt.date)):  # one date or range given on its own
        values = [values]
    out = []
    for v in values:
        if isinstance(v, str) and "/" in v:
            a, b = v.split("/", 1)
            first, last = _date(a.strip(), what), _date(b.strip(), what)
        elif isinstance(v, (tuple, list)) and len(v) == 2:
            first, last = _date(v[0], what), _date(v[1], what)
        else:
            first = last = _date(v, what)
        if last < first:
            raise DataError(f"{what}: range {v!r} ends before it starts; write it as 'first/last'")
        out.append((first, last, str(v)))
    out.sort()
    for (_, a1, sa), (b0, _, sb) in zip(out, out[1:]):
        if b0 <= a1:
            raise DataError(f"{what}: {sa!r} and {sb!r} overlap; give every day once (merge the two ranges)")
    return out


def _windows(hours: Any) -> np.ndarray:
    """Working windows of a day as an (k, 2) array of minutes, checked and sorted."""
    if isinstance(hours, numbers.Real) and not isinstance(hours, bool):  # a length of day, not windows
        length = _validate.number(hours, "hours (working hours a day, or windows ((start, end), ...))", above=0, maximum=24)
        start = 9.0 if length <= 15 else 0.0
        hours = ((start, start + length),)
    try:
        w = np.array([[float(a), float(b)] for a, b in hours], dtype=float).reshape(-1, 2)
    except (TypeError, ValueError) as exc:
        raise DataError(f"hours must be windows ((start hour, end hour), ...), e.g. ((9, 12), (13, 18)); got {hours!r}") from exc
    if len(w) == 0 or not np.isfinite(w).all() or (w[:, 0] < 0).any() or (w[:, 1] > 24).any() or (w[:, 1] <= w[:, 0]).any():
        raise DataError(f"every working window must run from an hour to a later hour within 0-24; got {hours!r}")
    w = w[np.argsort(w[:, 0])]
    if (w[1:, 0] < w[:-1, 1]).any():
        raise DataError(f"working windows overlap: {hours!r}; give them one after another, e.g. ((9, 12), (13, 18))")
    return w * 60.0


@dataclass(frozen=True)
class WorkCalendar:
    """Which days and hours are working time: weekends, holidays, make-up working days (调休).

    Parameters
    ----------
    hours : number or sequence of (start hour, end hour)
        Working windows of every working day, e.g. ``((9, 12), (13, 18))`` (the default, 8 h: an
        assumption, set your city's hours); a number ``h`` means one window from 9:00 of ``h`` hours.
    weekend : sequence of int
        Weekdays off (Monday = 0; default Saturday and Sunday).
    holidays : sequence
        Days off: dates (``"2026-10-01"``, ``datetime.date``) or inclusive ranges
        (``"2026-10-01/2026-10-07"`` or a pair). Ranges must not overlap.
    workdays : sequence
        Make-up working days (调休): weekend dates that are worked. A date may not be both a
        holiday and a make-up day.
    name : str
        A label (e.g. the city and year) kept in :attr:`params`.

    gridplan ships no holiday list: the State Council publishes each year's, and a city adds its
    own; pass them here.

    Raises
    ------
    DataError
        Malformed or overlapping holidays, a day both holiday and make-up day, bad windows.
    """

    hours: Any = ((9.0, 12.0), (13.0, 18.0))
    weekend: Sequence[int] = (5, 6)
    holidays: Sequence[Any] = ()
    workdays: Sequence[Any] = ()
    name: str = "calendar"
    _windows: np.ndarray = field(init=False, repr=False, compare=False)
    _off: np.ndarray = field(init=False, repr=False, compare=False)
    _on: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_windows", _windows(self.hours))
        for day in self.weekend:
            _validate.integer(
                day,
                f"each day of weekend={list(self.weekend)!r} (weekday numbers, 0 = Monday to 6 = Sunday)",
                minimum=0,
                maximum=6,
            )
        holidays = _ranges(self.holidays, "holidays")
        workdays = _ranges(self.workdays, "workdays")
        off = _expand(holidays)
        on = _expand(workdays)
        both = np.intersect1d(off, on)
        if len(both):
            raise DataError(
                f"{[str(d) for d in both.astype('datetime64[D]')[:5]]} are both holidays and make-up working "
                "days; a day is one or the other"
            )
        object.__setattr__(self, "_off", off)
        object.__setattr__(self, "_on", on)

    # ------------------------------------------------------------------ facts
    @property
    def minutes_per_day(self) -> float:
        """Working minutes of one working day (one 工作日)."""
        return float((self._windows[:, 1] - self._windows[:, 0]).sum())

    @property
    def params(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "hours": [list(map(float, w)) for w in self._windows / 60.0],
            "weekend": [int(d) for d in self.weekend],
            "holidays": [str(d) for d in self._off.astype("datetime64[D]")],
            "workdays": [str(d) for d in self._on.astype("datetime64[D]")],
        }

    def is_working_day(self, dates: Any) -> np.ndarray:
        """Whether each date is a working day (vectorised)."""
        d = _days(dates)
        return self._working(d)

    def _working(self, d: np.ndarray) -> np.ndarray:
        weekday = (d + 3) % 7  # 1970-01-01 was a Thursday (3)
        work = ~np.isin(weekday, np.asarray(list(self.weekend), dtype=np.int64))
        work |= np.isin(d, self._on)
        work &= ~np.isin(d, self._off)
        return work

    # ------------------------------------------------------------------ the clock
    def _within_day(self, m: np.ndarray) -> np.ndarray:
        """Working minutes of a working day before minute-of-day ``m``."""
        s, e = self._windows[:, 0], self._windows[:, 1]
        return np.clip(m[:, None] - s[None, :], 0.0, (e - s)[None, :]).sum(axis=1)

    def _clock_of_day(self, r: np.ndarray) -> np.ndarray:
        """Earliest minute of a working day by which ``r`` (> 0) working minutes have passed."""
        s, e = self._windows[:, 0], self._windows[:, 1]
        ends = np.cumsum(e - s)
        k = np.minimum(np.searchsorted(ends, r, side="left"), len(s) - 1)
        before = np.where(k > 0, ends[np.maximum(k - 1, 0)], 0.0)
        return s[k] + (r - before)

    def _table(self, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
        """Working minutes per day and their cumulative sum at each midnight, days first..last."""
        d = np.arange(first, last + 1, dtype=np.int64)
        per_day = np.where(self._working(d), self.minutes_per_day, 0.0)
        cum = np.concatenate([[0.0], np.cumsum(per_day)])
        return per_day, cum

    def add(self, start: Any, *, hours: Any = 0.0, days: Any = 0.0, minutes: Any = 0.0) -> pd.DatetimeIndex:
        """The clock time when ``hours`` + ``days`` + ``minutes`` of working time have passed after ``start``.

        Parameters
        ----------
        start : timestamp or array of timestamps
            Start times (naive, or all in one time zone: the result is in that zone's wall clock).
            NaT stays NaT.
        hours, days, minutes : number or array
            Working time to add (broadcast against ``start``); one working day is
            :attr:`minutes_per_day`. NaN gives NaT; negative amounts are refused.

        Returns
        -------
        DatetimeIndex
            The earliest time at which the working time is used up (the end of a window rather
            than the start of the next one). A start outside working hours counts from the next
            working minute. Zero working time returns ``start``.
        """
        t = _index(start)
        tz = t.tz
        wall = t.tz_localize(None) if tz is not None else t
        amount = (
            np.asarray(hours, dtype=float) * 60.0
            + np.asarray(days, dtype=float) * self.minutes_per_day
            + np.asarray(minutes, dtype=float)
        )
        amount = np.broadcast_to(amount, (len(wall),)) if amount.ndim == 0 or len(amount) == len(wall) else amount
        if amount.shape != (len(wall),):
            raise DataError(f"working time to add has {amount.shape[0]} values for {len(wall)} start times")
        if (amount < 0).any():
            raise DataError("working time to add must be >= 0 (a deadline never lies before its start)")
        ns = wall.asi8.astype(np.int64)
        ok = (wall.notna()) & np.isfinite(amount)
        out = np.full(len(wall), np.iinfo(np.int64).min, dtype=np.int64)  # NaT
        if ok.any():
            out[ok] = self._add_ns(ns[ok], amount[ok])
        res = pd.DatetimeIndex(out.view("datetime64[ns]"))
        return res.tz_localize(tz) if tz is not None else res

    def _add_ns(self, ns: np.ndarray, amount: np.ndarray) -> np.ndarray:
        day = np.floor_divide(ns, 86_400_000_000_000)
        minute = (ns - day * 86_400_000_000_000) / _NS_PER_MIN
        first = int(day.min()) - 1
        need = float(amount.max())
        span = int(day.max()) - first + 2 + max(_GROW_DAYS, int(need / max(self.minutes_per_day, 1.0) * 2) + 14)
        while True:
            per_day, cum = self._table(first, first + span)
            if per_day.sum() == 0:
                raise DataError("the calendar has no working day in a long span (every day is weekend or holiday)")
            di = day - first
            now = cum[di] + np.where(per_day[di] > 0, self._within_day(minute), 0.0)
            target = now + amount
            if target.max() <= cum[-1]:
                break
            span *= 2
        ends = cum[1:]  # cumulative working minutes at the end of each day
        target_day = np.searchsorted(ends, target, side="left")
        rest = target - cum[target_day]
        clock = self._clock_of_day(np.maximum(rest, 1e-9))
        result_ns = (first + target_day).astype(np.int64) * 86_400_000_000_000 + np.round(clock * _NS_PER_MIN).astype(np.int64)
        # zero working time: the start itself
        return np.where(amount > 0, result_ns, ns)

    def between(self, start: Any, end: Any) -> np.ndarray:
        """Working minutes between ``start`` and ``end`` (vectorised; negative when end < start; NaN for NaT)."""
        a, b = _index(start), _index(end)
        a = a.tz_localize(None) if a.tz is not None else a
        b = b.tz_localize(None) if b.tz is not None else b
        a, b = np.broadcast_arrays(a.asi8, b.asi8)
        ok = (a != np.iinfo(np.int64).min) & (b != np.iinfo(np.int64).min)
        out = np.full(len(a), np.nan)
        if ok.any():
            both = np.concatenate([a[ok], b[ok]])
            day = np.floor_divide(both, 86_400_000_000_000)
            minute = (both - day * 86_400_000_000_000) / _NS_PER_MIN
            first = int(day.min())
            per_day, cum = self._table(first, int(day.max()))
            di = day - first
            w = cum[di] + np.where(per_day[di] > 0, self._within_day(minute), 0.0)
            n = int(ok.sum())
            out[ok] = w[n:] - w[:n]
        return out

    def __repr__(self) -> str:
        return (
            f"<WorkCalendar {self.name!r}: {self.minutes_per_day / 60:g} h a day, weekend {list(self.weekend)}, "
            f"{len(self._off)} holidays, {len(self._on)} make-up working days>"
        )


def _index(values: Any) -> pd.DatetimeIndex:
    """Timestamps as a nanosecond DatetimeIndex (a scalar as one element)."""
    if isinstance(values, (str, _dt.date, pd.Timestamp, np.datetime64)) or values is None:
        values = [values]
    try:
        idx = pd.DatetimeIndex(pd.to_datetime(values))
    except (TypeError, ValueError) as exc:
        raise DataError(f"cannot read timestamps: {exc}") from exc
    return idx.as_unit("ns")


def _days(dates: Any) -> np.ndarray:
    """Dates as int64 days since 1970-01-01."""
    idx = _index(dates)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    return np.floor_divide(idx.asi8, 86_400_000_000_000)


def _expand(ranges: list[tuple[_dt.date, _dt.date, str]]) -> np.ndarray:
    if not ranges:
        return np.zeros(0, dtype=np.int64)
    parts = [np.arange(np.datetime64(a, "D").astype(np.int64), np.datetime64(b, "D").astype(np.int64) + 1) for a, b, _ in ranges]
    return np.unique(np.concatenate(parts))
