"""The standard case model: component (部件) and event (事件) categories, departments, limits, working time.

Digital city-management platforms (数字化城管) classify every case by the national standard
GB/T 30428.2-2013 (which replaced CJ/T 214-2007): a **component** (部件: manholes, lamps, bins,
trees, ...) or an **event** (事件: street vending, illegal ads, construction dust, ...), in major
and minor categories with codes, and a responsible department (归属部门). CJ/T 315-2009 adds how a
case is filed (立案), handled (处置) and closed (结案) within limits counted in working hours and
days (工作时 / 工作日).

:func:`load_catalogue` gives gridplan's catalogue of those categories, shipped as package data
(``gridplan/data/catalogue.csv``) with the public source of every row: the standard's text itself
could not be read from public sources, so its categories come from city documents and platforms
that follow it (S1-S6 in the CSV header and ``docs/catalogue.md``). What no source confirms is
left empty (minor categories beyond those, most time limits); the default departments are
gridplan's reading of the usual practice. A city extends or overrides it with its own codes,
names, departments and limits (:meth:`Catalogue.extend`).

:class:`WorkCalendar` counts working time; :class:`DeadlineRule` turns a case's category,
severity and report time into a deadline: the category's own limit when the catalogue has one,
else the "7123" level of its severity (Jinan Lixia: 1 / 2 / 3 days by grid / community /
subdistrict), in working or calendar days as the city chooses.

Examples
--------
>>> cat = load_catalogue()
>>> sorted(cat.table.query("kind == 'event' and origin == 'standard'")["major_name"].unique())
['宣传广告', '市容环境', '施工管理', '突发事件', '街面秩序']
>>> ids, known = cat.lookup(["暴露垃圾", "E0501", "street_vending", "??"])
>>> ids.tolist(), known.tolist()
(['E0102', 'E0501', 'E0501', None], [True, True, True, False])
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ._workclock import WorkCalendar
from .errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from .locate import TimeLimits
    from .typing import ArrayLike, PathLike

_NONE = np.array(None, dtype=object)  # None as a 0-d array, for elementwise np.equal on object arrays

__all__ = [
    "DEFAULT_DEPARTMENT",
    "EXTENSIONS",
    "LIMIT_UNITS",
    "RULE_7123",
    "STANDARD",
    "TYPE_CATEGORIES",
    "Catalogue",
    "DeadlineRule",
    "WorkCalendar",
    "deadlines",
    "dispatch",
    "load_catalogue",
]

STANDARD = "GB/T 30428.2-2013 (replaces CJ/T 214-2007)"
"""The standard the catalogue's categories follow."""

COLUMNS = (
    "kind",
    "major_code",
    "major_name",
    "major_en",
    "minor_code",
    "minor_name",
    "minor_en",
    "department",
    "limit_value",
    "limit_unit",
    "filing_standard",
    "closing_standard",
    "evidence",
    "limit_source",
)
LIMIT_UNITS = {"work_hours": "工作时", "work_days": "工作日", "hours": "小时", "days": "天"}
"""Units of a category's handling limit: working hours / days on the calendar, or clock hours / days."""
_UNIT_ALIASES = {
    "工作时": "work_hours",
    "工作小时": "work_hours",
    "工作日": "work_days",
    "小时": "hours",
    "天": "days",
    "日": "days",
    "h": "hours",
    "d": "days",
    "wh": "work_hours",
    "wd": "work_days",
}
_KINDS = {"component": "component", "event": "event", "部件": "component", "事件": "event"}

EXTENSIONS = pd.DataFrame(
    [
        (
            "X01",
            "event",
            "",
            "扩展事件",
            "extension",
            "",
            "不文明养犬",
            "uncivil dog keeping",
            "enforcement",
            "gridplan extension (Zhengzhou seed 000), not a standard minor",
        ),
        (
            "X02",
            "event",
            "",
            "扩展事件",
            "extension",
            "",
            "飞线充电",
            "fly charging cable",
            "subdistrict",
            "gridplan extension (DOMAIN.md typical problems), not a standard minor",
        ),
    ],
    columns=[
        "id",
        "kind",
        "major_code",
        "major_name",
        "major_en",
        "minor_code",
        "minor_name",
        "minor_en",
        "department",
        "evidence",
    ],
).set_index("id")
"""Categories gridplan's own incident types need that the standard sources do not list (labelled as such)."""

