"""Checkpoints: a named point in a session's history with the snapshot git keeps for it."""

from __future__ import annotations

from datetime import datetime

from sidecar.core.ids import new_id
from sidecar.core.models import Checkpoint, EventKind, NewEvent, utcnow
from sidecar.core.redact import redact_text
from sidecar.store.append import append_in
from sidecar.store.database import Database
from sidecar.store.errors import UnknownId
from sidecar.store.rows import checkpoint_from_row, ts


class Checkpoints:
    """Checkpoints of sessions; each one is also a `checkpoint` event."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self,
        session_id: str,
        *,
        name: str,
        head_sha: str | None,
        snapshot_sha: str | None,
        ref: str | None,
        checkpoint_id: str | None = None,
        now: datetime | None = None,
    ) -> Checkpoint:
        """Record a checkpoint and its `checkpoint` event in one transaction."""
        now = now or utcnow()
        name = redact_text(name)
        checkpoint_id = checkpoint_id or new_id()
        event = NewEvent(
            kind=EventKind.CHECKPOINT,
            actor="system",
            payload={
                "checkpointId": checkpoint_id,
                "name": name,
                "headSha": head_sha,
                "snapshotSha": snapshot_sha,
            },
        )
        with self.db.write() as conn:
            (seq,) = append_in(conn, session_id, [event], holder=None, now=now)
            conn.execute(
                "INSERT INTO checkpoints (id, session_id, name, seq, head_sha, snapshot_sha, ref, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (checkpoint_id, session_id, name, seq, head_sha, snapshot_sha, ref, ts(now)),
            )
            row = conn.execute(
                "SELECT * FROM checkpoints WHERE id = ?", (checkpoint_id,)
            ).fetchone()
        return checkpoint_from_row(row)

    def get(self, checkpoint_id: str) -> Checkpoint:
        """The checkpoint with this id; `UnknownId` if there is none."""
        rows = self.db.read("SELECT * FROM checkpoints WHERE id = ?", (checkpoint_id,))
        if not rows:
            raise UnknownId("checkpoint", checkpoint_id)
        return checkpoint_from_row(rows[0])

    def list(self, session_id: str) -> list[Checkpoint]:
        """A session's checkpoints, oldest first."""
        rows = self.db.read(
            "SELECT * FROM checkpoints WHERE session_id = ? ORDER BY seq", (session_id,)
        )
        return [checkpoint_from_row(r) for r in rows]
