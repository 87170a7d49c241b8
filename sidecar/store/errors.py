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


class SessionHeld(StoreError):
    """Another live connection holds the session: appending would interleave two writers."""

    def __init__(self, session_id: str, holder: str) -> None:
        super().__init__(
            f"session {session_id} is in use by another connection ({holder}); resume it with "
            "takeOver: true, fork it, or start a new session"
        )
        self.session_id = session_id
        self.holder = holder


#: The largest payload (bytes of compact UTF-8 JSON) one event may carry.
DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024


class PayloadTooLarge(InvalidRequest):
    """One event's payload is over the size limit; nothing of its batch was appended."""

    def __init__(self, index: int, size: int, limit: int) -> None:
        super().__init__(
            f"events[{index}].payload is {size} bytes of JSON, over the limit of {limit} bytes; "
            "nothing from this batch was appended: store large content in a file and append "
            "its path"
        )
        self.index = index
        self.size = size
        self.limit = limit


class UntrustedLocation(StoreError):
    """The database path is not a private SQLite file of this user; nothing was touched."""


class DatabaseReplaced(StoreError):
    """The database file was removed or replaced while open; nothing more is written to it."""
