"""The language server's state: settings, the store and the application core.

Built on the owner thread after the initialize reply (:func:`build_state`),
and only ever used there. The server keeps nothing of its own about sessions:
the :class:`~sidecar.services.workspace.Workspace` knows the folders, their
active sessions and pending decisions; the store knows the rest.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sidecar
from sidecar.server.config import Settings, merge_settings
from sidecar.services import export
from sidecar.services.boundary import Profile
from sidecar.services.drift import DriftSettings
from sidecar.services.errors import NotReady
from sidecar.services.paths import uri_to_path
from sidecar.services.sessions import HistoryListener, SessionService, Writer
from sidecar.services.workspace import DriftPort, Workspace
from sidecar.store import ReadOnlyError, Store, StoreError
from sidecar.store.rules import load_user_rules

logger = logging.getLogger(__name__)

#: Caps the database file at this many pages (SQLite's max_page_count); unset: no cap.
MAX_PAGES_ENV = "SIDECAR_DB_MAX_PAGES"
#: "1" opens the database read-only (browse history without recording anything).
READ_ONLY_ENV = "SIDECAR_DB_READONLY"
#: Holds last this long without renewal; renewed every third of it.
LEASE_SECONDS = 30.0


def env_max_pages() -> int | None:
    """``$SIDECAR_DB_MAX_PAGES`` as a positive page count (None when unset)."""
    raw = os.environ.get(MAX_PAGES_ENV, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise NotReady(f"{MAX_PAGES_ENV} must be a whole number of pages, got {raw!r}") from exc
    if value <= 0:
        raise NotReady(f"{MAX_PAGES_ENV} must be a positive number of pages, got {raw!r}")
    return value


def open_store(path: str | None) -> tuple[Store, bool]:
    """Open the database for the server; returns it and whether it is read-only.

    ``$SIDECAR_DB_MAX_PAGES`` caps its size; ``$SIDECAR_DB_READONLY=1``, or a
    file the process cannot write, opens it read-only: history stays
    readable and every write answers with the store's read-only message.
    """
    from sidecar.store import default_db_path

    max_pages = env_max_pages()
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


def profile_of(settings: Settings) -> Profile:
    """What the settings put on the boundaries of new sessions."""
    return Profile(
        requester=settings.requester,
        task=settings.task,
        phase=settings.phase,
        provider=settings.provider,
    )


def drift_settings_of(settings: Settings) -> DriftSettings:
    """How drift is judged and shown, from the settings."""
    return DriftSettings(stale_after=settings.stale_after, prompts=settings.prompts)


def storage_notices(store: Store, read_only: bool) -> list[str]:
    """What the user must know about the database (read-only, recovered from corruption)."""
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
    return notices


@dataclass
class ServerState:
    """Everything a request may touch, on the owner thread."""

    settings: Settings
    store: Store
    sessions: SessionService
    workspace: Workspace
    read_only: bool = False
    notices: list[str] = field(default_factory=list)
    version: str = sidecar.__version__
    #: Where `sidecar/sessions/export` may write: fixed by the first initialize.
    export_roots: list[Path] = field(default_factory=list)

    def apply_settings(self, raw: Any) -> list[str]:
        """workspace/didChangeConfiguration: merge, apply; returns problems to show the user."""
        settings, problems = merge_settings(self.settings, raw)
        if settings.db_path != self.settings.db_path:
            problems.append(
                f"dbPath changed to {settings.db_path!r}: it takes effect when the server "
                f"restarts (still using {self.store.path})"
            )
            settings = settings.model_copy(update={"db_path": self.settings.db_path})
        self.settings = settings
        problems += load_user_rules(settings.redact_patterns, settings.redact_allow)
        self.sessions.max_payload_bytes = settings.max_payload_bytes
        self.workspace.reconfigure(profile_of(settings), drift_settings_of(settings))
        return problems

    def close(self) -> None:
        """Release every hold and close the store (idempotent)."""
        try:
            self.workspace.close_all()
        finally:
            self.store.close()


def build_state(
    init_options: Any,
    folder_uris: list[str],
    *,
    writer: Writer,
    port: DriftPort,
    on_history: HistoryListener,
    post: Callable[[Callable[[], None]], None],
) -> tuple[ServerState, list[str]]:
    """Open the store and build the core; returns the state and the setting problems."""
    settings, problems = merge_settings(Settings(), init_options)
    try:
        store, read_only = open_store(settings.db_path or os.environ.get("SIDECAR_DB"))
    except StoreError as exc:
        raise NotReady(f"the session database could not be opened: {exc}") from exc
    problems += load_user_rules(settings.redact_patterns, settings.redact_allow)
    sessions = SessionService(
        store,
        writer,
        stale_after=settings.stale_after,
        lease_seconds=LEASE_SECONDS,
        max_payload_bytes=settings.max_payload_bytes,
        on_history=on_history,
    )
    workspace = Workspace(
        sessions,
        port,
        profile=profile_of(settings),
        settings=drift_settings_of(settings),
        post=post,
    )
    state = ServerState(
        settings, store, sessions, workspace, read_only, storage_notices(store, read_only)
    )
    folders = [path for uri in folder_uris if (path := uri_to_path(uri)) is not None]
    state.export_roots = export.allowed_roots(folders, export.exports_dir(store))
    return state, problems
