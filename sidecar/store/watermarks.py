"""Export watermarks: per session and sink, the highest seq the sink has accepted.

The database is the exporter's buffer: it reads what lies above a session's
watermark, sends it, and moves the watermark only once the sink said yes. The
append path never touches this table.

>>> from sidecar.core.models import Boundary, NewEvent
>>> from sidecar.store import Store
>>> store = Store.open(":memory:")
>>> b = Boundary(repository="r", worktree="/w", branch="main", requester="me", machine="m")
>>> s = store.sessions.create(b, name="demo")
>>> _ = store.events.append(s.id, [NewEvent(kind="prompt", payload={"text": "hi"})], holder=None)
>>> marks = Watermarks(store.db)
>>> [row["id"] for row in marks.pending("otlp")] == [s.id]
True
>>> marks.advance(s.id, "otlp", 1)
>>> marks.pending("otlp")
[]
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from sidecar.core.kinds import utcnow
from sidecar.store.database import Database
from sidecar.store.stamps import ts

#: The session columns an exporter reads (never the holder: it stays local).
SESSION_COLUMNS = (
    "id", "name", "status", "repository", "worktree", "branch", "requester", "machine",
    "task", "phase", "provider", "provider_ref", "agent_name", "head_sha", "parent_id",
    "created_at", "last_event_at", "event_count",
)  # fmt: skip

#: Payload fields that carry a commit sha, by event kind (the revision a session was at).
_SHA_FIELDS = {"commit": "$.sha", "branch_change": "$.headSha", "checkpoint": "$.headSha"}


class Watermarks:
    """Reading what is above the watermarks, and moving them."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def pending(
        self, sink: str, *, since: datetime | None = None, session_id: str | None = None
    ) -> list[sqlite3.Row]:
        """Sessions with events above their watermark, oldest activity first.

        Each row has the :data:`SESSION_COLUMNS` and ``exported`` (the watermark, 0
        when nothing was exported). ``since`` keeps sessions whose last event is at or
        after it; ``session_id`` one session (a prefix of its id is enough).
        """
        columns = ", ".join(f"s.{c}" for c in SESSION_COLUMNS)
        sql = (
            f"SELECT {columns}, COALESCE(w.seq, 0) AS exported FROM sessions s "
            "LEFT JOIN export_watermarks w ON w.session_id = s.id AND w.sink = ? "
            "WHERE s.event_count > COALESCE(w.seq, 0)"
        )
        params: list[Any] = [sink]
        if since is not None:
            sql += " AND s.last_event_at >= ?"
            params.append(ts(since))
        if session_id is not None:
            sql += " AND s.id LIKE ? ESCAPE '\\'"
            escaped = session_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(escaped + "%")
        sql += " ORDER BY s.last_event_at, s.id"
        return self.db.read(sql, params)

    def events_above(self, session_id: str, seq: int, limit: int) -> list[sqlite3.Row]:
        """Up to ``limit`` events of a session after ``seq``, in order (payload as JSON text)."""
        return self.db.read(
            "SELECT seq, time, kind, actor, payload FROM events "
            "WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (session_id, seq, limit),
        )

    def branch_after(self, session_id: str, seq: int) -> str | None:
        """The branch the session left at its first branch switch after ``seq``, if any."""
        rows = self.db.read(
            "SELECT json_extract(payload, '$.from') AS branch FROM events "
            "WHERE session_id = ? AND seq > ? AND kind = 'branch_change' ORDER BY seq LIMIT 1",
            (session_id, seq),
        )
        return rows[0]["branch"] if rows and isinstance(rows[0]["branch"], str) else None

    def revision_at(self, session_id: str, seq: int) -> str | None:
        """The last commit sha an event up to ``seq`` recorded (a commit, switch, checkpoint)."""
        cases = " ".join(
            f"WHEN '{kind}' THEN json_extract(payload, '{path}')"
            for kind, path in _SHA_FIELDS.items()
        )
        kinds = ", ".join(f"'{kind}'" for kind in _SHA_FIELDS)
        rows = self.db.read(
            f"SELECT CASE kind {cases} END AS sha FROM events "
            f"WHERE session_id = ? AND seq <= ? AND kind IN ({kinds}) "
            "AND sha IS NOT NULL ORDER BY seq DESC LIMIT 1",
            (session_id, seq),
        )
        return rows[0]["sha"] if rows and isinstance(rows[0]["sha"], str) else None

    def get(self, session_id: str, sink: str) -> int:
        """The session's watermark for ``sink`` (0 when nothing was exported)."""
        rows = self.db.read(
            "SELECT seq FROM export_watermarks WHERE session_id = ? AND sink = ?",
            (session_id, sink),
        )
        return int(rows[0]["seq"]) if rows else 0

    def advance(self, session_id: str, sink: str, seq: int, *, now: datetime | None = None) -> None:
        """Move the watermark up to ``seq`` (never down: a slower writer cannot undo a faster)."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO export_watermarks (session_id, sink, seq, exported_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (session_id, sink) DO UPDATE SET "
                "seq = excluded.seq, exported_at = excluded.exported_at "
                "WHERE excluded.seq > export_watermarks.seq",
                (session_id, sink, seq, ts(now or utcnow())),
            )

    def reset(self, sink: str, session_id: str | None = None) -> int:
        """Forget what was exported to ``sink`` (all sessions, or one); returns rows removed."""
        with self.db.write() as conn:
            if session_id is None:
                cursor = conn.execute("DELETE FROM export_watermarks WHERE sink = ?", (sink,))
            else:
                cursor = conn.execute(
                    "DELETE FROM export_watermarks WHERE sink = ? AND session_id = ?",
                    (sink, session_id),
                )
            return cursor.rowcount


def payload_of(row: sqlite3.Row) -> dict[str, Any]:
    """An event row's payload as a dict (an unreadable one as an empty dict)."""
    try:
        value = json.loads(row["payload"])
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}