TYPE_CATEGORIES: dict[str, str] = {
    "street_vending": "E0501",  # 占道经营 → 无照经营游商
    "illegal_parking": "E0505",  # 违规停车 → 机动车乱停放
    "garbage": "E0102",  # 暴露垃圾
    "small_ads": "E0201",  # 小广告 → 非法小广告
    "drainage": "E0404",  # 排水不畅/积水 → 下水道堵塞或破损
    "lighting": "C0118",  # 路灯不亮 → component 路灯
    "heat_pipe": "E0405",  # 热力管道渗漏 → 热力管道破裂 (one source)
    "illegal_construction": "E0101",  # 违法建设 → 私搭乱建
    "dog_keeping": "X01",  # not in the standard: gridplan extension
    "noise": "E0508",  # 噪音扰民 → 商业噪音 (the closest standard minor)
    "fly_cable": "X02",  # not in the standard: gridplan extension
}
"""gridplan's 11 incident types (:func:`gridplan.simulate.default_types`) → catalogue ids."""


def _standard_table() -> pd.DataFrame:
    path = resources.files("gridplan") / "data" / "catalogue.csv"
    with resources.as_file(path) as p:
        table = pd.read_csv(p, comment="#", dtype=str, keep_default_na=False)
    return table.set_index("id")


def _clean(table: pd.DataFrame) -> pd.DataFrame:
    """Columns in order, text as text ('' for missing), limits as float."""
    t = table.copy()
    for c in COLUMNS:
        if c not in t.columns:
            t[c] = ""
    t = t[list(COLUMNS)]
    for c in COLUMNS:
        if c != "limit_value":
            t[c] = t[c].fillna("").astype(str).str.strip()
    t["limit_value"] = pd.to_numeric(t["limit_value"].replace("", np.nan), errors="coerce")
    t["limit_unit"] = t["limit_unit"].map(lambda u: _UNIT_ALIASES.get(u, u))
    t.index.name = "id"
    return t


