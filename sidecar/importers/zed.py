"""Zed's agent threads: the SQLite database ``<data dir>/threads/threads.db``.

The format is Zed's own (zed-industries/zed, ``crates/agent/src/db.rs``,
``thread.rs``, ``legacy_thread.rs``; thread ``version`` "0.3.0", Zed 0.2xx):

- table ``threads (id, parent_id, summary, updated_at, created_at,
  data_type, data, folder_paths, folder_paths_order)``: ``updated_at`` and
  ``created_at`` are RFC 3339; ``folder_paths`` the workspace folders joined
  by newlines (sorted) and ``folder_paths_order`` their original order
  (``crates/util/src/path_list.rs``); older rows lack the later columns;
- ``data`` is the thread as JSON (``data_type`` "json") or, as Zed writes
  every thread now, that JSON compressed with zstd (``data_type`` "zstd");
- the JSON is ``{version, title, messages, updated_at,
  initial_project_snapshot?: {worktree_snapshots: [{worktree_path,
  git_state?: {current_branch, head_sha, remote_url}}]}, ...}`` with
  ``messages`` items ``{"User": {id, content: [{"Text": s} | {"Mention":
  {uri, content}} | {"Image": ...}]}}``, ``{"Agent": {content: [{"Text": s}
  | {"Thinking": {...}} | {"RedactedThinking": s} | {"ToolUse": {id, name,
  input, raw_input, is_input_complete}}], tool_results: {id: {tool_use_id,
  tool_name, is_error, content}}}}`` or ``"Resume"``.

Python before 3.14 has no zstd decoder: a compressed thread is read when
``compression.zstd`` (3.14), ``backports.zstd`` or ``zstandard`` is installed,
and otherwise skipped and counted (``skipped``; the import reports the thread
as waiting), as are threads of another ``version`` (Zed upgrades those when
it opens them). Such a thread is read again at the next import.

The unit of import is one thread, ``threads.db#<thread id>``; a thread with
``parent_id`` is a sub-agent's. Mapping: a user message's text -> ``prompt``
(mentions are named by their URI); an agent message's text -> ``response``;
``ToolUse`` -> ``tool_call``; ``tool_results`` -> ``tool_result``;
``Resume`` -> ``note``. Source ids hang on the user message id (``zed:<id>:prompt``,
``zed:<id>:a<n>:text``) and the tool use id (``zed:<tool id>:call`` /
``zed:<tool id>:result``), so a thread Zed rewrites whole adds only what is new.

Zed keeps no time per message: the thread's first event has its
``created_at`` and the last message's events its ``updated_at``. The folder is
the first of ``folder_paths`` in Zed's order, else the first worktree of the
initial project snapshot, whose ``current_branch`` is the branch.
"""

from __future__ import annotations

import importlib
import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
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

PROVIDER = "zed"
THREAD_VERSION = "0.3.0"
_SEPARATOR = "#"
_MAX_THREAD_BYTES = 512 * 1024 * 1024

Decompress = Callable[[bytes], bytes]


def _find_decompressor() -> Decompress | None:
    """A zstd decoder from the standard library (3.14) or an installed package."""
    for name in ("compression.zstd", "backports.zstd"):
        try:
            module: Any = importlib.import_module(name)
        except ImportError:
            continue
        decompress: Decompress = module.decompress
        return decompress
    try:
        zstandard: Any = importlib.import_module("zstandard")
    except ImportError:
        return None

    def stream(data: bytes) -> bytes:
        # Zed's frames (zstd::encode_all) carry no content size: decode as a stream.
        out: bytes = zstandard.ZstdDecompressor().decompressobj().decompress(data)
        return out

    return stream


decompress_zstd: Decompress | None = _find_decompressor()
"""The zstd decoder in use; None when none is installed (compressed threads are skipped)."""


