"""What the server does with a message it cannot read: answer, never hang, never die.

pygls's read loop (``pygls.io_.run_async``) reads a ``Content-Length`` header
and then that many bytes. Two holes are closed here:

* a declared length over :data:`MAX_MESSAGE_BYTES` is not read (a client
  declaring 99,999,999,999,999 bytes would make the server allocate or wait
  for them): the client gets a JSON-RPC error with ``id: null`` naming both
  sizes, and the connection is closed, since the stream cannot be trusted to
  resynchronise;
* a body that is not JSON (not UTF-8, malformed, nested too deep for the
  parser) is answered with ``-32700 Parse error`` and ``id: null``, as
  JSON-RPC 2.0 asks, and the server keeps serving.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

logger = logging.getLogger(__name__)

#: The largest message body the server reads (a batch of events fits many times over).
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
PARSE_ERROR = -32700
INVALID_REQUEST = -32600


class AsyncReader(Protocol):
    """pygls's reader interface (stdin in a thread, or an asyncio stream)."""

    def readline(self) -> Awaitable[bytes]: ...

    def readexactly(self, n: int) -> Awaitable[bytes]: ...


class BoundedReader:
    """Wraps a reader so that a body over ``limit`` bytes is never read.

    ``on_oversized(declared)`` runs instead (it answers the client); the read
    then returns ``b""``, which ends pygls's loop: the connection closes.
    """

    def __init__(
        self,
        inner: AsyncReader,
        on_oversized: Callable[[int], None],
        limit: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self._inner = inner
        self._on_oversized = on_oversized
        self.limit = limit

    def readline(self) -> Awaitable[bytes]:
        return self._inner.readline()

    async def readexactly(self, n: int) -> bytes:
        if n > self.limit:
            logger.error("refusing a message of %d bytes (limit %d)", n, self.limit)
            self._on_oversized(n)
            return b""
        return await self._inner.readexactly(n)


def is_parse_error(error: BaseException) -> bool:
    """Whether ``error`` (raised while handling a body) means the body is not JSON."""
    return isinstance(error, json.JSONDecodeError | UnicodeDecodeError | RecursionError)


def oversized_error(declared: int, limit: int = MAX_MESSAGE_BYTES) -> dict[str, Any]:
    """The JSON-RPC error object for a declared body over the limit."""
    return {
        "code": INVALID_REQUEST,
        "message": (
            f"message of {declared} bytes is over the limit of {limit} bytes: "
            "closing the connection"
        ),
    }


def parse_error(error: BaseException) -> dict[str, Any]:
    """The JSON-RPC error object for a body that is not JSON."""
    if isinstance(error, RecursionError):
        why = "nested too deeply"
    elif isinstance(error, UnicodeDecodeError):
        why = "not UTF-8"
    else:
        why = str(error).splitlines()[0][:200]
    return {"code": PARSE_ERROR, "message": f"parse error: the message is not JSON ({why})"}
