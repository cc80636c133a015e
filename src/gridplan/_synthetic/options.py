"""Options of a given (real) boundary, gathered once from the public arguments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .constants import DISTRICT_CODE, DISTRICT_NAME, N_SAMPLE_GRIDS


@dataclass
class _GivenOptions:
    """Options of a district grown inside a given boundary (all in the output CRS, metres)."""

    urban_km2: float | None = None
    centre: tuple[float, float] | None = None
    population: int | None = None
    n_grids: int = N_SAMPLE_GRIDS
    n_communities: int | None = None
    n_subdistricts: int | None = None
    subdistricts: list[Any] | None = None
    subdistrict_names: list[str] | None = None
    name: str = DISTRICT_NAME
    code: str = DISTRICT_CODE
