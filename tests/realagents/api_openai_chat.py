"""The OpenAI Chat Completions API on a :class:`ModelMock`, as GitHub Copilot CLI calls it.

Routes: ``GET /v1/models`` (one model) and ``POST /v1/chat/completions``,
streamed (SSE ``chat.completion.chunk`` objects, then ``data: [DONE]``) or
not, following the script in :mod:`tests.realagents.mockmodel`: one call of
the agent's shell tool when the newest user turn asks ``RUN: <command>``, the
request offers that tool and the conversation holds no tool result yet; else
the text ``MOCK ANSWER <n>``. Everything else is answered 404 by the mock.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from tests.realagents.mockmodel import ModelMock, Reply, Request, run_command

#: Names the agents give their shell tool, most likely first (Copilot CLI: ``bash``).
SHELL_TOOLS = ("bash", "shell", "powershell")
MODEL = "mock-model"

_ids = itertools.count(1)


def register(mock: ModelMock) -> ModelMock:
    """Add the Chat Completions routes to ``mock``."""
    mock.route("GET /v1/models", _models)
    mock.route("POST /v1/chat/completions", _completions)
    return mock


def _text_of(content: Any) -> str:
    """The text of a message's content (a string or a list of parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            part["text"]
            for part in content
            if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    return ""


def shell_tool(body: dict[str, Any]) -> str | None:
    """The name of the shell tool the request offers, or None."""
    tools = body.get("tools")
    if not isinstance(tools, list):
        return None
    offered = {
        tool["function"].get("name")
        for tool in tools
        if isinstance(tool, dict) and isinstance(tool.get("function"), dict)
    }
    return next((name for name in SHELL_TOOLS if name in offered), None)


def planned_call(body: Any) -> tuple[str, str] | None:
    """(shell tool, command) the script calls for this request, or None for a text answer."""
    if not isinstance(body, dict):
        return None
    tool = shell_tool(body)
    messages = body.get("messages")
    if tool is None or not isinstance(messages, list):
        return None
    if any(isinstance(m, dict) and m.get("role") == "tool" for m in messages):
        return None
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    command = run_command(_text_of(users[-1].get("content"))) if users else None
    return (tool, command) if command is not None else None


def _models(request: Request, reply: Reply, mock: ModelMock) -> None:
    reply.json({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "mock"}]})


def _completions(request: Request, reply: Reply, mock: ModelMock) -> None:
    body = request.body if isinstance(request.body, dict) else {}
    model = body.get("model") or MODEL
    call = planned_call(body)
    message: dict[str, Any] = {"role": "assistant", "content": None}
    if call is not None:
        tool, command = call
        message["tool_calls"] = [
            {
                "id": f"call_mock{next(_ids):04d}",
                "type": "function",
                "function": {
                    "name": tool,
                    "arguments": json.dumps({"command": command, "description": f"Run {command}"}),
                },
            }
        ]
        finish = "tool_calls"
    else:
        message["content"] = mock.next_answer()
        finish = "stop"
    completion_id = f"chatcmpl-mock{next(_ids):04d}"
    usage = {
        "prompt_tokens": max(1, len(request.raw) // 4),
        "completion_tokens": 8,
        "total_tokens": max(1, len(request.raw) // 4) + 8,
    }
    if not body.get("stream"):
        reply.json(
            {
                "id": completion_id,
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": usage,
            }
        )
        return
    reply.sse(_stream(completion_id, model, message, finish, usage))


def _stream(
    completion_id: str, model: str, message: dict[str, Any], finish: str, usage: dict[str, int]
) -> list[tuple[str | None, Any]]:
    """The SSE chunks of one answer, streamed as the real API does (role, content, finish)."""

    def chunk(delta: dict[str, Any], reason: str | None = None, **extra: Any) -> Any:
        return (
            None,
            {
                "id": completion_id,
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
                **extra,
            },
        )

    events = [chunk({"role": "assistant", "content": ""})]
    for index, call in enumerate(message.get("tool_calls") or []):
        arguments = call["function"]["arguments"]
        head = {
            **call,
            "index": index,
            "function": {"name": call["function"]["name"], "arguments": ""},
        }
        events.append(chunk({"tool_calls": [head]}))
        events.append(
            chunk({"tool_calls": [{"index": index, "function": {"arguments": arguments}}]})
        )
    if message.get("content"):
        events.append(chunk({"content": message["content"]}))
    events.append(chunk({}, finish))
    events.append((None, {**chunk({})[1], "choices": [], "usage": usage}))
    events.append((None, "[DONE]"))
    return events
