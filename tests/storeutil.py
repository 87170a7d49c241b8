"""Helpers for store tests: boundaries and events without ceremony."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sidecar.core.models import Boundary, NewEvent
from sidecar.store import Store


def boundary(
    branch: str = "main",
    *,
    repository: str = "example.com/acme/app",
    worktree: str = "/src/app",
    requester: str = "dev@example.com",
    machine: str = "box",
    **extra: Any,
) -> Boundary:
    """A boundary with sensible defaults; override any field by keyword."""
    return Boundary(
        repository=repository,
        worktree=worktree,
        branch=branch,
        requester=requester,
        machine=machine,
        **extra,
    )


def note(text: str = "", *, cid: str | None = None, kind: str = "note") -> NewEvent:
    """A small event carrying `text`."""
    return NewEvent(kind=kind, actor="agent", payload={"text": text}, client_event_id=cid)


def append(
    store: Store,
    session_id: str,
    events: Sequence[NewEvent],
    *,
    holder: str | None = None,
    **options: Any,
) -> list[int]:
    """`store.events.append` as the sidecar's own bookkeeping (no holder) unless given one."""
    return store.events.append(session_id, events, holder=holder, **options)


#: A damaged SQLite database: SQLite's header, then bytes that are not pages.
CORRUPT_SQLITE = b"SQLite format 3\x00" + b"this is not an SQLite database, just bytes\n" * 200
