"""What every agent's hook says, in one vocabulary, and how each agent is spoken to.

Agents name their hook events and fields differently (Claude Code's
``UserPromptSubmit`` and ``tool_use_id``, Gemini CLI's ``BeforeAgent``,
Copilot CLI's ``userPromptSubmitted`` and ``toolArgs``, ...), but a hook call
always is one of a few steps of a session: it starts, the user prompts, a tool
is called, a tool answers, the agent answers, it ends. A :class:`Dialect` is
the pure translation for one agent: its input into a :class:`HookEvent`, and a
warning back into the JSON that agent reads. Everything after the translation
(which session, what is recorded, whether to warn) is the same for every
agent and lives in :mod:`sidecar.services.agents`.

This module imports only the standard library: the hook runs on every tool call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, NamedTuple


class Step(StrEnum):
    """The step of a session one hook call reports."""

    START = "start"
    PROMPT = "prompt"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    RESPONSE = "response"
    END = "end"
    NOTE = "note"


#: Session-start sources that begin a new conversation (anything else resumes one).
FRESH_SOURCES = frozenset({"startup", "clear", "new"})


class HookInputError(ValueError):
    """The hook input is not what the agent sends (logged, never shown to the agent)."""


class HookEvent(NamedTuple):
    """One hook call in the common vocabulary."""

    step: Step
    event: str
    """The agent's own name for the event (kept in the payload)."""
    session_id: str
    cwd: str | None
    data: Mapping[str, Any]
    """The whole input, for the idempotency key."""
    transcript_path: str | None = None
    source: str | None = None
    """START: startup, resume, clear, compact, fork, new (as the agent says)."""
    prompt: str | None = None
    tool_name: str | None = None
    tool_input: Any = None
    tool_id: str | None = None
    tool_output: Any = None
    failed: bool = False
    denied: bool = False
    text: str | None = None
    """RESPONSE: the answer; END and NOTE: a reason or message."""
    carries_context: bool = False
    """What the hook prints on this call reaches the model."""
    turn: str | None = None
    """What tells this call apart from an identical one later (a turn id, a timestamp),
    where the agent gives no transcript whose size does."""

    @property
    def starts_fresh(self) -> bool:
        """A start that begins a new conversation rather than resuming one."""
        return self.step is Step.START and (self.source or "startup") in FRESH_SOURCES


class Warning(NamedTuple):
    """The drift warning for the agent, decided by the core, in words."""

    text: str
    block: bool
    """Refuse the prompt instead of adding context (block mode, on a prompt)."""


class Dialect(NamedTuple):
    """One agent's hook language (pure functions; no I/O but reading the transcript head)."""

    provider: str
    """The sidecar's provider name: ``claude-code``, ``codex``, ..."""
    label: str
    """The agent's name for people: ``Claude Code``."""
    id_prefix: str
    """Prefix of the client event ids this agent's hook gives its events."""
    resume_command: str
    """How the user resumes a session of this agent: ``claude --resume {ref}``."""
    parse: Callable[[Mapping[str, Any]], HookEvent]
    """The agent's JSON input into a :class:`HookEvent`; raises :class:`HookInputError`."""
    output: Callable[[HookEvent, Warning | None, str | None], dict[str, Any] | None]
    """The JSON to print for a warning (or None) and an offered session title (or None)."""
    began_on: Callable[[HookEvent], str | None] | None = None
    """The branch the agent recorded when the session began (hooks installed mid-session)."""

    def resume_hint(self, ref: str) -> str:
        """The command that resumes the agent's session ``ref``."""
        return self.resume_command.format(ref=ref)


def text_field(data: Mapping[str, Any], *keys: str) -> str | None:
    """The first non-empty string among ``keys`` of ``data``."""
    for key in keys:
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def require_session(data: Mapping[str, Any], event: str, *keys: str) -> str:
    """The session id under the first of ``keys``; raises :class:`HookInputError` if none."""
    session = text_field(data, *keys)
    if session is None:
        raise HookInputError(f"{event} hook input has no {keys[0]}")
    return session


def event_fields(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The event name and the :class:`HookEvent` fields of a Claude-shaped input.

    Claude Code, Codex, Gemini CLI and the sidecar's opencode plugin all send
    ``hook_event_name``, ``session_id``, ``cwd`` and ``transcript_path``; the
    dialect adds what differs (``carries_context``, ``turn``). Raises
    :class:`HookInputError` without an event name or a session id.
    """
    event = text_field(data, "hook_event_name")
    if event is None:
        raise HookInputError("hook input has no hook_event_name")
    return event, {
        "event": event,
        "session_id": require_session(data, event, "session_id"),
        "cwd": text_field(data, "cwd"),
        "data": data,
        "transcript_path": text_field(data, "transcript_path"),
    }


def additional_context(event: str, warning: Warning | None) -> dict[str, Any] | None:
    """Claude Code's shape, which Codex and Gemini CLI share: context, or a block decision."""
    if warning is None:
        return None
    if warning.block:
        return {"decision": "block", "reason": warning.text}
    return {"hookSpecificOutput": {"hookEventName": event, "additionalContext": warning.text}}
