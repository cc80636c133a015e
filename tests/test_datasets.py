"""Tests for :mod:`gridplan.datasets`: synthetic districts grown inside real boundaries.

The real boundaries of ``../shared/data`` (five counties in GCJ-02 and Xicheng with its 15
real subdistricts) are each grown once (module cache) and checked for the same invariants;
tests that need the folder are skipped with a reason when it is absent. The rest runs on
boundaries made here: a GCJ-02 box, a messy multipolygon (holes, islands, a sliver) and
random star-shaped outlines (hypothesis).
"""

from __future__ import annotations

import functools
import math
import re

import geopandas as gpd
import networkx as nx
import numpy as np
import pyproj
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from gridplan import crs as gcrs
from gridplan.datasets import (
    COUNTIES,
    REAL_BOUNDARIES,
    SEATS,
    county_boundary,
    find_data_dir,
    real_district,
    sample_district,
    xicheng_subdistricts,
)
from gridplan.district import District
from gridplan.errors import CRSError, DataError, GridplanWarning
from gridplan.grids import partition

from .conftest import SHARED_DATA, needs_shared
from .test_synthetic import check_noded, check_tiles, endpoint_graph

LAYERS = ("streets", "communities", "population", "grids")
MAX_SEGMENTS = 8000
MAX_POINTS = 70_000


# --------------------------------------------------------------------------- invariants


def components_reported(district: District) -> int:
    """Connected components of the street network; more than one must be said in the notes."""
    n = nx.number_connected_components(endpoint_graph(district.streets))
    if n > 1:
        said = [s for s in district.notes if "connected components" in s]
        assert said and f"has {n} connected components" in said[0], f"{n} components, notes: {district.notes}"
    return n


def check_district(district: District, real_shape: shapely.Geometry, *, islands: bool = False) -> None:
    """What every district grown inside a real boundary must satisfy.

    ``real_shape`` is the boundary as given, in the district's CRS.
    """
    outline = district.shape
    # the boundary is the real one, never a hull or a core: snapped to the 1 cm grid, then noded
    # with the streets by snap rounding on that grid, a vertex moves by at most 2 × 0.71 cm
    assert shapely.hausdorff_distance(outline, real_shape) < 0.015
    assert shapely.symmetric_difference(outline, real_shape).area <= 0.01 * real_shape.length
    # synthetic, and it says so everywhere
    assert district.synthetic and district.summary()["streets_are"] == "synthetic"
    assert "synthetic" in district.name
    assert any("only the boundary is real" in s for s in district.notes)
    # streets: noded, inside, of a size one can work with, connected or reported
    streets = district.streets
    assert 100 <= len(streets) <= MAX_SEGMENTS
    assert shapely.covered_by(streets.geometry.values, outline.buffer(0.01)).all()
    check_noded(streets)
    components_reported(district)
    # communities and existing grids tile the boundary, codes nest
    check_tiles(district.communities, outline, contiguous=not islands)
    check_tiles(district.grids, outline, contiguous=not islands)
    comm = district.communities
    assert comm["code"].is_unique and comm["code"].str.fullmatch(r"\d{12}").all()
    assert (comm["code"].str[:9] == comm["subdistrict_code"]).all()
    assert comm["code"].str.startswith(district.code or "990101").all()
    assert district.grids["code"].str.fullmatch(r"\d{14}").all()
    # residents: inside, set back from the streets, not too many points
    people = district.population
    assert 1 <= len(people) <= MAX_POINTS
    assert (people["population"] >= 1).all() and people["population"].dtype == np.int64
    assert shapely.covers(outline, people.geometry.values).all()
    assert district.population_total == people["population"].sum()
    gap = shapely.STRtree(streets.geometry.values).query_nearest(people.geometry.values, return_distance=True, all_matches=False)[
        1
    ]
    assert gap.min() >= 10.0


def check_seat(district: District, seat_xy: tuple[float, float]) -> None:
    """The synthetic town sits on ``seat_xy``: streets there are far denser than on average."""
    streets = district.streets.geometry.values
    near = shapely.Point(seat_xy).buffer(1500)
    local = shapely.length(shapely.intersection(streets, near)).sum() / near.area
    overall = shapely.length(streets).sum() / district.shape.area
    assert local > 3 * overall


