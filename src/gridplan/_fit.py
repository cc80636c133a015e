"""Fit an :class:`~gridplan.simulate.IncidentModel` to a bureau's case ledger (``IncidentModel.fit``).

What is estimated, per problem type (the ledger's ``type``, or its ``category`` mapped back to
gridplan's types through :data:`gridplan.catalogue.TYPE_CATEGORIES`; other categories become
types of their own):

* **Rate**: reported cases per day over the ledger's span, divided by the type's driver (10,000
  residents or street km of the plan, as the simulation counts them). These are rates of
  *reported* cases: what a ledger never saw (problems nobody found) is not in it.
* **Hour of week**: cases per hour of the week (168 cells) divided by how often each cell
  occurs in the span, shrunk towards the type's hour-of-day x weekday product with ``k``
  pseudo-cases; ``k`` is chosen per type among ``profile_smoothing`` by the chi-square on
  held-out days (2 folds: even and odd days), so a ledger too thin for 168 free cells gets the
  product. Types with fewer than ``min_per_type`` cases take the product of all types.
* **Sources**: the mix of reporting sources (those the simulation does not find itself).
* **Severity** shares (with one pseudo-case each), when the ledger has ``severity``.
* **Where**: cases per unit of the plan against the driver's share of the unit (residents or
  street length), shrunk towards it with ``smoothing`` pseudo-cases (empirical Bayes: a unit's
  relative intensity is ``(c_u + k e_u) / ((n + k) e_u)``); needs point geometry.
* **The closed loop** (when the ledger has the steps): the share of reports not filed per
  source, gamma (mean, shape) of the filing, dispatch, feedback, verification and closing
  delays by the method of moments, and the rework share per verification.

The :class:`FitReport` says how well the fitted model reproduces the ledger: per type, Pearson's
chi-square of the hour-of-week counts on held-out days against the profile fitted on the others;
per grid, observed cases against those the fitted intensities expect (in sample, after the
shrinkage), with Pearson residuals. A ledger with fewer than
``min_cases`` cases is refused, saying how many it would need.
"""

from __future__ import annotations

import dataclasses
import html
from typing import Any

import numpy as np
import pandas as pd

from ._caseflow import CaseLoop
from .catalogue import TYPE_CATEGORIES, load_catalogue
from .errors import DataError

__all__ = ["MIN_CASES", "MIN_PER_TYPE", "FitReport", "fit_model"]

MIN_CASES = 200
"""Fewest cases a ledger needs to be fitted at all."""
MIN_PER_TYPE = 30
"""Fewest cases of a type for its own hour-of-week profile and source mix (else the pooled ones)."""
HOURS_OF_WEEK = 168


