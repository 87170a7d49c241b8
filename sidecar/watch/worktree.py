"""Watch a worktree's files on the hub: one non-recursive watch per included folder.

The tree is walked once (``ignore.walk_included_dirs``: default excludes,
``.gitignore`` files, ``.git``). Ignored subtrees such as ``node_modules`` get
no watch at all, so they cost nothing and send nothing. On the inotify hub
every watch is a kernel watch on one descriptor, read by one thread, however
many folders there are.

Trees with more than ``folder_budget`` included folders are left to the
editor (``workspace/didChangeWatchedFiles``): :meth:`TreeWatch.start` returns
``"editor"`` and nothing is watched.

Changed files are reported one by one as they arrive, with no coalescing:
the consumer batches (it owns the timers).
"""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from sidecar.watch.hub import FolderSet, WatchEvent, WatchHub
from sidecar.watch.ignore import IgnoreMatcher, walk_included_dirs

logger = logging.getLogger(__name__)

WatchMode = Literal["native", "editor"]

DEFAULT_FOLDER_BUDGET = 20_000
#: Files reported from a folder that appears (created or moved in): they may
#: have been written before its watch existed.
NEW_FOLDER_SCAN_LIMIT = 1_000

_APPEARED = frozenset({"created", "moved_to"})
_VANISHED = frozenset({"deleted", "moved_from"})


