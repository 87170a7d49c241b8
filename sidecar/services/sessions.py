"""Sessions: start, attach, resume, fork, end, delete; who may write; the resume contract.

Rules (SPEC sections 3 and 5), for every door:

* A session is appended to by one client *connection* at a time: a lease in
  the store (``holder``), renewed while the connection lives. A
  :class:`Writer` is either such a connection (the language server, ``watch``,
  the MCP server: it holds what it works on) or a one-shot process (the CLI,
  an agent hook, an import: it holds nothing, and is refused where a live
  connection holds). The check itself lives in the store's append transaction.
* Attach: a folder opened by a connection takes the most recent resumable
  session of its boundary that no live connection holds and that no agent
  records (an agent's own session is written by its hook), else a new one.
* Resume by id: a known id of the same repository, requester and machine is
  resumed; anything else starts a new session and says why in a warning; a
  session another live connection holds is refused (fork it, or take it over).

Not thread-safe: one owner thread (:mod:`sidecar.services.owner`) per service.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sidecar.core.kinds import Appendable
from sidecar.core.models import Boundary, Session, SessionStatus, utcnow
from sidecar.core.policy import DEFAULT_STALE_AFTER, is_resumable
from sidecar.services.boundary import Place
from sidecar.store import (
    DEFAULT_MAX_PAYLOAD_BYTES,
    SessionHeld,
    Store,
    StoreError,
    UnknownSession,
    new_holder_id,
)

#: How long a hold lasts without renewal; connections renew every third of it.
DEFAULT_LEASE_SECONDS = 30.0
#: How many recent sessions of a boundary are considered when attaching.
ATTACH_CANDIDATES = 20

LIVE = (SessionStatus.ACTIVE, SessionStatus.IDLE)


@dataclass(frozen=True)
class Writer:
    """Who appends: a connection that holds its sessions, or a one-shot process."""

    id: str
    holds: bool

    @classmethod
    def connection(cls) -> Writer:
        """A long-lived connection (editor, ``watch``, MCP): it holds what it writes to."""
        return cls(new_holder_id(), True)

    @classmethod
    def one_shot(cls) -> Writer:
        """A process that writes and exits (CLI, hook, import): it holds nothing."""
        return cls(new_holder_id(), False)


class HistoryListener(Protocol):
    """Told when a session has new events (the server sends ``historyChanged``)."""

    def __call__(self, session_id: str, last_seq: int) -> None: ...


def _quiet(session_id: str, last_seq: int) -> None:
    """No one to tell (one-shot doors)."""


@dataclass(frozen=True)
class Notice:
    """A warning to return with a result: a machine-readable code and a sentence."""

    code: str
    message: str
    branch: str | None = None
    """``other_branch``: the branch the session was recorded on (to offer a switch to it)."""

    def to_json(self) -> dict[str, str]:
        """The wire form (the protocol's ``ResultWarning``), for every door alike."""
        wire = {"code": self.code, "message": self.message}
        if self.branch is not None:
            wire["branch"] = self.branch
        return wire


@dataclass(frozen=True)
class ResumeOutcome:
    """What ``resume`` did: the session to work in now, whether it was resumed, and why not."""

    session: Session
    resumed: bool
    warning: Notice | None = None


def held_notice(error: SessionHeld, name: str) -> Notice:
    """The warning for a session another live connection holds (the same for every door)."""
    return Notice(
        "held",
        f"Session {name!r} is in use by another connection ({error.holder}). "
        "Fork it to continue from its history, or resume it with takeOver: true "
        "to take it over.",
    )


def _other_branch(session: Session, place: Place) -> Notice | None:
    """What to say when the user resumes a session recorded on another branch or worktree."""
    before, now = session.boundary, place.boundary
    if before.branch == now.branch and before.worktree == now.worktree:
        return None
    where = (
        f"on branch {before.branch!r}" if before.worktree == now.worktree
        else f"in worktree {before.worktree} on branch {before.branch!r}"
    )  # fmt: skip
    return Notice(
        "other_branch",
        f"Session {session.name!r} was recorded {where}; this worktree is on branch "
        f"{now.branch!r}, so files edited now land on {now.branch!r}. Switch to "
        f"{before.branch!r} to work on its branch, fork the session onto {now.branch!r}, "
        "or go on here.",
        branch=before.branch,
    )


class SessionService:
    """Sessions of one writer (see the module docstring). One owner thread."""

    def __init__(
        self,
        store: Store,
        writer: Writer,
        *,
        clock: Callable[[], datetime] = utcnow,
        stale_after: timedelta = DEFAULT_STALE_AFTER,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        on_history: HistoryListener = _quiet,
    ) -> None:
        self.store = store
        self.writer = writer
        self.clock = clock
        self.stale_after = stale_after
        self.lease_seconds = lease_seconds
        self.max_payload_bytes = max_payload_bytes
        self.on_history = on_history
        self._held: set[str] = set()

    # ------------------------------------------------------------------ holds

    def hold(self, session_id: str, *, take_over: bool = False) -> str | None:
        """Make this writer the session's one writer; None on success, else the other holder.

        A one-shot writer takes no lease: it only checks that no live connection holds it.
        """
        if not self.writer.holds:
            if take_over:
                return None
            return self.store.leases.other_holder(session_id, self.writer.id, now=self.clock())
        other = self.store.leases.acquire(
            session_id,
            self.writer.id,
            lease_seconds=self.lease_seconds,
            take_over=take_over,
            now=self.clock(),
        )
        if other is None:
            self._held.add(session_id)
        return other

    def release(self, session_id: str) -> None:
        """Give up the hold on one session; an active session it held turns idle."""
        if session_id not in self._held:
            return
        self._held.discard(session_id)
        self.store.leases.release(session_id, self.writer.id)
        self._mark_idle(session_id)

    def _mark_idle(self, session_id: str) -> None:
        try:
            session = self.store.sessions.get(session_id)
        except StoreError:
            return
        if session.status is SessionStatus.ACTIVE:
            self.store.sessions.set_status(session_id, SessionStatus.IDLE)

    def holds(self, session_id: str) -> bool:
        """True when this writer holds ``session_id``."""
        return session_id in self._held

    def renew(self) -> int:
        """Extend this writer's leases (call every ``lease_seconds / 3``)."""
        if not self.writer.holds:
            return 0
        return self.store.leases.renew(
            self.writer.id, lease_seconds=self.lease_seconds, now=self.clock()
        )

    def release_all(self) -> None:
        """Give up every hold (the connection is closing); held active sessions turn idle."""
        held = list(self._held)
        self._held.clear()
        if self.writer.holds:
            self.store.leases.release_all(self.writer.id)
        for session_id in held:
            try:
                self._mark_idle(session_id)
            except Exception:  # best effort while closing; the lease lapses anyway
                continue

    # ------------------------------------------------------------------ lifecycle

    def candidates(self, boundary: Boundary) -> list[Session]:
        """Recent live sessions of exactly this boundary that a connection may attach to."""
        page = self.store.sessions.list(
            repository=boundary.repository,
            worktree=boundary.worktree,
            branch=boundary.branch,
            requester=boundary.requester,
            machine=boundary.machine,
            statuses=list(LIVE),
            with_provider_ref=False,
            limit=ATTACH_CANDIDATES,
        )
        return list(page.items)

    def attach(self, place: Place) -> Session | None:
        """The most recent resumable, unheld session of the place, active again; else None.

        Nothing is started here: a session begins with its first real event
        (:meth:`Workspace.ensure_active`) or an explicit start, resume or fork.
        """
        now = self.clock()
        for session in self.candidates(place.boundary):
            ok, _ = is_resumable(session, place.boundary, now, self.stale_after)
            if ok and self.hold(session.id) is None:
                return self._activate(session)
        return None

    def _activate(self, session: Session) -> Session:
        if session.status is not SessionStatus.ACTIVE:
            return self.store.sessions.set_status(session.id, SessionStatus.ACTIVE)
        return self.store.sessions.get(session.id)

    def start(
        self,
        place: Place,
        *,
        name: str = "",
        description: str = "",
        parent_id: str | None = None,
        boundary: Boundary | None = None,
    ) -> Session:
        """A new session on the place's boundary (held by a connection from its first moment)."""
        root_id = None
        if parent_id is not None:
            parent = self.store.sessions.get(parent_id)  # unknown parent: an error, not a dangle
            root_id = parent.root_id or parent.id
        session = self.store.sessions.create(
            boundary or place.boundary,
            name=name,
            description=description,
            parent_id=parent_id,
            root_id=root_id,
            head_sha=place.head_sha,
            holder=self.writer.id if self.writer.holds else None,
            lease_seconds=self.lease_seconds,
            now=self.clock(),
        )
        if self.writer.holds:
            self._held.add(session.id)
        return session

    def resume(self, place: Place, session_id: str, *, take_over: bool = False) -> ResumeOutcome:
        """The resume contract (see the module docstring); never raises for a bad id."""
        try:
            session = self.store.sessions.get(session_id)
        except UnknownSession:
            fresh = self.start(place)
            return ResumeOutcome(
                fresh,
                False,
                Notice(
                    "unknown_session",
                    f"There is no session {session_id} (it never existed or was deleted); "
                    f"started a new session {fresh.name!r} instead.",
                ),
            )
        ok, why = is_resumable(session, place.boundary, self.clock(), explicit=True)
        if not ok:
            fresh = self.start(place)
            code = why.code.value if why is not None else "ineligible"
            detail = why.message if why is not None else "it belongs to another boundary."
            return ResumeOutcome(
                fresh,
                False,
                Notice(
                    code,
                    f"Session {session.name!r} cannot be resumed here: {detail} "
                    f"Started a new session {fresh.name!r} instead.",
                ),
            )
        other = self.hold(session.id, take_over=take_over)
        if other is not None:
            return ResumeOutcome(
                session, False, held_notice(SessionHeld(session.id, other), session.name)
            )
        return ResumeOutcome(self._activate(session), True, _other_branch(session, place))

    def fork(
        self, place: Place, session_id: str, *, at_seq: int | None = None, name: str | None = None
    ) -> Session:
        """Fork ``session_id`` at ``at_seq`` onto the place's boundary (held by a connection)."""
        parent = self.store.sessions.get(session_id)
        boundary = place.boundary.model_copy(
            update={
                "task": place.boundary.task or parent.boundary.task,
                "phase": place.boundary.phase or parent.boundary.phase,
                "provider": place.boundary.provider or parent.boundary.provider,
            }
        )
        fork = self.store.sessions.fork(
            session_id,
            at_seq=at_seq,
            name=name,
            boundary=boundary,
            holder=self.writer.id if self.writer.holds else None,
            lease_seconds=self.lease_seconds,
            now=self.clock(),
        )
        if self.writer.holds:
            self._held.add(fork.id)
        return fork

    def end(self, session_id: str) -> Session:
        """End a session (its hold goes with it)."""
        self._held.discard(session_id)
        return self.store.sessions.end(session_id, now=self.clock())

    def delete(self, session_id: str) -> None:
        """Delete a session and everything derived from it."""
        self.store.sessions.delete(session_id)
        self._held.discard(session_id)

    # ------------------------------------------------------------------ writing

    def write(
        self,
        session_id: str,
        events: Sequence[Appendable],
        *,
        history: bool = False,
        bookkeeping: bool = False,
    ) -> list[int]:
        """Store ``events`` (the store checks the hold, the size, redacts) and announce them.

        ``history`` marks events imported from the past (the session's activity
        follows their times); ``bookkeeping`` marks the sidecar's own records
        (drift, decisions), which a hold does not refuse.
        """
        seqs = self.store.events.append(
            session_id,
            events,
            holder=None if bookkeeping else self.writer.id,
            max_payload_bytes=self.max_payload_bytes,
            now=self.clock(),
            activity_from_events=history,
        )
        if seqs:
            self.on_history(session_id, max(seqs))
        return seqs

    def announce(self, session_id: str) -> None:
        """Tell listeners ``session_id`` changed (after a store call that appended an event)."""
        self.on_history(session_id, self.store.events.last_seq(session_id))
