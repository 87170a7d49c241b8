"""Gemini CLI chats: ``~/.gemini/tmp/<project>/chats/session-<minute>-<id8>.jsonl``.

The format is Gemini CLI's ``ChatRecordingService`` (packages/core, since the
JSONL migration; older files are one JSON ``ConversationRecord``,
``session-*.json``, and are read too):

- the first line is the metadata: ``sessionId``, ``projectHash``,
  ``startTime``, ``lastUpdated``, ``kind`` (``main`` | ``subagent``),
  ``directories``, ``summary``;
- each message is a line ``{id, timestamp, type, content, displayContent?,
  toolCalls?, model?}``; a message that changes (its tool calls get results,
  its tokens arrive) is written again with the same ``id``;
- ``{"$set": {...}}`` updates the metadata, and ``$set.messages`` replaces the
  whole history (a checkpoint); ``{"$rewindTo": id}`` drops messages from
  ``id`` on.

Messages are kept by id: every event's source id derives from its message id
(``<id>:prompt``, ``<id>:text``) or tool call id (``gm:<callId>:call``,
``gm:<callId>:result``), so a message written again, or repeated by a
checkpoint, adds nothing. A rewind cannot take back what was imported; it is
counted in ``ignored``.

A checkpoint is no record of when its messages happened: Gemini CLI 0.61
writes one on every resume, and when the resume goes on in the same file it
stamps every message with the resume's time (a tool call keeps its own
``timestamp``). Messages read from a checkpoint therefore carry no time of
their own (the loader gives them the previous event's), so a message first
read there (the import began after its own line, or a hook merge left it
out) sorts where it happened, never after the turns that followed it.

Mapping: ``user`` -> ``prompt`` (``displayContent`` when present: what the
person typed, before file contents were inlined); user text Gemini CLI
ignores on resume (slash commands, ``<hook_context>``, ``<session_context>``)
-> ``note``, also a ``<hook_context>`` part a BeforeAgent hook added after
the typed text (``<id>:hook``); ``gemini`` -> ``response`` plus a
``tool_call`` per tool call and a ``tool_result`` once it has a result;
``info`` / ``warning`` / ``error`` -> ``note``.

Where the project is: ``<project>/.project_root`` (written by Gemini CLI's
project registry), else ``~/.gemini/projects.json``, else the session's first
workspace directory. Gemini CLI records no branch. Sub-agent chats live in
``chats/<parent session id>/<session id>.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
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

PROVIDER = "gemini"
_LEGACY_LIMIT = 64 * 1024 * 1024
_IGNORED_PREFIXES = ("/", "?", "<session_context>", "<hook_context>")


def gemini_home(home: Path | None = None, env: Mapping[str, str] | None = None) -> Path:
    """Gemini CLI's folder: ``$GEMINI_CLI_HOME/.gemini`` when set, else ``~/.gemini``."""
    import os

    configured = (os.environ if env is None else env).get("GEMINI_CLI_HOME")
    base = Path(configured) if configured else (home or Path.home())
    return base / ".gemini"


