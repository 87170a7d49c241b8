"""`session-sidecar events ...`: append events to a session from scripts and hooks.

Appends go through the one append path (:func:`sidecar.services.append.append`)
as a one-shot writer: the store refuses a session another live connection
(an editor, `watch`) holds and a payload over the size limit, with nothing
appended; a drift finding (a stale session, work outside its footprint) is
recorded on the session and printed on stderr as a note.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sidecar.cli.context import (
    DbOption,
    FolderOption,
    JsonOption,
    one_shot_sessions,
    open_store,
    place_here,
)
from sidecar.cli.output import CliError, note, print_json, validation_message
from sidecar.core.models import Actor, EventKind, NewEvent

if TYPE_CHECKING:
    from pathlib import Path

    from sidecar.services.sessions import SessionService
    from sidecar.store import Store

app = typer.Typer(help="Append events to a session.", no_args_is_help=True, add_completion=False)


@app.callback()
def events() -> None:
    """Append events to a session (prompts, notes, commands...) from scripts and hooks."""


@app.command("append")
def append_events(
    kind: Annotated[
        EventKind | None,
        typer.Option("--kind", "-k", case_sensitive=False, help="Event kind (not with --stdin)."),
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", "-t", help="Text of the event (payload.text).")
    ] = None,
    payload: Annotated[
        str | None,
        typer.Option("--payload", "-p", help="Payload as a JSON object (--text is added to it)."),
    ] = None,
    actor: Annotated[
        Actor | None,
        typer.Option(
            "--actor", "-a", case_sensitive=False, help="Default: user for prompts, else agent."
        ),
    ] = None,
    client_event_id: Annotated[
        str | None,
        typer.Option("--client-event-id", help="Idempotency key: a retry returns the same seq."),
    ] = None,
    from_stdin: Annotated[
        bool,
        typer.Option(
            "--stdin", help="Read a JSON array of events ({kind, actor, payload, ...}) from stdin."
        ),
    ] = False,
    session_id: Annotated[
        str | None,
        typer.Option(
            "--session",
            "-s",
            help="Default: the most recent active session of this branch, worktree and person.",
        ),
    ] = None,
    folder: FolderOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Append one event (--kind with --text/--payload) or a batch (--stdin), atomically."""
    from sidecar.protocol.messages import AppendResult
    from sidecar.services.append import append
    from sidecar.services.drift import DriftSettings

    if from_stdin:
        if kind or text is not None or payload is not None or actor or client_event_id:
            raise CliError(
                "--stdin reads whole events: do not combine it with --kind, --text, --payload, "
                "--actor or --client-event-id"
            )
        batch = read_events(sys.stdin.read())
    else:
        if kind is None:
            raise CliError(
                "say what to append: --kind KIND [--text TEXT] [--payload JSON], or --stdin"
            )
        data = parse_payload(payload)
        if text is not None:
            data["text"] = text
        default_actor = Actor.USER if kind is EventKind.PROMPT else Actor.AGENT
        batch = [
            NewEvent(
                kind=kind,
                actor=actor or default_actor,
                payload=data,
                client_event_id=client_event_id,
            )
        ]
    with open_store(db) as store:
        sessions = one_shot_sessions(store)
        target = session_id or _current_session(store, sessions, folder)
        done = append(sessions, target, batch, settings=DriftSettings())
    seqs = done.seqs
    if done.drift is not None:
        note(f"drift in session {target}: {done.drift.summary}")
    if json_output:
        print_json(AppendResult(session_id=target, seqs=seqs))
    else:
        listed = ", ".join(str(s) for s in seqs)
        print(f"appended seq{'s' if len(seqs) != 1 else ''} {listed} to session {target}")


def parse_payload(raw: str | None) -> dict[str, Any]:
    """The `--payload` JSON object (empty when not given); a `CliError` when it is not one."""
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise CliError(f"--payload is not valid JSON: {error}") from error
    if not isinstance(value, dict):
        raise CliError(f"--payload must be a JSON object, got {type(value).__name__}")
    return value


def read_events(raw: str) -> list[NewEvent]:
    """Events from a JSON array (a single object is accepted too), validated strictly.

    Fields are camelCase or snake_case, as in `sidecar/events/append`; unknown
    fields are rejected so a typo is not silently dropped.
    """
    from pydantic import TypeAdapter, ValidationError

    from sidecar.protocol.messages import MAX_BATCH, AppendEvent

    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise CliError(f"stdin is not valid JSON: {error}") from error
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise CliError(f"stdin must hold a JSON array of events, got {type(value).__name__}")
    if not value:
        raise CliError("stdin holds no events (an empty array)")
    if len(value) > MAX_BATCH:
        raise CliError(f"stdin holds {len(value)} events; append at most {MAX_BATCH} at once")
    try:
        # Strict JSON validation: "5" is not a number, unknown fields are errors.
        events = TypeAdapter(list[AppendEvent]).validate_json(json.dumps(value))
    except ValidationError as error:
        raise CliError(validation_message(error, "invalid event on stdin")) from error
    return list(events)


def _current_session(store: Store, sessions: SessionService, folder: Path | None) -> str:
    """The most recent live session of the folder's boundary (same person and machine) that
    a door may attach to (`SessionService.candidates`: an agent's own sessions are its hook's)."""
    place = place_here(store, folder)
    boundary = place.boundary
    candidates = sessions.candidates(boundary)
    if not candidates:
        where = f"in {place.path}"
        if place.in_git:
            where = f"on {boundary.branch} of {boundary.repository}"
        raise CliError(
            f"no active session {where}: pass --session ID "
            "or start one with `session-sidecar sessions start`"
        )
    return candidates[0].id
