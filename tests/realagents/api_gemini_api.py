"""The Gemini API (``generativelanguage``, v1beta) on a :class:`ModelMock`, as Gemini CLI calls it.

Routes: ``POST /v1beta/models/<model>:generateContent`` and
``POST /v1beta/models/<model>:streamGenerateContent?alt=sse``. Gemini CLI
uses the first for its helpers, which ask for JSON by a response schema (the
model router: ``model_choice``; the next-speaker check: ``next_speaker``):
they get an object that fills the schema, ``user`` whenever it may choose who
speaks next, so a turn ends after the answer. The second is the conversation
itself, following the script in :mod:`tests.realagents.mockmodel`: a
``run_shell_command`` call when the newest user prompt asks ``RUN:
<command>``, the request offers that tool and no tool result follows that
prompt yet; else the text ``MOCK ANSWER <n>``. Everything else is answered
404 by the mock.
"""

from __future__ import annotations

import json
from typing import Any

from tests.realagents.mockmodel import ModelMock, Reply, Request, run_command

#: The name of Gemini CLI's shell tool.
SHELL_TOOL = "run_shell_command"
PREFIX = "POST /v1beta/models/"


def register(mock: ModelMock) -> ModelMock:
    """Add the Gemini routes to ``mock`` (one prefix: the method follows the model's name)."""
    mock.route(PREFIX, _models)
    return mock


def _models(request: Request, reply: Reply, mock: ModelMock) -> None:
    """Route by the method after ``<model>:``, as the real API does."""
    method = request.path.rsplit(":", 1)[-1]
    body = request.body if isinstance(request.body, dict) else {}
    if method == "generateContent":
        reply.json(_response([{"text": _helper_answer(body, mock)}], request))
    elif method == "streamGenerateContent":
        reply.sse([(None, _response(_turn(body, mock), request))])
    elif method == "countTokens":
        reply.json({"totalTokens": max(1, len(request.raw) // 4)})
    else:
        reply.not_found()


def _response(parts: list[dict[str, Any]], request: Request) -> dict[str, Any]:
    """One complete candidate with ``parts`` (a stream of one chunk is a valid stream)."""
    tokens = max(1, len(request.raw) // 4)
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": parts},
                "finishReason": "STOP",
                "index": 0,
            }
        ],
        "usageMetadata": {
            "promptTokenCount": tokens,
            "candidatesTokenCount": 8,
            "totalTokenCount": tokens + 8,
        },
        "modelVersion": "gemini-mock",
    }


def _schema(body: dict[str, Any]) -> dict[str, Any] | None:
    config = body.get("generationConfig")
    if not isinstance(config, dict):
        return None
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    return schema if isinstance(schema, dict) else None


def _fill(schema: Any) -> Any:
    """A value that satisfies ``schema`` (the subset Gemini CLI's helpers use)."""
    if not isinstance(schema, dict):
        return ""
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        # The next-speaker check: the user speaks next, so the turn ends.
        return "user" if "user" in enum else enum[0]
    kind = str(schema.get("type", "string")).lower()
    if kind == "object":
        properties = schema.get("properties")
        props = properties if isinstance(properties, dict) else {}
        return {name: _fill(sub) for name, sub in props.items()}
    if kind == "array":
        return []
    if kind in ("number", "integer"):
        minimum = schema.get("minimum")
        # Helpers check ranges (a complexity score of 1-100) that the schema leaves to words.
        return minimum if isinstance(minimum, int | float) else 1
    if kind == "boolean":
        return False
    return "mock"


def _helper_answer(body: dict[str, Any], mock: ModelMock) -> str:
    """JSON by the request's schema; a plain answer when it asks for none."""
    schema = _schema(body)
    if schema is None:
        return mock.next_answer()
    return json.dumps(_fill(schema))


def _texts(content: dict[str, Any]) -> str:
    parts = content.get("parts")
    if not isinstance(parts, list):
        return ""
    return "\n".join(
        part["text"]
        for part in parts
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    )


def _is_tool_result(content: dict[str, Any]) -> bool:
    parts = content.get("parts")
    return isinstance(parts, list) and any(
        isinstance(part, dict) and "functionResponse" in part for part in parts
    )


def _offers_shell(body: dict[str, Any]) -> bool:
    tools = body.get("tools")
    return isinstance(tools, list) and any(
        isinstance(declaration, dict) and declaration.get("name") == SHELL_TOOL
        for tool in tools
        if isinstance(tool, dict) and isinstance(tool.get("functionDeclarations"), list)
        for declaration in tool["functionDeclarations"]
    )


def planned_command(body: Any) -> str | None:
    """The shell command the script calls for this request, or None for a text answer."""
    if not isinstance(body, dict) or not _offers_shell(body):
        return None
    contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
    prompts = [
        i for i, c in enumerate(contents) if c.get("role") == "user" and not _is_tool_result(c)
    ]
    if not prompts:
        return None
    newest = prompts[-1]
    if any(_is_tool_result(c) for c in contents[newest + 1 :]):
        return None
    return run_command(_texts(contents[newest]))


def _turn(body: dict[str, Any], mock: ModelMock) -> list[dict[str, Any]]:
    """The parts of the model's turn: one shell call, or a text answer."""
    command = planned_command(body)
    if command is not None:
        return [{"functionCall": {"name": SHELL_TOOL, "args": {"command": command}}}]
    return [{"text": mock.next_answer()}]
