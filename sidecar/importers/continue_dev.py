"""Continue sessions: ``~/.continue/sessions/<sessionId>.json`` and ``sessions.json``.

The format is Continue's (github.com/continuedev/continue, VS Code extension
1.3.40; ``core/util/history.ts``, types in ``core/index.d.ts``, folder in
``core/util/paths.ts``: ``$CONTINUE_GLOBAL_DIR`` else ``~/.continue``):

- ``sessions/<sessionId>.json`` is one ``Session`` ``{sessionId, title,
  workspaceDirectory, history, mode?, chatModelTitle?, usage?}``, rewritten
  whole on every save (the GUI saves after each answer);
- ``history`` is a list of ``ChatHistoryItem`` ``{message, contextItems,
  toolCallStates?, reasoning?, ...}``; ``message`` is ``{role: user |
  assistant | thinking | system | tool, content, toolCalls?, toolCallId?}``,
  ``content`` a string or ``[{type: "text", text} | {type: "imageUrl"}]``;
- ``toolCallStates`` (since July 2025; before, one ``toolCallState``) holds
  ``{toolCallId, toolCall: {function: {name, arguments}}, status, parsedArgs,
  output?: ContextItem[]}``, ``status`` one of ``generating``, ``generated``,
  ``calling``, ``done``, ``errored``, ``canceled``;
- ``sessions.json`` lists ``{sessionId, title, dateCreated, workspaceDirectory}``,
  ``dateCreated`` the epoch milliseconds as a string.

``workspaceDirectory`` is the VS Code workspace folder's URI
(``file:///home/u/app``; older versions wrote a path); a non-``file`` URI
(a remote folder) names no folder on this machine.

Mapping per history item ``i``: ``user`` -> ``prompt``; ``assistant`` ->
``response`` (its text) and a ``tool_call`` per tool call, a ``tool_result``
once the call is ``done``, ``errored`` or ``canceled`` (from its state's
``output``, else the later ``tool`` message); ``system`` -> ``note``;
``thinking`` and ``tool`` messages carry no event of their own.

Times: Continue stores none per message. The session starts at
``dateCreated``; an item with ``reasoning`` has its ``startAt``; the last
item is the file's modification time (the save after the last answer); the
others sort after the item before. Continue records no branch.

The file is re-read whole when its size or modification time changed (the
cursor keeps both); source ids (``<i>:prompt``, ``ct:<toolCallId>:call``)
keep re-reading idempotent.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from sidecar.core.models import Actor, EventKind

from .common import (
    Cursor,
    ImportedEvent,
    ImportedSession,
    clipped_text_payload,
    flatten_text,
    parse_time,
    tool_call_payload,
    tool_result_payload,
)

PROVIDER = "continue"
SESSIONS_LIST = "sessions.json"
_FILE_LIMIT = 64 * 1024 * 1024
_FINISHED = ("done", "errored", "canceled")


def continue_home(home: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Continue's folder: ``$CONTINUE_GLOBAL_DIR`` when set, else ``~/.continue``."""
    configured = (os.environ if env is None else env).get("CONTINUE_GLOBAL_DIR")
    return Path(configured) if configured else (home or Path.home()) / ".continue"


def workspace_folder(value: Any) -> str | None:
    """The local folder of a ``workspaceDirectory`` (a ``file://`` URI or a path)."""
    if not isinstance(value, str) or not value:
        return None
    if "://" not in value:
        return value
    parsed = urlparse(value)
    if parsed.scheme != "file":
        return None
    path = unquote(parsed.path)
    if len(path) > 2 and path[0] == "/" and path[2] == ":":  # file:///c:/work on Windows
        path = path[1:]
    return path or None