# --------------------------------------------------------------------------- real boundaries

REAL = sorted(REAL_BOUNDARIES)


@functools.cache
def grown(adcode: str, seed: int = 0) -> District:
    return real_district(adcode, seed=seed, data_dir=SHARED_DATA)


def raw_boundary(adcode: str) -> gpd.GeoDataFrame:
    """The boundary as shipped: GCJ-02 lon/lat in an EPSG:4326 container."""
    if adcode == "110102":
        return gpd.read_file(SHARED_DATA / "xicheng_boundary_gcj02.gpkg")
    raw = gpd.read_file(SHARED_DATA / "county_boundaries_gcj02.gpkg")
    return raw[raw["adcode"].astype(str) == adcode]


def real_shape(adcode: str, crs: pyproj.CRS) -> shapely.Geometry:
    """The shipped boundary converted independently of gridplan.datasets."""
    return gcrs.to_crs(raw_boundary(adcode), crs, source="GCJ-02").geometry.union_all()


@needs_shared
def test_the_seed_cases_are_in_the_shared_data():
    raw = gpd.read_file(SHARED_DATA / "county_boundaries_gcj02.gpkg")
    assert set(raw["adcode"].astype(str)) == set(COUNTIES) == {"522723", "370102", "511102", "410181", "410102"}
    assert county_boundary("110102", data_dir=SHARED_DATA).code == "110102"
    with pytest.raises(DataError, match="available"):
        county_boundary("110101", data_dir=SHARED_DATA)


@pytest.mark.slow
@needs_shared
@pytest.mark.parametrize("adcode", REAL)
def test_real_boundary_grows_a_valid_district(adcode):
    d = grown(adcode)
    lonlat = gcrs.to_crs(county_boundary(adcode, data_dir=SHARED_DATA).boundary, "EPSG:4326")
    picked = gcrs.metric_crs(lonlat)
    assert d.crs.equals(picked) and 4534 <= d.crs.to_epsg() <= 4554, "the CGCS2000 Gauss-Krüger zone gridplan picks"
    assert d.source_crs == "GCJ-02" and d.code == adcode
    check_district(d, real_shape(adcode, d.crs))
    seat = gcrs.transform(*SEATS[adcode], source="GCJ-02", target=d.crs)
    if d.area_km2 > 120:  # a county: a town at the seat, countryside around it
        check_seat(d, seat)
        assert (d.communities["name"].str.endswith("村")).any()
        assert any("rural land" in s for s in d.notes)
    else:
        assert any("urban throughout" in s for s in d.notes)
    assert len(d.grids) == 12
    # results go back to GCJ-02 for an Amap base map: the grids' union is the shipped outline again
    back = d.to_source_crs(d.grids).geometry.union_all()
    raw = raw_boundary(adcode).geometry.union_all()
    assert back.symmetric_difference(raw).area < 1e-5 * raw.area


@pytest.mark.slow
@needs_shared
@pytest.mark.parametrize("adcode", ["370102", "410102", "110102"])
def test_real_district_partitions_end_to_end(adcode):
    d = grown(adcode)
    plan = partition(d, 15, seed=0)
    m = plan.metrics()
    assert m["n_grids"] == 15 and m["contiguous"] and m["within_tolerance"]
    assert plan.grids["population"].sum() == pytest.approx(d.population_total)


@pytest.mark.slow
@needs_shared
def test_real_district_same_seed_same_district_other_seed_other():
    first, again = grown("410102"), real_district("410102", seed=0, data_dir=SHARED_DATA)
    for key in LAYERS:
        assert_geodataframe_equal(getattr(first, key), getattr(again, key), check_less_precise=False)
    assert first.notes == again.notes
    other = real_district("410102", seed=1, data_dir=SHARED_DATA)
    assert not other.streets.geometry.equals(first.streets.geometry)
    assert other.population["population"].sum() != first.population["population"].sum()
    assert shapely.hausdorff_distance(other.shape, first.shape) < 0.02, "a different seed changes all but the boundary"


