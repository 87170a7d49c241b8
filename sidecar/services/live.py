"""Live ingestion: a workspace's agent session files, imported as the tools write them.

:class:`LiveImport` knows where one workspace folder's sessions of every tool
in :data:`sidecar.importers.registry.IMPORTERS` are written
(:func:`watch_roots`, from each importer's :class:`LiveWatch`), which units
a change there touches (:meth:`LiveImport.mark`), and imports them in slices
(:meth:`LiveImport.run`) through the import pipeline, so a huge transcript
never holds the owner thread for long.

Some tools keep a folder per project (Claude Code, Amplifier); the others
write every project's sessions under one root (Codex, Gemini CLI, Copilot
CLI) or into one database (opencode). A unit under a shared root is imported
once its session's folder, read the way the batch importer reads it
(``LiveWatch.folder``: Codex's :func:`~sidecar.importers.codex.rollout_cwd`,
Gemini's project root, Copilot's ``session.start`` cwd), is one of the
workspace's; opencode's units are the database's sessions whose
``directory`` is. A file that names no folder yet is looked at again when it
changes.

The door owns the watching and the timing: it watches the roots, marks what
changed, and calls :meth:`run` after a short quiet period, again while it
returns True. Only one process per repository imports live: the door takes the
named lease :func:`lease_name` before it starts one (two editor windows on one
repository import each line once).

Owner thread only.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sidecar.importers.registry import LiveWatch, importer
from sidecar.services.imports import (
    PROVIDERS,
    BoundaryResolver,
    ImportReport,
    discover,
    import_one,
    project_folders,
)
from sidecar.services.sessions import SessionService

logger = logging.getLogger(__name__)

#: Chunks of lines one slice of :meth:`LiveImport.run` reads per file.
SLICE_CHUNKS = 1


def lease_name(repository: str) -> str:
    """The named lease that makes one process per repository the live importer."""
    return f"live-import:{repository}"


@dataclass(frozen=True)
class WatchRoot:
    """One folder to watch, with its subfolders, for one tool and one workspace.

    ``cwds`` are the workspace's project folders (the folder and its worktree
    root): the sessions that ran in one of them are the workspace's.
    """

    provider: str
    path: Path
    cwds: tuple[str, ...]

    @property
    def live(self) -> LiveWatch:
        """The tool's live-import declaration."""
        return importer(self.provider).live


def watch_roots(
    folder: Path, *, home: Path | None = None, providers: Iterable[str] = PROVIDERS
) -> list[WatchRoot]:
    """The folders to watch for ``folder``'s project (they need not exist yet)."""
    cwds = tuple(project_folders(folder))
    return [
        WatchRoot(provider, path, cwds)
        for provider in providers
        for path in importer(provider).live.roots(home, cwds)
    ]


def units_for(root: WatchRoot, path: Path) -> list[Path]:
    """The units (files, session folders, database sessions) to import for a change at ``path``."""
    try:
        relative = path.relative_to(root.path)
    except ValueError:
        return []
    if not relative.parts:
        return []
    return root.live.units(root.path, path, root.cwds)


def existing_units(root: WatchRoot, *, home: Path | None = None) -> list[Path]:
    """The workspace's units already in a root (imported when watching begins), parents first."""
    found: dict[Path, None] = {}
    for cwd in root.cwds:
        for unit in discover(root.provider, home=home, cwd=cwd):
            if unit.is_relative_to(root.path):
                found.setdefault(unit, None)
    return list(found)


class LiveImport:
    """One workspace folder's agent session files (see the module docstring)."""

    def __init__(
        self,
        sessions: SessionService,
        folder: Path,
        *,
        home: Path | None = None,
        providers: Iterable[str] = PROVIDERS,
    ) -> None:
        self.sessions = sessions
        self.folder = folder
        self.home = home
        self.roots = watch_roots(folder, home=home, providers=providers)
        self._cwds = frozenset(project_folders(folder))
        self._resolver = BoundaryResolver(sessions.store)
        self._dirty: dict[Path, str] = {}
        self._belongs: dict[Path, bool] = {}
        self._seen: dict[Path, tuple[int, int, int]] = {}
        self.imports = 0
        """Slices that added events (for tests and diagnostics)."""

    def mark_existing(self, root: WatchRoot) -> None:
        """Queue every unit a root holds now (when it is first watched, or appears)."""
        for unit in existing_units(root, home=self.home):
            self._dirty[unit] = root.provider

    def mark(self, root: WatchRoot, path: Path) -> None:
        """Queue the units a change at ``path`` touches.

        A change that left the file as it was is dropped: reading opencode's
        database read-only still closes its ``-wal`` file as written, and each
        import would otherwise report itself as the next change.
        """
        try:
            stat = path.stat()
        except OSError:
            pass
        else:
            state = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
            if self._seen.get(path) == state:
                return
            self._seen[path] = state
        for unit in units_for(root, path):
            self._dirty[unit] = root.provider

    @property
    def pending(self) -> bool:
        """True while marked units wait to be imported."""
        return bool(self._dirty)

    def run(self) -> tuple[ImportReport, bool]:
        """Import one slice of every marked unit; the report and whether more work waits."""
        batch, self._dirty = self._dirty, {}
        total = ImportReport()
        for unit, provider in batch.items():
            try:
                if not self._workspace_unit(provider, unit):
                    continue  # another project's session, or it names no folder yet
                report = import_one(
                    self.sessions, provider, unit, self._resolver, max_chunks=SLICE_CHUNKS
                )
            except FileNotFoundError:
                continue
            except Exception:
                logger.exception("live import of %s failed", unit)
                continue
            if report is None:
                continue
            if report.more or report.held:
                self._dirty.setdefault(unit, provider)
            if report.events_added or report.sessions_created:
                self.imports += 1
            total.add(report)
        return total, bool(self._dirty)

    def _workspace_unit(self, provider: str, unit: Path) -> bool:
        """Whether a unit under a shared root is a session of this workspace.

        Decided once its file names a folder (a session does not change
        folders); until then it is asked again on every change.
        """
        folder_of = importer(provider).live.folder
        if folder_of is None:
            return True  # the root is the project's own, or its units are chosen by folder
        known = self._belongs.get(unit)
        if known is not None:
            return known
        try:
            cwd = folder_of(unit)
        except OSError:
            return False
        if cwd is None:
            return False
        self._belongs[unit] = belongs = cwd in self._cwds
        return belongs
