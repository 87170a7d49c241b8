"""Claude Code's hook language (``session-sidecar hook claude-code``).

Input: one JSON object on stdin with ``hook_event_name``, ``session_id``,
``cwd``, ``transcript_path`` and per event ``source`` (SessionStart),
``prompt`` (UserPromptSubmit), ``tool_name``/``tool_input``/``tool_use_id``
and ``tool_response`` (PreToolUse, PostToolUse), ``error``
(PostToolUseFailure), ``reason`` (PermissionDenied, SessionEnd),
``last_assistant_message`` (Stop), ``agent_id``/``agent_type`` (SubagentStart,
SubagentStop; the latter also ``last_assistant_message``, the sub-agent's
answer). A sub-agent's own tool calls come with the parent's ``session_id``
(and its ``agent_id``), so they land in the parent session.

Output: ``{"hookSpecificOutput": {"hookEventName", "additionalContext",
"sessionTitle"}}``; the context reaches the model on SessionStart (also on
``--resume``) and UserPromptSubmit. Block mode answers a prompt with
``{"decision": "block", "reason"}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sidecar.agents.dialect import Dialect, HookEvent, Step, Warning, event_fields, text_field
from sidecar.agents.hook_settings import HookLayout, Installer, SettingsError, project_root
from sidecar.agents.transcript import branch_name, head_lines

#: The hook events the sidecar listens to, in the order Claude Code fires them.
HOOK_EVENTS = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PermissionDenied",
    "SubagentStart",
    "SubagentStop",
    "Stop",
    "SessionEnd",
)
#: Bytes of the transcript read to find the branch a session began on.
TRANSCRIPT_HEAD_BYTES = 256 * 1024
#: Characters of a sub-agent's answer kept in its SubagentStop note.
SUBAGENT_ANSWER_LIMIT = 4096

_TOOL_RESULTS = {"PostToolUse": False, "PostToolUseFailure": True, "PermissionDenied": True}
_CONTEXT_EVENTS = frozenset({"SessionStart", "UserPromptSubmit"})


def parse(data: Mapping[str, Any]) -> HookEvent:
    """Claude Code's hook input as a :class:`HookEvent`."""
    event, common = event_fields(data)
    common["carries_context"] = event in _CONTEXT_EVENTS
    if event == "SessionStart":
        return HookEvent(Step.START, source=text_field(data, "source"), **common)
    if event == "UserPromptSubmit":
        prompt = data.get("prompt")
        return HookEvent(Step.PROMPT, prompt=prompt if isinstance(prompt, str) else "", **common)
    tool: dict[str, Any] = {
        "tool_name": text_field(data, "tool_name"),
        "tool_input": data.get("tool_input"),
        "tool_id": text_field(data, "tool_use_id"),
    }
    if event == "PreToolUse":
        return HookEvent(Step.TOOL_CALL, **tool, **common)
    if event in _TOOL_RESULTS:
        failed = _TOOL_RESULTS[event]
        if failed:
            output: Any = text_field(data, "error", "reason", "message") or (
                "the tool call was denied" if event == "PermissionDenied" else "the tool failed"
            )
        else:
            output = data.get("tool_response")
        return HookEvent(
            Step.TOOL_RESULT,
            tool_output=output,
            failed=failed,
            denied=event == "PermissionDenied",
            **tool,
            **common,
        )
    if event == "Stop" and text_field(data, "last_assistant_message"):
        return HookEvent(Step.RESPONSE, text=text_field(data, "last_assistant_message"), **common)
    if event == "SessionEnd":
        return HookEvent(Step.END, text=text_field(data, "reason"), **common)
    if event in ("SubagentStart", "SubagentStop"):
        return HookEvent(Step.NOTE, text=_subagent_text(event, data), **common)
    return HookEvent(Step.NOTE, text=text_field(data, "message", "reason"), **common)


def _subagent_text(event: str, data: Mapping[str, Any]) -> str:
    """A sub-agent's start or stop in words, with its answer when it stopped."""
    kind = text_field(data, "agent_type") or "sub-agent"
    name = f"Sub-agent {kind} ({text_field(data, 'agent_id') or 'no id'})"
    if event == "SubagentStart":
        return f"{name} started."
    answer = text_field(data, "last_assistant_message")
    if answer is None:
        return f"{name} finished."
    return f"{name} finished: {answer[:SUBAGENT_ANSWER_LIMIT]}"


def output(hook: HookEvent, warning: Warning | None, title: str | None) -> dict[str, Any] | None:
    """The JSON Claude Code reads back."""
    if warning is not None and warning.block and hook.step is Step.PROMPT:
        return {"decision": "block", "reason": warning.text}
    specific: dict[str, Any] = {}
    if warning is not None and hook.carries_context:
        specific["additionalContext"] = warning.text
    if title is not None and hook.event in _CONTEXT_EVENTS:
        specific["sessionTitle"] = title
    if not specific:
        return None
    return {"hookSpecificOutput": {"hookEventName": hook.event, **specific}}


def began_on(hook: HookEvent) -> str | None:
    """The first branch the transcript recorded (``gitBranch``), if it names one.

    Used when the hook meets a session it has not seen start (hooks installed
    mid-session), so the session is bound to where it began. ``HEAD``
    (detached) and ``""`` (outside git) name no branch.
    """
    for line in head_lines(hook.transcript_path, b'"gitBranch"', TRANSCRIPT_HEAD_BYTES):
        branch = branch_name(line.get("gitBranch")) if line is not None else None
        if branch is not None:
            return branch
    return None


DIALECT = Dialect(
    provider="claude-code",
    label="Claude Code",
    id_prefix="cc",
    resume_command="claude --resume {ref}",
    parse=parse,
    output=output,
    began_on=began_on,
)


def settings_path(scope: str, folder: Path | None = None) -> Path:
    """``~/.claude/settings.json`` (user; moves with ``$CLAUDE_CONFIG_DIR``), or the
    project's ``.claude/settings.local.json`` (local, not committed)."""
    if scope == "user":
        from sidecar.importers.claude_code import claude_home

        return claude_home() / "settings.json"
    if scope == "local":
        return project_root(folder) / ".claude" / "settings.local.json"
    raise SettingsError(f"unknown scope {scope!r}; use one of: user, local")


INSTALLER = Installer(
    HookLayout(
        agent="claude-code",
        events=HOOK_EVENTS,
        paths=settings_path,
        scopes=("user", "local"),
        tool_events=frozenset(
            {"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionDenied"}
        ),
    )
)
