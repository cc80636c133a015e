"""Case ledgers (案件台账): reading a bureau's case export, validated row by row.

A digital city-management bureau keeps every case: its id, category (a code or a
name), source (patrol, 12345 hotline, ...), the time it was reported and closed,
and where it happened, as longitude/latitude (WGS84, GCJ-02 from Amap/Tencent,
BD-09 from Baidu, CGCS2000) or projected x/y.  :func:`read_ledger` reads such an
export (CSV or Excel, Chinese or English headers) into a GeoDataFrame of points
in WGS84 (or the district's CRS), one row per input row: **no row is dropped**.
A row that cannot be used (coordinates missing or outside the valid range,
times that do not parse, closed before reported, a category not in the list
given, a repeated case id, a point outside the district) keeps its place with
a ``reason``; ``ledger[ledger["reason"] == ""]`` are the usable cases.

A ledger becomes workload (``build_units(district, workload={"cases": ledger})``
counts the usable cases per unit, summing a ``weight`` column, e.g. from
:func:`weigh`) and demand (``place_posts(plan, 42, demand=ledger)``: posts where
the cases are).

Category handling is deliberately simple: a code or name column, checked
against a list of known categories when one is given (``categories=``).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"案件编号": ["A1", "A2"], "小类": ["0101", "0102"],
...                       "上报时间": ["2024-05-01 08:00", "not a time"],
...                       "经度": [116.397, 116.40], "纬度": [39.909, 39.91]})
>>> cases = read_ledger(frame, crs="GCJ-02")
>>> cases["reason"].tolist()
['', 'reported time does not parse: not a time']
>>> cases.crs.to_epsg()
4326
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import crs as gcrs
from .errors import CRSError, DataError

if TYPE_CHECKING:  # pragma: no cover
    from .district import District
    from .typing import CRSLike, PathLike

__all__ = ["read_ledger", "weigh", "FIELDS", "HEADERS"]

#: The ledger's fields, in order.
FIELDS = ("case_id", "category", "source", "reported", "closed", "lon", "lat", "x", "y")

#: Headers recognised without ``columns=`` (lower-cased, spaces and underscores ignored).
HEADERS: dict[str, tuple[str, ...]] = {
    "case_id": ("caseid", "id", "caseno", "case", "案件编号", "案卷编号", "编号", "任务号", "工单号"),
    "category": (
        "category",
        "type",
        "code",
        "categorycode",
        "subcategory",
        "案件类别",
        "类别",
        "小类",
        "案件小类",
        "问题类型",
        "事部件类型",
    ),
    "source": ("source", "channel", "来源", "案件来源", "问题来源"),
    "reported": ("reported", "reportedat", "reportedtime", "time", "上报时间", "受理时间", "立案时间", "发现时间"),
    "closed": ("closed", "closedat", "closedtime", "结案时间", "办结时间", "处置完成时间"),
    "lon": ("lon", "lng", "long", "longitude", "经度"),
    "lat": ("lat", "latitude", "纬度"),
    "x": ("x", "xcoord", "easting", "x坐标", "横坐标"),
    "y": ("y", "ycoord", "northing", "y坐标", "纵坐标"),
}

#: Datums tried when the stated one puts too few points in the district.
DATUMS = ("EPSG:4326", "GCJ-02", "BD-09")
#: The stated datum is wrong when fewer than this share of points fall in the district and
#: another datum places at least DATUM_MARGIN more of them inside.
DATUM_INSIDE = 0.98
DATUM_MARGIN = 0.03
#: Valid longitude/latitude ranges (degrees).
LON_RANGE = (-180.0, 180.0)
LAT_RANGE = (-90.0, 90.0)


def _key(header: Any) -> str:
    return str(header).strip().lower().replace(" ", "").replace("_", "").replace("-", "")


def _read(source: Any) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):
        return source.copy()
    if not isinstance(source, (str, Path)):
        raise DataError(f"read_ledger takes a path (CSV or Excel) or a DataFrame, got {type(source).__name__}")
    path = Path(source)
    if not path.exists():
        raise DataError(f"ledger file {str(path)!r} does not exist")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".xls"):
        try:
            return pd.read_excel(path, dtype=str)
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise DataError(
                "reading Excel needs openpyxl: pip install openpyxl (or gridplan[excel]), or save the sheet as CSV"
            ) from exc
    if suffix in (".csv", ".txt", ""):
        for encoding in ("utf-8-sig", "gb18030"):  # bureaus export UTF-8 or GBK
            try:
                return pd.read_csv(path, dtype=str, encoding=encoding)
            except UnicodeDecodeError:
                continue
        raise DataError(f"ledger {str(path)!r} is neither UTF-8 nor GB18030 text; re-save it as UTF-8 CSV")
    raise DataError(f"ledger {str(path)!r}: use a .csv or .xlsx file")


def _map_columns(frame: pd.DataFrame, columns: Mapping[str, str] | None) -> dict[str, str]:
    """Ledger field -> the frame's column."""
    found: dict[str, str] = {}
    given = dict(columns or {})
    unknown = [f for f in given if f not in FIELDS]
    if unknown:
        raise DataError(
            f"columns= maps ledger fields to your headers; {unknown} are not fields, use {list(FIELDS)} "
            "(e.g. columns={'case_id': '案卷号', 'category': '小类名称'})"
        )
    for field, header in given.items():
        if header not in frame.columns:
            raise DataError(
                f"columns= maps {field!r} to {header!r}, which is not a header of the ledger; its headers "
                f"are {list(frame.columns)}"
            )
        found[field] = header
    by_key = {_key(c): c for c in frame.columns}
    for field, names in HEADERS.items():
        if field in found:
            continue
        for name in names:
            if _key(name) in by_key and by_key[_key(name)] not in found.values():
                found[field] = by_key[_key(name)]
                break
    has_lonlat = "lon" in found and "lat" in found
    has_xy = "x" in found and "y" in found
    if not (has_lonlat or has_xy):
        raise DataError(
            f"the ledger has no coordinate columns gridplan recognises (headers: {list(frame.columns)}); "
            "name them with columns={'lon': '经度', 'lat': '纬度'} or {'x': ..., 'y': ...}"
        )
    if "case_id" not in found:
        raise DataError(
            f"the ledger has no case id column gridplan recognises (headers: {list(frame.columns)}); "
            "name it with columns={'case_id': '<your header>'}"
        )
    return found


