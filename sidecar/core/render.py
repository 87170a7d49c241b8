"""A session's events as display blocks: the one renderer behind every view.

Pure: events in, :class:`~sidecar.core.models.DisplayBlock` items out. The
editors' history views (``sidecar/sessions/render``), the CLI's ``sessions
show`` and the Markdown export all show these blocks, so all of them agree:

==============================  ==========================================================
events                          block
==============================  ==========================================================
prompt, response                ``turn``: the text as Markdown
tool_call (+ its tool_result)   ``tool``: one line with the key argument (``Bash pytest -q``,
                                ``Edit app.py``), the result's status, exit code and output;
                                an edit's change as a unified diff
command                         ``command``: ``$ cmd``, status, exit code, output
file_change, file_open          ``change`` / a dimmed ``files`` line (opens folded together)
commit, checkpoint              ``commit`` / ``checkpoint``: one line
branch_change, drift, decision  ``bookkeeping``: consecutive ones folded into one dimmed line,
                                "switched main → feature/login, continued"
note, annotation, others        ``note`` (the sidecar's and an agent's notes dimmed)
==============================  ==========================================================
"""

from __future__ import annotations

import difflib
import json
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sidecar.core.models import Actor, BlockKind, DisplayBlock, Event, EventKind

#: Characters of a one-line title.
TITLE_LIMIT = 120
#: Characters of a tool's output kept in a block.
OUTPUT_LIMIT = 4096
#: Lines of a generated diff.
DIFF_LINES = 400

_PAST = {"continue": "continued", "resume": "resumed", "fork": "forked", "fresh": "started fresh"}
#: The argument that says what a tool call did, by tool name (lower-cased), in order.
_KEY_ARGS = (
    "command", "cmd", "file_path", "filePath", "path", "notebook_path", "pattern", "query",
    "url", "description", "prompt", "skill", "name",
)  # fmt: skip
_EXIT = re.compile(r"(?:^|\n)\s*(?:Exit code|exit code|exited with code)[: ]\s*(-?\d+)")


def render(events: Sequence[Event], worktree: str | None = None) -> list[DisplayBlock]:
    """The blocks of ``events`` (in seq order); paths are shown relative to ``worktree``."""
    results = _results_by_tool_id(events)
    used: set[int] = set()
    blocks: list[DisplayBlock] = []
    for event in events:
        if event.seq in used:
            continue
        kind = event.kind
        if kind in (EventKind.PROMPT, EventKind.RESPONSE):
            blocks.append(_turn(event))
        elif kind is EventKind.TOOL_CALL:
            result = results.get(_text(event.payload.get("toolUseId")) or "")
            if result is not None and result.seq > event.seq:
                used.add(result.seq)
            else:
                result = None
            blocks.append(_tool(event, result, worktree))
        elif kind is EventKind.TOOL_RESULT:
            blocks.append(_tool(None, event, worktree))
        elif kind is EventKind.COMMAND:
            blocks.append(_command(event))
        elif kind is EventKind.FILE_CHANGE:
            blocks.append(_change(event, worktree))
        elif kind is EventKind.FILE_OPEN:
            paths = _path_list(event.payload, worktree)
            _fold(
                blocks, BlockKind.FILES, event, "opened " + _files(event.payload, worktree), paths
            )
        elif kind is EventKind.COMMIT:
            blocks.append(_commit(event))
        elif kind is EventKind.CHECKPOINT:
            name = _text(event.payload.get("name")) or "checkpoint"
            blocks.append(_block(BlockKind.CHECKPOINT, event, f"Checkpoint {name}"))
        elif kind in (EventKind.BRANCH_CHANGE, EventKind.DRIFT, EventKind.DECISION):
            _fold(blocks, BlockKind.BOOKKEEPING, event, _bookkeeping(event))
        else:
            blocks.append(_note(event))
    return blocks


# ---------------------------------------------------------------- per kind


def _turn(event: Event) -> DisplayBlock:
    text = _text(event.payload.get("text")) or _text(event.payload.get("prompt")) or ""
    title = "Prompt" if event.kind is EventKind.PROMPT else "Answer"
    if event.payload.get("blocked"):
        title += " (blocked)"
    return _block(BlockKind.TURN, event, title, body=text)


