"""Entry points (:func:`build_sample_frames`, :func:`build_sample`).

Argument checks, the default outline, and the steps of the default district in order.
"""

from __future__ import annotations

import math
from typing import Any

import geopandas as gpd
import numpy as np
import pyproj
import shapely

from .. import _validate
from ..errors import CRSError, DataError, GeometryError, InfeasibleError
from .barriers import _Barriers, _make_railway, _make_river
from .blocks import _close_with_boundary, _face_adjacency, _points_per_face, _population, _population_targets
from .constants import _GRID, _MIN_GIVEN_AREA, DISTRICT_CODE, DISTRICT_NAME, N_SAMPLE_GRIDS, SAMPLE_CENTRE_LONLAT, SAMPLE_EPSG
from .density import _make_density
from .frames import _frames
from .given import _build_given
from .irregular import _edit_locals
from .lines import _concat
from .names import _NamePool
from .options import _GivenOptions
from .partitions import _MIN_BLOCKS_PER_COMMUNITY, _communities, _grids
from .urban import _local_lines, _major_streets


def build_sample_frames(
    seed: int = 0,
    *,
    boundary: shapely.Polygon | shapely.MultiPolygon | None = None,
    crs: Any = None,
    n_grids: int = N_SAMPLE_GRIDS,
    n_communities: int | None = None,
    urban_km2: float | None = None,
    centre: tuple[float, float] | None = None,
    population: int | None = None,
    n_subdistricts: int | None = None,
    subdistricts: list[Any] | None = None,
    subdistrict_names: list[str] | None = None,
    name: str | None = None,
    code: str | None = None,
) -> dict[str, gpd.GeoDataFrame]:
    """Build the frames of a synthetic Chinese district, offline and deterministically.

    Parameters
    ----------
    seed : int, default 0
        Non-negative integer; equal seeds give identical frames, different seeds different
        districts. Each construction step draws from its own child of
        ``numpy.random.SeedSequence(seed)``.
    boundary : shapely Polygon or MultiPolygon, optional
        A district outline in metres (e.g. a real county boundary). ``None`` (default) makes
        a fresh irregular outline of 36-54 km² around lon 107.23, lat 26.58. A given outline
        (at least 4 km²; any number of parts, holes allowed) is kept, snapped to 1 cm, and
        filled: an urban core of ``urban_km2`` with the default district's streets, river,
        railway and densities, and rural land around it with villages, township seats and
        winding rural roads (see the module docstring).
    crs : CRS-like, optional
        CRS of a given ``boundary`` and of the returned frames; default EPSG:4545. Must be
        projected (metres). Without a boundary only EPSG:4545 is accepted.
    n_grids : int, default 12
        Grids of the existing, unbalanced plan.
    n_communities : int, optional
        Number of communities (default: 12-18 drawn; with a boundary about one per 20,000
        urban residents and two per township).
    urban_km2 : float, optional
        Size of the urban core of a given boundary (default: all of it up to 120 km², else
        30 km²: a county seat).
    centre : (x, y), optional
        Centre of the urban core, in ``crs`` (default: the centroid of the boundary's
        largest part when it lies well inside, else the centre of its largest inscribed circle).
    population : int, optional
        Total residents of a given boundary (default: modelled from the densities).
    n_subdistricts : int, optional
        Number of subdistricts of a given boundary (街道 in the core, 镇 outside).
    subdistricts : list of shapely polygons, optional
        Real subdistrict polygons in ``crs``: used as the subdistrict layer (clipped to the
        boundary, gaps and overlaps settled) with synthetic communities inside each.
    subdistrict_names : list of str, optional
        Their names, in the same order.
    name, code : str, optional
        Name and 6-digit code of a given boundary (default 示例区 / 990101).

    Returns
    -------
    dict of str to GeoDataFrame
        All in the same CRS, each with a RangeIndex:

        ``boundary``
            1 row: ``name``, ``code`` and the outline (a Polygon, or the snapped given
            geometry).
        ``streets``
            Noded segments forming one connected network (one per part of the default
            outline; a given boundary's parts that no road can reach inside it have their
            own): ``street_id`` (int64, 0..n-1), ``name``, ``kind`` (one of
            :data:`STREET_KINDS`), LineString geometry.
        ``communities``
            Contiguous unions of street blocks tiling the boundary: ``code`` (12 digits),
            ``name``, ``subdistrict``, ``subdistrict_code`` (9 digits), Polygon geometry
            (a MultiPolygon where a community holds an island of a given boundary).
        ``population``
            Residential address points: ``population`` (int64 ≥ 1), Point geometry.
        ``grids``
            The existing ``n_grids``-grid plan tiling the boundary: ``code`` (community
            code + 2 digits), ``name``, (Multi)Polygon geometry.
        ``river``, ``railway``
            1 row each, ``name`` and the water polygon / track line inside the district
            (for drawing).

    Raises
    ------
    GeometryError
        If ``boundary`` is not a valid, non-empty (Multi)Polygon of at least 4 km².
    CRSError
        If ``boundary`` or ``crs`` is in degrees.
    DataError
        If ``seed`` is not a non-negative integer, ``crs`` is not EPSG:4545 without a
        ``boundary``, an option only a given boundary takes is passed without one, or an
        option is out of range.

    Examples
    --------
    >>> frames = build_sample_frames(0)
    >>> sorted(frames)
    ['boundary', 'communities', 'grids', 'population', 'railway', 'river', 'streets']
    >>> len(frames["grids"]), frames["streets"].crs.to_epsg()
    (12, 4545)
    >>> frames["communities"].columns.tolist()
    ['code', 'name', 'subdistrict', 'subdistrict_code', 'geometry']
    """
    return build_sample(
        seed,
        boundary=boundary,
        crs=crs,
        n_grids=n_grids,
        n_communities=n_communities,
        urban_km2=urban_km2,
        centre=centre,
        population=population,
        n_subdistricts=n_subdistricts,
        subdistricts=subdistricts,
        subdistrict_names=subdistrict_names,
        name=name,
        code=code,
    )[0]


