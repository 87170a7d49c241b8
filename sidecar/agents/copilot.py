"""GitHub Copilot CLI's hook language (``session-sidecar hook copilot``).

Input (camelCase events in ``~/.copilot/settings.json``): one JSON object on
stdin with ``sessionId``, ``timestamp`` (ms) and ``cwd``, and per event
``source`` new/startup/resume and ``initialPrompt`` (sessionStart),
``prompt`` (userPromptSubmitted), ``toolName``/``toolArgs`` (preToolUse),
plus ``toolResult {resultType, textResultForLlm}`` (postToolUse) or
``error`` (postToolUseFailure), ``transcriptPath``/``stopReason``
(agentStop), ``agentName``/``response`` (subagentStart/Stop) and ``reason``
(sessionEnd). The input names neither the event nor the tool call: the event
is told by its fields (:func:`event_of`); the tool call id and the turn's
answer are read from the end of the session's ``events.jsonl``, which Copilot
writes before it runs those hooks.

Output: ``{"additionalContext": ...}``; it reaches the model on sessionStart
(a user message at the head of the conversation, replaced on ``--resume``),
userPromptSubmitted (a ``<system_reminder>`` in the user message, stored
with it), preToolUse (a user message after the tool result) and postToolUse /
postToolUseFailure (appended to the tool result). Block mode answers a
prompt with ``{"decision": "block", "reason"}``.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sidecar.agents.dialect import (
    Dialect,
    HookEvent,
    HookInputError,
    Step,
    Warning,
    require_session,
    text_field,
)
from sidecar.agents.hook_settings import HookLayout, Installer, SettingsError
from sidecar.agents.transcript import branch_name, dig, head_lines, read_tail

#: The hook events the sidecar listens to, in the order Copilot CLI fires them.
HOOK_EVENTS = (
    "sessionStart",
    "userPromptSubmitted",
    "preToolUse",
    "postToolUse",
    "postToolUseFailure",
    "subagentStart",
    "subagentStop",
    "agentStop",
    "errorOccurred",
    "sessionEnd",
)
#: Bytes read from the head of ``events.jsonl`` to find the branch a session began on.
TRANSCRIPT_HEAD_BYTES = 64 * 1024
#: Bytes read from the end of ``events.jsonl`` to find a tool call id or the turn's answer.
TRANSCRIPT_TAIL_BYTES = 512 * 1024
#: Seconds a hook waits for Copilot to flush ``events.jsonl`` up to the hook's own start.
TRANSCRIPT_WAIT_S = 1.0
TRANSCRIPT_POLL_S = 0.025

#: Context of the tool hooks reaches the model too, but the warning is given where every
#: agent gives it (start and prompt): a policy check on every tool call costs time, and the
#: warning repeated beside every tool result says nothing new.
_CONTEXT_EVENTS = frozenset({"sessionStart", "userPromptSubmitted"})
#: A session id safe to use as a folder name (Copilot's are UUIDs).
_SESSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


def event_of(data: Mapping[str, Any]) -> str:
    """The Copilot hook event an input belongs to, told by its fields.

    camelCase hooks get no event name, so the fields each event documents
    (``@github/copilot-sdk`` ``types.d.ts``) decide, most specific first.
    Raises :class:`HookInputError` for an input no event has.
    """
    named = text_field(data, "hookName", "hook_event_name")
    if named is not None:
        return named
    if "toolName" in data:
        if "toolResult" in data:
            return "postToolUse"
        if "error" in data:
            return "postToolUseFailure"
        return "preToolUse"
    if "agentName" in data:
        return "subagentStop" if "response" in data else "subagentStart"
    if "stopReason" in data or "stop_hook_active" in data:
        return "agentStop"
    if "source" in data:
        return "sessionStart"
    if "transformedPrompt" in data:
        return "userPromptTransformed"
    if "prompt" in data:
        return "userPromptSubmitted"
    if "errorContext" in data:
        return "errorOccurred"
    if "reason" in data:
        return "sessionEnd"
    raise HookInputError(f"Copilot hook input with fields {sorted(data)} matches no hook event")


def parse(data: Mapping[str, Any]) -> HookEvent:
    """Copilot CLI's hook input as a :class:`HookEvent`."""
    event = event_of(data)
    session = require_session(data, event, "sessionId", "session_id")
    stamp = data.get("timestamp")
    transcript = text_field(data, "transcriptPath")
    common: dict[str, Any] = {
        "event": event,
        "session_id": session,
        "cwd": text_field(data, "cwd", "workingDirectory"),
        "data": data,
        "transcript_path": transcript,
        "carries_context": event in _CONTEXT_EVENTS,
        # Each call has its own millisecond stamp; a hook run twice for one call has the same.
        "turn": str(stamp) if isinstance(stamp, int | float | str) and stamp != "" else None,
    }
    if event == "sessionStart":
        return HookEvent(Step.START, source=text_field(data, "source"), **common)
    if event == "userPromptSubmitted":
        prompt = data.get("prompt")
        return HookEvent(Step.PROMPT, prompt=prompt if isinstance(prompt, str) else "", **common)
    if event in ("preToolUse", "postToolUse", "postToolUseFailure"):
        return _tool_event(data, event, session, common)
    if event == "agentStop":
        lines = lines_before_own_start(transcript or _events_path(session), event, stamp)
        answer = last_answer(lines)
        if answer:
            return HookEvent(Step.RESPONSE, text=answer, **common)
        return HookEvent(Step.NOTE, text=text_field(data, "stopReason"), **common)
    if event == "subagentStop":
        name = text_field(data, "agentDisplayName", "agentName") or "sub-agent"
        response = text_field(data, "response") or "(no answer)"
        return HookEvent(Step.NOTE, text=f"Sub-agent {name} answered: {response}", **common)
    if event == "subagentStart":
        name = text_field(data, "agentDisplayName", "agentName") or "sub-agent"
        return HookEvent(Step.NOTE, text=f"Sub-agent {name} started.", **common)
    if event == "sessionEnd":
        return HookEvent(Step.END, text=text_field(data, "reason"), **common)
    return HookEvent(Step.NOTE, text=text_field(data, "error", "message", "reason"), **common)


