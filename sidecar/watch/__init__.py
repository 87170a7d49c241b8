"""File-system watchers at the edge: the git directory and the worktree.

``GitDirWatcher`` feeds the branch decision with no added delay;
``WorktreeWatcher`` reports batches of changed worktree paths. Both run on
watchdog threads; :func:`to_loop` hands their callbacks to an asyncio loop.
"""

from sidecar.watch.database import DatabaseWatcher
from sidecar.watch.gitdir import GitDirWatcher, classify_git_path, to_loop
from sidecar.watch.ignore import DEFAULT_EXCLUDED_DIRS, IgnoreMatcher, count_folders
from sidecar.watch.worktree import WatchMode, WatchPlan, WorktreeWatcher, plan_watches

__all__ = [
    "DEFAULT_EXCLUDED_DIRS",
    "DatabaseWatcher",
    "GitDirWatcher",
    "IgnoreMatcher",
    "WatchMode",
    "WatchPlan",
    "WorktreeWatcher",
    "classify_git_path",
    "count_folders",
    "plan_watches",
    "to_loop",
]
