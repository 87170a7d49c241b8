"""The boundary of a folder: the one place where a folder becomes a boundary.

Every door (the language server, the CLI, ``watch``, the agent hooks, the
importers, the MCP server) binds sessions to the boundary of the folder it
works in, and builds it here, so they all agree:

* inside git: repository identity (below), the worktree root, the branch (or
  ``detached@<sha>``), the requester (the profile's, else git's ``user.email``,
  else the OS user), the machine (host name);
* outside git: the folder itself is repository and worktree, the branch is
  :data:`~sidecar.core.boundary.NO_BRANCH`; sessions are still recorded.

Repository identity: the normalized origin URL when there is one, else the
repository's root commit (``root:<sha>``), else, before the first commit, the
main worktree's root path; linked worktrees and subfolders resolve to the same
repository, and a moved folder keeps its identity (see
:mod:`sidecar.services.repositories` for how sessions follow it).
"""

from __future__ import annotations

import getpass
import os
import socket
from dataclasses import dataclass, replace

from sidecar.core.boundary import NO_BRANCH
from sidecar.core.models import Boundary, Phase
from sidecar.core.transitions import HeadState
from sidecar.git.reader import GitState, NotARepository, locate


def machine_name() -> str:
    """This machine's host name, as sessions record it."""
    return socket.gethostname() or "unknown"


def os_user() -> str:
    """The OS user name (the requester when git names none)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (some containers)
        return "unknown"


@dataclass(frozen=True)
class Profile:
    """What a door may set on the boundaries it builds (settings, command-line options)."""

    requester: str | None = None
    """Overrides git's user.email."""
    task: str | None = None
    phase: Phase | None = None
    provider: str | None = None


@dataclass(frozen=True)
class Place:
    """A folder as the core sees it: where it is, what git says, and its boundary."""

    path: str
    """The folder, real path (symbolic links resolved)."""
    worktree: str
    """The git worktree root containing it; the folder itself outside git."""
    boundary: Boundary
    head: HeadState | None = None
    """Git's state as plain data; None outside git."""
    git_dir: str | None = None
    common_dir: str | None = None
    repository_path: str | None = None
    """The main worktree's root: where the repository is now (None outside git)."""
    reason: str | None = None
    """Outside git: why (a sentence to show a person)."""

    @property
    def in_git(self) -> bool:
        """True inside a git worktree."""
        return self.head is not None

    @property
    def head_sha(self) -> str | None:
        """The commit HEAD points at, if any."""
        return self.head.head_sha if self.head is not None else None

    @property
    def operation(self) -> str | None:
        """The git operation in progress (``rebase``...), if any."""
        return self.head.operation if self.head is not None else None

    def contains(self, path: str) -> bool:
        """True when ``path`` (absolute, real) lies in this place's worktree."""
        root = self.worktree.rstrip("/") + "/"
        return path == self.worktree or path.startswith(root)

    def with_profile(self, profile: Profile) -> Place:
        """The same place with task, phase, provider and requester taken from ``profile``."""
        updates: dict[str, object] = {
            "task": profile.task,
            "phase": profile.phase,
            "provider": profile.provider,
        }
        if profile.requester:
            updates["requester"] = profile.requester
        return replace(self, boundary=self.boundary.model_copy(update=updates))


def head_state(state: GitState, repository: str) -> HeadState:
    """Git's state of one worktree as the core's plain data."""
    return HeadState(
        repository=repository,
        worktree=state.worktree,
        branch=state.branch_label,
        head_sha=state.head_sha,
        detached=state.detached,
        operation=state.operation.value if state.operation is not None else None,
    )


def boundary_for(path: str | os.PathLike[str], profile: Profile | None = None) -> Place:
    """The place (and boundary) of the folder ``path`` now.

    Raises ``sidecar.git.command.GitError`` when git cannot read the repository
    (guessing would bind sessions to the wrong boundary).
    """
    profile = profile or Profile()
    real = os.path.realpath(os.path.expanduser(os.fspath(path)))
    found = locate(real)
    if isinstance(found, NotARepository):
        return outside_git(real, profile, found.reason)
    identity = found.repository_id
    boundary = Boundary(
        repository=identity,
        worktree=found.worktree,
        branch=found.branch_label,
        requester=profile.requester or found.user_email or os_user(),
        machine=machine_name(),
        task=profile.task or None,
        phase=profile.phase,
        provider=profile.provider or None,
    )
    return Place(
        path=real,
        worktree=found.worktree,
        boundary=boundary,
        head=head_state(found, identity),
        git_dir=found.git_dir,
        common_dir=found.common_dir,
        repository_path=found.repository_path,
    )


def outside_git(path: str, profile: Profile | None = None, reason: str = "") -> Place:
    """The place of a folder outside git (or one git cannot read): the folder is repository
    and worktree, the branch is :data:`~sidecar.core.boundary.NO_BRANCH`."""
    profile = profile or Profile()
    return Place(
        path=path,
        worktree=path,
        boundary=Boundary(
            repository=path,
            worktree=path,
            branch=NO_BRANCH,
            requester=profile.requester or os_user(),
            machine=machine_name(),
            task=profile.task or None,
            phase=profile.phase,
            provider=profile.provider or None,
        ),
        reason=reason or f"{path} is not inside a git repository",
    )
