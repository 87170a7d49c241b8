"""The neutral result of parsing another tool's session file, and the line reader.

Every importer turns its tool's files into one :class:`ImportedSession` holding
:class:`ImportedEvent` items. Nothing here touches the database: the loader
(:mod:`sidecar.services.imports`) maps the result onto the store.

Files are streamed line by line and only *complete* lines (ending in a newline)
are consumed. A trailing fragment without a newline is what a tool is still
writing: it is neither consumed nor counted as malformed; its size is reported
as ``pending_bytes`` and it is read on the next import once its newline lands.
A :class:`Cursor` records where an import stopped, so the next one reads only
new lines; a short fingerprint of the bytes just before the offset detects a
file that was rewritten or truncated meanwhile, and then the file is re-read
from the start (source ids keep that re-read idempotent).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sidecar.core.kinds import Actor, EventKind
from sidecar.core.payloads import (
    TEXT_LIMIT as TEXT_LIMIT,
    TOOL_OUTPUT_LIMIT as TOOL_OUTPUT_LIMIT,
    clip as clip,
    clip_strings as clip_strings,
    clipped_text_payload as clipped_text_payload,
    flatten_text as flatten_text,
    tool_call_payload as tool_call_payload,
    tool_result_payload as tool_result_payload,
)

MAX_LINE_BYTES = 64 * 1024 * 1024
"""A longer line is skipped (and counted malformed) instead of being held in memory."""

_CHECK_BYTES = 64
"""How many bytes before the cursor offset are fingerprinted."""


@dataclass
class ImportedEvent:
    """One event parsed from a provider file.

    ``source_id`` is stable for the same line (and part of it) across imports,
    so the loader uses it as the client event id and re-import adds nothing.
    ``origin_id`` is set on events a fork copied from its parent: the source id
    the same event has in the parent's file, so the loader can find the fork
    point and leave the copies out.
    """

    kind: EventKind
    actor: Actor
    time: datetime | None
    payload: dict[str, Any]
    source_id: str
    origin_id: str | None = None


@dataclass(frozen=True)
class Cursor:
    """Where an import of one file stopped, plus state that must carry over.

    ``extra`` holds provider state needed to continue correctly, e.g. the last
    branch seen in a Claude Code file (so a switch right at the chunk boundary
    still yields a ``branch_change``).
    """

    offset: int = 0
    line: int = 0
    check: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (for ``store.put_state``)."""
        return {"offset": self.offset, "line": self.line, "check": self.check, "extra": self.extra}

    @classmethod
    def from_json(cls, value: Any) -> Cursor:
        """Rebuild a cursor from :meth:`to_json` output; anything unusable gives the start."""
        if not isinstance(value, dict):
            return cls()
        offset, line, check = value.get("offset"), value.get("line"), value.get("check")
        extra = value.get("extra")
        if not isinstance(offset, int) or offset < 0 or not isinstance(line, int):
            return cls()
        return cls(
            offset=offset,
            line=line,
            check=check if isinstance(check, str) else "",
            extra=extra if isinstance(extra, dict) else {},
        )


@dataclass
class ImportedSession:
    """One provider session (or the new part of it) in neutral form.

    ``name`` is an explicit title found in the file (a custom title or a
    summary), ``first_prompt`` the fallback for naming. ``created_at`` is the
    earliest time seen, since lines are not in time order. ``branch`` is the
    branch at the first line read from the start of the file; ``None`` means
    none recorded (outside git, or the tool does not record it). ``forked_at``
    is the provider's reference of the fork point (a message uuid for Claude
    Code, a turn number for Amplifier).
    """

    provider: str
    provider_ref: str
    path: Path
    name: str | None = None
    description: str = ""
    first_prompt: str | None = None
    cwd: str | None = None
    branch: str | None = None
    branch_inferred: bool = False
    last_branch: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    parent_ref: str | None = None
    forked_at: str | None = None
    agent_name: str | None = None
    root_ref: str | None = None
    agent_names: dict[str, str] = field(default_factory=dict)
    events: list[ImportedEvent] = field(default_factory=list)
    skipped: int = 0
    ignored: int = 0
    pending_bytes: int = 0
    restarted: bool = False
    start: Cursor = field(default_factory=Cursor)
    end: Cursor = field(default_factory=Cursor)
    complete: bool = True
    children: list[ImportedSession] = field(default_factory=list)
    """Sub-sessions found inside this file (Claude Code 1.0.x inline sidechains): each is
    stored as its own session under this one, sharing this file's cursor."""
    discard: str | None = None
    """Why this file is not a session worth keeping (a warm-up or compaction run);
    the loader records its cursor and imports nothing."""

    @property
    def end_offset(self) -> int:
        """Bytes of the file consumed so far (complete lines only)."""
        return self.end.offset

    def note_time(self, when: datetime | None) -> None:
        """Widen the created/updated range with one line's time."""
        if when is None:
            return
        if self.created_at is None or when < self.created_at:
            self.created_at = when
        if self.updated_at is None or when > self.updated_at:
            self.updated_at = when


