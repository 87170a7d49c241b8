"""Forward-only migrations: from an empty file and from every earlier version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from sidecar.store import Store, schema
from tests.storeutil import boundary, note


def _database_at(path: Path, version: int) -> None:
    """A file migrated only up to `version`, with one session and two events."""
    conn = sqlite3.connect(path, isolation_level=None)
    db = sqlite_utils.Database(conn)
    schema.migrate(db, target=version)
    if version >= 1:
        conn.execute(
            "INSERT INTO sessions (id, name, description, status, repository, worktree, branch, "
            "requester, machine, created_at, updated_at, activity_at, event_count, tags, pinned) "
            "VALUES ('old1', 'legacy', '', 'active', 'r', '/w', 'main', 'me', 'box', "
            "'2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', "
            "'2026-01-01T00:00:00.000000Z', 2, '[]', 0)"
        )
        for seq in (1, 2):
            conn.execute(
                "INSERT INTO events (session_id, seq, time, kind, actor, payload) VALUES "
                f"('old1', {seq}, '2026-01-01T00:00:00.000000Z', 'note', 'agent', "
                f'\'{{"text": "legacy event {seq}"}}\')'
            )
        if version >= 3:
            # From v3 on, an append stores each event's searchable text with it.
            conn.execute("UPDATE events SET text = json_extract(payload, '$.text')")
    conn.close()


def test_empty_file_migrates_to_latest(tmp_path: Path) -> None:
    with Store.open(tmp_path / "new.db") as s:
        assert schema.current_version(s.db.conn) == schema.LATEST_VERSION


@pytest.mark.parametrize("version", range(1, schema.LATEST_VERSION))
def test_each_earlier_version_migrates_and_keeps_its_data(tmp_path: Path, version: int) -> None:
    path = tmp_path / f"v{version}.db"
    _database_at(path, version)
    with Store.open(path) as s:
        assert schema.current_version(s.db.conn) == schema.LATEST_VERSION
        assert [e.payload["text"] for e in s.events.page("old1")] == [
            "legacy event 1",
            "legacy event 2",
        ]
        assert s.events.append("old1", [note("after upgrade")], holder=None) == [3]
        # Events that predate the search index become searchable too.
        assert [h.seq for h in s.events.search("legacy")] == [2, 1]
        assert s.events.search("upgrade")[0].seq == 3
        s.sessions.create(boundary())


def test_migrating_twice_is_a_no_op(tmp_path: Path) -> None:
    path = tmp_path / "twice.db"
    Store.open(path).close()
    with Store.open(path) as s:
        assert schema.migrate(s.db.conn) == schema.LATEST_VERSION


def test_a_newer_schema_is_refused_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.LATEST_VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="upgrade session-sidecar"):
        Store.open(path)