class Catalogue:
    """Case categories with codes, names, departments and limits (see the module docstring).

    Attributes
    ----------
    table : DataFrame
        One row per category, index ``id`` (``C`` + major + minor for components, ``E`` + ... for
        events, a city's own codes as given); columns ``kind`` (component / event), ``major_code``,
        ``major_name``, ``major_en``, ``minor_code``, ``minor_name``, ``minor_en``,
        ``department``, ``limit_value`` and ``limit_unit`` (:data:`LIMIT_UNITS`; empty: the
        severity rule applies), ``filing_standard``, ``closing_standard`` (立案 / 结案标准),
        ``evidence`` (where the row comes from), ``limit_source``, ``maps_to`` (the standard id a
        city code stands for, else its own id) and ``origin`` (``standard``, ``extension`` or
        ``city``).
    aliases : dict
        Other keys of every category (minor names, gridplan type names, a city's codes) → id.
    params : dict
    """

    def __init__(
        self, table: pd.DataFrame, *, aliases: Mapping[str, str] | None = None, params: Mapping[str, Any] | None = None
    ) -> None:
        self.table = table
        self.aliases = dict(aliases or {})
        self.params = dict(params or {})
        self._keys: dict[str, str] | None = None

    # ------------------------------------------------------------------ lookups
    def _key_table(self) -> dict[str, str]:
        if self._keys is None:
            keys: dict[str, str] = {}
            t = self.table
            for i, name in zip(t.index, t["minor_name"]):  # names first; ids and aliases win on a clash
                if name and name not in keys:
                    keys[name] = i
            keys.update({k: v for k, v in self.aliases.items() if v in t.index})
            keys.update({i: i for i in t.index})
            self._keys = keys
        return self._keys

    def lookup(self, values: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """Catalogue id of each value (an id, a city code, a minor name or a gridplan type), vectorised.

        Returns ``(ids, known)``: an object array of ids (None where unknown) and a boolean mask.
        """
        s = pd.Series(np.asarray(values, dtype=object) if not isinstance(values, pd.Series) else values.to_numpy(object))
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        keys = self._key_table()
        mapped = np.array([keys.get(str(u).strip()) if u is not None else None for u in uniques] + [None], dtype=object)
        ids = mapped[codes]
        return ids, np.array([v is not None for v in mapped], dtype=bool)[codes]

    def column(self, ids: np.ndarray, name: str) -> np.ndarray:
        """``table[name]`` of each id (None / NaN where the id is None)."""
        col = self.table[name]
        values = np.empty(len(col) + 1, dtype=object)
        values[:-1] = col.to_numpy(dtype=object)
        values[-1] = np.nan if name == "limit_value" else None
        pos = self.table.index.get_indexer(pd.Index(ids, dtype=object))
        return values[pos]  # -1 → the filler at the end

    def majors(self) -> pd.DataFrame:
        """The major categories: kind, code, name (also with the standard's 类 suffix), English gloss, minors.

        Examples
        --------
        >>> load_catalogue(extensions=False).majors().loc[("event", "05"), "major_name_full"]
        '街面秩序类'
        """
        t = self.table[self.table["major_code"] != ""]
        g = t.groupby(["kind", "major_code"], sort=True)
        out = g[["major_name", "major_en"]].first()
        out["major_name_full"] = out["major_name"] + "类"
        out["minors"] = g.size()
        return out[["major_name", "major_name_full", "major_en", "minors"]]

    # ------------------------------------------------------------------ building
    def extend(
        self, city: pd.DataFrame | PathLike, *, code: str = "code", maps_to: str = "maps_to", name: str | None = None
    ) -> Catalogue:
        """This catalogue with a city's categories: new codes, overrides, departments and limits.

        Parameters
        ----------
        city : DataFrame or path to a CSV
            One row per city category. Column ``code`` (the city's code; required, unique);
            ``maps_to`` (the standard id it stands for: it inherits that row and overrides what
            the city gives); any of the catalogue's columns (``kind``, ``major_name``,
            ``minor_name``, ``department``, ``limit_value``, ``limit_unit``, ...). A code equal
            to an existing id overrides that row. A new code without ``maps_to`` is a city
            category of its own and needs ``kind`` and ``minor_name``.
        code, maps_to : str
            Column names.
        name : str, optional
            A label for the city (kept in :attr:`params`).

        Returns
        -------
        Catalogue
            A new catalogue (this one is unchanged); a city code is also a lookup key.

        Raises
        ------
        DataError
            A missing ``code`` column, repeated codes, a ``maps_to`` that is not in the
            catalogue, a new category without kind or name, an unknown limit unit or a negative
            limit (each names the rows).
        """
        frame = _read_city(city)
        if code not in frame.columns:
            raise DataError(
                f"the city's categories need a {code!r} column (its own case codes); columns are {list(frame.columns)}"
            )
        codes = frame[code].astype(str).str.strip()
        dup = sorted(set(codes[codes.duplicated()]))
        if dup or (codes == "").any():
            raise DataError(
                f"city codes must be unique and non-empty; repeated: {dup[:5]}, empty in rows "
                f"{frame.index[codes == ''].tolist()[:5]}"
            )
        table = self.table.copy()
        aliases = dict(self.aliases)
        given = [c for c in COLUMNS if c in frame.columns]
        target = (
            frame[maps_to].fillna("").astype(str).str.strip() if maps_to in frame.columns else pd.Series("", index=frame.index)
        )
        unknown = [(c, t) for c, t in zip(codes, target) if t and t not in table.index and t not in self._key_table()]
        if unknown:
            raise DataError(
                f"maps_to names categories the catalogue does not have: {unknown[:5]}; use a standard id "
                "(e.g. 'E0102'), a minor name or leave maps_to empty for a city category of its own"
            )
        rows = []
        for (_, row), c, t in zip(frame.iterrows(), codes, target):
            if c in table.index:
                base = table.loc[c].copy()
                base["origin"] = "city"
            elif t:
                base = table.loc[self._key_table().get(t, t)].copy()
                base["maps_to"] = self._key_table().get(t, t)
                base["origin"] = "city"
            else:
                base = pd.Series({col: "" for col in table.columns})
                base["limit_value"] = np.nan
                base["maps_to"], base["origin"] = c, "city"
            for col in given:
                v = row[col]
                if isinstance(v, float) and math.isnan(v) or (isinstance(v, str) and not v.strip()):
                    continue
                base[col] = v
            if not str(base.get("evidence", "")):
                base["evidence"] = "city"
            rows.append(base.rename(c))
        add = _clean(pd.DataFrame(rows))
        bad_new = [
            c
            for c, t in zip(codes, target)
            if c not in table.index and not t and (add.at[c, "kind"] not in _KINDS or not add.at[c, "minor_name"])
        ]
        if bad_new:
            raise DataError(
                f"city categories {bad_new[:5]} map to no standard category (maps_to is empty): give them "
                "kind ('component' or 'event') and minor_name"
            )
        add["kind"] = add["kind"].map(lambda k: _KINDS.get(k, k))
        add["maps_to"] = [r.get("maps_to", c) or c for c, r in zip(add.index, rows)]
        add["origin"] = "city"
        _check_limits(add)
        keep = table.drop(index=[c for c in add.index if c in table.index])
        table = pd.concat([keep, add[table.columns]])
        table.index.name = "id"
        params = {**self.params, "city": name or self.params.get("city") or "city", "city_rows": len(add)}
        return Catalogue(table, aliases=aliases, params=params)

    # ------------------------------------------------------------------ protocol
    def summary(self) -> pd.DataFrame:
        """Categories per kind and major category, with how many have a department and a limit."""
        t = self.table
        g = t.groupby(["kind", "major_code", "major_name"], sort=True, dropna=False)
        return pd.DataFrame(
            {
                "minors": g.size(),
                "with_department": g["department"].apply(lambda s: int((s != "").sum())),
                "with_limit": g["limit_value"].apply(lambda s: int(s.notna().sum())),
            }
        )

    def to_csv(self, path: PathLike) -> Path:
        """Write the table (with ``maps_to`` and ``origin``) to a CSV that :meth:`read_csv` reads back."""
        path = Path(path)
        self.table.rename_axis("id").to_csv(path, encoding="utf-8")
        return path

    @classmethod
    def read_csv(cls, path: PathLike) -> Catalogue:
        """Read a catalogue written by :meth:`to_csv`."""
        t = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None).set_index("id")
        extra = t[[c for c in ("maps_to", "origin") if c in t.columns]]
        table = _clean(t)
        for c in ("maps_to", "origin"):
            table[c] = extra[c] if c in extra else ""
        return cls(table, aliases=dict(TYPE_CATEGORIES), params={"source": str(path)})

    def to_file(self, path: PathLike) -> Path:
        """Same as :meth:`to_csv` (a catalogue is one plain table)."""
        return self.to_csv(path)

    @classmethod
    def read_file(cls, path: PathLike) -> Catalogue:
        """Same as :meth:`read_csv`."""
        return cls.read_csv(path)

    def plot(self, ax: Axes | None = None, *, title: str | None = None) -> Axes:
        """Minor categories per major category (bars), components and events side by side."""
        from . import plot as _plot

        ax = _plot.axes(ax, figsize=(8, 4))
        s = self.summary()["minors"]
        en = self.table.groupby(["kind", "major_code", "major_name"], sort=True)["major_en"].first()
        labels = [_plot.label(f"{k[0][0].upper()}{k[1]} {k[2]} ({en[k]})", f"{k[0][0].upper()}{k[1]}") for k in s.index]
        ax.barh(labels, s.to_numpy(), color=["#4c78a8" if k[0] == "component" else "#f58518" for k in s.index])
        ax.set_xlabel("minor categories")
        ax.invert_yaxis()
        ax.set_title(title or f"Catalogue: {len(self.table)} categories ({self.params.get('standard', STANDARD)})")
        return ax

    def __len__(self) -> int:
        return len(self.table)

    def __repr__(self) -> str:
        kinds = self.table["kind"].value_counts()
        return (
            f"<Catalogue {self.params.get('standard', STANDARD)}: {int(kinds.get('component', 0))} component and "
            f"{int(kinds.get('event', 0))} event categories"
            f"{', city ' + str(self.params['city']) if 'city' in self.params else ''}>"
        )

    def _repr_html_(self) -> str:
        return (
            f"<div><b>{html.escape(repr(self)[1:-1])}</b>{self.summary().to_html()}"
            f"<details><summary>categories</summary>{self.table.to_html(max_rows=200)}</details></div>"
        )


