"""Data sets: the offline synthetic sample district and loaders for real files.

:func:`sample_district` needs nothing but gridplan itself: without a boundary it
builds the fictional 示例区; with ``boundary=`` (a real county outline, say) it
grows synthetic streets, communities, population and existing grids **inside
that real boundary**, in the local metric CRS gridplan picks for it. The
loaders for real data (:func:`county_boundary`, :func:`real_district`,
:func:`xicheng_subdistricts`, :func:`changan_streets`) read the GeoPackages that
accompany the project's tests (``shared/data``); point them at the folder with
``data_dir=`` or the ``GRIDPLAN_SHARED_DATA`` environment variable. County
boundaries there are published by map vendors in **GCJ-02**: the loaders convert
them with :mod:`gridplan.crs`, they never treat them as WGS84.

Examples
--------
>>> d = sample_district(seed=0)
>>> d.synthetic, 30 <= d.area_km2 <= 60, len(d.grids)
(True, True, 12)
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import _io, _validate
from . import crs as gcrs
from .district import District
from .errors import CRSError, DataError

if TYPE_CHECKING:  # pragma: no cover
    from .grids import GridPlan
    from .typing import CRSLike, GeometryLike, PointLike

__all__ = [
    "sample_district",
    "real_district",
    "find_data_dir",
    "county_boundary",
    "xicheng_subdistricts",
    "changan_streets",
    "COUNTIES",
    "REAL_BOUNDARIES",
    "SEATS",
    "sample_roster",
    "sample_ledger",
    "LEDGER_CATEGORIES",
    "sample_city",
]

_MAX_PEOPLE = 10_000_000  # a roster larger than this is a typo
SAMPLE_NAME = "示例区 (Sample district, synthetic)"
SYNTHETIC_TAG = "real boundary; synthetic streets, communities and population"

COUNTIES = {
    "522723": "贵定县 Guiding county (Qiannan, Guizhou)",
    "370102": "历下区 Lixia district (Jinan)",
    "511102": "市中区 Shizhong district (Leshan)",
    "410181": "巩义市 Gongyi (Zhengzhou)",
    "410102": "中原区 Zhongyuan district (Zhengzhou)",
}
"""Adcodes of the real county-level boundaries in ``county_boundaries_gcj02.gpkg``."""

REAL_BOUNDARIES = {**COUNTIES, "110102": "西城区 Xicheng district (Beijing)"}
"""Every real boundary :func:`county_boundary` reads: :data:`COUNTIES` plus Xicheng
(``xicheng_boundary_gcj02.gpkg``)."""

SEATS = {
    "522723": (107.233, 26.578),
    "370102": (117.076, 36.666),
    "511102": (103.761, 29.552),
    "410181": (113.022, 34.748),
    "410102": (113.613, 34.748),
    "110102": (116.366, 39.912),
}
"""Approximate centres of the built-up towns (GCJ-02 lon/lat, to about a kilometre), used by
:func:`real_district` as the centre of the synthetic urban core. They are rounded positions
of each district's government seat, not survey data; pass ``centre=`` for a better one."""

_AUTO: Any = object()


@lru_cache(maxsize=8)
def _sample_frames(seed: int, n_grids: int = 12, n_communities: int | None = None) -> dict[str, gpd.GeoDataFrame]:
    from ._synthetic import build_sample_frames

    return build_sample_frames(seed, n_grids=n_grids, n_communities=n_communities)


