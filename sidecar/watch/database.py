"""Watch the session database for commits made by other processes.

Hooks, the CLI and other editors' servers append to the same SQLite file. In
WAL mode every commit writes the ``-wal`` file, so a non-recursive watch on
the database's folder wakes the server exactly when something may have
changed, instead of polling while idle. The consumer still confirms with
``PRAGMA data_version``, which is cheap and authoritative.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver

from sidecar.watch.gitdir import OBSERVER_TIMEOUT_S, WATCHED_EVENT_TYPES, stop_observer

STOP_TIMEOUT_S = 5.0


class DatabaseWatcher:
    """Calls `on_change()` (on a watchdog thread) when the database or its WAL is written."""

    def __init__(self, db_path: str | os.PathLike[str], on_change: Callable[[], None]) -> None:
        path = Path(db_path).resolve()
        self.folder = str(path.parent)
        self.names = frozenset({path.name, path.name + "-wal"})
        self._on_change = on_change
        self._observer: BaseObserver | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start watching (idempotent). Raises OSError when the folder cannot be watched."""
        with self._lock:
            if self._observer is not None:
                return
            observer = Observer(timeout=OBSERVER_TIMEOUT_S)
            observer.schedule(
                _Handler(self), self.folder, recursive=False, event_filter=WATCHED_EVENT_TYPES
            )
            observer.start()
            self._observer = observer

    def stop(self) -> None:
        """Stop watching and join the observer thread (idempotent)."""
        with self._lock:
            observer, self._observer = self._observer, None
        if observer is not None:
            with contextlib.suppress(RuntimeError):
                stop_observer(observer, STOP_TIMEOUT_S, self.folder)

    def _dispatch(self, event: FileSystemEvent) -> None:
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            name = os.path.basename(os.fsdecode(raw)) if raw else ""
            if name in self.names:
                self._on_change()
                return


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: DatabaseWatcher) -> None:
        self.watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.watcher._dispatch(event)
