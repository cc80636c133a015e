"""Evaluate a case ledger: the indicators bureaus report per grid, department, subdistrict and street.

Digital city management evaluates its grids, departments and streets from the case ledger
(CJJ/T 106-2010 makes "综合评价" the last step of the loop; counties publish monthly
assessments with red and black lists). :func:`evaluate` computes, per group and period (by the
month a case was reported, by default):

========================  ======================================================================
``reported``              cases reported (上报数)
``filed``                 cases filed (立案数); ``filing_rate`` = filed / reported
``dispatched``            cases dispatched to a handler
``on_time_rate``          dispatched cases handled by their deadline / dispatched (按期处置率)
``closing_rate``          filed cases closed / filed (结案率)
``rework_rate``           verified cases that needed rework at least once / verified (返工率)
``escalation_rate``       dispatched cases escalated at least once ("社区吹哨") / dispatched
``mean_handling_h``       mean hours from dispatch to handled (平均处置时长)
``score``                 composite: a weighted sum of rates, 0-100 (综合指标值)
========================  ======================================================================

The **composite score** is ``100 * sum(w_k * x_k) / sum(w_k)`` over the rates ``x_k`` (a rate
where less is better, such as rework, enters as ``1 - x``). The standards name the indicators but
the weights are set by each city's assessment rules; gridplan's defaults, on-time handling 0.5,
closing 0.3, no rework 0.2, are an **assumption** (one published district scheme weights the
on-time closing rate 60 of 100 points, https://max.book118.com/html/2023/0710/7161143001005132.shtm),
so pass your city's ``weights``.

Rankings: within each period the groups with at least ``min_cases`` filed cases are ranked by
score; the top ``red`` and the bottom ``black`` get red and black flags (红黑旗, as Gongyi rates
its merchants, seed 003). Groups with fewer cases are listed but not ranked.

A ledger is any DataFrame with the documented columns (a simulated one from
:func:`gridplan.simulate.simulate`, or a real one): the group column (``grid``, ``department``,
``subdistrict`` or ``street``) and the step timestamps ``reported``, ``filed``, ``dispatched``,
``handled``, ``verified``, ``closed``; ``deadline`` (or ``on_time``), ``rework`` and
``escalations`` when present. Steps out of order (closed before reported, ...) are kept in
:attr:`Evaluation.problems` with their reason and left out of the time-based indicators, or
refused with ``strict=True``.

Examples
--------
>>> from gridplan._caseflow import synthetic_ledger
>>> ev = evaluate(synthetic_ledger(3000, seed=1, days=60), by="subdistrict", period="M")
>>> sorted(ev.table.columns[:4].tolist())
['dispatched', 'filed', 'filing_rate', 'reported']
>>> bool(((ev.table["score"] >= 0) & (ev.table["score"] <= 100)).all())
True
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from .errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    import folium
    import geopandas as gpd
    from matplotlib.axes import Axes

    from .grids import GridPlan
    from .typing import PathLike

_NONE = np.array(None, dtype=object)  # None as a 0-d array, for elementwise np.equal on object arrays

__all__ = ["BY", "DEFAULT_WEIGHTS", "STEPS", "Evaluation", "evaluate"]

STEPS = ("reported", "filed", "dispatched", "handled", "verified", "closed")
"""Step columns a ledger must have (timestamps; NaT where the case stopped earlier)."""
BY = ("grid", "department", "subdistrict", "street", "community")
DEFAULT_WEIGHTS: dict[str, float] = {"on_time_rate": 0.5, "closing_rate": 0.3, "rework_rate": 0.2}
"""Weights of the composite score (an assumption: set your city's)."""
_LOWER_IS_BETTER = {"rework_rate", "escalation_rate"}
_RATES = ("filing_rate", "on_time_rate", "closing_rate", "rework_rate", "escalation_rate")
UNKNOWN_GROUP = "(none)"


def _steps(ledger: pd.DataFrame) -> dict[str, np.ndarray]:
    missing = [c for c in STEPS if c not in ledger.columns]
    if missing:
        raise DataError(
            f"the ledger lacks step columns {missing}; it needs {list(STEPS)} (timestamps, empty where a "
            "case stopped earlier); gridplan.ledger.read_ledger or simulate() give them"
        )
    out = {}
    for c in STEPS:
        try:
            v = pd.to_datetime(ledger[c], errors="raise")
        except (TypeError, ValueError) as exc:
            raise DataError(f"column {c!r} must hold timestamps: {exc}") from exc
        if getattr(v.dt, "tz", None) is not None:  # periods by the ledger's own wall clock (e.g. Asia/Shanghai)
            v = v.dt.tz_localize(None)
        out[c] = v.to_numpy(dtype="datetime64[ns]")
    return out


def _order_problems(steps: Mapping[str, np.ndarray]) -> np.ndarray:
    """A reason per case whose steps are out of order or missing in between (else None)."""
    n = len(steps["reported"])
    why = np.full(n, None, dtype=object)
    names = list(STEPS)
    for i, later in enumerate(names[1:], start=1):
        t = steps[later]
        has = ~np.isnat(t)
        gap = has & np.isnat(steps[names[i - 1]])
        for earlier in names[:i]:
            bad = has & ~np.isnat(steps[earlier]) & (t < steps[earlier]) & np.equal(why, _NONE)
            why[bad] = f"{later} before {earlier}"
        why[gap & np.equal(why, _NONE)] = f"{later} without {names[i - 1]}"
    return why


def evaluate(
    ledger: pd.DataFrame,
    *,
    by: str = "grid",
    period: str | None = "M",
    weights: Mapping[str, float] | None = None,
    red: float = 0.1,
    black: float = 0.1,
    min_cases: int = 5,
    strict: bool = False,
) -> Evaluation:
    """Indicators, composite score and red/black-flag rankings of a ledger (see the module docstring).

    Parameters
    ----------
    ledger : DataFrame
        One row per case (columns documented in the module docstring).
    by : str
        Group column: ``"grid"``, ``"department"``, ``"subdistrict"``, ``"street"`` or
        ``"community"`` (any other column of the ledger also works).
    period : str or None
        pandas period alias of the report time (``"M"`` months, ``"W"`` weeks, ``"D"`` days);
        None: the whole ledger as one period.
    weights : mapping, optional
        Rate → weight of the composite score (:data:`DEFAULT_WEIGHTS`, an assumption).
    red, black : float
        Flags per period: a share of the ranked groups (< 1; at least one group when any is
        ranked) or a number of groups (>= 1).
    min_cases : int
        Fewest filed cases for a group to be ranked in a period.
    strict : bool
        Refuse a ledger with steps out of order instead of keeping those cases in
        :attr:`Evaluation.problems`.

    Returns
    -------
    Evaluation

    Raises
    ------
    DataError
        Missing step or group columns, non-timestamp steps, unknown weights, steps out of order
        with ``strict=True``.
    """
    if not isinstance(ledger, pd.DataFrame):
        raise DataError(f"evaluate needs a DataFrame ledger, got {type(ledger).__name__}")
    if by not in ledger.columns:
        raise DataError(f"the ledger has no {by!r} column to group by; columns are {list(ledger.columns)}")
    weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
    unknown = sorted(set(weights) - set(_RATES))
    if unknown or not weights or any(not (w >= 0) for w in weights.values()) or sum(weights.values()) <= 0:
        raise DataError(f"weights must map some of {list(_RATES)} to weights >= 0 with a positive sum; got {weights}")
    steps = _steps(ledger)
    why = _order_problems(steps)
    bad = np.not_equal(why, _NONE)
    if bad.any() and strict:
        rows = ledger.index[bad][:5].tolist()
        raise DataError(
            f"{int(bad.sum())} cases have steps out of order (rows {rows}: {list(why[bad][:5])}); fix the "
            "ledger or pass strict=False to keep them aside in Evaluation.problems"
        )
    n = len(ledger)
    group = ledger[by].astype("string").fillna(UNKNOWN_GROUP).to_numpy(dtype=object)
    rep = steps["reported"]
    if period is None:
        per = np.full(n, "all", dtype=object)
    else:
        try:
            per = pd.PeriodIndex(pd.DatetimeIndex(rep), freq=period).astype(str).to_numpy(dtype=object)
        except (TypeError, ValueError) as exc:
            raise DataError(f"period must be a pandas period alias such as 'M', 'W' or 'D', got {period!r}") from exc
        per[np.isnat(rep)] = "(not reported)"
    ok = ~bad
    has = {c: ~np.isnat(steps[c]) & ok for c in STEPS}
    if "on_time" in ledger.columns:
        on_time = ledger["on_time"].astype("boolean").fillna(False).to_numpy(dtype=bool) & has["handled"]
    elif "deadline" in ledger.columns:
        dl = pd.to_datetime(ledger["deadline"], errors="coerce")
        dl = (dl.dt.tz_localize(None) if getattr(dl.dt, "tz", None) is not None else dl).to_numpy(dtype="datetime64[ns]")
        on_time = has["handled"] & ~np.isnat(dl) & (steps["handled"] <= dl)
    else:
        raise DataError("the ledger needs 'deadline' (or 'on_time') for the on-time handling rate")
    rework = (pd.to_numeric(ledger["rework"], errors="coerce").fillna(0).to_numpy() > 0) if "rework" in ledger else None
    esc = (pd.to_numeric(ledger["escalations"], errors="coerce").fillna(0).to_numpy() > 0) if "escalations" in ledger else None
    handling_h = np.where(
        has["handled"] & has["dispatched"], (steps["handled"] - steps["dispatched"]) / np.timedelta64(1, "h"), np.nan
    )
    frame = pd.DataFrame(
        {
            "period": per,
            by: group,
            "reported": ~np.isnat(rep),
            "filed": has["filed"],
            "dispatched": has["dispatched"],
            "on_time": on_time,
            "closed": has["closed"] & has["filed"],
            "verified": has["verified"],
            "rework": (rework & has["verified"]) if rework is not None else np.zeros(n, bool),
            "escalated": (esc & has["dispatched"]) if esc is not None else np.zeros(n, bool),
            "handling_h": handling_h,
        }
    )
    g = frame.groupby(["period", by], sort=True)
    table = g[["reported", "filed", "dispatched", "on_time", "closed", "verified", "rework", "escalated"]].sum()
    table = table.astype(np.int64)
    table["mean_handling_h"] = g["handling_h"].mean()

    def rate(num: str, den: str) -> pd.Series:
        d = table[den].astype(float)
        return (table[num] / d.where(d > 0)).astype(float)

    table["filing_rate"] = rate("filed", "reported")
    table["on_time_rate"] = rate("on_time", "dispatched")
    table["closing_rate"] = rate("closed", "filed")
    table["rework_rate"] = rate("rework", "verified") if rework is not None else np.nan
    table["escalation_rate"] = rate("escalated", "dispatched") if esc is not None else np.nan
    table["score"] = _score(table, weights)
    table = table[
        [
            "reported",
            "filed",
            "filing_rate",
            "dispatched",
            "on_time",
            "on_time_rate",
            "closed",
            "closing_rate",
            "verified",
            "rework",
            "rework_rate",
            "escalated",
            "escalation_rate",
            "mean_handling_h",
            "score",
        ]
    ]
    table = _rank(table, red=red, black=black, min_cases=min_cases)
    problems = ledger.loc[bad].assign(problem=why[bad])
    params = {
        "by": by,
        "period": period,
        "weights": weights,
        "red": red,
        "black": black,
        "min_cases": min_cases,
        "cases": int(n),
        "problems": int(bad.sum()),
        "weights_note": "the default weights are gridplan's assumption; the standards leave them to the city",
    }
    return Evaluation(table, problems=problems, params=params)


def _score(table: pd.DataFrame, weights: Mapping[str, float]) -> pd.Series:
    num = pd.Series(0.0, index=table.index)
    den = pd.Series(0.0, index=table.index)
    for k, w in weights.items():
        x = table[k]
        x = 1.0 - x if k in _LOWER_IS_BETTER else x
        ok = x.notna()
        num += np.where(ok, w * x.fillna(0.0), 0.0)
        den += np.where(ok, w, 0.0)
    return (100.0 * num / den.where(den > 0)).astype(float)


def _count(share: float, n: int) -> int:
    if share >= 1:
        return min(int(share), n)
    return min(n, max(1, int(round(share * n)))) if n and share > 0 else 0


def _rank(table: pd.DataFrame, *, red: float, black: float, min_cases: int) -> pd.DataFrame:
    if not (red >= 0 and black >= 0):
        raise DataError(f"red and black must be >= 0 (a share < 1 or a number of groups), got {red!r}, {black!r}")
    table = table.copy()
    table["rank"] = pd.array([pd.NA] * len(table), dtype="Int64")
    table["flag"] = pd.array([""] * len(table), dtype="string")
    for _, sub in table.groupby(level="period", sort=False):
        eligible = sub[(sub["filed"] >= min_cases) & sub["score"].notna()]
        if eligible.empty:
            table.loc[sub.index, "flag"] = "too few cases"
            continue
        order = eligible.sort_values(["score", "on_time_rate", "filed"], ascending=[False, False, False], kind="stable")
        table.loc[order.index, "rank"] = np.arange(1, len(order) + 1)
        table.loc[sub.index.difference(order.index), "flag"] = "too few cases"
        k_red, k_black = _count(red, len(order)), _count(black, len(order))
        k_black = min(k_black, len(order) - k_red)
        table.loc[order.index[:k_red], "flag"] = "red"
        if k_black:
            table.loc[order.index[len(order) - k_black :], "flag"] = "black"
    return table


class Evaluation:
    """Indicators and rankings of a ledger (made by :func:`evaluate`).

    Attributes
    ----------
    table : DataFrame
        Index (``period``, group); the indicators of the module docstring, ``rank`` (1 = best,
        within the period) and ``flag`` (``red``, ``black``, ``""`` or ``too few cases``).
    problems : DataFrame
        Cases with steps out of order, with their ``problem``: kept out of the indicators.
    params : dict
    """

    def __init__(self, table: pd.DataFrame, *, problems: pd.DataFrame, params: Mapping[str, Any]) -> None:
        self.table = table
        self.problems = problems
        self.params = dict(params)

    @property
    def by(self) -> str:
        return str(self.params["by"])

    def flags(self, color: str = "red") -> pd.DataFrame:
        """The red (or black) list: one row per flagged group and period."""
        if color not in ("red", "black"):
            raise DataError(f"color must be 'red' or 'black', got {color!r}")
        return self.table[self.table["flag"] == color]

    def _default_period(self) -> str | None:
        """The last period in which some group is ranked (else the last period)."""
        periods = sorted(p for p in self.table.index.get_level_values("period").unique() if p != "(not reported)")
        if not periods:
            return None
        ranked = self.table[self.table["rank"].notna()].index.get_level_values("period")
        return sorted(set(ranked) & set(periods))[-1] if len(ranked) else periods[-1]

    def ranking(self, period: str | None = None) -> pd.DataFrame:
        """One period's ranked groups, best first (default: the last period in which groups are ranked)."""
        periods = [p for p in self.table.index.get_level_values("period").unique() if p != "(not reported)"]
        if not periods:
            return self.table.iloc[:0]
        period = self._default_period() if period is None else period
        if period not in periods:
            raise DataError(f"no period {period!r}; the ledger has {sorted(periods)}")
        sub = self.table.xs(period, level="period")
        return sub.sort_values(["rank", "score"], ascending=[True, False], na_position="last")

    def summary(self) -> pd.DataFrame:
        """Per period: cases, the overall rates, and how many groups got red and black flags."""
        t = self.table
        g = t.groupby(level="period")
        sums = g[["reported", "filed", "dispatched", "on_time", "closed", "verified", "rework"]].sum()
        out = pd.DataFrame(
            {
                "groups": g.size(),
                "reported": sums["reported"],
                "filed": sums["filed"],
                "on_time_rate": sums["on_time"] / sums["dispatched"].where(sums["dispatched"] > 0),
                "closing_rate": sums["closed"] / sums["filed"].where(sums["filed"] > 0),
                "rework_rate": sums["rework"] / sums["verified"].where(sums["verified"] > 0),
                "red": g["flag"].apply(lambda s: int((s == "red").sum())),
                "black": g["flag"].apply(lambda s: int((s == "black").sum())),
            }
        )
        return out

    def plot(
        self,
        ax: Axes | None = None,
        *,
        period: str | None = None,
        grids: GridPlan | gpd.GeoDataFrame | None = None,
        column: str = "score",
        title: str | None = None,
    ) -> Axes:
        """One period's groups by score, red and black flags coloured; a map when ``grids`` (a GridPlan
        or a GeoDataFrame with a ``code`` column for ``by="grid"``) is given."""
        from . import plot as _plot

        r = self.ranking(period)
        period = period or self._default_period()
        if grids is not None:
            frame = cast("gpd.GeoDataFrame", getattr(grids, "grids", grids)).copy()
            key = frame["code"].astype(str) if "code" in frame else frame.index.astype(str)
            frame["value"] = r[column].reindex(key).to_numpy()
            frame["flag"] = r["flag"].reindex(key).fillna("").to_numpy()
            ax = _plot.axes(ax)
            frame.plot(
                ax=ax,
                column="value",
                cmap="RdYlGn",
                legend=True,
                vmin=0 if column == "score" else None,
                vmax=100 if column == "score" else None,
                edgecolor="grey",
                linewidth=0.6,
                missing_kwds={"color": "lightgrey"},
                legend_kwds={"shrink": 0.6, "label": column},
            )
            for colour, name in (("red", "red"), ("black", "black")):
                sel = frame[frame["flag"] == name]
                if len(sel):
                    sel.boundary.plot(ax=ax, color=colour, linewidth=2.5, label=f"{name} flag")
            return _plot.finish(ax, title or f"{column} per {self.by}, {period} (red/black flags outlined)")
        ax = _plot.axes(ax, figsize=(8, max(3, 0.25 * len(r))))
        colours = r["flag"].map({"red": "#d62728", "black": "black"}).fillna("#9ecae1").tolist()
        names = [_plot.label(str(g), f"#{i + 1}") for i, g in enumerate(r.index)]
        ax.barh(names, r[column].to_numpy(dtype=float), color=colours)
        ax.invert_yaxis()
        ax.set_xlabel(column)
        ax.set_title(title or f"{column} per {self.by}, {period}: red flags red, black flags black")
        return ax

    def explore(
        self, grids: GridPlan | gpd.GeoDataFrame, *, period: str | None = None, column: str = "score", **kw: Any
    ) -> folium.Map:
        """Interactive map of one period's indicator on ``grids`` (folium via geopandas)."""
        r = self.ranking(period)
        frame = cast("gpd.GeoDataFrame", getattr(grids, "grids", grids)).copy()
        key = frame["code"].astype(str) if "code" in frame else frame.index.astype(str)
        for c in (column, "rank", "flag"):
            frame[c] = r[c].reindex(key).to_numpy()
        return frame.explore(column=column, cmap="RdYlGn", **kw)

    def to_file(self, path: PathLike) -> Path:
        """Write the table and the problems to a GeoPackage (read back with :meth:`read_file`)."""
        from . import _io

        tables = {
            "table": self.table.reset_index(),
            "problems": pd.DataFrame(self.problems).drop(columns=[c for c in ("geometry",) if c in self.problems.columns]),
        }
        frames = {k: _io.table_layer(v, "EPSG:4326") for k, v in tables.items()}  # no geometry: any CRS
        return _io.write_frames(path, "Evaluation", frames, self.params)

    @classmethod
    def read_file(cls, path: PathLike) -> Evaluation:
        from . import _io

        frames, params = _io.read_frames(path, "Evaluation")
        table = _io.plain_table(frames["table"]).set_index(["period", params["by"]])
        return cls(table, problems=_io.plain_table(frames["problems"]), params=params)

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<Evaluation by {self.by}: {len(s)} periods, {int(s['reported'].sum()):,} cases, "
            f"{int(s['red'].sum())} red and {int(s['black'].sum())} black flags>"
        )

    def _repr_html_(self) -> str:
        fmt = "{:,.3f}".format
        return (
            f"<div><b>{html.escape(repr(self)[1:-1])}</b>{self.summary().to_html(float_format=fmt)}"
            f"<details><summary>ranking, last period</summary>{self.ranking().to_html(float_format=fmt)}"
            "</details></div>"
        )
