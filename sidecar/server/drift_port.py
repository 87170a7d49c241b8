"""The drift service's port in the language server: notifications and native prompts.

``notify_drift`` is called on the store thread and hands the notification to
the event loop with ``call_soon_threadsafe``: nothing is batched or delayed
between HEAD being written and ``sidecar/driftDetected`` leaving the server.
``ask`` runs on the loop and uses the standard ``window/showMessageRequest``,
which every LSP client can answer; the drift service only calls it when the
``prompts`` setting is ``native``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from lsprotocol import types

from sidecar.core.models import Boundary, Recommendation
from sidecar.protocol import names

if TYPE_CHECKING:
    from sidecar.server.app import SidecarServer

logger = logging.getLogger(__name__)


class ServerDriftPort:
    """Shows one folder's drift to the client of ``server``."""

    def __init__(self, server: SidecarServer, loop: asyncio.AbstractEventLoop, uri: str) -> None:
        self._server = server
        self._loop = loop
        self._uri = uri

    def notify_drift(
        self, recommendation: Recommendation, before: Boundary | None, after: Boundary
    ) -> None:
        """Queue ``sidecar/driftDetected`` on the loop, to be written at once."""
        params = {
            "folder": self._uri,
            "recommendation": recommendation.to_json(),
            "before": before.to_json() if before is not None else None,
            "after": after.to_json(),
        }
        try:
            self._loop.call_soon_threadsafe(self._server.send, names.DRIFT_DETECTED, params)
        except RuntimeError:  # the loop closed: the client is gone
            logger.debug("driftDetected for %s dropped: the loop is closed", self._uri)

    async def ask(self, recommendation: Recommendation, actions: list[str]) -> str | None:
        """``window/showMessageRequest`` with ``actions``; the chosen title, or None."""
        answer = await self._server.window_show_message_request_async(
            types.ShowMessageRequestParams(
                type=types.MessageType.Warning,
                message=recommendation.summary,
                actions=[types.MessageActionItem(title=title) for title in actions],
            )
        )
        return _title(answer)


def _title(answer: object) -> str | None:
    """The title of a client's answer (an attrs item, or a plain dict from lenient clients)."""
    if answer is None:
        return None
    title = getattr(answer, "title", None)
    if title is None and isinstance(answer, dict):
        title = answer.get("title")
    return title if isinstance(title, str) else None
