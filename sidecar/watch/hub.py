"""The process's one file watcher: non-recursive folder watches on one thread.

On Linux the hub registers its watches directly on ONE
:class:`watchdog.observers.inotify_c.InotifyFD` (one inotify descriptor, one
reader thread that blocks in ``poll`` while idle). Elsewhere, or with
``SIDECAR_WATCH_BACKEND=observer``, it falls back to ONE watchdog ``Observer``
with a non-recursive schedule per folder. Subscriptions built on it
(:mod:`sidecar.watch.gitdir`, :mod:`sidecar.watch.worktree`,
:mod:`sidecar.watch.folders`) add recursion, filtering and re-arming.

Example::

    hub = WatchHub.shared()
    handle = hub.watch_folder("/repo/.git", lambda event: print(event.kind, event.path))
    ...
    handle.close()
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal, Protocol

from sidecar.watch.gate import CallbackGate

logger = logging.getLogger(__name__)

WatchKind = Literal[
    "created", "modified", "deleted", "moved_from", "moved_to", "folder_gone", "overflow"
]
BackendName = Literal["inotify", "observer"]

#: Environment variable choosing the backend: ``inotify``, ``observer`` or ``auto`` (default).
BACKEND_ENV = "SIDECAR_WATCH_BACKEND"
#: Name of the hub's thread (the inotify reader, or the observer's dispatcher).
HUB_THREAD_NAME = "sidecar-watch-hub"
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class WatchEvent:
    """One change seen by a folder watch.

    ``path`` is absolute: the entry inside the watched folder, or the folder
    itself for ``folder_gone`` (the folder was deleted or moved away; the
    handle is dead) and ``overflow`` (events were lost: rescan). ``modified``
    covers writes and a writer closing the file. The observer backend reports
    a move across folders as ``deleted`` + ``created``.
    """

    path: str
    kind: WatchKind
    is_dir: bool


EventCallback = Callable[[WatchEvent], None]


class FolderHandle:
    """A live non-recursive watch of one folder, returned by :meth:`WatchHub.watch_folder`.

    ``on_event`` runs on the hub thread. After :meth:`close` returns it is not
    running and never runs again (unless closed from inside the callback, which
    is allowed). A ``folder_gone`` event closes the handle after delivery.
    ``close()`` is idempotent and may be called from any thread.
    """

    # A worktree of 10,000 folders holds 10,000 handles: slots, and the hub's
    # shared condition and lock instead of one of each per handle.
    __slots__ = ("_gate", "_gone", "_hub", "_lock", "_on_event", "_remove", "ident", "path",
                 "real_path")  # fmt: skip

    def __init__(
        self,
        hub: WatchHub,
        path: str,
        real_path: str,
        ident: tuple[int, int],
        on_event: EventCallback,
    ) -> None:
        self.path = path
        #: The folder with symlinks resolved: what the backend watches.
        self.real_path = real_path
        #: (st_dev, st_ino) of the folder when the watch was made.
        self.ident = ident
        self._hub = hub
        self._on_event = on_event
        self._gate = CallbackGate(hub._gate_cond)
        self._lock = hub._handle_lock
        self._remove: Callable[[], None] | None = None
        self._gone = False

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<FolderHandle {self.path!r} {state}>"

    @property
    def closed(self) -> bool:
        """Whether the handle was closed (or its folder went away)."""
        return self._gone or self._gate.closed

    def close(self) -> None:
        """Stop watching; waits for a callback running on another thread."""
        self._gate.close()
        with self._lock:
            remove, self._remove = self._remove, None
        if remove is not None:
            remove()
        self._hub._forget(self)

    # Called by the backends on the hub thread.

    def child(self, name: str) -> str:
        """Absolute path of entry ``name`` of the watched folder."""
        return os.path.join(self.path, name)

    def deliver(self, kind: WatchKind, path: str, is_dir: bool) -> None:
        """Run the callback with one event unless the handle is closed."""
        with self._gate.entered() as open_:
            if not open_:
                return
            try:
                self._on_event(WatchEvent(path, kind, is_dir))
            except Exception:
                logger.exception("watch callback failed on %s %s", kind, path)

    def gone(self) -> None:
        """Report ``folder_gone`` and close: the watched folder no longer exists here.

        The handle is already closed and forgotten by the hub when the callback sees
        the event, so whoever it wakes finds the hub's state settled.
        """
        self._gone = True
        with self._lock:
            remove, self._remove = self._remove, None
        if remove is not None:
            remove()
        self._hub._forget(self)
        self.deliver("folder_gone", self.path, True)
        self._gate.close()

    def attach(self, remove: Callable[[], None]) -> None:
        """Remember how to remove the backend's watch (called once by the hub)."""
        with self._lock:
            self._remove = remove

    def abandon(self) -> None:
        """Close without touching the backend (the hub is shutting it down)."""
        self._gate.close()
        with self._lock:
            self._remove = None


