"""Claude Code transcripts: ``~/.claude/projects/<slug>/<sessionId>.jsonl``.

Mapping (one line can give several events, one per content part):

- user text -> ``prompt`` (user); assistant text -> ``response`` (agent);
  ``tool_use`` -> ``tool_call`` ``{name, input, toolUseId}``; ``tool_result``
  -> ``tool_result`` ``{toolUseId, content, isError}`` (content cut to 4 KB);
  ``thinking`` parts and ``isMeta`` user lines are skipped; ``system`` lines
  with text -> ``note`` (system).
- ``custom-title`` names the session; otherwise the last ``summary`` does.
- ``gitBranch`` is on every message line. Lines are taken in file order, which
  is append order (timestamps are not ordered), and a change between two
  consecutive message lines becomes a ``branch_change`` ``{from, to}`` event
  placed before the line's own events. ``"HEAD"`` means detached HEAD and is
  reported as ``"detached"`` (no sha is recorded); ``""`` means outside git
  and is reported as ``None``.
- Sidechain files (``agent-<id>.jsonl``) become sub-sessions: provider ref
  ``<sessionId>/agent-<id>``, parent and root ``<sessionId>``, agent name from
  the parent's ``Task`` call when known (``agent_names``), else ``agent-<id>``.
- Lines carrying ``forkedFrom {sessionId, messageUuid}`` were copied from the
  parent into a fork: their events get ``origin_id`` (``<messageUuid>:<part>``,
  their id in the parent), the parent is ``forkedFrom.sessionId`` and the
  fork point the last such ``messageUuid`` in file order.
- ``summary``, ``file-history-snapshot``, ``queue-operation`` and unknown line
  types carry no event; they are counted in ``ignored``, not ``skipped``.
- Source ids: ``<uuid>:<part index>`` (``<uuid>:branch`` for a switch), or
  ``@<byte offset>`` for a line without uuid.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from sidecar.core.models import Actor, EventKind

from .common import (
    Cursor,
    ImportedEvent,
    ImportedSession,
    JsonLine,
    JsonlReader,
    clipped_text_payload,
    flatten_text,
    parse_time,
    tool_call_payload,
    tool_result_payload,
)

PROVIDER = "claude-code"
_TASK_TOOLS = frozenset({"Task", "Agent"})
_NO_BRANCH = "\x00none"  # cursor marker: a line was seen and it had no branch


def claude_home(env: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    """Claude Code's config folder: ``$CLAUDE_CONFIG_DIR``, else ``~/.claude``."""
    configured = (os.environ if env is None else env).get("CLAUDE_CONFIG_DIR")
    return Path(configured) if configured else (home or Path.home()) / ".claude"


def project_slug(cwd: str | Path) -> str:
    """Claude Code's folder name for a working directory.

    >>> project_slug("/home/u/my.app")
    '-home-u-my-app'
    """
    return re.sub(r"[^A-Za-z0-9]", "-", str(cwd))


def branch_label(value: Any) -> str | None:
    """The branch a ``gitBranch`` value names: ``"HEAD"`` -> ``"detached"``, ``""`` -> None."""
    if not isinstance(value, str) or not value:
        return None
    return "detached" if value == "HEAD" else value


def is_agent_file(path: Path) -> bool:
    """True for a sidechain transcript (``agent-<id>.jsonl``)."""
    return path.name.startswith("agent-") and path.suffix == ".jsonl"


