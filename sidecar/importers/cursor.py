"""Cursor's agent and chat conversations ("composers"), read from its SQLite state.

Cursor is closed source; the format below is the one public parsers read and
document (reverse-engineered, Cursor 0.50 to 2.x, composerData ``_v`` 3-10,
bubbles ``_v`` 2-3): michaeldhood/chatrxiv ``docs/cursor/storage-reference.md``
(2025-12), pppp606/cursor-efficiency ``docs/vscdbRelation.md`` (Cursor
0.50.5), blueplane-ai/bp-telemetry-core
``docs/research/cursor-composer-data-capture-examples.md``.

- ``<User>/globalStorage/state.vscdb``, table ``cursorDiskKV (key, value)``:
  ``composerData:<composerId>`` is a conversation ``{composerId, name?,
  createdAt (ms), lastUpdatedAt?, createdOnBranch?, generatingBubbleIds?,
  fullConversationHeadersOnly: [{bubbleId, type}]}`` (older ones keep the
  bubbles inline in ``conversation``), and ``bubbleId:<composerId>:<bubbleId>``
  one message ``{type: 1 (user) | 2 (assistant), text, createdAt (ISO),
  toolFormerData?: {name, toolCallId, status, rawArgs | params, result}}``;
- ``<User>/workspaceStorage/<hash>/state.vscdb``, table ``ItemTable``, key
  ``composer.composerData``: ``{allComposers: [{composerId}]}``, the
  conversations of the workspace that ``<hash>/workspace.json`` names.

The databases are opened read-only. One database holds every conversation,
so the unit of import is one conversation, ``state.vscdb#<composerId>``.
Mapping: a user bubble -> ``prompt``; an assistant bubble's text ->
``response`` (not while Cursor is still generating it); its
``toolFormerData`` -> ``tool_call`` and, once it has a ``result`` or its
status is ``completed``/``error``, ``tool_result``; thinking carries no
event. A bubble that is missing or not JSON is skipped and counted.

Source ids: ``<bubbleId>:prompt``, ``<bubbleId>:text``, ``cu:<toolCallId>:call``
and ``cu:<toolCallId>:result``. The folder is the workspace's that lists the
conversation, else the first ``workspaceUris`` of a user bubble. The branch is
``createdOnBranch`` when Cursor recorded it (else the reflog's).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from sidecar.core.models import Actor, EventKind

from .common import (
    Cursor,
    ImportedEvent,
    ImportedSession,
    clipped_text_payload,
    parse_time,
    tool_call_payload,
    tool_result_payload,
)
from .copilot_chat import file_uri_path, workspace_folder

PROVIDER = "cursor"
_SEPARATOR = "#"
_USER, _ASSISTANT = 1, 2
_DONE = ("completed", "error", "cancelled", "aborted")


def cursor_user_dir(home: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Cursor's ``User`` folder: ``~/.config/Cursor/User`` (``$XDG_CONFIG_HOME``), macOS's
    ``~/Library/Application Support/Cursor/User``, Windows' ``%APPDATA%\\Cursor\\User``."""
    environ = os.environ if env is None else env
    base_home = home or Path.home()
    if sys.platform == "darwin":
        base = base_home / "Library" / "Application Support"
    elif sys.platform == "win32" and environ.get("APPDATA"):
        base = Path(environ["APPDATA"])
    else:
        config = environ.get("XDG_CONFIG_HOME")
        base = Path(config) if config else base_home / ".config"
    return base / "Cursor" / "User"


def global_db(user: Path) -> Path:
    """The global state database of a ``User`` folder."""
    return user / "globalStorage" / "state.vscdb"


def composer_unit(database: Path, composer_id: str) -> Path:
    """The import unit of one conversation: ``<database>#<composerId>``."""
    return database.with_name(f"{database.name}{_SEPARATOR}{composer_id}")


def split_unit(unit: Path) -> tuple[Path, str]:
    """``(database, composerId)`` of a unit made by :func:`composer_unit`."""
    name, _, composer_id = unit.name.partition(_SEPARATOR)
    return unit.with_name(name), composer_id


def connect(database: Path) -> sqlite3.Connection:
    """A read-only connection to one of Cursor's databases."""
    return sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=5)


def _json(raw: Any) -> Any:
    try:
        return json.loads(raw) if isinstance(raw, str | bytes) else None
    except (ValueError, RecursionError):
        return None


