"""Reads (and the one write) on plain values, for paths that must not import the models.

An agent hook's quiet path (a tool call on a session the hook already
records) runs in a fresh process and must not pay for pydantic; these serve
it, and the model-returning methods (``Sessions.find_by_provider_ref``,
``Sessions.footprint``, ``Sessions.end``, ``State.cache_get``) are built on
the same statements.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from sidecar.core.kinds import Actor, EventDraft, EventKind
from sidecar.store.errors import UnknownSession
from sidecar.store.stamps import ts

#: The session columns every session query selects, in this order.
SESSION_FIELDS = (
    "id", "name", "description", "status", "repository", "worktree", "branch", "requester",
    "machine", "task", "phase", "provider", "created_at", "updated_at", "last_event_at",
    "activity_at", "event_count", "last_prompt", "head_sha", "parent_id", "forked_at_seq",
    "root_id", "agent_name", "tags", "pinned", "provider_ref", "holder", "holder_expires_at",
)  # fmt: skip
SESSION_COLUMNS = ", ".join(SESSION_FIELDS)
#: How many footprint paths (heaviest first) the drift checks weigh.
FOOTPRINT_LIMIT = 200


def session_row_by_ref(conn: sqlite3.Connection, provider: str, ref: str) -> sqlite3.Row | None:
    """The session row (:data:`SESSION_FIELDS`) bound to a provider's own session id."""
    row: sqlite3.Row | None = conn.execute(
        f"SELECT {SESSION_COLUMNS} FROM sessions WHERE provider = ? AND provider_ref = ?",
        (provider, ref),
    ).fetchone()
    return row


def footprint_rows(
    conn: sqlite3.Connection, session_id: str, limit: int = FOOTPRINT_LIMIT
) -> list[sqlite3.Row]:
    """The paths a session touched (path, weight, last_seq), heaviest first."""
    return conn.execute(
        "SELECT path, weight, last_seq FROM footprint WHERE session_id = ? "
        "ORDER BY weight DESC, path LIMIT ?",
        (session_id, limit),
    ).fetchall()


def footprint_weights(
    conn: sqlite3.Connection, session_id: str, limit: int = FOOTPRINT_LIMIT
) -> dict[str, float]:
    """:func:`footprint_rows` as path -> weight."""
    return {row[0]: row[1] for row in footprint_rows(conn, session_id, limit)}


def own_recent_events(conn: sqlite3.Connection, session_id: str, limit: int) -> list[EventDraft]:
    """The session's own latest ``limit`` events (kind, actor, payload), newest first.

    A fork's inherited history is not read: callers that need it read pages."""
    rows = conn.execute(
        "SELECT kind, actor, payload FROM events WHERE session_id = ? ORDER BY seq DESC LIMIT ?",
        (session_id, limit),
    ).fetchall()
    return [EventDraft(EventKind(r[0]), json.loads(r[2]), Actor(r[1])) for r in rows]


def end_in(conn: sqlite3.Connection, session_id: str, now: datetime) -> None:
    """Mark a session ended and release its holder (inside the caller's write transaction)."""
    cursor = conn.execute(
        "UPDATE sessions SET status = 'ended', holder = NULL, holder_expires_at = NULL, "
        "updated_at = ? WHERE id = ?",
        (ts(now), session_id),
    )
    if cursor.rowcount == 0:
        raise UnknownSession(session_id)


def cache_value(conn: sqlite3.Connection, session_id: str, key: str) -> Any | None:
    """A session's cached value under ``key`` (JSON-decoded), or None."""
    row = conn.execute(
        "SELECT value FROM cache WHERE session_id = ? AND key = ?", (session_id, key)
    ).fetchone()
    return json.loads(row[0]) if row else None
