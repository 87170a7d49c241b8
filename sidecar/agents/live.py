"""Live ingestion: import a workspace's agent sessions as the tools write them.

:class:`LiveImporter` watches the workspace's own project folders of Claude
Code (``<claude home>/projects/<slug>/``), Codex CLI (``$CODEX_HOME/sessions/``,
rollouts whose working folder is the workspace) and Amplifier
(``~/.amplifier/projects/<slug>/sessions/``) with watchdog, and imports new
complete lines shortly after they land (a short debounce groups a burst of
writes). After each import that added events it calls
``on_history_changed(session_id, last_seq)``, which the server forwards as
``sidecar/historyChanged``.

Threads: watchdog's observer thread only marks files dirty; one worker
thread owns its own :class:`~sidecar.store.Store` (from ``store_factory``) and
does every import, so the store is never shared across threads. A project
folder that does not exist yet is checked again every second and watched
once it appears. Errors are logged and the watcher keeps going.

Typical use (the server wires it when the ``liveImport`` setting is on)::

    live = LiveImporter(lambda: Store.open(db_path), folder, on_history_changed=notify)
    live.start()
    ...
    live.stop()
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from sidecar.services.imports import PROVIDERS
from sidecar.agents.ingest import BoundaryResolver, import_one
from sidecar.store import Store
from sidecar.watch.gitdir import OBSERVER_TIMEOUT_S, WATCHED_EVENT_TYPES

logger = logging.getLogger(__name__)

HistoryCallback = Callable[[str, int], None]
#: Seconds a burst of writes is given to settle before importing.
DEFAULT_DEBOUNCE_S = 0.1
#: How often missing project folders are looked for, as a backstop: their
#: nearest existing ancestor is watched, so a folder that appears is noticed at once.
RESCAN_INTERVAL_S = 30.0
STOP_TIMEOUT_S = 5.0


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
    from sidecar.agents.hook_settings import claude_home as default_claude_home
    from sidecar.importers.amplifier import project_slug as amplifier_slug
    from sidecar.importers.claude_code import project_slug as claude_slug
    from sidecar.importers.codex import codex_home as default_codex_home
    from sidecar.agents.ingest import project_folders

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
    """The working folder in a rollout's first line (``session_meta``); None if not written yet."""
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


class _Handler(FileSystemEventHandler):
    def __init__(self, owner: LiveImporter, root: WatchRoot) -> None:
        self.owner = owner
        self.root = root

    def on_any_event(self, event: FileSystemEvent) -> None:
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            if raw:
                path = raw.decode() if isinstance(raw, bytes) else raw
                self.owner.mark(self.root, Path(path))


class _AncestorHandler(FileSystemEventHandler):
    """Something changed in a folder above a missing root: look for the roots again."""

    def __init__(self, owner: LiveImporter) -> None:
        self.owner = owner

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.owner.request_rescan()


