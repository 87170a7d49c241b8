"""GitDirWatch: real repositories on both hub backends, every wait bounded."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sidecar.watch.gitdir import GitDirWatch, classify_git_path
from sidecar.watch.hub import WatchHub
from tests.gitrepo import add_worktree, commit, git, make_repo, switch, write_files
from tests.watchrig import BACKENDS, HubProbe, Recorder, open_hub, overflow_queue

StartWatch = Callable[..., tuple[GitDirWatch, Recorder[str]]]


@pytest.fixture(params=BACKENDS)
def hub(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[WatchHub]:
    with open_hub(monkeypatch, request.param) as hub:
        yield hub


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path)
    git(repo, "branch", "other")
    return repo


@pytest.fixture
def watch(hub: WatchHub, repo: Path) -> Iterator[StartWatch]:
    started: list[GitDirWatch] = []

    def start(
        git_dir: Path | None = None, common_dir: Path | None = None
    ) -> tuple[GitDirWatch, Recorder[str]]:
        reasons: Recorder[str] = Recorder()
        git_dir = git_dir or repo / ".git"
        watcher = GitDirWatch(hub, git_dir, common_dir or git_dir, reasons)
        started.append(watcher)
        return watcher, reasons

    yield start
    for watcher in started:
        watcher.close()


def write_head_like_git(git_dir: Path, branch: str) -> None:
    """HEAD.lock written, then renamed onto HEAD: exactly what git does."""
    lock = git_dir / "HEAD.lock"
    lock.write_text(f"ref: refs/heads/{branch}\n", encoding="utf-8")
    os.rename(lock, git_dir / "HEAD")


def test_head_written_by_rename_fires_head_on_the_hub_thread(
    repo: Path, hub: WatchHub, watch: StartWatch
) -> None:
    _, reasons = watch()
    write_head_like_git(repo / ".git", "other")
    assert reasons.wait_for("head") == ["head"]
    assert reasons.threads == {hub.thread}


def test_switch_fires_head(repo: Path, watch: StartWatch) -> None:
    _, reasons = watch()
    switch(repo, "other")
    reasons.wait_for("head")


def test_commit_fires_for_the_branch_ref(repo: Path, watch: StartWatch) -> None:
    _, reasons = watch()
    commit(repo, "second", {"a.txt": "a\n"})
    reasons.wait_for("ref:refs/heads/main")


def test_a_branch_in_a_new_refs_subfolder_fires_its_ref(repo: Path, watch: StartWatch) -> None:
    _, reasons = watch()
    assert not (repo / ".git" / "refs" / "heads" / "feature").exists()
    git(repo, "branch", "feature/x")  # creates refs/heads/feature/ first
    reasons.wait_for("ref:refs/heads/feature/x")
    # The new subfolder is followed: a later ref in it fires too.
    git(repo, "branch", "feature/y")
    reasons.wait_for("ref:refs/heads/feature/y")


def test_refs_heads_appearing_later_is_followed(repo: Path, watch: StartWatch) -> None:
    heads = repo / ".git" / "refs" / "heads"
    git(repo, "pack-refs", "--all")
    shutil.rmtree(heads)
    _, reasons = watch()
    git(repo, "branch", "fresh")
    reasons.wait_for("ref:refs/heads/fresh")


def test_index_objects_and_fetch_head_alone_do_not_fire(repo: Path, watch: StartWatch) -> None:
    _, reasons = watch()
    write_files(repo, {"new.txt": "new\n"})
    git(repo, "add", "new.txt")  # writes .git/index (via index.lock) and a loose object
    git(repo, "hash-object", "-w", "--stdin")
    git(repo, "fetch", "--quiet", str(repo), "main")  # FETCH_HEAD
    # Sentinel through the same folder watch (ordered after the writes above).
    git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    assert reasons.wait_for("head") == ["head"]


def test_merge_in_progress_fires_operation(repo: Path, watch: StartWatch) -> None:
    commit(repo, "main side", {"c.txt": "main\n"})
    switch(repo, "other")
    commit(repo, "other side", {"c.txt": "other\n"})
    _, reasons = watch()
    git(repo, "merge", "main", check=False)  # conflicts: MERGE_HEAD stays
    assert (repo / ".git" / "MERGE_HEAD").exists()
    reasons.wait_for("operation:MERGE_HEAD")
    reasons.clear()
    git(repo, "merge", "--abort")
    reasons.wait_for("operation:MERGE_HEAD")


def test_linked_worktree_uses_its_own_git_dir(
    repo: Path, tmp_path: Path, watch: StartWatch
) -> None:
    linked = add_worktree(repo, tmp_path / "linked", "topic")
    common = repo / ".git"
    linked_git_dir = common / "worktrees" / "linked"
    assert linked_git_dir.is_dir()
    _, reasons = watch(linked_git_dir, common)

    # The main worktree's HEAD lives in the common dir: not this worktree's business.
    switch(repo, "other")
    git(repo, "pack-refs", "--all")  # sentinel through the common-dir watch
    assert "head" not in reasons.wait_for("packed-refs")

    switch(linked, "main")
    reasons.wait_for("head")
    commit(linked, "on main from linked", {"l.txt": "l\n"})
    reasons.wait_for("ref:refs/heads/main")


def test_closing_stops_callbacks(repo: Path, watch: StartWatch) -> None:
    closed, closed_reasons = watch()
    closed.close()
    closed.close()  # idempotent
    _, live_reasons = watch()
    switch(repo, "other")
    live_reasons.wait_for("head")
    commit(repo, "more", {"b.txt": "b\n"})
    live_reasons.wait_for("ref:refs/heads/other")
    assert closed_reasons.items == []


def test_a_missing_git_dir_raises_and_leaves_nothing_open(hub: WatchHub, tmp_path: Path) -> None:
    with pytest.raises(OSError, match="nope"):
        GitDirWatch(hub, tmp_path / "nope", None, lambda reason: None)
    assert hub.handle_count == 0


def test_a_failing_callback_does_not_end_watching(repo: Path, hub: WatchHub) -> None:
    reasons: Recorder[str] = Recorder()

    def flaky(reason: str) -> None:
        reasons(reason)
        if len(reasons.items) == 1:
            raise RuntimeError("consumer bug")

    watcher = GitDirWatch(hub, repo / ".git", None, flaky)
    try:
        switch(repo, "other")
        reasons.wait_for("head")
        reasons.clear()
        switch(repo, "main")
        reasons.wait_for("head")
    finally:
        watcher.close()


def test_a_deleted_git_dir_reports_gone(hub: WatchHub, tmp_path: Path) -> None:
    git_dir = tmp_path / "fake.git"
    (git_dir / "refs" / "heads").mkdir(parents=True)
    reasons: Recorder[str] = Recorder()
    watcher = GitDirWatch(hub, git_dir, None, reasons)
    try:
        shutil.rmtree(git_dir)
        reasons.wait_for("gone")
    finally:
        watcher.close()


@pytest.mark.parametrize("hub", ["inotify"], indirect=True)
def test_a_queue_overflow_reports_overflow_once(
    repo: Path, hub: WatchHub, tmp_path: Path, watch: StartWatch
) -> None:
    _, reasons = watch()
    probe = HubProbe(hub, tmp_path / "probe")
    busy = tmp_path / "busy"
    busy.mkdir()
    hub.watch_folder(busy, lambda event: None)
    overflow_queue(hub, busy, tmp_path / "spare")
    probe.wait_overflow()
    assert reasons.items.count("overflow") == 1


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("g/HEAD", "head"),
        ("g/HEAD.lock", None),
        ("g/index", None),
        ("g/index.lock", None),
        ("g/FETCH_HEAD", None),
        ("g/COMMIT_EDITMSG", None),
        ("g/MERGE_HEAD", "operation:MERGE_HEAD"),
        ("g/rebase-merge", "operation:rebase-merge"),
        ("g/BISECT_LOG", "operation:BISECT_LOG"),
        ("c/HEAD", None),  # the main worktree's HEAD, seen from a linked worktree
        ("c/packed-refs", "packed-refs"),
        ("c/packed-refs.lock", None),
        ("c/refs/heads/main", "ref:refs/heads/main"),
        ("c/refs/heads/feature/x", "ref:refs/heads/feature/x"),
        ("c/refs/heads/main.lock", None),
        ("c/refs/remotes/origin/main", None),
    ],
)
def test_classify_git_path(path: str, expected: str | None) -> None:
    root = "/r"
    git_dir, common_dir = f"{root}/c/worktrees/w", f"{root}/c"
    absolute = f"{root}/c/worktrees/w/{path[2:]}" if path.startswith("g/") else f"{root}/{path}"
    assert classify_git_path(absolute, git_dir, common_dir) == expected
