"""The owner thread: the one thread that touches the store, git and the services.

A process that serves (the language server, ``watch``, the MCP server) runs
its application core on one thread. Everything that reads or writes the
store, or asks git, is a job on it: jobs run one at a time in the order they
were submitted, so the services need no locks and writes keep request order.
Timers (lease renewal, batching of file changes, slices of a long import)
are jobs too: :meth:`Owner.later` runs one after a delay, on the same thread,
so a process needs no timer threads.

Watcher callbacks (the watch hub's thread) and the event loop only *submit*;
they never wait on the owner except through the futures it returns.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


class OwnerClosed(RuntimeError):
    """The owner thread has stopped; no more jobs run."""


class Timer:
    """A job scheduled with :meth:`Owner.later`; ``cancel()`` before it runs drops it."""

    __slots__ = ("cancelled",)

    def __init__(self) -> None:
        self.cancelled = False

    def cancel(self) -> None:
        """Drop the job if it has not run yet (safe from any thread)."""
        self.cancelled = True


class Owner:
    """One thread running jobs in submission order, and delayed jobs at their time.

    Example::

        owner = Owner("sidecar-store")
        store = owner.call(Store.open, path)          # wait for the result
        owner.submit(store.sessions.get, sid)         # a Future
        owner.later(0.15, flush)                      # a timer, on the same thread
        owner.close()
    """

    def __init__(self, name: str = "sidecar-owner") -> None:
        self._name = name
        self._cond = threading.Condition()
        self._ready: deque[tuple[Callable[[], None], Timer | None]] = deque()
        self._timers: list[tuple[float, int, Callable[[], None], Timer]] = []
        self._order = itertools.count()
        self._closed = False
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ submitting

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def submit(self, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run ``fn(*args)`` on the owner thread after the jobs already queued."""
        future: Future[T] = Future()

        def job() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

        with self._cond:
            if self._closed:
                raise OwnerClosed(f"{self._name} is closed")
            self._start()
            self._ready.append((job, None))
            self._cond.notify()
        return future

    def call(self, fn: Callable[..., T], *args: Any, timeout: float | None = None) -> T:
        """Run ``fn(*args)`` on the owner thread and wait for its result (never from it)."""
        if self.on_owner_thread():
            return fn(*args)
        return self.submit(fn, *args).result(timeout)

    def post(self, fn: Callable[..., object], *args: Any) -> None:
        """Queue ``fn(*args)`` without a future; a failure is logged. Dropped once closed."""

        def job() -> None:
            try:
                fn(*args)
            except Exception:
                logger.exception("job %s failed on %s", getattr(fn, "__name__", fn), self._name)

        with self._cond:
            if self._closed:
                logger.debug(
                    "job %s dropped: %s is closed", getattr(fn, "__name__", fn), self._name
                )
                return
            self._start()
            self._ready.append((job, None))
            self._cond.notify()

    def later(self, delay: float, fn: Callable[..., object], *args: Any) -> Timer:
        """Run ``fn(*args)`` on the owner thread after ``delay`` seconds (failures logged)."""
        timer = Timer()

        def job() -> None:
            try:
                fn(*args)
            except Exception:
                logger.exception("timer %s failed on %s", getattr(fn, "__name__", fn), self._name)

        with self._cond:
            if self._closed:
                timer.cancel()
                return timer
            self._start()
            heapq.heappush(
                self._timers, (time.monotonic() + max(0.0, delay), next(self._order), job, timer)
            )
            self._cond.notify()
        return timer

    def on_owner_thread(self) -> bool:
        """True when called from the owner thread itself."""
        return self._thread is not None and threading.current_thread() is self._thread

    # ------------------------------------------------------------------ running

    def _next(self) -> tuple[Callable[[], None], Timer | None] | None:
        with self._cond:
            while True:
                if self._ready:
                    return self._ready.popleft()
                now = time.monotonic()
                if self._timers and self._timers[0][0] <= now:
                    _, _, job, timer = heapq.heappop(self._timers)
                    return job, timer
                if self._closed:
                    return None
                wait = self._timers[0][0] - now if self._timers else None
                self._cond.wait(wait)

    def _run(self) -> None:
        while True:
            item = self._next()
            if item is None:
                return
            job, timer = item
            if timer is not None and timer.cancelled:
                continue
            job()

    def close(self, timeout: float = 10.0) -> None:
        """Run the jobs already queued (not pending timers), then stop the thread.

        Idempotent; from the owner thread itself it only marks the owner closed.
        """
        with self._cond:
            self._closed = True
            for _, _, _, timer in self._timers:
                timer.cancel()
            self._timers.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
            if thread.is_alive():
                logger.warning("%s did not stop within %.1f s", self._name, timeout)
