"""Which worktree paths the watchers ignore: default excludes plus .gitignore files.

Paths are worktree-relative POSIX strings (``"src/app.py"``); ``""`` is the root.
Rules follow git: a ``.gitignore`` applies to paths below its folder, a deeper
file overrides a shallower one, and nothing inside an ignored folder can be
re-included. The root's ``.git/info/exclude`` counts as a root-level file.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

from pathspec import GitIgnoreSpec

#: Folder names never worth watching: VCS metadata, dependency and build output,
#: tool caches. VS Code excludes ``.git/objects`` and ``.hg/store`` by default;
#: the whole folders are excluded here because the git watcher covers ``.git``.
DEFAULT_EXCLUDED_DIRS: frozenset[str] = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "node_modules",
        ".venv",
        "venv",
        "__pycache__",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".eggs",
        "dist",
        "build",
        "target",
    }
)


class IgnoreMatcher:
    """Decides whether a worktree-relative path is ignored.

    Example::

        matcher = IgnoreMatcher(Path("/repo"))
        matcher.is_ignored("node_modules/x/index.js")   # True (default exclude)
        matcher.is_ignored("src", is_dir=True)          # False unless .gitignore says so

    ``.gitignore`` files are read lazily and cached; call :meth:`invalidate`
    when one changes. Thread-safe.
    """

    def __init__(
        self, root: str | os.PathLike[str], extra_excluded_dirs: Iterable[str] = ()
    ) -> None:
        self.root = Path(root)
        self.excluded_dirs = DEFAULT_EXCLUDED_DIRS | frozenset(extra_excluded_dirs)
        self._lock = threading.Lock()
        # folder rel path -> its parsed .gitignore (None when it has none)
        self._specs: dict[str, GitIgnoreSpec | None] = {}
        # folder rel path -> whether that folder itself is ignored (ancestors included)
        self._dir_ignored: dict[str, bool] = {"": False}

    def invalidate(self) -> None:
        """Forget every cached .gitignore and decision (call when one changed)."""
        with self._lock:
            self._specs.clear()
            self._dir_ignored = {"": False}

    def is_ignored(self, rel: str, *, is_dir: bool = False) -> bool:
        """Whether ``rel`` (worktree-relative POSIX path) is excluded from watching."""
        rel = rel.strip("/")
        if not rel:
            return False
        parent, _, _ = rel.rpartition("/")
        with self._lock:
            if self._folder_ignored(parent):
                return True
            if is_dir:
                return self._folder_ignored(rel)
            return self._ignored_here(rel, is_dir=False)

    def _folder_ignored(self, rel: str) -> bool:
        """Whether folder ``rel`` or any of its ancestors is ignored; cached."""
        known = self._dir_ignored.get(rel)
        if known is not None:
            return known
        parent, _, _ = rel.rpartition("/")
        result = self._folder_ignored(parent) or self._ignored_here(rel, is_dir=True)
        self._dir_ignored[rel] = result
        return result

    def _ignored_here(self, rel: str, *, is_dir: bool) -> bool:
        """Whether ``rel`` is ignored by its own name or pattern (ancestors not checked)."""
        name = rel.rpartition("/")[2]
        # .git is also a *file* in linked worktrees; other excludes are folders only.
        if name == ".git" or (is_dir and name in self.excluded_dirs):
            return True
        decision: bool | None = None
        parts = rel.split("/")
        # Shallow to deep: a deeper .gitignore's match overrides a shallower one.
        for depth in range(len(parts)):
            base = "/".join(parts[:depth])
            spec = self._spec_for(base)
            if spec is None:
                continue
            sub = "/".join(parts[depth:]) + ("/" if is_dir else "")
            include = spec.check_file(sub).include
            if include is not None:
                decision = include
        return bool(decision)

    def _spec_for(self, folder_rel: str) -> GitIgnoreSpec | None:
        if folder_rel in self._specs:
            return self._specs[folder_rel]
        folder = self.root / folder_rel if folder_rel else self.root
        lines: list[str] = []
        sources = [folder / ".gitignore"]
        if not folder_rel:
            # info/exclude has lower precedence than the root .gitignore: read it first.
            sources.insert(0, self.root / ".git" / "info" / "exclude")
        for source in sources:
            try:
                lines.extend(source.read_text(encoding="utf-8", errors="replace").splitlines())
            except OSError:
                continue
        spec = GitIgnoreSpec.from_lines(lines) if lines else None
        self._specs[folder_rel] = spec
        return spec


def walk_included_dirs(matcher: IgnoreMatcher, start: str = "") -> Iterator[tuple[str, list[str]]]:
    """Yield ``(folder_rel, excluded_child_dirs)`` for every folder not ignored.

    Starts at folder ``start`` (relative, ``""`` = root). Top-down, never
    entering ignored folders or following symlinks; unreadable folders are
    skipped. ``excluded_child_dirs`` lists the ignored direct
    subfolders (relative paths) so callers can decide what they cost.
    """
    stack = [start]
    while stack:
        rel = stack.pop()
        folder = matcher.root / rel if rel else matcher.root
        excluded: list[str] = []
        children: list[str] = []
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    try:
                        if not entry.is_dir(follow_symlinks=False):
                            continue
                    except OSError:
                        continue
                    child = f"{rel}/{entry.name}" if rel else entry.name
                    if matcher.is_ignored(child, is_dir=True):
                        excluded.append(child)
                    else:
                        children.append(child)
        except OSError:
            continue
        yield rel, excluded
        stack.extend(children)


def count_folders(
    root: str | os.PathLike[str], limit: int, matcher: IgnoreMatcher | None = None
) -> int:
    """Count the folders a watcher would watch under ``root`` (root included).

    Stops as soon as the count exceeds ``limit``, returning ``limit + 1``, so a
    huge tree costs no more than the budget. Honours default excludes and
    .gitignore files.
    """
    matcher = matcher or IgnoreMatcher(root)
    count = 0
    for _ in walk_included_dirs(matcher):
        count += 1
        if count > limit:
            return limit + 1
    return count