def _boundary_district(boundary: Any, *, crs: Any, metric_crs: Any, repair: bool) -> District:
    """The boundary as a District in its metric CRS (remembering the CRS it came in)."""
    if isinstance(boundary, District):
        if metric_crs is None:
            return boundary
        frame = boundary.boundary
        out = District.from_frames(frame, metric_crs=metric_crs, name=boundary.name, code=boundary.code)
        out.source_crs, out.notes = boundary.source_crs, boundary.notes + out.notes
        return out
    if isinstance(boundary, (shapely.Polygon, shapely.MultiPolygon)):
        if crs is None:
            raise CRSError(
                "a shapely boundary carries no CRS; say which its coordinates are in, e.g. crs='GCJ-02' "
                "for Amap/Tencent lon/lat, crs='EPSG:4326' for WGS84 or crs='EPSG:4545' for metres"
            )
        boundary = gpd.GeoDataFrame(geometry=[boundary])
    if not isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        raise DataError(
            f"boundary must be a District, a GeoDataFrame/GeoSeries or a shapely (Multi)Polygon, got {type(boundary).__name__}"
        )
    return District.from_frames(boundary, crs=crs, metric_crs=metric_crs, repair=repair)


def _centre_xy(centre: Any, base: District) -> tuple[float, float] | None:
    if centre is None:
        return None
    if isinstance(centre, shapely.Point):
        x, y = centre.x, centre.y
    else:
        try:
            x, y = (float(v) for v in centre)
        except (TypeError, ValueError) as exc:
            raise DataError(f"centre must be an (x, y) pair or a shapely Point, got {centre!r}") from exc
    cx, cy = gcrs.transform(x, y, source=base.source_crs, target=base.crs)
    return float(cx), float(cy)


