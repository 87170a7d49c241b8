"""The OpenAI Responses API on a :class:`ModelMock`, as Codex CLI calls it.

Route: ``POST /v1/responses``, always streamed (SSE with named events:
``response.created``, ``response.output_item.added``,
``response.output_text.delta``, ``response.output_item.done``,
``response.completed``), following the script in
:mod:`tests.realagents.mockmodel`: one call of Codex's shell tool
(``exec_command``, a ``function_call`` item) when the newest user message asks
``RUN: <command>``, the request offers that tool and the conversation holds no
tool output yet; else the text ``MOCK ANSWER <n>`` as an assistant ``message``
item. Everything else (``/v1/models``, websockets, ...) is answered 404 by the
mock.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from tests.realagents.mockmodel import ModelMock, Reply, Request, run_command

#: The name of Codex's shell tool (arguments ``{"cmd": ...}``).
SHELL_TOOL = "exec_command"
MODEL = "gpt-mock"

_ids = itertools.count(1)


def register(mock: ModelMock) -> ModelMock:
    """Add the Responses route to ``mock``."""
    mock.route("POST /v1/responses", _responses)
    return mock


def _text_of(content: Any) -> str:
    """The text parts of an input item's content (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def _offers_shell(body: dict[str, Any]) -> bool:
    tools = body.get("tools")
    return isinstance(tools, list) and any(
        isinstance(tool, dict) and tool.get("name") == SHELL_TOOL for tool in tools
    )


def planned_command(body: Any) -> str | None:
    """The shell command the script calls for this request, or None for a text answer."""
    if not isinstance(body, dict) or not _offers_shell(body):
        return None
    items = body.get("input")
    if not isinstance(items, list):
        return None
    if any(isinstance(i, dict) and i.get("type") == "function_call_output" for i in items):
        return None
    users = [
        i
        for i in items
        if isinstance(i, dict) and i.get("type", "message") == "message" and i.get("role") == "user"
    ]
    return run_command(_text_of(users[-1].get("content"))) if users else None


def _responses(request: Request, reply: Reply, mock: ModelMock) -> None:
    body = request.body if isinstance(request.body, dict) else {}
    command = planned_command(body)
    number = next(_ids)
    if command is not None:
        item: dict[str, Any] = {
            "type": "function_call",
            "id": f"fc_mock{number:04d}",
            "call_id": f"call_mock{number:04d}",
            "name": SHELL_TOOL,
            "arguments": json.dumps({"cmd": command}),
            "status": "completed",
        }
        deltas: list[tuple[str | None, Any]] = []
    else:
        text = mock.next_answer()
        item = {
            "type": "message",
            "id": f"msg_mock{number:04d}",
            "role": "assistant",
            "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}],
        }
        deltas = [
            (
                "response.output_text.delta",
                {
                    "type": "response.output_text.delta",
                    "item_id": item["id"],
                    "output_index": 0,
                    "content_index": 0,
                    "delta": text,
                },
            )
        ]
    reply.sse(_stream(f"resp_mock{number:04d}", body.get("model") or MODEL, item, deltas))


def _stream(
    response_id: str, model: str, item: dict[str, Any], deltas: list[tuple[str | None, Any]]
) -> list[tuple[str | None, Any]]:
    """The SSE events of one response holding ``item``, named as the real API names them."""
    response = {"id": response_id, "object": "response", "model": model, "status": "in_progress"}
    usage = {
        "input_tokens": 100,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 8,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 108,
    }
    started = {**item, "status": "in_progress"}
    if item["type"] == "message":
        started["content"] = []
    return [
        ("response.created", {"type": "response.created", "response": response}),
        (
            "response.output_item.added",
            {"type": "response.output_item.added", "output_index": 0, "item": started},
        ),
        *deltas,
        (
            "response.output_item.done",
            {"type": "response.output_item.done", "output_index": 0, "item": item},
        ),
        (
            "response.completed",
            {
                "type": "response.completed",
                "response": {
                    **response,
                    "status": "completed",
                    "output": [item],
                    "usage": usage,
                },
            },
        ),
    ]