def _times(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parsed times and a mask of values given but not parsed."""
    text = values.astype("string").str.strip()
    empty = text.isna() | (text == "")
    parsed = pd.to_datetime(text.where(~empty), errors="coerce", format="mixed")
    return parsed, (parsed.isna() & ~empty).to_numpy()


def read_ledger(
    source: PathLike | pd.DataFrame,
    *,
    crs: CRSLike = "GCJ-02",
    columns: Mapping[str, str] | None = None,
    categories: Iterable[str] | None = None,
    district: District | None = None,
) -> gpd.GeoDataFrame:
    """Read a case ledger (CSV, Excel or DataFrame) into points, keeping every row.

    Parameters
    ----------
    source : str, Path or DataFrame
        The export.  CSV is read as UTF-8 or GB18030 (GBK), all columns as text.
    crs : str or pyproj CRS
        Datum of the coordinates: ``"GCJ-02"`` (default: Amap, Tencent), ``"BD-09"``
        (Baidu), ``"EPSG:4326"`` (WGS84), ``"EPSG:4490"`` (CGCS2000 lon/lat) or a
        projected CRS for x/y columns (e.g. ``"EPSG:4548"``, CGCS2000 Gauss-Krüger).
    columns : dict, optional
        Ledger field -> your header, for headers gridplan does not recognise; fields
        are ``case_id``, ``category``, ``source``, ``reported``, ``closed``, ``lon``,
        ``lat`` (or ``x``, ``y``).  Common Chinese and English headers (经度, 纬度,
        案件编号, 上报时间, 结案时间, 小类, 案件来源, ...) are found without it.
    categories : iterable of str, optional
        The known category codes or names; a row with another category gets a reason.
    district : District, optional
        Points are returned in the district's CRS, points outside its boundary get a
        reason, and a ledger whose points fall outside when read in ``crs`` but inside
        in another datum raises :class:`~gridplan.errors.CRSError` naming that datum.

    Returns
    -------
    GeoDataFrame
        One row per input row, same order and index: ``case_id``, ``category``,
        ``source``, ``reported``, ``closed`` (datetimes), ``reason`` ("" for a usable
        case), ``weight`` (1 for usable cases, 0 otherwise), the other input columns,
        and point geometry (empty where the coordinates are unusable) in WGS84 or the
        district's CRS.  ``attrs["ledger"]`` holds the source datum and the counts.

    Raises
    ------
    DataError
        No coordinate or case id column, unknown ``columns=`` entries, or no usable row.
    CRSError
        Unknown ``crs``, or coordinates that fit another datum (with ``district``).
    """
    frame = _read(source)
    if frame.empty:
        raise DataError("the ledger has no rows")
    datum = gcrs.parse_crs(crs)
    found = _map_columns(frame, columns)
    out = pd.DataFrame(index=frame.index)
    out["case_id"] = frame[found["case_id"]].astype("string").str.strip()
    for field in ("category", "source"):
        out[field] = frame[found[field]].astype("string").str.strip() if field in found else pd.NA
    reasons: list[list[str]] = [[] for _ in range(len(frame))]

    def flag(mask: np.ndarray, text: Any) -> None:
        for i in np.flatnonzero(mask):
            reasons[i].append(text(i) if callable(text) else text)

    ids = out["case_id"]
    flag((ids.isna() | (ids == "")).to_numpy(), "case id missing")
    flag(
        (ids.duplicated(keep="first") & ids.notna() & (ids != "")).to_numpy(),
        lambda i: f"case id {ids.iloc[i]} repeats an earlier row",
    )
    for field in ("reported", "closed"):
        if field in found:
            parsed, bad = _times(frame[found[field]])
            out[field] = parsed
            raw = frame[found[field]].astype("string")
            flag(bad, lambda i, raw=raw, field=field: f"{field} time does not parse: {raw.iloc[i]}")
        else:
            out[field] = pd.NaT
    flag((out["closed"] < out["reported"]).fillna(False).to_numpy(), "closed before it was reported")
    if categories is not None:
        known = {str(c).strip() for c in categories}
        if not known:
            raise DataError("categories= is empty; give the known category codes or names, or leave it out")
        if "category" not in found:
            raise DataError(
                "categories= was given but the ledger has no category column; name it with columns={'category': '<your header>'}"
            )
        cat = out["category"]
        flag(
            (cat.notna() & (cat != "") & ~cat.isin(known)).to_numpy(),
            lambda i: f"category {cat.iloc[i]!r} is not in the categories given",
        )
        flag((cat.isna() | (cat == "")).to_numpy(), "category missing")
    lon, lat, bad_xy = _coordinates(frame, found, datum)
    flag(bad_xy, "coordinates missing, not numbers or out of range")
    geoms = np.full(len(frame), None, dtype=object)
    ok = ~bad_xy
    geoms[ok] = shapely.points(lon[ok], lat[ok])
    gdf = gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geoms, index=frame.index, crs="EPSG:4326"))
    if district is not None:
        gdf, outside = _in_district(gdf, district, datum, frame, found, ok)
        flag(outside, "outside the district")
    gdf["reason"] = pd.array(["; ".join(r) for r in reasons], dtype="string")
    gdf["weight"] = np.where(gdf["reason"] == "", 1.0, 0.0)
    for col in frame.columns:  # the bureau's other columns ride along
        if col not in found.values() and col not in gdf.columns:
            gdf[col] = frame[col]
    n_ok = int((gdf["reason"] == "").sum())
    if n_ok == 0:
        common = pd.Series([r[0] for r in reasons if r]).value_counts().index[0]
        raise DataError(f"no usable row in the ledger ({len(gdf)} rows; most common problem: {common}); check columns= and crs=")
    gdf.attrs["ledger"] = {"crs": gcrs.crs_label(datum), "rows": len(gdf), "usable": n_ok, "columns": dict(found)}
    return gdf


def _coordinates(frame: pd.DataFrame, found: Mapping[str, str], datum: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """WGS84 lon/lat of every row and a mask of unusable coordinates."""
    lonlat = "lon" in found and "lat" in found
    a_col, b_col = (found["lon"], found["lat"]) if lonlat else (found["x"], found["y"])
    a = pd.to_numeric(frame[a_col], errors="coerce").to_numpy(float)
    b = pd.to_numeric(frame[b_col], errors="coerce").to_numpy(float)
    bad = ~np.isfinite(a) | ~np.isfinite(b)
    projected = isinstance(datum, gcrs.pyproj.CRS) and datum.is_projected
    if lonlat and projected:
        raise CRSError(
            f"the ledger has longitude/latitude columns but crs={gcrs.crs_label(datum)} is projected; "
            "pass the datum of the lon/lat (e.g. 'GCJ-02', 'EPSG:4326') or map x/y columns instead"
        )
    if not projected:
        bad |= (a < LON_RANGE[0]) | (a > LON_RANGE[1]) | (b < LAT_RANGE[0]) | (b > LAT_RANGE[1])
        bad |= (a == 0) & (b == 0)  # "null island": a missing value written as 0, 0
    lon = np.full(len(a), np.nan)
    lat = np.full(len(a), np.nan)
    ok = ~bad
    if ok.any():
        lon[ok], lat[ok] = gcrs.to_wgs84(a[ok], b[ok], datum)
    bad |= ~np.isfinite(lon) | ~np.isfinite(lat)
    return lon, lat, bad


def _inside_share(lon: np.ndarray, lat: np.ndarray, shape: Any) -> float:
    if len(lon) == 0:
        return 0.0
    return float(shapely.contains_xy(shape, lon, lat).mean())


def _in_district(
    gdf: gpd.GeoDataFrame, district: District, datum: Any, frame: pd.DataFrame, found: Mapping[str, str], ok: np.ndarray
) -> tuple[gpd.GeoDataFrame, np.ndarray]:
    """The points in the district's CRS, the mask of points outside it; a wrong datum is an error."""
    boundary = gpd.GeoSeries([district.shape], crs=district.crs).to_crs("EPSG:4326").iloc[0]
    shapely.prepare(boundary)
    pts = np.asarray(gdf.geometry.values)[ok]
    lon, lat = shapely.get_x(pts), shapely.get_y(pts)
    share = _inside_share(lon, lat, boundary)
    stated = gcrs.crs_label(datum)
    if share < DATUM_INSIDE and "lon" in found and not (isinstance(datum, gcrs.pyproj.CRS) and datum.is_projected):
        raw_lon = pd.to_numeric(frame[found["lon"]], errors="coerce").to_numpy(float)[ok]
        raw_lat = pd.to_numeric(frame[found["lat"]], errors="coerce").to_numpy(float)[ok]
        scores = {}
        for other in DATUMS:
            if gcrs.crs_label(other) == stated or (stated.startswith("EPSG:4490") and other == "EPSG:4326"):
                continue
            olon, olat = gcrs.to_wgs84(raw_lon, raw_lat, other)
            scores[gcrs.crs_label(other)] = _inside_share(np.asarray(olon), np.asarray(olat), boundary)
        if scores:
            best = max(scores, key=lambda d: scores[d])
            if scores[best] >= share + DATUM_MARGIN:
                raise CRSError(
                    f"read as {stated}, only {share:.0%} of the ledger's points fall in the district {district.name!r}; "
                    f"read as {best}, {scores[best]:.0%} do. The coordinates are probably {best}: pass crs={best!r}"
                )
    outside = np.zeros(len(gdf), bool)
    outside[np.flatnonzero(ok)] = ~shapely.contains_xy(boundary, lon, lat)
    return gdf.to_crs(district.crs), outside


def weigh(ledger: gpd.GeoDataFrame, by_category: Mapping[str, float], *, default: float = 1.0) -> gpd.GeoDataFrame:
    """The ledger with ``weight`` set per category (usable rows only; others stay 0).

    >>> import pandas as pd
    >>> cases = read_ledger(pd.DataFrame({"id": ["a", "b"], "category": ["0101", "0201"],
    ...                                   "lon": [116.4, 116.41], "lat": [39.9, 39.91]}), crs="EPSG:4326")
    >>> weigh(cases, {"0201": 3.0})["weight"].tolist()
    [1.0, 3.0]
    """
    if "reason" not in ledger or "category" not in ledger:
        raise DataError("weigh() takes a ledger read by read_ledger (it needs 'category' and 'reason' columns)")
    usable = (ledger["reason"] == "").to_numpy()
    cat = ledger["category"].astype("string")
    w = cat.map({str(k): float(v) for k, v in by_category.items()}).astype(float).fillna(default).to_numpy()
    if (w < 0).any() or not np.isfinite(w).all():
        raise DataError("category weights must be finite and >= 0")
    out = ledger.copy()
    out["weight"] = np.where(usable, w, 0.0)
    return out
