"""opencode sessions: the SQLite database ``~/.local/share/opencode/opencode.db``.

Tables (opencode's ``session.sql.ts``): ``session`` (``id, parent_id,
directory, title, time_created, time_updated``), ``message`` (``id,
session_id, time_created, data``: JSON with ``role``, ``time {created,
completed}``) and ``part`` (``id, message_id, session_id, time_created,
time_updated, data``: JSON with ``type``). The database is opened read-only
(``mode=ro``); opencode keeps writing it meanwhile.

One database holds every session, so the unit of import is one session,
named ``<database>#<session id>`` (:func:`session_unit`). Mapping of parts:

- ``text`` of a user message -> ``prompt`` (``synthetic`` text, which
  opencode writes itself, -> ``note``; ``ignored`` text is skipped); of an
  assistant message -> ``response`` once the message is completed;
- ``tool`` -> ``tool_call`` once its input is known (``running``) and
  ``tool_result`` once ``completed`` or ``error``;
- ``compaction`` -> ``note``; reasoning, steps, snapshots and patches carry
  no event.

Source ids: ``<part id>:text``, ``oc:<callID>:call`` / ``oc:<callID>:result``.
The cursor keeps the ``time_updated`` from which parts are read again, so a
text still being written is read once it is complete. A session with a
``parent_id`` is a sub-agent's (opencode's task tool), named from its title's
``(@agent subagent)``. opencode records no branch.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Iterator, Mapping
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

PROVIDER = "opencode"
_SEPARATOR = "#"
_AGENT_IN_TITLE = re.compile(r"\(@([\w.-]+) subagent\)")


def opencode_db(home: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/opencode/opencode.db``, else ``~/.local/share/opencode/opencode.db``."""
    environ = os.environ if env is None else env
    data = environ.get("XDG_DATA_HOME")
    base = Path(data) if data else (home or Path.home()) / ".local" / "share"
    return base / "opencode" / "opencode.db"


def session_unit(database: Path, session_id: str) -> Path:
    """The import unit of one session in ``database``: ``<database>#<session id>``."""
    return database.with_name(f"{database.name}{_SEPARATOR}{session_id}")


def split_unit(unit: Path) -> tuple[Path, str]:
    """``(database, session id)`` of a unit made by :func:`session_unit`."""
    name, _, session_id = unit.name.partition(_SEPARATOR)
    return unit.with_name(name), session_id


def connect(database: Path) -> sqlite3.Connection:
    """A read-only connection to opencode's database."""
    conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    return conn


