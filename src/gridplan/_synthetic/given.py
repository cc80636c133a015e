"""A given (real) boundary.

The urban core filled like the default district, rural land around it, and everything assembled
(:func:`_build_given`).
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from ..errors import DataError, InfeasibleError
from .admin import _given_communities, _prepare_subdistricts
from .barriers import _Barriers, _make_railway, _make_river
from .blocks import _close_with_boundary, _face_adjacency, _points_per_face, _population
from .constants import (
    _ALL_URBAN_KM2,
    _BRIDGE,
    _CORE_PEOPLE_PER_KM2,
    _DEFAULT_URBAN_KM2,
    _GRID,
    _MAX_SEGMENTS_GIVEN,
    _MAX_VILLAGES,
    _PEOPLE_PER_POINT,
    _RURAL_PEOPLE_PER_KM2,
    _SEC,
    _URBAN_BASE,
    _VILLAGE_KM2,
)
from .density import _Density, _main_part
from .frames import _frames
from .irregular import _edit_locals
from .lines import _concat, _Lines
from .names import _RAILWAY_NAME, _RIVER_NAME, _NamePool
from .options import _GivenOptions
from .partitions import _grids
from .rural import _exact_total, _rural_network, _rural_population
from .tidy import _absorb_specks, _finish_network
from .urban import _local_lines, _major_streets


def _interior_point(main: shapely.Polygon) -> tuple[float, float]:
    """The centroid when it lies well inside ``main``, else the centre of its largest inscribed circle."""
    radius_line = shapely.maximum_inscribed_circle(main, tolerance=max(1.0, math.sqrt(main.area) / 2000.0))
    pole = shapely.get_point(radius_line, 0)
    c = main.centroid
    if main.contains(c) and main.boundary.distance(c) >= 0.5 * radius_line.length:
        return float(c.x), float(c.y)
    return float(pole.x), float(pole.y)


def _urban_core(rng: np.random.Generator, poly: Any, centre: tuple[float, float], target: float) -> Any:
    """An irregular blob of ``target`` m² around ``centre``, inside ``poly`` (``poly`` itself when it is small)."""
    theta = np.linspace(0.0, 2.0 * np.pi, 360, endpoint=False)
    log_r = np.zeros_like(theta)
    for k, sd in enumerate((0.10, 0.16, 0.10, 0.07, 0.05), start=1):
        log_r += rng.normal(0.0, sd) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    for k in range(6, 24):
        log_r += rng.normal(0.0, 0.04 / k**0.6) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    if target >= 0.9 * poly.area:
        return poly
    ring = np.column_stack([np.cos(theta), np.sin(theta)]) * np.exp(np.clip(log_r, -0.5, 0.5))[:, None]
    unit = shapely.Polygon(ring).area
    c = np.asarray(centre, dtype=float)
    point = shapely.Point(c)

    def piece(scale: float) -> Any:
        parts = shapely.get_parts(shapely.intersection(shapely.Polygon(ring * scale + c), poly))
        parts = parts[shapely.area(parts) > 0]
        if len(parts) == 0:
            return shapely.Polygon()
        return parts[int(np.argmin(shapely.distance(parts, point)))]

    lo, hi = 0.0, math.sqrt(target / unit)
    for _ in range(40):  # grow until the piece holding the centre is large enough (or all of its part)
        if piece(hi).area >= target:
            break
        lo, hi = hi, hi * 1.5
    best = piece(hi)
    if best.area >= target:
        for _ in range(50):
            mid = 0.5 * (lo + hi)
            got = piece(mid)
            if abs(got.area - target) <= 0.005 * target:
                best = got
                break
            lo, hi = (mid, hi) if got.area < target else (lo, mid)
            best = got if got.area >= target else best
    core = shapely.set_precision(best, _GRID)
    return _main_part(core) if core.geom_type == "MultiPolygon" else core


def _urban_density(rng: np.random.Generator, core_area: Any, centre: tuple[float, float], scale: float, jitter: bool) -> _Density:
    """The default district's density (a core and 2-3 secondary centres), scaled to the urban core."""
    inner = core_area.buffer(-400.0 * scale)
    if inner.is_empty:
        inner = core_area
    core = np.asarray(centre, dtype=float)
    if jitter:
        for _ in range(20):
            trial = core + rng.normal(0.0, 350.0 * scale, 2)
            if inner.contains(shapely.Point(trial)):
                core = trial
                break
    shapely.prepare(inner)
    n_sec = int(rng.integers(2, 4))
    start = rng.uniform(0, 2 * np.pi)
    cx, cy = [core[0]], [core[1]]
    for i in range(n_sec):
        ang = start + 2 * np.pi * i / n_sec + rng.uniform(-0.5, 0.5)
        dist = rng.uniform(2000.0, 3000.0) * scale
        p = core
        for _ in range(8):
            p = core + dist * np.array([math.cos(ang), math.sin(ang)])
            if shapely.contains_xy(inner, p[0], p[1]):
                break
            dist *= 0.8
        cx.append(p[0])
        cy.append(p[1])
    sigma = np.concatenate([[rng.uniform(1200.0, 1600.0)], rng.uniform(400.0, 650.0, n_sec)]) * scale
    weight = np.concatenate([[1.0], rng.uniform(0.5, 0.85, n_sec)])
    return _Density(np.array(cx), np.array(cy), sigma, weight, base=_URBAN_BASE)


