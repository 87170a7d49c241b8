"""A connection's workspace: its folders, their active sessions and pending decisions.

The language server, ``session-sidecar watch`` and the MCP server each keep
one :class:`Workspace` on their owner thread. It ties the other services
together for folder-based doors:

* each folder has a :class:`Place` (boundary, git state), an active session
  (attached or started on open), a pending recommendation and, in git, a
  :class:`~sidecar.services.tracker.GitTracker` that the door feeds with git
  and worktree changes;
* requests go through it (start, resume, fork, append, evaluate, decide), so
  "which session is active here" and "what is pending" are kept in one place;
* drift is shown through a :class:`DriftPort`: the server sends
  ``sidecar/driftDetected`` and asks with ``window/showMessageRequest``, the
  terminal prints and reads numbered answers, the MCP server stays quiet.

Owner thread only. Answers to prompts come back through ``post`` (which
queues a job on the owner thread); an answer to a prompt made stale by a
newer change (the folder's ``generation`` moved on) is ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from sidecar.core.decisions import choice_for_answer
from sidecar.core.models import (
    Action,
    Boundary,
    NewEvent,
    ReasonCode,
    Recommendation,
    Session,
    SessionStatus,
)
from sidecar.services.append import Appended, append
from sidecar.services.boundary import Place, Profile, boundary_for
from sidecar.services.drift import Decided, DriftSettings, decide, evaluate
from sidecar.services.errors import InvalidArgument, ServiceError
from sidecar.services.paths import uri_to_path
from sidecar.services.repositories import settle_repository
from sidecar.services.sessions import LIVE, ResumeOutcome, SessionService
from sidecar.store import StoreError, UnknownSession

if TYPE_CHECKING:
    from sidecar.services.tracker import GitTracker

logger = logging.getLogger(__name__)


class DriftPort(Protocol):
    """How a door shows drift and session changes (called on the owner thread, never blocks)."""

    def notify_drift(
        self, folder: str, recommendation: Recommendation, before: Boundary | None, after: Boundary
    ) -> None:
        """Show ``recommendation`` for the move from ``before`` to ``after``."""

    def ask(
        self,
        folder: str,
        recommendation: Recommendation,
        actions: list[str],
        answer: Callable[[str | None], None],
    ) -> None:
        """Ask the user to pick one of ``actions``; call ``answer`` (from any thread) later."""

    def session_changed(self, folder: str, session: Session, reason: str) -> None:
        """The folder's active session is now ``session`` (attached, started, resumed...)."""


class QuietPort:
    """A port that shows nothing and asks nobody (the MCP server, tests)."""

    def notify_drift(
        self, folder: str, recommendation: Recommendation, before: Boundary | None, after: Boundary
    ) -> None:
        """Nothing to show."""

    def ask(
        self,
        folder: str,
        recommendation: Recommendation,
        actions: list[str],
        answer: Callable[[str | None], None],
    ) -> None:
        """Nobody to ask: the prompt counts as dismissed."""
        answer(None)

    def session_changed(self, folder: str, session: Session, reason: str) -> None:
        """Nothing to show."""


@dataclass
class Folder:
    """One workspace folder of a connection."""

    uri: str
    """The folder as the client announced it (notifications echo it)."""
    place: Place
    active_id: str | None = None
    pending: Recommendation | None = None
    generation: int = 0
    """Bumped by every new drift and decision: answers to older prompts are ignored."""
    watcher_mode: str = "off"
    """native: the sidecar watches the worktree; editor: the editor reports changes; off."""
    tracker: GitTracker | None = None
    """Set when a door watches the folder's git state."""
    extra: dict[str, object] = field(default_factory=dict)
    """Door-specific state (watch handles); the workspace never reads it."""


