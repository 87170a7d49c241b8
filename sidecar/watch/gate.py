"""A callback gate: once ``close()`` returns, the guarded callback is not running.

Watch callbacks run on the hub thread while handles are closed from any
thread. A plain "closed" flag is not enough: the hub thread may have checked
the flag just before ``close()`` and still be inside the callback when
``close()`` returns. :class:`CallbackGate` closes that window.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

logger = logging.getLogger(__name__)

#: How long ``close()`` waits for a running callback before giving up with a
#: warning (a callback that blocks on the closing thread would otherwise hang it).
CLOSE_WAIT_S = 5.0


class CallbackGate:
    """Guards a callback so that ``close()`` waits for a run in progress.

    Example::

        gate = CallbackGate()

        def on_event(event):          # runs on the hub thread
            with gate.entered() as open_:
                if open_:
                    handle(event)

        gate.close()                  # any thread: no handle() runs after this

    Guarantees: after ``close()`` returns no new run starts, and no run is in
    progress, except a run on the calling thread itself (closing from inside
    the callback is allowed and does not wait) or one that outlasted
    :data:`CLOSE_WAIT_S` (logged). Do not hold a lock the callback needs while
    calling ``close()`` from another thread. Thread-safe. ``cond`` lets many
    gates share one condition (waits are rare; a gate per folder is not).
    """

    __slots__ = ("_closed", "_cond", "_running")

    def __init__(self, cond: threading.Condition | None = None) -> None:
        # Many gates may share one condition (a hub's folder handles: thousands of them).
        self._cond = cond if cond is not None else threading.Condition()
        self._closed = False
        self._running: dict[int, int] = {}  # thread ident -> nesting depth

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    @contextmanager
    def entered(self) -> Iterator[bool]:
        """Enter the gate; yields False (run nothing) once it is closed."""
        me = threading.get_ident()
        with self._cond:
            if self._closed:
                allowed = False
            else:
                allowed = True
                self._running[me] = self._running.get(me, 0) + 1
        if not allowed:
            yield False
            return
        try:
            yield True
        finally:
            with self._cond:
                depth = self._running[me] - 1
                if depth:
                    self._running[me] = depth
                else:
                    del self._running[me]
                    self._cond.notify_all()

    def close(self) -> bool:
        """Close the gate and wait for runs on other threads; True on the first call."""
        me = threading.get_ident()
        with self._cond:
            first = not self._closed
            self._closed = True
            done = self._cond.wait_for(
                lambda: not (self._running.keys() - {me}), timeout=CLOSE_WAIT_S
            )
        if not done:
            logger.warning("a watch callback still runs %.0f s after close()", CLOSE_WAIT_S)
        return first
