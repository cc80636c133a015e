"""gridplan: computable grid-based city management (网格化城市管理).

The few names a notebook needs are here; each capability lives in the module
named after it (:mod:`gridplan.crs`, :mod:`gridplan.district`,
:mod:`gridplan.network`, :mod:`gridplan.datasets`, ...).
"""

from __future__ import annotations

from . import crs, errors
from .datasets import sample_district
from .district import District
from .errors import GridplanError
from .evaluation import evaluate
from .network import StreetNetwork

# the verbs and result classes, so that `gridplan.partition(...)` works (module paths keep working)
from .datasets import sample_roster  # noqa: E402
from .grids import GridPlan, partition, resplit  # noqa: E402
from .ledger import read_ledger  # noqa: E402
from .locate import GridIndex  # noqa: E402
from .posts import Posts, place_posts  # noqa: E402
from .routes import RoutePlan, balance_routes  # noqa: E402
from .simulate import SimulationResult, simulate  # noqa: E402
from .staffing import Staffing, assign_staff  # noqa: E402
from .teams import place_teams  # noqa: E402

__version__ = "0.1.0"
__all__ = ["crs", "errors", "District", "StreetNetwork", "GridplanError", "sample_district", "__version__",
           "evaluate", "partition", "resplit", "GridPlan", "balance_routes", "RoutePlan", "place_posts", "Posts",
           "assign_staff", "Staffing", "GridIndex", "simulate", "SimulationResult", "sample_roster", "read_ledger",
           "place_teams"]
