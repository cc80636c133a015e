"""gridplan: computable grid-based city management (网格化城市管理).

The few names a notebook needs are here; each capability lives in the module
named after it (:mod:`gridplan.crs`, :mod:`gridplan.district`,
:mod:`gridplan.network`, :mod:`gridplan.datasets`, ...).
"""

from __future__ import annotations

from . import crs, errors
from . import report as _report  # noqa: F401  (registers GridPlan.report's writer; grids never imports report)
from ._version import __version__
from .datasets import sample_district
from .district import District
from .errors import GridplanError
from .evaluation import evaluate
from .network import StreetNetwork

__all__ = ["crs", "errors", "District", "StreetNetwork", "GridplanError", "sample_district", "__version__",
           "evaluate"]
