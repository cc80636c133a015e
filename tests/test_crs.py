"""Tests for gridplan.crs: GCJ-02/BD-09 conversions, CRS parsing, metric CRS choice."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from gridplan import crs as gcrs
from gridplan.errors import CRSError, GeometryError

from .conftest import SHARED_DATA, needs_shared

GEOD = pyproj.Geod(ellps="WGS84")

china_lon = st.floats(73.6, 134.7, allow_nan=False)
china_lat = st.floats(18.2, 53.5, allow_nan=False)
world_lon = st.floats(-180, 180, allow_nan=False)
world_lat = st.floats(-85, 85, allow_nan=False)


def metres(lon1, lat1, lon2, lat2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


# Published reference pair (widely used test vector for the GCJ-02 algorithm).
def test_known_offset_beijing():
    lon, lat = gcrs.wgs84_to_gcj02(116.397128, 39.916527)
    # GCJ-02 offset in Beijing is roughly +0.00624 lon, +0.00140 lat (~ 550 m)
    assert lon - 116.397128 == pytest.approx(0.00624, abs=2e-4)
    assert lat - 39.916527 == pytest.approx(0.00140, abs=2e-4)
    assert 300 < metres(116.397128, 39.916527, lon, lat) < 700


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_gcj02_round_trip_within_half_metre(lon, lat):
    g = gcrs.wgs84_to_gcj02(lon, lat)
    back = gcrs.gcj02_to_wgs84(*g)
    assert metres(lon, lat, *back) < 0.5


@settings(max_examples=300, deadline=None)
@given(china_lon, china_lat)
def test_bd09_round_trips(lon, lat):
    b = gcrs.wgs84_to_bd09(lon, lat)
    assert metres(lon, lat, *gcrs.bd09_to_wgs84(*b)) < 0.5
    g = gcrs.wgs84_to_gcj02(lon, lat)
    assert metres(*g, *gcrs.bd09_to_gcj02(*gcrs.gcj02_to_bd09(*g))) < 0.5


@settings(max_examples=200, deadline=None)
@given(world_lon, world_lat)
def test_outside_china_gcj02_is_wgs84(lon, lat):
    if gcrs.in_china(lon, lat):
        return
    assert gcrs.wgs84_to_gcj02(lon, lat) == (lon, lat)
    assert gcrs.gcj02_to_wgs84(lon, lat) == pytest.approx((lon, lat), abs=1e-12)


def test_one_step_inverse_is_not_good_enough():
    # The reason for iterating: the naive inverse (subtract the forward offset at the
    # GCJ point) misses by metres in places; ours must be sub-millimetre.
    lon, lat = 114.0, 22.5
    g = np.array(gcrs.wgs84_to_gcj02(lon, lat))
    naive = g - (np.array(gcrs.wgs84_to_gcj02(*g)) - g)
    ours = gcrs.gcj02_to_wgs84(*g)
    assert metres(lon, lat, *naive) > 0.01
    assert metres(lon, lat, *ours) < 1e-3


def test_vectorised_shapes_and_scalars():
    lon = np.array([[116.0, 117.0], [2.0, 120.0]])
    lat = np.array([[39.0, 40.0], [48.0, 30.0]])
    x, y = gcrs.wgs84_to_gcj02(lon, lat)
    assert x.shape == (2, 2) and y.shape == (2, 2)
    assert x[1, 0] == 2.0 and y[1, 0] == 48.0
    sx, sy = gcrs.wgs84_to_gcj02(116.0, 39.0)
    assert isinstance(sx, float) and (sx, sy) == (x[0, 0], y[0, 0])
    for f in (gcrs.gcj02_to_wgs84, gcrs.bd09_to_gcj02, gcrs.gcj02_to_bd09, gcrs.bd09_to_wgs84, gcrs.wgs84_to_bd09):
        out = f(lon, lat)
        assert out[0].shape == (2, 2)


def test_nan_propagates_and_mismatched_lengths_raise():
    x, y = gcrs.gcj02_to_wgs84(np.array([116.0, np.nan]), np.array([39.0, 40.0]))
    assert np.isfinite(x[0]) and np.isnan(x[1])
    with pytest.raises(GeometryError, match="different shapes"):
        gcrs.wgs84_to_gcj02(np.zeros(3), np.zeros(2))
    with pytest.raises(GeometryError, match="numeric"):
        gcrs.wgs84_to_gcj02(["a"], ["b"])


def test_parse_and_to_wgs84():
    assert gcrs.parse_crs("GCJ02") == gcrs.GCJ02
    assert gcrs.parse_crs("bd-09") == gcrs.BD09
    assert gcrs.parse_crs(4490).to_epsg() == 4490
    with pytest.raises(CRSError, match="unknown CRS"):
        gcrs.parse_crs("EPSG:99999999")
    with pytest.raises(CRSError, match="no CRS given"):
        gcrs.parse_crs(None)
    # CGCS2000 lon/lat is within centimetres of WGS84
    lon, lat = gcrs.to_wgs84(108.5, 26.5, "EPSG:4490")
    assert metres(lon, lat, 108.5, 26.5) < 0.1
    g = gcrs.wgs84_to_gcj02(108.5, 26.5)
    assert metres(*gcrs.to_wgs84(*g, "GCJ-02"), 108.5, 26.5) < 1e-3
    b = gcrs.from_wgs84(108.5, 26.5, "BD-09")
    assert metres(*gcrs.to_wgs84(*b, "BD-09"), 108.5, 26.5) < 1e-3
    x, y = gcrs.transform(108.5, 26.5, source="EPSG:4326", target="EPSG:4545")
    assert metres(*gcrs.transform(x, y, source="EPSG:4545", target="GCJ-02"), *g) < 1e-3


@pytest.mark.parametrize(
    "bounds, epsg",
    [
        ((107.0, 26.3, 107.4, 26.8), 4545),  # Guiding, CM 108E
        ((116.3, 39.8, 116.5, 40.0), 4548),  # Beijing, CM 117E
        ((75.9, 39.4, 76.1, 39.6), 4534),  # Kashgar, CM 75E (clamped series start)
        ((126.5, 45.6, 126.8, 45.9), 4551),  # Harbin, CM 126E
        ((-74.1, 40.6, -73.8, 40.9), 32618),  # New York, UTM 18N
        ((151.1, -33.95, 151.3, -33.8), 32756),  # Sydney, UTM 56S
    ],
)
def test_metric_crs_choice(bounds, epsg, caplog):
    with caplog.at_level("INFO", logger="gridplan"):
        crs = gcrs.metric_crs(bounds)
    assert crs.to_epsg() == epsg
    assert not crs.is_geographic
    assert crs.axis_info[0].unit_name == "metre"
    assert f"EPSG:{epsg}" in caplog.text


def test_metric_crs_accepts_geometry_and_frames():
    geom = shapely.box(113.2, 23.0, 113.4, 23.2)  # Guangzhou, CM 114E
    assert gcrs.metric_crs(geom).to_epsg() == 4547
    gdf = gpd.GeoDataFrame(geometry=[geom], crs=4326)
    assert gcrs.metric_crs(gdf).to_epsg() == 4547
    assert gcrs.metric_crs(gdf.to_crs(3857)).to_epsg() == 4547
    with pytest.raises(CRSError, match="no CRS"):
        gcrs.metric_crs(gpd.GeoDataFrame(geometry=[geom]))
    with pytest.raises(CRSError, match="not lon/lat"):
        gcrs.metric_crs((500000, 3000000, 510000, 3010000))
    with pytest.raises(GeometryError, match="empty"):
        gcrs.metric_crs(shapely.Polygon())
    with pytest.raises(GeometryError):
        gcrs.metric_crs("nonsense")


def test_to_crs_frames_gcj02():
    pts = gpd.GeoDataFrame({"a": [1, 2]}, geometry=shapely.points([116.39, 121.47], [39.9, 31.23]), crs=4326, index=[5, 9])
    g = gcrs.to_crs(pts, "GCJ-02")
    assert list(g.index) == [5, 9] and list(g["a"]) == [1, 2]
    assert g.crs.to_epsg() == 4326
    back = gcrs.to_crs(g, 4326, source="GCJ-02")
    assert np.allclose(shapely.get_coordinates(back.geometry), shapely.get_coordinates(pts.geometry), atol=1e-9)
    metric = gcrs.to_crs(g, 4548, source="GCJ-02")
    assert metric.crs.to_epsg() == 4548
    with pytest.raises(CRSError, match="projected"):
        gcrs.to_crs(pts.to_crs(4548), 4326, source="GCJ-02")


@needs_shared
def test_real_xicheng_boundary_is_gcj02():
    """The cnmaps Xicheng boundary matches the WGS84 subdistricts only after GCJ-02 → WGS84."""
    boundary = gpd.read_file(SHARED_DATA / "xicheng_boundary_gcj02.gpkg")
    subs = gpd.read_file(SHARED_DATA / "xicheng_subdistricts.gpkg")
    target = gcrs.metric_crs(subs)
    union = subs.to_crs(target).union_all()

    def iou(a, b):
        return a.intersection(b).area / a.union(b).area

    raw = boundary.to_crs(target).union_all()
    fixed = gcrs.to_crs(boundary, target, source="GCJ-02").union_all()
    assert iou(raw, union) < 0.85
    assert iou(fixed, union) > 0.98
    # every vertex moved by the GCJ-02 offset, 540-560 m in Beijing
    a = shapely.get_coordinates(boundary.geometry)
    b = np.column_stack(gcrs.gcj02_to_wgs84(a[:, 0], a[:, 1]))
    d = GEOD.inv(a[:, 0], a[:, 1], b[:, 0], b[:, 1])[2]
    assert 530 < d.min() and d.max() < 570
