"""Git actions on real repositories: checkpoint snapshots and isolated branches."""

from __future__ import annotations

from pathlib import Path

import pytest

from sidecar.git.actions import (
    checkpoint_ref,
    create_checkpoint_snapshot,
    create_isolated_branch,
    delete_checkpoint_ref,
    restore_checkpoint_snapshot,
)
from sidecar.git.command import GitError
from sidecar.git.reader import read_git_state
from tests.gitrepo import add_worktree, commit, git, isolate_git_config, make_repo, switch


@pytest.fixture(autouse=True)
def _no_machine_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_git_config(monkeypatch, tmp_path / "home")


def _read(repo: Path, rel: str) -> str:
    return (repo / rel).read_text()


# --------------------------------------------------------------------------- checkpoints


def test_checkpoint_restores_tracked_and_untracked_files(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, files={"app.py": "v1\n", "keep.txt": "keep\n"})
    head = git(repo, "rev-parse", "HEAD")
    (repo / "app.py").write_text("v2 at checkpoint\n")
    (repo / "notes").mkdir()
    (repo / "notes" / "new.md").write_text("untracked at checkpoint\n")
    (repo / "keep.txt").unlink()
    status_before = git(repo, "status", "--porcelain")

    got_head, snapshot, ref = create_checkpoint_snapshot(repo, "cp1")

    assert got_head == head
    assert snapshot is not None
    assert ref == "refs/sidecar/checkpoints/cp1"
    assert git(repo, "rev-parse", ref) == snapshot
    assert git(repo, "rev-parse", f"{snapshot}^") == head
    # Taking the checkpoint changed nothing the user can see.
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "status", "--porcelain") == status_before
    assert git(repo, "diff", "--cached", "--name-only") == ""

    (repo / "app.py").write_text("v3 after\n")
    (repo / "notes" / "new.md").write_text("changed after\n")
    (repo / "later.txt").write_text("created after the checkpoint\n")

    restore_checkpoint_snapshot(repo, snapshot)

    assert _read(repo, "app.py") == "v2 at checkpoint\n"
    assert _read(repo, "notes/new.md") == "untracked at checkpoint\n"
    assert not (repo / "keep.txt").exists()
    assert _read(repo, "later.txt") == "created after the checkpoint\n"  # left alone
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "branch", "--show-current") == "main"
    assert git(repo, "diff", "--cached", "--name-only") == ""


def test_restore_brings_back_deleted_files(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, files={"a.txt": "a\n"})
    (repo / "a.txt").write_text("edited\n")
    (repo / "u.txt").write_text("untracked\n")
    _, snapshot, _ = create_checkpoint_snapshot(repo, "cp")
    assert snapshot is not None
    (repo / "a.txt").unlink()
    (repo / "u.txt").unlink()
    restore_checkpoint_snapshot(repo, snapshot)
    assert (_read(repo, "a.txt"), _read(repo, "u.txt")) == ("edited\n", "untracked\n")


def test_staged_changes_are_captured_and_index_kept(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, files={"a.txt": "a\n"})
    (repo / "a.txt").write_text("staged\n")
    git(repo, "add", "a.txt")
    _, snapshot, _ = create_checkpoint_snapshot(repo, "cp")
    assert snapshot is not None
    assert git(repo, "show", f"{snapshot}:a.txt") == "staged"
    assert git(repo, "diff", "--cached", "--name-only") == "a.txt"


def test_clean_tree_needs_no_snapshot(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    assert create_checkpoint_snapshot(repo, "clean") == (head, None, None)
    assert git(repo, "for-each-ref", "refs/sidecar") == ""


def test_ignored_files_are_not_captured(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, files={".gitignore": "build/\n", "a.txt": "a\n"})
    (repo / "build").mkdir()
    (repo / "build" / "out.bin").write_text("generated\n")
    assert create_checkpoint_snapshot(repo, "ign")[1] is None
    (repo / "a.txt").write_text("b\n")
    _, snapshot, _ = create_checkpoint_snapshot(repo, "ign2")
    assert git(repo, "ls-tree", "-r", "--name-only", str(snapshot)).split() == [
        ".gitignore",
        "a.txt",
    ]


def test_checkpoint_on_unborn_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, files={})
    assert create_checkpoint_snapshot(repo, "empty") == (None, None, None)
    (repo / "first.txt").write_text("first\n")
    head, snapshot, _ = create_checkpoint_snapshot(repo, "unborn")
    assert head is None and snapshot is not None
    assert git(repo, "rev-list", "--parents", "-n", "1", snapshot) == snapshot  # no parent
    (repo / "first.txt").write_text("changed\n")
    restore_checkpoint_snapshot(repo, snapshot)
    assert _read(repo, "first.txt") == "first\n"


def test_checkpoint_in_linked_worktree_and_from_subfolder(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, files={"src/a.txt": "a\n"})
    wt = add_worktree(repo, tmp_path / "wt", "feature")
    (wt / "src" / "a.txt").write_text("in worktree\n")
    head, snapshot, ref = create_checkpoint_snapshot(wt / "src", "wtcp")
    assert snapshot is not None and ref is not None
    assert head == git(wt, "rev-parse", "HEAD")
    assert git(repo, "rev-parse", ref) == snapshot  # refs are shared by all worktrees
    (wt / "src" / "a.txt").write_text("later\n")
    restore_checkpoint_snapshot(wt / "src", snapshot)
    assert _read(wt, "src/a.txt") == "in worktree\n"
    assert _read(repo, "src/a.txt") == "a\n"


