"""Watch a worktree's git directory for HEAD, ref and in-progress-operation changes.

Git writes HEAD and refs by renaming ``<name>.lock`` onto ``<name>``, so the
folders are watched, never the files (a watch on a file goes stale after the
first rename). Watches, all through one watchdog observer (inotify on Linux):

- the worktree's own git dir, non-recursive: HEAD and operation markers
  (MERGE_HEAD, rebase-merge/, BISECT_LOG, ...). For a linked worktree that is
  ``<common>/worktrees/<name>``.
- the common dir, non-recursive: ``packed-refs`` (only when it differs from
  the git dir; its own HEAD belongs to the main worktree and is ignored).
- ``<common>/refs/heads``, recursive (one watch per branch namespace folder,
  cheap): a commit on the current branch renames ``refs/heads/<branch>``.

``logs/HEAD`` is deliberately not watched: git appends the reflog *before* it
renames the ref into place, so a reader woken by it would see the old state;
the ref rename that follows is the authoritative signal.

Callbacks run on the watchdog thread with no debounce: nothing may add delay
between HEAD being written and the branch decision. A single git command fires
several times (HEAD, then the ref); the consumer re-reads git state after
every callback and compares the parsed state, so bursts cost a re-read each.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

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
from watchdog.observers.api import BaseObserver

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Event types the watchers ask for. Leaving out FileOpenedEvent and
#: FileClosedNoWriteEvent keeps IN_OPEN/IN_CLOSE_NOWRITE out of the inotify
#: mask: with them, watchdog's own directory walks flood the queue and idle CPU
#: spins (see the performance notes).
WATCHED_EVENT_TYPES: list[type[FileSystemEvent]] = [
    FileCreatedEvent,
    FileModifiedEvent,
    FileDeletedEvent,
    FileMovedEvent,
    FileClosedEvent,
    DirCreatedEvent,
    DirDeletedEvent,
    DirMovedEvent,
]

#: How long an observer's dispatcher thread sleeps between checks when no event
#: arrives. Events and stop() wake it at once, so a long timeout costs nothing
#: but keeps an idle server from waking every second (watchdog's default).
OBSERVER_TIMEOUT_S = 30.0

#: Entries of a worktree's git dir whose appearance, change or removal means
#: the branch decision must be re-made. Reason strings are ``"head"`` or
#: ``"operation:<NAME>"``.
OPERATION_MARKERS: frozenset[str] = frozenset(
    {
        "ORIG_HEAD",
        "MERGE_HEAD",
        "CHERRY_PICK_HEAD",
        "REVERT_HEAD",
        "BISECT_LOG",
        "BISECT_START",
        "rebase-merge",
        "rebase-apply",
        "sequencer",
    }
)

STOP_TIMEOUT_S = 2.0


def to_loop(loop: asyncio.AbstractEventLoop, fn: Callable[[T], object]) -> Callable[[T], None]:
    """Wrap ``fn`` so a watcher thread can call it; it then runs on ``loop``.

    Example::

        watcher = GitDirWatcher(git_dir, common_dir, to_loop(loop, service.on_git_change))

    Calls after the loop has closed are dropped (shutdown races are harmless).
    """

    def call(arg: T) -> None:
        with contextlib.suppress(RuntimeError):  # loop closed during shutdown
            loop.call_soon_threadsafe(fn, arg)

    return call


def classify_git_path(path: str, git_dir: str, common_dir: str) -> str | None:
    """The reason a change at absolute ``path`` matters, or None if it does not.

    Pure function over paths, so the filter is testable without a file system.
    Lock files never count: git's rename of ``HEAD.lock`` onto ``HEAD`` arrives
    as a change of ``HEAD`` itself.
    """
    parent, name = os.path.split(path)
    if name.endswith(".lock"):
        return None
    if parent == git_dir:
        if name == "HEAD":
            return "head"
        if name in OPERATION_MARKERS:
            return f"operation:{name}"
    if parent == common_dir and name == "packed-refs":
        return "packed-refs"
    heads = os.path.join(common_dir, "refs", "heads")
    if path.startswith(heads + os.sep):
        return "ref:" + Path(os.path.relpath(path, common_dir)).as_posix()
    return None


def stop_observer(observer: BaseObserver, timeout: float, label: str) -> None:
    """Stop a watchdog observer and join it, unless called from its own thread."""
    observer.stop()
    if threading.current_thread() is observer:
        return  # stop() from inside a callback: the thread ends after it returns
    observer.join(timeout)
    if observer.is_alive():
        logger.warning("watcher for %s did not stop within %.1f s", label, timeout)


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: GitDirWatcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._watcher._on_event(event)


class GitDirWatcher:
    """Calls ``on_change(reason)`` when HEAD, a local branch ref, packed-refs or
    an in-progress operation marker of one worktree changes.

    Example::

        watcher = GitDirWatcher(".git", ".git", lambda reason: print(reason))
        watcher.start()
        ...
        watcher.stop()

    ``reason`` is ``"head"``, ``"ref:refs/heads/<branch>"``, ``"packed-refs"``
    or ``"operation:<NAME>"``. Refs of every local branch fire (a watcher does
    not know which branch is current); the consumer compares parsed state.
    ``on_change`` runs on the watchdog thread: keep it short or hand it to a
    loop with :func:`to_loop`. ``start``/``stop`` are idempotent and thread-safe.
    """

    def __init__(
        self,
        git_dir: str | os.PathLike[str],
        common_dir: str | os.PathLike[str] | None,
        on_change: Callable[[str], None],
    ) -> None:
        self.git_dir = os.path.abspath(git_dir)
        self.common_dir = os.path.abspath(common_dir) if common_dir else self.git_dir
        self._on_change = on_change
        self._lock = threading.Lock()
        self._observer: BaseObserver | None = None
        self._active = False

    @property
    def running(self) -> bool:
        """Whether the watcher is started and not stopped."""
        return self._active

    def start(self) -> None:
        """Start watching; a second call while running does nothing.

        Raises OSError (with the path) when the git dir cannot be watched.
        """
        with self._lock:
            if self._active:
                return
            observer = Observer(timeout=OBSERVER_TIMEOUT_S)
            handler = _Handler(self)
            folders = [(self.git_dir, False)]
            if self.common_dir != self.git_dir:
                folders.append((self.common_dir, False))
            heads = os.path.join(self.common_dir, "refs", "heads")
            if os.path.isdir(heads):
                folders.append((heads, True))
            for folder, recursive in folders:
                observer.schedule(
                    handler, folder, recursive=recursive, event_filter=WATCHED_EVENT_TYPES
                )
            self._active = True
            try:
                observer.start()
            except Exception:
                self._active = False
                raise
            self._observer = observer

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop watching and join the observer thread (at most ``timeout`` s).

        No callback starts after this returns. A second call does nothing.
        """
        with self._lock:
            self._active = False
            observer, self._observer = self._observer, None
        if observer is not None:
            stop_observer(observer, timeout, self.git_dir)

    def _on_event(self, event: FileSystemEvent) -> None:
        if not self._active:
            return
        paths = [event.src_path]
        if event.dest_path:
            paths.insert(0, event.dest_path)  # the rename target is what changed
        for raw in paths:
            path = os.fsdecode(raw)
            reason = classify_git_path(path, self.git_dir, self.common_dir)
            if reason is not None:
                try:
                    self._on_change(reason)
                except Exception:
                    # An exception would end watchdog's dispatcher thread: log, keep watching.
                    logger.exception("git dir watcher callback failed on %r", reason)
                return
