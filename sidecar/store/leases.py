"""Who may write: session holds and named leases, and whether a holder still runs.

A holder id is ``<machine>:<pid>:<random>``. A lease counts while it has not
expired and, for a holder on this machine, while its process runs: a client
that crashed does not block others until its lease lapses.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sidecar.core.kinds import utcnow
from sidecar.store.errors import UnknownSession
from sidecar.store.stamps import ts

if TYPE_CHECKING:
    from sidecar.store.database import Database


def hostname() -> str:
    """This machine's host name (``os.uname`` where it exists: no socket module to import)."""
    if hasattr(os, "uname"):
        return os.uname().nodename
    import socket

    return socket.gethostname()


def new_holder_id() -> str:
    """An id for this connection: ``<machine>:<pid>:<random>`` (liveness is checkable)."""
    return f"{hostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def holder_is_gone(holder: str, *, machine: str | None = None) -> bool:
    """True when ``holder`` names a process on this machine that no longer runs.

    Holders on other machines, or in a shape this module did not write, are
    assumed alive: only their lease can expire them.
    """
    parts = holder.split(":")
    if len(parts) != 3 or parts[0] != (machine or hostname()):
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # EPERM: it runs, under another user
        return False
    return _is_zombie(pid)


def _is_zombie(pid: int) -> bool:
    """A killed child not yet reaped still answers kill(0); its state is Z."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def live_holder(holder: str | None, expires_at: str | None, now: datetime) -> str | None:
    """``holder`` while its lease counts (not expired, its process not gone), else None."""
    if not holder or not expires_at or expires_at <= ts(now):
        return None
    return None if holder_is_gone(holder) else holder


def other_live_holder(row: sqlite3.Row, holder: str, now: datetime) -> str | None:
    """The live holder of a session row (``holder``, ``holder_expires_at``) other than ours."""
    current = row["holder"]
    if current is None or current == holder:
        return None
    return live_holder(current, row["holder_expires_at"], now)


def expiry(now: datetime, lease_seconds: float) -> str:
    return ts(now + timedelta(seconds=lease_seconds))


class Leases:
    """Session holds (one appending connection per session) and named leases."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ session holds

    def acquire(
        self,
        session_id: str,
        holder: str,
        *,
        lease_seconds: float = 30.0,
        take_over: bool = False,
        now: datetime | None = None,
    ) -> str | None:
        """Make `holder` the one connection appending to this session.

        Returns None on success, else the other live holder. `take_over` replaces it.
        """
        now = now or utcnow()
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT holder, holder_expires_at FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if row is None:
                raise UnknownSession(session_id)
            other = None if take_over else other_live_holder(row, holder, now)
            if other is not None:
                return other
            conn.execute(
                "UPDATE sessions SET holder = ?, holder_expires_at = ? WHERE id = ?",
                (holder, expiry(now, lease_seconds), session_id),
            )
        return None

    def other_holder(
        self, session_id: str, holder: str, *, now: datetime | None = None
    ) -> str | None:
        """The live holder of the session other than `holder`, if any (nothing changes)."""
        rows = self.db.read(
            "SELECT holder, holder_expires_at FROM sessions WHERE id = ?", (session_id,)
        )
        if not rows:
            raise UnknownSession(session_id)
        return other_live_holder(rows[0], holder, now or utcnow())

    def renew(
        self, holder: str, *, lease_seconds: float = 30.0, now: datetime | None = None
    ) -> int:
        """Extend every session hold and named lease of `holder`; returns how many."""
        until = expiry(now or utcnow(), lease_seconds)
        with self.db.write() as conn:
            held = conn.execute(
                "UPDATE sessions SET holder_expires_at = ? WHERE holder = ?", (until, holder)
            ).rowcount
            named = conn.execute(
                "UPDATE leases SET expires_at = ? WHERE holder = ?", (until, holder)
            ).rowcount
        return max(held, 0) + max(named, 0)

    def release(self, session_id: str, holder: str) -> None:
        """Give up the hold on one session (no-op when someone else holds it)."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE sessions SET holder = NULL, holder_expires_at = NULL "
                "WHERE id = ? AND holder = ?",
                (session_id, holder),
            )

    def release_all(self, holder: str) -> None:
        """Give up every session hold and named lease of a connection that is going away."""
        with self.db.write() as conn:
            conn.execute(
                "UPDATE sessions SET holder = NULL, holder_expires_at = NULL WHERE holder = ?",
                (holder,),
            )
            conn.execute("DELETE FROM leases WHERE holder = ?", (holder,))

    # ------------------------------------------------------------------ named leases

    def take(
        self, name: str, holder: str, *, lease_seconds: float = 30.0, now: datetime | None = None
    ) -> bool:
        """Take (or renew) the lease `name` when it is free, lapsed, gone or ours already."""
        now = now or utcnow()
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT holder, expires_at FROM leases WHERE name = ?", (name,)
            ).fetchone()
            if (
                row is not None
                and row["holder"] != holder
                and live_holder(row["holder"], row["expires_at"], now) is not None
            ):
                return False
            conn.execute(
                "INSERT INTO leases (name, holder, expires_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                "expires_at = excluded.expires_at",
                (name, holder, expiry(now, lease_seconds)),
            )
        return True

    def give_up(self, name: str, holder: str) -> None:
        """Release the lease `name` if `holder` has it."""
        with self.db.write() as conn:
            conn.execute("DELETE FROM leases WHERE name = ? AND holder = ?", (name, holder))

    def holder_of(self, name: str, *, now: datetime | None = None) -> str | None:
        """The live holder of the lease `name`, or None."""
        rows = self.db.read("SELECT holder, expires_at FROM leases WHERE name = ?", (name,))
        if not rows:
            return None
        return live_holder(rows[0]["holder"], rows[0]["expires_at"], now or utcnow())
