"""Decisions: the choices a drift prompt offers, what an answer means, what is recorded.

Every door asks the same question with the same titles (editors and tests
match them exactly): the language server with ``window/showMessageRequest``,
the terminal with numbered choices, Neovim with ``vim.ui.select``. Pure
functions; the drift service (:func:`sidecar.services.drift.decide`) acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sidecar.core.activity import as_utc, idle_text, last_active
from sidecar.core.models import (
    Action,
    Actor,
    DecisionOption,
    EventKind,
    NewEvent,
    OptionKey,
    ReasonCode,
    Recommendation,
    Session,
    Severity,
)

#: Prompt action titles (binding: editors and tests match them exactly).
START_FRESH = "Start fresh"
CONTINUE_HERE = "Continue here"
DONT_ASK_AGAIN = "Don't ask again for this branch"

#: Annotation code that marks a session as holding failed or stale assumptions.
FAILED_ASSUMPTIONS = "failed_assumptions"


def resume_title(session_name: str) -> str:
    """The prompt action that resumes a session: ``Resume "<name>"``."""
    return f'Resume "{session_name}"'


def _named(session: Session) -> str:
    return f'"{session.name[:50]}"' if session.name else "the unnamed session"


def _age(session: Session, now: datetime) -> str:
    idle = as_utc(now) - last_active(session.last_event_at, session.updated_at)
    return f"active {idle_text(idle)} ago"


def decision_options(
    rec: Recommendation,
    *,
    branch: str,
    now: datetime,
    current: Session | None,
    target: Session | None,
    offered: Session | None = None,
) -> list[DecisionOption]:
    """The answers a decision offers, the recommended one first.

    ``current`` is the live session the workspace would continue (None: no
    Continue); ``target`` the session the recommendation resumes; ``offered``
    a session worth resuming although the policy does not recommend it (the
    branch's stale session). Then resume, fresh, continue, don't ask again.
    """
    options: list[DecisionOption] = []
    resumable = target if rec.action is Action.RESUME else offered
    if resumable is not None:
        where = f" on {resumable.boundary.branch}" if resumable.boundary.branch else ""
        options.append(
            DecisionOption(
                key=OptionKey.RESUME,
                action=Action.RESUME,
                session_id=resumable.id,
                title=resume_title(resumable.name),
                button="Resume",
                label=f"Resume {_named(resumable)}{where}",
                detail=f"Back to its history ({_age(resumable, now)})",
            )
        )
    on = f" on {branch}" if branch else ""
    options.append(
        DecisionOption(
            key=OptionKey.FRESH,
            action=Action.FRESH,
            title=START_FRESH,
            button="Fresh",
            label=f"Start a fresh session{on}",
            detail="A new, empty session for this work",
        )
    )
    if current is not None:
        since = f" (from {current.boundary.branch})" if current.boundary.branch else ""
        options += [
            DecisionOption(
                key=OptionKey.CONTINUE,
                action=Action.CONTINUE,
                title=CONTINUE_HERE,
                button="Continue",
                label=f"Continue {_named(current)}",
                detail=f"Keep working in it{since}",
            ),
            DecisionOption(
                key=OptionKey.REMEMBER,
                action=Action.CONTINUE,
                remember=True,
                title=DONT_ASK_AGAIN,
                button="Don't ask",
                label=f"Continue and don't ask again{on}",
                detail=f"Keep {_named(current)} and remember this choice for the branch",
            ),
        ]
    best = {Action.RESUME: OptionKey.RESUME, Action.FRESH: OptionKey.FRESH}.get(
        rec.action, OptionKey.CONTINUE if rec.action is Action.CONTINUE else None
    )
    options = [o.model_copy(update={"recommended": o.key is best}) for o in options]
    return [o for o in options if o.recommended] + [o for o in options if not o.recommended]


_RANK = {Severity.STRONG: 0, Severity.MEDIUM: 1, Severity.INFO: 2}


def decision_lead(rec: Recommendation) -> str:
    """Why the decision comes up, in one sentence: the strongest reason, in words."""
    reasons = [r for r in rec.reasons if r.code is not ReasonCode.RESUMABLE_SESSION]
    if not reasons:
        return rec.summary or "The workspace changed."
    reason = min(reasons, key=lambda r: _RANK.get(r.severity, 3))
    ev = reason.evidence
    if reason.code is ReasonCode.BRANCH_CHANGED and ev.get("before") and ev.get("after"):
        return f"You switched from {ev['before']} to {ev['after']}."
    text = reason.message.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def decision_question(
    rec: Recommendation,
    options: list[DecisionOption],
    *,
    branch: str,
    now: datetime,
    sessions: dict[str, Session],
) -> str:
    """The decision in words: why, then the choices with the names the buttons stand for.

    >>> decision_question(Recommendation(action=Action.FRESH, summary="Start."), [], branch="",
    ...                   now=datetime.now(), sessions={})
    'Start.'
    """
    parts: list[str] = []
    for option in options:
        if option.key is OptionKey.RESUME and option.session_id in sessions:
            s = sessions[option.session_id]
            facts = ", ".join(p for p in (s.boundary.branch, _age(s, now)) if p)
            parts.append(f"resume {_named(s)} ({facts})")
        elif option.key is OptionKey.FRESH:
            parts.append(f"start fresh on {branch}" if branch else "start fresh")
        elif option.key is OptionKey.CONTINUE:
            parts.append(option.label[0].lower() + option.label[1:])
    question = (
        ", or ".join([", ".join(parts[:-1]), parts[-1]]) if len(parts) > 2 else " or ".join(parts)
    )
    sentence = f"{question[0].upper()}{question[1:]}?" if question else ""
    return " ".join(p for p in (decision_lead(rec), sentence) if p)


@dataclass(frozen=True)
class Choice:
    """What the user chose: an action, the session it names, whether to remember it."""

    action: Action
    session_id: str | None = None
    remember: bool = False


def choice_for_answer(answer: str | None, options: list[DecisionOption]) -> Choice | None:
    """The choice a prompt answer (an option's title) means; None when dismissed.

    >>> fresh = DecisionOption(key=OptionKey.FRESH, action=Action.FRESH, title=START_FRESH,
    ...                        button="Fresh", label="Start a fresh session")
    >>> choice_for_answer(START_FRESH, [fresh]).action.value
    'fresh'
    >>> choice_for_answer(None, [fresh]) is None
    True
    """
    for option in options:
        if answer is not None and option.title == answer:
            return Choice(option.action, session_id=option.session_id, remember=option.remember)
    return None


def decision_event(
    action: Action,
    *,
    chosen: str,
    remember: bool,
    branch: str,
    recommendation: Recommendation | None,
) -> NewEvent:
    """The ``decision`` event that records a choice on the session it led to.

    ``chosen`` says who chose: the prompt title, ``command``, ``remembered`` or
    ``automatic``.
    """
    payload: dict[str, Any] = {
        "action": action.value,
        "chosen": chosen,
        "remember": remember,
        "branch": branch,
        "recommendation": recommendation.summary if recommendation is not None else None,
        "recommended": recommendation.action.value if recommendation is not None else None,
    }
    return NewEvent(kind=EventKind.DECISION, actor=Actor.USER, payload=payload)


#: What a recommendation offers a person now, not what it recommended: not recorded.
_OFFERED = ("headline", "question", "choices")


def drift_event(recommendation: Recommendation, **extra: Any) -> NewEvent:
    """The ``drift`` event that records a recommendation on the session it concerns."""
    payload = {k: v for k, v in recommendation.to_json().items() if k not in _OFFERED}
    return NewEvent(kind=EventKind.DRIFT, actor=Actor.SYSTEM, payload={**payload, **extra})


def branch_change_event(from_branch: str, to_branch: str, head_sha: str | None) -> NewEvent:
    """The ``branch_change`` event recorded on the session that was active at a switch."""
    return NewEvent(
        kind=EventKind.BRANCH_CHANGE,
        actor=Actor.SYSTEM,
        payload={"from": from_branch, "to": to_branch, "headSha": head_sha},
    )
