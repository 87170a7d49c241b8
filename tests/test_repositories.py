"""A repository's identity over time, on real git and real SQLite: its sessions follow it
when it gains its identity (first commit, an origin, an older database) or moves."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from sidecar.core.models import Action
from sidecar.services.boundary import Place, boundary_for
from sidecar.services.repositories import settle_repository
from sidecar.store import Store
from tests.driftrig import DriftRig
from tests.gitrepo import commit, git, isolate_git_config, make_repo
from tests.storeutil import boundary


@pytest.fixture(autouse=True)
def home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate_git_config(monkeypatch, tmp_path / "home")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "db" / "sessions.db")
    yield s
    s.close()


def seen(store: Store, path: Path) -> Place:
    """What every door does when it meets a folder: its place, settled in the store."""
    place = boundary_for(path)
    settle_repository(store, place)
    return place


def test_sessions_keyed_by_the_folder_follow_the_repository_to_its_root_commit(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    # As an older sidecar recorded them: the repository keyed by its folder.
    old = store.sessions.create(boundary(repository=str(repo), worktree=str(repo)))
    store.state.remember_choice(str(repo), "main", Action.FRESH)

    place = seen(store, repo)

    assert place.boundary.repository.startswith("root:")
    assert store.sessions.get(old.id).boundary.repository == place.boundary.repository
    assert store.state.remembered_choice(place.boundary.repository, "main") is not None
    assert store.state.remembered_choice(str(repo), "main") is None


def test_a_moved_repository_keeps_its_sessions_under_the_new_path(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "old")
    place = seen(store, repo)
    session = store.sessions.create(place.boundary)

    moved = tmp_path / "new" / "renamed"
    moved.parent.mkdir()
    repo.rename(moved)
    after = seen(store, moved)

    assert after.boundary.repository == place.boundary.repository
    kept = store.sessions.get(session.id).boundary
    assert kept.worktree == str(moved.resolve())
    listed = store.sessions.list(repository=kept.repository, worktree=str(moved.resolve()))
    assert [s.id for s in listed.items] == [session.id]
    assert store.repositories.paths(kept.repository) == [str(moved.resolve())]


def test_a_second_copy_of_the_repository_is_not_a_move(store: Store, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "a")
    session = store.sessions.create(seen(store, repo).boundary)
    copy = tmp_path / "b" / "repo"
    shutil.copytree(repo, copy)
    assert seen(store, copy).boundary.repository == session.boundary.repository
    assert store.sessions.get(session.id).boundary.worktree == str(repo)


def test_sessions_follow_the_repository_when_it_gets_an_origin(
    store: Store, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    session = store.sessions.create(seen(store, repo).boundary)
    git(repo, "remote", "add", "origin", "git@github.com:Acme/App.git")
    assert seen(store, repo).boundary.repository == "github.com/acme/app"
    assert store.sessions.get(session.id).boundary.repository == "github.com/acme/app"


def test_settling_a_known_repository_changes_nothing(store: Store, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    seen(store, repo)
    # Another repository that happened to be keyed by this folder would now be left alone.
    stranger = store.sessions.create(boundary(repository=str(repo)))
    assert settle_repository(store, boundary_for(repo)) == 0
    assert store.sessions.get(stranger.id).boundary.repository == str(repo)


def test_the_first_commit_keeps_the_session_without_a_drift_prompt(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, files={})
    rig = DriftRig(tmp_path / "sessions.db")
    try:
        service = rig.service(repo)
        session = rig.active(service)
        assert session.boundary.repository == str(repo)

        sha = commit(repo, "first", {"a.txt": "a\n"})
        rig.recorder.wait(
            "the commit event", lambda: any(s == session.id for s, _ in rig.recorder.history)
        )
        rig.flush()

        now = rig.active(service)
        assert now.id == session.id
        assert now.boundary.repository == "root:" + sha
        assert rig.recorder.drifts == [] and rig.recorder.asks == []
        with Store.open(rig.db) as check:
            commits = [e.payload for e in check.events.page(session.id) if e.kind == "commit"]
        assert [c["sha"] for c in commits] == [sha]
    finally:
        rig.close()
