"""The drift policy: given where the workspace is now and what the session knew, what next?

``recommend()`` is one pure function from a :class:`DriftContext` to a
:class:`~sidecar.core.models.Recommendation`. It is conservative: it
recommends *continue* only when the boundary is clearly the same, and
*fresh* whenever it is unsure. docs/policy.md holds the table this module
implements; read them side by side.

Precedence, first match wins:

1. the user's explicit choice now (never across a hard boundary);
2. hard boundaries: repository, requester, machine;
3. a rebase/merge/cherry-pick/bisect in progress: defer, no prompt;
4. the remembered choice for this repository and branch;
5. no live session: resume a resumable one, else fresh;
6. the other strong signals;
7. medium signals that call for fresh (stale, phase_changed, or two together);
8. medium signals that only warn (history_rewritten, footprint_drift);
9. the same boundary: continue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sidecar.core.activity import (
    DEFAULT_STALE_AFTER as DEFAULT_STALE_AFTER,
    as_utc,
    idle_text,
    is_stale,
    last_active,
)
from sidecar.core.decisions import decision_lead, decision_options, decision_question
from sidecar.core.footprint import DEFAULT_DRIFT_THRESHOLD, DEFAULT_MIN_RECENT, footprint_drift
from sidecar.core.models import (
    Action,
    Boundary,
    Choice,
    Phase,
    Reason,
    ReasonCode,
    Recommendation,
    Session,
    SessionStatus,
    Severity,
)

#: Boundary fields whose change can never be bridged by continuing, resuming or
#: forking: other repositories, other people and other machines.
HARD_CODES = frozenset(
    {ReasonCode.REPOSITORY_CHANGED, ReasonCode.REQUESTER_CHANGED, ReasonCode.MACHINE_CHANGED}
)
#: Medium signals that alone call for a fresh session.
FRESH_MEDIUM_CODES = frozenset({ReasonCode.STALE, ReasonCode.PHASE_CHANGED})
#: Medium signals that alone only warn, without a modal prompt.
WARN_MEDIUM_CODES = frozenset({ReasonCode.HISTORY_REWRITTEN, ReasonCode.FOOTPRINT_DRIFT})

_LIVE = frozenset({SessionStatus.ACTIVE, SessionStatus.IDLE})


@dataclass(frozen=True)
class DriftContext:
    """Everything the policy looks at. The caller gathers it; the policy only reads it."""

    current: Boundary
    """Where the workspace is now."""
    now: datetime
    session: Session | None = None
    """The active session, if any."""
    candidates: Sequence[Session] = ()
    """Recent sessions of the current repository that might be resumed; the policy picks."""
    stale_after: timedelta = DEFAULT_STALE_AFTER
    remembered: Choice | None = None
    """The user's remembered choice; applies only to its own repository and branch."""
    explicit: Action | None = None
    """The user's choice right now, e.g. from a drift prompt or a command."""
    explicit_target: str | None = None
    """Session id the explicit resume or fork names, if it names one."""
    operation_in_progress: str | None = None
    """``rebase``, ``merge``, ``cherry-pick`` or ``bisect`` while git is mid-operation."""
    head_sha: str | None = None
    head_is_descendant: bool | None = None
    """Whether HEAD descends from the session's last seen commit; None when unknown."""
    failed_assumptions: bool = False
    """The active session was annotated as holding failed or stale assumptions."""
    failed_session_ids: frozenset[str] = frozenset()
    """Candidate sessions annotated with failed assumptions (never resumed by default)."""
    provider_can_resume: bool = True
    """The current provider supports resuming and exposes session metadata."""
    handoff_approved: bool = False
    """The session holds an approved handoff from planning to implementation."""
    footprint: Mapping[str, float] = field(default_factory=dict)
    """The active session's footprint (path -> weight)."""
    recent_paths: Sequence[str] = ()
    """Worktree-relative paths touched recently, one entry per touch."""
    footprint_threshold: float = DEFAULT_DRIFT_THRESHOLD
    footprint_min_recent: int = DEFAULT_MIN_RECENT


_utc = as_utc


def last_activity(session: Session) -> datetime:
    """When the session was last active: its last event, else its last update."""
    return last_active(session.last_event_at, session.updated_at)


