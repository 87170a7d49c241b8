"""GitHub Copilot CLI sessions: ``~/.copilot/session-state/<sessionId>/events.jsonl``.

Every line is ``{type, data, id, timestamp, parentId}``:

- ``session.start``: ``data.sessionId``, ``data.startTime`` and ``data.context
  {cwd, gitRoot, branch, headCommit, repository}``; ``session.resume`` carries
  the context again: a branch other than the last one becomes a
  ``branch_change`` ``{from, to}`` event (the last branch rides in the cursor);
- ``user.message`` ``{content}`` -> ``prompt`` (tool-written text -> ``note``);
- ``assistant.message`` ``{messageId, content, toolRequests}`` -> ``response``
  (the tool requests are recorded from the execution events below);
- ``tool.execution_start`` ``{toolCallId, toolName, arguments}`` ->
  ``tool_call``; ``tool.execution_complete`` ``{toolCallId, success, result
  {content}, error}`` -> ``tool_result``;
- ``abort``, ``session.error``, ``session.compaction_complete`` -> ``note``;
  reasoning, turn markers, usage and unknown types carry no event.

Source ids are the line ``id`` (``<id>:text``), and ``cp:<toolCallId>:call`` /
``cp:<toolCallId>:result`` for tools. ``workspace.yaml`` beside the events may
hold the session's ``summary``, used as its name.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sidecar.core.models import Actor, EventKind

from .common import (
    Cursor,
    ImportedEvent,
    ImportedSession,
    JsonlReader,
    clipped_text_payload,
    flatten_text,
    parse_time,
    tool_call_payload,
    tool_result_payload,
)
from .system_text import system_note

PROVIDER = "copilot"
_NO_BRANCH = "\x00none"
_NOTE_TYPES = {
    "abort": "interrupt",
    "session.error": "error",
    "session.compaction_complete": "compaction",
}


def copilot_home(home: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """``$COPILOT_HOME``, else ``~/.copilot`` (the CLI 1.0.x ignores ``$XDG_CONFIG_HOME``)."""
    environ = os.environ if env is None else env
    if environ.get("COPILOT_HOME"):
        return Path(environ["COPILOT_HOME"])
    return (home or Path.home()) / ".copilot"


def discover_copilot(
    home: Path | None = None,
    *,
    root: Path | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[Path]:
    """Yield ``events.jsonl`` files, oldest first; ``cwd`` keeps that folder's sessions.

    ``root`` is Copilot's folder (default :func:`copilot_home`).
    """
    base = (root or copilot_home(home, env)) / "session-state"
    if not base.is_dir():
        return
    files = [p for p in base.glob("*/events.jsonl") if p.is_file()]
    files.sort(key=lambda p: (p.stat().st_mtime, p.parent.name))
    for path in files:
        if cwd is None or parse_copilot(path, max_lines=8).cwd == str(cwd):
            yield path


def _summary(folder: Path) -> str | None:
    """The ``summary:`` of ``workspace.yaml`` (a flat YAML mapping), if any."""
    try:
        lines = (folder / "workspace.yaml").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        if line.startswith("summary:"):
            value = line.removeprefix("summary:").strip().strip("'\"")
            return value or None
    return None


def parse_copilot(
    path: Path, cursor: Cursor | None = None, *, max_lines: int | None = None
) -> ImportedSession:
    """Parse a Copilot CLI ``events.jsonl`` from ``cursor`` (default: the start)."""
    reader = JsonlReader(path, cursor, max_lines)
    extra = {} if reader.restarted else reader.start.extra
    session = ImportedSession(
        provider=PROVIDER, provider_ref=path.parent.name, path=path, start=reader.start
    )
    last = extra.get("branch")
    seen_branch = isinstance(last, str)
    branch: str | None = None if last in (None, _NO_BRANCH) else str(last)
    for line in reader:
        data = line.data
        kind = data.get("type")
        body = data.get("data")
        if not isinstance(kind, str) or not isinstance(body, dict):
            session.ignored += 1
            continue
        when = parse_time(data.get("timestamp"))
        session.note_time(when)
        raw_id = data.get("id")
        key = raw_id if isinstance(raw_id, str) and raw_id else f"@{line.offset}"
        if kind in ("session.start", "session.resume"):
            if kind == "session.start" and isinstance(body.get("sessionId"), str):
                session.provider_ref = body["sessionId"]
            context = body.get("context")
            context = context if isinstance(context, dict) else {}
            if session.cwd is None and isinstance(context.get("cwd"), str):
                session.cwd = context["cwd"]
            if "branch" not in context:
                session.ignored += 1
                continue
            label = context["branch"] if isinstance(context["branch"], str) else None
            label = label or None
            if not seen_branch:
                seen_branch, branch = True, label
                if reader.start.offset == 0:
                    session.branch = label
            elif label != branch:
                payload = {"from": branch, "to": label, "source": kind}
                if isinstance(context.get("headCommit"), str):
                    payload["head"] = context["headCommit"]
                session.events.append(
                    ImportedEvent(
                        EventKind.BRANCH_CHANGE, Actor.SYSTEM, when, payload, f"{key}:branch"
                    )
                )
                branch = label
            continue
        event = _event(kind, body, when, key, session)
        if event is None:
            session.ignored += 1
        else:
            session.events.append(event)
    session.name = _summary(path.parent)
    session.last_branch = branch
    session.skipped = reader.malformed
    session.pending_bytes = reader.pending_bytes
    session.restarted = reader.restarted
    session.complete = reader.complete
    end = reader.end
    state = {"branch": _NO_BRANCH if branch is None else branch} if seen_branch else {}
    session.end = Cursor(end.offset, end.line, end.check, state)
    return session


def _event(
    kind: str, body: dict[str, Any], when: Any, key: str, session: ImportedSession
) -> ImportedEvent | None:
    call_id = body.get("toolCallId")
    call_id = call_id if isinstance(call_id, str) and call_id else None
    if kind == "user.message":
        text = flatten_text(body.get("content"))
        if not text:
            return None
        generated = system_note(text)
        if generated is not None:
            payload = clipped_text_payload(generated[1]) | {"subtype": generated[0]}
            return ImportedEvent(EventKind.NOTE, Actor.SYSTEM, when, payload, f"{key}:text")
        if session.first_prompt is None:
            session.first_prompt = text
        payload = clipped_text_payload(text)
        return ImportedEvent(EventKind.PROMPT, Actor.USER, when, payload, f"{key}:text")
    if kind == "assistant.message":
        text = flatten_text(body.get("content"))
        if not text:
            return None
        payload = clipped_text_payload(text)
        return ImportedEvent(EventKind.RESPONSE, Actor.AGENT, when, payload, f"{key}:text")
    if kind == "tool.execution_start":
        name = body.get("toolName", body.get("name"))
        payload = tool_call_payload(name, body.get("arguments"), call_id)
        source = f"cp:{call_id}:call" if call_id else f"{key}:call"
        return ImportedEvent(EventKind.TOOL_CALL, Actor.AGENT, when, payload, source)
    if kind == "tool.execution_complete":
        result = body.get("result")
        error = body.get("error")
        content: Any = result.get("content") if isinstance(result, dict) else result
        if content is None and error is not None:
            content = error.get("message") if isinstance(error, dict) else error
        failed = True if body.get("success") is False else None
        payload = tool_result_payload(call_id, content, isError=failed)
        source = f"cp:{call_id}:result" if call_id else f"{key}:result"
        return ImportedEvent(EventKind.TOOL_RESULT, Actor.AGENT, when, payload, source)
    if kind in _NOTE_TYPES:
        text = body.get("message") or body.get("reason") or kind
        payload = clipped_text_payload(str(text)) | {"subtype": _NOTE_TYPES[kind]}
        return ImportedEvent(EventKind.NOTE, Actor.SYSTEM, when, payload, f"{key}:note")
    return None
