"""Claude Code transcripts: ``~/.claude/projects/<slug>/<sessionId>.jsonl``.

Mapping (one line can give several events, one per content part):

- user text -> ``prompt`` (user); assistant text -> ``response`` (agent);
  ``tool_use`` -> ``tool_call`` ``{name, input, toolUseId}``; ``tool_result``
  -> ``tool_result`` ``{toolUseId, content, isError}`` (content cut to 4 KB);
  ``thinking`` parts and ``isMeta`` user lines are skipped; ``system`` lines
  with text -> ``note`` (system).
- User text Claude Code wrote itself (slash-command wrappers, local command
  output, "[Request interrupted by user]", background-task notices, see
  :mod:`.system_text`) -> ``note`` (system) with its ``subtype``; it never
  names the session.
- Tool events carry the ids the live hook gives them: ``cc:<tool_use_id>:call``
  and ``cc:<tool_use_id>:result``, so a tool call both recorded by the hook
  and read from the transcript is stored once.
- ``custom-title`` names the session; otherwise the last ``summary`` does.
- ``gitBranch`` is on every message line. Lines are taken in file order, which
  is append order (timestamps are not ordered), and a change between two
  consecutive message lines becomes a ``branch_change`` ``{from, to}`` event
  placed before the line's own events. ``"HEAD"`` means detached HEAD and is
  reported as ``"detached"`` (no sha is recorded); ``""`` means outside git
  and is reported as ``None``.
- Sidechain files (``agent-<id>.jsonl``, beside the session or under
  ``<sessionId>/subagents/``) become sub-sessions: provider ref
  ``<sessionId>/agent-<id>``, parent and root ``<sessionId>``, agent name from
  the parent's ``Task`` call when known (``agent_names``), else ``agent-<id>``.
  Warm-up runs (first prompt ``Warmup``) and compaction runs
  (``agent-acompact-*``, or a first prompt asking for a summary of the
  conversation) are not sessions: ``discard`` says why.
- Claude Code 1.0.x wrote sub-agent work inline: lines with
  ``isSidechain: true`` inside the session's own file, chained by
  ``parentUuid`` to a root line (the ``Task`` prompt). Each chain becomes a
  sub-session in ``children`` (provider ref ``<sessionId>/sidechain-<root
  uuid>``), named by the ``Task`` call whose prompt started it; the chains are
  kept in the cursor so a chunk boundary does not split them.
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

import hashlib
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
from .system_text import system_note

PROVIDER = "claude-code"
_TASK_TOOLS = frozenset({"Task", "Agent"})
_NO_BRANCH = "\x00none"  # cursor marker: a line was seen and it had no branch
_WARMUP = "Warmup"
_COMPACT_PROMPT = "Your task is to create a detailed summary of the conversation"


def tool_event_id(tool_use_id: str, phase: str) -> str:
    """The client event id of a tool call (``call``) or result (``result``).

    The same id the live hook gives the event (``sidecar.agents.hook``), so a
    transcript import and the hook never store one tool call twice.
    """
    return f"cc:{tool_use_id}:{phase}"


def _prompt_key(text: str) -> str:
    """A short key for a Task prompt (to match the sidechain it started)."""
    return hashlib.sha1(text.strip().encode("utf-8"), usedforsecurity=False).hexdigest()[:16]


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
        yield from project_files(folder)


def project_files(folder: Path) -> Iterator[Path]:
    """One project folder's transcripts, main sessions before their sidechains.

    A folder may hold only ``<sessionId>/subagents/agent-*.jsonl`` (the main
    transcript deleted or never written): those are found too.
    """
    if not folder.is_dir():
        return
    files = sorted(folder.glob("*.jsonl"))
    yield from (p for p in files if not is_agent_file(p))
    yield from (p for p in files if is_agent_file(p))
    yield from sorted(folder.glob("*/subagents/agent-*.jsonl"))


def is_project_folder(folder: Path) -> bool:
    """True for a Claude Code project folder (transcripts, or only sub-agent folders)."""
    return any(folder.glob("*.jsonl")) or any(folder.glob("*/subagents/agent-*.jsonl"))


class _State:
    """Parse state that crosses chunk boundaries (kept in the cursor's ``extra``)."""

    def __init__(self, extra: dict[str, Any]):
        last = extra.get("branch")
        self.seen_branch = isinstance(last, str)
        self.branch: str | None = None if last in (None, _NO_BRANCH) else str(last)
        self.pending_tasks: dict[str, str] = dict(extra.get("tasks") or {})
        self.task_prompts: dict[str, str] = dict(extra.get("taskPrompts") or {})
        self.chains: dict[str, str] = dict(extra.get("chains") or {})
        self.chain_names: dict[str, str] = dict(extra.get("chainNames") or {})
        self.dropped: set[str] = set(extra.get("dropped") or [])
        self.first_seen = bool(extra.get("first"))

    def to_extra(self) -> dict[str, Any]:
        extra: dict[str, Any] = {}
        if self.seen_branch:
            extra["branch"] = _NO_BRANCH if self.branch is None else self.branch
        for key, value in (
            ("tasks", self.pending_tasks),
            ("taskPrompts", self.task_prompts),
            ("chains", self.chains),
            ("chainNames", self.chain_names),
        ):
            if value:
                extra[key] = value
        if self.dropped:
            extra["dropped"] = sorted(self.dropped)
        if self.first_seen:
            extra["first"] = True
        return extra


#: Line types the importer reads; bookkeeping lines (api-request, queue-operation,
#: cost-state, last-prompt, ...) are most of a recent transcript.
_READ_TYPES = frozenset({b"user", b"assistant", b"system", b"summary", b"custom-title"})
_TYPE_FIRST = b'{"type":"'


def worth_parsing(raw: bytes) -> bool:
    """False for a line whose first key names a type the importer skips (no JSON parse).

    Claude Code writes ``type`` first on its bookkeeping lines and
    ``parentUuid`` first on messages; a first key is a top-level key, so the
    test cannot be fooled by text inside a message.

    >>> worth_parsing(b'{"type":"queue-operation","operation":"enqueue"}')
    False
    >>> worth_parsing(b'{"type":"summary","summary":"x"}'), worth_parsing(b'{"parentUuid":null}')
    (True, True)
    """
    if not raw.startswith(_TYPE_FIRST):
        return True
    end = raw.find(b'"', len(_TYPE_FIRST))
    return end < 0 or raw[len(_TYPE_FIRST) : end] in _READ_TYPES


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
    reader = JsonlReader(path, cursor, max_lines, worth_parsing=worth_parsing)
    state = _State({} if reader.restarted else reader.start.extra)
    agent_file = is_agent_file(path)
    stem = path.stem
    session = ImportedSession(provider=PROVIDER, provider_ref=stem, path=path, start=reader.start)
    title: str | None = None
    summary: str | None = None
    session_id: str | None = None
    agent_id: str | None = stem.removeprefix("agent-") if agent_file else None
    children: dict[str, ImportedSession] = {}
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
        if agent_file and not state.first_seen and kind == "user":
            state.first_seen = True
            session.discard = _discard_reason(path, data)
        if data.get("isSidechain") and not agent_file:
            _sidechain_line(line, when, state, session, children)
            continue
        origin = _fork_origin(data, session)
        if "gitBranch" in data:
            _track_branch(data, line, when, state, session, origin)
        events = list(_line_events(line, when, state, session))
        if origin is not None:
            for event in events:
                event.origin_id = _origin_id(origin, event.source_id)
        if not events:
            session.ignored += 1
        session.events.extend(events)
    session.skipped = reader.malformed
    session.ignored += reader.passed_over
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
    parent_ref = session_id or stem
    for root, child in children.items():
        child.provider_ref = f"{parent_ref}/sidechain-{root}"
        child.parent_ref = child.root_ref = parent_ref
        child.agent_name = state.chain_names.get(root) or "sidechain"
        child.cwd = child.cwd or session.cwd
        child.branch = child.branch or session.branch
        child.start, child.end = session.start, session.end
        session.children.append(child)
    return session


def _discard_reason(path: Path, first_user_line: dict[str, Any]) -> str | None:
    """Why a sidechain file is not a sub-agent session (warm-up or compaction run)."""
    if "compact" in path.stem.removeprefix("agent-").split("-", 1)[0]:
        return "compaction"
    message = first_user_line.get("message")
    text = flatten_text(message.get("content")) if isinstance(message, dict) else ""
    if text.strip() == _WARMUP:
        return "warmup"
    if text.lstrip().startswith(_COMPACT_PROMPT):
        return "compaction"
    return None


def _origin_id(origin: str, source_id: str) -> str:
    """The id a copied event has in the parent: tool ids are shared, the rest per line."""
    if source_id.startswith("cc:"):
        return source_id
    return origin + source_id[source_id.rfind(":") :]


def _sidechain_line(
    line: JsonLine,
    when: Any,
    state: _State,
    session: ImportedSession,
    children: dict[str, ImportedSession],
) -> None:
    """Route an inline sidechain line (Claude Code 1.0.x) to its chain's sub-session."""
    data = line.data
    key = _line_key(data, line)
    parent = data.get("parentUuid")
    root = state.chains.get(parent) if isinstance(parent, str) else None
    if root is None:
        root = key
        text = _user_text(data)
        if text is not None and text.strip() == _WARMUP:
            state.dropped.add(root)
        elif text is not None:
            name = state.task_prompts.pop(_prompt_key(text), None)
            if name:
                state.chain_names[root] = name
    state.chains[key] = root
    if root in state.dropped:
        session.ignored += 1
        return
    child = children.get(root)
    if child is None:
        child = ImportedSession(provider=PROVIDER, provider_ref=root, path=session.path)
        children[root] = child
    if child.cwd is None and isinstance(data.get("cwd"), str):
        child.cwd = data["cwd"]
    if child.branch is None:
        child.branch = branch_label(data.get("gitBranch"))
    child.note_time(when)
    events = list(_line_events(line, when, state, child))
    if not events:
        child.ignored += 1
    child.events.extend(events)


def _user_text(data: dict[str, Any]) -> str | None:
    """The text of a user line (None for other lines or tool results only)."""
    if data.get("type") != "user":
        return None
    message = data.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            flatten_text([p]) for p in content if isinstance(p, dict) and p.get("type") == "text"
        ]
        return "\n".join(t for t in texts if t) or None
    return None


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
    if kind == "system":
        text = data.get("content")
        if isinstance(text, str) and text:
            payload = clipped_text_payload(text)
            if isinstance(data.get("subtype"), str):
                payload["subtype"] = data["subtype"]
            yield ImportedEvent(EventKind.NOTE, Actor.SYSTEM, when, payload, f"{key}:0")
        return
    message = data.get("message")
    if not isinstance(message, dict) or data.get("isMeta"):
        return
    content = message.get("content")
    parts: list[Any] = [{"type": "text", "text": content}] if isinstance(content, str) else []
    if isinstance(content, list):
        parts = content
    if kind == "user":
        yield from _user_events(data, parts, key, when, state, session)
    else:
        yield from _assistant_events(message, parts, key, when, state)


