"""The drift decision every door offers: the choices and the question the policy attaches
to its recommendation (sidecar/core/decisions.py), including the stale session offered when
nothing is active."""

from __future__ import annotations

from datetime import timedelta

from sidecar.core.decisions import (
    CONTINUE_HERE,
    DONT_ASK_AGAIN,
    START_FRESH,
    choice_for_answer,
    drift_event,
)
from sidecar.core.models import Action, ReasonCode, SessionStatus
from sidecar.core.policy import recommend
from tests.test_policy import HERE, ctx, session


def keys(rec: object) -> list[str]:
    return [o.key.value for o in rec.choices]  # type: ignore[attr-defined]


def test_a_switch_to_a_branch_with_a_recent_session_offers_resume_first_with_short_buttons() -> (
    None
):
    current = session("cur", branch="main")
    target = session("tgt", idle=timedelta(hours=2), branch="feature/login")
    rec = recommend(
        ctx(
            HERE.model_copy(update={"branch": "feature/login"}),
            session=current,
            candidates=[target],
        )
    )
    assert rec.action is Action.RESUME
    assert keys(rec) == ["resume", "fresh", "continue", "remember"]
    resume, fresh, here, never = rec.choices
    assert resume.recommended and not any(o.recommended for o in (fresh, here, never))
    assert [o.button for o in rec.choices] == ["Resume", "Fresh", "Continue", "Don't ask"]
    assert [o.title for o in rec.choices] == [
        'Resume "session tgt"',
        START_FRESH,
        CONTINUE_HERE,
        DONT_ASK_AGAIN,
    ]
    assert resume.session_id == "tgt" and resume.label == 'Resume "session tgt" on feature/login'
    assert never.action is Action.CONTINUE and never.remember
    assert rec.question == (
        "You switched from main to feature/login. "
        'Resume "session tgt" (feature/login, active 2 hours ago), '
        'start fresh on feature/login, or continue "session cur"?'
    )
    assert "tgt" not in rec.question.replace("session tgt", "")  # names, never ids
    assert rec.headline == "You switched from main to feature/login."


def test_the_recommended_choice_comes_first() -> None:
    current = session("cur", branch="main")
    rec = recommend(ctx(HERE.model_copy(update={"branch": "feature/x"}), session=current))
    assert rec.action is Action.FRESH
    assert keys(rec) == ["fresh", "continue", "remember"]
    assert rec.choices[0].recommended


def test_continue_is_offered_only_when_a_session_is_live() -> None:
    rec = recommend(ctx(session=None))
    assert "continue" not in keys(rec) and "remember" not in keys(rec)


def test_a_prompt_answer_means_the_choice_with_that_title() -> None:
    target = session("tgt", idle=timedelta(hours=1), status=SessionStatus.IDLE)
    rec = recommend(ctx(session=None, candidates=[target]))
    assert rec.action is Action.RESUME and rec.ask
    chosen = choice_for_answer('Resume "session tgt"', rec.choices)
    assert chosen is not None and chosen.action is Action.RESUME and chosen.session_id == "tgt"
    assert choice_for_answer("Resume something else", rec.choices) is None
    assert choice_for_answer(None, rec.choices) is None


def test_only_a_stale_session_on_the_branch_is_offered_but_not_recommended() -> None:
    stale = session("old", idle=timedelta(hours=20))
    rec = recommend(ctx(session=None, candidates=[stale]))
    assert rec.action is Action.FRESH and rec.ask  # stale means fresh, but the user is asked
    assert keys(rec) == ["fresh", "resume"]
    assert rec.choices[1].session_id == "old" and not rec.choices[1].recommended
    assert ReasonCode.STALE in {r.code for r in rec.reasons}
    assert rec.question.startswith(
        "The last session on main, 'session old', was active 20 hours ago"
    )
    assert rec.question.endswith(
        'Start fresh on main or resume "session old" (main, active 20 hours ago)?'
    )


def test_nothing_active_and_nothing_on_the_branch_starts_quietly() -> None:
    elsewhere = session("other", idle=timedelta(hours=20), branch="feature/y")
    rec = recommend(ctx(session=None, candidates=[elsewhere]))
    assert rec.action is Action.FRESH and not rec.ask
    assert keys(rec) == ["fresh"]


def test_a_switch_onto_a_branch_whose_session_is_stale_recommends_fresh_and_offers_it() -> None:
    current = session("cur", branch="main")
    stale = session("old", idle=timedelta(days=3), branch="feature/login")
    rec = recommend(
        ctx(
            HERE.model_copy(update={"branch": "feature/login"}), session=current, candidates=[stale]
        )
    )
    assert rec.action is Action.FRESH
    assert keys(rec) == ["fresh", "resume", "continue", "remember"]
    assert rec.choices[1].session_id == "old"
    assert "active 3 days ago" in rec.question


def test_another_persons_or_agents_session_is_never_offered() -> None:
    theirs = session("theirs", idle=timedelta(hours=20), requester="bob@example.com")
    rec = recommend(ctx(session=None, candidates=[theirs]))
    assert keys(rec) == ["fresh"] and not rec.ask
    agents = session("agent", idle=timedelta(hours=20)).model_copy(update={"provider_ref": "x"})
    rec = recommend(ctx(session=None, candidates=[agents]))
    assert keys(rec) == ["fresh"]


def test_the_recorded_drift_event_keeps_the_recommendation_not_the_offer() -> None:
    rec = recommend(ctx(HERE.model_copy(update={"branch": "feature/x"}), session=session("cur")))
    payload = drift_event(rec).payload
    assert payload["action"] == "fresh" and payload["summary"] == rec.summary
    assert not {"choices", "question", "headline"} & set(payload)
