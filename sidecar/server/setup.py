"""Where the language server is put together: its features, registered at one point.

A new request method is a decorated method on one of these features
(:func:`sidecar.server.feature.request`); nothing else lists methods. The
LSP notifications the server listens to are registered here and handed to
the owner thread.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from lsprotocol import types

from sidecar.server.app import SidecarServer, folder_uris, register_methods
from sidecar.server.feature import Feature
from sidecar.server.features.documents import DocumentsFeature
from sidecar.server.features.drift import DriftFeature
from sidecar.server.features.external import ExternalFeature
from sidecar.server.features.history import HistoryFeature
from sidecar.server.features.live_import import LiveImportFeature
from sidecar.server.features.sessions import SessionsFeature
from sidecar.server.features.status import StatusFeature
from sidecar.server.features.telemetry import TelemetryFeature

logger = logging.getLogger(__name__)

#: Every feature, in the order their hooks run and their methods are documented.
FEATURES: tuple[type[Feature], ...] = (
    StatusFeature,
    SessionsFeature,
    HistoryFeature,
    DriftFeature,
    DocumentsFeature,
    LiveImportFeature,
    ExternalFeature,
    TelemetryFeature,
)


def create_server() -> SidecarServer:
    """A server with every LSP lifecycle handler and sidecar method registered."""
    server = SidecarServer(FEATURES)
    register_methods(server, FEATURES)

    @server.feature(types.INITIALIZE)
    def initialize(ls: SidecarServer, params: types.InitializeParams) -> None:
        # Scheduled, not run: the initialize reply is written before the loop gets to it.
        asyncio.get_running_loop().call_soon(
            ls.begin, params.initialization_options, folder_uris(params)
        )

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: SidecarServer, params: Any) -> None:
        await ls.aclose()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: SidecarServer, params: types.DidChangeConfigurationParams
    ) -> None:
        settings = params.settings
        if settings is None:
            # Pull-model clients (vscode-languageclient) send null and expect a pull.
            try:
                await ls.ready()
                settings = await ls.pull_settings()
            except Exception:
                logger.exception("could not pull the configuration")
                return
        await ls.on_state("apply configuration", ls.apply_settings, settings)

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_folders(
        ls: SidecarServer, params: types.DidChangeWorkspaceFoldersParams
    ) -> None:
        for removed in params.event.removed or []:
            await ls.on_state("close a workspace folder", ls.close_folder, removed.uri)
        for added in params.event.added or []:
            await ls.on_state("open a workspace folder", ls.open_folder, added.uri)

    def document(action: str) -> Any:
        async def handler(ls: SidecarServer, params: Any) -> None:
            documents = ls.get_feature(DocumentsFeature)
            uri = params.text_document.uri
            await ls.on_state(f"record {action} of {uri}", documents.record, uri, action)

        handler.__name__ = f"did_{action}"
        return handler

    server.feature(types.TEXT_DOCUMENT_DID_OPEN)(document("open"))
    server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))(
        document("save")
    )
    server.feature(types.TEXT_DOCUMENT_DID_CLOSE)(document("close"))

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def did_change_watched_files(
        ls: SidecarServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        uris = [change.uri for change in params.changes or []]
        drift = ls.get_feature(DriftFeature)
        await ls.on_state("record watched file changes", drift.watched_files, uris)

    return server
