"""The session service: which session is active in each workspace folder, and appends to it.

Rules it implements (SPEC sections 3 and 5):

* Each workspace folder has one active session. On open the folder attaches
  to the most recent resumable session of its boundary (same repository,
  worktree, branch, requester and machine, active or idle, not stale; see
  :func:`sidecar.core.policy.is_resumable`) that no other live connection
  holds, else a new session starts. Either way ``sessionChanged`` is sent.
* A session has one holder connection at a time: a lease in the store that
  this service renews while the connection lives and releases on shutdown.
  A lease whose holder process on this machine is gone is taken over at once,
  so a client reconnecting after a crash does not wait for the lease to lapse.
* Resume by id: a known id of the same repository, requester and machine
  becomes active; anything else starts a new session and says why in a
  warning; a session another live connection holds is not taken unless asked.
* Appends go to the named session, or the folder's active one (started on
  demand when there is none), and are announced with ``historyChanged``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sidecar.core.models import (
    Boundary,
    NewEvent,
    Session,
    SessionStatus,
    utcnow,
)
from sidecar.core.policy import DEFAULT_STALE_AFTER, is_resumable
from sidecar.services.errors import ServiceError
from sidecar.services.folders import Folder
from sidecar.store import Store, StoreError, UnknownSession

#: How long a hold lasts without renewal; the server renews every third of it.
DEFAULT_LEASE_SECONDS = 30.0
#: How many recent sessions of a boundary are considered when attaching.
ATTACH_CANDIDATES = 20

_LIVE = (SessionStatus.ACTIVE, SessionStatus.IDLE)


class Notifier(Protocol):
    """Where the service announces changes (the server forwards them to clients)."""

    def session_changed(self, folder: Folder, session: Session, reason: str) -> None:
        """The folder's active session is now ``session`` (``reason``: attached, started...)."""

    def history_changed(self, session_id: str, last_seq: int) -> None:
        """``session_id`` has events up to ``last_seq`` (callers may batch these)."""


@dataclass(frozen=True)
class Notice:
    """A warning to return with a result: machine-readable code and a sentence."""

    code: str
    message: str


@dataclass(frozen=True)
class ResumeOutcome:
    """What ``resume`` did: the folder's active session afterwards and why."""

    session: Session
    resumed: bool
    warning: Notice | None = None


