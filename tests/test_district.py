"""Tests for gridplan.district: CRS handling, validation, persistence, display."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from geopandas.testing import assert_geodataframe_equal

from gridplan import crs as gcrs
from gridplan._precision import PRECISION
from gridplan.district import LAYERS, District
from gridplan.errors import CRSError, DataError, GeometryError, GridplanWarning, LayerNotFoundError

from .conftest import SHARED_DATA, metric_layers, needs_shared

LON0, LAT0 = 107.20, 26.55


def lonlat_box(dx=0.06, dy=0.05, **cols):
    return gpd.GeoDataFrame(cols or {"name": ["测试区"]}, geometry=[shapely.box(LON0, LAT0, LON0 + dx, LAT0 + dy)], crs=4326)


def test_metric_data_stay_in_their_crs_and_round_trip(tmp_path):
    layers = metric_layers()
    d = District.from_frames(**layers)
    assert d.crs.to_epsg() == 4545
    assert d.name == "方块区" and d.code == "990199"
    assert d.area_km2 == pytest.approx(16.0)
    assert d.population_total == layers["population"]["population"].sum()
    s = d.summary()
    assert s["communities"] == 2 and s["subdistricts"] == 1 and s["existing_grids"] == 2
    assert s["street_km"] == pytest.approx(18 * 4.0)
    path = d.to_file(tmp_path / "d.gpkg")
    back = District.read_file(path)
    for layer in LAYERS:
        assert_geodataframe_equal(getattr(back, layer), getattr(d, layer), check_crs=True)
    assert back.notes == d.notes and back.source_crs == d.source_crs and back.name == d.name
    assert back.crs == d.crs


def test_round_trip_keeps_index_and_dtypes(tmp_path):
    layers = metric_layers()
    pop = layers["population"]
    pop.index = pd.Index(np.arange(1000, 1500), name="addr_id")
    pop["population"] = pop["population"].astype("int32")
    pop["kind"] = pd.Categorical(np.where(pop["population"] > 20, "tower", "house"))
    d = District.from_frames(**layers)
    back = District.read_file(d.to_file(tmp_path / "x.gpkg"))
    assert_geodataframe_equal(back.population, d.population)
    assert back.population.index.name == "addr_id"
    assert back.population["population"].dtype == np.int32
    assert isinstance(back.population["kind"].dtype, pd.CategoricalDtype)


def test_lonlat_is_projected_to_gauss_kruger_and_says_so():
    d = District.from_frames(lonlat_box())
    assert d.crs.to_epsg() == 4545
    assert any("EPSG:4545" in n and "Gauss-Krüger" in n for n in d.notes)
    assert d.source_crs == "EPSG:4326"
    back = d.to_source_crs(d.boundary)
    assert np.allclose(back.total_bounds, [LON0, LAT0, LON0 + 0.06, LAT0 + 0.05], atol=1e-8)


def test_gcj02_input_is_converted_not_treated_as_wgs84():
    gcj = lonlat_box()
    as_wgs = District.from_frames(gcj)
    as_gcj = District.from_frames(gcj, crs="GCJ-02")
    shift = as_wgs.shape.centroid.distance(as_gcj.shape.centroid)
    assert 200 < shift < 800  # the GCJ-02 offset in Guizhou
    # the converted district sits where the WGS84 truth is
    raw = shapely.get_coordinates(gcj.geometry)
    wlon, wlat = gcrs.gcj02_to_wgs84(raw[:, 0], raw[:, 1])
    truth = np.column_stack(gcrs.transform(wlon, wlat, source=4326, target=as_gcj.crs))
    # to the precision grid: every coordinate is rounded to 1 cm (at most half of it off)
    assert np.abs(shapely.get_coordinates(as_gcj.boundary.geometry) - truth).max() <= PRECISION / 2 + 1e-9
    assert as_gcj.source_crs == "GCJ-02"
    back = as_gcj.to_source_crs(as_gcj.boundary)
    assert np.allclose(back.total_bounds, gcj.total_bounds, atol=1e-8)
    bd = District.from_frames(gcj, crs="BD-09")
    assert bd.source_crs == "BD-09" and bd.shape.centroid.distance(as_gcj.shape.centroid) > 500


def test_layers_in_different_crs_are_reprojected():
    layers = metric_layers()
    layers["streets"] = layers["streets"].to_crs(4326)
    layers["population"] = layers["population"].to_crs(3857)
    d = District.from_frames(**layers)
    assert d.streets.crs == d.crs and d.population.crs == d.crs
    assert d.streets.length.sum() == pytest.approx(72000, rel=1e-6)
    assert any("streets: reprojected" in n for n in d.notes)


def test_missing_crs_is_refused_with_the_fix():
    b = lonlat_box().set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match=r"no CRS.*set_crs"):
        District.from_frames(b)
    d = District.from_frames(b, crs="EPSG:4490")  # CGCS2000 lon/lat
    assert d.crs.to_epsg() == 4545
    layers = metric_layers()
    layers["streets"] = layers["streets"].set_crs(None, allow_override=True)
    with pytest.raises(CRSError, match="streets layer has no CRS"):
        District.from_frames(**layers)


def test_lonlat_tagged_as_metres_and_metres_tagged_as_degrees():
    wrong = lonlat_box().set_crs(4545, allow_override=True)
    with pytest.raises(CRSError, match="look like lon/lat"):
        District.from_frames(wrong)
    m = metric_layers()["boundary"].set_crs(4326, allow_override=True)
    with pytest.raises(CRSError, match="look like metres"):
        District.from_frames(m)
    with pytest.raises(CRSError, match="names the datum of the lon/lat layers, but every layer"):
        District.from_frames(metric_layers()["boundary"], crs="GCJ-02")
    with pytest.raises(CRSError, match="not a projected CRS"):
        District.from_frames(lonlat_box(), metric_crs=4326)
    with pytest.raises(CRSError, match="unknown CRS"):
        District.from_frames(lonlat_box(), crs="WGS-85")


def test_bad_boundaries():
    with pytest.raises(GeometryError, match="boundary layer is empty"):
        District.from_frames(lonlat_box().iloc[:0])
    empty = gpd.GeoDataFrame(geometry=[shapely.Polygon()], crs=4326)
    with pytest.raises(GeometryError, match="missing or empty"):
        District.from_frames(empty)
    pts = gpd.GeoDataFrame(geometry=[shapely.Point(LON0, LAT0)], crs=4326)
    with pytest.raises(GeometryError, match="Polygon or MultiPolygon"):
        District.from_frames(pts)
    nan = gpd.GeoDataFrame(geometry=[shapely.Polygon([(LON0, LAT0), (np.nan, LAT0), (LON0, LAT0 + 0.1)])], crs=4326)
    with pytest.raises(GeometryError, match="NaN or infinite"):
        District.from_frames(nan)
    with pytest.raises(DataError, match="must be a GeoDataFrame"):
        District.from_frames(pd.DataFrame({"a": [1]}))


def test_self_intersecting_boundary_named_and_repairable():
    bowtie = shapely.Polygon([(0, 0), (2000, 2000), (2000, 0), (0, 2000)])
    good = shapely.box(3000, 0, 4000, 1000)
    b = gpd.GeoDataFrame({"name": ["ok", "bowtie"]}, geometry=[good, bowtie], index=[7, 8], crs=4545)
    with pytest.raises(GeometryError, match=r"rows 8.*Self-intersection.*repair=True"):
        District.from_frames(b)
    d = District.from_frames(b, repair=True)
    assert d.boundary.geometry.is_valid.all()
    assert any("repaired 1 invalid" in n and "rows 8" in n for n in d.notes)
    assert d.area_km2 == pytest.approx(1.0 + 2.0)  # bowtie -> two triangles of 1 km2 each


def test_population_outside_is_counted_and_kept():
    layers = metric_layers()
    pop = layers["population"]
    x0, y0 = pop.total_bounds[:2]
    far = gpd.GeoDataFrame({"population": [40, 60]}, geometry=shapely.points([x0 - 5000, x0 - 6000], [y0, y0]), crs=4545)
    layers["population"] = pd.concat([pop, far])
    with pytest.warns(GridplanWarning, match=r"2 of 502 points \(100 people"):
        d = District.from_frames(**layers)
    assert len(d.population) == 502
    assert len(d.population_outside) == 2
    assert d.population_total == pop["population"].sum()
    assert any("outside" in n for n in d.notes)


def test_bad_population_values_and_column_choice():
    layers = metric_layers()
    layers["population"] = layers["population"].rename(columns={"population": "renkou"})
    d = District.from_frames(**layers, population_column="renkou")
    assert "population" in d.population and d.population_total > 0
    layers = metric_layers()
    layers["population"].loc[3, "population"] = -5
    with pytest.raises(DataError, match=r"negative.*rows 3"):
        District.from_frames(**layers)
    layers = metric_layers()
    layers["population"] = layers["population"].drop(columns="population")
    d = District.from_frames(**layers)
    assert d.population_total == 500 and any("counts as 1" in n for n in d.notes)


def test_bad_streets():
    layers = metric_layers()
    with pytest.raises(DataError, match="street layer has no lines"):
        District.from_frames(layers["boundary"], streets=layers["streets"].iloc[:0])
    far = layers["streets"].translate(xoff=50_000)
    with pytest.raises(DataError, match="entirely outside"):
        District.from_frames(layers["boundary"], streets=far)
    polys = layers["streets"].buffer(5)
    with pytest.raises(GeometryError, match="LineString or MultiLineString"):
        District.from_frames(layers["boundary"], streets=gpd.GeoDataFrame(geometry=polys))


def test_from_file_layers(tmp_path):
    layers = metric_layers()
    path = tmp_path / "user.gpkg"
    layers["boundary"].to_file(path, layer="quxian")
    layers["streets"].to_file(path, layer="daolu")
    d = District.from_file(path, layers={"boundary": "quxian", "streets": "daolu"})
    assert len(d.streets) == len(layers["streets"])
    with pytest.raises(LayerNotFoundError, match=r"no layer 'roads'.*\['quxian', 'daolu'\]"):
        District.from_file(path, layers={"boundary": "quxian", "streets": "roads"})
    with pytest.raises(LayerNotFoundError, match="no 'boundary' layer"):
        District.from_file(path)
    with pytest.raises(DataError, match="does not exist"):
        District.from_file(tmp_path / "nope.gpkg")
    with pytest.raises(DataError, match="not written by gridplan"):
        District.read_file(path)


def test_plot_and_html():
    import matplotlib.pyplot as plt

    d = District.from_frames(**metric_layers())
    ax = d.plot()
    assert ax.get_title().startswith("map") or "km²" in ax.get_title()
    assert len(ax.collections) >= 4  # density, communities, grids, streets, boundary
    plt.close(ax.figure)
    html = d._repr_html_()
    assert "<table>" in html and "方块区" in html and "EPSG:4545" in html


def test_explore():
    folium = pytest.importorskip("folium", reason="explore() needs the [explore] extra")
    m = District.from_frames(**metric_layers()).explore()
    assert isinstance(m, folium.Map)
    html = m.get_root().render()
    assert "communities" in html and "streets" in html


@needs_shared
def test_real_county_boundaries_from_gcj02():
    import pyproj

    from gridplan.datasets import COUNTIES, county_boundary

    # areas the data README quotes (UTM, rounded), and the exact geodesic area of the converted outline
    quoted = {"522723": 1626.9, "370102": 101.4, "511102": 849.7, "410181": 1023.5, "410102": 196.0}
    raw = gpd.read_file(SHARED_DATA / "county_boundaries_gcj02.gpkg").set_index("adcode")
    geod = pyproj.Geod(ellps="GRS80")
    for adcode in COUNTIES:
        d = county_boundary(adcode, data_dir=SHARED_DATA)
        assert d.source_crs == "GCJ-02" and d.code == adcode
        wgs = gcrs.to_crs(raw.loc[[adcode]], 4326, source="GCJ-02").geometry.iloc[0]
        assert d.area_km2 == pytest.approx(abs(geod.geometry_area_perimeter(wgs)[0]) / 1e6, rel=1e-3)
        assert d.area_km2 == pytest.approx(quoted[adcode], rel=0.015)
        assert 4534 <= d.crs.to_epsg() <= 4554
    assert county_boundary("522723", data_dir=SHARED_DATA).crs.to_epsg() == 4545  # 107.2E -> CM 108E
    with pytest.raises(DataError, match="no boundary with adcode"):
        county_boundary("110101", data_dir=SHARED_DATA)


def test_mixed_sources_projected_layers_used_as_tagged():
    """GCJ-02 roads (tagged EPSG:4326) beside a population layer correctly tagged CGCS2000 Gauss-Krüger."""
    truth = metric_layers()
    lonlat = {k: truth[k].to_crs(4326) for k in ("boundary", "streets")}
    gcj = {k: gcrs.to_crs(f, "GCJ-02", source="EPSG:4326") for k, f in lonlat.items()}
    d = District.from_frames(**gcj, population=truth["population"], crs="GCJ-02")
    assert any("population: tagged with the projected EPSG:4545" in n for n in d.notes)
    assert d.population_total == truth["population"]["population"].sum()
    # the GCJ-02 layers were converted, the projected one used as tagged: they line up again
    np.testing.assert_allclose(
        shapely.get_coordinates(d.population.geometry.values),
        shapely.get_coordinates(truth["population"].geometry.values),
        atol=PRECISION,
    )
    assert d.boundary.geometry.iloc[0].symmetric_difference(truth["boundary"].geometry.iloc[0]).area < 100
    # or one CRS per layer
    untagged = gcj["streets"].set_crs(None, allow_override=True)
    d2 = District.from_frames(
        gcj["boundary"], streets=untagged, population=truth["population"], crs={"boundary": "GCJ-02", "streets": "GCJ-02"}
    )
    assert d2.streets.length.sum() == pytest.approx(d.streets.length.sum(), rel=1e-9)
    with pytest.raises(DataError, match="crs= names layers"):
        District.from_frames(gcj["boundary"], crs={"roads": "GCJ-02"})


def test_following_the_explode_advice_works():
    layers = metric_layers()
    x0, y0 = layers["boundary"].total_bounds[:2]
    parts = [shapely.LineString([(x0 + 100, y0 + 100), (x0 + 300, y0 + 300)]), shapely.Point(x0, y0)]
    gc = gpd.GeoDataFrame({"name": ["集合"]}, geometry=[shapely.GeometryCollection(parts)], crs=4545, index=[99])
    streets = pd.concat([layers["streets"], gc])
    with pytest.raises(GeometryError, match=r"streets.explode\(index_parts=True\)"):
        District.from_frames(layers["boundary"], streets=streets)
    streets = streets.explode(index_parts=True)
    streets = streets[streets.geom_type.isin(["LineString", "MultiLineString"])]
    d = District.from_frames(layers["boundary"], streets=streets)
    assert (99, 0) in set(d.network.edges["street"])
