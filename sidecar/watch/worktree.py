"""Watch a worktree's files, honouring .gitignore and default excludes.

inotify needs one watch per folder, and watchdog's recursive watch cannot
exclude subtrees: scheduled on the root it would also watch every folder of
``node_modules`` or ``.venv``. Scheduling one non-recursive watch per folder
is no way out either, since watchdog runs one emitter thread per scheduled
watch (10,000 folders would mean 10,000 threads). So the watcher plans a
small cover of the tree:

- a folder whose subtree holds no *heavy* ignored folder (an ignored folder
  that has subfolders, such as ``node_modules``) gets one recursive watch;
- a folder that does hold one gets a non-recursive watch, and the same rule
  is applied to each of its included subfolders.

Ignored folders without subfolders (``__pycache__``, a gitignored ``logs/``)
cost one watch each, so they stay inside recursive watches and their events
are dropped by the matcher. A typical repository ends up with a handful of
watches (threads); when the cover would need more than ``max_watches`` the
watcher falls back to one recursive watch on the root and filters events.

Changed paths are reported in batches after a short coalescing window: this
watcher feeds footprints, not the branch decision, so latency matters less
than not flooding the consumer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from sidecar.watch.gitdir import (
    OBSERVER_TIMEOUT_S,
    STOP_TIMEOUT_S,
    WATCHED_EVENT_TYPES,
    stop_observer,
)
from sidecar.watch.ignore import IgnoreMatcher, walk_included_dirs

logger = logging.getLogger(__name__)

WatchMode = Literal["native", "editor"]

DEFAULT_FOLDER_BUDGET = 20_000
DEFAULT_COALESCE_S = 0.15
DEFAULT_MAX_WATCHES = 256
#: Files reported from a folder that appeared under a non-recursive watch
#: (they may have been written before its own watch existed).
NEW_FOLDER_SCAN_LIMIT = 1_000


@dataclass
class WatchPlan:
    """Which folders to watch recursively and which non-recursively.

    ``folder_count`` is the number of included folders; ``over_budget`` is set
    when the walk stopped early because the tree exceeds the budget.
    """

    recursive: list[str] = field(default_factory=list)
    flat: list[str] = field(default_factory=list)
    folder_count: int = 0
    over_budget: bool = False


def _has_subfolder(path: Path) -> bool:
    try:
        with os.scandir(path) as entries:
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        return True
                except OSError:
                    continue
    except OSError:
        return True  # unreadable: treat as costly, never schedule a watch over it
    return False


def plan_watches(matcher: IgnoreMatcher, folder_budget: int) -> WatchPlan:
    """Walk the included tree once and plan the watch cover (see module doc).

    Stops early (``over_budget=True``) once more than ``folder_budget``
    included folders have been seen.
    """
    plan = WatchPlan()
    children: dict[str, list[str]] = {}
    heavy: set[str] = set()  # folders with a heavy ignored folder somewhere below
    for rel, excluded in walk_included_dirs(matcher):
        plan.folder_count += 1
        if plan.folder_count > folder_budget:
            plan.over_budget = True
            return plan
        if rel:
            children.setdefault(rel.rpartition("/")[0], []).append(rel)
        # The root's .git is exempt: splitting the root around it would cost one
        # watchdog thread per top-level folder, while its few hundred folders
        # (objects/xx, refs, logs) are cheap watches whose events are filtered out.
        heavy_children = [c for c in excluded if not (rel == "" and c == ".git")]
        if any(_has_subfolder(matcher.root / child) for child in heavy_children):
            # Mark the folder and its ancestors: none of them may be watched recursively.
            node: str | None = rel
            while node is not None and node not in heavy:
                heavy.add(node)
                node = node.rpartition("/")[0] if node else None
    todo = [""]
    while todo:
        rel = todo.pop()
        if rel in heavy:
            plan.flat.append(rel)
            todo.extend(children.get(rel, []))
        else:
            plan.recursive.append(rel)
    return plan


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: WorktreeWatcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._watcher._on_event(event)


class WorktreeWatcher:
    """Reports changed worktree-relative POSIX paths via ``on_paths(list[str])``.

    Example::

        watcher = WorktreeWatcher(root, lambda paths: print(paths))
        if watcher.start() == "editor":
            ...  # register workspace/didChangeWatchedFiles with the client instead

    ``start()`` returns ``"editor"`` (and watches nothing) when the tree has
    more than ``folder_budget`` included folders or the OS refuses the watches;
    otherwise ``"native"``. Batches are sorted, without duplicates, delivered
    ``coalesce_s`` after the first change of a burst, on a timer thread.
    ``start``/``stop`` are idempotent and thread-safe.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        on_paths: Callable[[list[str]], None],
        *,
        folder_budget: int = DEFAULT_FOLDER_BUDGET,
        coalesce_s: float = DEFAULT_COALESCE_S,
        max_watches: int = DEFAULT_MAX_WATCHES,
        extra_excluded_dirs: Iterable[str] = (),
    ) -> None:
        self.root = Path(os.path.abspath(root))
        self.folder_budget = folder_budget
        self.coalesce_s = coalesce_s
        self.max_watches = max_watches
        self.matcher = IgnoreMatcher(self.root, extra_excluded_dirs)
        self.mode: WatchMode | None = None
        self.folder_count = 0
        self._on_paths = on_paths
        self._lock = threading.RLock()
        self._observer: BaseObserver | None = None
        self._handler = _Handler(self)
        self._watches: dict[str, ObservedWatch] = {}
        self._flat: set[str] = set()
        self._pending: set[str] = set()
        self._timer: threading.Timer | None = None
        self._active = False

    @property
    def running(self) -> bool:
        """Whether native watching is active."""
        return self._active

    @property
    def watched_roots(self) -> dict[str, bool]:
        """Scheduled folders (relative, ``""`` = root) -> whether recursive."""
        with self._lock:
            return {rel: rel not in self._flat for rel in self._watches}

    def start(self) -> WatchMode:
        """Plan and start watching; returns ``"native"`` or ``"editor"``.

        A second call returns the mode chosen by the first.
        """
        with self._lock:
            if self.mode is not None and (self._active or self.mode == "editor"):
                return self.mode
            plan = plan_watches(self.matcher, self.folder_budget)
            self.folder_count = plan.folder_count
            if plan.over_budget:
                logger.info(
                    "worktree %s has more than %d folders: leaving file watching to the editor",
                    self.root,
                    self.folder_budget,
                )
                self.mode = "editor"
                return self.mode
            if len(plan.recursive) + len(plan.flat) > self.max_watches:
                # Too scattered to cover cheaply: one recursive watch, events filtered.
                plan = WatchPlan(recursive=[""], folder_count=plan.folder_count)
            observer = Observer(timeout=OBSERVER_TIMEOUT_S)
            self._observer = observer
            self._active = True
            try:
                for rel in plan.flat:
                    self._schedule(rel, recursive=False)
                for rel in plan.recursive:
                    self._schedule(rel, recursive=True)
                observer.start()
            except OSError as error:
                logger.warning(
                    "cannot watch %s natively (%s): leaving file watching to the editor",
                    self.root,
                    error,
                )
                self._active = False
                self._observer = None
                self._watches.clear()
                self._flat.clear()
                stop_observer(observer, STOP_TIMEOUT_S, str(self.root))
                self.mode = "editor"
                return self.mode
            self.mode = "native"
            return self.mode

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Stop watching, drop undelivered paths and join the observer thread."""
        with self._lock:
            self._active = False
            observer, self._observer = self._observer, None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._pending.clear()
            self._watches.clear()
            self._flat.clear()
        if observer is not None:
            stop_observer(observer, timeout, str(self.root))

    def _schedule(self, rel: str, *, recursive: bool) -> None:
        assert self._observer is not None
        folder = self.root / rel if rel else self.root
        watch = self._observer.schedule(
            self._handler, str(folder), recursive=recursive, event_filter=WATCHED_EVENT_TYPES
        )
        self._watches[rel] = watch
        if not recursive:
            self._flat.add(rel)

    def _relative(self, raw: bytes | str) -> str | None:
        path = os.fsdecode(raw)
        if not path:
            return None
        rel = os.path.relpath(path, self.root)
        if rel == "." or rel.startswith(".."):
            return None
        return Path(rel).as_posix()

    def _on_event(self, event: FileSystemEvent) -> None:
        if not self._active:
            return
        found: list[str] = []
        for raw in (event.src_path, event.dest_path):
            rel = self._relative(raw)
            if rel is None:
                continue
            if rel.rpartition("/")[2] == ".gitignore":
                self.matcher.invalidate()
            if self.matcher.is_ignored(rel, is_dir=event.is_directory):
                continue
            found.append(rel)
        if event.is_directory:
            self._follow_folder(event)
        if found:
            self._add_pending(found)

    def _follow_folder(self, event: FileSystemEvent) -> None:
        """Keep the cover right when folders appear or vanish outside recursive watches."""
        gone = self._relative(event.src_path) if event.event_type in ("deleted", "moved") else None
        new = self._relative(event.dest_path if event.event_type == "moved" else event.src_path)
        if event.event_type == "deleted":
            new = None
        with self._lock:
            if not self._active or self._observer is None:
                return
            if gone is not None and gone in self._watches:
                watch = self._watches.pop(gone)
                self._flat.discard(gone)
                with contextlib.suppress(KeyError):  # already gone with its emitter
                    self._observer.unschedule(watch)
            if new is None or new.rpartition("/")[0] not in self._flat or new in self._watches:
                return
            if self.matcher.is_ignored(new, is_dir=True):
                return
            try:
                self._schedule(new, recursive=True)
            except OSError:
                return  # vanished again already
        self._add_pending(self._scan_new_folder(new))

    def _scan_new_folder(self, rel: str) -> list[str]:
        """Included files of a new folder that may predate its watch (bounded)."""
        found: list[str] = []
        for folder, _ in walk_included_dirs(self.matcher, rel):
            try:
                with os.scandir(self.root / folder) as entries:
                    for entry in entries:
                        child = f"{folder}/{entry.name}"
                        if entry.is_file(follow_symlinks=False) and not self.matcher.is_ignored(
                            child
                        ):
                            found.append(child)
            except OSError:
                continue
            if len(found) >= NEW_FOLDER_SCAN_LIMIT:
                break
        return found[:NEW_FOLDER_SCAN_LIMIT]

    def _add_pending(self, paths: list[str]) -> None:
        if not paths:
            return
        with self._lock:
            if not self._active:
                return
            self._pending.update(paths)
            if self._timer is None:
                self._timer = threading.Timer(self.coalesce_s, self._flush)
                self._timer.daemon = True
                self._timer.start()

    def _flush(self) -> None:
        with self._lock:
            self._timer = None
            if not self._active or not self._pending:
                return
            batch = sorted(self._pending)
            self._pending.clear()
        try:
            self._on_paths(batch)
        except Exception:
            logger.exception("worktree watcher callback failed on %d paths", len(batch))
