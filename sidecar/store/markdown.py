"""Markdown rendering of a session and its events (for export)."""

from __future__ import annotations

from sidecar.core.models import Event, Session
from sidecar.core.text import event_text
from sidecar.store.rows import ts


def render_markdown(session: Session, events: list[Event]) -> str:
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
    for event in events:
        lines.append(f"## {event.seq}. {event.kind.value} ({event.actor.value}, {ts(event.time)})")
        lines.append("")
        text = event_text(event.payload)
        if text:
            lines.extend(["```text", text.replace("```", "ʼʼʼ"), "```", ""])
    return "\n".join(lines) + "\n"