class Backend(Protocol):
    """What the hub needs from a watching mechanism."""

    name: BackendName

    @property
    def thread(self) -> threading.Thread:
        """The one thread that runs every callback."""
        ...

    @property
    def overflows(self) -> int:
        """Queue overflows seen so far."""
        ...

    def add(self, handle: FolderHandle) -> Callable[[], None]:
        """Watch ``handle.real_path`` for ``handle``; returns the remover. Raises OSError."""
        ...

    def close(self) -> None:
        """Remove every watch and stop the thread (joins unless called on it)."""
        ...


def inotify_available() -> bool:
    """Whether watchdog's inotify layer can be used here."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import watchdog.observers.inotify_c  # noqa: F401
    except Exception:  # UnsupportedLibcError, OSError, ImportError
        return False
    return True


def choose_backend(name: str | None = None) -> BackendName:
    """The backend to use: ``name``, else ``$SIDECAR_WATCH_BACKEND``, else the best available."""
    wanted = (name or os.environ.get(BACKEND_ENV, "") or "auto").strip().lower()
    if wanted == "auto":
        return "inotify" if inotify_available() else "observer"
    if wanted == "inotify":
        if not inotify_available():
            raise OSError(errno.ENOSYS, "inotify is not available on this system")
        return "inotify"
    if wanted == "observer":
        return "observer"
    raise ValueError(f"unknown watch backend {wanted!r} (expected inotify, observer or auto)")


def _start_backend(name: BackendName) -> Backend:
    if name == "inotify":
        from sidecar.watch.inotify_backend import InotifyBackend

        return InotifyBackend()
    from sidecar.watch.observer_backend import ObserverBackend

    return ObserverBackend()


class WatchHub:
    """The process's file watcher: many folder watches, one thread.

    ``WatchHub.shared()`` is the process-wide instance (created and started on
    first use, re-created if it was closed); ``WatchHub()`` makes a private one
    (tests). ``backend`` is ``"inotify"`` or ``"observer"``; by default
    ``$SIDECAR_WATCH_BACKEND`` or the best available. Thread-safe: handles
    may be opened and closed from any thread, including from callbacks, while
    the hub thread dispatches. Idle costs nothing: no timers, no polling.
    """

    _shared: ClassVar[WatchHub | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, backend: BackendName | None = None) -> None:
        self._lock = threading.Lock()
        #: Shared by every handle's callback gate, and guarding their removers.
        self._gate_cond = threading.Condition()
        self._handle_lock = threading.Lock()
        self._handles: set[FolderHandle] = set()
        self._closed = False
        self._backend = _start_backend(choose_backend(backend))

    @classmethod
    def shared(cls) -> WatchHub:
        """The process-wide hub, started on first use."""
        with cls._shared_lock:
            if cls._shared is None or cls._shared.closed:
                cls._shared = cls()
            return cls._shared

    @property
    def backend(self) -> BackendName:
        """``"inotify"`` or ``"observer"``."""
        return self._backend.name

    @property
    def thread(self) -> threading.Thread:
        """The thread every callback runs on."""
        return self._backend.thread

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @property
    def overflow_count(self) -> int:
        """Queue overflows so far; bumped on the hub thread before the handles'
        ``overflow`` events, so a subscription with many handles can rescan once
        per overflow (compare with the count it last handled)."""
        return self._backend.overflows

    @property
    def handle_count(self) -> int:
        """Open handles (several may share one folder)."""
        with self._lock:
            return len(self._handles)

    def watch_folder(self, path: str | os.PathLike[str], on_event: EventCallback) -> FolderHandle:
        """Watch one folder, non-recursively; ``on_event(WatchEvent)`` runs on the hub thread.

        Raises OSError naming the path when the folder cannot be watched
        (missing, not a folder, no permission, watch limit), RuntimeError
        when the hub is closed. Several handles may watch the same folder.
        """
        absolute = os.path.abspath(os.fspath(path))
        real = os.path.realpath(absolute)
        if real == absolute:
            real = absolute  # one string, not two, per watched folder
        info = os.stat(real)
        if not stat.S_ISDIR(info.st_mode):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), absolute)
        handle = FolderHandle(self, absolute, real, (info.st_dev, info.st_ino), on_event)
        with self._lock:
            if self._closed:
                raise RuntimeError("the watch hub is closed")
            try:
                remove = self._backend.add(handle)
            except OSError as error:
                raise OSError(error.errno, error.strerror or str(error), absolute) from error
            handle.attach(remove)
            self._handles.add(handle)
        return handle

    def close(self) -> None:
        """Close every handle and stop the hub thread (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            handles = list(self._handles)
            self._handles.clear()
        for handle in handles:
            handle.abandon()
        self._backend.close()

    def __enter__(self) -> WatchHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _forget(self, handle: FolderHandle) -> None:
        with self._lock:
            self._handles.discard(handle)
