"""Report times as the district's local wall-clock time (private).

Incidents arrive with times in every shape: naive strings (local time), strings
with an offset (``"2026-03-02T08:00:00+08:00"``, ``"...Z"``), time-zone-aware
columns, a mix of these, and rubbish. :func:`local_times` turns them into naive
``datetime64[ns]`` in the district's zone (Asia/Shanghai unless told), converts
zoned times instead of guessing, and gives every time it cannot read a reason
instead of a silent blank.

Examples
--------
>>> t, why, converted = local_times(pd.Series(["2026-03-02 08:00", "2026-03-02T00:00:00Z", "soon", None]))
>>> [str(v) for v in t], list(why), converted
(['2026-03-02 08:00:00', '2026-03-02 08:00:00', 'NaT', 'NaT'], ['', '', "unparseable time 'soon'", 'missing time'], 1)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = ["DEFAULT_TIMEZONE", "check_timezone", "local_times"]

DEFAULT_TIMEZONE = "Asia/Shanghai"
"""Zone of naive times and target of zoned ones (China Standard Time, UTC+8, no daylight saving)."""


def check_timezone(tz: Any) -> str:
    """A time zone name pandas understands (e.g. ``"Asia/Shanghai"``, ``"Asia/Urumqi"``, ``"UTC"``)."""
    if not isinstance(tz, str) or not tz:
        raise DataError(f"timezone must be a zone name such as 'Asia/Shanghai', got {tz!r}")
    try:
        pd.Timestamp("2026-01-01").tz_localize(tz)
    except (KeyError, ValueError, TypeError, OSError):  # zoneinfo/pytz: unknown zone (KeyError subclasses)
        raise DataError(f"unknown timezone {tz!r}; use an IANA zone name such as 'Asia/Shanghai' or 'UTC'") from None
    return tz


def _one(value: Any, tz: str) -> tuple[Any, str, bool]:
    """(naive local Timestamp or NaT, reason, converted from another zone) of one value."""
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
        return pd.NaT, "missing time", False
    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
        return pd.NaT, f"unparseable time {value!r} (a number, not a date)", False
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError, pd.errors.OutOfBoundsDatetime):
        text = str(value)
        return pd.NaT, f"unparseable time {text[:40]!r}", False
    if ts is pd.NaT:
        return pd.NaT, "missing time", False
    zoned = ts.tzinfo is not None
    if zoned:
        ts = ts.tz_convert(tz).tz_localize(None)
    if not pd.Timestamp.min <= ts <= pd.Timestamp.max:
        return pd.NaT, f"time out of range {str(value)[:40]!r} (years 1677-2262)", False
    return ts, "", zoned


def local_times(values: Any, tz: str = DEFAULT_TIMEZONE) -> tuple[pd.DatetimeIndex, np.ndarray, int]:
    """Naive local times of ``values``, a reason per value ("" when fine) and how many were converted from a zone.

    Naive values are taken as local time in ``tz``; values with a zone or offset are converted
    to ``tz``; missing values get "missing time" and unreadable ones "unparseable time ...".
    """
    tz = check_timezone(tz)
    s = pd.Series(values).reset_index(drop=True)
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        local = s.dt.tz_convert(tz).dt.tz_localize(None).astype("datetime64[ns]")
        why = np.where(local.isna(), "missing time", "")
        return pd.DatetimeIndex(local), why.astype(object), int(local.notna().sum())
    if s.dtype.kind == "M":
        local = s.astype("datetime64[ns]")
        return pd.DatetimeIndex(local), np.where(local.isna(), "missing time", "").astype(object), 0
    codes, uniques = pd.factorize(s.astype(object), use_na_sentinel=True)
    parsed = [_one(v, tz) for v in uniques]
    times = pd.DatetimeIndex([p[0] for p in parsed] + [pd.NaT]).astype("datetime64[ns]")
    reasons = np.array([p[1] for p in parsed] + ["missing time"], dtype=object)
    converted = np.array([p[2] for p in parsed] + [False])
    return times[codes], reasons[codes], int(converted[codes].sum())
