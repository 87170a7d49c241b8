"""Workspace folders of one connection, each resolved to its boundary.

A folder resolves through the git reader to its worktree: subfolders and
linked worktrees of one repository share the repository id. Outside git a
folder is its own repository and worktree, and its branch is
:data:`NO_BRANCH` (``-``): sessions there are still recorded and listed, and
drift prompts never fire because the branch cannot change.

The requester is ``settings.requester`` when set, else git's ``user.email``,
else the OS user; the machine is the host name.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

from sidecar.core.models import Boundary
from sidecar.git.reader import GitState, read_git_state
from sidecar.server.config import Settings
from sidecar.services.boundary import boundary_from_state, machine_name
from sidecar.services.errors import InvalidArgument
from sidecar.services.folders import Folder

#: The branch of a folder outside git.
NO_BRANCH = "-"


def uri_to_path(uri_or_path: str) -> str | None:
    """The real filesystem path of a ``file:`` URI or a plain path; None for other schemes.

    >>> uri_to_path("file:///tmp/a%20b")  # doctest: +SKIP
    '/tmp/a b'
    """
    if "://" in uri_or_path or uri_or_path.startswith("file:"):
        parts = urlsplit(uri_or_path)
        if parts.scheme != "file":
            return None
        raw = unquote(parts.path)
    else:
        raw = uri_or_path
    if not raw or "\0" in raw:
        return None
    return os.path.realpath(os.path.expanduser(raw))


def path_to_uri(path: str) -> str:
    """A ``file:`` URI for an absolute path."""
    from pathlib import Path

    return Path(path).as_uri()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def boundary_for(path: str, state: GitState | None, settings: Settings) -> Boundary:
    """The boundary of a folder at ``path`` given its git state (None outside git)."""
    if state is None:
        return Boundary(
            repository=path,
            worktree=path,
            branch=NO_BRANCH,
            requester=settings.requester or _os_user(),
            machine=machine_name(),
            task=settings.task,
            phase=settings.phase,
            provider=settings.provider,
        )
    return boundary_from_state(
        state,
        machine=machine_name(),
        requester_override=settings.requester,
        task=settings.task,
        phase=settings.phase,
        provider=settings.provider,
    )


def resolve_folder(uri: str, settings: Settings) -> Folder:
    """Resolve a workspace folder URI (or path) to a :class:`Folder` with its boundary now."""
    path = uri_to_path(uri)
    if path is None:
        raise InvalidArgument(f"workspace folder {uri!r} is not a file: URI or path")
    state = read_git_state(path)
    boundary = boundary_for(path, state, settings)
    return Folder(
        uri=uri,
        path=path,
        worktree=state.worktree if state is not None else path,
        boundary=boundary,
        head_sha=state.head_sha if state is not None else None,
        operation=state.operation.value if state is not None and state.operation else None,
        in_git=state is not None,
    )


class Workspaces:
    """The open workspace folders, in the order the client listed them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._folders: dict[str, Folder] = {}

    def __iter__(self) -> Iterator[Folder]:
        return iter(list(self._folders.values()))

    def __len__(self) -> int:
        return len(self._folders)

    def add(self, uri: str) -> Folder:
        """Open a folder (re-resolving it when already open)."""
        folder = resolve_folder(uri, self.settings)
        self._folders[uri] = folder
        return folder

    def remove(self, uri: str) -> Folder | None:
        """Close a folder; returns it when it was open."""
        return self._folders.pop(uri, None)

    def refresh(self, folder: Folder) -> Folder:
        """Re-read the folder's git state (branch, HEAD, operation) and boundary."""
        fresh = resolve_folder(folder.uri, self.settings)
        if fresh != folder and folder.uri in self._folders:
            self._folders[folder.uri] = fresh
        return fresh

    def rebase_settings(self, settings: Settings) -> None:
        """New settings: boundaries take the new defaults (requester, task, phase, provider)."""
        self.settings = settings
        for uri in list(self._folders):
            self._folders[uri] = resolve_folder(uri, settings)

    def find(self, folder: str | None) -> Folder:
        """The folder named by a request's ``folder`` param (URI or path); default: the first."""
        if not self._folders:
            raise InvalidArgument("no workspace folder is open in this connection")
        if folder is None:
            return next(iter(self._folders.values()))
        if folder in self._folders:
            return self._folders[folder]
        path = uri_to_path(folder)
        for candidate in self._folders.values():
            if path is not None and candidate.path == path:
                return candidate
        open_ = ", ".join(self._folders)
        raise InvalidArgument(
            f"folder {folder!r} is not a workspace folder of this connection (open: {open_})"
        )

    def containing(self, path: str) -> Folder | None:
        """The folder whose worktree holds ``path`` (the deepest match), if any."""
        best: Folder | None = None
        for folder in self._folders.values():
            if folder.contains(path) and (best is None or len(folder.path) > len(best.path)):
                best = folder
        return best