@needs_shared
def test_xicheng_real_subdistricts_are_the_subdistrict_layer():
    d = grown("110102")
    real = xicheng_subdistricts(data_dir=SHARED_DATA).to_crs(d.crs).set_index("name")
    subs = d.communities.dissolve("subdistrict")
    assert sorted(subs.index) == sorted(real.index)
    for name, row in subs.iterrows():
        truth = real.geometry[name].intersection(d.shape)
        iou = row.geometry.intersection(truth).area / row.geometry.union(truth).area
        assert iou > 0.98, f"{name}: IoU {iou:.3f}"
    assert (d.communities.groupby("subdistrict").size() >= 2).all()


def test_find_data_dir_prefers_shared_data_and_falls_back_to_cases_data(tmp_path, monkeypatch):
    monkeypatch.delenv("GRIDPLAN_SHARED_DATA", raising=False)
    repo = tmp_path / "work" / "gridplan"
    cases = repo / "cases" / "data"
    cases.mkdir(parents=True)
    (repo / "notebooks").mkdir()
    (cases / "county_boundaries_gcj02.gpkg").write_bytes(b"")
    for where in (repo, repo / "notebooks"):  # a clean checkout: its own copies, from the root or a folder in it
        monkeypatch.chdir(where)
        assert find_data_dir() == cases.resolve()
    shared = tmp_path / "work" / "shared" / "data"
    shared.mkdir(parents=True)
    (shared / "county_boundaries_gcj02.gpkg").write_bytes(b"")
    assert find_data_dir() == shared.resolve()  # shared/data beside the checkout comes first
    assert find_data_dir(cases) == cases
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match="real data folder not found"):
        find_data_dir()


# --------------------------------------------------------------------------- without shared data


GCJ_BOX = shapely.box(107.20, 26.55, 107.235, 26.58)  # ~11.6 km² near Guiding, in GCJ-02 lon/lat


@functools.cache
def box_district(seed: int = 0) -> District:
    return sample_district(seed, boundary=GCJ_BOX, crs="GCJ-02")


def test_gcj02_box_is_converted_not_taken_as_wgs84():
    d = box_district()
    check_district(d, gcrs.to_crs(gpd.GeoDataFrame(geometry=[GCJ_BOX], crs=4326), d.crs, source="GCJ-02").geometry.iloc[0])
    assert d.crs.to_epsg() == 4545 and d.source_crs == "GCJ-02"
    back = d.to_source_crs(d.boundary).geometry.iloc[0]
    # GCJ-02 in, GCJ-02 out: vertices exactly; along 3.5 km straight edges GCJ-02's curvature is < 2 m
    assert shapely.hausdorff_distance(back, GCJ_BOX) < 2e-5
    as_wgs84 = gpd.GeoDataFrame(geometry=[GCJ_BOX], crs=4326).to_crs(d.crs).geometry.iloc[0]
    assert d.shape.centroid.distance(as_wgs84.centroid) > 100, "GCJ-02 is 100-700 m off WGS84"
    assert any("GCJ-02" in s for s in d.notes)


@pytest.mark.slow
def test_every_boundary_form_gives_the_same_district():
    d = box_district()
    frame = gpd.GeoDataFrame({"name": ["方区"]}, geometry=[GCJ_BOX], crs=4326)
    metric = District.from_frames(frame, crs="GCJ-02")
    for form in (metric, frame.geometry):
        other = sample_district(0, boundary=form, crs=None if isinstance(form, District) else "GCJ-02")
        for key in LAYERS:
            assert_geodataframe_equal(getattr(other, key), getattr(d, key), check_less_precise=False)
    assert sample_district(0, boundary=metric).name.startswith("方区")
    reused = sample_district(0, boundary=d)  # a district with streets: only its outline is used
    assert any("only the outline of the given district was used" in s for s in reused.notes)
    assert shapely.hausdorff_distance(reused.shape, d.shape) < 0.015


