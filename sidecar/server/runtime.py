"""The server's state, living on its single store thread.

Everything that touches SQLite or git runs on that one thread: the store
object (one sqlite connection) is used by exactly one thread, writes stay in
request order, and services need no locks. The event loop only routes.

Per git workspace folder the runtime runs a
:class:`~sidecar.services.drift.DriftService` (branch and scope drift, on
this same thread) and, when the ``liveImport`` setting is on, a
:class:`~sidecar.agents.live.LiveImporter` (its own thread and store
connection). Changes other processes commit to the database are found by
polling SQLite's ``data_version`` (:meth:`Runtime.poll_external`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sidecar
from sidecar.core.models import Actor, EventKind, NewEvent
from sidecar.protocol.messages import WatcherMode
from sidecar.server.config import Settings, merge_settings
from sidecar.server.workspace import Workspaces, uri_to_path
from sidecar.services.errors import NotReady
from sidecar.services.folders import Folder
from sidecar.services.sessions import Notifier, SessionService
from sidecar.store import ReadOnlyError, Store, StoreError

if TYPE_CHECKING:
    from sidecar.agents.live import LiveImporter
    from sidecar.services.drift import DriftPort, DriftService, DriftSettings, Run

logger = logging.getLogger(__name__)

#: LSP document notifications -> (event kind, action) recorded for them.
DOCUMENT_ACTIONS = {
    "open": EventKind.FILE_OPEN,
    "save": EventKind.FILE_CHANGE,
    "close": EventKind.FILE_OPEN,
}

#: Caps the database file at this many pages (SQLite's max_page_count); unset: no cap.
MAX_PAGES_ENV = "SIDECAR_DB_MAX_PAGES"
#: "1" opens the database read-only (browse history without recording anything).
READ_ONLY_ENV = "SIDECAR_DB_READONLY"
#: How many recently active sessions the cross-process poll compares.
POLL_SESSIONS = 200
#: Payload keys whose values name the paths an event touched.
PATH_KEYS = ("path", "filePath", "file_path")
PATHS_KEYS = ("paths", "files")


@dataclass(frozen=True)
class ServerLinks:
    """What the runtime needs from the server to run watchers (every callable thread-safe).

    ``run`` queues a job on the store thread; ``loop`` runs prompts;
    ``port_for(uri)`` is a folder's drift port; ``history_changed`` forwards
    ``historyChanged`` to the loop; ``editor_watching(uri)`` asks the client to
    report the folder's file changes (its worktree is too big to watch).
    """

    run: Run
    loop: asyncio.AbstractEventLoop
    port_for: Callable[[str], DriftPort]
    history_changed: Callable[[str, int], None]
    editor_watching: Callable[[str], None]


def _env_int(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise NotReady(f"{name} must be a whole number of pages, got {raw!r}") from exc
    if value <= 0:
        raise NotReady(f"{name} must be a positive number of pages, got {raw!r}")
    return value


def open_store(path: str | None) -> tuple[Store, bool]:
    """Open the database for the server; returns it and whether it is read-only.

    ``$SIDECAR_DB_MAX_PAGES`` caps its size; ``$SIDECAR_DB_READONLY=1``, or a
    file the process cannot write, opens it read-only: history stays
    readable and every write answers with the store's read-only message.
    """
    from sidecar.store import default_db_path

    max_pages = _env_int(MAX_PAGES_ENV)
    target = Path(path).expanduser() if path else default_db_path()
    if os.environ.get(READ_ONLY_ENV, "").strip() in ("1", "true", "yes"):
        return Store.open(target, read_only=True), True
    try:
        store = Store.open(target, max_pages=max_pages, recover=True)
    except ReadOnlyError as exc:
        logger.warning("%s; opening it read-only", exc)
        if not target.exists():
            raise
        return Store.open(target, read_only=True), True
    # SQLite opens a file it cannot write without complaint and fails on the
    # first write: find out now, so the user is told at start.
    if not os.access(target, os.W_OK):
        store.close()
        return Store.open(target, read_only=True), True
    return store, False


class Runtime:
    """Settings, store, workspace folders and services of one connection."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        sessions: SessionService,
        *,
        links: ServerLinks | None = None,
        read_only: bool = False,
    ) -> None:
        self.settings = settings
        self.store = store
        self.sessions = sessions
        self.links = links
        self.read_only = read_only
        #: Things the user must know about the storage (read-only, recovered from corruption).
        self.notices: list[str] = []
        self.workspaces = Workspaces(settings)
        self.version = sidecar.__version__
        self.closed = False
        self.drift: dict[str, DriftService] = {}
        self.live: dict[str, LiveImporter] = {}
        self._data_version = -1
        self._event_counts: dict[str, int] = {}

    @classmethod
    def start(
        cls,
        init_options: Any,
        folder_uris: Sequence[str],
        notifier: Notifier,
        *,
        holder: str,
        lease_seconds: float,
        links: ServerLinks | None = None,
    ) -> tuple[Runtime, list[str]]:
        """Open the store, resolve the folders, attach their sessions and start watching.

        Returns the runtime and the problems found (to show the user).
        """
        settings, problems = merge_settings(Settings(), init_options)
        try:
            store, read_only = open_store(settings.db_path or os.environ.get("SIDECAR_DB"))
        except StoreError as exc:
            raise NotReady(f"the session database could not be opened: {exc}") from exc
        notices: list[str] = []
        if read_only:
            notices.append(
                f"the session database {store.path} is read-only: history is shown, "
                "but nothing new is recorded"
            )
        if store.recovered_from:
            notices.append(
                f"the session database {store.path} was corrupt: it was moved aside to "
                f"{store.recovered_from} (nothing was overwritten) and a fresh one was created"
            )
        sessions = SessionService(
            store,
            notifier,
            holder=holder,
            stale_after=settings.stale_after,
            lease_seconds=lease_seconds,
        )
        runtime = cls(settings, store, sessions, links=links, read_only=read_only)
        runtime.notices = notices
        runtime.poll_external()  # the baseline: only later changes are announced
        for uri in folder_uris:
            runtime.open_folder(uri)
        return runtime, problems

    # ------------------------------------------------------------------ folders

    def open_folder(self, uri: str) -> Folder | None:
        """Add a workspace folder, attach (or start) its session and watch it."""
        try:
            folder = self.workspaces.add(uri)
        except Exception:
            # One unreadable folder must not take the others (or the server) down.
            logger.exception("could not open workspace folder %s", uri)
            return None
        try:
            # The drift service attaches on the git state it starts watching from, so a
            # switch in between is seen; without one the folder's state as read is used.
            if not self._start_drift(folder):
                self.sessions.attach_or_start(folder)
        except StoreError as exc:
            # Read-only or full: keep the folder, its history stays readable.
            logger.warning("no session for %s: %s", uri, exc)
            return folder
        except Exception:
            logger.exception("could not open workspace folder %s", uri)
            self.workspaces.remove(uri)
            return None
        if self.settings.live_import:
            self._start_live(folder)
        return folder

    def _drift_settings(self, base: DriftSettings | None = None) -> DriftSettings:
        from sidecar.services.drift import DriftSettings

        s = self.settings
        return dataclasses.replace(
            base or DriftSettings(),
            stale_after=s.stale_after,
            prompts=s.prompts,
            requester=s.requester,
            task=s.task,
            phase=s.phase,
            provider=s.provider,
            folder_budget=s.watch_folder_budget,
        )

    def _start_drift(self, folder: Folder) -> bool:
        """Watch a git folder for drift (attaching its session); False when not watched."""
        if self.links is None or not folder.in_git or self.read_only:
            return False
        from sidecar.services.drift import DriftService

        links = self.links
        drift = DriftService(
            self.sessions,
            folder.uri,
            folder.path,
            links.port_for(folder.uri),
            run=links.run,
            loop=links.loop,
            settings=self._drift_settings(),
        )
        try:
            drift.start()
        except StoreError:
            drift.stop()
            raise
        except Exception:
            logger.exception("could not watch %s for drift", folder.uri)
            drift.stop()
            return False
        self.drift[folder.uri] = drift
        if drift.watcher_mode == "editor":
            logger.warning(
                "worktree %s has %d folders > budget %d: using the editor's file watching",
                folder.worktree,
                drift.folder_count,
                self.settings.watch_folder_budget,
            )
            links.editor_watching(folder.uri)
        return True

    def _start_live(self, folder: Folder) -> None:
        if self.links is None or self.read_only or folder.uri in self.live:
            return
        from sidecar.agents.live import LiveImporter

        path = self.store.path
        max_pages = _env_int(MAX_PAGES_ENV)
        importer = LiveImporter(
            lambda: Store.open(path, max_pages=max_pages),
            folder.path,
            on_history_changed=self.links.history_changed,
        )
        try:
            importer.start()
        except Exception:
            logger.exception("could not start live import for %s", folder.uri)
            importer.stop()
            return
        self.live[folder.uri] = importer

    def _stop_watching(self, uri: str) -> None:
        drift = self.drift.pop(uri, None)
        if drift is not None:
            drift.stop()
        importer = self.live.pop(uri, None)
        if importer is not None:
            importer.stop()

    def close_folder(self, uri: str) -> None:
        """Remove a workspace folder: stop watching it and release its session."""
        self._stop_watching(uri)
        if self.workspaces.remove(uri) is not None:
            self.sessions.forget_folder(uri)

    def folder(self, name: str | None) -> Folder:
        """The folder a request names (default: the first), with fresh git state."""
        return self.workspaces.refresh(self.workspaces.find(name))

    def watcher_mode(self, folder: Folder) -> WatcherMode:
        """How the folder's files are watched: by the sidecar, the editor, or not at all."""
        drift = self.drift.get(folder.uri)
        return drift.watcher_mode if drift is not None else "off"

    def update_settings(self, raw: Any) -> list[str]:
        """Apply workspace/didChangeConfiguration; returns problems to show the user."""
        settings, problems = merge_settings(self.settings, raw)
        if settings.db_path != self.settings.db_path:
            problems.append(
                f"dbPath changed to {settings.db_path!r}: it takes effect when the server "
                f"restarts (still using {self.store.path})"
            )
            settings = settings.model_copy(update={"db_path": self.settings.db_path})
        self.settings = settings
        self.sessions.stale_after = settings.stale_after
        self.workspaces.rebase_settings(settings)
        for drift in self.drift.values():
            drift.update_settings(self._drift_settings(drift.settings))
        for folder in self.workspaces:
            if settings.live_import:
                self._start_live(folder)
            elif (importer := self.live.pop(folder.uri, None)) is not None:
                importer.stop()
        return problems

    # ------------------------------------------------------------------ activity

    def note_activity(self, folder_uris: Iterable[str], events: Sequence[NewEvent]) -> None:
        """Tell the folders' drift services that work goes on (before the events are stored)."""
        paths = touched_paths(events)
        for uri in folder_uris:
            drift = self.drift.get(uri)
            if drift is not None:
                try:
                    drift.note_activity(paths)
                except StoreError:
                    raise
                except Exception:  # a failed check must not lose the append
                    logger.exception("drift check of %s failed", uri)

    def record_document(self, uri: str, action: str) -> None:
        """Record an editor didOpen/didSave/didClose as an event (never the content)."""
        path = uri_to_path(uri)
        if path is None:
            return  # untitled:, git:, ... documents are not files of the workspace
        folder = self.workspaces.containing(path)
        if folder is None:
            return
        relative = os.path.relpath(path, folder.worktree)
        event = NewEvent(
            kind=DOCUMENT_ACTIONS[action],
            actor=Actor.USER,
            payload={"path": relative, "uri": uri, "action": action},
        )
        self.note_activity([folder.uri], [event])
        self.sessions.append(folder, None, [event])

    def record_watched_files(self, uris: Iterable[str]) -> None:
        """``workspace/didChangeWatchedFiles``: paths of folders the editor watches for us."""
        by_folder: dict[str, list[str]] = {}
        for uri in uris:
            path = uri_to_path(uri)
            folder = self.workspaces.containing(path) if path is not None else None
            if path is None or folder is None:
                continue
            drift = self.drift.get(folder.uri)
            if drift is None or drift.watcher_mode != "editor":
                continue  # the sidecar watches this folder itself
            relative = Path(os.path.relpath(path, folder.worktree)).as_posix()
            if relative.split("/", 1)[0] == ".git":
                continue
            by_folder.setdefault(folder.uri, []).append(relative)
        for folder_uri, paths in by_folder.items():
            self.drift[folder_uri].note_changed_paths(sorted(set(paths)))

    # ------------------------------------------------------------------ other processes

    def poll_external(self) -> list[tuple[str, int]]:
        """Sessions whose history another process changed since the last poll.

        Cheap when nothing changed (one ``PRAGMA data_version``); otherwise the
        recent sessions' event counts are compared with the last ones seen.
        Returns ``(session id, last seq)`` pairs; the first call sets the baseline.
        """
        version = self.store.data_version()
        if version == self._data_version:
            return []
        first = self._data_version < 0
        self._data_version = version
        page = self.store.list_sessions(limit=POLL_SESSIONS)
        changed: list[tuple[str, int]] = []
        for session in page.items:
            if self._event_counts.get(session.id) != session.event_count:
                self._event_counts[session.id] = session.event_count
                if not first:
                    changed.append((session.id, session.event_count))
        return changed

    # ------------------------------------------------------------------ lifecycle

    def renew(self) -> None:
        """Renew this connection's holds."""
        if not self.closed:
            self.sessions.renew_holds()

    def close(self) -> None:
        """Stop watching, release holds and close the store (idempotent)."""
        if self.closed:
            return
        self.closed = True
        try:
            for uri in list(self.drift) + list(self.live):
                try:
                    self._stop_watching(uri)
                except Exception:  # closing anyway; watchers are daemon threads
                    logger.exception("could not stop watching %s", uri)
            self.sessions.release_all()
        finally:
            self.store.close()


def touched_paths(events: Iterable[NewEvent]) -> list[str]:
    """The file paths named in events' payloads (``path``, ``paths``...), in order, once each."""
    seen: dict[str, None] = {}
    for event in events:
        payload = event.payload
        if not isinstance(payload, dict):
            continue
        for key in PATH_KEYS:
            value = payload.get(key)
            if isinstance(value, str) and value:
                seen.setdefault(value, None)
        for key in PATHS_KEYS:
            values = payload.get(key)
            if isinstance(values, list):
                for value in values:
                    if isinstance(value, str) and value:
                        seen.setdefault(value, None)
    return list(seen)
