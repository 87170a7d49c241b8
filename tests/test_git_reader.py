"""The git reader on real repositories: discovery, HEAD, refs, config, operations, history."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from sidecar.git.command import GitError
from sidecar.git.config import ConfigSyntaxError, parse_config
from sidecar.git.reader import (
    GitOperation,
    GitState,
    NotARepository,
    commit_subject,
    commits_between,
    default_branch,
    describe_location,
    find_worktree_root,
    is_ancestor,
    locate,
    normalize_origin_url,
    read_git_state,
)
from sidecar.services.boundary import boundary_for
from tests.gitrepo import add_worktree, commit, git, isolate_git_config, make_repo, switch


@pytest.fixture(autouse=True)
def _no_machine_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every test sees only the config it writes, not this machine's ~/.gitconfig."""
    isolate_git_config(monkeypatch, tmp_path / "home")


def state_of(path: Path) -> GitState:
    state = read_git_state(path)
    assert state is not None, describe_location(path)
    return state


# --------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("git@github.com:Org/Repo.git", "github.com/org/repo"),
        ("git@github.com:org/repo", "github.com/org/repo"),
        ("https://github.com/org/repo", "github.com/org/repo"),
        ("https://github.com/org/repo.git", "github.com/org/repo"),
        ("https://github.com/org/repo/", "github.com/org/repo"),
        ("https://github.com/org/repo.git/", "github.com/org/repo"),
        ("https://GitHub.COM/Org/Repo", "github.com/org/repo"),
        ("ssh://git@github.com/org/repo.git", "github.com/org/repo"),
        ("ssh://git@github.com:22/org/repo.git", "github.com/org/repo"),
        ("https://user:token@host.example/x.git", "host.example/x"),
        ("https://x-access-token:ghp_abc123@github.com/org/repo.git", "github.com/org/repo"),
        (
            "http://gitlab.example.com:8080/group/sub/project.git",
            "gitlab.example.com/group/sub/project",
        ),
        ("git://git.kernel.org/pub/scm/git/git.git", "git.kernel.org/pub/scm/git/git"),
        ("git+ssh://git@host.example/org/repo.git", "host.example/org/repo"),
        ("git@github.com:/org/repo.git", "github.com/org/repo"),
        ("  git@github.com:org/repo.git\n", "github.com/org/repo"),
        ("https://github.com//org//repo", "github.com/org/repo"),
        ("ssh://git@[::1]:2222/org/repo.git", "::1/org/repo"),
        ("git@ssh.dev.azure.com:v3/Org/Project/Repo", "dev.azure.com/org/project/repo"),
        ("https://Org@dev.azure.com/Org/Project/_git/Repo", "dev.azure.com/org/project/repo"),
        ("/srv/git/Project.git", "/srv/git/Project"),
        ("/srv/git/Project/", "/srv/git/Project"),
        ("file:///srv/git/Project.git", "/srv/git/Project"),
        ("../Sibling.git", "../Sibling"),
        ("C:/repos/Project.git", "C:/repos/Project"),
        ("", ""),
    ],
)
def test_normalize_origin_url(url: str, expected: str) -> None:
    assert normalize_origin_url(url) == expected


def test_all_spellings_of_one_remote_give_one_id() -> None:
    spellings = [
        "git@github.com:Org/Repo.git",
        "https://github.com/org/repo",
        "ssh://git@github.com/org/repo.git",
        "https://user:token@github.com/org/repo.git/",
    ]
    assert {normalize_origin_url(u) for u in spellings} == {"github.com/org/repo"}


# --------------------------------------------------------------------------- config parser


def test_parse_config_handles_git_syntax() -> None:
    text = (
        "# comment\n"
        "[Core]\n\tBare = false\n"
        '[remote "Origin"]\n'
        '  url = "git@host:a/b.git" ; trailing comment\n'
        "  fetch = +refs/heads/*:refs/remotes/origin/*\n"
        "[user]\n  email = dev@example.com # c\n  name = A  B\\\n C\n"
        "[branch.Main]\n  flag\n"
        '[alias]\n  q = "say \\"hi\\"\\tnow"\n'
    )
    assert parse_config(text) == [
        ("core.bare", "false"),
        ("remote.Origin.url", "git@host:a/b.git"),
        ("remote.Origin.fetch", "+refs/heads/*:refs/remotes/origin/*"),
        ("user.email", "dev@example.com"),
        ("user.name", "A  B C"),
        ("branch.main.flag", "true"),
        ("alias.q", 'say "hi"\tnow'),
    ]


