"""One point at a time: gridplan.crs's scalar path and GridIndex.locate_one equal the vectorised answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gridplan import crs as gcrs
from gridplan.errors import DataError
from gridplan.locate import GridIndex

INVERSE_TOL_DEG = 1e-10  # what the inverses promise (gridplan.crs._INVERSE_TOL_DEG): about 0.01 mm

lon_any = st.one_of(st.floats(-180, 180), st.floats(72, 138), st.sampled_from([105.0, 105.0000001, np.nan, np.inf]))
lat_any = st.one_of(st.floats(-90, 90), st.floats(0, 56), st.sampled_from([35.0, np.nan, -np.inf]))
CONVERSIONS = ["wgs84_to_gcj02", "gcj02_to_wgs84", "gcj02_to_bd09", "bd09_to_gcj02", "wgs84_to_bd09", "bd09_to_wgs84"]


def close_or_same_nonfinite(a: float, b: float, tol: float) -> bool:
    if not (math.isfinite(a) and math.isfinite(b)):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return abs(a - b) <= tol


@settings(max_examples=300, deadline=None)
@given(lon=lon_any, lat=lat_any, name=st.sampled_from(CONVERSIONS))
def test_scalar_conversions_equal_the_arrays(lon, lat, name):
    func = getattr(gcrs, name)
    one = func(lon, lat)
    assert type(one[0]) is float and type(one[1]) is float
    many = func(np.array([lon, lon]), np.array([lat, lat]))
    for k in (0, 1):
        assert close_or_same_nonfinite(one[k], float(many[k][0]), INVERSE_TOL_DEG), (one, many)


@settings(max_examples=200, deadline=None)
@given(lon=st.floats(73.7, 134.5), lat=st.floats(18.5, 53.4))
def test_inverses_round_trip(lon, lat):
    for forward, inverse in ((gcrs.wgs84_to_gcj02, gcrs.gcj02_to_wgs84), (gcrs.wgs84_to_bd09, gcrs.bd09_to_wgs84)):
        back = inverse(*forward(lon, lat))
        assert abs(back[0] - lon) <= INVERSE_TOL_DEG and abs(back[1] - lat) <= INVERSE_TOL_DEG


def test_inverse_is_exact_near_105e_where_newton_is_not_used():
    lon = np.array([105.0, 105.0 + 1e-9, 104.9995, 105.0009, 105.0011])
    lat = np.full(5, 30.0)
    back = gcrs.gcj02_to_wgs84(*gcrs.wgs84_to_gcj02(lon, lat))
    assert np.abs(back[0] - lon).max() <= INVERSE_TOL_DEG and np.abs(back[1] - lat).max() <= INVERSE_TOL_DEG
    for a, b in zip(lon.tolist(), lat.tolist()):
        one = gcrs.gcj02_to_wgs84(*gcrs.wgs84_to_gcj02(a, b))
        assert abs(one[0] - a) <= INVERSE_TOL_DEG and abs(one[1] - b) <= INVERSE_TOL_DEG


def test_point_transformer_is_built_once_and_equals_transform():
    f = gcrs.point_transformer("GCJ-02", "EPSG:4548")
    assert gcrs.point_transformer("gcj02", "EPSG:4548") is f
    rng = np.random.default_rng(0)
    lon, lat = rng.uniform(116.2, 116.6, 200), rng.uniform(39.7, 40.1, 200)
    for source, target in (
        ("GCJ-02", "EPSG:4548"),
        ("EPSG:4326", "EPSG:4548"),
        ("BD-09", "EPSG:4490"),
        ("EPSG:4548", "GCJ-02"),
        ("GCJ-02", "BD-09"),
        ("EPSG:4326", "EPSG:4326"),
    ):
        x, y = (lon, lat) if source != "EPSG:4548" else gcrs.transform(lon, lat, source="EPSG:4326", target=source)
        vx, vy = gcrs.transform(x, y, source=source, target=target)
        point = gcrs.point_transformer(source, target)
        got = np.array([point(a, b) for a, b in zip(x.tolist(), y.tolist())])
        tol = 1e-6 if target == "EPSG:4548" else 1e-10  # metres, else degrees
        np.testing.assert_allclose(got[:, 0], vx, rtol=0, atol=tol)
        np.testing.assert_allclose(got[:, 1], vy, rtol=0, atol=tol)
        assert gcrs.transform(float(x[0]), float(y[0]), source=source, target=target) == point(float(x[0]), float(y[0]))


# ----------------------------------------------------------------------------- locate_one
@pytest.fixture(scope="module")
def index(sample_plan_15):
    return GridIndex(sample_plan_15)


def probes(index: GridIndex, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Points in the index CRS: uniform over the grids (and around them) and within centimetres of grid lines."""
    xmin, ymin, xmax, ymax = index.grids.total_bounds
    pad = 0.05 * (xmax - xmin)
    uni = rng.uniform((xmin - pad, ymin - pad), (xmax + pad, ymax + pad), (n, 2))
    verts = shapely.get_coordinates(index.grids.geometry.values)
    near = verts[rng.choice(len(verts), n)] + rng.normal(0, 0.02, (n, 2))
    pts = np.vstack([uni, near])
    return pts[:, 0], pts[:, 1]


