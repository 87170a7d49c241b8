"""The core's drift handling wired as the language server wires it.

``DriftRig`` runs a real :class:`~sidecar.services.workspace.Workspace` with a
:class:`~sidecar.services.tracker.GitTracker` per folder, fed by the real
watch hub (:class:`~sidecar.watch.workspace.WorkspaceWatch`), on a real
SQLite file and real git repositories. Everything runs on one owner thread
(:class:`~sidecar.services.owner.Owner`), as in the server; the port records
every call and answers prompts from a script, from another thread, as a
client would. Every wait is bounded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sidecar.core.models import (
    Action,
    Actor,
    Boundary,
    EventKind,
    NewEvent,
    Recommendation,
    Session,
    utcnow,
)
from sidecar.services.drift import DriftSettings
from sidecar.services.owner import Owner
from sidecar.services.sessions import SessionService, Writer
from sidecar.services.tracker import GitTracker
from sidecar.services.workspace import Folder, Workspace
from sidecar.store import Store
from sidecar.watch.workspace import WorkspaceWatch

T = TypeVar("T")
TIMEOUT_S = 10.0


@dataclass
class DriftCall:
    folder: str
    recommendation: Recommendation
    before: Boundary | None
    after: Boundary


@dataclass
class AskCall:
    folder: str
    recommendation: Recommendation
    actions: list[str]
    answer: str | None = None


@dataclass
class Recorder:
    """The drift port and the history listener: records calls, answers asks from ``script``.

    ``hold`` keeps the next answers back until :meth:`release_answers` (to answer a
    prompt after a newer change made it stale).
    """

    drifts: list[DriftCall] = field(default_factory=list)
    asks: list[AskCall] = field(default_factory=list)
    changes: list[tuple[str, str]] = field(default_factory=list)  # (session id, reason)
    history: list[tuple[str, int]] = field(default_factory=list)
    script: list[str | None] = field(default_factory=list)
    hold: bool = False
    held: list[Callable[[], None]] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def notify_drift(
        self, folder: str, recommendation: Recommendation, before: Boundary | None, after: Boundary
    ) -> None:
        with self.cond:
            self.drifts.append(DriftCall(folder, recommendation, before, after))
            self.cond.notify_all()

    def ask(
        self,
        folder: str,
        recommendation: Recommendation,
        actions: list[str],
        answer: Callable[[str | None], None],
    ) -> None:
        with self.cond:
            reply = self.script.pop(0) if self.script else None
            if reply is not None and reply.startswith("#"):
                reply = actions[int(reply[1:])]  # "#0": the first action offered
            self.asks.append(AskCall(folder, recommendation, actions, reply))
            self.cond.notify_all()
            if self.hold:
                self.held.append(lambda: answer(reply))
                return
        # As a client would: the answer arrives later, from another thread.
        threading.Thread(target=answer, args=(reply,), daemon=True).start()

    def release_answers(self) -> None:
        with self.cond:
            held, self.held = self.held, []
            self.hold = False
        for send in held:
            send()

    def session_changed(self, folder: str, session: Session, reason: str) -> None:
        with self.cond:
            self.changes.append((session.id, reason))
            self.cond.notify_all()

    def history_changed(self, session_id: str, last_seq: int) -> None:
        with self.cond:
            self.history.append((session_id, last_seq))
            self.cond.notify_all()

    def wait(self, what: str, predicate: Callable[[], bool], timeout: float = TIMEOUT_S) -> None:
        """Wait until ``predicate()`` (evaluated under the lock) holds."""
        with self.cond:
            if not self.cond.wait_for(predicate, timeout):
                raise AssertionError(
                    f"timed out after {timeout} s waiting for {what}; drifts="
                    f"{[d.recommendation.summary for d in self.drifts]} asks="
                    f"{[a.actions for a in self.asks]} changes={self.changes}"
                )

    def wait_drifts(self, count: int) -> DriftCall:
        """Wait for the ``count``-th notify_drift; returns it."""
        self.wait(f"{count} drift notifications", lambda: len(self.drifts) >= count)
        return self.drifts[count - 1]

    def wait_change(self, reason: str, count: int = 1) -> str:
        """Wait for the ``count``-th sessionChanged with ``reason``; returns the session id."""
        self.wait(
            f"sessionChanged {reason!r} x{count}",
            lambda: sum(1 for _, r in self.changes if r == reason) >= count,
        )
        return [sid for sid, r in self.changes if r == reason][count - 1]


class Clock:
    """A clock the test can move forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return utcnow() + self.offset