def sample_district(
    seed: int = 0,
    *,
    boundary: District | GeometryLike | None = None,
    crs: CRSLike | None = None,
    n_grids_existing: int = 12,
    urban_km2: float | None = None,
    centre: PointLike | None = None,
    population: int | None = None,
    n_communities: int | None = None,
    n_subdistricts: int | None = None,
    subdistricts: gpd.GeoDataFrame | gpd.GeoSeries | None = None,
    metric_crs: CRSLike | None = None,
    repair: bool = False,
) -> District:
    """A synthetic but realistic district, built offline: fictional, or inside a real boundary.

    **Without** ``boundary``: the fictional 示例区 of 30-60 km² near Guiding county,
    Guizhou, in CGCS2000 / 3-degree Gauss-Krüger CM 108E (EPSG:4545): an irregular
    boundary; an organic street network (warped arterial grid, secondary and local
    streets thinning from a dense core, dead ends, a river crossed by a few bridges and
    a railway crossed by a few streets; 2,000-6,000 segments in one connected component);
    10-20 communities in 2-4 subdistricts tiling the boundary along streets; 200k-400k
    residents as unevenly clustered address points (column ``population``); and an
    existing, unbalanced plan of 12 grids (the "before" of a 12 → 15 redraw).

    **With** ``boundary``: the boundary is kept exactly as given (multipolygons, islands,
    holes and slivers included; snapped to a 1 cm grid in the metric CRS, so vertices move
    by at most 1.5 cm) and filled with synthetic content, so the result stays small enough
    to work with in minutes whatever the boundary's size:

    * an **urban core** of ``urban_km2`` around ``centre``: the same kind of city as the
      default district (arterial grid, local streets, river, railway, 18,000 people/km²
      at the peak), scaled to the core's size and closed by a ring road. By default a
      boundary of up to 120 km² is urban throughout, a larger one (a county) gets a
      30 km² county seat;
    * **rural land** everywhere else: villages (one per ~3 km², at most 500) and
      township seats with a small street grid, joined by winding county, township and
      village roads grown as shortest paths over a terrain-like cost surface, with loops
      between neighbouring villages and roads leaving the district every ~2.5 km of
      boundary; about 100 residents per km²;
    * subdistricts (街道 in the core, 镇 outside, or your ``subdistricts``) with
      communities (社区 / 村) inside each, tiling the boundary along streets; parts of
      the boundary too small for streets (islands, slivers) join the nearest community;
    * an existing, unbalanced plan of ``n_grids_existing`` grids.

    Everything but the boundary is synthetic, and every output says so:
    ``district.synthetic``, ``district.notes`` (what was made, sizes, densities,
    components), ``summary()["streets_are"]``, the district name and map titles. Same
    seed, identical district.

    Parameters
    ----------
    seed : int
        Seed of the generator.
    boundary : District, GeoDataFrame, GeoSeries or shapely (Multi)Polygon, optional
        The real outline, in any CRS :meth:`District.from_frames` reads (lon/lat in
        WGS84, CGCS2000, GCJ-02, BD-09, or metres); a shapely geometry needs ``crs=``.
        Of a District only the outline is used (the notes say so if it had other layers).
    crs : CRS-like, optional
        What the coordinates of ``boundary`` and ``subdistricts`` are in where their tags
        do not say it, as in :meth:`District.from_frames`: ``"GCJ-02"`` for Amap/Tencent
        data tagged EPSG:4326 (never treated as WGS84), ``"BD-09"``, ``"EPSG:4326"``, ...
        Layers in different datums: load one first (e.g. :func:`county_boundary`).
    n_grids_existing : int, default 12
        Grids of the existing plan.
    urban_km2 : float, optional
        Size of the urban core (with ``boundary``).
    centre : (x, y) or shapely Point, optional
        Centre of the urban core, in the coordinates the boundary came in (e.g. GCJ-02
        lon/lat of the town hall). Default: the centroid of the boundary's largest part
        when it lies well inside, else the centre of its largest inscribed circle.
    population : int, optional
        Total residents (with ``boundary``); by default modelled from the densities above.
    n_communities, n_subdistricts : int, optional
        Numbers of communities and subdistricts (defaults: with ``boundary``, about one
        community per 20,000 urban residents and two per township; one subdistrict per
        100,000 urban residents and one township per 250 km² of rural land).
    subdistricts : GeoDataFrame or GeoSeries, optional
        Real subdistrict polygons (e.g. :func:`xicheng_subdistricts`) used as the
        subdistrict layer (names from a ``name`` column), clipped to the boundary (gaps
        go to the neighbour with the longest shared edge), with synthetic communities
        inside each. Without ``boundary`` their union is the boundary.
    metric_crs : CRS-like, optional
        Force the working CRS (default: :func:`gridplan.crs.metric_crs` of the boundary,
        the CGCS2000 3-degree Gauss-Krüger zone in China).
    repair : bool
        Repair invalid input polygons with ``make_valid`` (noted) instead of raising.

    Returns
    -------
    District
        ``source_crs`` is the CRS the boundary came in, so ``district.to_source_crs(...)``
        returns results in it (e.g. GCJ-02 for an Amap base map).

    Raises
    ------
    CRSError
        A shapely boundary without ``crs=``, lon/lat mistaken for metres, an unknown CRS.
    GeometryError
        An empty, invalid (unless ``repair=True``) or too small (< 4 km²) boundary.
    DataError
        Options out of range, options that need ``boundary`` passed without it, a
        ``centre`` outside the boundary, subdistricts outside it.

    Examples
    --------
    A GCJ-02 outline (as Amap publishes it) near Guiding county:

    >>> import shapely
    >>> d = sample_district(seed=0, boundary=shapely.box(107.20, 26.55, 107.26, 26.60), crs="GCJ-02")
    >>> d.synthetic, d.crs.to_epsg(), d.source_crs, len(d.grids), round(d.area_km2, 1)
    (True, 4545, 'GCJ-02', 12, 33.1)
    >>> d.summary()["streets_are"]
    'synthetic'
    """
    from ._synthetic import build_sample

    if boundary is None and subdistricts is None:
        given = {
            "urban_km2": urban_km2,
            "centre": centre,
            "population": population,
            "n_subdistricts": n_subdistricts,
            "crs": crs,
            "metric_crs": metric_crs,
        }
        passed = [k for k, v in given.items() if v is not None]
        if passed:
            raise DataError(f"{', '.join(passed)} only apply with boundary= (or subdistricts=); pass one or drop them")
        seed = _validate.seed(seed)
        n_grids_existing = _validate.integer(n_grids_existing, "n_grids_existing", minimum=1)
        frames = _sample_frames(int(seed), int(n_grids_existing), n_communities)
        layers = {k: frames[k] for k in ("boundary", "streets", "communities", "population", "grids")}
        district = District.from_frames(**layers, name=SAMPLE_NAME, code=str(frames["boundary"]["code"].iloc[0]), synthetic=True)
        district.notes.append(
            f"synthetic sample district (seed={seed}): streets, communities, population and grids are generated"
        )
        return district

    sub_frame = None
    if subdistricts is not None:
        if not isinstance(subdistricts, (gpd.GeoDataFrame, gpd.GeoSeries)):
            raise DataError(f"subdistricts must be a GeoDataFrame or GeoSeries of polygons, got {type(subdistricts).__name__}")
        sub_frame = subdistricts if isinstance(subdistricts, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=subdistricts)
    if boundary is None:
        assert sub_frame is not None
        base = District.from_frames(
            sub_frame,
            crs=crs,
            metric_crs=metric_crs,
            repair=repair,
            name=_first(sub_frame, "district", ""),
            code=_first(sub_frame, "district_adcode", ""),
        )
        base.notes.append(f"boundary: the union of the {len(sub_frame)} given subdistricts")
    else:
        base = _boundary_district(boundary, crs=crs, metric_crs=metric_crs, repair=repair)
    ignored = [
        k
        for k in ("streets", "communities", "population", "grids")
        if isinstance(boundary, District) and len(getattr(boundary, k))
    ]
    sub_geoms = sub_names = None
    if sub_frame is not None:
        subs = District.from_frames(sub_frame, crs=crs, metric_crs=base.crs, repair=repair).boundary
        sub_geoms = list(subs.geometry.values)
        sub_names = [str(v) for v in subs["name"]] if "name" in subs else [f"第{i + 1}街道" for i in range(len(subs))]
    frames, notes = build_sample(
        seed,
        boundary=base.shape,
        crs=base.crs,
        n_grids=n_grids_existing,
        n_communities=n_communities,
        urban_km2=urban_km2,
        centre=_centre_xy(centre, base),
        population=population,
        n_subdistricts=n_subdistricts,
        subdistricts=sub_geoms,
        subdistrict_names=sub_names,
        name=base.name or "district",
        code=base.code or None,
    )
    layers = {k: frames[k] for k in ("boundary", "streets", "communities", "population", "grids")}
    label = f"{base.name or 'district'} ({SYNTHETIC_TAG})"
    district = District.from_frames(**layers, metric_crs=base.crs, name=label, code=base.code, synthetic=True)
    district.source_crs = base.source_crs
    if ignored:
        notes.append(f"only the outline of the given district was used; its {', '.join(ignored)} were replaced by synthetic ones")
    district.notes = (
        base.notes
        + notes
        + [
            f"seed={seed}: same seed, same district; nothing here but the boundary"
            + (" and the subdistrict polygons" if sub_frame is not None else "")
            + " is real"
        ]
    )
    return district


