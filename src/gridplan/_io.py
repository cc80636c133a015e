"""Lossless GeoPackage storage for gridplan objects (private).

A gridplan file is a GeoPackage with one layer per GeoDataFrame plus a
non-spatial ``gridplan_meta`` table holding JSON: the object kind, its
parameters, and for every layer the index, column order and exact dtypes, so
that ``read_file(to_file(x))`` gives back equal frames (GeoPackage alone loses
the index, categorical dtypes and narrow integer types).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from .errors import DataError, LayerNotFoundError

META_LAYER = "gridplan_meta"
FORMAT_VERSION = 1
_INDEX_COL = "gridplan_index"


def _dtype_spec(dtype: Any) -> Any:
    if isinstance(dtype, pd.CategoricalDtype):
        return {"category": [c for c in dtype.categories.tolist()], "ordered": bool(dtype.ordered)}
    return str(dtype)


def _restore_dtype(series: pd.Series, spec: Any) -> pd.Series:
    if isinstance(spec, dict) and "category" in spec:
        return series.astype(pd.CategoricalDtype(spec["category"], ordered=spec["ordered"]))
    if spec == "geometry" or str(series.dtype) == spec:
        return series
    return series.astype(spec)


def list_layers(path: str | Path) -> list[str]:
    """Names of the layers in a vector file; a clear error if the file is missing."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"file {str(path)!r} does not exist; check the path")
    try:
        return [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except pyogrio.errors.DataSourceError as exc:
        raise DataError(f"{str(path)!r} is not a readable vector file (GeoPackage expected): {exc}") from exc


def read_layer(path: str | Path, layer: str) -> gpd.GeoDataFrame:
    """Read one layer, raising :class:`LayerNotFoundError` listing the layers there are."""
    names = list_layers(path)
    if layer not in names:
        raise LayerNotFoundError(
            f"{str(path)!r} has no layer {layer!r}; it has {names}. Pass the right name in layers=..."
        )
    return gpd.read_file(path, layer=layer)


def table_layer(frame: pd.DataFrame, crs: Any) -> gpd.GeoDataFrame:
    """A plain table as a layer :func:`write_frames` can store (an empty geometry column)."""
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame), index=frame.index, crs=crs))


def plain_table(layer: gpd.GeoDataFrame) -> pd.DataFrame:
    """A layer written by :func:`table_layer`, read back by :func:`read_frames`, without its geometry."""
    return pd.DataFrame(layer.drop(columns=layer.geometry.name))


def write_frames(path: str | Path, kind: str, frames: Mapping[str, gpd.GeoDataFrame], params: Mapping[str, Any]) -> Path:
    """Write ``frames`` as layers of a new GeoPackage at ``path``, with metadata.

    An existing file at ``path`` is replaced (GeoPackage layers would otherwise
    be mixed with those of an older object).
    """
    path = Path(path)
    if path.suffix.lower() != ".gpkg":
        raise DataError(f"gridplan saves to GeoPackage; give a path ending in .gpkg, not {path.name!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    layers: dict[str, Any] = {}
    for name, frame in frames.items():
        stored = frame.copy()
        index_names = list(stored.index.names)
        stored.index.names = [f"{_INDEX_COL}_{i}" for i in range(stored.index.nlevels)]
        stored = stored.reset_index()
        layers[name] = {
            "index_names": index_names,
            "index_dtypes": [_dtype_spec(stored[c].dtype) for c in stored.columns[: len(index_names)]],
            "columns": [str(c) for c in frame.columns],
            "dtypes": {str(c): _dtype_spec(frame[c].dtype) for c in frame.columns if c != frame.geometry.name},
            "geometry": frame.geometry.name,
        }
        for col, dtype in stored.dtypes.items():
            if isinstance(dtype, pd.CategoricalDtype):
                stored[col] = stored[col].astype(object)
        stored.to_file(path, layer=name, driver="GPKG")
    meta = {"format_version": FORMAT_VERSION, "kind": kind, "params": dict(params), "layers": layers}
    table = pd.DataFrame({"key": ["meta"], "value": [json.dumps(meta, ensure_ascii=False, default=_json_default)]})
    pyogrio.write_dataframe(table, path, layer=META_LAYER)
    return path


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in gridplan metadata")


def read_frames(path: str | Path, kind: str) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, Any]]:
    """Read a file written by :func:`write_frames`; returns ``(frames, params)``."""
    names = list_layers(path)
    if META_LAYER not in names:
        raise DataError(
            f"{str(path)!r} was not written by gridplan (no {META_LAYER!r} table); "
            f"to load your own layers use {kind}.from_file(path, layers=...)"
        )
    table = pyogrio.read_dataframe(path, layer=META_LAYER)
    meta = json.loads(table["value"].iloc[0])
    if meta.get("kind") != kind:
        raise DataError(f"{str(path)!r} holds a gridplan {meta.get('kind')!r}, not a {kind!r}; use the matching read_file")
    frames: dict[str, gpd.GeoDataFrame] = {}
    for name, spec in meta["layers"].items():
        frame = gpd.read_file(path, layer=name)
        nidx = len(spec["index_names"])
        idx_cols = [f"{_INDEX_COL}_{i}" for i in range(nidx)]
        for col, dspec in zip(idx_cols, spec["index_dtypes"]):
            frame[col] = _restore_dtype(frame[col], dspec)
        frame = frame.set_index(idx_cols)
        frame.index.names = spec["index_names"]
        if frame.geometry.name != spec["geometry"]:
            frame = frame.rename_geometry(spec["geometry"])
        frame = frame[spec["columns"]]
        for col, dspec in spec["dtypes"].items():
            frame[col] = _restore_dtype(frame[col], dspec)
        frames[name] = frame
    return frames, meta["params"]
