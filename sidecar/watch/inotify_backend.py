"""The hub's Linux backend: one inotify descriptor, one reader thread, compact tables.

The reader blocks in ``poll`` on the descriptor and a wake-up pipe (nothing
runs while idle), parses the kernel's ``inotify_event`` records and calls the
sinks registered for each watch descriptor, outside the lock. The only
per-folder state here is one dictionary entry: watch descriptor -> the sinks
on it (usually one). The system calls are watchdog's ctypes bindings.

Every watch uses the same mask (:data:`WATCH_MASK`): never IN_OPEN,
IN_CLOSE_NOWRITE or IN_ACCESS, so walks of the watched tree do not flood the
queue.
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import select
import struct
import threading
from collections.abc import Callable, Iterator

from watchdog.observers.inotify_c import (
    InotifyConstants,
    WatchDescriptor,
    inotify_add_watch,
    inotify_init,
    inotify_rm_watch,
)

from sidecar.watch.hub import HUB_THREAD_NAME, STOP_TIMEOUT_S, BackendName, Sink, WatchKind

logger = logging.getLogger(__name__)

IN = InotifyConstants

WATCH_MASK = (
    IN.IN_CREATE
    | IN.IN_DELETE
    | IN.IN_MOVED_FROM
    | IN.IN_MOVED_TO
    | IN.IN_MODIFY
    | IN.IN_CLOSE_WRITE
    | IN.IN_DELETE_SELF
    | IN.IN_MOVE_SELF
    | IN.IN_DONT_FOLLOW
    | IN.IN_ONLYDIR
)

#: Entry events in the order they are checked (one kernel event has one of them).
_ENTRY_KINDS: tuple[tuple[int, WatchKind], ...] = (
    (IN.IN_CREATE, "created"),
    (IN.IN_DELETE, "deleted"),
    (IN.IN_MOVED_FROM, "moved_from"),
    (IN.IN_MOVED_TO, "moved_to"),
    (IN.IN_MODIFY | IN.IN_CLOSE_WRITE, "modified"),
)
_SELF_GONE = IN.IN_DELETE_SELF | IN.IN_UNMOUNT | IN.IN_IGNORED

_HEADER = struct.Struct("iIII")  # wd, mask, cookie, len (struct inotify_event)
#: Bytes read at once: room for about 1,000 events with short names.
BUFFER_SIZE = 64 * 1024


def parse_events(buffer: bytes) -> Iterator[tuple[int, int, bytes]]:
    """(wd, mask, name) of each ``struct inotify_event`` in ``buffer``."""
    offset, end = 0, len(buffer)
    while offset + _HEADER.size <= end:
        wd, mask, _cookie, length = _HEADER.unpack_from(buffer, offset)
        start = offset + _HEADER.size
        yield wd, mask, buffer[start : start + length].rstrip(b"\0")
        offset = start + length


class InotifyBackend:
    """One inotify descriptor read by one thread (:data:`~sidecar.watch.hub.HUB_THREAD_NAME`)."""

    name: BackendName = "inotify"

    def __init__(self) -> None:
        fd = inotify_init()
        if fd == -1:
            code = ctypes.get_errno()
            raise OSError(code, f"cannot start inotify: {os.strerror(code)}")
        self._fd = fd
        self._wake_r, self._wake_w = os.pipe()
        self._lock = threading.Lock()
        self._sinks: dict[int, tuple[Sink, ...]] = {}  # wd -> the sinks watching it
        self._closed = False
        self._overflows = 0
        self._thread = threading.Thread(target=self._run, name=HUB_THREAD_NAME, daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        """The reader thread: every callback runs on it."""
        return self._thread

    @property
    def overflows(self) -> int:
        """Queue overflows seen so far (incremented before the sinks hear of one)."""
        return self._overflows

    def add(self, real_path: str, sink: Sink) -> int:
        """Watch ``real_path`` for ``sink``: one kernel watch per folder, shared."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the watch hub is closed")
            wd = inotify_add_watch(self._fd, os.fsencode(real_path), WATCH_MASK)
            if wd == -1:
                code = ctypes.get_errno()
                if code == errno.ENOSPC:
                    raise OSError(code, "inotify watch limit reached", real_path)
                raise OSError(code, os.strerror(code), real_path)
            sinks = self._sinks.get(wd, ())
            if sink not in sinks:
                self._sinks[wd] = (*sinks, sink)
            return wd

    def remove(self, wd: int, sink: Sink) -> None:
        """Unregister ``sink`` from ``wd``; the kernel watch goes with its last sink."""
        with self._lock:
            sinks = self._sinks.get(wd, ())
            if sink not in sinks:
                return
            rest = tuple(s for s in sinks if s is not sink)
            if rest:
                self._sinks[wd] = rest
                return
            del self._sinks[wd]
            if not self._closed:
                inotify_rm_watch(
                    self._fd, WatchDescriptor(wd)
                )  # EINVAL when the kernel dropped it already

    def close(self) -> None:
        """Drop every watch, stop and join the reader thread (which closes the descriptor)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._sinks.clear()
            os.write(self._wake_w, b"!")
        if threading.current_thread() is not self._thread:
            self._thread.join(STOP_TIMEOUT_S)

    # The reader thread.

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        try:
            while not self._closed:
                ready = {fd for fd, _ in poller.poll()}
                if self._wake_r in ready or self._closed:
                    break
                try:
                    buffer = os.read(self._fd, BUFFER_SIZE)
                except InterruptedError:
                    continue
                for wd, mask, name in parse_events(buffer):
                    self._dispatch(wd, mask, name)
        except Exception:
            logger.exception("the file watch reader stopped")
        finally:
            for fd in (self._fd, self._wake_r, self._wake_w):
                os.close(fd)

    def _dispatch(self, wd: int, mask: int, raw_name: bytes) -> None:
        if mask & IN.IN_Q_OVERFLOW:
            self._overflows += 1
            logger.warning("the inotify queue overflowed: file events were lost")
            with self._lock:
                everyone = {id(s): s for sinks in self._sinks.values() for s in sinks}
            for sink in everyone.values():
                _safely(sink.overflow)
            return
        with self._lock:
            # A folder gone: the kernel drops its watch itself (IN_IGNORED follows).
            sinks = self._sinks.pop(wd, ()) if mask & _SELF_GONE else self._sinks.get(wd, ())
        if not sinks:
            return
        if mask & _SELF_GONE:
            for sink in sinks:
                _safely(sink.gone, wd)
        elif mask & IN.IN_MOVE_SELF:
            for sink in sinks:
                _safely(sink.moved, wd)
        elif raw_name:
            for bits, kind in _ENTRY_KINDS:
                if mask & bits:
                    name = os.fsdecode(raw_name)
                    is_dir = bool(mask & IN.IN_ISDIR)
                    for sink in sinks:
                        _safely(sink.entry, wd, kind, name, is_dir)
                    return


def _safely(call: Callable[..., object], *args: object) -> None:
    try:
        call(*args)
    except Exception:
        logger.exception("a watch sink failed")
