"""How the CLI speaks: JSON for machines, tables for people, one-line errors on stderr."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sidecar.core.models import Model, Session

#: Exit status of every error a person can fix (bad input, unknown id, unusable database).
EXIT_USAGE = 2
#: Exit status of a bug in the sidecar itself.
EXIT_INTERNAL = 1
#: Table width when stdout is not a terminal (a pipe or a file).
PIPE_WIDTH = 160


class CliError(Exception):
    """An error to report as one line (`error: <message>`) with exit status 2."""


def note(message: str) -> None:
    """A side remark on stderr that keeps stdout clean for the result."""
    print(f"note: {message}", file=sys.stderr)


def warn(message: str) -> None:
    """A warning on stderr: the command did something, but not exactly what was asked."""
    print(f"warning: {message}", file=sys.stderr)


def one_line(text: str) -> str:
    """`text` with all whitespace runs (newlines too) collapsed to single spaces."""
    return " ".join(text.split())


def print_json(value: Model | dict[str, Any] | list[Any]) -> None:
    """Print a model (its camelCase `to_json()`) or plain JSON data on stdout."""
    data = value if isinstance(value, dict | list) else value.to_json()
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def error_message(error: BaseException) -> str | None:
    """The one-line message for an error a person can act on; None for a bug.

    Imports lazily: this runs only when a command failed.
    """
    from pydantic import ValidationError

    from sidecar.git.command import GitError
    from sidecar.services.errors import ServiceError
    from sidecar.store.errors import StoreError

    if isinstance(error, CliError | StoreError | GitError | ServiceError):
        return one_line(str(error))
    if isinstance(error, ValidationError):
        return validation_message(error)
    if isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        return one_line(f"{error.strerror or error}{where}")
    return None


def validation_message(error: Any, prefix: str = "invalid input") -> str:
    """A pydantic `ValidationError` as one line: `[0].field: what was expected; ...`."""
    parts = []
    for item in error.errors(include_url=False)[:5]:
        loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in item.get("loc", ()))
        parts.append(f"{loc.lstrip('.') or 'value'}: {item.get('msg', 'invalid')}")
    more = error.error_count() - len(parts)
    if more > 0:
        parts.append(f"and {more} more")
    return one_line(f"{prefix}: " + "; ".join(parts))


def relative_time(moment: datetime | None, now: datetime) -> str:
    """How long ago `moment` was, the way people say it ("3 min ago").

    >>> from datetime import UTC, datetime, timedelta
    >>> now = datetime(2025, 1, 2, tzinfo=UTC)
    >>> relative_time(now - timedelta(minutes=3), now)
    '3 min ago'
    """
    if moment is None:
        return "never"
    seconds = (now - moment).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86_400:
        return f"{int(seconds // 3600)} h ago"
    days = int(seconds // 86_400)
    if days < 30:
        return "1 day ago" if days == 1 else f"{days} days ago"
    return moment.astimezone().strftime("%Y-%m-%d")


def shorten(text: str | None, width: int) -> str:
    """`text` on one line, cut to `width` characters with an ellipsis."""
    line = one_line(text or "")
    return line if len(line) <= width else line[: max(width - 1, 0)] + "…"


def last_activity(session: Session) -> datetime:
    """When a session last had an event (or was last changed)."""
    return session.last_event_at or session.updated_at


def sessions_table(sessions: Sequence[Session], now: datetime) -> None:
    """Print sessions as a table: id, branch, name, events, last activity, last prompt."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    table.add_column("ID", no_wrap=True, min_width=26)
    table.add_column("BRANCH", no_wrap=True, min_width=6, max_width=30, overflow="ellipsis")
    table.add_column("NAME", no_wrap=True, min_width=10, max_width=60, overflow="ellipsis")
    table.add_column("STATUS", no_wrap=True, min_width=6)
    table.add_column("EVENTS", justify="right", no_wrap=True, min_width=6)
    table.add_column("LAST ACTIVITY", no_wrap=True, min_width=13)
    table.add_column("LAST PROMPT", no_wrap=True, overflow="ellipsis", ratio=1)
    for s in sessions:
        # Text() keeps user text literal: rich would read "[...]" as markup.
        table.add_row(
            Text(s.id),
            Text(s.boundary.branch),
            Text(labelled_name(s, 50)),
            Text(s.status.value),
            Text(str(s.event_count)),
            Text(relative_time(last_activity(s), now)),
            Text(shorten(s.last_prompt, 200)),
        )
    # Piped output has no terminal width; rich would assume 80 and cut every column.
    width = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else PIPE_WIDTH
    Console(highlight=False, width=width).print(table)


#: The mark of a pinned session in lists.
PIN_MARK = "📌"


def labelled_name(session: Session, width: int) -> str:
    """A session's name cut to `width`, after a pin mark if pinned and before its `[tags]`."""
    pin = f"{PIN_MARK} " if session.pinned else ""
    tags = "".join(f" [{tag}]" for tag in session.tags)
    return pin + shorten(session.name, width) + tags


def describe_session(session: Session) -> str:
    """One line naming a session: `<id> "<name>" on <branch> (<repository>)`."""
    b = session.boundary
    return f'{session.id} "{session.name}" on {b.branch} ({b.repository})'
