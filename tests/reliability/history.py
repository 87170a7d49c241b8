"""Reading a session's whole history back, and the checks every reliability test makes."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.reliability.rpc import RawClient

PAGE = 1000


def all_events(client: RawClient, session_id: str) -> list[dict[str, Any]]:
    """Every event of ``session_id`` through ``sidecar/sessions/events``, paged."""
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        page = client.request(
            "sidecar/sessions/events", {"sessionId": session_id, "afterSeq": after, "limit": PAGE}
        )
        events.extend(page["items"])
        if not page["items"] or page.get("nextAfterSeq") is None:
            return events
        after = page["nextAfterSeq"]


def assert_contiguous(events: list[dict[str, Any]], what: str) -> None:
    """Seqs are 1..n with no gap or repeat, and no client event id is stored twice."""
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(seqs) + 1)), f"{what}: seqs not contiguous from 1"
    ids = [e["clientEventId"] for e in events if e.get("clientEventId")]
    assert len(ids) == len(set(ids)), f"{what}: a client event id is stored twice"


def integrity(db: Path) -> str:
    """``PRAGMA integrity_check`` on the database file (read-only connection)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()