@dataclasses.dataclass
class FitReport:
    """How well a fitted model reproduces its ledger.

    Attributes
    ----------
    per_type : DataFrame
        Index type: ``cases``, ``per_day`` (cases per day of the span), ``driver``, ``rate``,
        ``own_profile`` (enough cases for its own hour-of-week profile), ``chi2``, ``dof``,
        ``p_value``: Pearson's chi-square of the
        hour-of-week counts on held-out days (the profile fitted on even days tested on odd
        ones and back), so a profile that only memorises its ledger is not rewarded.
    per_grid : DataFrame
        Index grid code: ``observed``, ``expected`` (from the fitted intensities), ``residual``
        (Pearson).
    sources : Series
        The ledger's source mix (shares).
    loop : dict
        The closed loop's fitted values (empty when the ledger lacks the steps).
    params : dict
    """

    per_type: pd.DataFrame
    per_grid: pd.DataFrame
    sources: pd.Series
    loop: dict[str, Any]
    params: dict[str, Any]

    def summary(self) -> pd.Series:
        g = self.per_grid
        chi2 = float(((g["observed"] - g["expected"]) ** 2 / g["expected"].where(g["expected"] > 0)).sum())
        return pd.Series(
            {
                "cases": int(self.per_type["cases"].sum()),
                "types": len(self.per_type),
                "days": self.params["days"],
                "types_with_own_profile": int(self.per_type["own_profile"].sum()),
                "hour_of_week_misfit_types (p<0.01)": int((self.per_type["p_value"] < 0.01).sum()),
                "grid_chi2": chi2,
                "grids": len(g),
                "max_abs_grid_residual": float(g["residual"].abs().max()) if len(g) else np.nan,
            }
        )

    def plot(self, ax: Any = None, *, title: str | None = None) -> Any:
        """Observed against expected cases per grid (the diagonal: a perfect fit)."""
        from . import plot as _plot

        ax = _plot.axes(ax, figsize=(5, 5))
        g = self.per_grid
        ax.scatter(g["expected"], g["observed"], s=12)
        top = float(max(g["expected"].max(), g["observed"].max(), 1.0)) if len(g) else 1.0
        ax.plot([0, top], [0, top], color="grey", linewidth=1)
        ax.set_xlabel("expected cases (fitted model)")
        ax.set_ylabel("observed cases (ledger)")
        ax.set_title(title or "Fit per grid")
        return ax

    def to_file(self, path: Any) -> Any:
        """Write the tables and parameters to a GeoPackage (read back with :meth:`read_file`)."""
        from . import _io

        tables = {
            "per_type": self.per_type.reset_index(),
            "per_grid": self.per_grid.reset_index(),
            "sources": self.sources.rename("share").rename_axis("source").reset_index(),
        }
        frames = {k: _io.table_layer(v, "EPSG:4326") for k, v in tables.items()}  # no geometry: any CRS
        return _io.write_frames(path, "FitReport", frames, {**self.params, "loop": self.loop})

    @classmethod
    def read_file(cls, path: Any) -> FitReport:
        from . import _io

        frames, params = _io.read_frames(path, "FitReport")
        loop = params.pop("loop", {})
        sources = _io.plain_table(frames["sources"]).set_index("source")["share"]
        return cls(
            per_type=_io.plain_table(frames["per_type"]).set_index("type"),
            per_grid=_io.plain_table(frames["per_grid"]).set_index("grid"),
            sources=sources,
            loop=loop,
            params=params,
        )

    def __repr__(self) -> str:
        s = self.summary()
        return (
            f"<FitReport: {int(s['cases']):,} cases, {int(s['types'])} types over {s['days']:g} days, "
            f"max |grid residual| {s['max_abs_grid_residual']:.2f}>"
        )

    def _repr_html_(self) -> str:
        return (
            f"<div><b>{html.escape(repr(self)[1:-1])}</b>{self.summary().to_frame('value').to_html()}"
            f"{self.per_type.to_html(float_format=lambda x: f'{x:,.4g}')}</div>"
        )


def _types_of(ledger: pd.DataFrame, type_column: str | None) -> np.ndarray:
    if type_column is not None:
        if type_column not in ledger.columns:
            raise DataError(f"no column {type_column!r} in the ledger; columns are {list(ledger.columns)}")
        return ledger[type_column].astype(str).to_numpy(dtype=object)
    if "type" in ledger.columns:
        return ledger["type"].astype(str).to_numpy(dtype=object)
    if "category" in ledger.columns or "category_id" in ledger.columns:
        col = "category_id" if "category_id" in ledger.columns else "category"
        ids, known = load_catalogue().lookup(ledger[col].to_numpy(dtype=object))
        back = {v: k for k, v in TYPE_CATEGORIES.items()}
        raw = ledger[col].astype(str).to_numpy(dtype=object)
        return np.array([back.get(i, i) if ok else r for i, ok, r in zip(ids, known, raw)], dtype=object)
    raise DataError("the ledger needs a 'type' or 'category' column (what each case is)")


def _report_times(ledger: pd.DataFrame, time_column: str | None) -> pd.DatetimeIndex:
    col = time_column or next((c for c in ("reported", "discovered", "occurred") if c in ledger.columns), None)
    if col is None or col not in ledger.columns:
        raise DataError("the ledger needs report times: a 'reported' column (or pass time_column=)")
    t = pd.DatetimeIndex(pd.to_datetime(ledger[col], errors="coerce"))
    return t.tz_localize(None) if t.tz is not None else t


SMOOTHING_CANDIDATES = (0.0, 168.0, 672.0, 2688.0, np.inf)
"""Pseudo-cases tried when shrinking an hour-of-week profile to its hour-of-day x weekday product
(inf: the product itself); the one with the smallest held-out chi-square is kept."""


