"""``sidecar/drift/evaluate`` and ``sidecar/drift/decide``: the policy on request.

Evaluate asks :func:`sidecar.core.policy.recommend` about a folder's boundary
now; decide records the user's choice and acts on it through the session
service. Watchers and prompts (the drift service) build on these two.
"""

from __future__ import annotations

from datetime import datetime

from sidecar.core.models import (
    Action,
    Actor,
    EventKind,
    NewEvent,
    Recommendation,
    Session,
)
from sidecar.core.policy import DriftContext, recommend
from sidecar.services.errors import ServiceError
from sidecar.services.folders import Folder
from sidecar.services.sessions import SessionService

FAILED_ASSUMPTIONS = "failed_assumptions"


def evaluate(
    sessions: SessionService, folder: Folder, *, now: datetime | None = None
) -> Recommendation:
    """The recommendation for ``folder``'s current boundary and its active session."""
    store = sessions.store
    active = sessions.active_session(folder)
    candidates = sessions.candidates(folder.boundary)
    failed = frozenset(
        s.id
        for s in [*candidates, *([active] if active else [])]
        if store.has_annotation(s.id, FAILED_ASSUMPTIONS)
    )
    ctx = DriftContext(
        current=folder.boundary,
        now=now or sessions.clock(),
        session=active,
        candidates=candidates,
        stale_after=sessions.stale_after,
        remembered=store.remembered_choice(folder.boundary.repository, folder.boundary.branch),
        operation_in_progress=folder.operation,
        head_sha=folder.head_sha,
        failed_assumptions=active is not None and active.id in failed,
        failed_session_ids=failed,
    )
    return recommend(ctx)


def decide(
    sessions: SessionService,
    folder: Folder,
    action: Action,
    *,
    session_id: str | None = None,
    remember: bool = False,
) -> Session:
    """Act on the user's choice; returns the folder's active session afterwards."""
    store = sessions.store
    if action is Action.FRESH:
        session = sessions.start(folder, reason="fresh")
    elif action is Action.RESUME:
        target = session_id or evaluate(sessions, folder).target_session_id
        if target is None:
            raise ServiceError("nothing to resume here: pass the sessionId to resume")
        outcome = sessions.resume(folder, target)
        if outcome.warning is not None and outcome.warning.code == "held":
            raise ServiceError(outcome.warning.message)
        session = outcome.session
    elif action is Action.FORK:
        source = session_id or sessions.active_id(folder)
        if source is None:
            raise ServiceError("nothing to fork here: pass the sessionId to fork")
        session = sessions.fork(folder, source)
    else:
        current = sessions.active_session(folder)
        if current is None:
            raise ServiceError("no session is active here to continue: start or resume one")
        if current.boundary != folder.boundary:
            # Continuing across a branch switch binds the session to where work goes on now.
            current = store.update_session(current.id, boundary=folder.boundary)
        sessions.notifier.session_changed(folder, current, "continued")
        session = current
    if remember:
        store.remember_choice(folder.boundary.repository, folder.boundary.branch, action)
    sessions.append(
        folder,
        session.id,
        [
            NewEvent(
                kind=EventKind.DECISION,
                actor=Actor.USER,
                payload={
                    "action": action.value,
                    "remember": remember,
                    "branch": folder.boundary.branch,
                },
            )
        ],
    )
    return store.get_session(session.id)