def _label(session: Session) -> str:
    """How a message names a session: by its name (people read these; the id is in the
    reason's evidence), by its id only when it has no name."""
    name = session.name[:50] if session.name else ""
    return f"'{name}'" if name else session.id


def _reason(code: ReasonCode, severity: Severity, message: str, **evidence: Any) -> Reason:
    return Reason(code=code, severity=severity, message=message, evidence=evidence)


#: Boundary fields compared by :func:`boundary_signals`, hard ones first, with
#: the sentence shown for a change ({old} and {new} are the two values).
_BOUNDARY_FIELDS: tuple[tuple[str, ReasonCode, str], ...] = (
    (
        "repository",
        ReasonCode.REPOSITORY_CHANGED,
        "The workspace is now in repository '{new}'; the session belongs to '{old}'.",
    ),
    (
        "requester",
        ReasonCode.REQUESTER_CHANGED,
        "The requester is now '{new}'; the session belongs to '{old}'. "
        "Sessions are never shared between people.",
    ),
    (
        "machine",
        ReasonCode.MACHINE_CHANGED,
        "This is machine '{new}'; the session was recorded on '{old}'. "
        "Sessions are never shared between machines.",
    ),
    (
        "worktree",
        ReasonCode.WORKTREE_CHANGED,
        "The workspace is now worktree '{new}'; the session works in '{old}'.",
    ),
    (
        "branch",
        ReasonCode.BRANCH_CHANGED,
        "HEAD is now on '{new}'; the session was working on '{old}'.",
    ),
    ("task", ReasonCode.TASK_CHANGED, "The task is now '{new}'; the session was for '{old}'."),
)


def boundary_signals(old: Boundary, new: Boundary) -> list[Reason]:
    """The strong signals between two boundaries, hard ones first.

    Repository, requester and machine changes are hard; worktree, branch and
    task changes are strong. A task counts as changed only when both are set.
    Phase and provider are not compared here (see :func:`recommend`).

    >>> from sidecar.core.models import Boundary
    >>> a = Boundary(repository="r", worktree="/w", branch="main", requester="u", machine="m")
    >>> [r.code.value for r in boundary_signals(a, a.model_copy(update={"branch": "x"}))]
    ['branch_changed']
    """
    signals: list[Reason] = []
    for name, code, template in _BOUNDARY_FIELDS:
        before, after = getattr(old, name), getattr(new, name)
        if name == "task" and (before is None or after is None):
            continue  # a task counts as changed only when both are set
        if before != after:
            message = template.format(old=before, new=after)
            signals.append(_reason(code, Severity.STRONG, message, before=before, after=after))
    return signals


def _provider_reason(
    session: Session, current: Boundary, provider_can_resume: bool
) -> Reason | None:
    before, after = session.boundary.provider, current.provider
    if before is not None and after is not None and before != after:
        return _reason(
            ReasonCode.PROVIDER_CANNOT_RESUME,
            Severity.STRONG,
            f"The session was recorded by '{before}'; '{after}' cannot resume it.",
            before=before,
            after=after,
        )
    if not provider_can_resume:
        return _reason(
            ReasonCode.PROVIDER_CANNOT_RESUME,
            Severity.STRONG,
            f"The provider '{after or before or 'unknown'}' cannot resume sessions "
            "or exposes no session metadata.",
            provider=after or before,
        )
    return None


def _stale_reason(session: Session, now: datetime, stale_after: timedelta) -> Reason | None:
    if not is_stale(last_activity(session), now, stale_after):
        return None
    idle = _utc(now) - last_activity(session)
    return _reason(
        ReasonCode.STALE,
        Severity.MEDIUM,
        f"The session has been idle for {idle_text(idle)} (the limit is {idle_text(stale_after)}).",
        idleSeconds=int(idle.total_seconds()),
        staleAfterSeconds=int(stale_after.total_seconds()),
        lastActivity=last_activity(session).isoformat(),
    )


