"""Lossless, atomic GeoPackage storage for gridplan objects (private).

A gridplan file is a GeoPackage with one layer per GeoDataFrame plus a
non-spatial ``gridplan_meta`` table holding JSON: the object kind, its
parameters, and for every layer the index, column order, exact dtypes, the
way each column is stored and the number of rows, so that
``read_file(to_file(x))`` gives back equal frames. A GeoPackage alone loses
the index, categorical dtypes, narrow and nullable integer types, timestamps
below the millisecond, time zones, timedeltas, mixed-type columns and columns
named like its own ``fid``; gridplan stores those in a form the GeoPackage
holds exactly (codes, ISO text, JSON text, safe column names) and restores
them. A column that cannot be stored exactly is refused on save with a
:class:`~gridplan.errors.DataError` naming it.

Every save is atomic and verified (:func:`atomic_write`): the file is written
to a temporary folder beside the target, read back and compared, and only
then moved over the old file in one rename, so a failed save leaves the last
good file untouched.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from .errors import DataError, GridplanError, LayerNotFoundError

META_LAYER = "gridplan_meta"
FORMAT_VERSION = 2
_INDEX_COL = "gridplan_index"
_SAFE_COL = "gridplan_col"
_RESERVED = {"fid", "ogc_fid", META_LAYER}
_EXACT_FLOAT_INT = 2**53  # integers beyond this do not survive a float64 column (nullable ints are read as floats)
_MAX_NAME = 255
#: exceptions a damaged or foreign file raises inside pyogrio/GDAL, pandas and json
_READ_ERRORS = (
    pyogrio.errors.DataSourceError,
    pyogrio.errors.DataLayerError,
    pyogrio.errors.FieldError,
    pyogrio.errors.GeometryError,
    pyogrio.errors.CRSError,
    RuntimeError,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    OverflowError,
    json.JSONDecodeError,
    shapely.errors.ShapelyError,
    OSError,
)


# ---------------------------------------------------------------- atomic writes
def as_path(path: Any, what: str = "path") -> Path:
    """``path`` as a :class:`~pathlib.Path`; anything but a str or path-like is a :class:`DataError`."""
    if isinstance(path, (str, os.PathLike)) and str(path).strip():
        return Path(path)
    raise DataError(f"{what} must be a file path (a str or pathlib.Path), got {path!r}")


def _writable_target(path: Path) -> Path:
    if path.exists() and path.is_dir():
        raise DataError(f"{str(path)!r} is a folder; give a file name to write to")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(
            f"cannot create the folder {str(path.parent)!r}: {exc.strerror or exc}; check the path and your permissions"
        ) from exc
    return path


def atomic_write(
    path: str | os.PathLike[str],
    write: Callable[[Path], Any],
    *,
    verify: Callable[[Path], Any] | None = None,
    companions: tuple[str, ...] = (),
) -> Path:
    """Write a file so that a failure never destroys the existing one.

    ``write(tmp)`` writes to a path in a temporary folder beside ``path`` (same file
    system, same name); ``verify(tmp)``, when given, reads it back and raises if it
    differs from what was meant. Only then is the new file moved over ``path`` with
    one :func:`os.replace` (atomic on POSIX and Windows). ``companions`` lists the
    suffixes of side files written with it (a Shapefile's ``.shx``, ``.dbf``, ...),
    moved just before the main file. Errors of the operating system (a read-only
    folder, a full disk) become :class:`DataError` saying so; the old file stays.
    """
    path = _writable_target(as_path(path))
    try:
        tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".gridplan-tmp", dir=path.parent))
    except OSError as exc:
        raise DataError(
            f"cannot write {str(path)!r}: {exc.strerror or exc}; check that the folder is writable "
            "(the existing file, if any, is unchanged)"
        ) from exc
    tmp = tmpdir / path.name
    try:
        write(tmp)
        if verify is not None:
            verify(tmp)
        for suffix in companions:
            side = tmp.with_suffix(suffix)
            if side.exists():
                os.replace(side, path.with_suffix(suffix))
        os.replace(tmp, path)
    except OSError as exc:
        raise DataError(
            f"cannot write {str(path)!r}: {exc.strerror or exc}; check the folder's permissions and free "
            "space (the existing file, if any, is unchanged)"
        ) from exc
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return path


def write_text(path: str | os.PathLike[str], text: str, *, encoding: str = "utf-8") -> Path:
    """Atomically write a text file, verified by reading it back."""

    def verify(tmp: Path) -> None:
        with open(tmp, encoding=encoding, newline="") as fh:  # exactly the characters written
            back = fh.read()
        if back != text:
            raise DataError(f"{str(path)!r}: the text read back differs from the text written; nothing was replaced")

    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding=encoding, newline=""), verify=verify)


def write_csv(path: str | os.PathLike[str], frame: pd.DataFrame | pd.Series, **kwargs: Any) -> Path:
    """Atomically write ``frame.to_csv(**kwargs)`` as UTF-8, verified by reading the text back."""
    return write_text(path, frame.to_csv(None, **kwargs))


def verify_rows(n: int) -> Callable[[Path], None]:
    """A ``verify`` for :func:`atomic_write`: the vector file written has ``n`` rows."""

    def verify(tmp: Path) -> None:
        try:
            got = pyogrio.read_info(tmp)["features"]
        except _READ_ERRORS as exc:
            raise DataError(f"the file written cannot be read back ({exc}); nothing was replaced") from exc
        if got != n:
            raise DataError(f"{got} rows read back, {n} written; nothing was replaced")

    return verify


def same_file(a: str | Path, b: str | Path) -> bool:
    """True when two paths name the same file (through links, ``..`` or case-insensitive file systems)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def refuse_overwriting_inputs(out: str | Path, inputs: Mapping[str, Any]) -> None:
    """Raise :class:`DataError` when the output path is one of the input files."""
    for what, given in inputs.items():
        if given is not None and same_file(out, given):
            raise DataError(f"the output {str(out)!r} is the {what} file; writing it would destroy the input: give another --out")


# ---------------------------------------------------------------- column codecs
def _dtype_spec(dtype: Any) -> Any:
    if isinstance(dtype, pd.CategoricalDtype):
        return "category"
    return str(dtype)


def _json_name(name: Any, where: str) -> Any:
    if name is None or isinstance(name, (str, bool)):
        return name
    if isinstance(name, (int, np.integer)):
        return int(name)
    if isinstance(name, (float, np.floating)) and math.isfinite(float(name)):
        return float(name)
    raise DataError(
        f"{where}: the column or index name {name!r} ({type(name).__name__}) cannot be stored; rename it "
        "to a string before saving"
    )


def _plain(value: Any) -> Any:
    """A JSON-storable Python scalar equal to ``value``, or raise TypeError."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    raise TypeError(type(value).__name__)


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and math.isnan(value))


def _encode(s: pd.Series, where: str) -> tuple[pd.Series, dict[str, Any]]:
    """The column as the GeoPackage can hold it exactly, and the spec that restores it."""
    dtype = s.dtype
    spec: dict[str, Any] = {"dtype": _dtype_spec(dtype), "codec": "native"}
    if isinstance(dtype, gpd.array.GeometryDtype):
        spec.update(codec="wkb", crs=None if s.crs is None else s.crs.to_wkt())
        return pd.Series(_wkb(s), index=s.index, dtype=object), spec
    if isinstance(dtype, pd.CategoricalDtype):
        cats, cat_spec = _encode(pd.Series(dtype.categories), f"{where} (categories)")
        spec.update(
            codec="codes",
            categories=[_plain(v) if not _is_null(v) else None for v in cats],
            categories_spec=cat_spec,
            ordered=bool(dtype.ordered),
        )
        return pd.Series(s.cat.codes.to_numpy(np.int64), index=s.index), spec
    if isinstance(dtype, pd.DatetimeTZDtype) or dtype.kind == "M":
        if isinstance(dtype, pd.DatetimeTZDtype):
            spec["tz"] = str(dtype.tz)
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        spec["codec"] = "iso"
        return pd.Series([None if pd.isna(v) else v.isoformat() for v in s], index=s.index, dtype=object), spec
    if dtype.kind == "m":
        spec["codec"] = "timedelta"
        return pd.Series([None if pd.isna(v) else str(pd.Timedelta(v)) for v in s], index=s.index, dtype=object), spec
    if dtype.kind in "iu" or isinstance(
        dtype,
        (
            pd.Int64Dtype,
            pd.Int32Dtype,
            pd.Int16Dtype,
            pd.Int8Dtype,
            pd.UInt64Dtype,
            pd.UInt32Dtype,
            pd.UInt16Dtype,
            pd.UInt8Dtype,
        ),
    ):
        values = s.dropna()
        too_big = len(values) and (
            values.max() > np.iinfo(np.int64).max
            or (s.hasnans and max(abs(int(values.max())), abs(int(values.min()))) > _EXACT_FLOAT_INT)
        )
        if too_big:  # beyond int64, or a nullable column read back as floats
            spec["codec"] = "int_text"
            return pd.Series([None if pd.isna(v) else str(int(v)) for v in s], index=s.index, dtype=object), spec
        return s, spec
    if dtype.kind in "fb" or isinstance(dtype, (pd.BooleanDtype, pd.Float64Dtype, pd.Float32Dtype, pd.StringDtype)):
        if dtype == np.float16:
            return s.astype(np.float32), spec
        return s, spec
    if dtype == np.dtype(object):
        values = [v for v in s if not _is_null(v)]
        if all(isinstance(v, str) for v in values):
            return s, spec
        try:
            text = [json.dumps(_plain(v), allow_nan=True) for v in s]
        except TypeError as exc:
            raise DataError(
                f"{where}: column {s.name!r} holds {exc.args[0]} values, which a GeoPackage cannot hold; "
                "convert the column (e.g. .astype(str)) before saving"
            ) from None
        spec["codec"] = "json"
        return pd.Series(text, index=s.index, dtype=object), spec
    raise DataError(
        f"{where}: column {s.name!r} has dtype {dtype}, which a GeoPackage cannot hold; convert it "
        "(e.g. .astype(str) or .astype(float)) before saving"
    )


def _decode(s: pd.Series, spec: Mapping[str, Any]) -> pd.Series:
    """The column :func:`_encode` stored, as it was."""
    codec, dtype = spec["codec"], spec["dtype"]
    if codec == "wkb":
        text = np.array([None if v is None or _is_null(v) else v for v in s], dtype=object)
        return gpd.GeoSeries(shapely.from_wkb(text), index=s.index, crs=spec["crs"], name=s.name)
    if codec == "codes":
        cats = _decode(pd.Series(spec["categories"], dtype=object), spec["categories_spec"])
        codes = pd.to_numeric(s).fillna(-1).astype(np.int64).to_numpy()
        if len(codes) and (codes.max() >= len(cats) or codes.min() < -1):
            raise DataError(f"column {s.name!r} has category codes outside its {len(cats)} categories")
        return pd.Series(
            pd.Categorical.from_codes(codes, categories=pd.Index(cats), ordered=spec["ordered"]), index=s.index, name=s.name
        )
    if codec == "iso":
        out = pd.to_datetime(pd.Series(s, dtype=object).where(s.notna(), None), format="ISO8601")
        if "tz" in spec:
            out = out.dt.tz_localize("UTC").dt.tz_convert(spec["tz"])
        return out.astype(dtype)
    if codec == "timedelta":
        return pd.to_timedelta(pd.Series(s, dtype=object).where(s.notna(), None)).astype(dtype)
    if codec == "int_text":
        return pd.Series([pd.NA if _is_null(v) else int(v) for v in s], index=s.index, dtype=object).astype(dtype)
    if codec == "json":
        return pd.Series([None if _is_null(v) else json.loads(v) for v in s], index=s.index, dtype=object, name=s.name)
    if dtype == "object":  # dtype=object: pandas 3 would otherwise infer its string dtype for text
        values = np.where(s.notna().to_numpy(), s.to_numpy(dtype=object), None)
        return pd.Series(values, index=s.index, name=s.name, dtype=object)
    if str(s.dtype) == dtype:
        return s
    return s.astype(dtype)


# ---------------------------------------------------------------- layers
def list_layers(path: str | os.PathLike[str]) -> list[str]:
    """Names of the layers in a vector file; a clear error if the file is missing or unreadable."""
    path = as_path(path)
    if not path.exists():
        raise DataError(f"file {str(path)!r} does not exist; check the path")
    if path.is_dir() and path.suffix.lower() != ".gdb":
        raise DataError(f"{str(path)!r} is a folder, not a file; give the file's path")
    try:
        return [str(name) for name in pyogrio.list_layers(path)[:, 0]]
    except _READ_ERRORS as exc:
        raise DataError(f"{str(path)!r} is not a readable vector file (GeoPackage expected): {exc}") from exc


def read_vector(path: str | os.PathLike[str], layer: str | int | None = None) -> gpd.GeoDataFrame:
    """Read a vector file (or one layer of it) with every failure a :class:`DataError`."""
    names = list_layers(path)
    if isinstance(layer, str) and layer not in names:
        raise LayerNotFoundError(f"{str(path)!r} has no layer {layer!r}; it has {names}. Pass the right name in layers=...")
    if not names:
        raise DataError(f"{str(path)!r} has no layers")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # GDAL's notes about non-conformant content
            return gpd.read_file(path, layer=layer)
    except _READ_ERRORS as exc:
        raise DataError(
            f"cannot read layer {layer!r} of {str(path)!r}: the file is damaged or not a vector file "
            f"({type(exc).__name__}: {exc})"
        ) from exc


def read_layer(path: str | os.PathLike[str], layer: str) -> gpd.GeoDataFrame:
    """Read one layer, raising :class:`LayerNotFoundError` listing the layers there are."""
    return read_vector(path, layer)


def table_layer(frame: pd.DataFrame, crs: Any) -> gpd.GeoDataFrame:
    """A plain table as a layer :func:`write_frames` can store (an empty geometry column)."""
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame), index=frame.index, crs=crs))


def plain_table(layer: gpd.GeoDataFrame) -> pd.DataFrame:
    """A layer written by :func:`table_layer`, read back by :func:`read_frames`, without its geometry."""
    return pd.DataFrame(layer.drop(columns=layer.geometry.name))


def _stored_names(frame: gpd.GeoDataFrame, where: str) -> list[tuple[Any, str]]:
    """(original name, name in the file) of every non-geometry column: reserved, clashing or odd names are renamed."""
    if frame.columns.has_duplicates:
        dup = frame.columns[frame.columns.duplicated()].tolist()
        raise DataError(f"{where}: duplicate column names {dup}; rename them before saving")
    taken = {frame.geometry.name.lower(), "geom", "geometry"} | _RESERVED
    pairs = []
    for i, col in enumerate(c for c in frame.columns if c != frame.geometry.name):
        original = _json_name(col, where)
        ok = (
            isinstance(col, str)
            and col.strip() == col
            and 0 < len(col) <= _MAX_NAME
            and col.isprintable()
            and col.lower() not in taken
            and not col.lower().startswith((_INDEX_COL, _SAFE_COL))
        )
        stored = col if ok else f"{_SAFE_COL}_{i}"
        taken.add(stored.lower())
        pairs.append((original, stored))
    return pairs


def _encode_layer(name: str, frame: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, Any]]:
    where = f"layer {name!r}"
    if not isinstance(frame, gpd.GeoDataFrame):
        raise DataError(f"{where} is a {type(frame).__name__}, not a GeoDataFrame")
    geometry = frame.geometry.name
    columns: dict[str, Any] = {}
    index_specs = []
    index_names = [_json_name(n, where) for n in frame.index.names]
    if isinstance(frame.index, pd.RangeIndex):
        r = frame.index
        index_specs.append({"range": [int(r.start), int(r.stop), int(r.step)]})
    for i in range(frame.index.nlevels if not index_specs else 0):
        col, spec = _encode(pd.Series(frame.index.get_level_values(i), index=range(len(frame))), f"{where} (index)")
        columns[f"{_INDEX_COL}_{i}"] = col.to_numpy()
        index_specs.append(spec)
    names = _stored_names(frame, where)
    col_specs = []
    for original, stored in names:
        series = (
            frame[original]
            if original in frame.columns
            else frame[next(c for c in frame.columns if _json_name(c, where) == original)]
        )
        col, spec = _encode(series.reset_index(drop=True), f"{where}")
        columns[stored] = col.to_numpy() if not isinstance(col.dtype, pd.api.extensions.ExtensionDtype) else col.array
        col_specs.append({"name": original, "stored": stored, **spec})
    geo = gpd.GeoSeries(np.asarray(frame.geometry.values), crs=frame.crs)
    stored = gpd.GeoDataFrame(columns, geometry=geo, crs=frame.crs)
    layer = {
        "index_names": index_names,
        "index": index_specs,
        "columns": col_specs,
        "geometry": _json_name(geometry, where),
        "order": [_json_name(c, where) for c in frame.columns],
        "rows": len(frame),
    }
    return stored, layer


def write_frames(
    path: str | os.PathLike[str], kind: str, frames: Mapping[str, gpd.GeoDataFrame], params: Mapping[str, Any]
) -> Path:
    """Write ``frames`` as layers of a GeoPackage at ``path``, with metadata, atomically and verified.

    The file is written beside ``path``, read back and compared frame by frame, then
    moved over any existing file in one rename: a failure at any step leaves the old
    file as it was. A column that would not come back equal raises :class:`DataError`
    naming the layer and the column.
    """
    path = as_path(path)
    if path.suffix.lower() != ".gpkg":
        raise DataError(f"gridplan saves to GeoPackage; give a path ending in .gpkg, not {path.name!r}")
    for name in frames:
        if not isinstance(name, str) or name.lower() == META_LAYER or name.lower().startswith(("gpkg_", "rtree_")):
            raise DataError(f"{name!r} cannot name a layer; it is reserved by the GeoPackage or gridplan")
    encoded = {name: _encode_layer(name, frame) for name, frame in frames.items()}
    meta = {
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "params": dict(params),
        "layers": {name: spec for name, (_, spec) in encoded.items()},
    }
    try:
        text = json.dumps(meta, ensure_ascii=False, default=_json_default, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise DataError(f"cannot save the parameters of this {kind}: {exc}") from exc

    def write(tmp: Path) -> None:
        for name, (stored, _) in encoded.items():
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    stored.to_file(tmp, layer=name, driver="GPKG")
            except (
                pyogrio.errors.FieldError,
                pyogrio.errors.DataLayerError,
                pyogrio.errors.DataSourceError,
                pyogrio.errors.GeometryError,
                ValueError,
                TypeError,
                OverflowError,
                NotImplementedError,
            ) as exc:
                raise DataError(f"cannot save layer {name!r} of this {kind}: {exc}") from exc
        table = pd.DataFrame({"key": ["meta"], "value": [text]})
        pyogrio.write_dataframe(table, tmp, layer=META_LAYER)

    def verify(tmp: Path) -> None:
        back, _ = read_frames(tmp, kind)
        for name, frame in frames.items():
            _assert_same(name, frame, back[name])

    return atomic_write(path, write, verify=verify)


def _assert_same(name: str, frame: gpd.GeoDataFrame, back: gpd.GeoDataFrame) -> None:
    where = f"layer {name!r}"
    try:
        pd.testing.assert_index_equal(frame.index, back.index, exact=True, check_exact=True)
    except AssertionError as exc:
        raise DataError(
            f"{where}: the index does not survive a GeoPackage round trip ({_first_line(exc)}); "
            "reset it (frame.reset_index()) before saving"
        ) from None
    if list(frame.columns) != list(back.columns):
        raise DataError(f"{where}: columns {list(frame.columns)} came back as {list(back.columns)}")
    for col in frame.columns:
        a, b = frame[col], back[col]
        if isinstance(a.dtype, gpd.array.GeometryDtype):
            ga, gb = np.asarray(a.array, dtype=object), np.asarray(b.array, dtype=object)
            nulls = shapely.is_missing(ga)
            same = bool(
                np.array_equal(nulls, shapely.is_missing(gb)) and shapely.equals_identical(ga[~nulls], gb[~nulls]).all()
            )  # exact, Z included
        else:
            try:
                pd.testing.assert_series_equal(a, b, check_exact=True, check_names=False, check_freq=False)
                same = True
            except (AssertionError, TypeError, ValueError):
                same = False
        if not same:
            raise DataError(
                f"{where}: column {col!r} ({a.dtype}) does not come back equal from a GeoPackage (e.g. text "
                "with NUL characters); convert or drop it before saving. Nothing was written"
            )


def _wkb(s: pd.Series) -> np.ndarray:
    return np.asarray(shapely.to_wkb(np.asarray(s.array, dtype=object), hex=True), dtype=object)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, (Path, pd.Timestamp, pd.Timedelta)):
        return str(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in gridplan metadata")


def _damaged(path: str | os.PathLike[str], what: str) -> DataError:
    return DataError(
        f"{str(path)!r} is damaged or was edited outside gridplan: {what}; save the object again "
        "or restore the file from a backup"
    )


def read_frames(path: str | os.PathLike[str], kind: str) -> tuple[dict[str, gpd.GeoDataFrame], dict[str, Any]]:
    """Read a file written by :func:`write_frames`; returns ``(frames, params)``.

    Raises :class:`DataError` for a missing, damaged, truncated or foreign file and for
    layers that do not match what was saved (rows deleted or added, columns missing).
    """
    names = list_layers(path)
    if META_LAYER not in names:
        raise DataError(
            f"{str(path)!r} was not written by gridplan (no {META_LAYER!r} table); "
            f"to load your own layers use {kind}.from_file(path, layers=...)"
        )
    try:
        table = pyogrio.read_dataframe(path, layer=META_LAYER)
        meta = json.loads(table["value"].iloc[0])
        if not isinstance(meta, dict):
            raise TypeError(f"it holds a JSON {type(meta).__name__}, not gridplan's table of contents")
        found = meta.get("kind")
        layers = meta["layers"]
        params = meta["params"]
        if not isinstance(layers, dict) or not isinstance(params, dict):
            raise TypeError("its 'layers' and 'params' entries are not tables")
    except _READ_ERRORS as exc:
        raise _damaged(path, f"its {META_LAYER!r} table cannot be read ({type(exc).__name__}: {exc})") from exc
    if found != kind:
        raise DataError(f"{str(path)!r} holds a gridplan {found!r}, not a {kind!r}; use the matching read_file")
    if meta.get("format_version", 1) > FORMAT_VERSION:
        raise DataError(
            f"{str(path)!r} was written by a newer gridplan (file format {meta['format_version']}); upgrade gridplan to read it"
        )
    frames: dict[str, gpd.GeoDataFrame] = {}
    for name, spec in layers.items():
        if name not in names:
            raise LayerNotFoundError(
                f"{str(path)!r} has lost its layer {name!r} (it has {names}); the file was edited "
                "outside gridplan: save the object again or restore the file from a backup"
            )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                raw = gpd.read_file(path, layer=name)
        except _READ_ERRORS as exc:
            raise _damaged(path, f"layer {name!r} cannot be read ({type(exc).__name__}: {exc})") from exc
        try:
            frames[name] = _decode_layer(raw, spec) if "index" in spec else _decode_layer_v1(raw, spec)
        except GridplanError as exc:
            raise _damaged(path, f"layer {name!r}: {exc}") from exc
        except _READ_ERRORS as exc:
            raise _damaged(path, f"layer {name!r} does not match what was saved ({type(exc).__name__}: {exc})") from exc
    return frames, params


def _decode_layer(raw: gpd.GeoDataFrame, spec: Mapping[str, Any]) -> gpd.GeoDataFrame:
    if len(raw) != spec["rows"]:
        raise DataError(f"it has {len(raw)} rows, {spec['rows']} were saved")
    raw = raw.reset_index(drop=True)
    ranged = len(spec["index"]) == 1 and "range" in spec["index"][0]
    wanted = [f"{_INDEX_COL}_{i}" for i in range(0 if ranged else len(spec["index"]))] + [c["stored"] for c in spec["columns"]]
    missing = [c for c in wanted if c not in raw.columns]
    if missing:
        raise DataError(f"columns {missing} are missing")
    levels = [] if ranged else [_decode(raw[f"{_INDEX_COL}_{i}"], s) for i, s in enumerate(spec["index"])]
    if ranged:
        index = pd.RangeIndex(*spec["index"][0]["range"], name=spec["index_names"][0])
        if len(index) != len(raw):
            raise DataError(f"it has {len(raw)} rows, {len(index)} were saved")
    elif len(levels) == 1:
        index = pd.Index(levels[0].rename(None)).rename(spec["index_names"][0])
    else:
        index = pd.MultiIndex.from_arrays(levels, names=spec["index_names"])
    data: dict[Any, Any] = {}
    for c in spec["columns"]:
        col = _decode(raw[c["stored"]], c)
        data[c["name"]] = col.array if not isinstance(col, gpd.GeoSeries) else col.values
    geom = spec["geometry"]
    data[geom] = raw.geometry.values
    out = gpd.GeoDataFrame(data, index=index, geometry=geom, crs=raw.crs)
    for c in spec["columns"]:  # GeoDataFrame() may infer; pin every dtype
        if str(out[c["name"]].dtype) != str(data[c["name"]].dtype):
            out[c["name"]] = pd.Series(data[c["name"]], index=index, dtype=data[c["name"]].dtype)
    return out[spec["order"]]


def _decode_layer_v1(frame: gpd.GeoDataFrame, spec: Mapping[str, Any]) -> gpd.GeoDataFrame:
    """Layers of files written by gridplan 0.1 (format 1)."""
    nidx = len(spec["index_names"])
    idx_cols = [f"{_INDEX_COL}_{i}" for i in range(nidx)]
    for col, dspec in zip(idx_cols, spec["index_dtypes"]):
        frame[col] = _restore_v1(frame[col], dspec)
    frame = frame.set_index(idx_cols)
    frame.index.names = spec["index_names"]
    if frame.geometry.name != spec["geometry"]:
        frame = frame.rename_geometry(spec["geometry"])
    frame = frame[spec["columns"]]
    for col, dspec in spec["dtypes"].items():
        frame[col] = _restore_v1(frame[col], dspec)
    return frame


def _restore_v1(series: pd.Series, spec: Any) -> pd.Series:
    if isinstance(spec, dict) and "category" in spec:
        return series.astype(pd.CategoricalDtype(spec["category"], ordered=spec["ordered"]))
    if spec == "geometry" or str(series.dtype) == spec:
        return series
    return series.astype(spec)


def guarded_read(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a ``read_file``: a damaged file's low-level errors become a :class:`DataError` naming it."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        path = kwargs.get("path", next((a for a in args if isinstance(a, (str, Path))), "the file"))
        with reading(path, "layers and metadata"):
            return func(*args, **kwargs)

    return wrapper


@contextlib.contextmanager
def reading(path: str | os.PathLike[str], what: str) -> Iterator[None]:
    """Turn a damaged file's low-level errors inside the block into a :class:`DataError` naming ``path``."""
    try:
        yield
    except GridplanError:
        raise
    except _READ_ERRORS as exc:
        raise _damaged(path, f"its {what} do not fit together ({type(exc).__name__}: {exc})") from exc
