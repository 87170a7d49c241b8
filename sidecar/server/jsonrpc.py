"""pygls's language-server protocol, hardened so that every request gets an answer.

pygls 2.1.1 structures each message inside ``json.loads``' object hook, and a
failure there is only logged: a request without a ``params`` key, or with
params that do not fit lsprotocol's type, never gets a response, and the
client waits forever. This subclass structures the whole message once it is
parsed instead:

* a missing ``params`` becomes ``null`` (legal JSON-RPC; Neovim sends it);
* ``sidecar/*`` messages keep their params as plain JSON: the handlers
  validate them with pydantic and answer -32602 on failure;
* a typed LSP request whose params do not structure gets a -32602 answer;
  a notification that does not is logged and dropped;
* a message that is not a JSON-RPC 2.0 object is answered with -32600 when it
  has an id, else dropped;
* a second ``initialize`` is refused with -32600 (LSP allows one).

It also keeps no copy of open documents: the sidecar records only that a
file was opened, saved or closed, never its text.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.protocol import LanguageServerProtocol, lsp_method
from pygls.protocol.json_rpc import JsonRPCNotification, JsonRPCRequestMessage

logger = logging.getLogger(__name__)

CUSTOM_PREFIX = "sidecar/"


class SidecarProtocol(LanguageServerProtocol):
    """LanguageServerProtocol that answers malformed requests instead of dropping them."""

    _initialize_seen = False

    def structure_message(self, data: dict[str, Any]) -> Any:
        """Called by ``json.loads`` for every object: leave them all as dicts.

        Structuring nested objects here would turn a payload that happens to hold
        a ``jsonrpc`` key into a message object; :meth:`handle_message` structures
        the top level only.
        """
        return data

    def handle_message(self, message: Any) -> None:
        """Structure the parsed message (answering what cannot be), then dispatch it."""
        if isinstance(message, dict):
            structured = self._structure(message)
            if structured is None:
                return
            message = structured
        super().handle_message(message)

    def _structure(self, data: dict[str, Any]) -> Any | None:
        method = data.get("method")
        has_id = "id" in data
        msg_id = data.get("id")
        if data.get("jsonrpc") != self.VERSION or (
            method is not None and not isinstance(method, str)
        ):
            logger.warning("dropping a message that is not JSON-RPC 2.0: %.200r", data)
            if has_id and isinstance(msg_id, (int, str)):
                self._answer_error(
                    msg_id, JsonRpcInvalidRequest("not a JSON-RPC 2.0 request object")
                )
            return None
        if method is not None and "params" not in data:
            data = {**data, "params": None}
        if method == types.INITIALIZE:
            if self._initialize_seen:
                # LSP: initialize is sent once. A second one would move the workspace
                # folders (and with them where exports may be written).
                if isinstance(msg_id, (int, str)):
                    self._answer_error(
                        msg_id,
                        JsonRpcInvalidRequest("the server is already initialized"),
                    )
                return None
            self._initialize_seen = True
        if self._shutdown and has_id and method is not None and method != types.EXIT:
            # pygls drops these silently; the client would wait forever.
            if isinstance(msg_id, (int, str)):
                self._answer_error(msg_id, JsonRpcInvalidRequest("the server is shutting down"))
            return None
        if isinstance(method, str) and method.startswith(CUSTOM_PREFIX):
            if isinstance(msg_id, (int, str)):
                return JsonRPCRequestMessage(
                    id=msg_id, method=method, jsonrpc=self.VERSION, params=data["params"]
                )
            return JsonRPCNotification(method=method, jsonrpc=self.VERSION, params=data["params"])
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if has_id and method is not None and isinstance(msg_id, (int, str)):
                cause = exc.__cause__ or exc
                self._answer_error(
                    msg_id,
                    JsonRpcInvalidParams(f"invalid params for {method}: {_first_line(cause)}"),
                )
            else:
                logger.warning("dropping malformed %s message: %s", method or "response", exc)
            return None

    def _answer_error(self, msg_id: int | str, error: JsonRpcException) -> None:
        try:
            self._send_response(msg_id, error=error.to_response_error())
        except Exception:  # the transport is gone; nothing left to answer
            logger.exception("could not answer message %s", msg_id)

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(
        self, params: types.DidOpenTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """Forward didOpen to the user handler without keeping the document text."""
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(
        self, params: types.DidCloseTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """Forward didClose to the user handler (no document copy to drop)."""
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None


def _first_line(exc: BaseException) -> str:
    """A short description of a structuring failure, naming fields where cattrs can."""
    from cattrs import transform_error
    from cattrs.errors import ClassValidationError

    if isinstance(exc, ClassValidationError):
        return "; ".join(transform_error(exc)[:5])[:500]
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
