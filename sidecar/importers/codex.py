"""Codex CLI rollouts: ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<uuid>.jsonl``.

Mapping of ``{timestamp, type, payload}`` lines:

- ``session_meta``: provider ref = ``id``, ``cwd``, branch = ``git.branch``
  (recorded at session start only), parent = ``forked_from_id``. Rollouts of
  2025 (before ``cwd`` was in the meta line) give the working folder in a
  later ``turn_context`` or in the ``<cwd>`` of the injected
  ``<environment_context>`` message; :func:`rollout_cwd` finds it for
  discovery.
- ``response_item`` ``message``: user -> ``prompt``, assistant -> ``response``.
  User messages Codex injects itself (environment context, AGENTS.md
  instructions) and ``developer``/``system`` messages are skipped.
- ``function_call`` / ``custom_tool_call`` -> ``tool_call`` (``arguments`` is
  parsed as JSON, the raw string kept when it is not JSON);
  ``function_call_output`` / ``custom_tool_call_output`` -> ``tool_result``;
  ``local_shell_call`` -> ``command``.
- ``web_search_call`` -> ``tool_call`` ``web_search`` ``{query, action}``.
- ``event_msg`` lines (``user_message``, ``agent_message``, ``token_count``...)
  repeat what the response items hold, so they are skipped: the response
  items are the record Codex resumes from. The exception is
  ``web_search_end``, which some versions persist without a matching
  ``web_search_call``: it is a ``tool_call`` too, and a search seen both ways
  is kept once (the pending queries ride in the cursor, so the rule holds
  across chunks).
- ``reasoning`` (encrypted), ``turn_context`` and ``compacted`` are skipped.
- Rollouts written before the ``{type, payload}`` envelope (a bare meta first
  line, bare response items) are read too.

Source ids are ``@<byte offset>`` (rollouts are append-only), but for tool
calls and results with a ``call_id``: ``cx:<call_id>:call`` /
``cx:<call_id>:result``, the ids the Codex hook records the same call under
(its ``tool_use_id`` is the rollout's ``call_id``), so a session the hook
recorded and its rollout hold each call once.
"""

from __future__ import annotations

import json
import os
import re
import shlex
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

PROVIDER = "codex"
_CWD_TAG = re.compile(r"<cwd>([^<]+)</cwd>")
_SEARCH_MEMORY = 50
"""Web searches remembered (per file) to pair a ``web_search_call`` with its event."""
_INJECTED_PREFIXES = (
    "<environment_context>",
    "<user_instructions>",
    "# AGENTS.md instructions",
)
_RESPONSE_TYPES = frozenset(
    {
        "message",
        "function_call",
        "function_call_output",
        "custom_tool_call",
        "custom_tool_call_output",
        "local_shell_call",
        "reasoning",
        "web_search_call",
    }
)


