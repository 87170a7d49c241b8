"""Mapping between model objects and SQLite rows (by column name), timestamps, cursors."""

from __future__ import annotations

import base64
import json
import sqlite3
from datetime import datetime
from typing import Any

from sidecar.core.models import (
    Action,
    Annotation,
    Approval,
    ApprovalState,
    Boundary,
    Checkpoint,
    Choice,
    Event,
    EventKind,
    FootprintEntry,
    Session,
    SessionStatus,
    utcnow,
)
from sidecar.core.redact import redact_optional
from sidecar.store.errors import InvalidRequest
from sidecar.store.plain import SESSION_COLUMNS as SESSION_COLUMNS, SESSION_FIELDS as SESSION_FIELDS
from sidecar.store.stamps import parse_ts as parse_ts, ts as ts

#: The event columns `event_from_row` reads, in this order.
EVENT_FIELDS = ("seq", "time", "kind", "actor", "payload", "client_event_id")
EVENT_COLUMNS = ", ".join(EVENT_FIELDS)


def _stamp(value: str | None) -> datetime:
    return parse_ts(value) or utcnow()


def boundary_row(boundary: Boundary) -> dict[str, Any]:
    """The session columns that hold a boundary."""
    return {
        "repository": boundary.repository,
        "worktree": boundary.worktree,
        "branch": boundary.branch,
        "requester": boundary.requester,
        "machine": boundary.machine,
        "task": redact_optional(boundary.task),
        "phase": boundary.phase.value if boundary.phase else None,
        "provider": boundary.provider,
    }


def session_from_row(row: sqlite3.Row) -> Session:
    """A session from a row selected with :data:`SESSION_COLUMNS`.

    Unpacked in :data:`SESSION_FIELDS` order (the names below are those fields;
    ``tests/test_store.py`` checks they match): listing sessions is mostly this
    function, and unpacking is several times cheaper than 28 lookups by name.
    """
    (
        id_,
        name,
        description,
        status,
        repository,
        worktree,
        branch,
        requester,
        machine,
        task,
        phase,
        provider,
        created_at,
        updated_at,
        last_event_at,
        activity_at,
        event_count,
        last_prompt,
        head_sha,
        parent_id,
        forked_at_seq,
        root_id,
        agent_name,
        tags,
        pinned,
        provider_ref,
        holder,
        holder_expires_at,
    ) = row
    del activity_at  # selected for paging cursors, not a model field
    return Session(
        id=id_,
        name=name,
        description=description,
        status=SessionStatus(status),
        boundary=Boundary(
            repository=repository,
            worktree=worktree,
            branch=branch,
            requester=requester,
            machine=machine,
            task=task,
            phase=phase,
            provider=provider,
        ),
        created_at=_stamp(created_at),
        updated_at=_stamp(updated_at),
        last_event_at=parse_ts(last_event_at),
        event_count=event_count,
        last_prompt=last_prompt,
        head_sha=head_sha,
        parent_id=parent_id,
        forked_at_seq=forked_at_seq,
        root_id=root_id,
        agent_name=agent_name,
        tags=json.loads(tags or "[]"),
        pinned=bool(pinned),
        provider_ref=provider_ref,
        holder=holder,
        holder_expires_at=parse_ts(holder_expires_at),
    )


def event_from_row(row: sqlite3.Row, session_id: str) -> Event:
    """An event as read through `session_id` (a fork reads its ancestors' rows as its
    own), from a row selected with :data:`EVENT_COLUMNS` (unpacked in that order)."""
    seq, time, kind, actor, payload, client_event_id = row
    return Event(
        session_id=session_id,
        seq=seq,
        time=_stamp(time),
        kind=EventKind(kind),
        actor=actor,
        payload=json.loads(payload),
        client_event_id=client_event_id,
    )


def footprint_from_row(r: sqlite3.Row) -> FootprintEntry:
    return FootprintEntry(path=r["path"], weight=r["weight"], last_seq=r["last_seq"])


def checkpoint_from_row(r: sqlite3.Row) -> Checkpoint:
    return Checkpoint(
        id=r["id"],
        session_id=r["session_id"],
        name=r["name"],
        seq=r["seq"],
        head_sha=r["head_sha"],
        snapshot_sha=r["snapshot_sha"],
        ref=r["ref"],
        created_at=_stamp(r["created_at"]),
    )


def annotation_from_row(r: sqlite3.Row) -> Annotation:
    return Annotation(
        id=r["id"],
        session_id=r["session_id"],
        seq=r["seq"],
        code=r["code"],
        text=r["text"],
        created_at=_stamp(r["created_at"]),
    )


def approval_from_row(r: sqlite3.Row) -> Approval:
    return Approval(
        id=r["id"],
        session_id=r["session_id"],
        title=r["title"],
        detail=r["detail"],
        state=ApprovalState(r["state"]),
        requested_seq=r["requested_seq"],
        decided_seq=r["decided_seq"],
        decided_by=r["decided_by"],
        reason=r["reason"],
        created_at=_stamp(r["created_at"]),
        decided_at=parse_ts(r["decided_at"]),
    )


def choice_from_row(r: sqlite3.Row) -> Choice:
    return Choice(
        repository=r["repository"],
        branch=r["branch"],
        action=Action(r["action"]),
        created_at=_stamp(r["created_at"]),
    )


def encode_cursor(activity: str, session_id: str) -> str:
    return base64.urlsafe_b64encode(f"{activity}|{session_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, str]:
    try:
        activity, session_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        parse_ts(activity)
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidRequest(
            f"invalid cursor {cursor!r}: pass the nextCursor of a previous page"
        ) from error
    return activity, session_id
