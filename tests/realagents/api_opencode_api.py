"""opencode's model API on the mock: OpenAI chat completions (``@ai-sdk/openai-compatible``).

opencode POSTs ``/v1/chat/completions`` with ``stream: true`` and reads SSE
chunks (``chat.completion.chunk``, then ``data: [DONE]``). Following the
script of :mod:`tests.realagents.mockmodel`: a request that offers tools, whose
newest user turn asks ``RUN: <cmd>`` and whose conversation holds no tool
result yet, gets one call of opencode's shell tool ``bash``; every other
request (answers, opencode's title generation, which offers no tools) gets
``MOCK ANSWER <n>``. Other paths answer 404 (the mock's default).
"""

from __future__ import annotations

import json
from typing import Any

from tests.realagents.mockmodel import ModelMock, Reply, Request, run_command

#: The mock's model, as opencode.json names it (provider ``mock``).
MODEL = "mock-model"
SHELL_TOOL = "bash"


def _text(content: Any) -> str:
    """A chat message's content as text (a string, or a list of text parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


def shell_command(body: Any) -> str | None:
    """The command to call the shell tool with, or None to answer with text."""
    if not isinstance(body, dict) or not body.get("tools"):
        return None
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    if any(m.get("role") == "tool" for m in messages):
        return None
    users = [m for m in messages if m.get("role") == "user"]
    return run_command(_text(users[-1].get("content"))) if users else None


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-mock",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def chat_completions(request: Request, reply: Reply, mock: ModelMock) -> None:
    """``POST /v1/chat/completions``: a streamed tool call or text answer."""
    command = shell_command(request.body)
    events: list[tuple[str | None, Any]] = [(None, _chunk({"role": "assistant", "content": ""}))]
    if command is not None:
        call = {
            "index": 0,
            "id": f"call_mock_{mock.mark()}",
            "type": "function",
            "function": {
                "name": SHELL_TOOL,
                "arguments": json.dumps({"command": command, "description": "Run " + command}),
            },
        }
        events += [(None, _chunk({"tool_calls": [call]})), (None, _chunk({}, "tool_calls"))]
    else:
        events += [(None, _chunk({"content": mock.next_answer()})), (None, _chunk({}, "stop"))]
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    events += [(None, {**_chunk({}), "choices": [], "usage": usage}), (None, "[DONE]")]
    reply.sse(events)


def register(mock: ModelMock) -> ModelMock:
    """Add opencode's route to ``mock``; everything else stays 404."""
    mock.route("POST /v1/chat/completions", chat_completions)
    return mock