def codex_home(home: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """``$CODEX_HOME`` when set, else ``<home>/.codex``."""
    environ = os.environ if env is None else env
    configured = environ.get("CODEX_HOME")
    if configured:
        return Path(configured)
    return (home or Path.home()) / ".codex"


def discover_codex(
    codex_home_dir: Path | None = None,
    *,
    home: Path | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
) -> Iterator[Path]:
    """Yield rollout files under ``sessions/`` and ``archived_sessions/``, oldest first.

    ``cwd`` keeps only rollouts whose first line (``session_meta``) names that
    working directory; only that first line is read.
    """
    base = codex_home_dir or codex_home(home, env)
    files: list[Path] = []
    for folder in ("sessions", "archived_sessions"):
        root = base / folder
        if root.is_dir():
            files.extend(root.rglob("rollout-*.jsonl"))
    # File names start with the session's start time, so name order is time order.
    for path in sorted(files, key=lambda p: p.name):
        if cwd is None or rollout_cwd(path) == str(cwd):
            yield path


def rollout_cwd(path: Path, max_lines: int = 64) -> str | None:
    """The working folder a rollout names in its first lines; None if none (yet).

    The meta line holds it in rollouts since late 2025; older ones name it in a
    ``turn_context`` line or the injected ``<environment_context>`` message.
    """
    return parse_codex(path, max_lines=max_lines).cwd


def _ref_from_name(path: Path) -> str:
    """The session uuid at the end of ``rollout-<time>-<uuid>.jsonl``."""
    stem = path.stem
    return stem[-36:] if len(stem) > 36 and stem[-37] == "-" else stem


def parse_codex(
    path: Path, cursor: Cursor | None = None, *, max_lines: int | None = None
) -> ImportedSession:
    """Parse a Codex rollout from ``cursor`` (default: the start)."""
    reader = JsonlReader(path, cursor, max_lines)
    session = ImportedSession(
        provider=PROVIDER, provider_ref=_ref_from_name(path), path=path, start=reader.start
    )
    extra = {} if reader.restarted else reader.start.extra
    seen_meta = bool(extra.get("meta"))
    searches: list[str] = [str(q) for q in extra.get("searches") or []]
    for line in reader:
        data = line.data
        kind = data.get("type")
        payload = data.get("payload")
        if not isinstance(payload, dict):
            # Older rollouts: bare meta first line, then bare response items.
            if line.index == 0 and "id" in data and kind is None:
                kind, payload = "session_meta", data
            elif kind in _RESPONSE_TYPES:
                kind, payload = "response_item", data
            else:
                session.ignored += 1
                continue
        when = parse_time(data.get("timestamp")) or parse_time(payload.get("timestamp"))
        session.note_time(when)
        if kind == "session_meta":
            if not seen_meta:
                seen_meta = True
                _read_meta(payload, session)
            else:
                session.ignored += 1
            continue
        if kind == "turn_context" and session.cwd is None and isinstance(payload.get("cwd"), str):
            session.cwd = payload["cwd"]
        source_id = f"@{line.offset}"
        event: ImportedEvent | None = None
        if kind == "response_item" and payload.get("type") == "web_search_call":
            event = _web_search(payload, when, source_id, "call", searches)
        elif kind == "event_msg" and payload.get("type") == "web_search_end":
            event = _web_search(payload, when, source_id, "event", searches)
        elif kind == "response_item":
            event = _response_event(payload, when, source_id, session)
        if event is None:
            session.ignored += 1
            continue
        session.events.append(event)
    session.skipped = reader.malformed
    session.pending_bytes = reader.pending_bytes
    session.restarted = reader.restarted
    session.complete = reader.complete
    end = reader.end
    state: dict[str, Any] = {"meta": True} if seen_meta else {}
    if searches:
        state["searches"] = searches[-_SEARCH_MEMORY:]
    session.end = Cursor(end.offset, end.line, end.check, state)
    return session


def _web_search(
    item: dict[str, Any], when: Any, source_id: str, way: str, searches: list[str]
) -> ImportedEvent | None:
    """A web search as a ``tool_call``; None when the other record of it was seen.

    ``searches`` holds ``<way>:<query>`` of searches seen one way only: a
    search seen the other way with the same query is the same search.
    """
    action = item.get("action")
    action = action if isinstance(action, dict) else {}
    query = item.get("query") if isinstance(item.get("query"), str) else action.get("query")
    target = query if isinstance(query, str) else action.get("url")
    key = str(target or "")
    other = ("event" if way == "call" else "call") + ":" + key
    if other in searches:
        searches.remove(other)
        return None
    searches.append(f"{way}:{key}")
    tool_input: dict[str, Any] = {"query": query} if isinstance(query, str) else {}
    if action:
        tool_input["action"] = action
    call_id = item.get("call_id") if isinstance(item.get("call_id"), str) else item.get("id")
    payload = tool_call_payload("web_search", tool_input, call_id)
    if isinstance(item.get("status"), str):
        payload["status"] = item["status"]
    return ImportedEvent(EventKind.TOOL_CALL, Actor.AGENT, when, payload, source_id)


def _read_meta(payload: dict[str, Any], session: ImportedSession) -> None:
    if isinstance(payload.get("id"), str) and payload["id"]:
        session.provider_ref = payload["id"]
    if isinstance(payload.get("cwd"), str):
        session.cwd = payload["cwd"]
    if isinstance(payload.get("forked_from_id"), str) and payload["forked_from_id"]:
        session.parent_ref = payload["forked_from_id"]
    created = parse_time(payload.get("timestamp"))
    session.note_time(created)
    git = payload.get("git")
    if isinstance(git, dict) and isinstance(git.get("branch"), str) and git["branch"]:
        session.branch = git["branch"]
        session.last_branch = git["branch"]


def _response_event(
    item: dict[str, Any], when: Any, source_id: str, session: ImportedSession
) -> ImportedEvent | None:
    item_type = item.get("type")
    if item_type == "message":
        role = item.get("role")
        text = flatten_text(item.get("content"))
        if not text:
            return None
        if role == "user":
            if text.lstrip().startswith(_INJECTED_PREFIXES):
                found = _CWD_TAG.search(text)
                if session.cwd is None and found:
                    session.cwd = found.group(1).strip()
                return None
            if session.first_prompt is None:
                session.first_prompt = text
            return ImportedEvent(
                EventKind.PROMPT, Actor.USER, when, clipped_text_payload(text), source_id
            )
        if role == "assistant":
            return ImportedEvent(
                EventKind.RESPONSE, Actor.AGENT, when, clipped_text_payload(text), source_id
            )
        return None
    if item_type in ("function_call", "custom_tool_call"):
        raw = item.get("arguments") if item_type == "function_call" else item.get("input")
        payload = tool_call_payload(item.get("name"), _maybe_json(raw), item.get("call_id"))
        source_id = _tool_source_id(item, "call", source_id)
        return ImportedEvent(EventKind.TOOL_CALL, Actor.AGENT, when, payload, source_id)
    if item_type in ("function_call_output", "custom_tool_call_output"):
        output, failed, exit_code = _unwrap_output(item.get("output"))
        payload = tool_result_payload(
            item.get("call_id"), output, isError=failed, exitCode=exit_code
        )
        source_id = _tool_source_id(item, "result", source_id)
        return ImportedEvent(EventKind.TOOL_RESULT, Actor.AGENT, when, payload, source_id)
    if item_type == "local_shell_call":
        return ImportedEvent(EventKind.COMMAND, Actor.AGENT, when, _shell_payload(item), source_id)
    return None


def _tool_source_id(item: dict[str, Any], phase: str, fallback: str) -> str:
    """``cx:<call_id>:<phase>``, the Codex hook's id for the same call; ``fallback``
    (the line's offset) for an item without a call id."""
    call_id = item.get("call_id")
    return f"cx:{call_id}:{phase}" if isinstance(call_id, str) and call_id else fallback


def _unwrap_output(output: Any) -> tuple[Any, bool | None, int | None]:
    """Tool output, failure flag and exit code from the shapes Codex has written.

    Older rollouts hold ``{content, success}``; newer ones a JSON string
    ``{"output": ..., "metadata": {"exit_code": ...}}``; plain text otherwise.
    """
    if isinstance(output, str) and output.startswith("{"):
        parsed = _maybe_json(output)
        if isinstance(parsed, dict) and "output" in parsed:
            meta = parsed.get("metadata")
            code = meta.get("exit_code") if isinstance(meta, dict) else None
            exit_code = code if isinstance(code, int) and not isinstance(code, bool) else None
            failed = True if exit_code not in (None, 0) else None
            return parsed["output"], failed, exit_code
    if isinstance(output, dict):
        failed = True if output.get("success") is False else None
        return output.get("content", output), failed, None
    return output, None, None


def _maybe_json(raw: Any) -> Any:
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _shell_payload(item: dict[str, Any]) -> dict[str, Any]:
    found = item.get("action")
    action: dict[str, Any] = found if isinstance(found, dict) else {}
    argv = action.get("command")
    if isinstance(argv, list) and all(isinstance(arg, str) for arg in argv):
        command = shlex.join(argv)
    else:
        command = str(argv or "")
    payload: dict[str, Any] = clipped_text_payload(command, key="command")
    if isinstance(action.get("working_directory"), str):
        payload["cwd"] = action["working_directory"]
    if isinstance(item.get("status"), str):
        payload["status"] = item["status"]
    if isinstance(item.get("call_id"), str):
        payload["toolUseId"] = item["call_id"]
    return payload
