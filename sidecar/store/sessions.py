"""Sessions: creating, finding, listing, changing, forking, ending and deleting them."""

from __future__ import annotations

import builtins
import contextlib
import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sidecar.core.ids import new_id
from sidecar.core.models import (
    Boundary,
    FootprintEntry,
    Session,
    SessionPage,
    SessionStatus,
    utcnow,
)
from sidecar.core.redact import redact_optional, redact_text
from sidecar.core.tags import retagged
from sidecar.core.text import default_session_name
from sidecar.store.database import Database
from sidecar.store.errors import InvalidRequest, UnknownSession
from sidecar.store.history import inherited_footprint_in, materialize_in
from sidecar.store.leases import expiry
from sidecar.store.plain import FOOTPRINT_LIMIT, end_in, footprint_rows, session_row_by_ref
from sidecar.store.rows import (
    SESSION_COLUMNS,
    boundary_row,
    decode_cursor,
    encode_cursor,
    footprint_from_row,
    session_from_row,
    ts,
)

#: "Leave unchanged" for arguments where None is a value (`head_sha`).
UNSET: Any = object()

_SELECT = f"SELECT {SESSION_COLUMNS} FROM sessions"


def get_in(conn: sqlite3.Connection, session_id: str) -> Session:
    """The session with this id, read on `conn`; `UnknownSession` if there is none."""
    row = conn.execute(f"{_SELECT} WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        raise UnknownSession(session_id)
    return session_from_row(row)


def require_in(conn: sqlite3.Connection, session_id: str) -> None:
    """`UnknownSession` unless the session exists."""
    if conn.execute("SELECT 1 FROM sessions WHERE id = ?", (session_id,)).fetchone() is None:
        raise UnknownSession(session_id)


def insert_in(
    conn: sqlite3.Connection,
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
    holder: str | None = None,
    lease_seconds: float = 30.0,
    now: datetime | None = None,
    if_new_ref: bool = False,
) -> str:
    """Insert a session row on an open transaction; returns its id.

    With `if_new_ref` a session already recorded for (provider, provider_ref)
    wins and nothing is inserted (the caller selects it).
    """
    now = now or utcnow()
    session_id = new_id(int(now.timestamp() * 1000))
    if not name.strip():
        name = default_session_name(boundary.branch, now)
    for ref in (parent_id, root_id):
        if ref is not None:
            require_in(conn, ref)
    stamp = ts(now)
    row = {
        "id": session_id,
        # Every stored text goes through redaction (a name may be a raw first prompt).
        "name": redact_text(name.strip())[:200],
        "description": redact_text(description),
        "status": SessionStatus(status).value,
        **boundary_row(boundary),
        "created_at": stamp,
        "updated_at": stamp,
        "last_event_at": None,
        "activity_at": stamp,
        "event_count": forked_at_seq or 0,
        "last_prompt": None,
        "head_sha": head_sha,
        "parent_id": parent_id,
        "forked_at_seq": forked_at_seq,
        "root_id": root_id,
        "agent_name": redact_optional(agent_name),
        "tags": json.dumps([redact_text(tag) for tag in tags]),
        "pinned": 0,
        "provider_ref": provider_ref,
        "holder": holder,
        "holder_expires_at": expiry(now, lease_seconds) if holder else None,
    }
    columns = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    sql = f"INSERT INTO sessions ({columns}) VALUES ({marks})"
    if if_new_ref:
        sql += " ON CONFLICT (provider, provider_ref) WHERE provider_ref IS NOT NULL DO NOTHING"
    try:
        conn.execute(sql, list(row.values()))
    except sqlite3.IntegrityError as error:
        if "provider_ref" in str(error):
            raise InvalidRequest(
                f"a session for {boundary.provider} session {provider_ref!r} already exists: "
                "find it by its provider reference instead of creating another"
            ) from error
        raise
    return session_id


def delete_in(conn: sqlite3.Connection, session_id: str) -> None:
    """Delete a session on an open transaction; its forks keep their inherited history."""
    require_in(conn, session_id)
    for child in conn.execute(
        "SELECT id, forked_at_seq FROM sessions WHERE parent_id = ? AND forked_at_seq > 0",
        (session_id,),
    ).fetchall():
        materialize_in(conn, child["id"], int(child["forked_at_seq"]))
    # Foreign keys cascade to everything derived from it; a trigger updates the index.
    conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))