def _product_rates(c: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """Rates per hour-of-week cell under independence of hour of day and weekday (168 values)."""
    e = np.nan_to_num(exposure).reshape(7, 24)
    cc = c.reshape(7, 24)
    with np.errstate(invalid="ignore", divide="ignore"):
        hour = cc.sum(axis=0) / e.sum(axis=0)
        wday = cc.sum(axis=1) / e.sum(axis=1)
        total = cc.sum() / e.sum()
        r = np.outer(np.nan_to_num(wday), np.nan_to_num(hour)) / total if total > 0 else np.ones((7, 24))
    return np.nan_to_num(r).ravel()


def _week_profile(c: np.ndarray, exposure: np.ndarray, k: float) -> np.ndarray:
    """168 hour-of-week rate weights (sum 1): the counts per exposure shrunk with ``k`` pseudo-cases
    towards the hour-of-day x weekday product (``k=inf``: the product)."""
    prior = _product_rates(c, exposure)
    e = np.nan_to_num(exposure)
    if np.isinf(k):
        w = prior
    else:
        mass = prior * e
        share = mass / mass.sum() if mass.sum() > 0 else np.full(HOURS_OF_WEEK, 1 / HOURS_OF_WEEK)
        with np.errstate(invalid="ignore", divide="ignore"):
            w = np.where(e > 0, (c + k * share) / np.where(e > 0, e, 1.0), 0.0)
    w = np.nan_to_num(w)
    return w / w.sum() if w.sum() > 0 else np.full(HOURS_OF_WEEK, 1 / HOURS_OF_WEEK)


def _held_out_chi2(how: np.ndarray, day: np.ndarray, cell_how: np.ndarray, cell_day: np.ndarray, k: float) -> tuple[float, int]:
    """Pearson chi-square of the hour-of-week counts on held-out days: the profile fitted on the even
    days is tested on the odd ones and the other way round (two folds, summed)."""
    chi2, dof = 0.0, 0
    for fold in (0, 1):
        train, test = day % 2 == fold, day % 2 != fold
        e_train = np.bincount(cell_how[cell_day % 2 == fold], minlength=HOURS_OF_WEEK).astype(float)
        e_test = np.bincount(cell_how[cell_day % 2 != fold], minlength=HOURS_OF_WEEK).astype(float)
        if not (train.any() and test.any()) or e_test.sum() == 0:
            continue
        c_train = np.bincount(how[train], minlength=HOURS_OF_WEEK).astype(float)
        c_test = np.bincount(how[test], minlength=HOURS_OF_WEEK).astype(float)
        p = _week_profile(c_train, np.where(e_train > 0, e_train, np.nan), k)
        lam = p * e_test
        if lam.sum() <= 0:
            continue
        expected = c_test.sum() * lam / lam.sum()
        keep = expected > 0
        chi2 += float(((c_test[keep] - expected[keep]) ** 2 / expected[keep]).sum())
        dof += int(keep.sum()) - 1
    return chi2, max(dof, 1)


def _gamma_mom(v: np.ndarray) -> tuple[float, float] | None:
    v = v[np.isfinite(v) & (v >= 0)]
    if len(v) < 10:
        return None
    mean, var = float(v.mean()), float(v.var(ddof=1))
    return (mean, float(mean * mean / var) if var > 0 else 50.0)


def _minutes_between(ledger: pd.DataFrame, a: str, b: str) -> np.ndarray:
    if a not in ledger.columns or b not in ledger.columns:
        return np.zeros(0)
    d = (pd.to_datetime(ledger[b], errors="coerce") - pd.to_datetime(ledger[a], errors="coerce")) / pd.Timedelta(minutes=1)
    return d.to_numpy(dtype=float, na_value=np.nan)


def _fit_loop(ledger: pd.DataFrame, base: CaseLoop) -> tuple[CaseLoop, dict[str, Any]]:
    if "filed" not in ledger.columns or "reported" not in ledger.columns:
        return base, {}
    src = ledger["reported_by"] if "reported_by" in ledger else ledger.get("source", pd.Series("default", index=ledger.index))
    rep = pd.to_datetime(ledger["reported"], errors="coerce").notna()
    filed = pd.to_datetime(ledger["filed"], errors="coerce").notna()
    frame = pd.DataFrame({"src": src.astype(str), "rep": rep, "notfiled": rep & ~filed})
    g = frame[frame["rep"]].groupby("src")["notfiled"].agg(["mean", "size"])
    not_filed = {"default": float(frame.loc[frame["rep"], "notfiled"].mean())}
    not_filed.update({s: float(r["mean"]) for s, r in g.iterrows() if r["size"] >= 20})
    fitted: dict[str, Any] = {"not_filed": not_filed}
    for name, a, b in (
        ("filing_min", "reported", "filed"),
        ("dispatch_min", "filed", "dispatched"),
        ("feedback_min", "handled", "feedback"),
        ("verify_min", "feedback", "verified"),
        ("closing_min", "verified", "closed"),
    ):
        mom = _gamma_mom(_minutes_between(ledger, a, b))
        if mom is not None:
            fitted[name] = mom
    if "rework" in ledger.columns and "verified" in ledger.columns:
        verified = pd.to_datetime(ledger["verified"], errors="coerce").notna()
        rw = pd.to_numeric(ledger["rework"], errors="coerce").fillna(0)[verified]
        checks = float(verified.sum() + rw.sum())
        if checks > 0:
            fitted["rework_share"] = float(min(rw.sum() / checks, 0.95))
    loop = dataclasses.replace(base, **{k: v for k, v in fitted.items()})
    return loop, fitted


def fit_model(
    cls: Any,
    ledger: pd.DataFrame,
    plan: Any,
    *,
    base: Any = None,
    days: float | None = None,
    min_cases: int = MIN_CASES,
    min_per_type: int = MIN_PER_TYPE,
    smoothing: float = 50.0,
    profile_smoothing: tuple[float, ...] = SMOOTHING_CANDIDATES,
    type_column: str | None = None,
    time_column: str | None = None,
) -> Any:
    """``IncidentModel.fit(ledger, plan, ...)``: see the module docstring.

    Parameters
    ----------
    cls : type
        :class:`~gridplan.simulate.IncidentModel`.
    ledger : DataFrame or GeoDataFrame
        One row per case: ``type`` (or ``category``), report times (``reported``; else
        ``discovered``), optionally ``source``/``reported_by``, ``severity``, point geometry (or
        ``x``/``y`` columns in the plan's CRS), ``grid`` and the closed loop's steps.
    plan : GridPlan
        The plan the model is for (its units' residents and street length are the drivers).
    base : IncidentModel, optional
        Everything not fitted (shifts, speeds, limits, visibility, report delays) comes from
        it (default ``IncidentModel()``); types the ledger has but the base lacks take a
        population driver, visible, 1 hour report delay (assumptions, in ``params``).
    days : float, optional
        The span the ledger covers (default: from its first to its last report, whole days).
    min_cases, min_per_type : int
    smoothing : float
        Pseudo-cases of the spatial shrinkage.
    profile_smoothing : tuple of float
        Pseudo-cases tried for the hour-of-week shrinkage (:data:`SMOOTHING_CANDIDATES`); the
        one with the smallest held-out chi-square per degree of freedom is kept, per type.
    type_column, time_column : str, optional

    Raises
    ------
    DataError
        Too few cases (says how many are needed), missing columns, no usable report times.
    """
    if not isinstance(ledger, pd.DataFrame):
        raise DataError(f"fit needs a ledger DataFrame, got {type(ledger).__name__}")
    base = cls() if base is None else base
    t = _report_times(ledger, time_column)
    ok = np.asarray(t.notna())
    types = _types_of(ledger, type_column)
    n_total = int(ok.sum())
    counts = pd.Series(types[ok]).value_counts()
    if n_total < min_cases:
        short = counts[counts < min_per_type]
        raise DataError(
            f"the ledger has {n_total} reported cases; fitting needs at least {min_cases} "
            f"(and {min_per_type} per type for a type's own hour-of-week profile and sources"
            f"{': ' + ', '.join(f'{k} has {v}' for k, v in short.items()) if len(short) else ''}); "
            "give a longer ledger"
        )
    led = ledger.loc[ok]
    t, types = t[ok], types[ok]
    span = float(np.ceil((t.max() - t.min().normalize()) / pd.Timedelta(days=1))) if days is None else float(days)
    span = max(span, 1.0)
    # ---- drivers, as the simulation counts them
    units = plan.units
    pop_u = pd.to_numeric(units.get("population", pd.Series(0.0, index=units.index)), errors="coerce").fillna(0).to_numpy(float)
    st_u = pd.to_numeric(units.get("street_m", pd.Series(0.0, index=units.index)), errors="coerce").fillna(0).to_numpy(float)
    residents, street_km = float(pop_u.sum()), float(st_u.sum()) / 1000.0
    base_types = base.types
    assumed = []
    rows = {}
    # ---- hour of week
    how = (t.day_of_week.to_numpy() * 24 + t.hour.to_numpy()).astype(np.int64)
    start = t.min().normalize()
    cells = pd.date_range(start, start + pd.Timedelta(days=span), freq="h", inclusive="left")
    cell_how = cells.day_of_week.to_numpy() * 24 + cells.hour.to_numpy()
    cell_day = ((cells - start) // pd.Timedelta(days=1)).to_numpy().astype(np.int64)
    day = ((t - start) // pd.Timedelta(days=1)).to_numpy().astype(np.int64)
    exposure = np.bincount(cell_how, minlength=HOURS_OF_WEEK).astype(float)
    exposure = np.where(exposure > 0, exposure, np.nan)
    pooled_c = np.bincount(how, minlength=HOURS_OF_WEEK).astype(float)
    reporting = [s for s in base.sources if s not in base.discovery_sources]
    src_col = led["reported_by"] if "reported_by" in led.columns else led["source"] if "source" in led.columns else None
    sources = dict(base.sources)
    per_type = {}
    from scipy import stats

    for name in counts.index:
        sel = types == name
        n = int(sel.sum())
        if name in base_types.index:
            row = base_types.loc[name].copy()
        else:
            row = pd.Series(
                {
                    "label": name,
                    "driver": "population",
                    "rate": 0.0,
                    "visible": True,
                    "report_h": 1.0,
                    "profile": "flat",
                    "p_small": 0.8,
                    "p_larger": 0.17,
                    "p_hard": 0.03,
                    "sources": {reporting[0]: 1.0},
                }
            )
            assumed.append(name)
        driver = residents / 1e4 if row["driver"] == "population" else street_km
        row["rate"] = n / span / driver if driver > 0 else 0.0
        c = np.bincount(how[sel], minlength=HOURS_OF_WEEK).astype(float)
        own = n >= min_per_type
        if own:
            tried = {k: _held_out_chi2(how[sel], day[sel], cell_how, cell_day, k) for k in profile_smoothing}
            k_best = min(tried, key=lambda k: tried[k][0] / tried[k][1])
            chi2, dof = tried[k_best]
            row["profile"] = _week_profile(c, exposure, k_best)
        else:  # too few cases: the pooled hour-of-day x weekday product of all types
            k_best = np.inf
            chi2, dof = _held_out_chi2(how[sel], day[sel], cell_how, cell_day, np.inf)
            row["profile"] = _week_profile(pooled_c, exposure, np.inf)
        if src_col is not None and own:
            mix = src_col[sel].astype(str).value_counts()
            mix = mix[[s for s in mix.index if s not in base.discovery_sources and s != "supervisor"]]
            if len(mix):
                for s in mix.index:
                    sources.setdefault(s, s)
                row["sources"] = {s: float(v) / float(mix.sum()) for s, v in mix.items()}
        if "severity" in led.columns and own:
            sev = led.loc[sel, "severity"].astype(str).value_counts()
            k = np.array([sev.get(s, 0) + 1.0 for s in ("small", "larger", "hard")])
            row["p_small"], row["p_larger"], row["p_hard"] = (k / k.sum()).tolist()
        rows[name] = row
        per_type[name] = {
            "cases": n,
            "per_day": n / span,
            "driver": row["driver"],
            "rate": row["rate"],
            "own_profile": own,
            "profile_smoothing": k_best,
            "chi2": chi2,
            "dof": dof,
            "p_value": float(stats.chi2.sf(chi2, max(dof, 1))),
        }
    fitted_types = pd.DataFrame(rows).T
    fitted_types.index.name = base_types.index.name
    for col in ("rate", "report_h", "p_small", "p_larger", "p_hard"):
        fitted_types[col] = fitted_types[col].astype(float)
    fitted_types["visible"] = fitted_types["visible"].astype(bool)
    # ---- where: relative intensity per unit
    ui, per_grid = _spatial(led, types, plan, fitted_types, pop_u, st_u, smoothing)
    loop, loop_fit = _fit_loop(led, base.loop or CaseLoop())
    mix = src_col.astype(str).value_counts(normalize=True) if src_col is not None else pd.Series(dtype=float)
    report = FitReport(
        per_type=pd.DataFrame(per_type)
        .T.rename_axis("type")
        .astype(
            {
                "cases": int,
                "per_day": float,
                "rate": float,
                "chi2": float,
                "dof": int,
                "p_value": float,
                "own_profile": bool,
                "profile_smoothing": float,
            }
        ),
        per_grid=per_grid,
        sources=mix,
        loop=loop_fit,
        params={
            "days": span,
            "min_cases": min_cases,
            "min_per_type": min_per_type,
            "smoothing": smoothing,
            "profile_smoothing": [float(k) for k in profile_smoothing],
            "residents": residents,
            "street_km": street_km,
            "types_assumed": assumed,
            "note": "rates are of reported cases (what a ledger saw)",
        },
    )
    return dataclasses.replace(base, types=fitted_types, sources=sources, unit_intensity=ui, loop=loop, fit_report=report)


def _spatial(
    led: pd.DataFrame, types: np.ndarray, plan: Any, fitted: pd.DataFrame, pop_u: np.ndarray, st_u: np.ndarray, k: float
) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    import geopandas as gpd

    units = plan.units
    codes = plan.grids["code"].astype(str).to_numpy()
    labels = np.asarray(plan.labels)
    unit = None
    if isinstance(led, gpd.GeoDataFrame) and led.geometry.notna().any():
        g = led.geometry
        if led.crs is not None and not led.crs.equals(units.crs):
            g = g.to_crs(units.crs)
        unit = _units_at(units, np.asarray(g.values))
    elif {"x", "y"} <= set(led.columns):  # plain coordinates, in the plan's CRS
        import shapely

        x = pd.to_numeric(led["x"], errors="coerce").to_numpy(float)
        y = pd.to_numeric(led["y"], errors="coerce").to_numpy(float)
        unit = _units_at(units, shapely.points(np.where(np.isfinite(x), x, np.nan), np.where(np.isfinite(y), y, np.nan)))
    ui = None
    grid_obs = pd.Series(0.0, index=codes)
    grid_exp = pd.Series(0.0, index=codes)
    if unit is not None:
        factors = {}
        inside = unit >= 0
        for name in fitted.index:
            base = pop_u if fitted.at[name, "driver"] == "population" else st_u
            e = base / base.sum() if base.sum() > 0 else np.full(len(base), 1.0 / len(base))
            sel = (types == name) & inside
            c = np.bincount(unit[sel], minlength=len(units)).astype(float)
            n = float(sel.sum())
            with np.errstate(invalid="ignore", divide="ignore"):
                f = np.where(e > 0, (c + k * e) / ((n + k) * e), 1.0)
            factors[name] = f
            share = e * f
            share = share / share.sum() if share.sum() > 0 else share
            grid_exp += pd.Series(np.bincount(labels, weights=share * n, minlength=len(codes)), index=codes)
            grid_obs += pd.Series(np.bincount(labels[unit[sel]], minlength=len(codes)).astype(float), index=codes)
        ui = pd.DataFrame(factors, index=units.index)
    elif "grid" in led.columns:  # no geometry: grid counts against the drivers' grid shares, no unit intensity
        for name in fitted.index:
            base = pop_u if fitted.at[name, "driver"] == "population" else st_u
            e = base / base.sum() if base.sum() > 0 else np.full(len(base), 1.0 / len(base))
            n = float((types == name).sum())
            grid_exp += pd.Series(np.bincount(labels, weights=e * n, minlength=len(codes)), index=codes)
        grid_obs += led["grid"].astype(str).value_counts().reindex(codes).fillna(0.0)
    per_grid = pd.DataFrame({"observed": grid_obs, "expected": grid_exp}).rename_axis("grid")
    per_grid["residual"] = (per_grid["observed"] - per_grid["expected"]) / np.sqrt(
        per_grid["expected"].where(per_grid["expected"] > 0)
    )
    return ui, per_grid


def _units_at(units: Any, points: np.ndarray) -> np.ndarray:
    """Row of the unit holding each point (the first when on a shared edge; -1 outside every unit)."""
    import shapely

    tree = shapely.STRtree(np.asarray(units.geometry.values))
    pi, ui = tree.query(points, predicate="intersects")
    out = np.full(len(points), -1, dtype=np.int64)
    order = np.lexsort((ui, pi))
    pi, ui = pi[order], ui[order]
    first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, bool)
    out[pi[first]] = ui[first]
    return out
