"""Agent sessions: what an agent's hook call records, and whether the agent must be warned.

An agent (Claude Code, Codex, Gemini CLI, Copilot CLI, opencode) calls a hook
for every prompt, tool call and lifecycle step. The door
(``sidecar.agents.hook``) translates the agent's input into an
:class:`AgentCall` and the answer back into the agent's output;
the rules live here, the same for every agent:

* the agent's own session id maps to exactly one sidecar session (provider,
  provider reference): created on first sight, atomically, whatever the
  number of hook processes racing (the store's unique index);
* a session first seen mid-way (hooks installed during a session) is bound to
  the branch it began on, when the agent recorded it;
* on the calls that can carry context to the model (session start, a prompt)
  the policy is asked about the agent's working folder now; a strong signal
  that does not recommend continuing (another branch, worktree, repository,
  person or machine) warns the agent, and in block mode refuses the prompt;
* the first prompt names a session that still has its default name; a
  session start re-opens an ended session; a session end ends it;
* events go through the one append path: a session another live connection
  holds refuses them, like every other door.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, NamedTuple

from sidecar.core.activity import DEFAULT_RECENT_PATHS, DEFAULT_STALE_AFTER, Verdict, last_active
from sidecar.core.kinds import Appendable, ReasonCode, SessionStatus, Severity, utcnow
from sidecar.services.activity import Active, quiet_check
from sidecar.store.errors import UnknownSession
from sidecar.store.leases import new_holder_id
from sidecar.store.plain import end_in, session_row_by_ref
from sidecar.store.stamps import parse_ts

if TYPE_CHECKING:
    from sidecar.core.models import Boundary, NewEvent, Recommendation, Session
    from sidecar.services.boundary import Place
    from sidecar.services.drift import DriftSettings
    from sidecar.services.sessions import Writer
    from sidecar.store import Store

#: Cache key: the drift (by key) the agent was warned about when this run of it started.
WARNED_AT_START = "agent:warned-at-start"
#: Tag on sessions an agent's hook records (transcript imports leave them to the hook).
HOOK_TAG = "hook"


class AgentCall(NamedTuple):
    """One hook call, translated from the agent's own input."""

    provider: str
    """The agent: ``claude-code``."""
    ref: str
    """The agent's own session id."""
    cwd: str
    events: Callable[[bool], Sequence[Appendable]]
    """The events to record; called with whether the prompt is blocked."""
    check_drift: bool = False
    """The call can carry context to the model (session start, a prompt)."""
    prompt: str | None = None
    """The prompt's text, on a prompt."""
    starts_fresh: bool = False
    """A session start that begins a new conversation (not a resume)."""
    began_on: Callable[[], str | None] | None = None
    """The branch the agent recorded when the session began, if it did (asked on first
    sight only: it may read a file)."""
    is_start: bool = False
    """The agent's session (re)starts: a new run of the agent."""
    ends: bool = False
    """The agent's session ended."""


class AgentWarning(NamedTuple):
    """The drift the agent must read: the recommendation and what it compares."""

    recommendation: Recommendation
    session: Session
    current: Boundary
    resume_target: Session | None
    blocked: bool
    """Block mode refused the prompt."""


class AgentOutcome(NamedTuple):
    """What a hook call did, and the warning the agent must read (None: nothing to say)."""

    session_id: str
    seqs: list[int]
    warning: AgentWarning | None = None
    title: str | None = None
    """A title to offer the agent for a session that just began (None: leave it)."""


def agent_session(store: Store, call: AgentCall, place: Place) -> Session:
    """The sidecar session of the agent's session, created on first sight (atomically)."""
    found = store.sessions.find_by_provider_ref(call.provider, call.ref)
    if found is not None:
        if HOOK_TAG not in found.tags:
            # Imported before the hooks were installed: from now on the hook records it
            # and the importer merges into it (services/imports.py).
            found = store.sessions.update(found.id, tags=[*found.tags, HOOK_TAG])
        return found
    boundary = place.boundary
    if not call.starts_fresh and call.began_on is not None and place.head is not None:
        began_on = call.began_on()
        if began_on and not place.head.detached:
            boundary = boundary.model_copy(update={"branch": began_on})
    session, _ = store.sessions.ensure_for_provider_ref(
        boundary, call.ref, tags=(HOOK_TAG,), head_sha=place.head_sha
    )
    return session


