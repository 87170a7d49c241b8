"""GitHub Copilot Chat in VS Code: ``<Code>/User/workspaceStorage/<hash>/chatSessions/``.

VS Code itself (not the Copilot extension) stores its chat sessions, one file
per session, beside ``workspace.json`` (``{"folder": "file:///..."}``) which
names the workspace. The format is VS Code's ``ISerializableChatData``
version 3 (microsoft/vscode, ``src/vs/workbench/contrib/chat/common/
chatModel.ts``, ``model/chatSessionStore.ts`` and
``model/chatSessionOperationLog.ts``, main branch as of 2026):

- ``<sessionId>.json``: one object ``{version, sessionId, creationDate,
  lastMessageDate?, customTitle?, requests: [...]}``, rewritten whole;
- ``<sessionId>.jsonl`` (newer VS Code, 2025-26): the same object as an operation
  log (``model/objectMutationLog.ts``): each line is ``{kind: 0, v}`` (the
  whole state), ``{kind: 1, k: path, v}`` (set), ``{kind: 2, k: path, v?,
  i?}`` (truncate the array at ``i``, then push ``v``) or ``{kind: 3, k:
  path}`` (delete). The log is replayed to the state; an unreadable line is
  skipped and counted, a last line without its newline is still being written.

Each request is ``{requestId, timestamp, message: {text}, response: [parts],
result?, modelId?}``. Mapping: ``message.text`` -> ``prompt``; the markdown
parts of ``response`` (``{value}`` or ``{kind: "markdownContent"}``) ->
one ``response`` once the request has its ``result`` (the answer is
complete); a ``{kind: "toolInvocationSerialized", toolCallId, toolId,
resultDetails?: {input, output: [{value, isText}], isError}}`` part ->
``tool_call`` and, once ``isComplete``, ``tool_result``. Other parts
(references, edits, progress) carry no event; unknown request shapes are
counted in ``ignored``.

Source ids: ``<requestId>:prompt``, ``<requestId>:text``, ``vc:<toolCallId>:call``
and ``vc:<toolCallId>:result``, so re-reading a rewritten file adds nothing.
Times: the request's ``timestamp``; the answer at ``timestamp +
result.timings.totalElapsed``. VS Code records no branch.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from sidecar.core.models import Actor, EventKind

from .common import (
    MAX_LINE_BYTES,
    Cursor,
    ImportedEvent,
    ImportedSession,
    clipped_text_payload,
    parse_time,
    tool_call_payload,
    tool_result_payload,
)

PROVIDER = "copilot-chat"
PRODUCTS = ("Code", "Code - Insiders")
"""VS Code's user-data folder names (stable, Insiders)."""
_FILE_LIMIT = 256 * 1024 * 1024


def vscode_user_dirs(home: Path | None = None, env: Mapping[str, str] | None = None) -> list[Path]:
    """VS Code's ``User`` folders: ``$XDG_CONFIG_HOME`` (or ``~/.config``), macOS's
    ``~/Library/Application Support``, or ``%APPDATA%``; for stable and Insiders."""
    environ = os.environ if env is None else env
    base_home = home or Path.home()
    if sys.platform == "darwin":
        base = base_home / "Library" / "Application Support"
    elif sys.platform == "win32" and environ.get("APPDATA"):
        base = Path(environ["APPDATA"])
    else:
        config = environ.get("XDG_CONFIG_HOME")
        base = Path(config) if config else base_home / ".config"
    return [base / product / "User" for product in PRODUCTS]