def _first(frame: pd.DataFrame, column: str, default: str) -> str:
    return str(frame[column].iloc[0]) if column in frame and len(frame) else default


def find_data_dir(path: str | Path | None = None) -> Path:
    """Folder of the real test data (``shared/data``).

    Looks at ``path``, then ``$GRIDPLAN_SHARED_DATA``, then ``shared/data`` (or ``data``) in the
    current folder or any of its parents, and last in their ``cases/data``: the copies of the
    real boundaries that ship with gridplan's case notebooks, so that a checkout of the
    repository finds them from its root or any folder in it (they hold the county and Xicheng
    boundaries, not the Chang'an streets).
    """
    candidates: list[Path] = []
    if path is not None:
        candidates.append(Path(path))
    elif os.environ.get("GRIDPLAN_SHARED_DATA"):
        candidates.append(Path(os.environ["GRIDPLAN_SHARED_DATA"]))
    else:
        here = Path.cwd().resolve()
        for folder in (here, *here.parents):
            candidates += [folder / "shared" / "data", folder / "data"]
        candidates += [folder / "cases" / "data" for folder in (here, *here.parents)]
    for c in candidates:
        if (c / "county_boundaries_gcj02.gpkg").exists() or (c / "xicheng_subdistricts.gpkg").exists():
            return c
    raise DataError(
        f"real data folder not found (looked in {[str(c) for c in candidates[:4]]}...); pass data_dir= "
        "or set GRIDPLAN_SHARED_DATA to the folder holding county_boundaries_gcj02.gpkg"
    )