def _read_city(city: Any) -> pd.DataFrame:
    if isinstance(city, pd.DataFrame):
        return city.reset_index(drop=True)
    if isinstance(city, (str, Path)):
        try:
            return pd.read_csv(city, dtype=str, keep_default_na=False, comment="#")
        except (OSError, ValueError) as exc:
            raise DataError(f"cannot read the city's categories from {city!r}: {exc}") from exc
    raise DataError(f"city categories must be a DataFrame or a CSV path, got {type(city).__name__}")


def _check_limits(t: pd.DataFrame) -> None:
    bad_unit = t.index[(t["limit_unit"] != "") & ~t["limit_unit"].isin(list(LIMIT_UNITS))].tolist()
    if bad_unit:
        raise DataError(f"limit_unit of {bad_unit[:5]} is not one of {list(LIMIT_UNITS)} (or 工作时 / 工作日 / 小时 / 天)")
    v = t["limit_value"]
    bad = t.index[(v.notna() & ~(v >= 0)) | (v.notna() & (t["limit_unit"] == "")) | (v.isna() & (t["limit_unit"] != ""))]
    if len(bad):
        raise DataError(f"limits of {bad.tolist()[:5]} must be a number >= 0 together with its unit")


def load_catalogue(city: pd.DataFrame | PathLike | None = None, *, extensions: bool = True, name: str | None = None) -> Catalogue:
    """The standard catalogue (package data), optionally with gridplan's extensions and a city's own.

    Parameters
    ----------
    city : DataFrame or CSV path, optional
        The city's categories (see :meth:`Catalogue.extend`).
    extensions : bool
        Add :data:`EXTENSIONS` (categories gridplan's default incident types need that the
        standard sources lack, e.g. 不文明养犬), labelled ``origin='extension'``.
    name : str, optional
        The city's name.

    Examples
    --------
    >>> import pandas as pd
    >>> city = pd.DataFrame({"code": ["JN-07", "E0102"], "maps_to": ["暴露垃圾", ""],
    ...                      "department": ["历下区环卫中心", ""], "limit_value": ["2", "4"],
    ...                      "limit_unit": ["工作时", "工作时"]})
    >>> cat = load_catalogue(city, name="Jinan Lixia")
    >>> cat.table.loc["JN-07", ["maps_to", "department", "limit_unit"]].tolist(), float(cat.table.at["JN-07", "limit_value"])
    (['E0102', '历下区环卫中心', 'work_hours'], 2.0)
    >>> float(cat.table.at["E0102", "limit_value"]), cat.table.at["E0102", "department"]
    (4.0, 'sanitation')
    """
    t = _clean(_standard_table())
    t["maps_to"] = t.index
    t["origin"] = "standard"
    if extensions:
        ext = _clean(EXTENSIONS)
        ext["maps_to"] = ext.index
        ext["origin"] = "extension"
        t = pd.concat([t, ext])
    _check_limits(t)
    cat = Catalogue(t, aliases=dict(TYPE_CATEGORIES), params={"standard": STANDARD, "extensions": bool(extensions)})
    return cat.extend(city, name=name) if city is not None else cat


