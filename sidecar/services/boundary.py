"""The boundary of a folder: which repository, worktree, branch, person and machine.

The CLI, the language server and the agent hooks all bind sessions to the
boundary of the folder they work in; they build it here so the three agree.
:func:`boundary_from_state` is pure (git state in, boundary out);
:func:`boundary_for` reads git first.
"""

from __future__ import annotations

import os
import socket
from typing import TypedDict

from sidecar.core.models import Boundary, Phase, Scope
from sidecar.git.reader import GitState, read_git_state, requester


def machine_name() -> str:
    """This machine's host name, as sessions record it."""
    return socket.gethostname() or "unknown"


def boundary_from_state(
    state: GitState,
    *,
    machine: str,
    requester_override: str | None = None,
    task: str | None = None,
    phase: Phase | None = None,
    provider: str | None = None,
) -> Boundary:
    """The boundary for a worktree's git state.

    The branch is the branch name, or ``detached@<sha>`` when HEAD is detached,
    so two detached checkouts of different commits never share a session.
    """
    return Boundary(
        repository=state.repository_id,
        worktree=state.worktree,
        branch=state.branch_label,
        requester=requester_override or requester(state),
        machine=machine,
        task=task or None,
        phase=phase,
        provider=provider or None,
    )


def boundary_for(
    path: str | os.PathLike[str],
    *,
    requester_override: str | None = None,
    task: str | None = None,
    phase: Phase | None = None,
    provider: str | None = None,
) -> Boundary | None:
    """The boundary of the folder ``path``; None when it is not inside a git worktree.

    Raises ``sidecar.git.command.GitError`` when git cannot read the repository
    (guessing would bind sessions to the wrong boundary).
    """
    state = read_git_state(path)
    if state is None:
        return None
    return boundary_from_state(
        state,
        machine=machine_name(),
        requester_override=requester_override,
        task=task,
        phase=phase,
        provider=provider,
    )


class ScopeFilters(TypedDict, total=False):
    """Keyword filters shared by ``Store.list_sessions`` and ``Store.search``."""

    repository: str
    worktree: str
    branch: str


def scope_filters(scope: Scope, boundary: Boundary) -> ScopeFilters:
    """Keyword filters for ``Store.list_sessions``/``Store.search`` that realise ``scope``.

    ``branch`` is the branch across all worktrees of the repository, ``worktree``
    one worktree whatever its branch, ``repository`` the whole repository and
    ``all`` no filter at all.

    >>> b = Boundary(repository="r", worktree="/w", branch="main", requester="me", machine="m")
    >>> scope_filters(Scope.BRANCH, b)
    {'repository': 'r', 'branch': 'main'}
    """
    if scope is Scope.BRANCH:
        return {"repository": boundary.repository, "branch": boundary.branch}
    if scope is Scope.WORKTREE:
        return {"repository": boundary.repository, "worktree": boundary.worktree}
    if scope is Scope.REPOSITORY:
        return {"repository": boundary.repository}
    return {}
