"""Drift: the one drift context, the one ``evaluate``, the one ``decide``, the activity check.

Every door that asks "what now?" builds the policy's input here
(:func:`drift_context`) and asks :func:`sidecar.core.policy.recommend`: the
git tracker on a branch switch, ``sidecar/drift/evaluate``, the MCP
``check_drift`` tool and the agent hooks. Every door that acts on a choice
calls :func:`decide`. Every live append passes :func:`activity_check`
(:mod:`sidecar.services.append`).

Candidates (sessions the policy may offer to resume) are the recent live
sessions of the repository of the same requester and machine. Sessions an
agent records (they carry the agent's own session id) are offered only to
that agent, because only it can resume them (``claude --resume``); an
editor is offered the sessions it can hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sidecar.core.activity import (
    DEFAULT_RECENT_PATHS,
    Verdict,
    quiet_verdict,
)
from sidecar.core.decisions import FAILED_ASSUMPTIONS, decision_event
from sidecar.core.kinds import Appendable
from sidecar.core.models import (
    Action,
    Boundary,
    ReasonCode,
    Recommendation,
    Session,
    SessionStatus,
)
from sidecar.core.policy import DEFAULT_STALE_AFTER, DriftContext, last_activity, recommend
from sidecar.git.command import GitError
from sidecar.git.reader import is_ancestor
from sidecar.services.activity import Active, quiet_check
from sidecar.services.boundary import Place
from sidecar.services.errors import ServiceError
from sidecar.services.sessions import LIVE, SessionService
from sidecar.store import Store

PromptMode = Literal["native", "custom", "off"]

#: How many recent sessions of the repository the policy looks at.
CANDIDATES = 20


@dataclass(frozen=True)
class DriftSettings:
    """How drift is judged and surfaced (the same for every door that has a setting)."""

    stale_after: timedelta = DEFAULT_STALE_AFTER
    prompts: PromptMode = "native"
    """native: ask; custom: only notify (the client decides); off: apply, never ask."""
    checkout_quiet_s: float = 1.0
    """Worktree changes this soon after a HEAD change are the checkout's, not the session's."""
    recent_paths: int = DEFAULT_RECENT_PATHS
    """How many recently touched paths the footprint-drift check weighs."""


def _candidates(store: Store, current: Boundary, agent: str | None) -> list[Session]:
    # An agent's ended sessions stay candidates: the agent reopens them by id (policy).
    statuses = [*LIVE, SessionStatus.ENDED] if agent is not None else list(LIVE)
    exact = store.sessions.list(
        repository=current.repository,
        worktree=current.worktree,
        branch=current.branch,
        requester=current.requester,
        machine=current.machine,
        statuses=statuses,
        limit=CANDIDATES,
    ).items
    wide = store.sessions.list(
        repository=current.repository,
        requester=current.requester,
        machine=current.machine,
        statuses=statuses,
        limit=CANDIDATES,
    ).items
    seen: dict[str, Session] = {}
    for session in [*exact, *wide]:
        owned_by_agent = session.provider_ref is not None
        if agent is None and owned_by_agent:
            continue
        if agent is not None and session.boundary.provider != agent:
            continue
        seen.setdefault(session.id, session)
    return list(seen.values())


def drift_context(
    store: Store,
    current: Boundary,
    session: Session | None,
    *,
    now: datetime,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    agent: str | None = None,
    head_sha: str | None = None,
    operation: str | None = None,
    head_is_descendant: bool | None = None,
    recent_paths: Sequence[str] = (),
    explicit: Action | None = None,
    explicit_target: str | None = None,
) -> DriftContext:
    """The policy's input for ``current`` and the active ``session`` (see the module docstring).

    ``agent`` names the agent asking (its candidates are its own sessions);
    ``recent_paths`` (with the session's footprint) feeds footprint drift.
    """
    candidates = _candidates(store, current, agent)
    ids = [c.id for c in candidates] + ([session.id] if session is not None else [])
    failed = frozenset(store.reviews.annotated(ids, FAILED_ASSUMPTIONS)) if ids else frozenset()
    footprint: dict[str, float] = {}
    if recent_paths and session is not None:
        footprint = {e.path: e.weight for e in store.sessions.footprint(session.id)}
    return DriftContext(
        current=current,
        now=now,
        session=session,
        candidates=candidates,
        stale_after=stale_after,
        remembered=store.state.remembered_choice(current.repository, current.branch),
        explicit=explicit,
        explicit_target=explicit_target,
        operation_in_progress=operation,
        head_sha=head_sha,
        head_is_descendant=head_is_descendant,
        failed_assumptions=session is not None and session.id in failed,
        failed_session_ids=failed,
        footprint=footprint,
        recent_paths=list(recent_paths),
    )


def descends(worktree: str, old_sha: str, new_sha: str) -> bool:
    """True when history only grew from ``old_sha`` to ``new_sha``; unknown counts as rewritten."""
    try:
        return is_ancestor(worktree, old_sha, new_sha)
    except GitError:
        return False


def evaluate(
    sessions: SessionService,
    place: Place,
    session: Session | None,
    *,
    settings: DriftSettings,
    agent: str | None = None,
) -> Recommendation:
    """The recommendation for ``place`` and its active ``session`` now."""
    if session is not None and session.status not in LIVE:
        session = None
    descendant: bool | None = None
    if (
        session is not None
        and session.head_sha
        and place.head_sha
        and session.head_sha != place.head_sha
        and session.boundary.branch == place.boundary.branch
    ):
        descendant = descends(place.worktree, session.head_sha, place.head_sha)
    ctx = drift_context(
        sessions.store,
        place.boundary,
        session,
        now=sessions.clock(),
        stale_after=settings.stale_after,
        agent=agent,
        head_sha=place.head_sha,
        operation=place.operation,
        head_is_descendant=descendant,
    )
    return recommend(ctx)


@dataclass(frozen=True)
class Decided:
    """The session to work in after a decision, and the ``sessionChanged`` reason."""

    session: Session
    reason: str
    previous: str | None = None
    """The session that was active before, when it is another one now."""


def decide(
    sessions: SessionService,
    place: Place,
    active: Session | None,
    action: Action,
    *,
    session_id: str | None = None,
    remember: bool = False,
    chosen: str = "command",
    pending: Recommendation | None = None,
    settings: DriftSettings | None = None,
) -> Decided:
    """Act on a choice and record it: the one implementation behind every door.

    - ``fresh``: a new session on the place's boundary;
    - ``resume``: ``session_id`` (default: the pending recommendation's target,
      else the policy's); refused when another connection holds it;
    - ``fork``: a fork of ``session_id`` (default: the active session);
    - ``continue``: the active session stays, bound to the place's boundary now.

    ``remember`` stores the choice for this repository and branch ("Don't ask
    again"). A ``decision`` event {action, chosen, remember, branch,
    recommendation, recommended} is appended to the resulting session, whose
    ``headSha`` becomes HEAD's. ``chosen`` says who chose: the prompt's title,
    ``command``, ``remembered`` or ``automatic``.
    """
    store = sessions.store
    if action is Action.FRESH:
        session, reason = sessions.start(place), "fresh"
    elif action is Action.RESUME:
        target = session_id or (pending.target_session_id if pending is not None else None)
        if target is None:
            target = evaluate(
                sessions, place, active, settings=settings or DriftSettings()
            ).target_session_id
        if target is None:
            raise ServiceError("nothing to resume here: pass the sessionId to resume")
        outcome = sessions.resume(place, target)
        if outcome.warning is not None and outcome.warning.code == "held":
            raise ServiceError(outcome.warning.message)
        session, reason = outcome.session, ("resumed" if outcome.resumed else "fresh")
    elif action is Action.FORK:
        source = session_id or (active.id if active is not None else None)
        if source is None:
            raise ServiceError("nothing to fork here: pass the sessionId to fork")
        session, reason = sessions.fork(place, source), "forked"
    else:
        if active is None:
            raise ServiceError("no session is active here to continue: start or resume one")
        session, reason = active, "continued"
    session = store.sessions.update(
        session.id,
        boundary=place.boundary if action is Action.CONTINUE else None,
        head_sha=place.head_sha,
        status=SessionStatus.ACTIVE,
    )
    if remember:
        store.state.remember_choice(place.boundary.repository, place.boundary.branch, action)
    sessions.write(
        session.id,
        [
            decision_event(
                action,
                chosen=chosen,
                remember=remember,
                branch=place.boundary.branch,
                recommendation=pending,
            )
        ],
        bookkeeping=True,
    )
    previous = active.id if active is not None and active.id != session.id else None
    return Decided(store.sessions.get(session.id), reason, previous)


# --------------------------------------------------------------------------- activity


def activity_check(
    store: Store,
    session: Session,
    events: Sequence[Appendable],
    *,
    now: datetime,
    settings: DriftSettings,
) -> Verdict:
    """Staleness and footprint drift of ``session`` as ``events`` arrive (before they are stored).

    Returns a recommendation when the session went stale (idle longer than the
    limit: a reason to start fresh) or when the recent work lies mostly outside
    the files the session worked on (said once, until the work comes back).
    """
    active = Active(
        session.id, session.boundary.worktree, last_activity(session), session.parent_id is not None
    )
    verdict, found = quiet_check(
        store,
        active,
        events,
        now=now,
        stale_after=settings.stale_after,
        recent_paths=settings.recent_paths,
    )
    if verdict is not None:
        return verdict
    assert found is not None
    told = _recommended(store, session, now, settings, found.recent)
    assert told.recommendation is not None
    if not any(r.code is ReasonCode.STALE for r in told.recommendation.reasons):
        return quiet_verdict(told.footprint_warned is True, found.warned) or told
    return told


def _recommended(
    store: Store, session: Session, now: datetime, settings: DriftSettings, recent: list[str]
) -> Verdict:
    ctx = drift_context(
        store,
        session.boundary,
        session,
        now=now,
        stale_after=settings.stale_after,
        agent=session.boundary.provider if session.provider_ref else None,
        recent_paths=recent,
    )
    rec = recommend(ctx)
    drifted = any(reason.code is ReasonCode.FOOTPRINT_DRIFT for reason in rec.reasons)
    return Verdict(rec, True if drifted else None)