# ============================================================================ deadlines
@dataclass(frozen=True)
class DeadlineRule:
    """How a case's deadline is set: the category's limit, else its severity level ("7123").

    Parameters
    ----------
    respond_min : float
        Minutes to be face to face with the reporter (the "7" of "7123"; clock minutes).
    levels : mapping
        Severity → ``(level, days)``: who handles it and its limit in days (default "7123":
        small 1 day by the grid, larger 2 by the community, hard 3 by the subdistrict).
    mode : {"calendar", "working"}
        Count the levels' days as calendar days (24 h) or as working days on the calendar.
    use_category_limits : bool
        A category with its own limit in the catalogue uses it (in its unit) instead of the level's.

    Examples
    --------
    >>> RULE_7123.level_limit("hard")
    ('subdistrict', 3.0)
    """

    respond_min: float = 7.0
    levels: Mapping[str, tuple[str, float]] = field(
        default_factory=lambda: {"small": ("grid", 1.0), "larger": ("community", 2.0), "hard": ("subdistrict", 3.0)}
    )
    mode: str = "calendar"
    use_category_limits: bool = True

    def __post_init__(self) -> None:
        if self.mode not in ("calendar", "working"):
            raise DataError(f"mode must be 'calendar' or 'working', got {self.mode!r}")
        if not self.levels:
            raise DataError("a deadline rule needs at least one severity level")
        for sev, lv in self.levels.items():
            if not (isinstance(lv, (tuple, list)) and len(lv) == 2 and float(lv[1]) >= 0):
                raise DataError(f"level of severity {sev!r} must be (level name, days >= 0), got {lv!r}")

    def level_limit(self, severity: str) -> tuple[str, float]:
        level, days = self.levels[severity]
        return str(level), float(days)


