"""Events: appending (:mod:`sidecar.store.append`), pages, full-text search.

>>> from sidecar.core.models import Boundary, NewEvent
>>> from sidecar.store import Store
>>> store = Store.open(":memory:")
>>> b = Boundary(repository="r", worktree="/w", branch="main", requester="me", machine="m")
>>> s = store.sessions.create(b, name="demo")
>>> store.events.append(s.id, [NewEvent(kind="prompt", payload={"text": "hi"})], holder=None)
[1]
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sidecar.core.kinds import Appendable, EventKind, utcnow
from sidecar.store.append import append_prepared, known_client_ids, prepare
from sidecar.store.errors import DEFAULT_MAX_PAYLOAD_BYTES, UnknownSession

if TYPE_CHECKING:
    from sidecar.core.models import Event, SearchHit
    from sidecar.store.database import Database


def _fts_query(text: str) -> str:
    """A safe FTS5 query from user text: every word must match; `word*` is a prefix."""
    terms = []
    for word in text.split():
        prefix = word.endswith("*")
        word = word.rstrip("*").replace('"', '""')
        if word:
            terms.append(f'"{word}"' + ("*" if prefix else ""))
    return " ".join(terms)


class Events:
    """Appending to sessions and reading their histories."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def append(
        self,
        session_id: str,
        events: Sequence[Appendable],
        *,
        holder: str | None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        now: datetime | None = None,
        activity_from_events: bool = False,
    ) -> list[int]:
        """Append a batch atomically; returns each event's seq, in order.

        `holder` is the appending connection's id, or None for the sidecar's own
        bookkeeping records; a session another live connection holds refuses a
        holder with `SessionHeld`. A payload over `max_payload_bytes` refuses the
        batch with `PayloadTooLarge`. Seqs continue the session's contiguous
        sequence; an event whose `client_event_id` was appended before gets its
        original seq back and is not stored twice. Payloads are redacted before
        they are stored. With `activity_from_events` (imports of old history) the
        session's last activity is the latest event time rather than now.
        """
        if not events:
            self.last_seq(session_id)
            return []
        now = now or utcnow()
        # Redaction and serialization happen before the write lock is taken.
        prepared, too_large = prepare(events, max_payload_bytes)
        with self.db.write() as conn:
            return append_prepared(
                conn,
                session_id,
                prepared,
                too_large,
                holder=holder,
                now=now,
                activity_from_events=activity_from_events,
            )

    def page(
        self,
        session_id: str,
        *,
        after_seq: int = 0,
        limit: int = 100,
        kinds: Sequence[EventKind | str] | None = None,
    ) -> list[Event]:
        """A page of events with seq > `after_seq`, in seq order.

        A fork's history includes its ancestors' events up to the fork point, so
        the page reads as one contiguous history from seq 1.
        """
        from sidecar.store.history import page_in

        with self.db.reading() as conn:
            return page_in(conn, session_id, after_seq=after_seq, limit=limit, kinds=kinds)

    def iter_all(self, session_id: str) -> Iterator[Event]:
        """Every event of the session's history, in seq order (read page by page)."""
        after = 0
        while True:
            page = self.page(session_id, after_seq=after, limit=5000)
            if not page:
                return
            yield from page
            after = page[-1].seq

    def recent(self, session_id: str, limit: int = 50) -> list[Event]:
        """The latest `limit` events of the session's history, in seq order."""
        from sidecar.store.history import page_in

        with self.db.reading() as conn:
            last = _last_seq(conn, session_id)
            after = max(0, last - max(1, int(limit)))
            return page_in(conn, session_id, after_seq=after, limit=limit)

    def last_seq(self, session_id: str) -> int:
        """The seq of the session's latest event (0 when it has none)."""
        with self.db.reading() as conn:
            return _last_seq(conn, session_id)

    def seqs_for_client_ids(self, session_id: str, ids: Iterable[str]) -> dict[str, int]:
        """The seqs of this session's own events with these client event ids."""
        with self.db.reading() as conn:
            return known_client_ids(conn, session_id, ids)

    # ------------------------------------------------------------------ search

    def index_pending(self, *, batch: int = 50_000) -> int:
        """Add events appended since the last call to the full-text index.

        Appends never touch the index (that would cut throughput 3-7x); search
        calls this first, and the server may call it when idle. Returns how many
        events were indexed.
        """
        total = 0
        while True:
            with self.db.write() as conn:
                row = conn.execute("SELECT value FROM state WHERE key = 'fts_rowid'").fetchone()
                mark = int(json.loads(row["value"])) if row else 0
                top = conn.execute(
                    "SELECT max(rowid) FROM (SELECT rowid FROM events WHERE rowid > ? "
                    "ORDER BY rowid LIMIT ?)",
                    (mark, batch),
                ).fetchone()[0]
                if top is None:
                    return total
                cursor = conn.execute(
                    "INSERT INTO events_fts (rowid, text) SELECT rowid, text FROM events "
                    "WHERE rowid > ? AND rowid <= ?",
                    (mark, top),
                )
                total += max(cursor.rowcount, 0)
                conn.execute(
                    "INSERT INTO state (key, value) VALUES ('fts_rowid', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (json.dumps(top),),
                )

    def search(
        self,
        query: str,
        *,
        repository: str | None = None,
        worktree: str | None = None,
        branch: str | None = None,
        limit: int = 50,
    ) -> list[SearchHit]:
        """Newest events whose text matches every word of `query`, with a snippet."""
        from sidecar.core.models import SearchHit
        from sidecar.store.stamps import parse_ts

        match = _fts_query(query)
        if not match:
            return []
        if not self.db.read_only:
            self.index_pending()
        where = ["events_fts MATCH ?"]
        params: list[Any] = [match]
        for column, value in (
            ("repository", repository),
            ("worktree", worktree),
            ("branch", branch),
        ):
            if value is not None:
                where.append(f"s.{column} = ?")
                params.append(value)
        sql = (
            "SELECT e.session_id, s.name, e.seq, e.kind, e.time, "
            "snippet(events_fts, 0, '[', ']', '…', 12) AS snippet "
            "FROM events_fts JOIN events e ON e.rowid = events_fts.rowid "
            "JOIN sessions s ON s.id = e.session_id "
            f"WHERE {' AND '.join(where)} ORDER BY events_fts.rowid DESC LIMIT ?"
        )
        params.append(max(1, min(int(limit), 500)))
        return [
            SearchHit(
                session_id=r["session_id"],
                session_name=r["name"],
                seq=r["seq"],
                kind=EventKind(r["kind"]),
                time=parse_ts(r["time"]) or utcnow(),
                snippet=r["snippet"] or "",
            )
            for r in self.db.read(sql, params)
        ]


def _last_seq(conn: sqlite3.Connection, session_id: str) -> int:
    row = conn.execute("SELECT event_count FROM sessions WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise UnknownSession(session_id)
    return int(row["event_count"])
