"""Exporting one session: JSONL (a session line, then one line per event) or Markdown.

The provider reference and the holder stay local: they are never exported.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal

from sidecar.core.models import Event, Session
from sidecar.core.render import block_markdown, render
from sidecar.store.errors import InvalidRequest
from sidecar.store.rows import ts

if TYPE_CHECKING:
    from sidecar.store.facade import Store

ExportFormat = Literal["jsonl", "markdown"]

_PRIVATE = ("providerRef", "holder", "holderExpiresAt")


def export_session(store: Store, session_id: str, fmt: ExportFormat = "jsonl") -> str:
    """One session as JSONL or Markdown (`InvalidRequest` for another format)."""
    if fmt not in ("jsonl", "markdown"):
        raise InvalidRequest(f"unknown export format {fmt!r}: use 'jsonl' or 'markdown'")
    session = store.sessions.get(session_id)
    events = list(store.events.iter_all(session_id))
    if fmt == "markdown":
        return render_markdown(session, events)
    public = session.to_json()
    for private in _PRIVATE:
        public.pop(private, None)
    lines = [json.dumps({"type": "session", **public}, ensure_ascii=False)]
    lines.extend(json.dumps({"type": "event", **e.to_json()}, ensure_ascii=False) for e in events)
    return "\n".join(lines) + "\n"


def render_markdown(session: Session, events: list[Event]) -> str:
    """A readable Markdown transcript: the session's facts, then its display blocks."""
    b = session.boundary
    lines = [
        f"# {session.name}",
        "",
        f"- id: `{session.id}`",
        f"- status: {session.status.value}",
        f"- repository: {b.repository}",
        f"- branch: {b.branch}",
        f"- worktree: {b.worktree}",
        f"- requester: {b.requester} on {b.machine}",
    ]
    if b.task:
        lines.append(f"- task: {b.task}")
    if session.parent_id and session.forked_at_seq is not None:
        lines.append(f"- forked from `{session.parent_id}` at seq {session.forked_at_seq}")
    elif session.parent_id:
        lines.append(f"- parent: `{session.parent_id}`")
    lines += [f"- created: {ts(session.created_at)}", f"- events: {session.event_count}", ""]
    # The same blocks as the editors' views and `sessions show` (sidecar/core/render.py).
    for block in render(events, b.worktree):
        lines.extend([block_markdown(block), ""])
    return "\n".join(lines) + "\n"
