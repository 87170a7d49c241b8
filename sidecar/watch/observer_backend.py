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
import itertools
import os
import threading
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

from sidecar.watch.hub import HUB_THREAD_NAME, STOP_TIMEOUT_S, BackendName, Sink, WatchKind

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


@dataclass(eq=False)
class _Folder:
    wd: int
    watch: ObservedWatch
    sinks: list[Sink] = field(default_factory=list)


class ObserverBackend:
    """One watchdog ``Observer`` whose dispatcher thread runs every callback."""

    name: BackendName = "observer"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._folders: dict[str, _Folder] = {}  # real path -> its schedule and sinks
        self._by_wd: dict[int, str] = {}  # wd -> real path
        self._numbers = itertools.count(1)
        self._closed = False
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

    def add(self, real_path: str, sink: Sink) -> int:
        """Schedule the folder (once per folder) and attach ``sink`` to it."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the watch hub is closed")
            folder = self._folders.get(real_path)
            if folder is None:
                watch = self._observer.schedule(
                    self._unused_handler, real_path, recursive=False, event_filter=EVENT_FILTER
                )
                folder = self._folders[real_path] = _Folder(next(self._numbers), watch)
                self._by_wd[folder.wd] = real_path
            if sink not in folder.sinks:
                folder.sinks.append(sink)
            return folder.wd

    def remove(self, wd: int, sink: Sink) -> None:
        """Detach ``sink``; the folder is unscheduled with its last sink."""
        with self._lock:
            path = self._by_wd.get(wd)
            folder = self._folders.get(path) if path is not None else None
            if folder is None or sink not in folder.sinks:
                return
            folder.sinks.remove(sink)
            if folder.sinks:
                return
            self._drop(folder, path)
        with contextlib.suppress(KeyError):  # already gone with its emitter
            self._observer.unschedule(folder.watch)

    def _drop(self, folder: _Folder, path: str | None) -> None:
        if path is not None:
            self._folders.pop(path, None)
        self._by_wd.pop(folder.wd, None)

    def close(self) -> None:
        """Stop the observer (and its emitters) and join it."""
        with self._lock:
            self._closed = True
            self._folders.clear()
            self._by_wd.clear()
        self._observer.stop()
        if threading.current_thread() is not self._observer:
            self._observer.join(STOP_TIMEOUT_S)

    def _dispatch_events(self, event_queue: EventQueue) -> None:
        """Replaces ``BaseObserver.dispatch_events``: sinks run outside any lock."""
        entry = event_queue.get(block=True)
        try:
            if entry is EventDispatcher.stop_event:
                return
            event, watch = entry
            with self._lock:
                folder = self._folders.get(watch.path)
                # `is`: an event of an earlier schedule of the same folder is stale.
                if folder is None or folder.watch is not watch:
                    return
                sinks = list(folder.sinks)
                gone = event.event_type == "deleted" and os.fsdecode(event.src_path) == watch.path
                if gone:  # the watched folder itself (its emitter has stopped)
                    self._drop(folder, watch.path)
            if gone:
                for sink in sinks:
                    sink.gone(folder.wd)
                return
            for sink in sinks:
                _deliver(sink, folder.wd, watch.path, event)
        finally:
            event_queue.task_done()


def _entry_name(folder: str, raw: bytes | str) -> str | None:
    """Name of an entry of ``folder`` reported by its full path (None if elsewhere)."""
    path = os.fsdecode(raw)
    parent, name = os.path.split(path)
    if not name or parent.rstrip(os.sep) != folder.rstrip(os.sep):
        return None
    return name


def _deliver(sink: Sink, wd: int, folder: str, event: FileSystemEvent) -> None:
    src = _entry_name(folder, event.src_path)
    if event.event_type == "moved":
        dest = _entry_name(folder, event.dest_path)
        if src is not None:
            sink.entry(wd, "moved_from", src, event.is_directory)
        if dest is not None:
            sink.entry(wd, "moved_to", dest, event.is_directory)
        return
    kind = _SIMPLE_KINDS.get(event.event_type)
    if kind is not None and src is not None:
        sink.entry(wd, kind, src, event.is_directory)
