"""``sidecar/status``: where the workspace is and what the sidecar does there."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sidecar.server.feature import Feature, lazy, request

if TYPE_CHECKING:
    from sidecar.protocol import messages as m
    from sidecar.services.workspace import Folder
else:
    m = lazy("sidecar.protocol.messages")


class StatusFeature(Feature):
    """The status request."""

    def _folder_status(self, folder: Folder) -> m.WorkspaceStatus:
        workspace = self.state.workspace
        return m.WorkspaceStatus(
            folder=folder.uri,
            boundary=folder.place.boundary,
            active_session=workspace.active(folder),
            pending_recommendation=folder.pending,
            watcher_mode=folder.watcher_mode,
        )

    @request("sidecar/status")
    def status(self, p: m.StatusParams) -> m.StatusResult:
        """The status of the requested folder, plus every workspace folder."""
        state = self.state
        workspace = state.workspace
        folders = [workspace.refresh(f) for f in workspace]
        current = workspace.find(p.folder) if (p.folder is not None or folders) else None
        shown = self._folder_status(current) if current is not None else None
        return m.StatusResult(
            version=state.version,
            db_path=str(state.store.path),
            folder=current.uri if current is not None else None,
            boundary=current.place.boundary if current is not None else None,
            active_session=shown.active_session if shown is not None else None,
            pending_recommendation=shown.pending_recommendation if shown is not None else None,
            watcher_mode=shown.watcher_mode if shown is not None else "off",
            git_operation=current.place.operation if current is not None else None,
            read_only=state.read_only,
            notices=state.notices,
            workspaces=[self._folder_status(f) for f in folders],
        )