def session_title(boundary: Boundary) -> str | None:
    """The title an agent's new session gets: its branch and worktree folder.

    It keeps sessions of different branches apart in the agent's own resume
    picker. None outside a branch (detached HEAD, outside git).
    """
    from sidecar.core.boundary import NO_BRANCH

    branch = boundary.branch
    if not branch or branch.startswith("detached@") or branch == NO_BRANCH:
        return None
    folder = boundary.worktree.rstrip("/").rsplit("/", 1)[-1] if boundary.worktree else ""
    return f"{branch} · {folder}" if folder else branch


def warning_for(rec: Recommendation) -> bool:
    """True when the agent must be warned: a strong signal, and continuing is not advised.

    A deferred recommendation (a rebase or merge in progress) says nothing yet.
    """
    from sidecar.core.models import Action

    strong = any(r.severity is Severity.STRONG for r in rec.reasons)
    return strong and not rec.deferred and rec.action is not Action.CONTINUE


def _drift_key(session: Session, current: Boundary) -> str:
    before = session.boundary
    parts = [
        session.id, before.repository, before.worktree, before.branch, current.worktree,
        current.branch, current.repository, current.requester, current.machine,
    ]  # fmt: skip
    import hashlib

    blob = json.dumps(parts, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:32]


def _agent_drift_event(
    session: Session, current: Boundary, rec: Recommendation, provider: str
) -> NewEvent:
    """A ``drift`` event recording the warning once per change of boundary."""
    from sidecar.core.decisions import drift_event

    event = drift_event(
        rec,
        source=f"{provider} hook",
        before={"branch": session.boundary.branch, "worktree": session.boundary.worktree},
        after={"branch": current.branch, "worktree": current.worktree},
    )
    return event.model_copy(
        update={"client_event_id": f"agent:drift:{_drift_key(session, current)}"}
    )


def _resume_target(store: Store, rec: Recommendation) -> Session | None:
    for reason in rec.reasons:
        if reason.code is ReasonCode.RESUMABLE_SESSION:
            target = reason.evidence.get("sessionId")
            if isinstance(target, str):
                try:
                    return store.sessions.get(target)
                except UnknownSession:
                    return None
    return None


def _once_per_run(
    store: Store,
    call: AgentCall,
    session: Session,
    current: Boundary,
    warning: Recommendation | None,
    mode: str,
) -> Recommendation | None:
    """The warning, unless the start of this same run already gave it to the model.

    A resume fires the start hook and then the first prompt's hook; both reach
    the model's first request, so the same text twice is noise. Every later
    prompt is warned again while the drift lasts; block mode always refuses.
    """
    if call.is_start:
        key = _drift_key(session, current) if warning is not None else None
        store.state.cache_put(session.id, WARNED_AT_START, key)
        return warning
    if call.prompt is None:
        return warning
    given = store.state.cache_get(session.id, WARNED_AT_START)
    if given is None:
        return warning
    store.state.cache_put(session.id, WARNED_AT_START, None)
    if warning is not None and mode != "block" and given == _drift_key(session, current):
        return None
    return warning


def _has_default_name(session: Session) -> bool:
    """True while the session has no prompt yet and still the name it got by default."""
    from sidecar.core.text import default_session_name

    default = default_session_name(session.boundary.branch, session.created_at)
    return session.last_prompt is None and session.name == default


def record_agent_call(
    store: Store,
    call: AgentCall,
    *,
    mode: str = "warn",
    writer: Writer | None = None,
    settings: DriftSettings | None = None,
) -> AgentOutcome:
    """Record one hook call and decide the warning (see the module docstring).

    ``mode`` is ``warn`` (add context), ``block`` (refuse the prompt) or
    ``off`` (record only). Raises the store's errors (a held session, a
    read-only or full database): the door logs them, the agent goes on.
    """
    quiet = _record_quietly(store, call, writer, settings)
    if quiet is not None:
        return quiet
    return _record_fully(store, call, mode, writer, settings)


