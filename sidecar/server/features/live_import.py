"""Live import: the workspace's agent sessions (every tool of the importer registry that
declares a live watch), imported as the tools write them (setting ``liveImport``, on by default).

One process per repository imports: the feature takes the store's named lease
for the repository (:func:`sidecar.services.live.lease_name`) before it
starts, renews it with the connection's holds, and retries on every tick
while another live process has it. The transcript folders are watched
through the watch hub (they often do not exist yet: the watch arms itself
when they appear); changes are imported on the owner thread in slices after
a short quiet period (:class:`~sidecar.services.live.LiveImport`).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sidecar.server.feature import Feature, lazy

if TYPE_CHECKING:
    from sidecar.services import live
    from sidecar.services.owner import Timer
    from sidecar.services.workspace import Folder
    from sidecar.watch import folders, hub
else:
    live = lazy("sidecar.services.live")
    hub = lazy("sidecar.watch.hub")
    folders = lazy("sidecar.watch.folders")

logger = logging.getLogger(__name__)

#: Changes are imported once the files have been quiet this long.
QUIET_SECONDS = 0.2
#: A slice that left work runs the next one after this pause (requests go between).
NEXT_SLICE_SECONDS = 0.01


@dataclass
class Running:
    """One folder's live import: its importer, its watches and the changes not yet marked."""

    importer: Any
    lease: str
    watches: list[Any] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: list[tuple[Any, str]] = field(default_factory=list)
    timer: Timer | None = None

    def stop(self) -> None:
        """Stop watching (idempotent)."""
        for watch in self.watches:
            try:
                watch.close()
            except Exception:
                logger.exception("could not stop a transcript watch")
        self.watches.clear()
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None


class LiveImportFeature(Feature):
    """Imports agent transcripts of the workspace as they are written."""

    def __init__(self, server: Any) -> None:
        super().__init__(server)
        self.running: dict[str, Running] = {}
        self.waiting: set[str] = set()
        """Folders whose repository another process imports (retried on every tick)."""

    def _wanted(self) -> bool:
        state = self.state
        return state.settings.live_import and not state.read_only

    def folder_opened(self, folder: Folder) -> None:
        """Start importing for the folder when the setting is on."""
        if self._wanted():
            self._start(folder)

    def _start(self, folder: Folder) -> None:
        state = self.state
        if folder.uri in self.running:
            return
        lease = live.lease_name(folder.place.boundary.repository)
        writer = state.sessions.writer.id
        if not state.store.leases.take(lease, writer, lease_seconds=state.sessions.lease_seconds):
            self.waiting.add(folder.uri)
            logger.info("another process imports %s live", folder.place.boundary.repository)
            return
        self.waiting.discard(folder.uri)
        importer = live.LiveImport(state.sessions, Path(folder.place.path))
        running = Running(importer, lease)
        self.running[folder.uri] = running
        shared = hub.WatchHub.shared()
        for root in importer.roots:

            def changed(path: str, root: Any = root) -> None:
                self._changed(folder.uri, running, root, path)

            try:
                running.watches.append(
                    folders.FolderWatch(shared, str(root.path), changed, recursive=True)
                )
            except OSError as exc:
                logger.warning("cannot watch %s for live import: %s", root.path, exc)
            importer.mark_existing(root)
        self._schedule(folder.uri, running, 0.0)

    def _changed(self, uri: str, running: Running, root: Any, path: str) -> None:
        """Hub thread: a transcript changed; import once things are quiet."""
        with running.lock:
            running.changed.append((root, path))
            if running.timer is not None:
                running.timer.cancel()
            running.timer = self.server.owner.later(QUIET_SECONDS, self._run, uri, running)

    def _schedule(self, uri: str, running: Running, delay: float) -> None:
        with running.lock:
            if running.timer is None:
                running.timer = self.server.owner.later(delay, self._run, uri, running)

    def _run(self, uri: str, running: Running) -> None:
        """Owner thread: import one slice of what changed."""
        with running.lock:
            changed, running.changed = running.changed, []
            running.timer = None
        if self.running.get(uri) is not running:
            return  # stopped meanwhile
        importer = running.importer
        for root, path in changed:
            importer.mark(root, Path(path))
        _, more = importer.run()
        if more:
            self._schedule(uri, running, NEXT_SLICE_SECONDS)

    def _stop(self, uri: str) -> None:
        self.waiting.discard(uri)
        running = self.running.pop(uri, None)
        if running is None:
            return
        running.stop()
        state = self.server.state
        if state is not None:
            try:
                state.store.leases.give_up(running.lease, state.sessions.writer.id)
            except Exception:  # the lease lapses by itself
                logger.exception("could not give up %s", running.lease)

    def folder_closed(self, folder: Folder) -> None:
        """Stop importing for the folder."""
        self._stop(folder.uri)

    def tick(self) -> None:
        """Retry folders another process imported (it may have stopped)."""
        if not self._wanted():
            return
        for folder in self.state.workspace:
            if folder.uri in self.waiting:
                self._start(folder)

    def settings_changed(self) -> None:
        """Start or stop with the ``liveImport`` setting."""
        wanted = self._wanted()
        for folder in self.state.workspace:
            if wanted:
                self._start(folder)
            else:
                self._stop(folder.uri)

    def shutdown(self) -> None:
        """Stop every import."""
        for uri in list(self.running) + list(self.waiting):
            self._stop(uri)
