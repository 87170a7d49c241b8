"""Text of events and sessions: what a person searches for, and the names they read."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

#: Payload keys whose values are worth indexing first, in this order.
_PREFERRED = ("text", "prompt", "message", "subject", "command", "output", "path", "name", "title")
_MAX_CHARS = 8_000

#: Terminal control sequences: OSC (``ESC ] ... BEL`` or ``ESC ] ... ESC \\``), CSI
#: (``ESC [ params final``, also the 8-bit ``\x9b`` form), other two-byte escapes,
#: and the remaining C0/C1 control characters except tab and newline.
_TERMINAL_CODES = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]"
    r"|\x1b[@-Z\\-_]"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]"
)


def strip_terminal_codes(text: str) -> str:
    """``text`` without terminal escape sequences (colours, titles, links) or control bytes.

    Tools store what a terminal showed; a name or preview made from it must not
    repaint the terminal that lists it.

    >>> strip_terminal_codes("\\x1b[1;31mfailed\\x1b[0m \\x1b]0;title\\x07ok")
    'failed ok'
    """
    return _TERMINAL_CODES.sub("", text)


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
    line = " ".join(strip_terminal_codes(str(text)).split())
    return line if len(line) <= max_chars else line[: max_chars - 1] + "…"


def short_name(text: str, limit: int = 50) -> str:
    """A one-line session name from free text (first line, at most ``limit`` chars).

    >>> short_name("fix the\\nlogin   bug")
    'fix the login bug'
    """
    line = " ".join(strip_terminal_codes(text).split())
    if len(line) <= limit:
        return line
    return line[: limit - 1].rstrip() + "…"


def default_session_name(branch: str, when: datetime) -> str:
    """The name a session gets when nobody names it: ``<branch> <date time>``."""
    return f"{branch} {when.strftime('%Y-%m-%d %H:%M')}"
