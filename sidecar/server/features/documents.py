"""Editor documents: didOpen, didSave and didClose recorded as events (never the text)."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from sidecar.server.feature import Feature, lazy

if TYPE_CHECKING:
    from sidecar.core import models as core
    from sidecar.services import paths
else:
    core = lazy("sidecar.core.models")
    paths = lazy("sidecar.services.paths")

logger = logging.getLogger(__name__)

#: LSP document notification -> the kind of event recorded for it.
DOCUMENT_KINDS = {"open": "file_open", "save": "file_change", "close": "file_open"}


class DocumentsFeature(Feature):
    """Records what the user opens, saves and closes in the workspace's folders."""

    def record(self, uri: str, action: str) -> None:
        """Owner thread: one document notification as an event of the folder's session."""
        state = self.state
        if state.read_only:
            return
        path = paths.uri_to_path(uri)
        if path is None:
            return  # untitled:, git:, ... documents are not files of the workspace
        workspace = state.workspace
        folder = workspace.containing(os.path.realpath(path))
        if folder is None:
            return
        relative = os.path.relpath(os.path.realpath(path), folder.place.worktree)
        event = core.NewEvent(
            kind=core.EventKind(DOCUMENT_KINDS[action]),
            actor=core.Actor.USER,
            payload={"path": relative, "uri": uri, "action": action},
        )
        if action == "save":
            workspace.append(folder, None, [event])  # an edit: the work may begin here
        else:
            workspace.note(folder, [event])
