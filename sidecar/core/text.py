"""Text of events and sessions: what a person searches for, and the names they read."""

from __future__ import annotations

from datetime import datetime
from typing import Any

#: Payload keys whose values are worth indexing first, in this order.
_PREFERRED = ("text", "prompt", "message", "subject", "command", "output", "path", "name", "title")
_MAX_CHARS = 8_000


def _strings(value: Any, out: list[str], budget: list[int]) -> None:
    if budget[0] <= 0:
        return
    if isinstance(value, str):
        piece = value[: budget[0]]
        out.append(piece)
        budget[0] -= len(piece)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, out, budget)
    elif isinstance(value, list | tuple):
        for item in value:
            _strings(item, out, budget)


def event_text(payload: dict[str, Any], *, max_chars: int = _MAX_CHARS) -> str:
    """The text of a payload for full-text search, preferred keys first, capped.

    >>> event_text({"text": "fix the login bug", "tokens": 12})
    'fix the login bug'
    """
    out: list[str] = []
    budget = [max_chars]
    for key in _PREFERRED:
        if key in payload:
            _strings(payload[key], out, budget)
    rest = {k: v for k, v in payload.items() if k not in _PREFERRED}
    _strings(rest, out, budget)
    return "\n".join(s for s in out if s)


def prompt_preview(payload: dict[str, Any], *, max_chars: int = 200) -> str:
    """A one-line preview of a prompt, for session tables and panels."""
    text = payload.get("text") or payload.get("prompt") or event_text(payload, max_chars=max_chars)
    line = " ".join(str(text).split())
    return line if len(line) <= max_chars else line[: max_chars - 1] + "…"


def short_name(text: str, limit: int = 50) -> str:
    """A one-line session name from free text (first line, at most ``limit`` chars).

    >>> short_name("fix the\\nlogin   bug")
    'fix the login bug'
    """
    line = " ".join(text.strip().split())
    if len(line) <= limit:
        return line
    return line[: limit - 1].rstrip() + "…"


def default_session_name(branch: str, when: datetime) -> str:
    """The name a session gets when nobody names it: ``<branch> <date time>``."""
    return f"{branch} {when.strftime('%Y-%m-%d %H:%M')}"
