"""The session store: the only code that writes SQL.

One `Store` wraps one SQLite connection (sqlite-utils over the stdlib driver).
Open one per thread; any number of processes may open the same file: the
database runs in WAL mode with a busy timeout, and every write happens in a
`BEGIN IMMEDIATE` transaction, so seqs stay contiguous across writers.

>>> from sidecar.core.models import Boundary, NewEvent
>>> store = Store.open(":memory:")
>>> b = Boundary(repository="r", worktree="/w", branch="main", requester="me", machine="m")
>>> s = store.start_session(b, name="demo")
>>> store.append_events(s.id, [NewEvent(kind="prompt", payload={"text": "hi"})])
[1]
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sidecar.core import footprint as footprint_core
from sidecar.core.ids import new_id
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
    NewEvent,
    SearchHit,
    Session,
    SessionPage,
    SessionStatus,
    utcnow,
)
from sidecar.core.redact import redact
from sidecar.core.text import event_text, prompt_preview
from sidecar.store import schema
from sidecar.store.errors import (
    CorruptDatabase,
    DiskFullError,
    InvalidRequest,
    ReadOnlyError,
    StoreError,
    UnknownId,
    UnknownSession,
)
from sidecar.store.files import looks_corrupt, move_aside
from sidecar.store.markdown import render_markdown
from sidecar.store.paths import default_db_path, prepare_db_file
from sidecar.store.rows import (
    SESSION_COLUMNS,
    boundary_row,
    checkpoint_from_row,
    decode_cursor,
    encode_cursor,
    parse_ts,
    session_from_row,
    ts,
)

if TYPE_CHECKING:
    import sqlite_utils

ExportFormat = Literal["jsonl", "markdown"]

_UNSET: Any = object()


def _translate(error: sqlite3.Error, path: str) -> StoreError:
    """Turn SQLite's errors into messages a person can act on."""
    text = str(error)
    if "readonly" in text or "read-only" in text:
        return ReadOnlyError(
            f"the session database {path} is read-only ({text}); check the file's and its "
            "folder's permissions, or point SIDECAR_DB at a writable location"
        )
    if "full" in text:
        return DiskFullError(
            f"the disk holding the session database {path} is full ({text}); free some space "
            "or clean up old sessions (session-sidecar sessions cleanup)"
        )
    if "locked" in text or "busy" in text:
        return StoreError(
            f"the session database {path} stayed locked by another process ({text}); retry"
        )
    return StoreError(f"session database error at {path}: {text}")


def _fts_query(text: str) -> str:
    """A safe FTS5 query from user text: every word must match; `word*` is a prefix."""
    terms = []
    for word in text.split():
        prefix = word.endswith("*")
        word = word.rstrip("*").replace('"', '""')
        if word:
            terms.append(f'"{word}"' + ("*" if prefix else ""))
    return " ".join(terms)


