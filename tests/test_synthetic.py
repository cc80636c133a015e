"""Tests for the offline synthetic sample district (:mod:`gridplan._synthetic`).

The ``check_*`` helpers state the invariants once; the seeded tests apply them to seeds 0
and 1, hypothesis applies them to random seeds, and the ``test_check_*_catches`` tests make
sure each helper really fails on broken input.
"""

from __future__ import annotations

import functools
import math
import re

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import given, settings
from hypothesis import strategies as st

from gridplan._synthetic import (
    DISTRICT_CODE,
    DISTRICT_NAME,
    SAMPLE_CENTRE_LONLAT,
    SAMPLE_EPSG,
    STREET_KINDS,
    build_sample_frames,
)
from gridplan.errors import CRSError, DataError, GeometryError

REQUIRED = ("boundary", "streets", "communities", "population", "grids")
SCHEMA = {
    "boundary": ["name", "code", "geometry"],
    "streets": ["street_id", "name", "kind", "geometry"],
    "communities": ["code", "name", "subdistrict", "subdistrict_code", "geometry"],
    "population": ["population", "geometry"],
    "grids": ["code", "name", "geometry"],
    "river": ["name", "geometry"],
    "railway": ["name", "geometry"],
}
CJK = re.compile(r"^[\u4e00-\u9fff]+$")


@functools.cache
def frames_for(seed: int) -> dict[str, gpd.GeoDataFrame]:
    return build_sample_frames(seed)


def frames(seed: int) -> dict[str, gpd.GeoDataFrame]:
    """Cached build, copied so no test can change another test's input."""
    return {k: v.copy() for k, v in frames_for(seed).items()}


# --------------------------------------------------------------------------- invariants


def endpoint_graph(streets: gpd.GeoDataFrame) -> nx.MultiGraph:
    geoms = streets.geometry.values
    a = shapely.get_coordinates(shapely.get_point(geoms, 0))
    b = shapely.get_coordinates(shapely.get_point(geoms, -1))
    g = nx.MultiGraph()
    for i, (p, q, length) in enumerate(zip(map(tuple, a), map(tuple, b), shapely.length(geoms))):
        g.add_edge(p, q, key=i, length=float(length))
    return g


def check_noded(streets: gpd.GeoDataFrame) -> None:
    """No two segments cross or overlap except at shared endpoints; union changes nothing."""
    geoms = np.asarray(streets.geometry.values)
    assert (shapely.get_type_id(geoms) == 1).all(), "every street is a LineString"
    assert (shapely.length(geoms) > 0).all()
    ends = shapely.multipoints(
        np.stack(
            [
                shapely.get_coordinates(shapely.get_point(geoms, 0)),
                shapely.get_coordinates(shapely.get_point(geoms, -1)),
            ],
            axis=1,
        )
    )
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    sel = i < j
    i, j = i[sel], j[sel]
    meet = shapely.intersection(geoms[i], geoms[j])
    ok = shapely.covered_by(meet, ends[i]) & shapely.covered_by(meet, ends[j])
    assert ok.all(), f"{(~ok).sum()} pairs of segments cross or overlap away from their ends"
    union = shapely.get_parts(shapely.union_all(geoms))
    assert len(union) == len(geoms)
    assert math.isclose(shapely.length(union).sum(), shapely.length(geoms).sum(), rel_tol=1e-9)


def check_one_component(streets: gpd.GeoDataFrame) -> None:
    g = endpoint_graph(streets)
    assert nx.number_connected_components(g) == 1


def check_tiles(parts: gpd.GeoDataFrame, outline: shapely.Geometry, *, contiguous: bool = True) -> None:
    """``parts`` cover ``outline`` without gaps or overlaps (1e-6 relative area)."""
    geoms = np.asarray(parts.geometry.values)
    assert shapely.is_valid(geoms).all()
    if contiguous:
        assert (shapely.get_type_id(geoms) == 3).all(), "each part is a single Polygon"
    total = shapely.area(geoms).sum()
    union = shapely.union_all(geoms)
    tol = 1e-6 * outline.area
    assert abs(total - union.area) <= tol, "parts overlap"
    assert shapely.symmetric_difference(union, outline).area <= tol, "parts do not cover the outline exactly"


