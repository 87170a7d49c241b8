"""The hub's portable fallback: ONE watchdog ``Observer``, a non-recursive schedule per folder.

Used where inotify is not available, or with ``SIDECAR_WATCH_BACKEND=observer``
(so it is tested on Linux too). Its dispatcher thread is the hub thread. The
observer's own dispatch holds its lock while calling handlers, which would
deadlock a callback that opens or closes watches against another thread
doing the same; the backend therefore replaces that dispatch with its own,
which looks the handles up under its own lock and calls them outside it.

Differences from the inotify backend (watchdog's event model): a move across
folders arrives as ``deleted`` + ``created`` (the ``deleted`` after watchdog's
0.5 s pairing delay); a watched folder moved away is not noticed by its own
watch (only deletion is); queue overflows are not reported.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, EventDispatcher, EventQueue, ObservedWatch

from sidecar.watch.hub import HUB_THREAD_NAME, STOP_TIMEOUT_S, BackendName, FolderHandle, WatchKind

#: No FileOpenedEvent / FileClosedNoWriteEvent / DirModifiedEvent: keeps IN_OPEN and
#: IN_CLOSE_NOWRITE out of the inotify mask and parent-folder noise out of the queue.
EVENT_FILTER: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    DirCreatedEvent,
    FileDeletedEvent,
    DirDeletedEvent,
    FileMovedEvent,
    DirMovedEvent,
    FileModifiedEvent,
    FileClosedEvent,
]

_SIMPLE_KINDS: dict[str, WatchKind] = {
    "created": "created",
    "deleted": "deleted",
    "modified": "modified",
    "closed": "modified",
}


@dataclass
class _Folder:
    watch: ObservedWatch
    handles: set[FolderHandle] = field(default_factory=set)


class ObserverBackend:
    """One watchdog ``Observer`` whose dispatcher thread runs every callback."""

    name: BackendName = "observer"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._folders: dict[str, _Folder] = {}  # real path -> its schedule and handles
        self._unused_handler = FileSystemEventHandler()
        observer: BaseObserver = Observer()
        observer.name = HUB_THREAD_NAME
        observer.dispatch_events = self._dispatch_events  # type: ignore[method-assign]
        self._observer = observer
        observer.start()

    @property
    def thread(self) -> threading.Thread:
        """The observer's dispatcher thread: every callback runs on it."""
        return self._observer

    @property
    def overflows(self) -> int:
        """Always 0: watchdog's observer does not report overflows."""
        return 0

    def add(self, handle: FolderHandle) -> Callable[[], None]:
        """Schedule the folder (once per folder) and attach ``handle`` to it."""
        with self._lock:
            folder = self._folders.get(handle.real_path)
            if folder is None:
                watch = self._observer.schedule(
                    self._unused_handler,
                    handle.real_path,
                    recursive=False,
                    event_filter=EVENT_FILTER,
                )
                folder = self._folders[handle.real_path] = _Folder(watch)
            folder.handles.add(handle)

        def remove() -> None:
            self._remove(handle)

        return remove

    def _remove(self, handle: FolderHandle) -> None:
        with self._lock:
            folder = self._folders.get(handle.real_path)
            if folder is None or handle not in folder.handles:
                return
            folder.handles.discard(handle)
            if folder.handles:
                return
            del self._folders[handle.real_path]
            with contextlib.suppress(KeyError):  # already gone with its emitter
                self._observer.unschedule(folder.watch)

    def close(self) -> None:
        """Stop the observer (and its emitters) and join it."""
        with self._lock:
            self._folders.clear()
        self._observer.stop()
        if threading.current_thread() is not self._observer:
            self._observer.join(STOP_TIMEOUT_S)

    def _dispatch_events(self, event_queue: EventQueue) -> None:
        """Replaces ``BaseObserver.dispatch_events``: handlers run outside any lock."""
        entry = event_queue.get(block=True)
        try:
            if entry is EventDispatcher.stop_event:
                return
            event, watch = entry
            with self._lock:
                folder = self._folders.get(watch.path)
                # `is`: an event of an earlier schedule of the same folder is stale.
                live = folder is not None and folder.watch is watch
                handles = list(folder.handles) if live and folder is not None else []
            for handle in handles:
                _deliver(handle, event)
        finally:
            event_queue.task_done()


def _entry_path(handle: FolderHandle, raw: bytes | str) -> str | None:
    """The handle's path of an entry reported under the real (watched) path."""
    path = os.fsdecode(raw)
    if not path:
        return None
    if path == handle.real_path:
        return handle.path
    prefix = handle.real_path.rstrip(os.sep) + os.sep
    if path.startswith(prefix):
        return os.path.join(handle.path, path[len(prefix) :])
    return None


def _deliver(handle: FolderHandle, event: FileSystemEvent) -> None:
    src = _entry_path(handle, event.src_path)
    if event.event_type == "moved":
        dest = _entry_path(handle, event.dest_path)
        if src is not None:
            handle.deliver("moved_from", src, event.is_directory)
        if dest is not None:
            handle.deliver("moved_to", dest, event.is_directory)
        return
    kind = _SIMPLE_KINDS.get(event.event_type)
    if kind is None or src is None:
        return
    if src == handle.path:
        if kind == "deleted":
            handle.gone()  # the watched folder itself (its emitter has stopped)
        return
    handle.deliver(kind, src, event.is_directory)
