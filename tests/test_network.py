"""Tests for gridplan.network: noding messy street lines into a StreetNetwork."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import matplotlib
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from shapely import LineString, MultiLineString, Point

import gridplan.crs
from gridplan.errors import CRSError, DataError, GeometryError, GridplanWarning, NetworkError
from gridplan.network import StreetNetwork

matplotlib.use("Agg")

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CRS = "EPSG:32650"  # UTM 50N, metres


def frame(geoms, index=None, crs=CRS, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=list(geoms), index=index, crs=crs)


def build(geoms, **kwargs) -> StreetNetwork:
    return StreetNetwork.from_lines(frame(geoms), **kwargs)


def node_at(net: StreetNetwork, x: float, y: float, tol: float = 1e-6) -> int:
    nodes = net.nodes
    hit = np.flatnonzero(np.hypot(nodes.x - x, nodes.y - y) <= tol)
    assert hit.size == 1, f"expected one node at ({x}, {y}), found {hit.size}"
    return int(hit[0])


def assert_edges_match_nodes(net: StreetNetwork) -> None:
    """Every edge geometry starts exactly at its u node and ends exactly at its v node."""
    edges, nodes = net.edges, net.nodes
    start = shapely.get_coordinates(shapely.get_point(edges.geometry.values, 0))
    end = shapely.get_coordinates(shapely.get_point(edges.geometry.values, -1))
    xy = nodes[["x", "y"]].to_numpy()
    np.testing.assert_array_equal(start, xy[edges.u.to_numpy()])
    np.testing.assert_array_equal(end, xy[edges.v.to_numpy()])
    np.testing.assert_allclose(edges.length, shapely.length(edges.geometry.values), rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- hand-built cases
def test_cross_is_noded_into_four_edges_with_exact_lengths():
    net = build([LineString([(0, 0), (10, 0)]), LineString([(3, -2), (3, 6)])])
    assert (net.n_nodes, net.n_edges, net.n_components) == (5, 4, 1)
    # node ids follow ascending (x, y)
    np.testing.assert_array_equal(net.nodes[["x", "y"]].to_numpy(), [[0, 0], [3, -2], [3, 0], [3, 6], [10, 0]])
    assert sorted(net.edges.length) == [2.0, 3.0, 6.0, 7.0]
    assert net.total_length_km == 0.018
    centre = node_at(net, 3, 0)
    assert net.nodes.degree[centre] == 4
    assert net.nodes.degree.drop(centre).tolist() == [1, 1, 1, 1]
    assert net.noding_report["junctions_noded"] == 1
    assert net.noding_report["endpoints_snapped"] == 0
    assert net.edges.groupby("street").length.sum().to_dict() == {0: 10.0, 1: 8.0}
    assert_edges_match_nodes(net)


def test_edges_follow_the_drawing_direction_of_their_street():
    net = build([LineString([(10, 0), (0, 0)]), LineString([(3, 6), (3, -2)])])
    edges = net.edges
    for geom, street in zip(edges.geometry, edges.street):
        a, b = shapely.get_coordinates(geom)[[0, -1]]
        if street == 0:  # drawn towards -x
            assert b[0] < a[0]
        else:  # drawn towards -y
            assert b[1] < a[1]
    assert_edges_match_nodes(net)


@pytest.mark.parametrize("offset", [1e-9, 1e-7, 0.5, -0.5])
def test_t_junction_near_miss_is_joined(offset):
    # the stem ends `offset` metres above the bar (negative: it overshoots the bar)
    net = build([LineString([(0, 0), (100, 0)]), LineString([(50, offset), (50, 80)])], snap_tolerance=1.0)
    assert (net.n_nodes, net.n_edges, net.n_components) == (4, 3, 1)
    junction = node_at(net, 50, 0)
    assert net.nodes.degree[junction] == 3
    assert net.noding_report["endpoints_snapped"] == (1 if abs(offset) > 1e-6 else 0)
    lengths = net.edges.set_index(["u", "v"]).length
    assert lengths.sum() == pytest.approx(180.0, abs=1e-6)
    assert sorted(np.round(net.edges.length, 6)) == [50.0, 50.0, 80.0]
    assert_edges_match_nodes(net)


def test_t_junction_sub_micrometre_gap_is_joined_even_without_snapping():
    net = build([LineString([(0, 0), (100, 0)]), LineString([(50, 1e-7), (50, 80)])], snap_tolerance=0)
    assert (net.n_nodes, net.n_edges, net.n_components) == (4, 3, 1)
    assert net.noding_report["endpoints_snapped"] == 0


def test_t_junction_gap_beyond_tolerance_stays_a_dead_end():
    for geoms, tol in [
        ([LineString([(0, 0), (100, 0)]), LineString([(50, 5), (50, 80)])], 1.0),
        ([LineString([(0, 0), (100, 0)]), LineString([(50, 0.5), (50, 80)])], 0.0),
    ]:
        net = build(geoms, snap_tolerance=tol)
        assert (net.n_nodes, net.n_edges, net.n_components) == (4, 2, 2)
        assert net.summary()["dead_ends"] == 4
        assert net.noding_report["endpoints_snapped"] == 0
        assert net.total_length_km * 1000 == pytest.approx(100 + 80 - geoms[1].coords[0][1])
        with pytest.raises(NetworkError, match="largest_component"):
            net.require_connected()


def test_duplicated_dead_end_is_still_snapped():
    # the stem is drawn twice; its ends touch only each other, so they still count as dangling
    stem = LineString([(50, 0.5), (50, 80)])
    net = build([LineString([(0, 0), (100, 0)]), stem, stem.reverse()])
    assert (net.n_nodes, net.n_edges, net.n_components) == (4, 3, 1)
    assert net.noding_report["endpoints_snapped"] == 2
    assert net.noding_report["duplicate_pieces_removed"] == 1
    assert net.edges.street.tolist().count(1) == 1


def test_end_to_end_gap_is_closed_at_the_midpoint():
    net = build([LineString([(0, 0), (10, 0)]), LineString([(10.4, 0), (20, 0)])])
    assert (net.n_nodes, net.n_edges, net.n_components) == (3, 2, 1)
    node_at(net, 10.2, 0)
    assert net.noding_report["endpoints_snapped"] == 2
    assert net.total_length_km * 1000 == pytest.approx(20.0)


def test_near_miss_at_a_junction_joins_the_junction_not_the_line():
    bar = LineString([(0, 0), (100, 0)])
    stem = LineString([(50, 0), (50, 50)])
    late = LineString([(50.6, -50), (50.6, -0.3)])  # 0.3 m from the bar, 0.67 m from the junction
    net = build([bar, stem, late])
    assert (net.n_nodes, net.n_edges) == (5, 4)
    junction = node_at(net, 50, 0)
    assert net.nodes.degree[junction] == 4
    assert net.noding_report["endpoints_snapped"] == 1


def test_near_miss_at_a_crossing_joins_the_crossing():
    # the crossing has no vertex in either line; the late street ends 0.4 m from the
    # bar and 0.64 m from the crossing, and joins the crossing rather than make a sliver
    bar = LineString([(0, 0), (100, 0)])
    cross = LineString([(50, -50), (50, 50)])
    late = LineString([(80, 40), (50.5, 0.4)])
    net = build([bar, cross, late])
    assert (net.n_nodes, net.n_edges) == (6, 5)
    assert net.nodes.degree[node_at(net, 50, 0)] == 5


def test_jittered_crossing_ends_meet_in_one_node():
    rng = np.random.default_rng(7)
    jit = rng.uniform(-0.3, 0.3, (4, 2))
    arms = [(-50, 0), (50, 0), (0, -50), (0, 50)]
    net = build([LineString([arm, tuple(j)]) for arm, j in zip(arms, jit)])
    assert (net.n_nodes, net.n_edges, net.n_components) == (5, 4, 1)
    centre = node_at(net, *jit.mean(axis=0))
    assert net.nodes.degree[centre] == 4


def test_duplicates_and_half_overlaps_leave_one_edge_per_stretch():
    a = LineString([(0, 0), (3, 0), (10, 0)])
    lines = frame(
        [a, a.reverse(), LineString([(5, 0), (8, 0), (15, 0)])],
        index=["z", "y", "x"],
        name=["first", "copy", "later"],
    )
    net = StreetNetwork.from_lines(lines)
    edges = net.edges
    assert (net.n_nodes, net.n_edges, net.n_components) == (4, 3, 1)
    pairs = list(zip(np.minimum(edges.u, edges.v), np.maximum(edges.u, edges.v)))
    assert len(set(pairs)) == len(pairs)  # no parallel edges
    assert edges.key.tolist() == [0, 0, 0]
    assert net.total_length_km * 1000 == pytest.approx(shapely.union_all(lines.geometry.values).length)
    assert net.total_length_km * 1000 == pytest.approx(15.0)
    # 0-5 is drawn twice (one extra), 5-10 three times (two extra)
    assert net.noding_report["duplicate_pieces_removed"] == 3
    assert net.noding_report["overlap_length_removed_m"] == pytest.approx(10 + 10 + 10 - 15)
    # attributes come from the row with the lowest index label, whatever the row order
    by_span = {tuple(np.round(np.sort(shapely.get_coordinates(g)[[0, -1], 0]))): s for g, s in zip(edges.geometry, edges.street)}
    assert by_span == {(0.0, 5.0): "y", (5.0, 10.0): "x", (10.0, 15.0): "x"}
    assert set(edges.name) == {"copy", "later"}
    for seed in range(3):
        shuffled = StreetNetwork.from_lines(lines.sample(frac=1.0, random_state=seed)).edges
        pd.testing.assert_frame_equal(shuffled.drop(columns="geometry"), edges.drop(columns="geometry"))
        assert shuffled.geometry.geom_equals_exact(edges.geometry, tolerance=0).all()
    # no node is left at the vertices inside the overlaps (x=3, x=8)
    assert sorted(net.nodes.x) == [0, 5, 10, 15]
    assert_edges_match_nodes(net)


def test_reversed_duplicate_first_sets_the_direction():
    a = LineString([(0, 0), (10, 0)])
    net = StreetNetwork.from_lines(frame([a.reverse(), a], name=["backwards", "forwards"]))
    assert net.n_edges == 1
    edge = net.edges.iloc[0]
    assert edge["name"] == "backwards"
    assert shapely.get_coordinates(edge.geometry)[0].tolist() == [10.0, 0.0]


def test_multilinestring_rows_are_exploded():
    multi = MultiLineString([[(0, 0), (10, 0)], [(20, 0), (30, 0)]])
    lines = frame([multi, LineString([(5, -5), (5, 5)])], index=[101, 102], kind=["multi", "single"])
    net = StreetNetwork.from_lines(lines)
    assert net.noding_report["input_rows"] == 2
    assert net.noding_report["exploded_parts"] == 3
    assert (net.n_nodes, net.n_edges, net.n_components) == (7, 5, 2)
    assert net.edges.groupby("street").size().to_dict() == {101: 3, 102: 2}
    assert set(net.edges.loc[net.edges.street == 101, "kind"]) == {"multi"}
    assert net.total_length_km * 1000 == pytest.approx(30.0)


def test_zero_length_pieces_are_dropped_and_counted():
    lines = [
        LineString([(0, 0), (10, 0)]),
        LineString([(3, 3), (3, 3)]),
        MultiLineString([[(20, 0), (20, 0)], [(20, 0), (30, 0)]]),
    ]
    net = build(lines)
    assert net.noding_report["zero_length_dropped"] == 2
    assert net.n_edges == 2
    assert set(net.edges.street) == {0, 2}


def test_closed_ring_alone_is_a_self_loop():
    ring = LineString([(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)])
    net = build([ring])
    assert (net.n_nodes, net.n_edges) == (1, 1)
    edge = net.edges.iloc[0]
    assert edge.u == edge.v == 0
    assert edge.length == 40.0
    assert net.nodes.degree[0] == 2
    assert nx.number_of_selfloops(net.graph) == 1
    assert net.to_sparse().nnz == 0  # self-loops never shorten a path


def test_linear_ring_rows_are_read_as_closed_lines():
    ring = shapely.LinearRing([(0, 0), (10, 0), (10, 10), (0, 10)])
    net = build([ring, LineString([(5, -5), (5, 0)])])
    assert (net.n_nodes, net.n_edges, net.n_components) == (3, 3, 1)
    assert net.total_length_km * 1000 == pytest.approx(45.0)


def test_closed_ring_touched_by_a_street_is_split_there():
    ring = LineString([(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)])
    net = build([ring, LineString([(5, -5), (5, 0)])])
    assert (net.n_nodes, net.n_edges, net.n_components) == (3, 3, 1)
    assert net.nodes.degree[node_at(net, 5, 0)] == 3
    assert net.total_length_km * 1000 == pytest.approx(45.0)


def test_nearly_closed_ring_is_closed():
    almost = LineString([(0, 0), (10, 0), (10, 10), (0, 10), (0, 0.5)])
    net = build([almost])
    assert (net.n_nodes, net.n_edges) == (1, 1)
    assert net.noding_report["endpoints_snapped"] == 2


def test_short_stub_is_not_folded_onto_itself():
    # a 0.6 m line whose two ends are within the tolerance of each other stays a line
    net = build([LineString([(0, 0), (0.6, 0)]), LineString([(100, 0), (200, 0)])])
    assert net.n_edges == 2
    assert net.total_length_km * 1000 == pytest.approx(100.6)


def test_attributes_are_carried_to_edges_and_graph():
    lines = frame(
        [LineString([(0, 0), (10, 0)]), LineString([(5, -5), (5, 5)])],
        index=pd.Index(["main st", "side st"], name="road_id"),
        name=["主街", "侧街"],
        lanes=[4, 2],
        length=[10.0, 10.0],  # clashes with the computed edge length
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a `length` column is common in real road data: no warning
        net = StreetNetwork.from_lines(lines)
    assert net.noding_report["renamed_columns"] == {"length": "length_source"}
    edges = net.edges
    assert list(edges.columns) == ["u", "v", "key", "length", "street", "name", "lanes", "length_source", "geometry"]
    assert edges.index.name == "edge"
    assert edges.crs == lines.crs
    main = edges[edges.street == "main st"]
    assert main.name.tolist() == ["主街", "主街"] and main.lanes.tolist() == [4, 4]
    assert main.length.tolist() == [5.0, 5.0] and main.length_source.tolist() == [10.0, 10.0]
    g = net.graph
    assert isinstance(g, nx.MultiGraph) and g.graph["crs"] == net.crs
    assert g.number_of_nodes() == 5 and g.number_of_edges() == 4
    for row in edges.itertuples():
        data = g.edges[row.u, row.v, row.key]
        assert data["street"] == row.street and data["lanes"] == row.lanes
        assert data["length"] == row.length and data["geometry"].equals(row.geometry)
    assert g.nodes[0] == {"x": 0.0, "y": 0.0}


def test_components_and_largest_component():
    big = [LineString([(0, 0), (100, 0)]), LineString([(50, -50), (50, 50)])]
    small = [LineString([(500, 500), (530, 500)])]
    net = build(small + big)
    comps = net.components()
    assert list(comps.columns) == ["component", "n_nodes", "n_edges", "length_km", "share_of_length"]
    assert comps.component.tolist() == [0, 1] and net.n_components == 2
    assert comps.n_nodes.tolist() == [5, 2] and comps.n_edges.tolist() == [4, 1]
    assert comps.length_km.tolist() == pytest.approx([0.2, 0.03])
    assert comps.share_of_length.sum() == pytest.approx(1.0)
    assert net.nodes.groupby("component").size().tolist() == [5, 2]

    with pytest.raises(NetworkError) as err:
        net.require_connected()
    msg = str(err.value)
    assert "2 connected components" in msg and "5 nodes" in msg and "2 nodes" in msg
    assert "largest_component()" in msg and "snap_tolerance" in msg

    main = net.largest_component()
    assert (main.n_nodes, main.n_edges, main.n_components) == (5, 4, 1)
    assert main.nodes.index.tolist() == [0, 1, 2, 3, 4]
    assert main.total_length_km == pytest.approx(0.2)
    assert main.require_connected() is main
    assert main.noding_report["components_dropped"] == 1
    assert main.noding_report["nodes"] == 5 and main.noding_report["output_edges"] == 4
    assert_edges_match_nodes(main)
    assert net.n_nodes == 7  # the original is untouched


def test_parallel_edges_get_keys_and_sparse_keeps_the_shortest():
    straight = LineString([(0, 0), (10, 0)])
    detour = LineString([(0, 0), (5, 5), (10, 0)])
    net = build([detour, straight])
    assert (net.n_nodes, net.n_edges) == (2, 2)
    assert sorted(net.edges.key) == [0, 1]
    csr = net.to_sparse()
    assert csr.shape == (2, 2)
    assert csr[0, 1] == csr[1, 0] == 10.0
    assert net.graph.number_of_edges(0, 1) == 2


def test_nearest_nodes_is_vectorised():
    net = build([LineString([(0, 0), (10, 0)]), LineString([(5, -5), (5, 5)])])
    ids = net.nearest_nodes([0.1, 9.0, 5.2, 4.0], [0.0, 1.0, 4.0, 0.5])
    assert ids.dtype.kind == "i"
    assert ids.tolist() == [node_at(net, 0, 0), node_at(net, 10, 0), node_at(net, 5, 5), node_at(net, 5, 0)]
    one = net.nearest_nodes(5.1, -4.8)
    assert one.shape == () and int(one) == node_at(net, 5, -5)
    ids2, dist = net.nearest_nodes(np.array([[0.0, 10.0]]), 3.0, return_dist=True)
    assert ids2.shape == dist.shape == (1, 2)
    np.testing.assert_allclose(dist, [[3.0, 3.0]])
    with pytest.raises(GeometryError, match="NaN"):
        net.nearest_nodes([np.nan], [0.0])


def grid_lines(n: int, seed: int, spacing: float = 100.0, drop: float = 0.15) -> gpd.GeoDataFrame:
    """A jittered street grid with some links removed (several routes between most nodes)."""
    rng = np.random.default_rng(seed)
    pts = np.stack(np.meshgrid(np.arange(n), np.arange(n)), -1).reshape(-1, 2) * spacing
    pts = pts + rng.uniform(-20, 20, pts.shape)
    idx = np.arange(n * n).reshape(n, n)
    links = np.r_[np.c_[idx[:, :-1].ravel(), idx[:, 1:].ravel()], np.c_[idx[:-1].ravel(), idx[1:].ravel()]]
    links = links[rng.random(len(links)) > drop]
    geoms = shapely.linestrings(np.stack([pts[links[:, 0]], pts[links[:, 1]]], axis=1))
    return frame(geoms)


def test_shortest_path_lengths_match_networkx():
    net = StreetNetwork.from_lines(grid_lines(9, seed=3))
    g = net.graph
    sources = np.array([0, 7, net.n_nodes // 2, net.n_nodes - 1])
    dist = net.shortest_path_lengths(sources)
    assert dist.shape == (4, net.n_nodes)
    for row, s in zip(dist, sources):
        expected = np.full(net.n_nodes, np.inf)
        for node, d in nx.single_source_dijkstra_path_length(g, int(s), weight="length").items():
            expected[node] = d
        np.testing.assert_allclose(row, expected, rtol=1e-12)
    cut = net.shortest_path_lengths(sources[:1], cutoff=250.0)
    within = nx.single_source_dijkstra_path_length(g, int(sources[0]), cutoff=250.0, weight="length")
    assert set(np.flatnonzero(np.isfinite(cut[0]))) == set(within)
    assert net.shortest_path_lengths(3).shape == (1, net.n_nodes)
    with pytest.raises(DataError, match="not node ids"):
        net.shortest_path_lengths([net.n_nodes])
    with pytest.raises(DataError, match="integers"):
        net.shortest_path_lengths([0.5])


def test_unreachable_nodes_are_infinite():
    net = build([LineString([(0, 0), (10, 0)]), LineString([(50, 0), (60, 0)])])
    d = net.shortest_path_lengths([0])
    assert d[0].tolist() == [0.0, 10.0, np.inf, np.inf]


def test_summary_repr_and_plot():
    net = build([LineString([(0, 0), (10, 0)]), LineString([(5, -5), (5, 5)]), LineString([(50, 0), (60, 0)])])
    s = net.summary()
    assert s["nodes"] == 7 and s["edges"] == 5 and s["components"] == 2
    assert s["length_km"] == 0.03 and s["dead_ends"] == 6
    assert s["largest_component_share"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["crs"].startswith("EPSG:32650")
    html = net._repr_html_()
    assert "<table" in html and "dead_ends" in html
    assert "7 nodes" in repr(net)
    import matplotlib.pyplot as plt

    ax = net.plot()
    assert ax.collections and "2 component" in ax.get_title()
    colours = {tuple(c) for coll in ax.collections for c in coll.get_colors()}
    assert len(colours) == 2  # one colour per component
    plt.close(ax.figure)
    fig, ax2 = plt.subplots()
    assert net.largest_component().plot(ax=ax2, linewidth=2) is ax2
    plt.close(fig)


# --------------------------------------------------------------------------- bad input
LINE = LineString([(0, 0), (10, 0)])


def test_not_a_geodataframe():
    with pytest.raises(DataError, match="GeoDataFrame"):
        StreetNetwork.from_lines([LINE])
    with pytest.raises(DataError, match="to_frame"):
        StreetNetwork.from_lines(gpd.GeoSeries([LINE], crs=CRS))


def test_missing_and_geographic_crs():
    with pytest.raises(CRSError, match="no CRS") as err:
        StreetNetwork.from_lines(frame([LINE], crs=None))
    assert "metric_crs" in str(err.value)
    with pytest.raises(CRSError, match="lon/lat") as err:
        StreetNetwork.from_lines(frame([LineString([(108.9, 34.1), (108.91, 34.1)])], crs="EPSG:4326"))
    assert "gridplan.crs.to_crs(lines, gridplan.crs.metric_crs(lines))" in str(err.value)
    assert isinstance(err.value, ValueError)
    with pytest.raises(CRSError, match="not metres"):
        StreetNetwork.from_lines(frame([LINE], crs="EPSG:2263"))  # NY state plane, US feet


def test_empty_and_lineless_input():
    with pytest.raises(NetworkError, match="empty"):
        StreetNetwork.from_lines(gpd.GeoDataFrame(geometry=[], crs=CRS))
    with pytest.raises(NetworkError, match="no line geometries"):
        StreetNetwork.from_lines(frame([Point(0, 0), Point(1, 1)]))
    with pytest.raises(NetworkError, match="no line geometries"):
        StreetNetwork.from_lines(frame([None, None]))
    with pytest.raises(NetworkError, match="zero length"):
        StreetNetwork.from_lines(frame([LineString([(1, 1), (1, 1)])]))


def test_rows_that_are_not_lines():
    lines = frame([LINE, Point(0, 0), LINE, shapely.box(0, 0, 1, 1)], index=["a", "bad-point", "c", "bad-poly"])
    with pytest.raises(GeometryError, match="'bad-point', 'bad-poly'") as err:
        StreetNetwork.from_lines(lines)
    assert "geom_type.isin" in str(err.value) and "Point, Polygon" in str(err.value)
    collection = shapely.GeometryCollection([LineString([(0, 50), (10, 50)]), Point(3, 3)])
    lines = frame([LINE, collection], index=["a", "gc"])
    with pytest.raises(GeometryError, match="explode") as err:
        StreetNetwork.from_lines(lines)
    # following the advice works: explode(index_parts=True), then keep the lines
    assert "lines.explode(index_parts=True)" in str(err.value)
    lines = lines.explode(index_parts=True)
    lines = lines[lines.geom_type.isin(["LineString", "MultiLineString"])]
    net = StreetNetwork.from_lines(lines)
    assert set(net.edges["street"]) == {("a", 0), ("gc", 0)}


def test_other_clashing_columns_warn():
    lines = frame([LINE], u=[7])
    with pytest.warns(GridplanWarning, match="'u' -> 'u_source'"):
        net = StreetNetwork.from_lines(lines)
    assert net.noding_report["renamed_columns"] == {"u": "u_source"} and net.edges["u_source"].tolist() == [7]


def test_missing_and_empty_geometries():
    with pytest.raises(GeometryError, match=r"rows 7\b") as err:
        StreetNetwork.from_lines(frame([LINE, None], index=[3, 7]))
    assert "isna()" in str(err.value)
    with pytest.raises(GeometryError, match="'e'"):
        StreetNetwork.from_lines(frame([LINE, LineString()], index=["d", "e"]))


def test_many_bad_rows_are_summarised():
    lines = frame([LINE] + [Point(i, i) for i in range(9)])
    with pytest.raises(GeometryError, match=r"rows 1, 2, 3, 4, 5 \(and 4 more\)"):
        StreetNetwork.from_lines(lines)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_coordinates(bad):
    lines = frame([LINE, LineString([(0, 0), (bad, 5)])], index=["ok", "broken"])
    with pytest.raises(GeometryError, match="'broken'") as err:
        StreetNetwork.from_lines(lines)
    assert "NaN or infinite" in str(err.value)


@pytest.mark.parametrize("tol", [-0.1, np.nan, np.inf, "1", None, True])
def test_bad_snap_tolerance(tol):
    with pytest.raises(DataError, match="snap_tolerance"):
        StreetNetwork.from_lines(frame([LINE]), snap_tolerance=tol)


def test_snap_tolerance_is_keyword_only():
    with pytest.raises(TypeError):
        StreetNetwork.from_lines(frame([LINE]), 1.0)  # type: ignore[misc]


def test_duplicate_index_labels():
    with pytest.raises(DataError, match="reset_index"):
        StreetNetwork.from_lines(frame([LINE, LineString([(0, 1), (5, 1)])], index=[4, 4]))


# --------------------------------------------------------------------------- properties
coord = st.integers(min_value=0, max_value=20).map(lambda v: v * 0.5)
point = st.tuples(coord, coord)
polyline = st.lists(point, min_size=2, max_size=4)
polylines = st.lists(polyline, min_size=1, max_size=12)


def _edge_table(net: StreetNetwork) -> pd.DataFrame:
    e = net.edges
    return e.assign(wkb=shapely.to_wkb(e.geometry.values)).drop(columns="geometry")


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polylines)
def test_property_noding_keeps_length_and_topology(coords):
    geoms = [LineString(c) for c in coords]
    union_length = shapely.union_all(geoms).length
    assume(union_length > 0)
    lines = frame(geoms)
    net = StreetNetwork.from_lines(lines, snap_tolerance=0)
    assert net.total_length_km * 1000 == pytest.approx(union_length, rel=1e-6)
    assert_edges_match_nodes(net)
    assert (net.edges.length > 0).all()
    # no stretch of street is represented twice
    normalized = shapely.to_wkb(shapely.normalize(net.edges.geometry.values))
    assert len(set(normalized)) == len(normalized)
    # node ids are the (x, y) order
    xy = net.nodes[["x", "y"]].to_numpy()
    assert (np.lexsort((xy[:, 1], xy[:, 0])) == np.arange(len(xy))).all()
    # deterministic: the same input gives the same edges, byte for byte
    again = StreetNetwork.from_lines(lines, snap_tolerance=0)
    pd.testing.assert_frame_equal(_edge_table(net), _edge_table(again))
    assert net.noding_report == again.noding_report


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(polylines, st.sampled_from([0.3, 1.0, 2.5]))
def test_property_snapping_is_consistent_and_deterministic(coords, tol):
    geoms = [LineString(c) for c in coords]
    assume(shapely.union_all(geoms).length > 0)
    lines = frame(geoms)
    try:
        net = StreetNetwork.from_lines(lines, snap_tolerance=tol)
    except NetworkError:  # snapping may collapse every line of a tiny input to nothing
        return
    assert_edges_match_nodes(net)
    assert (net.edges.length > 0).all()
    assert net.noding_report["output_edges"] == net.n_edges == net.graph.number_of_edges()
    assert net.nodes.degree.sum() == 2 * net.n_edges
    again = StreetNetwork.from_lines(lines, snap_tolerance=tol)
    pd.testing.assert_frame_equal(_edge_table(net), _edge_table(again))


def test_six_thousand_messy_segments_noded_exactly():
    """Jittered near-miss junctions and 300 reversed duplicates (speed: benchmarks/bench_network.py)."""
    rng = np.random.default_rng(0)
    k, step = 55, 100.0
    starts, ends = [], []
    for i in range(k):
        for j in range(k - 1):
            starts += [(j * step, i * step), (i * step, j * step)]
            ends += [((j + 1) * step, i * step), (i * step, (j + 1) * step)]
    starts = np.array(starts) + rng.uniform(-0.3, 0.3, (len(starts), 2))  # near-miss junctions
    ends = np.array(ends) + rng.uniform(-0.3, 0.3, (len(ends), 2))
    mids = (starts + ends) / 2
    geoms = shapely.linestrings(np.stack([starts, mids, ends], axis=1))
    dup = rng.choice(len(geoms), 300, replace=False)
    lines = frame(np.r_[geoms, shapely.reverse(geoms[dup])])
    assert len(lines) == 6240
    net = StreetNetwork.from_lines(lines)
    # every jittered junction became one node; the 300 copies were dissolved
    assert (net.n_nodes, net.n_edges, net.n_components) == (k * k, 2 * k * (k - 1), 1)
    assert net.noding_report["duplicate_pieces_removed"] == 300
    assert net.nodes.degree.value_counts().to_dict() == {4: (k - 2) ** 2, 3: 4 * (k - 2), 2: 4}


# --------------------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def changan() -> gpd.GeoDataFrame:
    path = DATA / "changan_roads.gpkg"
    if not DATA.is_dir():
        pytest.skip(f"shared data folder {DATA} is absent")
    return gpd.read_file(path)


def test_changan_network(changan):
    assert changan.crs.to_epsg() == 4326 and len(changan) == 3267
    with pytest.raises(CRSError, match="lon/lat"):
        StreetNetwork.from_lines(changan)
    utm = changan.to_crs(32649)  # the CRS the data README measured 470.8 km in
    net = StreetNetwork.from_lines(utm)  # its `length` column is kept as length_source, without a warning
    report = net.noding_report
    assert report["renamed_columns"] == {"length": "length_source"}

    # Two-way carriageways are drawn as two *offset* one-way links, not on top of each
    # other: no link duplicates another, so nothing is dissolved and the total stays the
    # README's 470.8 km (470.780 km; noding moves coordinates by < 1 µm).
    assert report["input_rows"] == report["exploded_parts"] == 3267
    assert report["duplicate_pieces_removed"] == 0
    assert abs(report["overlap_length_removed_m"]) < 0.01
    assert net.total_length_km == pytest.approx(utm.length.sum() / 1000, abs=1e-4)
    assert net.total_length_km == pytest.approx(470.8, abs=0.05)
    # every link survives whole: its edges add up to its own `length` field (±0.03 m, README)
    per_link = net.edges.groupby("street").length.sum()
    assert per_link.index.sort_values().equals(utm.index.sort_values())
    np.testing.assert_allclose(per_link.sort_index(), utm["length"].sort_index(), atol=0.05)
    assert set(net.edges.link_id) == set(utm.link_id)

    # The source's own topology has 2,860 nodes. Ends already meet exactly (no endpoint is
    # within 1 m of another line without touching it: nothing snapped), but 137 pairs of
    # links cross without a shared vertex - turn connectors (路口转向) crossing inside
    # junctions and expressway interchanges - and planar noding makes each a node.
    assert report["endpoints_snapped"] == 0
    assert 100 <= report["junctions_noded"] <= 180  # 137 with GEOS 3.14
    assert net.n_nodes == pytest.approx(2860 + report["junctions_noded"], abs=2)
    assert net.n_edges == pytest.approx(3267 + 2 * report["junctions_noded"], abs=2)
    # README: 16 components in the raw node-id graph, largest 96.7 % of nodes / 96.6 % of
    # length. Noding the crossings joins some of them: 13 remain, largest 98.5 % of length.
    comps = net.components()
    assert 2 <= net.n_components <= 16
    assert comps.share_of_length.iloc[0] > 0.966
    assert comps.n_nodes.iloc[0] / net.n_nodes > 0.967
    assert (comps.length_km.diff().dropna() <= 0).all()
    assert_edges_match_nodes(net)

    main = net.largest_component()
    main.require_connected()
    assert main.total_length_km == pytest.approx(comps.length_km.iloc[0])
    d = main.shortest_path_lengths([0, main.n_nodes - 1])
    assert np.isfinite(d).all()
    ref = nx.single_source_dijkstra_path_length(main.graph, 0, weight="length")
    np.testing.assert_allclose(d[0], [ref[i] for i in range(main.n_nodes)], rtol=1e-12)

    # row order only decides which duplicate wins; with none here the network is the same
    shuffled = StreetNetwork.from_lines(utm.sample(frac=1.0, random_state=1))
    cols = ["u", "v", "length", "street"]
    a = net.edges[cols].sort_values(cols).reset_index(drop=True)
    b = shuffled.edges[cols].sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(net.nodes[["x", "y"]], shuffled.nodes[["x", "y"]])


def test_changan_via_metric_crs(changan):
    metric = gridplan.crs.metric_crs(changan)
    assert metric.to_epsg() == 4545  # CGCS2000 Gauss-Krüger, CM 108E
    lines = gridplan.crs.to_crs(changan, metric).drop(columns="length")
    net = StreetNetwork.from_lines(lines)
    # Gauss-Krüger lengths here are ~1e-5 longer than UTM's: 470.79 km
    assert net.total_length_km == pytest.approx(470.8, abs=0.05)
    assert net.noding_report["duplicate_pieces_removed"] == 0
    assert 2 <= net.n_components <= 16