def edge_midpoints(polygons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Midpoints and lengths of every edge of the polygons' rings."""
    rings = shapely.get_parts(shapely.boundary(polygons))
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    same = ring_of[1:] == ring_of[:-1]
    a, b = coords[:-1][same], coords[1:][same]
    return shapely.points((a + b) / 2), np.hypot(*(b - a).T)


def share_on(polygons: np.ndarray, lines: np.ndarray, tol: float = 0.05) -> float:
    """Share of the polygons' edge length lying on ``lines`` (to ``tol`` metres)."""
    mids, length = edge_midpoints(polygons)
    hit = np.zeros(len(mids), dtype=bool)
    hit[shapely.STRtree(lines).query(mids, predicate="dwithin", distance=tol)[0]] = True
    return float(length[hit].sum() / length.sum())


def check_streets(f: dict[str, gpd.GeoDataFrame], max_segments: int = 6000, min_segments: int = 2000) -> None:
    streets, outline = f["streets"], f["boundary"].geometry.iloc[0]
    assert min_segments <= len(streets) <= max_segments
    assert streets["street_id"].tolist() == list(range(len(streets)))
    assert set(streets["kind"]) <= set(STREET_KINDS)
    assert shapely.covered_by(streets.geometry.values, outline.buffer(0.01)).all()
    check_noded(streets)
    check_one_component(streets)


def check_barriers(
    f: dict[str, gpd.GeoDataFrame], bridges: tuple[int, int] = (3, 5), crossings: tuple[int, int] = (2, 4)
) -> None:
    """Only bridges touch the river, each spanning it; few segments cross the railway.

    ``bridges`` and ``crossings`` bound their numbers (the default district: 3-5 and 2-4).
    """
    streets = f["streets"]
    water = f["river"].geometry.iloc[0]
    track = f["railway"].geometry.iloc[0]
    wet = streets.geometry.intersects(water)
    assert (streets.loc[wet, "kind"] == "bridge").all(), "a non-bridge street enters the river"
    spans = streets[streets["kind"] == "bridge"]
    assert bridges[0] <= len(spans) <= bridges[1]
    assert spans.geometry.crosses(water).all(), "each bridge spans the river"
    crossing = streets.geometry.intersects(track)
    assert crossings[0] <= crossing.sum() <= crossings[1], f"{crossing.sum()} streets cross the railway"


def check_people(
    f: dict[str, gpd.GeoDataFrame], lo: int = 200_000, hi: int = 400_000, points: tuple[int, int] = (20_000, 50_000)
) -> None:
    people, outline = f["population"], f["boundary"].geometry.iloc[0]
    assert people["population"].dtype == np.int64
    assert (people["population"] >= 1).all()
    assert lo <= people["population"].sum() <= hi
    assert points[0] <= len(people) <= points[1]
    assert shapely.contains(outline, people.geometry.values).all()
    assert not people.geometry.intersects(f["river"].geometry.iloc[0]).any()
    gap = shapely.STRtree(f["streets"].geometry.values).query_nearest(
        people.geometry.values, return_distance=True, all_matches=False
    )[1]
    assert gap.min() >= 10.0, "address points sit in blocks, set back from street centrelines"


def check_communities(
    f: dict[str, gpd.GeoDataFrame],
    n: tuple[int, int] = (10, 20),
    n_sub: tuple[int, int] = (2, 4),
    *,
    rural: bool = False,
    contiguous: bool = True,
) -> None:
    """Communities tile the boundary along streets, with 12-digit codes in their subdistricts.

    ``rural=True`` also allows townships (镇, codes 1xx) and villages (村, codes 2xx) as
    in a given boundary's countryside; ``contiguous=False`` allows communities holding
    islands.
    """
    comm, outline = f["communities"], f["boundary"].geometry.iloc[0]
    assert n[0] <= len(comm) <= n[1]
    check_tiles(comm, outline, contiguous=contiguous)
    assert comm["code"].is_unique
    assert comm["code"].str.fullmatch(r"\d{12}").all()
    assert comm["subdistrict_code"].str.fullmatch(r"\d{9}").all()
    assert (comm["code"].str[:9] == comm["subdistrict_code"]).all()
    assert comm["code"].str.startswith(f["boundary"]["code"].iloc[0]).all()
    assert comm["name"].is_unique
    if rural:
        village = comm["name"].str.endswith("村")
        assert (village | comm["name"].str.endswith("社区")).all()
        assert (comm.loc[village, "code"].str[9] == "2").all() and (comm.loc[~village, "code"].str[9] == "0").all()
        town = comm["subdistrict"].str.endswith("镇")
        assert (town | comm["subdistrict"].str.endswith("街道")).all()
        assert (comm.loc[town, "subdistrict_code"].str[6] == "1").all()
    else:
        assert comm["name"].str.endswith("社区").all()
        assert comm["subdistrict"].str.endswith("街道").all()
    subs = comm.dissolve("subdistrict_code")
    assert n_sub[0] <= len(subs) <= n_sub[1]
    if contiguous:
        assert (subs.geometry.geom_type == "Polygon").all(), "each subdistrict is contiguous"
    assert (comm.groupby("subdistrict_code")["subdistrict"].nunique() == 1).all()
    # community lines run along streets or the district boundary
    lines = np.r_[f["streets"].geometry.values, shapely.get_parts(outline.boundary)]
    assert share_on(np.asarray(comm.geometry.values), lines) == 1.0


def grid_population(f: dict[str, gpd.GeoDataFrame]) -> pd.Series:
    j = gpd.sjoin(f["population"], f["grids"], predicate="within")
    return j.groupby("index_right")["population"].sum().reindex(f["grids"].index, fill_value=0)


def check_grids(f: dict[str, gpd.GeoDataFrame], n: int = 12, *, contiguous: bool = True) -> None:
    grids, comm, outline = f["grids"], f["communities"], f["boundary"].geometry.iloc[0]
    assert len(grids) == n
    check_tiles(grids, outline, contiguous=contiguous)
    assert grids["code"].is_unique
    assert grids["code"].str.fullmatch(r"\d{14}").all()
    assert grids["name"].tolist() == [f"第{i}网格" for i in range(1, n + 1)]
    # code = community holding most of the grid's area + 2-digit sequence
    g, c = shapely.STRtree(comm.geometry.values).query(grids.geometry.values, predicate="intersects")
    area = shapely.area(shapely.intersection(grids.geometry.values[g], comm.geometry.values[c]))
    table = pd.DataFrame({"g": g, "c": comm["code"].to_numpy()[c], "a": area})
    major = table.sort_values("a").groupby("g")["c"].last()
    assert (grids["code"].str[:12] == major.reindex(range(len(grids))).to_numpy()).all()
    # grids follow streets, and mostly community lines
    polys = np.asarray(grids.geometry.values)
    lines = np.r_[f["streets"].geometry.values, shapely.get_parts(outline.boundary)]
    assert share_on(polys, lines) == 1.0
    assert share_on(polys, shapely.get_parts(shapely.boundary(comm.geometry.values))) >= 0.5
    pop = grid_population(f)
    assert pop.min() > 0
    assert 1.4 <= pop.max() / pop.min() <= 3.2, "the existing plan is realistically unbalanced"


def check_all(f: dict[str, gpd.GeoDataFrame]) -> None:
    check_streets(f)
    check_barriers(f)
    check_people(f)
    check_communities(f)
    check_grids(f)


# --------------------------------------------------------------------------- seeded tests


@pytest.mark.slow
def test_determinism_per_seed():
    again = build_sample_frames(0)
    first = frames(0)
    assert list(again) == list(first)
    for key in first:
        assert_geodataframe_equal(again[key], first[key], check_less_precise=False)


def test_different_seeds_differ():
    a, b = frames(0), frames(1)
    assert not a["boundary"].geometry.iloc[0].equals(b["boundary"].geometry.iloc[0])
    assert len(a["streets"]) != len(b["streets"]) or not a["streets"].geometry.equals(b["streets"].geometry)
    assert a["population"]["population"].sum() != b["population"]["population"].sum()


@pytest.mark.parametrize("seed", [0, 1])
def test_schema_and_dtypes(seed):
    f = frames(seed)
    assert set(REQUIRED) <= set(f)
    for key, frame in f.items():
        assert frame.columns.tolist() == SCHEMA[key], key
        assert isinstance(frame, gpd.GeoDataFrame)
        assert frame.crs.to_epsg() == SAMPLE_EPSG
        assert isinstance(frame.index, pd.RangeIndex)
        assert frame.geometry.notna().all() and not frame.geometry.is_empty.any()
        assert frame.geometry.is_valid.all()
        assert np.isfinite(shapely.get_coordinates(frame.geometry.values)).all()
        for col in frame.columns.drop("geometry"):
            assert frame[col].notna().all()
    assert f["streets"]["street_id"].dtype == np.int64
    assert f["population"]["population"].dtype == np.int64
    for key, col in [("streets", "name"), ("streets", "kind"), ("communities", "code"), ("grids", "code")]:
        assert pd.api.types.is_string_dtype(f[key][col])
    other = frames(1 - seed)
    for key in f:
        assert (f[key].dtypes == other[key].dtypes).all(), key


@pytest.mark.parametrize("seed", [0, 1])
def test_boundary(seed):
    b = frames(seed)["boundary"]
    assert len(b) == 1
    assert b["name"].iloc[0] == DISTRICT_NAME and b["code"].iloc[0] == DISTRICT_CODE
    poly = b.geometry.iloc[0]
    assert poly.geom_type == "Polygon" and poly.is_valid and not poly.interiors
    assert 30e6 <= poly.area <= 60e6
    polsby_popper = 4 * math.pi * poly.area / poly.length**2
    assert polsby_popper < 0.9, "not a circle"
    assert poly.area / shapely.oriented_envelope(poly).area < 0.9, "not a rectangle"
    lon, lat = pyproj.Transformer.from_crs(SAMPLE_EPSG, 4490, always_xy=True).transform(poly.centroid.x, poly.centroid.y)
    assert abs(lon - SAMPLE_CENTRE_LONLAT[0]) < 0.03 and abs(lat - SAMPLE_CENTRE_LONLAT[1]) < 0.03


@pytest.mark.parametrize("seed", [0, 1])
def test_streets(seed):
    f = frames(seed)
    check_streets(f)
    streets = f["streets"]
    assert set(streets["kind"]) == set(STREET_KINDS)
    assert streets["name"].map(lambda s: bool(CJK.match(s))).all()
    named = streets[streets["name"] != "无名道路"]
    spans = named.groupby("name").size()
    assert spans.median() >= 3, "a named street spans several segments"
    assert {"人民路", "和平路"} & set(streets["name"]) or streets["name"].str.endswith("路").sum() > 100


@pytest.mark.parametrize("seed", [0, 1])
def test_street_realism(seed):
    f = frames(seed)
    streets, outline = f["streets"], f["boundary"].geometry.iloc[0]
    g = endpoint_graph(streets)
    free = [p for p, d in g.degree() if d == 1]
    inside = [p for p in free if shapely.Point(p).distance(outline.boundary) > 1.0]
    assert len(inside) >= 100, "cul-de-sacs and lane ends"
    length = streets.length
    art = streets[streets["kind"] == "arterial"]
    assert art.length.sum() / outline.area * 1e6 > 1500, "an arterial grid (~2 / 0.85 km per km²)"
    # dense core, sparse periphery: street length per km² near the centre vs. near the edge
    core = outline.centroid.buffer(1500)
    rim = shapely.difference(outline, outline.buffer(-1000))
    core_density = streets.geometry.intersection(core).length.sum() / core.area
    rim_density = streets.geometry.intersection(rim).length.sum() / rim.area
    assert core_density > 1.3 * rim_density
    assert length.min() > 0.5 and length.max() < 5000


@pytest.mark.parametrize("seed", [0, 1])
def test_river_and_railway(seed):
    f = frames(seed)
    check_barriers(f)
    streets = f["streets"]
    banks = streets[streets["name"].str.startswith("滨河")]
    assert banks["name"].nunique() == 2, "riverside roads on both banks"
    water = f["river"].geometry.iloc[0]
    assert (banks.distance(water) < 60).all()


@pytest.mark.parametrize("seed", [0, 1])
def test_population(seed):
    f = frames(seed)
    check_people(f)
    people = f["population"]
    # dense core: the 10% most populous km² hold far more than 10% of the people
    x, y = people.geometry.x, people.geometry.y
    cells = (np.floor(x / 1000)).astype(int).astype(str) + "_" + (np.floor(y / 1000)).astype(int).astype(str)
    per_cell = people["population"].groupby(cells).sum().sort_values(ascending=False)
    top = per_cell.iloc[: max(1, len(per_cell) // 10)].sum() / per_cell.sum()
    assert top > 0.2


@pytest.mark.parametrize("seed", [0, 1])
def test_communities(seed):
    check_communities(frames(seed))


@pytest.mark.parametrize("seed", [0, 1])
def test_grids(seed):
    check_grids(frames(seed))


@pytest.mark.parametrize("seed", [0, 1])
def test_codes_run_north_to_south_then_west_to_east(seed):
    f = frames(seed)
    grids = f["grids"]
    pts = grids.geometry.representative_point()
    number = grids["name"].str.extract(r"(\d+)")[0].astype(int)
    assert number.corr(-pts.y, method="spearman") > 0.6, "rows run north to south"
    comm = f["communities"]
    for _, group in comm.groupby("subdistrict_code"):
        assert sorted(group["code"].str[-3:]) == [f"{i:03d}" for i in range(1, len(group) + 1)]
    subs = comm.dissolve("subdistrict_code")
    assert sorted(subs.index) == [f"{DISTRICT_CODE}{i:03d}" for i in range(1, len(subs) + 1)]


@pytest.mark.slow
@settings(max_examples=3, deadline=None, derandomize=False, database=None)
@given(seed=st.integers(min_value=2, max_value=1000))
def test_invariants_hold_for_any_seed(seed):
    check_all(build_sample_frames(seed))


# --------------------------------------------------------------------------- given boundary


def _given_outline(area_km2: float = 100.0) -> shapely.Polygon:
    """An irregular outline around the sample centre, scaled to ``area_km2``."""
    x, y = pyproj.Transformer.from_crs(4490, SAMPLE_EPSG, always_xy=True).transform(*SAMPLE_CENTRE_LONLAT)
    t = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    r = 1 + 0.25 * np.cos(2 * t + 0.3) + 0.1 * np.sin(3 * t) + 0.03 * np.cos(11 * t)
    ring = np.c_[np.cos(t) * r, np.sin(t) * r]
    k = math.sqrt(area_km2 * 1e6 / shapely.Polygon(ring).area)
    return shapely.Polygon(ring * k + [x, y])


@functools.cache
def given_frames() -> dict[str, gpd.GeoDataFrame]:
    return build_sample_frames(3, boundary=_given_outline(100.0))


@functools.cache
def county_frames() -> dict[str, gpd.GeoDataFrame]:
    """A 300 km² county: a 20 km² town in rural land."""
    return build_sample_frames(4, boundary=_given_outline(300.0), urban_km2=20.0)


def street_density(streets: gpd.GeoDataFrame, area: shapely.Geometry) -> float:
    """Street km per km² inside ``area``."""
    return float(shapely.length(shapely.intersection(streets.geometry.values, area)).sum() / area.area * 1e3)


@pytest.mark.slow
def test_given_boundary_100km2_is_urban_throughout():
    f = given_frames()
    outline = f["boundary"].geometry.iloc[0]
    assert shapely.symmetric_difference(outline, _given_outline(100.0)).area < 1e-6 * outline.area
    check_streets(f, max_segments=8000)
    check_barriers(f, bridges=(3, 12), crossings=(2, 12))
    check_communities(f, n=(20, 60), n_sub=(4, 10))
    check_grids(f)
    check_people(f, lo=400_000, hi=1_500_000, points=(20_000, 50_000))
    # a city everywhere: even the emptiest km² of the rim has streets
    rim = shapely.difference(outline, outline.buffer(-1000))
    assert street_density(f["streets"], rim) > 4.0


@pytest.mark.slow
def test_given_county_has_town_and_countryside():
    f = county_frames()
    outline = f["boundary"].geometry.iloc[0]
    assert shapely.symmetric_difference(outline, _given_outline(300.0)).area < 1e-6 * outline.area
    check_streets(f, min_segments=1500, max_segments=8000)
    check_barriers(f, bridges=(3, 40), crossings=(2, 40))
    check_communities(f, n=(8, 60), n_sub=(2, 12), rural=True)
    check_grids(f)
    people = f["population"]
    check_people(f, lo=150_000, hi=800_000, points=(10_000, 70_000))
    streets = f["streets"]
    core = outline.centroid.buffer(1500)
    countryside = shapely.difference(outline, outline.centroid.buffer(6000))
    assert street_density(streets, core) > 5 * street_density(streets, countryside), "a town, then sparse roads"
    assert street_density(streets, countryside) > 0.3, "the countryside has roads"
    rural_people = people[shapely.contains(countryside, people.geometry.values)]["population"].sum()
    per_km2 = rural_people / countryside.area * 1e6
    assert 30 <= per_km2 <= 400, f"{per_km2:.0f} people/km² in the countryside"
    assert people["population"].sum() > 5 * rural_people
    assert (f["communities"]["name"].str.endswith("村")).any() and (f["communities"]["subdistrict"].str.endswith("镇")).any()
    assert streets["name"].str.startswith("县道").any(), "county roads join the townships to the town"


@pytest.mark.slow
def test_given_multipolygon():
    main = _given_outline(30.0)
    c = main.centroid
    island = shapely.Point(c.x + 7000, c.y + 7000).buffer(1400)
    f = build_sample_frames(5, boundary=shapely.MultiPolygon([main, island]))
    outline = f["boundary"].geometry.iloc[0]
    assert outline.geom_type == "MultiPolygon"
    check_tiles(f["communities"], outline)
    check_tiles(f["grids"], outline, contiguous=False)
    check_noded(f["streets"])
    assert f["streets"].geometry.intersects(island).any(), "the 6 km² island has streets"
    # one connected network per part
    g = endpoint_graph(f["streets"])
    assert nx.number_connected_components(g) == 2


@pytest.mark.slow
def test_given_boundary_with_hole():
    c = _given_outline(10.0).centroid
    square = shapely.box(c.x - 3000, c.y - 3000, c.x + 3000, c.y + 3000)
    hole = shapely.Point(c.x + 1500, c.y + 1000).buffer(600)
    f = build_sample_frames(2, boundary=square.difference(hole))
    outline = f["boundary"].geometry.iloc[0]
    assert len(outline.interiors) == 1
    assert not f["streets"].geometry.intersects(hole.buffer(-1)).any()
    assert not f["population"].geometry.intersects(hole).any()
    check_streets(f, min_segments=1000)
    check_communities(f, n=(10, 40), n_sub=(1, 8))
    check_tiles(f["grids"], outline)


@pytest.mark.slow
def test_given_options():
    outline = _given_outline(12.0)
    f = build_sample_frames(
        1, boundary=outline, n_grids=15, n_communities=15, n_subdistricts=3, population=123_456, name="某区", code="123456"
    )
    check_grids(f, 15)
    check_communities(f, n=(15, 15), n_sub=(3, 3))
    assert f["population"]["population"].sum() == 123_456
    assert f["boundary"]["name"].iloc[0] == "某区" and f["communities"]["code"].str.startswith("123456").all()
    with pytest.raises(DataError, match="fewer than the 3 subdistricts"):
        build_sample_frames(1, boundary=outline, n_communities=2, n_subdistricts=3)
    with pytest.raises(DataError, match="outside the boundary"):
        build_sample_frames(1, boundary=outline, centre=(0.0, 0.0))


@pytest.mark.parametrize(
    "bad, error",
    [
        (shapely.LineString([(0, 0), (1, 1)]), GeometryError),
        (shapely.Polygon(), GeometryError),
        (shapely.Polygon([(0, 0), (3000, 3000), (3000, 0), (0, 3000)]), GeometryError),  # bow-tie
        (shapely.box(0, 0, 1000, 1000), GeometryError),  # 1 km²: too small
        (shapely.box(107.2, 26.5, 107.3, 26.6), CRSError),  # degrees
    ],
)
def test_bad_boundary_raises(bad, error):
    with pytest.raises(error):
        build_sample_frames(0, boundary=bad)


def test_bad_seed_and_crs_raise():
    with pytest.raises(DataError):
        build_sample_frames(-1)
    with pytest.raises(DataError):
        build_sample_frames(1.5)  # type: ignore[arg-type]
    with pytest.raises(CRSError):
        build_sample_frames(0, boundary=_given_outline(50.0), crs="EPSG:4326")
    with pytest.raises(DataError):
        build_sample_frames(0, crs="EPSG:32648")  # the default district is EPSG:4545 only
    with pytest.raises(DataError, match="only apply to a given boundary"):
        build_sample_frames(0, urban_km2=10.0)
    with pytest.raises(DataError, match="n_grids_existing"):
        build_sample_frames(0, n_grids=0)


@pytest.mark.slow
def test_default_district_options():
    f = build_sample_frames(0, n_grids=15, n_communities=15)
    check_grids(f, 15)
    check_communities(f, n=(15, 15))
    base = frames(0)
    for key in ("boundary", "streets", "population"):  # only the partitions change
        assert_geodataframe_equal(f[key], base[key], check_less_precise=False)


# --------------------------------------------------------------------------- the checks can fail


def test_check_noded_catches_crossing():
    f = frames(0)
    streets = f["streets"]
    a = streets.geometry.iloc[0]
    p = a.interpolate(0.5, normalized=True)
    cross = shapely.LineString([(p.x - 7, p.y - 11), (p.x + 7, p.y + 11)])
    bad = pd.concat([streets, gpd.GeoDataFrame({"street_id": [len(streets)]}, geometry=[cross], crs=streets.crs)])
    with pytest.raises(AssertionError):
        check_noded(bad)


def test_check_one_component_catches_island():
    streets = frames(0)["streets"]
    far = shapely.LineString([(0, 0), (10, 0)])
    bad = pd.concat([streets, gpd.GeoDataFrame(geometry=[far], crs=streets.crs)])
    with pytest.raises(AssertionError):
        check_one_component(bad)


def test_check_tiles_catches_gap_and_overlap():
    f = frames(0)
    outline = f["boundary"].geometry.iloc[0]
    with pytest.raises(AssertionError):
        check_tiles(f["grids"].iloc[1:], outline)
    overlap = f["grids"].copy()
    overlap.loc[0, "geometry"] = overlap.geometry.iloc[0].buffer(50).intersection(outline)
    with pytest.raises(AssertionError):
        check_tiles(overlap, outline)


def test_check_barriers_catches_street_in_river():
    f = frames(0)
    water = f["river"].geometry.iloc[0]
    p = water.representative_point()
    wet = shapely.LineString([(p.x - 200, p.y), (p.x + 200, p.y)])
    f["streets"] = pd.concat(
        [f["streets"], gpd.GeoDataFrame({"kind": ["local"]}, geometry=[wet], crs=f["streets"].crs)],
        ignore_index=True,
    )
    with pytest.raises(AssertionError):
        check_barriers(f)


def test_check_grids_catches_renamed_plan():
    f = frames(0)
    f["grids"] = f["grids"].assign(name=f["grids"]["name"].iloc[::-1].to_numpy())
    with pytest.raises(AssertionError):
        check_grids(f)


def test_check_grids_catches_balanced_plan():
    f = frames(0)
    people = f["population"]
    grid_of = gpd.sjoin(people, f["grids"], predicate="within")["index_right"]
    balanced = pd.Series(1, index=people.index, dtype=np.int64)
    for _, idx in grid_of.groupby(grid_of).groups.items():
        balanced[idx[0]] = 20_000 - (len(idx) - 1)  # every grid holds exactly 20,000 people
    f["population"] = people.assign(population=balanced)
    assert grid_population(f).nunique() == 1
    with pytest.raises(AssertionError, match="unbalanced"):
        check_grids(f)