def workspace_folder(storage: Path) -> str | None:
    """The folder ``workspaceStorage/<hash>/workspace.json`` names (local ``file:`` only).

    A multi-root workspace (``"workspace": "<file>.code-workspace"``) binds to
    its first folder; a remote one (``vscode-remote:``) to none.
    """
    try:
        data = json.loads((storage / "workspace.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("folder"), str):
        return file_uri_path(data["folder"])
    workspace_file = file_uri_path(data.get("workspace"))
    if workspace_file is None:
        return None
    try:
        config = json.loads(Path(workspace_file).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    folders = config.get("folders") if isinstance(config, dict) else None
    first = folders[0] if isinstance(folders, list) and folders else None
    path = first.get("path") if isinstance(first, dict) else None
    if not isinstance(path, str):
        return None
    return str((Path(workspace_file).parent / path).resolve(strict=False))


def file_uri_path(uri: Any) -> str | None:
    """The local path of a ``file:`` URI; None for another scheme."""
    if not isinstance(uri, str) or not uri.startswith("file://"):
        return None
    path = unquote(urlparse(uri).path)
    if len(path) > 2 and path[0] == "/" and path[2] == ":":  # file:///c:/x on Windows
        path = path[1:]
    return path or None


def session_folder(unit: Path) -> str | None:
    """The working folder of a chat session file (its workspace's folder)."""
    return workspace_folder(unit.parent.parent)


def discover_copilot_chat(
    home: Path | None = None,
    *,
    roots: list[Path] | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[Path]:
    """Yield chat session files (``.json`` and ``.jsonl``), oldest first.

    ``roots`` are VS Code ``User`` folders (default :func:`vscode_user_dirs`);
    ``cwd`` keeps the sessions of the workspaces opened on that folder.
    """
    found: list[Path] = []
    for user in roots or vscode_user_dirs(home, env):
        storage = user / "workspaceStorage"
        if not storage.is_dir():
            continue
        for workspace in sorted(p for p in storage.iterdir() if p.is_dir()):
            if cwd is not None and workspace_folder(workspace) != str(cwd):
                continue
            chats = workspace / "chatSessions"
            if chats.is_dir():
                found.extend(p for p in chats.iterdir() if p.suffix in (".json", ".jsonl"))
    found.sort(key=lambda p: (p.stat().st_mtime, p.name))
    yield from found


def parse_copilot_chat(
    path: Path, cursor: Cursor | None = None, *, max_lines: int | None = None
) -> ImportedSession:
    """Parse one chat session file whole (the loader's ``cursor`` and ``max_lines``
    are accepted for its signature: VS Code rewrites or compacts these files)."""
    start = cursor or Cursor()
    session = ImportedSession(provider=PROVIDER, provider_ref=path.stem, path=path, start=start)
    session.cwd = session_folder(path)
    state = _read_log(path, session) if path.suffix == ".jsonl" else _read_json(path, session)
    session.end = Cursor(1, 0, "", {})
    if state is None:
        session.cwd = None  # nothing readable: no empty session; read again next time
        return session
    if isinstance(state.get("sessionId"), str) and state["sessionId"]:
        session.provider_ref = state["sessionId"]
    session.note_time(parse_time(state.get("creationDate")))
    session.note_time(parse_time(state.get("lastMessageDate")))
    if isinstance(state.get("customTitle"), str) and state["customTitle"].strip():
        session.name = state["customTitle"].strip()
    requests = state.get("requests")
    for request in requests if isinstance(requests, list) else []:
        if not (isinstance(request, dict) and _request_events(request, session)):
            session.ignored += 1
    return session


def _read_json(path: Path, session: ImportedSession) -> dict[str, Any] | None:
    try:
        if path.stat().st_size > _FILE_LIMIT:
            raise ValueError("too large")
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        session.skipped += 1
        return None
    return data


def _read_log(path: Path, session: ImportedSession) -> dict[str, Any] | None:
    """Replay an ``ObjectMutationLog`` file to its state."""
    state: Any = None
    try:
        raw = path.read_bytes() if path.stat().st_size <= _FILE_LIMIT else b""
    except OSError:
        raw = b""
    if not raw:
        session.skipped += 1
        return None
    lines = raw.split(b"\n")
    if lines and lines[-1]:
        session.pending_bytes = len(lines[-1])  # VS Code is still writing it
    for line in lines[:-1]:
        if not line.strip():
            continue
        try:
            entry = json.loads(line) if len(line) <= MAX_LINE_BYTES else None
        except (ValueError, RecursionError):
            entry = None
        box = [state]
        if not isinstance(entry, dict) or not _apply(entry, box):
            session.skipped += 1
            continue
        state = box[0]
    return state if isinstance(state, dict) else None


def _apply(entry: dict[str, Any], box: list[Any]) -> bool:
    """Apply one log entry to ``box[0]``; False when it cannot be applied."""
    kind, path = entry.get("kind"), entry.get("k")
    if kind == 0:
        box[0] = entry.get("v")
        return True
    if box[0] is None or not isinstance(path, list):
        return False
    if not path:
        return kind in (1, 3)  # VS Code ignores a root set
    parent = box[0]
    try:
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if kind == 1:
            _assign(parent, last, entry.get("v"))
        elif kind == 3:
            if isinstance(parent, dict):
                parent.pop(last, None)
        elif kind == 2:
            array = parent[last] if _has(parent, last) else None
            array = array if isinstance(array, list) else []
            if isinstance(entry.get("i"), int):
                del array[entry["i"] :]
            values = entry.get("v")
            array.extend(values if isinstance(values, list) else [])
            _assign(parent, last, array)
        else:
            return False
    except (KeyError, IndexError, TypeError):
        return False
    return True


def _has(parent: Any, key: Any) -> bool:
    if isinstance(parent, dict):
        return key in parent
    return isinstance(parent, list) and isinstance(key, int) and 0 <= key < len(parent)


def _assign(parent: Any, key: Any, value: Any) -> None:
    if isinstance(parent, list) and isinstance(key, int) and key == len(parent):
        parent.append(value)
    else:
        parent[key] = value


def _text(value: Any) -> str:
    """A string or a markdown string ``{value}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("value"), str):
        return str(value["value"])
    return ""


def _request_events(request: dict[str, Any], session: ImportedSession) -> bool:
    request_id = request.get("requestId")
    message = request.get("message")
    if not isinstance(request_id, str) or not isinstance(message, dict):
        return False
    when = parse_time(request.get("timestamp"))
    session.note_time(when)
    text = _text(message.get("text"))
    if text:
        if session.first_prompt is None:
            session.first_prompt = text
        payload = clipped_text_payload(text)
        session.events.append(
            ImportedEvent(EventKind.PROMPT, Actor.USER, when, payload, f"{request_id}:prompt")
        )
    result = request.get("result")
    answered = _answered_at(when, result)
    session.note_time(answered)
    pieces: list[str] = []
    parts = request.get("response")
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict):
            continue
        kind = part.get("kind")
        if kind is None or kind == "markdownContent":
            piece = _text(part.get("content")) if kind else _text(part)
            pieces.append(piece)
        elif kind == "toolInvocationSerialized":
            _tool_events(part, when, answered, session)
    answer = "".join(pieces).strip()
    if answer and isinstance(result, dict):
        payload = clipped_text_payload(answer)
        if isinstance(request.get("modelId"), str):
            payload["model"] = request["modelId"]
        session.events.append(
            ImportedEvent(EventKind.RESPONSE, Actor.AGENT, answered, payload, f"{request_id}:text")
        )
    return True


def _answered_at(asked: Any, result: Any) -> Any:
    timings = result.get("timings") if isinstance(result, dict) else None
    elapsed = timings.get("totalElapsed") if isinstance(timings, dict) else None
    if asked is None or not isinstance(elapsed, int | float) or isinstance(elapsed, bool):
        return asked
    from datetime import timedelta

    return asked + timedelta(milliseconds=elapsed)


def _tool_events(part: dict[str, Any], when: Any, done: Any, session: ImportedSession) -> None:
    call_id = part.get("toolCallId")
    if not isinstance(call_id, str) or not call_id:
        session.ignored += 1
        return
    details = part.get("resultDetails")
    details = details if isinstance(details, dict) else {}
    tool_input: Any = details.get("input")
    if isinstance(tool_input, str):
        with contextlib.suppress(ValueError):
            tool_input = json.loads(tool_input)
    if tool_input is None:
        specific = part.get("toolSpecificData")
        tool_input = (
            specific if isinstance(specific, dict) else _text(part.get("invocationMessage"))
        )
    name = part.get("toolId")
    session.events.append(
        ImportedEvent(
            EventKind.TOOL_CALL,
            Actor.AGENT,
            when,
            tool_call_payload(name, tool_input, call_id),
            f"vc:{call_id}:call",
        )
    )
    if not part.get("isComplete"):
        return
    outputs = details.get("output")
    if isinstance(outputs, str):  # older VS Code wrote the output as one string
        texts = [outputs]
    else:  # embedded values are base64 unless ``isText``
        texts = [
            o["value"]
            for o in (outputs if isinstance(outputs, list) else [])
            if isinstance(o, dict) and isinstance(o.get("value"), str) and o.get("isText")
        ]
    output = "\n".join(texts) if texts else _text(part.get("pastTenseMessage"))
    failed = True if details.get("isError") else None
    session.events.append(
        ImportedEvent(
            EventKind.TOOL_RESULT,
            Actor.AGENT,
            done,
            tool_result_payload(call_id, output, name=name, isError=failed),
            f"vc:{call_id}:result",
        )
    )


def live_units(root: Path, path: Path) -> list[Path]:
    """``<hash>/chatSessions/<id>.json[l]`` under a ``workspaceStorage`` root."""
    parts = path.relative_to(root).parts
    if len(parts) == 3 and parts[1] == "chatSessions" and path.suffix in (".json", ".jsonl"):
        return [path]
    return []
