"""Offline, deterministic synthetic sample district (示例区) for examples, tests and benchmarks.

:func:`build_sample_frames` grows a fictional but realistic Chinese urban district near
Guiding county (lon 107.23, lat 26.58) in CGCS2000 / 3-degree Gauss-Krüger CM 108E
(EPSG:4545, metres). Nothing is downloaded; the same seed always gives the same frames.

How the district is built (each step is one private function below):

1. **Boundary** (:func:`_random_boundary`): a smoothed noisy radius around the projected
   centre, scaled to 36-54 km², snapped to a 1 cm grid.
2. **Population density** (:class:`_Density`): a dense core, 2-3 secondary centres and a
   sparse base; it drives street density, building points and people per point.
3. **River and railway** (:func:`_make_river`, :func:`_make_railway`): a meandering river
   through the core with riverside roads on both banks (the edge of a "river zone") and a
   gently curved railway with frontage roads (the edge of a "railway zone"). Streets never
   enter a zone except at the 3-5 chosen bridges and 2-4 railway crossings, picked so that
   every part of the district stays reachable (:func:`_pick_crossings`).
4. **Arterials** (:func:`_arterial_lines`): a warped grid at ~760-940 m spacing plus a
   partial ring road, some arterials ending at a T.
5. **Secondary and local streets** (:func:`_local_lines`): the faces of the major network
   ("superblocks") are filled with a jittered, slightly bent, locally oriented street grid
   whose spacing (95-330 m) follows the density (the checkered road pattern of
   Parish & Müller 2001); nothing is built where density is negligible.
6. **Irregularity** (:func:`_edit_locals`): local segments are removed (irregular blocks),
   truncated (cul-de-sacs) and short lanes are added; everything is noded with GEOS snap
   rounding on a 1 cm grid, short dangles are pruned, only the largest connected
   component is kept and degree-2 chains of the same street are merged.
7. **Blocks, population, communities, grids**: street blocks are the faces of
   streets + boundary; building points are drawn from the density, set back from street
   centrelines and kept out of the river, railway and non-residential blocks. Subdistricts
   and communities are contiguous unions of blocks of roughly equal population made by
   recursive weighted bisection (:func:`_bisect`); the existing 12 grids merge and split
   communities until the population max/min ratio lands in 1.5-3, like a hand-drawn plan.

Everything is vectorised with shapely 2 array functions; the default district builds in
about 2 s. Use :func:`gridplan.datasets.sample_district` rather than this module directly.

**A given (real) boundary** (:func:`_build_given`) is kept as it is and filled in two zones:
an *urban core* (:func:`_urban_core`: an irregular blob of ``urban_km2`` around the centre,
clipped to the boundary; the whole boundary when it is small) gets steps 2-6 above with the
core as their outline and the densities scaled to its size, closed by a ring road on its
edge; the *rural land* around it gets villages and township seats on a terrain-like cost
raster, joined by county roads (seat to town), township roads (town to town), village
roads and loops between neighbouring villages, all grown as shortest paths on that raster
and smoothed (:func:`_rural_network`), plus roads leaving the district every ~2.5 km of
boundary; they cross the river and the railway only on bridges and level crossings.
Subdistricts (街道 in the core, 镇 outside, or given polygons) and communities (社区 / 村)
are contiguous unions of blocks; islands and slivers too small for streets join the
nearest community (:func:`_link_components`). The street budget (at most 8,000 segments,
≤ 500 villages) keeps any boundary, even a 1,600 km² county, to a few seconds.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Callable

import geopandas as gpd
import numpy as np
import pyproj
import shapely
from scipy import sparse
from scipy.sparse import csgraph
from shapely.ops import substring

from .errors import CRSError, DataError, GeometryError, InfeasibleError

__all__ = [
    "build_sample_frames",
    "build_sample",
    "SAMPLE_EPSG",
    "SAMPLE_CENTRE_LONLAT",
    "DISTRICT_CODE",
    "DISTRICT_NAME",
    "STREET_KINDS",
    "N_SAMPLE_GRIDS",
]

SAMPLE_EPSG = 4545
"""EPSG code of every frame: CGCS2000 / 3-degree Gauss-Kruger CM 108E (metres)."""
SAMPLE_CENTRE_LONLAT = (107.23, 26.58)
"""Lon/lat (CGCS2000) the default district is centred on (Guiding county, Guizhou)."""
DISTRICT_CODE = "990101"
"""A clearly fictional 6-digit administrative division code (99 is no province)."""
DISTRICT_NAME = "示例区"
STREET_KINDS = ("arterial", "secondary", "local", "lane", "bridge")
"""Values of the ``kind`` column of ``streets``."""
N_SAMPLE_GRIDS = 12
"""Number of grids in the existing plan (the "before" of a 12 → 15 redraw)."""

# Kind codes, ordered by priority when two source lines claim one noded piece.
_BRIDGE, _ART, _SEC, _LOC, _LANE, _RING = range(6)
_KIND_NAME = {_BRIDGE: "bridge", _ART: "arterial", _SEC: "secondary", _LOC: "local", _LANE: "lane"}

_GRID = 0.01  # snap-rounding precision (m): every output coordinate is on this grid
_UNNAMED = "无名道路"
_MAX_SEGMENTS_DEFAULT = 6000
_MAX_SEGMENTS_GIVEN = 8000
_MIN_GIVEN_AREA = 4e6  # m²: smaller boundaries cannot hold 12 grids of street blocks
_MAX_PARTS = 4  # subdistricts must be contiguous and there are at most 4 of them
_CORE_PEOPLE_PER_KM2 = 18000.0  # people per km² where density == 1 (given boundary)

_ARTERIAL_NAMES = (
    "人民路 解放路 中山路 建设路 和平路 胜利路 新华路 民主路 文化路 团结路 光明路 友谊路 "
    "振兴路 朝阳路 东风路 红旗路 五一路 青年路 复兴路 北京路 上海路 长江路 黄河路 湘江路 "
    "珠江路 学府路 迎宾大道 世纪大道 发展大道 金桂大道 工业大道 兴业大道 富强路 育英路 "
    "府前路 公园路"
).split()
_LOCAL_PREFIXES = (
    "桂花 兰花 梅园 竹林 松柏 杏林 枫林 荷塘 柳湾 桃源 新村 花园 幸福 安居 康乐 长寿 育才 "
    "翠屏 金钟 银杏 丹桂 玉兰 紫荆 芙蓉 石榴 茶花 杜鹃 海棠 樱花 菊香 望城 观山 龙井 凤凰 "
    "麒麟 白云 青云 锦绣 富源 盛世 瑞丰 嘉禾 宏达 兴隆 吉祥 如意 平安 永安 太平 和顺 祥和 "
    "春晖 秋实 晨光 晓月 东山 西山 南山 北山 清泉 甘泉 溪口 龙泉 星光 明珠 金沙 银河 碧水 "
    "青松 翠竹 红枫 绿荫 百花 万寿 千禧 市府 粮站 电厂 纺织 机械 农机 水厂 供销 邮电 电力 "
    "烟草 林业 水利 交通 卫生 教育 体育 书院 文庙 城隍 鼓楼 钟楼 营盘 校场 马场 油榨 盐井"
).split()
_LOCAL_SUFFIXES = "街 巷 路 一路 二路 三路 东路 西路 南路 北路 横街 后街".split()
_LANE_SUFFIXES = "巷 里 弄".split()
_BRIDGE_NAMES = "通济桥 永济桥 广济桥 安澜桥 长虹桥 迎春桥 彩虹桥 清水桥 福寿桥".split()
_RAIL_CROSSING_NAMES = "站前路 通站路 铁路下穿道 跨线路".split()
_SUBDISTRICT_NAMES = "城关 新华 金桂 龙泉 文昌 兴隆 云雾 清水".split()
_COMMUNITY_PREFIXES = (
    "人民 和平 建设 文化 团结 光明 友谊 幸福 新华 桂花 龙井 凤凰 白云 青云 锦绣 春晖 晨光 "
    "东山 西山 南山 北山 清泉 星光 明珠 金沙 银河 碧水 翠竹 百花 书院 文庙 鼓楼 钟楼 河滨 "
    "铁北 站前 城南 城北 万寿 育才"
).split()
_RIVER_NAME = "清水河"
_RAILWAY_NAME = "城际铁路"


# --------------------------------------------------------------------------- entry point


def build_sample_frames(
    seed: int = 0,
    *,
    boundary: shapely.Polygon | shapely.MultiPolygon | None = None,
    crs: Any = None,
    n_grids: int = N_SAMPLE_GRIDS,
    n_communities: int | None = None,
    urban_km2: float | None = None,
    centre: tuple[float, float] | None = None,
    population: int | None = None,
    n_subdistricts: int | None = None,
    subdistricts: list[Any] | None = None,
    subdistrict_names: list[str] | None = None,
    name: str | None = None,
    code: str | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Build the frames of a synthetic Chinese district, offline and deterministically.

    Parameters
    ----------
    seed : int, default 0
        Non-negative integer; equal seeds give identical frames, different seeds different
        districts. Each construction step draws from its own child of
        ``numpy.random.SeedSequence(seed)``.
    boundary : shapely Polygon or MultiPolygon, optional
        A district outline in metres (e.g. a real county boundary). ``None`` (default) makes
        a fresh irregular outline of 36-54 km² around lon 107.23, lat 26.58. A given outline
        (at least 4 km²; any number of parts, holes allowed) is kept, snapped to 1 cm, and
        filled: an urban core of ``urban_km2`` with the default district's streets, river,
        railway and densities, and rural land around it with villages, township seats and
        winding rural roads (see the module docstring).
    crs : CRS-like, optional
        CRS of a given ``boundary`` and of the returned frames; default EPSG:4545. Must be
        projected (metres). Without a boundary only EPSG:4545 is accepted.
    n_grids : int, default 12
        Grids of the existing, unbalanced plan.
    n_communities : int, optional
        Number of communities (default: 12-18 drawn; with a boundary about one per 20,000
        urban residents and two per township).
    urban_km2 : float, optional
        Size of the urban core of a given boundary (default: all of it up to 120 km², else
        30 km²: a county seat).
    centre : (x, y), optional
        Centre of the urban core, in ``crs`` (default: the centroid of the boundary's
        largest part when it lies well inside, else the centre of its largest inscribed circle).
    population : int, optional
        Total residents of a given boundary (default: modelled from the densities).
    n_subdistricts : int, optional
        Number of subdistricts of a given boundary (街道 in the core, 镇 outside).
    subdistricts : list of shapely polygons, optional
        Real subdistrict polygons in ``crs``: used as the subdistrict layer (clipped to the
        boundary, gaps and overlaps settled) with synthetic communities inside each.
    subdistrict_names : list of str, optional
        Their names, in the same order.
    name, code : str, optional
        Name and 6-digit code of a given boundary (default 示例区 / 990101).

    Returns
    -------
    dict of str to GeoDataFrame
        All in the same CRS, each with a RangeIndex:

        ``boundary``
            1 row: ``name``, ``code`` and the outline (a Polygon, or the snapped given
            geometry).
        ``streets``
            Noded segments forming one connected network (one per part of the default
            outline; a given boundary's parts that no road can reach inside it have their
            own): ``street_id`` (int64, 0..n-1), ``name``, ``kind`` (one of
            :data:`STREET_KINDS`), LineString geometry.
        ``communities``
            Contiguous unions of street blocks tiling the boundary: ``code`` (12 digits),
            ``name``, ``subdistrict``, ``subdistrict_code`` (9 digits), Polygon geometry
            (a MultiPolygon where a community holds an island of a given boundary).
        ``population``
            Residential address points: ``population`` (int64 ≥ 1), Point geometry.
        ``grids``
            The existing ``n_grids``-grid plan tiling the boundary: ``code`` (community
            code + 2 digits), ``name``, (Multi)Polygon geometry.
        ``river``, ``railway``
            1 row each, ``name`` and the water polygon / track line inside the district
            (for drawing).

    Raises
    ------
    GeometryError
        If ``boundary`` is not a valid, non-empty (Multi)Polygon of at least 4 km².
    CRSError
        If ``boundary`` or ``crs`` is in degrees.
    DataError
        If ``seed`` is not a non-negative integer, ``crs`` is not EPSG:4545 without a
        ``boundary``, an option only a given boundary takes is passed without one, or an
        option is out of range.

    Examples
    --------
    >>> frames = build_sample_frames(0)
    >>> sorted(frames)
    ['boundary', 'communities', 'grids', 'population', 'railway', 'river', 'streets']
    >>> len(frames["grids"]), frames["streets"].crs.to_epsg()
    (12, 4545)
    >>> frames["communities"].columns.tolist()
    ['code', 'name', 'subdistrict', 'subdistrict_code', 'geometry']
    """
    return build_sample(seed, boundary=boundary, crs=crs, n_grids=n_grids, n_communities=n_communities,
                        urban_km2=urban_km2, centre=centre, population=population, n_subdistricts=n_subdistricts,
                        subdistricts=subdistricts, subdistrict_names=subdistrict_names, name=name, code=code)[0]