def test_different_seeds_differ_inside_one_boundary():
    a, b = box_district(0), box_district(1)
    assert shapely.hausdorff_distance(a.shape, b.shape) < 0.02
    assert not a.streets.geometry.equals(b.streets.geometry)


def test_options_and_errors():
    d = sample_district(2, boundary=GCJ_BOX, crs="GCJ-02", n_grids_existing=15, n_communities=15, population=150_000)
    assert len(d.grids) == 15 and len(d.communities) == 15
    assert d.population_total == 150_000 and any("population=150,000" in s for s in d.notes)
    with pytest.raises(CRSError, match="carries no CRS"):
        sample_district(0, boundary=GCJ_BOX)
    with pytest.raises(DataError, match="only apply with boundary"):
        sample_district(0, urban_km2=10)
    with pytest.raises(DataError, match="boundary must be"):
        sample_district(0, boundary="522723")
    with pytest.raises(DataError, match="outside the boundary"):
        sample_district(0, boundary=GCJ_BOX, crs="GCJ-02", centre=(107.5, 26.9))
    with pytest.raises(DataError, match="urban_km2"):
        sample_district(0, boundary=GCJ_BOX, crs="GCJ-02", urban_km2=-1)
    with pytest.raises(DataError, match="subdistricts must be"):
        sample_district(0, boundary=GCJ_BOX, crs="GCJ-02", subdistricts=[GCJ_BOX])


def messy_boundary() -> gpd.GeoDataFrame:
    """A 60 km² district in EPSG:4545 with a hole, three islands and a 25 m wide sliver."""
    x, y = 422_000.0, 2_940_000.0
    t = np.linspace(0, 2 * np.pi, 300, endpoint=False)
    r = 4300 * (1 + 0.2 * np.cos(3 * t + 0.4) + 0.05 * np.sin(9 * t))
    main = shapely.Polygon(np.c_[x + r * np.cos(t), y + r * np.sin(t)])
    main = main.difference(shapely.Point(x + 1800, y - 1200).buffer(500))  # an enclave
    sliver = shapely.box(x - 12, y + 3000, x + 13, y + 6200)  # a 25 m wide strip reaching out
    islands = [
        shapely.Point(x + 7200, y + 500).buffer(80),  # 0.02 km²: no room for streets
        shapely.Point(x - 6500, y - 2500).buffer(310),  # 0.3 km²
        shapely.box(x + 6000, y - 5200, x + 7400, y - 3800),
    ]  # 2 km²
    shape = shapely.union_all([main, sliver, *islands])
    return gpd.GeoDataFrame({"name": ["乱区"], "adcode": ["990188"]}, geometry=[shape], crs=4545)


@functools.cache
def messy_district() -> District:
    return sample_district(3, boundary=messy_boundary(), urban_km2=8.0)


def test_messy_boundary_is_kept_and_tiled():
    frame = messy_boundary()
    d = messy_district()
    shape = frame.geometry.iloc[0]
    check_district(d, shape, islands=True)
    assert d.shape.geom_type == "MultiPolygon" and len(shapely.get_parts(d.shape)) == 4
    assert sum(len(p.interiors) for p in shapely.get_parts(d.shape)) == 1
    hole = shapely.Polygon(max(shapely.get_parts(d.shape), key=lambda p: p.area).interiors[0])
    assert not d.streets.geometry.intersects(hole.buffer(-0.5)).any()
    assert not d.population.geometry.intersects(hole).any()
    tiny = shapely.get_parts(shape)[np.argmin(shapely.area(shapely.get_parts(shape)))]
    assert not d.streets.geometry.intersects(tiny).any(), "no street on a 0.02 km² islet"
    holder = d.communities[d.communities.geometry.intersects(tiny.buffer(-1.0))]
    assert len(holder) == 1 and holder.geometry.iloc[0].geom_type == "MultiPolygon", "the islet joins a community"
    assert any("joined to the community nearest" in s for s in d.notes)
    assert d.crs.to_epsg() == 4545 and d.source_crs == "EPSG:4545"
    assert any("rural land" in s for s in d.notes)