def _record_quietly(
    store: Store, call: AgentCall, writer: Writer | None, settings: DriftSettings | None
) -> AgentOutcome | None:
    """The quiet path: a call that carries nothing to the model (a tool call, an answer, the
    session's end) on a live session the hook already records, whose activity check has
    nothing to say, is appended with neither the policy nor the models (a fresh hook process
    stays fast). None: the call needs the full path.

    It takes the same steps as :func:`_record_fully` for such a call (no reopening,
    renaming or title; the activity check's first stage; the one append path; an end ends
    the session), only on plain rows.
    """
    if call.check_drift or call.is_start or call.starts_fresh or call.prompt:
        return None
    with store.db.reading() as conn:
        row = session_row_by_ref(conn, call.provider, call.ref)
    if row is None or row["status"] not in (SessionStatus.ACTIVE, SessionStatus.IDLE):
        return None
    if HOOK_TAG not in json.loads(row["tags"] or "[]"):
        return None
    updated = parse_ts(row["updated_at"])
    assert updated is not None
    session = Active(
        row["id"],
        row["worktree"],
        last_active(parse_ts(row["last_event_at"]), updated),
        row["parent_id"] is not None,
    )
    events = call.events(False)
    now = utcnow()
    verdict, _ = quiet_check(
        store,
        session,
        events,
        now=now,
        stale_after=settings.stale_after if settings else DEFAULT_STALE_AFTER,
        recent_paths=settings.recent_paths if settings else DEFAULT_RECENT_PATHS,
    )
    if verdict != Verdict(None):
        return None  # stale, or drift to say or to clear: the full path asks the policy
    holder = writer.id if writer is not None else new_holder_id()
    seqs = store.events.append(session.id, events, holder=holder, now=now)
    if call.ends:
        with store.db.write() as conn:
            end_in(conn, session.id, now)
    return AgentOutcome(session.id, seqs)


def _record_fully(
    store: Store,
    call: AgentCall,
    mode: str,
    writer: Writer | None,
    settings: DriftSettings | None,
) -> AgentOutcome:
    from sidecar.core.policy import recommend
    from sidecar.core.text import short_name
    from sidecar.services.append import append
    from sidecar.services.boundary import Profile, boundary_for
    from sidecar.services.drift import DriftSettings, drift_context
    from sidecar.services.repositories import settle_repository
    from sidecar.services.sessions import SessionService, Writer

    settings = settings or DriftSettings()
    place = boundary_for(call.cwd, Profile(provider=call.provider))
    settle_repository(store, place)
    current = place.boundary
    session = agent_session(store, call, place)
    # A start or a prompt reopens an ended session: an agent may run the prompt hook before
    # (or beside) its start hook on a resume (Copilot CLI does).
    reopens = call.is_start or call.prompt is not None
    if reopens and session.status in (SessionStatus.ENDED, SessionStatus.ARCHIVED):
        # The agent resumed it: it is live again before the policy looks at it, so a
        # boundary that moved while it was closed (`git switch`, then `--resume`)
        # is warned about like any other.
        session = store.sessions.set_status(session.id, SessionStatus.ACTIVE)
    sessions = SessionService(store, writer or Writer.one_shot(), stale_after=settings.stale_after)
    warning: Recommendation | None = None
    target: Session | None = None
    if call.check_drift and mode != "off":
        rec = recommend(
            drift_context(
                store,
                current,
                session,
                now=sessions.clock(),
                stale_after=settings.stale_after,
                agent=call.provider,
                head_sha=place.head_sha,
                operation=place.operation,
            )
        )
        if warning_for(rec):
            warning = rec
            target = _resume_target(store, rec)
    warning = _once_per_run(store, call, session, current, warning, mode)
    blocked = warning is not None and mode == "block" and call.prompt is not None
    events: list[Appendable] = list(call.events(blocked))
    if warning is not None:
        events = [_agent_drift_event(session, current, warning, call.provider), *events]
    if call.prompt and _has_default_name(session):
        store.sessions.rename(session.id, short_name(call.prompt))
    appended = append(sessions, session.id, events, settings=settings)
    session = sessions.end(session.id) if call.ends else store.sessions.get(session.id)
    title = session_title(session.boundary) if call.starts_fresh else None
    told = None if warning is None else AgentWarning(warning, session, current, target, blocked)
    return AgentOutcome(session.id, appended.seqs, told, title)
