"""GitDirWatcher: real repositories, real inotify, every wait bounded."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sidecar.watch.gitdir import GitDirWatcher, classify_git_path, to_loop
from tests.gitrepo import add_worktree, commit, git, make_repo, switch, write_files

TIMEOUT_S = 5.0


class Reasons:
    """Collects on_change reasons from the watcher thread; waits with a timeout."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._cond = threading.Condition()

    def __call__(self, reason: str) -> None:
        with self._cond:
            self.items.append(reason)
            self._cond.notify_all()

    def wait_for(self, reason: str, timeout: float = TIMEOUT_S) -> list[str]:
        """Wait until ``reason`` arrived; returns everything received so far."""
        with self._cond:
            if not self._cond.wait_for(lambda: reason in self.items, timeout):
                raise AssertionError(f"no {reason!r} within {timeout} s; got {self.items}")
            return list(self.items)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path)
    git(repo, "branch", "other")
    return repo


@pytest.fixture
def watch(repo: Path) -> Iterator[Callable[..., tuple[GitDirWatcher, Reasons]]]:
    started: list[GitDirWatcher] = []

    def start(
        git_dir: Path | None = None, common_dir: Path | None = None
    ) -> tuple[GitDirWatcher, Reasons]:
        reasons = Reasons()
        git_dir = git_dir or repo / ".git"
        watcher = GitDirWatcher(git_dir, common_dir or git_dir, reasons)
        watcher.start()
        started.append(watcher)
        return watcher, reasons

    yield start
    for watcher in started:
        watcher.stop()


def test_switch_fires_head(repo: Path, watch: Callable[..., tuple[GitDirWatcher, Reasons]]) -> None:
    _, reasons = watch()
    switch(repo, "other")
    reasons.wait_for("head")


def test_commit_fires_for_the_branch_ref(
    repo: Path, watch: Callable[..., tuple[GitDirWatcher, Reasons]]
) -> None:
    _, reasons = watch()
    commit(repo, "second", {"a.txt": "a\n"})
    reasons.wait_for("ref:refs/heads/main")


def test_branch_with_slash_fires(
    repo: Path, watch: Callable[..., tuple[GitDirWatcher, Reasons]]
) -> None:
    _, reasons = watch()
    git(repo, "branch", "feature/x")
    reasons.wait_for("ref:refs/heads/feature/x")


def test_index_and_objects_alone_do_not_fire(
    repo: Path, watch: Callable[..., tuple[GitDirWatcher, Reasons]]
) -> None:
    _, reasons = watch()
    write_files(repo, {"new.txt": "new\n"})
    git(repo, "add", "new.txt")  # writes .git/index (via index.lock) and a loose object
    git(repo, "hash-object", "-w", "--stdin")
    git(repo, "fetch", "--quiet", str(repo), "main")  # FETCH_HEAD
    # Sentinel through the same watch (ordered after the writes above): rewrite HEAD.
    git(repo, "symbolic-ref", "HEAD", "refs/heads/main")
    assert reasons.wait_for("head") == ["head"]


def test_merge_in_progress_fires_operation(
    repo: Path, watch: Callable[..., tuple[GitDirWatcher, Reasons]]
) -> None:
    commit(repo, "main side", {"c.txt": "main\n"})
    switch(repo, "other")
    commit(repo, "other side", {"c.txt": "other\n"})
    _, reasons = watch()
    git(repo, "merge", "main", check=False)  # conflicts: MERGE_HEAD stays
    assert (repo / ".git" / "MERGE_HEAD").exists()
    reasons.wait_for("operation:MERGE_HEAD")
    reasons.items.clear()
    git(repo, "merge", "--abort")
    reasons.wait_for("operation:MERGE_HEAD")


def test_linked_worktree_uses_its_own_git_dir(
    repo: Path, tmp_path: Path, watch: Callable[..., tuple[GitDirWatcher, Reasons]]
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


def test_stop_stops_callbacks(
    repo: Path, watch: Callable[..., tuple[GitDirWatcher, Reasons]]
) -> None:
    stopped, stopped_reasons = watch()
    stopped.stop()
    assert not stopped.running
    _, live_reasons = watch()
    switch(repo, "other")
    live_reasons.wait_for("head")
    assert stopped_reasons.items == []


def test_start_and_stop_are_idempotent_and_restartable(
    repo: Path, watch: Callable[..., tuple[GitDirWatcher, Reasons]]
) -> None:
    watcher, reasons = watch()
    watcher.start()
    assert watcher.running
    watcher.stop()
    watcher.stop()
    assert not watcher.running
    watcher.start()
    switch(repo, "other")
    assert reasons.wait_for("head").count("head") == 1


def test_start_on_a_missing_git_dir_raises(tmp_path: Path) -> None:
    watcher = GitDirWatcher(tmp_path / "nope", None, lambda reason: None)
    with pytest.raises(OSError):
        watcher.start()
    assert not watcher.running


async def test_to_loop_delivers_on_the_event_loop(repo: Path) -> None:
    loop = asyncio.get_running_loop()
    got: asyncio.Queue[tuple[str, bool]] = asyncio.Queue()

    def on_change(reason: str) -> None:
        # Runs on the loop thread: asyncio objects may be used directly.
        got.put_nowait((reason, threading.current_thread() is threading.main_thread()))

    watcher = GitDirWatcher(repo / ".git", None, to_loop(loop, on_change))
    watcher.start()
    try:
        await asyncio.to_thread(switch, repo, "other")
        reason, on_main_thread = await asyncio.wait_for(got.get(), TIMEOUT_S)
    finally:
        watcher.stop()
    assert reason == "head"
    assert on_main_thread


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


def test_a_failing_callback_does_not_end_watching(repo: Path) -> None:
    reasons = Reasons()

    def flaky(reason: str) -> None:
        reasons(reason)
        if len(reasons.items) == 1:
            raise RuntimeError("consumer bug")

    watcher = GitDirWatcher(repo / ".git", None, flaky)
    watcher.start()
    try:
        switch(repo, "other")
        reasons.wait_for("head")
        reasons.items.clear()
        switch(repo, "main")
        reasons.wait_for("head")
    finally:
        watcher.stop()
