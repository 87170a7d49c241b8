"""A workspace folder as the services see it: where it is and what boundary it has."""

from __future__ import annotations

from dataclasses import dataclass

from sidecar.core.models import Boundary


@dataclass(frozen=True)
class Folder:
    """One workspace folder resolved to its boundary.

    ``uri`` is the folder as the client announced it (notifications echo it so
    clients can match them); ``path`` is the real filesystem path; ``worktree``
    the git worktree root (or the folder itself outside git).
    """

    uri: str
    path: str
    worktree: str
    boundary: Boundary
    head_sha: str | None = None
    operation: str | None = None
    in_git: bool = True

    def contains(self, path: str) -> bool:
        """True when ``path`` (absolute, real) lies in this folder's worktree."""
        root = self.worktree.rstrip("/") + "/"
        return path == self.worktree or path.startswith(root)
