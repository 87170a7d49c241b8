"""`Store`: the one object callers hold; each concern is an attribute over one connection.

>>> from sidecar.core.models import Boundary
>>> with Store.open(":memory:") as store:
...     b = Boundary(repository="r", worktree="/w", branch="main", requester="me", machine="m")
...     store.sessions.create(b, name="demo").name
'demo'
"""

from __future__ import annotations

from pathlib import Path

from sidecar.store.checkpoints import Checkpoints
from sidecar.store.database import Database
from sidecar.store.events import Events
from sidecar.store.leases import Leases
from sidecar.store.repositories import Repositories
from sidecar.store.reviews import Reviews
from sidecar.store.rules import load_user_rules
from sidecar.store.sessions import Sessions
from sidecar.store.state import State


class Store:
    """Durable session history in one SQLite file. Open one per thread or process."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.sessions = Sessions(db)
        self.events = Events(db)
        self.leases = Leases(db)
        self.checkpoints = Checkpoints(db)
        self.reviews = Reviews(db)
        self.state = State(db)
        self.repositories = Repositories(db)

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

        See `Database.open`: `None` means `$SIDECAR_DB` or the user data directory;
        a corrupt file is moved aside (`recover=True` starts a fresh one);
        `read_only` opens an existing, migrated file for reading only. The user's
        redaction rules (`sidecar.store.rules`) are loaded for every writer.
        """
        load_user_rules()
        return cls(
            Database.open(
                path,
                recover=recover,
                busy_timeout_ms=busy_timeout_ms,
                max_pages=max_pages,
                read_only=read_only,
            )
        )

    @property
    def path(self) -> str:
        return self.db.path

    @property
    def read_only(self) -> bool:
        return self.db.read_only

    @property
    def recovered_from(self) -> str | None:
        return self.db.recovered_from

    def close(self) -> None:
        """Close the connection (idempotent)."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
