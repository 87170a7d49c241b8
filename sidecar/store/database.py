"""One SQLite connection, its lock and its one transaction helper.

Any number of processes may open the same file: the database runs in WAL mode
with a busy timeout, and every write is one `BEGIN IMMEDIATE` transaction (the
write lock is taken up front), so what a transaction reads stays true until it
commits. Foreign keys are enforced on every connection.
"""

from __future__ import annotations

import _thread  # threading's RLock is this C lock; the module costs a hook call ~1 ms
import contextlib
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sidecar.store import schema
from sidecar.store.errors import (
    CorruptDatabase,
    DatabaseReplaced,
    DiskFullError,
    ReadOnlyError,
    StoreError,
)
from sidecar.store.files import looks_corrupt, move_aside
from sidecar.store.paths import (
    check_location,
    default_db_path,
    file_identity,
    hold_file,
    prepare_db_file,
    release_file,
)

if TYPE_CHECKING:
    import sqlite_utils


def translate(error: sqlite3.Error, path: str) -> StoreError:
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


class Database:
    """One connection (rows by column name), an RLock, and `write()` / `read()`."""

    def __init__(self, conn: sqlite3.Connection, path: str, *, read_only: bool = False) -> None:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        self.conn = conn
        self.path = path
        self.read_only = read_only
        self.recovered_from: str | None = None
        self.lock = _thread.RLock()
        #: The file this connection writes to; a write checks it is still at `path`.
        self._identity = None if path == ":memory:" or read_only else file_identity(path)
        #: The file this process holds open (see `paths.hold_file`), released on close.
        self._held = None if path == ":memory:" else file_identity(path)
        hold_file(self._held)
        self._utils: sqlite_utils.Database | None = None

    @property
    def utils(self) -> sqlite_utils.Database:
        """The sqlite-utils view of the connection (built on first use)."""
        if self._utils is None:
            import sqlite_utils

            self._utils = sqlite_utils.Database(self.conn)
        return self._utils

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
    ) -> Database:
        """Open (creating and migrating as needed) the database at `path`.

        `None` means `$SIDECAR_DB`, else the user data directory. A path that is not
        this user's private SQLite file (`paths.check_location`) raises
        `UntrustedLocation` and is left alone. A SQLite file that is not a usable
        database is moved aside and `CorruptDatabase` raised; with
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
            db = cls(conn, ":memory:")
            db._configure(busy_timeout_ms, max_pages)
            schema.migrate(conn)
            return db
        resolved = Path(path).expanduser() if path is not None else default_db_path()
        check_location(resolved)
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
                raise translate(error, str(resolved)) from error
            moved = move_aside(resolved)
            if not recover:
                raise CorruptDatabase(str(resolved), str(moved), str(error)) from error
            prepare_db_file(resolved)
            db = cls._open_existing(resolved, busy_timeout_ms, max_pages)
            db.recovered_from = str(moved)
            return db

    @classmethod
    def _open_existing(cls, path: Path, busy_timeout_ms: int, max_pages: int | None) -> Database:
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        try:
            db = cls(conn, str(path))
        except BaseException:
            conn.close()
            raise
        try:
            db._configure(busy_timeout_ms, max_pages)
            # Reading the schema is what detects a file that is not a database.
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            schema.migrate(conn)
        except BaseException:
            db.close()
            raise
        return db

    @classmethod
    def _open_read_only(cls, path: Path, busy_timeout_ms: int) -> Database:
        uri = path.resolve().as_uri() + "?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as error:
            raise ReadOnlyError(
                f"cannot open the session database {path} read-only: {error}"
            ) from error
        try:
            db = cls(conn, str(path), read_only=True)
        except sqlite3.Error as error:
            conn.close()
            raise ReadOnlyError(f"cannot read the session database {path}: {error}") from error
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            # Reading the schema is what proves the file is a database we can read.
            version = schema.current_version(conn)
        except sqlite3.Error as error:
            db.close()
            raise ReadOnlyError(f"cannot read the session database {path}: {error}") from error
        if version != schema.LATEST_VERSION:
            db.close()
            raise ReadOnlyError(
                f"the read-only session database {path} has schema version {version}, not "
                f"{schema.LATEST_VERSION}; open it once with write access to migrate it"
            )
        return db

    def _configure(self, busy_timeout_ms: int, max_pages: int | None) -> None:
        self.conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if self.path != ":memory:":
            mode = self.conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"could not switch {self.path} to WAL mode (got {mode})")
        # FULL: an acknowledged append survives power loss, not only a crash.
        self.conn.execute("PRAGMA synchronous = FULL")
        if max_pages is not None:
            self.conn.execute(f"PRAGMA max_page_count = {int(max_pages)}")

    def close(self) -> None:
        """Close the connection (idempotent)."""
        with contextlib.suppress(sqlite3.Error):
            self.conn.close()
        held, self._held = self._held, None
        release_file(held)

    # ------------------------------------------------------------------ transactions

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One `BEGIN IMMEDIATE` ... `COMMIT`; `ROLLBACK` on any error.

        Under the write lock the file at `path` must still be the one opened,
        else `DatabaseReplaced` (an unlinked file would swallow every write).

        SQLite's errors come out as `StoreError` subclasses; others pass through.
        """
        if self.read_only:
            raise ReadOnlyError(
                f"the session database {self.path} was opened read-only; nothing can be written"
            )
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as error:
                raise translate(error, self.path) from error
            if self._identity is not None and file_identity(self.path) != self._identity:
                self.conn.execute("ROLLBACK")
                raise DatabaseReplaced(
                    f"the session database {self.path} was removed or replaced while in use; "
                    "nothing was written. Restart the sidecar to use the file now at that path."
                )
            try:
                yield self.conn
                self.conn.execute("COMMIT")
            except sqlite3.Error as error:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise translate(error, self.path) from error
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """The connection under the lock, for a few reads; SQLite errors translated."""
        with self.lock:
            try:
                yield self.conn
            except sqlite3.Error as error:
                raise translate(error, self.path) from error

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """All rows of one query."""
        with self.lock:
            try:
                return self.conn.execute(sql, params).fetchall()
            except sqlite3.Error as error:
                raise translate(error, self.path) from error

    # ------------------------------------------------------------------ maintenance

    def data_version(self) -> int:
        """Changes when another connection commits: cheap polling for cross-process updates."""
        return int(self.read("PRAGMA data_version")[0][0])

    def integrity_check(self) -> str:
        """`PRAGMA integrity_check`: 'ok' for a healthy file."""
        return str(self.read("PRAGMA integrity_check")[0][0])