def test_messy_boundary_partitions_end_to_end():
    d = messy_district()
    with pytest.warns(GridplanWarning, match="not connected"):  # the islands are joined to their nearest unit
        plan = partition(d, 15, seed=0)
    m = plan.metrics()
    assert m["n_grids"] == 15 and m["contiguous"] and m["within_tolerance"]


def three_subdistricts() -> gpd.GeoDataFrame:
    """Three subdistricts of a 5 × 4 km box: 乙 overlaps 甲 by 10 m, a 30 m strip between 乙 and 丙."""
    x, y = 422_000.0, 2_940_000.0
    a = shapely.box(x, y, x + 2500, y + 4000)
    b = shapely.box(x + 2490, y, x + 5000, y + 2000)
    c = shapely.box(x + 2500, y + 2030, x + 5000, y + 4000)
    return gpd.GeoDataFrame({"name": ["甲街道", "乙街道", "丙街道"]}, geometry=[a, b, c], crs=4545)


def test_real_subdistricts_inside_a_boundary():
    subs = three_subdistricts()
    a, b, c = subs.geometry
    box = shapely.box(*shapely.union_all([a, b, c]).bounds)
    d = sample_district(1, boundary=gpd.GeoDataFrame(geometry=[box], crs=4545), subdistricts=subs)
    check_district(d, box)
    got = d.communities.dissolve("subdistrict")
    assert sorted(got.index) == ["丙街道", "乙街道", "甲街道"]
    # specks under 20 m² cut off by synthetic streets may cross a line; the notes say how much
    moved = sum(float(v) for s in d.notes for v in re.findall(r"\(([\d.]+) m² in all\)", s))
    assert got.geometry["甲街道"].symmetric_difference(a).area <= moved + 1.0, "an overlap goes to the one listed first"
    gap = shapely.box(c.bounds[0], b.bounds[3], c.bounds[2], c.bounds[1])  # the 30 m strip
    both = got.geometry["乙街道"].union(got.geometry["丙街道"])
    assert both.symmetric_difference(box.difference(a)).area <= moved + 1.0, "the gap goes to a neighbour along it"
    assert got.geometry["乙街道"].covers(gap.buffer(-1)) or got.geometry["丙街道"].covers(gap.buffer(-1))
    assert any("gaps (1 pieces)" in s for s in d.notes)


def test_real_subdistricts_without_boundary_use_their_union():
    subs = three_subdistricts()
    d = sample_district(2, subdistricts=subs)
    check_district(d, subs.geometry.union_all())
    assert d.communities["subdistrict"].nunique() == 3


@st.composite
def star_outlines(draw: st.DrawFn) -> shapely.Polygon:
    """Random simple, star-shaped outlines of 6-25 km² near Guiding (EPSG:4545)."""
    n = draw(st.integers(8, 40))
    radii = np.array(draw(st.lists(st.floats(0.45, 1.0), min_size=n, max_size=n)))
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.c_[np.cos(t) * radii, np.sin(t) * radii]
    poly = shapely.Polygon(ring)
    scale = math.sqrt(draw(st.floats(6e6, 25e6)) / poly.area)
    return shapely.affinity.translate(shapely.affinity.scale(poly, scale, scale, origin=(0, 0)), 422_000, 2_940_000)


@pytest.mark.slow
@settings(
    max_examples=3,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)  # no shrinking: each example takes a second
@given(outline=star_outlines(), seed=st.integers(0, 10_000), urban_km2=st.one_of(st.none(), st.floats(1.5, 6.0)))
def test_any_simple_outline_gives_a_valid_district(outline, seed, urban_km2):
    frame = gpd.GeoDataFrame(geometry=[outline], crs=4545)
    d = sample_district(seed, boundary=frame, urban_km2=urban_km2)  # None: urban throughout; else a town in fields
    check_district(d, outline)
    g = endpoint_graph(d.streets)
    if components_reported(d) > 1:  # a pocket no road reaches inside the outline: reported, and small
        length = [sum(e["length"] for *_, e in g.subgraph(c).edges(data=True)) for c in nx.connected_components(g)]
        assert max(length) >= 0.9 * sum(length)
    assert len(d.grids) == 12