def _project_roots(base: Path) -> dict[str, str]:
    """``<project folder name>`` -> project root, from the registry and the markers."""
    roots: dict[str, str] = {}
    try:
        data = json.loads((base / "projects.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    projects = data.get("projects") if isinstance(data, dict) else None
    for root, slug in (projects or {}).items():
        if isinstance(root, str) and isinstance(slug, str):
            roots[slug] = root
            roots[hashlib.sha256(root.encode("utf-8")).hexdigest()] = root
    tmp = base / "tmp"
    if tmp.is_dir():
        for marker in tmp.glob("*/.project_root"):
            try:
                roots[marker.parent.name] = marker.read_text(encoding="utf-8").strip()
            except OSError:
                continue
    return roots


def discover_gemini(
    home: Path | None = None,
    *,
    root: Path | None = None,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Iterator[Path]:
    """Yield chat files, main sessions before sub-agent chats, oldest first.

    ``root`` is Gemini CLI's folder (default :func:`gemini_home`); ``cwd``
    keeps the chats of that project only.
    """
    base = root or gemini_home(home, env)
    tmp = base / "tmp"
    if not tmp.is_dir():
        return
    projects = sorted(p for p in tmp.iterdir() if p.is_dir())
    if cwd is not None:
        roots = _project_roots(base)
        wanted = str(cwd)
        projects = [p for p in projects if roots.get(p.name) == wanted]
    for project in projects:
        chats = project / "chats"
        if not chats.is_dir():
            continue
        mains = sorted(chats.glob("session-*.json*"), key=lambda p: p.name)
        yield from (p for p in mains if p.suffix in (".jsonl", ".json"))
        yield from sorted(chats.glob("*/*.jsonl"))


class _Messages:
    """Turns message records into events, each id once per parse."""

    def __init__(self, session: ImportedSession) -> None:
        self.session = session
        self.seen: set[str] = set()

    def add(self, event: ImportedEvent) -> None:
        if event.source_id not in self.seen:
            self.seen.add(event.source_id)
            self.session.events.append(event)

    def message(self, record: dict[str, Any], *, checkpoint: bool = False) -> bool:
        """Add one message's events; False when the record is not a message.

        ``checkpoint``: the record is a copy in ``$set.messages``, whose timestamp
        is the checkpoint's, so its events get no time.
        """
        msg_id = record.get("id")
        if not isinstance(msg_id, str) or not msg_id:
            return False
        stamped = parse_time(record.get("timestamp"))
        self.session.note_time(stamped)
        when = None if checkpoint else stamped
        kind = record.get("type")
        if kind == "user":
            self._user(record, msg_id, when)
        elif kind == "gemini":
            self._gemini(record, msg_id, when)
        elif kind in ("info", "warning", "error"):
            text = _text(record.get("content"))
            if text:
                payload = clipped_text_payload(text) | {"subtype": kind}
                self.add(ImportedEvent(EventKind.NOTE, Actor.SYSTEM, when, payload, f"{msg_id}:0"))
        else:
            return False
        return True

    def _user(self, record: dict[str, Any], msg_id: str, when: Any) -> None:
        typed, context = _split_hook_context(record.get("content"))
        text = _text(record.get("displayContent")) or typed
        if text:
            self._typed(text, msg_id, when)
        if context:
            subtype, inner = system_note(context.strip()) or ("hook", context)
            payload = clipped_text_payload(inner) | {"subtype": subtype}
            self.add(ImportedEvent(EventKind.NOTE, Actor.SYSTEM, when, payload, f"{msg_id}:hook"))

    def _typed(self, text: str, msg_id: str, when: Any) -> None:
        stripped = text.strip()
        generated = system_note(stripped)
        if generated is None and stripped.startswith(_IGNORED_PREFIXES):
            generated = ("command" if stripped.startswith("/") else "hook", stripped)
        if generated is not None:
            payload = clipped_text_payload(generated[1]) | {"subtype": generated[0]}
            self.add(ImportedEvent(EventKind.NOTE, Actor.SYSTEM, when, payload, f"{msg_id}:prompt"))
            return
        if self.session.first_prompt is None:
            self.session.first_prompt = text
        payload = clipped_text_payload(text)
        self.add(ImportedEvent(EventKind.PROMPT, Actor.USER, when, payload, f"{msg_id}:prompt"))

    def _gemini(self, record: dict[str, Any], msg_id: str, when: Any) -> None:
        text = _text(record.get("content"))
        if text:
            payload = clipped_text_payload(text)
            if isinstance(record.get("model"), str):
                payload["model"] = record["model"]
            self.add(
                ImportedEvent(EventKind.RESPONSE, Actor.AGENT, when, payload, f"{msg_id}:text")
            )
        calls = record.get("toolCalls")
        for call in calls if isinstance(calls, list) else []:
            if isinstance(call, dict) and isinstance(call.get("id"), str):
                self._tool(call, when)

    def _tool(self, call: dict[str, Any], when: Any) -> None:
        call_id = call["id"]
        at = parse_time(call.get("timestamp")) or when
        payload = tool_call_payload(call.get("name"), call.get("args"), call_id)
        self.add(ImportedEvent(EventKind.TOOL_CALL, Actor.AGENT, at, payload, f"gm:{call_id}:call"))
        status = call.get("status")
        if call.get("result") is None and status not in ("error", "cancelled"):
            return
        output = _tool_output(call.get("result"))
        if not output and isinstance(call.get("resultDisplay"), str):
            output = call["resultDisplay"]
        failed = True if status in ("error", "cancelled") else None
        result = tool_result_payload(call_id, output, name=call.get("name"), isError=failed)
        self.add(
            ImportedEvent(EventKind.TOOL_RESULT, Actor.AGENT, at, result, f"gm:{call_id}:result")
        )


def _text(content: Any) -> str:
    """The text parts of a ``PartListUnion`` (string, part or list of parts)."""
    if isinstance(content, str):
        return content
    parts = content if isinstance(content, list) else [content]
    texts = [p if isinstance(p, str) else p.get("text") for p in parts if isinstance(p, str | dict)]
    return "".join(t for t in texts if isinstance(t, str))


def _split_hook_context(content: Any) -> tuple[str, str]:
    """The typed text of a user message and the ``<hook_context>`` parts after it.

    A BeforeAgent hook's context is a part of its own in the user's message
    (``[{"text": "<prompt>"}, {"text": "<hook_context>...</hook_context>"}]``):
    it is not what the person typed. A message that starts with it stays whole
    (it becomes a note as a whole).
    """
    parts = content if isinstance(content, list) else [content]
    texts = [_text(part) for part in parts]
    first = next((i for i, t in enumerate(texts) if t), None)
    context = [
        i for i, t in enumerate(texts) if i != first and t.lstrip().startswith("<hook_context>")
    ]
    typed = "".join(t for i, t in enumerate(texts) if i not in context)
    return typed, "\n".join(texts[i] for i in context)


def _tool_output(result: Any) -> str:
    """The output of a tool call's ``functionResponse`` parts."""
    parts = result if isinstance(result, list) else [result]
    out: list[str] = []
    for part in parts:
        response = part.get("functionResponse") if isinstance(part, dict) else None
        body = response.get("response") if isinstance(response, dict) else None
        if isinstance(body, dict):
            value = body.get("output", body.get("error", body))
            out.append(value if isinstance(value, str) else flatten_text(value))
        elif isinstance(part, dict | str):
            out.append(flatten_text(part))
    return "\n".join(text for text in out if text)


def _apply_metadata(meta: dict[str, Any], session: ImportedSession, roots: dict[str, str]) -> None:
    if isinstance(meta.get("sessionId"), str) and meta["sessionId"]:
        session.provider_ref = meta["sessionId"]
    session.note_time(parse_time(meta.get("startTime")))
    session.note_time(parse_time(meta.get("lastUpdated")))
    if isinstance(meta.get("summary"), str) and meta["summary"].strip():
        session.name = meta["summary"].strip()
    directories = meta.get("directories")
    if session.cwd is None and isinstance(directories, list) and directories:
        first = directories[0]
        session.cwd = first if isinstance(first, str) else None
    project_hash = meta.get("projectHash")
    if session.cwd is None and isinstance(project_hash, str) and project_hash in roots:
        session.cwd = roots[project_hash]


def parse_gemini(
    path: Path, cursor: Cursor | None = None, *, max_lines: int | None = None
) -> ImportedSession:
    """Parse a Gemini CLI chat file (JSONL from ``cursor``, or a whole legacy JSON file)."""
    session = ImportedSession(provider=PROVIDER, provider_ref=path.stem, path=path)
    chats = path.parent if path.parent.name == "chats" else path.parent.parent
    base = chats.parent.parent.parent
    roots = _project_roots(base)
    session.cwd = roots.get(chats.parent.name)
    if path.parent.name != "chats":  # chats/<parent session id>/<session id>.jsonl
        session.parent_ref = session.root_ref = path.parent.name
        session.agent_name = "subagent"
    messages = _Messages(session)
    if path.suffix == ".json":
        _parse_legacy(path, session, messages, roots)
        return session
    reader = JsonlReader(path, cursor, max_lines)
    session.start = reader.start
    for line in reader:
        data = line.data
        if "$rewindTo" in data:
            session.ignored += 1
        elif isinstance(data.get("$set"), dict):
            update = data["$set"]
            _apply_metadata(update, session, roots)
            history = update.get("messages")
            for record in history if isinstance(history, list) else []:
                if isinstance(record, dict):
                    messages.message(record, checkpoint=True)
        elif not messages.message(data):
            if isinstance(data.get("sessionId"), str):
                _apply_metadata(data, session, roots)
            else:
                session.ignored += 1
    session.skipped = reader.malformed
    session.pending_bytes = reader.pending_bytes
    session.restarted = reader.restarted
    session.complete = reader.complete
    session.end = reader.end
    return session


def _parse_legacy(
    path: Path, session: ImportedSession, messages: _Messages, roots: dict[str, str]
) -> None:
    """A whole ``ConversationRecord`` in one JSON file (read in full every time)."""
    try:
        if path.stat().st_size > _LEGACY_LIMIT:
            raise ValueError("too large")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        session.skipped += 1
        return
    if not isinstance(data, dict):
        session.skipped += 1
        return
    _apply_metadata(data, session, roots)
    history = data.get("messages")
    for record in history if isinstance(history, list) else []:
        if isinstance(record, dict) and not messages.message(record):
            session.ignored += 1
