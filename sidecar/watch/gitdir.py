"""Watch a worktree's git directory for HEAD, ref and in-progress-operation changes.

Git writes HEAD and refs by renaming ``<name>.lock`` onto ``<name>``, so the
folders are watched, never the files (a watch on a file goes stale after the
first rename). :class:`GitDirWatch` keeps, on the process's watch hub:

- the worktree's own git dir: HEAD and operation markers (MERGE_HEAD,
  rebase-merge/, BISECT_LOG, ...). For a linked worktree that is
  ``<common>/worktrees/<name>``.
- the common dir, when it differs: ``packed-refs`` (its own HEAD belongs to
  the main worktree and is ignored).
- ``<common>/refs/heads`` with every subfolder, following folders created
  later (``feature/``): a commit on the current branch renames
  ``refs/heads/<branch>``.

``logs/HEAD`` is deliberately not watched: git appends the reflog *before* it
renames the ref into place, so a reader woken by it would see the old state;
the ref rename that follows is the authoritative signal.

Callbacks run on the hub thread with no debounce: nothing may add delay
between HEAD being written and the branch decision. A single git command fires
several times (HEAD, then the ref); the consumer re-reads git state after
every callback and compares the parsed state, so bursts cost a re-read each.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from sidecar.watch.folders import FolderWatch
from sidecar.watch.gate import CallbackGate
from sidecar.watch.hub import FolderHandle, WatchEvent, WatchHub

logger = logging.getLogger(__name__)

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

#: Reason when file events were lost (queue overflow): re-read everything.
REASON_OVERFLOW = "overflow"
#: Reason when the git dir or the common dir itself was deleted or moved away.
REASON_GONE = "gone"


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


class GitDirWatch:
    """Calls ``on_change(reason)`` when HEAD, a local branch ref, packed-refs or
    an in-progress operation marker of one worktree changes.

    Example::

        watch = GitDirWatch(WatchHub.shared(), ".git", ".git", tracker.on_git_change)
        ...
        watch.close()

    ``reason`` is :func:`classify_git_path`'s: ``"head"``,
    ``"ref:refs/heads/<branch>"``, ``"packed-refs"`` or ``"operation:<NAME>"``
    (for a rename, the target's), plus :data:`REASON_OVERFLOW` (events were
    lost) and :data:`REASON_GONE` (the git dir itself went away). Refs of every
    local branch fire (a watcher does not know which branch is current); the
    consumer compares parsed state. No debounce.

    Watching starts in the constructor, which raises OSError (naming the path)
    when the git dir or common dir cannot be watched; ``refs/heads`` may be
    missing (it is watched once it appears). ``on_change`` runs on the hub
    thread (keep it short: hand the work elsewhere) and never after
    :meth:`close` returns. ``close()`` is idempotent, any thread.
    """

    def __init__(
        self,
        hub: WatchHub,
        git_dir: str | os.PathLike[str],
        common_dir: str | os.PathLike[str] | None,
        on_change: Callable[[str], None],
    ) -> None:
        self.git_dir = os.path.abspath(git_dir)
        self.common_dir = os.path.abspath(common_dir) if common_dir else self.git_dir
        self._hub = hub
        self._on_change = on_change
        self._gate = CallbackGate()
        self._overflows_seen = hub.overflow_count
        self._handles: list[FolderHandle] = []
        self._heads: FolderWatch | None = None
        try:
            self._handles.append(hub.watch_folder(self.git_dir, self._on_event))
            if self.common_dir != self.git_dir:
                self._handles.append(hub.watch_folder(self.common_dir, self._on_event))
            heads = os.path.join(self.common_dir, "refs", "heads")
            self._heads = FolderWatch(hub, heads, self._on_ref_path, recursive=True)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Stop watching; no callback runs after this returns (idempotent)."""
        self._gate.close()
        handles, self._handles = self._handles, []
        for handle in handles:
            handle.close()
        heads, self._heads = self._heads, None
        if heads is not None:
            heads.close()

    def _notify(self, reason: str) -> None:
        try:
            self._on_change(reason)
        except Exception:
            logger.exception("git dir watch callback failed on %r", reason)

    def _on_event(self, event: WatchEvent) -> None:
        with self._gate.entered() as open_:
            if not open_:
                return
            if event.kind == "overflow":
                overflows = self._hub.overflow_count
                if overflows != self._overflows_seen:  # once, not once per handle
                    self._overflows_seen = overflows
                    self._notify(REASON_OVERFLOW)
                return
            if event.kind == "folder_gone":
                self._notify(REASON_GONE)
                return
            reason = classify_git_path(event.path, self.git_dir, self.common_dir)
            if reason is not None:
                self._notify(reason)

    def _on_ref_path(self, path: str) -> None:
        with self._gate.entered() as open_:
            if not open_:
                return
            reason = classify_git_path(path, self.git_dir, self.common_dir)
            if reason is not None:
                self._notify(reason)
