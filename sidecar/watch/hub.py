"""The process's one file watcher: non-recursive folder watches on one thread.

On Linux the hub reads ONE inotify descriptor on one thread that blocks in
``poll`` while idle (:mod:`sidecar.watch.inotify_backend`). Elsewhere, or
with ``SIDECAR_WATCH_BACKEND=observer``, it falls back to ONE watchdog
``Observer`` with a non-recursive schedule per folder. Subscriptions built
on it (:mod:`sidecar.watch.gitdir`, :mod:`sidecar.watch.worktree`,
:mod:`sidecar.watch.folders`) add recursion, filtering and re-arming.

Two shapes of subscription:

- :class:`FolderHandle`: one folder, one callback (``hub.watch_folder``);
- :class:`FolderSet`: many folders under one base path, one callback, one
  gate and a compact table (``hub.folder_set``). A worktree of 10,000
  folders costs one dictionary entry per folder, not an object per folder.

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
from collections.abc import Callable, Iterable, Iterator
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
    itself for ``folder_gone`` (the folder was deleted or moved away; its
    watch is dead) and ``overflow`` (events were lost: rescan; a set reports
    its base path). ``modified`` covers writes and a writer closing the file.
    The observer backend reports a move across folders as ``deleted`` +
    ``created``.
    """

    path: str
    kind: WatchKind
    is_dir: bool


EventCallback = Callable[[WatchEvent], None]
#: A set's callback: (key of the folder, event). Overflow events have key ``""``.
SetCallback = Callable[[str, WatchEvent], None]


class Sink(Protocol):
    """What a backend calls on the hub thread for the watches a subscriber holds.

    ``wd`` is the backend's number for a watched folder (an inotify watch
    descriptor): one per folder, shared by every sink watching it.
    """

    def entry(self, wd: int, kind: WatchKind, name: str, is_dir: bool) -> None:
        """Entry ``name`` of folder ``wd`` changed."""
        ...

    def gone(self, wd: int) -> None:
        """Folder ``wd`` was deleted or unmounted; the backend already dropped it."""
        ...

    def moved(self, wd: int) -> None:
        """Folder ``wd`` itself was moved (maybe back to the same place)."""
        ...

    def overflow(self) -> None:
        """Events were lost (once per overflow for each sink)."""
        ...


class Backend(Protocol):
    """What the hub needs from a watching mechanism."""

    name: BackendName

    @property
    def thread(self) -> threading.Thread:
        """The one thread that runs every callback."""
        ...

    @property
    def overflows(self) -> int:
        """Queue overflows seen so far (counted before any sink hears of one)."""
        ...

    def add(self, real_path: str, sink: Sink) -> int:
        """Watch folder ``real_path`` for ``sink``; returns its wd. Raises OSError."""
        ...

    def remove(self, wd: int, sink: Sink) -> None:
        """Stop delivering folder ``wd`` to ``sink`` (no-op when not registered)."""
        ...

    def close(self) -> None:
        """Remove every watch and stop the thread (joins unless called on it)."""
        ...


