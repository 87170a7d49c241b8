"""The payload shapes of conversation events, the same whether a hook or an import made them.

A prompt or an answer is ``{"text": ...}``, a tool call ``{"name", "input",
"toolUseId"}``, a tool result ``{"toolUseId", "content"}`` with flattened text;
long text is cut and marked (``truncated``, ``size``). The agents' hooks
(:mod:`sidecar.agents.hook`) and the importers (:mod:`sidecar.importers`)
both build their events with these, so one session reads the same whichever
door recorded an event.
"""

from __future__ import annotations

import json
from typing import Any

TOOL_OUTPUT_LIMIT = 4096
"""Characters of tool output kept per result; the rest is dropped and marked."""

TEXT_LIMIT = 65536
"""Characters kept of a prompt, a response or one string inside tool input."""


def clip(text: str, limit: int) -> tuple[str, bool]:
    """``text`` cut to ``limit`` characters, and whether it was cut."""
    if len(text) <= limit:
        return text, False
    return text[:limit], True


def clipped_text_payload(text: str, limit: int = TEXT_LIMIT, key: str = "text") -> dict[str, Any]:
    """A payload ``{key: text}`` with ``truncated`` and ``size`` added when cut."""
    kept, cut = clip(text, limit)
    payload: dict[str, Any] = {key: kept}
    if cut:
        payload["truncated"] = True
        payload["size"] = len(text)
    return payload


def clip_strings(value: Any, limit: int = TEXT_LIMIT) -> tuple[Any, bool]:
    """``value`` with every string inside cut to ``limit``; and whether any was cut.

    Tool inputs can carry whole files (a write tool's content), so each string
    is bounded while the structure stays readable.
    """
    if isinstance(value, str):
        return clip(value, limit)
    if isinstance(value, list):
        items = [clip_strings(item, limit) for item in value]
        return [item for item, _ in items], any(cut for _, cut in items)
    if isinstance(value, dict):
        pairs = {key: clip_strings(item, limit) for key, item in value.items()}
        return {key: item for key, (item, _) in pairs.items()}, any(
            cut for _, cut in pairs.values()
        )
    return value, False


def flatten_text(content: Any) -> str:
    """The readable text of a message or tool-result content (string or list of parts)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if not isinstance(content, list):
        return json.dumps(content, ensure_ascii=False, default=str)
    pieces: list[str] = []
    for part in content:
        if isinstance(part, str):
            pieces.append(part)
        elif isinstance(part, dict):
            kind = part.get("type")
            text = part.get("text")
            if isinstance(text, str):
                pieces.append(text)
            elif kind in ("image", "input_image"):
                pieces.append("[image]")
            elif isinstance(part.get("content"), str | list):
                pieces.append(flatten_text(part["content"]))
            elif isinstance(part.get("output"), str):
                pieces.append(part["output"])
    return "\n".join(piece for piece in pieces if piece)


def tool_result_payload(tool_use_id: Any, content: Any, **extra: Any) -> dict[str, Any]:
    """A ``tool_result`` payload: flattened content cut to :data:`TOOL_OUTPUT_LIMIT`."""
    payload: dict[str, Any] = {"toolUseId": tool_use_id if isinstance(tool_use_id, str) else None}
    payload.update(clipped_text_payload(flatten_text(content), TOOL_OUTPUT_LIMIT, key="content"))
    payload.update({key: value for key, value in extra.items() if value is not None})
    return payload


def tool_call_payload(name: Any, tool_input: Any, tool_use_id: Any) -> dict[str, Any]:
    """A ``tool_call`` payload with every string of the input bounded."""
    kept, cut = clip_strings(tool_input)
    payload: dict[str, Any] = {
        "name": name if isinstance(name, str) else "",
        "input": kept,
        "toolUseId": tool_use_id if isinstance(tool_use_id, str) else None,
    }
    if cut:
        payload["truncated"] = True
    return payload
