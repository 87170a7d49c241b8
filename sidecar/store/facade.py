"""`Store`: the one object callers hold; each concern is an attribute over one connection.

>>> from sidecar.core.models import Boundary
>>> with Store.open(":memory:") as store:
...     b = Boundary(repository="r", worktree="/w", branch="main", requester="me", machine="m")
...     store.sessions.create(b, name="demo").name
'demo'
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sidecar.store.database import Database
from sidecar.store.events import Events
from sidecar.store.rules import load_user_rules

if TYPE_CHECKING:
    from sidecar.store.checkpoints import Checkpoints
    from sidecar.store.leases import Leases
    from sidecar.store.repositories import Repositories
    from sidecar.store.reviews import Reviews
    from sidecar.store.sessions import Sessions
    from sidecar.store.state import State


class Store:
    """Durable session history in one SQLite file. Open one per thread or process."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.events = Events(db)

    # The other concerns are built on first use: their modules read and write the
    # core's pydantic models, which an agent hook's quiet path never needs.

    @cached_property
    def sessions(self) -> Sessions:
        from sidecar.store.sessions import Sessions

        return Sessions(self.db)

    @cached_property
    def leases(self) -> Leases:
        from sidecar.store.leases import Leases

        return Leases(self.db)

    @cached_property
    def checkpoints(self) -> Checkpoints:
        from sidecar.store.checkpoints import Checkpoints

        return Checkpoints(self.db)

    @cached_property
    def reviews(self) -> Reviews:
        from sidecar.store.reviews import Reviews

        return Reviews(self.db)

    @cached_property
    def state(self) -> State:
        from sidecar.store.state import State

        return State(self.db)

    @cached_property
    def repositories(self) -> Repositories:
        from sidecar.store.repositories import Repositories

        return Repositories(self.db)

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
