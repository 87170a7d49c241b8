"""File watching at the edge: one hub per process, subscriptions built on it.

:class:`WatchHub` is the process's one file watcher (one thread). On it:
:class:`GitDirWatch` feeds the branch decision with no added delay,
:class:`TreeWatch` reports changed worktree files, :class:`FolderWatch`
watches a folder that may not exist yet (the database folder, agent
transcript folders). Callbacks run on the hub thread: keep them short and
hand the work elsewhere.

The names below are served from the submodules on first use
(:mod:`sidecar.lazy_exports`).
"""

from typing import TYPE_CHECKING

from sidecar.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from sidecar.watch.folders import FolderWatch as FolderWatch
    from sidecar.watch.gitdir import (
        GitDirWatch as GitDirWatch,
        classify_git_path as classify_git_path,
    )
    from sidecar.watch.hub import (
        FolderHandle as FolderHandle,
        FolderSet as FolderSet,
        WatchEvent as WatchEvent,
        WatchHub as WatchHub,
        WatchKind as WatchKind,
    )
    from sidecar.watch.ignore import (
        DEFAULT_EXCLUDED_DIRS as DEFAULT_EXCLUDED_DIRS,
        IgnoreMatcher as IgnoreMatcher,
        count_folders as count_folders,
    )
    from sidecar.watch.worktree import (
        DEFAULT_FOLDER_BUDGET as DEFAULT_FOLDER_BUDGET,
        TreeWatch as TreeWatch,
        WatchMode as WatchMode,
    )

__getattr__, __all__ = lazy_exports(
    __name__,
    {
        "sidecar.watch.folders": ["FolderWatch"],
        "sidecar.watch.gitdir": ["GitDirWatch", "classify_git_path"],
        "sidecar.watch.hub": ["FolderHandle", "FolderSet", "WatchEvent", "WatchHub", "WatchKind"],
        "sidecar.watch.ignore": ["DEFAULT_EXCLUDED_DIRS", "IgnoreMatcher", "count_folders"],
        "sidecar.watch.worktree": ["DEFAULT_FOLDER_BUDGET", "TreeWatch", "WatchMode"],
    },
)
