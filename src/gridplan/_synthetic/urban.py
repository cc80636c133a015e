"""Urban streets.

Arterials on a warped grid with crossings of the river and the railway, then secondary and
local streets filling the superblocks at a spacing that follows the density.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from .barriers import _Barriers, _reach
from .blocks import _faces
from .constants import _ART, _BRIDGE, _GRID, _LOC, _SEC, _UNNAMED
from .density import _Density
from .lines import _concat, _explode, _Lines, _node, _topology
from .names import _BRIDGE_NAMES, _RAIL_CROSSING_NAMES, _NamePool, _root


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
    rng: np.random.Generator, poly: Any, density: _Density, names: _NamePool
) -> list[tuple[shapely.LineString, str]]:
    """Warped arterial grid (+ a partial ring road), unclipped, as ``(line, name)`` pairs."""
    core = np.asarray(density.core)
    half = _reach(poly, core) - 1000.0
    theta = rng.uniform(-0.45, 0.45)
    rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    spacing = rng.uniform(760.0, 940.0)
    us, vs = _positions(rng, half, spacing), _positions(rng, half, spacing)
    warp = _warp(rng)
    out: list[tuple[shapely.LineString, str]] = []
    for family, (pos, other) in enumerate([(us, vs), (vs, us)]):
        for p in pos:
            t0, t1 = -half, half
            # a few arterials stop at a T outside the core
            cuts = other[(np.abs(other) > 0.3 * half) & (other > t0) & (other < t1)]
            if len(cuts) and rng.random() < 0.18:
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


def _crossing_candidates(lines: list[tuple[shapely.LineString, str]], poly: Any, barriers: _Barriers) -> list[_Crossing]:
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


def _pick_crossings(rng: np.random.Generator, poly: Any, barriers: _Barriers, candidates: list[_Crossing]) -> list[_Crossing]:
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


def _major_streets(rng: np.random.Generator, poly: Any, density: _Density, barriers: _Barriers, names: _NamePool) -> _Lines:
    """Arterials cut by the barrier zones, the chosen crossings and the side roads, noded."""
    lines = _arterial_lines(rng, poly, density, names)
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
        pieces = pieces[(shapely.get_type_id(pieces) == 1) & (shapely.length(pieces) > 0)]
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
    budget: tuple[float, float],
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
    lo, hi = budget  # bounds on the estimated number of local segments
    if estimate > hi:
        s1 = s1 * math.sqrt(estimate / hi)
    elif estimate < lo:
        s1 = np.maximum(80.0, s1 * math.sqrt(estimate / lo))
    active &= area > 0.8 * s1 * s1 * ratio

    envelopes = shapely.oriented_envelope(faces)
    geoms: list[np.ndarray] = []
    kinds: list[int] = []
    line_names: list[str] = []
    owner: list[Any] = []
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
        for _, (ang, step) in enumerate(((phi, s1[i]), (phi + np.pi / 2 + rng.normal(0, 0.06), s1[i] * ratio[i]))):
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