class TreeWatch:
    """Calls ``on_path(relative_posix_path)`` for every changed file of a worktree.

    Example::

        tree = TreeWatch(WatchHub.shared(), "/repo", tracker.on_path)
        if tree.start() == "editor":
            ...  # register workspace/didChangeWatchedFiles with the client instead
        ...
        tree.close()

    Guarantees:

    - every created, modified, deleted or moved (both sides) FILE in an
      included folder is reported, unless the matcher ignores it; folders
      themselves never are;
    - a folder created or moved in is watched with its included subfolders,
      and the files already in it are reported (at most
      :data:`NEW_FOLDER_SCAN_LIMIT`); a folder deleted or moved out loses its
      watches (and its subfolders');
    - a changed ``.gitignore`` invalidates the matcher (later events are
      judged by the new rules); a queue overflow re-walks the tree and
      re-arms the watches (once per overflow);
    - ``on_path`` runs on the hub thread, never after :meth:`close` returns.

    ``matcher`` must be rooted at ``root`` (default: a new
    :class:`IgnoreMatcher`). ``start`` and ``close`` may be called from any
    thread; ``start`` again returns the first result.
    """

    def __init__(
        self,
        hub: WatchHub,
        root: str | os.PathLike[str],
        on_path: Callable[[str], None],
        *,
        folder_budget: int = DEFAULT_FOLDER_BUDGET,
        matcher: IgnoreMatcher | None = None,
    ) -> None:
        self.root = os.path.abspath(root)
        self.matcher = matcher if matcher is not None else IgnoreMatcher(Path(self.root))
        self.folder_budget = folder_budget
        #: ``None`` until :meth:`start`; then ``"native"`` or ``"editor"``.
        self.mode: WatchMode | None = None
        self._walked = 0
        self._hub = hub
        self._on_path = on_path
        self._lock = threading.RLock()
        self._folders: FolderSet = hub.folder_set(self.root, self._on_event)
        self._overflows_seen = hub.overflow_count

    @property
    def folder_count(self) -> int:
        """Included folders: those watched once native; before, those the walk
        found (``folder_budget + 1`` when it stopped over budget)."""
        with self._lock:
            return len(self._folders) if self.mode == "native" else self._walked

    @property
    def watched_folders(self) -> set[str]:
        """Relative POSIX paths of the watched folders (``""`` is the root)."""
        return set(self._folders.keys())

    def start(self) -> WatchMode:
        """Walk the tree and watch it: ``"native"``, or ``"editor"`` when over budget
        or when the root cannot be watched (or the system's watch limit is hit)."""
        with self._lock:
            if self.mode is not None:
                return self.mode
            if self._folders.closed:
                raise RuntimeError("the tree watch is closed")
        folders = self._walk("", limit=self.folder_budget)
        if folders is None:
            self._walked = self.folder_budget + 1
            logger.info(
                "worktree %s has more than %d folders: leaving file watching to the editor",
                self.root,
                self.folder_budget,
            )
            self._folders.close()
            return self._set_mode("editor")
        self._walked = len(folders)
        try:
            for rel in folders:
                self._watch(rel, strict=True)
        except OSError as error:
            logger.warning(
                "cannot watch %s natively (%s): leaving file watching to the editor",
                self.root,
                error,
            )
            self._folders.close()
            return self._set_mode("editor")
        return self._set_mode("native")

    def close(self) -> None:
        """Stop watching (idempotent, any thread; waits for a running callback)."""
        self._folders.close()

    def _set_mode(self, mode: WatchMode) -> WatchMode:
        with self._lock:
            self.mode = mode
            return mode

    def _walk(self, start: str, limit: int | None = None) -> list[str] | None:
        """Included folders under ``start``; None when there are more than ``limit``."""
        found: list[str] = []
        for rel, _ in walk_included_dirs(self.matcher, start):
            found.append(rel)
            if limit is not None and len(found) > limit:
                return None
        return found

    def _absolute(self, rel: str) -> str:
        return os.path.join(self.root, *rel.split("/")) if rel else self.root

    def _relative(self, path: str) -> str | None:
        prefix = self.root.rstrip(os.sep) + os.sep
        if not path.startswith(prefix):
            return None
        return path[len(prefix) :].replace(os.sep, "/")

    def _watch(self, rel: str, *, strict: bool = False) -> bool:
        """Watch folder ``rel``; False if already watched, closed or gone.

        Raises OSError when ``strict`` and the folder is the root or the watch
        limit is reached; otherwise failures (a folder that vanished again)
        are skipped.
        """
        try:
            return self._folders.add(rel)  # False once closed
        except OSError as error:
            if strict and (rel == "" or error.errno == errno.ENOSPC):
                raise
            logger.debug("not watching %s: %s", rel, error)
            return False

    def _drop(self, rel: str) -> None:
        """Stop watching folder ``rel`` and the folders below it."""
        prefix = rel + "/"
        self._folders.discard(
            [key for key in self._folders if key == rel or key.startswith(prefix)]
        )

    def _report(self, paths: list[str]) -> None:
        for path in paths:
            if self._folders.closed:
                return
            try:
                self._on_path(path)
            except Exception:
                logger.exception("worktree watch callback failed on %s", path)

    # Events (hub thread).

    def _on_event(self, folder: str, event: WatchEvent) -> None:
        # The folder set's gate guards this: it never runs after close() returns.
        if event.kind == "overflow":
            self._rearm()
            return
        if event.kind == "folder_gone":
            self._drop(folder)
            return
        rel = self._relative(event.path)
        if rel is None:
            return
        if rel.rpartition("/")[2] == ".gitignore":
            self.matcher.invalidate()
        if event.is_dir:
            if event.kind in _APPEARED and not self.matcher.is_ignored(rel, is_dir=True):
                self._report(self._adopt(rel))
            elif event.kind in _VANISHED:
                self._drop(rel)
            return
        if not self.matcher.is_ignored(rel):
            self._report([rel])

    def _adopt(self, rel: str) -> list[str]:
        """Watch a folder that appeared and its included subfolders; returns the
        files already in them (bounded)."""
        files: list[str] = []
        for folder, _ in walk_included_dirs(self.matcher, rel):
            try:
                if not self._watch(folder, strict=True):
                    continue
            except OSError as error:
                logger.warning("cannot watch new folder %s: %s", folder, error)
                break
            if len(files) < NEW_FOLDER_SCAN_LIMIT:
                files.extend(self._files_in(folder, NEW_FOLDER_SCAN_LIMIT - len(files)))
        return files

    def _files_in(self, folder: str, limit: int) -> list[str]:
        """Included non-folder entries of ``folder`` (at most ``limit``)."""
        found: list[str] = []
        try:
            with os.scandir(self._absolute(folder)) as entries:
                for entry in entries:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            continue
                    except OSError:
                        continue
                    child = f"{folder}/{entry.name}" if folder else entry.name
                    if not self.matcher.is_ignored(child):
                        found.append(child)
                        if len(found) >= limit:
                            break
        except OSError:
            pass
        return found

    def _rearm(self) -> None:
        """After a queue overflow: re-walk, watch what is new, drop what is stale."""
        overflows = self._hub.overflow_count
        if overflows == self._overflows_seen:
            return  # this overflow's rescan is done (one event per handle)
        self._overflows_seen = overflows
        logger.warning("file events were lost under %s: re-walking the tree", self.root)
        self.matcher.invalidate()
        folders = self._walk("") or []
        wanted = set(folders)
        self._folders.discard(
            [
                rel
                for rel in self._folders
                if rel not in wanted or not self._folders.still_in_place(rel)
            ]
        )
        for rel in folders:
            try:
                self._watch(rel, strict=True)
            except OSError as error:
                logger.warning("cannot re-watch %s: %s", rel, error)
                break