def county_boundary(adcode: str | int, *, data_dir: str | Path | None = None, **kwargs: Any) -> District:
    """A real county-level boundary (GCJ-02 in the file) as a :class:`District`.

    Parameters
    ----------
    adcode : str or int
        One of :data:`REAL_BOUNDARIES`: the five :data:`COUNTIES` of
        ``county_boundaries_gcj02.gpkg`` or ``"110102"`` (Xicheng, Beijing, from
        ``xicheng_boundary_gcj02.gpkg``). Names such as 市中区 are not unique in China; the
        adcode is.
    data_dir : path, optional
        Folder of the real data (see :func:`find_data_dir`).
    **kwargs
        Passed to :meth:`District.from_frames` (e.g. ``metric_crs=``).

    Returns
    -------
    District
        Boundary only, converted GCJ-02 → WGS84 → the local CGCS2000 Gauss-Krüger zone;
        ``source_crs`` is ``"GCJ-02"``. Grow synthetic streets in it with
        ``sample_district(boundary=county_boundary(adcode))`` or :func:`real_district`.
    """
    folder = find_data_dir(data_dir)
    files = [
        ("county_boundaries_gcj02.gpkg", "county_boundaries_gcj02"),
        ("xicheng_boundary_gcj02.gpkg", "xicheng_boundary_gcj02"),
    ]
    available: list[str] = []
    for file, layer in files:
        if not (folder / file).exists():
            continue
        frame = _io.read_layer(folder / file, layer)
        rows = frame[frame["adcode"].astype(str) == str(adcode)]
        if not rows.empty:
            return District.from_frames(rows.reset_index(drop=True), crs=gcrs.GCJ02, **kwargs)
        available += sorted(frame["adcode"].astype(str))
    raise DataError(f"no boundary with adcode {adcode!r}; available: {available}")


def real_district(
    adcode: str | int,
    *,
    seed: int = 0,
    data_dir: str | Path | None = None,
    centre: PointLike | None = _AUTO,
    subdistricts: gpd.GeoDataFrame | gpd.GeoSeries | None = _AUTO,
    **kwargs: Any,
) -> District:
    """Synthetic streets, communities and population inside a real boundary from ``shared/data``.

    ``real_district("522723", seed=0)`` is
    ``sample_district(boundary=county_boundary("522723"), centre=SEATS["522723"], seed=0)``:
    the synthetic urban core sits on the (approximate) real town centre of :data:`SEATS`.
    For Xicheng (``"110102"``) the 15 real subdistricts (:func:`xicheng_subdistricts`)
    are the subdistrict layer.

    Parameters
    ----------
    adcode : str or int
        One of :data:`REAL_BOUNDARIES`.
    seed : int
    data_dir : path, optional
        Folder of the real data (see :func:`find_data_dir`).
    centre : (lon, lat) in GCJ-02, or None, optional
        Centre of the urban core; default :data:`SEATS`; ``None``: the boundary's interior point.
    subdistricts : GeoDataFrame or None, optional
        Default: Xicheng's 15 real subdistricts for ``"110102"``, none elsewhere.
    **kwargs
        Passed to :func:`sample_district` (``urban_km2=``, ``population=``,
        ``n_grids_existing=``, ``n_communities=``, ...).

    Returns
    -------
    District
    """
    boundary = county_boundary(adcode, data_dir=data_dir)
    if centre is _AUTO:
        centre = SEATS.get(str(adcode))
    if subdistricts is _AUTO:
        subdistricts = xicheng_subdistricts(data_dir=data_dir) if str(adcode) == "110102" else None
    return sample_district(seed, boundary=boundary, centre=centre, subdistricts=subdistricts, **kwargs)