def build_sample(
    seed: int = 0,
    *,
    boundary: shapely.Polygon | shapely.MultiPolygon | None = None,
    crs: Any = None,
    n_grids: int = N_SAMPLE_GRIDS,
    n_communities: int | None = None,
    urban_km2: float | None = None,
    centre: tuple[float, float] | None = None,
    population: int | None = None,
    n_subdistricts: int | None = None,
    subdistricts: list[Any] | None = None,
    subdistrict_names: list[str] | None = None,
    name: str | None = None,
    code: str | None = None,
) -> tuple[dict[str, gpd.GeoDataFrame], list[str]]:
    """:func:`build_sample_frames` plus notes that say what was made (for a given boundary)."""
    seed = _validate.integer(seed, "seed", minimum=0)  # None is refused here: the caller draws and records one
    n_grids = _validate.integer(n_grids, "n_grids_existing", minimum=1)
    n_communities = _validate.integer(n_communities, "n_communities", minimum=1, allow_none=True)
    n_subdistricts = _validate.integer(n_subdistricts, "n_subdistricts", minimum=1, allow_none=True)
    population = _validate.integer(population, "population", minimum=1, allow_none=True)
    _validate.number(urban_km2, "urban_km2 (km²)", above=0, allow_none=True)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(12)]
    out_crs = _check_crs(crs)
    if boundary is not None:
        poly = _check_boundary(boundary)
        if subdistricts is not None:
            if len(subdistricts) == 0:
                raise DataError("subdistricts is empty; pass the subdistrict polygons or leave it out")
            if subdistrict_names is not None and len(subdistrict_names) != len(subdistricts):
                raise DataError("subdistrict_names must have one name per subdistrict")
            if n_subdistricts is not None and n_subdistricts != len(subdistricts):
                raise DataError("n_subdistricts and subdistricts disagree; leave n_subdistricts out")
        if population is not None and population < 1000:
            raise DataError(f"population={population} is too few for a district; pass at least 1,000")
        code = DISTRICT_CODE if not code or not str(code).isdigit() or len(str(code)) != 6 else str(code)
        opt = _GivenOptions(
            urban_km2,
            centre,
            population,
            n_grids,
            n_communities,
            n_subdistricts,
            list(subdistricts) if subdistricts is not None else None,
            [str(x) for x in subdistrict_names] if subdistrict_names is not None else None,
            name or DISTRICT_NAME,
            code,
        )
        return _build_given(streams, poly, out_crs, opt)
    given_only = {
        "urban_km2": urban_km2,
        "centre": centre,
        "population": population,
        "n_subdistricts": n_subdistricts,
        "subdistricts": subdistricts,
    }
    passed = [k for k, v in given_only.items() if v is not None]
    if passed:
        raise DataError(f"{', '.join(passed)} only apply to a given boundary; pass boundary= as well, or drop them")
    if n_communities is not None and n_communities < 2:
        raise DataError(f"n_communities must be at least 2 for the default district, got {n_communities}")
    rng_shape, rng_dens, rng_barrier, rng_art, rng_local, rng_edit, rng_pop, rng_part, rng_grid = streams[:9]
    if out_crs.to_epsg() != SAMPLE_EPSG:
        raise DataError(
            f"crs= only tags a given boundary; the default district is built in EPSG:{SAMPLE_EPSG}. "
            "Drop crs= and reproject the frames afterwards with .to_crs(...)"
        )
    poly = _random_boundary(rng_shape, _projected_centre())
    shapely.prepare(poly)

    density = _make_density(rng_dens, poly)
    river = _make_river(rng_barrier, poly, density.core)
    rail = _make_railway(rng_barrier, poly, density.core, river)
    barriers = _Barriers(river, rail, poly)

    names = _NamePool(rng_local)
    major = _major_streets(rng_art, poly, density, barriers, names)
    local = _local_lines(rng_local, poly, density, major, barriers, names, (2900.0, 4300.0))
    streets = _edit_locals(rng_edit, poly, density, _concat(major, local), barriers, names)
    streets, faces, poly = _close_with_boundary(streets, poly)

    total, n_points = _population_targets(rng_pop)
    people = _population(rng_pop, poly, faces, streets, barriers, density, total, n_points)
    block_pop = _points_per_face(people, faces)

    adjacency = _face_adjacency(faces)
    if n_communities is not None and n_communities > len(faces) // _MIN_BLOCKS_PER_COMMUNITY:
        raise InfeasibleError(
            f"n_communities={n_communities} is too many for the sample district's {len(faces)} street "
            f"blocks; ask for at most {len(faces) // _MIN_BLOCKS_PER_COMMUNITY}"
        )
    communities, comm_of_face = _communities(rng_part, faces, block_pop, adjacency, n_communities)
    if n_communities is not None and len(communities) != n_communities:  # never fewer than asked for, silently
        raise InfeasibleError(
            f"the sample district's {len(faces)} street blocks made {len(communities)} communities, "
            f"not the {n_communities} asked for; ask for fewer (e.g. {len(communities)})"
        )
    if n_grids > len(faces):  # pragma: no cover - the default district has over 1,000 blocks
        raise InfeasibleError(f"cannot draw {n_grids} grids from {len(faces)} street blocks")
    grids = _grids(rng_grid, faces, block_pop, adjacency, communities, comm_of_face, n_grids)

    return _frames(poly, streets, communities, people, grids, barriers, out_crs), []


