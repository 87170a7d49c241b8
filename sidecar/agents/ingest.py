"""Import other tools' session files for one project: shared by `import` and live ingestion.

Wraps :mod:`sidecar.services.imports` with what both callers need:

* :class:`BoundaryResolver` builds an imported session's boundary from its
  working directory: the folder's real git state when the folder exists here
  (with the branch the tool recorded, when it recorded one), else the folder
  path itself as repository and worktree;
* :func:`project_paths` finds a project's files for one tool;
* :func:`import_files` imports them, leaving out Claude Code transcripts of
  sessions the hook records (they would be stored twice).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable
from pathlib import Path

from sidecar.services.imports import ImportReport, discover, import_path, import_paths
from sidecar.core.models import Boundary
from sidecar.store import Store

#: Branch label of an imported session that recorded none and whose folder is not in git here.
UNKNOWN_BRANCH = "-"


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class BoundaryResolver:
    """``boundary_for_cwd`` for the loader, reading each folder's git state once."""

    def __init__(self) -> None:
        self._states: dict[str, Boundary | None] = {}

    def __call__(self, cwd: str, branch: str | None) -> Boundary:
        """The boundary of a session that ran in ``cwd`` on ``branch`` (None: not recorded)."""
        from sidecar.services.boundary import boundary_for, machine_name

        if cwd not in self._states:
            try:
                self._states[cwd] = boundary_for(cwd) if os.path.isdir(cwd) else None
            except Exception:  # an unreadable repository: fall back to the folder itself
                self._states[cwd] = None
        here = self._states[cwd]
        recorded = branch if branch and branch != "HEAD" else None
        if here is not None:
            return here.model_copy(update={"branch": recorded}) if recorded else here
        return Boundary(
            repository=cwd,
            worktree=cwd,
            branch=recorded or UNKNOWN_BRANCH,
            requester=_os_user(),
            machine=machine_name(),
        )


def project_folders(folder: Path) -> list[str]:
    """The folder and its git worktree root (a tool may have run in either)."""
    from sidecar.git.reader import find_worktree_root

    here = folder.resolve()
    root = find_worktree_root(here)
    folders = [str(here)]
    if root is not None and str(root) != str(here):
        folders.append(str(root))
    return folders


def project_paths(provider: str, folder: Path | None, *, home: Path | None = None) -> list[Path]:
    """The tool's session files (Amplifier: folders) for ``folder``'s project; all when None."""
    if folder is None:
        return list(discover(provider, home=home))
    seen: dict[Path, None] = {}
    for cwd in project_folders(folder):
        for path in discover(provider, home=home, cwd=cwd):
            seen.setdefault(path, None)
    return list(seen)


def recorded_by_hook(store: Store, provider: str, path: Path) -> bool:
    """True for a Claude Code transcript whose session the hook records live."""
    if provider != "claude-code" or path.suffix != ".jsonl":
        return False
    from sidecar.agents.hook import HOOK_TAG

    session = store.find_by_provider_ref("claude-code", path.stem)
    return session is not None and HOOK_TAG in session.tags


def import_files(
    store: Store,
    provider: str,
    paths: Iterable[Path],
    *,
    resolver: BoundaryResolver | None = None,
) -> tuple[ImportReport, int]:
    """Import ``paths``; the report and how many files were left to the hook."""
    resolver = resolver or BoundaryResolver()
    wanted: list[Path] = []
    hooked = 0
    for path in paths:
        if recorded_by_hook(store, provider, path):
            hooked += 1
        else:
            wanted.append(path)
    return import_paths(store, provider, wanted, boundary_for_cwd=resolver), hooked


def import_one(
    store: Store, provider: str, path: Path, resolver: BoundaryResolver
) -> ImportReport | None:
    """Import one file or folder (None when the hook records that session)."""
    if recorded_by_hook(store, provider, path):
        return None
    return import_path(store, provider, path, boundary_for_cwd=resolver)