def _user_events(
    data: dict[str, Any],
    parts: list[Any],
    key: str,
    when: Any,
    state: _State,
    session: ImportedSession,
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
            source_id = (
                tool_event_id(tool_use_id, "result")
                if isinstance(tool_use_id, str) and tool_use_id
                else f"{key}:{index}"
            )
            yield ImportedEvent(EventKind.TOOL_RESULT, Actor.AGENT, when, payload, source_id)
        elif part_type in ("text", "image"):
            text = flatten_text([part])
            if text:
                texts.append(text)
                first_text_index = index if first_text_index is None else first_text_index
    if not texts or first_text_index is None:
        return
    text = "\n".join(texts)
    source_id = f"{key}:{first_text_index}"
    if data.get("isCompactSummary"):
        payload = clipped_text_payload(text) | {"subtype": "compact-summary"}
        yield ImportedEvent(EventKind.NOTE, Actor.SYSTEM, when, payload, source_id)
        return
    generated = system_note(text)
    if generated is not None:
        subtype, readable = generated
        payload = clipped_text_payload(readable) | {"subtype": subtype}
        yield ImportedEvent(EventKind.NOTE, Actor.SYSTEM, when, payload, source_id)
        return
    if session.first_prompt is None:
        session.first_prompt = text
    yield ImportedEvent(EventKind.PROMPT, Actor.USER, when, clipped_text_payload(text), source_id)


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
            yield ImportedEvent(EventKind.RESPONSE, Actor.AGENT, when, payload, source_id)
        elif part_type == "tool_use":
            name, tool_input, tool_use_id = part.get("name"), part.get("input"), part.get("id")
            if name in _TASK_TOOLS and isinstance(tool_input, dict):
                _note_task(tool_input, tool_use_id, state)
            if isinstance(tool_use_id, str) and tool_use_id:
                source_id = tool_event_id(tool_use_id, "call")
            payload = tool_call_payload(name, tool_input, tool_use_id)
            yield ImportedEvent(EventKind.TOOL_CALL, Actor.AGENT, when, payload, source_id)


def _note_task(tool_input: dict[str, Any], tool_use_id: Any, state: _State) -> None:
    """Remember what a ``Task`` call asked for, to name the sub-agent it starts."""
    agent_type = tool_input.get("subagent_type")
    name = agent_type if isinstance(agent_type, str) and agent_type else None
    if name and isinstance(tool_use_id, str):
        state.pending_tasks[tool_use_id] = name
    prompt = tool_input.get("prompt")
    if isinstance(prompt, str) and prompt:
        description = tool_input.get("description")
        label = name or (description if isinstance(description, str) and description else "task")
        state.task_prompts[_prompt_key(prompt)] = label