def _tool(call: Event | None, result: Event | None, worktree: str | None) -> DisplayBlock:
    first = call or result
    assert first is not None
    payload = call.payload if call is not None else {}
    name = _text(payload.get("name")) or _text(result.payload.get("name") if result else None)
    arguments = payload.get("input")
    key = _key_argument(arguments, worktree)
    title = " ".join(p for p in (name or "tool", key) if p)
    if call is None:
        title += " (result)"
    status, exit_code, output = None, None, None
    if result is not None:
        rp = result.payload
        output = _clip(_text(rp.get("content")) or _text(rp.get("output")) or "")
        exit_code = _exit_code(rp, output)
        if rp.get("denied"):
            status = "denied"
        elif rp.get("isError") or (exit_code not in (None, 0)):
            status = "failed"
        else:
            status = "ok"
    seqs = [e.seq for e in (call, result) if e is not None]
    return DisplayBlock(
        kind=BlockKind.TOOL,
        seq=first.seq,
        seqs=seqs,
        time=first.time,
        actor=first.actor,
        title=_line(title),
        output=output or None,
        diff=_tool_diff(name or "", arguments, worktree),
        status=status,
        exit_code=exit_code,
        paths=_paths_of(arguments, worktree),
    )


def _command(event: Event) -> DisplayBlock:
    p = event.payload
    output = _clip(
        "\n".join(t for t in (_text(p.get(k)) for k in ("output", "stdout", "stderr")) if t)
    )
    exit_code = _exit_code(p, output)
    status = _text(p.get("status"))
    if exit_code is not None:
        status = "ok" if exit_code == 0 else "failed"
    elif status in ("completed", "success"):
        status = "ok"
    elif status:
        status = "failed" if status in ("failed", "error") else None
    command = _text(p.get("command")) or _text(p.get("cmd")) or _text(p.get("text")) or ""
    return _block(
        BlockKind.COMMAND,
        event,
        f"$ {command}",
        output=output or None,
        status=status,
        exit_code=exit_code,
    )


def _change(event: Event, worktree: str | None) -> DisplayBlock:
    p = event.payload
    diff = _text(p.get("diff")) or _text(p.get("patch"))
    paths = _path_list(p, worktree)
    change = _text(p.get("change"))
    title = f"{change.capitalize() if change else 'Changed'} {_files(p, worktree)}"
    return _block(BlockKind.CHANGE, event, title, diff=diff, paths=paths)


def _commit(event: Event) -> DisplayBlock:
    p = event.payload
    sha = (_text(p.get("sha")) or _text(p.get("commit")) or "")[:7]
    subject = _text(p.get("subject")) or _text(p.get("message")) or ""
    return _block(BlockKind.COMMIT, event, " ".join(x for x in ("Committed", sha, subject) if x))


def _bookkeeping(event: Event) -> str:
    p = event.payload
    if event.kind is EventKind.BRANCH_CHANGE:
        before = _text(p.get("from")) or _text(p.get("before"))
        after = _text(p.get("to")) or _text(p.get("after")) or _text(p.get("branch")) or "?"
        return f"switched {before} → {after}" if before else f"switched to {after}"
    if event.kind is EventKind.DECISION:
        action = _text(p.get("action")) or "decided"
        return _PAST.get(action, action)
    recommended = _text(p.get("action"))
    if recommended and recommended != "continue":
        return f"drift: {recommended} recommended"
    return "drift noted"


def _note(event: Event) -> DisplayBlock:
    p = event.payload
    text = (
        _text(p.get("text")) or _text(p.get("message")) or _text(p.get("summary"))
        or _first_string(p) or ""
    )  # fmt: skip
    kind_name = event.kind.value.replace("_", " ")
    title = text.split("\n", 1)[0] if event.kind is EventKind.NOTE else f"{kind_name}: {text}"
    long = "\n" in text or len(text) > TITLE_LIMIT
    return _block(
        BlockKind.NOTE,
        event,
        title,
        body=text if long else None,
        dimmed=event.actor is Actor.SYSTEM or bool(p.get("hook")),
    )


# ---------------------------------------------------------------- helpers


