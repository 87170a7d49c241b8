"""Forward-only, versioned migrations. `PRAGMA user_version` holds the version.

Each migration is a function over a sqlite-utils `Database`; it runs inside the
caller's transaction, with foreign keys off. Never edit a released migration: add a new one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

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
    from sidecar.core.text import event_text

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


# ---------------------------------------------------------------------- v4

#: Tables rebuilt by v4 with foreign keys: (name, columns and constraints, indexes).
_V4_TABLES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "sessions",
        """
        "id" TEXT PRIMARY KEY,
        "name" TEXT NOT NULL DEFAULT '',
        "description" TEXT NOT NULL DEFAULT '',
        "status" TEXT NOT NULL,
        "repository" TEXT NOT NULL,
        "worktree" TEXT NOT NULL,
        "branch" TEXT NOT NULL,
        "requester" TEXT NOT NULL,
        "machine" TEXT NOT NULL,
        "task" TEXT,
        "phase" TEXT,
        "provider" TEXT,
        "created_at" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL,
        "last_event_at" TEXT,
        "activity_at" TEXT NOT NULL,
        "event_count" INTEGER NOT NULL DEFAULT 0,
        "last_prompt" TEXT,
        "head_sha" TEXT,
        "parent_id" TEXT REFERENCES sessions(id) ON DELETE SET NULL,
        "forked_at_seq" INTEGER,
        "root_id" TEXT REFERENCES sessions(id) ON DELETE SET NULL,
        "agent_name" TEXT,
        "tags" TEXT NOT NULL DEFAULT '[]',
        "pinned" INTEGER NOT NULL DEFAULT 0,
        "provider_ref" TEXT,
        "holder" TEXT,
        "holder_expires_at" TEXT
        """,
        (
            'CREATE INDEX sessions_recent ON sessions ("activity_at", "id")',
            'CREATE INDEX sessions_by_branch ON sessions ("repository", "branch", "activity_at")',
            'CREATE INDEX sessions_by_worktree ON sessions ("worktree", "activity_at")',
            'CREATE INDEX sessions_by_repo ON sessions ("repository", "activity_at")',
            'CREATE INDEX sessions_by_parent ON sessions ("parent_id")',
            'CREATE INDEX sessions_by_root ON sessions ("root_id")',
            "CREATE UNIQUE INDEX sessions_provider_ref ON sessions (provider, provider_ref) "
            "WHERE provider_ref IS NOT NULL",
        ),
    ),
    (
        "events",
        """
        "session_id" TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        "seq" INTEGER NOT NULL CHECK (seq >= 1),
        "time" TEXT NOT NULL,
        "kind" TEXT NOT NULL,
        "actor" TEXT NOT NULL,
        "payload" TEXT NOT NULL,
        "client_event_id" TEXT,
        "text" TEXT NOT NULL DEFAULT '',
        PRIMARY KEY ("session_id", "seq")
        """,
        (
            "CREATE UNIQUE INDEX events_client_id ON events(session_id, client_event_id) "
            "WHERE client_event_id IS NOT NULL",
        ),
    ),
    (
        "footprint",
        """
        "session_id" TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        "path" TEXT,
        "weight" REAL NOT NULL,
        "last_seq" INTEGER NOT NULL,
        PRIMARY KEY ("session_id", "path")
        """,
        (),
    ),
    (
        "checkpoints",
        """
        "id" TEXT PRIMARY KEY,
        "session_id" TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        "name" TEXT NOT NULL,
        "seq" INTEGER NOT NULL,
        "head_sha" TEXT,
        "snapshot_sha" TEXT,
        "ref" TEXT,
        "created_at" TEXT NOT NULL
        """,
        ('CREATE INDEX checkpoints_by_session ON checkpoints ("session_id")',),
    ),
    (
        "annotations",
        """
        "id" TEXT PRIMARY KEY,
        "session_id" TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        "seq" INTEGER,
        "code" TEXT NOT NULL,
        "text" TEXT NOT NULL,
        "created_at" TEXT NOT NULL
        """,
        ('CREATE INDEX annotations_by_session ON annotations ("session_id", "code")',),
    ),
    (
        "cache",
        """
        "session_id" TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        "key" TEXT,
        "value" TEXT NOT NULL,
        "updated_at" TEXT NOT NULL,
        PRIMARY KEY ("session_id", "key")
        """,
        (),
    ),
    (
        "approvals",
        """
        "id" TEXT PRIMARY KEY,
        "session_id" TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        "title" TEXT NOT NULL,
        "detail" TEXT NOT NULL,
        "state" TEXT NOT NULL,
        "requested_seq" INTEGER NOT NULL,
        "decided_seq" INTEGER,
        "decided_by" TEXT,
        "reason" TEXT NOT NULL,
        "created_at" TEXT,
        "decided_at" TEXT
        """,
        ('CREATE INDEX approvals_by_session ON approvals ("session_id")',),
    ),
)

#: Removes deleted events from the full-text index when they were indexed, and keeps
#: the index mark at or below the highest rowid: SQLite reuses the rowids of deleted
#: top rows, and a reused rowid below the mark would never be indexed.
_FTS_DELETE_TRIGGER = """
CREATE TRIGGER events_fts_delete AFTER DELETE ON events
WHEN old.rowid <= COALESCE((SELECT CAST(value AS INTEGER) FROM state WHERE key = 'fts_rowid'), 0)
BEGIN
    INSERT INTO events_fts (events_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
    UPDATE state SET value = (SELECT COALESCE(max(rowid), 0) FROM events)
    WHERE key = 'fts_rowid'
      AND CAST(value AS INTEGER) > (SELECT COALESCE(max(rowid), 0) FROM events);
END
"""

_DERIVED = ("events", "footprint", "checkpoints", "annotations", "cache", "approvals")


def _v4_integrity(db: sqlite_utils.Database) -> None:
    """Invariants in the schema: one session per provider session, foreign keys, leases;
    the paths where each repository was seen.

    Sessions recorded twice for one (provider, provider_ref) are merged; every
    table that belongs to a session is rebuilt with a cascading foreign key
    (events keep their rowids, which the full-text index uses). Runs with
    foreign keys off (see `migrate`); `foreign_key_check` must pass before commit.
    """
    from sidecar.store.merge import fts_mark, merge_duplicate_refs

    conn = db.conn
    # A mark above the highest rowid (its top rows were deleted) would hide reused rowids.
    top = conn.execute("SELECT COALESCE(max(rowid), 0) FROM events").fetchone()[0]
    if fts_mark(conn) > top:
        conn.execute("UPDATE state SET value = ? WHERE key = 'fts_rowid'", (json.dumps(top),))
    _drop_orphans(conn)
    merge_duplicate_refs(conn)
    for table, columns, indexes in _V4_TABLES:
        _rebuild(conn, table, columns, indexes)
    db.table("leases").create(
        {"name": str, "holder": str, "expires_at": str},
        pk="name",
        not_null={"holder", "expires_at"},
    )
    # Where each repository was seen: the hint that follows a repository when it moves.
    db.table("repository_paths").create(
        {"repository": str, "path": str, "seen_at": str},
        pk=("repository", "path"),
        not_null={"seen_at"},
    )
    conn.execute(_FTS_DELETE_TRIGGER)
    problems = conn.execute("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"schema v4: rows still point at missing sessions: {problems[:5]}")


def _drop_orphans(conn: sqlite3.Connection) -> None:
    """Rows of sessions that no longer exist go; dangling lineage links become NULL."""
    from sidecar.store.merge import unindex

    missing = "NOT EXISTS (SELECT 1 FROM sessions s WHERE s.id = {t}.session_id)"
    unindex(conn, missing.format(t="events"))
    for table in _DERIVED:
        conn.execute(f"DELETE FROM {table} WHERE " + missing.format(t=table))
    for column in ("parent_id", "root_id"):
        conn.execute(
            f"UPDATE sessions SET {column} = NULL WHERE {column} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM sessions p WHERE p.id = sessions.{column})"
        )


def _rebuild(conn: sqlite3.Connection, table: str, columns: str, indexes: tuple[str, ...]) -> None:
    """Recreate `table` with new constraints, keeping every row and its rowid."""
    names = ", ".join(f'"{row[1]}"' for row in conn.execute(f"PRAGMA table_info({table})"))
    conn.execute(f'CREATE TABLE "{table}_v4" ({columns})')
    conn.execute(
        f'INSERT INTO "{table}_v4" (rowid, {names}) SELECT rowid, {names} FROM "{table}" '
        "ORDER BY rowid"
    )
    conn.execute(f'DROP TABLE "{table}"')
    conn.execute(f'ALTER TABLE "{table}_v4" RENAME TO "{table}"')
    for sql in indexes:
        conn.execute(sql)


def _v5_export_watermarks(db: sqlite_utils.Database) -> None:
    """The export watermark: per session and sink, the highest seq a sink has accepted.

    Written by the exporter only (never on the append path), after the sink reported
    success; it goes with its session.
    """
    db.conn.execute(
        """
        CREATE TABLE "export_watermarks" (
            "session_id" TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            "sink" TEXT NOT NULL,
            "seq" INTEGER NOT NULL CHECK (seq >= 0),
            "exported_at" TEXT NOT NULL,
            PRIMARY KEY ("session_id", "sink")
        )
        """
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [
    _v1_sessions_and_events,
    _v2_footprint_choices_checkpoints,
    _v3_search_cache_approvals_holders,
    _v4_integrity,
    _v5_export_watermarks,
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
    # Tables are rebuilt under foreign keys; the pragma cannot change inside a transaction.
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
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
    finally:
        conn.execute("PRAGMA foreign_keys = ON")
    return version