def _tool_event(
    data: Mapping[str, Any], event: str, session: str, common: dict[str, Any]
) -> HookEvent:
    name = text_field(data, "toolName")
    args = data.get("toolArgs")
    tool: dict[str, Any] = {
        "tool_name": name,
        "tool_input": args,
        # Copilot's transcript (and so the importer) keys the call by this id.
        "tool_id": tool_call_id(_events_path(session), event, data.get("timestamp"), name, args),
    }
    if event == "preToolUse":
        return HookEvent(Step.TOOL_CALL, **tool, **common)
    if event == "postToolUseFailure":
        error = text_field(data, "error") or "the tool failed"
        return HookEvent(Step.TOOL_RESULT, tool_output=error, failed=True, **tool, **common)
    result = data.get("toolResult")
    failed = isinstance(result, dict) and result.get("resultType") not in (None, "success")
    output: Any = result
    if isinstance(result, dict):
        output = text_field(result, "textResultForLlm", "error", "sessionLog") or ""
    return HookEvent(
        Step.TOOL_RESULT,
        tool_output=output,
        failed=failed,
        denied=isinstance(result, dict) and result.get("resultType") in ("denied", "rejected"),
        **tool,
        **common,
    )


def output(hook: HookEvent, warning: Warning | None, title: str | None) -> dict[str, Any] | None:
    """The JSON Copilot CLI reads back (it has no session title to offer)."""
    if warning is None:
        return None
    if warning.block and hook.step is Step.PROMPT:
        return {"decision": "block", "reason": warning.text}
    if hook.carries_context:
        return {"additionalContext": warning.text}
    return None


# ---------------------------------------------------------------- Copilot's own files


def copilot_home(environ: Mapping[str, str] | None = None) -> Path:
    """``$COPILOT_HOME``, else ``~/.copilot`` (as Copilot CLI 1.0 resolves it)."""
    env = os.environ if environ is None else environ
    explicit = env.get("COPILOT_HOME")
    return Path(explicit) if explicit else Path(env.get("HOME") or Path.home()) / ".copilot"


def _events_path(session: str) -> str | None:
    """``session-state/<id>/events.jsonl`` of a session id that is a plain name."""
    if not _SESSION_ID.match(session):
        return None
    return str(copilot_home() / "session-state" / session / "events.jsonl")


def _tail_lines(path: str | None) -> list[dict[str, Any]]:
    """The JSON lines at the end of ``events.jsonl`` (the first, maybe cut, line dropped)."""
    found = read_tail(path, TRANSCRIPT_TAIL_BYTES) if path is not None else None
    if found is None:
        return []
    blob, whole = found
    raw_lines = blob.split(b"\n")
    if not whole:
        raw_lines = raw_lines[1:]
    lines: list[dict[str, Any]] = []
    for raw in raw_lines:
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and isinstance(line.get("data"), dict):
            lines.append(line)
    return lines


def _own_start(line: dict[str, Any], hook_type: str, stamp: Any) -> bool:
    data = line["data"]
    hook_input = data.get("input")
    return (
        line.get("type") == "hook.start"
        and data.get("hookType") == hook_type
        and isinstance(hook_input, dict)
        and (stamp is None or hook_input.get("timestamp") == stamp)
    )


