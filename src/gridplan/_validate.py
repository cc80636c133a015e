"""Argument checks shared by every public function (private).

One place decides what a seed, a count, a tolerance, a time limit or an option
may be, and every refusal is a :class:`~gridplan.errors.DataError` that names
the argument, shows what was given and says what is allowed, so no raw numpy,
pandas or ``TypeError`` from deep inside reaches the user.

Examples
--------
>>> seed(7), integer(3, "n_grids", minimum=1), number(0.05, "tolerance", minimum=0, below=1)
(7, 3, 0.05)
>>> number("0.05", "tolerance", minimum=0, below=1)
Traceback (most recent call last):
...
gridplan.errors.DataError: tolerance must be a number >= 0 and < 1, got '0.05' (str)
>>> choice("metis", "method", ("metis", "kernel"))
'metis'
>>> choice("metsi", "method", ("metis", "kernel"))
Traceback (most recent call last):
...
gridplan.errors.DataError: method must be one of 'metis', 'kernel', got 'metsi' (did you mean 'metis'?)
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np

from .errors import DataError

__all__ = ["boolean", "choice", "column", "columns", "integer", "number", "seed"]

_SEED_MAX = 2**128  # numpy's SeedSequence takes any non-negative int; keep params JSON-friendly and bounded


def _given(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def seed(value: Any, name: str = "seed") -> int:
    """A reproducible seed as a non-negative int.

    Accepts what :func:`numpy.random.default_rng` accepts for a reproducible stream: an int
    ``>= 0`` (numpy integers too), a :class:`numpy.random.SeedSequence` (its first 64-bit
    word, so the same sequence gives the same result), or ``None`` for fresh entropy (the int
    drawn is returned, so results still record the seed that reproduces them).

    >>> seed(np.int64(3)), seed(np.random.SeedSequence(1)) == seed(np.random.SeedSequence(1))
    (3, True)
    >>> 0 <= seed(None) < 2**63
    True
    """
    if value is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(value, np.random.SeedSequence):
        return int(value.generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise DataError(f"{name} must be a whole number >= 0, None or a numpy SeedSequence, got {_given(value)}")
    if not 0 <= int(value) < _SEED_MAX:
        raise DataError(f"{name} must be a whole number >= 0 (numpy refuses negative seeds), got {int(value)}")
    return int(value)


def integer(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None, allow_none: bool = False) -> Any:
    """A whole number within ``[minimum, maximum]`` (floats such as ``3.0`` are refused: say 3)."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise DataError(f"{name} must be a whole number{_range(minimum, maximum)}, got {_given(value)}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise DataError(f"{name} must be a whole number{_range(minimum, maximum)}, got {value}")
    return value


def number(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    above: float | None = None,
    below: float | None = None,
    allow_none: bool = False,
    allow_inf: bool = False,
) -> Any:
    """A finite real number (``inf`` only with ``allow_inf``) within the bounds given.

    ``minimum``/``maximum`` are inclusive, ``above``/``below`` exclusive.
    """
    if value is None and allow_none:
        return None
    positive = above == 0 and minimum is None and maximum is None and below is None
    wanted = "a positive number" if positive else f"a number{_bounds(minimum, maximum, above, below)}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise DataError(f"{name} must be {wanted}, got {_given(value)}")
    v = float(value)
    if math.isnan(v) or (math.isinf(v) and not allow_inf):
        raise DataError(f"{name} must be a finite {wanted[2:]}, got {v}")
    if (
        (minimum is not None and v < minimum)
        or (maximum is not None and v > maximum)
        or (above is not None and v <= above)
        or (below is not None and v >= below)
    ):
        raise DataError(f"{name} must be {wanted}, got {v:g}")
    return v


def choice(value: Any, name: str, options: Iterable[Any]) -> Any:
    """``value`` if it is one of ``options``; else a DataError listing them (and the closest, if any)."""
    options = list(options)
    try:
        if value in options:
            return value
    except TypeError:  # unhashable or incomparable
        pass
    listed = ", ".join(repr(o) for o in options)
    close = difflib.get_close_matches(str(value), [str(o) for o in options], n=1) if isinstance(value, str) else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise DataError(f"{name} must be one of {listed}, got {value!r}{hint}")


def boolean(value: Any, name: str) -> bool:
    """True or False (numpy booleans too); anything else is refused rather than taken for its truth."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise DataError(f"{name} must be True or False, got {_given(value)}")


def column(frame: Any, name: Any, what: str, *, allow_none: bool = False) -> Any:
    """``name`` if it is a column of ``frame``; else a DataError listing the columns (and the closest)."""
    if name is None and allow_none:
        return None
    cols = list(getattr(frame, "columns", []))
    try:
        if name in cols:
            return name
    except TypeError:
        pass
    close = difflib.get_close_matches(str(name), [str(c) for c in cols], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise DataError(f"{what} column {name!r} is not in the data{hint} (columns: {cols[:20]})")


def columns(frame: Any, names: Iterable[Any], what: str) -> list[Any]:
    """Every name a column of ``frame`` (see :func:`column`)."""
    return [column(frame, n, what) for n in names]


def _range(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum} to {maximum}"
    if minimum is not None:
        return f" >= {minimum}"
    if maximum is not None:
        return f" <= {maximum}"
    return ""


def _bounds(minimum: float | None, maximum: float | None, above: float | None, below: float | None) -> str:
    parts = [
        f">= {minimum:g}" if minimum is not None else "",
        f"> {above:g}" if above is not None else "",
        f"<= {maximum:g}" if maximum is not None else "",
        f"< {below:g}" if below is not None else "",
    ]
    parts = [p for p in parts if p]
    return (" " + " and ".join(parts)) if parts else ""
