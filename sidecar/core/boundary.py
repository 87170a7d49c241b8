"""Pure rules about boundaries: the label outside git, and what a scope covers.

Reading git to *build* a boundary is :func:`sidecar.services.boundary.boundary_for`;
this module holds what needs no reading.
"""

from __future__ import annotations

from typing import TypedDict

from sidecar.core.models import Boundary, Scope

#: The branch of a folder outside git: sessions there are recorded and listed,
#: and drift prompts never fire because the branch cannot change.
NO_BRANCH = "-"


class ScopeFilters(TypedDict, total=False):
    """Keyword filters for listing and searching sessions."""

    repository: str
    worktree: str
    branch: str


def scope_filters(scope: Scope, boundary: Boundary) -> ScopeFilters:
    """Filters that realise ``scope`` around ``boundary``.

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
