"""Continuing and picking: which session ``continue`` resumes, what a picker offers.

The rule, for every door: among the recent live sessions of exactly the
place's boundary (repository, worktree, branch, requester, machine; not an
agent's own session, which its hook writes), the most recent one the policy
calls resumable (:func:`sidecar.core.policy.is_resumable`), with one
exception: a session that is only stale is still taken, since the person
asked to continue, and the policy's stale reason goes with it so the door can
say how old it is. It is then resumed through the one resume contract,
:meth:`sidecar.services.sessions.SessionService.resume`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sidecar.core.models import Reason, ReasonCode, Session
from sidecar.core.policy import is_resumable
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
    now = sessions.clock()
    # Any tool's session of this boundary counts (an editor's, the CLI's): the provider
    # is not part of what "the most recent session of this branch" means.
    boundary = place.boundary.model_copy(update={"provider": None})
    for session in sessions.candidates(place.boundary):
        ok, why = is_resumable(session, boundary, now, sessions.stale_after)
        if ok:
            return Latest(session)
        if why is not None and why.code is ReasonCode.STALE:
            return Latest(session, why)
    return None


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
