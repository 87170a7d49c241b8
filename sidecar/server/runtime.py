"""The server's state, living on its single store thread.

Everything that touches SQLite or git runs on that one thread: the store
object (one sqlite connection) is used by exactly one thread, writes stay in
request order, and services need no locks. The event loop only routes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import sidecar
from sidecar.core.models import Actor, EventKind, NewEvent, Recommendation
from sidecar.protocol.messages import WatcherMode
from sidecar.server.config import Settings, merge_settings
from sidecar.server.workspace import Workspaces, uri_to_path
from sidecar.services.errors import NotReady
from sidecar.services.folders import Folder
from sidecar.services.sessions import Notifier, SessionService
from sidecar.store import Store, StoreError

logger = logging.getLogger(__name__)

#: LSP document notifications -> (event kind, action) recorded for them.
DOCUMENT_ACTIONS = {
    "open": EventKind.FILE_OPEN,
    "save": EventKind.FILE_CHANGE,
    "close": EventKind.FILE_OPEN,
}


class Runtime:
    """Settings, store, workspace folders and services of one connection."""

    def __init__(self, settings: Settings, store: Store, sessions: SessionService) -> None:
        self.settings = settings
        self.store = store
        self.sessions = sessions
        self.workspaces = Workspaces(settings)
        self.version = sidecar.__version__
        self.closed = False
        # Filled by the drift service (watchers, prompts); status reports them per folder URI.
        self.pending: dict[str, Recommendation] = {}
        self.watcher_modes: dict[str, WatcherMode] = {}

    @classmethod
    def start(
        cls,
        init_options: Any,
        folder_uris: Sequence[str],
        notifier: Notifier,
        *,
        holder: str,
        lease_seconds: float,
    ) -> tuple[Runtime, list[str]]:
        """Open the store, resolve the folders and attach their sessions.

        Returns the runtime and the problems found in the options (to show the user).
        """
        settings, problems = merge_settings(Settings(), init_options)
        try:
            store = Store.open(settings.db_path or os.environ.get("SIDECAR_DB") or None)
        except StoreError as exc:
            raise NotReady(f"the session database could not be opened: {exc}") from exc
        sessions = SessionService(
            store,
            notifier,
            holder=holder,
            stale_after=settings.stale_after,
            lease_seconds=lease_seconds,
        )
        runtime = cls(settings, store, sessions)
        for uri in folder_uris:
            runtime.open_folder(uri)
        return runtime, problems

    # ------------------------------------------------------------------ folders

    def open_folder(self, uri: str) -> Folder | None:
        """Add a workspace folder and attach (or start) its session; None if it cannot be."""
        try:
            folder = self.workspaces.add(uri)
            self.sessions.attach_or_start(folder)
        except Exception:
            # One unreadable folder must not take the others (or the server) down.
            logger.exception("could not open workspace folder %s", uri)
            self.workspaces.remove(uri)
            return None
        return folder

    def close_folder(self, uri: str) -> None:
        """Remove a workspace folder and release its session."""
        if self.workspaces.remove(uri) is not None:
            self.sessions.forget_folder(uri)

    def folder(self, name: str | None) -> Folder:
        """The folder a request names (default: the first), with fresh git state."""
        return self.workspaces.refresh(self.workspaces.find(name))

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
        return problems

    # ------------------------------------------------------------------ documents

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
        self.sessions.append(folder, None, [event])

    # ------------------------------------------------------------------ lifecycle

    def renew(self) -> None:
        """Renew this connection's holds."""
        if not self.closed:
            self.sessions.renew_holds()

    def close(self) -> None:
        """Release holds and close the store (idempotent)."""
        if self.closed:
            return
        self.closed = True
        try:
            self.sessions.release_all()
        finally:
            self.store.close()