def xicheng_subdistricts(*, data_dir: str | Path | None = None) -> gpd.GeoDataFrame:
    """The 15 real subdistricts (街道) of Xicheng, Beijing, in WGS84 (EPSG:4326)."""
    folder = find_data_dir(data_dir)
    return _io.read_layer(folder / "xicheng_subdistricts.gpkg", "xicheng_subdistricts")


def changan_streets(*, data_dir: str | Path | None = None) -> gpd.GeoDataFrame:
    """The real Chang'an (Xi'an) road links in WGS84: 3,267 links, 470.8 km, messy as real data is."""
    folder = find_data_dir(data_dir)
    return _io.read_layer(folder / "changan_roads.gpkg", "changan_roads")


def sample_roster(
    district: District | GridPlan | None = None,
    seed: int = 0,
    n_people: int | None = None,
    *,
    district_or_plan: District | GridPlan | None = None,
) -> pd.DataFrame:
    """A synthetic roster of grid staff for :func:`gridplan.staffing.assign_staff`.

    Enough people for "1+2+2" teams in every grid plus about 30 % spare
    (``ceil(1.3 × 5 × n_grids)`` by default; 15 grids when given a district), in the
    ratio 1 leader : 2 officers : 2 workers. Party members: about 85 % of leaders (and
    never fewer than one per grid plus one), 30 % of officers, 15 % of workers. Homes
    are drawn from the district's population points in proportion to their residents,
    jittered by about 50 m (uniformly inside the boundary when there are none). About
    12 % of people cannot work one shift and 3 % two (column ``unavailable``,
    ``";"``-separated). Same seed, same roster.

    Parameters
    ----------
    district : District or GridPlan
        A plan must carry its district (plans made by ``partition`` do); with a plan the roster
        is sized for its number of grids.
    seed : int
    n_people : int, optional
        Roster size (at least 3).
    district_or_plan : District or GridPlan, optional
        Deprecated keyword name of ``district`` (gridplan 0.1.0); gives a ``FutureWarning``.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``name``, ``role`` (leader/officer/worker), ``party_member``, ``x``, ``y``
        (homes in the district's metric CRS, also in ``.attrs["crs"]``), ``unavailable``.

    Examples
    --------
    >>> r = sample_roster(sample_district(seed=0), seed=0)
    >>> len(r), sorted(r["role"].value_counts().items())
    (98, [('leader', 20), ('officer', 39), ('worker', 39)])
    """
    import math

    from ._synthetic.roster import build_roster

    if district_or_plan is not None:
        if district is not None:
            raise DataError("pass the district (or plan) once: sample_roster(district, ...)")
        import warnings

        warnings.warn(
            "sample_roster(district_or_plan=...) is deprecated: the parameter is now called district, "
            "sample_roster(district=...)",
            FutureWarning,
            stacklevel=2,
        )
        district = district_or_plan
    source: Any = district  # District or GridPlan (any object with .grids and .district)
    if isinstance(source, District):
        n_grids = 15
    elif hasattr(source, "grids") and hasattr(source, "district"):
        district, n_grids = source.district, len(source.grids)
        if district is None:
            raise DataError("the plan carries no district (read from a file?); pass the District instead")
    else:
        raise DataError(f"sample_roster needs a District or a GridPlan, got {type(source).__name__}")
    seed = _validate.seed(seed)
    n = math.ceil(1.3 * 5 * n_grids) if n_people is None else n_people
    n = _validate.integer(n, "n_people", minimum=3, maximum=_MAX_PEOPLE)
    return build_roster(district, n_grids, seed, n)


