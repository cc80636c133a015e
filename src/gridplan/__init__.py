"""gridplan: computable grid-based city management (网格化城市管理).

The verbs and result classes a notebook or a service needs are here, as osmnx
re-exports its API; each capability lives in the module named after it
(:mod:`gridplan.grids`, :mod:`gridplan.routes`, :mod:`gridplan.locate`, ...), and
those module paths keep working. One name is both: ``gridplan.simulate`` is the
function; the rest of its module comes with a from-import
(``from gridplan.simulate import IncidentModel``).

>>> import gridplan
>>> district = gridplan.sample_district(seed=0)
>>> plan = gridplan.partition(district, 15, seed=0)
>>> plan.n_grids
15
"""

from __future__ import annotations

from . import crs, errors
from . import report as _report  # noqa: F401  (registers GridPlan.report's writer; grids never imports report)
from ._version import __version__
from .datasets import sample_district, sample_roster
from .district import District
from .errors import GridplanError
from .evaluation import evaluate
from .grids import GridPlan, PlanComparison, partition, resplit
from .ledger import read_ledger
from .locate import GridIndex
from .network import StreetNetwork
from .posts import Coverage, Posts, place_posts
from .routes import RoutePlan, balance_routes
from .simulate import IncidentModel, SimulationResult, simulate
from .staffing import Staffing, assign_staff, roster
from .teams import Teams, place_teams

__all__ = [
    # districts and their data
    "District",
    "StreetNetwork",
    "sample_district",
    "sample_roster",
    "read_ledger",
    # grids
    "partition",
    "resplit",
    "GridPlan",
    "PlanComparison",
    # patrols, posts, teams and staff
    "balance_routes",
    "RoutePlan",
    "place_posts",
    "Posts",
    "Coverage",
    "place_teams",
    "Teams",
    "assign_staff",
    "Staffing",
    "roster",
    # incidents
    "GridIndex",
    "simulate",
    "SimulationResult",
    "IncidentModel",
    "evaluate",
    # modules and errors
    "crs",
    "errors",
    "GridplanError",
    "__version__",
]
