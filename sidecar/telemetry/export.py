"""Moving what lies above each session's watermark to a sink: the one export path.

The CLI's ``otel export`` and the background worker of ``serve`` and ``watch``
both call :func:`export_pending`. For each session with events above its
watermark it reads a batch, plans the spans (:func:`sidecar.telemetry.mapping.plan`),
hands them to the sink, and advances the watermark only when the sink
reported success. A failed send stops the pass: the events stay in the
database (the buffer) and the next pass sends them again, with the same ids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from sidecar.core.kinds import utcnow
from sidecar.store.stamps import parse_ts
from sidecar.store.watermarks import Watermarks, payload_of
from sidecar.telemetry.mapping import (
    DEFAULT_OPTIONS,
    Options,
    SessionFacts,
    SpanSpec,
    StoredEvent,
    plan,
)

if TYPE_CHECKING:
    import sqlite3

#: Events read per session and pass (a longer turn is cut into spans of this many).
DEFAULT_BATCH = 5000


class Sink(Protocol):
    """Where spans go; ``name`` keys its watermarks."""

    @property
    def name(self) -> str: ...

    def send(self, spans: Sequence[SpanSpec]) -> str | None:
        """Send the spans; None on success, else what went wrong (one line)."""
        ...


@dataclass
class SessionExport:
    """What one pass sent for one session."""

    session_id: str
    name: str
    spans: int = 0
    events: int = 0
    watermark: int = 0
    held: int = 0


@dataclass
class Report:
    """What one pass did: per session, and the error that stopped it, if any."""

    sessions: list[SessionExport] = field(default_factory=list)
    error: str | None = None

    @property
    def spans(self) -> int:
        """Spans accepted by the sink."""
        return sum(s.spans for s in self.sessions)

    @property
    def events(self) -> int:
        """Events the accepted spans cover."""
        return sum(s.events for s in self.sessions)


def stored_event(row: sqlite3.Row) -> StoredEvent:
    """An ``events`` row as the mapping reads it."""
    time = parse_ts(row["time"])
    assert time is not None
    return StoredEvent(row["seq"], time, row["kind"], row["actor"], payload_of(row))


def export_pending(
    marks: Watermarks,
    sink: Sink,
    *,
    options: Options = DEFAULT_OPTIONS,
    since: datetime | None = None,
    session_id: str | None = None,
    batch: int = DEFAULT_BATCH,
    now: datetime | None = None,
    stopping: Callable[[], bool] = lambda: False,
) -> Report:
    """Export every session's closed turns above its watermark; see the module docstring."""
    report = Report()
    for row in marks.pending(sink.name, since=since, session_id=session_id):
        if stopping():
            break
        session = SessionFacts.from_row(row)
        done = SessionExport(session.id, session.name, watermark=row["exported"])
        error = _export_session(marks, sink, session, done, options, batch, now)
        if done.spans or done.held:
            report.sessions.append(done)
        if error is not None:
            report.error = error
            break
    return report


def _export_session(
    marks: Watermarks,
    sink: Sink,
    session: SessionFacts,
    done: SessionExport,
    options: Options,
    batch: int,
    now: datetime | None,
) -> str | None:
    """Send one session's closed turns, batch by batch; the error that stopped it, if any."""
    while True:
        rows = marks.events_above(session.id, done.watermark, batch)
        if not rows:
            return None
        events = [stored_event(r) for r in rows]
        complete = len(rows) < batch
        result = plan(
            session,
            events,
            now=now or utcnow(),
            options=options,
            branch_after=marks.branch_after(session.id, events[-1].seq),
            revision_before=marks.revision_at(session.id, done.watermark),
            complete=complete,
        )
        done.held = result.held
        if result.watermark is None:
            return None
        error = sink.send(result.spans)
        if error is not None:
            return error
        marks.advance(session.id, sink.name, result.watermark)
        done.events += result.watermark - done.watermark
        done.watermark = result.watermark
        done.spans += len(result.spans)
        if complete:
            return None