def is_resumable(
    session: Session,
    boundary: Boundary,
    now: datetime,
    stale_after: timedelta = DEFAULT_STALE_AFTER,
    *,
    explicit: bool = False,
    provider_can_resume: bool = True,
    failed_assumptions: bool = False,
) -> tuple[bool, Reason | None]:
    """Whether ``session`` may be resumed on ``boundary``, and if not, the first reason why.

    By default (``explicit=False``, what the policy uses to pick a session by
    itself) a resumable session has the same repository, worktree, branch,
    requester and machine, no conflicting task or provider, status active or
    idle, is not stale, the provider can resume, and it holds no failed
    assumptions.

    With ``explicit=True`` (the user named the session, as in
    ``sidecar/sessions/resume``) only the hard boundaries are checked: a
    session of another repository, requester or machine is never resumed.
    """
    hard = [r for r in boundary_signals(session.boundary, boundary) if r.code in HARD_CODES]
    if hard:
        return False, hard[0]
    if explicit:
        return True, None
    if session.status not in _LIVE and not _agent_can_reopen(session):
        return False, _reason(
            ReasonCode.NO_SESSION,
            Severity.INFO,
            f"Session {_label(session)} is {session.status.value}.",
            sessionId=session.id,
            status=session.status.value,
        )
    soft = boundary_signals(session.boundary, boundary)
    if soft:
        return False, soft[0]
    provider = _provider_reason(session, boundary, provider_can_resume)
    if provider is not None:
        return False, provider
    if failed_assumptions:
        return False, _failed_reason(session)
    stale = _stale_reason(session, now, stale_after)
    if stale is not None:
        return False, stale
    return True, None


def _agent_can_reopen(session: Session) -> bool:
    """An agent's session that ended when the agent exited: the agent resumes it by id.

    ``claude -p`` and friends end their session with every run, so for an
    agent "ended" means "not running now", not "closed by the user".
    """
    return session.status is SessionStatus.ENDED and session.provider_ref is not None


def _failed_reason(session: Session) -> Reason:
    return _reason(
        ReasonCode.FAILED_ASSUMPTIONS,
        Severity.STRONG,
        f"Session {_label(session)} was marked as holding failed or stale assumptions.",
        sessionId=session.id,
    )


def best_resumable(ctx: DriftContext, *, exclude: str | None = None) -> Session | None:
    """The most recently active candidate that is resumable on the current boundary."""
    best: Session | None = None
    for candidate in ctx.candidates:
        if candidate.id == exclude:
            continue
        ok, _ = is_resumable(
            candidate,
            ctx.current,
            ctx.now,
            ctx.stale_after,
            provider_can_resume=ctx.provider_can_resume,
            failed_assumptions=candidate.id in ctx.failed_session_ids,
        )
        if ok and (best is None or last_activity(candidate) > last_activity(best)):
            best = candidate
    return best


def _phase_reason(ctx: DriftContext, session: Session) -> Reason | None:
    before, after = session.boundary.phase, ctx.current.phase
    if before is Phase.PLANNING and after is Phase.IMPLEMENTATION and not ctx.handoff_approved:
        return _reason(
            ReasonCode.PHASE_CHANGED,
            Severity.MEDIUM,
            "The work moved from planning to implementation without an approved handoff.",
            before=before.value,
            after=after.value,
        )
    return None


def _history_reason(ctx: DriftContext, session: Session) -> Reason | None:
    if ctx.head_is_descendant is not False:
        return None
    return _reason(
        ReasonCode.HISTORY_REWRITTEN,
        Severity.MEDIUM,
        "HEAD moved to a commit that does not descend from the session's last seen commit "
        "(rebase or reset).",
        before=session.head_sha,
        after=ctx.head_sha,
    )


def session_signals(ctx: DriftContext, session: Session) -> list[Reason]:
    """Every strong and medium signal between ``session`` and the current state, strongest first."""
    signals = boundary_signals(session.boundary, ctx.current)
    if ctx.failed_assumptions:
        signals.append(_failed_reason(session))
    provider = _provider_reason(session, ctx.current, ctx.provider_can_resume)
    if provider is not None:
        signals.append(provider)
    medium = [
        _phase_reason(ctx, session),
        _history_reason(ctx, session),
        footprint_drift(
            ctx.footprint, ctx.recent_paths, ctx.footprint_threshold, ctx.footprint_min_recent
        ),
        _stale_reason(session, ctx.now, ctx.stale_after),
    ]
    signals.extend(reason for reason in medium if reason is not None)
    return signals


# --- building recommendations ------------------------------------------------