LEDGER_CATEGORIES = {
    "A01": ("exposed garbage", "population"),
    "A02": ("street vending", "population"),
    "A03": ("illegal advertising", "population"),
    "B01": ("illegal parking", "street"),
    "B02": ("damaged road surface", "street"),
    "B03": ("missing manhole cover", "street"),
}
"""Illustrative case categories of :func:`sample_ledger` (code: (name, driver)); made up for the
synthetic ledger, not the national standard's codes."""


def sample_ledger(
    district: District,
    n_cases: int = 2000,
    *,
    seed: int = 0,
    crs: CRSLike = "GCJ-02",
    broken: float = 0.02,
    start: str = "2024-01-01",
    days: int = 90,
    street_share: float = 0.5,
) -> pd.DataFrame:
    """A **synthetic** case ledger (案件台账) for a district, as a bureau would export it.

    Not real cases: ``n_cases`` rows drawn so that about ``1 - street_share`` of the cases
    come from residents (drawn from the district's population points in proportion to their
    residents) and ``street_share`` from streets (uniformly along the street lines), with
    illustrative categories (:data:`LEDGER_CATEGORIES`), sources, report and close times over
    ``days`` days from ``start``.  A share ``broken`` of rows is deliberately broken as real
    exports are (coordinates missing or ``0, 0``, an unparseable time, closed before reported,
    a repeated case id), so :func:`gridplan.ledger.read_ledger` has something to report.
    Headers are Chinese (案件编号, 小类, 案件来源, 上报时间, 结案时间, 经度, 纬度) and the column
    ``synthetic`` is True on every row; ``attrs["synthetic"]`` says so too.

    Parameters
    ----------
    district : District
    n_cases : int
    seed : int
        Same seed, same ledger.
    crs : str
        Datum of the written lon/lat: ``"GCJ-02"`` (default), ``"BD-09"`` or ``"EPSG:4326"``.
    broken : float
        Share of rows to break (0 for a clean ledger).
    start, days
        The period covered.
    street_share : float
        Share of cases drawn along streets rather than at residents.

    Returns
    -------
    pandas.DataFrame

    Examples
    --------
    >>> ledger = sample_ledger(sample_district(seed=0), 200, seed=0)
    >>> len(ledger), bool(ledger["synthetic"].all())
    (200, True)
    """
    if not isinstance(n_cases, (int, np.integer)) or n_cases < 1:
        raise DataError(f"n_cases must be a positive whole number, got {n_cases!r}")
    if not 0 <= broken < 1 or not 0 <= street_share <= 1:
        raise DataError("broken and street_share are shares between 0 and 1")
    rng = np.random.default_rng(seed)
    n_street = int(round(n_cases * street_share)) if len(district.streets) else 0
    n_people = n_cases - n_street
    pts = []
    if n_people:
        if len(district.population):
            pop = district.population
            w = pop["population"].to_numpy(float)
            pick = rng.choice(len(pop), n_people, p=w / w.sum())
            xy = shapely.get_coordinates(np.asarray(pop.geometry.values)[pick])
            xy = xy + rng.normal(0, 25.0, xy.shape)  # a case happens near, not at, the residents' point
        else:
            xy = _uniform_in(district.shape, n_people, rng)
        pts.append(xy)
    if n_street:
        lines = np.asarray(district.streets.geometry.values)
        length = shapely.length(lines)
        pick = rng.choice(len(lines), n_street, p=length / length.sum())
        along = shapely.line_interpolate_point(lines[pick], rng.uniform(0, 1, n_street), normalized=True)
        pts.append(shapely.get_coordinates(along))
    xy = np.vstack(pts)
    kind = np.r_[np.zeros(n_people, bool), np.ones(n_street, bool)]
    order = rng.permutation(n_cases)
    xy, kind = xy[order], kind[order]
    lon, lat = gcrs.to_wgs84(xy[:, 0], xy[:, 1], district.crs)
    lon, lat = gcrs.from_wgs84(lon, lat, crs)
    people_codes = [c for c, (_, d) in LEDGER_CATEGORIES.items() if d == "population"]
    street_codes = [c for c, (_, d) in LEDGER_CATEGORIES.items() if d == "street"]
    category = np.where(kind, rng.choice(street_codes, n_cases), rng.choice(people_codes, n_cases))
    source = rng.choice(
        ["巡查上报 patrol", "12345热线 hotline", "市民上报 app", "视频发现 camera"], n_cases, p=[0.55, 0.25, 0.12, 0.08]
    )
    t0 = pd.Timestamp(start)
    reported = t0 + pd.to_timedelta(rng.uniform(0, days * 86400, n_cases), unit="s")
    closed = reported + pd.to_timedelta(rng.gamma(2.0, 6.0, n_cases), unit="h")
    frame = pd.DataFrame(
        {
            "案件编号": [f"SYN{seed:03d}-{i:06d}" for i in range(n_cases)],
            "小类": category,
            "案件来源": source,
            "上报时间": reported.strftime("%Y-%m-%d %H:%M:%S"),
            "结案时间": closed.strftime("%Y-%m-%d %H:%M:%S"),
            "经度": np.round(lon, 6).astype(object),
            "纬度": np.round(lat, 6).astype(object),
            "synthetic": True,
        }
    )
    n_bad = int(round(broken * n_cases))
    if n_bad:
        rows = rng.choice(n_cases, n_bad, replace=False)
        for j, r in enumerate(rows):
            kind_of = j % 4
            if kind_of == 0:
                frame.loc[r, ["经度", "纬度"]] = ("", "") if j % 8 == 0 else (0, 0)
            elif kind_of == 1:
                frame.loc[r, "上报时间"] = "2024-13-45 25:61"
            elif kind_of == 2:
                frame.loc[r, "结案时间"] = (pd.Timestamp(frame.loc[r, "上报时间"]) - pd.Timedelta(hours=3)).strftime(
                    "%Y-%m-%d %H:%M:%S"
                )
            else:
                frame.loc[r, "案件编号"] = frame.loc[(r + 1) % n_cases, "案件编号"]
    frame.attrs["synthetic"] = True
    frame.attrs["crs"] = gcrs.crs_label(crs)
    return frame