class Sessions:
    """Sessions and their lineage (forks and sub-sessions)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ creating

    def create(
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
        holder: str | None = None,
        lease_seconds: float = 30.0,
        now: datetime | None = None,
    ) -> Session:
        """Create a session on `boundary` (held by `holder` from its first moment, if given).

        An empty name becomes "<branch> <date time>" so every session reads well in a list.
        """
        with self.db.write() as conn:
            session_id = insert_in(
                conn,
                boundary,
                name=name,
                description=description,
                status=status,
                parent_id=parent_id,
                forked_at_seq=forked_at_seq,
                root_id=root_id,
                agent_name=agent_name,
                tags=tags,
                provider_ref=provider_ref,
                head_sha=head_sha,
                holder=holder,
                lease_seconds=lease_seconds,
                now=now,
            )
            return get_in(conn, session_id)

    def ensure_for_provider_ref(
        self, boundary: Boundary, provider_ref: str, **create: Any
    ) -> tuple[Session, bool]:
        """The session for the provider's own session id, created on first sight.

        Returns (session, created). Any number of processes seeing the same new
        reference at once end up with one session: the unique index decides.
        """
        if not boundary.provider:
            raise InvalidRequest("a provider reference needs the boundary's provider")
        with self.db.write() as conn:
            inserted = insert_in(
                conn, boundary, provider_ref=provider_ref, if_new_ref=True, **create
            )
            row = conn.execute(
                f"{_SELECT} WHERE provider = ? AND provider_ref = ?",
                (boundary.provider, provider_ref),
            ).fetchone()
        return session_from_row(row), row["id"] == inserted

    def find_by_provider_ref(self, provider: str, ref: str) -> Session | None:
        """The session imported from or bound to the provider's own session id."""
        with self.db.reading() as conn:
            row = session_row_by_ref(conn, provider, ref)
        return session_from_row(row) if row is not None else None

    # ------------------------------------------------------------------ reading

    def get(self, session_id: str) -> Session:
        """The session with this id; `UnknownSession` if there is none."""
        with self.db.reading() as conn:
            return get_in(conn, session_id)

    def list(
        self,
        *,
        repository: str | None = None,
        worktree: str | None = None,
        branch: str | None = None,
        requester: str | None = None,
        machine: str | None = None,
        provider: str | None = None,
        statuses: Sequence[SessionStatus | str] | None = None,
        text: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
        with_provider_ref: bool | None = None,
        tag: str | None = None,
        pinned: bool | None = None,
    ) -> SessionPage:
        """Sessions, most recent activity first, filtered; `next_cursor` pages on (keyset).

        `with_provider_ref` False keeps only sessions without a provider reference,
        True only those with one. `tag` keeps sessions carrying that tag (in its
        stored, redacted form); `pinned` True only pinned ones, False only unpinned.
        """
        where: builtins.list[str] = []
        params: builtins.list[Any] = []
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
        if with_provider_ref is not None:
            where.append(f"provider_ref IS {'NOT ' if with_provider_ref else ''}NULL")
        if tag is not None:
            where.append("EXISTS (SELECT 1 FROM json_each(sessions.tags) WHERE value = ?)")
            params.append(redact_text(tag))
        if pinned is not None:
            where.append("pinned = ?")
            params.append(int(pinned))
        if cursor:
            activity, last_id = decode_cursor(cursor)
            where.append("(activity_at < ? OR (activity_at = ? AND id < ?))")
            params.extend([activity, activity, last_id])
        limit = max(1, min(int(limit), 1000))
        sql = _SELECT
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY activity_at DESC, id DESC LIMIT ?"
        rows = self.db.read(sql, [*params, limit + 1])
        items = [session_from_row(r) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(last["activity_at"], last["id"])
        return SessionPage(items=items, next_cursor=next_cursor)

    def children(self, session_id: str) -> builtins.list[Session]:
        """Sessions forked from, or delegated by, this one."""
        rows = self.db.read(f"{_SELECT} WHERE parent_id = ? ORDER BY created_at", (session_id,))
        return [session_from_row(r) for r in rows]

    def lineage(self, session_id: str) -> builtins.list[Session]:
        """Ancestors of a session, nearest first (forks and sub-sessions)."""
        chain: builtins.list[Session] = []
        seen = {session_id}
        with self.db.reading() as conn:
            current = get_in(conn, session_id)
            while current.parent_id and current.parent_id not in seen:
                seen.add(current.parent_id)
                try:
                    current = get_in(conn, current.parent_id)
                except UnknownSession:
                    break
                chain.append(current)
        return chain

    def footprint(
        self, session_id: str, *, limit: int = FOOTPRINT_LIMIT
    ) -> builtins.list[FootprintEntry]:
        """The paths this session touched, heaviest first."""
        with self.db.reading() as conn:
            get_in(conn, session_id)
            rows = footprint_rows(conn, session_id, limit)
        return [footprint_from_row(r) for r in rows]

    # ------------------------------------------------------------------ changing

    def update(
        self,
        session_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        status: SessionStatus | None = None,
        boundary: Boundary | None = None,
        head_sha: str | None = UNSET,
        tags: Sequence[str] | None = None,
        pinned: bool | None = None,
        now: datetime | None = None,
    ) -> Session:
        """Change the given fields of a session; the others stay as they are."""
        changes: dict[str, Any] = {}
        if name is not None:
            if not name.strip():
                raise InvalidRequest("a session name cannot be empty")
            changes["name"] = redact_text(name.strip())[:200]
        if description is not None:
            changes["description"] = redact_text(description)
        if status is not None:
            changes["status"] = SessionStatus(status).value
        if boundary is not None:
            changes.update(boundary_row(boundary))
        if head_sha is not UNSET:
            changes["head_sha"] = head_sha
        if tags is not None:
            changes["tags"] = json.dumps([redact_text(tag) for tag in tags])
        if pinned is not None:
            changes["pinned"] = int(pinned)
        return self._change(session_id, changes, now)

    def _change(self, session_id: str, changes: dict[str, Any], now: datetime | None) -> Session:
        changes["updated_at"] = ts(now or utcnow())
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self.db.write() as conn:
            cursor = conn.execute(
                f"UPDATE sessions SET {assignments} WHERE id = ?", [*changes.values(), session_id]
            )
            if cursor.rowcount == 0:
                raise UnknownSession(session_id)
            return get_in(conn, session_id)

    def retag(
        self,
        session_id: str,
        *,
        add: Sequence[str] = (),
        remove: Sequence[str] = (),
        now: datetime | None = None,
    ) -> Session:
        """Add and remove tags (see :func:`sidecar.core.tags.retagged`) in one transaction,
        so two processes tagging at once both keep their tags."""
        with self.db.write() as conn:
            current = get_in(conn, session_id).tags
            tags = retagged(current, add, remove)
            conn.execute(
                "UPDATE sessions SET tags = ?, updated_at = ? WHERE id = ?",
                (json.dumps(tags), ts(now or utcnow()), session_id),
            )
            return get_in(conn, session_id)

    def rename(self, session_id: str, name: str) -> Session:
        """Give a session a new name."""
        return self.update(session_id, name=name)

    def set_status(self, session_id: str, status: SessionStatus | str) -> Session:
        """Set a session's status (active, idle, ended, archived)."""
        return self.update(session_id, status=SessionStatus(status))

    def end(self, session_id: str, *, now: datetime | None = None) -> Session:
        """Mark a session ended and release its holder, in one transaction."""
        with self.db.write() as conn:
            end_in(conn, session_id, now or utcnow())
            return get_in(conn, session_id)

    # ------------------------------------------------------------------ lineage

    def fork(
        self,
        session_id: str,
        *,
        at_seq: int | None = None,
        name: str | None = None,
        boundary: Boundary | None = None,
        holder: str | None = None,
        lease_seconds: float = 30.0,
        now: datetime | None = None,
    ) -> Session:
        """A new session that shares this one's history up to `at_seq` (default: all).

        The fork starts with the footprint its inherited history implies.
        """
        with self.db.write() as conn:
            parent = get_in(conn, session_id)
            last = parent.event_count
            at = last if at_seq is None else int(at_seq)
            if at < 0 or at > last:
                raise InvalidRequest(
                    f"cannot fork session {session_id!r} at seq {at}: it has events 1..{last}"
                )
            child_id = insert_in(
                conn,
                boundary or parent.boundary,
                name=name or f"{parent.name} (fork)",
                description=parent.description,
                parent_id=parent.id,
                forked_at_seq=at,
                root_id=parent.root_id or parent.id,
                tags=parent.tags,
                head_sha=parent.head_sha,
                holder=holder,
                lease_seconds=lease_seconds,
                now=now,
            )
            weights = inherited_footprint_in(conn, parent.id, at, parent.boundary.worktree)
            if weights:
                conn.executemany(
                    "INSERT INTO footprint (session_id, path, weight, last_seq) "
                    "VALUES (?, ?, ?, ?)",
                    [(child_id, p, w, s) for p, (w, s) in weights.items()],
                )
            return get_in(conn, child_id)

    # ------------------------------------------------------------------ deleting

    def delete(self, session_id: str) -> None:
        """Delete a session and everything derived from it, in one transaction.

        Forks that read this session's history get their inherited events copied
        in first, so deleting a parent never loses a child's history.
        """
        with self.db.write() as conn:
            delete_in(conn, session_id)

    def cleanup(
        self, older_than_days: float, *, dry_run: bool = False, now: datetime | None = None
    ) -> builtins.list[Session]:
        """Delete ended sessions idle for more than N days; pinned ones are kept.

        With `dry_run` nothing is deleted; either way the affected sessions are returned.
        """
        if older_than_days < 0:
            raise InvalidRequest(f"olderThanDays must be >= 0, got {older_than_days}")
        cutoff = ts((now or utcnow()) - timedelta(days=older_than_days))
        sql = (
            f"{_SELECT} WHERE status = 'ended' AND pinned = 0 AND activity_at < ? "
            "ORDER BY activity_at"
        )
        if dry_run:
            return [session_from_row(r) for r in self.db.read(sql, (cutoff,))]
        with self.db.write() as conn:
            victims = [session_from_row(r) for r in conn.execute(sql, (cutoff,)).fetchall()]
            for session in victims:
                with contextlib.suppress(UnknownSession):
                    delete_in(conn, session.id)
        return victims
