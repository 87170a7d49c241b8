"""The core's drift handling (workspace, git tracker, watch hub) on real git repositories,
real SQLite and real watchers; every wait bounded."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from sidecar.core.decisions import CONTINUE_HERE, DONT_ASK_AGAIN, START_FRESH
from sidecar.core.models import (
    Action,
    Actor,
    EventKind,
    NewEvent,
    ReasonCode,
    Session,
    SessionStatus,
)
from sidecar.core.transitions import commit_events
from sidecar.git.reader import CommitInfo
from sidecar.services.drift import DriftSettings
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
    return [e.kind for e in store.events.page(session_id)]


def only(store: Store, session_id: str, kind: EventKind) -> dict[str, object]:
    found = store.events.page(session_id, kinds=[kind])
    assert len(found) == 1, f"expected one {kind} event, got {found}"
    return found[0].payload


def test_an_editor_start_alone_creates_no_session(rig: DriftRig, repo: Path, check: Store) -> None:
    service = rig.service(repo, begin=False)
    assert rig.call(lambda: rig.workspace.active(service.folder)) is None
    assert check.sessions.list().items == []
    assert rig.recorder.changes == [] and rig.recorder.drifts == []
    # The first real event begins one, on the folder's boundary.
    done = rig.call(
        lambda: rig.workspace.append(
            service.folder,
            None,
            [NewEvent(kind=EventKind.PROMPT, actor=Actor.USER, payload={"text": "hi"})],
        )
    )
    assert rig.active(service).id == done.session_id
    assert rig.recorder.changes == [(done.session_id, "started")]


def test_start_attaches_a_session_on_the_current_branch(rig: DriftRig, repo: Path) -> None:
    service = rig.service(repo)
    session = rig.active(service)
    assert session.boundary.branch == "main"
    assert session.boundary.worktree == str(repo)
    assert session.boundary.requester == "dev@example.com"
    assert session.status is SessionStatus.ACTIVE
    assert rig.recorder.changes == [(session.id, "started")]
    # A second service on the same folder later attaches to the same session.
    assert service.evaluate().action is Action.CONTINUE


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
    new = check.sessions.get(new_id)
    assert new.boundary.branch == "feature" and new.status is SessionStatus.ACTIVE
    assert rig.active(service).id == new_id
    assert check.sessions.get(old.id).status is SessionStatus.IDLE
    change = only(check, old.id, EventKind.BRANCH_CHANGE)
    assert change == {"from": "main", "to": "feature", "headSha": git(repo, "rev-parse", "HEAD")}
    assert kinds(check, old.id) == [EventKind.BRANCH_CHANGE, EventKind.DRIFT]
    decision = only(check, new_id, EventKind.DECISION)
    assert decision["action"] == "fresh" and decision["chosen"] == START_FRESH
    assert decision["branch"] == "feature" and decision["recommended"] == "fresh"
    assert service.pending is None


def test_continue_here_rebinds_the_session_to_the_new_branch(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    rig.recorder.script = [CONTINUE_HERE]
    service = rig.service(repo)
    old = rig.active(service)

    switch(repo, "feature")
    assert rig.recorder.wait_change("continued") == old.id
    rig.flush()
    session = check.sessions.get(old.id)
    assert session.status is SessionStatus.ACTIVE
    assert session.boundary.branch == "feature"
    assert only(check, old.id, EventKind.DECISION)["chosen"] == CONTINUE_HERE
    assert check.state.remembered_choice(session.boundary.repository, "feature") is None


def test_dont_ask_again_remembers_and_is_not_asked_again(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    rig.recorder.script = [DONT_ASK_AGAIN, None]
    service = rig.service(repo)
    old = rig.active(service)

    switch(repo, "feature")
    rig.recorder.wait_change("continued")
    rig.flush()
    choice = check.state.remembered_choice(old.boundary.repository, "feature")
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
    last = check.events.page(old.id, kinds=[EventKind.DECISION])[-1].payload
    assert last["chosen"] == "remembered" and last["branch"] == "feature"
    assert check.sessions.get(old.id).status is SessionStatus.ACTIVE


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
    pending = service.pending
    assert pending is not None and pending.action is Action.FRESH
    assert check.sessions.get(old.id).status is SessionStatus.IDLE
    assert check.events.page(old.id, kinds=[EventKind.DECISION]) == []

    # Deciding later through the request path (sidecar/drift/decide) clears it.
    session = service.decide(Action.FRESH)
    assert session.boundary.branch == "feature"
    assert service.pending is None
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
    assert check.sessions.get(first.id).status is SessionStatus.ACTIVE
    assert check.sessions.get(second_id).status is SessionStatus.IDLE
    decision = check.events.page(first.id, kinds=[EventKind.DECISION])[-1].payload
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
    assert len(check.events.page(session.id, kinds=[EventKind.BRANCH_CHANGE])) == 1


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
    assert check.sessions.get(session.id).head_sha == sha
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
    assert check.events.page(session.id, kinds=[EventKind.COMMIT]) == []
    note = check.events.page(session.id, kinds=[EventKind.NOTE])[-1].payload
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
    while service.git_operation != "rebase":  # no event to await here
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
    assert check.events.page(session.id, kinds=[EventKind.BRANCH_CHANGE]) == []
    assert len(check.events.page(session.id, kinds=[EventKind.DRIFT])) == 1
    assert check.events.page(session.id, kinds=[EventKind.COMMIT])[-1].payload["sha"] == sha
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
    assert service.pending is not None


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
    assert check.sessions.get(main_session.id).status is SessionStatus.ACTIVE


def test_prompts_off_applies_the_recommendation(rig: DriftRig, repo: Path, check: Store) -> None:
    service = rig.service(repo, DriftSettings(prompts="off"))
    old = rig.active(service)
    switch(repo, "feature")
    new_id = rig.recorder.wait_change("fresh")
    rig.flush()
    assert rig.recorder.asks == []
    assert check.sessions.get(new_id).boundary.branch == "feature"
    assert only(check, new_id, EventKind.DECISION)["chosen"] == "automatic"
    assert check.sessions.get(old.id).status is SessionStatus.IDLE


def test_prompts_custom_only_notifies(rig: DriftRig, repo: Path) -> None:
    service = rig.service(repo, DriftSettings(prompts="custom"))
    switch(repo, "feature")
    rig.recorder.wait_drifts(1)
    rig.flush()
    assert rig.recorder.asks == []
    assert service.pending is not None


def test_activity_after_the_stale_limit_asks_about_a_fresh_session(
    rig: DriftRig, repo: Path
) -> None:
    rig.recorder.script = [None]
    service = rig.service(repo, DriftSettings(stale_after=timedelta(hours=8)))
    rig.clock.offset = timedelta(hours=9)
    service.touch(["a.txt"])
    drift = rig.recorder.wait_drifts(1)
    assert ReasonCode.STALE in {r.code for r in drift.recommendation.reasons}
    assert drift.recommendation.action is Action.FRESH
    rig.recorder.wait("the ask", lambda: len(rig.recorder.asks) == 1)


def test_worktree_activity_outside_the_footprint_warns_once(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    service = rig.service(repo, DriftSettings(checkout_quiet_s=0.0))
    session = rig.active(service)
    assert service.watcher_mode == "native"
    (repo / "src").mkdir()
    (repo / "src" / "core.py").write_text("x = 1\n", encoding="utf-8")
    rig.recorder.wait("the watcher's file_change", lambda: bool(rig.recorder.history))
    rig.flush()
    assert check.events.page(session.id, kinds=[EventKind.FILE_CHANGE])[0].payload["paths"] == [
        "src/core.py"
    ]
    service.touch([f"docs/page{i}.md" for i in range(8)])
    drift = rig.recorder.wait_drifts(1)
    assert ReasonCode.FOOTPRINT_DRIFT in {r.code for r in drift.recommendation.reasons}
    assert drift.recommendation.action is Action.CONTINUE
    service.touch([f"docs/more{i}.md" for i in range(8)])
    rig.flush()
    assert len(rig.recorder.drifts) == 1 and rig.recorder.asks == []


def test_stop_ends_nothing(rig: DriftRig, repo: Path, check: Store) -> None:
    service = rig.service(repo)
    session = rig.active(service)
    service.stop()
    switch(repo, "feature")
    git(repo, "rev-parse", "HEAD")
    rig.flush()
    assert rig.recorder.drifts == []
    assert check.sessions.get(session.id).status is SessionStatus.ACTIVE


def test_a_folder_outside_git_is_recorded_but_not_watched(rig: DriftRig, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    service = rig.service(plain)
    session = rig.active(service)
    assert session.boundary.branch == "-"
    assert session.boundary.worktree == str(plain)
    assert service.watch is None and service.watcher_mode == "off"


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
    assert check.events.page(session.id, kinds=[EventKind.COMMIT])[-1].payload["sha"] == sha
    assert check.sessions.get(session.id).boundary.branch == f"detached@{sha[:7]}"


# ---------------------------------------------------------------- behaviour once left unpinned


def test_files_the_checkout_writes_are_not_recorded_as_the_sessions_work(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    switch(repo, "feature")
    commit(repo, "feature edit", {"a.txt": "feature\n", "f.txt": "only on feature\n"})
    switch(repo, "main")
    service = rig.service(repo, DriftSettings(prompts="custom"))
    session = rig.active(service)
    switch(repo, "feature")  # rewrites a.txt and creates f.txt
    rig.recorder.wait_drifts(1)
    # Past the quiet window, real work: the sentinel proves the watcher's batches got through.
    time.sleep(DriftSettings().checkout_quiet_s + 0.2)
    (repo / "work.txt").write_text("mine\n", encoding="utf-8")

    def recorded() -> list[str]:
        events = check.events.page(session.id, kinds=[EventKind.FILE_CHANGE])
        return [p for e in events for p in e.payload["paths"]]

    deadline = time.monotonic() + TIMEOUT_S
    while "work.txt" not in recorded():
        assert time.monotonic() < deadline, f"the sentinel never arrived: {recorded()}"
        time.sleep(0.02)
    assert recorded() == ["work.txt"]


def test_an_answer_to_a_prompt_made_stale_by_a_newer_change_is_ignored(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    rig.recorder.script = [START_FRESH]
    rig.recorder.hold = True
    service = rig.service(repo)
    first = rig.active(service)
    switch(repo, "feature")
    rig.recorder.wait("the first ask", lambda: len(rig.recorder.asks) == 1)
    # Back before the user answered: the session's own branch again, it simply continues.
    switch(repo, "main")
    rig.recorder.wait_change("continued")
    rig.recorder.release_answers()  # "Start fresh" for feature arrives now: stale
    rig.flush()
    rig.flush()
    assert [r for _, r in rig.recorder.changes if r == "fresh"] == []
    assert rig.active(service).id == first.id
    decisions = check.events.page(first.id, kinds=[EventKind.DECISION])
    assert [d.payload["chosen"] for d in decisions] == ["automatic"]
    assert check.sessions.list(branch="feature").items == []


def test_continue_rebinds_the_session_when_the_folder_is_not_watched(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    folder = rig.call(lambda: rig.workspace.open(repo.as_uri()))  # no watcher, no tracker
    session = rig.call(lambda: rig.workspace.ensure_active(folder))  # the work begins
    assert session is not None and session.boundary.branch == "main"
    switch(repo, "feature")
    decided = rig.call(lambda: rig.workspace.decide(rig.workspace.refresh(folder), Action.CONTINUE))
    assert decided.id == session.id
    assert decided.boundary.branch == "feature"
    assert check.sessions.get(session.id).boundary.branch == "feature"


def test_paths_in_appended_agent_events_reach_footprint_drift(rig: DriftRig, repo: Path) -> None:
    service = rig.service(repo, DriftSettings(prompts="custom"))
    session = rig.active(service)
    work = [
        NewEvent(
            kind=EventKind.TOOL_CALL,
            actor=Actor.AGENT,
            payload={"name": "Edit", "input": {"file_path": str(repo / "src" / f"m{i}.py")}},
        )
        for i in range(2)
    ]
    rig.call(lambda: rig.workspace.append(service.folder, session.id, work))
    elsewhere = [
        NewEvent(
            kind=EventKind.TOOL_CALL,
            actor=Actor.AGENT,
            payload={"name": "Write", "input": {"file_path": str(repo / "docs" / f"p{i}.md")}},
        )
        for i in range(16)
    ]
    rig.call(lambda: rig.workspace.append(service.folder, session.id, elsewhere))
    drift = rig.recorder.wait_drifts(1)
    assert ReasonCode.FOOTPRINT_DRIFT in {r.code for r in drift.recommendation.reasons}


def closed_overnight(rig: DriftRig, repo: Path) -> Session:
    """A session worked in, the editor closed, and the clock 20 hours on: the session is stale."""
    first = rig.service(repo)
    old = rig.active(first)
    assert first.watch is not None
    rig.call(first.watch.close)
    rig.call(lambda: rig.workspace.close(first.folder.uri))  # the editor closes
    rig.clock.offset = timedelta(hours=20)  # and opens again the next morning
    return old


def test_an_editor_start_on_a_branch_whose_session_is_stale_offers_it_and_resumes_it(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    old = closed_overnight(rig, repo)
    resume = f'Resume "{old.name}"'
    rig.recorder.script = [resume]

    rig.service(repo, begin=False)
    drift = rig.recorder.wait_drifts(1)
    rec = drift.recommendation
    assert rec.action is Action.FRESH and rec.ask  # stale means fresh: offered, not advised
    assert [o.title for o in rec.choices] == [START_FRESH, resume]
    assert rec.question.startswith(f"The last session on main, '{old.name}', was active 20 hours")
    assert rig.recorder.asks[0].actions == [START_FRESH, resume]
    assert rig.recorder.wait_change("resumed") == old.id
    assert [s.id for s in check.sessions.list().items] == [old.id]  # nothing empty was made


def test_an_editor_start_with_a_dismissed_offer_begins_a_new_session_with_the_first_event(
    rig: DriftRig, repo: Path, check: Store
) -> None:
    old = closed_overnight(rig, repo)
    rig.recorder.script = [None]  # dismissed

    again = rig.service(repo, begin=False)
    rig.recorder.wait("the offer", lambda: len(rig.recorder.asks) == 1)
    assert rig.call(lambda: rig.workspace.active(again.folder)) is None
    assert [s.id for s in check.sessions.list().items] == [old.id]
    (repo / "edited.txt").write_text("work\n")
    started = rig.recorder.wait_change("started", count=2)  # the first service's was #1
    assert started != old.id