@pytest.mark.slow
@pytest.mark.parametrize("crs", ["EPSG:4326", "GCJ-02", "BD-09", 4490])
def test_locate_one_equals_locate_on_many_points(index, crs):
    x, y = probes(index, np.random.default_rng(3), 3000)
    px, py = gcrs.transform(x, y, source=index.crs, target=crs)
    vector = index.codes_at(px, py, crs=crs)
    one = np.array([index.locate_one(a, b, crs=crs) for a, b in zip(px.tolist(), py.tolist())], dtype=object)
    assert (one == vector).all()
    assert 0 < np.mean([v is None for v in vector]) < 0.5


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    u=st.floats(-0.05, 1.05),
    v=st.floats(-0.05, 1.05),
    crs=st.sampled_from(["EPSG:4326", "GCJ-02", "BD-09"]),
    vertex=st.integers(0, 10**6),
    jitter=st.floats(-0.5, 0.5),
)
def test_locate_one_equals_locate_hypothesis(index, u, v, crs, vertex, jitter):
    xmin, ymin, xmax, ymax = index.grids.total_bounds
    verts = shapely.get_coordinates(index.grids.geometry.values)
    vx, vy = verts[vertex % len(verts)]
    for x, y in ((xmin + u * (xmax - xmin), ymin + v * (ymax - ymin)), (vx + jitter, vy - jitter / 3)):
        px, py = gcrs.transform(x, y, source=index.crs, target=crs)
        assert index.locate_one(px, py, crs=crs) == index.codes_at([px], [py], crs=crs)[0]


@pytest.mark.slow
@pytest.mark.parametrize("crs", ["EPSG:4326", "GCJ-02", "BD-09"])
def test_locate_one_equals_locate_on_every_grid_vertex(index, crs):
    """Points exactly on grid lines: the unsure ones must get locate's own answer (BD-09 vertices flipped)."""
    verts = shapely.get_coordinates(index.grids.geometry.values)
    pts = [gcrs.transform(x, y, source=index.crs, target=crs) for x, y in verts.tolist()]
    px, py = np.array(pts).T
    one = np.array([index.locate_one(a, b, crs=crs) for a, b in zip(px.tolist(), py.tolist())], dtype=object)
    assert (one == index.codes_at(px, py, crs=crs)).all()


def test_the_interpolation_bound_holds(index):
    rng = np.random.default_rng(5)
    x, y = probes(index, rng, 2000)
    for crs in ("EPSG:4326", "GCJ-02", "BD-09"):
        index.locate_one(0.0, 0.0, crs=crs)
        path = index._paths[crs]
        assert 0 < path.error_bound < 0.05  # metres: a small fraction of a raster cell
        px, py = gcrs.transform(x, y, source=index.crs, target=crs)
        worst = 0.0
        for a, b, ex, ey in zip(px.tolist(), py.tolist(), x.tolist(), y.tolist()):
            p = path.interpolate(a, b)
            if p is not None:
                worst = max(worst, abs(p[0] - ex), abs(p[1] - ey))
        assert 0 < worst <= path.error_bound


@pytest.mark.parametrize("crs", [None, "EPSG:4326", "GCJ-02", "BD-09", 4490])
def test_locate_one_bad_coordinates_give_none(index, crs):
    for x, y in (
        (np.nan, 30.0),
        (107.0, np.nan),
        (np.inf, 26.0),
        (-np.inf, -np.inf),
        (181.0, 26.0),
        (107.0, 91.0),
        (1e300, 1e300),
    ):
        assert index.locate_one(x, y, crs=crs) is None
    with pytest.raises(DataError, match="two numbers"):
        index.locate_one("east", 26.0, crs=crs)
