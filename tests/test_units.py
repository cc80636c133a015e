"""Tests for gridplan.units: blocks, communities, cells, weights, adjacency, islands."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import connected_components

from gridplan._precision import PRECISION, QUANTUM
from gridplan.district import District
from gridplan.errors import CRSError, DataError, GeometryError, GridplanWarning
from gridplan.units import build_units

from .conftest import metric_layers


@pytest.fixture(scope="module")
def square():
    return District.from_frames(**metric_layers())


def test_blocks_of_a_street_grid(square):
    units = build_units(square)
    f = units.frame
    assert units.kind == "blocks" and len(f) == 64
    assert np.allclose(f["area_m2"], 500 * 500)
    assert f["area_m2"].sum() == pytest.approx(square.area_km2 * 1e6)
    # every block is bounded by 4 street edges of 500 m; shared edges count half, the district edge whole
    corner_point = shapely.Point(square.shape.bounds[:2])
    corner = f.geometry.touches(corner_point) | f.geometry.intersects(corner_point)
    assert f["street_m"].sum() == pytest.approx(square.streets.length.sum())
    assert f.loc[corner, "street_m"].iloc[0] == pytest.approx(2 * 500 + 2 * 250)
    assert f["street_m"].max() == pytest.approx(2 * 500 + 2 * 250)
    assert f["street_m"].min() == pytest.approx(4 * 250)
    # rook adjacency: 2 * 8 * 7 = 112 shared edges of 500 m; corners do not count
    adj = units.adjacency
    assert adj.nnz == 2 * 112 and np.allclose(adj.data, 500)
    assert (adj != adj.T).nnz == 0
    # population conserved, weight = population by default
    assert f["population"].sum() == pytest.approx(square.population_total)
    assert units.weight_by == "population" and np.array_equal(f["weight"], f["population"])
    # community of each block
    assert set(f["community"]) == {"990199001001", "990199001002"}
    assert (f["community"] == "990199001001").sum() == 32


def test_units_are_ordered_and_deterministic(square):
    a, b = build_units(square), build_units(square)
    assert_geodataframe_equal(a.frame, b.frame)
    pts = a.frame.geometry.representative_point()
    assert pts.y.iloc[0] >= pts.y.iloc[-1]  # north first


def test_slivers_are_merged():
    layers = metric_layers()
    x0, y0 = layers["boundary"].total_bounds[:2]
    extra = gpd.GeoDataFrame(
        {"name": ["x"], "kind": ["lane"]}, geometry=[shapely.LineString([(x0 + 1.0, y0), (x0 + 1.0, y0 + 500)])], crs=4545
    )
    layers["streets"] = gpd.pd.concat([layers["streets"], extra], ignore_index=True)
    d = District.from_frames(**layers)
    units = build_units(d)
    assert len(units) == 64
    assert any("merged 1 slivers" in n for n in units.notes)
    assert units.frame["area_m2"].sum() == pytest.approx(d.shape.area)


def test_community_and_cell_units(square):
    comm = build_units(square, "communities")
    assert len(comm) == 2 and comm.adjacency.nnz == 2 and comm.adjacency.data[0] == pytest.approx(4000)
    cells = build_units(square, "cells", cell_size=1000)
    assert len(cells) == 16 and np.allclose(cells.frame["area_m2"], 1e6)
    hexes = build_units(square, "cells", cell_size=600, cell_shape="hex")
    assert hexes.frame["area_m2"].sum() == pytest.approx(square.shape.area)
    deg = np.diff(hexes.adjacency.indptr)
    assert deg.max() == 6


def test_weights(square):
    u = build_units(square, weight="street_length")
    assert u.weight_by == "street_length" and np.allclose(u.frame["weight"], u.frame["street_m"])
    mix = build_units(square, weight={"population": 0.5, "area": 0.5})
    f = mix.frame
    expected = 0.5 * f["population"] / f["population"].sum() * 64 + 0.5 * f["area_m2"] / f["area_m2"].sum() * 64
    assert np.allclose(f["weight"], expected)
    with pytest.raises(DataError, match="not a unit attribute"):
        build_units(square, weight="crime")
    with pytest.raises(DataError, match="no factors"):
        build_units(square, weight={})
    no_people = District.from_frames(**{k: v for k, v in metric_layers().items() if k != "population"})
    assert build_units(no_people).weight_by == "street_length"
    with pytest.raises(DataError, match="unit kind"):
        build_units(square, "hexagons")
    with pytest.raises(DataError, match="positive number"):
        build_units(square, "cells", cell_size=-5)


def test_bad_weight_columns(square):
    units = build_units(square)
    frame = units.frame.copy()
    from gridplan.units import _weights

    for bad in (np.nan, -3.0):
        f = frame.copy()
        f["load"] = 1.0
        f.loc[5, "load"] = bad
        with pytest.raises(DataError, match=r"NaN, infinite or negative values \(units \[5\]\)"):
            _weights(f, "load", True)
    f = frame.copy()
    f["load"] = 0.0
    with pytest.raises(DataError, match="zero everywhere"):
        _weights(f, "load", True)
    with pytest.raises(DataError, match="zero everywhere"):
        _weights(f, {"load": 1.0}, True)


def test_incidents_weight(square):
    pts = square.population.iloc[:40][["geometry"]].copy()
    u = build_units(square, weight="incidents", incidents=pts)
    assert u.frame["incidents"].sum() == 40 and np.array_equal(u.frame["weight"], u.frame["incidents"])


def test_islands_are_joined_with_a_warning():
    layers = metric_layers(n_streets=3, size=1000)
    x0, y0 = layers["boundary"].total_bounds[:2]
    island = shapely.box(x0 + 1500, y0, x0 + 1800, y0 + 300)
    both = shapely.MultiPolygon([layers["boundary"].geometry.iloc[0], island])
    layers["boundary"] = gpd.GeoDataFrame({"name": ["岛区"]}, geometry=[both], crs=4545)
    d = District.from_frames(layers["boundary"], streets=layers["streets"], population=layers["population"])
    with pytest.warns(GridplanWarning, match="not connected"):
        units = build_units(d)
    assert len(units) == 5 and len(units.islands) == 1
    assert connected_components(units.adjacency, directed=False)[0] == 1


def test_tiny_island_contact_never_exceeds_its_outline():
    """A sub-metre sliver with no rook neighbour (real data has them) is joined with a contact
    shorter than its own perimeter, so grid perimeters stay consistent."""
    from gridplan.units import _join_islands

    big = shapely.box(0, 0, 100, 100)
    tiny = shapely.box(100.2, 50, 100.3, 50.1)  # 0.1 m square, 0.2 m away: perimeter 0.4 m
    geoms = np.array([big, tiny])
    from scipy import sparse

    adj, islands = _join_islands(geoms, sparse.csr_matrix((2, 2)))
    assert islands == [[1]]
    assert 0 < adj[0, 1] <= 0.25 * tiny.length
    assert np.asarray(adj.sum(axis=1)).ravel()[1] <= tiny.length


@settings(max_examples=15, deadline=None)
@given(st.integers(3, 12), st.floats(300, 3000), st.integers(0, 10_000), st.sampled_from(["square", "hex"]))
@example(n=11, radius=300.0, seed=9999, shape="square")  # a sharp corner clips a 7e-4 m² speck off a cell
def test_cells_tile_any_polygon(n, radius, seed, shape):
    rng = np.random.default_rng(seed)
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    r = radius * rng.uniform(0.5, 1.0, n)
    poly = shapely.Polygon(np.column_stack([422000 + r * np.cos(ang), 2937000 + r * np.sin(ang)]))
    if not poly.is_valid or poly.area < 1e4:
        return
    d = District.from_frames(gpd.GeoDataFrame(geometry=[poly], crs=4545))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GridplanWarning)
        units = build_units(d, "cells", cell_size=radius / 4, cell_shape=shape)
    # cells clipped to a sharp corner can touch the rest at a point only: joined, and said so
    assert bool(units.islands) == any(issubclass(w.category, GridplanWarning) for w in caught)
    assert connected_components(units.adjacency, directed=False)[0] == 1
    f = units.frame
    # every bit of the district in exactly one unit
    # (the district as gridplan holds it: on the 1 cm precision grid; areas to 0.01 m²)
    assert f["area_m2"].sum() == pytest.approx(d.shape.area, abs=QUANTUM["area_m2"] * len(f))
    assert shapely.union_all(f.geometry.values).symmetric_difference(d.shape).area < 1e-6 * poly.area
    assert (f["weight"] > 0).all()


# ---------------------------------------------------------------------- units from given polygons (compounds)
def _compounds(square):
    x0, y0, _, _ = square.shape.bounds
    box = shapely.box
    geoms = [
        box(x0 + 550, y0 + 550, x0 + 950, y0 + 950),  # inside one street block
        box(x0 + 1300, y0 + 1300, x0 + 1700, y0 + 1700),  # straddles the street at +1500
        box(x0 + 1600, y0 + 1600, x0 + 1800, y0 + 1800),  # overlaps the one before
        box(x0 - 3000, y0 - 3000, x0 - 2000, y0 - 2000),  # outside the district
        shapely.Polygon(
            [(x0 + 2600, y0 + 2600), (x0 + 2900, y0 + 2900), (x0 + 2900, y0 + 2600), (x0 + 2600, y0 + 2900)]
        ),  # bow-tie: invalid
    ]
    f = gpd.GeoDataFrame(
        {"name": ["甲小区", "乙小区", "丙小区", "外", "丁小区"], "households": [120, 300, 80, 5, 40]},
        geometry=geoms,
        crs=square.crs,
        index=pd.Index(["c1", "c2", "c3", "c4", "c5"]),
    )
    return f.to_crs("EPSG:4326")  # any CRS: gridplan converts


def test_units_from_given_polygons(square):
    comp = _compounds(square)
    units = build_units(square, comp)
    f = units.frame
    assert units.kind == "polygons"
    # the units tile the district: nothing lost, nothing twice
    assert f["area_m2"].sum() == pytest.approx(square.shape.area, rel=1e-9)
    assert shapely.union_all(f.geometry.values).area == pytest.approx(square.shape.area, rel=1e-9)
    assert f["population"].sum() == pytest.approx(square.population_total)
    given = f[f["polygon"] != ""].set_index("polygon")
    assert sorted(given.index) == ["c1", "c2", "c3", "c5"]  # c4 lies outside
    assert given.loc["c1", "area_m2"] == pytest.approx(400 * 400, rel=1e-6)
    assert given.loc["c2", "area_m2"] == pytest.approx(400 * 400, rel=1e-6)  # whole, across the street
    assert given.loc["c3", "area_m2"] == pytest.approx(200 * 200 - 100 * 100, rel=1e-6)  # the overlap went to c2
    assert given.loc["c2", "name"] == "乙小区" and given.loc["c1", "households"] == 120
    assert f.loc[f["polygon"] == "", "name"].isna().all()
    notes = " ".join(units.notes)
    assert "overlap" in notes and "outside the district" in notes and "repaired 1 invalid" in notes
    # the rest are street blocks, still connected to the compounds
    assert connected_components(units.adjacency, directed=False)[0] == 1
    assert (f["polygon"] == "").sum() >= 64


def test_given_polygons_bad_input(square):
    comp = _compounds(square)
    with pytest.raises(CRSError, match="no CRS"):
        build_units(square, comp.set_crs(None, allow_override=True))
    with pytest.raises(GeometryError, match="Polygons"):
        build_units(square, gpd.GeoDataFrame(geometry=[shapely.Point(0, 0)], crs=square.crs))
    with pytest.raises(GeometryError, match="inside the district"):
        build_units(square, comp.iloc[[3]])
    with pytest.raises(GeometryError, match="empty"):
        build_units(square, comp.iloc[[]])


@settings(max_examples=12, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 3600), st.floats(0, 3600), st.floats(20, 900), st.floats(20, 900)), min_size=1, max_size=6)
)
def test_given_polygons_tile_the_district(square, rects):
    x0, y0, _, _ = square.shape.bounds
    geoms = [shapely.box(x0 + x, y0 + y, x0 + x + w, y0 + y + h) for x, y, w, h in rects]
    comp = gpd.GeoDataFrame(geometry=geoms, crs=square.crs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GridplanWarning)
        units = build_units(square, comp)
    f = units.frame
    assert f["area_m2"].sum() == pytest.approx(square.shape.area, rel=1e-7)
    assert shapely.union_all(f.geometry.values).area == pytest.approx(square.shape.area, rel=1e-7)
    # each given polygon is at most one unit: its part not claimed by an earlier polygon, plus at most
    # street-space slivers (< min_area) merged into it
    given = f[f["polygon"] != ""]
    assert given["polygon"].is_unique
    for _, row in given.iterrows():
        i = int(row["polygon"])
        own = shapely.difference(shapely.intersection(geoms[i], square.shape), shapely.union_all(geoms[:i]))
        # (up to the precision grid: unit outlines lie on it, the given polygons need not)
        assert shapely.difference(own, row.geometry).area < 1e-3 + own.length * PRECISION / 2
        extra = shapely.get_parts(shapely.difference(row.geometry, own))
        extra = extra[shapely.area(extra) > 0]
        area, pp = shapely.area(extra), 4 * np.pi * shapely.area(extra) / shapely.length(extra) ** 2
        mn, thin = units.params["min_area"], units.params["min_thinness"]
        assert ((area < mn) | ((pp < thin) & (area < 25 * mn))).all()  # the block rules' slivers
    assert connected_components(units.adjacency, directed=False)[0] == 1


# --- contacts measured within the snapping distance -------------------------------------------------------------
def _contacts(*boxes):
    from gridplan.units import _shared_lengths

    left, right, length = _shared_lengths(np.array([shapely.box(*b) for b in boxes]))
    return {(int(i), int(j)): float(v) for i, j, v in zip(left, right, length)}


def test_units_across_a_thin_unit_are_not_neighbours():
    """Two units 0.3 m apart (within the 0.5 m snapping distance) with a thin unit between them, sharing its
    outline exactly with both: they do not touch. A synthetic 6 km city district split into cells for 138
    grids had such a pair, and its shared lengths overshot the units' perimeters (DataError from partition)."""
    contacts = _contacts((0, 0, 10, 10), (10, 0, 10.3, 10), (10.3, 0, 20, 10))
    assert contacts == {(0, 1): pytest.approx(10.0), (1, 2): pytest.approx(10.0)}


def test_digitised_neighbours_a_hair_apart_still_touch():
    """Real community layers are not noded: a 0.2 m gap along a 10 m side is still a contact (less the ends)."""
    contacts = _contacts((0, 0, 10, 10), (10.2, 0, 20, 10))
    assert list(contacts) == [(0, 1)] and 8.5 < contacts[(0, 1)] <= 10.0


@pytest.mark.slow
def test_split_units_shared_lengths_never_exceed_perimeters():
    """Every cell of a heavy-unit split: its shared lengths sum to at most its perimeter (the partition kernel's check)."""
    import gridplan
    from gridplan.units import split_heavy_units

    district = gridplan.sample_district(seed=0)
    units = build_units(district)
    split, _ = split_heavy_units(units, district, n_grids=120, tolerance=0.03, share=0.25)
    shared = np.asarray(split.adjacency.sum(axis=1)).ravel()
    assert len(split) > 2 * len(units)
    assert (shared <= 1.01 * split.frame["perimeter_m"].to_numpy()).all()  # a corner contact of an island: a few cm
