"""Forward-only, versioned migrations. `PRAGMA user_version` holds the version.

Each migration is a function over a sqlite-utils `Database`; it runs inside the
caller's transaction. Never edit a released migration: add a new one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from sidecar.core.text import event_text

if TYPE_CHECKING:
    import sqlite_utils


def _v1_sessions_and_events(db: sqlite_utils.Database) -> None:
    """Sessions with summary columns, and events keyed by (session_id, seq)."""
    db.table("sessions").create(
        {
            "id": str,
            "name": str,
            "description": str,
            "status": str,
            "repository": str,
            "worktree": str,
            "branch": str,
            "requester": str,
            "machine": str,
            "task": str,
            "phase": str,
            "provider": str,
            "created_at": str,
            "updated_at": str,
            "last_event_at": str,
            "activity_at": str,
            "event_count": int,
            "last_prompt": str,
            "head_sha": str,
            "parent_id": str,
            "forked_at_seq": int,
            "root_id": str,
            "agent_name": str,
            "tags": str,
            "pinned": int,
            "provider_ref": str,
        },
        pk="id",
        not_null={
            "name",
            "description",
            "status",
            "repository",
            "worktree",
            "branch",
            "requester",
            "machine",
            "created_at",
            "updated_at",
            "activity_at",
            "event_count",
            "tags",
            "pinned",
        },
        defaults={"name": "", "description": "", "event_count": 0, "tags": "[]", "pinned": 0},
    )
    # Summary-table indexes keep "recent sessions" an index walk, whatever the event count.
    db.table("sessions").create_index(["activity_at", "id"], index_name="sessions_recent")
    db.table("sessions").create_index(
        ["repository", "branch", "activity_at"], index_name="sessions_by_branch"
    )
    db.table("sessions").create_index(
        ["worktree", "activity_at"], index_name="sessions_by_worktree"
    )
    db.table("sessions").create_index(["repository", "activity_at"], index_name="sessions_by_repo")
    db.table("events").create(
        {
            "session_id": str,
            "seq": int,
            "time": str,
            "kind": str,
            "actor": str,
            "payload": str,
            "client_event_id": str,
        },
        pk=("session_id", "seq"),
        not_null={"session_id", "seq", "time", "kind", "actor", "payload"},
    )
    db.execute(
        "CREATE UNIQUE INDEX events_client_id ON events(session_id, client_event_id) "
        "WHERE client_event_id IS NOT NULL"
    )


def _v2_footprint_choices_checkpoints(db: sqlite_utils.Database) -> None:
    """Footprint, remembered choices, checkpoints, annotations, provider refs."""
    db.table("footprint").create(
        {"session_id": str, "path": str, "weight": float, "last_seq": int},
        pk=("session_id", "path"),
        not_null={"weight", "last_seq"},
    )
    db.table("choices").create(
        {"repository": str, "branch": str, "action": str, "created_at": str},
        pk=("repository", "branch"),
        not_null={"action", "created_at"},
    )
    db.table("checkpoints").create(
        {
            "id": str,
            "session_id": str,
            "name": str,
            "seq": int,
            "head_sha": str,
            "snapshot_sha": str,
            "ref": str,
            "created_at": str,
        },
        pk="id",
        not_null={"session_id", "name", "seq", "created_at"},
    )
    db.table("checkpoints").create_index(["session_id"], index_name="checkpoints_by_session")
    db.table("annotations").create(
        {
            "id": str,
            "session_id": str,
            "seq": int,
            "code": str,
            "text": str,
            "created_at": str,
        },
        pk="id",
        not_null={"session_id", "code", "text", "created_at"},
    )
    db.table("annotations").create_index(
        ["session_id", "code"], index_name="annotations_by_session"
    )
    db.table("sessions").create_index(
        ["provider", "provider_ref"], index_name="sessions_by_provider_ref"
    )
    db.table("sessions").create_index(["parent_id"], index_name="sessions_by_parent")


def _v3_search_cache_approvals_holders(db: sqlite_utils.Database) -> None:
    """Full-text search (indexed lazily, off the append path), cache, approvals, holders."""
    db.execute("ALTER TABLE events ADD COLUMN text TEXT NOT NULL DEFAULT ''")
    _backfill_event_text(db)
    db.execute(
        "CREATE VIRTUAL TABLE events_fts USING fts5("
        "text, content='events', content_rowid='rowid', tokenize='unicode61')"
    )
    db.table("cache").create(
        {"session_id": str, "key": str, "value": str, "updated_at": str},
        pk=("session_id", "key"),
        not_null={"value", "updated_at"},
    )
    db.table("approvals").create(
        {
            "id": str,
            "session_id": str,
            "title": str,
            "detail": str,
            "state": str,
            "requested_seq": int,
            "decided_seq": int,
            "decided_by": str,
            "reason": str,
            "created_at": str,
            "decided_at": str,
        },
        pk="id",
        not_null={"session_id", "title", "detail", "state", "requested_seq", "reason"},
    )
    db.table("approvals").create_index(["session_id"], index_name="approvals_by_session")
    db.table("state").create({"key": str, "value": str}, pk="key", not_null={"value"})
    db.execute("ALTER TABLE sessions ADD COLUMN holder TEXT")
    db.execute("ALTER TABLE sessions ADD COLUMN holder_expires_at TEXT")


def _backfill_event_text(db: sqlite_utils.Database) -> None:
    """Events stored before v3 get their searchable text, so search sees them too."""
    conn = db.conn
    last = 0
    while True:
        rows = conn.execute(
            "SELECT rowid, payload FROM events WHERE rowid > ? ORDER BY rowid LIMIT 5000", (last,)
        ).fetchall()
        if not rows:
            return
        conn.executemany(
            "UPDATE events SET text = ? WHERE rowid = ?",
            [(event_text(json.loads(payload)), rowid) for rowid, payload in rows],
        )
        last = rows[-1][0]


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1_sessions_and_events,
    _v2_footprint_choices_checkpoints,
    _v3_search_cache_approvals_holders,
]

#: The schema version a fully migrated database has.
LATEST_VERSION = len(MIGRATIONS)


def _connection(db: sqlite_utils.Database | sqlite3.Connection) -> sqlite3.Connection:
    return db if isinstance(db, sqlite3.Connection) else db.conn


def current_version(db: sqlite_utils.Database | sqlite3.Connection) -> int:
    """The database's schema version (0 for a new, empty file)."""
    row = _connection(db).execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(db: sqlite_utils.Database | sqlite3.Connection, *, target: int = LATEST_VERSION) -> int:
    """Apply every migration above the current version up to `target`, one transaction each.

    Returns the version reached. A database newer than this code is refused rather
    than guessed at. sqlite-utils is imported only when there is something to migrate:
    an agent hook opening an up-to-date database should not pay for it.
    """
    version = current_version(db)
    if version > LATEST_VERSION:
        raise RuntimeError(
            f"the database has schema version {version}, newer than this session-sidecar "
            f"understands ({LATEST_VERSION}); upgrade session-sidecar"
        )
    if version >= target:
        return version
    import sqlite_utils

    conn = _connection(db)
    utils_db = db if isinstance(db, sqlite_utils.Database) else sqlite_utils.Database(conn)
    while version < target:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            version = current_version(conn)
            if version >= target:
                conn.execute("COMMIT")
                break
            MIGRATIONS[version](utils_db)
            version += 1
            conn.execute(f"PRAGMA user_version = {version}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return version
