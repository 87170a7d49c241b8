"""A repository's identity over time: its sessions follow it when it gains an id or moves.

A repository is known by its origin URL, else its root commit (see
:mod:`sidecar.git.reader`), so moving or renaming its folder keeps its history.
Sessions recorded before it had that identity (before its first commit, or by
a sidecar that keyed repositories by folder) were keyed by its folder, and a
moved repository's sessions still name the old worktree path.
:func:`settle_repository` carries both over the first time a door sees the
repository at a path; afterwards it costs one indexed read.
"""

from __future__ import annotations

from sidecar.git.reader import ROOT_PREFIX, GitState, locate, root_commit
from sidecar.services.boundary import Place
from sidecar.store import Store


def settle_repository(store: Store, place: Place) -> int:
    """Record where the place's repository is; returns how many sessions were carried over.

    Adopted into the repository's id: sessions keyed by its folder path, and,
    once it has an origin, sessions keyed by its root commit. Moved: sessions
    whose worktree lies below a path the repository was seen at before and no
    longer is (a folder that is still this repository, a second clone, stays).
    """
    if place.repository_path is None or store.read_only:
        return 0
    repository, path = place.boundary.repository, place.repository_path
    if store.repositories.known(repository, path):
        return 0
    adopt = [path]
    if not repository.startswith(ROOT_PREFIX) and place.git_dir and place.common_dir:
        root = root_commit(place.worktree, place.git_dir, place.common_dir)
        if root is not None:
            adopt.append(ROOT_PREFIX + root)
    moved = [
        seen
        for seen in store.repositories.paths(repository)
        if seen != path and not _is_repository_at(seen, repository)
    ]
    return store.repositories.settle(repository, path, adopt=adopt, moved_from=moved)


def _is_repository_at(path: str, repository: str) -> bool:
    found = locate(path)
    return (
        isinstance(found, GitState)
        and found.repository_id == repository
        and found.repository_path == path
    )
