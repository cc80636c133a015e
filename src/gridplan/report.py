"""Reports: one self-contained HTML page about a grid plan, to share with people who do not run Python.

:func:`plan_report` turns a :class:`~gridplan.grids.GridPlan` (and, when given, its key posts,
staffing, road-chief patrols, the plan it replaces and a simulation of it) into a single HTML
page: the plan's summary and metrics, a per-grid table, rankings (heaviest, lightest and least
compact grids; longest patrols, least covered grids, slowest grids and lowest compliance when the
inputs say so), the change table of a redraw (e.g. 12 → 15 grids) and the simulation's KPIs.

The page makes no request of its own: maps are PNG images drawn with matplotlib and embedded as
base64 ``data:`` URLs, styles are inline, and there is no script. Only the optional interactive
map (``interactive=True``, needs folium) loads Leaflet and base-map tiles from the internet when
it is opened; the rest of the page works offline. All text from the data (district, community
and subdistrict names, codes, notes) is HTML-escaped, and the page declares UTF-8.

Examples
--------
>>> import gridplan
>>> from gridplan.grids import partition
>>> from gridplan.report import plan_report
>>> plan = partition(gridplan.sample_district(seed=0), 4, seed=0)
>>> page = plan_report(plan, title="4 grids <draft>")
>>> page.startswith("<!DOCTYPE html>"), '<meta charset="utf-8">' in page
(True, True)
>>> "4 grids &lt;draft&gt;" in page, page.count('class="grid-row"')
(True, 4)
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import _io, _validate
from .errors import DataError, GridplanWarning
from .grids import GridPlan, PlanComparison
from .simulate import SimulationResult
from .simulate import _renamed as _renamed_kpis  # noqa: F401  (old KPI names of saved studies; kept here)

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from .posts import Posts
    from .routes import RoutePlan
    from .staffing import Staffing
    from .typing import SimulationLike

__all__ = ["plan_report", "write_report", "read_simulation", "SavedSimulation"]

_MISSING = "—"
_SHARE_NAME = re.compile(r"share|complian|within|on_?time|(?:^|_)cover(?:ed|age)|percent|fraction", re.I)
_RATE_NAME = re.compile(r"per_|_per|rate|count", re.I)
_TIME_NAME = re.compile(r"minute|_min(?:$|_)|hour|_h$|time|delay|duration|days?(?:$|_)|wait|respon|resolv|close", re.I)

_CSS = """
:root { --ink:#1f2328; --muted:#59636e; --line:#d1d9e0; --band:#f6f8fa; --accent:#0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK SC", "PingFang SC",
  "Microsoft YaHei", "Source Han Sans SC", sans-serif; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
p.lead, p.note, figcaption, .muted { color: var(--muted); }
nav { margin: 12px 0 0; padding: 8px 12px; background: var(--band); border-radius: 6px; }
nav a { margin-right: 14px; color: var(--accent); text-decoration: none; white-space: nowrap; }
.cols { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.cols > * { flex: 1 1 340px; min-width: 0; }
.cols.wide > * { flex-basis: 480px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 6px 0 12px; font-size: 13.5px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { padding: 4px 9px; border-bottom: 1px solid var(--line); vertical-align: top; }
thead th { background: var(--band); text-align: left; border-bottom: 2px solid var(--line); }
tbody tr:nth-child(even) { background: #fbfcfd; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
tbody th { text-align: left; }
table.kv th { text-align: left; font-weight: 500; color: var(--muted); }
figure { margin: 10px 0 18px; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 4px; }
iframe.map { width: 100%; height: 540px; border: 1px solid var(--line); border-radius: 4px; }
ul.notes { color: var(--muted); font-size: 13.5px; }
.flag { color: #b42318; font-weight: 600; }
footer { margin-top: 40px; color: var(--muted); font-size: 12.5px; }
"""

# --------------------------------------------------------------------------- formatting


def _e(value: Any) -> str:
    """HTML-escape any value's text (quotes too, so it is safe in attributes)."""
    return html.escape(str(value), quote=True)


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    try:
        return isinstance(v, (float, np.floating)) and math.isnan(v)
    except TypeError:  # pragma: no cover - exotic scalars
        return False


def _number(v: Any, digits: int) -> str:
    if _is_missing(v):
        return _MISSING
    v = float(v)
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    text = f"{v:,.{digits}f}"
    return "0" if re.fullmatch(r"-0(\.0+)?", text) else text.replace("-", "−")


def _fmt_int(v: Any) -> str:
    return _number(v, 0)


def _fixed(digits: int) -> Callable[[Any], str]:
    return lambda v: _number(v, digits)


def _fmt_pct(v: Any) -> str:
    if _is_missing(v):
        return _MISSING
    return _number(100 * float(v), 1) + " %"


def _fmt_km(v: Any) -> str:
    return _number(v, 2)


def _fmt_m_as_km(v: Any) -> str:
    return _MISSING if _is_missing(v) else _number(float(v) / 1000, 2)


def _fmt_bool(v: Any) -> str:
    return _MISSING if _is_missing(v) else ("yes" if bool(v) else "no")


def _fmt_text(v: Any) -> str:
    return _MISSING if _is_missing(v) or str(v) == "" else str(v)


def _fmt_auto(v: Any) -> str:
    """A number or a text, formatted for reading: thousands separators, sensible decimals."""
    if _is_missing(v):
        return _MISSING
    if isinstance(v, (bool, np.bool_)):
        return _fmt_bool(v)
    if isinstance(v, (int, np.integer)):
        return _fmt_int(v)
    if isinstance(v, (float, np.floating)):
        a = abs(float(v))
        if math.isinf(a) or float(v).is_integer() and a < 1e15:
            return _number(v, 0)
        return _number(v, 1 if a >= 100 else 2 if a >= 1 else 3)
    if isinstance(v, pd.Timedelta):
        return str(v)
    return str(v)


def _column_formatter(series: pd.Series) -> Callable[[Any], str]:
    """One number format for a whole column: whole numbers without decimals, else by typical size."""
    vals = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    vals = vals[np.isfinite(vals)]
    if not len(vals) or np.all(vals == np.round(vals)):
        return _fmt_int
    typical = float(np.median(np.abs(vals)))
    return _fixed(1 if typical >= 100 else 2 if typical >= 1 else 3)


def _numeric(series: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _is_share(name: Any, series: pd.Series) -> bool:
    """A column of shares in [0, 1] whose name says so (coverage, compliance, ...)."""
    if not _numeric(series) or not _SHARE_NAME.search(str(name)):
        return False
    vals = pd.to_numeric(series, errors="coerce").dropna()
    return bool(len(vals)) and bool(((vals >= 0) & (vals <= 1)).all())


def _is_time(name: Any, series: pd.Series) -> bool:
    """A column of durations (minutes, hours, days), not of rates such as incidents per day."""
    text = str(name)
    return _numeric(series) and bool(_TIME_NAME.search(text)) and not _RATE_NAME.search(text) and not _is_share(name, series)


def _auto_formatter(name: Any, series: pd.Series) -> tuple[Callable[[Any], str], bool]:
    """Formatter and numeric flag for a column of unknown meaning."""
    if pd.api.types.is_bool_dtype(series):
        return _fmt_bool, False
    if _is_share(name, series):
        return _fmt_pct, True
    if _numeric(series):
        return _column_formatter(series), True
    return _fmt_auto, False


# --------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class _Col:
    key: str
    label: str
    fmt: Callable[[Any], str] = _fmt_auto
    numeric: bool = True


def _table(
    frame: pd.DataFrame,
    cols: Sequence[_Col],
    *,
    index: str | None = None,
    caption: str | None = None,
    row_class: str | None = None,
) -> str:
    """An HTML table of ``frame``'s columns ``cols`` (index as the first column when ``index`` names it)."""
    head = "".join(f'<th class="{"num" if c.numeric else "txt"}" scope="col">{_e(c.label)}</th>' for c in cols)
    if index is not None:
        head = f'<th scope="col">{_e(index)}</th>' + head
    body = []
    rc = f' class="{row_class}"' if row_class else ""
    for key, row in frame.iterrows():
        cells = "".join(
            f'<td class="{"num" if c.numeric else "txt"}">{_e(c.fmt(row[c.key]) if c.key in row.index else _MISSING)}</td>'
            for c in cols
        )
        if index is not None:
            cells = f'<th scope="row" class="txt">{_e(_fmt_text(key))}</th>' + cells
        body.append(f"<tr{rc}>{cells}</tr>")
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _auto_table(
    frame: pd.DataFrame, *, caption: str | None = None, index: str | None = None, row_class: str | None = None
) -> str:
    """A table of any frame, every column formatted by what it holds."""
    cols = []
    for name in frame.columns:
        fmt, num = _auto_formatter(name, frame[name])
        cols.append(_Col(name, str(name), fmt, num))
    label = index if index is not None else (str(frame.index.name) if frame.index.name is not None else "")
    return _table(frame, cols, index=label, caption=caption, row_class=row_class)


def _kpi_table(frame: pd.DataFrame, *, caption: str | None = None) -> str:
    """A table of KPIs by row (mean, interval, ...): shares shown as percentages row by row."""
    counts = re.compile(r"runs|n|count|n_.*|samples", re.I)
    head = (
        '<th scope="col">'
        + _e(frame.index.name or "")
        + "</th>"
        + "".join(f'<th class="num" scope="col">{_e(c)}</th>' for c in frame.columns)
    )
    body = []
    for name, row in frame.iterrows():
        values = [
            v
            for col, v in row.items()
            if not counts.fullmatch(str(col)) and isinstance(v, (float, np.floating)) and not _is_missing(v)
        ]
        # a share (compliance, coverage): the whole row in percent, its interval too (even beyond 0-100 %)
        share_row = bool(_SHARE_NAME.search(str(name))) and bool(values) and 0 <= values[0] <= 1
        number = _column_formatter(pd.Series(values, dtype=float)) if values else _fmt_auto
        cells = []
        for col, v in row.items():
            measure = not counts.fullmatch(str(col)) and isinstance(v, (float, np.floating))
            text = (_fmt_pct(v) if share_row else number(v)) if measure else _fmt_auto(v)
            cells.append(f'<td class="num">{_e(text)}</td>')
        body.append(f'<tr><th scope="row" class="txt">{_e(name)}</th>{"".join(cells)}</tr>')
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def _kv_table(
    items: Iterable[tuple[Any, Any]], *, caption: str | None = None, formats: dict[str, Callable[[Any], str]] | None = None
) -> str:
    """A two-column key/value table."""
    formats = formats or {}
    rows = []
    for k, v in items:
        fmt = formats.get(str(k))
        if fmt is None:
            fmt = _fmt_pct if _SHARE_NAME.search(str(k)) and isinstance(v, (float, np.floating)) and 0 <= v <= 1 else _fmt_auto
        text = fmt(v)
        num = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
        rows.append(f'<tr><th scope="row">{_e(k)}</th><td class="{"num" if num else "txt"}">{_e(text)}</td></tr>')
    cap = f"<caption>{_e(caption)}</caption>" if caption else ""
    return f'<table class="kv">{cap}<tbody>{"".join(rows)}</tbody></table>'


def _notes(notes: Iterable[str]) -> str:
    items = "".join(f"<li>{_e(n)}</li>" for n in notes if str(n))
    return f'<ul class="notes">{items}</ul>' if items else ""


# --------------------------------------------------------------------------- maps


def _figure(plan: GridPlan | None = None) -> tuple[Figure, Axes]:
    """A figure outside pyplot (nothing global changes, nothing is left open), shaped like the plan's area."""
    from matplotlib.figure import Figure

    from . import plot as gplot

    fig = Figure(figsize=gplot.figsize_for(None if plan is None else plan.grids.total_bounds), dpi=100)
    return fig, fig.add_subplot()


def _png(fig: Figure) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", metadata={"Software": None})
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(fig: Figure, alt: str, caption: str | None = None) -> str:
    cap = f"<figcaption>{_e(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{_e(alt)}" src="data:image/png;base64,{_png(fig)}">{cap}</figure>'


def _draw_streets(ax: Axes, plan: GridPlan) -> None:
    district = plan.district
    streets = getattr(district, "streets", None)
    if streets is not None and len(streets):
        streets.to_crs(plan.crs).plot(ax=ax, color="#5f6b76", linewidth=0.35, alpha=0.55, zorder=3)


def _map_plan(plan: GridPlan) -> str:
    fig, ax = _figure(plan)
    plan.plot(ax=ax, column="weight", title=f"{plan.n_grids} grids by workload ({plan.params.get('weight_by') or 'weight'})")
    _draw_streets(ax, plan)
    return _img(
        fig,
        f"map of the {plan.n_grids} grids coloured by workload",
        "Grids coloured by workload; labels are the last four digits of the grid code.",
    )


def _map_choropleth(plan: GridPlan, values: pd.Series, label: str, *, share: bool, title: str) -> str:
    from . import plot as gplot

    fig, ax = _figure(plan)
    g = plan.grids[["code", "geometry"]].copy()
    g["value"] = values.reindex(g["code"].astype(str)).to_numpy(dtype=float) * (100 if share else 1)
    has = g["value"].notna()
    if (~has).any():
        g[~has].plot(ax=ax, color="#e0e0e0", edgecolor="white", linewidth=0.3)
    if has.any():
        g[has].plot(
            ax=ax,
            column="value",
            cmap="RdYlGn" if share else "YlOrRd",
            legend=True,
            edgecolor="white",
            linewidth=0.3,
            legend_kwds={"shrink": 0.6, "label": gplot.label(label + (" (%)" if share else ""))},
        )
    g.boundary.plot(ax=ax, color="black", linewidth=0.8)
    gplot.finish(ax, title)
    return _img(fig, f"map of {label} per grid", title)


# --------------------------------------------------------------------------- inputs


def _grid_codes(plan: GridPlan) -> pd.Index:
    return pd.Index(plan.grids["code"].astype(str).to_numpy(), name="code")


def _check_codes(found: Iterable[Any], codes: pd.Index, what: str) -> None:
    unknown = sorted({str(c) for c in found if not _is_missing(c)} - set(codes))
    if unknown:
        raise DataError(
            f"{what} name grids that are not in the plan: {unknown[:5]}"
            f"{' and more' if len(unknown) > 5 else ''}; were they made for another plan? "
            f"The plan's codes are e.g. {list(codes[:3])}"
        )


def _posts_frame(posts: Any) -> pd.DataFrame:
    frame = getattr(posts, "posts", posts)
    if not isinstance(frame, pd.DataFrame) or "grid" not in frame.columns:
        raise DataError(
            f"posts= must be a Posts (gridplan.posts.place_posts) or a table of points with a 'grid' "
            f"column, got {type(posts).__name__}"
        )
    return frame


def _routes_frame(routes: Any) -> pd.DataFrame:
    frame = getattr(routes, "routes", routes)
    if not isinstance(frame, pd.DataFrame) or not {"grid", "length"} <= set(frame.columns):
        raise DataError(
            f"routes= must be a RoutePlan (gridplan.routes.balance_routes) or its 'routes' layer "
            f"(columns grid, chief, length), got {type(routes).__name__}"
        )
    return frame


def _staffing_teams(staffing: Any) -> pd.DataFrame:
    teams = getattr(staffing, "teams", None)
    if not isinstance(teams, pd.DataFrame):
        raise DataError(f"staffing= must be a Staffing (gridplan.staffing.assign_staff), got {type(staffing).__name__}")
    return teams


def _simulation_parts(simulation: Any) -> tuple[pd.DataFrame | pd.Series | None, pd.DataFrame | None]:
    summary_fn = getattr(simulation, "summary", None)
    per_grid = getattr(simulation, "per_grid", None)
    if not callable(summary_fn) and per_grid is None:
        raise DataError(f"simulation= must be a simulation result with .summary() and .per_grid, got {type(simulation).__name__}")
    summary = summary_fn() if callable(summary_fn) else None
    if summary is not None and not isinstance(summary, (pd.DataFrame, pd.Series)):
        raise DataError(f"simulation.summary() must return a pandas DataFrame or Series, got {type(summary).__name__}")
    if per_grid is not None and not isinstance(per_grid, pd.DataFrame):
        raise DataError(f"simulation.per_grid must be a DataFrame indexed by grid code, got {type(per_grid).__name__}")
    return summary, per_grid


def _time_columns(frame: pd.DataFrame) -> list[Any]:
    """Columns of durations, response times first, then resolution, then the rest."""
    times = [c for c in frame.columns if _is_time(c, frame[c])]
    order = ("face|respon|arriv", "resol|close|handl", "discover|found")

    def rank(c: object) -> int:
        return next((i for i, pat in enumerate(order) if re.search(pat, str(c), re.I)), len(order))

    return sorted(times, key=rank)


def _main_compliance(columns: Sequence[Any]) -> Any:
    """The overall compliance column if there is one, else the first."""
    return next(
        (c for c in columns if re.fullmatch(r"(compliance|on_time)(_deadline|_all|_overall|_total)?", str(c), re.I)), columns[0]
    )


def _community_names(plan: GridPlan) -> dict[str, str]:
    comm = getattr(plan.district, "communities", None)
    if comm is None or not {"code", "name"} <= set(getattr(comm, "columns", [])):
        return {}
    return {str(c): str(n) for c, n in zip(comm["code"], comm["name"]) if str(n)}


# --------------------------------------------------------------------------- sections


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_e(title)}</h2>{body}</section>'


def _summary_section(plan: GridPlan, metrics: pd.Series) -> str:
    from ._version import __version__
    from .crs import crs_label

    p = plan.params
    district = plan.district
    synthetic = getattr(district, "synthetic", p.get("synthetic"))
    facts: list[tuple[str, Any]] = [
        ("district", p.get("district") or getattr(district, "name", None) or "(unnamed)"),
        ("district code", p.get("district_code") or getattr(district, "code", None) or ""),
        ("CRS (metric work)", crs_label(plan.crs)),
        ("source CRS", crs_label(plan.source_crs) if plan.source_crs else ""),
        ("method", p.get("method", "")),
        ("grids", plan.n_grids),
        ("units", f"{len(plan.units):,} {p.get('units', 'units')}"),
        ("workload", p.get("weight_by") or "weight"),
        ("tolerance", f"±{float(p['tolerance']):.1%}" if p.get("tolerance") is not None else _MISSING),
        ("seed", p.get("seed") if p.get("seed") is not None else _MISSING),
        ("population", float(plan.grids["population"].sum())),
        ("street km", float(plan.grids["street_km"].sum())),
        ("area km²", float(plan.grids["area_km2"].sum())),
        (
            "streets, communities, population",
            "synthetic (generated by gridplan, not real data)"
            if synthetic is True
            else "as given"
            if synthetic is False
            else "not known (the plan's file does not say)",
        ),
        ("made with", f"gridplan {__version__}"),
    ]
    if p.get("locked"):
        facts.insert(9, ("locked grids", ", ".join(map(str, p["locked"]))))
    if p.get("previous_n_grids"):
        facts.insert(5, ("redrawn from", f"{p['previous_n_grids']} grids"))
    metric_fmt = {
        "balance_max": _fixed(3),
        "balance_min": _fixed(3),
        "pp_mean": _fixed(3),
        "pp_min": _fixed(3),
        "cut_km": _fmt_km,
        "tolerance": lambda v: _MISSING if v is None else f"±{float(v):.1%}",
        "within_tolerance": _fmt_bool,
        "contiguous": _fmt_bool,
    }
    plan_facts = _kv_table(facts, caption="Plan", formats={"population": _fmt_int, "street km": _fmt_km, "area km²": _fmt_km})
    metric_table = _kv_table(metrics.items(), caption="Metrics (plan.metrics())", formats=metric_fmt)
    explain = (
        '<p class="note">balance = grid workload / mean workload (max and min); PP = Polsby-Popper '
        "compactness 4πA/P² (1 for a disc); cut edges = adjacent units in different grids.</p>"
    )
    notes = _notes(plan.notes)
    body = (
        f'<div class="cols"><div>{plan_facts}{metric_table}{explain}'
        + (f"<h3>Notes</h3>{notes}" if notes else "")
        + f"</div><div>{_map_plan(plan)}</div></div>"
    )
    return _section("summary", "Summary", body)


def _per_grid_frame(plan: GridPlan, *, posts: Any, coverage: Any, staffing: Any, routes: Any) -> tuple[pd.DataFrame, list[_Col]]:
    codes = _grid_codes(plan)
    g = plan.grids.drop(columns="geometry").copy()
    g.index = codes
    frame = pd.DataFrame(index=codes)
    frame["subdistrict"] = g["subdistrict"].astype(str)
    names = _community_names(plan)
    frame["communities"] = [", ".join(names.get(c, c) for c in str(s).split(",") if c) for s in g["communities"]]
    frame["n_units"] = g["n_units"].to_numpy()
    w = g["weight"].to_numpy(dtype=float)
    frame["weight"] = w
    frame["weight_ratio"] = w / w.mean() if len(w) and w.mean() > 0 else np.nan
    frame["population"] = g["population"].to_numpy(dtype=float)
    frame["street_km"] = g["street_km"].to_numpy(dtype=float)
    frame["area_km2"] = g["area_km2"].to_numpy(dtype=float)
    frame["pp"] = plan.polsby_popper().reindex(codes).to_numpy()
    cols = [
        _Col("subdistrict", "subdistrict", _fmt_text, False),
        _Col("communities", "communities", _fmt_text, False),
        _Col("weight", f"workload ({plan.params.get('weight_by') or 'weight'})"),
        _Col("weight_ratio", "workload / mean", _fixed(3)),
        _Col("population", "population", _fmt_int),
        _Col("street_km", "street km", _fmt_km),
        _Col("area_km2", "area km²", _fmt_km),
        _Col("n_units", "units", _fmt_int),
        _Col("pp", "compactness (PP)", _fixed(3)),
    ]
    if staffing is not None:
        teams = _staffing_teams(staffing)
        _check_codes(teams.index, codes, "the staffing teams")
        t = teams.copy()
        t.index = t.index.astype(str)
        t = t.reindex(codes)
        for key, label, fmt in (
            ("size", "staff", _fmt_int),
            ("required", "staff needed", _fmt_int),
            ("missing", "vacancies", _fmt_int),
        ):
            if key in t:
                frame[f"staff_{key}"] = t[key].to_numpy()
                cols.append(_Col(f"staff_{key}", label, fmt))
        for key in [c for c in t.columns if str(c).startswith("on_")]:
            frame[f"staff_{key}"] = t[key].to_numpy()
            cols.append(_Col(f"staff_{key}", f"on {str(key)[3:]} shift", _fmt_int))
    if posts is not None:
        pf = _posts_frame(posts)
        _check_codes(pf["grid"], codes, "the posts")
        kind = pf["kind"].astype(str) if "kind" in pf else pd.Series("post", index=pf.index)
        grid = pf["grid"].astype(str)
        frame["posts"] = grid[kind == "post"].value_counts().reindex(codes, fill_value=0).to_numpy()
        cols.append(_Col("posts", "key posts", _fmt_int))
        if (kind == "station").any():
            frame["stations"] = grid[kind == "station"].value_counts().reindex(codes, fill_value=0).to_numpy()
            cols.append(_Col("stations", "liaison stations", _fmt_int))
        if coverage is not None:
            share = coverage.per_grid["share"]
            share.index = share.index.astype(str)
            frame["covered"] = share.reindex(codes).to_numpy(dtype=float)
            cols.append(_Col("covered", f"covered (≤ {coverage.max_walk_m:,.0f} m walk)", _fmt_pct))
    if routes is not None:
        rf = _routes_frame(routes)
        per = rf[rf["grid"].notna() & (rf["grid"].astype(str) != "None")]
        if len(per):
            _check_codes(per["grid"], codes, "the patrol routes")
            by = per.assign(grid=per["grid"].astype(str)).groupby("grid")["length"]
            frame["chiefs"] = by.size().reindex(codes, fill_value=0).to_numpy()
            frame["patrol_max_km"] = by.max().reindex(codes).to_numpy(dtype=float) / 1000
            frame["patrol_min_km"] = by.min().reindex(codes).to_numpy(dtype=float) / 1000
            frame["patrol_total_km"] = by.sum().reindex(codes).to_numpy(dtype=float) / 1000
            cols += [
                _Col("chiefs", "road chiefs", _fmt_int),
                _Col("patrol_max_km", "longest patrol km", _fmt_km),
                _Col("patrol_min_km", "shortest patrol km", _fmt_km),
                _Col("patrol_total_km", "walked km (all chiefs)", _fmt_km),
            ]
            pg = getattr(routes, "per_grid", None)
            if isinstance(pg, pd.DataFrame) and "gap" in pg:
                gap = pg["gap"].copy()
                gap.index = gap.index.astype(str)
                frame["patrol_gap"] = gap.reindex(codes).to_numpy(dtype=float)
                cols.append(_Col("patrol_gap", "patrol gap to bound", _fmt_pct))
    return frame, cols


def _grids_section(frame: pd.DataFrame, cols: list[_Col]) -> str:
    totals = frame[["weight", "population", "street_km", "area_km2", "n_units"]].sum()
    note = (
        f'<p class="note">{len(frame)} grids; totals: workload {_fmt_auto(totals["weight"])}, population '
        f"{_fmt_int(totals['population'])}, streets {_fmt_km(totals['street_km'])} km, area "
        f"{_fmt_km(totals['area_km2'])} km², {_fmt_int(totals['n_units'])} units.</p>"
    )
    return _section("grids", "Grids", note + _table(frame, cols, index="code", row_class="grid-row"))


def _ranking(frame: pd.DataFrame, key: str, cols: list[_Col], *, ascending: bool, top: int, caption: str) -> str:
    f = frame[frame[key].notna()]
    if f.empty:
        return ""
    order = f.assign(_code=f.index).sort_values([key, "_code"], ascending=[ascending, True], kind="stable")
    return _table(order.head(top), cols, index="code", caption=caption)


def _rankings_section(frame: pd.DataFrame, cols: list[_Col], per_sim: pd.DataFrame | None, top: int) -> str:
    by = {c.key: c for c in cols}
    w = [by["weight"], by["weight_ratio"], by["population"]]
    parts = [
        _ranking(frame, "weight", w, ascending=False, top=top, caption=f"Heaviest {top} grids (workload)"),
        _ranking(frame, "weight", w, ascending=True, top=top, caption=f"Lightest {top} grids (workload)"),
        _ranking(
            frame,
            "pp",
            [by["pp"], by["area_km2"], by["n_units"]],
            ascending=True,
            top=top,
            caption=f"Least compact {top} grids (Polsby-Popper)",
        ),
    ]
    if "patrol_max_km" in frame:
        parts.append(
            _ranking(
                frame,
                "patrol_max_km",
                [by["patrol_max_km"], by["chiefs"], by["street_km"]],
                ascending=False,
                top=top,
                caption=f"Longest patrols: {top} grids",
            )
        )
    if "covered" in frame:
        parts.append(
            _ranking(
                frame,
                "covered",
                [by["covered"], by["posts"], by["population"]],
                ascending=True,
                top=top,
                caption=f"Least covered {top} grids (walk to a key post)",
            )
        )
    if "staff_missing" in frame and (frame["staff_missing"] > 0).any():
        short = frame[frame["staff_missing"] > 0]
        parts.append(
            _ranking(
                short,
                "staff_missing",
                [by["staff_missing"], by["staff_size"]],
                ascending=False,
                top=len(short),
                caption="Grids with vacancies",
            )
        )
    if per_sim is not None and len(per_sim):
        shares = [c for c in per_sim.columns if _is_share(c, per_sim[c])]
        compliance = [c for c in shares if re.search("complian|within|on_time|ontime", str(c), re.I)] or shares
        times = _time_columns(per_sim)
        if times:
            t = times[0]
            sim_cols = [_Col(c, str(c), _column_formatter(per_sim[c])) for c in times[:3]] + [
                _Col(c, str(c), _fmt_pct) for c in compliance[:1]
            ]
            parts.append(
                _ranking(per_sim, t, sim_cols, ascending=False, top=top, caption=f"Slowest {top} grids in the simulation ({t})")
            )
        if compliance:
            main = _main_compliance(compliance)
            sim_cols = [_Col(c, str(c), _fmt_pct) for c in [main, *[c for c in compliance if c != main][:4]]]
            parts.append(
                _ranking(per_sim, main, sim_cols, ascending=True, top=top, caption=f"Lowest compliance: {top} grids ({main})")
            )
    body = '<div class="cols wide">' + "".join(f"<div>{p}</div>" for p in parts if p) + "</div>"
    return _section("rankings", "Rankings", body)


def _posts_section(plan: GridPlan, posts: Any, coverage: Any, coverage_note: str | None) -> str:
    pf = _posts_frame(posts)
    parts = []
    summary = getattr(posts, "summary", None)
    if callable(summary):
        parts.append(
            _kv_table(summary().items(), caption="Posts and stations", formats={"gap": _fmt_pct, "covered_share": _fmt_pct})
        )
    if coverage is not None:
        parts.append(
            _kv_table(
                coverage.overall.items(),
                caption=f"Coverage within {coverage.max_walk_m:,.0f} m ({coverage.minutes:g} min walk)",
                formats={"share": _fmt_pct},
            )
        )
    elif coverage_note:
        parts.append(f'<p class="note">{_e(coverage_note)}</p>')
    fig, ax = _figure(plan)
    plan.grids.boundary.plot(ax=ax, color="black", linewidth=1.0, zorder=2)
    _draw_streets(ax, plan)
    from . import plot as gplot

    frame = pf if "kind" in pf else pf.assign(kind="post")
    frame = frame.to_crs(plan.crs) if getattr(frame, "crs", None) is not None else frame
    for kind, marker, colour in (("post", "^", "#d62728"), ("station", "s", "#3182bd")):
        mine = frame[frame["kind"] == kind]
        if len(mine):
            mine.plot(ax=ax, marker=marker, color=colour, edgecolor="black", linewidth=0.5, markersize=55, zorder=6)
    n_p, n_s = int((frame["kind"] == "post").sum()), int((frame["kind"] == "station").sum())
    gplot.finish(
        ax, f"{n_p} key posts, {n_s} liaison stations", legend=[("key post", "#d62728", "^"), ("liaison station", "#3182bd", "s")]
    )
    mapped = _img(
        fig,
        "map of key posts and liaison stations",
        "Key posts (red triangles) and liaison stations (blue squares) on the grid lines.",
    )
    notes = _notes(getattr(posts, "notes", []) or [])
    body = f'<div class="cols"><div>{"".join(parts)}{notes}</div><div>{mapped}</div></div>'
    return _section("posts", "Key posts and liaison stations", body)


def _staffing_section(staffing: Any) -> str:
    parts = []
    summary = getattr(staffing, "summary", None)
    if callable(summary):
        parts.append(_kv_table(summary().items(), caption="Staffing", formats={"gap": _fmt_pct}))
    vac = getattr(staffing, "vacancies", None)
    if isinstance(vac, pd.DataFrame) and len(vac):
        parts.append(_auto_table(vac.set_index("grid") if "grid" in vac else vac, caption="Vacancies", index="grid"))
    elif isinstance(vac, pd.DataFrame):
        parts.append('<p class="note">Every slot of every grid is filled.</p>')
    parts.append(_notes(getattr(staffing, "notes", []) or []))
    return _section("staffing", "Staffing", "".join(parts))


def _routes_section(plan: GridPlan, routes: Any) -> str:
    from . import plot as gplot

    rf = _routes_frame(routes)
    parts = []
    summary = getattr(routes, "summary", None)
    if callable(summary):
        parts.append(
            _kv_table(
                summary().items(),
                caption="Patrols",
                formats={
                    "gap": _fmt_pct,
                    "deadhead_share": _fmt_pct,
                    "balance": _fixed(3),
                    "max_length_m": _fmt_int,
                    "min_length_m": _fmt_int,
                    "lower_bound_m": _fmt_int,
                    "streets_km": _fmt_km,
                    "walked_km": _fmt_km,
                },
            )
        )
    else:
        L = rf["length"].astype(float)
        parts.append(
            _kv_table(
                [
                    ("routes", len(rf)),
                    ("longest walk km", L.max() / 1000 if len(L) else np.nan),
                    ("shortest walk km", L.min() / 1000 if len(L) else np.nan),
                    ("walked km", L.sum() / 1000),
                ],
                caption="Patrols",
                formats={"longest walk km": _fmt_km, "shortest walk km": _fmt_km, "walked km": _fmt_km},
            )
        )
    if rf["grid"].isna().all() or (rf["grid"].astype(str) == "None").all():
        parts.append(
            '<p class="note">The patrols were routed on the whole network, not per grid, so the grid '
            "table has no patrol columns.</p>"
        )
    fig, ax = _figure(plan)
    if hasattr(routes, "plot") and hasattr(routes, "edges"):
        routes.plot(ax=ax, grids=plan, deadhead=False)
    else:
        import geopandas as gpd
        from matplotlib.colors import to_hex

        from .routes import _CHIEF_COLOURS, _distinct

        plan.grids.boundary.plot(ax=ax, color="#222222", linewidth=1.2, zorder=3)
        legend = []
        if isinstance(rf, gpd.GeoDataFrame) and rf.geometry.notna().any():
            # every chief its own colour; past 20 chiefs, one colour per grid (as RoutePlan.plot does)
            by = "chief" if "chief" in rf else None
            if by and rf["chief"].nunique() > _CHIEF_COLOURS and "grid" in rf and rf["grid"].notna().all():
                by = "grid"
            frame = rf.to_crs(plan.crs)
            keys = list(dict.fromkeys(frame[by].astype(str))) if by else ["patrols"]
            for key, colour in zip(keys, _distinct(len(keys))):
                part = frame[frame[by].astype(str) == key] if by else frame
                part.plot(ax=ax, color=colour, linewidth=1.6, zorder=2)
                legend.append((f"grid {key}" if by == "grid" else key, to_hex(colour), "-"))
        gplot.finish(
            ax, f"Road-chief patrols: {len(rf)} chiefs, longest {float(rf['length'].max()) / 1000:.1f} km", legend=legend
        )
    mapped = _img(fig, "map of the road-chief patrols", "Every street coloured by the road chief who walks it.")
    notes = _notes(getattr(routes, "notes", []) or [])
    body = f'<div class="cols"><div>{"".join(parts)}{notes}</div><div>{mapped}</div></div>'
    return _section("patrols", "Road-chief patrols", body)


def _change_section(change: PlanComparison) -> str:
    s = change.summary
    facts = _kv_table(
        s.items(),
        caption=f"{s['old_grids']} → {s['new_grids']} grids",
        formats={
            "disruption": _fmt_pct,
            "disruption_lower_bound": _fmt_pct,
            "ratio_to_bound": _fixed(3),
            "moved_population": _fmt_int,
            "moved_units": _fmt_int,
        },
    )
    explain = (
        '<p class="note">disruption = share of workload whose grid changes when every new grid is matched to '
        "one old grid (maximum-weight matching); the lower bound follows from balance alone, so no redraw "
        "of this district into this many balanced grids can move less.</p>"
    )
    m = change.matching.set_index("new")
    matching = _table(
        m,
        [_Col("old", "old grid", _fmt_text, False), _Col("new_weight", "new workload"), _Col("retained_weight", "workload kept")],
        index="new grid",
        caption="Each new grid and the old grid it continues",
    )
    tr = change.transfers
    transfers = (
        _table(
            tr,
            [
                _Col("old", "from old grid", _fmt_text, False),
                _Col("new", "to new grid", _fmt_text, False),
                _Col("weight", "workload"),
                _Col("population", "population", _fmt_int),
                _Col("n_units", "units", _fmt_int),
            ],
            caption="Transfers: what moves where",
        )
        if len(tr)
        else '<p class="note">Nothing moves.</p>'
    )
    fig, ax = _figure(change.new)
    change.plot(ax=ax)
    mapped = _img(
        fig,
        "map of the units that change grid",
        "Old grid lines (blue), new grid lines (red, dashed) and the units that change grid (orange).",
    )
    body = f'<div class="cols"><div>{facts}{explain}{matching}</div><div>{mapped}</div></div>{transfers}'
    return _section("change", f"Change from the previous plan ({s['old_grids']} → {s['new_grids']} grids)", body)


def _simulation_section(plan: GridPlan, summary: Any, per_grid: pd.DataFrame | None) -> str:
    parts = []
    if isinstance(summary, pd.Series):
        parts.append(_kv_table(summary.items(), caption="Key figures"))
    elif isinstance(summary, pd.DataFrame):
        parts.append(_kpi_table(summary, caption="Key figures"))
    mapped = ""
    if per_grid is not None and len(per_grid):
        parts.append(_auto_table(per_grid, caption="Per grid", index="code"))
        shares = [c for c in per_grid.columns if _is_share(c, per_grid[c])]
        compliance = [c for c in shares if re.search("complian|within|on_time|ontime", str(c), re.I)] or shares
        if compliance:
            col = _main_compliance(compliance)
            mapped = _map_choropleth(plan, per_grid[col], str(col), share=True, title=f"Simulation: {col} per grid")
    body = "".join(parts) + mapped
    return _section("simulation", "Simulation", body)


def _interactive_section(plan: GridPlan, posts: Any) -> tuple[str, str | None]:
    try:
        import folium  # noqa: F401
    except ImportError:
        msg = (
            "the interactive map was left out: folium is not installed (pip install 'gridplan[explore]'); "
            "the static maps are in the page"
        )
        return _section("interactive", "Interactive map", f'<p class="note">{_e(msg)}</p>'), msg
    m = plan.explore()
    if posts is not None:
        pf = _posts_frame(posts)
        if hasattr(pf, "explore") and getattr(pf, "crs", None) is not None:
            frame = pf.reset_index()
            frame.explore(
                m=m,
                color="#d62728",
                marker_kwds={"radius": 6},
                name="posts",
                tooltip=[c for c in frame.columns if c != frame.geometry.name],
            )
    page = m.get_root().render()
    body = (
        '<p class="note">This map loads Leaflet and the OpenStreetMap base map from the internet when opened; '
        "everything else in this page works offline.</p>"
        f'<iframe class="map" title="interactive map of the grids" srcdoc="{_e(page)}"></iframe>'
    )
    return _section("interactive", "Interactive map", body), None


# --------------------------------------------------------------------------- entry points


def plan_report(
    plan: GridPlan,
    *,
    previous: GridPlan | bool | None = None,
    posts: Posts | gpd.GeoDataFrame | None = None,
    staffing: Staffing | None = None,
    routes: RoutePlan | gpd.GeoDataFrame | None = None,
    simulation: SimulationLike | None = None,
    title: str | None = None,
    interactive: bool = False,
    top: int = 5,
) -> str:
    """A self-contained HTML report of a plan: summary, per-grid table, rankings, maps.

    Parameters
    ----------
    plan : GridPlan
    previous : GridPlan, bool or None
        The plan this one replaces (e.g. the 12 existing grids); adds the change table
        (:meth:`GridPlan.compare`: disruption, its bound, transfers) and its map. None (default)
        uses ``plan.previous`` when the plan has one (a plan made by :func:`~gridplan.grids.resplit`);
        False leaves the change out.
    posts : Posts or GeoDataFrame, optional
        Key posts and liaison stations (:func:`~gridplan.posts.place_posts`, or a ``posts`` layer
        with ``grid`` and ``kind`` columns): posts and stations per grid, their map, and the share
        of residents within the walk the posts were placed for when the posts know their streets.
    staffing : Staffing, optional
        Teams per grid (:func:`~gridplan.staffing.assign_staff`): staff, vacancies and people per
        shift per grid.
    routes : RoutePlan or GeoDataFrame, optional
        Road-chief patrols (:func:`~gridplan.routes.balance_routes`, or the ``routes`` layer of
        :meth:`RoutePlan.to_file <gridplan.routes.RoutePlan.to_file>`): chiefs and the longest,
        shortest and total patrol per grid, and their map.
    simulation : object, optional
        A simulation result with ``summary()`` (a DataFrame or Series of KPIs) and ``per_grid``
        (a DataFrame indexed by grid code); every column is shown, shares (compliance, coverage)
        as percentages, and the slowest and least compliant grids are ranked. A simulation saved
        with ``SimulationResult.to_file`` comes back with :func:`read_simulation`.
    title : str, optional
        Page title (default: the district's name and the number of grids).
    interactive : bool
        Add an interactive folium map (needs the ``[explore]`` extra; it loads Leaflet and base
        tiles from the internet). Without folium the page says so and a
        :class:`~gridplan.errors.GridplanWarning` is issued.
    top : int
        Grids per ranking (default 5).

    Returns
    -------
    str
        The HTML page (UTF-8 text; write it with ``encoding="utf-8"``, or use :func:`write_report`).

    Raises
    ------
    DataError
        ``plan`` is not a GridPlan, an input is of the wrong kind, or an input names grid codes
        that are not in the plan (made for another plan).

    Examples
    --------
    >>> import gridplan
    >>> from gridplan.grids import partition
    >>> plan = partition(gridplan.sample_district(seed=0), 3, seed=0)
    >>> page = plan_report(plan)
    >>> "Rankings" in page, "Change from the previous plan" in page, "data:image/png;base64," in page
    (True, False, True)
    """
    if not isinstance(plan, GridPlan):
        raise DataError(f"plan_report needs a GridPlan, got {type(plan).__name__}")
    top = min(_validate.integer(top, "top", minimum=1), plan.n_grids)  # grids per ranking
    if previous is None or previous is True:
        old = plan.previous
        if previous is True and old is None:
            raise DataError("previous=True but the plan has no previous plan; pass previous=<the old GridPlan>")
    elif previous is False:
        old = None
    elif isinstance(previous, GridPlan):
        old = previous
    else:
        raise DataError(f"previous must be the GridPlan this plan replaces, got {type(previous).__name__}")

    coverage, coverage_note = None, None
    if posts is not None:
        _posts_frame(posts)
        if callable(getattr(posts, "coverage", None)):
            try:
                coverage = posts.coverage()
            except DataError as exc:
                coverage_note = f"coverage not shown: {exc}"
    sim_summary, sim_per_grid = (None, None)
    if simulation is not None:
        sim_summary, sim_per_grid = _simulation_parts(simulation)
        if sim_per_grid is not None:
            _check_codes(sim_per_grid.index, _grid_codes(plan), "the simulation's per_grid rows")
            sim_per_grid = sim_per_grid.copy()
            sim_per_grid.index = sim_per_grid.index.astype(str)
            sim_per_grid.index.name = "code"

    metrics = plan.metrics()
    frame, cols = _per_grid_frame(plan, posts=posts, coverage=coverage, staffing=staffing, routes=routes)
    district = plan.params.get("district") or getattr(plan.district, "name", None) or "district"
    heading = title if title is not None else f"{district}: {plan.n_grids} grids"

    sections = [
        ("summary", "Summary", _summary_section(plan, metrics)),
        ("grids", "Grids", _grids_section(frame, cols)),
        ("rankings", "Rankings", _rankings_section(frame, cols, sim_per_grid, top)),
    ]
    if old is not None:
        sections.append(("change", "Change", _change_section(plan.compare(old))))
    if posts is not None:
        sections.append(("posts", "Posts", _posts_section(plan, posts, coverage, coverage_note)))
    if staffing is not None:
        sections.append(("staffing", "Staffing", _staffing_section(staffing)))
    if routes is not None:
        sections.append(("patrols", "Patrols", _routes_section(plan, routes)))
    if simulation is not None:
        sections.append(("simulation", "Simulation", _simulation_section(plan, sim_summary, sim_per_grid)))
    if interactive:
        section, missing = _interactive_section(plan, posts)
        sections.append(("interactive", "Interactive map", section))
        if missing:
            warnings.warn(missing, GridplanWarning, stacklevel=2)

    nav = "".join(f'<a href="#{a}">{_e(label)}</a>' for a, label, _ in sections)
    lead = (
        f"{plan.n_grids} grids of {len(plan.units):,} {plan.params.get('units', 'units')}, balance "
        f"{metrics['balance_min']:.3f}–{metrics['balance_max']:.3f} of the mean, Polsby-Popper mean "
        f"{metrics['pp_mean']:.3f}, {'contiguous' if metrics['contiguous'] else 'NOT contiguous'}."
    )
    from ._version import __version__

    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="gridplan {_e(__version__)}">\n'
        f"<title>{_e(heading)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n"
        f'<header><h1>{_e(heading)}</h1><p class="lead">{_e(lead)}</p><nav>{nav}</nav></header>\n'
        + "\n".join(s for _, _, s in sections)
        + f"\n<footer>Made with gridplan {_e(__version__)}. Self-contained page: maps are embedded images"
        + (
            "; only the interactive map loads data from the internet."
            if interactive
            else "; nothing is loaded from the internet."
        )
        + "</footer>\n</main>\n</body>\n</html>\n"
    )


def write_report(plan: GridPlan, path: str | Path, **kwargs: Any) -> Path:
    """Write :func:`plan_report` to ``path`` as UTF-8 and return the path.

    Parameters
    ----------
    plan : GridPlan
    path : str or Path
        The HTML file to write (folders are made as needed; an existing file is replaced).
    **kwargs
        Passed to :func:`plan_report` (``previous=``, ``posts=``, ``staffing=``, ``routes=``,
        ``simulation=``, ``title=``, ``interactive=``, ``top=``).

    Returns
    -------
    Path

    Examples
    --------
    >>> import tempfile, pathlib, gridplan
    >>> from gridplan.grids import partition
    >>> plan = partition(gridplan.sample_district(seed=0), 3, seed=0)
    >>> out = write_report(plan, pathlib.Path(tempfile.mkdtemp()) / "report.html")
    >>> out.read_text(encoding="utf-8").count('class="grid-row"')
    3
    """
    path = _io.as_path(path)
    if path.is_dir():
        raise DataError(f"{str(path)!r} is a folder; give the path of the HTML file to write, e.g. {path / 'report.html'}")
    page = plan_report(plan, **kwargs)
    return _io.write_text(path, page)  # atomic: a failed write leaves the old page


# --------------------------------------------------------------------------- saved inputs


SavedSimulation = SimulationResult
"""A saved simulation reads back as a :class:`~gridplan.simulate.SimulationResult` (see its
``read_file``); the old name is kept for code that refers to it."""


@_io.guarded_read
def read_simulation(path: str | Path) -> SimulationResult:
    """Read the tables of a simulation saved by :meth:`SimulationResult.to_file
    <gridplan.simulate.SimulationResult.to_file>` (e.g. by ``gridplan simulate``), for :func:`plan_report`.

    Parameters
    ----------
    path : str or Path
        The ``.gpkg`` file.

    Returns
    -------
    SimulationResult
        As :meth:`SimulationResult.read_file <gridplan.simulate.SimulationResult.read_file>` gives it.

    Raises
    ------
    DataError
        The file does not exist or does not hold a saved simulation (the message says what it holds).

    Examples
    --------
    >>> import tempfile, pathlib, gridplan
    >>> from gridplan.grids import partition
    >>> from gridplan.simulate import _example_layers, simulate
    >>> plan = partition(gridplan.District.from_frames(**_example_layers()), 2, units="cells", seed=0)
    >>> result = simulate(plan, staffing="sample", days=1, runs=2, seed=0, progress=False)
    >>> saved = read_simulation(result.to_file(pathlib.Path(tempfile.mkdtemp()) / "sim.gpkg"))
    >>> saved.summary().equals(result.summary()), saved.per_grid.equals(result.per_grid)
    (True, True)
    >>> 'id="simulation"' in plan_report(plan, simulation=saved)
    True
    """
    return SimulationResult.read_file(path)


def _register() -> None:
    """Hand :meth:`GridPlan.report <gridplan.grids.GridPlan.report>` its writers (grids never imports report)."""
    from . import grids as _grids

    _grids._REPORT_WRITERS = (plan_report, write_report)


_register()
