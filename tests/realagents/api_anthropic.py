"""The Anthropic Messages API on a :class:`ModelMock`, as Claude Code calls it.

Routes: ``POST /v1/messages/count_tokens`` (a rough count) and
``POST /v1/messages``, streamed (SSE: ``message_start``,
``content_block_start``/``_delta``/``_stop``, ``message_delta``,
``message_stop``) or not, following the script in
:mod:`tests.realagents.mockmodel`: a ``Bash`` tool call when the newest user
turn asks ``RUN: <command>``, the request offers that tool and the
conversation holds no tool result yet; else the text ``MOCK ANSWER <n>``.
One addition for sub-agents: ``AGENT: <task>`` calls the ``Agent`` tool
(in the foreground) with ``<task>`` as the sub-agent's prompt. Everything
else is answered 404 by the mock.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

from tests.realagents.mockmodel import ModelMock, Reply, Request, run_command

#: The name of Claude Code's shell tool.
SHELL_TOOL = "Bash"
#: The name of Claude Code's sub-agent tool.
AGENT_TOOL = "Agent"
SUBAGENT = re.compile(r"AGENT: (?P<task>[^\n\"\\]+)")
MODEL = "claude-mock"

_ids = itertools.count(1)


def register(mock: ModelMock) -> ModelMock:
    """Add the Anthropic routes to ``mock`` (count_tokens first: routes match by prefix)."""
    mock.route("POST /v1/messages/count_tokens", _count_tokens)
    mock.route("POST /v1/messages", _messages)
    return mock


def _text_of(content: Any) -> str:
    """The text parts of a message's content (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            block["text"]
            for block in content
            if isinstance(block, dict) and isinstance(block.get("text"), str)
        )
    return ""


def _has_tool_result(messages: list[Any]) -> bool:
    return any(
        isinstance(block, dict) and block.get("type") == "tool_result"
        for message in messages
        if isinstance(message, dict) and isinstance(message.get("content"), list)
        for block in message["content"]
    )


def _offers(body: dict[str, Any], name: str) -> bool:
    tools = body.get("tools")
    return isinstance(tools, list) and any(
        isinstance(tool, dict) and tool.get("name") == name for tool in tools
    )


def planned_call(body: Any) -> tuple[str, dict[str, Any]] | None:
    """The tool call the script makes for this request (name, input), or None for text.

    ``AGENT: <task>`` starts a foreground sub-agent (Claude Code's ``Agent``
    tool) whose own prompt is ``<task>``, so its tool calls follow the same
    script; ``RUN: <command>`` calls ``Bash``.
    """
    if not isinstance(body, dict):
        return None
    messages = body.get("messages")
    if not isinstance(messages, list) or _has_tool_result(messages):
        return None
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    newest = _text_of(users[-1].get("content")) if users else ""
    task = SUBAGENT.search(newest)
    if task is not None and _offers(body, AGENT_TOOL):
        prompt = task.group("task").strip()
        return AGENT_TOOL, {
            "description": "Mock sub-agent task",
            "prompt": prompt,
            "subagent_type": "general-purpose",
            "run_in_background": False,
        }
    command = run_command(newest)
    if command is not None and _offers(body, SHELL_TOOL):
        return SHELL_TOOL, {"command": command, "description": f"Run {command}"}
    return None


def _count_tokens(request: Request, reply: Reply, mock: ModelMock) -> None:
    reply.json({"input_tokens": max(1, len(request.raw) // 4)})


def _messages(request: Request, reply: Reply, mock: ModelMock) -> None:
    body = request.body if isinstance(request.body, dict) else {}
    call = planned_call(body)
    if call is not None:
        block: dict[str, Any] = {
            "type": "tool_use",
            "id": f"toolu_mock{next(_ids):04d}",
            "name": call[0],
            "input": call[1],
        }
        stop = "tool_use"
    else:
        block = {"type": "text", "text": mock.next_answer()}
        stop = "end_turn"
    message_id = f"msg_mock{next(_ids):04d}"
    usage = {"input_tokens": max(1, len(request.raw) // 4), "output_tokens": 8}
    if not body.get("stream"):
        reply.json(
            {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": body.get("model") or MODEL,
                "content": [block],
                "stop_reason": stop,
                "stop_sequence": None,
                "usage": usage,
            }
        )
        return
    reply.sse(_stream(message_id, body.get("model") or MODEL, block, stop, usage))


def _stream(
    message_id: str, model: str, block: dict[str, Any], stop: str, usage: dict[str, int]
) -> list[tuple[str | None, Any]]:
    """The SSE events of one message holding ``block``, streamed as the real API does."""
    if block["type"] == "tool_use":
        start = {**block, "input": {}}

        delta: dict[str, Any] = {
            "type": "input_json_delta",
            "partial_json": json.dumps(block["input"]),
        }
    else:
        start = {"type": "text", "text": ""}
        delta = {"type": "text_delta", "text": block["text"]}
    return [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {**usage, "output_tokens": 1},
                },
            },
        ),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": start},
        ),
        ("ping", {"type": "ping"}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop, "stop_sequence": None},
                "usage": {"output_tokens": usage["output_tokens"]},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
