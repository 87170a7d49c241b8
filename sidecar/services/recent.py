"""Continuing and picking: which session ``continue`` resumes, what a picker offers.

The rule, for every door, is the drift policy's own: the session the policy
would resume on the place's boundary by itself
(:func:`sidecar.core.policy.best_resumable`), else the branch's session it
would offer although only staleness keeps it from being resumed
(:func:`sidecar.core.policy.offered_session`), since the person asked to
continue; the stale reason goes with it so the door can say how old it is.
It is then resumed through the one resume contract,
:meth:`sidecar.services.sessions.SessionService.resume`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sidecar.core.models import Reason, ReasonCode, Session
from sidecar.core.policy import best_resumable, is_resumable, offered_session
from sidecar.store.errors import UnknownSession

if TYPE_CHECKING:
    from sidecar.core.boundary import ScopeFilters
    from sidecar.services.boundary import Place
    from sidecar.services.sessions import ResumeOutcome, SessionService
    from sidecar.store import Store


@dataclass(frozen=True)
class Latest:
    """The session ``continue`` takes, and the policy's stale reason if it is stale."""

    session: Session
    stale: Reason | None = None


def latest_session(sessions: SessionService, place: Place) -> Latest | None:
    """The session to continue on ``place`` (see the module docstring), or None."""
    from sidecar.services.drift import drift_context

    now = sessions.clock()
    ctx = drift_context(
        sessions.store, place.boundary, None, now=now, stale_after=sessions.stale_after
    )
    chosen = best_resumable(ctx) or offered_session(ctx)
    if chosen is None:
        return None
    _, why = is_resumable(chosen, place.boundary, now, sessions.stale_after)
    return Latest(chosen, why if why is not None and why.code is ReasonCode.STALE else None)


@dataclass(frozen=True)
class Continued:
    """What ``continue`` did: the resume outcome and the stale reason, if any."""

    outcome: ResumeOutcome
    stale: Reason | None = None


def continue_latest(sessions: SessionService, place: Place) -> Continued | None:
    """Resume the session to continue on ``place``; None when there is none."""
    latest = latest_session(sessions, place)
    if latest is None:
        return None
    return Continued(sessions.resume(place, latest.session.id), latest.stale)


@dataclass(frozen=True)
class Candidate:
    """A session offered by a picker, with the text that shows why (a hit or its last prompt)."""

    session: Session
    snippet: str
    seq: int | None = None
    """The matching event's seq, for a search hit."""

    def to_json(self) -> dict[str, Any]:
        """The wire form: ``{session, snippet, seq}``."""
        return {"session": self.session.to_json(), "snippet": self.snippet, "seq": self.seq}


#: How many search hits are read to find ``limit`` distinct sessions.
HITS_PER_SESSION = 5


def pick_candidates(
    store: Store, filters: ScopeFilters, query: str | None, limit: int
) -> list[Candidate]:
    """Sessions to pick from: the most recent ones, or with ``query`` the sessions of the
    full-text hits (best hit first, one entry per session, its best hit's snippet)."""
    if not query or not query.strip():
        page = store.sessions.list(**filters, limit=limit)
        return [Candidate(s, s.last_prompt or s.description) for s in page.items]
    hits = store.events.search(query, limit=min(limit * HITS_PER_SESSION, 500), **filters)
    found: dict[str, Candidate] = {}
    for hit in hits:
        if hit.session_id in found:
            continue
        try:
            session = store.sessions.get(hit.session_id)
        except UnknownSession:  # deleted since the search
            continue
        found[hit.session_id] = Candidate(session, hit.snippet, hit.seq)
        if len(found) == limit:
            break
    return list(found.values())
