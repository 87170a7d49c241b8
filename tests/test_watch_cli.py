"""`session-sidecar watch` as a user runs it: a real process, piped stdin, a real repository."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.core.models import EventKind, SessionStatus
from sidecar.store import Store
from tests.gitrepo import git, isolate_git_config, make_repo, switch
from tests.watchproc import WatchProcess

TIMEOUT_S = 20.0
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def start_watch(*args: str) -> WatchProcess:
    """`watch <args>` from this checkout, stdin a pipe for answers."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return WatchProcess(*args, env=env, timeout=TIMEOUT_S)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git_config(monkeypatch, tmp_path / "home")
    repo = make_repo(tmp_path)
    git(repo, "branch", "feature")
    return repo


@pytest.fixture
def run(tmp_path: Path) -> Iterator[list[WatchProcess]]:
    started: list[WatchProcess] = []
    yield started
    for watcher in started:
        watcher.kill()


def test_watch_asks_on_a_switch_and_records_the_answers(
    repo: Path, tmp_path: Path, run: list[WatchProcess]
) -> None:
    db = tmp_path / "sessions.db"
    watcher = start_watch(str(repo), "--db", str(db), "--prompt")
    run.append(watcher)
    watcher.expect("Watching")
    assert watcher.expect("session ").endswith("none yet: one begins with the first change")
    (repo / "notes.txt").write_text("the first edit begins the session\n")
    first = watcher.expect("(started)").split()[-4]

    switch(repo, "feature")
    watcher.expect("Branch changed: main -> feature")
    assert watcher.expect("1) ") == "  1) Start fresh"
    watcher.expect("Choose 1-3")
    watcher.answer("1")
    fresh = watcher.expect("(fresh)")

    switch(repo, "main")
    watcher.expect("Branch changed: feature -> main")
    assert watcher.expect("1) ").startswith('  1) Resume "main ')
    watcher.expect("Choose 1-4")
    watcher.answer("1")
    assert first in watcher.expect("(resumed)")

    assert watcher.interrupt() == 0
    watcher.expect("Stopped watching")

    store = Store.open(db)
    try:
        resumed = store.sessions.get(first)
        assert resumed.boundary.branch == "main"
        assert resumed.status is SessionStatus.IDLE  # left idle on exit, never ended
        decision = store.events.page(first, kinds=[EventKind.DECISION])[-1].payload
        assert decision["action"] == "resume" and decision["chosen"].startswith('Resume "')
        [feature] = [s for s in store.sessions.list().items if s.boundary.branch == "feature"]
        assert feature.id in fresh
        chosen = store.events.page(feature.id, kinds=[EventKind.DECISION])[0].payload["chosen"]
        assert chosen == "Start fresh"
    finally:
        store.close()


def test_without_prompts_the_recommendation_is_applied(
    repo: Path, tmp_path: Path, run: list[WatchProcess]
) -> None:
    db = tmp_path / "sessions.db"
    watcher = start_watch(str(repo), "--db", str(db), "--no-prompt")
    run.append(watcher)
    watcher.expect("Watching")
    (repo / "notes.txt").write_text("the first edit begins the session\n")
    watcher.expect("(started)")
    switch(repo, "feature")
    watcher.expect("Branch changed: main -> feature")
    watcher.expect("(fresh)")
    assert watcher.interrupt() == 0
    assert not any("Choose" in line for line in watcher.seen)
    store = Store.open(db)
    try:
        [feature] = [s for s in store.sessions.list().items if s.boundary.branch == "feature"]
        chosen = store.events.page(feature.id, kinds=[EventKind.DECISION])[0].payload["chosen"]
        assert chosen == "automatic"
    finally:
        store.close()


def test_outside_git_it_says_why(tmp_path: Path, run: list[WatchProcess]) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    watcher = start_watch(str(plain), "--db", str(tmp_path / "s.db"))
    run.append(watcher)
    assert watcher.proc.wait(TIMEOUT_S) == 2
    assert watcher.expect("error: cannot watch").endswith("run it inside a git worktree")


def test_watch_offers_the_branchs_stale_session_after_the_banner_and_resumes_it(
    repo: Path, tmp_path: Path, run: list[WatchProcess]
) -> None:
    db = tmp_path / "sessions.db"
    env = {**os.environ, "SIDECAR_DB": str(db), "PYTHONPATH": str(PROJECT_ROOT)}
    cli = [sys.executable, "-m", "sidecar", "sessions"]
    subprocess.run(
        [*cli, "start", "--name", "Add login"], cwd=repo, env=env, check=True, capture_output=True
    )
    with sqlite3.connect(db) as con:  # yesterday's session: stale by the 8 h default
        con.execute(
            "UPDATE sessions SET updated_at = datetime('now', '-20 hours'), "
            "activity_at = datetime('now', '-20 hours')"
        )
    watcher = start_watch(str(repo), "--db", str(db), "--prompt")
    run.append(watcher)
    watcher.expect("Watching")
    assert watcher.expect("session ").endswith("none yet: one begins with the first change")
    assert watcher.expect("1) ") == "  1) Start fresh"
    assert watcher.expect("2) ") == '  2) Resume "Add login"'
    watcher.answer("2")
    watcher.expect("(resumed)")
    assert watcher.interrupt() == 0
    store = Store.open(db)
    try:
        assert [s.name for s in store.sessions.list().items] == ["Add login"]  # none made
    finally:
        store.close()
