"""One workspace folder watched for drift: its git directory and its worktree.

The language server and ``session-sidecar watch`` watch a folder the same
way, through this class: a :class:`~sidecar.watch.gitdir.GitDirWatch` and a
:class:`~sidecar.watch.worktree.TreeWatch` on the process's one hub. Both
callbacks run on the hub thread and only hand work on through the callables
the door passes (its owner thread's ``post`` and ``later``):

* a git change at once (``post(on_git, reason)``): the latency from HEAD
  written to the drift notification is the product;
* changed worktree files batched over ``batch_s``
  (``later(batch_s, ...)`` then ``on_paths(sorted paths)``).

What a change means is not decided here (that is the core's git tracker).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from sidecar.watch.gitdir import GitDirWatch
from sidecar.watch.hub import WatchHub
from sidecar.watch.worktree import TreeWatch

logger = logging.getLogger(__name__)

#: Worktree file changes are handed on in batches over this window.
PATH_BATCH_SECONDS = 0.15


class Cancellable(Protocol):
    """A scheduled job that can be dropped."""

    def cancel(self) -> None:
        """Drop the job if it has not run yet."""


Post = Callable[..., None]
Later = Callable[..., Cancellable]


class WorkspaceWatch:
    """A folder's git directory and worktree, watched (see the module docstring)."""

    def __init__(
        self,
        *,
        git_dir: str,
        common_dir: str,
        worktree: str,
        on_git: Callable[[str], object],
        on_paths: Callable[[list[str]], object],
        post: Post,
        later: Later,
        folder_budget: int,
        hub: WatchHub | None = None,
        batch_s: float = PATH_BATCH_SECONDS,
    ) -> None:
        self._on_git = on_git
        self._on_paths = on_paths
        self._post = post
        self._later = later
        self._batch_s = batch_s
        self._lock = threading.Lock()
        self._paths: set[str] = set()
        self._timer: Cancellable | None = None
        self._closed = False
        hub = hub or WatchHub.shared()
        self._git: Any = GitDirWatch(hub, git_dir, common_dir, self._git_changed)
        try:
            self._tree: Any = TreeWatch(
                hub, worktree, self._path_changed, folder_budget=folder_budget
            )
            self.mode: str = self._tree.start()
        except BaseException:
            self._git.close()
            raise

    @property
    def folder_count(self) -> int:
        """How many worktree folders were found (watched in native mode)."""
        return int(self._tree.folder_count)

    def _git_changed(self, reason: str) -> None:
        if not self._closed:
            self._post(self._on_git, reason)

    def _path_changed(self, relative: str) -> None:
        with self._lock:
            if self._closed:
                return
            self._paths.add(relative)
            if self._timer is None:
                self._timer = self._later(self._batch_s, self._flush)

    def _flush(self) -> None:
        with self._lock:
            changed, self._paths = self._paths, set()
            self._timer = None
        if changed and not self._closed:
            self._on_paths(sorted(changed))

    def close(self) -> None:
        """Stop watching; nothing is handed on afterwards (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            self._paths.clear()
        for watch in (self._git, self._tree):
            try:
                watch.close()
            except Exception:
                logger.exception("could not stop a watch")
