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
   partial ring road, some arterials ending at a T. With a given, large boundary only an
   urban box gets the 800 m grid; the rest gets a rural grid at ~2.5 km.
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
_URBAN_HALF = 4600.0  # m: half-size of the urban box of 800 m arterials (given boundary)
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
) -> dict[str, gpd.GeoDataFrame]:
    """Build the frames of a synthetic Chinese urban district, offline and deterministically.

    Parameters
    ----------
    seed : int, default 0
        Non-negative integer; equal seeds give identical frames, different seeds different
        districts. Each construction step draws from its own child of
        ``numpy.random.SeedSequence(seed)``.
    boundary : shapely Polygon or MultiPolygon, optional
        A district outline in metres. ``None`` (default) makes a fresh irregular outline
        of 36-54 km² around lon 107.23, lat 26.58. A given outline (any size from 4 km²;
        100-1,600 km² works, at most 4 parts) is filled with the same kind of content: an
        urban core near its centre, sparser streets outward, a rural road grid beyond
        ~4.6 km, with at most 8,000 street segments. Its coordinates are snapped to 1 cm.
    crs : CRS-like, optional
        CRS of a given ``boundary`` and of the returned frames; default EPSG:4545. Must be
        projected (metres). Without a boundary only EPSG:4545 is accepted.

    Returns
    -------
    dict of str to GeoDataFrame
        All in the same CRS, each with a RangeIndex:

        ``boundary``
            1 row: ``name``, ``code`` and the outline (a Polygon, or the snapped given
            geometry).
        ``streets``
            Noded segments forming one connected network (one per part of a
            MultiPolygon): ``street_id`` (int64, 0..n-1), ``name``, ``kind`` (one of
            :data:`STREET_KINDS`), LineString geometry.
        ``communities``
            Contiguous unions of street blocks tiling the boundary: ``code`` (12 digits),
            ``name``, ``subdistrict``, ``subdistrict_code`` (9 digits), Polygon geometry.
        ``population``
            Residential address points: ``population`` (int64 ≥ 1), Point geometry.
        ``grids``
            The existing 12-grid plan tiling the boundary: ``code`` (community code + 2
            digits), ``name``, Polygon geometry.
        ``river``, ``railway``
            1 row each, ``name`` and the water polygon / track line inside the district
            (for drawing).

    Raises
    ------
    GeometryError
        If ``boundary`` is not a valid, non-empty (Multi)Polygon of at least 4 km² with at
        most 4 parts.
    CRSError
        If ``boundary`` or ``crs`` is in degrees.
    DataError
        If ``seed`` is not a non-negative integer, or ``crs`` is not EPSG:4545 without a
        ``boundary``.

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
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise DataError(f"seed must be a non-negative integer, got {seed!r}")
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(9)]
    rng_shape, rng_dens, rng_barrier, rng_art, rng_local, rng_edit, rng_pop, rng_part, rng_grid = streams

    given = boundary is not None
    out_crs = _check_crs(crs)
    if given:
        poly = _check_boundary(boundary)
    else:
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
    major = _major_streets(rng_art, poly, density, barriers, names, given)
    local = _local_lines(rng_local, poly, density, major, barriers, names, given)
    streets = _edit_locals(rng_edit, poly, density, _concat(major, local), barriers, names)
    streets, faces, poly = _close_with_boundary(streets, poly)

    total, n_points = _population_targets(rng_pop, poly, density, given)
    people = _population(rng_pop, poly, faces, streets, barriers, density, total, n_points)
    block_pop = _points_per_face(people, faces)

    adjacency = _face_adjacency(faces)
    communities, comm_of_face = _communities(rng_part, faces, block_pop, adjacency, total, given)
    grids = _grids(rng_grid, faces, block_pop, adjacency, communities, comm_of_face)

    return _frames(poly, streets, communities, people, grids, barriers, out_crs)


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
    parts = shapely.get_parts(snapped)
    if len(parts) > _MAX_PARTS:
        raise GeometryError(
            f"boundary has {len(parts)} parts; at most {_MAX_PARTS} are supported (subdistricts "
            "must be contiguous): drop small islands, e.g. keep parts above 1 km²"
        )
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


def _make_river(rng: np.random.Generator, poly: Any, core: tuple[float, float]) -> _Barrier:
    core_xy = np.asarray(core)
    angle = rng.uniform(0, np.pi)
    normal = np.array([-math.sin(angle), math.cos(angle)])
    anchor = core_xy + normal * rng.uniform(300.0, 1100.0) * rng.choice([-1.0, 1.0])
    line = _meander(rng, anchor, angle, _reach(poly, core_xy), (60.0, 140.0), (2500.0, 7000.0), 3)
    half_water = rng.uniform(30.0, 55.0)
    half = half_water + rng.uniform(25.0, 40.0)
    water = line.buffer(half_water, quad_segs=4, cap_style="flat")
    zone = line.buffer(half, quad_segs=4, cap_style="flat")
    return _Barrier(line, water, zone, half)


def _make_railway(rng: np.random.Generator, poly: Any, core: tuple[float, float], river: _Barrier) -> _Barrier:
    core_xy = np.asarray(core)
    coords = shapely.get_coordinates(river.line)
    river_angle = math.atan2(*(coords[-1] - coords[0])[::-1])
    angle = river_angle + rng.choice([-1.0, 1.0]) * rng.uniform(np.radians(45), np.radians(90))
    normal = np.array([-math.sin(angle), math.cos(angle)])
    anchor = core_xy + normal * rng.uniform(900.0, 2000.0) * rng.choice([-1.0, 1.0])
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
    rng: np.random.Generator, poly: Any, density: _Density, names: _NamePool, given: bool
) -> list[tuple[shapely.LineString, str]]:
    """Warped arterial grid (+ a partial ring road), unclipped, as ``(line, name)`` pairs."""
    core = np.asarray(density.core)
    half = _reach(poly, core) - 1000.0
    theta = rng.uniform(-0.45, 0.45)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    spacing = rng.uniform(760.0, 940.0)
    us, vs = _positions(rng, half, spacing), _positions(rng, half, spacing)
    warp = _warp(rng)
    urban = _URBAN_HALF if given else np.inf

    def box(pos: np.ndarray) -> tuple[np.ndarray, float, float]:
        """Rural flags (every 3rd line) and the rural lines framing the urban box."""
        idx = np.arange(len(pos))
        rural = (idx - int(np.argmin(np.abs(pos)))) % 3 == 0
        if not np.isfinite(urban):
            return np.ones(len(pos), dtype=bool), -np.inf, np.inf
        lo = pos[rural & (pos <= -urban)]
        hi = pos[rural & (pos >= urban)]
        return rural, (lo.max() if len(lo) else -np.inf), (hi.min() if len(hi) else np.inf)

    rural_u, ua, ub = box(us)
    rural_v, va, vb = box(vs)
    out: list[tuple[shapely.LineString, str]] = []
    for family, (pos, rural, other, o_lo, o_hi, lo, hi) in enumerate(
        [(us, rural_u, vs, va, vb, ua, ub), (vs, rural_v, us, ua, ub, va, vb)]
    ):
        for i, p in enumerate(pos):
            if rural[i] and np.isfinite(urban):
                t0, t1 = -half, half
            elif lo < p < hi:
                t0, t1 = max(-half, o_lo - 3.0), min(half, o_hi + 3.0)
            else:
                continue
            # a few arterials stop at a T outside the core
            cuts = other[(np.abs(other) > 0.3 * min(half, urban)) & (other > t0) & (other < t1)]
            if len(cuts) and rng.random() < 0.18 and not (rural[i] and np.isfinite(urban)):
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
    rng: np.random.Generator, poly: Any, density: _Density, barriers: _Barriers, names: _NamePool, given: bool
) -> _Lines:
    """Arterials cut by the barrier zones, the chosen crossings and the side roads, noded."""
    lines = _arterial_lines(rng, poly, density, names, given)
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
        pieces = pieces[shapely.get_type_id(pieces) == 1]
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
    given: bool,
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
    lo, hi = (2900.0, 4300.0) if not given else (0.0, _MAX_SEGMENTS_GIVEN - 1500.0 - len(major))
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


def _close_with_boundary(lines: _Lines, poly: Any) -> tuple[_Lines, np.ndarray, Any]:
    """Node streets with the boundary rings; return streets, blocks and the exact outline they tile."""
    rings = shapely.get_parts(poly.boundary)
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


def _population_targets(rng: np.random.Generator, poly: Any, density: _Density, given: bool) -> tuple[int, int]:
    if not given:
        return int(rng.integers(240_000, 360_001)), int(rng.integers(26_000, 40_001))
    minx, miny, maxx, maxy = poly.bounds
    x = rng.uniform(minx, maxx, 200_000)
    y = rng.uniform(miny, maxy, 200_000)
    inside = shapely.contains_xy(poly, x, y)
    integral = float((density(x, y) * inside).mean()) * (maxx - minx) * (maxy - miny)
    total = int(round(_CORE_PEOPLE_PER_KM2 * integral / 1e6))
    return max(total, 20_000), int(np.clip(total / 9.0, 5_000, 50_000))


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


def _communities(
    rng: np.random.Generator,
    faces: np.ndarray,
    block_pop: np.ndarray,
    adj: sparse.csr_matrix,
    total: int,
    given: bool,
) -> tuple[list[_Community], np.ndarray]:
    """Subdistricts, then communities inside each, as contiguous unions of blocks."""
    xy = shapely.get_coordinates(shapely.point_on_surface(faces))
    w = block_pop + shapely.area(faces) / 2000.0  # empty land still weighs a little
    if given:
        n_comm = int(np.clip(round(total / rng.uniform(17_000, 25_000)), 10, 20))
    else:
        n_comm = int(rng.integers(12, 19))
    labels = csgraph.connected_components(adj, directed=False)[1]
    comp_w = np.bincount(labels, weights=w)
    n_sub = max(int(rng.integers(2, 5)), len(comp_w))
    if len(comp_w) > _MAX_PARTS:  # pragma: no cover - guarded by _check_boundary
        raise GeometryError(f"the blocks form {len(comp_w)} separate pieces; pass at most {_MAX_PARTS} parts")
    subs: list[np.ndarray] = []
    for c, k in enumerate(_allocate(comp_w, n_sub, 1)):
        subs += _bisect(rng, np.flatnonzero(labels == c), int(k), xy, w, adj)
    sub_w = np.array([w[s].sum() for s in subs])
    per_sub = _allocate(sub_w, n_comm, 2)
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
                    f"{comm_names.pop()}社区",
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
) -> list[tuple[np.ndarray, str, str, Any]]:
    """The existing 12-grid plan: communities merged and split until max/min population is 1.5-3."""
    xy = shapely.get_coordinates(shapely.point_on_surface(faces))
    w = block_pop + shapely.area(faces) / 2000.0
    n_c = len(communities)
    need = N_SAMPLE_GRIDS - n_c
    best: tuple[float, list[np.ndarray]] | None = None
    for _ in range(200):
        groups = [c.units for c in communities]
        subs = [c.sub_index for c in communities]
        n_split = max(0, need) + int(rng.integers(0, 3))
        for _ in range(n_split):
            pops = np.array([block_pop[g].sum() for g in groups])
            pick = int(rng.choice(len(groups), p=pops / pops.sum()))
            halves = _bisect(rng, groups[pick], 2, xy, w, adj)
            if len(halves) != 2:
                continue
            groups[pick] = halves[0]
            groups.append(halves[1])
            subs.append(subs[pick])
        while len(groups) > N_SAMPLE_GRIDS:
            label = np.full(len(faces), -1, dtype=np.int64)
            for gi, g in enumerate(groups):
                label[g] = gi
            touch = _group_adjacency(label, adj, len(groups))
            same = touch & (np.asarray(subs)[:, None] == np.asarray(subs)[None, :])
            cand = np.argwhere(np.triu(same if same.any() else touch))
            pops = np.array([block_pop[g].sum() for g in groups])
            pair_pop = pops[cand[:, 0]] + pops[cand[:, 1]]
            p = 1.0 / pair_pop**2
            a, b = cand[int(rng.choice(len(cand), p=p / p.sum()))]
            groups[a] = np.sort(np.concatenate([groups[a], groups[b]]))
            del groups[b]
            del subs[b]
        if len(groups) != N_SAMPLE_GRIDS:
            continue
        pops = np.array([block_pop[g].sum() for g in groups])
        ratio = pops.max() / max(pops.min(), 1.0)
        score = abs(ratio - 2.2)
        if best is None or score < best[0]:
            best = (score, groups)
        if 1.5 <= ratio <= 3.0:
            break
    if best is None:  # pragma: no cover - needs a district of fewer than 12 blocks
        raise InfeasibleError(f"cannot draw {N_SAMPLE_GRIDS} grids from {len(faces)} street blocks")
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


# --------------------------------------------------------------------------- frames


def _frames(
    outline: Any,
    streets: _Lines,
    communities: list[_Community],
    people: tuple[np.ndarray, np.ndarray],
    grids: list[tuple[np.ndarray, str, str, Any]],
    barriers: _Barriers,
    crs: pyproj.CRS,
) -> dict[str, gpd.GeoDataFrame]:
    boundary = gpd.GeoDataFrame({"name": [DISTRICT_NAME], "code": [DISTRICT_CODE]}, geometry=[outline], crs=crs)
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