RULE_7123 = DeadlineRule()
"""Jinan Lixia's "7123" (7 minutes; 1 / 2 / 3 days by grid / community / subdistrict), calendar days."""

_SEVERITY_ALIASES = {
    1: "small",
    2: "larger",
    3: "hard",
    "1": "small",
    "2": "larger",
    "3": "hard",
    "一般": "small",
    "较大": "larger",
    "疑难": "hard",
    "minor": "small",
    "major": "larger",
    "serious": "hard",
}


def deadlines(
    reported: ArrayLike,
    categories: ArrayLike,
    *,
    severity: ArrayLike | Sequence[object] | None = None,
    catalogue: Catalogue | None = None,
    calendar: WorkCalendar | None = None,
    rule: DeadlineRule = RULE_7123,
) -> pd.DataFrame:
    """Deadline of every case from its report time, category and severity (vectorised).

    Parameters
    ----------
    reported : array of timestamps
    categories : array
        Catalogue ids, minor names, city codes or gridplan types (unknown ones get the severity
        rule and a reason).
    severity : array, optional
        ``small`` / ``larger`` / ``hard`` (or 1 / 2 / 3, 一般 / 较大 / 疑难); default ``small``.
    catalogue : Catalogue, optional
        Default :func:`load_catalogue`.
    calendar : WorkCalendar, optional
        Needed for working-time limits (``mode="working"`` or categories limited in 工作时 /
        工作日); default a Monday-Friday 9-12 / 13-18 calendar without holidays (an assumption:
        pass the city's).
    rule : DeadlineRule

    Returns
    -------
    DataFrame
        ``category_id``, ``department``, ``level``, ``limit_value``, ``limit_unit``,
        ``limit_rule`` (``"category"`` or ``"severity"``), ``respond_by``, ``deadline``,
        ``reason`` (unknown category or severity, else missing); one row per case, in order.

    Examples
    --------
    >>> import pandas as pd
    >>> cal = WorkCalendar()
    >>> d = deadlines(pd.to_datetime(["2026-03-06 16:00", "2026-03-06 16:00"]), ["道路不洁", "unknown"],
    ...               severity=["small", "hard"], calendar=cal, rule=DeadlineRule(mode="working"))
    >>> d["deadline"].dt.strftime("%a %H:%M").tolist(), d["limit_rule"].tolist()
    (['Mon 12:00', 'Wed 16:00'], ['category', 'severity'])
    """
    catalogue = load_catalogue() if catalogue is None else catalogue
    calendar = WorkCalendar(name="default Mon-Fri 9-12/13-18 (assumption)") if calendar is None else calendar
    t0 = pd.DatetimeIndex(pd.to_datetime(pd.Series(reported), errors="coerce")).as_unit("ns")
    tz = t0.tz
    if tz is not None:  # limits run on the wall clock of the report's zone
        t0 = t0.tz_localize(None)
    n = len(t0)
    ids, known = catalogue.lookup(categories)
    if len(ids) != n:
        raise DataError(f"{len(ids)} categories for {n} report times")
    sev_in = np.full(n, None, dtype=object) if severity is None else np.asarray(severity, dtype=object)
    scodes, suniq = pd.factorize(pd.Series(sev_in), use_na_sentinel=True)
    default = next(iter(rule.levels))
    given: list[Any] = [
        s if s in rule.levels else _SEVERITY_ALIASES.get(s, _SEVERITY_ALIASES.get(str(s).strip())) for s in suniq
    ] + [default]
    sev_known = np.array([s in rule.levels for s in given])[scodes]
    names: list[str] = [str(s) if s in rule.levels else default for s in given]
    level = np.array([rule.levels[s][0] for s in names], dtype=object)[scodes]
    level_days = np.array([float(rule.levels[s][1]) for s in names])[scodes]
    value = catalogue.column(ids, "limit_value").astype(float)
    unit = catalogue.column(ids, "limit_unit")
    use_cat = rule.use_category_limits & np.isfinite(value) & np.not_equal(unit, _NONE) & (unit != "")
    deadline = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    base = t0.asi8

    def clock(mask: np.ndarray, minutes: np.ndarray) -> None:
        ok = mask & (base != np.iinfo(np.int64).min)
        deadline[ok] = base[ok] + np.round(minutes[ok] * 60e9).astype(np.int64)

    def working(mask: np.ndarray, minutes: np.ndarray) -> None:
        if mask.any():
            deadline[mask] = calendar.add(t0[mask], minutes=minutes[mask]).asi8

    unit_s = np.asarray(unit, dtype=object)
    for u, per in (("hours", 60.0), ("days", 1440.0)):
        clock(use_cat & (unit_s == u), value * per)
    working(use_cat & (unit_s == "work_hours"), value * 60.0)
    working(use_cat & (unit_s == "work_days"), value * calendar.minutes_per_day)
    sev_rule = ~use_cat
    if rule.mode == "calendar":
        clock(sev_rule, level_days * 1440.0)
    else:
        working(sev_rule, level_days * calendar.minutes_per_day)
    reason = np.full(n, None, dtype=object)
    cats_in = np.asarray(categories, dtype=object)
    unknown_cat = ~known
    if unknown_cat.any():
        reason[unknown_cat] = [f"unknown category {c!r}: deadline by severity" for c in cats_in[unknown_cat]]
    bad_sev = ~sev_known & pd.notna(pd.Series(sev_in)).to_numpy()
    if bad_sev.any():
        msg = np.array([f"unknown severity {s!r}: {default}" for s in sev_in[bad_sev]], dtype=object)
        reason[bad_sev] = _join(reason[bad_sev], msg)
    respond = base + int(rule.respond_min * 60e9)
    respond[base == np.iinfo(np.int64).min] = np.iinfo(np.int64).min
    respond_ts = pd.DatetimeIndex(respond.view("datetime64[ns]"))
    deadline_ts = pd.DatetimeIndex(deadline.view("datetime64[ns]"))
    if tz is not None:
        respond_ts = respond_ts.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
        deadline_ts = deadline_ts.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    return pd.DataFrame(
        {
            "category_id": pd.array(ids, dtype="string"),
            "department": pd.array(catalogue.column(ids, "department"), dtype="string"),
            "level": pd.array(level, dtype="string"),
            "limit_value": np.where(use_cat, value, level_days),
            "limit_unit": pd.array(
                np.where(use_cat, unit_s, _obj("work_days" if rule.mode == "working" else "days")), dtype="string"
            ),
            "limit_rule": pd.array(_pick(use_cat, "category", "severity"), dtype="string"),
            "respond_by": respond_ts,
            "deadline": deadline_ts,
            "reason": pd.array(reason, dtype="string"),
        }
    )