def _index(sessions: Path) -> dict[str, dict[str, Any]]:
    """``sessions.json`` by session id (empty when missing or unreadable)."""
    try:
        data = json.loads((sessions / SESSIONS_LIST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    entries = data if isinstance(data, list) else []
    return {
        e["sessionId"]: e
        for e in entries
        if isinstance(e, dict) and isinstance(e.get("sessionId"), str)
    }


def _read(path: Path) -> dict[str, Any] | None:
    try:
        if path.stat().st_size > _FILE_LIMIT:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def discover_continue(
    home: Path | None = None,
    *,
    root: Path | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[Path]:
    """Yield session files, oldest first; ``cwd`` keeps that workspace folder's.

    ``root`` is Continue's folder (default :func:`continue_home`).
    """
    sessions = (root or continue_home(home, env)) / "sessions"
    if not sessions.is_dir():
        return
    index = _index(sessions)
    files = [p for p in sessions.glob("*.json") if p.name != SESSIONS_LIST]

    def created(path: Path) -> tuple[float, str]:
        when = parse_time(_millis(index.get(path.stem, {}).get("dateCreated")))
        return (when.timestamp() if when else path.stat().st_mtime, path.name)

    for path in sorted(files, key=created):
        if cwd is not None:
            entry = index.get(path.stem)
            where = entry.get("workspaceDirectory") if entry else None
            if where is None:
                data = _read(path)
                where = data.get("workspaceDirectory") if data else None
            if workspace_folder(where) != str(cwd):
                continue
        yield path


def _millis(value: Any) -> Any:
    """``dateCreated`` is ``String(Date.now())``: a number in a string."""
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def _fingerprint(path: Path) -> str:
    info = path.stat()
    return f"{info.st_size}:{info.st_mtime_ns}"


def session_folder(path: Path) -> str | None:
    """The folder a session file's session ran in (None when it names none)."""
    data = _read(path)
    return workspace_folder(data.get("workspaceDirectory")) if data else None


def parse_continue(
    path: Path, cursor: Cursor | None = None, *, max_lines: int | None = None
) -> ImportedSession:
    """Parse one Continue session file; nothing new when it is unchanged since ``cursor``.

    ``max_lines`` is accepted for the loader's signature; the file is one JSON
    document and read whole.
    """
    start = cursor or Cursor()
    session = ImportedSession(provider=PROVIDER, provider_ref=path.stem, path=path, start=start)
    try:
        fingerprint = _fingerprint(path)
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:
        session.end = start
        return session
    data = _read(path)
    if data is None:
        session.skipped = 1
        session.end = Cursor(1, 0, fingerprint, {})
        return session
    if isinstance(data.get("sessionId"), str) and data["sessionId"]:
        session.provider_ref = data["sessionId"]
    entry = _index(path.parent).get(session.provider_ref, {})
    session.cwd = workspace_folder(
        data.get("workspaceDirectory") or entry.get("workspaceDirectory")
    )
    title = data.get("title")
    if isinstance(title, str) and title.strip() and title.strip() != "New Session":
        session.name = title.strip()
    session.note_time(parse_time(_millis(entry.get("dateCreated"))))
    if session.created_at is None:
        session.note_time(modified)
    history = data.get("history")
    items = history if isinstance(history, list) else []
    session.end = Cursor(1, len(items), fingerprint, {})
    if start.check == fingerprint:
        return session  # unchanged since the last import
    results = _tool_messages(items)
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("message"), dict):
            session.skipped += 1
            continue
        when = modified if index == len(items) - 1 else _reasoning_time(item)
        _item_events(session, index, item, when, results)
    session.note_time(modified)
    return session


def _reasoning_time(item: dict[str, Any]) -> datetime | None:
    reasoning = item.get("reasoning")
    return parse_time(reasoning.get("startAt")) if isinstance(reasoning, dict) else None


def _tool_messages(items: list[Any]) -> dict[str, str]:
    """``toolCallId`` -> content of the ``tool`` messages (the results the model saw)."""
    found: dict[str, str] = {}
    for item in items:
        message = item.get("message") if isinstance(item, dict) else None
        if isinstance(message, dict) and message.get("role") == "tool":
            call_id = message.get("toolCallId")
            if isinstance(call_id, str):
                found[call_id] = flatten_text(message.get("content"))
    return found


def _item_events(
    session: ImportedSession,
    index: int,
    item: dict[str, Any],
    when: datetime | None,
    results: dict[str, str],
) -> None:
    message = item["message"]
    role = message.get("role")
    text = _text(message.get("content"))
    if role == "user":
        if not text:
            session.ignored += 1
            return
        if session.first_prompt is None:
            session.first_prompt = text
        session.events.append(
            ImportedEvent(
                EventKind.PROMPT, Actor.USER, when, clipped_text_payload(text), f"{index}:prompt"
            )
        )
    elif role == "assistant":
        if text:
            session.events.append(
                ImportedEvent(
                    EventKind.RESPONSE,
                    Actor.AGENT,
                    when,
                    clipped_text_payload(text),
                    f"{index}:text",
                )
            )
        states = item.get("toolCallStates")
        if not isinstance(states, list):
            single = item.get("toolCallState")
            states = [single] if isinstance(single, dict) else []
        for state in states:
            if isinstance(state, dict):
                _tool_events(session, state, when, results)
    elif role == "system":
        if text:
            payload = clipped_text_payload(text) | {"subtype": "system"}
            session.events.append(
                ImportedEvent(EventKind.NOTE, Actor.SYSTEM, when, payload, f"{index}:note")
            )
    elif role in ("thinking", "tool"):
        return
    else:
        session.ignored += 1


def _tool_events(
    session: ImportedSession, state: dict[str, Any], when: datetime | None, results: dict[str, str]
) -> None:
    call_id = state.get("toolCallId")
    call = _dict(state.get("toolCall"))
    function = _dict(call.get("function"))
    status = state.get("status")
    if not isinstance(call_id, str) or status == "generating":
        return
    arguments = state.get("parsedArgs")
    if arguments is None and isinstance(function.get("arguments"), str):
        try:
            arguments = json.loads(function["arguments"])
        except ValueError:
            arguments = function["arguments"]
    name = function.get("name")
    payload = tool_call_payload(name, arguments, call_id)
    session.events.append(
        ImportedEvent(EventKind.TOOL_CALL, Actor.AGENT, when, payload, f"ct:{call_id}:call")
    )
    if status not in _FINISHED:
        return
    output = state.get("output")
    content = (
        "\n".join(flatten_text(o.get("content")) for o in output if isinstance(o, dict))
        if isinstance(output, list) and output
        else results.get(call_id, "")
    )
    failed = True if status in ("errored", "canceled") else None
    result = tool_result_payload(call_id, content, name=name, isError=failed, status=status)
    session.events.append(
        ImportedEvent(EventKind.TOOL_RESULT, Actor.AGENT, when, result, f"ct:{call_id}:result")
    )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(content: Any) -> str:
    """The text parts of a ``MessageContent`` (images become ``[image]``)."""
    if isinstance(content, str):
        return content.strip()
    parts = content if isinstance(content, list) else []
    texts: list[str] = []
    for part in parts:
        if (
            isinstance(part, dict)
            and part.get("type") == "text"
            and isinstance(part.get("text"), str)
        ):
            texts.append(part["text"])
        elif isinstance(part, dict) and part.get("type") == "imageUrl":
            texts.append("[image]")
    return "\n".join(texts).strip()


def live_units(root: Path, path: Path) -> list[Path]:
    """The session file to import when ``path`` changed in the ``sessions`` folder ``root``."""
    if path.parent != root or path.suffix != ".json" or path.name == SESSIONS_LIST:
        return []
    return [path]