class FolderSet:
    """Many non-recursive folder watches under one base path, one callback.

    Folders are named by their key: a POSIX path relative to ``base`` (``""``
    is the base itself). ``on_event(key, event)`` runs on the hub thread,
    never after :meth:`close` returns (closing from inside the callback is
    allowed). A folder that goes away is forgotten before its ``folder_gone``
    event is delivered. An overflow arrives once per set, with key ``""``.
    Thread-safe.

    Per folder the set keeps two dictionary entries and an inode number: on
    the inotify hub a 10,000-folder tree costs about 3 MB in all.
    """

    __slots__ = ("_backend", "_gate", "_hub", "_inodes", "_keys", "_lock", "_on_event",
                 "_wds", "base", "real_base")  # fmt: skip

    def __init__(self, hub: WatchHub, base: str, on_event: SetCallback) -> None:
        self.base = os.path.abspath(base)
        real = os.path.realpath(self.base)
        #: The base with symlinks resolved: what the backend watches.
        self.real_base = self.base if real == self.base else real
        self._hub = hub
        self._backend = hub._backend
        self._on_event = on_event
        self._gate = CallbackGate()
        self._lock = threading.Lock()
        self._wds: dict[str, int] = {}  # key -> wd
        self._keys: dict[int, str] = {}  # wd -> key
        self._inodes: dict[int, int] = {}  # wd -> st_ino when watched

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.base!r} {len(self)} folders>"

    def __len__(self) -> int:
        with self._lock:
            return len(self._wds)

    def __iter__(self) -> Iterator[str]:
        """The watched folders' keys (a snapshot)."""
        return iter(self.keys())

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._wds

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._gate.closed

    def keys(self) -> list[str]:
        """The watched folders' keys (a copy)."""
        with self._lock:
            return list(self._wds)

    def folder_path(self, key: str) -> str:
        """Absolute path (under ``base``) of folder ``key``."""
        return os.path.join(self.base, *key.split("/")) if key else self.base

    def add(self, key: str) -> bool:
        """Watch folder ``key``; False when already watched (under this key or,
        through a bind mount, another one) or the set is closed.

        Raises OSError naming the path when it cannot be watched (missing, not
        a folder, no permission, watch limit).
        """
        real = os.path.join(self.real_base, *key.split("/")) if key else self.real_base
        with self._lock:
            if self._gate.closed or key in self._wds:
                return False
            info = os.stat(real)
            if not stat.S_ISDIR(info.st_mode):
                message = os.strerror(errno.ENOTDIR)
                raise NotADirectoryError(errno.ENOTDIR, message, self.folder_path(key))
            try:
                wd = self._backend.add(real, self)
            except OSError as error:
                message = error.strerror or str(error)
                raise OSError(error.errno, message, self.folder_path(key)) from error
            if wd in self._keys:
                return False  # the same folder under another key
            self._wds[key] = wd
            self._keys[wd] = key
            self._inodes[wd] = info.st_ino
            return True

    def discard(self, keys: Iterable[str]) -> None:
        """Stop watching these folders (unknown keys are skipped)."""
        dropped: list[int] = []
        with self._lock:
            for key in keys:
                wd = self._wds.pop(key, None)
                if wd is not None:
                    del self._keys[wd]
                    del self._inodes[wd]
                    dropped.append(wd)
        for wd in dropped:
            self._backend.remove(wd, self)

    def still_in_place(self, key: str) -> bool:
        """Whether ``key``'s path still names the folder (same inode) it watches."""
        with self._lock:
            wd = self._wds.get(key)
            inode = self._inodes.get(wd) if wd is not None else None
        if inode is None:
            return False
        try:
            return os.stat(self.folder_path(key)).st_ino == inode
        except OSError:
            return False

    def close(self) -> None:
        """Stop watching everything; waits for a callback running on another thread."""
        self._gate.close()
        self._drop_all()
        self._hub._forget(self)

    def abandon(self) -> None:
        """Close without touching the backend (the hub is shutting it down)."""
        self._gate.close()
        with self._lock:
            self._wds.clear()
            self._keys.clear()
            self._inodes.clear()

    def _drop_all(self) -> None:
        with self._lock:
            wds = list(self._keys)
            self._wds.clear()
            self._keys.clear()
            self._inodes.clear()
        for wd in wds:
            self._backend.remove(wd, self)

    def _deliver(self, key: str, event: WatchEvent) -> None:
        with self._gate.entered() as open_:
            if not open_:
                return
            try:
                self._on_event(key, event)
            except Exception:
                logger.exception("watch callback failed on %s %s", event.kind, event.path)

    def _forget(self, wd: int) -> str | None:
        with self._lock:
            key = self._keys.pop(wd, None)
            if key is not None:
                del self._wds[key]
                del self._inodes[wd]
            return key

    # Sink: called by the backend on the hub thread.

    def entry(self, wd: int, kind: WatchKind, name: str, is_dir: bool) -> None:
        with self._lock:
            key = self._keys.get(wd)
        if key is not None:
            self._deliver(key, WatchEvent(os.path.join(self.folder_path(key), name), kind, is_dir))

    def gone(self, wd: int) -> None:
        key = self._forget(wd)
        if key is not None:
            self._gone(key)

    def moved(self, wd: int) -> None:
        # A watch follows its inode. A folder moved away is gone from here; one
        # moved back (or a handle opened on the new path, sharing the watch) is not.
        with self._lock:
            key = self._keys.get(wd)
        if key is None or self.still_in_place(key):
            return
        if self._forget(wd) is not None:
            self._backend.remove(wd, self)
            self._gone(key)

    def overflow(self) -> None:
        self._deliver("", WatchEvent(self.base, "overflow", True))

    def _gone(self, key: str) -> None:
        self._deliver(key, WatchEvent(self.folder_path(key), "folder_gone", True))


