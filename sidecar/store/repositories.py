"""Repositories: where each was seen, and carrying sessions over when its identity or place changes.

A repository's id travels with it (its origin URL, else its root commit), but
sessions recorded before it had one were keyed by its folder, and a moved
repository's sessions still name the old worktree. The service that knows git
(`sidecar.services.repositories`) decides what moved; this module re-keys the
rows in one transaction.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import datetime

from sidecar.core.models import utcnow
from sidecar.store.database import Database
from sidecar.store.rows import ts


class Repositories:
    """Path hints of repositories and the re-keying of their sessions."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def known(self, repository: str, path: str) -> bool:
        """True when `repository` was seen at `path` before (nothing to settle)."""
        rows = self.db.read(
            "SELECT 1 FROM repository_paths WHERE repository = ? AND path = ?", (repository, path)
        )
        return bool(rows)

    def paths(self, repository: str) -> builtins.list[str]:
        """Every path `repository` was seen at, most recent first."""
        rows = self.db.read(
            "SELECT path FROM repository_paths WHERE repository = ? ORDER BY seen_at DESC",
            (repository,),
        )
        return [r["path"] for r in rows]

    def settle(
        self,
        repository: str,
        path: str,
        *,
        adopt: Sequence[str] = (),
        moved_from: Sequence[str] = (),
        now: datetime | None = None,
    ) -> int:
        """Record `repository` at `path`, in one transaction with what that implies.

        Sessions and remembered choices keyed by an id in `adopt` (the folder
        path or root commit the repository was known by before) become
        `repository`'s; a choice already remembered under `repository` wins.
        Sessions whose worktree lies at or below a path in `moved_from` (where
        the repository was, and is no more) move below `path`. Returns how many
        sessions changed.
        """
        changed = 0
        with self.db.write() as conn:
            for old in adopt:
                if old == repository:
                    continue
                changed += conn.execute(
                    "UPDATE sessions SET repository = ? WHERE repository = ?", (repository, old)
                ).rowcount
                conn.execute(
                    "UPDATE OR IGNORE choices SET repository = ? WHERE repository = ?",
                    (repository, old),
                )
                conn.execute("DELETE FROM choices WHERE repository = ?", (old,))
                conn.execute(
                    "UPDATE OR IGNORE repository_paths SET repository = ? WHERE repository = ?",
                    (repository, old),
                )
                conn.execute("DELETE FROM repository_paths WHERE repository = ?", (old,))
            for old_path in moved_from:
                if old_path == path:
                    continue
                prefix = old_path.rstrip("/") + "/"
                changed += conn.execute(
                    "UPDATE sessions SET worktree = ? || substr(worktree, ?) "
                    "WHERE repository = ? AND (worktree = ? OR substr(worktree, 1, ?) = ?)",
                    (path, len(old_path) + 1, repository, old_path, len(prefix), prefix),
                ).rowcount
                conn.execute(
                    "DELETE FROM repository_paths WHERE repository = ? AND path = ?",
                    (repository, old_path),
                )
            conn.execute(
                "INSERT INTO repository_paths (repository, path, seen_at) VALUES (?, ?, ?) "
                "ON CONFLICT (repository, path) DO UPDATE SET seen_at = excluded.seen_at",
                (repository, path, ts(now or utcnow())),
            )
        return changed
