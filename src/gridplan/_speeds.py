"""The two walking speeds gridplan assumes, defined once (a reader must not confuse them).

``RESIDENT_WALK_M_PER_MIN``
    A resident walking to a post or service: 80 m/min (4.8 km/h), used for the minutes of the
    life circle where GB 50180-2018 gives no distance (:mod:`gridplan.posts`, :mod:`gridplan.city`).
``PATROL_WALK_M_PER_MIN``
    A road chief (路长) on an inspecting patrol, slower because they look at every street: 60 m/min
    (3.6 km/h), used by :mod:`gridplan.routes` (frequency, revisit interval), the simulation's patrols
    and the supervisors' beats.

Both are assumptions of gridplan, not figures from the five source articles.
"""

from __future__ import annotations

__all__ = ["RESIDENT_WALK_M_PER_MIN", "PATROL_WALK_M_PER_MIN"]

RESIDENT_WALK_M_PER_MIN = 80.0
"""A resident's walking speed (m/min) to a post or service: the life circle's minutes."""

PATROL_WALK_M_PER_MIN = 60.0
"""A road chief's inspecting patrol speed (m/min): slower than a resident's walk."""
