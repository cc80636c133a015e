"""Exhaustive sweep behind the hypothesis fuzz: every fuzzed parameter of every public entry point of
``tests/test_reliability_fuzz.py`` with each of 30 bad values; prints every call that lets anything but a
``GridplanError`` escape (or runs over 20 s), then the number of calls.

Run (from the repository root, takes ~10 minutes): PYTHONPATH=src python benchmarks/reliability_sweep.py [TARGET ...]
"""

from __future__ import annotations

import signal
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests import test_reliability_fuzz as fuzz

from gridplan.errors import GridplanError

BAD = [
    -1,
    0,
    -0.5,
    1.5,
    10**19,
    float("nan"),
    float("inf"),
    "abc",
    "",
    None,
    True,
    [],
    [1, "a"],
    {},
    {"a": 1},
    object(),
    np.int64(-1),
    2**63,
    "0.1",
    (1, 2),
    -1e-9,
    b"x",
    pd.NaT,
    "EPSG:4326",
    "GCJ-02",
    np.random.SeedSequence(1),
    pd.Timestamp("2026-01-01"),
    [0],
    ["x"],
    3,
]


class Slow(BaseException):
    """A call that ran past the alarm."""


def _alarm(*_: object) -> None:
    raise Slow("over 20 s")


def main(only: list[str]) -> int:
    signal.signal(signal.SIGALRM, _alarm)
    warnings.simplefilter("ignore")
    calls = failures = 0
    for name, (_, _, _, params) in fuzz._targets().items():
        if only and name not in only:
            continue
        for param in params:
            for bad in BAD:
                calls += 1
                signal.alarm(20)
                try:
                    fuzz._call(name, param, bad)
                except GridplanError:
                    pass
                except BaseException as exc:  # noqa: BLE001 - reporting what escaped is the point
                    failures += 1
                    print("ESCAPED", name, param, repr(bad)[:25], type(exc).__name__, str(exc)[:160], flush=True)
                finally:
                    signal.alarm(0)
        print("done", name, flush=True)
    print(f"{calls} calls, {failures} escaped")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
