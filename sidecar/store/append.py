"""The append path of the store: checks, redaction, seqs, idempotency, footprint, activity.

Every writer's events pass :func:`append_prepared` inside one write
transaction (:meth:`sidecar.store.events.Events.append` and the importers'
batches). It reads events through :class:`~sidecar.core.kinds.Appendable`, so
a hook's :class:`~sidecar.core.kinds.EventDraft` and a client's validated
``NewEvent`` are checked, redacted and numbered the same way, and this module
imports no pydantic (an agent hook appends in a fresh process).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sidecar.core import footprint as footprint_core
from sidecar.core.kinds import BOOKKEEPING, Appendable, EventKind, SessionStatus, utcnow
from sidecar.core.redact import redact, redact_optional
from sidecar.core.text import event_text, prompt_preview
from sidecar.store.errors import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    PayloadTooLarge,
    SessionHeld,
    UnknownSession,
)
from sidecar.store.leases import other_live_holder
from sidecar.store.stamps import ts

#: One event ready to store: the event, its redacted payload and that payload's JSON.
Prepared = tuple[Appendable, dict[str, Any], str]

_CHUNK = 500


def prepare(
    events: Sequence[Appendable], max_payload_bytes: int
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


#: The longest client event id stored as it is (a client's ``NewEvent`` is refused beyond it).
CLIENT_ID_LIMIT = 200


def _bounded(client_id: str | None) -> str | None:
    """A client id the sidecar built itself (a hook's, an importer's) over the limit is stored
    as its digest: still unique and the same on every retry."""
    if client_id is None or len(client_id) <= CLIENT_ID_LIMIT:
        return client_id
    import hashlib

    return "sha256:" + hashlib.sha256(client_id.encode("utf-8", "surrogatepass")).hexdigest()


def append_in(
    conn: sqlite3.Connection,
    session_id: str,
    events: Sequence[Appendable],
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
    cids = [_bounded(redact_optional(e.client_event_id)) for e, _, _ in prepared]
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
        if kind not in BOOKKEEPING and (latest_time is None or stamp > latest_time):
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
    if latest_time is None:
        # Only the sidecar's bookkeeping (a branch change, a drift, a decision): recorded,
        # but the session was not active, so its activity and status stay as they were.
        conn.execute(
            "UPDATE sessions SET event_count = ?, updated_at = ? WHERE id = ?",
            (last_seq, default_stamp, session_id),
        )
        return seqs
    activity = latest_time if activity_from_events else max(latest_time, default_stamp)
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