def _block(kind: BlockKind, event: Event, title: str, **fields: Any) -> DisplayBlock:
    dimmed = fields.pop("dimmed", kind in (BlockKind.BOOKKEEPING, BlockKind.FILES))
    return DisplayBlock(
        kind=kind,
        seq=event.seq,
        seqs=[event.seq],
        time=event.time,
        actor=event.actor,
        title=_line(title),
        dimmed=dimmed,
        **fields,
    )


def _fold(
    blocks: list[DisplayBlock],
    kind: BlockKind,
    event: Event,
    part: str,
    paths: Sequence[str] = (),
) -> None:
    """Append ``part`` to the previous block of the same folded kind, else start one."""
    last = blocks[-1] if blocks else None
    if last is not None and last.kind is kind:
        if kind is BlockKind.FILES:
            part = part.removeprefix("opened ")  # "opened a.py, b.py"
        title = last.title if part in last.title.split(", ") else f"{last.title}, {part}"
        update = {
            "title": _line(title),
            "seqs": [*last.seqs, event.seq],
            "paths": list(dict.fromkeys([*last.paths, *paths])),
        }
        blocks[-1] = last.model_copy(update=update)
        return
    blocks.append(_block(kind, event, part, paths=list(paths)))


def _results_by_tool_id(events: Iterable[Event]) -> dict[str, Event]:
    found: dict[str, Event] = {}
    for event in events:
        if event.kind is EventKind.TOOL_RESULT:
            tool_id = _text(event.payload.get("toolUseId"))
            if tool_id and tool_id not in found:
                found[tool_id] = event
    return found


def _key_argument(arguments: Any, worktree: str | None) -> str:
    """What a tool call acted on: a command, a file (relative), a pattern, a query..."""
    if isinstance(arguments, str):
        return _line(arguments, 80)
    if not isinstance(arguments, Mapping):
        return ""
    for key in _KEY_ARGS:
        value = _text(arguments.get(key))
        if value:
            if key in ("file_path", "filePath", "path", "notebook_path"):
                value = _relative(value, worktree)
            return _line(value, 80)
    return ""


def _tool_diff(name: str, arguments: Any, worktree: str | None) -> str | None:
    """A unified diff of what an edit tool changes (Edit, MultiEdit, Write; a patch as is)."""
    if not isinstance(arguments, Mapping):
        return _text(arguments) if name in ("apply_patch",) else None
    patch = _text(arguments.get("patch")) or (
        _text(arguments.get("input")) if name == "apply_patch" else None
    )
    if patch:
        return patch
    path = _relative(
        _text(arguments.get("file_path")) or _text(arguments.get("path")) or "file", worktree
    )
    pairs: list[tuple[str, str]] = []
    if isinstance(arguments.get("old_string"), str) and isinstance(
        arguments.get("new_string"), str
    ):
        pairs.append((arguments["old_string"], arguments["new_string"]))
    edits = arguments.get("edits")
    if isinstance(edits, list):
        for edit in edits:
            if isinstance(edit, Mapping):
                old, new = edit.get("old_string"), edit.get("new_string")
                if isinstance(old, str) and isinstance(new, str):
                    pairs.append((old, new))
    if not pairs and name.lower() == "write" and isinstance(arguments.get("content"), str):
        pairs.append(("", arguments["content"]))
    if not pairs:
        return None
    lines: list[str] = []
    for old, new in pairs:
        lines.extend(
            difflib.unified_diff(
                old.splitlines(), new.splitlines(), f"a/{path}", f"b/{path}", lineterm=""
            )
        )
    if len(lines) > DIFF_LINES:
        lines = [*lines[:DIFF_LINES], f"... {len(lines) - DIFF_LINES} more lines"]
    return "\n".join(lines) or None


def _exit_code(payload: Mapping[str, Any], output: str | None) -> int | None:
    for key in ("exitCode", "exit_code", "returncode", "exit"):
        value = payload.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    match = _EXIT.search(output[:2000]) if output else None
    return int(match.group(1)) if match else None


def _paths_of(arguments: Any, worktree: str | None) -> list[str]:
    return _path_list(arguments, worktree) if isinstance(arguments, Mapping) else []