@dataclass
class JsonLine:
    """One parsed line: its byte offset, its index in the file and its object."""

    offset: int
    index: int
    data: dict[str, Any]
    raw: bytes


class JsonlReader:
    """Streams the complete JSON-object lines of a file from a cursor.

    Iterate it to get :class:`JsonLine` items; afterwards ``end`` is the cursor
    after the last consumed line, ``malformed`` the count of complete lines
    that were not a JSON object, ``pending_bytes`` the size of an unfinished
    last line, ``restarted`` whether the cursor no longer matched the file.
    ``max_lines`` stops early (``complete`` is then False) to bound memory.
    """

    def __init__(
        self,
        path: Path,
        cursor: Cursor | None = None,
        max_lines: int | None = None,
        *,
        worth_parsing: Callable[[bytes], bool] | None = None,
    ):
        self.path = path
        self.max_lines = max_lines
        self.worth_parsing = worth_parsing
        """A cheap test of a raw line; lines it rejects are counted in ``passed_over``
        and never parsed (most of a transcript can be bookkeeping the importer skips)."""
        self.passed_over = 0
        start = cursor or Cursor()
        self.restarted = False
        if start.offset and not _cursor_matches(path, start):
            start = Cursor()
            self.restarted = True
        self.start = start
        self.malformed = 0
        self.pending_bytes = 0
        self.complete = True
        self._offset = start.offset
        self._index = start.line
        self._tail = _read_before(path, start.offset) if start.offset else b""
        self._extra = dict(start.extra)

    @property
    def end(self) -> Cursor:
        """The cursor after the last consumed line (carrying the start's ``extra``)."""
        return Cursor(self._offset, self._index, _digest(self._tail), dict(self._extra))

    def __iter__(self) -> Iterator[JsonLine]:
        with self.path.open("rb") as handle:
            handle.seek(self._offset)
            consumed = 0
            while True:
                if self.max_lines is not None and consumed >= self.max_lines:
                    self.complete = handle.read(1) == b""
                    break
                raw = handle.readline(MAX_LINE_BYTES)
                if not raw:
                    break
                if not raw.endswith(b"\n"):
                    rest = None if len(raw) < MAX_LINE_BYTES else _skip_to_newline(handle)
                    if rest is None:
                        # An unfinished line: the tool is still writing it.
                        self.pending_bytes = max(0, self.path.stat().st_size - self._offset)
                        break
                    consumed += 1
                    self.malformed += 1
                    self._step(len(raw) + rest[0], (raw + rest[1])[-_CHECK_BYTES:])
                    continue
                line_offset, line_index = self._offset, self._index
                consumed += 1
                # Advance before yielding so a consumer that stops early still
                # sees the cursor after the last line it received.
                self._step(len(raw), raw)
                if self.worth_parsing is not None and not self.worth_parsing(raw):
                    self.passed_over += 1
                    continue
                data = _parse_object(raw)
                if data is _BLANK:
                    continue
                if not isinstance(data, dict):
                    self.malformed += 1
                    continue
                yield JsonLine(line_offset, line_index, data, raw)

    def _step(self, size: int, raw: bytes) -> None:
        self._offset += size
        self._index += 1
        if len(raw) >= _CHECK_BYTES:  # no copy of a long line just to keep its end
            self._tail = raw[-_CHECK_BYTES:]
        else:
            self._tail = (self._tail + raw)[-_CHECK_BYTES:]


_BLANK = object()


_decode = json.JSONDecoder().decode


def _parse_object(raw: bytes) -> Any:
    # The common case first: a UTF-8 line decoded without json.loads' encoding detection
    # and without copying the line to strip it (import time is mostly this).
    try:
        return _decode(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        pass
    stripped = raw.strip()
    if not stripped:
        return _BLANK
    try:
        return json.loads(stripped)  # a byte-order mark, or another Unicode encoding
    except (ValueError, RecursionError):
        return None


def _skip_to_newline(handle: Any) -> tuple[int, bytes] | None:
    """Consume the rest of an oversized line: its size and last bytes (None at end of file)."""
    size, last = 0, b""
    while True:
        chunk = handle.readline(1024 * 1024)
        if not chunk:
            return None
        size += len(chunk)
        last = (last + chunk)[-_CHECK_BYTES:]
        if chunk.endswith(b"\n"):
            return size, last


def _digest(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()[:16]


def _read_before(path: Path, offset: int) -> bytes:
    with path.open("rb") as handle:
        start = max(0, offset - _CHECK_BYTES)
        handle.seek(start)
        return handle.read(offset - start)


def _cursor_matches(path: Path, cursor: Cursor) -> bool:
    try:
        if path.stat().st_size < cursor.offset:
            return False
        return _digest(_read_before(path, cursor.offset)) == cursor.check
    except OSError:
        return False


def parse_time(value: Any) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 string or epoch seconds; None if unusable.

    >>> parse_time("2025-07-28T22:54:41.466Z").isoformat()
    '2025-07-28T22:54:41.466000+00:00'
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value  # milliseconds since the epoch
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # Naive times in these files are UTC (Amplifier writes isoformat of UTC now).
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
