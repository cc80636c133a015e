"""Regions of a city: independent pieces (districts) solved apart, and the seams between them.

The private kernel of :mod:`gridplan.city`. A city is a :class:`~gridplan.district.District`
whose boundary has one row per district (a region). Everything here is deterministic and
does not depend on how many workers run the regions.

* :func:`split_city` cuts the city into one sub-district per region: its boundary row, the
  city streets within :data:`REACH_FACTOR` × ``max_walk_m`` of it (so walks and patrols may
  cross the seam as they can in the city), its communities and its residents (a point on a
  seam belongs to the first region that covers it).
* :func:`allocate` shares out a whole number of grids (or posts) in proportion to the
  regions' weights: largest remainders (Hamilton), at least ``minimum`` each, ties to the
  earlier region.
* :func:`colour_regions` colours the regions so that two regions of one colour are more than
  2 × ``max_walk_m`` apart: no resident can reach posts of both, so regions of one colour can
  be re-solved at the same time without touching each other's objective (the seam
  reconciliation of posts runs colour by colour).
* :func:`merge_plans` puts the regions' grid plans together into one city
  :class:`~gridplan.grids.GridPlan` (grids never cross a region's boundary).
* :func:`nearest_source` is one multi-source Dijkstra (``min_only``): every node's distance to
  its nearest post, in O(E log V) whatever the number of posts (the city's coverage study).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from .district import District
from .errors import DataError

REACH_FACTOR = 2.0
"""A region's streets reach this many walking distances beyond its boundary: a resident within
``max_walk_m`` of the region snaps to a street node at most ``max_walk_m`` further away, so every
walk of ``max_walk_m`` that a post of the region can serve stays on the region's streets."""


@dataclass
class Region:
    """One piece of the city: its code, name, polygon, position and sub-district."""

    code: str
    name: str
    polygon: Any
    position: int
    district: District


def region_table(city: District) -> gpd.GeoDataFrame:
    """The city's boundary rows as regions: ``code`` (from ``code``/``adcode``, else ``R01``...), ``name``."""
    b = city.boundary.reset_index(drop=True)
    if "code" in b.columns and b["code"].notna().all() and b["code"].astype(str).str.len().gt(0).all():
        codes = b["code"].astype(str).tolist()
    elif "adcode" in b.columns and b["adcode"].notna().all():
        codes = b["adcode"].astype(str).tolist()
    else:
        codes = [f"R{i + 1:02d}" for i in range(len(b))]
    if len(set(codes)) != len(codes):
        dup = sorted({c for c in codes if codes.count(c) > 1})
        raise DataError(
            f"district codes repeat in the boundary layer: {dup[:5]}; give every district row its own code (column 'code')"
        )
    names = b["name"].astype(str).tolist() if "name" in b.columns else codes
    return gpd.GeoDataFrame({"code": codes, "name": names}, geometry=b.geometry.values, crs=city.crs)


def owner_of(points: np.ndarray, polygons: Sequence[Any]) -> np.ndarray:
    """Position of the first polygon covering each point (-1: none)."""
    owner = np.full(len(points), -1, dtype=np.int64)
    for i, poly in enumerate(polygons):
        free = owner < 0
        if not free.any():
            break
        hit = shapely.covers(poly, points[free])
        idx = np.flatnonzero(free)[hit]
        owner[idx] = i
    return owner


def split_city(city: District, *, max_walk_m: float, regions: gpd.GeoDataFrame | None = None) -> list[Region]:
    """One sub-district per region (see the module docstring); regions default to the boundary's rows."""
    regions = region_table(city) if regions is None else regions
    polys = list(regions.geometry.values)
    reach = REACH_FACTOR * float(max_walk_m)
    streets = city.streets
    st_tree = shapely.STRtree(np.asarray(streets.geometry.values))
    pop_owner = owner_of(np.asarray(city.population.geometry.values), polys) if len(city.population) else np.zeros(0)
    comm = city.communities
    comm_owner = (
        owner_of(shapely.point_on_surface(np.asarray(comm.geometry.values)), polys) if len(comm) else np.zeros(0, np.int64)
    )
    out = []
    for i, (code, name, poly) in enumerate(zip(regions["code"], regions["name"], polys)):
        near = np.sort(st_tree.query(shapely.buffer(poly, reach), predicate="intersects"))
        boundary = gpd.GeoDataFrame({"name": [name], "code": [code]}, geometry=[poly], crs=city.crs)
        layers: dict[str, Any] = {"streets": streets.iloc[near].reset_index(drop=True)}
        if len(comm):
            c = comm[comm_owner == i].copy()
            if len(c):
                c["geometry"] = _polygonal(shapely.intersection(np.asarray(c.geometry.values), poly))
                c = c[~c.geometry.is_empty & (c.geometry.area > 0)]
                layers["communities"] = c.reset_index(drop=True)
        if len(city.population):
            layers["population"] = city.population[pop_owner == i].reset_index(drop=True)
        if len(layers["streets"]) == 0:
            raise DataError(
                f"district {code} ({name}) has no streets: every district needs street centrelines for units, patrols and posts"
            )
        d = District.from_frames(boundary, metric_crs=city.crs, name=name, code=code, synthetic=city.synthetic, **layers)
        out.append(Region(code=code, name=name, polygon=poly, position=i, district=d))
    return out


