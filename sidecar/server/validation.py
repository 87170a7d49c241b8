"""Params -> pydantic models, and every failure -> a JSON-RPC error a person can act on.

pygls validates typed params before dispatch and, when that fails, answers
nothing (see docs in notes/pygls). The sidecar's params arrive as raw JSON
and are validated here, inside the handler, so every failure becomes an
answer: -32602 naming each bad field by its path (``events[0].kind``) with
what was expected and what was given.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from sidecar.services.errors import ServiceError

P = TypeVar("P", bound=BaseModel)

_MAX_SHOWN = 60
_MAX_ERRORS = 5


def field_path(loc: tuple[int | str, ...]) -> str:
    """``("events", 0, "kind")`` -> ``events[0].kind``.

    >>> field_path(("events", 0, "kind"))
    'events[0].kind'
    """
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "params"


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def _expected(error: Any) -> str:
    kind = error["type"]
    message = str(error["msg"])
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    if message.startswith("Value error, "):
        return message[len("Value error, ") :]
    if message.startswith("Input should be "):
        return "expected " + message[len("Input should be ") :]
    return message[0].lower() + message[1:] if message else kind


def describe(method: str, exc: ValidationError) -> tuple[str, list[dict[str, str]]]:
    """The error message and structured data for a failed validation of ``method``'s params."""
    problems = []
    for error in exc.errors()[:_MAX_ERRORS]:
        path = field_path(tuple(error["loc"]))
        expected = _expected(error)
        item = {"field": path, "problem": expected}
        if error["type"] not in ("missing",):
            item["got"] = _shown(error.get("input"))
        problems.append(item)
    text = "; ".join(
        f"{p['field']} {p['problem']}" + (f" (got {p['got']})" if "got" in p else "")
        for p in problems
    )
    more = len(exc.errors()) - len(problems)
    if more > 0:
        text += f"; and {more} more"
    return f"invalid params for {method}: {text}", problems


def parse_params(model: type[P], raw: Any, method: str) -> P:
    """Validate ``raw`` (the JSON params, or None when absent) as ``model``."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise JsonRpcInvalidParams(
            f"invalid params for {method}: params must be an object, got {_shown(raw)}",
            data=[{"field": "params", "problem": "expected an object", "got": _shown(raw)}],
        )
    try:
        return model.model_validate_json(json.dumps(raw))
    except ValidationError as exc:
        message, problems = describe(method, exc)
        raise JsonRpcInvalidParams(message, data=problems) from exc


def to_jsonrpc_error(method: str, exc: Exception) -> JsonRpcException:
    """The JSON-RPC error for an exception raised while serving ``method``.

    Unknown ids are -32602 ("unknown session <id>: ..."), refusals -32001 and
    the like with the service's own sentence, anything unexpected -32603.
    """
    from sidecar.store import (
        InvalidRequest,
        PayloadTooLarge,
        StoreError,
        UnknownId,
        UnknownSession,
    )

    if isinstance(exc, JsonRpcException):
        return exc
    if isinstance(exc, PayloadTooLarge):
        field = f"events[{exc.index}].payload"
        return JsonRpcInvalidParams(
            f"invalid params for {method}: {exc} (setting maxPayloadBytes)",
            data=[{"field": field, "problem": f"at most {exc.limit} bytes", "got": str(exc.size)}],
        )
    if isinstance(exc, UnknownSession):
        return JsonRpcInvalidParams(
            f"unknown session {exc.session_id}: list sessions to see valid ids",
            data={"sessionId": exc.session_id},
        )
    if isinstance(exc, (UnknownId, InvalidRequest)):
        return JsonRpcInvalidParams(str(exc))
    if isinstance(exc, ServiceError):
        if exc.code == JsonRpcInvalidParams.CODE:
            return JsonRpcInvalidParams(str(exc))
        return JsonRpcException(str(exc), code=exc.code)
    if isinstance(exc, StoreError):
        return JsonRpcException(str(exc), code=-32001)
    return JsonRpcException(f"internal error in {method}: {type(exc).__name__}: {exc}", code=-32603)