class Service:
    """One watched folder of the rig: read its state on the owner thread."""

    def __init__(self, rig: DriftRig, folder: Folder, watch: WorkspaceWatch | None) -> None:
        self.rig = rig
        self.folder = folder
        self.watch = watch

    @property
    def pending(self) -> Recommendation | None:
        return self.rig.call(lambda: self.folder.pending)

    @property
    def git_operation(self) -> str | None:
        return self.rig.call(lambda: self.folder.place.operation)

    @property
    def watcher_mode(self) -> str:
        return self.rig.call(lambda: self.folder.watcher_mode)

    def evaluate(self) -> Recommendation:
        return self.rig.call(lambda: self.rig.workspace.evaluate(self.folder))

    def decide(self, action: Action, session_id: str | None = None) -> Session:
        workspace = self.rig.workspace
        return self.rig.call(
            lambda: workspace.decide(workspace.refresh(self.folder), action, session_id=session_id)
        )

    def touch(self, paths: Sequence[str]) -> None:
        """Work on ``paths`` as an agent's appended events report it (the one append path)."""
        event = NewEvent(
            kind=EventKind.FILE_CHANGE, actor=Actor.AGENT, payload={"paths": list(paths)}
        )
        self.rig.call(lambda: self.rig.workspace.append(self.folder, None, [event]))

    def stop(self) -> None:
        """Stop watching (as the server does when a folder closes, before releasing it)."""

        def stop() -> None:
            if self.watch is not None:
                self.watch.close()
            self.folder.tracker = None

        self.rig.call(stop)


class DriftRig:
    """One owner thread with a store, a session service and a workspace on it."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.recorder = Recorder()
        self.clock = Clock()
        self.owner = Owner("test-owner")
        self.store: Store = self.call(Store.open, db)
        self.sessions: SessionService = self.call(
            lambda: SessionService(
                self.store,
                Writer.connection(),
                clock=self.clock,
                on_history=self.recorder.history_changed,
            )
        )
        self.workspace = Workspace(self.sessions, self.recorder, post=self.owner.post)
        self.services: list[Service] = []

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the owner thread and return its result."""
        return self.owner.submit(fn, *args).result(TIMEOUT_S)

    def flush(self) -> None:
        """Wait until every job queued on the owner thread so far has run."""
        self.call(lambda: None)

    def service(
        self, path: Path, settings: DriftSettings | None = None, *, begin: bool = True
    ) -> Service:
        """Open ``path`` as a workspace folder, watched as the server watches it.

        An editor start alone creates no session; with ``begin`` (the default) the
        work then begins at once, as the folder's first real event would begin it.
        """

        def open_folder() -> Service:
            if settings is not None:
                self.workspace.settings = settings
                self.sessions.stale_after = settings.stale_after
            folder = self.workspace.open(path.as_uri(), attach=False)
            place = folder.place
            watch = None
            if place.in_git and place.git_dir is not None:
                uri = folder.uri
                watch = WorkspaceWatch(
                    git_dir=place.git_dir,
                    common_dir=place.common_dir or place.git_dir,
                    worktree=place.worktree,
                    on_git=lambda reason: self._observe(uri, reason),
                    on_paths=lambda changed: self._paths(uri, changed),
                    post=self.owner.post,
                    later=self.owner.later,
                    folder_budget=20_000,
                )
                folder.watcher_mode = "editor" if watch.mode == "editor" else "native"
            self.workspace.attach(folder)
            if watch is not None:
                GitTracker(self.workspace, folder)
            if begin:
                self.workspace.ensure_active(folder)
            return Service(self, folder, watch)

        service = self.call(open_folder)
        self.flush()
        self.services.append(service)
        return service

    def _folder(self, uri: str) -> Folder | None:
        return next((f for f in self.workspace if f.uri == uri), None)

    def _observe(self, uri: str, reason: str) -> None:
        folder = self._folder(uri)
        if folder is not None and folder.tracker is not None:
            folder.tracker.observe(reason)

    def _paths(self, uri: str, changed: list[str]) -> None:
        folder = self._folder(uri)
        if folder is not None and folder.tracker is not None:
            folder.tracker.paths_changed(changed)

    def active(self, service: Service) -> Session:
        """The folder's active session (read on the owner thread)."""
        session = self.call(lambda: self.workspace.active(service.folder))
        assert session is not None
        return session

    def close(self) -> None:
        for service in self.services:
            if service.watch is not None:
                self.call(service.watch.close)
        self.call(self.workspace.close_all)
        self.call(self.store.close)
        self.owner.close()
