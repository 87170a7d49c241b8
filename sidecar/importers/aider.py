"""Aider chats: ``.aider.chat.history.md`` (and ``.aider.input.history``) in the repository.

The format is aider's own (aider-chat 0.86, ``aider/io.py`` of
github.com/Aider-AI/aider; unchanged in substance since 0.x): aider appends to
``<git root>/.aider.chat.history.md`` (``--chat-history-file``, defaults in
``aider/args.py``):

- ``\\n# aider chat started at YYYY-MM-DD HH:MM:SS\\n\\n`` when it starts
  (``InputOutput.__init__``; ``datetime.now()``, local time, no zone);
- what the person typed, each line as ``#### <line>  `` (``user_input``;
  an empty input is ``#### <blank>``);
- the model's answer as a plain markdown block (``ai_output``);
- aider's own output, confirmations and errors as ``> <line>  ``
  blockquote lines (``tool_output``, ``tool_error``, ``confirm_ask``).

aider's ``split_chat_history_markdown`` (``aider/utils.py``) reads the file
back the same way: ``#### `` lines are the user's, ``> `` lines aider's
(``tool``), the rest the assistant's.

Each ``# aider chat started at`` block is one session, so the unit of import is
``<history file>#<start time>`` (:func:`session_unit`), and the session's
working folder is the file's folder (aider's git root). Mapping: ``#### `` runs
-> ``prompt`` (a slash command other than the chat-mode ones ``/ask``,
``/code``, ``/architect``, ``/context`` -> ``note`` ``command``); answer blocks
-> ``response``; ``> `` runs -> ``note`` ``aider-output``. aider records no
tool calls (edits are applied from the answer's text and reported in ``> ``
lines) and no branch.

Times: the start line gives the session's start. A prompt's time comes from
``.aider.input.history`` beside it, prompt_toolkit's ``FileHistory``
(``\\n# <datetime.now()>\\n+<line>\\n...``, local time), matched in order by
text; an answer has no time of its own and sorts after its prompt.

Source ids are byte offsets of the blocks in the file (aider only appends);
the cursor keeps the offset read so far, checked like the line reader's.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sidecar.core.models import Actor, EventKind

from .common import Cursor, ImportedEvent, ImportedSession, clipped_text_payload, parse_time

PROVIDER = "aider"
CHAT_HISTORY = ".aider.chat.history.md"
INPUT_HISTORY = ".aider.input.history"
_SEPARATOR = "#"
_HEADER = re.compile(rb"^# aider chat started at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\s*$")
_INPUT_TIME = re.compile(r"^# (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)\s*$")
_CHAT_MODES = ("/ask", "/code", "/architect", "/context")
_CHECK_BYTES = 64


def session_unit(history: Path, stamp: str) -> Path:
    """The import unit of the session started at ``stamp`` in ``history``."""
    return history.with_name(f"{history.name}{_SEPARATOR}{stamp}")


def split_unit(unit: Path) -> tuple[Path, str]:
    """``(history file, start stamp)`` of a unit made by :func:`session_unit`."""
    name, _, stamp = unit.name.partition(_SEPARATOR)
    return unit.with_name(name), stamp


def local_time(text: str) -> datetime | None:
    """An aware UTC time from aider's local ``YYYY-MM-DD HH:MM:SS[.ffffff]``."""
    for form in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, form).astimezone(UTC)
        except ValueError:
            continue
    return None


def _stamp(raw: str) -> str:
    return raw.replace(" ", "T")


def _headers(history: Path) -> list[tuple[str, int]]:
    """``(unit stamp, byte offset)`` of every session start, a repeated stamp made unique."""
    found: list[tuple[str, int]] = []
    seen: dict[str, int] = {}
    offset = 0
    with history.open("rb") as handle:
        for raw in handle:
            match = _HEADER.match(raw) if raw.endswith(b"\n") else None
            if match:
                stamp = _stamp(match.group(1).decode())
                seen[stamp] = seen.get(stamp, 0) + 1
                if seen[stamp] > 1:
                    stamp = f"{stamp}~{seen[stamp]}"
                found.append((stamp, offset))
            offset += len(raw)
    return found


def discover_aider(
    home: Path | None = None, *, root: Path | None = None, cwd: str | Path | None = None
) -> Iterator[Path]:
    """Yield one unit per session of the chat history in ``root`` or ``cwd``, oldest first.

    aider keeps its history in the repository, not in a home folder: without a
    folder there is nothing to find. ``root`` may be the folder or the file.
    """
    base = root if root is not None else Path(cwd) if cwd is not None else None
    if base is None:
        return
    history = base if base.is_file() else base / CHAT_HISTORY
    if not history.is_file():
        return
    for stamp, _ in _headers(history):
        yield session_unit(history, stamp)


@dataclass
class _Block:
    kind: str  # "user", "aider", "assistant", "garbage"
    offset: int
    lines: list[str]


def _blocks(data: bytes, base: int) -> Iterator[_Block]:
    """The runs of user, aider and assistant lines of one session's bytes.

    A line that is not UTF-8 (aider writes UTF-8) is a ``garbage`` block of its own.
    """
    current: _Block | None = None
    offset = base
    for raw in data.splitlines(keepends=True):
        try:
            line = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield _Block("garbage", offset, [])
            offset += len(raw)
            continue
        if line.startswith("#### "):
            kind, text = "user", line[5:]
        elif line.startswith("> ") or line == ">":
            kind, text = "aider", line[2:]
        else:
            kind, text = "assistant", line
        if line.endswith("  ") and kind != "assistant":
            text = text[:-2]
        if current is None or current.kind != kind:
            if current is not None:
                yield current
            current = _Block(kind, offset, [])
        current.lines.append(text)
        offset += len(raw)
    if current is not None:
        yield current