def _continue(session: Session, reasons: list[Reason], summary: str) -> Recommendation:
    return Recommendation(
        action=Action.CONTINUE, target_session_id=session.id, reasons=reasons, summary=summary
    )


def _leave(
    ctx: DriftContext, session: Session | None, reasons: list[Reason], why: str, *, ask: bool
) -> Recommendation:
    """Resume the best resumable session on the new boundary, else start fresh."""
    target = best_resumable(ctx, exclude=session.id if session else None)
    if target is not None:
        idle = idle_text(_utc(ctx.now) - last_activity(target))
        resumable = _reason(
            ReasonCode.RESUMABLE_SESSION,
            Severity.INFO,
            f"Session {_label(target)} on '{target.boundary.branch}' was active {idle} ago "
            "and can be resumed.",
            sessionId=target.id,
            lastActivity=last_activity(target).isoformat(),
        )
        return Recommendation(
            action=Action.RESUME,
            target_session_id=target.id,
            reasons=[*reasons, resumable],
            summary=f"Resume session {_label(target)}: {why}, and it was active {idle} ago.",
            ask=ask,
        )
    return Recommendation(
        action=Action.FRESH,
        reasons=reasons,
        summary=f"Start a fresh session: {why}.",
        ask=ask,
    )


def _why(reason: Reason) -> str:
    """A short clause for the summary sentence, from a signal's evidence."""
    ev = reason.evidence
    phrases = {
        ReasonCode.REPOSITORY_CHANGED: "the workspace is in another repository",
        ReasonCode.REQUESTER_CHANGED: f"the requester changed to '{ev.get('after')}'",
        ReasonCode.MACHINE_CHANGED: f"this is another machine ('{ev.get('after')}')",
        ReasonCode.WORKTREE_CHANGED: "the workspace is in another worktree",
        ReasonCode.BRANCH_CHANGED: (
            f"the branch changed from '{ev.get('before')}' to '{ev.get('after')}'"
        ),
        ReasonCode.TASK_CHANGED: f"the task changed to '{ev.get('after')}'",
        ReasonCode.FAILED_ASSUMPTIONS: "the session holds failed assumptions",
        ReasonCode.PROVIDER_CANNOT_RESUME: "the provider cannot resume the session",
        ReasonCode.PHASE_CHANGED: "planning turned into implementation without an approved handoff",
        ReasonCode.HISTORY_REWRITTEN: "the branch history was rewritten",
        ReasonCode.FOOTPRINT_DRIFT: "recent work lies mostly outside the session's files",
        ReasonCode.STALE: "the session is stale",
    }
    return phrases.get(reason.code, reason.message.rstrip("."))


def _join(reasons: list[Reason]) -> str:
    clauses = [_why(r) for r in reasons]
    if len(clauses) <= 2:
        return " and ".join(clauses)
    return ", ".join(clauses[:-1]) + " and " + clauses[-1]


def _find(ctx: DriftContext, session_id: str) -> Session | None:
    if ctx.session is not None and ctx.session.id == session_id:
        return ctx.session
    return next((c for c in ctx.candidates if c.id == session_id), None)


def _choice_reason(action: Action, source: str, message: str, **evidence: Any) -> Reason:
    return _reason(
        ReasonCode.USER_CHOICE,
        Severity.INFO,
        message,
        action=action.value,
        source=source,
        **evidence,
    )