class FolderHandle(FolderSet):
    """A live non-recursive watch of one folder, returned by :meth:`WatchHub.watch_folder`.

    ``on_event`` runs on the hub thread. After :meth:`close` returns it is not
    running and never runs again (unless closed from inside the callback, which
    is allowed). A ``folder_gone`` event closes the handle: it is closed and
    forgotten by the hub when the callback sees the event.
    """

    __slots__ = ("_callback",)

    def __init__(self, hub: WatchHub, path: str, on_event: EventCallback) -> None:
        super().__init__(hub, path, self._relay)
        self._callback = on_event

    def __repr__(self) -> str:
        return f"<FolderHandle {self.base!r} {'closed' if self.closed else 'open'}>"

    @property
    def path(self) -> str:
        """The watched folder, as given (absolute)."""
        return self.base

    @property
    def closed(self) -> bool:
        """Whether the handle was closed (or its folder went away)."""
        return self._gate.closed or not self._wds

    def _relay(self, key: str, event: WatchEvent) -> None:
        self._callback(event)

    def _gone(self, key: str) -> None:
        self._hub._forget(self)
        super()._gone(key)
        self._gate.close()


def inotify_available() -> bool:
    """Whether the inotify backend can be used here."""
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
    ``$SIDECAR_WATCH_BACKEND`` or the best available. Thread-safe: watches
    may be opened and closed from any thread, including from callbacks, while
    the hub thread dispatches. Idle costs nothing: no timers, no polling.
    """

    _shared: ClassVar[WatchHub | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, backend: BackendName | None = None) -> None:
        self._lock = threading.Lock()
        self._subscribers: set[FolderSet] = set()
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
        """Queue overflows so far; bumped on the hub thread before any subscriber
        hears of one, so a subscription can rescan once per overflow."""
        return self._backend.overflows

    @property
    def handle_count(self) -> int:
        """Open handles and sets (several may share one folder)."""
        with self._lock:
            return len(self._subscribers)

    def watch_folder(self, path: str | os.PathLike[str], on_event: EventCallback) -> FolderHandle:
        """Watch one folder, non-recursively; ``on_event(WatchEvent)`` runs on the hub thread.

        Raises OSError naming the path when the folder cannot be watched
        (missing, not a folder, no permission, watch limit), RuntimeError
        when the hub is closed. Several handles may watch the same folder.
        """
        handle = FolderHandle(self, os.fspath(path), on_event)
        self._register(handle)
        try:
            handle.add("")
        except BaseException:
            handle.close()
            raise
        return handle

    def folder_set(self, base: str | os.PathLike[str], on_event: SetCallback) -> FolderSet:
        """An empty :class:`FolderSet` under ``base``; add folders with ``add(key)``.

        Raises RuntimeError when the hub is closed.
        """
        folders = FolderSet(self, os.fspath(base), on_event)
        self._register(folders)
        return folders

    def close(self) -> None:
        """Close every handle and set, and stop the hub thread (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            subscribers = list(self._subscribers)
            self._subscribers.clear()
        for subscriber in subscribers:
            subscriber.abandon()
        self._backend.close()

    def __enter__(self) -> WatchHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _register(self, subscriber: FolderSet) -> None:
        with self._lock:
            if self._closed:
                raise RuntimeError("the watch hub is closed")
            self._subscribers.add(subscriber)

    def _forget(self, subscriber: FolderSet) -> None:
        with self._lock:
            self._subscribers.discard(subscriber)
