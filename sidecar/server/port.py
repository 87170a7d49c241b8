"""The workspace's drift port in the language server: notifications and native prompts.

Called on the owner thread; everything is handed to the event loop at once
(``call_soon_threadsafe``): nothing is batched or delayed between HEAD being
written and ``sidecar/driftDetected`` leaving the server. Prompts use the
standard ``window/showMessageRequest``, which every LSP client can answer;
the answer goes back to the owner thread through the callback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from lsprotocol import types

from sidecar.core.models import Boundary, Recommendation, Session
from sidecar.protocol import notifications

if TYPE_CHECKING:
    from sidecar.server.app import SidecarServer

logger = logging.getLogger(__name__)


class ServerPort:
    """Shows drift and session changes to the client of ``server``."""

    def __init__(self, server: SidecarServer) -> None:
        self._server = server

    def notify_drift(
        self, folder: str, recommendation: Recommendation, before: Boundary | None, after: Boundary
    ) -> None:
        """Write ``sidecar/driftDetected`` before anything else happens on the owner thread."""
        self._server.notify_now(
            notifications.DRIFT_DETECTED,
            {
                "folder": folder,
                "recommendation": recommendation.to_json(),
                "before": before.to_json() if before is not None else None,
                "after": after.to_json(),
            },
        )

    def session_changed(self, folder: str, session: Session, reason: str) -> None:
        """Send ``sidecar/sessionChanged``."""
        self._server.notify(
            notifications.SESSION_CHANGED,
            {"folder": folder, "session": session.to_json(), "reason": reason},
        )

    def ask(
        self,
        folder: str,
        recommendation: Recommendation,
        actions: list[str],
        answer: Callable[[str | None], None],
    ) -> None:
        """``window/showMessageRequest`` with ``actions``; ``answer`` gets the chosen title."""
        server = self._server

        async def run() -> None:
            try:
                reply = await server.window_show_message_request_async(
                    types.ShowMessageRequestParams(
                        type=types.MessageType.Warning,
                        message=recommendation.question or recommendation.summary,
                        actions=[types.MessageActionItem(title=title) for title in actions],
                    )
                )
            except Exception:
                logger.exception("the drift prompt in %s failed", folder)
                reply = None
            answer(_title(reply))

        server.to_loop(server.run_task, run())


def _title(answer: object) -> str | None:
    """The title of a client's answer (an attrs item, or a plain dict from lenient clients)."""
    if answer is None:
        return None
    title = getattr(answer, "title", None)
    if title is None and isinstance(answer, dict):
        title = answer.get("title")
    return title if isinstance(title, str) else None
