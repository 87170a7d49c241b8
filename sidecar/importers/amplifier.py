"""Amplifier sessions: ``~/.amplifier/projects/<slug>/sessions/<session_id>/``.

- ``metadata.json`` gives the session id, name, description, creation time,
  working directory and lineage: forks carry ``parent_id`` and
  ``forked_from_turn``; sub-agent sessions (``<parent>_<agent>``) carry
  ``parent_id``, ``agent_name`` and ``trace_id`` (the root of the delegation).
- ``transcript.jsonl`` roles map to events: ``user`` -> ``prompt``,
  ``assistant`` -> ``response`` plus one ``tool_call`` per ``tool_call`` /
  ``tool_use`` block or ``tool_calls`` entry, ``tool`` -> ``tool_result``.
  Content may be a string or a list of blocks; ``thinking`` blocks are skipped.
  Times come from ``metadata.timestamp``, else a top-level ``timestamp``.
- ``events.jsonl`` (a debug log that grows to hundreds of MB and repeats the
  transcript) is never opened.
- Amplifier records no branch: ``branch`` stays None and the loader decides
  whether to infer it from the working directory.

Amplifier rewrites ``transcript.jsonl`` as a whole on every save (and its
tools can rewind a session by truncating it), so source ids are
``t<line index>:<hash of the line>:<part>``: an unchanged line keeps its id
when the file is rewritten, and a rewound-then-continued line gets a new one.
"""

from __future__ import annotations

import contextlib
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
    JsonLine,
    JsonlReader,
    clipped_text_payload,
    flatten_text,
    parse_time,
    tool_call_payload,
    tool_result_payload,
)

PROVIDER = "amplifier"
_METADATA_LIMIT = 4 * 1024 * 1024
_TOOL_CALL_BLOCKS = frozenset({"tool_call", "tool_use"})
_TEXT_BLOCKS = frozenset({"text", "output_text", "input_text"})


def project_slug(cwd: str | Path) -> str:
    """Amplifier's folder name for a working directory.

    ``/`` and ``\\`` become ``-``, ``:`` is dropped and a leading ``-`` is
    ensured (as amplifier-app-cli's ``get_project_slug`` does).

    >>> project_slug("/home/u/app")
    '-home-u-app'
    >>> project_slug("C:\\\\work\\\\app")
    '-C-work-app'
    """
    slug = str(cwd).replace("/", "-").replace("\\", "-").replace(":", "")
    return slug if slug.startswith("-") else "-" + slug


def discover_amplifier(
    home: Path | None = None,
    root: Path | None = None,
    cwd: str | Path | None = None,
) -> Iterator[Path]:
    """Yield session folders, top-level sessions before sub-agent sessions.

    ``root`` defaults to ``<home>/.amplifier/projects``; ``cwd`` limits the
    walk to that directory's project.
    """
    root = root or (home or Path.home()) / ".amplifier" / "projects"
    if cwd is not None:
        projects = [root / project_slug(cwd)]
    else:
        projects = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for project in projects:
        sessions = project / "sessions"
        if not sessions.is_dir():
            continue
        folders = [
            p
            for p in sessions.iterdir()
            if (p / "transcript.jsonl").is_file() or (p / "metadata.json").is_file()
        ]
        # Sub-agent ids are ``<parent>_<agent>``: importing parents first lets
        # the loader link each child to an existing parent.
        yield from sorted(folders, key=lambda p: (p.name.count("_"), p.name))


