"""DriftService on real git repositories, real SQLite and real watchers; every wait bounded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sidecar.core.models import Action, EventKind, ReasonCode, SessionStatus
from sidecar.git.reader import CommitInfo
from sidecar.services.drift import (
    CONTINUE_HERE,
    DONT_ASK_AGAIN,
    START_FRESH,
    DriftService,
    DriftSettings,
    commit_events,
)
from sidecar.store import Store
from tests.driftrig import TIMEOUT_S, DriftRig
from tests.gitrepo import add_worktree, commit, git, isolate_git_config, make_repo, switch

NOT_RESUME = [START_FRESH, CONTINUE_HERE, DONT_ASK_AGAIN]


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git_config(monkeypatch, tmp_path / "home")
    repo = make_repo(tmp_path, files={"a.txt": "base\n"})
    git(repo, "branch", "feature")
    return repo


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[DriftRig]:
    rig = DriftRig(tmp_path / "sessions.db")
    yield rig
    rig.close()


@pytest.fixture
def check(rig: DriftRig) -> Iterator[Store]:
    """A second connection for assertions, as another process would read."""
    store = Store.open(rig.db)
    yield store
    store.close()


def kinds(store: Store, session_id: str) -> list[EventKind]:
    return [e.kind for e in store.events(session_id)]


def only(store: Store, session_id: str, kind: EventKind) -> dict[str, object]:
    found = store.events(session_id, kinds=[kind])
    assert len(found) == 1, f"expected one {kind} event, got {found}"
    return found[0].payload


def test_start_attaches_a_session_on_the_current_branch(rig: DriftRig, repo: Path) -> None:
    service = rig.service(repo)
    session = rig.active(service)
    assert session.boundary.branch == "main"
    assert session.boundary.worktree == str(repo)
    assert session.boundary.requester == "dev@example.com"
    assert session.status is SessionStatus.ACTIVE
    assert rig.recorder.changes == [(session.id, "started")]
    # A second service on the same folder later attaches to the same session.
    assert rig.call(service.evaluate).action is Action.CONTINUE


def test_switch_asks_and_start_fresh_starts_a_new_session(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    rig.recorder.script = [START_FRESH]
    service = rig.service(repo)
    old = rig.active(service)

    switch(repo, "feature")
    drift = rig.recorder.wait_drifts(1)
    assert drift.before is not None and drift.before.branch == "main"
    assert drift.after.branch == "feature"
    assert drift.recommendation.action is Action.FRESH
    assert ReasonCode.BRANCH_CHANGED in {r.code for r in drift.recommendation.reasons}

    new_id = rig.recorder.wait_change("fresh")
    rig.flush()
    assert [a.actions for a in rig.recorder.asks] == [NOT_RESUME]
    new = check.get_session(new_id)
    assert new.boundary.branch == "feature" and new.status is SessionStatus.ACTIVE
    assert rig.active(service).id == new_id
    assert check.get_session(old.id).status is SessionStatus.IDLE
    change = only(check, old.id, EventKind.BRANCH_CHANGE)
    assert change == {"from": "main", "to": "feature", "headSha": git(repo, "rev-parse", "HEAD")}
    assert kinds(check, old.id) == [EventKind.BRANCH_CHANGE, EventKind.DRIFT]
    decision = only(check, new_id, EventKind.DECISION)
    assert decision["action"] == "fresh" and decision["chosen"] == START_FRESH
    assert decision["branch"] == "feature" and decision["recommended"] == "fresh"
    assert rig.call(lambda: service.pending) is None


def test_continue_here_rebinds_the_session_to_the_new_branch(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    rig.recorder.script = [CONTINUE_HERE]
    service = rig.service(repo)
    old = rig.active(service)

    switch(repo, "feature")
    assert rig.recorder.wait_change("continued") == old.id
    rig.flush()
    session = check.get_session(old.id)
    assert session.status is SessionStatus.ACTIVE
    assert session.boundary.branch == "feature"
    assert only(check, old.id, EventKind.DECISION)["chosen"] == CONTINUE_HERE
    assert check.remembered_choice(session.boundary.repository, "feature") is None


def test_dont_ask_again_remembers_and_is_not_asked_again(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    rig.recorder.script = [DONT_ASK_AGAIN, None]
    service = rig.service(repo)
    old = rig.active(service)

    switch(repo, "feature")
    rig.recorder.wait_change("continued")
    rig.flush()
    choice = check.remembered_choice(old.boundary.repository, "feature")
    assert choice is not None and choice.action is Action.CONTINUE
    decision = only(check, old.id, EventKind.DECISION)
    assert decision["remember"] is True and decision["chosen"] == DONT_ASK_AGAIN

    # Away to main (prompt dismissed), then back to feature: the remembered choice applies.
    switch(repo, "main")
    rig.recorder.wait("a second ask", lambda: len(rig.recorder.asks) == 2)
    switch(repo, "feature")
    rig.recorder.wait_change("continued", count=2)
    rig.flush()
    assert len(rig.recorder.asks) == 2
    last = check.events(old.id, kinds=[EventKind.DECISION])[-1].payload
    assert last["chosen"] == "remembered" and last["branch"] == "feature"
    assert check.get_session(old.id).status is SessionStatus.ACTIVE


def test_dismissed_prompt_leaves_the_recommendation_pending(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    rig.recorder.script = [None]
    service = rig.service(repo)
    old = rig.active(service)

    switch(repo, "feature")
    rig.recorder.wait("the ask", lambda: len(rig.recorder.asks) == 1)
    rig.flush()  # the (empty) answer is handled on the store thread
    rig.flush()
    pending = rig.call(lambda: service.pending)
    assert pending is not None and pending.action is Action.FRESH
    assert check.get_session(old.id).status is SessionStatus.IDLE
    assert check.events(old.id, kinds=[EventKind.DECISION]) == []

    # Deciding later through the request path (sidecar/drift/decide) clears it.
    session = rig.call(lambda: service.decide(Action.FRESH))
    assert session.boundary.branch == "feature"
    assert rig.call(lambda: service.pending) is None
    assert only(check, session.id, EventKind.DECISION)["chosen"] == "command"


def test_switching_back_recommends_resume_first(rig: DriftRig, repo: Path, check: Store) -> None:
    rig.recorder.script = [START_FRESH, "#0"]
    service = rig.service(repo)
    first = rig.active(service)
    switch(repo, "feature")
    second_id = rig.recorder.wait_change("fresh")

    switch(repo, "main")
    rig.recorder.wait_change("resumed")
    rig.flush()
    ask = rig.recorder.asks[1]
    assert ask.recommendation.action is Action.RESUME
    assert ask.recommendation.target_session_id == first.id
    assert ask.actions == [f'Resume "{first.name}"', *NOT_RESUME]
    assert rig.active(service).id == first.id
    assert check.get_session(first.id).status is SessionStatus.ACTIVE
    assert check.get_session(second_id).status is SessionStatus.IDLE
    decision = check.events(first.id, kinds=[EventKind.DECISION])[-1].payload
    assert decision["action"] == "resume" and decision["chosen"] == f'Resume "{first.name}"'


def test_same_branch_checked_out_again_does_nothing(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    service = rig.service(repo)
    session = rig.active(service)
    git(repo, "checkout", "--quiet", "main")  # rewrites HEAD with the same content
    git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    switch(repo, "feature")  # the sentinel: the only change that counts
    drift = rig.recorder.wait_drifts(1)
    rig.flush()
    assert drift.before is not None and drift.before.branch == "main"
    assert len(rig.recorder.drifts) == 1
    assert len(check.events(session.id, kinds=[EventKind.BRANCH_CHANGE])) == 1


def test_commit_during_a_session_is_recorded(rig: DriftRig, repo: Path, check: Store) -> None:
    service = rig.service(repo)
    session = rig.active(service)
    sha = commit(repo, "add b", {"b.txt": "b\n"})
    rig.recorder.wait(
        "the commit event", lambda: any(s == session.id for s, _ in rig.recorder.history)
    )
    rig.flush()
    payload = only(check, session.id, EventKind.COMMIT)
    assert payload == {"sha": sha, "subject": "add b", "branch": "main"}
    assert check.get_session(session.id).head_sha == sha
    assert rig.recorder.drifts == [] and rig.recorder.asks == []


def test_commits_by_others_that_arrive_are_a_note_not_the_sessions_work(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    service = rig.service(repo)
    session = rig.active(service)
    # As a fast-forward pull would: commits authored by someone else land on the branch.
    git(repo, "add", "--all")
    git(
        repo,
        "commit",
        "--quiet",
        "--allow-empty",
        "--author=Colleague <colleague@example.com>",
        "-m",
        "their change",
    )
    rig.recorder.wait(
        "the note event", lambda: any(s == session.id for s, _ in rig.recorder.history)
    )
    rig.flush()
    assert check.events(session.id, kinds=[EventKind.COMMIT]) == []
    note = check.events(session.id, kinds=[EventKind.NOTE])[-1].payload
    assert note["commits"][0]["subject"] == "their change"
    assert note["commits"][0]["author"] == "colleague@example.com"


def test_commit_events_keep_only_the_requesters_commits() -> None:
    commits = [
        CommitInfo(sha="a" * 40, subject="mine", author_email="Dev@Example.com"),
        CommitInfo(sha="b" * 40, subject="theirs", author_email="other@example.com"),
    ]
    events = commit_events(commits, requester="dev@example.com", branch="main")
    assert [(e.kind, e.payload.get("subject")) for e in events] == [
        (EventKind.COMMIT, "mine"),
        (EventKind.NOTE, None),
    ]
    # Without an email to compare, every commit counts as the session's.
    anonymous = commit_events(commits, requester="dev", branch="main")
    assert [e.kind for e in anonymous] == [EventKind.COMMIT, EventKind.COMMIT]


def test_rebase_with_a_conflict_is_decided_once_after_it_ends(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    switch(repo, "feature")
    commit(repo, "feature edit", {"a.txt": "feature\n"})
    switch(repo, "main")
    commit(repo, "main edit", {"a.txt": "main\n"})
    switch(repo, "feature")
    service = rig.service(repo)
    session = rig.active(service)

    rebase = git(repo, "rebase", "main", check=False)
    assert (repo / ".git" / "rebase-merge").is_dir(), rebase
    deadline = time.monotonic() + TIMEOUT_S
    while rig.call(lambda: service.git_operation) != "rebase":  # no event to await here
        assert time.monotonic() < deadline, "the service never saw the rebase"
        time.sleep(0.01)
    (repo / "a.txt").write_text("resolved\n", encoding="utf-8")
    git(repo, "add", "a.txt")
    git(repo, "rebase", "--continue")
    assert not (repo / ".git" / "rebase-merge").exists()

    drift = rig.recorder.wait_drifts(1)
    codes = {r.code for r in drift.recommendation.reasons}
    assert ReasonCode.HISTORY_REWRITTEN in codes and ReasonCode.BRANCH_CHANGED not in codes
    assert drift.recommendation.action is Action.CONTINUE
    # A sentinel commit proves the queue has moved past the rebase: still one evaluation.
    rig.flush()
    seen = len(rig.recorder.history)
    sha = commit(repo, "after rebase", {"c.txt": "c\n"})
    rig.recorder.wait("the sentinel commit", lambda: len(rig.recorder.history) > seen)
    rig.flush()
    assert len(rig.recorder.drifts) == 1 and rig.recorder.asks == []
    assert check.events(session.id, kinds=[EventKind.BRANCH_CHANGE]) == []
    assert len(check.events(session.id, kinds=[EventKind.DRIFT])) == 1
    assert check.events(session.id, kinds=[EventKind.COMMIT])[-1].payload["sha"] == sha
    assert rig.active(service).id == session.id


def test_detached_head_is_a_branch_change(rig: DriftRig, repo: Path) -> None:
    rig.recorder.script = [None]
    service = rig.service(repo)
    head = git(repo, "rev-parse", "HEAD")
    git(repo, "switch", "--quiet", "--detach", "HEAD")
    drift = rig.recorder.wait_drifts(1)
    assert drift.after.branch == f"detached@{head[:7]}"
    rig.recorder.wait("the ask", lambda: len(rig.recorder.asks) == 1)
    assert rig.recorder.asks[0].actions == NOT_RESUME
    assert rig.call(lambda: service.pending) is not None


def test_a_linked_worktree_has_its_own_boundary(
    rig: DriftRig, repo: Path, tmp_path: Path, check: Store
) -> None:
    linked = add_worktree(repo, tmp_path / "linked", "wt")
    main_service = rig.service(repo)
    linked_service = rig.service(linked)
    main_session = rig.active(main_service)
    linked_session = rig.active(linked_service)
    assert linked_session.id != main_session.id
    assert linked_session.boundary.worktree == str(linked)
    assert linked_session.boundary.branch == "wt"
    assert linked_session.boundary.repository == main_session.boundary.repository

    rig.recorder.script = [START_FRESH]
    switch(linked, "wt-2", create=True)
    drift = rig.recorder.wait_drifts(1)
    rig.recorder.wait_change("fresh")
    rig.flush()
    assert drift.before is not None and drift.before.worktree == str(linked)
    assert drift.after.branch == "wt-2"
    assert len(rig.recorder.drifts) == 1  # the main worktree's service saw nothing
    assert rig.active(main_service).id == main_session.id
    assert rig.active(linked_service).boundary.branch == "wt-2"
    assert check.get_session(main_session.id).status is SessionStatus.ACTIVE


def test_prompts_off_applies_the_recommendation(rig: DriftRig, repo: Path, check: Store) -> None:
    service = rig.service(repo, DriftSettings(prompts="off", watch_worktree=False))
    old = rig.active(service)
    switch(repo, "feature")
    new_id = rig.recorder.wait_change("fresh")
    rig.flush()
    assert rig.recorder.asks == []
    assert check.get_session(new_id).boundary.branch == "feature"
    assert only(check, new_id, EventKind.DECISION)["chosen"] == "automatic"
    assert check.get_session(old.id).status is SessionStatus.IDLE


def test_prompts_custom_only_notifies(rig: DriftRig, repo: Path) -> None:
    service = rig.service(repo, DriftSettings(prompts="custom", watch_worktree=False))
    switch(repo, "feature")
    rig.recorder.wait_drifts(1)
    rig.flush()
    assert rig.recorder.asks == []
    assert rig.call(lambda: service.pending) is not None


def test_activity_after_the_stale_limit_asks_about_a_fresh_session(
    rig: DriftRig, repo: Path
) -> None:
    rig.recorder.script = [None]
    service = rig.service(repo, DriftSettings(stale_after=timedelta(hours=8), watch_worktree=False))
    rig.clock.offset = timedelta(hours=9)
    rig.call(lambda: service.note_activity(["a.txt"]))
    drift = rig.recorder.wait_drifts(1)
    assert ReasonCode.STALE in {r.code for r in drift.recommendation.reasons}
    assert drift.recommendation.action is Action.FRESH
    rig.recorder.wait("the ask", lambda: len(rig.recorder.asks) == 1)


def test_worktree_activity_outside_the_footprint_warns_once(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    service = rig.service(repo, DriftSettings(watch_worktree=True, checkout_quiet_s=0.0))
    session = rig.active(service)
    assert rig.call(lambda: service.watcher_mode) == "native"
    (repo / "src").mkdir()
    (repo / "src" / "core.py").write_text("x = 1\n", encoding="utf-8")
    rig.recorder.wait("the watcher's file_change", lambda: bool(rig.recorder.history))
    rig.flush()
    assert check.events(session.id, kinds=[EventKind.FILE_CHANGE])[0].payload["paths"] == [
        "src/core.py"
    ]
    rig.call(lambda: service.note_activity([f"docs/page{i}.md" for i in range(8)]))
    drift = rig.recorder.wait_drifts(1)
    assert ReasonCode.FOOTPRINT_DRIFT in {r.code for r in drift.recommendation.reasons}
    assert drift.recommendation.action is Action.CONTINUE
    rig.call(lambda: service.note_activity([f"docs/more{i}.md" for i in range(8)]))
    rig.flush()
    assert len(rig.recorder.drifts) == 1 and rig.recorder.asks == []


def test_stop_ends_nothing(rig: DriftRig, repo: Path, check: Store) -> None:
    service = rig.service(repo)
    session = rig.active(service)
    rig.call(service.stop)
    switch(repo, "feature")
    git(repo, "rev-parse", "HEAD")
    rig.flush()
    assert rig.recorder.drifts == []
    assert check.get_session(session.id).status is SessionStatus.ACTIVE


def test_not_a_repository_is_refused(rig: DriftRig, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    service = DriftService(
        rig.sessions, plain.as_uri(), plain, rig.recorder, run=rig.executor.submit
    )
    with pytest.raises(Exception, match="not inside a git worktree"):
        rig.call(service.start)


def test_a_commit_on_a_detached_head_follows_it_without_asking(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    rig.recorder.script = [CONTINUE_HERE]
    service = rig.service(repo)
    session = rig.active(service)
    git(repo, "switch", "--quiet", "--detach", "HEAD")
    rig.recorder.wait_change("continued")
    rig.flush()
    seen = len(rig.recorder.history)
    sha = commit(repo, "detached work", {"d.txt": "d\n"})
    rig.recorder.wait("the commit event", lambda: len(rig.recorder.history) > seen)
    rig.flush()
    assert len(rig.recorder.drifts) == 1 and len(rig.recorder.asks) == 1
    assert check.events(session.id, kinds=[EventKind.COMMIT])[-1].payload["sha"] == sha
    assert check.get_session(session.id).boundary.branch == f"detached@{sha[:7]}"