def _whole(value: Any, label: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise DataError(f"{label} must be a whole number >= {minimum}, got {value!r}")
    return int(value)


def build_sample(
    seed: int = 0,
    *,
    boundary: shapely.Polygon | shapely.MultiPolygon | None = None,
    crs: Any = None,
    n_grids: int = N_SAMPLE_GRIDS,
    n_communities: int | None = None,
    urban_km2: float | None = None,
    centre: tuple[float, float] | None = None,
    population: int | None = None,
    n_subdistricts: int | None = None,
    subdistricts: list[Any] | None = None,
    subdistrict_names: list[str] | None = None,
    name: str | None = None,
    code: str | None = None,
) -> tuple[dict[str, gpd.GeoDataFrame], list[str]]:
    """:func:`build_sample_frames` plus notes that say what was made (for a given boundary)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    n_grids = _whole(n_grids, "n_grids_existing", 1)
    if n_communities is not None:
        n_communities = _whole(n_communities, "n_communities", 1)
    if n_subdistricts is not None:
        n_subdistricts = _whole(n_subdistricts, "n_subdistricts", 1)
    if population is not None:
        population = _whole(population, "population", 1)
    if urban_km2 is not None and not (isinstance(urban_km2, numbers.Real) and math.isfinite(urban_km2) and urban_km2 > 0):
        raise DataError(f"urban_km2 must be a positive number of km², got {urban_km2!r}")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(12)]
    out_crs = _check_crs(crs)
    if boundary is not None:
        poly = _check_boundary(boundary)
        if subdistricts is not None:
            if len(subdistricts) == 0:
                raise DataError("subdistricts is empty; pass the subdistrict polygons or leave it out")
            if subdistrict_names is not None and len(subdistrict_names) != len(subdistricts):
                raise DataError("subdistrict_names must have one name per subdistrict")
            if n_subdistricts is not None and n_subdistricts != len(subdistricts):
                raise DataError("n_subdistricts and subdistricts disagree; leave n_subdistricts out")
        if population is not None and population < 1000:
            raise DataError(f"population={population} is too few for a district; pass at least 1,000")
        code = DISTRICT_CODE if not code or not str(code).isdigit() or len(str(code)) != 6 else str(code)
        opt = _GivenOptions(urban_km2, centre, population, n_grids, n_communities, n_subdistricts,
                            list(subdistricts) if subdistricts is not None else None,
                            [str(x) for x in subdistrict_names] if subdistrict_names is not None else None,
                            name or DISTRICT_NAME, code)
        return _build_given(streams, poly, out_crs, opt)
    given_only = {"urban_km2": urban_km2, "centre": centre, "population": population,
                  "n_subdistricts": n_subdistricts, "subdistricts": subdistricts}
    passed = [k for k, v in given_only.items() if v is not None]
    if passed:
        raise DataError(f"{', '.join(passed)} only apply to a given boundary; pass boundary= as well, or drop them")
    if n_communities is not None and n_communities < 2:
        raise DataError(f"n_communities must be at least 2 for the default district, got {n_communities}")
    rng_shape, rng_dens, rng_barrier, rng_art, rng_local, rng_edit, rng_pop, rng_part, rng_grid = streams[:9]
    if out_crs.to_epsg() != SAMPLE_EPSG:
        raise DataError(
            f"crs= only tags a given boundary; the default district is built in EPSG:{SAMPLE_EPSG}. "
            "Drop crs= and reproject the frames afterwards with .to_crs(...)"
        )
    poly = _random_boundary(rng_shape, _projected_centre())
    shapely.prepare(poly)

    density = _make_density(rng_dens, poly)
    river = _make_river(rng_barrier, poly, density.core)
    rail = _make_railway(rng_barrier, poly, density.core, river)
    barriers = _Barriers(river, rail, poly)

    names = _NamePool(rng_local)
    major = _major_streets(rng_art, poly, density, barriers, names)
    local = _local_lines(rng_local, poly, density, major, barriers, names, (2900.0, 4300.0))
    streets = _edit_locals(rng_edit, poly, density, _concat(major, local), barriers, names)
    streets, faces, poly = _close_with_boundary(streets, poly)

    total, n_points = _population_targets(rng_pop)
    people = _population(rng_pop, poly, faces, streets, barriers, density, total, n_points)
    block_pop = _points_per_face(people, faces)

    adjacency = _face_adjacency(faces)
    if n_communities is not None and n_communities > len(faces) // _MIN_BLOCKS_PER_COMMUNITY:
        raise InfeasibleError(f"n_communities={n_communities} is too many for the sample district's {len(faces)} street "
                              f"blocks; ask for at most {len(faces) // _MIN_BLOCKS_PER_COMMUNITY}")
    communities, comm_of_face = _communities(rng_part, faces, block_pop, adjacency, n_communities)
    if n_communities is not None and len(communities) != n_communities:  # never fewer than asked for, silently
        raise InfeasibleError(f"the sample district's {len(faces)} street blocks made {len(communities)} communities, "
                              f"not the {n_communities} asked for; ask for fewer (e.g. {len(communities)})")
    if n_grids > len(faces):  # pragma: no cover - the default district has over 1,000 blocks
        raise InfeasibleError(f"cannot draw {n_grids} grids from {len(faces)} street blocks")
    grids = _grids(rng_grid, faces, block_pop, adjacency, communities, comm_of_face, n_grids)

    return _frames(poly, streets, communities, people, grids, barriers, out_crs), []


# --------------------------------------------------------------------------- inputs


def _projected_centre() -> tuple[float, float]:
    """The default centre, lon 107.23 / lat 26.58 (CGCS2000), in EPSG:4545 metres."""
    tr = pyproj.Transformer.from_crs("EPSG:4490", f"EPSG:{SAMPLE_EPSG}", always_xy=True)
    x, y = tr.transform(*SAMPLE_CENTRE_LONLAT)
    return float(x), float(y)


def _check_crs(crs: Any) -> pyproj.CRS:
    if crs is None:
        return pyproj.CRS.from_epsg(SAMPLE_EPSG)
    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"unknown crs {crs!r}; pass an EPSG code such as 4545 or a pyproj.CRS") from exc
    if not parsed.is_projected:
        raise CRSError(
            f"crs {crs!r} is not projected; the boundary must be in metres, e.g. reproject "
            "it with gridplan.crs.metric_crs() and pass that CRS"
        )
    return parsed


def _check_boundary(boundary: Any) -> shapely.Polygon | shapely.MultiPolygon:
    """Validate a given metric boundary and snap it to the 1 cm grid."""
    if not isinstance(boundary, (shapely.Polygon, shapely.MultiPolygon)):
        raise GeometryError(
            f"boundary must be a shapely Polygon or MultiPolygon in metres, got "
            f"{type(boundary).__name__}; take it from a GeoDataFrame with gdf.union_all()"
        )
    if boundary.is_empty:
        raise GeometryError("boundary is empty; pass the district outline")
    if not np.isfinite(shapely.get_coordinates(boundary)).all():
        raise GeometryError("boundary has NaN or infinite coordinates; fix or drop those vertices")
    if not boundary.is_valid:
        raise GeometryError(
            f"boundary is invalid ({shapely.is_valid_reason(boundary)}); repair it with "
            "shapely.make_valid(boundary) and keep the polygons"
        )
    minx, miny, maxx, maxy = boundary.bounds
    if max(abs(minx), abs(maxx)) <= 180 and max(abs(miny), abs(maxy)) <= 90 and boundary.area < 1.0:
        raise CRSError(
            "boundary looks like lon/lat degrees; project it to metres first, e.g. "
            "gpd.GeoSeries([b], crs=4326).to_crs(gridplan.crs.metric_crs(b)).iloc[0]"
        )
    snapped = shapely.set_precision(boundary, _GRID)
    if snapped.area < _MIN_GIVEN_AREA:
        raise GeometryError(
            f"boundary covers {snapped.area / 1e6:.2f} km²; the sample district needs at least "
            f"{_MIN_GIVEN_AREA / 1e6:.0f} km² to hold {N_SAMPLE_GRIDS} grids (is it in metres?)"
        )
    return snapped


def _random_boundary(rng: np.random.Generator, centre: tuple[float, float]) -> shapely.Polygon:
    """An irregular, star-shaped district outline of 36-54 km² around ``centre``."""
    theta = np.linspace(0.0, 2.0 * np.pi, 720, endpoint=False)
    log_r = np.zeros_like(theta)
    for k, sd in enumerate((0.10, 0.22, 0.15, 0.10, 0.07, 0.06), start=1):  # broad lobes
        log_r += rng.normal(0.0, sd) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    for k in range(7, 40):  # the wiggles of rivers and ridges that admin lines follow
        log_r += rng.normal(0.0, 0.05 / k**0.6) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = np.exp(np.clip(log_r, -0.6, 0.6))
    ring = np.column_stack([np.cos(theta) * r, np.sin(theta) * r])
    unit_area = shapely.Polygon(ring).area
    scale = math.sqrt(rng.uniform(36e6, 54e6) / unit_area)
    poly = shapely.Polygon(ring * scale + np.asarray(centre))
    return shapely.set_precision(poly, _GRID)


# --------------------------------------------------------------------------- density


@dataclass(frozen=True)
class _Density:
    """Relative density in [base, 1]: a sum of Gaussian centres, the first being the core."""

    cx: np.ndarray
    cy: np.ndarray
    sigma: np.ndarray
    weight: np.ndarray
    base: float

    @property
    def core(self) -> tuple[float, float]:
        return float(self.cx[0]), float(self.cy[0])

    def __call__(self, x: Any, y: Any) -> np.ndarray:
        x = np.asarray(x, dtype=float)[..., None]
        y = np.asarray(y, dtype=float)[..., None]
        d2 = (x - self.cx) ** 2 + (y - self.cy) ** 2
        g = (self.weight * np.exp(-d2 / (2.0 * self.sigma**2))).sum(axis=-1)
        return self.base + (1.0 - self.base) * np.minimum(g, 1.0)

    def at(self, points: np.ndarray) -> np.ndarray:
        xy = shapely.get_coordinates(points)
        return self(xy[:, 0], xy[:, 1])


def _main_part(poly: shapely.Polygon | shapely.MultiPolygon) -> shapely.Polygon:
    parts = shapely.get_parts(poly)
    return parts[int(np.argmax(shapely.area(parts)))]


def _make_density(rng: np.random.Generator, poly: Any) -> _Density:
    """A core near the centre of the main part and 2-3 secondary centres 2-3 km out."""
    main = _main_part(poly)
    inner = main.buffer(-400.0)
    if inner.is_empty:
        inner = main
    c = main.centroid
    if not inner.contains(c):
        c = inner.point_on_surface()
    core = np.array([c.x, c.y])
    for _ in range(20):
        trial = core + rng.normal(0.0, 350.0, 2)
        if inner.contains(shapely.Point(trial)):
            core = trial
            break
    shapely.prepare(inner)
    n_sec = int(rng.integers(2, 4))
    start = rng.uniform(0, 2 * np.pi)
    cx, cy = [core[0]], [core[1]]
    for i in range(n_sec):
        ang = start + 2 * np.pi * i / n_sec + rng.uniform(-0.5, 0.5)
        dist = rng.uniform(2000.0, 3000.0)
        for _ in range(8):
            p = core + dist * np.array([math.cos(ang), math.sin(ang)])
            if shapely.contains_xy(inner, p[0], p[1]):
                break
            dist *= 0.8
        cx.append(p[0])
        cy.append(p[1])
    sigma = np.concatenate([[rng.uniform(1200.0, 1600.0)], rng.uniform(400.0, 650.0, n_sec)])
    weight = np.concatenate([[1.0], rng.uniform(0.5, 0.85, n_sec)])
    return _Density(np.array(cx), np.array(cy), sigma, weight, base=0.012)


# --------------------------------------------------------------------------- river & railway


@dataclass(frozen=True)
class _Barrier:
    """A linear barrier: centreline, its drawn polygon and the zone no street may enter."""

    line: shapely.LineString
    drawn: shapely.Geometry  # water polygon (river) or the track line (railway)
    zone: shapely.Polygon  # the barrier plus its verge; its edge carries the side roads
    half: float  # zone half-width


def _reach(poly: Any, point: np.ndarray) -> float:
    minx, miny, maxx, maxy = poly.bounds
    corners = np.array([[minx, miny], [minx, maxy], [maxx, miny], [maxx, maxy]])
    return float(np.hypot(*(corners - point).T).max()) + 1500.0


def _meander(
    rng: np.random.Generator,
    anchor: np.ndarray,
    angle: float,
    length: float,
    amps: tuple[float, float],
    waves: tuple[float, float],
    n_terms: int,
) -> shapely.LineString:
    """A curve through ``anchor`` in direction ``angle`` with sinusoidal lateral offsets."""
    t = np.arange(-length, length + 25.0, 25.0)
    lateral = np.zeros_like(t)
    for _ in range(n_terms):
        lateral += rng.uniform(*amps) * np.sin(2 * np.pi * t / rng.uniform(*waves) + rng.uniform(0, 2 * np.pi))
    lateral -= np.interp(0.0, t, lateral)  # pass through the anchor
    d = np.array([math.cos(angle), math.sin(angle)])
    n = np.array([-d[1], d[0]])
    return shapely.LineString(anchor + t[:, None] * d + lateral[:, None] * n)


def _make_river(rng: np.random.Generator, poly: Any, core: tuple[float, float], scale: float = 1.0) -> _Barrier:
    core_xy = np.asarray(core)
    angle = rng.uniform(0, np.pi)
    normal = np.array([-math.sin(angle), math.cos(angle)])
    anchor = core_xy + normal * (rng.uniform(300.0, 1100.0) * scale) * rng.choice([-1.0, 1.0])
    line = _meander(rng, anchor, angle, _reach(poly, core_xy), (60.0, 140.0), (2500.0, 7000.0), 3)
    half_water = rng.uniform(30.0, 55.0)
    half = half_water + rng.uniform(25.0, 40.0)
    water = line.buffer(half_water, quad_segs=4, cap_style="flat")
    zone = line.buffer(half, quad_segs=4, cap_style="flat")
    return _Barrier(line, water, zone, half)


def _make_railway(
    rng: np.random.Generator, poly: Any, core: tuple[float, float], river: _Barrier, scale: float = 1.0
) -> _Barrier:
    core_xy = np.asarray(core)
    coords = shapely.get_coordinates(river.line)
    river_angle = math.atan2(*(coords[-1] - coords[0])[::-1])
    angle = river_angle + rng.choice([-1.0, 1.0]) * rng.uniform(np.radians(45), np.radians(90))
    normal = np.array([-math.sin(angle), math.cos(angle)])
    anchor = core_xy + normal * (rng.uniform(900.0, 2000.0) * scale) * rng.choice([-1.0, 1.0])
    line = _meander(rng, anchor, angle, _reach(poly, core_xy), (60.0, 160.0), (9000.0, 16000.0), 2)
    half = rng.uniform(25.0, 40.0)
    zone = line.buffer(half, quad_segs=4, cap_style="flat")
    return _Barrier(line, line, zone, half)


class _Barriers:
    """River and railway zones, their side roads and the regions they cut the district into."""

    def __init__(self, river: _Barrier, rail: _Barrier, poly: Any) -> None:
        self.river = river
        self.rail = rail
        self.zones = shapely.union(river.zone, rail.zone)
        shapely.prepare(self.zones)
        rest = shapely.difference(poly, self.zones)
        self.regions = shapely.get_parts(rest)

    def contains_xy(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return shapely.contains_xy(self.zones, x, y)


# --------------------------------------------------------------------------- line records


@dataclass
class _Lines:
    """Street lines with per-line attributes (parallel arrays)."""

    geom: np.ndarray
    kind: np.ndarray
    name: np.ndarray
    editable: np.ndarray  # generated local streets that :func:`_edit_locals` may change

    @staticmethod
    def of(geoms: Any, kind: Any, name: Any, editable: Any = False) -> _Lines:
        g = np.asarray(geoms, dtype=object).reshape(-1)
        n = len(g)
        return _Lines(
            g,
            np.broadcast_to(np.asarray(kind, dtype=np.int64), (n,)).copy(),
            np.array(np.broadcast_to(np.asarray(name, dtype=object), (n,)), dtype=object),
            np.broadcast_to(np.asarray(editable, dtype=bool), (n,)).copy(),
        )

    def __len__(self) -> int:
        return len(self.geom)

    def take(self, idx: Any) -> _Lines:
        return _Lines(self.geom[idx], self.kind[idx], self.name[idx], self.editable[idx])


def _concat(*parts: _Lines) -> _Lines:
    return _Lines(
        np.concatenate([p.geom for p in parts]),
        np.concatenate([p.kind for p in parts]),
        np.concatenate([p.name for p in parts]),
        np.concatenate([p.editable for p in parts]),
    )


def _explode(lines: _Lines) -> _Lines:
    """Split multi-part geometries, keep non-empty LineStrings, carry attributes along."""
    parts, idx = shapely.get_parts(lines.geom, return_index=True)
    ok = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 0)
    out = lines.take(idx[ok])
    out.geom = parts[ok]
    return out


def _node(lines: _Lines) -> _Lines:
    """Node line work by snap rounding on the 1 cm grid; each piece inherits its source's attributes.

    Where two sources claim a piece (overlap) the higher-priority kind wins.
    """
    if len(lines) == 0:
        return lines
    merged = shapely.union_all(lines.geom, grid_size=_GRID)
    parts = shapely.get_parts(merged)
    parts = parts[(shapely.get_type_id(parts) == 1) & (shapely.length(parts) > 0)]
    mids = shapely.line_interpolate_point(parts, 0.5, normalized=True)
    tree = shapely.STRtree(lines.geom)
    qi, gi = tree.query(mids, predicate="dwithin", distance=5 * _GRID)
    parent = np.full(len(parts), -1, dtype=np.int64)
    if len(qi):
        order = np.lexsort((gi, lines.kind[gi], qi))
        qi, gi = qi[order], gi[order]
        first = np.flatnonzero(np.r_[True, qi[1:] != qi[:-1]])
        parent[qi[first]] = gi[first]
    missing = np.flatnonzero(parent < 0)
    if len(missing):
        _, near = tree.query_nearest(mids[missing], return_distance=False, all_matches=False)
        parent[missing] = near
    out = lines.take(parent)
    out.geom = parts
    return out


def _topology(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Node ids of segment ends (exact on the snapped grid), node degrees and node coordinates."""
    n = len(geoms)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, np.zeros((0, 2))
    ends = np.concatenate(
        [
            shapely.get_coordinates(shapely.get_point(geoms, 0)),
            shapely.get_coordinates(shapely.get_point(geoms, -1)),
        ]
    )
    xy, inv = np.unique(ends, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    u, v = inv[:n], inv[n:]
    deg = np.bincount(u, minlength=len(xy)) + np.bincount(v, minlength=len(xy))
    return u, v, deg, xy


def _components(u: np.ndarray, v: np.ndarray, n_nodes: int) -> np.ndarray:
    graph = sparse.coo_matrix((np.ones(len(u)), (u, v)), shape=(n_nodes, n_nodes))
    return csgraph.connected_components(graph, directed=False)[1]


# --------------------------------------------------------------------------- names


class _NamePool:
    """Unique Chinese street names drawn in a seeded order."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.arterial = list(rng.permutation(_ARTERIAL_NAMES))
        combos = [p + s for p in _LOCAL_PREFIXES for s in _LOCAL_SUFFIXES]
        self.local = [str(x) for x in rng.permutation(combos)]
        lanes = [p + s for p in _LOCAL_PREFIXES for s in _LANE_SUFFIXES]
        self.lane = [str(x) for x in rng.permutation(lanes)]
        self._rural = 0

    def next_arterial(self) -> str:
        if self.arterial:
            return str(self.arterial.pop())
        self._rural += 1
        return f"县道X{100 + self._rural}"

    def next_local(self) -> str:
        return self.local.pop() if self.local else _UNNAMED

    def next_lane(self) -> str:
        return self.lane.pop() if self.lane else _UNNAMED


def _root(name: str) -> str:
    for suffix in ("大道", "路", "街"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


# --------------------------------------------------------------------------- major streets


def _warp(rng: np.random.Generator) -> Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A smooth displacement field (|gradient| < 0.3, so a grid stays a grid)."""
    terms = [
        (rng.uniform(40.0, 110.0), rng.uniform(2500.0, 6000.0), rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi))
        for _ in range(6)
    ]

    def field(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        du = np.zeros_like(u)
        dv = np.zeros_like(v)
        for k, (amp, wave, beta, phase) in enumerate(terms):
            s = amp * np.sin(2 * np.pi * (math.cos(beta) * u + math.sin(beta) * v) / wave + phase)
            if k % 2:
                dv += s
            else:
                du += s
        return u + du, v + dv

    return field


def _positions(rng: np.random.Generator, half: float, spacing: float) -> np.ndarray:
    pos = [-half - rng.uniform(0.0, spacing)]
    while pos[-1] < half + spacing:
        pos.append(pos[-1] + spacing * rng.uniform(0.8, 1.2))
    return np.asarray(pos)


def _arterial_lines(
    rng: np.random.Generator, poly: Any, density: _Density, names: _NamePool
) -> list[tuple[shapely.LineString, str]]:
    """Warped arterial grid (+ a partial ring road), unclipped, as ``(line, name)`` pairs."""
    core = np.asarray(density.core)
    half = _reach(poly, core) - 1000.0
    theta = rng.uniform(-0.45, 0.45)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    spacing = rng.uniform(760.0, 940.0)
    us, vs = _positions(rng, half, spacing), _positions(rng, half, spacing)
    warp = _warp(rng)
    out: list[tuple[shapely.LineString, str]] = []
    for family, (pos, other) in enumerate([(us, vs), (vs, us)]):
        for p in pos:
            t0, t1 = -half, half
            # a few arterials stop at a T outside the core
            cuts = other[(np.abs(other) > 0.3 * half) & (other > t0) & (other < t1)]
            if len(cuts) and rng.random() < 0.18:
                c = cuts[rng.integers(len(cuts))]
                if c > 0:
                    t1 = c + 3.0
                else:
                    t0 = c - 3.0
            t = np.arange(t0, t1 + 40.0, 40.0)
            t[-1] = min(t[-1], t1)
            a, b = (np.full_like(t, p), t) if family == 0 else (t, np.full_like(t, p))
            wu, wv = warp(a, b)
            xy = np.column_stack([wu, wv]) @ rot.T + core
            out.append((shapely.LineString(xy), names.next_arterial()))
    # a partial ring road: the curve every county seat has
    radius = rng.uniform(1700.0, 2400.0)
    start = rng.uniform(0, 2 * np.pi)
    ang = start + np.linspace(0.0, rng.uniform(np.radians(120), np.radians(220)), 160)
    r = radius + 80.0 * np.sin(3 * ang + rng.uniform(0, 2 * np.pi))
    ring = shapely.LineString(core + np.column_stack([np.cos(ang) * r, np.sin(ang) * r]))
    out.append((ring, "环城路"))
    return out


@dataclass
class _Crossing:
    geom: shapely.LineString
    name: str
    barrier: str  # "river" or "rail"
    param: float  # distance along the barrier centreline
    regions: tuple[int, int]
    synthetic: bool = False  # a crossing added where no arterial crosses


def _crossing_candidates(
    lines: list[tuple[shapely.LineString, str]], poly: Any, barriers: _Barriers
) -> list[_Crossing]:
    """Pieces of arterials that cross one barrier zone cleanly, inside the district."""
    geoms = np.array([g for g, _ in lines], dtype=object)
    out: list[_Crossing] = []
    region_tree = shapely.STRtree(barriers.regions)
    for label, bar, other in (("river", barriers.river, barriers.rail), ("rail", barriers.rail, barriers.river)):
        pieces, idx = shapely.get_parts(shapely.intersection(geoms, bar.zone), return_index=True)
        for piece, i in zip(pieces, idx):
            if shapely.get_type_id(piece) != 1 or piece.length > 3.5 * bar.half:
                continue
            if not (poly.covers(piece) and piece.intersects(bar.line)) or piece.intersects(other.zone):
                continue
            regions = _end_regions(piece, region_tree)
            if regions is None:
                continue
            param = float(bar.line.line_locate_point(piece.interpolate(0.5, normalized=True)))
            out.append(_Crossing(piece, lines[i][1], label, param, regions))
    return out


def _end_regions(piece: Any, region_tree: shapely.STRtree) -> tuple[int, int] | None:
    """The regions (sides of the barrier) the two ends of a crossing lie in, if each is in exactly one."""
    regions = []
    for end in (shapely.get_point(piece, 0), shapely.get_point(piece, -1)):
        hit = region_tree.query(end, predicate="dwithin", distance=0.5)
        if len(hit) != 1:
            return None
        regions.append(int(hit[0]))
    return regions[0], regions[1]


def _synthetic_crossing(
    rng: np.random.Generator, poly: Any, barriers: _Barriers, label: str, taken: list[_Crossing], name: str
) -> _Crossing | None:
    """A perpendicular crossing from side road to side road where no arterial crosses."""
    bar, other = (barriers.river, barriers.rail) if label == "river" else (barriers.rail, barriers.river)
    inside = shapely.intersection(bar.line, poly.buffer(-3 * bar.half))
    if inside.is_empty:
        return None
    region_tree = shapely.STRtree(barriers.regions)
    for _ in range(60):
        p = inside.interpolate(rng.uniform(0, inside.length))
        s = bar.line.line_locate_point(p)
        if any(c.barrier == label and abs(c.param - s) < 500.0 for c in taken):
            continue
        a, b = bar.line.interpolate(s - 5.0), bar.line.interpolate(s + 5.0)
        d = np.array([b.x - a.x, b.y - a.y])
        d /= np.hypot(*d)
        n = np.array([-d[1], d[0]]) * (bar.half + 5.0)
        cross = shapely.LineString([np.array([p.x, p.y]) - n, np.array([p.x, p.y]) + n])
        pieces = shapely.get_parts(shapely.intersection(cross, bar.zone))
        pieces = [q for q in pieces if shapely.get_type_id(q) == 1 and q.distance(p) < 1e-6]
        if not pieces:
            continue
        piece = pieces[0]
        if not poly.covers(piece) or piece.intersects(other.zone):
            continue
        regions = _end_regions(piece, region_tree)
        if regions is None:
            continue
        return _Crossing(piece, name, label, float(s), regions, synthetic=True)
    return None


def _pick_crossings(
    rng: np.random.Generator, poly: Any, barriers: _Barriers, candidates: list[_Crossing]
) -> list[_Crossing]:
    """3-5 bridges and 2-4 railway crossings, first joining every region, then spread out."""
    want = {"river": int(rng.integers(3, 6)), "rail": int(rng.integers(2, 5))}
    minimum = {"river": 3, "rail": 2}
    parent = list(range(len(barriers.regions)))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    chosen: list[_Crossing] = []
    count = {"river": 0, "rail": 0}

    def spread_ok(c: _Crossing) -> bool:
        return all(abs(c.param - o.param) >= 500.0 for o in chosen if o.barrier == c.barrier)

    order = rng.permutation(len(candidates))
    for i in order:  # connect regions first
        c = candidates[i]
        ra, rb = find(c.regions[0]), find(c.regions[1])
        if ra != rb and count[c.barrier] < want[c.barrier] and spread_ok(c):
            parent[ra] = rb
            chosen.append(c)
            count[c.barrier] += 1
    for i in order:  # then fill up
        c = candidates[i]
        if count[c.barrier] < want[c.barrier] and spread_ok(c) and all(c is not o for o in chosen):
            chosen.append(c)
            count[c.barrier] += 1
    bridge_names = list(rng.permutation(_BRIDGE_NAMES))
    rail_names = list(rng.permutation(_RAIL_CROSSING_NAMES))
    for label in ("river", "rail"):
        while count[label] < minimum[label]:
            pool = bridge_names if label == "river" else rail_names
            extra = _synthetic_crossing(rng, poly, barriers, label, chosen, str(pool.pop()))
            if extra is None:
                break
            chosen.append(extra)
            count[label] += 1
    return chosen


def _major_streets(
    rng: np.random.Generator, poly: Any, density: _Density, barriers: _Barriers, names: _NamePool
) -> _Lines:
    """Arterials cut by the barrier zones, the chosen crossings and the side roads, noded."""
    lines = _arterial_lines(rng, poly, density, names)
    crossings = _pick_crossings(rng, poly, barriers, _crossing_candidates(lines, poly, barriers))
    geoms = np.array([g for g, _ in lines], dtype=object)
    cut = shapely.intersection(shapely.difference(geoms, barriers.zones), poly)
    parts = [_Lines.of(cut, _ART, np.array([n for _, n in lines], dtype=object))]
    for c in crossings:
        if c.barrier == "river":
            nm = c.name if c.name.endswith("桥") else _root(c.name) + "大桥"
            parts.append(_Lines.of([c.geom], _BRIDGE, nm))
        else:
            parts.append(_Lines.of([c.geom], _SEC if c.synthetic else _ART, c.name))
    # side roads: the zone edges, each side named by its compass side
    for bar, other, stem, kind in ((barriers.river, barriers.rail, "滨河", _SEC), (barriers.rail, barriers.river, "铁路", _LOC)):
        edge = shapely.difference(shapely.intersection(bar.zone.exterior, poly), other.zone)
        pieces = shapely.get_parts(edge)
        pieces = pieces[(shapely.get_type_id(pieces) == 1) & (shapely.length(pieces) > 0)]
        if len(pieces) == 0:
            continue
        mids = shapely.line_interpolate_point(pieces, 0.5, normalized=True)
        at = shapely.line_locate_point(bar.line, mids)
        foot = shapely.get_coordinates(shapely.line_interpolate_point(bar.line, at))
        ahead = shapely.get_coordinates(shapely.line_interpolate_point(bar.line, at + 1.0))
        t = ahead - foot
        off = shapely.get_coordinates(mids) - foot
        side = np.sign(t[:, 0] * off[:, 1] - t[:, 1] * off[:, 0])  # > 0: left of the flow
        line_xy = shapely.get_coordinates(bar.line)
        d = line_xy[-1] - line_xy[0]
        left = math.degrees(math.atan2(d[0], -d[1]))  # overall direction of the left side
        nms = np.where(side > 0, f"{stem}{_compass(left)}路", f"{stem}{_compass(left + 180.0)}路").astype(object)
        parts.append(_Lines.of(pieces, kind, nms))
    major = _node(_explode(_concat(*parts)))
    return _prune_major_dangles(major, poly)


def _compass(angle_deg: float) -> str:
    a = angle_deg % 360.0
    return ("东", "北", "西", "南")[int(((a + 45.0) % 360.0) // 90.0)]


def _prune_major_dangles(lines: _Lines, poly: Any) -> _Lines:
    """Drop arterial ends that stop short of any other street (ring-road tails, overshoots)."""
    rings = poly.boundary
    for _ in range(4):
        u, v, deg, xy = _topology(lines.geom)
        free = (deg == 1) & ~shapely.dwithin(shapely.points(xy), rings, 0.05)
        drop = free[u] | free[v]
        if not drop.any():
            break
        lines = lines.take(~drop)
    return lines


# --------------------------------------------------------------------------- local streets


def _spacing(rho: np.ndarray) -> np.ndarray:
    """Local street spacing (m): ~95 m in the core, ~330 m at the sparse edge."""
    return 95.0 + 235.0 * (1.0 - rho) ** 1.6


def _offsets(rng: np.random.Generator, half: float, step: float) -> np.ndarray:
    pos = [-half + rng.uniform(0.2, 1.0) * step]
    while pos[-1] < half:
        pos.append(pos[-1] + step * rng.uniform(0.8, 1.2))
    return np.asarray(pos[:-1])


def _local_lines(
    rng: np.random.Generator,
    poly: Any,
    density: _Density,
    major: _Lines,
    barriers: _Barriers,
    names: _NamePool,
    budget: tuple[float, float],
) -> _Lines:
    """Fill each superblock with a locally oriented, jittered grid of secondary/local streets."""
    rings = shapely.get_parts(poly.boundary)
    noded = shapely.union_all(np.concatenate([major.geom, rings]), grid_size=_GRID)
    faces = _faces(shapely.get_parts(noded), poly)
    rep = shapely.point_on_surface(faces)
    rxy = shapely.get_coordinates(rep)
    rho = density(rxy[:, 0], rxy[:, 1])
    area = shapely.area(faces)
    s1 = _spacing(rho)
    ratio = rng.uniform(1.0, 1.7, len(faces))
    active = (rho >= 0.03) & ~barriers.contains_xy(rxy[:, 0], rxy[:, 1]) & (area > 0.8 * s1 * s1 * ratio)
    estimate = float((2.0 * area / (s1 * s1 * ratio))[active].sum())
    lo, hi = budget  # bounds on the estimated number of local segments
    if estimate > hi:
        s1 = s1 * math.sqrt(estimate / hi)
    elif estimate < lo:
        s1 = np.maximum(80.0, s1 * math.sqrt(estimate / lo))
    active &= area > 0.8 * s1 * s1 * ratio

    envelopes = shapely.oriented_envelope(faces)
    geoms: list[np.ndarray] = []
    kinds: list[int] = []
    line_names: list[str] = []
    owner: list[int] = []
    fam_spacing: list[float] = []
    for i in np.flatnonzero(active):
        env = shapely.get_coordinates(envelopes[i])[:4]
        if len(env) < 4:
            continue
        e1, e2 = env[1] - env[0], env[2] - env[1]
        axis = e1 if np.hypot(*e1) >= np.hypot(*e2) else e2
        phi = math.atan2(axis[1], axis[0])
        centre = env.mean(axis=0)
        half = 0.5 * float(np.hypot(*(env[2] - env[0]))) + 10.0
        for fam, (ang, step) in enumerate(((phi, s1[i]), (phi + np.pi / 2 + rng.normal(0, 0.06), s1[i] * ratio[i]))):
            d = np.array([math.cos(ang), math.sin(ang)])
            n = np.array([-d[1], d[0]])
            offs = _offsets(rng, half, step)
            if len(offs) == 0:
                continue
            main = int(np.argmin(np.abs(offs))) if len(offs) >= 5 else -1
            t = np.linspace(-half, half, 9)
            arch = np.sin(np.pi * (t + half) / (2 * half))
            for k, o in enumerate(offs):
                bend = np.clip(rng.normal(0, 0.12 * step), -0.25 * step, 0.25 * step) if rng.random() < 0.4 else 0.0
                lateral = o + bend * arch
                geoms.append(centre + t[:, None] * d + lateral[:, None] * n)
                if k == main:
                    kinds.append(_SEC)
                    line_names.append(names.next_local())
                else:
                    kinds.append(_LOC)
                    line_names.append(_UNNAMED if rng.random() < 0.12 else names.next_local())
                owner.append(i)
                fam_spacing.append(step)
    if not geoms:
        return _Lines.of([], _LOC, _UNNAMED)
    owner_arr = np.asarray(owner)
    raw = shapely.linestrings(np.stack(geoms))
    clipped = shapely.intersection(raw, faces[owner_arr])
    lines = _Lines.of(clipped, np.asarray(kinds), np.array(line_names, dtype=object), True)
    parts, idx = shapely.get_parts(lines.geom, return_index=True)
    ok = (shapely.get_type_id(parts) == 1) & (shapely.length(parts) >= 0.35 * np.asarray(fam_spacing)[idx])
    parts, idx = parts[ok], idx[ok]
    # drop pieces hugging an edge of their superblock (near-parallel slivers)
    mids = shapely.line_interpolate_point(parts, 0.5, normalized=True)
    edge_gap = shapely.distance(mids, shapely.boundary(faces[owner_arr[idx]]))
    ok = edge_gap >= 0.3 * np.asarray(fam_spacing)[idx]
    # and pieces ending within 8 m of a major node (would make slivers and 1 m segments)
    _, _, _, node_xy = _topology(major.geom)
    node_tree = shapely.STRtree(shapely.points(node_xy))
    for end in (shapely.get_point(parts, 0), shapely.get_point(parts, -1)):
        near = node_tree.query(end, predicate="dwithin", distance=8.0)[0]
        ok[near] = False
    out = lines.take(idx[ok])
    out.geom = parts[ok]
    return out


# --------------------------------------------------------------------------- irregularity


def _edit_locals(
    rng: np.random.Generator, poly: Any, density: _Density, lines: _Lines, barriers: _Barriers, names: _NamePool
) -> _Lines:
    """Remove and truncate local segments, add lanes; return the final noded, connected network."""
    net = _node(lines)
    n = len(net)
    length = shapely.length(net.geom)
    mids = shapely.line_interpolate_point(net.geom, 0.5, normalized=True)
    rho = density.at(mids)
    is_local = net.editable & (net.kind == _LOC)
    remove = is_local & (rng.random(n) < 0.07 + 0.16 * (1.0 - rho))
    keep = ~remove
    u, v, deg, _ = _topology(net.geom)
    deg = np.bincount(np.concatenate([u[keep], v[keep]]), minlength=len(deg))
    trunc = np.flatnonzero(is_local & keep & (length > 60.0) & (rng.random(n) < 0.08))
    geoms = net.geom.copy()
    kinds = net.kind.copy()
    fracs = rng.uniform(0.35, 0.65, len(trunc))
    coin = rng.random(len(trunc))
    for j, e in enumerate(trunc):
        a_ok, b_ok = deg[u[e]] >= 3, deg[v[e]] >= 3
        if not (a_ok or b_ok):
            continue
        from_start = a_ok if a_ok != b_ok else coin[j] < 0.5
        cut = fracs[j] * length[e]
        geoms[e] = substring(geoms[e], 0.0, cut) if from_start else substring(geoms[e], length[e] - cut, length[e])
    net = _Lines(geoms, kinds, net.name, net.editable).take(keep)

    # lanes: short perpendicular stubs into blocks
    length = shapely.length(net.geom)
    hosts = np.flatnonzero(net.editable & np.isin(net.kind, (_LOC, _SEC)) & (length > 70.0))
    hosts = hosts[rng.random(len(hosts)) < 0.10]
    t = rng.uniform(0.3, 0.7, len(hosts)) * length[hosts]
    root = shapely.get_coordinates(shapely.line_interpolate_point(net.geom[hosts], t))
    ahead = shapely.get_coordinates(shapely.line_interpolate_point(net.geom[hosts], t + 1.0))
    behind = shapely.get_coordinates(shapely.line_interpolate_point(net.geom[hosts], t - 1.0))
    tangent = ahead - behind
    tangent /= np.maximum(np.hypot(tangent[:, 0], tangent[:, 1]), 1e-9)[:, None]
    side = rng.choice([-1.0, 1.0], len(hosts))[:, None]
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]]) * side
    reach = rng.uniform(30.0, 80.0, len(hosts))[:, None]
    stubs = shapely.linestrings(np.stack([root, root + normal * reach], axis=1))
    probes = shapely.linestrings(np.stack([root + normal * 4.0, root + normal * reach], axis=1))
    ok = np.ones(len(hosts), dtype=bool)
    qi, gi = shapely.STRtree(net.geom).query(probes, predicate="dwithin", distance=10.0)
    bad = qi[gi != hosts[qi]]
    ok[bad] = False
    inner = poly.buffer(-10.0)
    ok &= shapely.covered_by(stubs, inner) & ~shapely.intersects(stubs, barriers.zones)
    idx = np.flatnonzero(ok)
    if len(idx):
        qi, gi = shapely.STRtree(stubs[idx]).query(stubs[idx], predicate="dwithin", distance=12.0)
        later = gi[gi > qi]
        ok[idx[np.unique(later)]] = False
    idx = np.flatnonzero(ok)
    lane_names = np.array(
        [_UNNAMED if rng.random() < 0.7 else names.next_lane() for _ in range(len(idx))], dtype=object
    )
    lanes = _Lines.of(stubs[idx], _LANE, lane_names, True)
    net = _node(_concat(net, lanes))
    net = _prune_short_dangles(net, 5.0)
    net = _node(_contract_short(net, poly, 8.0))  # re-node: moved ends may touch anew
    net = _prune_short_dangles(net, 5.0)
    net = _largest_components(net, poly)
    return _merge_chains(net)


def _prune_short_dangles(lines: _Lines, min_length: float) -> _Lines:
    for _ in range(4):
        u, v, deg, _ = _topology(lines.geom)
        drop = ((deg[u] == 1) | (deg[v] == 1)) & (shapely.length(lines.geom) < min_length)
        if not drop.any():
            break
        lines = lines.take(~drop)
    return lines


def _contract_short(lines: _Lines, poly: Any, min_length: float) -> _Lines:
    """Collapse segments shorter than ``min_length`` between two junctions into one node.

    Two side streets meeting a main road a metre apart are an artefact of filling
    neighbouring superblocks independently; real junctions that close are one junction.
    """
    rings = poly.boundary
    for _ in range(6):
        u, v, deg, xy = _topology(lines.geom)
        length = shapely.length(lines.geom)
        on_edge = shapely.dwithin(shapely.points(xy), rings, 0.05)
        cand = (length < min_length) & (deg[u] >= 2) & (deg[v] >= 2) & ~on_edge[u] & ~on_edge[v] & (u != v)
        if not cand.any():
            break
        used = np.zeros(len(xy), dtype=bool)
        target = np.arange(len(xy))
        drop = np.zeros(len(lines), dtype=bool)
        idx = np.flatnonzero(cand)
        for e in idx[np.argsort(length[idx], kind="stable")]:
            a, b = int(u[e]), int(v[e])
            if used[a] or used[b]:
                continue
            keep_node, move_node = (a, b) if (deg[a], -a) >= (deg[b], -b) else (b, a)
            target[move_node] = keep_node
            used[a] = used[b] = True
            drop[e] = True
        moved = target != np.arange(len(xy))
        geoms = lines.geom.copy()
        for e in np.flatnonzero((moved[u] | moved[v]) & ~drop):
            c = shapely.get_coordinates(geoms[e]).copy()
            c[0] = xy[target[u[e]]]
            c[-1] = xy[target[v[e]]]
            geoms[e] = shapely.LineString(c)
        lines = _Lines(geoms, lines.kind, lines.name, lines.editable).take(~drop)
        lines = lines.take(shapely.length(lines.geom) > 0)
    return lines


def _largest_components(lines: _Lines, poly: Any) -> _Lines:
    """Keep, in each part of the boundary, the connected component with the most street length."""
    u, v, _, xy = _topology(lines.geom)
    comp = _components(u, v, len(xy))[u]
    parts = shapely.get_parts(poly)
    mids = shapely.line_interpolate_point(lines.geom, 0.5, normalized=True)
    part = np.zeros(len(lines), dtype=np.int64)
    if len(parts) > 1:
        part = shapely.STRtree(parts).query_nearest(mids, return_distance=False, all_matches=False)[1]
    length = shapely.length(lines.geom)
    keep = np.zeros(len(lines), dtype=bool)
    for p in range(len(parts)):
        sel = part == p
        if not sel.any():
            continue
        totals = np.bincount(comp[sel], weights=length[sel])
        keep |= sel & (comp == int(np.argmax(totals)))
    return lines.take(keep)


def _merge_chains(lines: _Lines) -> _Lines:
    """Merge segments meeting at degree-2 nodes when they carry the same name and kind."""
    u, v, deg, _ = _topology(lines.geom)
    n = len(lines)
    ends = np.concatenate([u, v])
    edge_of = np.concatenate([np.arange(n), np.arange(n)])
    order = np.argsort(ends, kind="stable")
    ends, edge_of = ends[order], edge_of[order]
    start = np.searchsorted(ends, np.arange(len(deg)))
    mergeable = np.zeros(len(deg), dtype=bool)
    pair = np.full((len(deg), 2), -1, dtype=np.int64)
    for node in np.flatnonzero(deg == 2):
        a, b = edge_of[start[node]], edge_of[start[node] + 1]
        if a != b and lines.kind[a] == lines.kind[b] and lines.name[a] == lines.name[b]:
            mergeable[node] = True
            pair[node] = (a, b)
    if not mergeable.any():
        return lines
    join = sparse.coo_matrix((np.ones(int(mergeable.sum())), (pair[mergeable, 0], pair[mergeable, 1])), shape=(n, n))
    _, group = csgraph.connected_components(join, directed=False)
    members = np.argsort(group, kind="stable")
    bounds = np.flatnonzero(np.r_[True, group[members][1:] != group[members][:-1], True])
    coords = [shapely.get_coordinates(g) for g in lines.geom]
    new_geom = lines.geom.copy()
    keep = np.ones(n, dtype=bool)
    for gs, ge in zip(bounds[:-1], bounds[1:]):
        edges = members[gs:ge]
        if len(edges) < 2:
            continue
        chain = _walk_chain(edges, u, v, mergeable, pair, coords)
        if chain is None:
            continue
        first = int(edges.min())
        new_geom[first] = shapely.LineString(chain)
        keep[edges] = False
        keep[first] = True
    out = _Lines(new_geom, lines.kind, lines.name, lines.editable)
    return out.take(keep)


def _walk_chain(
    edges: np.ndarray, u: np.ndarray, v: np.ndarray, mergeable: np.ndarray, pair: np.ndarray, coords: list[np.ndarray]
) -> np.ndarray | None:
    """Concatenate a chain of edges joined at mergeable nodes, starting from a true end."""
    start_edge, start_node = -1, -1
    for e in sorted(int(x) for x in edges):
        if not mergeable[u[e]]:
            start_edge, start_node = e, u[e]
            break
        if not mergeable[v[e]]:
            start_edge, start_node = e, v[e]
            break
    if start_edge < 0:  # an isolated loop of one street: leave it as it is
        return None
    out = []
    e, at = start_edge, start_node
    for _ in range(len(edges)):
        c = coords[e] if u[e] == at else coords[e][::-1]
        out.append(c if not out else c[1:])
        at = v[e] if u[e] == at else u[e]
        if not mergeable[at]:
            break
        a, b = pair[at]
        e = int(b if a == e else a)
    return np.concatenate(out)


# --------------------------------------------------------------------------- blocks


def _faces(noded: np.ndarray, poly: Any) -> np.ndarray:
    """Faces of noded line work that lie inside ``poly`` (not in its holes)."""
    faces = shapely.get_parts(shapely.polygonize(noded))
    faces = faces[shapely.area(faces) > 0]
    return faces[shapely.contains(poly, shapely.point_on_surface(faces))]


def _close_with_boundary(lines: _Lines, poly: Any, extra: np.ndarray | None = None) -> tuple[_Lines, np.ndarray, Any]:
    """Node streets with the boundary rings (and ``extra`` lines blocks must not cross).

    Returns streets, blocks and the exact outline they tile.
    """
    rings = shapely.get_parts(poly.boundary)
    if extra is not None and len(extra):
        rings = np.concatenate([rings, np.asarray(extra, dtype=object)])
    both = _concat(lines, _Lines.of(rings, _RING, ""))
    noded = _node(both)
    faces = _faces(noded.geom, poly)
    outline = shapely.coverage_union_all(faces)
    streets = noded.take(noded.kind != _RING)
    # snapping can leave 1 cm stubs of a street just outside or along the outline
    mids = shapely.line_interpolate_point(streets.geom, 0.5, normalized=True)
    streets = streets.take(shapely.contains(outline, mids))
    return streets, faces, outline


def _face_adjacency(faces: np.ndarray) -> sparse.csr_matrix:
    """Blocks sharing a stretch of street (not just a corner)."""
    tree = shapely.STRtree(faces)
    i, j = tree.query(faces, predicate="touches")
    sel = i < j
    i, j = i[sel], j[sel]
    shared = shapely.relate_pattern(faces[i], faces[j], "****1****")
    i, j = i[shared], j[shared]
    n = len(faces)
    adj = sparse.coo_matrix((np.ones(2 * len(i)), (np.r_[i, j], np.r_[j, i])), shape=(n, n))
    return adj.tocsr()


# --------------------------------------------------------------------------- population


def _population_targets(rng: np.random.Generator) -> tuple[int, int]:
    """Residents and address points of the default district."""
    return int(rng.integers(240_000, 360_001)), int(rng.integers(26_000, 40_001))


def _population(
    rng: np.random.Generator,
    poly: Any,
    faces: np.ndarray,
    streets: _Lines,
    barriers: _Barriers,
    density: _Density,
    total: int,
    n_points: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Residential address points (set back from streets, outside river/railway/non-residential blocks)."""
    area = shapely.area(faces)
    rep = shapely.get_coordinates(shapely.point_on_surface(faces))
    residential = (rng.random(len(faces)) >= 0.08) | (area < 5000.0)
    residential &= ~barriers.contains_xy(rep[:, 0], rep[:, 1])
    all_tree = shapely.STRtree(streets.geom)
    art_tree = shapely.STRtree(streets.geom[np.isin(streets.kind, (_ART, _BRIDGE))])
    idle_tree = shapely.STRtree(faces[~residential])  # parks, schools, works, river, railway
    minx, miny, maxx, maxy = poly.bounds
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    got, rate = 0, 0.1
    for _ in range(60):
        need = n_points - got
        if need <= 0:
            break
        m = int(min(2_000_000, max(20_000, 1.3 * need / rate)))
        x = rng.uniform(minx, maxx, m)
        y = rng.uniform(miny, maxy, m)
        ok = rng.random(m) < density(x, y) ** 0.8
        x, y = x[ok], y[ok]
        ok = shapely.contains_xy(poly, x, y) & ~barriers.contains_xy(x, y)
        x, y = x[ok], y[ok]
        pts = shapely.points(x, y)
        clear = np.ones(len(pts), dtype=bool)
        clear[all_tree.query(pts, predicate="dwithin", distance=11.0)[0]] = False
        clear[art_tree.query(pts, predicate="dwithin", distance=20.0)[0]] = False
        clear[idle_tree.query(pts, predicate="intersects")[0]] = False
        rate = max(1e-3, clear.sum() / m)
        xs.append(x[clear])
        ys.append(y[clear])
        got += int(clear.sum())
    x = np.concatenate(xs)[:n_points]
    y = np.concatenate(ys)[:n_points]
    weight = density(x, y) ** 0.45 * np.exp(rng.normal(0.0, 0.55, len(x)))
    people = np.maximum(1, np.round(weight / weight.sum() * total)).astype(np.int64)
    return shapely.points(x, y), people


def _points_per_face(people: tuple[np.ndarray, np.ndarray], faces: np.ndarray) -> np.ndarray:
    pts, pop = people
    pi, fi = shapely.STRtree(faces).query(pts, predicate="within")
    return np.bincount(fi, weights=pop[pi], minlength=len(faces))


# --------------------------------------------------------------------------- partitions


def _bisect(
    rng: np.random.Generator, units: np.ndarray, k: int, xy: np.ndarray, w: np.ndarray, adj: sparse.csr_matrix
) -> list[np.ndarray]:
    """Split connected ``units`` into ``k`` contiguous groups of roughly equal weight.

    Recursive sweeps along the weighted principal axis (slightly rotated at random); pieces
    cut off from their side are handed to the other side, which keeps both contiguous.
    """
    units = np.sort(units)
    if k <= 1 or len(units) < 2:
        return [units]
    k1 = k // 2 if rng.random() < 0.5 else k - k // 2
    pts, ww = xy[units], w[units]
    centre = np.average(pts, axis=0, weights=ww)
    cov = np.cov((pts - centre).T, aweights=ww) if len(units) > 2 else np.eye(2)
    _, vecs = np.linalg.eigh(cov)
    ang = math.atan2(vecs[1, -1], vecs[0, -1]) + rng.normal(0.0, 0.25)
    proj = (pts - centre) @ np.array([math.cos(ang), math.sin(ang)])
    order = np.argsort(proj, kind="stable")
    cum = np.cumsum(ww[order])
    cut = int(np.clip(np.searchsorted(cum, cum[-1] * k1 / k), 0, len(units) - 2)) + 1
    side = np.zeros(len(units), dtype=bool)
    side[order[:cut]] = True
    sub = adj[units][:, units]
    for flip in (True, False):
        mask = side if flip else ~side
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            continue
        labels = csgraph.connected_components(sub[idx][:, idx], directed=False)[1]
        weights = np.bincount(labels, weights=ww[idx] + 1e-9)
        stray = labels != int(np.argmax(weights))
        side[idx[stray]] = not flip
    a, b = units[side], units[~side]
    return _bisect(rng, a, k1, xy, w, adj) + _bisect(rng, b, k - k1, xy, w, adj)


def _allocate(weights: np.ndarray, k: int, minimum: int) -> np.ndarray:
    """Split ``k`` into integer shares proportional to ``weights`` (largest remainder), each ≥ minimum."""
    n = len(weights)
    share = np.full(n, minimum, dtype=np.int64)
    left = k - share.sum()
    if left <= 0:
        return share
    raw = weights / weights.sum() * (k - 0.0) - minimum
    raw = np.maximum(raw, 0.0)
    raw = raw / raw.sum() * left if raw.sum() > 0 else np.full(n, left / n)
    add = np.floor(raw).astype(np.int64)
    rest = int(left - add.sum())
    add[np.argsort(-(raw - add), kind="stable")[:rest]] += 1
    return share + add


def _reading_order(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Order north→south in rows, west→east within a row (the way codes are numbered)."""
    n = len(x)
    rows = max(1, int(round(math.sqrt(n))))
    row = np.empty(n, dtype=np.int64)
    row[np.lexsort((x, -y))] = np.arange(n) * rows // n
    return np.lexsort((x, row))


@dataclass
class _Community:
    units: np.ndarray
    code: str
    name: str
    sub_code: str
    sub_name: str
    sub_index: int
    geometry: Any = None


_MIN_BLOCKS_PER_COMMUNITY = 2  # the default district's communities hold at least two street blocks each


def _communities(
    rng: np.random.Generator,
    faces: np.ndarray,
    block_pop: np.ndarray,
    adj: sparse.csr_matrix,
    n_communities: int | None = None,
) -> tuple[list[_Community], np.ndarray]:
    """Subdistricts, then communities inside each, as contiguous unions of blocks (default district)."""
    xy = shapely.get_coordinates(shapely.point_on_surface(faces))
    w = block_pop + shapely.area(faces) / 2000.0  # empty land still weighs a little
    drawn = int(rng.integers(12, 19))
    n_comm = drawn if n_communities is None else int(n_communities)
    labels = csgraph.connected_components(adj, directed=False)[1]
    comp_w = np.bincount(labels, weights=w)
    n_sub = max(int(rng.integers(2, 5)), len(comp_w))
    if n_communities is not None:
        n_sub = max(len(comp_w), min(n_sub, n_comm // 2))
    if len(comp_w) > min(_MAX_PARTS, n_comm):  # pragma: no cover - the default outline is one polygon
        raise GeometryError(f"the blocks form {len(comp_w)} separate pieces; cannot make {n_comm} communities")
    subs: list[np.ndarray] = []
    for c, k in enumerate(_allocate(comp_w, n_sub, 1)):
        subs += _bisect(rng, np.flatnonzero(labels == c), int(k), xy, w, adj)
    sub_w = np.array([w[s].sum() for s in subs])
    per_sub = _allocate(sub_w, n_comm, 2 if n_comm >= 2 * len(subs) else 1)
    sub_xy = np.array([np.average(xy[s], axis=0, weights=w[s]) for s in subs])
    sub_order = _reading_order(sub_xy[:, 0], sub_xy[:, 1])
    sub_names = list(rng.permutation(_SUBDISTRICT_NAMES))
    comm_names = list(rng.permutation(_COMMUNITY_PREFIXES))
    out: list[_Community] = []
    comm_of_face = np.full(len(faces), -1, dtype=np.int64)
    for rank, s in enumerate(sub_order):
        sub_code = f"{DISTRICT_CODE}{rank + 1:03d}"
        sub_name = f"{sub_names[rank]}街道"
        groups = _bisect(rng, subs[s], int(per_sub[s]), xy, w, adj)
        gxy = np.array([np.average(xy[g], axis=0, weights=w[g]) for g in groups])
        for j, g in enumerate(_reading_order(gxy[:, 0], gxy[:, 1])):
            comm_of_face[groups[g]] = len(out)
            units = groups[g]
            out.append(
                _Community(
                    units,
                    f"{sub_code}{j + 1:03d}",
                    f"{comm_names.pop() if comm_names else f'第{len(out) + 1}'}社区",
                    sub_code,
                    sub_name,
                    rank,
                    shapely.coverage_union_all(faces[units]),
                )
            )
    return out, comm_of_face


def _group_adjacency(label: np.ndarray, adj: sparse.csr_matrix, n: int) -> np.ndarray:
    a = adj.tocoo()
    la, lb = label[a.row], label[a.col]
    m = np.zeros((n, n), dtype=bool)
    m[la, lb] = True
    np.fill_diagonal(m, False)
    return m


def _grids(
    rng: np.random.Generator,
    faces: np.ndarray,
    block_pop: np.ndarray,
    adj: sparse.csr_matrix,
    communities: list[_Community],
    comm_of_face: np.ndarray,
    n_grids: int = N_SAMPLE_GRIDS,
    weight: np.ndarray | None = None,
) -> list[tuple[np.ndarray, str, str, Any]]:
    """The existing plan of ``n_grids`` grids: communities merged and split until max/min population is 1.5-3."""
    xy = shapely.get_coordinates(shapely.point_on_surface(faces))
    w = block_pop + shapely.area(faces) / 2000.0 if weight is None else weight
    n_c = len(communities)
    need = n_grids - n_c
    best: tuple[float, list[np.ndarray]] | None = None
    for _ in range(200):
        groups = [c.units for c in communities]
        subs = [c.sub_index for c in communities]
        n_split = max(0, need) + int(rng.integers(0, 3))
        for _ in range(n_split):
            pops = np.array([block_pop[g].sum() for g in groups])
            pick = int(rng.choice(len(groups), p=pops / pops.sum() if pops.sum() > 0 else None))
            halves = _bisect(rng, groups[pick], 2, xy, w, adj)
            if len(halves) != 2:
                continue
            groups[pick] = halves[0]
            groups.append(halves[1])
            subs.append(subs[pick])
        while len(groups) > n_grids:
            label = np.full(len(faces), -1, dtype=np.int64)
            for gi, g in enumerate(groups):
                label[g] = gi
            touch = _group_adjacency(label, adj, len(groups))
            same = touch & (np.asarray(subs)[:, None] == np.asarray(subs)[None, :])
            cand = np.argwhere(np.triu(same if same.any() else touch))
            pops = np.array([block_pop[g].sum() for g in groups])
            pair_pop = np.maximum(pops[cand[:, 0]] + pops[cand[:, 1]], 1.0)
            p = 1.0 / pair_pop**2
            a, b = cand[int(rng.choice(len(cand), p=p / p.sum()))]
            groups[a] = np.sort(np.concatenate([groups[a], groups[b]]))
            del groups[b]
            del subs[b]
        if len(groups) != n_grids:
            continue
        pops = np.array([block_pop[g].sum() for g in groups])
        ratio = pops.max() / max(pops.min(), 1.0)
        score = abs(ratio - 2.2)
        if best is None or score < best[0]:
            best = (score, groups)
        if 1.5 <= ratio <= 3.0:
            break
    if best is None:  # pragma: no cover - needs a district of fewer than 12 blocks
        raise InfeasibleError(f"cannot draw {n_grids} grids from {len(faces)} street blocks")
    groups = best[1]
    shapes = [shapely.coverage_union_all(faces[g]) for g in groups]
    rp = shapely.get_coordinates(shapely.point_on_surface(np.array(shapes, dtype=object)))
    order = _reading_order(rp[:, 0], rp[:, 1])
    area = shapely.area(faces)
    seq: dict[str, int] = {}
    out = []
    for rank, g in enumerate(order):
        units = groups[g]
        major = int(np.argmax(np.bincount(comm_of_face[units], weights=area[units], minlength=n_c)))
        code = communities[major].code
        seq[code] = seq.get(code, 0) + 1
        out.append((units, f"{code}{seq[code]:02d}", f"第{rank + 1}网格", shapes[g]))
    return out


# --------------------------------------------------------------------------- real boundaries
#
# A given (real) boundary is kept as it is and filled in two zones:
#
# * an **urban core** of ``urban_km2`` around the centre (the whole boundary when it is
#   small): the same city as the default district, scaled to the core's size
#   (:func:`_urban_core`, :func:`_urban_density`, then the default street steps run with
#   the core as their outline);
# * the **rural land** around it: villages and township seats on a terrain-like cost
#   raster, connected by county roads (seat to town), township roads (town to town) and
#   village roads grown as shortest paths on that raster (:func:`_rural_network`), so
#   roads wind, share corridors, stay inside the boundary and cross the river and the
#   railway only on bridges and level crossings.
#
# Subdistricts (街道 in the core, 镇 in rural land) and communities (社区 / 村) are
# contiguous unions of street blocks; parts of the boundary too small for streets
# (islands, slivers) join the nearest community.

_URBAN_BASE = 0.2  # relative density everywhere in the urban core of a given boundary
_RURAL_PEOPLE_PER_KM2 = 100.0
_ALL_URBAN_KM2 = 120.0  # boundaries up to this size are urban throughout by default
_DEFAULT_URBAN_KM2 = 30.0  # the urban core of a larger boundary: a county seat
_VILLAGE_KM2 = 3.0  # rural land per village
_MAX_VILLAGES = 500
_MAX_RASTER_CELLS = 80_000
_MIN_CELL = 150.0  # m
_PEOPLE_PER_POINT = 9.0
_TOWN_NAMES = (
    "龙山 石板 青岩 马场 高坡 白果 黄泥 红岩 大坪 长坝 沙坝 新场 旧州 平寨 岩脚 河口 "
    "坪上 谷丰 双河 三合 四方 五里 六合 七星 八角 九龙 十里 金山 银山 铜鼓"
).split()
_VILLAGE_PREFIXES = (
    "上寨 下寨 中寨 新寨 老寨 大寨 小寨 前进 红星 光荣 联合 民族 团结 和谐 群力 新民 新光 "
    "石头 石门 岩门 岩上 坪坝 坝子 田坝 水井 井坝 茶园 果园 竹园 松林 杉木 枫香 柏杨 "
    "桃子 李子 梨树 核桃 板栗 白岩 黑石 青山 绿水 高寨 低寨 坡头 坡脚 沟头 河边 桥头 "
    "塘边 湾里 冲头 垭口 岭上 洞口 山后 山前"
).split()


@dataclass
class _GivenOptions:
    """Options of a district grown inside a given boundary (all in the output CRS, metres)."""

    urban_km2: float | None = None
    centre: tuple[float, float] | None = None
    population: int | None = None
    n_grids: int = N_SAMPLE_GRIDS
    n_communities: int | None = None
    n_subdistricts: int | None = None
    subdistricts: list[Any] | None = None
    subdistrict_names: list[str] | None = None
    name: str = DISTRICT_NAME
    code: str = DISTRICT_CODE


def _interior_point(main: shapely.Polygon) -> tuple[float, float]:
    """The centroid when it lies well inside ``main``, else the centre of its largest inscribed circle."""
    radius_line = shapely.maximum_inscribed_circle(main, tolerance=max(1.0, math.sqrt(main.area) / 2000.0))
    pole = shapely.get_point(radius_line, 0)
    c = main.centroid
    if main.contains(c) and main.boundary.distance(c) >= 0.5 * radius_line.length:
        return float(c.x), float(c.y)
    return float(pole.x), float(pole.y)


def _urban_core(rng: np.random.Generator, poly: Any, centre: tuple[float, float], target: float) -> Any:
    """An irregular blob of ``target`` m² around ``centre``, inside ``poly`` (``poly`` itself when it is small)."""
    theta = np.linspace(0.0, 2.0 * np.pi, 360, endpoint=False)
    log_r = np.zeros_like(theta)
    for k, sd in enumerate((0.10, 0.16, 0.10, 0.07, 0.05), start=1):
        log_r += rng.normal(0.0, sd) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    for k in range(6, 24):
        log_r += rng.normal(0.0, 0.04 / k**0.6) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    if target >= 0.9 * poly.area:
        return poly
    ring = np.column_stack([np.cos(theta), np.sin(theta)]) * np.exp(np.clip(log_r, -0.5, 0.5))[:, None]
    unit = shapely.Polygon(ring).area
    c = np.asarray(centre, dtype=float)
    point = shapely.Point(c)

    def piece(scale: float) -> Any:
        parts = shapely.get_parts(shapely.intersection(shapely.Polygon(ring * scale + c), poly))
        parts = parts[shapely.area(parts) > 0]
        if len(parts) == 0:
            return shapely.Polygon()
        return parts[int(np.argmin(shapely.distance(parts, point)))]

    lo, hi = 0.0, math.sqrt(target / unit)
    for _ in range(40):  # grow until the piece holding the centre is large enough (or all of its part)
        if piece(hi).area >= target:
            break
        lo, hi = hi, hi * 1.5
    best = piece(hi)
    if best.area >= target:
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            got = piece(mid)
            if abs(got.area - target) <= 0.005 * target:
                best = got
                break
            lo, hi = (mid, hi) if got.area < target else (lo, mid)
            best = got if got.area >= target else best
    core = shapely.set_precision(best, _GRID)
    return _main_part(core) if core.geom_type == "MultiPolygon" else core


def _urban_density(
    rng: np.random.Generator, core_area: Any, centre: tuple[float, float], scale: float, jitter: bool
) -> _Density:
    """The default district's density (a core and 2-3 secondary centres), scaled to the urban core."""
    inner = core_area.buffer(-400.0 * scale)
    if inner.is_empty:
        inner = core_area
    core = np.asarray(centre, dtype=float)
    if jitter:
        for _ in range(20):
            trial = core + rng.normal(0.0, 350.0 * scale, 2)
            if inner.contains(shapely.Point(trial)):
                core = trial
                break
    shapely.prepare(inner)
    n_sec = int(rng.integers(2, 4))
    start = rng.uniform(0, 2 * np.pi)
    cx, cy = [core[0]], [core[1]]
    for i in range(n_sec):
        ang = start + 2 * np.pi * i / n_sec + rng.uniform(-0.5, 0.5)
        dist = rng.uniform(2000.0, 3000.0) * scale
        p = core
        for _ in range(8):
            p = core + dist * np.array([math.cos(ang), math.sin(ang)])
            if shapely.contains_xy(inner, p[0], p[1]):
                break
            dist *= 0.8
        cx.append(p[0])
        cy.append(p[1])
    sigma = np.concatenate([[rng.uniform(1200.0, 1600.0)], rng.uniform(400.0, 650.0, n_sec)]) * scale
    weight = np.concatenate([[1.0], rng.uniform(0.5, 0.85, n_sec)])
    return _Density(np.array(cx), np.array(cy), sigma, weight, base=_URBAN_BASE)


def _density_integral(area: Any, density: _Density, n: int = 400) -> float:
    """∫ density dA over ``area`` (m²), on a regular n × n grid of its bounding box."""
    minx, miny, maxx, maxy = area.bounds
    gx = minx + (np.arange(n) + 0.5) * (maxx - minx) / n
    gy = miny + (np.arange(n) + 0.5) * (maxy - miny) / n
    x, y = (a.ravel() for a in np.meshgrid(gx, gy))
    inside = shapely.contains_xy(area, x, y)
    return float(density(x[inside], y[inside]).sum()) * (maxx - minx) * (maxy - miny) / n**2


# ----------------------------------------------------------------- rural roads on a cost raster


@dataclass
class _Raster:
    """Free cells of rural land as graph nodes (jittered cell centres) with 8-neighbour edges."""

    cell: float
    xy: np.ndarray  # node coordinates
    terrain: np.ndarray  # smooth noise at the nodes (valleys < 0 < ridges)
    eu: np.ndarray  # edge ends (node ids)
    ev: np.ndarray
    ew: np.ndarray  # edge costs
    special: list[list[tuple[Any, int, str]]]  # per edge: [] or the pieces of a crossing/link

    @property
    def n(self) -> int:
        return len(self.xy)

    def add_edge(self, a: int, b: int, cost: float, pieces: list[tuple[Any, int, str]]) -> None:
        self.eu = np.r_[self.eu, a]
        self.ev = np.r_[self.ev, b]
        self.ew = np.r_[self.ew, cost]
        self.special.append(pieces)

    def graph(self, factor: np.ndarray | None = None) -> sparse.csr_matrix:
        w = self.ew if factor is None else self.ew * factor
        return sparse.coo_matrix((w, (self.eu, self.ev)), shape=(self.n, self.n)).tocsr()


def _terrain(rng: np.random.Generator) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """A smooth random field of unit variance with features of 3-15 km (hills and valleys)."""
    waves = [(rng.uniform(3000.0, 15000.0), rng.uniform(0, np.pi), rng.uniform(0, 2 * np.pi)) for _ in range(10)]

    def field(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        f = np.zeros_like(x, dtype=float)
        for wave, beta, phase in waves:
            f += np.cos(2 * np.pi * (math.cos(beta) * x + math.sin(beta) * y) / wave + phase)
        return f / math.sqrt(len(waves) / 2.0)

    return field


def _build_raster(rng: np.random.Generator, land: Any, terrain: Callable[..., np.ndarray]) -> _Raster:
    minx, miny, maxx, maxy = land.bounds
    cell = max(_MIN_CELL, math.sqrt((maxx - minx) * (maxy - miny) / _MAX_RASTER_CELLS))
    nx, ny = max(1, math.ceil((maxx - minx) / cell)), max(1, math.ceil((maxy - miny) / cell))
    ii, jj = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    cx = (minx + (jj.ravel() + 0.5) * cell).astype(float)
    cy = (miny + (ii.ravel() + 0.5) * cell).astype(float)
    shapely.prepare(land)
    free = shapely.contains_xy(land, cx, cy)
    pre = np.flatnonzero(free)
    m = 0.65 * cell  # the cell plus a margin: smoothed roads stay within it
    free[pre] = shapely.covered_by(shapely.box(cx[pre] - m, cy[pre] - m, cx[pre] + m, cy[pre] + m), land)
    node_of = np.full(nx * ny, -1, dtype=np.int64)
    node_of[free] = np.arange(int(free.sum()))
    xy = np.column_stack([cx[free], cy[free]]) + rng.uniform(-0.2 * cell, 0.2 * cell, (int(free.sum()), 2))
    f = terrain(xy[:, 0], xy[:, 1]) if len(xy) else np.zeros(0)
    cost = np.exp(0.6 * f)
    grid = free.reshape(ny, nx)
    ids = node_of.reshape(ny, nx)
    us, vs = [], []
    both = grid[:, :-1] & grid[:, 1:]
    us.append(ids[:, :-1][both]), vs.append(ids[:, 1:][both])
    both = grid[:-1, :] & grid[1:, :]
    us.append(ids[:-1, :][both]), vs.append(ids[1:, :][both])
    square = grid[:-1, :-1] & grid[1:, 1:] & grid[1:, :-1] & grid[:-1, 1:]  # diagonals only inside free squares
    us.append(ids[:-1, :-1][square]), vs.append(ids[1:, 1:][square])
    us.append(ids[:-1, 1:][square]), vs.append(ids[1:, :-1][square])
    eu, ev = np.concatenate(us), np.concatenate(vs)
    length = np.hypot(*(xy[eu] - xy[ev]).T) if len(eu) else np.zeros(0)
    ew = length * 0.5 * (cost[eu] + cost[ev])
    return _Raster(cell, xy, f, eu, ev, ew, [[] for _ in range(len(eu))])


def _segment_ok(seg: Any, poly: Any, blocked: Any) -> bool:
    return bool(poly.covers(seg) and not seg.intersects(blocked))


def _add_crossings(
    rng: np.random.Generator, raster: _Raster, poly: Any, core: Any, barriers: _Barriers, names: list[str]
) -> None:
    """Bridges and level crossings where the river and railway run through rural land.

    Places are tried every 250 m along each rural stretch; valid ones (straight across, both
    approaches on free land) are kept at least 3 km (river) / 4 km (railway) apart, so even a
    short stretch gets one. Unused crossings are never built.
    """
    from scipy.spatial import cKDTree

    if raster.n == 0:
        return
    tree = cKDTree(raster.xy)
    rural = shapely.difference(poly, core.buffer(300.0))
    for label, bar, other, step in (("river", barriers.river, barriers.rail, 3000.0),
                                    ("rail", barriers.rail, barriers.river, 4000.0)):
        blocked = shapely.union_all([core, barriers.zones])
        for piece in shapely.get_parts(shapely.intersection(bar.line, rural)):
            if shapely.get_type_id(piece) != 1:
                continue
            taken: list[float] = []
            for s in np.arange(rng.uniform(0.0, 250.0), piece.length, 250.0):
                if any(abs(s - t) < step for t in taken):
                    continue
                p = piece.interpolate(s)
                at = bar.line.line_locate_point(p)
                a, b = bar.line.interpolate(at - 5.0), bar.line.interpolate(at + 5.0)
                d = np.array([b.x - a.x, b.y - a.y])
                d /= max(np.hypot(*d), 1e-9)
                n = np.array([-d[1], d[0]]) * (bar.half + 3.0)
                ea, eb = np.array([p.x, p.y]) - n, np.array([p.x, p.y]) + n
                span = shapely.LineString([ea, eb])
                if not poly.covers(span) or span.intersects(other.zone) or span.intersects(core):
                    continue
                if len(shapely.get_parts(shapely.intersection(span, bar.zone))) != 1:
                    continue
                (da, na), (db, nb) = tree.query(ea, k=1), tree.query(eb, k=1)
                if max(da, db) > 1.5 * raster.cell:
                    continue
                app_a = shapely.LineString([raster.xy[na], ea])
                app_b = shapely.LineString([eb, raster.xy[nb]])
                if not (_segment_ok(app_a, poly, blocked) and _segment_ok(app_b, poly, blocked)):
                    continue
                kind = _BRIDGE if label == "river" else -1  # -1: takes the road's own kind
                name = names[len(raster.special) % len(names)] if label == "river" else "铁路道口"
                cost = 3.0 * (app_a.length + span.length + app_b.length) + 2.0 * raster.cell
                raster.add_edge(int(na), int(nb), cost, [(app_a, -1, ""), (span, kind, name), (app_b, -1, "")])
                taken.append(float(s))


def _link_raster_components(raster: _Raster, poly: Any, blocked: Any) -> None:
    """Join raster pieces split by a narrow neck with a straight link where one fits."""
    from scipy.spatial import cKDTree

    if raster.n == 0:
        return
    for _ in range(60):
        n_comp, label = csgraph.connected_components(raster.graph(), directed=False)
        if n_comp == 1:
            return
        sizes = np.bincount(label)
        linked = False
        for c in np.argsort(sizes, kind="stable"):
            if sizes[c] == sizes.max() and (sizes == sizes.max()).sum() == 1:
                continue
            mine = np.flatnonzero(label == c)
            others = np.flatnonzero(label != c)
            dist, j = cKDTree(raster.xy[others]).query(raster.xy[mine], k=1)
            for k in np.argsort(dist, kind="stable")[:8]:
                if dist[k] > 6.0 * raster.cell:
                    break
                a, b = int(mine[k]), int(others[j[k]])
                seg = shapely.LineString([raster.xy[a], raster.xy[b]])
                if _segment_ok(seg, poly, blocked):
                    raster.add_edge(a, b, 1.5 * seg.length, [(seg, -1, "")])
                    linked = True
                    break
            if linked:
                break
        if not linked:
            return


def _exits(poly: Any, core: Any, barriers: _Barriers, raster: _Raster, tree: Any, step: float = 2500.0) -> list[tuple[int, Any]]:
    """Roads leaving the district every ~2.5 km of rural boundary (county roads go on next door).

    Without them the land between the outermost loop of roads and the boundary would be one
    block wrapping round the whole district.
    """
    out: list[tuple[int, Any]] = []
    reach = shapely.buffer(poly, 0.01)
    blocked = shapely.union(core, barriers.zones)
    for ring in shapely.get_parts(poly.boundary):
        for s in np.arange(0.5 * step, ring.length, step):
            p = ring.interpolate(s)
            if core.distance(p) < 200.0:
                continue
            dist, node = tree.query([p.x, p.y], k=1)
            if dist > 4.0 * raster.cell:
                continue
            seg = shapely.LineString([raster.xy[node], (p.x, p.y)])
            if reach.covers(seg) and not seg.intersects(blocked):
                out.append((int(node), seg))
    return out


def _path(pred: np.ndarray, node: int) -> list[int]:
    out = [int(node)]
    while pred[out[-1]] >= 0:
        out.append(int(pred[out[-1]]))
    return out


@dataclass
class _Rural:
    lines: _Lines
    settlements: np.ndarray  # (k, 2)
    weight: np.ndarray  # relative residents
    sigma: np.ndarray  # spread of address points (m)
    n_villages: int = 0
    n_towns: int = 0
    unreached: int = 0  # settlements no road reaches


def _poisson_disc(rng: np.random.Generator, xy: np.ndarray, p: np.ndarray, k: int, spacing: float) -> np.ndarray:
    """Up to ``k`` of the points (drawn by weight ``p``), no two closer than ``spacing``."""
    if len(xy) == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64)
    m = min(len(xy), 8 * k)
    cand = rng.choice(len(xy), size=m, replace=False, p=p / p.sum())
    taken: dict[tuple[int, int], list[int]] = {}
    out: list[int] = []
    for i in cand:
        gx, gy = int(xy[i, 0] // spacing), int(xy[i, 1] // spacing)
        near = [j for dx in (-1, 0, 1) for dy in (-1, 0, 1) for j in taken.get((gx + dx, gy + dy), [])]
        if near and np.hypot(*(xy[near] - xy[i]).T).min() < spacing:
            continue
        taken.setdefault((gx, gy), []).append(int(i))
        out.append(int(i))
        if len(out) == k:
            break
    return np.asarray(out, dtype=np.int64)


def _town_seats(vxy: np.ndarray, villages: np.ndarray, k: int, core: Any) -> list[int]:
    """Township seats: the villages nearest the centres of k clusters of villages (Lloyd's k-means)."""
    k = min(k, len(villages))
    if k <= 0:
        return []
    d = shapely.distance(core, shapely.points(vxy))
    picks: list[int] = []
    for _ in range(k):  # farthest-point start, away from the city
        picks.append(int(np.argmax(d)))
        d = np.minimum(d, np.hypot(*(vxy - vxy[picks[-1]]).T))
    centres = vxy[picks].copy()
    for _ in range(10):
        label = np.argmin(((vxy[:, None, :] - centres[None, :, :]) ** 2).sum(-1), axis=1)
        for j in range(k):
            if (label == j).any():
                centres[j] = vxy[label == j].mean(axis=0)
    out: list[int] = []
    for c in centres:
        dist = np.hypot(*(vxy - c).T)
        dist[out] = np.inf
        out.append(int(np.argmin(dist)))
    return [int(villages[i]) for i in out]


def _chaikin(c: np.ndarray, rounds: int = 2) -> np.ndarray:
    """Corner cutting that keeps both ends (every new point lies on the old polyline)."""
    for _ in range(rounds):
        if len(c) < 3:
            break
        q = 0.75 * c[:-1] + 0.25 * c[1:]
        r = 0.25 * c[:-1] + 0.75 * c[1:]
        mid = np.empty((2 * len(q), 2))
        mid[0::2], mid[1::2] = q, r
        c = np.vstack([c[:1], mid[1:-1], c[-1:]])
    return c


def _rural_network(
    rng: np.random.Generator,
    poly: Any,
    core: Any,
    urban: _Lines,
    ring: np.ndarray,
    barriers: _Barriers,
    names: _NamePool,
    n_villages: int,
    n_towns: int,
) -> _Rural:
    """Villages and township seats on rural land, joined to the urban core and each other by winding roads.

    Roads start at the ends of the city's streets on the edge of the core (gates), or, for
    land no such end reaches, at the nearest point of the ring road ``ring``.
    """
    from scipy.spatial import cKDTree

    empty = _Rural(_Lines.of([], _LOC, _UNNAMED), np.zeros((0, 2)), np.zeros(0), np.zeros(0))
    blocked = shapely.union_all([core, barriers.zones])
    land = shapely.difference(poly, blocked)
    if land.is_empty or n_villages <= 0:
        return empty
    terrain = _terrain(rng)
    raster = _build_raster(rng, land, terrain)
    if raster.n < 2:
        return empty
    _add_crossings(rng, raster, poly, core, barriers, list(rng.permutation(_BRIDGE_NAMES)))
    _link_raster_components(raster, poly, blocked)
    tree = cKDTree(raster.xy)

    # settlements: villages in the valleys, a few of them township seats spread far apart
    spacing = 0.75 * math.sqrt(land.area / n_villages)
    villages = _poisson_disc(rng, raster.xy, np.exp(-0.6 * raster.terrain), n_villages, spacing)
    towns = _town_seats(raster.xy[villages], villages, n_towns, core)

    # gates: ends of urban streets on the edge of the core, each joined to its nearest rural node
    _, _, deg, nxy = _topology(urban.geom)
    ends = shapely.points(nxy)
    gate = (deg == 1) & shapely.dwithin(ends, core.boundary, 0.05) & ~shapely.dwithin(ends, poly.boundary, 0.5)
    exits = _exits(poly, core, barriers, raster, tree)
    graph = raster.graph()
    _, comp = csgraph.connected_components(graph, directed=False)

    def connector(g: np.ndarray, node: int, reach: float) -> Any:
        seg = shapely.LineString([g, raster.xy[node]])
        if seg.length <= reach and poly.covers(seg) and not seg.intersects(barriers.zones):
            if shapely.intersection(seg, core).length < 0.05:
                return seg
        return None

    gates: list[tuple[int, Any]] = []
    gate_xy = nxy[gate]
    if len(gate_xy):
        _, near = tree.query(gate_xy, k=1)
        for g, nn in zip(gate_xy, near):
            seg = connector(g, int(nn), 2.0 * raster.cell)
            if seg is not None:
                gates.append((int(nn), seg))
        # a piece of rural land the nearest-node gates miss (cut off by the river or the
        # railway) takes the nearest gate on its side
        reached = {int(comp[n]) for n, _ in gates}
        wanted = {int(comp[n]) for n in villages.tolist() + [x for x, _ in exits]}
        for c in sorted(wanted - reached):
            members = np.flatnonzero(comp == c)
            dist, k = cKDTree(raster.xy[members]).query(gate_xy, k=1)
            found = False
            for gi in np.argsort(dist, kind="stable")[:5]:
                seg = connector(gate_xy[gi], int(members[k[gi]]), 3.0 * raster.cell)
                if seg is not None:
                    gates.append((int(members[k[gi]]), seg))
                    found = True
                    break
            if not found and len(ring):
                pts = shapely.points(raster.xy[members])
                qi, ri = shapely.STRtree(ring).query_nearest(pts, max_distance=3.0 * raster.cell, all_matches=False)
                if len(qi):
                    d2 = shapely.distance(pts[qi], ring[ri])
                    for t in np.argsort(d2, kind="stable")[:5]:
                        node = int(members[qi[t]])
                        a = shapely.line_interpolate_point(ring[ri[t]], shapely.line_locate_point(ring[ri[t]], pts[qi[t]]))
                        seg = connector(shapely.get_coordinates(a)[0], node, 3.0 * raster.cell)
                        if seg is not None:
                            gates.append((node, seg))
                            break

    sources = sorted({g for g, _ in gates})
    served = set(comp[sources].tolist()) if sources else set()
    settlement_nodes = list(dict.fromkeys(towns + villages.tolist()))
    for s in settlement_nodes:  # a piece of land the core does not reach gets its own root
        if comp[s] not in served:
            sources.append(s)
            served.add(comp[s])

    used = np.full(len(raster.eu), -1, dtype=np.int64)  # road class per edge: 0 county, 1 township, 2 village
    used_name = np.full(len(raster.eu), "", dtype=object)
    lo, hi = np.minimum(raster.eu, raster.ev), np.maximum(raster.eu, raster.ev)
    key = lo * raster.n + hi
    order = np.lexsort((raster.ew, key))
    skey = key[order]

    def edges_of(path: list[int]) -> np.ndarray:
        a, b = np.asarray(path[:-1], dtype=np.int64), np.asarray(path[1:], dtype=np.int64)
        k = np.minimum(a, b) * raster.n + np.maximum(a, b)
        return order[np.searchsorted(skey, k)]  # the cheapest edge between each two nodes

    def mark(path: list[int], cls: int, name: str) -> None:
        if len(path) < 2:
            return
        e = edges_of(path)
        new = used[e] < 0
        used[e[new]] = cls
        used_name[e[new]] = name

    def factor(cheap: float) -> np.ndarray:
        return np.where(used >= 0, cheap, 1.0)

    if not sources:
        return empty
    _, pred, _ = csgraph.dijkstra(graph, directed=False, indices=sources, min_only=True, return_predecessors=True)
    for i, t in enumerate(towns):  # county roads: township seat to the city
        mark(_path(pred, t), 0, f"县道X{101 + i}")
    if len(towns) >= 2:  # township roads: each seat to its two nearest seats
        txy = raster.xy[towns]
        pairs = set()
        for i in range(len(towns)):
            dd = np.hypot(*(txy - txy[i]).T)
            for j in np.argsort(dd, kind="stable")[1:3]:
                pairs.add((min(i, int(j)), max(i, int(j))))
        for number, (i, j) in enumerate(sorted(pairs), start=1):
            if comp[towns[i]] != comp[towns[j]]:
                continue
            _, pred1 = csgraph.dijkstra(raster.graph(factor(0.5)), directed=False, indices=towns[i],
                                        return_predecessors=True)
            mark(_path(pred1, towns[j]), 1, f"乡道Y{number:03d}")
    wanted = list(dict.fromkeys(settlement_nodes + [x for x, _ in exits]))
    remaining = np.array([s for s in wanted if s not in sources], dtype=np.int64)
    for rnd in range(4):  # village roads, nearest villages first, each round joining the roads built so far
        if len(remaining) == 0:
            break
        touched = np.unique(np.r_[raster.eu[used >= 0], raster.ev[used >= 0], sources]).astype(np.int64)
        dist, pred2, _ = csgraph.dijkstra(raster.graph(factor(0.3)), directed=False, indices=touched,
                                          min_only=True, return_predecessors=True)
        reach = remaining[np.isfinite(dist[remaining])]
        if len(reach) == 0:
            break
        reach = reach[np.argsort(dist[reach], kind="stable")]
        take = reach[: max(1, math.ceil(len(reach) / (4 - rnd)))]
        for s in take:
            mark(_path(pred2, int(s)), 2, _UNNAMED if rng.random() < 0.7 else f"{rng.choice(_VILLAGE_PREFIXES)}村道")
        remaining = np.setdiff1d(remaining, take)
    unreached = int(np.isin(remaining, settlement_nodes).sum())
    _village_loops(rng, raster, settlement_nodes, comp, spacing, used, edges_of, mark)

    pinned = np.array([g for g, _ in gates + exits] + towns, dtype=np.int64)  # connectors end there
    lines = _raster_lines(raster, used, used_name, pinned)
    kinds = {0: _ART, 1: _SEC, 2: _LOC}
    node_cls = np.full(raster.n, 9, dtype=np.int64)
    node_name = np.full(raster.n, "", dtype=object)
    for e in np.flatnonzero(used >= 0)[np.argsort(-used[used >= 0], kind="stable")]:
        for node in (raster.eu[e], raster.ev[e]):
            node_cls[node], node_name[node] = used[e], used_name[e]
    gate_lines = [(seg, kinds[int(node_cls[g])], str(node_name[g])) for g, seg in gates + exits if node_cls[g] < 9]
    town_lines = _town_streets(rng, raster.xy[[t for t in towns if node_cls[t] < 9]], land, names)
    parts = [lines, town_lines]
    if gate_lines:
        parts.append(_Lines.of([g for g, _, _ in gate_lines], np.array([k for _, k, _ in gate_lines]),
                               np.array([n for _, _, n in gate_lines], dtype=object)))
    sxy = raster.xy[settlement_nodes] if settlement_nodes else np.zeros((0, 2))
    is_town = np.isin(settlement_nodes, towns)
    weight = np.exp(rng.normal(0.0, 0.45, len(settlement_nodes))) * np.where(is_town, 4.0, 1.0)
    sigma = np.where(is_town, 200.0, rng.uniform(60.0, 140.0, len(settlement_nodes)))
    return _Rural(_concat(*parts), sxy, weight, sigma, len(settlement_nodes) - len(towns), len(towns), unreached)


def _village_loops(
    rng: np.random.Generator,
    raster: _Raster,
    nodes: list[int],
    comp: np.ndarray,
    spacing: float,
    used: np.ndarray,
    edges_of: Callable[[list[int]], np.ndarray],
    mark: Callable[[list[int], int, str], None],
) -> None:
    """Close the tree of village roads into loops: roads between neighbouring settlements.

    About half of the short Delaunay pairs of settlements get their shortest raster path,
    kept only when most of it is new road (not a detour along roads already built).
    """
    from scipy.spatial import Delaunay

    if len(nodes) < 4:
        return
    sxy = raster.xy[nodes]
    try:
        tri = Delaunay(sxy)
    except Exception:  # pragma: no cover - collinear settlements
        return
    s = tri.simplices
    pairs = np.unique(np.sort(np.r_[s[:, [0, 1]], s[:, [1, 2]], s[:, [0, 2]]], axis=1), axis=0)
    gap = np.hypot(*(sxy[pairs[:, 0]] - sxy[pairs[:, 1]]).T)
    node_arr = np.asarray(nodes)
    pairs = pairs[(gap < 2.5 * spacing / 0.75) & (comp[node_arr[pairs[:, 0]]] == comp[node_arr[pairs[:, 1]]])]
    pairs = pairs[rng.random(len(pairs)) < 0.85]
    pairs = pairs[rng.permutation(len(pairs))]
    if len(pairs) == 0:
        return
    graph = raster.graph()
    limit = 6.0 * spacing / 0.75 * float(np.exp(0.6 * raster.terrain).mean())
    starts = np.unique(pairs[:, 0])
    for b0 in range(0, len(starts), 32):
        batch = starts[b0:b0 + 32]
        _, pred = csgraph.dijkstra(graph, directed=False, indices=node_arr[batch], limit=limit,
                                   return_predecessors=True)
        row = {int(v): i for i, v in enumerate(batch)}
        for a, b in pairs[np.isin(pairs[:, 0], batch)]:
            p = pred[row[int(a)]]
            target = int(node_arr[b])
            if p[target] < 0:
                continue
            path = _path(p, target)
            if len(path) >= 2 and (used[edges_of(path)] >= 0).mean() <= 0.4:
                mark(path, 2, _UNNAMED)


def _raster_lines(raster: _Raster, used: np.ndarray, used_name: np.ndarray, pinned: np.ndarray) -> _Lines:
    """The used raster edges as smoothed polylines between junctions (crossings and links kept straight).

    ``pinned`` nodes (where connectors and township streets attach) end chains, so smoothing
    never moves a road off them.
    """
    kinds = {0: _ART, 1: _SEC, 2: _LOC}
    edges = np.flatnonzero(used >= 0)
    special = np.array([bool(raster.special[e]) for e in edges], dtype=bool)
    plain = edges[~special]
    deg = np.bincount(np.r_[raster.eu[edges], raster.ev[edges]], minlength=raster.n)
    brk = deg != 2
    brk[pinned] = True
    brk[raster.eu[edges[special]]] = True
    brk[raster.ev[edges[special]]] = True
    inc: dict[int, list[int]] = {}
    for e in plain:
        inc.setdefault(int(raster.eu[e]), []).append(int(e))
        inc.setdefault(int(raster.ev[e]), []).append(int(e))
    for node, es in inc.items():  # a change of road class or name is a chain end too
        if len(es) == 2 and (used[es[0]], used_name[es[0]]) != (used[es[1]], used_name[es[1]]):
            brk[node] = True
    geoms: list[Any] = []
    kind: list[int] = []
    name: list[str] = []
    seen: set[int] = set()

    def walk(start: int, e: int) -> None:
        e0 = e
        nodes = [start]
        at = start
        while True:
            seen.add(e)
            at = int(raster.ev[e] if raster.eu[e] == at else raster.eu[e])
            nodes.append(at)
            if brk[at] or at == start:
                break
            nxt = [x for x in inc[at] if x not in seen]
            if not nxt:
                break
            e = nxt[0]
        geoms.append(shapely.LineString(_chaikin(raster.xy[nodes])))
        kind.append(kinds[int(used[e0])])
        name.append(str(used_name[e0]))

    for node in sorted(inc):
        if brk[node]:
            for e in inc[node]:
                if e not in seen:
                    walk(node, e)
    for e in plain:  # closed loops without a junction
        if int(e) not in seen:
            walk(int(raster.eu[e]), int(e))
    for e in edges[special]:
        road = kinds[int(used[e])]
        for geom, k, nm in raster.special[e]:
            geoms.append(geom)
            kind.append(road if k < 0 else k)
            name.append(nm or str(used_name[e]))
    if not geoms:
        return _Lines.of([], _LOC, _UNNAMED)
    return _Lines.of(geoms, np.asarray(kind), np.array(name, dtype=object))


def _town_streets(rng: np.random.Generator, centres: np.ndarray, land: Any, names: _NamePool) -> _Lines:
    """A small street grid (3 × 3 streets, ~1 km²) around each township seat."""
    geoms: list[Any] = []
    kinds: list[int] = []
    labels: list[str] = []
    for c in centres:
        ang = rng.uniform(0, np.pi)
        d = np.array([math.cos(ang), math.sin(ang)])
        n = np.array([-d[1], d[0]])
        reach = rng.uniform(350.0, 500.0)
        step = rng.uniform(160.0, 220.0)
        disc = shapely.Point(c).buffer(reach + 30.0)
        area = shapely.intersection(land, disc).buffer(-5.0)
        for axis, other in ((d, n), (n, d)):
            for k, off in enumerate((-step, 0.0, step)):
                line = shapely.LineString([c + off * other - reach * axis, c + off * other + reach * axis])
                for piece in shapely.get_parts(shapely.intersection(line, area)):
                    if shapely.get_type_id(piece) == 1 and piece.length > 60.0:
                        geoms.append(piece)
                        kinds.append(_SEC if k == 1 else _LOC)
                        labels.append(names.next_local())
    if not geoms:
        return _Lines.of([], _LOC, _UNNAMED)
    return _Lines.of(geoms, np.asarray(kinds), np.array(labels, dtype=object))


def _finish_network(lines: _Lines, poly: Any) -> tuple[_Lines, list[float]]:
    """Node urban and rural streets together; keep every piece of network longer than 1 km.

    Returns the streets and the street length (m) of each connected component kept, largest first.
    """
    net = _node(_snap_dangles(_node(lines), 1.0))
    net = _prune_short_dangles(net, 5.0)
    net = _node(_contract_short(net, poly, 8.0))
    net = _prune_short_dangles(_drop_near_duplicates(net), 5.0)
    u, v, _, xy = _topology(net.geom)
    comp = _components(u, v, len(xy))[u]
    length = shapely.length(net.geom)
    totals = np.bincount(comp, weights=length)
    keep_comp = totals >= min(1000.0, totals.max())
    net = net.take(keep_comp[comp])
    return _merge_chains(net), sorted(totals[keep_comp].tolist(), reverse=True)


def _snap_dangles(lines: _Lines, tol: float) -> _Lines:
    """Move street ends that stop within ``tol`` m of another street onto it.

    The city's clean-up moves street ends by a few centimetres after the rural roads were
    anchored to them; without this the two would miss each other by that much.
    """
    u, v, deg, xy = _topology(lines.geom)
    free = np.flatnonzero(deg == 1)
    if len(free) == 0:
        return lines
    pts = shapely.points(xy[free])
    qi, si = shapely.STRtree(lines.geom).query(pts, predicate="dwithin", distance=tol)
    own = (u[si] == free[qi]) | (v[si] == free[qi])
    qi, si = qi[~own], si[~own]
    if len(qi) == 0:
        return lines
    dist = shapely.distance(pts[qi], lines.geom[si])
    order = np.lexsort((dist, qi))
    first = np.r_[True, qi[order][1:] != qi[order][:-1]]
    qi, si = qi[order][first], si[order][first]
    target = shapely.get_coordinates(shapely.line_interpolate_point(
        lines.geom[si], shapely.line_locate_point(lines.geom[si], pts[qi])))
    move = dict(zip(free[qi].tolist(), map(tuple, target)))
    geoms = lines.geom.copy()
    for e in np.flatnonzero(np.isin(u, list(move)) | np.isin(v, list(move))):
        c = shapely.get_coordinates(geoms[e]).copy()
        if int(u[e]) in move:
            c[0] = move[int(u[e])]
        if int(v[e]) in move:
            c[-1] = move[int(v[e])]
        geoms[e] = shapely.LineString(c)
    out = _Lines(geoms, lines.kind, lines.name, lines.editable)
    return out.take(shapely.length(out.geom) > 0)


def _absorb_specks(faces: np.ndarray, streets: _Lines, min_area: float = 20.0) -> tuple[np.ndarray, list[float]]:
    """Merge specks of blocks (streets crossing given subdistrict lines at a shallow angle)
    into the neighbour across a non-street edge, so the subdistrict line moves, not a street.

    Returns the blocks and the areas of the specks merged.
    """
    faces = faces.copy()
    moved: list[float] = []
    tree = shapely.STRtree(streets.geom)
    for i in np.argsort(shapely.area(faces), kind="stable"):
        if faces[i] is None or shapely.area(faces[i]) >= min_area:
            if faces[i] is not None and shapely.area(faces[i]) >= min_area:
                break
            continue
        live = np.flatnonzero([f is not None for f in faces])
        cand = live[shapely.touches(faces[live], faces[i]) | shapely.intersects(faces[live], faces[i])]
        cand = cand[cand != i]
        if len(cand) == 0:
            continue
        shared = shapely.intersection(shapely.boundary(faces[cand]), faces[i].boundary)
        near = streets.geom[tree.query(faces[i], predicate="dwithin", distance=0.05)]
        on_street = shapely.union_all(near).buffer(0.01) if len(near) else shapely.Polygon()
        off = shapely.length(shapely.difference(shared, on_street))
        score = np.where(off > 0, off + 1e6, shapely.length(shared))
        j = int(cand[int(np.argmax(score))])
        merged = shapely.union(faces[j], faces[i])
        if merged.geom_type != "Polygon":
            continue
        moved.append(float(shapely.area(faces[i])))
        faces[j], faces[i] = merged, None
    return np.array([f for f in faces if f is not None], dtype=object), moved


def _drop_near_duplicates(lines: _Lines, gap: float = 3.0, overlap: float = 10.0) -> _Lines:
    """Drop segments running alongside another within ``gap`` m for more than ``overlap`` m.

    Streets grown independently (a township's street grid over a village road) can run a
    metre apart; such near-duplicates make sliver blocks no real map has. Only lines marked
    ``editable`` are checked (against all). Of each pair the lower-priority kind (then the
    shorter) goes.
    """
    for _ in range(3):
        geoms = lines.geom
        mine = np.flatnonzero(lines.editable)  # only lines marked editable are checked (the rural ones)
        q, j = shapely.STRtree(geoms).query(geoms[mine], predicate="dwithin", distance=gap)
        i = mine[q]
        sel = (i != j) & ~(lines.editable[j] & (j < i))  # each pair once
        i, j = i[sel], j[sel]
        if len(i) == 0:
            return lines
        length = shapely.length(geoms)
        long = (length[i] > overlap) & (length[j] > overlap)
        i, j = i[long], j[long]
        used = np.unique(np.r_[i, j])
        halo = np.empty(len(geoms), dtype=object)
        halo[used] = shapely.buffer(geoms[used], gap, quad_segs=1)
        along = shapely.length(shapely.intersection(geoms[i], halo[j]))
        back = shapely.length(shapely.intersection(geoms[j], halo[i]))
        bad = np.minimum(along, back) - 2 * gap > overlap
        if not bad.any():
            return lines
        i, j = i[bad], j[bad]
        worse = np.unique(np.where(
            (lines.kind[i] > lines.kind[j]) | ((lines.kind[i] == lines.kind[j]) & (length[i] < length[j])), i, j))
        keep = np.ones(len(lines), dtype=bool)
        keep[worse] = False
        # a near-duplicate goes only if the network stays connected without it
        u, v, _, xy = _topology(geoms)
        label = _components(u[keep], v[keep], len(xy))
        has_other = np.bincount(np.r_[u[keep], v[keep]], minlength=len(xy)) > 0
        parent = {int(c): int(c) for c in np.unique(label)}

        def find(a: int) -> int:
            while parent[a] != a:
                parent[a] = parent[parent[a]]
                a = parent[a]
            return a

        for e in worse:
            if has_other[u[e]] and has_other[v[e]]:
                a, b = find(int(label[u[e]])), find(int(label[v[e]]))
                if a != b:
                    parent[a] = b
                    keep[e] = True
        if keep.all():
            return lines
        lines = lines.take(keep)
    return lines


def _rural_population(
    rng: np.random.Generator,
    poly: Any,
    core: Any,
    streets: _Lines,
    barriers: _Barriers,
    rural: _Rural,
    total: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Address points clustered around villages and township seats, set back from the roads."""
    k = len(rural.settlements)
    if k == 0 or total <= 0:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    share = rural.weight / rural.weight.sum() * total
    n_pts = np.maximum(1, np.round(share / _PEOPLE_PER_POINT)).astype(np.int64)
    if n_pts.sum() > 25_000:
        n_pts = np.maximum(1, np.round(n_pts * 25_000 / n_pts.sum())).astype(np.int64)
    all_tree = shapely.STRtree(streets.geom)
    art_tree = shapely.STRtree(streets.geom[np.isin(streets.kind, (_ART, _BRIDGE))])
    shapely.prepare(core)
    got = np.zeros(k, dtype=np.int64)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    owner: list[np.ndarray] = []
    for _ in range(12):
        need = n_pts - got
        if (need <= 0).all():
            break
        draw = np.repeat(np.arange(k), np.maximum(need, 0) * 2)
        x = rural.settlements[draw, 0] + rng.normal(0.0, 1.0, len(draw)) * rural.sigma[draw]
        y = rural.settlements[draw, 1] + rng.normal(0.0, 1.0, len(draw)) * rural.sigma[draw]
        ok = shapely.contains_xy(poly, x, y) & ~shapely.contains_xy(core, x, y) & ~barriers.contains_xy(x, y)
        pts = shapely.points(x, y)
        ok[all_tree.query(pts, predicate="dwithin", distance=11.0)[0]] = False
        ok[art_tree.query(pts, predicate="dwithin", distance=20.0)[0]] = False
        draw, x, y = draw[ok], x[ok], y[ok]
        rank = np.arange(len(draw)) - np.searchsorted(draw, draw)  # position within its settlement
        take = rank < need[draw]
        xs.append(x[take])
        ys.append(y[take])
        owner.append(draw[take])
        got += np.bincount(draw[take], minlength=k)
    x, y, who = np.concatenate(xs), np.concatenate(ys), np.concatenate(owner)
    if len(who) == 0:
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    # residents: each settlement's share (settlements without any point pass theirs on)
    share = np.where(got > 0, share, 0.0)
    share *= total / share.sum()
    w = np.exp(rng.normal(0.0, 0.5, len(who)))
    per_point = share[who] * w / np.bincount(who, weights=w, minlength=k)[who]
    people = np.maximum(1, np.round(per_point)).astype(np.int64)
    return shapely.points(x, y), people


def _exact_total(people: np.ndarray, target: int) -> np.ndarray:
    """Adjust rounded residents per point (each ≥ 1) so that they sum to ``target`` exactly."""
    people = people.copy()
    diff = int(target - people.sum())
    order = np.argsort(-people, kind="stable")
    if diff > 0:
        add = np.full(len(people), diff // len(people))
        add[order[: diff % len(people)]] += 1
        people += add
    while diff < 0:
        room = people[order] - 1
        cut = np.minimum(room, -diff)
        cut = np.minimum(cut, np.maximum(1, room // 2))
        cut[np.cumsum(cut) > -diff] = 0
        if cut.sum() == 0:
            break
        people[order] -= cut
        diff += int(cut.sum())
    return people


def _link_components(
    faces: np.ndarray, adj: sparse.csr_matrix, w: np.ndarray, groups: np.ndarray | None
) -> tuple[sparse.csr_matrix, int]:
    """Join blocks cut off from the rest (islands, exclaves) to their nearest block.

    Without ``groups`` only minor pieces (< 2 % of the area and weight) are joined, to the
    nearest block of a major piece; with ``groups`` (given subdistricts) every piece of a
    group but its largest is joined to the nearest block of that largest piece.
    Returns the adjacency with these virtual edges and the number of pieces joined.
    """
    n = len(faces)
    key = np.zeros(n, dtype=np.int64) if groups is None else groups
    area = shapely.area(faces)
    extra_i: list[int] = []
    extra_j: list[int] = []
    for g in np.unique(key):
        idx = np.flatnonzero(key == g)
        n_comp, lab = csgraph.connected_components(adj[idx][:, idx], directed=False)
        if n_comp == 1:
            continue
        a_share = np.bincount(lab, weights=area[idx]) / area[idx].sum()
        w_share = np.bincount(lab, weights=w[idx]) / max(w[idx].sum(), 1e-9)
        if groups is None:
            major = (a_share >= 0.02) | (w_share >= 0.02)
        else:
            major = np.zeros(n_comp, dtype=bool)
        major[int(np.argmax(a_share + w_share))] = True
        mfaces = idx[major[lab]]
        mtree = shapely.STRtree(faces[mfaces])
        for c in np.flatnonzero(~major):
            members = idx[lab == c]
            qi, ti = mtree.query_nearest(faces[members], return_distance=False, all_matches=False)
            dist = shapely.distance(faces[members[qi]], faces[mfaces[ti]])
            best = int(np.argmin(dist))
            extra_i.append(int(members[qi[best]]))
            extra_j.append(int(mfaces[ti[best]]))
    if not extra_i:
        return adj, 0
    link = sparse.coo_matrix((np.ones(2 * len(extra_i)), (extra_i + extra_j, extra_j + extra_i)), shape=(n, n))
    return (adj + link).tocsr(), len(extra_i)


def _pieces_by_class(cls: np.ndarray, adj: sparse.csr_matrix, w: np.ndarray) -> list[tuple[np.ndarray, int]]:
    """Connected pieces of urban (1) and rural (0) blocks; pieces < 5 % of their class's weight change class."""
    cls = cls.copy()
    _, comp = csgraph.connected_components(adj, directed=False)
    for _ in range(6):
        changed = False
        for c in np.unique(comp):
            for k in (0, 1):
                idx = np.flatnonzero((comp == c) & (cls == k))
                if len(idx) == 0:
                    continue
                n_p, lab = csgraph.connected_components(adj[idx][:, idx], directed=False)
                if n_p == 1:
                    continue
                pw = np.bincount(lab, weights=w[idx])
                small = (pw < 0.05 * pw.sum()) & (np.arange(n_p) != int(np.argmax(pw)))
                if small.any():
                    cls[idx[small[lab]]] = 1 - k
                    changed = True
        if not changed:
            break
    out: list[tuple[np.ndarray, int]] = []
    for c in np.unique(comp):
        for k in (1, 0):
            idx = np.flatnonzero((comp == c) & (cls == k))
            if len(idx) == 0:
                continue
            n_p, lab = csgraph.connected_components(adj[idx][:, idx], directed=False)
            out += [(idx[lab == p], k) for p in range(n_p)]
    return out


def _names(rng: np.random.Generator, pool: tuple[str, ...] | list[str], n: int, suffix: str, taken: set[str]) -> list[str]:
    """``n`` unique names from a seeded permutation of ``pool``, numbered ones when it runs out."""
    out: list[str] = []
    for p in rng.permutation(list(pool)):
        if len(out) == n:
            break
        if f"{p}{suffix}" not in taken:
            out.append(f"{p}{suffix}")
    i = 1
    while len(out) < n:
        if f"第{i}{suffix}" not in taken and f"第{i}{suffix}" not in out:
            out.append(f"第{i}{suffix}")
        i += 1
    taken.update(out)
    return out


def _given_communities(
    rng: np.random.Generator,
    faces: np.ndarray,
    w: np.ndarray,
    block_pop: np.ndarray,
    adj: sparse.csr_matrix,
    urban_face: np.ndarray,
    opt: _GivenOptions,
    sub_of_face: np.ndarray | None,
    rural_km2: float,
) -> tuple[list[_Community], np.ndarray, sparse.csr_matrix, list[str]]:
    """Subdistricts (街道 in the core, 镇 outside, or the given polygons), communities inside each."""
    notes: list[str] = []
    xy = shapely.get_coordinates(shapely.point_on_surface(faces))
    adj_v, n_linked = _link_components(faces, adj, w, sub_of_face)
    if n_linked:
        notes.append(f"{n_linked} pieces of land cut off from the rest (islands, exclaves or slivers without "
                     "streets) were joined to the community nearest to them")
    subs: list[tuple[np.ndarray, int]] = []  # (blocks, urban?)
    if sub_of_face is not None:
        for s in range(int(sub_of_face.max()) + 1):
            idx = np.flatnonzero(sub_of_face == s)
            subs.append((idx, int(w[idx][urban_face[idx]].sum() >= 0.5 * w[idx].sum())))
    else:
        pieces = _pieces_by_class(urban_face.astype(np.int64), adj_v, w)
        urban_pop = float(block_pop[urban_face].sum())
        want = {1: int(np.clip(round(urban_pop / 100_000), 1, 8)), 0: int(np.clip(round(rural_km2 / 250.0), 1, 8))}
        have = {k: sum(1 for _, c in pieces if c == k) for k in (0, 1)}
        want = {k: (max(want[k], have[k]) if have[k] else 0) for k in (0, 1)}
        if opt.n_subdistricts is not None:
            total = opt.n_subdistricts
            if total < have[0] + have[1]:
                raise DataError(
                    f"n_subdistricts={total} is fewer than the {have[0] + have[1]} separate pieces the land falls "
                    "into (urban core, rural land, exclaves); pass at least that many or leave it out"
                )
            if have[0] and have[1]:
                urban_k = int(round(total * want[1] / (want[0] + want[1])))
                urban_k = int(np.clip(urban_k, have[1], total - have[0]))
                want = {1: urban_k, 0: total - urban_k}
            else:
                want = {k: (total if have[k] else 0) for k in (0, 1)}
        for k in (1, 0):
            mine = [p for p, c in pieces if c == k]
            if not mine:
                continue
            counts = _allocate(np.array([w[p].sum() for p in mine]), want[k], 1)
            for p, m in zip(mine, counts):
                for part in _bisect(rng, p, int(min(m, len(p))), xy, w, adj_v):
                    subs.append((part, k))
    n_sub = len(subs)
    sub_w = np.array([w[s].sum() for s, _ in subs])
    if opt.n_communities is not None:
        if opt.n_communities < n_sub:
            raise DataError(
                f"n_communities={opt.n_communities} is fewer than the {n_sub} subdistricts; every subdistrict "
                f"needs a community: pass n_communities >= {n_sub} (or fewer n_subdistricts)"
            )
        per_sub = _allocate(sub_w, opt.n_communities, 2 if opt.n_communities >= 2 * n_sub else 1)
    else:
        per_sub = np.array([max(2, round(block_pop[s].sum() / 20_000)) if k else 2 for s, k in subs])
    per_sub = np.minimum(per_sub, [len(s) for s, _ in subs])
    code = opt.code
    sub_xy = np.array([np.average(xy[s], axis=0, weights=w[s] + 1e-9) for s, _ in subs])
    sub_order = _reading_order(sub_xy[:, 0], sub_xy[:, 1])
    taken: set[str] = set()
    urban_names = _names(rng, list(_SUBDISTRICT_NAMES) + list(_COMMUNITY_PREFIXES), sum(k for _, k in subs), "街道", taken)
    town_names = _names(rng, _TOWN_NAMES, sum(1 - k for _, k in subs), "镇", taken)
    comm_taken: set[str] = set()
    out: list[_Community] = []
    comm_of_face = np.full(len(faces), -1, dtype=np.int64)
    seq = {1: 0, 0: 100}
    for rank, s in enumerate(sub_order):
        units, urban = subs[s]
        seq[urban] += 1
        sub_code = f"{code}{seq[urban]:03d}"
        if opt.subdistrict_names is not None:
            sub_name = opt.subdistrict_names[s]
        else:
            sub_name = urban_names.pop() if urban else town_names.pop()
        groups = _bisect(rng, units, int(per_sub[s]), xy, w, adj_v)
        gxy = np.array([np.average(xy[g], axis=0, weights=w[g] + 1e-9) for g in groups])
        urban_group = [bool(w[g][urban_face[g]].sum() >= 0.5 * w[g].sum()) for g in groups]
        labels = {True: iter(_names(rng, _COMMUNITY_PREFIXES, sum(urban_group), "社区", comm_taken)),
                  False: iter(_names(rng, _VILLAGE_PREFIXES, len(groups) - sum(urban_group), "村", comm_taken))}
        numbers = {True: 0, False: 200}
        for g in _reading_order(gxy[:, 0], gxy[:, 1]):
            numbers[urban_group[g]] += 1
            comm_of_face[groups[g]] = len(out)
            out.append(_Community(groups[g], f"{sub_code}{numbers[urban_group[g]]:03d}", next(labels[urban_group[g]]),
                                  sub_code, sub_name, rank, shapely.coverage_union_all(faces[groups[g]])))
    return out, comm_of_face, adj_v, notes


def _prepare_subdistricts(poly: Any, geoms: list[Any]) -> tuple[list[Any], list[str]]:
    """Clip given subdistricts to the boundary, settle overlaps (first wins) and fill gaps (longest shared edge)."""
    notes: list[str] = []
    clipped = shapely.intersection(shapely.set_precision(np.asarray(geoms, dtype=object), _GRID), poly)
    out: list[Any] = []
    taken: Any = shapely.Polygon()
    overlap = 0.0
    for g in clipped:
        own = shapely.difference(g, taken)
        overlap += max(0.0, g.area - own.area)
        out.append(own)
        taken = shapely.union(taken, own)
    gaps = shapely.get_parts(shapely.difference(poly, taken))
    gaps = gaps[shapely.area(gaps) > 0]
    for gap in gaps:
        shared = np.array([shapely.intersection(gap.boundary, o.boundary).length if not o.is_empty else 0.0
                           for o in out])
        k = int(np.argmax(shared)) if shared.max() > 0 else int(np.argmin([gap.distance(o) for o in out]))
        out[k] = shapely.union(out[k], gap)
    empty = [i for i, o in enumerate(out) if o.is_empty or o.area < 1.0]
    if empty:
        raise DataError(
            f"subdistricts {empty} (by position) lie outside the boundary or under earlier ones; "
            "pass subdistrict polygons that belong to this boundary"
        )
    gap_area = float(np.sum(shapely.area(gaps))) if len(gaps) else 0.0
    if overlap > 1.0 or gap_area > 1.0:
        notes.append(f"subdistricts: clipped to the boundary; {overlap / 1e6:.3f} km² of overlap went to the "
                     f"subdistrict listed first and {gap_area / 1e6:.3f} km² of gaps ({len(gaps)} pieces) to the "
                     "neighbour sharing the longest edge")
    return [shapely.set_precision(o, _GRID) for o in out], notes


def _build_given(
    streams: list[np.random.Generator], poly: Any, out_crs: pyproj.CRS, opt: _GivenOptions
) -> tuple[dict[str, gpd.GeoDataFrame], list[str]]:
    """Grow a synthetic city and countryside inside the given (real) boundary ``poly``."""
    (rng_core, rng_dens, rng_barrier, rng_art, rng_local, rng_edit, rng_pop, rng_part, rng_grid,
     rng_rural, *_) = streams
    notes: list[str] = []
    area_km2 = poly.area / 1e6
    main = _main_part(poly)
    if opt.centre is None:
        centre, jitter = _interior_point(main), True
    else:
        centre, jitter = (float(opt.centre[0]), float(opt.centre[1])), False
        if not poly.contains(shapely.Point(centre)):
            raise DataError(
                f"centre {centre} lies outside the boundary; pass a point inside it, in the boundary's own "
                "coordinates (e.g. the GCJ-02 lon/lat of the town hall for a GCJ-02 boundary)"
            )
    urban_km2 = (area_km2 if area_km2 <= _ALL_URBAN_KM2 else _DEFAULT_URBAN_KM2) if opt.urban_km2 is None else opt.urban_km2
    if not urban_km2 > 0:
        raise DataError(f"urban_km2 must be positive, got {opt.urban_km2!r}")
    core = _urban_core(rng_core, poly, centre, min(urban_km2, area_km2) * 1e6)
    all_urban = core is poly
    if not all_urban and not core.contains(shapely.Point(centre)):
        centre = _interior_point(core)
    shapely.prepare(core)
    scale = float(np.clip(math.sqrt(core.area / 45e6), 0.35, 2.0))
    density = _urban_density(rng_dens, core, centre, scale, jitter)
    river = _make_river(rng_barrier, poly, density.core, scale)
    rail = _make_railway(rng_barrier, poly, density.core, river, scale)
    barriers = _Barriers(river, rail, poly)
    core_barriers = barriers if all_urban else _Barriers(river, rail, core)
    names = _NamePool(rng_local)
    rural_km2 = 0.0 if all_urban else (poly.area - core.area) / 1e6
    n_villages = int(min(_MAX_VILLAGES, rural_km2 / _VILLAGE_KM2)) if rural_km2 >= 2.0 else 0
    n_towns = 0 if rural_km2 < 20.0 else int(np.clip(round(rural_km2 / 250.0), 1, 8))
    urban_budget = max(2500.0, _MAX_SEGMENTS_GIVEN - 1500.0 - (5 * n_villages + 40 * n_towns + 300 if n_villages else 0))
    major = _major_streets(rng_art, core, density, core_barriers, names)
    local = _local_lines(rng_local, core, density, major, core_barriers, names, (0.0, max(500.0, urban_budget - len(major))))
    urban = _edit_locals(rng_edit, core, density, _concat(major, local), core_barriers, names)
    ring = np.zeros(0, dtype=object)
    if not all_urban:  # a ring road along the edge of the city closes its outermost blocks
        edge = shapely.difference(core.boundary, shapely.union(poly.boundary.buffer(0.05), barriers.zones))
        ring = shapely.get_parts(shapely.line_merge(edge) if edge.geom_type == "MultiLineString" else edge)
        ring = ring[(shapely.get_type_id(ring) == 1) & (shapely.length(ring) > 20.0)]
        # only pieces the city's streets reach (a piece between the river and the railway may not)
        ring = ring[np.isin(np.arange(len(ring)), shapely.STRtree(urban.geom).query(
            ring, predicate="dwithin", distance=0.05)[0])]
    rural = _rural_network(rng_rural, poly, core, urban, ring, barriers, names, n_villages, n_towns)
    if len(ring):
        urban = _concat(urban, _Lines.of(ring, _SEC, "外环路"))
    urban.editable[:] = False  # the city was checked by its own steps; rural lines get the near-duplicate check
    rural.lines.editable[:] = True
    streets, lengths = _finish_network(_concat(urban, rural.lines), poly)

    sub_geoms: list[Any] | None = None
    extra = None
    if opt.subdistricts is not None:
        sub_geoms, sub_notes = _prepare_subdistricts(poly, opt.subdistricts)
        notes += sub_notes
        extra = shapely.get_parts(shapely.boundary(np.asarray(sub_geoms, dtype=object)))
    streets, faces, outline = _close_with_boundary(streets, poly, extra)
    if extra is not None:
        faces, moved = _absorb_specks(faces, streets)
        if moved:
            notes.append(f"subdistricts: {len(moved)} specks of land under 20 m² ({sum(moved):.1f} m² in all), cut off "
                         "where a synthetic street crosses a subdistrict line, joined the block across that line")
    rep = shapely.point_on_surface(faces)
    urban_face = shapely.contains(core, rep) if not all_urban else np.ones(len(faces), dtype=bool)
    sub_of_face = None
    if sub_geoms is not None:
        qi, si = shapely.STRtree(np.asarray(sub_geoms, dtype=object)).query(rep, predicate="within")
        sub_of_face = np.full(len(faces), -1, dtype=np.int64)
        sub_of_face[qi[::-1]] = si[::-1]  # the first subdistrict wins on a shared edge
        lost = np.flatnonzero(sub_of_face < 0)
        if len(lost):
            sub_of_face[lost] = shapely.STRtree(np.asarray(sub_geoms, dtype=object)).query_nearest(
                rep[lost], all_matches=False)[1]

    # residents: the urban core at the default district's densities, villages at rural ones
    urban_total = int(round(_CORE_PEOPLE_PER_KM2 * _density_integral(core, density) / 1e6))
    rural_total = int(round(_RURAL_PEOPLE_PER_KM2 * rural_km2)) if len(rural.settlements) else 0
    if opt.population is not None:
        k = opt.population / max(urban_total + rural_total, 1)
        urban_total = int(round(urban_total * k))
        rural_total = opt.population - urban_total
    n_points = int(np.clip(urban_total / _PEOPLE_PER_POINT, min(2_000, urban_total), 45_000))
    pts_u, pop_u = _population(rng_pop, core, faces[urban_face], streets, barriers, density, urban_total, n_points)
    pts_r, pop_r = _rural_population(rng_pop, poly, core, streets, barriers, rural, rural_total)
    people_xy = np.concatenate([np.asarray(pts_u, dtype=object), np.asarray(pts_r, dtype=object)])
    people_n = np.concatenate([pop_u, pop_r]).astype(np.int64)
    if opt.population is not None:
        people_n = _exact_total(people_n, opt.population)
    people = (people_xy, people_n)
    block_pop = _points_per_face(people, faces)

    adjacency = _face_adjacency(faces)
    area = shapely.area(faces)
    w = block_pop + area * (0.2 * max(block_pop.sum(), 1.0) / area.sum())  # land weighs 1/6 of all weight
    communities, comm_of_face, adj_v, comm_notes = _given_communities(
        rng_part, faces, w, block_pop, adjacency, urban_face, opt, sub_of_face, rural_km2)
    notes += comm_notes
    if not 1 <= opt.n_grids <= len(faces):
        raise InfeasibleError(f"cannot draw {opt.n_grids} existing grids from {len(faces)} street blocks; "
                              f"pass n_grids_existing between 1 and {len(faces)}")
    grids = _grids(rng_grid, faces, block_pop, adj_v, communities, comm_of_face, opt.n_grids, weight=w)
    frames = _frames(outline, streets, communities, people, grids, barriers, out_crs, name=opt.name, code=opt.code)

    kinds = np.array([int(k) for k in streets.kind])
    rural_len = float(shapely.length(rural.lines.geom).sum()) / 1e3 if len(rural.lines) else 0.0
    notes.insert(0, (
        f"synthetic content inside the real boundary ({area_km2:,.1f} km²): the streets, communities, "
        f"population and existing grids are generated (seeded), only the boundary is real"))
    if all_urban:
        notes.append(f"urban throughout: the whole boundary is built up as one city ({area_km2:,.1f} km²)")
    else:
        notes.append(
            f"urban core: {core.area / 1e6:,.1f} km² of dense streets around ({centre[0]:.0f}, {centre[1]:.0f}) "
            f"in {out_crs.name}; rural land: {rural_km2:,.1f} km² with {rural.n_villages} villages and "
            f"{rural.n_towns} township seats joined by about {rural_len:,.0f} km of winding county, township "
            f"and village roads (set urban_km2= or centre= to change the core)")
    density_text = f"{_CORE_PEOPLE_PER_KM2:,.0f}/km² at the city's peak" + (
        f", about {_RURAL_PEOPLE_PER_KM2:.0f}/km² in the countryside" if len(pop_r) else "")
    notes.append(
        f"population: {int(people_n.sum()):,} residents ({int(pop_u.sum()):,} urban, {int(pop_r.sum()):,} rural) on "
        f"{len(people_n):,} address points ({density_text})" + (
            f", scaled to population={opt.population:,}" if opt.population is not None else
            "; pass population= to set the real total"))
    bridges = int((kinds == _BRIDGE).sum())
    notes.append(f"streets: {len(streets):,} segments, {shapely.length(streets.geom).sum() / 1e3:,.0f} km, "
                 f"{bridges} bridges over the synthetic river {_RIVER_NAME}, railway {_RAILWAY_NAME}")
    if len(lengths) > 1:
        notes.append(f"the street network has {len(lengths)} connected components (parts of the land no road "
                     f"can reach inside the boundary); their lengths: "
                     + ", ".join(f"{x / 1e3:,.1f} km" for x in lengths[:8]) + (" ..." if len(lengths) > 8 else ""))
    if rural.unreached:
        notes.append(f"{rural.unreached} villages have no road (no room for one inside the boundary)")
    return frames, notes


# --------------------------------------------------------------------------- frames


def _frames(
    outline: Any,
    streets: _Lines,
    communities: list[_Community],
    people: tuple[np.ndarray, np.ndarray],
    grids: list[tuple[np.ndarray, str, str, Any]],
    barriers: _Barriers,
    crs: pyproj.CRS,
    name: str = DISTRICT_NAME,
    code: str = DISTRICT_CODE,
) -> dict[str, gpd.GeoDataFrame]:
    boundary = gpd.GeoDataFrame({"name": [name], "code": [code]}, geometry=[outline], crs=crs)
    start = shapely.get_coordinates(shapely.get_point(streets.geom, 0))
    order = np.lexsort((start[:, 1], start[:, 0], np.array(streets.name, dtype=str), streets.kind))
    streets = streets.take(order)
    street_frame = gpd.GeoDataFrame(
        {
            "street_id": np.arange(len(streets), dtype=np.int64),
            "name": [str(x) for x in streets.name],
            "kind": [_KIND_NAME[int(k)] for k in streets.kind],
        },
        geometry=list(streets.geom),
        crs=crs,
    )
    comm_frame = gpd.GeoDataFrame(
        {
            "code": [c.code for c in communities],
            "name": [c.name for c in communities],
            "subdistrict": [c.sub_name for c in communities],
            "subdistrict_code": [c.sub_code for c in communities],
        },
        geometry=[c.geometry for c in communities],
        crs=crs,
    )
    pts, pop = people
    pop_frame = gpd.GeoDataFrame({"population": pop.astype(np.int64)}, geometry=list(pts), crs=crs)
    grid_frame = gpd.GeoDataFrame(
        {"code": [g[1] for g in grids], "name": [g[2] for g in grids]},
        geometry=[g[3] for g in grids],
        crs=crs,
    )
    river = gpd.GeoDataFrame(
        {"name": [_RIVER_NAME]}, geometry=[shapely.intersection(barriers.river.drawn, outline)], crs=crs
    )
    railway = gpd.GeoDataFrame(
        {"name": [_RAILWAY_NAME]}, geometry=[shapely.intersection(barriers.rail.line, outline)], crs=crs
    )
    return {
        "boundary": boundary,
        "streets": street_frame,
        "communities": comm_frame,
        "population": pop_frame,
        "grids": grid_frame,
        "river": river,
        "railway": railway,
    }
