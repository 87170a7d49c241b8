"""File watching at the edge: one hub per process, subscriptions built on it.

:class:`WatchHub` is the process's one file watcher (one thread). On it:
:class:`GitDirWatch` feeds the branch decision with no added delay,
:class:`TreeWatch` reports changed worktree files, :class:`FolderWatch`
watches a folder that may not exist yet (the database folder, agent
transcript folders). Callbacks run on the hub thread: keep them short and
hand the work elsewhere.
"""

from sidecar.watch.folders import FolderWatch
from sidecar.watch.gitdir import GitDirWatch, classify_git_path
from sidecar.watch.hub import FolderHandle, WatchEvent, WatchHub, WatchKind
from sidecar.watch.ignore import DEFAULT_EXCLUDED_DIRS, IgnoreMatcher, count_folders
from sidecar.watch.worktree import DEFAULT_FOLDER_BUDGET, TreeWatch, WatchMode

__all__ = [
    "DEFAULT_EXCLUDED_DIRS",
    "DEFAULT_FOLDER_BUDGET",
    "FolderHandle",
    "FolderWatch",
    "GitDirWatch",
    "IgnoreMatcher",
    "TreeWatch",
    "WatchEvent",
    "WatchHub",
    "WatchKind",
    "WatchMode",
    "classify_git_path",
    "count_folders",
]
