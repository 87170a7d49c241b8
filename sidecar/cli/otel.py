"""`session-sidecar otel`: export the history to an OpenTelemetry endpoint (OTLP/HTTP).

``otel export`` backfills: every session's events above its watermark,
as spans (see docs/telemetry.md), to the endpoint the standard
``OTEL_EXPORTER_OTLP_*`` variables name. It is idempotent: the watermark
moves only when the endpoint accepted a batch, so running it again sends only
what is new. ``otel reset`` forgets the watermarks, to send everything again
(to a new backend).
"""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from sidecar.cli.context import DbOption, open_store
from sidecar.cli.output import CliError

if TYPE_CHECKING:
    from sidecar.telemetry.export import Report

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Export sessions as OpenTelemetry traces (OTLP/HTTP; see docs/telemetry.md).",
)

_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str, now: datetime) -> datetime:
    """``1d``, ``12h``, ``30m`` (ago) or an ISO date or time (UTC when it has no zone).

    >>> from datetime import UTC
    >>> now = datetime(2026, 5, 2, 12, tzinfo=UTC)
    >>> parse_since("1d", now).isoformat()
    '2026-05-01T12:00:00+00:00'
    >>> parse_since("2026-04-30", now).isoformat()
    '2026-04-30T00:00:00+00:00'
    """
    from datetime import UTC

    match = _AGO.match(text)
    if match:
        amount, unit = float(match.group(1)), match.group(2)
        return now - timedelta(**{_UNITS[unit]: amount})
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise CliError(
            f"--since {text!r} is neither a duration (1d, 12h, 30m) nor an ISO date "
            "(2026-04-30 or 2026-04-30T09:00)"
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _print(report: Report, endpoint: str) -> None:
    for s in report.sessions:
        held = f", {s.held} held (open turn)" if s.held else ""
        print(
            f"{s.session_id[:8]}  {s.name or '-'}: {s.spans} span(s), {s.events} event(s), "
            f"exported up to seq {s.watermark}{held}"
        )
    sessions = sum(1 for s in report.sessions if s.spans)
    print(
        f"exported {report.spans} span(s) of {report.events} event(s) "
        f"from {sessions} session(s) to {endpoint}"
    )


@app.command("export")
def export_command(
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="Only sessions active since: 1d, 12h, 30m, or an ISO date or time."
        ),
    ] = None,
    session: Annotated[
        str | None, typer.Option("--session", help="Only this session (id or id prefix).")
    ] = None,
    content: Annotated[
        bool | None,
        typer.Option(
            "--content/--no-content",
            help="Include prompt, response and tool text (default: $SIDECAR_OTEL_LOG_CONTENT, "
            "else lengths only).",
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
) -> None:
    """Send what was not exported yet (idempotent: the watermark remembers what was sent)."""
    import logging

    from sidecar.core.kinds import utcnow
    from sidecar.store.watermarks import Watermarks
    from sidecar.telemetry.export import export_pending
    from sidecar.telemetry.otlp import OtlpSink, OtlpUnavailable
    from sidecar.telemetry.settings import export_settings

    try:
        settings = export_settings(content=content)
    except ValueError as error:
        raise CliError(str(error)) from None
    now = utcnow()
    start = parse_since(since, now) if since is not None else None
    try:
        sink = OtlpSink()
    except OtlpUnavailable as error:
        raise CliError(str(error)) from None
    # The SDK logs each retry; the one line below says what matters.
    logging.getLogger("opentelemetry").setLevel(logging.CRITICAL)
    store = open_store(db)
    try:
        report = export_pending(
            Watermarks(store.db),
            sink,
            options=settings.options,
            since=start,
            session_id=session,
            now=now,
        )
    finally:
        sink.close()
        store.close()
    _print(report, sink.endpoint)
    if report.error is not None:
        print(
            f"error: {report.error}; nothing is lost: the rest is sent by the next run",
            file=sys.stderr,
        )
        raise typer.Exit(1)


@app.command("reset")
def reset_command(
    session: Annotated[
        str | None, typer.Option("--session", help="Only this session (its full id).")
    ] = None,
    db: DbOption = None,
) -> None:
    """Forget what was exported, so the next export sends everything again."""
    from sidecar.store.watermarks import Watermarks
    from sidecar.telemetry.mapping import OTLP_SINK

    store = open_store(db)
    try:
        removed = Watermarks(store.db).reset(OTLP_SINK, session)
    finally:
        store.close()
    print(f"forgot the export watermarks of {removed} session(s)")
