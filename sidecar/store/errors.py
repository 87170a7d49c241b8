"""Errors the store raises; each message says what went wrong and what to do."""

from __future__ import annotations


class StoreError(Exception):
    """Base of every store error. `str(error)` is a sentence a person can act on."""


class UnknownSession(StoreError):
    """No session has this id (never existed, or deleted)."""

    def __init__(self, session_id: str) -> None:
        super().__init__(f"unknown session {session_id!r}: list sessions to see valid ids")
        self.session_id = session_id


class UnknownId(StoreError):
    """No checkpoint, approval or annotation has this id."""

    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"unknown {what} {ident!r}")
        self.what = what
        self.ident = ident


class InvalidRequest(StoreError):
    """The arguments cannot be honoured (a seq beyond the end, a bad cursor...)."""


class ReadOnlyError(StoreError):
    """The database file or its folder cannot be written."""


class DiskFullError(StoreError):
    """The disk (or the configured size cap) is full."""


class CorruptDatabase(StoreError):
    """The file is not a usable SQLite database; it was moved aside."""

    def __init__(self, path: str, moved_to: str, detail: str) -> None:
        super().__init__(
            f"the session database {path} is corrupt ({detail}); it was moved aside to "
            f"{moved_to} and nothing was overwritten. Start again to create a fresh database, "
            "or restore a backup to that path."
        )
        self.path = path
        self.moved_to = moved_to
