"""Stored sessions and events as spans: the functional core of the export.

Pure: a session's facts and its events above the watermark in, span
descriptions and the new watermark out. No SDK, no network; the exporter
shell (:mod:`sidecar.telemetry.otlp`) turns the descriptions into OTLP.

==========================  ===============================================================
stored                      exported
==========================  ===============================================================
session                     one trace (id from the session id); every span carries
                            ``gen_ai.conversation.id`` = the session id and the boundary
a prompt and what follows   an ``invoke_agent {agent}`` span (a *turn*) from the prompt to
until the next prompt       the turn's last event
events before any prompt,   a ``session_activity`` span with the same attributes, no
or after a settled turn     ``gen_ai.operation.name``
tool_call (+ tool_result)   an ``execute_tool {name}`` child span, status from the result
prompt, response, drift,    span events ``sidecar.<kind>`` on the turn's span
decision, commit, ...
==========================  ===============================================================

Why a span per turn, not per session: OTLP spans are immutable once sent, and
a session lives for days and often never ends; a session-long span could be
sent only at its end (or sent again, growing, as a duplicate). A turn closes
at the next prompt (or when the session ends, or after ``settle`` without
events), is sent once, and its ids never change. The GenAI conventions'
``invoke_agent`` is one invocation of an agent, which is what a turn is; the
trace (one per session) and ``gen_ai.conversation.id`` hold the session together.

Prompt, response and tool text is exported only with ``content=True``;
otherwise only lengths. Every string taken from a payload is redacted again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sidecar.core.redact import redact_text, redact_value
from sidecar.telemetry.ids import span_id, trace_id

AttributeValue = str | bool | int | float | tuple[str, ...]
Attributes = dict[str, AttributeValue]
Status = Literal["ok", "error", "unset"]

#: The sink name of the OTLP exporter's watermarks.
OTLP_SINK = "otlp"

#: A turn whose last event is this old is closed even without a next prompt.
DEFAULT_SETTLE = timedelta(seconds=60)

#: Sessions in these states get no more events from their agent: their last turn is closed.
_CLOSED_STATES = frozenset({"ended", "archived"})

#: ``gen_ai.provider.name`` of the sidecar's agents (the model provider each ships with).
PROVIDER_NAMES: Mapping[str, str] = {
    "claude-code": "anthropic",
    "codex": "openai",
    "gemini": "gcp.gemini",
    "copilot": "github_copilot",
}

#: The provider's own session id, under the attribute that provider's telemetry uses.
JOIN_KEYS: Mapping[str, str] = {"claude-code": "session.id", "codex": "conversation.id"}


@dataclass(frozen=True)
class SessionFacts:
    """What the export says about a session (the stored row, holder left out)."""

    id: str
    name: str = ""
    status: str = "active"
    repository: str = ""
    worktree: str = ""
    branch: str = ""
    requester: str = ""
    machine: str = ""
    task: str | None = None
    phase: str | None = None
    provider: str | None = None
    provider_ref: str | None = None
    agent_name: str | None = None
    parent_id: str | None = None

    @classmethod
    def from_row(cls, row: Any) -> SessionFacts:
        """From a ``sessions`` row (an ``sqlite3.Row`` or a dict with its column names)."""
        keys = set(row.keys())
        return cls(**{name: row[name] for name in cls.__dataclass_fields__ if name in keys})


@dataclass(frozen=True)
class StoredEvent:
    """One stored event, as read for export."""

    seq: int
    time: datetime
    kind: str
    actor: str
    payload: Mapping[str, Any]


@dataclass(frozen=True)
class SpanEvent:
    """A span event: something that happened at a point in a span."""

    name: str
    time: datetime
    attributes: Attributes


@dataclass(frozen=True)
class SpanSpec:
    """One span to send, with deterministic ids."""

    trace_id: int
    span_id: int
    parent_id: int | None
    name: str
    start: datetime
    end: datetime
    attributes: Attributes
    events: tuple[SpanEvent, ...] = ()
    status: Status = "unset"
    status_message: str | None = None
    first_seq: int = 0
    last_seq: int = 0


@dataclass(frozen=True)
class Plan:
    """What to send for one session, and the watermark once the sink accepted it."""

    spans: list[SpanSpec] = field(default_factory=list)
    #: The seq to record as exported after success; None when nothing is ready.
    watermark: int | None = None
    #: Events above the watermark kept back (the open turn).
    held: int = 0


@dataclass(frozen=True)
class Options:
    """How events are exported."""

    content: bool = False
    settle: timedelta = DEFAULT_SETTLE


#: The defaults: lengths only, turns settle after a minute.
DEFAULT_OPTIONS = Options()


def plan(
    session: SessionFacts,
    events: Sequence[StoredEvent],
    *,
    now: datetime,
    options: Options = DEFAULT_OPTIONS,
    branch_after: str | None = None,
    revision_before: str | None = None,
    complete: bool = True,
) -> Plan:
    """The spans of ``events`` (a session's events above its watermark, in seq order).

    Only closed turns are planned; the open one is held for a later export.
    ``branch_after`` is the branch in force after the last event (the ``from`` of
    the next branch switch; default the session's branch), ``revision_before``
    the last commit sha known before the first event. ``complete`` is False when
    ``events`` was cut by a batch limit: the last turn then waits for the rest
    (unless it is the only one, which is closed where it was cut).
    """
    groups = _groups(events)
    if not groups:
        return Plan()
    closed = len(groups) - 1
    last = groups[-1]
    if (
        (complete and session.status in _CLOSED_STATES)
        or (complete and now - last[-1].time >= options.settle)
        or (not complete and len(groups) == 1)
    ):
        closed = len(groups)
    if closed == 0:
        return Plan(held=len(last))
    branches = _branches_at_start(groups, branch_after or session.branch)
    revisions = _revisions_at_start(groups, revision_before)
    spans: list[SpanSpec] = []
    for group, branch, revision in zip(groups[:closed], branches, revisions, strict=False):
        spans.extend(_group_spans(session, group, branch, revision, options))
    held = sum(len(g) for g in groups[closed:])
    return Plan(spans=spans, watermark=groups[closed - 1][-1].seq, held=held)


# ---------------------------------------------------------------- grouping


def _groups(events: Sequence[StoredEvent]) -> list[list[StoredEvent]]:
    """Events cut at each prompt: a turn starts at its prompt."""
    groups: list[list[StoredEvent]] = []
    for event in events:
        if event.kind == "prompt" or not groups:
            groups.append([event])
        else:
            groups[-1].append(event)
    return groups


def _branches_at_start(groups: list[list[StoredEvent]], branch_after: str) -> list[str]:
    """The branch at each group's start, walking back from the branch after the last event."""
    branch = branch_after
    starts: list[str] = []
    for group in reversed(groups):
        for event in reversed(group):
            if event.kind == "branch_change":
                before = _text(event.payload.get("from"))
                if before:
                    branch = before
        starts.append(branch)
    return starts[::-1]


def _revisions_at_start(groups: list[list[StoredEvent]], revision: str | None) -> list[str | None]:
    """The last known commit sha at each group's start, walking forward."""
    starts: list[str | None] = []
    for group in groups:
        starts.append(revision)
        for event in group:
            revision = _revision_of(event) or revision
    return starts


def _revision_of(event: StoredEvent) -> str | None:
    if event.kind == "commit":
        return _text(event.payload.get("sha"))
    if event.kind in ("branch_change", "checkpoint"):
        return _text(event.payload.get("headSha"))
    return None


# ---------------------------------------------------------------- spans


def _group_spans(
    session: SessionFacts,
    group: list[StoredEvent],
    branch: str,
    revision: str | None,
    options: Options,
) -> list[SpanSpec]:
    first, last = group[0], group[-1]
    trace = trace_id(session.id)
    turn_id = span_id(session.id, first.seq, "turn")
    is_turn = first.kind == "prompt"
    agent = _agent_name(session)
    attributes = session_attributes(session, branch, revision, content=options.content)
    attributes["sidecar.turn.first_seq"] = first.seq
    attributes["sidecar.turn.last_seq"] = last.seq
    if is_turn:
        attributes["gen_ai.operation.name"] = "invoke_agent"
    tools, events = _tool_pairs(group)
    span_events = tuple(_span_event(e, options) for e in events)
    prompts = [e for e in group if e.kind == "prompt"]
    responses = [e for e in group if e.kind == "response"]
    if prompts:
        attributes["sidecar.prompt.length"] = sum(len(_message(e)) for e in prompts)
    if responses:
        attributes["sidecar.response.length"] = sum(len(_message(e)) for e in responses)
    if options.content and prompts:
        attributes["gen_ai.input.messages"] = _messages("user", prompts)
    if options.content and responses:
        attributes["gen_ai.output.messages"] = _messages("assistant", responses)
    spans = [
        SpanSpec(
            trace_id=trace,
            span_id=turn_id,
            parent_id=None,
            name=f"invoke_agent {agent}" if is_turn else "session_activity",
            start=first.time,
            end=max(last.time, first.time),
            attributes=attributes,
            events=span_events,
            first_seq=first.seq,
            last_seq=last.seq,
        )
    ]
    for call, result in tools:
        spans.append(_tool_span(session, turn_id, call, result, options))
    return spans


def session_attributes(
    session: SessionFacts, branch: str, revision: str | None, *, content: bool = False
) -> Attributes:
    """The attributes every span of a session carries: its ids and its boundary.

    The session's name only with ``content``: an agent's hook names a session
    after its first prompt, so a name can be prompt text.
    """
    attributes: Attributes = {
        "gen_ai.conversation.id": session.id,
        "gen_ai.agent.name": _agent_name(session),
        "sidecar.session.id": session.id,
        "sidecar.repository": session.repository,
        "sidecar.worktree": session.worktree,
        "sidecar.requester": session.requester,
        "sidecar.machine": session.machine,
        "vcs.ref.head.name": branch,
        "vcs.ref.type": "branch",
    }
    if content:
        attributes["sidecar.session.name"] = redact_text(session.name)
    if _is_url(session.repository):
        attributes["vcs.repository.url.full"] = _as_url(session.repository)
    if revision:
        attributes["vcs.ref.head.revision"] = revision
    if session.provider:
        attributes["sidecar.provider"] = session.provider
        attributes["gen_ai.provider.name"] = PROVIDER_NAMES.get(session.provider, session.provider)
        join_key = JOIN_KEYS.get(session.provider)
        if join_key and session.provider_ref:
            attributes[join_key] = session.provider_ref
    if session.agent_name:
        attributes["gen_ai.agent.id"] = session.agent_name
    for name, value in (
        ("sidecar.task", session.task),
        ("sidecar.phase", session.phase),
        ("sidecar.session.parent_id", session.parent_id),
    ):
        if value:
            attributes[name] = redact_text(value)
    return attributes


def _agent_name(session: SessionFacts) -> str:
    return session.provider or session.agent_name or "session-sidecar"


def _is_url(repository: str) -> bool:
    """True for an identity taken from a remote (``host/owner/name``), not ``root:<sha>``
    or a folder path (a repository without a remote)."""
    host, slash, _ = repository.partition("/")
    return bool(slash and host and "." in host and ":" not in host and "\\" not in host)


def _as_url(repository: str) -> str:
    """A remote's identity (normalized ``host/owner/name``) as an https URL."""
    return f"https://{repository}"


# ---------------------------------------------------------------- tools


def _tool_pairs(
    group: list[StoredEvent],
) -> tuple[list[tuple[StoredEvent | None, StoredEvent | None]], list[StoredEvent]]:
    """Tool calls with their results (matched by tool id), and the group's other events."""
    results: dict[str, StoredEvent] = {}
    for event in group:
        tool_id = _text(event.payload.get("toolUseId"))
        if event.kind == "tool_result" and tool_id and tool_id not in results:
            results[tool_id] = event
    used: set[int] = set()
    pairs: list[tuple[StoredEvent | None, StoredEvent | None]] = []
    others: list[StoredEvent] = []
    for event in group:
        if event.seq in used:
            continue
        if event.kind == "tool_call":
            result = results.get(_text(event.payload.get("toolUseId")) or "")
            if result is not None and result.seq > event.seq:
                used.add(result.seq)
            else:
                result = None
            pairs.append((event, result))
        elif event.kind == "tool_result":
            pairs.append((None, event))
        else:
            others.append(event)
    return pairs, others


def _tool_span(
    session: SessionFacts,
    parent: int,
    call: StoredEvent | None,
    result: StoredEvent | None,
    options: Options,
) -> SpanSpec:
    first = call or result
    assert first is not None
    end = result.time if result is not None else first.time
    call_payload = call.payload if call is not None else {}
    name = _text(call_payload.get("name")) or _text((result or first).payload.get("name")) or "tool"
    name = redact_text(name)
    status, exit_code = tool_status(call, result)
    attributes: Attributes = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": name,
        "gen_ai.conversation.id": session.id,
        "sidecar.session.id": session.id,
        "sidecar.seq": first.seq,
        "sidecar.tool.status": status,
    }
    tool_id = _text(call_payload.get("toolUseId")) or _text(
        (result or first).payload.get("toolUseId")
    )
    if tool_id:
        attributes["gen_ai.tool.call.id"] = tool_id
    if exit_code is not None:
        attributes["sidecar.tool.exit_code"] = exit_code
    arguments = call_payload.get("input")
    output = _tool_output(result)
    if arguments is not None:
        encoded = json.dumps(redact_value(arguments), ensure_ascii=False, default=str)
        attributes["sidecar.tool.arguments.length"] = len(encoded)
        if options.content:
            attributes["gen_ai.tool.call.arguments"] = encoded
    if result is not None:
        attributes["sidecar.tool.result.length"] = len(output)
        if options.content:
            attributes["gen_ai.tool.call.result"] = redact_text(output)
    last = result or first
    return SpanSpec(
        trace_id=trace_id(session.id),
        span_id=span_id(session.id, first.seq, "tool"),
        parent_id=parent,
        name=f"execute_tool {name}",
        start=first.time,
        end=max(end, first.time),
        attributes=attributes,
        status="error" if status in ("failed", "denied") else "ok" if status == "ok" else "unset",
        status_message=status if status in ("failed", "denied") else None,
        first_seq=first.seq,
        last_seq=last.seq,
    )


def tool_status(call: StoredEvent | None, result: StoredEvent | None) -> tuple[str, int | None]:
    """``ok``, ``failed``, ``denied`` or ``pending`` (no result), and the exit code.

    The same rule as the history views: :func:`sidecar.core.render.render`'s tool block.
    """
    if result is None:
        return "pending", None
    from sidecar.core.models import Event
    from sidecar.core.render import render

    def model(event: StoredEvent) -> Event:
        return Event(
            session_id="-",
            seq=event.seq,
            time=event.time,
            kind=event.kind,
            actor=event.actor,
            payload=dict(event.payload),
        )

    blocks = render([model(e) for e in (call, result) if e is not None])
    block = blocks[0]
    return block.status or "ok", block.exit_code


def _tool_output(result: StoredEvent | None) -> str:
    if result is None:
        return ""
    payload = result.payload
    return _text(payload.get("content")) or _text(payload.get("output")) or ""


# ---------------------------------------------------------------- span events


def _span_event(event: StoredEvent, options: Options) -> SpanEvent:
    """A span event ``sidecar.<kind>`` with what the kind says (content only when allowed)."""
    p = event.payload
    attributes: Attributes = {"sidecar.seq": event.seq, "sidecar.actor": event.actor}
    kind = event.kind
    if kind in ("prompt", "response"):
        text = _message(event)
        attributes["sidecar.text.length"] = len(text)
        if p.get("truncated"):
            attributes["sidecar.text.truncated"] = True
        if options.content:
            attributes["sidecar.text"] = redact_text(text)
    elif kind == "drift":
        _put(attributes, "sidecar.drift.action", p.get("action"))
        if options.content:  # names sessions, and a name can be prompt text
            _put(attributes, "sidecar.drift.summary", p.get("summary"))
        _put(attributes, "sidecar.drift.ask", p.get("ask"))
        _put(attributes, "sidecar.drift.target_session_id", p.get("targetSessionId"))
        reasons = p.get("reasons")
        if isinstance(reasons, list):
            codes = [_text(r.get("code")) for r in reasons if isinstance(r, dict)]
            attributes["sidecar.drift.reasons"] = tuple(c for c in codes if c)
    elif kind == "decision":
        for key in ("action", "remember", "recommended", "branch"):
            _put(attributes, f"sidecar.decision.{key}", p.get(key))
        if options.content:  # a prompt title names the session resumed
            _put(attributes, "sidecar.decision.chosen", p.get("chosen"))
    elif kind == "commit":
        _put(attributes, "vcs.ref.head.revision", p.get("sha"))
        _put(attributes, "vcs.ref.head.name", p.get("branch"))
        _put(attributes, "sidecar.commit.subject", p.get("subject"))
    elif kind == "checkpoint":
        _put(attributes, "sidecar.checkpoint.name", p.get("name"))
        _put(attributes, "sidecar.checkpoint.id", p.get("checkpointId"))
        _put(attributes, "vcs.ref.head.revision", p.get("headSha"))
    elif kind == "branch_change":
        _put(attributes, "sidecar.branch.from", p.get("from"))
        _put(attributes, "sidecar.branch.to", p.get("to"))
        _put(attributes, "vcs.ref.head.revision", p.get("headSha"))
    elif kind == "command":
        command = _text(p.get("command")) or _text(p.get("cmd")) or ""
        attributes["sidecar.command.length"] = len(command)
        _put(attributes, "sidecar.command.exit_code", p.get("exitCode"))
        if options.content:
            attributes["sidecar.command"] = redact_text(command)
    elif kind in ("file_change", "file_open"):
        paths = p.get("paths")
        count = len(paths) if isinstance(paths, list) else (1 if p.get("path") else 0)
        attributes["sidecar.files.count"] = count
        _put(attributes, "sidecar.files.change", p.get("change"))
    return SpanEvent(name=f"sidecar.{kind}", time=event.time, attributes=attributes)


def _put(attributes: Attributes, name: str, value: Any) -> None:
    """Set a scalar attribute (strings redacted); None and containers are left out."""
    if isinstance(value, bool | int | float):
        attributes[name] = value
    elif isinstance(value, str) and value:
        attributes[name] = redact_text(value)


def _message(event: StoredEvent) -> str:
    return _text(event.payload.get("text")) or _text(event.payload.get("prompt")) or ""


def _messages(role: str, events: list[StoredEvent]) -> str:
    """GenAI ``gen_ai.input.messages`` / ``gen_ai.output.messages``: JSON, redacted text."""
    parts = [{"type": "text", "content": redact_text(_message(e))} for e in events]
    message: dict[str, Any] = {"role": role, "parts": parts}
    if role == "assistant":
        message["finish_reason"] = "stop"
    return json.dumps([message], ensure_ascii=False)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
