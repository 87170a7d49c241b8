"""The boundary of a folder: the one place where a folder becomes a boundary.

Every door (the language server, the CLI, ``watch``, the agent hooks, the
importers, the MCP server) binds sessions to the boundary of the folder it
works in, and builds it here, so they all agree:

* inside git: repository identity (below), the worktree root, the branch (or
  ``detached@<sha>``), the requester (the profile's, else git's ``user.email``,
  else the OS user), the machine (host name);
* outside git: the folder itself is repository and worktree, the branch is
  :data:`~sidecar.core.boundary.NO_BRANCH`; sessions are still recorded.

Repository identity: the normalized origin URL when there is one; else the
root commit (``local:<sha>``), which travels with the repository when its
folder is moved or renamed; else, before the first commit, the main
worktree's root path. Sessions recorded under a path (older databases, or a
repository's first minutes) are *adopted* by the identity the first time it
is seen, so a repository keeps its history when it gains a commit or moves.
"""

from __future__ import annotations

import getpass
import os
import socket
import threading
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from sidecar.core.boundary import NO_BRANCH, local_repository_id
from sidecar.core.models import Boundary, Phase
from sidecar.core.transitions import HeadState
from sidecar.git.command import GitError
from sidecar.git.reader import GitState, NotARepository, locate, root_commit

if TYPE_CHECKING:
    from sidecar.store import Store


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


# Root commits never change for a repository: ask git once per process.
_roots: dict[str, str | None] = {}
_adopted: set[tuple[str, str]] = set()
_lock = threading.Lock()


def repository_identity(state: GitState) -> str:
    """The repository id of a worktree's git state (see the module docstring)."""
    if state.origin_url:
        return state.repository_id
    with _lock:
        known = state.common_dir in _roots
        root = _roots.get(state.common_dir)
    if not known:
        try:
            root = root_commit(state.worktree)
        except GitError:
            root = None
        if root is not None:  # before the first commit, ask again next time
            with _lock:
                _roots[state.common_dir] = root
    return local_repository_id(root) if root else (state.main_root or state.repository_id)


def adopt(store: Store, identity: str, main_root: str) -> None:
    """Re-key sessions recorded under the repository's path to its identity (once per process).

    Also remembers the path as the identity's display hint.
    """
    if identity == main_root:
        return
    key = (identity, main_root)
    with _lock:
        if key in _adopted:
            return
    if store.state.repository_path(identity) != main_root:
        if not store.read_only:
            store.sessions.adopt_repository(main_root, identity)
            store.state.note_repository(identity, main_root)
    with _lock:
        _adopted.add(key)


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


def boundary_for(
    path: str | os.PathLike[str], profile: Profile | None = None, *, store: Store | None = None
) -> Place:
    """The place (and boundary) of the folder ``path`` now.

    Raises ``sidecar.git.command.GitError`` when git cannot read the repository
    (guessing would bind sessions to the wrong boundary). With ``store``,
    sessions recorded under the repository's path are adopted by its identity.
    """
    profile = profile or Profile()
    real = os.path.realpath(os.path.expanduser(os.fspath(path)))
    found = locate(real)
    if isinstance(found, NotARepository):
        return Place(
            path=real,
            worktree=real,
            boundary=Boundary(
                repository=real,
                worktree=real,
                branch=NO_BRANCH,
                requester=profile.requester or os_user(),
                machine=machine_name(),
                task=profile.task or None,
                phase=profile.phase,
                provider=profile.provider or None,
            ),
            reason=found.reason,
        )
    identity = repository_identity(found)
    if store is not None and not found.origin_url and found.main_root:
        adopt(store, identity, found.main_root)
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
    )


def adopt_path_keyed_repositories(store: Store) -> int:
    """Carry a database's path-keyed repositories over to their identities, once.

    Sessions of a repository without an origin remote used to be keyed by the
    repository's folder path. For every such path that is still a repository
    on this machine, they are re-keyed to its identity now (a data migration,
    recorded in the store's state so it runs once per database). Paths that are
    gone stay as they are. Returns how many repositories were re-keyed.
    """
    marker = "migration:repository-identity"
    if store.read_only or store.state.get(marker):
        return 0
    moved = 0
    for repository in store.sessions.repositories():
        if not os.path.isabs(repository) or not os.path.isdir(repository):
            continue
        try:
            found = locate(repository)
        except GitError:
            continue
        if isinstance(found, NotARepository) or found.main_root != repository:
            continue
        identity = repository_identity(found)
        if identity != repository:
            store.sessions.adopt_repository(repository, identity)
            store.state.note_repository(identity, repository)
            moved += 1
    store.state.put(marker, 1)
    return moved