# ============================================================================ dispatch (used by GridIndex.assign)
_DISPATCH_CHUNK = 1 << 16  # cases dispatched at a time (about 15 MB of temporaries)
DEFAULT_DEPARTMENT = "城管指挥中心 (command centre)"
"""Where cases without a known category or department are dispatched unless the caller says otherwise."""


def _obj(value: Any) -> np.ndarray:
    """A 0-d object array: ``np.where`` with it keeps one shared str instead of a new one per row."""
    out = np.empty((), dtype=object)
    out[()] = value
    return out


def _pick(mask: np.ndarray, yes: str, no: str) -> np.ndarray:
    """``yes`` where mask else ``no``, as an object array of two shared strings."""
    return np.array([no, yes], dtype=object)[np.asarray(mask, dtype=np.int8)]


def _join(a: Any, b: Any) -> np.ndarray:
    """Reasons joined by "; " element by element (None, NaN and "" are no reason); None where neither has one."""
    a = np.asarray(pd.Series(np.asarray(a, dtype=object)).fillna("").to_numpy(dtype=object))
    b = np.asarray(pd.Series(np.asarray(b, dtype=object)).fillna("").to_numpy(dtype=object))
    a, b = np.broadcast_arrays(a, b)
    out = np.where(a == "", b, a).astype(object)
    both = (a != "") & (b != "")
    if both.any():
        out[both] = a[both] + "; " + b[both]
    out[out == ""] = None
    return out


