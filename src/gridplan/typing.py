"""Type aliases shared by gridplan's public signatures.

A parameter that takes several kinds of value is annotated with one of these names, so that a
reader (and a type checker) sees the same words everywhere: a ``crs=`` is always a
:data:`CRSLike`, a file is always a :data:`PathLike`. They are built from the aliases of the
libraries gridplan stands on (:data:`numpy.typing.ArrayLike`, :class:`os.PathLike`,
:class:`pyproj.CRS`, shapely's ``BaseGeometry``), so a value those libraries accept is accepted
here. The public signatures of gridplan carry no ``typing.Any`` (``tests/test_typing.py`` checks
it); a ``params`` mapping of mixed values is a ``dict[str, Any]``.

Two names are for type checkers only, because the libraries they come from are not imported by
``import gridplan``: ``Axes`` (:class:`matplotlib.axes.Axes`) and ``DaskClient``
(:class:`distributed.Client`, the optional ``[distributed]`` extra). Import them under
``if TYPE_CHECKING:``; at run time ``gridplan.typing.Axes`` and ``gridplan.typing.DaskClient``
import their library on first use.

Examples
--------
>>> import pyproj
>>> from gridplan.typing import CRSLike
>>> isinstance(pyproj.CRS("EPSG:4490"), CRSLike) and isinstance("GCJ-02", CRSLike)
True
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Protocol, TypeAlias, TypeVar

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pandas as pd
import pyproj
import shapely
from shapely.geometry.base import BaseGeometry

if TYPE_CHECKING:  # pragma: no cover
    import distributed
    from matplotlib.axes import Axes as Axes

    DaskClient: TypeAlias = distributed.Client

__all__ = [
    "PathLike",
    "CRSLike",
    "ArrayLike",
    "Scalar",
    "GeometryLike",
    "GeoFrameT",
    "PointLike",
    "WeightLike",
    "SimulationLike",
]

PathLike: TypeAlias = str | os.PathLike[str]
"""A file path: a ``str`` or any :class:`os.PathLike` (``pathlib.Path``)."""

CRSLike: TypeAlias = str | int | pyproj.CRS
"""A coordinate reference system: an EPSG code (``4490``), a string pyproj reads (``"EPSG:4548"``,
a WKT or PROJ string), gridplan's datum names ``"GCJ-02"`` (Amap, Tencent) and ``"BD-09"`` (Baidu),
or a :class:`pyproj.CRS`."""

ArrayLike: TypeAlias = npt.ArrayLike
"""Coordinates or values: a scalar, a sequence or an array (:data:`numpy.typing.ArrayLike`)."""

Scalar: TypeAlias = float | np.floating | np.integer
"""One number, Python's or NumPy's: where a function takes a scalar or an array and answers in kind
(:func:`gridplan.crs.transform` gives floats for scalars, arrays for arrays)."""

GeometryLike: TypeAlias = BaseGeometry | gpd.GeoSeries | gpd.GeoDataFrame
"""A shape: a shapely geometry, a GeoSeries or a GeoDataFrame (the last two carry their CRS)."""

GeoFrameT = TypeVar("GeoFrameT", gpd.GeoDataFrame, gpd.GeoSeries)
"""A GeoDataFrame or a GeoSeries, given and returned as the same type (:func:`gridplan.crs.to_crs`)."""

PointLike: TypeAlias = Iterable[float] | shapely.Point
"""A point: an ``(x, y)`` pair (any iterable of two numbers) or a shapely Point."""

WeightLike: TypeAlias = str | Mapping[str, float]
"""The workload of a unit: a factor or column name (``"population"``, ``"street_length"``,
``"area"``, ``"incidents"``, any unit column) or a mapping of factors to their shares
(``{"population": 0.6, "street_length": 0.3, "area": 0.1}``)."""


class SimulationLike(Protocol):
    """Key figures of a simulation: ``summary()`` (a DataFrame or Series of KPIs) and ``per_grid`` (a
    DataFrame indexed by grid code). A :class:`~gridplan.simulate.SimulationResult` is one (also one
    read back from its file), and so is any object of a study of your own that has the two."""

    @property
    def per_grid(self) -> pd.DataFrame: ...

    def summary(self) -> pd.DataFrame | pd.Series: ...


def __getattr__(name: str) -> object:
    """``Axes`` and ``DaskClient`` import matplotlib and distributed only when asked for."""
    if name == "Axes":
        from matplotlib.axes import Axes

        return Axes
    if name == "DaskClient":
        from distributed import Client

        return Client
    raise AttributeError(f"module 'gridplan.typing' has no attribute {name!r}")