def _input_times(folder: Path) -> list[tuple[datetime, str]]:
    """``(time, text)`` of every entry of ``.aider.input.history``, oldest first."""
    try:
        text = (folder / INPUT_HISTORY).read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return []
    entries: list[tuple[datetime, str]] = []
    when: datetime | None = None
    lines: list[str] = []

    def flush() -> None:
        if when is not None and lines:
            entries.append((when, "\n".join(lines)))

    for line in text.splitlines():
        if line.startswith("+"):
            lines.append(line[1:])
            continue
        match = _INPUT_TIME.match(line)
        if match:
            flush()
            when, lines = local_time(match.group(1)), []
    flush()
    return entries


def _digest(data: bytes) -> str:
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()[:16]


def parse_aider(
    unit: Path, cursor: Cursor | None = None, *, max_lines: int | None = None
) -> ImportedSession:
    """Parse one aider session (``unit`` from :func:`session_unit`) from ``cursor``.

    ``max_lines`` is accepted for the loader's signature; a session is read whole.
    """
    unit = unit.parent.resolve() / unit.name
    history, stamp = split_unit(unit)
    session = ImportedSession(provider=PROVIDER, provider_ref=str(unit), path=unit)
    session.cwd = str(history.parent)
    headers = _headers(history) if history.is_file() else []
    starts = dict(headers)
    if stamp not in starts:
        session.end = session.start = cursor or Cursor()
        return session
    begin = starts[stamp]
    following = [offset for _, offset in headers if offset > begin]
    stop = following[0] if following else None
    session.note_time(local_time(stamp.split("~")[0].replace("T", " ")))
    with history.open("rb") as handle:
        handle.seek(begin)
        data = handle.read() if stop is None else handle.read(stop - begin)
    if stop is None:  # an unfinished last line is still being written
        cut = data.rfind(b"\n") + 1
        session.pending_bytes = len(data) - cut
        data = data[:cut]
    end = begin + len(data)
    start = cursor or Cursor()
    if start.offset and (
        not begin <= start.offset <= end
        or _digest(data[max(0, start.offset - begin - _CHECK_BYTES) : start.offset - begin])
        != start.check
    ):
        session.restarted, start = True, Cursor()
    session.start = start
    skip = max(0, start.offset - begin)
    header_end = data.find(b"\n") + 1
    read_from = max(skip, header_end)
    last = parse_time(start.extra.get("typed"))
    typed = _add_events(
        session, data[read_from:], begin + read_from, _input_times(history.parent), last
    )
    extra = {"typed": typed.isoformat()} if typed else {}
    session.end = Cursor(end, 0, _digest(data[-_CHECK_BYTES:]), extra)
    return session


def _add_events(
    session: ImportedSession,
    data: bytes,
    base: int,
    typed: list[tuple[datetime, str]],
    last: datetime | None,
) -> datetime | None:
    """Add the events of ``data``; the input-history time of the last prompt matched."""
    since = last or session.created_at
    for block in _blocks(data, base):
        if block.kind == "garbage":
            session.skipped += 1
            continue
        text = "\n".join(block.lines).strip()
        if not text:
            continue
        source = f"{block.offset}"
        if block.kind == "aider":
            payload = clipped_text_payload(text) | {"subtype": "aider-output"}
            session.events.append(
                ImportedEvent(EventKind.NOTE, Actor.SYSTEM, None, payload, f"{source}:note")
            )
        elif block.kind == "assistant":
            session.events.append(
                ImportedEvent(
                    EventKind.RESPONSE,
                    Actor.AGENT,
                    None,
                    clipped_text_payload(text),
                    f"{source}:text",
                )
            )
        elif text == "<blank>":
            session.ignored += 1
        else:
            when = _typed_at(typed, text, since)
            if when is not None:
                since = last = when
                session.note_time(when)
            _add_prompt(session, text, when, source)
    return last


def _typed_at(
    typed: list[tuple[datetime, str]], text: str, since: datetime | None
) -> datetime | None:
    """The time of the first input-history entry of ``text`` at or after ``since``."""
    for index, (when, entry) in enumerate(typed):
        if entry.strip() == text and (since is None or when >= since):
            del typed[index]
            return when
    return None


def _add_prompt(session: ImportedSession, text: str, when: datetime | None, source: str) -> None:
    command = text.split(maxsplit=1)
    if text.startswith("/") and not (command[0] in _CHAT_MODES and len(command) > 1):
        payload = clipped_text_payload(text) | {"subtype": "command"}
        session.events.append(
            ImportedEvent(EventKind.NOTE, Actor.SYSTEM, when, payload, f"{source}:prompt")
        )
        return
    if session.first_prompt is None:
        session.first_prompt = text
    session.events.append(
        ImportedEvent(
            EventKind.PROMPT, Actor.USER, when, clipped_text_payload(text), f"{source}:prompt"
        )
    )


def live_units(root: Path, path: Path) -> list[Path]:
    """The sessions to import when ``path`` changed in the project folder ``root``."""
    if path.parent != root or path.name not in (CHAT_HISTORY, INPUT_HISTORY):
        return []
    return list(discover_aider(root=root))