@pytest.mark.parametrize("text", ["key = 1\n", "[core\n", '[user]\n email = "open\n', "[a]\n!x\n"])
def test_parse_config_rejects_what_git_rejects(text: str) -> None:
    with pytest.raises(ConfigSyntaxError):
        parse_config(text)


def test_parsed_values_match_git_config(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, email=None)
    config = repo / ".git" / "config"
    config.write_text(
        config.read_text()
        + '[user]\n\temail = " spaced@example.com "  ; note\n'
        + '[remote "origin"]\n\turl = git@host:o/r.git # c\n'
    )
    entries = dict(parse_config(config.read_text()))
    for key in ("user.email", "remote.origin.url"):
        assert entries[key] == git(repo, "config", "--get", key)


# --------------------------------------------------------------------------- discovery


def test_plain_folder_is_not_a_repository(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    assert read_git_state(folder) is None
    assert find_worktree_root(folder) is None
    where = locate(folder)
    assert isinstance(where, NotARepository)
    assert "not inside a git repository" in where.reason
    assert describe_location(folder) == where.reason


def test_bare_repository_is_reported_as_bare(tmp_path: Path) -> None:
    bare = tmp_path / "bare.git"
    git(tmp_path, "init", "--quiet", "--bare", str(bare))
    where = locate(bare)
    assert isinstance(where, NotARepository)
    assert "bare" in where.reason


def test_root_found_from_subfolder_file_and_missing_path(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, files={"src/pkg/mod.py": "x = 1\n"})
    assert find_worktree_root(repo / "src" / "pkg") == repo
    assert find_worktree_root(repo / "src" / "pkg" / "mod.py") == repo
    assert find_worktree_root(repo / "src" / "not-yet" / "new.py") == repo
    assert state_of(repo / "src" / "pkg") == state_of(repo)


def test_symlinked_path_resolves_to_the_real_worktree(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(repo, target_is_directory=True)
    assert state_of(link).worktree == str(repo)


def test_gitfile_pointing_nowhere_says_how_to_fix(tmp_path: Path) -> None:
    folder = tmp_path / "moved"
    folder.mkdir()
    (folder / ".git").write_text("gitdir: ../gone/.git/worktrees/moved\n")
    where = locate(folder / "sub")
    assert isinstance(where, NotARepository)
    assert "git worktree repair" in where.reason


# --------------------------------------------------------------------------- HEAD and refs


def test_normal_repository(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, email="me@example.com")
    state = state_of(repo)
    assert state.worktree == str(repo)
    assert state.git_dir == state.common_dir == str(repo / ".git")
    assert state.branch == "main"
    assert state.branch_label == "main"
    assert state.head_sha == git(repo, "rev-parse", "HEAD")
    assert not state.detached
    assert state.origin_url is None
    assert state.repository_id == "root:" + git(repo, "rev-list", "--max-parents=0", "HEAD")
    assert state.repository_path == str(repo)
    assert state.user_email == "me@example.com"
    assert state.operation is None
    assert not state.is_linked_worktree


def test_origin_url_gives_the_repository_id(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, origin="git@github.com:Acme/Widget.git")
    state = state_of(repo)
    assert state.origin_url == "git@github.com:Acme/Widget.git"
    assert state.repository_id == "github.com/acme/widget"


def test_branch_switch_changes_state(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    before = state_of(repo)
    switch(repo, "feature/x", create=True)
    sha = commit(repo, "work", {"a.txt": "a\n"})
    after = state_of(repo)
    assert (after.branch, after.head_sha) == ("feature/x", sha)
    assert after != before
    switch(repo, "main")
    assert state_of(repo) == before


def test_rewriting_head_with_same_content_keeps_equal_state(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    before = state_of(repo)
    git(repo, "switch", "--quiet", "main")  # rewrites HEAD with identical content
    assert state_of(repo) == before


def test_linked_worktree(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    wt = add_worktree(repo, tmp_path / "wt", "feature")
    main_state, wt_state = state_of(repo), state_of(wt / ".")
    assert wt_state.worktree == str(wt)
    assert wt_state.is_linked_worktree
    assert wt_state.git_dir == str(repo / ".git" / "worktrees" / "wt")
    assert wt_state.common_dir == main_state.common_dir == str(repo / ".git")
    assert wt_state.branch == "feature"
    assert wt_state.repository_id == main_state.repository_id
    assert wt_state.repository_path == main_state.repository_path == str(repo)
    sha = commit(wt, "in worktree", {"w.txt": "w\n"})
    assert state_of(wt).head_sha == sha
    assert state_of(repo).head_sha == main_state.head_sha


def test_linked_worktree_shares_the_origin_id(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, origin="https://github.com/acme/widget.git")
    wt = add_worktree(repo, tmp_path / "wt", "feature")
    assert state_of(wt).repository_id == state_of(repo).repository_id == "github.com/acme/widget"


def test_detached_head(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    first = git(repo, "rev-parse", "HEAD")
    commit(repo, "second", {"b.txt": "b\n"})
    git(repo, "switch", "--quiet", "--detach", first)
    state = state_of(repo)
    assert state.detached
    assert state.branch is None
    assert state.head_sha == first
    assert state.branch_label == f"detached@{first[:7]}"


def test_unborn_branch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, branch="trunk", files={})
    state = state_of(repo)
    assert state.branch == "trunk"
    assert state.head_sha is None
    assert not state.detached
    assert state.branch_label == "trunk"


def test_packed_refs(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    switch(repo, "feature", create=True)
    git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "feature").exists()
    assert state_of(repo).head_sha == git(repo, "rev-parse", "HEAD")
    # A new commit writes a loose ref, which wins over the stale packed line.
    sha = commit(repo, "after packing", {"p.txt": "p\n"})
    assert state_of(repo).head_sha == sha


def test_symbolic_branch_ref_is_followed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    git(repo, "symbolic-ref", "refs/heads/alias", "refs/heads/main")
    git(repo, "symbolic-ref", "HEAD", "refs/heads/alias")
    state = state_of(repo)
    assert state.branch == "alias"
    assert state.head_sha == git(repo, "rev-parse", "main")


def test_unexpected_head_falls_back_to_git(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    # A HEAD pointing outside refs/heads is legal for git plumbing but not a branch.
    git(repo, "update-ref", "refs/other/x", "HEAD")
    git(repo, "symbolic-ref", "HEAD", "refs/other/x")
    state = state_of(repo)
    assert state.head_sha == git(repo, "rev-parse", "HEAD")
    assert state.branch == "refs/other/x"


# --------------------------------------------------------------------------- operations


def _diverge(repo: Path) -> None:
    """main and feature both change conflict.txt; leaves feature checked out."""
    commit(repo, "base", {"conflict.txt": "base\n"})
    switch(repo, "feature", create=True)
    commit(repo, "feature change", {"conflict.txt": "feature\n"})
    switch(repo, "main")
    commit(repo, "main change", {"conflict.txt": "main\n"})
    switch(repo, "feature")


def test_rebase_in_progress(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    _diverge(repo)
    git(repo, "rebase", "main", check=False)
    state = state_of(repo)
    assert state.operation is GitOperation.REBASE
    assert state.operation_branch == "feature"
    assert state.detached
    assert "rebase in progress" in describe_location(repo)
    git(repo, "rebase", "--abort")
    state = state_of(repo)
    assert (state.operation, state.branch) == (None, "feature")


def test_apply_rebase_in_progress(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    _diverge(repo)
    git(repo, "rebase", "--apply", "main", check=False)
    state = state_of(repo)
    assert (state.operation, state.operation_branch) == (GitOperation.REBASE, "feature")


def test_merge_in_progress(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    _diverge(repo)
    git(repo, "merge", "main", check=False)
    state = state_of(repo)
    assert state.operation is GitOperation.MERGE
    assert state.branch == "feature"


def test_cherry_pick_and_revert_in_progress(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    _diverge(repo)
    git(repo, "cherry-pick", "main", check=False)
    assert state_of(repo).operation is GitOperation.CHERRY_PICK
    git(repo, "cherry-pick", "--abort")
    commit(repo, "again", {"conflict.txt": "later\n"})
    git(repo, "revert", "--no-edit", "HEAD~1", check=False)
    assert state_of(repo).operation is GitOperation.REVERT


def test_bisect_in_progress(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    for i in range(4):
        commit(repo, f"c{i}", {"n.txt": f"{i}\n"})
    git(repo, "bisect", "start", "HEAD", "HEAD~4")
    state = state_of(repo)
    assert state.operation is GitOperation.BISECT
    assert state.operation_branch == "main"
    git(repo, "bisect", "reset")
    assert state_of(repo).operation is None


def test_operation_is_per_worktree(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    _diverge(repo)
    wt = add_worktree(repo, tmp_path / "wt", "other", base="main")
    git(repo, "merge", "main", check=False)
    assert state_of(repo).operation is GitOperation.MERGE
    assert state_of(wt).operation is None


# --------------------------------------------------------------------------- user.email


def test_email_from_global_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git_config(monkeypatch, tmp_path / "h2", "[user]\n\temail = global@example.com\n")
    repo = make_repo(tmp_path, email=None)
    assert state_of(repo).user_email == "global@example.com"
    git(repo, "config", "user.email", "local@example.com")
    assert state_of(repo).user_email == "local@example.com"


def test_email_from_xdg_and_git_config_global(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = isolate_git_config(monkeypatch, tmp_path / "h3")
    repo = make_repo(tmp_path, email=None)
    xdg = tmp_path / "xdg"
    (xdg / "git").mkdir(parents=True)
    (xdg / "git" / "config").write_text("[user]\n\temail = xdg@example.com\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(xdg))
    assert state_of(repo).user_email == "xdg@example.com"
    (home / ".gitconfig").write_text("[user]\n\temail = home@example.com\n")
    assert state_of(repo).user_email == "home@example.com"  # ~/.gitconfig beats XDG
    other = tmp_path / "other.gitconfig"
    other.write_text("[user]\n\temail = pointed@example.com\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(other))
    assert state_of(repo).user_email == "pointed@example.com"
    assert state_of(repo).user_email == git(repo, "config", "--get", "user.email")


def test_email_through_include_if_matches_git(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (tmp_path / "work.gitconfig").write_text("[user]\n\temail = work@example.com\n")
    isolate_git_config(
        monkeypatch,
        tmp_path / "h4",
        "[user]\n\temail = personal@example.com\n"
        f'[includeIf "gitdir:{work}/"]\n\tpath = {tmp_path / "work.gitconfig"}\n',
    )
    inside, outside = make_repo(work, email=None), make_repo(tmp_path, "home-repo", email=None)
    assert state_of(inside).user_email == "work@example.com"
    assert state_of(outside).user_email == "personal@example.com"


def test_email_from_git_config_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path, email="local@example.com")
    monkeypatch.setenv("GIT_CONFIG_COUNT", "1")
    monkeypatch.setenv("GIT_CONFIG_KEY_0", "user.email")
    monkeypatch.setenv("GIT_CONFIG_VALUE_0", "env@example.com")
    assert state_of(repo).user_email == "env@example.com"


def test_worktree_config_email(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, email="shared@example.com")
    wt = add_worktree(repo, tmp_path / "wt", "feature")
    git(repo, "config", "extensions.worktreeConfig", "true")
    git(wt, "config", "--worktree", "user.email", "wt@example.com")
    assert state_of(wt).user_email == "wt@example.com"
    assert state_of(repo).user_email == "shared@example.com"


def test_requester_falls_back_to_os_user(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, email=None)
    assert state_of(repo).user_email is None
    assert boundary_for(repo).boundary.requester == getpass.getuser()
    git(repo, "config", "user.email", "me@example.com")
    assert boundary_for(repo).boundary.requester == "me@example.com"


def test_a_repository_without_origin_is_known_by_its_root_commit_wherever_it_is(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "a")
    first = state_of(repo).repository_id
    assert first.startswith("root:")
    switch(repo, "feature", create=True)
    commit(repo, "more", {"b.txt": "b\n"})
    assert state_of(repo).repository_id == first, "another branch, same repository"
    moved = tmp_path / "elsewhere" / "renamed"
    moved.parent.mkdir()
    repo.rename(moved)
    assert state_of(moved).repository_id == first, "moved, same repository"
    assert state_of(moved).repository_path == str(moved)


def test_merging_another_history_keeps_the_root(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "a")
    first = state_of(repo).repository_id
    other = make_repo(tmp_path / "b", files={"other.txt": "o\n"})
    git(repo, "fetch", "--quiet", str(other), "main:other")
    git(repo, "merge", "--quiet", "--allow-unrelated-histories", "-m", "merge", "other")
    assert state_of(repo).repository_id == first


def test_before_the_first_commit_the_folder_is_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "new"
    repo.mkdir()
    git(repo, "init", "--quiet", "-b", "main")
    assert state_of(repo).repository_id == str(repo)
    commit(repo, "first", {"a.txt": "a\n"})
    assert state_of(repo).repository_id.startswith("root:")


def test_malformed_config_falls_back_to_git(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, email="me@example.com")
    home = tmp_path / "home"
    (home / ".gitconfig").write_text("[user\n")  # git itself refuses this file
    with pytest.raises(GitError, match="bad config"):
        read_git_state(repo)


# --------------------------------------------------------------------------- history


def test_is_ancestor_detects_rewritten_history(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    old = commit(repo, "one", {"a.txt": "1\n"})
    new = commit(repo, "two", {"a.txt": "2\n"})
    assert is_ancestor(repo, old, new)
    assert is_ancestor(repo, new, new)
    assert not is_ancestor(repo, new, old)
    git(repo, "commit", "--quiet", "--amend", "-m", "two, amended")
    assert not is_ancestor(repo, new, git(repo, "rev-parse", "HEAD"))


def test_is_ancestor_of_a_vanished_commit_is_false(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    head = git(repo, "rev-parse", "HEAD")
    missing = "0123456789abcdef0123456789abcdef01234567"
    assert not is_ancestor(repo, missing, head)
    with pytest.raises(GitError, match="merge-base"):
        is_ancestor(repo, head, missing)


def test_commits_between_oldest_first_and_bounded(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    start = git(repo, "rev-parse", "HEAD")
    shas = [commit(repo, f"commit {i}", {"n.txt": f"{i}\n"}) for i in range(5)]
    assert commits_between(repo, start, shas[-1]) == [
        (s, f"commit {i}") for i, s in enumerate(shas)
    ]
    assert commits_between(repo, start, shas[-1], limit=2) == [
        (shas[3], "commit 3"),
        (shas[4], "commit 4"),
    ]
    assert commits_between(repo, shas[-1], shas[-1]) == []
    assert [s for s, _ in commits_between(repo, None, shas[0])] == [start, shas[0]]


def test_commit_subject(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    sha = commit(repo, "Fix the widget\n\nLong body.", {"w.txt": "w\n"})
    assert commit_subject(repo, sha) == "Fix the widget"
    with pytest.raises(GitError):
        commit_subject(repo, "f" * 40)


def test_default_branch_from_origin_head(tmp_path: Path) -> None:
    upstream = make_repo(tmp_path, "upstream", branch="trunk")
    git(tmp_path, "clone", "--quiet", str(upstream), str(tmp_path / "clone"))
    clone = tmp_path / "clone"
    switch(clone, "feature", create=True)
    assert default_branch(clone) == "trunk"


def test_default_branch_without_origin(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, branch="master")
    switch(repo, "feature", create=True)
    assert default_branch(repo) == "master"
    git(repo, "branch", "main")
    assert default_branch(repo) == "main"
    other = make_repo(tmp_path, "other", branch="develop")
    assert default_branch(other) == "develop"
    git(other, "switch", "--quiet", "--detach")
    assert default_branch(other) is None


def test_reader_ignores_git_dir_of_a_calling_hook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, elsewhere = make_repo(tmp_path), make_repo(tmp_path, "elsewhere")
    monkeypatch.setenv("GIT_DIR", str(elsewhere / ".git"))
    sha = commit(repo, "mine", {"m.txt": "m\n"})
    assert commits_between(repo, None, sha, limit=1) == [(sha, "mine")]