def workspace_composers(user: Path) -> dict[str, str]:
    """``composerId`` -> the folder of the workspace that lists it."""
    folders: dict[str, str] = {}
    storage = user / "workspaceStorage"
    if not storage.is_dir():
        return folders
    for workspace in sorted(p for p in storage.iterdir() if p.is_dir()):
        database = workspace / "state.vscdb"
        folder = workspace_folder(workspace)
        if folder is None or not database.is_file():
            continue
        try:
            with closing(connect(database)) as conn:
                row = conn.execute(
                    "SELECT value FROM ItemTable WHERE key = 'composer.composerData'"
                ).fetchone()
        except sqlite3.Error:
            continue
        data = _json(row[0]) if row else None
        listed = data.get("allComposers") if isinstance(data, dict) else None
        for item in listed if isinstance(listed, list) else []:
            if isinstance(item, dict) and isinstance(item.get("composerId"), str):
                folders.setdefault(item["composerId"], folder)
    return folders


def discover_cursor(
    home: Path | None = None,
    *,
    root: Path | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[Path]:
    """Yield one unit per conversation, oldest first.

    ``root`` is Cursor's ``User`` folder (default :func:`cursor_user_dir`);
    ``cwd`` keeps the conversations of that folder.
    """
    user = root or cursor_user_dir(home, env)
    database = global_db(user)
    if not database.is_file():
        return
    try:
        with closing(connect(database)) as conn:
            rows = conn.execute(
                "SELECT key, value FROM cursorDiskKV WHERE key LIKE 'composerData:%'"
            ).fetchall()
    except sqlite3.Error:
        return
    listed = workspace_composers(user) if cwd is not None else {}
    found: list[tuple[int, str]] = []
    for key, value in rows:
        composer_id = str(key).partition(":")[2]
        data = _json(value)
        if not composer_id or not isinstance(data, dict):
            continue
        if cwd is not None:
            folder = listed.get(composer_id) or _folder_from_bubbles(database, composer_id, data)
            if folder != str(cwd):
                continue
        created = data.get("createdAt")
        found.append((created if isinstance(created, int) else 0, composer_id))
    for _, composer_id in sorted(found):
        yield composer_unit(database, composer_id)


def _headers(data: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    """``(bubbleId, inline bubble or None)`` in conversation order."""
    out: list[tuple[str, dict[str, Any] | None]] = []
    headers = data.get("fullConversationHeadersOnly")
    if isinstance(headers, list) and headers:
        for header in headers:
            if isinstance(header, dict) and isinstance(header.get("bubbleId"), str):
                out.append((header["bubbleId"], None))
        return out
    inline = data.get("conversation")
    for bubble in inline if isinstance(inline, list) else []:
        if isinstance(bubble, dict) and isinstance(bubble.get("bubbleId"), str):
            out.append((bubble["bubbleId"], bubble))
    return out


def _bubbles(
    conn: sqlite3.Connection, composer_id: str, data: dict[str, Any]
) -> list[tuple[str, dict[str, Any] | None]]:
    """Every bubble of a conversation, in order; None for one missing or unreadable."""
    order = _headers(data)
    stored: dict[str, Any] = {}
    if any(inline is None for _, inline in order):
        prefix = f"bubbleId:{composer_id}:"
        for key, value in conn.execute(
            "SELECT key, value FROM cursorDiskKV WHERE key >= ? AND key < ?",
            (prefix, prefix[:-1] + ";"),
        ):
            stored[str(key)[len(prefix) :]] = value
    out: list[tuple[str, dict[str, Any] | None]] = []
    for bubble_id, inline in order:
        bubble = inline if inline is not None else _json(stored.get(bubble_id))
        out.append((bubble_id, bubble if isinstance(bubble, dict) else None))
    return out


def _folder_from_bubbles(database: Path, composer_id: str, data: dict[str, Any]) -> str | None:
    try:
        with closing(connect(database)) as conn:
            bubbles = _bubbles(conn, composer_id, data)
    except sqlite3.Error:
        return None
    return _workspace_uri_folder(bubbles)


def _workspace_uri_folder(bubbles: list[tuple[str, dict[str, Any] | None]]) -> str | None:
    for _, bubble in bubbles:
        uris = bubble.get("workspaceUris") if bubble else None
        if isinstance(uris, list) and uris:
            return file_uri_path(uris[0])
    return None


def parse_cursor(
    unit: Path, cursor: Cursor | None = None, *, max_lines: int | None = None
) -> ImportedSession:
    """Parse one conversation (``unit`` from :func:`composer_unit`) whole.

    ``cursor`` and ``max_lines`` are accepted for the loader's signature:
    Cursor rewrites its bubbles in place, so every read is a full one and the
    source ids keep it idempotent.
    """
    database, composer_id = split_unit(unit)
    start = cursor or Cursor()
    session = ImportedSession(provider=PROVIDER, provider_ref=composer_id, path=unit, start=start)
    session.end = Cursor(1, 0, "", {})
    with closing(connect(database)) as conn:
        row = conn.execute(
            "SELECT value FROM cursorDiskKV WHERE key = ?", (f"composerData:{composer_id}",)
        ).fetchone()
        data = _json(row[0]) if row else None
        if not isinstance(data, dict):
            session.skipped += 1 if row else 0
            return session
        bubbles = _bubbles(conn, composer_id, data)
    user = database.parent.parent
    session.cwd = workspace_composers(user).get(composer_id) or _workspace_uri_folder(bubbles)
    if isinstance(data.get("createdOnBranch"), str) and data["createdOnBranch"]:
        session.branch = data["createdOnBranch"]
    if isinstance(data.get("name"), str) and data["name"].strip():
        session.name = data["name"].strip()
    session.note_time(parse_time(data.get("createdAt")))
    session.note_time(parse_time(data.get("lastUpdatedAt")))
    generating = data.get("generatingBubbleIds")
    busy = set(generating) if isinstance(generating, list) else set()
    for bubble_id, bubble in bubbles:
        if bubble is None:
            session.skipped += 1
        elif not _bubble_events(bubble_id, bubble, bubble_id in busy, session):
            session.ignored += 1
    return session


def _bubble_events(
    bubble_id: str, bubble: dict[str, Any], generating: bool, session: ImportedSession
) -> bool:
    """Add one bubble's events; False for a bubble of an unknown type."""
    when = parse_time(bubble.get("createdAt"))
    session.note_time(when)
    kind = bubble.get("type")
    raw_text = bubble.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    if kind == _USER:
        if text.strip():
            if session.first_prompt is None:
                session.first_prompt = text
            session.events.append(
                ImportedEvent(
                    EventKind.PROMPT,
                    Actor.USER,
                    when,
                    clipped_text_payload(text),
                    f"{bubble_id}:prompt",
                )
            )
        return True
    if kind != _ASSISTANT:
        return False
    tool = bubble.get("toolFormerData")
    if isinstance(tool, dict):
        _tool_events(bubble_id, tool, when, session)
    if text.strip() and not generating:
        payload = clipped_text_payload(text)
        model = bubble.get("modelInfo")
        if isinstance(model, dict) and isinstance(model.get("modelName"), str):
            payload["model"] = model["modelName"]
        session.events.append(
            ImportedEvent(EventKind.RESPONSE, Actor.AGENT, when, payload, f"{bubble_id}:text")
        )
    return True


def _tool_events(bubble_id: str, tool: dict[str, Any], when: Any, session: ImportedSession) -> None:
    call_id = tool.get("toolCallId") if isinstance(tool.get("toolCallId"), str) else bubble_id
    raw = tool.get("rawArgs") if tool.get("rawArgs") is not None else tool.get("params")
    parsed = _json(raw) if isinstance(raw, str) else raw
    tool_input = parsed if parsed is not None else raw
    name = tool.get("name")
    session.events.append(
        ImportedEvent(
            EventKind.TOOL_CALL,
            Actor.AGENT,
            when,
            tool_call_payload(name, tool_input, call_id),
            f"cu:{call_id}:call",
        )
    )
    status = tool.get("status")
    result = tool.get("result")
    if result is None and status not in _DONE:
        return
    output = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
    failed = True if status == "error" else None
    session.events.append(
        ImportedEvent(
            EventKind.TOOL_RESULT,
            Actor.AGENT,
            when,
            tool_result_payload(
                call_id, "" if result is None else output, name=name, isError=failed
            ),
            f"cu:{call_id}:result",
        )
    )


def live_units(root: Path, path: Path, cwds: Sequence[str]) -> list[Path]:
    """The conversations of the project folders, when the global database is written.

    ``root`` is ``<User>/globalStorage``.
    """
    database = root / "state.vscdb"
    if path.parent != root or path.name not in (
        database.name,
        f"{database.name}-wal",
        f"{database.name}-journal",
    ):
        return []
    found: dict[Path, None] = {}
    for cwd in cwds:
        found.update(dict.fromkeys(discover_cursor(root=root.parent, cwd=cwd)))
    return list(found)
