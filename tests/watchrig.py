"""Shared rig for the watch tests (this module holds no tests).

- :class:`Recorder` collects callback arguments from the hub thread and waits
  for them with a bounded condition wait;
- :func:`open_hub` starts a private hub on a backend chosen the way the
  server does it (``SIDECAR_WATCH_BACKEND``), so behaviour tests run on both;
- :func:`overflow_queue` makes the kernel's inotify queue overflow for real.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Generic, TypeVar

import pytest

from sidecar.watch.hub import BACKEND_ENV, WatchEvent, WatchHub, inotify_available

T = TypeVar("T")

TIMEOUT_S = 10.0

BACKENDS = [
    pytest.param(
        "inotify",
        marks=pytest.mark.skipif(not inotify_available(), reason="inotify not available"),
    ),
    "observer",
]


class Recorder(Generic[T]):
    """A callback that records its argument; waits are bounded by a condition."""

    def __init__(self) -> None:
        self._items: list[T] = []
        self._cond = threading.Condition()
        self.threads: set[threading.Thread] = set()

    def __call__(self, item: T) -> None:
        with self._cond:
            self._items.append(item)
            self.threads.add(threading.current_thread())
            self._cond.notify_all()

    @property
    def items(self) -> list[T]:
        """Everything recorded so far."""
        with self._cond:
            return list(self._items)

    def clear(self) -> None:
        """Forget what was recorded."""
        with self._cond:
            self._items.clear()

    def wait_until(self, test: Callable[[list[T]], bool], what: str = "") -> list[T]:
        """Wait until ``test(items)`` holds; returns the items then."""
        with self._cond:
            if not self._cond.wait_for(lambda: test(self._items), TIMEOUT_S):
                raise AssertionError(f"not within {TIMEOUT_S} s: {what}; got {self._items}")
            return list(self._items)

    def wait_for(self, item: T) -> list[T]:
        """Wait until ``item`` was recorded; returns everything recorded so far."""
        return self.wait_until(lambda items: item in items, repr(item))


@contextmanager
def open_hub(monkeypatch: pytest.MonkeyPatch, backend: str) -> Iterator[WatchHub]:
    """A private hub on ``backend``, chosen through the environment like the server's."""
    monkeypatch.setenv(BACKEND_ENV, backend)
    hub = WatchHub()
    try:
        assert hub.backend == backend
        yield hub
    finally:
        hub.close()


def write(root: Path, rel: str, text: str = "x\n") -> Path:
    """Write ``root/rel`` (creating folders); returns the path."""
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def queue_limit() -> int:
    """The kernel's inotify queue length (events)."""
    return int(Path("/proc/sys/fs/inotify/max_queued_events").read_text().strip())


@contextmanager
def hub_thread_blocked(hub: WatchHub, spare: Path) -> Iterator[None]:
    """Hold the hub thread inside a callback for the duration of the block."""
    entered, release = threading.Event(), threading.Event()

    def block(event: object) -> None:
        if not entered.is_set():
            entered.set()
            release.wait(TIMEOUT_S)

    spare.mkdir(parents=True, exist_ok=True)
    handle = hub.watch_folder(spare, block)
    try:
        (spare / "poke").write_text("x")
        assert entered.wait(TIMEOUT_S), "the hub thread did not take the blocking event"
        yield
    finally:
        release.set()
        handle.close()


def overflow_queue(hub: WatchHub, folder: Path, spare: Path) -> None:
    """Make the inotify queue overflow: block the hub thread, create more
    folders in the watched ``folder`` than the queue holds, let it go."""
    with hub_thread_blocked(hub, spare):
        for i in range(queue_limit() + 500):
            os.mkdir(folder / f"d{i:05d}")


class HubProbe:
    """A watch on a spare folder that sees the hub's overflows and can sync with it.

    :meth:`sync` writes a file there and waits for its event: on the inotify
    hub (one queue, one thread) everything queued before has been handled then.
    """

    def __init__(self, hub: WatchHub, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.events: Recorder[WatchEvent] = Recorder()
        self.handle = hub.watch_folder(folder, self.events)
        self._count = 0

    def sync(self) -> None:
        """Wait until the hub thread has handled everything queued so far."""
        self._count += 1
        path = self.folder / f"sync-{self._count}"
        path.write_text("x")
        self.events.wait_until(
            lambda items: any(e.path == str(path) for e in items), f"sync {path}"
        )

    def wait_overflow(self) -> None:
        """Wait for an overflow event, then for the hub to finish handling it."""
        self.events.wait_until(lambda items: any(e.kind == "overflow" for e in items), "overflow")
        self.sync()
