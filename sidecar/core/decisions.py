"""Decisions: the choices a drift prompt offers, what an answer means, what is recorded.

Every door asks the same question with the same titles (editors and tests
match them exactly): the language server with ``window/showMessageRequest``,
the terminal with numbered choices, Neovim with ``vim.ui.select``. Pure
functions; the drift service (:func:`sidecar.services.drift.decide`) acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sidecar.core.models import Action, Actor, EventKind, NewEvent, Recommendation

#: Prompt action titles (binding: editors and tests match them exactly).
START_FRESH = "Start fresh"
CONTINUE_HERE = "Continue here"
DONT_ASK_AGAIN = "Don't ask again for this branch"

#: Annotation code that marks a session as holding failed or stale assumptions.
FAILED_ASSUMPTIONS = "failed_assumptions"


def resume_title(session_name: str) -> str:
    """The prompt action that resumes a session: ``Resume "<name>"``."""
    return f'Resume "{session_name}"'


def prompt_actions(target_name: str | None, *, has_session: bool) -> list[str]:
    """The prompt's action titles, in the order they are offered.

    ``target_name`` is the name of the session the recommendation resumes
    (None when it resumes nothing); continuing is offered only when a session
    is active.
    """
    actions: list[str] = []
    if target_name is not None:
        actions.append(resume_title(target_name))
    actions.append(START_FRESH)
    if has_session:
        actions += [CONTINUE_HERE, DONT_ASK_AGAIN]
    return actions


@dataclass(frozen=True)
class Choice:
    """What the user chose: an action, the session it names, whether to remember it."""

    action: Action
    session_id: str | None = None
    remember: bool = False


def choice_for_answer(
    answer: str | None, actions: list[str], recommendation: Recommendation
) -> Choice | None:
    """The choice a prompt answer means; None when the prompt was dismissed.

    >>> rec = Recommendation(action=Action.FRESH)
    >>> choice_for_answer(START_FRESH, [START_FRESH], rec).action.value
    'fresh'
    >>> choice_for_answer(None, [START_FRESH], rec) is None
    True
    """
    if answer is None or answer not in actions:
        return None
    if answer == START_FRESH:
        return Choice(Action.FRESH)
    if answer == CONTINUE_HERE:
        return Choice(Action.CONTINUE)
    if answer == DONT_ASK_AGAIN:
        return Choice(Action.CONTINUE, remember=True)
    return Choice(Action.RESUME, session_id=recommendation.target_session_id)


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


def drift_event(recommendation: Recommendation, **extra: Any) -> NewEvent:
    """The ``drift`` event that records a recommendation on the session it concerns."""
    return NewEvent(
        kind=EventKind.DRIFT,
        actor=Actor.SYSTEM,
        payload={**recommendation.to_json(), **extra},
    )


def branch_change_event(from_branch: str, to_branch: str, head_sha: str | None) -> NewEvent:
    """The ``branch_change`` event recorded on the session that was active at a switch."""
    return NewEvent(
        kind=EventKind.BRANCH_CHANGE,
        actor=Actor.SYSTEM,
        payload={"from": from_branch, "to": to_branch, "headSha": head_sha},
    )
