"""Checks that posts, staffing or routes were made for the plan they are used with."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np

from .errors import DataError

if TYPE_CHECKING:  # pragma: no cover
    from .grids import GridPlan


def _check_same_plan(plan: GridPlan, other_grids: Any, what: str) -> None:
    """Refuse posts/staffing/routes made for another plan or district."""
    codes = set(plan.grids["code"].astype(str))
    if other_grids is None:
        return
    if isinstance(other_grids, gpd.GeoDataFrame) and "code" in other_grids:
        theirs = set(other_grids["code"].astype(str))
        if theirs != codes:
            extra = sorted(theirs - codes)[:5]
            raise DataError(
                f"the {what} were made for another plan: their grids {extra or sorted(theirs)[:5]} are not "
                f"the plan's {len(codes)} grids; make it again from this plan"
            )
        if other_grids.crs is not None and plan.grids.crs is not None and not other_grids.crs.equals(plan.grids.crs):
            raise DataError(
                f"the {what} are in {other_grids.crs.to_string()}, the plan in "
                f"{plan.grids.crs.to_string()}: they come from different districts"
            )
        mine = plan.grids.set_index(plan.grids["code"].astype(str)).geometry
        them = other_grids.set_index(other_grids["code"].astype(str)).geometry.reindex(mine.index)
        diff = mine.symmetric_difference(them, align=False).area.to_numpy()
        bad = diff > 1e-3 * np.maximum(mine.area.to_numpy(), 1.0)
        if bad.any():
            raise DataError(
                f"the {what} were made for grids with the same codes but other shapes ({int(bad.sum())} "
                "grids differ): another plan or district; make them again from this plan"
            )


def _grids_of(obj: Any) -> Any:
    return getattr(obj, "_grids", None)
