"""A session's history as read through its forks, on an open connection.

A fork stores only its own events; it reads its ancestors' events up to the
fork point, so its history is one contiguous run of seqs from 1. These
functions work on the connection they are given (inside a transaction or under
the lock), never opening one of their own.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sidecar.core import footprint as footprint_core
from sidecar.core.models import Event, EventKind
from sidecar.store.errors import UnknownSession
from sidecar.store.rows import EVENT_COLUMNS, event_from_row

#: (source session, seq low exclusive, seq high inclusive or None for no bound).
Segment = tuple[str, int, int | None]

#: Most events one page returns.
MAX_PAGE = 10_000


def segments(conn: sqlite3.Connection, session_id: str) -> list[Segment]:
    """The ranges of stored rows that make up a session's history, oldest first."""
    found: list[Segment] = []
    current: str | None = session_id
    high: int | None = None
    seen: set[str] = set()
    while current and current not in seen:
        seen.add(current)
        row = conn.execute(
            "SELECT parent_id, forked_at_seq FROM sessions WHERE id = ?", (current,)
        ).fetchone()
        if row is None:
            if current == session_id:
                raise UnknownSession(session_id)
            break
        parent_id, forked_at = row["parent_id"], row["forked_at_seq"]
        low = int(forked_at) if forked_at else 0
        found.append((current, low, high))
        if not forked_at or not parent_id:
            break
        # A fork of a fork may branch off below its parent's own fork point.
        high = low if high is None else min(high, low)
        current = parent_id
    found.reverse()
    return found


def page_in(
    conn: sqlite3.Connection,
    session_id: str,
    *,
    after_seq: int = 0,
    limit: int = 100,
    kinds: Sequence[EventKind | str] | None = None,
) -> list[Event]:
    """Events with seq > `after_seq`, in seq order, at most `limit` (capped at MAX_PAGE)."""
    limit = max(1, min(int(limit), MAX_PAGE))
    kind_values = [EventKind(k).value for k in kinds] if kinds else None
    out: list[Event] = []
    for source_id, low, high in segments(conn, session_id):
        if len(out) >= limit:
            break
        start = max(after_seq, low)
        if high is not None and start >= high:
            continue
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE session_id = ? AND seq > ?"
        params: list[Any] = [source_id, start]
        if high is not None:
            sql += " AND seq <= ?"
            params.append(high)
        if kind_values:
            sql += f" AND kind IN ({', '.join('?' for _ in kind_values)})"
            params.extend(kind_values)
        sql += " ORDER BY seq LIMIT ?"
        params.append(limit - len(out))
        out.extend(event_from_row(r, session_id) for r in conn.execute(sql, params))
    return out


def inherited_footprint_in(
    conn: sqlite3.Connection, session_id: str, upto: int, worktree: str
) -> dict[str, tuple[float, int]]:
    """path -> (weight, last seq) of a session's history up to seq `upto`."""
    weights: dict[str, tuple[float, int]] = {}
    after = 0
    while after < upto:
        page = page_in(conn, session_id, after_seq=after, limit=min(1000, upto - after))
        if not page:
            break
        for event in page:
            for path, weight in footprint_core.paths_from_event(event, worktree).items():
                old, _ = weights.get(path, (0.0, 0))
                weights[path] = (old + weight, event.seq)
        after = page[-1].seq
    return weights


def materialize_in(conn: sqlite3.Connection, child_id: str, upto: int) -> None:
    """Copy a fork's inherited events (seq <= upto) into its own rows; it reads no parent then."""
    for source_id, low, high in segments(conn, child_id)[:-1]:
        conn.execute(
            # Client event ids are idempotency keys of the session that appended them,
            # so the copies do not carry them into the fork.
            "INSERT INTO events (session_id, seq, time, kind, actor, payload, text) "
            "SELECT ?, seq, time, kind, actor, payload, text FROM events "
            "WHERE session_id = ? AND seq > ? AND seq <= ?",
            (child_id, source_id, low, high if high is not None else upto),
        )
    conn.execute("UPDATE sessions SET forked_at_seq = NULL WHERE id = ?", (child_id,))
