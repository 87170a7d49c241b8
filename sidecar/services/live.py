"""Live ingestion: a workspace's agent session files, imported as the tools write them.

:class:`LiveImport` knows where one workspace folder's sessions of Claude
Code (``<claude home>/projects/<slug>/``), Codex CLI (``$CODEX_HOME/sessions/``,
rollouts whose working folder is the workspace) and Amplifier
(``~/.amplifier/projects/<slug>/sessions/``) are written (:func:`watch_roots`),
which of their files changed (:meth:`LiveImport.mark`), and imports them in
slices (:meth:`LiveImport.run`) through the import pipeline, so a huge
transcript never holds the owner thread for long.

The door owns the watching and the timing: it watches the roots, marks what
changed, and calls :meth:`run` after a short quiet period, again while it
returns True. Only one process per repository imports live: the door takes the
named lease :func:`lease_name` before it starts one (two editor windows on one
repository import each line once).

Owner thread only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sidecar.importers.amplifier import project_slug as amplifier_slug
from sidecar.importers.claude_code import (
    claude_home as default_claude_home,
    project_slug as claude_slug,
)
from sidecar.importers.codex import codex_home as default_codex_home
from sidecar.services.imports import (
    PROVIDERS,
    BoundaryResolver,
    ImportReport,
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
    """One folder to watch for one tool; ``cwds`` filter Codex rollouts by working folder."""

    provider: str
    path: Path
    cwds: frozenset[str] = frozenset()


def watch_roots(
    folder: Path,
    *,
    home: Path | None = None,
    claude_home: Path | None = None,
    codex_home: Path | None = None,
    providers: Iterable[str] = PROVIDERS,
) -> list[WatchRoot]:
    """The folders to watch for ``folder``'s project (they need not exist yet)."""
    cwds = project_folders(folder)
    wanted = set(providers)
    roots: list[WatchRoot] = []
    if "claude-code" in wanted:
        base = claude_home or default_claude_home(home=home)
        roots.extend(WatchRoot("claude-code", base / "projects" / claude_slug(c)) for c in cwds)
    if "codex" in wanted:
        base = codex_home or default_codex_home(home)
        roots.append(WatchRoot("codex", base / "sessions", frozenset(cwds)))
    if "amplifier" in wanted:
        base = (home or Path.home()) / ".amplifier" / "projects"
        roots.extend(WatchRoot("amplifier", base / amplifier_slug(c) / "sessions") for c in cwds)
    return roots


def codex_cwd(path: Path) -> str | None:
    """The working folder in a rollout's first line; None if not written yet, "" if none."""
    try:
        with path.open("rb") as handle:
            first = handle.readline(1024 * 1024)
    except OSError:
        return None
    if not first.endswith(b"\n"):
        return None
    try:
        data = json.loads(first)
    except ValueError:
        return ""
    payload = data.get("payload") if isinstance(data, dict) else None
    cwd = payload.get("cwd") if isinstance(payload, dict) else None
    return cwd if isinstance(cwd, str) else ""


def unit_for(root: WatchRoot, path: Path) -> Path | None:
    """The file (Amplifier: session folder) to import for a change at ``path``."""
    try:
        relative = path.relative_to(root.path)
    except ValueError:
        return None
    if not relative.parts:
        return None
    if root.provider == "amplifier":
        session = root.path / relative.parts[0]
        if len(relative.parts) == 1 or relative.name in ("transcript.jsonl", "metadata.json"):
            return session
        return None
    if path.suffix != ".jsonl":
        return None
    if root.provider == "codex" and not path.name.startswith("rollout-"):
        return None
    return path


def existing_units(root: WatchRoot) -> list[Path]:
    """The units already in a root (imported when watching begins)."""
    if not root.path.is_dir():
        return []
    if root.provider == "amplifier":
        return sorted(p for p in root.path.iterdir() if p.is_dir())
    pattern = "rollout-*.jsonl" if root.provider == "codex" else "*.jsonl"
    return sorted(root.path.rglob(pattern))


class LiveImport:
    """One workspace folder's agent session files (see the module docstring)."""

    def __init__(
        self,
        sessions: SessionService,
        folder: Path,
        *,
        home: Path | None = None,
        claude_home: Path | None = None,
        codex_home: Path | None = None,
        providers: Iterable[str] = PROVIDERS,
    ) -> None:
        self.sessions = sessions
        self.folder = folder
        self.roots = watch_roots(
            folder, home=home, claude_home=claude_home, codex_home=codex_home, providers=providers
        )
        self._resolver = BoundaryResolver(sessions.store)
        self._dirty: dict[Path, str] = {}
        self._codex_cwd: dict[Path, bool] = {}
        self.imports = 0
        """Slices that added events (for tests and diagnostics)."""

    def mark_existing(self, root: WatchRoot) -> None:
        """Queue every unit a root holds now (when it is first watched, or appears)."""
        for path in existing_units(root):
            self.mark(root, path)

    def mark(self, root: WatchRoot, path: Path) -> None:
        """Queue the unit ``path`` belongs to."""
        unit = unit_for(root, path)
        if unit is not None:
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
            if provider == "codex" and not self._codex_matches(unit):
                continue  # another project's rollout, or its first line is not written yet
            try:
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

    def _codex_matches(self, path: Path) -> bool:
        known = self._codex_cwd.get(path)
        if known is not None:
            return known
        cwd = codex_cwd(path)
        if cwd is None:
            return False
        root = next((r for r in self.roots if r.provider == "codex"), None)
        matches = root is not None and cwd in root.cwds
        self._codex_cwd[path] = matches
        return matches