def cluster_grids(plan: Any, k: int) -> np.ndarray:
    """Region (0..k-1) of every grid of ``plan``: recursive coordinate bisection of the grids' centres.

    Each cut runs across the longer side of the group's extent, at the grid that splits the group's
    grids in the proportion of the regions asked of each side (ties by grid code), so regions get
    nearly equal numbers of grids and stay compact. Deterministic.
    """
    pts = shapely.point_on_surface(np.asarray(plan.grids.geometry.values))
    xy = shapely.get_coordinates(pts)
    codes = plan.grids["code"].astype(str).to_numpy()
    label = np.zeros(len(xy), dtype=np.int64)

    def split(idx: np.ndarray, parts: int, first: int) -> None:
        if parts == 1 or len(idx) <= 1:
            label[idx] = first
            return
        span = xy[idx].max(axis=0) - xy[idx].min(axis=0)
        axis = int(span[1] > span[0])
        order = idx[np.lexsort((codes[idx], xy[idx, axis]))]
        left_parts = parts // 2
        cut = max(1, min(len(order) - 1, round(len(order) * left_parts / parts)))
        split(order[:cut], left_parts, first)
        split(order[cut:], parts - left_parts, first + left_parts)

    split(np.arange(len(xy)), min(int(k), len(xy)), 0)
    return label


def sub_plan(plan: Any, grids: np.ndarray) -> Any:
    """The plan restricted to the grids at positions ``grids`` (units, adjacency and codes kept)."""
    from .grids import GridPlan

    keep = np.isin(plan.labels, grids)
    remap = np.full(plan.n_grids, -1, dtype=np.int64)
    remap[np.sort(grids)] = np.arange(len(grids))
    units = plan.units[keep].reset_index(drop=True).drop(columns=["grid"])
    adj = plan.adjacency[keep][:, keep]
    codes = plan.grids["code"].astype(str).to_numpy()[np.sort(grids)]
    return GridPlan(units, remap[plan.labels[keep]], adj, params=dict(plan.params), codes=list(codes), source_crs=plan.source_crs)


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Only the polygon parts of each geometry (clipping can leave lines and points on the cut)."""
    out = []
    for g in geoms:
        if g.geom_type in ("Polygon", "MultiPolygon"):
            out.append(g)
            continue
        parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
        out.append(shapely.union_all(parts) if parts else shapely.Polygon())
    return np.asarray(out, dtype=object)


def allocate(total: int, weights: Sequence[float], *, minimum: int = 1) -> np.ndarray:
    """Share ``total`` among regions in proportion to ``weights`` (largest remainders, ≥ ``minimum`` each)."""
    w = np.asarray(weights, dtype=float)
    n = len(w)
    if total < minimum * n:
        raise DataError(f"{total} is too few for {n} districts with at least {minimum} each")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        w = np.ones(n)
    quota = minimum + (total - minimum * n) * w / w.sum()
    base = np.floor(quota).astype(np.int64)
    left = int(total - base.sum())
    order = np.lexsort((np.arange(n), -(quota - base)))  # largest remainder first, ties to the earlier region
    base[order[:left]] += 1
    return base


def colour_regions(polygons: Sequence[Any], *, distance_m: float) -> np.ndarray:
    """Greedy colouring (in region order) so that same-coloured regions are more than ``distance_m`` apart."""
    n = len(polygons)
    colour = np.full(n, -1, dtype=np.int64)
    geoms = np.asarray(polygons, dtype=object)
    for i in range(n):
        near = shapely.distance(geoms[i], geoms[:i]) <= distance_m if i else np.zeros(0, bool)
        used = set(colour[:i][near].tolist())
        c = 0
        while c in used:
            c += 1
        colour[i] = c
    return colour


def merge_plans(plans: Sequence[Any], city: District, params: dict[str, Any]) -> Any:
    """One city GridPlan from the regions' plans (units stacked, adjacency block-diagonal, codes kept)."""
    from .grids import GridPlan

    units, labels, codes, blocks = [], [], [], []
    notes: list[str] = []
    offset = 0
    for plan in plans:
        u = plan.units.reset_index(drop=True).drop(columns=["grid"], errors="ignore")
        units.append(u)
        labels.append(plan.labels + offset)
        codes.extend(plan.grids["code"].astype(str).tolist())
        blocks.append(plan.adjacency)
        notes.extend(f"{plan.params.get('district_code', '')}: {n}" for n in plan.notes)
        offset += plan.n_grids
    if len(set(codes)) != len(codes):
        dup = sorted({c for c in codes if codes.count(c) > 1})
        raise DataError(f"grid codes repeat across districts ({dup[:5]}): give every district its own code")
    frame = gpd.GeoDataFrame(pd.concat(units, ignore_index=True), geometry="geometry", crs=city.crs)
    plan = GridPlan(
        frame,
        np.concatenate(labels),
        sparse.block_diag(blocks, format="csr"),
        params=params,
        notes=notes,
        codes=codes,
        source_crs=city.source_crs,
    )
    plan.district = city
    return plan


def nearest_source(csr: sparse.csr_matrix, sources: np.ndarray, *, limit: float = np.inf) -> tuple[np.ndarray, np.ndarray]:
    """Per node: distance to the nearest of ``sources`` and which source (-1 if none within ``limit``)."""
    n = csr.shape[0]
    if len(sources) == 0:
        return np.full(n, np.inf), np.full(n, -1, dtype=np.int64)
    uniq = np.unique(np.asarray(sources, dtype=np.int64))
    dist, _, src = csgraph.dijkstra(csr, directed=False, indices=uniq, min_only=True, limit=limit, return_predecessors=True)
    return dist, np.asarray(src, dtype=np.int64)
