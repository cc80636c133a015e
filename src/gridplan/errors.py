"""Errors and warnings raised by gridplan.

Every error gridplan raises on purpose derives from :class:`GridplanError`, and
each subclass also derives from the built-in exception that fits, so callers
can catch either ``gridplan.errors.CRSError`` or plain ``ValueError``.
Messages say what is wrong *and* how to fix it.

Examples
--------
>>> from gridplan.errors import CRSError, GridplanError
>>> issubclass(CRSError, GridplanError), issubclass(CRSError, ValueError)
(True, True)
"""

from __future__ import annotations

__all__ = [
    "GridplanError",
    "CRSError",
    "GeometryError",
    "NetworkError",
    "InfeasibleError",
    "DataError",
    "LayerNotFoundError",
    "GridplanWarning",
]


class GridplanError(Exception):
    """Root of every error gridplan raises on purpose."""


class CRSError(GridplanError, ValueError):
    """A coordinate reference system is missing, unknown, mismatched or unsuitable.

    Raised for layers without a CRS, lon/lat data used where metres are needed,
    unknown CRS strings and layers in different CRSs that cannot be reconciled.
    """


class GeometryError(GridplanError, ValueError):
    """A geometry is empty, invalid, of the wrong type or has NaN/infinite coordinates."""


class NetworkError(GridplanError, ValueError):
    """A street network is empty, disconnected where connectivity is needed, or malformed."""


class InfeasibleError(GridplanError, ValueError):
    """The requested plan cannot be made with the given input (e.g. more grids than units)."""


class DataError(GridplanError, ValueError):
    """Tabular input is missing, malformed or inconsistent (columns, values, files)."""


class LayerNotFoundError(DataError, LookupError):
    """A file does not contain a layer that was asked for."""


class GridplanWarning(UserWarning):
    """Something was changed or left out on the user's behalf; the message says what.

    The test-suite turns these into errors (``-W error::gridplan.errors.GridplanWarning``),
    so every expected warning is asserted explicitly.
    """