def _apply_choice(
    ctx: DriftContext, action: Action, source: str, signals: list[Reason]
) -> tuple[Recommendation | None, Reason]:
    """Apply a user choice; None (with the reason why) when it cannot be applied.

    ``source`` is ``explicit`` or ``remembered``. A choice never continues,
    resumes or forks across a hard boundary.
    """
    who = "Your choice" if source == "explicit" else "Your remembered choice for this branch"
    session = ctx.session
    if action is Action.FRESH:
        reason = _choice_reason(action, source, f"{who} is to start a fresh session.")
        return (
            Recommendation(
                action=Action.FRESH,
                reasons=[reason, *signals],
                summary="Start a fresh session, as you chose.",
            ),
            reason,
        )

    target: Session | None
    if action is Action.CONTINUE:
        target = session
    elif ctx.explicit_target is not None and source == "explicit":
        target = _find(ctx, ctx.explicit_target)
    elif action is Action.RESUME:
        target = best_resumable(ctx, exclude=session.id if session else None) or _best_eligible(
            ctx, exclude=session.id if session else None
        )
    else:
        target = session or best_resumable(ctx)

    verb = action.value
    if target is None:
        missing = (
            f"session {ctx.explicit_target} is unknown"
            if ctx.explicit_target is not None and source == "explicit"
            else "there is no session to " + verb
        )
        return None, _choice_reason(
            action, source, f"{who} to {verb} cannot be applied: {missing}.", applied=False
        )
    hard = [r for r in boundary_signals(target.boundary, ctx.current) if r.code in HARD_CODES]
    if hard:
        return None, _choice_reason(
            action,
            source,
            f"{who} to {verb} cannot be applied: {hard[0].message} "
            "Sessions never cross a repository, requester or machine boundary.",
            applied=False,
            sessionId=target.id,
            blockedBy=hard[0].code.value,
        )
    reason = _choice_reason(
        action, source, f"{who} is to {verb} session {_label(target)}.", sessionId=target.id
    )
    return (
        Recommendation(
            action=action,
            target_session_id=target.id,
            reasons=[reason, *signals],
            summary=f"{verb.capitalize()} session {_label(target)}, as you chose.",
        ),
        reason,
    )


def _best_eligible(ctx: DriftContext, *, exclude: str | None) -> Session | None:
    """The most recent candidate an explicit resume may take (hard boundaries only)."""
    eligible = [
        c
        for c in ctx.candidates
        if c.id != exclude and is_resumable(c, ctx.current, ctx.now, explicit=True)[0]
    ]
    return max(eligible, key=last_activity, default=None)


def recommend(ctx: DriftContext) -> Recommendation:
    """The recommendation for ``ctx``: continue, resume, fork or fresh, with reasons.

    See the module docstring for the precedence and docs/policy.md for the
    table of signals. ``ask`` is True when a modal prompt is wanted;
    ``deferred`` is True while git is mid-operation. ``choices`` and
    ``question`` are the decision every door offers (:mod:`sidecar.core.decisions`).
    """
    return _with_choices(ctx, _recommend(ctx))


def offered_session(ctx: DriftContext, *, exclude: Sequence[str | None] = ()) -> Session | None:
    """The branch's most recent session that only staleness keeps from being resumed.

    Not recommended by itself (stale means fresh), but worth offering: the user
    opening yesterday's branch may well want yesterday's session back.
    """
    best: Session | None = None
    for candidate in ctx.candidates:
        if candidate.id in exclude or candidate.status not in _LIVE:
            continue
        if candidate.id in ctx.failed_session_ids or candidate.provider_ref is not None:
            continue
        if boundary_signals(candidate.boundary, ctx.current):
            continue
        if best is None or last_activity(candidate) > last_activity(best):
            best = candidate
    return best


def _with_choices(ctx: DriftContext, rec: Recommendation) -> Recommendation:
    session = ctx.session if ctx.session is not None and ctx.session.status in _LIVE else None
    target = _find(ctx, rec.target_session_id) if rec.target_session_id else None
    offered = None
    if rec.action is not Action.RESUME:
        offered = offered_session(ctx, exclude=[session.id if session else None])
    options = decision_options(
        rec,
        branch=ctx.current.branch,
        now=ctx.now,
        current=session,
        target=target,
        offered=offered,
    )
    known = {s.id: s for s in (target, offered) if s is not None}
    question = decision_question(
        rec, options, branch=ctx.current.branch, now=ctx.now, sessions=known
    )
    return rec.model_copy(
        update={"choices": options, "question": question, "headline": decision_lead(rec)}
    )