def lines_before_own_start(
    path: str | None, hook_type: str, stamp: Any, *, wait: float = TRANSCRIPT_WAIT_S
) -> list[dict[str, Any]] | None:
    """The ``events.jsonl`` lines written before this hook call's own ``hook.start`` line.

    Copilot writes the file lazily: a hook may start before the lines it is
    about (the answer, the tool call) are on disk, and reading then gives the
    previous turn's. Its own ``hook.start`` (same event and ``timestamp``) is
    written after them, so the hook polls for it a bounded time; None when it
    does not appear (the caller then records nothing from the file rather than
    something stale). ``stamp`` None takes the last start of that event.
    """
    if path is None or not os.path.isfile(path):
        return None
    deadline = time.monotonic() + wait
    while True:
        lines = _tail_lines(path)
        for index in range(len(lines) - 1, -1, -1):
            if _own_start(lines[index], hook_type, stamp):
                return lines[:index]
        if time.monotonic() >= deadline:
            return None
        time.sleep(TRANSCRIPT_POLL_S)


def open_tool_call(lines: list[dict[str, Any]] | None, name: str | None, args: Any) -> str | None:
    """The ``toolCallId`` of the newest started, not yet completed call of ``name`` with ``args``.

    Copilot writes ``tool.execution_start`` before preToolUse and
    ``tool.execution_complete`` after postToolUse, so the call a tool hook is
    about is the one started and still open. None when the lines tell nothing.
    """
    started: list[str] = []
    done: set[str] = set()
    for line in lines or []:
        data = line["data"]
        call = data.get("toolCallId")
        if not isinstance(call, str):
            continue
        if line.get("type") == "tool.execution_start":
            if data.get("toolName") == name and data.get("arguments") == args:
                started.append(call)
        elif line.get("type") == "tool.execution_complete":
            done.add(call)
    open_calls = [call for call in started if call not in done]
    return open_calls[-1] if open_calls else None


def tool_call_id(
    path: str | None, event: str, stamp: Any, name: str | None, args: Any
) -> str | None:
    """Copilot's id of the tool call a tool hook is about, from ``events.jsonl``.

    postToolUse: the open call before the hook's own start. preToolUse's own
    ``hook.start`` has no timestamp but lists the calls (``toolCalls`` with
    ``id``, ``name``, ``args``): the newest listing of this call not yet
    completed, polled for like :func:`lines_before_own_start`.
    """
    if event != "preToolUse":
        return open_tool_call(lines_before_own_start(path, event, stamp), name, args)
    if path is None or not os.path.isfile(path):
        return None
    deadline = time.monotonic() + TRANSCRIPT_WAIT_S
    while True:
        found = _listed_call(_tail_lines(path), name, args)
        if found is not None or time.monotonic() >= deadline:
            return found
        time.sleep(TRANSCRIPT_POLL_S)


def _listed_call(lines: list[dict[str, Any]], name: str | None, args: Any) -> str | None:
    done = {
        line["data"].get("toolCallId")
        for line in lines
        if line.get("type") == "tool.execution_complete"
    }
    for line in reversed(lines):
        if not _own_start(line, "preToolUse", None):
            continue
        for call in line["data"]["input"].get("toolCalls") or []:
            if (
                isinstance(call, dict)
                and call.get("name") == name
                and call.get("args") == args
                and isinstance(call.get("id"), str)
                and call["id"] not in done
            ):
                return str(call["id"])
    return None


def last_answer(lines: list[dict[str, Any]] | None) -> str | None:
    """The agent's answer in the turn that just ended: the last non-empty assistant message
    after the last user message (``lines`` from :func:`lines_before_own_start`)."""
    answer: str | None = None
    for line in lines or []:
        kind = line.get("type")
        if kind == "user.message":
            answer = None
        elif kind == "assistant.message":
            content = line["data"].get("content")
            if isinstance(content, str) and content.strip():
                answer = content
    return answer


def began_on(hook: HookEvent) -> str | None:
    """The branch ``session.start`` recorded in ``events.jsonl`` (hooks installed mid-session)."""
    path = hook.transcript_path or _events_path(hook.session_id)
    lines = head_lines(path, b'"session.start"', TRANSCRIPT_HEAD_BYTES)
    return branch_name(dig(next(lines, None), "data", "context", "branch"))


DIALECT = Dialect(
    provider="copilot",
    label="Copilot CLI",
    id_prefix="cp",
    resume_command="copilot --resume {ref}",
    parse=parse,
    output=output,
    began_on=began_on,
)


def settings_path(scope: str, folder: Path | None = None) -> Path:
    """``~/.copilot/settings.json`` (user; moves with ``$COPILOT_HOME``)."""
    if scope == "user":
        return copilot_home() / "settings.json"
    raise SettingsError(f"unknown scope {scope!r}; Copilot CLI hooks install for: user")


INSTALLER = Installer(
    HookLayout(
        agent="copilot",
        events=HOOK_EVENTS,
        paths=settings_path,
        scopes=("user",),
        # No matcher: Copilot reads it as a regular expression that must match the whole
        # tool name ("*" is not one), and a group without one runs for every tool.
        tool_events=frozenset(),
    )
)
