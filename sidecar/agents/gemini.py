"""Gemini CLI's hook language (``session-sidecar hook gemini``).

Input (Gemini CLI's ``HookEventHandler``, seen from 0.61): one JSON object on
stdin with ``hook_event_name``, ``session_id``, ``cwd``,
``transcript_path`` (the chat file) and ``timestamp``, and per event
``source`` (SessionStart: ``startup``, ``resume``, ``clear``), ``prompt``
(BeforeAgent), ``tool_name``/``tool_input`` (BeforeTool) and
``tool_response`` (AfterTool: ``{llmContent, returnDisplay, error?}``, with
``error: {type, message}`` when the tool failed), ``prompt``,
``prompt_response`` and ``stop_hook_active`` (AfterAgent), ``reason``
(SessionEnd). The tool hooks carry no tool call id: the chat file's call id is
written only after the tool finished, so hook-recorded tool events get ids of
their own (see :func:`sidecar.agents.hook.client_event_id`).

Output: ``{"hookSpecificOutput": {"hookEventName", "additionalContext"}}``
on BeforeAgent puts the warning into the model's context, as a
``<hook_context>`` part of the user's message (also on ``gemini -r``), and
``{"decision": "block", "reason"}`` refuses the prompt in block mode.
SessionStart context is not used: headless, Gemini CLI glues it to the front
of the prompt, and a resumed session drops every stored prompt that starts
with ``<hook_context>``, so the user's own prompt would vanish from the
history.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sidecar.agents.dialect import (
    Dialect,
    HookEvent,
    Step,
    Warning,
    additional_context,
    event_fields,
    text_field,
)
from sidecar.agents.hook_settings import HookLayout, Installer, SettingsError

#: The hook events the sidecar listens to, in the order Gemini CLI fires them.
#: BeforeModel, AfterModel, BeforeToolSelection and PreCompress fire around every
#: model call and say nothing the sidecar records.
HOOK_EVENTS = ("SessionStart", "BeforeAgent", "BeforeTool", "AfterTool", "AfterAgent", "SessionEnd")
#: What AfterAgent reports when the turn ended without text (Gemini CLI's placeholder).
NO_RESPONSE = "[no response text]"

_TOOL_EVENTS = frozenset({"BeforeTool", "AfterTool"})


def parse(data: Mapping[str, Any]) -> HookEvent:
    """Gemini CLI's hook input as a :class:`HookEvent`."""
    event, common = event_fields(data)
    common.update(
        # Only BeforeAgent's context reaches the model in a way that survives a resume.
        carries_context=event == "BeforeAgent",
        turn=text_field(data, "timestamp"),
    )
    if event == "SessionStart":
        return HookEvent(Step.START, source=text_field(data, "source"), **common)
    if event == "BeforeAgent":
        prompt = data.get("prompt")
        return HookEvent(Step.PROMPT, prompt=prompt if isinstance(prompt, str) else "", **common)
    if event in _TOOL_EVENTS:
        tool: dict[str, Any] = {
            "tool_name": text_field(data, "tool_name"),
            "tool_input": data.get("tool_input"),
        }
        if event == "BeforeTool":
            return HookEvent(Step.TOOL_CALL, **tool, **common)
        output, failed = _tool_output(data.get("tool_response"))
        return HookEvent(Step.TOOL_RESULT, tool_output=output, failed=failed, **tool, **common)
    if event == "AfterAgent":
        answer = text_field(data, "prompt_response")
        if answer is not None and answer != NO_RESPONSE:
            return HookEvent(Step.RESPONSE, text=answer, **common)
        return HookEvent(Step.NOTE, text="Gemini CLI finished its turn without text.", **common)
    if event == "SessionEnd":
        return HookEvent(Step.END, text=text_field(data, "reason"), **common)
    return HookEvent(Step.NOTE, text=text_field(data, "message", "reason"), **common)


def _tool_output(response: Any) -> tuple[Any, bool]:
    """What the model read back from the tool (``llmContent``, as the chat file's
    ``functionResponse`` holds it), or the error's message; and whether it failed.

    A shell command that exits non-zero is no failure to Gemini CLI (its exit
    code is in the output); ``error`` is set when the tool itself failed.
    """
    if not isinstance(response, dict):
        return response, False
    error = response.get("error")
    if isinstance(error, dict):
        message = text_field(error, "message") or text_field(error, "type") or "the tool failed"
        return message, True
    content = response.get("llmContent")
    if content is None:
        content = response.get("returnDisplay")
    return content, False


def output(hook: HookEvent, warning: Warning | None, title: str | None) -> dict[str, Any] | None:
    """The JSON Gemini CLI reads back: context (or a block) on BeforeAgent, else nothing.

    Gemini CLI has no session title a hook can set, so ``title`` is not used.
    """
    if not hook.carries_context:
        return None
    return additional_context(hook.event, warning)


DIALECT = Dialect(
    provider="gemini",
    label="Gemini CLI",
    id_prefix="gm",
    resume_command="gemini --resume {ref}",
    parse=parse,
    output=output,
)


def gemini_home(environ: Mapping[str, str] | None = None) -> Path:
    """Gemini CLI's folder: ``$GEMINI_CLI_HOME/.gemini`` when set, else ``~/.gemini``."""
    configured = (os.environ if environ is None else environ).get("GEMINI_CLI_HOME")
    return (Path(configured) if configured else Path.home()) / ".gemini"


def settings_path(scope: str, folder: Path | None = None) -> Path:
    """``~/.gemini/settings.json``: user-level hooks run without a trust step.

    Only the user scope is offered: the project's ``.gemini/settings.json`` is
    shared with everyone who clones the repository.
    """
    if scope == "user":
        return gemini_home() / "settings.json"
    raise SettingsError(f"unknown scope {scope!r}; use: user")


def hook_entry(command: str, timeout: int) -> dict[str, Any]:
    """One Gemini CLI hook entry; its timeout is in milliseconds, ``timeout`` in seconds."""
    return {
        "type": "command",
        "name": "session-sidecar",
        "command": command,
        "timeout": timeout * 1000,
    }


INSTALLER = Installer(
    HookLayout(
        agent="gemini",
        events=HOOK_EVENTS,
        paths=settings_path,
        scopes=("user",),
        tool_events=_TOOL_EVENTS,
        entry=hook_entry,
    )
)
