"""The activity check's first stage: what an append says about staleness and footprint drift,
answered without the policy whenever nothing is to be said.

Every append of live events asks it (:func:`sidecar.services.drift.activity_check`
for every door; an agent hook's quiet path directly): a session that is not
stale, whose new events name no path or whose recent paths stay inside its
footprint (or drift it was already told about), needs no recommendation.
Only then is the policy (and pydantic) skipped; anything else returns None and
the caller asks the policy. Reads are plain rows (:mod:`sidecar.store.plain`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from sidecar.core.activity import (
    FOOTPRINT_WARNED,
    Verdict,
    is_stale,
    quiet_verdict,
    recent_touches,
)
from sidecar.core.footprint import footprint_drift, paths_from_event
from sidecar.store.plain import cache_value, footprint_weights, own_recent_events

if TYPE_CHECKING:
    from sidecar.core.kinds import Appendable
    from sidecar.core.models import Event
    from sidecar.store import Store


class Active(NamedTuple):
    """What the check reads of a session."""

    id: str
    worktree: str | None
    last_active: datetime
    forked: bool
    """A fork: its recent history includes its ancestors' events."""


class Signals(NamedTuple):
    """What recent activity shows; ``recent`` feeds the policy when it is asked."""

    stale: bool
    recent: list[str]
    warned: bool


def signals(
    store: Store,
    session: Active,
    events: Sequence[Appendable],
    *,
    now: datetime,
    stale_after: timedelta,
    recent_paths: int,
) -> Signals | None:
    """The session's staleness and recent paths as ``events`` arrive; None when the events
    name no path and the session is not stale (nothing to weigh: appends stay cheap)."""
    new = [path for event in events for path in paths_from_event(event, session.worktree)]
    stale = is_stale(session.last_active, now, stale_after)
    if not new and not stale:
        return None
    with store.db.reading() as conn:
        stored: Iterable[Appendable | Event]
        if len(new) >= recent_paths:
            stored = ()
        elif session.forked:
            stored = reversed(store.events.recent(session.id, recent_paths))
        else:
            stored = own_recent_events(conn, session.id, recent_paths)
        recent = recent_touches(new, stored, session.worktree, recent_paths)
        warned = cache_value(conn, session.id, FOOTPRINT_WARNED) is True
    return Signals(stale, recent, warned)


def quiet_check(
    store: Store,
    session: Active,
    events: Sequence[Appendable],
    *,
    now: datetime,
    stale_after: timedelta,
    recent_paths: int,
) -> tuple[Verdict | None, Signals | None]:
    """(the verdict when the policy need not be asked, else None; the signals read)."""
    found = signals(
        store, session, events, now=now, stale_after=stale_after, recent_paths=recent_paths
    )
    if found is None:
        return Verdict(None), None
    if found.stale:
        return None, found
    with store.db.reading() as conn:
        footprint = footprint_weights(conn, session.id)
    # The policy's footprint_drift reason is this same function on the same footprint.
    drifted = footprint_drift(footprint, found.recent) is not None
    return quiet_verdict(drifted, found.warned), found