class Workspace:
    """The folders of one connection (see the module docstring). Owner thread only."""

    def __init__(
        self,
        sessions: SessionService,
        port: DriftPort,
        *,
        profile: Profile | None = None,
        settings: DriftSettings | None = None,
        post: Callable[[Callable[[], None]], None] | None = None,
    ) -> None:
        self.sessions = sessions
        self.store = sessions.store
        self.port = port
        self.profile = profile or Profile()
        self.settings = settings or DriftSettings()
        self._post = post
        self._folders: dict[str, Folder] = {}

    # ------------------------------------------------------------------ folders

    def __iter__(self) -> Iterator[Folder]:
        return iter(list(self._folders.values()))

    def __len__(self) -> int:
        return len(self._folders)

    def resolve(self, uri: str) -> Place:
        """The place of a folder URI (or path) now, with this workspace's profile."""
        path = uri_to_path(uri)
        if path is None:
            raise InvalidArgument(f"workspace folder {uri!r} is not a file: URI or path")
        return boundary_for(path, self.profile)

    def open(self, uri: str, *, attach: bool = True) -> Folder:
        """Add a folder (re-resolving it when already open) and attach or start its session."""
        place = self.resolve(uri)
        settle_repository(self.store, place)
        folder = self._folders.get(uri) or Folder(uri=uri, place=place)
        folder.place = place
        self._folders[uri] = folder
        if attach:
            self.attach(folder)
        return folder

    def attach(self, folder: Folder) -> Session | None:
        """Attach the folder's recent session on its git state now, if it has one.

        An editor start alone creates no session: with nothing recent to attach,
        the folder has none until its first real event (:meth:`ensure_active`),
        and when the branch's last session is only stale, resuming it is offered
        (a pending decision, asked as the ``prompts`` setting says). None then,
        and when the database is read-only.

        A door that watches the folder starts watching before this (so a change
        in between is seen) and builds its tracker after it.
        """
        folder.place = self.resolve(folder.uri)
        if self.store.read_only or folder.active_id is not None:
            return self.active(folder)
        session = self.sessions.attach(folder.place)
        if session is not None:
            return self._set_active(folder, session, "attached")
        rec = evaluate(self.sessions, folder.place, None, settings=self.settings)
        target = rec.target_session_id if rec.action is Action.RESUME else None
        held = target is not None and self.sessions.hold(target) is not None
        if rec.ask and not rec.deferred and not held:
            self.show(folder, rec, None)
            self.respond(folder, rec, None)
        return None

    def close(self, uri: str) -> Folder | None:
        """Remove a folder and release its session (nothing is ended)."""
        folder = self._folders.pop(uri, None)
        if folder is not None and folder.active_id is not None:
            self._release_if_unused(folder.active_id)
        return folder

    def find(self, name: str | None) -> Folder:
        """The folder a request names (URI or path; default: the first)."""
        if not self._folders:
            raise InvalidArgument("no workspace folder is open in this connection")
        if name is None:
            return next(iter(self._folders.values()))
        if name in self._folders:
            return self._folders[name]
        path = uri_to_path(name)
        for folder in self._folders.values():
            if path is not None and folder.place.path == path:
                return folder
        known = ", ".join(self._folders)
        raise InvalidArgument(
            f"folder {name!r} is not a workspace folder of this connection (open: {known})"
        )

    def refresh(self, folder: Folder) -> Folder:
        """Re-read the folder's git state; a tracker sees the change first (it may decide)."""
        if folder.tracker is not None:
            folder.tracker.observe("request")
        else:
            folder.place = self.resolve(folder.uri)
        return folder

    def containing(self, path: str) -> Folder | None:
        """The folder whose worktree holds ``path`` (the deepest match), if any."""
        best: Folder | None = None
        for folder in self._folders.values():
            if folder.place.contains(path) and (
                best is None or len(folder.place.path) > len(best.place.path)
            ):
                best = folder
        return best

    def folders_of(self, session_id: str) -> list[Folder]:
        """The folders whose active session is ``session_id``."""
        return [f for f in self._folders.values() if f.active_id == session_id]

    # ------------------------------------------------------------------ active sessions

    def active(self, folder: Folder) -> Session | None:
        """The folder's active session, or None (never attached, ended or deleted)."""
        if folder.active_id is None:
            return None
        try:
            return self.store.sessions.get(folder.active_id)
        except UnknownSession:
            folder.active_id = None
            return None

    def _set_active(self, folder: Folder, session: Session, reason: str) -> Session:
        previous = folder.active_id
        folder.active_id = session.id
        if previous is not None and previous != session.id:
            self._release_if_unused(previous)
        self.port.session_changed(folder.uri, session, reason)
        return session

    def _release_if_unused(self, session_id: str) -> None:
        if not any(f.active_id == session_id for f in self._folders.values()):
            self.sessions.release(session_id)

    def ensure_active(self, folder: Folder) -> Session:
        """The folder's live active session, starting one when there is none."""
        session = self.active(folder)
        if session is not None and session.status in LIVE:
            return session
        return self._set_active(folder, self.sessions.start(folder.place), "started")

    # ------------------------------------------------------------------ requests

    def start(
        self,
        folder: Folder,
        *,
        name: str = "",
        description: str = "",
        parent_id: str | None = None,
        boundary: Boundary | None = None,
        place: Place | None = None,
    ) -> Session:
        """A new session, active in the folder."""
        session = self.sessions.start(
            place or folder.place,
            name=name,
            description=description,
            parent_id=parent_id,
            boundary=boundary,
        )
        return self._set_active(folder, session, "started")

    def resume(self, folder: Folder, session_id: str, *, take_over: bool = False) -> ResumeOutcome:
        """The resume contract; the folder's active session afterwards, and a warning."""
        outcome = self.sessions.resume(folder.place, session_id, take_over=take_over)
        if outcome.warning is not None and outcome.warning.code == "held":
            current = self.ensure_active(folder)
            return ResumeOutcome(current, False, outcome.warning)
        reason = "resumed" if outcome.resumed else "fresh"
        return ResumeOutcome(
            self._set_active(folder, outcome.session, reason), outcome.resumed, outcome.warning
        )

    def fork(
        self, folder: Folder, session_id: str, *, at_seq: int | None = None, name: str | None = None
    ) -> Session:
        """Fork a session onto the folder's boundary; the fork becomes active."""
        fork = self.sessions.fork(folder.place, session_id, at_seq=at_seq, name=name)
        return self._set_active(folder, fork, "forked")

    def end(self, session_id: str) -> Session:
        """End a session; folders it was active in start a new one on their next event."""
        session = self.sessions.end(session_id)
        for folder in self.folders_of(session_id):
            folder.active_id = None
        return session

    def delete(self, session_id: str) -> None:
        """Delete a session and its events."""
        self.store.sessions.get(session_id)
        for folder in self.folders_of(session_id):
            folder.active_id = None
        self.sessions.delete(session_id)

    def append(
        self, folder: Folder | None, session_id: str | None, events: Sequence[NewEvent]
    ) -> Appended:
        """Append to ``session_id`` (default: the folder's active session) and show drift."""
        if session_id is None:
            if folder is None:
                raise ServiceError("no sessionId given and no workspace folder is open")
            session_id = self.ensure_active(folder).id
        watching = folder.uri if folder is not None else None
        shown = [f for f in self.folders_of(session_id) if watching in (None, f.uri)]
        # While a branch decision is pending the work is not the session's scope to judge.
        check = all(f.pending is None for f in shown)
        done = append(
            self.sessions, session_id, events, settings=self.settings, check_activity=check
        )
        if done.drift is not None:
            for target in shown or ([folder] if folder is not None else []):
                session = self.active(target)
                self.show(target, done.drift, session.boundary if session else None)
                if done.drift.action is not Action.CONTINUE:
                    self.respond(target, done.drift, session)
        return done

    def note(self, folder: Folder, events: Sequence[NewEvent]) -> Appended | None:
        """Record what the user looked at (a file opened or closed) in the folder's live
        session; looking begins no session, so with none nothing is recorded (None)."""
        session = self.active(folder)
        if session is None or session.status not in LIVE:
            return None
        return self.append(folder, session.id, events)

    def evaluate(self, folder: Folder) -> Recommendation:
        """The recommendation for the folder now (git is read first)."""
        folder = self.refresh(folder)
        return evaluate(self.sessions, folder.place, self.active(folder), settings=self.settings)

    def decide(
        self,
        folder: Folder,
        action: Action,
        *,
        session_id: str | None = None,
        remember: bool = False,
        chosen: str = "command",
    ) -> Session:
        """Act on the user's choice (``sidecar/drift/decide``, a prompt's answer)."""
        pending, folder.pending = folder.pending, None
        folder.generation += 1
        decided: Decided = decide(
            self.sessions,
            folder.place,
            self.active(folder),
            action,
            session_id=session_id,
            remember=remember,
            chosen=chosen,
            pending=pending,
            settings=self.settings,
        )
        self._set_active(folder, decided.session, decided.reason)
        return decided.session

    # ------------------------------------------------------------------ drift

    def show(self, folder: Folder, rec: Recommendation, before: Boundary | None) -> None:
        """Show a recommendation now (nothing may delay it) and keep it pending unless it is
        a plain 'continue'."""
        if rec.action is not Action.CONTINUE or rec.deferred:
            folder.generation += 1
            folder.pending = rec
        self.port.notify_drift(folder.uri, rec, before, folder.place.boundary)

    def respond(self, folder: Folder, rec: Recommendation, session: Session | None) -> None:
        """Ask, leave pending, or apply ``rec`` (by the ``prompts`` setting and the policy)."""
        if rec.deferred:
            return
        prompts = self.settings.prompts
        if rec.ask and prompts == "native":
            self._ask(folder, rec, session)
            return
        if rec.ask and prompts == "custom":
            return  # the client renders it and answers with sidecar/drift/decide
        if session is None and rec.action in (Action.CONTINUE, Action.FRESH):
            return  # nothing to keep, and a fresh session begins with the first event
        remembered = any(
            r.code is ReasonCode.USER_CHOICE and r.evidence.get("source") == "remembered"
            for r in rec.reasons
        )
        try:
            self.decide(
                folder,
                rec.action,
                session_id=rec.target_session_id if rec.action is Action.RESUME else None,
                chosen="remembered" if remembered else "automatic",
            )
        except (ServiceError, StoreError) as exc:
            logger.warning("could not apply %s in %s: %s", rec.action.value, folder.uri, exc)

    def _ask(self, folder: Folder, rec: Recommendation, session: Session | None) -> None:
        actions = [option.title for option in rec.choices]
        generation = folder.generation
        uri = folder.uri

        def answer(title: str | None) -> None:
            if self._post is None:
                self.answered(uri, generation, rec, actions, title)
            else:
                self._post(lambda: self.answered(uri, generation, rec, actions, title))

        self.port.ask(uri, rec, actions, answer)

    def answered(
        self,
        uri: str,
        generation: int,
        rec: Recommendation,
        actions: list[str],
        answer: str | None,
    ) -> None:
        """A prompt's answer (owner thread): act on it unless a newer change made it stale."""
        folder = self._folders.get(uri)
        if folder is None:
            return
        if generation != folder.generation:
            logger.info("ignoring the answer %r to a prompt made stale by a newer change", answer)
            return
        choice = choice_for_answer(answer, rec.choices)
        if choice is None:
            return  # dismissed: the recommendation stays pending
        try:
            self.decide(
                folder,
                choice.action,
                session_id=choice.session_id,
                remember=choice.remember,
                chosen=answer or "",
            )
        except (ServiceError, StoreError) as exc:
            logger.warning("could not apply the answer %r in %s: %s", answer, uri, exc)

    def mark_idle(self, session: Session) -> None:
        """The session's folder moved away from it: it waits, idle (not ended)."""
        if session.status is SessionStatus.ACTIVE:
            self.store.sessions.set_status(session.id, SessionStatus.IDLE)

    # ------------------------------------------------------------------ settings

    def reconfigure(self, profile: Profile, settings: DriftSettings) -> None:
        """New profile and settings; boundaries take the new profile at the next read."""
        self.profile = profile
        self.settings = settings
        self.sessions.stale_after = settings.stale_after
        for folder in self._folders.values():
            try:
                folder.place = self.resolve(folder.uri)
            except Exception:  # one unreadable folder must not stop the others
                logger.exception("could not re-resolve %s", folder.uri)

    def close_all(self) -> None:
        """Release every hold (the connection is closing); nothing is ended."""
        self._folders.clear()
        self.sessions.release_all()