class Store:
    """Durable session history in one SQLite file. See the module docstring."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        conn.row_factory = sqlite3.Row
        self.conn = conn
        self._db: sqlite_utils.Database | None = None
        self.path = path
        self.recovered_from: str | None = None
        self.read_only = False
        self._lock = threading.RLock()

    @property
    def db(self) -> sqlite_utils.Database:
        """The sqlite-utils view of the connection (built on first use)."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self.conn)
        return self._db

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        recover: bool = False,
        busy_timeout_ms: int = 10_000,
        max_pages: int | None = None,
        read_only: bool = False,
    ) -> Store:
        """Open (creating and migrating as needed) the database at `path`.

        `None` means `$SIDECAR_DB`, else the user data directory. A file that is
        not a usable database is moved aside and `CorruptDatabase` raised; with
        `recover=True` a fresh database is created instead and `recovered_from`
        names the moved file. `max_pages` caps the file size (tests of a full disk).
        `read_only` opens an existing file for reading only (no migration); every
        write then raises `ReadOnlyError`.
        """
        if read_only:
            target = Path(path).expanduser() if path is not None else default_db_path()
            return cls._open_read_only(target, busy_timeout_ms)
        if path == ":memory:":
            conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
            store = cls(conn, ":memory:")
            store._configure(busy_timeout_ms, max_pages)
            schema.migrate(store.conn)
            return store
        resolved = Path(path).expanduser() if path is not None else default_db_path()
        try:
            prepare_db_file(resolved)
        except PermissionError as error:
            raise ReadOnlyError(
                f"cannot create the session database at {resolved} ({error.strerror}); "
                "choose a writable location with SIDECAR_DB or --db"
            ) from error
        try:
            return cls._open_existing(resolved, busy_timeout_ms, max_pages)
        except sqlite3.DatabaseError as error:
            if not looks_corrupt(error):
                raise _translate(error, str(resolved)) from error
            moved = move_aside(resolved)
            if not recover:
                raise CorruptDatabase(str(resolved), str(moved), str(error)) from error
            prepare_db_file(resolved)
            store = cls._open_existing(resolved, busy_timeout_ms, max_pages)
            store.recovered_from = str(moved)
            return store

    @classmethod
    def _open_existing(cls, path: Path, busy_timeout_ms: int, max_pages: int | None) -> Store:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        store = cls(conn, str(path))
        try:
            store._configure(busy_timeout_ms, max_pages)
            # Reading the schema is what detects a file that is not a database.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            schema.migrate(store.conn)
        except BaseException:
            conn.close()
            raise
        return store

    @classmethod
    def _open_read_only(cls, path: Path, busy_timeout_ms: int) -> Store:
        uri = path.resolve().as_uri() + "?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise ReadOnlyError(
                f"cannot open the session database {path} read-only: {error}"
            ) from error
        store = cls(conn, str(path))
        store.read_only = True
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            # Reading the schema is what proves the file is a database we can read.
            version = schema.current_version(conn)
        except sqlite3.Error as error:
            conn.close()
            raise ReadOnlyError(f"cannot read the session database {path}: {error}") from error
        if version != schema.LATEST_VERSION:
            conn.close()
            raise ReadOnlyError(
                f"the read-only session database {path} has schema version {version}, not "
                f"{schema.LATEST_VERSION}; open it once with write access to migrate it"
            )
        return store

    def _configure(self, busy_timeout_ms: int, max_pages: int | None) -> None:
        self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if self.path != ":memory:":
            mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"could not switch {self.path} to WAL mode (got {mode})")
        # FULL: an acknowledged append survives power loss, not only a crash.
        self.conn.execute("PRAGMA synchronous = FULL")
        self.conn.execute("PRAGMA foreign_keys = OFF")
        if max_pages is not None:
            self.conn.execute(f"PRAGMA max_page_count = {int(max_pages)}")

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One `BEGIN IMMEDIATE` transaction: the write lock is taken up front."""
        with self._lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise _translate(error, self.path) from error
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except sqlite3.Error as error:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise _translate(error, self.path) from error
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                cursor = self.conn.execute(sql, params)
                return list(cursor.fetchall())
            except sqlite3.Error as error:
                raise _translate(error, self.path) from error

    # ------------------------------------------------------------------ sessions

    def start_session(
        self,
        boundary: Boundary,
        *,
        name: str = "",
        description: str = "",
        status: SessionStatus = SessionStatus.ACTIVE,
        parent_id: str | None = None,
        forked_at_seq: int | None = None,
        root_id: str | None = None,
        agent_name: str | None = None,
        tags: Sequence[str] = (),
        provider_ref: str | None = None,
        head_sha: str | None = None,
        now: datetime | None = None,
    ) -> Session:
        """Create a session on `boundary` and return it.

        An empty name becomes "<branch> <date time>" so every session reads well in a list.
        """
        now = now or utcnow()
        session_id = new_id(int(now.timestamp() * 1000))
        if not name.strip():
            name = f"{boundary.branch} {now.strftime('%Y-%m-%d %H:%M')}"
        row = {
            "id": session_id,
            "name": name.strip()[:200],
            "description": description,
            "status": SessionStatus(status).value,
            **boundary_row(boundary),
            "created_at": ts(now),
            "updated_at": ts(now),
            "last_event_at": None,
            "activity_at": ts(now),
            "event_count": forked_at_seq or 0,
            "last_prompt": None,
            "head_sha": head_sha,
            "parent_id": parent_id,
            "forked_at_seq": forked_at_seq,
            "root_id": root_id,
            "agent_name": agent_name,
            "tags": json.dumps(list(tags)),
            "pinned": 0,
            "provider_ref": provider_ref,
        }
        with self._write() as conn:
            columns = ", ".join(row)
            marks = ", ".join("?" for _ in row)
            conn.execute(f"INSERT INTO sessions ({columns}) VALUES ({marks})", list(row.values()))
        return self.get_session(session_id)

    def get_session(self, session_id: str) -> Session:
        """The session with this id; `UnknownSession` if there is none."""
        rows = self._read(f"SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            raise UnknownSession(session_id)
        return session_from_row(rows[0])

    def list_sessions(
        self,
        *,
        repository: str | None = None,
        worktree: str | None = None,
        branch: str | None = None,
        requester: str | None = None,
        machine: str | None = None,
        statuses: Sequence[SessionStatus | str] | None = None,
        text: str | None = None,
        provider: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> SessionPage:
        """Sessions, most recent activity first, filtered; `next_cursor` pages on (keyset)."""
        where: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("repository", repository),
            ("worktree", worktree),
            ("branch", branch),
            ("requester", requester),
            ("machine", machine),
            ("provider", provider),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if statuses:
            where.append(f"status IN ({', '.join('?' for _ in statuses)})")
            params.extend(SessionStatus(s).value for s in statuses)
        if text:
            like = f"%{text}%"
            where.append("(name LIKE ? OR description LIKE ? OR last_prompt LIKE ? OR id = ?)")
            params.extend([like, like, like, text])
        if cursor:
            activity, last_id = decode_cursor(cursor)
            where.append("(activity_at < ? OR (activity_at = ? AND id < ?))")
            params.extend([activity, activity, last_id])
        limit = max(1, min(int(limit), 1000))
        sql = f"SELECT {SESSION_COLUMNS}, activity_at FROM sessions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY activity_at DESC, id DESC LIMIT ?"
        rows = self._read(sql, [*params, limit + 1])
        items = [session_from_row(r) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(last["activity_at"], last["id"])
        return SessionPage(items=items, next_cursor=next_cursor)

    def update_session(
        self,
        session_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        status: SessionStatus | None = None,
        boundary: Boundary | None = None,
        head_sha: str | None = _UNSET,
        tags: Sequence[str] | None = None,
        pinned: bool | None = None,
        now: datetime | None = None,
    ) -> Session:
        """Change the given fields of a session; the others stay as they are."""
        changes: dict[str, Any] = {}
        if name is not None:
            if not name.strip():
                raise InvalidRequest("a session name cannot be empty")
            changes["name"] = name.strip()[:200]
        if description is not None:
            changes["description"] = description
        if status is not None:
            changes["status"] = SessionStatus(status).value
        if boundary is not None:
            changes.update(boundary_row(boundary))
        if head_sha is not _UNSET:
            changes["head_sha"] = head_sha
        if tags is not None:
            changes["tags"] = json.dumps(list(tags))
        if pinned is not None:
            changes["pinned"] = int(pinned)
        changes["updated_at"] = ts(now or utcnow())
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self._write() as conn:
            cursor = conn.execute(
                f"UPDATE sessions SET {assignments} WHERE id = ?", [*changes.values(), session_id]
            )
            if cursor.rowcount == 0:
                raise UnknownSession(session_id)
        return self.get_session(session_id)

    def rename_session(self, session_id: str, name: str) -> Session:
        """Give a session a new name."""
        return self.update_session(session_id, name=name)

    def set_status(self, session_id: str, status: SessionStatus | str) -> Session:
        """Set a session's status (active, idle, ended, archived)."""
        return self.update_session(session_id, status=SessionStatus(status))

    def end_session(self, session_id: str) -> Session:
        """Mark a session ended and release its holder."""
        session = self.update_session(session_id, status=SessionStatus.ENDED)
        with self._write() as conn:
            conn.execute(
                "UPDATE sessions SET holder = NULL, holder_expires_at = NULL WHERE id = ?",
                (session_id,),
            )
        return session.model_copy(update={"holder": None, "holder_expires_at": None})

    def find_by_provider_ref(self, provider: str, ref: str) -> Session | None:
        """The session imported from or bound to the provider's own session id."""
        rows = self._read(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE provider = ? AND provider_ref = ? "
            "ORDER BY created_at LIMIT 1",
            (provider, ref),
        )
        return session_from_row(rows[0]) if rows else None

    def children(self, session_id: str) -> list[Session]:
        """Sessions forked from, or delegated by, this one."""
        rows = self._read(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE parent_id = ? ORDER BY created_at",
            (session_id,),
        )
        return [session_from_row(r) for r in rows]

    def lineage(self, session_id: str) -> list[Session]:
        """Ancestors of a session, nearest first (forks and sub-sessions)."""
        chain: list[Session] = []
        seen = {session_id}
        current = self.get_session(session_id)
        while current.parent_id and current.parent_id not in seen:
            seen.add(current.parent_id)
            try:
                current = self.get_session(current.parent_id)
            except UnknownSession:
                break
            chain.append(current)
        return chain

    # ------------------------------------------------------------------ events

    def append_events(
        self,
        session_id: str,
        events: Sequence[NewEvent],
        *,
        now: datetime | None = None,
        activity_from_events: bool = False,
    ) -> list[int]:
        """Append a batch atomically; returns each event's seq, in order.

        Seqs continue the session's contiguous sequence. An event whose
        `client_event_id` was appended before gets its original seq back and is not
        stored twice, so a client may retry a batch after a lost acknowledgement.
        Payloads are redacted before they are stored. With `activity_from_events`
        (imports of old history) the session's last activity is the latest event
        time rather than now, so imported sessions do not look freshly active.
        """
        if not events:
            self.get_session(session_id)
            return []
        now = now or utcnow()
        with self._write() as conn:
            return self._append_locked(
                conn, session_id, events, now, activity_from_events=activity_from_events
            )

    def seqs_for_client_ids(self, session_id: str, client_ids: Iterable[str]) -> dict[str, int]:
        """The seqs of this session's own events with these client event ids."""
        wanted = list(dict.fromkeys(client_ids))
        found: dict[str, int] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            for row in self._read(
                f"SELECT client_event_id, seq FROM events WHERE session_id = ? "
                f"AND client_event_id IN ({marks})",
                [session_id, *chunk],
            ):
                found[row[0]] = row[1]
        return found

    def _append_locked(
        self,
        conn: sqlite3.Connection,
        session_id: str,
        events: Sequence[NewEvent],
        now: datetime,
        *,
        activity_from_events: bool = False,
    ) -> list[int]:
        row = conn.execute(
            "SELECT event_count, worktree, status FROM sessions WHERE id = ?", (session_id,)
        ).fetchone()
        if row is None:
            raise UnknownSession(session_id)
        last_seq, worktree, status = int(row[0]), str(row[1]), str(row[2])
        client_ids = [e.client_event_id for e in events if e.client_event_id]
        known: dict[str, int] = {}
        if client_ids:
            for start in range(0, len(client_ids), 500):
                chunk = client_ids[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                for cid, seq in conn.execute(
                    f"SELECT client_event_id, seq FROM events WHERE session_id = ? "
                    f"AND client_event_id IN ({marks})",
                    [session_id, *chunk],
                ):
                    known[cid] = seq
        default_stamp = ts(now)
        seqs: list[int] = []
        rows: list[tuple[Any, ...]] = []
        weights: dict[str, tuple[float, int]] = {}
        latest_prompt: str | None = None
        latest_time: str | None = None
        for event in events:
            cid = event.client_event_id
            if cid and cid in known:
                seqs.append(known[cid])
                continue
            last_seq += 1
            if cid:
                known[cid] = last_seq
            payload = redact(event.payload)
            stamp = ts(event.time) if event.time else default_stamp
            rows.append(
                (
                    session_id,
                    last_seq,
                    stamp,
                    EventKind(event.kind).value,
                    event.actor.value,
                    json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                    cid,
                    event_text(payload),
                )
            )
            seqs.append(last_seq)
            latest_time = stamp if latest_time is None or stamp > latest_time else latest_time
            if event.kind == EventKind.PROMPT:
                latest_prompt = prompt_preview(payload)
            for path, weight in footprint_core.paths_from_event(event, worktree).items():
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
        stamp_now = ts(now)
        if activity_from_events and latest_time:
            activity = latest_time
        else:
            activity = max(latest_time or stamp_now, stamp_now)
        new_status = SessionStatus.ACTIVE.value if status == "idle" else status
        # MAX keeps activity monotonic when an import appends older events later.
        conn.execute(
            "UPDATE sessions SET event_count = ?, "
            "last_event_at = MAX(COALESCE(last_event_at, ''), ?), "
            "activity_at = MAX(COALESCE(last_event_at, ''), ?, created_at), "
            "updated_at = ?, status = ?, last_prompt = COALESCE(?, last_prompt) WHERE id = ?",
            (last_seq, activity, activity, stamp_now, new_status, latest_prompt, session_id),
        )
        return seqs

    def last_seq(self, session_id: str) -> int:
        """The seq of the session's latest event (0 when it has none)."""
        return self.get_session(session_id).event_count

    def events(
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
        limit = max(1, min(int(limit), 10_000))
        kind_values = [EventKind(k).value for k in kinds] if kinds else None
        out: list[Event] = []
        for source_id, low, high in self._segments(session_id):
            if len(out) >= limit:
                break
            start = max(after_seq, low)
            if high is not None and start >= high:
                continue
            sql = (
                "SELECT seq, time, kind, actor, payload, client_event_id FROM events "
                "WHERE session_id = ? AND seq > ?"
            )
            params: list[Any] = [source_id, start]
            if high is not None:
                sql += " AND seq <= ?"
                params.append(high)
            if kind_values:
                sql += f" AND kind IN ({', '.join('?' for _ in kind_values)})"
                params.extend(kind_values)
            sql += " ORDER BY seq LIMIT ?"
            params.append(limit - len(out))
            for r in self._read(sql, params):
                out.append(
                    Event(
                        session_id=session_id,
                        seq=r[0],
                        time=parse_ts(r[1]) or utcnow(),
                        kind=EventKind(r[2]),
                        actor=r[3],
                        payload=json.loads(r[4]),
                        client_event_id=r[5],
                    )
                )
        return out

    def _segments(self, session_id: str) -> list[tuple[str, int, int | None]]:
        """(source session, seq low exclusive, seq high inclusive) ranges, oldest first."""
        segments: list[tuple[str, int, int | None]] = []
        current: str | None = session_id
        high: int | None = None
        seen: set[str] = set()
        while current and current not in seen:
            seen.add(current)
            rows = self._read(
                "SELECT parent_id, forked_at_seq FROM sessions WHERE id = ?", (current,)
            )
            if not rows:
                if current == session_id:
                    raise UnknownSession(session_id)
                break
            parent_id, forked_at = rows[0][0], rows[0][1]
            low = int(forked_at) if forked_at else 0
            segments.append((current, low, high))
            if not forked_at or not parent_id:
                break
            # A fork of a fork may branch off below its parent's own fork point.
            high = low if high is None else min(high, low)
            current = parent_id
        segments.reverse()
        return segments

    # ------------------------------------------------------------------ search

    def index_pending(self, *, batch: int = 50_000) -> int:
        """Add events appended since the last call to the full-text index.

        Appends never touch the index (that would cut throughput 3-7x); search
        calls this first, and the server may call it when idle. Returns how many
        events were indexed.
        """
        total = 0
        while True:
            with self._write() as conn:
                row = conn.execute("SELECT value FROM state WHERE key = 'fts_rowid'").fetchone()
                mark = int(json.loads(row[0])) if row else 0
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
            "snippet(events_fts, 0, '[', ']', '…', 12) "
            "FROM events_fts JOIN events e ON e.rowid = events_fts.rowid "
            "JOIN sessions s ON s.id = e.session_id "
            f"WHERE {' AND '.join(where)} ORDER BY events_fts.rowid DESC LIMIT ?"
        )
        params.append(max(1, min(int(limit), 500)))
        return [
            SearchHit(
                session_id=r[0],
                session_name=r[1],
                seq=r[2],
                kind=EventKind(r[3]),
                time=parse_ts(r[4]) or utcnow(),
                snippet=r[5] or "",
            )
            for r in self._read(sql, params)
        ]

    # ------------------------------------------------------------------ lineage

    def fork_session(
        self,
        session_id: str,
        *,
        at_seq: int | None = None,
        name: str | None = None,
        boundary: Boundary | None = None,
        now: datetime | None = None,
    ) -> Session:
        """A new session that shares this one's history up to `at_seq` (default: all)."""
        parent = self.get_session(session_id)
        last = parent.event_count
        at = last if at_seq is None else int(at_seq)
        if at < 0 or at > last:
            raise InvalidRequest(
                f"cannot fork session {session_id!r} at seq {at}: it has events 1..{last}"
            )
        child = self.start_session(
            boundary or parent.boundary,
            name=name or f"{parent.name} (fork)",
            description=parent.description,
            parent_id=parent.id,
            forked_at_seq=at,
            root_id=parent.root_id or parent.id,
            tags=parent.tags,
            head_sha=parent.head_sha,
            now=now,
        )
        # The fork starts with the footprint its inherited history implies.
        weights: dict[str, tuple[float, int]] = {}
        after = 0
        while after < at:
            page = self.events(child.id, after_seq=after, limit=1000)
            if not page:
                break
            for event in page:
                for path, weight in footprint_core.paths_from_event(
                    event, parent.boundary.worktree
                ).items():
                    old, _ = weights.get(path, (0.0, 0))
                    weights[path] = (old + weight, event.seq)
            after = page[-1].seq
        if weights:
            with self._write() as conn:
                conn.executemany(
                    "INSERT INTO footprint (session_id, path, weight, last_seq) "
                    "VALUES (?, ?, ?, ?)",
                    [(child.id, p, w, s) for p, (w, s) in weights.items()],
                )
        return child

    # ------------------------------------------------------------------ deleting

    def delete_session(self, session_id: str) -> None:
        """Delete a session and everything derived from it.

        Forks that read this session's history get their inherited events copied
        in first, so deleting a parent never loses a child's history.
        """
        with self._write() as conn:
            self._delete_locked(conn, session_id)

    def _delete_locked(self, conn: sqlite3.Connection, session_id: str) -> None:
        if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
            raise UnknownSession(session_id)
        for child_id, forked_at in conn.execute(
            "SELECT id, forked_at_seq FROM sessions WHERE parent_id = ? AND forked_at_seq > 0",
            (session_id,),
        ).fetchall():
            self._materialize_locked(conn, child_id, int(forked_at))
        conn.execute(
            "INSERT INTO events_fts (events_fts, rowid, text) SELECT 'delete', e.rowid, e.text "
            "FROM events e WHERE e.session_id = ? AND e.rowid <= "
            "COALESCE((SELECT CAST(value AS INTEGER) FROM state WHERE key = 'fts_rowid'), 0)",
            (session_id,),
        )
        for table in ("events", "footprint", "checkpoints", "annotations", "cache", "approvals"):
            conn.execute(f"DELETE FROM {table} WHERE session_id = ?", (session_id,))
        conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))

    def _materialize_locked(self, conn: sqlite3.Connection, child_id: str, upto: int) -> None:
        """Copy a fork's inherited events (seq <= upto) into its own rows."""
        segments = self._segments(child_id)[:-1]
        for source_id, low, high in segments:
            conn.execute(
                # Client event ids are idempotency keys of the session that appended them,
                # so the copies do not carry them into the fork.
                "INSERT INTO events (session_id, seq, time, kind, actor, payload, text) "
                "SELECT ?, seq, time, kind, actor, payload, text FROM events "
                "WHERE session_id = ? AND seq > ? AND seq <= ?",
                (child_id, source_id, low, high if high is not None else upto),
            )
        conn.execute("UPDATE sessions SET forked_at_seq = NULL WHERE id = ?", (child_id,))

    def cleanup(
        self, older_than_days: float, *, dry_run: bool = False, now: datetime | None = None
    ) -> list[Session]:
        """Delete ended sessions idle for more than N days; pinned ones are kept.

        With `dry_run` nothing is deleted; either way the affected sessions are returned.
        """
        if older_than_days < 0:
            raise InvalidRequest(f"olderThanDays must be >= 0, got {older_than_days}")
        cutoff = ts((now or utcnow()) - timedelta(days=older_than_days))
        rows = self._read(
            f"SELECT {SESSION_COLUMNS} FROM sessions WHERE status = 'ended' AND pinned = 0 "
            "AND activity_at < ? ORDER BY activity_at",
            (cutoff,),
        )
        victims = [session_from_row(r) for r in rows]
        if not dry_run and victims:
            with self._write() as conn:
                for session in victims:
                    with contextlib.suppress(UnknownSession):
                        self._delete_locked(conn, session.id)
        return victims

    # ------------------------------------------------------------------ export

    def export_session(self, session_id: str, fmt: ExportFormat = "jsonl") -> str:
        """One session as JSONL (a session line, then an event per line) or Markdown.

        The provider reference stays local: it is never exported.
        """
        session = self.get_session(session_id)
        public = session.to_json()
        for private in ("providerRef", "holder", "holderExpiresAt"):
            public.pop(private, None)
        events = self._all_events(session_id)
        if fmt == "jsonl":
            lines = [json.dumps({"type": "session", **public}, ensure_ascii=False)]
            lines.extend(
                json.dumps({"type": "event", **e.to_json()}, ensure_ascii=False) for e in events
            )
            return "\n".join(lines) + "\n"
        if fmt == "markdown":
            return render_markdown(session, events)
        raise InvalidRequest(f"unknown export format {fmt!r}: use 'jsonl' or 'markdown'")

    def _all_events(self, session_id: str) -> list[Event]:
        events: list[Event] = []
        while True:
            page = self.events(session_id, after_seq=events[-1].seq if events else 0, limit=5000)
            if not page:
                return events
            events.extend(page)

    # ------------------------------------------------------------------ footprint

    def footprint(self, session_id: str, *, limit: int = 200) -> list[FootprintEntry]:
        """The paths this session touched, heaviest first."""
        self.get_session(session_id)
        rows = self._read(
            "SELECT path, weight, last_seq FROM footprint WHERE session_id = ? "
            "ORDER BY weight DESC, path LIMIT ?",
            (session_id, limit),
        )
        return [FootprintEntry(path=r[0], weight=r[1], last_seq=r[2]) for r in rows]

    # ------------------------------------------------------------------ holders

    def acquire_hold(
        self,
        session_id: str,
        holder: str,
        *,
        lease_seconds: float = 30,
        take_over: bool = False,
        now: datetime | None = None,
    ) -> str | None:
        """Make `holder` the one connection appending to this session.

        Returns None on success, else the id of the other live holder (whose lease
        has not expired). `take_over` replaces a live holder.
        """
        now = now or utcnow()
        with self._write() as conn:
            row = conn.execute(
                "SELECT holder, holder_expires_at FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if row is None:
                raise UnknownSession(session_id)
            current, expires = row[0], row[1]
            if current and current != holder and not take_over and expires and expires > ts(now):
                return str(current)
            conn.execute(
                "UPDATE sessions SET holder = ?, holder_expires_at = ? WHERE id = ?",
                (holder, ts(now + timedelta(seconds=lease_seconds)), session_id),
            )
        return None

    def renew_holds(
        self, holder: str, *, lease_seconds: float = 30, now: datetime | None = None
    ) -> int:
        """Extend every lease `holder` has; returns how many sessions it holds."""
        now = now or utcnow()
        with self._write() as conn:
            cursor = conn.execute(
                "UPDATE sessions SET holder_expires_at = ? WHERE holder = ?",
                (ts(now + timedelta(seconds=lease_seconds)), holder),
            )
            return max(cursor.rowcount, 0)

    def release_hold(self, session_id: str, holder: str) -> None:
        """Give up the hold on one session (no-op when someone else holds it)."""
        with self._write() as conn:
            conn.execute(
                "UPDATE sessions SET holder = NULL, holder_expires_at = NULL "
                "WHERE id = ? AND holder = ?",
                (session_id, holder),
            )

    def release_all_holds(self, holder: str) -> None:
        """Give up every hold of a connection that is going away."""
        with self._write() as conn:
            conn.execute(
                "UPDATE sessions SET holder = NULL, holder_expires_at = NULL WHERE holder = ?",
                (holder,),
            )

    # ------------------------------------------------------------------ choices

    def remember_choice(
        self, repository: str, branch: str, action: Action | str, *, now: datetime | None = None
    ) -> Choice:
        """Remember the user's choice for a branch ("don't ask again")."""
        choice = Choice(
            repository=repository, branch=branch, action=Action(action), created_at=now or utcnow()
        )
        with self._write() as conn:
            conn.execute(
                "INSERT INTO choices (repository, branch, action, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (repository, branch) DO UPDATE SET action = excluded.action, "
                "created_at = excluded.created_at",
                (repository, branch, choice.action.value, ts(choice.created_at)),
            )
        return choice

    def remembered_choice(self, repository: str, branch: str) -> Choice | None:
        """The remembered choice for this branch, if any."""
        rows = self._read(
            "SELECT action, created_at FROM choices WHERE repository = ? AND branch = ?",
            (repository, branch),
        )
        if not rows:
            return None
        return Choice(
            repository=repository,
            branch=branch,
            action=Action(rows[0][0]),
            created_at=parse_ts(rows[0][1]) or utcnow(),
        )

    def forget_choice(self, repository: str, branch: str) -> None:
        """Forget a remembered choice, so the branch prompts again."""
        with self._write() as conn:
            conn.execute(
                "DELETE FROM choices WHERE repository = ? AND branch = ?", (repository, branch)
            )

    # ------------------------------------------------------------------ checkpoints

    def add_checkpoint(
        self,
        session_id: str,
        *,
        name: str,
        head_sha: str | None,
        snapshot_sha: str | None,
        ref: str | None,
        checkpoint_id: str | None = None,
        now: datetime | None = None,
    ) -> Checkpoint:
        """Record a checkpoint and its `checkpoint` event in one transaction."""
        now = now or utcnow()
        checkpoint_id = checkpoint_id or new_id()
        with self._write() as conn:
            (seq,) = self._append_locked(
                conn,
                session_id,
                [
                    NewEvent(
                        kind=EventKind.CHECKPOINT,
                        actor="system",
                        payload={
                            "checkpointId": checkpoint_id,
                            "name": name,
                            "headSha": head_sha,
                            "snapshotSha": snapshot_sha,
                        },
                    )
                ],
                now,
            )
            conn.execute(
                "INSERT INTO checkpoints (id, session_id, name, seq, head_sha, snapshot_sha, ref, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (checkpoint_id, session_id, name, seq, head_sha, snapshot_sha, ref, ts(now)),
            )
        return self.get_checkpoint(checkpoint_id)

    def get_checkpoint(self, checkpoint_id: str) -> Checkpoint:
        """The checkpoint with this id; `UnknownId` if there is none."""
        rows = self._read("SELECT * FROM checkpoints WHERE id = ?", (checkpoint_id,))
        if not rows:
            raise UnknownId("checkpoint", checkpoint_id)
        return checkpoint_from_row(rows[0])

    def list_checkpoints(self, session_id: str) -> list[Checkpoint]:
        """A session's checkpoints, oldest first."""
        rows = self._read(
            "SELECT * FROM checkpoints WHERE session_id = ? ORDER BY seq", (session_id,)
        )
        return [checkpoint_from_row(r) for r in rows]

    # ------------------------------------------------------------------ annotations

    def add_annotation(
        self,
        session_id: str,
        *,
        code: str,
        text: str = "",
        seq: int | None = None,
        now: datetime | None = None,
    ) -> Annotation:
        """Annotate a session (or one of its events) and record an `annotation` event."""
        now = now or utcnow()
        annotation_id = new_id()
        with self._write() as conn:
            last = conn.execute(
                "SELECT event_count FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if last is None:
                raise UnknownSession(session_id)
            if seq is not None and not 1 <= seq <= int(last[0]):
                raise InvalidRequest(
                    f"session {session_id!r} has no event {seq} (it has 1..{last[0]})"
                )
            self._append_locked(
                conn,
                session_id,
                [
                    NewEvent(
                        kind=EventKind.ANNOTATION,
                        actor="user",
                        payload={
                            "annotationId": annotation_id,
                            "code": code,
                            "text": text,
                            "seq": seq,
                        },
                    )
                ],
                now,
            )
            conn.execute(
                "INSERT INTO annotations (id, session_id, seq, code, text, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (annotation_id, session_id, seq, code, text, ts(now)),
            )
        return Annotation(
            id=annotation_id, session_id=session_id, seq=seq, code=code, text=text, created_at=now
        )

    def list_annotations(self, session_id: str) -> list[Annotation]:
        """A session's annotations, oldest first."""
        rows = self._read(
            "SELECT id, session_id, seq, code, text, created_at FROM annotations "
            "WHERE session_id = ? ORDER BY created_at, id",
            (session_id,),
        )
        return [
            Annotation(
                id=r[0],
                session_id=r[1],
                seq=r[2],
                code=r[3],
                text=r[4],
                created_at=parse_ts(r[5]) or utcnow(),
            )
            for r in rows
        ]

    def has_annotation(self, session_id: str, code: str) -> bool:
        """Whether the session carries an annotation with this code."""
        return bool(
            self._read(
                "SELECT 1 FROM annotations WHERE session_id = ? AND code = ? LIMIT 1",
                (session_id, code),
            )
        )

    # ------------------------------------------------------------------ cache and state

    def cache_put(self, session_id: str, key: str, value: Any) -> None:
        """Store derived state for a session under `key` (replacing any previous value)."""
        encoded = json.dumps(value)
        with self._write() as conn:
            if (
                conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone()
                is None
            ):
                raise UnknownSession(session_id)
            conn.execute(
                "INSERT INTO cache (session_id, key, value, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (session_id, key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                (session_id, key, encoded, ts(utcnow())),
            )

    def cache_get(self, session_id: str, key: str) -> Any | None:
        """The cached value, or None."""
        self.get_session(session_id)
        rows = self._read(
            "SELECT value FROM cache WHERE session_id = ? AND key = ?", (session_id, key)
        )
        return json.loads(rows[0][0]) if rows else None

    def get_state(self, key: str) -> Any | None:
        """Adapter bookkeeping (import offsets and the like), or None."""
        rows = self._read("SELECT value FROM state WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else None

    def put_state(self, key: str, value: Any) -> None:
        """Set adapter bookkeeping under `key`."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    # ------------------------------------------------------------------ approvals

    def request_approval(
        self, session_id: str, *, title: str, detail: str = "", now: datetime | None = None
    ) -> Approval:
        """Open a review gate; an `approval_request` event records it."""
        now = now or utcnow()
        approval_id = new_id()
        with self._write() as conn:
            (seq,) = self._append_locked(
                conn,
                session_id,
                [
                    NewEvent(
                        kind=EventKind.APPROVAL_REQUEST,
                        actor="agent",
                        payload={"approvalId": approval_id, "title": title, "detail": detail},
                    )
                ],
                now,
            )
            conn.execute(
                "INSERT INTO approvals (id, session_id, title, detail, state, requested_seq, "
                "reason, created_at) VALUES (?, ?, ?, ?, 'pending', ?, '', ?)",
                (approval_id, session_id, title, detail, seq, ts(now)),
            )
        return self.get_approval(approval_id)

    def decide_approval(
        self,
        approval_id: str,
        *,
        grant: bool,
        by: str,
        reason: str = "",
        now: datetime | None = None,
    ) -> Approval:
        """Grant or deny a pending approval; an `approval` event records the decision."""
        now = now or utcnow()
        approval = self.get_approval(approval_id)
        if approval.state != ApprovalState.PENDING:
            raise InvalidRequest(f"approval {approval_id!r} was already {approval.state.value}")
        state = ApprovalState.GRANTED if grant else ApprovalState.DENIED
        with self._write() as conn:
            (seq,) = self._append_locked(
                conn,
                approval.session_id,
                [
                    NewEvent(
                        kind=EventKind.APPROVAL,
                        actor="user",
                        payload={
                            "approvalId": approval_id,
                            "granted": grant,
                            "by": by,
                            "reason": reason,
                            "title": approval.title,
                        },
                    )
                ],
                now,
            )
            conn.execute(
                "UPDATE approvals SET state = ?, decided_seq = ?, decided_by = ?, reason = ?, "
                "decided_at = ? WHERE id = ?",
                (state.value, seq, by, reason, ts(now), approval_id),
            )
        return self.get_approval(approval_id)

    def get_approval(self, approval_id: str) -> Approval:
        """The approval with this id; `UnknownId` if there is none."""
        rows = self._read("SELECT * FROM approvals WHERE id = ?", (approval_id,))
        if not rows:
            raise UnknownId("approval", approval_id)
        r = rows[0]
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
            created_at=parse_ts(r["created_at"]) or utcnow(),
            decided_at=parse_ts(r["decided_at"]),
        )

    def list_approvals(self, session_id: str) -> list[Approval]:
        """A session's approvals, oldest first."""
        rows = self._read(
            "SELECT id FROM approvals WHERE session_id = ? ORDER BY requested_seq", (session_id,)
        )
        return [self.get_approval(r[0]) for r in rows]

    # ------------------------------------------------------------------ maintenance

    def data_version(self) -> int:
        """Changes when another connection commits: cheap polling for cross-process updates."""
        return int(self._read("PRAGMA data_version")[0][0])

    def integrity_check(self) -> str:
        """`PRAGMA integrity_check`: 'ok' for a healthy file."""
        return str(self._read("PRAGMA integrity_check")[0][0])


# ---------------------------------------------------------------------- row mapping
