"""When a session was last active, when it goes stale, and which paths recent work touched.

Pure functions over plain values (no pydantic): the policy
(:mod:`sidecar.core.policy`), the activity check of the append path
(:func:`sidecar.services.drift.activity_check`) and an agent hook's quiet path
(:func:`sidecar.services.agents.record_agent_call`) all judge activity with
these, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from sidecar.core.footprint import paths_from_event

if TYPE_CHECKING:
    from sidecar.core.kinds import Appendable
    from sidecar.core.models import Event, Recommendation

#: A session idle longer than this is stale: a reason to start fresh (SPEC section 4).
DEFAULT_STALE_AFTER = timedelta(hours=8)
#: Cache key of a session that was told its work left its footprint (told once).
FOOTPRINT_WARNED = "drift.footprintWarned"
#: How many recently touched paths the footprint-drift check weighs.
DEFAULT_RECENT_PATHS = 50


def as_utc(moment: datetime) -> datetime:
    """``moment`` as aware UTC: stored times are; a naive one from an older caller is read as
    UTC rather than crashing a comparison."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def last_active(last_event_at: datetime | None, updated_at: datetime) -> datetime:
    """When a session was last active: its last event, else its last update."""
    return as_utc(last_event_at or updated_at)


def idle_text(idle: timedelta) -> str:
    """A duration as messages say it: ``moments``, ``12 minutes``, ``5 hours``, ``3 days``."""
    minutes = int(idle.total_seconds() // 60)
    if minutes < 1:
        return "moments"
    if minutes < 120:
        return f"{minutes} minutes"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} hours"
    return f"{hours // 24} days"


def is_stale(last: datetime, now: datetime, stale_after: timedelta) -> bool:
    """True when a session last active at ``last`` has been idle longer than ``stale_after``."""
    return as_utc(now) - last > stale_after


def recent_touches(
    new: list[str],
    stored_newest_first: Iterable[Appendable | Event],
    worktree: str | None,
    limit: int,
) -> list[str]:
    """The paths of the new events, then of the latest stored ones, at most ``limit``."""
    touches = list(new)
    if len(touches) >= limit:
        return touches[:limit]
    for event in stored_newest_first:
        for path in paths_from_event(event, worktree):
            touches.append(path)
            if len(touches) >= limit:
                return touches
    return touches


class Verdict(NamedTuple):
    """What an activity check found: a recommendation to show, and the footprint flag to keep."""

    recommendation: Recommendation | None
    footprint_warned: bool | None = None
    """The session's new 'told about footprint drift' flag; None: unchanged."""


def quiet_verdict(drifted: bool, warned: bool) -> Verdict | None:
    """The verdict of an activity check on a session that is not stale, when it needs no
    recommendation; None when the drift must be said (first time)."""
    if drifted:
        return Verdict(None) if warned else None  # said once; saying it at every save is noise
    return Verdict(None, False if warned else None)
