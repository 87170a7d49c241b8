"""The hub's Linux backend: watch callbacks registered on ONE watchdog ``InotifyFD``.

``InotifyFD`` (watchdog's own inotify layer) owns one inotify descriptor and
one reader thread that blocks in ``poll`` and calls
``on_event``/``on_watch_deleted``/``on_queue_overflow`` of the callbacks
registered per watch descriptor, outside its lock. Each hub handle is one
callback; handles on the same folder share the kernel watch.

Every watch uses the same mask (:data:`WATCH_MASK`): never IN_OPEN,
IN_CLOSE_NOWRITE or IN_ACCESS, so walks of the watched tree do not flood the
queue.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable

from watchdog.observers.inotify_c import (
    CallbackId,
    InotifyConstants,
    InotifyEvent,
    InotifyFD,
    Mask,
    WatchDescriptor,
)

from sidecar.watch.hub import HUB_THREAD_NAME, STOP_TIMEOUT_S, BackendName, FolderHandle, WatchKind

IN = InotifyConstants

WATCH_MASK = Mask(
    IN.IN_CREATE
    | IN.IN_DELETE
    | IN.IN_MOVED_FROM
    | IN.IN_MOVED_TO
    | IN.IN_MODIFY
    | IN.IN_CLOSE_WRITE
    | IN.IN_DELETE_SELF
    | IN.IN_MOVE_SELF
    | IN.IN_DONT_FOLLOW
)

#: Entry events in the order they are checked (one kernel event has one of them).
_ENTRY_KINDS: tuple[tuple[int, WatchKind], ...] = (
    (IN.IN_CREATE, "created"),
    (IN.IN_DELETE, "deleted"),
    (IN.IN_MOVED_FROM, "moved_from"),
    (IN.IN_MOVED_TO, "moved_to"),
    (IN.IN_MODIFY | IN.IN_CLOSE_WRITE, "modified"),
)


class _Callback:
    """Adapts one hub handle to watchdog's ``WatchCallback`` protocol (hub thread)."""

    __slots__ = ("handle",)

    def __init__(self, handle: FolderHandle) -> None:
        self.handle = handle

    def on_event(self, event: InotifyEvent) -> None:
        handle = self.handle
        mask = event.mask
        if mask & (IN.IN_DELETE_SELF | IN.IN_UNMOUNT):
            handle.gone()
            return
        if mask & IN.IN_MOVE_SELF:
            if not self._still_in_place():
                handle.gone()
            return
        if not event.name:
            return
        for bits, kind in _ENTRY_KINDS:
            if mask & bits:
                name = os.fsdecode(event.name)
                handle.deliver(kind, handle.child(name), bool(mask & IN.IN_ISDIR))
                return

    def _still_in_place(self) -> bool:
        """After IN_MOVE_SELF: is the watched folder (same inode) still at our path?

        Handles share a kernel watch per inode. A handle opened on the folder's
        new path after the move gets the same watch, and with it the queued
        IN_MOVE_SELF, which is not news to it.
        """
        try:
            info = os.stat(self.handle.real_path)
        except OSError:
            return False
        return (info.st_dev, info.st_ino) == self.handle.ident

    def on_watch_deleted(self, wd: WatchDescriptor) -> None:
        # The kernel dropped the watch (IN_IGNORED): the folder is gone or unmounted.
        self.handle.gone()

    def on_queue_overflow(self) -> None:
        self.handle.deliver("overflow", self.handle.path, True)


class _CountingInotifyFD(InotifyFD):
    """``InotifyFD`` that counts queue overflows before fanning them out."""

    overflows = 0

    def handle_event(self, event: InotifyEvent) -> None:
        if event.is_queue_overflow:
            self.overflows += 1
        super().handle_event(event)


class InotifyBackend:
    """One ``InotifyFD``, one reader thread (:data:`~sidecar.watch.hub.HUB_THREAD_NAME`)."""

    name: BackendName = "inotify"

    def __init__(self) -> None:
        self._fd = _CountingInotifyFD()
        self._fd.name = HUB_THREAD_NAME
        self._ids = itertools.count(1)
        self._fd.start()

    @property
    def thread(self) -> threading.Thread:
        """The reader thread: every callback runs on it."""
        return self._fd

    @property
    def overflows(self) -> int:
        """Queue overflows seen so far (incremented before the handles hear of one)."""
        return self._fd.overflows

    def add(self, handle: FolderHandle) -> Callable[[], None]:
        """Register ``handle`` on the folder's watch (created when it is the first)."""
        callback_id = CallbackId(next(self._ids))
        wd = self._fd.add_callback(
            os.fsencode(handle.real_path), WATCH_MASK, _Callback(handle), callback_id
        )
        if wd == -1:
            # InotifyFD swallows EACCES and keeps a bogus watch -1: undo it, report it.
            self._fd.remove_callbacks([(wd, callback_id)])
            raise PermissionError(13, "permission denied", handle.path)

        def remove() -> None:
            self._fd.remove_callbacks([(wd, callback_id)])

        return remove

    def close(self) -> None:
        """Remove every watch, stop and join the reader thread."""
        self._fd.stop()
        if threading.current_thread() is not self._fd:
            self._fd.join(STOP_TIMEOUT_S)