def zed_threads_db(home: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """``threads/threads.db`` in Zed's data folder (``crates/paths``): ``$FLATPAK_XDG_DATA_HOME``
    or ``$XDG_DATA_HOME`` or ``~/.local/share`` + ``zed``; on macOS
    ``~/Library/Application Support/Zed``."""
    environ = os.environ if env is None else env
    base_home = home or Path.home()
    if sys.platform == "darwin":
        data = base_home / "Library" / "Application Support" / "Zed"
    else:
        xdg = environ.get("FLATPAK_XDG_DATA_HOME") or environ.get("XDG_DATA_HOME")
        data = (Path(xdg) if xdg else base_home / ".local" / "share") / "zed"
    return data / "threads" / "threads.db"


def thread_unit(database: Path, thread_id: str) -> Path:
    """The import unit of one thread: ``<database>#<thread id>``."""
    return database.with_name(f"{database.name}{_SEPARATOR}{thread_id}")


def split_unit(unit: Path) -> tuple[Path, str]:
    """``(database, thread id)`` of a unit made by :func:`thread_unit`."""
    name, _, thread_id = unit.name.partition(_SEPARATOR)
    return unit.with_name(name), thread_id


def connect(database: Path) -> sqlite3.Connection:
    """A read-only connection to Zed's threads database."""
    conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    return conn


def _columns(conn: sqlite3.Connection) -> set[str]:
    return {str(row[1]) for row in conn.execute("PRAGMA table_info(threads)")}


def _select(columns: set[str], fields: tuple[str, ...]) -> str:
    """Fields of ``threads``, NULL for those an older database does not have."""
    return ", ".join(f if f in columns else f"NULL AS {f}" for f in fields)


_LIST_FIELDS = ("id", "parent_id", "updated_at", "created_at", "folder_paths", "folder_paths_order")
_THREAD_FIELDS = (*_LIST_FIELDS, "summary", "data_type", "data")


def ordered_folders(paths: Any, order: Any) -> list[str]:
    """The folders of a serialized ``PathList``, in the order the user gave them."""
    if not isinstance(paths, str) or not paths:
        return []
    items = paths.split("\n")
    indexes = [int(i) for i in order.split(",") if i.strip().isdigit()] if order else []
    if sorted(indexes) != list(range(len(items))):
        return items
    ordered = [""] * len(items)
    for path, index in zip(items, indexes, strict=True):
        ordered[index] = path
    return ordered


def decode_thread(data_type: Any, data: Any) -> dict[str, Any] | None:
    """The thread JSON of a row; None if it cannot be read here (no zstd decoder, garbage)."""
    raw = bytes(data) if isinstance(data, bytes | bytearray | memoryview) else None
    if raw is None and isinstance(data, str):
        raw = data.encode("utf-8")
    if raw is None:
        return None
    if data_type == "zstd":
        if decompress_zstd is None:
            return None
        try:
            raw = decompress_zstd(raw)
        except Exception:  # each library raises its own error type
            return None
    elif data_type != "json":
        return None
    if len(raw) > _MAX_THREAD_BYTES:
        return None
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _snapshot(thread: dict[str, Any] | None) -> tuple[str | None, str | None]:
    """``(folder, branch)`` of the first worktree of the initial project snapshot."""
    snapshot = thread.get("initial_project_snapshot") if thread else None
    trees = snapshot.get("worktree_snapshots") if isinstance(snapshot, dict) else None
    first = trees[0] if isinstance(trees, list) and trees else None
    if not isinstance(first, dict) or not isinstance(first.get("worktree_path"), str):
        return None, None
    git = first.get("git_state")
    branch = git.get("current_branch") if isinstance(git, dict) else None
    return first["worktree_path"], branch if isinstance(branch, str) and branch else None


def _folder(row: sqlite3.Row, thread: dict[str, Any] | None) -> str | None:
    folders = ordered_folders(row["folder_paths"], row["folder_paths_order"])
    return folders[0] if folders else _snapshot(thread)[0]


def discover_zed(
    home: Path | None = None,
    *,
    root: Path | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[Path]:
    """Yield one unit per thread, parents before sub-agent threads, oldest first.

    ``root`` is the database (default :func:`zed_threads_db`); ``cwd`` keeps
    the threads of that folder.
    """
    database = root or zed_threads_db(home, env)
    if not database.is_file():
        return
    try:
        with closing(connect(database)) as conn:
            columns = _columns(conn)
            fields = _LIST_FIELDS if cwd is None else (*_LIST_FIELDS, "data_type", "data")
            rows = conn.execute(
                f"SELECT {_select(columns, fields)} FROM threads "
                "ORDER BY parent_id IS NOT NULL, COALESCE(created_at, updated_at), id"
            ).fetchall()
    except sqlite3.Error:
        return
    for row in rows:
        if cwd is not None:
            thread = None if row["folder_paths"] else decode_thread(row["data_type"], row["data"])
            if _folder(row, thread) != str(cwd):
                continue
        yield thread_unit(database, str(row["id"]))


def parse_zed(
    unit: Path, cursor: Cursor | None = None, *, max_lines: int | None = None
) -> ImportedSession:
    """Parse one thread (``unit`` from :func:`thread_unit`).

    The cursor keeps the thread's ``updated_at``: an unchanged thread is not
    decoded again. ``max_lines`` is accepted for the loader's signature.
    """
    database, thread_id = split_unit(unit)
    start = cursor or Cursor()
    session = ImportedSession(provider=PROVIDER, provider_ref=thread_id, path=unit, start=start)
    session.end = start if start.offset else Cursor(1, 0, "", {})
    with closing(connect(database)) as conn:
        row = conn.execute(
            f"SELECT {_select(_columns(conn), _THREAD_FIELDS)} FROM threads WHERE id = ?",
            (thread_id,),
        ).fetchone()
    if row is None:
        return session
    updated = parse_time(row["updated_at"])
    created = parse_time(row["created_at"]) or updated
    session.note_time(created)
    session.note_time(updated)
    session.name = row["summary"] or None
    if row["parent_id"]:
        session.parent_ref = session.root_ref = str(row["parent_id"])
        session.agent_name = "subagent"
        session.name = None
    folders = ordered_folders(row["folder_paths"], row["folder_paths_order"])
    session.cwd = folders[0] if folders else None
    session.end = Cursor(1, 0, "", {"updated_at": row["updated_at"]})
    if start.extra.get("updated_at") == row["updated_at"]:
        return session  # nothing changed since the last import
    thread = decode_thread(row["data_type"], row["data"])
    if thread is None or thread.get("version") != THREAD_VERSION:
        # Not readable here (no zstd decoder, garbage, another version): counted, and
        # with no folder a new session is not created empty; read again next time.
        session.skipped += 1
        session.cwd = None
        session.end = start if start.offset else Cursor(1, 0, "", {})
        return session
    folder, branch = _snapshot(thread)
    session.cwd = session.cwd or folder
    session.branch = branch
    messages = thread.get("messages")
    last = _message_events(messages if isinstance(messages, list) else [], thread_id, session)
    if session.events:
        session.events[0].time = created
        for event in session.events[last:]:
            event.time = updated
    return session


def _message_events(messages: list[Any], thread_id: str, session: ImportedSession) -> int:
    """Add every message's events; the index of the last message's first event."""
    anchor = thread_id  # the last user message id; agent messages count from it
    ordinal = 0
    starts: list[int] = []
    for message in messages:
        starts.append(len(session.events))
        if message == "Resume":
            ordinal += 1
            payload = {"text": "Zed resumed the turn", "subtype": "resume"}
            session.events.append(
                ImportedEvent(
                    EventKind.NOTE, Actor.SYSTEM, None, payload, f"zed:{anchor}:a{ordinal}:note"
                )
            )
            continue
        user = message.get("User") if isinstance(message, dict) else None
        agent = message.get("Agent") if isinstance(message, dict) else None
        if isinstance(user, dict) and isinstance(user.get("id"), str):
            anchor, ordinal = user["id"], 0
            _user_events(user, session)
        elif isinstance(agent, dict):
            ordinal += 1
            _agent_events(agent, f"zed:{anchor}:a{ordinal}", session)
        else:
            session.ignored += 1
    total = len(session.events)
    return max((start for start in starts if start < total), default=0)


def _user_events(user: dict[str, Any], session: ImportedSession) -> None:
    pieces: list[str] = []
    content = user.get("content")
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("Text"), str):
            pieces.append(part["Text"])
        elif isinstance(part.get("Mention"), dict):
            uri = part["Mention"].get("uri")
            pieces.append(f"@{json.dumps(uri) if not isinstance(uri, str) else uri}")
        elif "Image" in part:
            pieces.append("[image]")
    text = "\n".join(p for p in pieces if p).strip()
    if not text:
        return
    if session.first_prompt is None:
        session.first_prompt = text
    session.events.append(
        ImportedEvent(
            EventKind.PROMPT,
            Actor.USER,
            None,
            clipped_text_payload(text),
            f"zed:{user['id']}:prompt",
        )
    )


def _agent_events(agent: dict[str, Any], key: str, session: ImportedSession) -> None:
    texts: list[str] = []
    content = agent.get("content")
    for part in content if isinstance(content, list) else []:
        if not isinstance(part, dict):
            continue
        if isinstance(part.get("Text"), str):
            texts.append(part["Text"])
        elif isinstance(part.get("ToolUse"), dict):
            use = part["ToolUse"]
            call_id = use.get("id") if isinstance(use.get("id"), str) else None
            if call_id is None:
                session.ignored += 1
                continue
            payload = tool_call_payload(use.get("name"), use.get("input"), call_id)
            session.events.append(
                ImportedEvent(
                    EventKind.TOOL_CALL, Actor.AGENT, None, payload, f"zed:{call_id}:call"
                )
            )
    results = agent.get("tool_results")
    for call_id, result in (results if isinstance(results, dict) else {}).items():
        if not isinstance(result, dict):
            session.ignored += 1
            continue
        payload = tool_result_payload(
            call_id,
            _result_text(result.get("content")),
            name=result.get("tool_name"),
            isError=True if result.get("is_error") else None,
        )
        session.events.append(
            ImportedEvent(
                EventKind.TOOL_RESULT, Actor.AGENT, None, payload, f"zed:{call_id}:result"
            )
        )
    text = "".join(texts).strip()
    if text:
        session.events.append(
            ImportedEvent(
                EventKind.RESPONSE, Actor.AGENT, None, clipped_text_payload(text), f"{key}:text"
            )
        )


def _result_text(content: Any) -> str:
    """``LanguageModelToolResultContent``: a string, ``{"Text": s}`` or ``{"Image": ...}``."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        if isinstance(content.get("Text"), str):
            return str(content["Text"])
        if "Image" in content:
            return "[image]"
    if isinstance(content, list):
        return "\n".join(_result_text(item) for item in content)
    return ""


def live_units(root: Path, path: Path, cwds: Sequence[str]) -> list[Path]:
    """The threads of the project folders, when ``threads.db`` or its journal is written."""
    database = root / "threads.db"
    if path.parent != root or path.name not in (
        database.name,
        f"{database.name}-wal",
        f"{database.name}-journal",
    ):
        return []
    found: dict[Path, None] = {}
    for cwd in cwds:
        found.update(dict.fromkeys(discover_zed(root=database, cwd=cwd)))
    return list(found)
