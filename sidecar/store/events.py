"""Events: appending (seqs, idempotency, redaction, footprint), pages, full-text search.

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
from typing import Any

from sidecar.core import footprint as footprint_core
from sidecar.core.models import (
    Event,
    EventKind,
    NewEvent,
    SearchHit,
    SessionStatus,
    utcnow,
)
from sidecar.core.redact import redact, redact_optional
from sidecar.core.text import event_text, prompt_preview
from sidecar.store.database import Database
from sidecar.store.errors import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    PayloadTooLarge,
    SessionHeld,
    UnknownSession,
)
from sidecar.store.history import page_in
from sidecar.store.leases import other_live_holder
from sidecar.store.rows import parse_ts, ts

#: One event ready to store: the event, its redacted payload and that payload's JSON.
Prepared = tuple[NewEvent, dict[str, Any], str]

_CHUNK = 500


def prepare(
    events: Sequence[NewEvent], max_payload_bytes: int
) -> tuple[list[Prepared], PayloadTooLarge | None]:
    """Redact and serialize a batch; the first payload over the limit, if any.

    The limit applies to the payload as sent (compact UTF-8 JSON). Payloads that
    redaction leaves unchanged are serialized once.
    """
    dumps = json.dumps
    surely_fits = max_payload_bytes // 4  # a character is at most 4 bytes of UTF-8
    out: list[Prepared] = []
    for index, event in enumerate(events):
        raw = event.payload
        text = dumps(raw, ensure_ascii=False, separators=(",", ":"))
        if len(text) > surely_fits:
            size = len(text.encode("utf-8", "surrogatepass"))
            if size > max_payload_bytes:
                return [], PayloadTooLarge(index, size, max_payload_bytes)
        payload = redact(raw)
        if payload != raw:
            text = dumps(payload, ensure_ascii=False, separators=(",", ":"))
        out.append((event, payload, text))
    return out, None


def append_in(
    conn: sqlite3.Connection,
    session_id: str,
    events: Sequence[NewEvent],
    *,
    holder: str | None,
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    now: datetime | None = None,
    activity_from_events: bool = False,
) -> list[int]:
    """`Events.append` on a transaction that is already open on `conn`."""
    prepared, too_large = prepare(events, max_payload_bytes)
    return append_prepared(
        conn,
        session_id,
        prepared,
        too_large,
        holder=holder,
        now=now or utcnow(),
        activity_from_events=activity_from_events,
    )


def known_client_ids(
    conn: sqlite3.Connection, session_id: str, client_ids: Iterable[str]
) -> dict[str, int]:
    """The seqs of this session's own events with these client event ids."""
    wanted = list(dict.fromkeys(client_ids))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        marks = ", ".join("?" for _ in chunk)
        for row in conn.execute(
            "SELECT client_event_id, seq FROM events WHERE session_id = ? "
            f"AND client_event_id IN ({marks})",
            [session_id, *chunk],
        ):
            found[row[0]] = row[1]
    return found


def append_prepared(
    conn: sqlite3.Connection,
    session_id: str,
    prepared: Sequence[Prepared],
    too_large: PayloadTooLarge | None,
    *,
    holder: str | None,
    now: datetime,
    activity_from_events: bool = False,
) -> list[int]:
    """The checks and writes of one append, in the order the contract gives them."""
    row = conn.execute(
        "SELECT event_count, worktree, status, holder, holder_expires_at FROM sessions "
        "WHERE id = ?",
        (session_id,),
    ).fetchone()
    if row is None:
        raise UnknownSession(session_id)
    if holder is not None and row["holder"] is not None:
        other = other_live_holder(row, holder, now)
        if other is not None:
            raise SessionHeld(session_id, other)
    if too_large is not None:
        raise too_large
    last_seq: int = row["event_count"]
    worktree: str = row["worktree"]
    # Client ids are stored text like any other: redacted (the same way every time).
    cids = [redact_optional(e.client_event_id) for e, _, _ in prepared]
    client_ids = [cid for cid in cids if cid]
    known = known_client_ids(conn, session_id, client_ids) if client_ids else {}
    default_stamp = ts(now)
    seqs: list[int] = []
    rows: list[tuple[Any, ...]] = []
    weights: dict[str, tuple[float, int]] = {}
    latest_prompt: str | None = None
    latest_time: str | None = None
    paths_from_event = footprint_core.paths_from_event
    for (event, payload, text), cid in zip(prepared, cids, strict=True):
        if cid and cid in known:
            seqs.append(known[cid])
            continue
        last_seq += 1
        if cid:
            known[cid] = last_seq
        stamp = ts(event.time) if event.time else default_stamp
        kind = EventKind(event.kind)
        rows.append(
            (
                session_id,
                last_seq,
                stamp,
                kind.value,
                event.actor.value,
                text,
                cid,
                event_text(payload),
            )
        )
        seqs.append(last_seq)
        if latest_time is None or stamp > latest_time:
            latest_time = stamp
        if kind is EventKind.PROMPT:
            latest_prompt = prompt_preview(payload)
        for path, weight in paths_from_event(event, worktree).items():
            old, _ = weights.get(path, (0.0, 0))
            weights[path] = (old + weight, last_seq)
    if not rows:
        return seqs
    conn.executemany(
        "INSERT INTO events (session_id, seq, time, kind, actor, payload, client_event_id, "
        "text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    if weights:
        conn.executemany(
            "INSERT INTO footprint (session_id, path, weight, last_seq) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (session_id, path) DO UPDATE SET weight = weight + excluded.weight, "
            "last_seq = excluded.last_seq",
            [(session_id, p, w, s) for p, (w, s) in weights.items()],
        )
    if activity_from_events and latest_time:
        activity = latest_time
    else:
        activity = max(latest_time or default_stamp, default_stamp)
    status = row["status"]
    new_status = SessionStatus.ACTIVE.value if status == "idle" else status
    # MAX keeps activity monotonic when an import appends older events later.
    conn.execute(
        "UPDATE sessions SET event_count = ?, "
        "last_event_at = MAX(COALESCE(last_event_at, ''), ?), "
        "activity_at = MAX(COALESCE(last_event_at, ''), ?, created_at), "
        "updated_at = ?, status = ?, last_prompt = COALESCE(?, last_prompt) WHERE id = ?",
        (last_seq, activity, activity, default_stamp, new_status, latest_prompt, session_id),
    )
    return seqs


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
        events: Sequence[NewEvent],
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