def new_holder_id() -> str:
    """An id for this connection: ``<machine>:<pid>:<random>`` (liveness is checkable)."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"


def holder_is_gone(holder: str, *, machine: str | None = None) -> bool:
    """True when ``holder`` names a process on this machine that no longer runs.

    Holders on other machines, or in a shape this module did not write, are
    assumed alive: only their lease can expire them.
    """
    parts = holder.split(":")
    if len(parts) != 3 or parts[0] != (machine or socket.gethostname()):
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


class SessionService:
    """Active sessions per folder, holds, resume, fork, append. Not thread-safe: one thread."""

    def __init__(
        self,
        store: Store,
        notifier: Notifier,
        *,
        holder: str | None = None,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.notifier = notifier
        self.holder = holder or new_holder_id()
        self.stale_after = stale_after
        self.lease_seconds = lease_seconds
        self.clock = clock
        self._active: dict[str, str] = {}  # folder uri -> session id
        self._held: set[str] = set()

    # ------------------------------------------------------------------ holds

    def _acquire(self, session_id: str, *, take_over: bool = False) -> str | None:
        """Hold ``session_id``; None on success, else the other live holder."""
        other = self.store.acquire_hold(
            session_id, self.holder, lease_seconds=self.lease_seconds, take_over=take_over
        )
        if other is not None and holder_is_gone(other):
            other = self.store.acquire_hold(
                session_id, self.holder, lease_seconds=self.lease_seconds, take_over=True
            )
        if other is None:
            self._held.add(session_id)
        return other

    def _release(self, session_id: str) -> None:
        if session_id in self._held and session_id not in self._active.values():
            self._held.discard(session_id)
            self.store.release_hold(session_id, self.holder)
            self._mark(session_id, SessionStatus.IDLE, only_from=SessionStatus.ACTIVE)

    def _mark(
        self, session_id: str, status: SessionStatus, *, only_from: SessionStatus
    ) -> Session | None:
        try:
            session = self.store.get_session(session_id)
        except StoreError:
            return None
        if session.status is only_from:
            return self.store.set_status(session_id, status)
        return session

    def renew_holds(self) -> int:
        """Extend this connection's leases (call every ``lease_seconds / 3``)."""
        if not self._held:
            return 0
        return self.store.renew_holds(self.holder, lease_seconds=self.lease_seconds)

    def release_all(self) -> None:
        """Give up every hold and mark held active sessions idle (connection closing)."""
        held = list(self._held)
        self._active.clear()
        self._held.clear()
        self.store.release_all_holds(self.holder)
        for session_id in held:
            try:
                self._mark(session_id, SessionStatus.IDLE, only_from=SessionStatus.ACTIVE)
            except Exception:  # best effort while closing; the lease lapses anyway
                continue

    def holds(self, session_id: str) -> bool:
        """True when this connection holds ``session_id``."""
        return session_id in self._held

    # ------------------------------------------------------------------ active sessions

    def active_id(self, folder: Folder) -> str | None:
        """The id of the folder's active session, if any."""
        return self._active.get(folder.uri)

    def active_session(self, folder: Folder) -> Session | None:
        """The folder's active session, or None (e.g. after it was ended or deleted)."""
        session_id = self._active.get(folder.uri)
        if session_id is None:
            return None
        try:
            return self.store.get_session(session_id)
        except UnknownSession:
            return None

    def folder_of(self, session_id: str) -> list[str]:
        """The folder URIs whose active session is ``session_id``."""
        return [uri for uri, sid in self._active.items() if sid == session_id]

    def _activate(self, folder: Folder, session: Session, reason: str) -> Session:
        previous = self._active.get(folder.uri)
        self._active[folder.uri] = session.id
        if previous is not None and previous != session.id:
            self._release(previous)
        if session.status is SessionStatus.IDLE:
            session = self.store.set_status(session.id, SessionStatus.ACTIVE)
        else:
            session = self.store.get_session(session.id)  # with the hold just taken
        self.notifier.session_changed(folder, session, reason)
        return session

    def candidates(self, boundary: Boundary) -> list[Session]:
        """Recent live sessions of this boundary, most recent first."""
        page = self.store.list_sessions(
            repository=boundary.repository,
            worktree=boundary.worktree,
            branch=boundary.branch,
            requester=boundary.requester,
            machine=boundary.machine,
            statuses=list(_LIVE),
            limit=ATTACH_CANDIDATES,
        )
        return list(page.items)

    def attach_or_start(self, folder: Folder) -> Session:
        """Make the most recent resumable, unheld session of the folder active, else start one."""
        now = self.clock()
        for session in self.candidates(folder.boundary):
            ok, _ = is_resumable(session, folder.boundary, now, self.stale_after)
            if ok and self._acquire(session.id) is None:
                return self._activate(folder, session, "attached")
        return self.start(folder, reason="started")

    def forget_folder(self, folder_uri: str) -> None:
        """The folder was closed: release its session."""
        session_id = self._active.pop(folder_uri, None)
        if session_id is not None:
            self._release(session_id)

    def ensure_active(self, folder: Folder) -> Session:
        """The folder's active session, starting one when there is none."""
        session = self.active_session(folder)
        if session is not None and session.status in _LIVE:
            return session
        return self.start(folder, reason="started")

    # ------------------------------------------------------------------ lifecycle

    def start(
        self,
        folder: Folder,
        *,
        name: str = "",
        description: str = "",
        parent_id: str | None = None,
        boundary: Boundary | None = None,
        reason: str = "started",
    ) -> Session:
        """Start a new session on the folder's boundary and make it active there."""
        if parent_id is not None:
            self.store.get_session(parent_id)  # an unknown parent is an error, not a dangling id
        session = self.store.start_session(
            boundary or folder.boundary,
            name=name,
            description=description,
            parent_id=parent_id,
            head_sha=folder.head_sha,
        )
        self._acquire(session.id)
        return self._activate(folder, session, reason)

    def resume(self, folder: Folder, session_id: str, *, take_over: bool = False) -> ResumeOutcome:
        """The resume contract of ``sidecar/sessions/resume`` (see the module docstring)."""
        try:
            session = self.store.get_session(session_id)
        except UnknownSession:
            fresh = self.start(folder, reason="fresh")
            return ResumeOutcome(
                fresh,
                False,
                Notice(
                    "unknown_session",
                    f"There is no session {session_id} (it never existed or was deleted); "
                    f"started a new session {fresh.name!r} instead.",
                ),
            )
        ok, why = is_resumable(session, folder.boundary, self.clock(), explicit=True)
        if not ok:
            fresh = self.start(folder, reason="fresh")
            code = why.code.value if why is not None else "ineligible"
            detail = why.message if why is not None else "it belongs to another boundary"
            return ResumeOutcome(
                fresh,
                False,
                Notice(
                    code,
                    f"Session {session.name!r} cannot be resumed here: {detail} "
                    f"Started a new session {fresh.name!r} instead.",
                ),
            )
        other = self._acquire(session.id, take_over=take_over)
        if other is not None:
            current = self.active_session(folder) or self.ensure_active(folder)
            return ResumeOutcome(
                current,
                False,
                Notice(
                    "held",
                    f"Session {session.name!r} is in use by another connection ({other}). "
                    "Fork it to continue from its history, or resume it with takeOver: true "
                    "to take it over.",
                ),
            )
        if session.status is SessionStatus.ENDED or session.status is SessionStatus.ARCHIVED:
            session = self.store.set_status(session.id, SessionStatus.ACTIVE)
        return ResumeOutcome(self._activate(folder, session, "resumed"), True)

    def fork(
        self, folder: Folder, session_id: str, *, at_seq: int | None = None, name: str | None = None
    ) -> Session:
        """Fork ``session_id`` at ``at_seq`` onto the folder's boundary; the fork becomes active."""
        fork = self.store.fork_session(
            session_id, at_seq=at_seq, name=name, boundary=folder.boundary
        )
        self._acquire(fork.id)
        return self._activate(folder, fork, "forked")

    def end(self, session_id: str) -> Session:
        """End a session; folders it was active in get a new one on their next append."""
        session = self.store.end_session(session_id)
        self._detach(session_id)
        return session

    def delete(self, session_id: str) -> None:
        """Delete a session and its events."""
        self.store.get_session(session_id)
        self._detach(session_id)
        self.store.delete_session(session_id)

    def _detach(self, session_id: str) -> None:
        for uri in self.folder_of(session_id):
            del self._active[uri]
        if session_id in self._held:
            self._held.discard(session_id)
            self.store.release_hold(session_id, self.holder)

    # ------------------------------------------------------------------ events

    def check_writable(self, session_id: str) -> None:
        """Refuse appends to a session another live connection holds (e.g. took over)."""
        session = self.store.get_session(session_id)
        holder = session.holder
        expires = session.holder_expires_at
        if (
            holder
            and holder != self.holder
            and expires is not None
            and expires > self.clock()
            and not holder_is_gone(holder)
        ):
            self._held.discard(session_id)
            raise ServiceError(
                f"session {session_id} is in use by another connection ({holder}); "
                "resume it with takeOver: true, fork it, or start a new session"
            )

    def append(
        self, folder: Folder | None, session_id: str | None, events: Sequence[NewEvent]
    ) -> tuple[str, list[int]]:
        """Append ``events`` to ``session_id`` (default: the folder's active session)."""
        if session_id is None:
            if folder is None:
                raise ServiceError("no sessionId given and no workspace folder is open")
            session_id = self.ensure_active(folder).id
        self.check_writable(session_id)
        seqs = self.store.append_events(session_id, events)
        if seqs:
            self.notifier.history_changed(session_id, max(seqs))
        return session_id, seqs

    def announce(self, session_id: str) -> None:
        """Tell clients ``session_id`` changed (after a store call that appended an event)."""
        self.notifier.history_changed(session_id, self.store.last_seq(session_id))

    def sessions_of(self, folders: Iterable[Folder]) -> dict[str, Session | None]:
        """The active session of each folder, by folder URI."""
        return {folder.uri: self.active_session(folder) for folder in folders}
