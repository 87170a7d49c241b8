"""The drift policy, row by row of docs/policy.md, plus properties over random contexts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from sidecar.core.models import (
    Action,
    Boundary,
    Choice,
    Phase,
    ReasonCode,
    Session,
    SessionStatus,
    Severity,
)
from sidecar.core.policy import (
    DEFAULT_STALE_AFTER,
    DriftContext,
    boundary_signals,
    is_resumable,
    recommend,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
HERE = Boundary(
    repository="github.com/acme/app",
    worktree="/work/app",
    branch="main",
    requester="ada@example.com",
    machine="laptop",
    provider="claude-code",
)


def session(sid: str = "s1", idle: timedelta = timedelta(minutes=5), **changes: Any) -> Session:
    """A session on HERE (with ``changes`` to its boundary), last active ``idle`` ago."""
    status = changes.pop("status", SessionStatus.ACTIVE)
    return Session(
        id=sid,
        name=f"session {sid}",
        status=status,
        boundary=HERE.model_copy(update=changes),
        created_at=NOW - idle - timedelta(hours=1),
        updated_at=NOW - idle,
        last_event_at=NOW - idle,
    )


def ctx(current: Boundary = HERE, **fields: Any) -> DriftContext:
    fields.setdefault("session", session())
    return DriftContext(current=current, now=NOW, **fields)


def codes(rec: Any) -> set[ReasonCode]:
    return {r.code for r in rec.reasons}


# --- same boundary -------------------------------------------------------------


def test_same_boundary_recent_session_continues_without_asking() -> None:
    rec = recommend(ctx())
    assert rec.action is Action.CONTINUE
    assert rec.target_session_id == "s1"
    assert not rec.ask and not rec.deferred
    assert codes(rec) == {ReasonCode.SAME_BOUNDARY}
    assert "Continue" in rec.summary


# --- strong signals: one test per row -------------------------------------------

STRONG_ROWS = [
    ("branch_changed", {"branch": "feature/login"}),
    ("repository_changed", {"repository": "github.com/acme/other"}),
    ("worktree_changed", {"worktree": "/work/app-wt"}),
    ("requester_changed", {"requester": "bob@example.com"}),
    ("machine_changed", {"machine": "desktop"}),
]


@pytest.mark.parametrize(("code", "change"), STRONG_ROWS)
def test_boundary_change_recommends_fresh_and_asks(code: str, change: dict[str, str]) -> None:
    rec = recommend(ctx(current=HERE.model_copy(update=change)))
    assert rec.action is Action.FRESH
    assert rec.ask
    reason = next(r for r in rec.reasons if r.code == code)
    assert reason.severity is Severity.STRONG
    assert reason.evidence["after"] == next(iter(change.values()))
    assert rec.summary.startswith("Start a fresh session")


def test_task_changed_when_both_tasks_set_and_differ() -> None:
    rec = recommend(
        ctx(current=HERE.model_copy(update={"task": "ADR-7"}), session=session(task="ADR-3"))
    )
    assert rec.action is Action.FRESH and rec.ask
    assert ReasonCode.TASK_CHANGED in codes(rec)


def test_task_set_on_one_side_only_is_not_a_change() -> None:
    rec = recommend(ctx(current=HERE.model_copy(update={"task": "ADR-7"})))
    assert rec.action is Action.CONTINUE


def test_failed_assumptions_recommend_fresh() -> None:
    rec = recommend(ctx(failed_assumptions=True))
    assert rec.action is Action.FRESH and rec.ask
    assert ReasonCode.FAILED_ASSUMPTIONS in codes(rec)


def test_provider_that_cannot_resume_recommends_fresh() -> None:
    rec = recommend(ctx(provider_can_resume=False))
    assert rec.action is Action.FRESH and rec.ask
    assert ReasonCode.PROVIDER_CANNOT_RESUME in codes(rec)


def test_another_provider_cannot_resume_the_session() -> None:
    rec = recommend(ctx(current=HERE.model_copy(update={"provider": "codex"})))
    assert rec.action is Action.FRESH
    reason = next(r for r in rec.reasons if r.code is ReasonCode.PROVIDER_CANNOT_RESUME)
    assert reason.evidence == {"before": "claude-code", "after": "codex"}


# --- medium signals ---------------------------------------------------------------


def test_planning_to_implementation_without_handoff_recommends_fresh() -> None:
    rec = recommend(
        ctx(
            current=HERE.model_copy(update={"phase": Phase.IMPLEMENTATION}),
            session=session(phase=Phase.PLANNING),
        )
    )
    assert rec.action is Action.FRESH and rec.ask
    assert ReasonCode.PHASE_CHANGED in codes(rec)


def test_planning_to_implementation_with_approved_handoff_continues() -> None:
    rec = recommend(
        ctx(
            current=HERE.model_copy(update={"phase": Phase.IMPLEMENTATION}),
            session=session(phase=Phase.PLANNING),
            handoff_approved=True,
        )
    )
    assert rec.action is Action.CONTINUE


def test_rewritten_history_alone_continues_with_a_warning() -> None:
    rec = recommend(ctx(head_sha="b" * 40, head_is_descendant=False))
    assert rec.action is Action.CONTINUE and not rec.ask
    reason = next(r for r in rec.reasons if r.code is ReasonCode.HISTORY_REWRITTEN)
    assert reason.severity is Severity.MEDIUM and reason.evidence["after"] == "b" * 40


def test_unknown_ancestry_is_not_rewritten_history() -> None:
    assert recommend(ctx(head_is_descendant=None)).action is Action.CONTINUE


def test_footprint_drift_alone_continues_without_a_prompt() -> None:
    rec = recommend(
        ctx(
            footprint={"src/auth/login.py": 3.0, "src/auth/session.py": 2.0},
            recent_paths=["docs/a.md", "docs/b.md", "infra/main.tf", "README.md", "ci.yml"],
        )
    )
    assert rec.action is Action.CONTINUE and not rec.ask
    assert ReasonCode.FOOTPRINT_DRIFT in codes(rec)
    assert "note" in rec.summary


def test_stale_session_recommends_fresh() -> None:
    rec = recommend(ctx(session=session(idle=DEFAULT_STALE_AFTER + timedelta(minutes=1))))
    assert rec.action is Action.FRESH and rec.ask
    reason = next(r for r in rec.reasons if r.code is ReasonCode.STALE)
    assert reason.evidence["staleAfterSeconds"] == 8 * 3600


def test_stale_limit_is_configurable() -> None:
    rec = recommend(ctx(session=session(idle=timedelta(hours=2)), stale_after=timedelta(hours=1)))
    assert ReasonCode.STALE in codes(rec)


def test_two_warning_signals_together_recommend_fresh() -> None:
    rec = recommend(
        ctx(
            head_is_descendant=False,
            footprint={"src/a.py": 1.0},
            recent_paths=["docs/1.md", "docs/2.md", "docs/3.md", "docs/4.md", "docs/5.md"],
        )
    )
    assert rec.action is Action.FRESH and rec.ask
    assert {ReasonCode.HISTORY_REWRITTEN, ReasonCode.FOOTPRINT_DRIFT} <= codes(rec)


# --- resume -----------------------------------------------------------------------


def test_switching_back_to_a_branch_with_a_recent_session_resumes_it() -> None:
    on_feature = session("feat", branch="feature/login")
    older_main = session("old-main", idle=timedelta(hours=3), status=SessionStatus.IDLE)
    newer_main = session("new-main", idle=timedelta(minutes=30), status=SessionStatus.IDLE)
    rec = recommend(ctx(session=on_feature, candidates=[older_main, on_feature, newer_main]))
    assert rec.action is Action.RESUME
    assert rec.target_session_id == "new-main"
    assert {ReasonCode.BRANCH_CHANGED, ReasonCode.RESUMABLE_SESSION} <= codes(rec)
    assert rec.summary.startswith("Resume session 'session new-main'")


@pytest.mark.parametrize(
    ("candidate", "extra"),
    [
        (session("c", status=SessionStatus.ENDED), {}),
        (session("c", idle=timedelta(hours=9)), {}),
        (session("c", requester="bob@example.com"), {}),
        (session("c", worktree="/elsewhere"), {}),
        (session("c"), {"failed_session_ids": frozenset({"c"})}),
        (session("c"), {"provider_can_resume": False}),
    ],
    ids=["ended", "stale", "other-requester", "other-worktree", "failed", "no-provider"],
)
def test_unresumable_candidates_are_not_resumed(candidate: Session, extra: dict[str, Any]) -> None:
    rec = recommend(ctx(session=session("feat", branch="x"), candidates=[candidate], **extra))
    assert rec.action is Action.FRESH


def test_no_session_and_nothing_to_resume_starts_fresh_silently() -> None:
    rec = recommend(ctx(session=None))
    assert rec.action is Action.FRESH and not rec.ask
    assert codes(rec) == {ReasonCode.NO_SESSION}


def test_no_session_with_a_recent_one_here_offers_resume() -> None:
    rec = recommend(ctx(session=None, candidates=[session("c", status=SessionStatus.IDLE)]))
    assert rec.action is Action.RESUME and rec.target_session_id == "c" and rec.ask


def test_ended_active_session_is_treated_as_none() -> None:
    rec = recommend(ctx(session=session(status=SessionStatus.ENDED)))
    assert rec.action is Action.FRESH and ReasonCode.NO_SESSION in codes(rec)


# --- git operations in progress ----------------------------------------------------


@pytest.mark.parametrize("op", ["rebase", "merge", "cherry-pick", "bisect"])
def test_operation_in_progress_defers_without_prompt(op: str) -> None:
    detached = HERE.model_copy(update={"branch": "detached@abc1234"})
    rec = recommend(ctx(current=detached, operation_in_progress=op))
    assert rec.deferred and not rec.ask
    assert rec.action is Action.CONTINUE and rec.target_session_id == "s1"
    assert ReasonCode.OPERATION_IN_PROGRESS in codes(rec)


def test_operation_in_progress_across_a_hard_boundary_still_never_continues() -> None:
    other = HERE.model_copy(update={"repository": "github.com/acme/other"})
    rec = recommend(ctx(current=other, operation_in_progress="rebase"))
    assert rec.action is Action.FRESH and rec.deferred and not rec.ask


# --- user choices -----------------------------------------------------------------


def remember(action: Action, branch: str = "feature/login") -> Choice:
    return Choice(repository=HERE.repository, branch=branch, action=action, created_at=NOW)


def test_dont_ask_again_for_this_branch_continues_silently() -> None:
    feature = HERE.model_copy(update={"branch": "feature/login"})
    rec = recommend(ctx(current=feature, remembered=remember(Action.CONTINUE)))
    assert rec.action is Action.CONTINUE and not rec.ask
    assert rec.target_session_id == "s1"
    assert rec.reasons[0].code is ReasonCode.USER_CHOICE
    assert rec.reasons[0].evidence["source"] == "remembered"


def test_remembered_choice_for_another_branch_does_not_apply() -> None:
    feature = HERE.model_copy(update={"branch": "feature/login"})
    rec = recommend(ctx(current=feature, remembered=remember(Action.CONTINUE, "other")))
    assert rec.action is Action.FRESH and rec.ask


def test_remembered_continue_is_never_applied_across_a_hard_boundary() -> None:
    moved = HERE.model_copy(update={"branch": "feature/login", "machine": "desktop"})
    rec = recommend(ctx(current=moved, remembered=remember(Action.CONTINUE)))
    assert rec.action is Action.FRESH
    assert ReasonCode.MACHINE_CHANGED in codes(rec)


def test_remembered_fresh_starts_fresh_without_asking() -> None:
    rec = recommend(ctx(remembered=remember(Action.FRESH, "main")))
    assert rec.action is Action.FRESH and not rec.ask


@pytest.mark.parametrize("action", list(Action))
def test_explicit_choice_beats_strong_soft_signals(action: Action) -> None:
    feature = HERE.model_copy(update={"branch": "feature/login"})
    older = session("older", idle=timedelta(hours=30), branch="feature/login")
    rec = recommend(
        ctx(current=feature, explicit=action, candidates=[older], failed_assumptions=True)
    )
    assert rec.action is action and not rec.ask
    assert rec.reasons[0].code is ReasonCode.USER_CHOICE
    if action is Action.RESUME:
        assert rec.target_session_id == "older"


def test_explicit_resume_of_a_named_session() -> None:
    named = session("named", idle=timedelta(days=3), status=SessionStatus.ENDED)
    rec = recommend(ctx(explicit=Action.RESUME, explicit_target="named", candidates=[named]))
    assert rec.action is Action.RESUME and rec.target_session_id == "named"


def test_explicit_continue_across_machines_is_refused_with_a_reason() -> None:
    rec = recommend(
        ctx(current=HERE.model_copy(update={"machine": "desktop"}), explicit=Action.CONTINUE)
    )
    assert rec.action is Action.FRESH
    note = rec.reasons[0]
    assert note.code is ReasonCode.USER_CHOICE and note.evidence["blockedBy"] == "machine_changed"


def test_explicit_resume_of_an_unknown_id_falls_back_with_a_reason() -> None:
    rec = recommend(ctx(explicit=Action.RESUME, explicit_target="nope"))
    assert rec.action is Action.CONTINUE
    assert "nope is unknown" in rec.reasons[0].message


# --- helpers used by services -------------------------------------------------------


def test_boundary_signals_list_hard_changes_first() -> None:
    new = HERE.model_copy(update={"branch": "x", "repository": "r2", "requester": "bob"})
    assert [r.code for r in boundary_signals(HERE, new)] == [
        ReasonCode.REPOSITORY_CHANGED,
        ReasonCode.REQUESTER_CHANGED,
        ReasonCode.BRANCH_CHANGED,
    ]


@pytest.mark.parametrize("field", ["repository", "requester", "machine"])
def test_explicit_resume_rejects_other_repository_requester_or_machine(field: str) -> None:
    ok, reason = is_resumable(
        session(), HERE.model_copy(update={field: "other"}), NOW, explicit=True
    )
    assert not ok and reason is not None and reason.code == f"{field}_changed"


def test_explicit_resume_allows_other_branch_and_stale() -> None:
    stale_elsewhere = session(idle=timedelta(days=2), branch="old")
    assert is_resumable(stale_elsewhere, HERE, NOW, explicit=True) == (True, None)
    ok, reason = is_resumable(stale_elsewhere, HERE, NOW)
    assert not ok and reason is not None and reason.code is ReasonCode.BRANCH_CHANGED


def test_naive_times_are_read_as_utc() -> None:
    naive = session().model_copy(update={"last_event_at": datetime(2025, 6, 1, 11, 55)})
    assert recommend(ctx(session=naive)).action is Action.CONTINUE


# --- properties ----------------------------------------------------------------------

names = st.sampled_from(["a", "b"])
boundaries = st.builds(
    Boundary,
    repository=names,
    worktree=names,
    branch=names,
    requester=names,
    machine=names,
    task=st.none() | names,
    phase=st.none() | st.sampled_from(list(Phase)),
    provider=st.none() | names,
)
statuses = st.sampled_from(list(SessionStatus))
idles = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=20))


@st.composite
def sessions(draw: st.DrawFn, sid: str) -> Session:
    idle = draw(idles)
    return Session(
        id=sid,
        status=draw(statuses),
        boundary=draw(boundaries),
        created_at=NOW - idle,
        updated_at=NOW - idle,
        last_event_at=NOW - idle,
    )


@st.composite
def contexts(draw: st.DrawFn) -> DriftContext:
    return DriftContext(
        current=draw(boundaries),
        now=NOW,
        session=draw(st.none() | sessions("s")),
        candidates=[draw(sessions(f"c{i}")) for i in range(draw(st.integers(0, 3)))],
        remembered=draw(
            st.none()
            | st.builds(
                Choice,
                repository=names,
                branch=names,
                action=st.sampled_from(list(Action)),
                created_at=st.just(NOW),
            )
        ),
        explicit=draw(st.none() | st.sampled_from(list(Action))),
        operation_in_progress=draw(st.none() | st.just("rebase")),
        head_is_descendant=draw(st.none() | st.booleans()),
        failed_assumptions=draw(st.booleans()),
        provider_can_resume=draw(st.booleans()),
        handoff_approved=draw(st.booleans()),
    )


HARD_FIELDS = ("repository", "requester", "machine")


@settings(max_examples=300, deadline=None)
@given(contexts())
def test_no_recommendation_ever_crosses_a_hard_boundary(c: DriftContext) -> None:
    rec = recommend(c)
    if rec.action is Action.FRESH:
        assert rec.target_session_id is None
        return
    target = next(s for s in [c.session, *c.candidates] if s and s.id == rec.target_session_id)
    for name in HARD_FIELDS:
        assert getattr(target.boundary, name) == getattr(c.current, name)


@settings(max_examples=300, deadline=None)
@given(contexts())
def test_hard_boundary_change_never_yields_continue(c: DriftContext) -> None:
    if c.session is None:
        return
    rec = recommend(c)
    if any(getattr(c.session.boundary, f) != getattr(c.current, f) for f in HARD_FIELDS):
        assert rec.action is not Action.CONTINUE


@settings(max_examples=300, deadline=None)
@given(contexts(), st.sampled_from(list(Action)))
def test_explicit_choice_wins_within_the_hard_boundary(c: DriftContext, action: Action) -> None:
    # Put every session inside the current hard boundary, so only soft rules remain.
    hard = {f: getattr(c.current, f) for f in HARD_FIELDS}
    live = session("s", **{**hard, "branch": "elsewhere"})
    other = session("c", idle=timedelta(days=2), **{**hard, "worktree": "/other"})
    c = replace(c, session=live, candidates=[other], explicit=action, explicit_target=None)
    rec = recommend(c)
    assert rec.action is action and not rec.ask


@settings(max_examples=200, deadline=None)
@given(boundaries, idles)
def test_same_boundary_recent_resumable_continues(b: Boundary, idle: timedelta) -> None:
    s = Session(
        id="s",
        boundary=b,
        created_at=NOW - idle,
        updated_at=NOW - idle,
        last_event_at=NOW - idle,
    )
    rec = recommend(DriftContext(current=b, now=NOW, session=s))
    if idle <= DEFAULT_STALE_AFTER:
        assert rec.action is Action.CONTINUE and rec.target_session_id == "s"
        assert not rec.ask
    else:
        assert rec.action is Action.FRESH


@settings(max_examples=300, deadline=None)
@given(contexts())
def test_every_recommendation_explains_itself(c: DriftContext) -> None:
    rec = recommend(c)
    assert rec.reasons and rec.summary.endswith(".")
    assert rec.summary.count(". ") == 0  # one sentence
    if rec.deferred:
        assert not rec.ask