def discover_opencode(
    home: Path | None = None,
    *,
    root: Path | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[Path]:
    """Yield one unit per session, parents before sub-agent sessions, oldest first.

    ``root`` is the database file (default :func:`opencode_db`); ``cwd``
    keeps the sessions that ran in that folder.
    """
    database = root or opencode_db(home, env)
    if not database.is_file():
        return
    sql = "SELECT id FROM session"
    params: tuple[str, ...] = ()
    if cwd is not None:
        sql += " WHERE directory = ?"
        params = (str(cwd),)
    sql += " ORDER BY parent_id IS NOT NULL, time_created, id"
    try:
        with closing(connect(database)) as conn:
            ids = [row["id"] for row in conn.execute(sql, params)]
    except sqlite3.Error:
        return
    for session_id in ids:
        yield session_unit(database, session_id)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _json(raw: Any) -> dict[str, Any]:
    try:
        value = json.loads(raw) if isinstance(raw, str | bytes) else None
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def parse_opencode(
    unit: Path, cursor: Cursor | None = None, *, max_lines: int | None = None
) -> ImportedSession:
    """Parse one opencode session (``unit`` from :func:`session_unit`) from ``cursor``.

    ``max_lines`` is accepted for the loader's signature; a session's parts
    are read in one query.
    """
    database, session_id = split_unit(unit)
    start = cursor or Cursor()
    since = start.extra.get("since")
    since = since if isinstance(since, int) else 0
    session = ImportedSession(provider=PROVIDER, provider_ref=session_id, path=unit, start=start)
    with closing(connect(database)) as conn:
        row = conn.execute(
            "SELECT id, parent_id, directory, title, time_created, time_updated "
            "FROM session WHERE id = ?",
            (session_id,),
        ).fetchone()
        if row is None:
            session.end = start
            return session
        session.cwd = row["directory"] or None
        session.name = row["title"] or None
        session.note_time(parse_time(row["time_created"]))
        if row["parent_id"]:
            session.parent_ref = session.root_ref = row["parent_id"]
            found = _AGENT_IN_TITLE.search(row["title"] or "")
            session.agent_name = found.group(1) if found else "subagent"
            session.name = None
        messages = {
            m["id"]: _json(m["data"])
            for m in conn.execute(
                "SELECT id, data FROM message WHERE session_id = ?", (session_id,)
            )
        }
        parts = conn.execute(
            "SELECT p.id, p.message_id, p.time_created, p.time_updated, p.data FROM part p "
            "JOIN message m ON m.id = p.message_id WHERE p.session_id = ? "
            "AND p.time_updated >= ? ORDER BY m.time_created, m.id, p.id",
            (session_id, since),
        ).fetchall()
    latest, waiting = since, None
    for part in parts:
        updated = int(part["time_updated"])
        latest = max(latest, updated)
        info = messages.get(part["message_id"], {})
        done = _part_events(part["id"], _json(part["data"]), info, session)
        if not done:
            waiting = updated if waiting is None else min(waiting, updated)
    resume_from = waiting if waiting is not None else latest
    session.end = Cursor(1, len(parts), "", {"since": resume_from})
    return session


def _part_events(
    part_id: str, data: dict[str, Any], info: dict[str, Any], session: ImportedSession
) -> bool:
    """Add one part's events; False when the part is still being written."""
    times = _dict(info.get("time"))
    when = parse_time(times.get("created"))
    session.note_time(when)
    role = info.get("role")
    kind = data.get("type")
    if kind == "text" and isinstance(data.get("text"), str) and data["text"]:
        text = data["text"]
        if data.get("ignored"):
            return True
        if role == "assistant":
            if not times.get("completed"):
                return False
            payload = clipped_text_payload(text)
            if isinstance(info.get("modelID"), str):
                payload["model"] = info["modelID"]
            session.events.append(
                ImportedEvent(EventKind.RESPONSE, Actor.AGENT, when, payload, f"{part_id}:text")
            )
        elif data.get("synthetic"):
            payload = clipped_text_payload(text) | {"subtype": "synthetic"}
            session.events.append(
                ImportedEvent(EventKind.NOTE, Actor.SYSTEM, when, payload, f"{part_id}:text")
            )
        else:
            if session.first_prompt is None:
                session.first_prompt = text
            session.events.append(
                ImportedEvent(
                    EventKind.PROMPT,
                    Actor.USER,
                    when,
                    clipped_text_payload(text),
                    f"{part_id}:text",
                )
            )
        return True
    if kind == "tool":
        return _tool_events(part_id, data, when, session)
    if kind == "compaction":
        payload = {"text": "opencode compacted the conversation", "subtype": "compaction"}
        session.events.append(
            ImportedEvent(EventKind.NOTE, Actor.SYSTEM, when, payload, f"{part_id}:note")
        )
    return True


def _tool_events(part_id: str, data: dict[str, Any], when: Any, session: ImportedSession) -> bool:
    state = _dict(data.get("state"))
    status = state.get("status")
    call_id = data.get("callID") if isinstance(data.get("callID"), str) else part_id
    timing = _dict(state.get("time"))
    started = parse_time(timing.get("start")) or when
    if status == "pending":
        return False
    payload = tool_call_payload(data.get("tool"), state.get("input"), call_id)
    session.events.append(
        ImportedEvent(EventKind.TOOL_CALL, Actor.AGENT, started, payload, f"oc:{call_id}:call")
    )
    if status not in ("completed", "error"):
        return False
    ended = parse_time(timing.get("end")) or started
    output = state.get("output") if status == "completed" else state.get("error")
    result = tool_result_payload(
        call_id, output, name=data.get("tool"), isError=True if status == "error" else None
    )
    session.events.append(
        ImportedEvent(EventKind.TOOL_RESULT, Actor.AGENT, ended, result, f"oc:{call_id}:result")
    )
    return True