def _projected_centre() -> tuple[float, float]:
    """The default centre, lon 107.23 / lat 26.58 (CGCS2000), in EPSG:4545 metres."""
    tr = pyproj.Transformer.from_crs("EPSG:4490", f"EPSG:{SAMPLE_EPSG}", always_xy=True)
    x, y = tr.transform(*SAMPLE_CENTRE_LONLAT)
    return float(x), float(y)


def _check_crs(crs: Any) -> pyproj.CRS:
    if crs is None:
        return pyproj.CRS.from_epsg(SAMPLE_EPSG)
    try:
        parsed = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise CRSError(f"unknown crs {crs!r}; pass an EPSG code such as 4545 or a pyproj.CRS") from exc
    if not parsed.is_projected:
        raise CRSError(
            f"crs {crs!r} is not projected; the boundary must be in metres, e.g. reproject "
            "it with gridplan.crs.metric_crs() and pass that CRS"
        )
    return parsed


def _check_boundary(boundary: Any) -> shapely.Polygon | shapely.MultiPolygon:
    """Validate a given metric boundary and snap it to the 1 cm grid."""
    if not isinstance(boundary, (shapely.Polygon, shapely.MultiPolygon)):
        raise GeometryError(
            f"boundary must be a shapely Polygon or MultiPolygon in metres, got "
            f"{type(boundary).__name__}; take it from a GeoDataFrame with gdf.union_all()"
        )
    if boundary.is_empty:
        raise GeometryError("boundary is empty; pass the district outline")
    if not np.isfinite(shapely.get_coordinates(boundary)).all():
        raise GeometryError("boundary has NaN or infinite coordinates; fix or drop those vertices")
    if not boundary.is_valid:
        raise GeometryError(
            f"boundary is invalid ({shapely.is_valid_reason(boundary)}); repair it with "
            "shapely.make_valid(boundary) and keep the polygons"
        )
    minx, miny, maxx, maxy = boundary.bounds
    if max(abs(minx), abs(maxx)) <= 180 and max(abs(miny), abs(maxy)) <= 90 and boundary.area < 1.0:
        raise CRSError(
            "boundary looks like lon/lat degrees; project it to metres first, e.g. "
            "gpd.GeoSeries([b], crs=4326).to_crs(gridplan.crs.metric_crs(b)).iloc[0]"
        )
    snapped = shapely.set_precision(boundary, _GRID)
    if snapped.area < _MIN_GIVEN_AREA:
        raise GeometryError(
            f"boundary covers {snapped.area / 1e6:.2f} km²; the sample district needs at least "
            f"{_MIN_GIVEN_AREA / 1e6:.0f} km² to hold {N_SAMPLE_GRIDS} grids (is it in metres?)"
        )
    return snapped


def _random_boundary(rng: np.random.Generator, centre: tuple[float, float]) -> shapely.Polygon:
    """An irregular, star-shaped district outline of 36-54 km² around ``centre``."""
    theta = np.linspace(0.0, 2.0 * np.pi, 720, endpoint=False)
    log_r = np.zeros_like(theta)
    for k, sd in enumerate((0.10, 0.22, 0.15, 0.10, 0.07, 0.06), start=1):  # broad lobes
        log_r += rng.normal(0.0, sd) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    for k in range(7, 40):  # the wiggles of rivers and ridges that admin lines follow
        log_r += rng.normal(0.0, 0.05 / k**0.6) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = np.exp(np.clip(log_r, -0.6, 0.6))
    ring = np.column_stack([np.cos(theta) * r, np.sin(theta) * r])
    unit_area = shapely.Polygon(ring).area
    scale = math.sqrt(rng.uniform(36e6, 54e6) / unit_area)
    poly = shapely.Polygon(ring * scale + np.asarray(centre))
    return shapely.set_precision(poly, _GRID)