def _uniform_in(shape: Any, n: int, rng: Any) -> Any:
    minx, miny, maxx, maxy = shape.bounds
    out: list[Any] = []
    while sum(int(len(o)) for o in out) < n:
        cand = np.column_stack([rng.uniform(minx, maxx, 4 * n), rng.uniform(miny, maxy, 4 * n)])
        out.append(cand[shapely.contains_xy(shape, cand[:, 0], cand[:, 1])])
    return np.vstack(out)[:n]


def sample_city(n_districts: int = 4, *, seed: int = 0, district_km: float = 6.0) -> District:
    """A synthetic city: ``n_districts`` synthetic districts side by side, joined at the seams.

    Every district is :func:`sample_district` grown in a ``district_km`` square (urban
    throughout: arterial grid, local streets, river, railway, communities, residents), laid
    out in rows; street ends at a shared edge are joined to the neighbour's by short
    ``"connector"`` streets. Everything is synthetic and says so (``city.synthetic``, the
    name, the notes). The result is one :class:`District` whose **boundary has one row per
    district** (``name``, ``code`` ``9901NN``), the regions :func:`gridplan.city.plan_city`
    solves independently; communities, population and the existing grids carry a
    ``district`` column.

    Parameters
    ----------
    n_districts : int
        Districts (e.g. 12 × 36 km² for a city of about 3.6 million synthetic residents).
    seed : int
        Same seed, same city (each district gets its own seed from it).
    district_km : float
        Side of each district's square, 2-11 km.

    Examples
    --------
    >>> city = sample_city(2, seed=0, district_km=2.5)
    >>> city.synthetic, len(city.boundary), sorted(city.boundary["code"])
    (True, 2, ['990101', '990102'])
    >>> bool((city.streets["kind"] == "connector").any())
    True
    """
    from ._synthetic_city import build_city

    return build_city(n_districts, seed, district_km, make_district=sample_district)