def discover_claude_code(
    home: Path | None = None,
    root: Path | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[Path]:
    """Yield Claude Code transcript files, main sessions before their sidechains.

    ``root`` defaults to ``$CLAUDE_CONFIG_DIR/projects``, else
    ``<home>/.claude/projects``; ``cwd`` limits the walk to that directory's
    project folder. Sidechains are found beside the sessions
    (``agent-*.jsonl``) and in newer layouts under ``<sessionId>/subagents/``.
    """
    if root is None:
        config = (os.environ if env is None else env).get("CLAUDE_CONFIG_DIR")
        base = Path(config) if config else (home or Path.home()) / ".claude"
        root = base / "projects"
    if cwd is not None:
        folders = [root / project_slug(cwd)]
    else:
        folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for folder in folders:
        if not folder.is_dir():
            continue
        files = sorted(folder.glob("*.jsonl"))
        yield from (p for p in files if not is_agent_file(p))
        yield from (p for p in files if is_agent_file(p))
        yield from sorted(folder.glob("*/subagents/agent-*.jsonl"))


class _State:
    """Parse state that crosses chunk boundaries (kept in the cursor's ``extra``)."""

    def __init__(self, extra: dict[str, Any]):
        last = extra.get("branch")
        self.seen_branch = isinstance(last, str)
        self.branch: str | None = None if last in (None, _NO_BRANCH) else str(last)
        self.pending_tasks: dict[str, str] = dict(extra.get("tasks") or {})

    def to_extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.seen_branch:
            extra["branch"] = _NO_BRANCH if self.branch is None else self.branch
        if self.pending_tasks:
            extra["tasks"] = self.pending_tasks
        return extra


def parse_claude_code(
    path: Path,
    cursor: Cursor | None = None,
    *,
    max_lines: int | None = None,
    agent_names: Mapping[str, str] | None = None,
) -> ImportedSession:
    """Parse a Claude Code transcript from ``cursor`` (default: the start).

    ``agent_names`` maps sidechain agent ids to the agent type named by the
    parent session's ``Task`` call (see ``ImportedSession.agent_names``).
    """
    reader = JsonlReader(path, cursor, max_lines)
    state = _State({} if reader.restarted else reader.start.extra)
    agent_file = is_agent_file(path)
    stem = path.stem
    session = ImportedSession(provider=PROVIDER, provider_ref=stem, path=path, start=reader.start)
    title: str | None = None
    summary: str | None = None
    session_id: str | None = None
    agent_id: str | None = stem.removeprefix("agent-") if agent_file else None
    for line in reader:
        data = line.data
        kind = data.get("type")
        if kind == "custom-title" and isinstance(data.get("customTitle"), str):
            title = data["customTitle"]
            continue
        if kind == "summary" and isinstance(data.get("summary"), str):
            summary = data["summary"]
            continue
        if kind not in ("user", "assistant", "system"):
            session.ignored += 1
            continue
        if session_id is None and isinstance(data.get("sessionId"), str):
            session_id = data["sessionId"]
        if agent_file and isinstance(data.get("agentId"), str):
            agent_id = data["agentId"]
        if session.cwd is None and isinstance(data.get("cwd"), str):
            session.cwd = data["cwd"]
        when = parse_time(data.get("timestamp"))
        session.note_time(when)
        origin = _fork_origin(data, session)
        if "gitBranch" in data:
            _track_branch(data, line, when, state, session, origin)
        events = list(_line_events(line, when, state, session))
        if origin is not None:
            for event in events:
                event.origin_id = origin + event.source_id[event.source_id.rfind(":") :]
        if not events:
            session.ignored += 1
        session.events.extend(events)
    session.skipped = reader.malformed
    session.pending_bytes = reader.pending_bytes
    session.restarted = reader.restarted
    session.complete = reader.complete
    session.name = title or summary
    session.last_branch = state.branch
    end = reader.end
    session.end = Cursor(end.offset, end.line, end.check, state.to_extra())
    if agent_file:
        parent = session_id
        session.provider_ref = f"{parent}/agent-{agent_id}" if parent else stem
        session.parent_ref = parent
        session.root_ref = parent
        session.agent_name = (agent_names or {}).get(agent_id or "") or f"agent-{agent_id}"
    return session


def _fork_origin(data: dict[str, Any], session: ImportedSession) -> str | None:
    """Record ``forkedFrom``; the line's uuid in the parent when it is a copy."""
    forked = data.get("forkedFrom")
    if not isinstance(forked, dict) or not isinstance(forked.get("sessionId"), str):
        return None
    session.parent_ref = forked["sessionId"]
    origin = forked.get("messageUuid")
    if not isinstance(origin, str) or not origin:
        return None
    session.forked_at = origin
    return origin


def _track_branch(
    data: dict[str, Any],
    line: JsonLine,
    when: Any,
    state: _State,
    session: ImportedSession,
    origin: str | None,
) -> None:
    label = branch_label(data.get("gitBranch"))
    if not state.seen_branch:
        state.seen_branch = True
        state.branch = label
        if session.start.offset == 0:
            session.branch = label
        return
    if label == state.branch:
        return
    session.events.append(
        ImportedEvent(
            EventKind.BRANCH_CHANGE,
            Actor.SYSTEM,
            when,
            {"from": state.branch, "to": label, "source": "gitBranch"},
            f"{_line_key(data, line)}:branch",
            f"{origin}:branch" if origin else None,
        )
    )
    state.branch = label


def _line_key(data: dict[str, Any], line: JsonLine) -> str:
    uuid = data.get("uuid")
    return uuid if isinstance(uuid, str) and uuid else f"@{line.offset}"


def _line_events(
    line: JsonLine, when: Any, state: _State, session: ImportedSession
) -> Iterator[ImportedEvent]:
    data = line.data
    key = _line_key(data, line)
    kind = data.get("type")
    sidechain = bool(data.get("isSidechain")) and not is_agent_file(session.path)
    extra = {"sidechain": True} if sidechain else {}
    if kind == "system":
        text = data.get("content")
        if isinstance(text, str) and text:
            payload = clipped_text_payload(text)
            if isinstance(data.get("subtype"), str):
                payload["subtype"] = data["subtype"]
            yield ImportedEvent(EventKind.NOTE, Actor.SYSTEM, when, payload | extra, f"{key}:0")
        return
    message = data.get("message")
    if not isinstance(message, dict) or data.get("isMeta"):
        return
    content = message.get("content")
    parts: list[Any] = [{"type": "text", "text": content}] if isinstance(content, str) else []
    if isinstance(content, list):
        parts = content
    if kind == "user":
        yield from _user_events(data, parts, key, when, state, session, extra)
    else:
        yield from _assistant_events(message, parts, key, when, state, extra)


def _user_events(
    data: dict[str, Any],
    parts: list[Any],
    key: str,
    when: Any,
    state: _State,
    session: ImportedSession,
    extra: dict[str, Any],
) -> Iterator[ImportedEvent]:
    texts: list[str] = []
    first_text_index: int | None = None
    for index, part in enumerate(parts):
        if not isinstance(part, dict):
            continue
        part_type = part.get("type")
        if part_type == "tool_result":
            tool_use_id = part.get("tool_use_id")
            payload = tool_result_payload(
                tool_use_id, part.get("content"), isError=part.get("is_error") or None
            )
            _note_agent(data, tool_use_id, state, session)
            yield ImportedEvent(
                EventKind.TOOL_RESULT, Actor.AGENT, when, payload | extra, f"{key}:{index}"
            )
        elif part_type in ("text", "image"):
            text = flatten_text([part])
            if text:
                texts.append(text)
                first_text_index = index if first_text_index is None else first_text_index
    if texts and first_text_index is not None:
        text = "\n".join(texts)
        if session.first_prompt is None and not data.get("isCompactSummary"):
            session.first_prompt = text
        kind = EventKind.NOTE if data.get("isCompactSummary") else EventKind.PROMPT
        actor = Actor.SYSTEM if kind is EventKind.NOTE else Actor.USER
        yield ImportedEvent(
            kind, actor, when, clipped_text_payload(text) | extra, f"{key}:{first_text_index}"
        )


def _note_agent(data: dict[str, Any], tool_use_id: Any, state: _State, s: ImportedSession) -> None:
    """Link a sidechain agent id to the agent type its ``Task`` call asked for."""
    result = data.get("toolUseResult")
    if not isinstance(result, dict) or not isinstance(tool_use_id, str):
        return
    agent_id = result.get("agentId")
    agent_type = state.pending_tasks.pop(tool_use_id, None)
    if isinstance(agent_id, str) and agent_type:
        s.agent_names[agent_id] = agent_type


def _assistant_events(
    message: dict[str, Any],
    parts: list[Any],
    key: str,
    when: Any,
    state: _State,
    extra: dict[str, Any],
) -> Iterator[ImportedEvent]:
    model = message.get("model")
    for index, part in enumerate(parts):
        if not isinstance(part, dict):
            continue
        part_type = part.get("type")
        source_id = f"{key}:{index}"
        if part_type == "text" and isinstance(part.get("text"), str) and part["text"]:
            payload = clipped_text_payload(part["text"])
            if isinstance(model, str):
                payload["model"] = model
            yield ImportedEvent(EventKind.RESPONSE, Actor.AGENT, when, payload | extra, source_id)
        elif part_type == "tool_use":
            name, tool_input, tool_use_id = part.get("name"), part.get("input"), part.get("id")
            if (
                name in _TASK_TOOLS
                and isinstance(tool_input, dict)
                and isinstance(tool_use_id, str)
            ):
                agent_type = tool_input.get("subagent_type")
                if isinstance(agent_type, str) and agent_type:
                    state.pending_tasks[tool_use_id] = agent_type
            payload = tool_call_payload(name, tool_input, tool_use_id)
            yield ImportedEvent(EventKind.TOOL_CALL, Actor.AGENT, when, payload | extra, source_id)