class LiveImporter:
    """Watches one workspace folder's agent session files and imports new lines."""

    def __init__(
        self,
        store_factory: Callable[[], Store],
        folder: str | Path,
        *,
        on_history_changed: HistoryCallback,
        home: Path | None = None,
        claude_home: Path | None = None,
        codex_home: Path | None = None,
        providers: Iterable[str] = PROVIDERS,
        debounce: float = DEFAULT_DEBOUNCE_S,
        initial_import: bool = True,
    ) -> None:
        self.store_factory = store_factory
        self.folder = Path(folder)
        self.on_history_changed = on_history_changed
        self.roots = watch_roots(
            self.folder,
            home=home,
            claude_home=claude_home,
            codex_home=codex_home,
            providers=providers,
        )
        self.debounce = debounce
        self.initial_import = initial_import
        self._lock = threading.Lock()
        self._dirty: dict[Path, str] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._idle = threading.Event()
        self._watched: set[Path] = set()
        self._ancestors: set[Path] = set()
        self._rescan = threading.Event()
        self._codex_cwd: dict[Path, bool] = {}
        self._observer: BaseObserver | None = None
        self._worker: threading.Thread | None = None
        self.imports = 0
        """Import runs that added events (for tests and diagnostics)."""

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Start watching (and, with ``initial_import``, import what is there already)."""
        if self._worker is not None:
            return
        self._observer = Observer(timeout=OBSERVER_TIMEOUT_S)
        self._observer.daemon = True
        self._observer.start()
        self._arm_roots(initial=True)
        self._worker = threading.Thread(target=self._run, name="sidecar-live-import", daemon=True)
        self._worker.start()

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop watching and wait for the worker to finish its current import."""
        self._stopping.set()
        self._wake.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout)
            self._observer = None
        if self._worker is not None:
            self._worker.join(timeout)
            if self._worker.is_alive():
                logger.warning("live import worker did not stop within %.1f s", timeout)
            self._worker = None

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every file marked so far is imported; False on timeout."""
        return self._idle.wait(timeout)

    # ------------------------------------------------------------------ marking

    def _arm_roots(self, *, initial: bool = False) -> None:
        """Watch every root that exists now and is not watched yet; queue its files.

        Files already there at start are imported only with ``initial_import``;
        a folder that appears later holds new sessions and is always imported.
        """
        observer = self._observer
        if observer is None:
            return
        for root in self.roots:
            if root.path in self._watched:
                continue
            if not root.path.is_dir():
                self._watch_ancestor(observer, root.path)
                continue
            try:
                observer.schedule(
                    _Handler(self, root),
                    str(root.path),
                    recursive=True,
                    event_filter=WATCHED_EVENT_TYPES,
                )
            except OSError as error:
                logger.warning("cannot watch %s: %s", root.path, error)
                continue
            self._watched.add(root.path)
            if self.initial_import or not initial:
                for path in self._existing(root):
                    self.mark(root, path)

    def _watch_ancestor(self, observer: BaseObserver, missing: Path) -> None:
        """Watch the nearest existing folder above `missing` (non-recursive)."""
        ancestor = missing.parent
        while not ancestor.is_dir() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if ancestor in self._ancestors or not ancestor.is_dir():
            return
        try:
            observer.schedule(
                _AncestorHandler(self),
                str(ancestor),
                recursive=False,
                event_filter=WATCHED_EVENT_TYPES,
            )
        except OSError as error:
            logger.warning("cannot watch %s: %s", ancestor, error)
            return
        self._ancestors.add(ancestor)

    def request_rescan(self) -> None:
        """Look for missing roots again soon (called from watchdog's thread)."""
        self._rescan.set()
        self._wake.set()

    def _existing(self, root: WatchRoot) -> list[Path]:
        if root.provider == "amplifier":
            return sorted(p for p in root.path.iterdir() if p.is_dir())
        pattern = "rollout-*.jsonl" if root.provider == "codex" else "*.jsonl"
        return sorted(root.path.rglob(pattern))

    def mark(self, root: WatchRoot, path: Path) -> None:
        """Queue the import unit ``path`` belongs to (called from watchdog's thread)."""
        unit = self._unit(root, path)
        if unit is None:
            return
        with self._lock:
            self._dirty[unit] = root.provider
            self._idle.clear()
        self._wake.set()

    def _unit(self, root: WatchRoot, path: Path) -> Path | None:
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

    # ------------------------------------------------------------------ worker

    def _run(self) -> None:
        store: Store | None = None
        try:
            store = self.store_factory()
            resolver = BoundaryResolver()
            while not self._stopping.is_set():
                woke = self._wake.wait(RESCAN_INTERVAL_S)
                if self._stopping.is_set():
                    break
                if not woke or self._rescan.is_set():
                    self._rescan.clear()
                    self._arm_roots()
                if not woke:
                    self._settle()
                    continue
                # Let a burst of writes finish: wait until no new mark came for `debounce`.
                while self._wake.is_set() and not self._stopping.is_set():
                    self._wake.clear()
                    self._stopping.wait(self.debounce)
                self._import_dirty(store, resolver)
        except Exception:
            logger.exception("live import stopped after an unexpected error")
        finally:
            if store is not None:
                store.close()
            self._idle.set()

    def _settle(self) -> None:
        with self._lock:
            if not self._dirty:
                self._idle.set()

    def _import_dirty(self, store: Store, resolver: BoundaryResolver) -> None:
        with self._lock:
            batch = dict(self._dirty)
            self._dirty.clear()
        for unit, provider in batch.items():
            if self._stopping.is_set():
                return
            if provider == "codex" and not self._codex_matches(unit):
                continue  # another project's rollout, or its first line is not written yet
            try:
                report = import_one(store, provider, unit, resolver)
            except FileNotFoundError:
                continue
            except Exception:
                logger.exception("live import of %s failed", unit)
                continue
            if report is None or (report.events_added == 0 and report.sessions_created == 0):
                continue
            self.imports += 1
            for session_id in report.session_ids:
                try:
                    self.on_history_changed(session_id, store.last_seq(session_id))
                except Exception:
                    logger.exception("on_history_changed(%s) failed", session_id)
        self._settle()

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
