"""The staggered shifts and the reading of a roster's ``unavailable`` column.

Shared by :mod:`gridplan.staffing` and its monthly roster kernel :mod:`gridplan._roster`, so that
neither imports the other's internals.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from .errors import DataError

SHIFTS = ("early", "middle", "late")
"""The staggered shifts (早、中、晚错时值班)."""

_SHIFT_ALIASES = {"早": "early", "早班": "early", "中": "middle", "中班": "middle", "晚": "late", "晚班": "late"}


def _parse_unavailable(values: pd.Series, ids: pd.Series, shifts: tuple[str, ...]) -> np.ndarray:
    lookup = {s.casefold(): j for j, s in enumerate(shifts)}
    if set(shifts) == set(SHIFTS):
        lookup.update({k: shifts.index(v) for k, v in _SHIFT_ALIASES.items()})
    out = np.ones((len(values), len(shifts)), bool)
    bad = []
    for i, v in enumerate(values.tolist()):
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            continue
        if isinstance(v, str):
            items = [t for t in re.split(r"[;,；，]", v)]
        elif isinstance(v, (list, tuple, set, frozenset, np.ndarray, pd.Series)):
            items = [str(t) for t in v]
        else:
            bad.append((ids.iloc[i], v))
            continue
        for t in items:
            t = t.strip().casefold()
            if not t:
                continue
            if t not in lookup:
                bad.append((ids.iloc[i], t))
            else:
                out[i, lookup[t]] = False
    if bad:
        raise DataError(
            f"unavailable names shifts that are not in shifts={shifts}: {bad[:5]}; write them as a "
            "list or a ';'-separated string of those names"
        )
    return out