def read_metadata(folder: Path) -> dict[str, Any] | None:
    """``metadata.json`` as a dict; None when missing, oversized or not a JSON object."""
    path = folder / "metadata.json"
    try:
        if path.stat().st_size > _METADATA_LIMIT:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def parse_amplifier(
    folder: Path, cursor: Cursor | None = None, *, max_lines: int | None = None
) -> ImportedSession:
    """Parse an Amplifier session folder; the cursor applies to ``transcript.jsonl``."""
    session = ImportedSession(provider=PROVIDER, provider_ref=folder.name, path=folder)
    metadata = read_metadata(folder)
    if metadata is None and (folder / "metadata.json").exists():
        session.skipped += 1
    _apply_metadata(metadata or {}, session)
    transcript = folder / "transcript.jsonl"
    if not transcript.is_file():
        session.start = session.end = cursor or Cursor()
        return session
    reader = JsonlReader(transcript, cursor, max_lines)
    session.start = reader.start
    fork = session.forked_at is not None
    for line in reader:
        events = list(_line_events(line, session))
        if not events:
            session.ignored += 1
        if fork:
            # A fork starts with a copy of the parent's transcript; copied lines
            # are byte-identical, so their ids match the parent's.
            for event in events:
                event.origin_id = event.source_id
        session.events.extend(events)
    session.skipped += reader.malformed
    session.pending_bytes = reader.pending_bytes
    session.restarted = reader.restarted
    session.complete = reader.complete
    session.end = reader.end
    return session


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _apply_metadata(meta: Mapping[str, Any], session: ImportedSession) -> None:
    session.provider_ref = _text(meta.get("session_id")) or session.provider_ref
    session.name = _text(meta.get("name"))
    session.description = _text(meta.get("description")) or ""
    session.cwd = _text(meta.get("working_dir"))
    session.note_time(parse_time(meta.get("created")))
    parent = _text(meta.get("parent_id"))
    agent = _text(meta.get("agent_name"))
    if parent is None:
        return
    session.parent_ref = parent
    if agent is None and session.provider_ref.startswith(parent + "_"):
        agent = session.provider_ref.removeprefix(parent + "_")
    if agent is not None and meta.get("forked_from_turn") is None:
        session.agent_name = agent
        session.root_ref = _text(meta.get("trace_id")) or parent
    elif meta.get("forked_from_turn") is not None:
        session.forked_at = str(meta["forked_from_turn"])


def _line_events(line: JsonLine, session: ImportedSession) -> Iterator[ImportedEvent]:
    data = line.data
    meta = data.get("metadata")
    stamp = meta.get("timestamp") if isinstance(meta, dict) else None
    when = parse_time(stamp) or parse_time(data.get("timestamp"))
    session.note_time(when)
    digest = hashlib.sha1(line.raw.strip(), usedforsecurity=False).hexdigest()[:10]
    key = f"t{line.index}:{digest}"
    role = data.get("role")
    content = data.get("content")
    blocks: list[Any] = content if isinstance(content, list) else []
    if role == "tool":
        payload = tool_result_payload(
            data.get("tool_call_id"), content, name=_text(data.get("name"))
        )
        yield ImportedEvent(EventKind.TOOL_RESULT, Actor.AGENT, when, payload, f"{key}:0")
    elif role == "user":
        for index, block in enumerate(blocks):
            if isinstance(block, dict) and block.get("type") == "tool_result":
                tool_id = block.get("tool_call_id") or block.get("tool_use_id")
                output = block.get("output", block.get("content"))
                payload = tool_result_payload(tool_id, output)
                yield ImportedEvent(
                    EventKind.TOOL_RESULT, Actor.AGENT, when, payload, f"{key}:{index + 1}"
                )
        text = _plain_text(content)
        if text:
            if session.first_prompt is None:
                session.first_prompt = text
            payload = clipped_text_payload(text)
            yield ImportedEvent(EventKind.PROMPT, Actor.USER, when, payload, f"{key}:0")
    elif role == "assistant":
        text = _plain_text(content)
        if text:
            payload = clipped_text_payload(text)
            yield ImportedEvent(EventKind.RESPONSE, Actor.AGENT, when, payload, f"{key}:0")
        for index, block in enumerate(blocks):
            if isinstance(block, dict) and block.get("type") in _TOOL_CALL_BLOCKS:
                yield _tool_call(block, when, f"{key}:{index + 1}")
        calls = data.get("tool_calls")
        for index, call in enumerate(calls if isinstance(calls, list) else []):
            if isinstance(call, dict):
                yield _tool_call(call, when, f"{key}:c{index}")


def _plain_text(content: Any) -> str:
    """Text of a message, leaving out tool and thinking blocks."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    texts = [
        block if isinstance(block, str) else flatten_text([block])
        for block in content
        if isinstance(block, str) or (isinstance(block, dict) and block.get("type") in _TEXT_BLOCKS)
    ]
    return "\n".join(text for text in texts if text)


def _tool_call(block: dict[str, Any], when: Any, source_id: str) -> ImportedEvent:
    name = block.get("name") or block.get("tool")
    tool_input = block.get("input", block.get("arguments"))
    if isinstance(tool_input, str):
        with contextlib.suppress(ValueError):
            tool_input = json.loads(tool_input)
    payload = tool_call_payload(name, tool_input, block.get("id"))
    return ImportedEvent(EventKind.TOOL_CALL, Actor.AGENT, when, payload, source_id)
