"""Build real git repositories in temp folders for tests.

Every helper runs the real ``git`` executable. They work on a fresh machine
with no global git config: each command gets an identity and disables
commit signing through ``-c`` options, and repositories get a local
``user.email`` (unless ``email=None``).

Typical use::

    from tests.gitrepo import make_repo, commit, switch, git

    def test_something(tmp_path):
        repo = make_repo(tmp_path, files={"a.txt": "one\\n"})
        switch(repo, "feature", create=True)
        commit(repo, "change a", {"a.txt": "two\\n"})
        assert git(repo, "branch", "--show-current") == "feature"

Use :func:`isolate_git_config` (with pytest's ``monkeypatch``) when a test
depends on *which* config git reads, e.g. that no global ``user.email`` exists.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

DEFAULT_EMAIL = "dev@example.com"

# Applied to every command: no signing and no editor, whatever the machine's
# global config says. The commit identity comes from the environment instead of
# `-c user.email=...`, so `git(repo, "config", "user.email")` still shows what
# the repository's config holds.
_SAFE_OPTIONS = (
    "-c",
    "commit.gpgsign=false",
    "-c",
    "tag.gpgsign=false",
    "-c",
    "init.defaultBranch=main",
    "-c",
    "advice.detachedHead=false",
)

_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test Developer",
    "GIT_AUTHOR_EMAIL": DEFAULT_EMAIL,
    "GIT_COMMITTER_NAME": "Test Developer",
    "GIT_COMMITTER_EMAIL": DEFAULT_EMAIL,
}
# Set by git for hooks; they would point these commands at another repository.
_LOCATING_VARIABLES = {"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR"}
_GIT_TIMEOUT_S = 60


def git(repo: str | os.PathLike[str], *args: str, check: bool = True) -> str:
    """Run ``git -C repo <args>`` and return stdout without the trailing newline.

    Raises ``subprocess.CalledProcessError`` (with stderr) when ``check`` and git fails.
    """
    env = {k: v for k, v in os.environ.items() if k not in _LOCATING_VARIABLES}
    env.update(_IDENTITY)
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_EDITOR"] = "true"  # rebase --continue, merge without -m: never open an editor
    proc = subprocess.run(
        ["git", *_SAFE_OPTIONS, "-C", str(repo), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=_GIT_TIMEOUT_S,
        check=False,
    )
    if check and proc.returncode != 0:
        raise subprocess.CalledProcessError(
            proc.returncode, proc.args, output=proc.stdout, stderr=proc.stderr
        )
    return proc.stdout.rstrip("\n")


def write_files(repo: str | os.PathLike[str], files: Mapping[str, str]) -> None:
    """Write ``{relative path: text}`` into the repository, creating folders."""
    for rel, text in files.items():
        path = Path(repo, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def commit(
    repo: str | os.PathLike[str], message: str, files: Mapping[str, str] | None = None
) -> str:
    """Write ``files``, stage everything, commit with ``message``; returns the new sha."""
    if files:
        write_files(repo, files)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def make_repo(
    tmp_path: str | os.PathLike[str],
    name: str = "repo",
    *,
    branch: str = "main",
    files: Mapping[str, str] | None = None,
    origin: str | None = None,
    email: str | None = DEFAULT_EMAIL,
) -> Path:
    """Create ``tmp_path/name`` as a git repository on ``branch``.

    With ``files`` (default: one ``README.md``) a first commit is made; pass
    ``files={}`` for an unborn branch (no commit yet). ``origin`` sets the
    origin remote URL (nothing is fetched); ``email`` is written to the local
    config as ``user.email`` (``None`` writes none).
    """
    repo = Path(tmp_path, name)
    repo.mkdir(parents=True, exist_ok=True)
    git(repo, "init", "--quiet", "-b", branch)
    if email is not None:
        git(repo, "config", "user.email", email)
    git(repo, "config", "user.name", "Test Developer")
    git(repo, "config", "commit.gpgsign", "false")
    if origin is not None:
        git(repo, "remote", "add", "origin", origin)
    # The folder in the README keeps two test repositories' first commits (their ids) apart.
    initial = {"README.md": f"# test repository\n\n{repo}\n"} if files is None else files
    if initial:
        commit(repo, "initial commit", initial)
    return repo.resolve()


def switch(repo: str | os.PathLike[str], branch: str, *, create: bool = False) -> None:
    """Switch the worktree to ``branch`` (``create=True`` makes it from HEAD first)."""
    if create:
        git(repo, "switch", "--quiet", "-c", branch)
    else:
        git(repo, "switch", "--quiet", branch)


def add_worktree(
    repo: str | os.PathLike[str],
    path: str | os.PathLike[str],
    branch: str,
    *,
    create: bool = True,
    base: str = "HEAD",
) -> Path:
    """Add a linked worktree at ``path`` on ``branch`` (new from ``base`` when ``create``)."""
    if create:
        git(repo, "worktree", "add", "--quiet", "-b", branch, str(path), base)
    else:
        git(repo, "worktree", "add", "--quiet", str(path), branch)
    return Path(path).resolve()


def isolate_git_config(
    monkeypatch: pytest.MonkeyPatch,
    home: str | os.PathLike[str],
    global_config: str | None = None,
) -> Path:
    """Make git (and the reader) see no system config and only ``home``'s global config.

    Sets ``HOME`` to ``home``, drops ``XDG_CONFIG_HOME``/``GIT_CONFIG_GLOBAL``/
    ``GIT_CONFIG_*`` overrides and sets ``GIT_CONFIG_NOSYSTEM=1``. With
    ``global_config`` its text is written to ``home/.gitconfig``. Returns ``home``.
    """
    home_path = Path(home)
    home_path.mkdir(parents=True, exist_ok=True)
    for name in list(os.environ):
        if name.startswith("GIT_CONFIG") or name == "XDG_CONFIG_HOME":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home_path))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    if global_config is not None:
        (home_path / ".gitconfig").write_text(global_config, encoding="utf-8")
    return home_path
