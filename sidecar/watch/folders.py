"""Watch one folder that may not exist yet (optionally with its subfolders).

Used for the database folder (the consumer filters ``sessions.db-wal``) and
for agent transcript folders (``~/.claude/projects/<slug>``,
``~/.codex/sessions``, ...), which often appear only after the server starts.
While the folder is missing, the nearest existing ancestor is watched
(non-recursively) for the next component of the path to appear.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from functools import partial

from sidecar.watch.gate import CallbackGate
from sidecar.watch.hub import FolderHandle, WatchEvent, WatchHub

logger = logging.getLogger(__name__)

#: Entries reported when the folder appears (or is rescanned after an overflow).
SCAN_LIMIT = 10_000

_APPEARED = frozenset({"created", "moved_to"})
_VANISHED = frozenset({"deleted", "moved_from"})


class FolderWatch:
    """Calls ``on_change(absolute_path)`` for every entry event in a folder.

    Example::

        watch = FolderWatch(WatchHub.shared(), Path.home() / ".codex" / "sessions",
                            importer.mark, recursive=True)
        ...
        watch.close()

    Guarantees:

    - while the folder exists ("armed"), every entry created, modified,
      deleted or moved in it (and, with ``recursive``, in every subfolder,
      including ones created later) is reported, folders included;
    - if the folder does not exist yet, it is armed as soon as it appears,
      and the entries already in it are reported then (at most
      :data:`SCAN_LIMIT`); if it goes away, the watch goes back to waiting;
    - after a queue overflow the folder is re-armed and its entries reported;
    - ``on_change`` runs on the hub thread, never after :meth:`close` returns.

    Watching starts in the constructor, which raises OSError only when not
    even an existing ancestor can be watched. On the observer backend a
    watched folder that is moved away (rather than deleted) is not noticed.
    Thread-safe; ``close()`` is idempotent.
    """

    def __init__(
        self,
        hub: WatchHub,
        path: str | os.PathLike[str],
        on_change: Callable[[str], None],
        *,
        recursive: bool = False,
    ) -> None:
        self.path = os.path.abspath(path)
        self.recursive = recursive
        self._hub = hub
        self._on_change = on_change
        self._lock = threading.Lock()
        self._gate = CallbackGate()
        # Every (re)settling bumps the generation; callbacks of older handles are ignored.
        self._generation = 0
        self._handles: dict[str, FolderHandle] = {}  # armed: folder path -> handle
        self._waiter: FolderHandle | None = None
        self._overflows_seen = hub.overflow_count
        self._settle(report=False)

    @property
    def armed(self) -> bool:
        """Whether the folder exists and is watched."""
        with self._lock:
            return self.path in self._handles

    @property
    def waiting_on(self) -> str | None:
        """The ancestor watched while the folder is missing, else None."""
        with self._lock:
            return self._waiter.path if self._waiter is not None else None

    @property
    def watched_folders(self) -> set[str]:
        """Absolute paths of the watched folders (empty while waiting)."""
        with self._lock:
            return set(self._handles)

    def close(self) -> None:
        """Stop watching (idempotent, any thread; waits for a running callback)."""
        self._gate.close()
        for handle in self._reset():
            handle.close()

    # State changes. Handles are closed outside the lock: closing waits for a
    # callback in progress, which may be waiting for the lock.

    def _reset(self) -> list[FolderHandle]:
        """Start a new generation; returns the handles of the old one (to close)."""
        with self._lock:
            self._generation += 1
            old = list(self._handles.values())
            if self._waiter is not None:
                old.append(self._waiter)
            self._handles.clear()
            self._waiter = None
            return old

    def _settle(self, *, report: bool) -> list[str]:
        """Arm if the folder exists, else wait on its nearest existing ancestor.

        Returns the entries to report (with ``report``, when arming).
        """
        for handle in self._reset():
            handle.close()
        with self._lock:
            gen = self._generation
        while not self._gate.closed:
            if os.path.isdir(self.path):
                try:
                    return self._watch_tree(gen, self.path, report=report)
                except (FileNotFoundError, NotADirectoryError):
                    continue  # vanished again: wait for it instead
            ancestor = _nearest_existing_folder(self.path)
            try:
                waiter = self._hub.watch_folder(ancestor, partial(self._on_waiting, gen))
            except (FileNotFoundError, NotADirectoryError):
                continue
            with self._lock:
                current = gen == self._generation and not self._gate.closed
                if current:
                    self._waiter = waiter
            if not current:
                waiter.close()
                return []
            if os.path.isdir(_step_toward(ancestor, self.path)):
                # It appeared between the check and the watch: settle again.
                return self._settle(report=report)
            return []
        return []

    def _add(self, gen: int, folder: str) -> bool:
        """Watch ``folder`` in generation ``gen``; False when that generation is over.

        Raises OSError for the folder itself; a subfolder that cannot be
        watched is skipped.
        """
        try:
            handle = self._hub.watch_folder(folder, partial(self._on_armed, gen, folder))
        except OSError:
            if folder == self.path:
                raise
            return True
        with self._lock:
            current = gen == self._generation and not self._gate.closed
            if current and folder not in self._handles:
                self._handles[folder] = handle
                return True
        handle.close()
        return current

    def _watch_tree(self, gen: int, top: str, *, report: bool) -> list[str]:
        """Watch ``top`` (and, if recursive, its subfolders); returns their entries
        when ``report`` (bounded by :data:`SCAN_LIMIT`)."""
        found: list[str] = []
        pending = [top]
        while pending:
            folder = pending.pop()
            if not self._add(gen, folder):
                return []
            if not (report or self.recursive):
                continue
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if report and len(found) < SCAN_LIMIT:
                            found.append(os.path.join(folder, entry.name))
                        if self.recursive and _is_folder(entry):
                            pending.append(os.path.join(folder, entry.name))
            except OSError:
                continue
        return found

    def _drop(self, gen: int, folder: str) -> None:
        """Stop watching ``folder`` and its subfolders (it was deleted or moved out)."""
        prefix = folder.rstrip(os.sep) + os.sep
        with self._lock:
            if gen != self._generation:
                return
            gone = [p for p in self._handles if p == folder or p.startswith(prefix)]
            handles = [self._handles.pop(p) for p in gone]
        for handle in handles:
            handle.close()

    def _is_current(self, gen: int) -> bool:
        with self._lock:
            return gen == self._generation

    def _report(self, paths: list[str]) -> None:
        for path in paths:
            if self._gate.closed:
                return
            try:
                self._on_change(path)
            except Exception:
                logger.exception("folder watch callback failed on %s", path)

    # Events (hub thread).

    def _on_waiting(self, gen: int, event: WatchEvent) -> None:
        with self._gate.entered() as open_:
            if not open_ or not self._is_current(gen):
                return
            on_the_way = event.kind in _APPEARED and _is_same_or_below(self.path, event.path)
            if on_the_way or event.kind in ("folder_gone", "overflow"):
                self._report(self._settle(report=True))

    def _on_armed(self, gen: int, folder: str, event: WatchEvent) -> None:
        with self._gate.entered() as open_:
            if not open_ or not self._is_current(gen):
                return
            if event.kind == "overflow":
                overflows = self._hub.overflow_count
                if overflows != self._overflows_seen:  # once per overflow, not per handle
                    self._overflows_seen = overflows
                    self._report(self._settle(report=True))
                return
            if event.kind == "folder_gone":
                if folder == self.path:
                    self._report(self._settle(report=True))
                else:
                    self._drop(gen, folder)
                return
            found = [event.path]
            if self.recursive and event.is_dir:
                if event.kind in _APPEARED:
                    found += self._watch_tree(gen, event.path, report=True)
                elif event.kind in _VANISHED:
                    self._drop(gen, event.path)
            self._report(found)


def _is_folder(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _nearest_existing_folder(path: str) -> str:
    """``path``'s closest ancestor that is a folder (the root at worst)."""
    current = os.path.dirname(path)
    while not os.path.isdir(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def _step_toward(ancestor: str, target: str) -> str:
    """The child of ``ancestor`` on the way to ``target``."""
    first = os.path.relpath(target, ancestor).split(os.sep)[0]
    return os.path.join(ancestor, first)


def _is_same_or_below(target: str, path: str) -> bool:
    """Whether ``path`` is ``target`` or one of its ancestors."""
    return target == path or target.startswith(path.rstrip(os.sep) + os.sep)