def _density_integral(area: Any, density: _Density, n: int = 400) -> float:
    """∫ density dA over ``area`` (m²), on a regular n × n grid of its bounding box."""
    minx, miny, maxx, maxy = area.bounds
    gx = minx + (np.arange(n) + 0.5) * (maxx - minx) / n
    gy = miny + (np.arange(n) + 0.5) * (maxy - miny) / n
    x, y = (a.ravel() for a in np.meshgrid(gx, gy))
    inside = shapely.contains_xy(area, x, y)
    return float(density(x[inside], y[inside]).sum()) * (maxx - minx) * (maxy - miny) / n**2


def _build_given(
    streams: list[np.random.Generator], poly: Any, out_crs: pyproj.CRS, opt: _GivenOptions
) -> tuple[dict[str, gpd.GeoDataFrame], list[str]]:
    """Grow a synthetic city and countryside inside the given (real) boundary ``poly``."""
    (rng_core, rng_dens, rng_barrier, rng_art, rng_local, rng_edit, rng_pop, rng_part, rng_grid, rng_rural, *_) = streams
    notes: list[str] = []
    area_km2 = poly.area / 1e6
    main = _main_part(poly)
    if opt.centre is None:
        centre, jitter = _interior_point(main), True
    else:
        centre, jitter = (float(opt.centre[0]), float(opt.centre[1])), False
        if not poly.contains(shapely.Point(centre)):
            raise DataError(
                f"centre {centre} lies outside the boundary; pass a point inside it, in the boundary's own "
                "coordinates (e.g. the GCJ-02 lon/lat of the town hall for a GCJ-02 boundary)"
            )
    urban_km2 = (area_km2 if area_km2 <= _ALL_URBAN_KM2 else _DEFAULT_URBAN_KM2) if opt.urban_km2 is None else opt.urban_km2
    if not urban_km2 > 0:
        raise DataError(f"urban_km2 must be positive, got {opt.urban_km2!r}")
    core = _urban_core(rng_core, poly, centre, min(urban_km2, area_km2) * 1e6)
    all_urban = core is poly
    if not all_urban and not core.contains(shapely.Point(centre)):
        centre = _interior_point(core)
    shapely.prepare(core)
    scale = float(np.clip(math.sqrt(core.area / 45e6), 0.35, 2.0))
    density = _urban_density(rng_dens, core, centre, scale, jitter)
    river = _make_river(rng_barrier, poly, density.core, scale)
    rail = _make_railway(rng_barrier, poly, density.core, river, scale)
    barriers = _Barriers(river, rail, poly)
    core_barriers = barriers if all_urban else _Barriers(river, rail, core)
    names = _NamePool(rng_local)
    rural_km2 = 0.0 if all_urban else (poly.area - core.area) / 1e6
    n_villages = int(min(_MAX_VILLAGES, rural_km2 / _VILLAGE_KM2)) if rural_km2 >= 2.0 else 0
    n_towns = 0 if rural_km2 < 20.0 else int(np.clip(round(rural_km2 / 250.0), 1, 8))
    urban_budget = max(2500.0, _MAX_SEGMENTS_GIVEN - 1500.0 - (5 * n_villages + 40 * n_towns + 300 if n_villages else 0))
    major = _major_streets(rng_art, core, density, core_barriers, names)
    local = _local_lines(rng_local, core, density, major, core_barriers, names, (0.0, max(500.0, urban_budget - len(major))))
    urban = _edit_locals(rng_edit, core, density, _concat(major, local), core_barriers, names)
    ring = np.zeros(0, dtype=object)
    if not all_urban:  # a ring road along the edge of the city closes its outermost blocks
        edge = shapely.difference(core.boundary, shapely.union(poly.boundary.buffer(0.05), barriers.zones))
        ring = shapely.get_parts(shapely.line_merge(edge) if edge.geom_type == "MultiLineString" else edge)
        ring = ring[(shapely.get_type_id(ring) == 1) & (shapely.length(ring) > 20.0)]
        # only pieces the city's streets reach (a piece between the river and the railway may not)
        ring = ring[np.isin(np.arange(len(ring)), shapely.STRtree(urban.geom).query(ring, predicate="dwithin", distance=0.05)[0])]
    rural = _rural_network(rng_rural, poly, core, urban, ring, barriers, names, n_villages, n_towns)
    if len(ring):
        urban = _concat(urban, _Lines.of(ring, _SEC, "外环路"))
    urban.editable[:] = False  # the city was checked by its own steps; rural lines get the near-duplicate check
    rural.lines.editable[:] = True
    streets, lengths = _finish_network(_concat(urban, rural.lines), poly)

    sub_geoms: list[Any] | None = None
    extra = None
    if opt.subdistricts is not None:
        sub_geoms, sub_notes = _prepare_subdistricts(poly, opt.subdistricts)
        notes += sub_notes
        extra = shapely.get_parts(shapely.boundary(np.asarray(sub_geoms, dtype=object)))
    streets, faces, outline = _close_with_boundary(streets, poly, extra)
    if extra is not None:
        faces, moved = _absorb_specks(faces, streets)
        if moved:
            notes.append(
                f"subdistricts: {len(moved)} specks of land under 20 m² ({sum(moved):.1f} m² in all), cut off "
                "where a synthetic street crosses a subdistrict line, joined the block across that line"
            )
    rep = shapely.point_on_surface(faces)
    urban_face = shapely.contains(core, rep) if not all_urban else np.ones(len(faces), dtype=bool)
    sub_of_face = None
    if sub_geoms is not None:
        qi, si = shapely.STRtree(np.asarray(sub_geoms, dtype=object)).query(rep, predicate="within")
        sub_of_face = np.full(len(faces), -1, dtype=np.int64)
        sub_of_face[qi[::-1]] = si[::-1]  # the first subdistrict wins on a shared edge
        lost = np.flatnonzero(sub_of_face < 0)
        if len(lost):
            sub_of_face[lost] = shapely.STRtree(np.asarray(sub_geoms, dtype=object)).query_nearest(rep[lost], all_matches=False)[
                1
            ]

    # residents: the urban core at the default district's densities, villages at rural ones
    urban_total = int(round(_CORE_PEOPLE_PER_KM2 * _density_integral(core, density) / 1e6))
    rural_total = int(round(_RURAL_PEOPLE_PER_KM2 * rural_km2)) if len(rural.settlements) else 0
    if opt.population is not None:
        k = opt.population / max(urban_total + rural_total, 1)
        urban_total = int(round(urban_total * k))
        rural_total = opt.population - urban_total
    n_points = int(np.clip(urban_total / _PEOPLE_PER_POINT, min(2_000, urban_total), 45_000))
    pts_u, pop_u = _population(rng_pop, core, faces[urban_face], streets, barriers, density, urban_total, n_points)
    pts_r, pop_r = _rural_population(rng_pop, poly, core, streets, barriers, rural, rural_total)
    people_xy = np.concatenate([np.asarray(pts_u, dtype=object), np.asarray(pts_r, dtype=object)])
    people_n = np.concatenate([pop_u, pop_r]).astype(np.int64)
    if opt.population is not None:
        people_n = _exact_total(people_n, opt.population)
    people = (people_xy, people_n)
    block_pop = _points_per_face(people, faces)

    adjacency = _face_adjacency(faces)
    area = shapely.area(faces)
    w = block_pop + area * (0.2 * max(block_pop.sum(), 1.0) / area.sum())  # land weighs 1/6 of all weight
    communities, comm_of_face, adj_v, comm_notes = _given_communities(
        rng_part, faces, w, block_pop, adjacency, urban_face, opt, sub_of_face, rural_km2
    )
    notes += comm_notes
    if not 1 <= opt.n_grids <= len(faces):
        raise InfeasibleError(
            f"cannot draw {opt.n_grids} existing grids from {len(faces)} street blocks; "
            f"pass n_grids_existing between 1 and {len(faces)}"
        )
    grids = _grids(rng_grid, faces, block_pop, adj_v, communities, comm_of_face, opt.n_grids, weight=w)
    frames = _frames(outline, streets, communities, people, grids, barriers, out_crs, name=opt.name, code=opt.code)

    kinds = np.array([int(k) for k in streets.kind])
    rural_len = float(shapely.length(rural.lines.geom).sum()) / 1e3 if len(rural.lines) else 0.0
    notes.insert(
        0,
        (
            f"synthetic content inside the real boundary ({area_km2:,.1f} km²): the streets, communities, "
            f"population and existing grids are generated (seeded), only the boundary is real"
        ),
    )
    if all_urban:
        notes.append(f"urban throughout: the whole boundary is built up as one city ({area_km2:,.1f} km²)")
    else:
        notes.append(
            f"urban core: {core.area / 1e6:,.1f} km² of dense streets around ({centre[0]:.0f}, {centre[1]:.0f}) "
            f"in {out_crs.name}; rural land: {rural_km2:,.1f} km² with {rural.n_villages} villages and "
            f"{rural.n_towns} township seats joined by about {rural_len:,.0f} km of winding county, township "
            f"and village roads (set urban_km2= or centre= to change the core)"
        )
    density_text = f"{_CORE_PEOPLE_PER_KM2:,.0f}/km² at the city's peak" + (
        f", about {_RURAL_PEOPLE_PER_KM2:.0f}/km² in the countryside" if len(pop_r) else ""
    )
    notes.append(
        f"population: {int(people_n.sum()):,} residents ({int(pop_u.sum()):,} urban, {int(pop_r.sum()):,} rural) on "
        f"{len(people_n):,} address points ({density_text})"
        + (
            f", scaled to population={opt.population:,}"
            if opt.population is not None
            else "; pass population= to set the real total"
        )
    )
    bridges = int((kinds == _BRIDGE).sum())
    notes.append(
        f"streets: {len(streets):,} segments, {shapely.length(streets.geom).sum() / 1e3:,.0f} km, "
        f"{bridges} bridges over the synthetic river {_RIVER_NAME}, railway {_RAILWAY_NAME}"
    )
    if len(lengths) > 1:
        notes.append(
            f"the street network has {len(lengths)} connected components (parts of the land no road "
            f"can reach inside the boundary); their lengths: "
            + ", ".join(f"{x / 1e3:,.1f} km" for x in lengths[:8])
            + (" ..." if len(lengths) > 8 else "")
        )
    if rural.unreached:
        notes.append(f"{rural.unreached} villages have no road (no room for one inside the boundary)")
    return frames, notes
