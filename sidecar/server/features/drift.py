"""Drift: watch each git folder's branch and files, and answer evaluate / decide.

Per workspace folder in git the feature subscribes to the process's one
watch hub (:mod:`sidecar.watch`): the git directory (HEAD, refs, operation
markers) and the worktree's included folders. Callbacks run on the hub
thread and only hand work to the owner thread: a git change at once (the
latency from HEAD written to ``sidecar/driftDetected`` is the product), file
changes batched (:class:`~sidecar.watch.workspace.WorkspaceWatch`). What a change means and what
to do about it is the core's (:class:`~sidecar.services.tracker.GitTracker`).

A worktree with more folders than ``watchFolderBudget`` is not watched by the
sidecar: the editor is asked to report its file changes
(``workspace/didChangeWatchedFiles``), which reach the same tracker.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING

from sidecar.server.feature import Feature, lazy, request

if TYPE_CHECKING:
    from sidecar.protocol import messages as m
    from sidecar.services import paths, tracker
    from sidecar.services.workspace import Folder
    from sidecar.watch import workspace as workspace_watch
else:
    m = lazy("sidecar.protocol.messages")
    paths = lazy("sidecar.services.paths")
    tracker = lazy("sidecar.services.tracker")
    workspace_watch = lazy("sidecar.watch.workspace")

logger = logging.getLogger(__name__)

#: How long the client gets to accept a file-watcher registration.
REGISTER_TIMEOUT_SECONDS = 10.0
_EXTRA = "drift"


class DriftFeature(Feature):
    """Git and worktree watching, and the drift requests."""

    _watch_ids = 0

    # ------------------------------------------------------------------ watching

    def folder_added(self, folder: Folder) -> None:
        """Start watching a git folder (before its session is attached)."""
        state = self.state
        place = folder.place
        if state.read_only or not place.in_git or place.git_dir is None:
            return
        owner = self.server.owner
        uri = folder.uri
        try:
            watch = workspace_watch.WorkspaceWatch(
                git_dir=place.git_dir,
                common_dir=place.common_dir or place.git_dir,
                worktree=place.worktree,
                on_git=lambda reason: self._observe(uri, reason),
                on_paths=lambda changed: self._paths_changed(uri, changed),
                post=owner.post,
                later=owner.later,
                folder_budget=state.settings.watch_folder_budget,
            )
        except OSError as exc:
            logger.warning("cannot watch %s (%s): drift is checked on requests only", uri, exc)
            return
        folder.extra[_EXTRA] = watch
        folder.watcher_mode = "editor" if watch.mode == "editor" else "native"
        if watch.mode == "editor":
            logger.warning(
                "worktree %s has %d folders > budget %d: using the editor's file watching",
                place.worktree,
                watch.folder_count,
                state.settings.watch_folder_budget,
            )
            self.server.to_loop(self.server.run_task, self._register_editor_watch(uri))

    def folder_opened(self, folder: Folder) -> None:
        """Track the folder's git state from the one its session was attached on."""
        if _EXTRA in folder.extra:
            tracker.GitTracker(self.state.workspace, folder)

    def folder_closed(self, folder: Folder) -> None:
        """Stop watching the folder."""
        watch = folder.extra.pop(_EXTRA, None)
        if watch is not None:
            watch.close()  # type: ignore[attr-defined]
        folder.tracker = None

    def shutdown(self) -> None:
        """Stop every watch."""
        if self.server.state is None:
            return
        for folder in self.state.workspace:
            self.folder_closed(folder)

    def _observe(self, uri: str, reason: str) -> None:
        folder = self._folder(uri)
        if folder is not None and folder.tracker is not None:
            folder.tracker.observe(reason)

    def _paths_changed(self, uri: str, changed: list[str]) -> None:
        folder = self._folder(uri)
        if folder is not None and folder.tracker is not None:
            folder.tracker.paths_changed(changed)

    def _folder(self, uri: str) -> Folder | None:
        for folder in self.state.workspace:
            if folder.uri == uri:
                return folder
        return None

    # ------------------------------------------------------------------ the editor's watching

    async def _register_editor_watch(self, uri: str) -> None:
        """Ask the client to report the folder's file changes (loop thread)."""
        from lsprotocol import types
        from pygls.capabilities import get_capability

        server = self.server
        dynamic = get_capability(
            server.client_capabilities,
            "workspace.did_change_watched_files.dynamic_registration",
            False,
        )
        if not dynamic:
            logger.warning(
                "the client cannot register file watchers dynamically: file activity in %s "
                "is not recorded",
                uri,
            )
            return
        relative = get_capability(
            server.client_capabilities,
            "workspace.did_change_watched_files.relative_pattern_support",
            False,
        )
        pattern: types.GlobPattern = (
            types.RelativePattern(base_uri=uri, pattern="**/*") if relative else "**/*"
        )
        DriftFeature._watch_ids += 1
        registration = types.Registration(
            id=f"sidecar-watch-{DriftFeature._watch_ids}",
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                watchers=[types.FileSystemWatcher(glob_pattern=pattern)]
            ),
        )
        try:
            await asyncio.wait_for(
                server.client_register_capability_async(
                    types.RegistrationParams(registrations=[registration])
                ),
                REGISTER_TIMEOUT_SECONDS,
            )
        except Exception:
            logger.exception("the client refused to watch files of %s", uri)
            return
        logger.warning("registered workspace/didChangeWatchedFiles for %s", uri)

    def watched_files(self, uris: list[str]) -> None:
        """``workspace/didChangeWatchedFiles`` (owner thread): changes of folders the editor
        watches for us reach their trackers."""
        workspace = self.state.workspace
        by_folder: dict[str, tuple[Folder, list[str]]] = {}
        for uri in uris:
            path = paths.uri_to_path(uri)
            folder = workspace.containing(path) if path is not None else None
            if path is None or folder is None or folder.watcher_mode != "editor":
                continue  # the sidecar watches this folder itself
            relative = os.path.relpath(path, folder.place.worktree).replace(os.sep, "/")
            if relative.split("/", 1)[0] == ".git":
                continue
            by_folder.setdefault(folder.uri, (folder, []))[1].append(relative)
        for folder, changed in by_folder.values():
            if folder.tracker is not None:
                folder.tracker.paths_changed(sorted(set(changed)))

    # ------------------------------------------------------------------ requests

    @request("sidecar/drift/evaluate")
    def evaluate(self, p: m.DriftEvaluateParams) -> m.DriftEvaluateResult:
        """The recommendation for the folder's boundary now."""
        workspace = self.state.workspace
        folder = workspace.find(p.folder)
        recommendation = workspace.evaluate(folder)
        return m.DriftEvaluateResult(
            folder=folder.uri, boundary=folder.place.boundary, recommendation=recommendation
        )

    @request("sidecar/drift/decide")
    def decide(self, p: m.DriftDecideParams) -> m.DriftDecideResult:
        """Record the user's choice and act on it."""
        workspace = self.state.workspace
        folder = workspace.refresh(workspace.find(p.folder))
        session = workspace.decide(folder, p.action, session_id=p.session_id, remember=p.remember)
        return m.DriftDecideResult(session=session, action=p.action)