def _path_list(payload: Mapping[str, Any], worktree: str | None) -> list[str]:
    found: list[str] = []
    for key in ("path", "file", "file_path", "filePath", "notebook_path", "uri"):
        value = _text(payload.get(key))
        if value:
            found.append(_relative(value, worktree))
    for key in ("paths", "files"):
        values = payload.get(key)
        if isinstance(values, list):
            found.extend(_relative(v, worktree) for v in values if isinstance(v, str))
    return list(dict.fromkeys(found))


def _files(payload: Mapping[str, Any], worktree: str | None) -> str:
    paths = _path_list(payload, worktree)
    if not paths:
        return "files"
    if len(paths) <= 3:
        return ", ".join(paths)
    return f"{', '.join(paths[:3])} and {len(paths) - 3} more"


def _relative(path: str, worktree: str | None) -> str:
    if path.startswith("file://"):
        path = path[len("file://") :]
    if worktree and path.startswith(worktree.rstrip("/") + "/"):
        return posixpath.relpath(path, worktree)
    return path


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts
        parts = [p.get("text") if isinstance(p, Mapping) else p for p in value]
        joined = "\n".join(p for p in parts if isinstance(p, str))
        return joined or None
    return None


def _first_string(payload: Mapping[str, Any]) -> str | None:
    for value in payload.values():
        if isinstance(value, str) and value:
            return value
    return json.dumps(payload, ensure_ascii=False)[:TITLE_LIMIT] if payload else None


def _line(text: str, limit: int = TITLE_LIMIT) -> str:
    one = " ".join(text.split())
    return one if len(one) <= limit else one[: limit - 1] + "…"


def _clip(text: str) -> str:
    return text if len(text) <= OUTPUT_LIMIT else text[:OUTPUT_LIMIT] + "\n…"


# ---------------------------------------------------------------- Markdown and text


def fence(text: str, lang: str = "") -> str:
    """``text`` in a code fence longer than any backtick run inside it (nothing breaks out)."""
    longest = max((len(m.group(0)) for m in re.finditer(r"`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _mark(block: DisplayBlock) -> str:
    if block.status == "ok":
        return "✓" if block.exit_code is None else f"✓ exit {block.exit_code}"
    if block.status == "failed":
        return "✗ failed" if block.exit_code is None else f"✗ exit {block.exit_code}"
    if block.status == "denied":
        return "✗ denied"
    return ""


def block_markdown(block: DisplayBlock) -> str:
    """One block as Markdown (outputs folded in ``<details>``, diffs in a ``diff`` fence)."""
    stamp = block.time.strftime("%Y-%m-%d %H:%M")
    if block.dimmed:
        return f"_{block.title}_ · {stamp} · #{block.seq}"
    who = {"user": "You", "agent": "Agent", "system": "Sidecar"}[block.actor.value]
    head = f"**{who}** · {block.title}" if block.kind is BlockKind.TURN else f"**{block.title}**"
    mark = _mark(block)
    parts = [f"{head}{' — ' + mark if mark else ''} · {stamp} · #{block.seq}"]
    if block.body:
        parts.append(block.body if block.kind is BlockKind.TURN else fence(block.body, "text"))
    if block.diff:
        parts.append(fence(block.diff, "diff"))
    if block.output:
        parts.append(
            f"<details><summary>output</summary>\n\n{fence(block.output, 'text')}\n\n</details>"
        )
    return "\n\n".join(parts)


def block_text(block: DisplayBlock, *, width: int = 100) -> list[str]:
    """One block as plain lines for a terminal: a title line, then indented detail."""
    mark = _mark(block)
    head = f"{block.seq:>6}  {block.time:%Y-%m-%d %H:%M}  {block.title}"
    if mark:
        head += f"  [{mark}]"
    lines = [head if len(head) <= width else head[: width - 1] + "…"]
    detail = block.body if block.kind is BlockKind.TURN else None
    for text in (detail, block.diff, block.output):
        if text:
            shown = text.splitlines()[:12]
            lines.extend("        " + line[: width - 8] for line in shown)
            if len(text.splitlines()) > 12:
                lines.append(f"        … {len(text.splitlines()) - 12} more lines")
    return lines
