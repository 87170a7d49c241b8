"""Other writers: appends other processes commit (hooks, the CLI, other editors) are
announced with ``sidecar/historyChanged``.

The database folder is watched through the process's one watch hub: a write
to the WAL wakes a check on the owner thread, where one ``PRAGMA
data_version`` says whether anything changed, and the recent sessions' event
counts say what. Where the folder cannot be watched the check runs every
:data:`POLL_SECONDS` instead, and the status says so (never silently).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from sidecar.server.feature import Feature, lazy

if TYPE_CHECKING:
    from sidecar.services.owner import Timer
    from sidecar.watch import folders, hub
else:
    hub = lazy("sidecar.watch.hub")
    folders = lazy("sidecar.watch.folders")

logger = logging.getLogger(__name__)

#: The check runs this long after the first write of a burst.
SETTLE_SECONDS = 0.02
#: Where the database folder cannot be watched, other writers are checked this often
#: (``$SIDECAR_EXTERNAL_POLL_SECONDS`` changes it).
POLL_SECONDS = 5.0
POLL_ENV = "SIDECAR_EXTERNAL_POLL_SECONDS"
#: How many recently active sessions the check compares.
RECENT_SESSIONS = 200


def poll_seconds() -> float:
    """How often other writers are checked where the database folder cannot be watched."""
    try:
        value = float(os.environ.get(POLL_ENV, ""))
    except ValueError:
        return POLL_SECONDS
    return value if value > 0 else POLL_SECONDS


class ExternalFeature(Feature):
    """Announces history other processes wrote (see the module docstring)."""

    def __init__(self, server: Any) -> None:
        super().__init__(server)
        self._watch: Any = None
        self._lock = threading.Lock()
        self._timer: Timer | None = None
        self._version = -1
        self._counts: dict[str, int] = {}
        self.mode = "off"
        """watch: woken by the database folder's watch; poll: checked every POLL_SECONDS."""

    def started(self) -> None:
        """Take the baseline and start watching the database folder."""
        store = self.state.store
        if str(store.path) == ":memory:":
            return
        self.check()  # the baseline: only later changes are announced
        path = os.fspath(store.path)
        names = {os.path.basename(path), os.path.basename(path) + "-wal"}

        def changed(entry: str) -> None:
            if os.path.basename(entry) in names:
                self._wake()

        try:
            self._watch = folders.FolderWatch(hub.WatchHub.shared(), os.path.dirname(path), changed)
        except OSError as exc:
            self.mode = "poll"
            notice = (
                f"cannot watch the database folder ({exc}): changes other programs make are "
                f"noticed every {poll_seconds():g} s instead of at once"
            )
            logger.warning("%s", notice)
            self.state.notices.append(notice)
            self._timer = self.server.owner.later(poll_seconds(), self._poll)
            return
        self.mode = "watch"

    def _wake(self) -> None:
        """Hub thread: a write to the database; check once the burst settles."""
        with self._lock:
            if self._timer is None:
                self._timer = self.server.owner.later(SETTLE_SECONDS, self._checked)

    def _checked(self) -> None:
        with self._lock:
            self._timer = None
        self.check()

    def _poll(self) -> None:
        self.check()
        if self.server.state is not None and self.mode == "poll":
            self._timer = self.server.owner.later(poll_seconds(), self._poll)

    def check(self) -> None:
        """Owner thread: announce sessions whose history changed since the last check."""
        state = self.server.state
        if state is None:
            return
        store = state.store
        try:
            version = store.db.data_version()
        except Exception:  # the store closed under us while shutting down
            return
        if version == self._version:
            return
        first = self._version < 0
        self._version = version
        for session in store.sessions.list(limit=RECENT_SESSIONS).items:
            if self._counts.get(session.id) != session.event_count:
                self._counts[session.id] = session.event_count
                if not first:
                    self.server.history_changed(session.id, session.event_count)

    def shutdown(self) -> None:
        """Stop watching."""
        self.mode = "off"
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.close()
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
