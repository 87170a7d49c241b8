"""A drift service wired as the server wires it: store thread, event loop, recording port.

``DriftRig`` runs a real :class:`~sidecar.services.drift.DriftService` on a
real SQLite file and a real git repository: the store and session service
live on a one-worker executor (the owner thread), prompts run on an asyncio
loop in a background thread, and the port records every call and answers
prompts from a script. Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sidecar.core.models import Boundary, Recommendation, Session, utcnow
from sidecar.services.drift import DriftService, DriftSettings
from sidecar.services.folders import Folder
from sidecar.services.sessions import SessionService
from sidecar.store import Store

T = TypeVar("T")
TIMEOUT_S = 10.0


@dataclass
class DriftCall:
    recommendation: Recommendation
    before: Boundary | None
    after: Boundary


@dataclass
class AskCall:
    recommendation: Recommendation
    actions: list[str]
    answer: str | None = None


@dataclass
class Recorder:
    """The port and the session notifier in one: records calls, answers asks from ``script``."""

    drifts: list[DriftCall] = field(default_factory=list)
    asks: list[AskCall] = field(default_factory=list)
    changes: list[tuple[str, str]] = field(default_factory=list)  # (session id, reason)
    history: list[tuple[str, int]] = field(default_factory=list)
    script: list[str | None] = field(default_factory=list)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def notify_drift(
        self, recommendation: Recommendation, before: Boundary | None, after: Boundary
    ) -> None:
        with self.cond:
            self.drifts.append(DriftCall(recommendation, before, after))
            self.cond.notify_all()

    async def ask(self, recommendation: Recommendation, actions: list[str]) -> str | None:
        with self.cond:
            answer = self.script.pop(0) if self.script else None
            if answer is not None and answer.startswith("#"):
                answer = actions[int(answer[1:])]  # "#0": the first action offered
            self.asks.append(AskCall(recommendation, actions, answer))
            self.cond.notify_all()
        return answer

    def session_changed(self, folder: Folder, session: Session, reason: str) -> None:
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


class DriftRig:
    """One store thread, one loop thread, a session service and drift services on it."""

    def __init__(self, db: Path) -> None:
        self.db = db
        self.recorder = Recorder()
        self.clock = Clock()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-store")
        self.loop = asyncio.new_event_loop()
        self._loop_thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._loop_thread.start()
        self.store: Store = self.call(Store.open, db)
        self.sessions: SessionService = self.call(
            lambda: SessionService(self.store, self.recorder, clock=self.clock)
        )
        self.services: list[DriftService] = []

    def call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the store thread and return its result."""
        return self.executor.submit(fn, *args).result(TIMEOUT_S)

    def flush(self) -> None:
        """Wait until every job queued on the store thread so far has run."""
        self.call(lambda: None)

    def service(self, path: Path, settings: DriftSettings | None = None) -> DriftService:
        """Start a drift service on ``path`` (its own folder URI)."""
        service = DriftService(
            self.sessions,
            path.as_uri(),
            path,
            self.recorder,
            run=self.executor.submit,
            loop=self.loop,
            settings=settings or DriftSettings(watch_worktree=False),
        )
        self.call(service.start)
        self.flush()
        self.services.append(service)
        return service

    def active(self, service: DriftService) -> Session:
        """The service's active session (read on the store thread)."""
        session = self.call(lambda: service.active_session)
        assert session is not None
        return session

    def close(self) -> None:
        for service in self.services:
            self.call(service.stop)
        self.call(self.sessions.release_all)
        self.call(self.store.close)
        self.executor.shutdown(wait=True)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._loop_thread.join(TIMEOUT_S)
        self.loop.close()