def _recommend(ctx: DriftContext) -> Recommendation:
    session = ctx.session
    if session is not None and session.status not in _LIVE:
        # An ended or archived session is not something to continue.
        session = None
        ctx = replace(ctx, session=None)
    signals = session_signals(ctx, session) if session is not None else []
    notes: list[Reason] = []

    # 1. The user's explicit choice beats every rule, except that it cannot
    #    carry a session across a hard boundary.
    if ctx.explicit is not None:
        applied, note = _apply_choice(ctx, ctx.explicit, "explicit", signals)
        if applied is not None:
            return applied
        notes.append(note)

    # 2. Hard boundaries: never continue across repositories, people or machines.
    hard = [r for r in signals if r.code in HARD_CODES]
    if hard:
        rec = _leave(ctx, session, [*notes, *signals], _join(hard), ask=True)
        if ctx.operation_in_progress:
            rec = rec.model_copy(update={"ask": False, "deferred": True})
        return rec

    # 3. Mid-rebase (or merge, cherry-pick, bisect) HEAD and branch are in flux:
    #    keep the status quo and decide once git settles.
    if ctx.operation_in_progress:
        op = ctx.operation_in_progress
        waiting = _reason(
            ReasonCode.OPERATION_IN_PROGRESS,
            Severity.INFO,
            f"A {op} is in progress; the decision waits until it finishes.",
            operation=op,
        )
        if session is not None:
            rec = _continue(
                session,
                [*notes, waiting, *signals],
                f"Keep session {_label(session)} until the {op} finishes.",
            )
        else:
            rec = Recommendation(
                action=Action.FRESH,
                reasons=[*notes, waiting],
                summary=f"Decide once the {op} finishes.",
            )
        return rec.model_copy(update={"deferred": True})

    # 4. "Don't ask again for this branch."
    remembered = ctx.remembered
    if (
        remembered is not None
        and remembered.repository == ctx.current.repository
        and remembered.branch == ctx.current.branch
    ):
        # A remembered choice that does not fit (nothing to continue, nothing to
        # resume) is silently skipped: the user did not ask anything just now.
        applied, _ = _apply_choice(ctx, remembered.action, "remembered", signals)
        if applied is not None:
            return applied.model_copy(update={"reasons": [*notes, *applied.reasons]})

    # 5. Nothing active: offer the branch's recent session, else start quietly.
    if session is None:
        none = _reason(
            ReasonCode.NO_SESSION, Severity.INFO, "No session is active in this workspace."
        )
        rec = _leave(ctx, None, [*notes, none], "no session is active here", ask=True)
        if rec.action is Action.RESUME:
            return rec
        offered = offered_session(ctx)
        if offered is None:
            # Nothing to lose by starting fresh when nothing is active: no prompt.
            return rec.model_copy(update={"ask": False})
        # The branch's stale session: fresh is the advice, but the user is asked.
        idle = idle_text(_utc(ctx.now) - last_activity(offered))
        stale = _reason(
            ReasonCode.STALE,
            Severity.MEDIUM,
            f"The last session on {offered.boundary.branch}, {_label(offered)}, was active "
            f"{idle} ago (sessions go stale after {idle_text(ctx.stale_after)}).",
            sessionId=offered.id,
            lastActivity=last_activity(offered).isoformat(),
        )
        return rec.model_copy(
            update={
                "reasons": [*rec.reasons, stale],
                "summary": f"Start a fresh session: {_label(offered)}, the last session on "
                f"this branch, is stale (active {idle} ago); resuming it is offered.",
            }
        )

    # 6. Strong signals: this boundary is not the session's.
    strong = [r for r in signals if r.severity is Severity.STRONG]
    if strong:
        return _leave(ctx, session, [*notes, *signals], _join(strong), ask=True)

    # 7. Medium signals: stale or unapproved planning->implementation alone call
    #    for fresh; any two together are too much ambiguity to continue.
    medium = [r for r in signals if r.severity is Severity.MEDIUM]
    if len(medium) >= 2 or any(r.code in FRESH_MEDIUM_CODES for r in medium):
        return _leave(ctx, session, [*notes, *signals], _join(medium), ask=True)

    # 8. History rewritten or footprint drift alone: keep going, but say so.
    if medium:
        return _continue(
            session,
            [*notes, *medium],
            f"Continue session {_label(session)}, but note: {_join(medium)}.",
        )

    # 9. Clearly the same boundary.
    same = _reason(
        ReasonCode.SAME_BOUNDARY,
        Severity.INFO,
        "Same repository, worktree, branch, requester, machine and task; "
        "the session is recent and can be resumed.",
        sessionId=session.id,
    )
    return _continue(
        session, [*notes, same], f"Continue session {_label(session)}: nothing has changed."
    )