def rule_from_limits(limits: TimeLimits, *, working: bool) -> DeadlineRule:
    """A :class:`DeadlineRule` with the severities, levels and limits of a :class:`~gridplan.locate.TimeLimits`."""
    levels = {s: (lv, pd.Timedelta(td) / pd.Timedelta(days=1)) for s, (lv, td) in limits.levels.items()}
    levels = {limits.default: levels[limits.default], **levels}  # the first level is the default severity
    return DeadlineRule(
        respond_min=pd.Timedelta(limits.respond) / pd.Timedelta(minutes=1),
        levels=levels,
        mode="working" if working else "calendar",
    )


def dispatch(
    categories: ArrayLike,
    *,
    reported: ArrayLike | None = None,
    severity: ArrayLike | Sequence[object] | None = None,
    catalogue: Catalogue | None = None,
    calendar: WorkCalendar | None = None,
    rule: DeadlineRule | None = None,
    limits: TimeLimits | None = None,
    default_department: str = DEFAULT_DEPARTMENT,
) -> pd.DataFrame:
    """Category, department and (with report times) the deadline of every case: what ``assign`` adds.

    Unknown categories and categories without a department are kept, dispatched to
    ``default_department`` and given a reason. Returns columns ``category_id``, ``category_name``,
    ``kind``, ``department``, ``limit_rule`` and, with ``reported``, ``respond_by`` and
    ``deadline``, plus ``reason``.
    """
    catalogue = load_catalogue() if catalogue is None else catalogue
    if rule is None and limits is not None:
        rule = rule_from_limits(limits, working=calendar is not None)
    rule = RULE_7123 if rule is None else rule
    cats = np.asarray(categories, dtype=object)
    if len(cats) > _DISPATCH_CHUNK:  # bounded temporaries: the peak memory does not grow with the number of cases
        parts = []
        for i in range(0, len(cats), _DISPATCH_CHUNK):
            part = slice(i, i + _DISPATCH_CHUNK)
            parts.append(
                dispatch(
                    cats[part],
                    reported=None if reported is None else np.asarray(reported)[part],
                    severity=None if severity is None else np.asarray(severity, dtype=object)[part],
                    catalogue=catalogue,
                    calendar=calendar,
                    rule=rule,
                    limits=limits,
                    default_department=default_department,
                )
            )
        return pd.concat(parts, ignore_index=True)
    if severity is not None and limits is not None:  # the index's TimeLimits names the severities
        codes, uniq = pd.factorize(pd.Series(np.asarray(severity, dtype=object)), use_na_sentinel=True)
        names = np.array([limits.severity(u) or u for u in uniq] + [limits.default], dtype=object)
        severity = names[codes]
    if reported is not None:
        out = deadlines(reported, cats, severity=severity, catalogue=catalogue, calendar=calendar, rule=rule)
    else:
        ids, known = catalogue.lookup(cats)
        use = np.isfinite(catalogue.column(ids, "limit_value").astype(float)) & rule.use_category_limits
        reason = np.where(known, _obj(None), np.array([f"unknown category {c!r}" for c in cats], dtype=object))
        out = pd.DataFrame(
            {
                "category_id": pd.array(ids, dtype="string"),
                "department": pd.array(catalogue.column(ids, "department"), dtype="string"),
                "limit_rule": pd.array(_pick(use, "category", "severity"), dtype="string"),
                "reason": pd.array(reason, dtype="string"),
            }
        )
    ids = out["category_id"].to_numpy(dtype=object, na_value=None)
    dept = out["department"].to_numpy(dtype=object, na_value=None)
    no_dept = np.array([d is None or d == "" for d in dept])
    known = np.array([i is not None for i in ids])
    why = out["reason"].to_numpy(dtype=object, na_value=None)
    extra = np.full(len(ids), None, dtype=object)
    extra[no_dept] = f"category has no department: dispatched to {default_department}"
    extra[~known] = f"dispatched to {default_department}"
    why = _join(why, extra)
    out["department"] = pd.array(np.where(no_dept, _obj(default_department), dept), dtype="string")
    out["reason"] = pd.array(why, dtype="string")
    out.insert(1, "category_name", pd.array(catalogue.column(ids, "minor_name"), dtype="string"))
    out.insert(2, "kind", pd.array(catalogue.column(ids, "kind"), dtype="string"))
    keep = ["category_id", "category_name", "kind", "department", "limit_rule", "respond_by", "deadline", "reason"]
    return out[[c for c in keep if c in out.columns]]