def test_delete_checkpoint_ref(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, files={"a.txt": "a\n"})
    (repo / "a.txt").write_text("b\n")
    _, _, ref = create_checkpoint_snapshot(repo, "gone")
    assert ref is not None
    assert delete_checkpoint_ref(repo, "gone") is True
    assert git(repo, "show-ref", "--verify", "--quiet", ref, check=False) == ""
    assert git(repo, "for-each-ref", "refs/sidecar") == ""
    assert delete_checkpoint_ref(repo, "gone") is False


@pytest.mark.parametrize("bad", ["", "../x", "a b", "x.lock/..", "-flag", "a/b"])
def test_checkpoint_id_must_be_ref_safe(bad: str) -> None:
    with pytest.raises(ValueError, match="checkpoint id"):
        checkpoint_ref(bad)


def test_restore_unknown_snapshot_says_so(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    with pytest.raises(GitError) as err:
        restore_checkpoint_snapshot(repo, "0" * 40)
    assert "git cat-file" in str(err.value)
    assert err.value.returncode not in (None, 0)


def test_actions_outside_a_repository(tmp_path: Path) -> None:
    with pytest.raises(GitError, match="not inside a git repository"):
        create_checkpoint_snapshot(tmp_path, "x")


# --------------------------------------------------------------------------- isolated branches


def _repo_with_feature(tmp_path: Path) -> tuple[Path, str]:
    """main with one commit beyond the initial one; feature (checked out) one more."""
    repo = make_repo(tmp_path, files={"a.txt": "a\n"})
    main_sha = commit(repo, "main work", {"m.txt": "m\n"})
    switch(repo, "feature", create=True)
    commit(repo, "feature work", {"f.txt": "f\n"})
    return repo, main_sha


def test_isolated_branch_in_place_starts_from_default_branch(tmp_path: Path) -> None:
    repo, main_sha = _repo_with_feature(tmp_path)
    (repo / "scratch.txt").write_text("untracked is fine\n")
    branch, root = create_isolated_branch(repo, "session/abc")
    assert (branch, root) == ("session/abc", repo)
    state = read_git_state(repo)
    assert state is not None
    assert (state.branch, state.head_sha) == ("session/abc", main_sha)
    assert not (repo / "f.txt").exists()
    assert (repo / "scratch.txt").exists()
    assert git(repo, "config", "--get", "branch.session/abc.merge", check=False) == ""


def test_isolated_branch_in_place_refuses_a_dirty_tree(tmp_path: Path) -> None:
    repo, _ = _repo_with_feature(tmp_path)
    (repo / "a.txt").write_text("uncommitted\n")
    with pytest.raises(GitError, match="uncommitted changes"):
        create_isolated_branch(repo, "session/dirty")
    assert git(repo, "branch", "--list", "session/dirty") == ""
    assert git(repo, "branch", "--show-current") == "feature"
    assert _read(repo, "a.txt") == "uncommitted\n"


def test_isolated_branch_in_place_refuses_during_a_merge(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, files={"c.txt": "base\n"})
    switch(repo, "feature", create=True)
    commit(repo, "f", {"c.txt": "feature\n"})
    switch(repo, "main")
    commit(repo, "m", {"c.txt": "main\n"})
    git(repo, "merge", "feature", check=False)
    with pytest.raises(GitError, match="merge is in progress"):
        create_isolated_branch(repo, "session/m")


def test_isolated_branch_as_linked_worktree(tmp_path: Path) -> None:
    repo, main_sha = _repo_with_feature(tmp_path)
    (repo / "a.txt").write_text("dirty here is fine\n")
    branch, root = create_isolated_branch(repo, "session/wt", worktree_path=tmp_path / "session-wt")
    assert (branch, root) == ("session/wt", (tmp_path / "session-wt").resolve())
    state = read_git_state(root)
    assert state is not None
    assert state.is_linked_worktree
    assert (state.branch, state.head_sha) == ("session/wt", main_sha)
    assert git(repo, "branch", "--show-current") == "feature"
    assert _read(repo, "a.txt") == "dirty here is fine\n"


def test_isolated_branch_from_explicit_base(tmp_path: Path) -> None:
    repo, _ = _repo_with_feature(tmp_path)
    feature_sha = git(repo, "rev-parse", "feature")
    switch(repo, "main")
    create_isolated_branch(repo, "session/b", base="feature")
    assert git(repo, "rev-parse", "HEAD") == feature_sha
    with pytest.raises(GitError, match="neither a branch nor a commit"):
        create_isolated_branch(repo, "session/c", base="no-such-base")


def test_isolated_branch_from_origin_default(tmp_path: Path) -> None:
    upstream = make_repo(tmp_path, "upstream", branch="trunk", files={"u.txt": "u\n"})
    up_sha = git(upstream, "rev-parse", "HEAD")
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "--quiet", str(upstream), str(clone))
    switch(clone, "feature", create=True)
    commit(clone, "local", {"l.txt": "l\n"})
    git(clone, "branch", "-D", "trunk")  # only origin/trunk is left
    branch, _ = create_isolated_branch(clone, "session/o")
    assert git(clone, "rev-parse", "HEAD") == up_sha
    assert git(clone, "config", "--get", f"branch.{branch}.remote", check=False) == ""


def test_isolated_branch_rejects_existing_and_invalid_names(tmp_path: Path) -> None:
    repo, _ = _repo_with_feature(tmp_path)
    with pytest.raises(GitError, match="already exists"):
        create_isolated_branch(repo, "main")
    with pytest.raises(GitError, match="not a valid branch name"):
        create_isolated_branch(repo, "bad..name")
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "file").write_text("x")
    with pytest.raises(GitError, match="not empty"):
        create_isolated_branch(repo, "session/x", worktree_path=occupied)
