"""`session-sidecar sessions ...`: list, inspect and manage sessions.

Every command opens the database itself (`--db`, else `$SIDECAR_DB`, else the
default path) and prints either text for people or `--json` in the same shapes
as the JSON-RPC results (`sidecar.protocol.messages`), so scripts can switch
between the CLI and the server freely.

The rules are the core's, as for every other door: the current folder's
boundary comes from `boundary_for` (outside git: the folder itself, branch
`-`), sessions start, resume and fork through the session service as a
one-shot writer, and the resume contract is `SessionService.resume` (also for
`continue`, whose session `services.recent` chooses, and `pick`); pins and tags
change through `services.labels`, as the server's methods do.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sidecar.cli.context import (
    CLI_PROVIDER,
    DbOption,
    FolderOption,
    JsonOption,
    one_shot_sessions,
    open_store,
    place_here,
    scoped_filters,
)
from sidecar.cli.output import (
    CliError,
    describe_session,
    labelled_name,
    last_activity,
    note,
    print_json,
    relative_time,
    sessions_table,
    shorten,
    warn,
)
from sidecar.core.models import Phase, Scope, SessionStatus, utcnow

if TYPE_CHECKING:
    from sidecar.protocol.messages import ResumeResult
    from sidecar.services.recent import Candidate
    from sidecar.services.sessions import Notice, ResumeOutcome

app = typer.Typer(
    help="List, inspect, start, continue, pick, resume, fork, pin, tag and clean up sessions.",
    no_args_is_help=True,
    add_completion=False,
)

#: How many of the latest events `sessions show` prints by default.
SHOW_EVENTS = 20
#: How many footprint paths `sessions show` prints by default.
SHOW_PATHS = 10


class ExportFormat(StrEnum):
    JSONL = "jsonl"
    MARKDOWN = "markdown"


ScopeOption = Annotated[
    Scope,
    typer.Option(
        "--scope",
        help="branch: this branch of this repository; worktree; repository; all.",
        case_sensitive=False,
    ),
]
LimitOption = Annotated[int, typer.Option("--limit", "-n", min=1, max=1000, help="At most N.")]
SessionIdArgument = Annotated[str, typer.Argument(help="The session id.", show_default=False)]


@app.command("list")
def list_sessions(
    scope: ScopeOption = Scope.BRANCH,
    status: Annotated[
        list[SessionStatus] | None,
        typer.Option("--status", "-s", help="Only this status (repeat for several)."),
    ] = None,
    query: Annotated[
        str | None, typer.Option("--query", "-q", help="Text in the name, description or prompt.")
    ] = None,
    limit: LimitOption = 50,
    cursor: Annotated[
        str | None, typer.Option("--cursor", help="Continue after a previous page.")
    ] = None,
    tag: Annotated[str | None, typer.Option("--tag", "-t", help="Only sessions with TAG.")] = None,
    pinned: Annotated[bool, typer.Option("--pinned", help="Only pinned sessions.")] = False,
    folder: FolderOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Sessions, most recent activity first (default: this branch of this repository).

    Pinned sessions are marked with a pin, tags follow the name in brackets.
    """
    from sidecar.protocol.messages import ListResult

    with open_store(db) as store:
        filters = scoped_filters(store, scope, folder)
        page = store.sessions.list(
            statuses=status or None,
            text=query or None,
            limit=limit,
            cursor=cursor,
            tag=tag,
            pinned=True if pinned else None,
            **filters,
        )
    if json_output:
        print_json(ListResult(items=page.items, next_cursor=page.next_cursor))
        return
    if not page.items:
        print("no sessions" + ("" if scope is Scope.ALL else f" in scope '{scope.value}'"))
        return
    sessions_table(page.items, utcnow())
    if page.next_cursor:
        note(f"more sessions: add --cursor {page.next_cursor}")


@app.command("show")
def show_session(
    session_id: SessionIdArgument,
    events: Annotated[
        int, typer.Option("--events", "-e", min=0, max=1000, help="How many latest events.")
    ] = SHOW_EVENTS,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """One session: boundary, counts, footprint, checkpoints, lineage, latest events."""
    from sidecar.core.render import block_text, render
    from sidecar.protocol.messages import ShowResult

    with open_store(db) as store:
        session = store.sessions.get(session_id)
        result = ShowResult(
            session=session,
            footprint=store.sessions.footprint(
                session_id, limit=200 if json_output else SHOW_PATHS
            ),
            checkpoints=store.checkpoints.list(session_id),
            lineage=store.sessions.lineage(session_id),
            children=store.sessions.children(session_id),
            annotations=store.reviews.annotations(session_id),
        )
        latest = (
            store.events.page(
                session_id, after_seq=max(session.event_count - events, 0), limit=events
            )
            if events
            else []
        )
    blocks = render(latest, session.boundary.worktree)
    if json_output:
        print_json(
            {
                **result.to_json(),
                "events": [e.to_json() for e in latest],
                "blocks": [b.to_json() for b in blocks],
            }
        )
        return
    now = utcnow()
    b = session.boundary
    rows = [
        ("id", session.id),
        ("name", session.name),
        ("status", session.status.value + (" (pinned)" if session.pinned else "")),
        ("repository", b.repository),
        ("worktree", b.worktree),
        ("branch", b.branch),
        ("requester", f"{b.requester} on {b.machine}"),
        ("task", b.task),
        ("phase", b.phase.value if b.phase else None),
        ("provider", b.provider),
        ("created", f"{session.created_at:%Y-%m-%d %H:%M} UTC"),
        ("last activity", relative_time(last_activity(session), now)),
        ("events", str(session.event_count)),
        ("head", session.head_sha[:12] if session.head_sha else None),
        ("description", shorten(session.description, 200) or None),
        ("last prompt", shorten(session.last_prompt, 200) or None),
    ]
    for label, value in rows:
        if value:
            print(f"{label + ':':<15}{value}")
    if result.lineage:
        chain = " <- ".join(f'{s.id} "{s.name}"' for s in result.lineage)
        forked = f" at seq {session.forked_at_seq}" if session.forked_at_seq is not None else ""
        print(f"{'forked from:':<15}{chain}{forked}")
    if result.children:
        print(f"{'forks:':<15}" + ", ".join(s.id for s in result.children))
    print(f"\nfootprint (top {SHOW_PATHS} paths):" if result.footprint else "\nfootprint: none")
    for entry in result.footprint:
        print(f"  {entry.weight:>7.2f}  {entry.path}")
    print("\ncheckpoints:" if result.checkpoints else "\ncheckpoints: none")
    for c in result.checkpoints:
        sha = c.head_sha[:12] if c.head_sha else "-"
        print(f"  {c.id}  seq {c.seq:<6} {sha:<12}  {c.name}")
    if result.annotations:
        print("\nannotations:")
        for a in result.annotations:
            print(f"  {a.code}" + (f" (seq {a.seq})" if a.seq else "") + f"  {shorten(a.text, 80)}")
    if events:
        shown = f"last {len(latest)} of {session.event_count}" if latest else "none"
        print(f"\nevents ({shown}):")
        for block in blocks:
            for line in block_text(block):
                print(line)


@app.command("start")
def start_session(
    name: Annotated[str, typer.Option("--name", help="Default: '<branch> <date time>'.")] = "",
    description: Annotated[str, typer.Option("--description", "-d")] = "",
    task: Annotated[
        str | None, typer.Option("--task", help="ADR, issue or plan reference.")
    ] = None,
    phase: Annotated[Phase | None, typer.Option("--phase", case_sensitive=False)] = None,
    provider: Annotated[
        str, typer.Option("--provider", help="Tool that works in the session.")
    ] = CLI_PROVIDER,
    parent: Annotated[
        str | None, typer.Option("--parent", help="Id of the session that delegated this one.")
    ] = None,
    folder: FolderOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Start a new session on the current folder's boundary (outside git: the folder, branch -)."""
    from sidecar.protocol.messages import StartResult
    from sidecar.services.boundary import Profile

    with open_store(db) as store:
        place = place_here(store, folder, Profile(task=task, phase=phase, provider=provider))
        session = one_shot_sessions(store).start(
            place, name=name, description=description, parent_id=parent
        )
    if json_output:
        print_json(StartResult(session=session))
    else:
        print(f"started session {describe_session(session)}")


def _report_resume(result: ResumeResult, json_output: bool) -> None:
    """Print what a resume did (as `sessions resume` does): its warning, then the session."""
    if result.warning is not None:
        warn(result.warning.message)
    if json_output:
        print_json(result)
    elif result.resumed:
        print(f"resumed session {describe_session(result.session)}")
    elif result.warning is not None and result.warning.code == "held":
        print(f"did not resume session {describe_session(result.session)}")
    else:
        print(f"started session {describe_session(result.session)}")


@app.command("resume")
def resume_session(
    session_id: SessionIdArgument,
    folder: FolderOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Resume a session by id; an unknown or ineligible id starts a new session instead.

    Eligible means the same repository, requester and machine as the current
    folder. Otherwise a warning says why and a new session starts here (exit 0).
    A session another live connection (an editor, `watch`) holds is not
    resumed: a warning says so and nothing changes (fork it to continue).
    """
    from sidecar.services.boundary import Profile

    with open_store(db) as store:
        place = place_here(store, folder, Profile(provider=CLI_PROVIDER))
        outcome = one_shot_sessions(store).resume(place, session_id)
    _report_resume(_resume_result(outcome), json_output)


def _resume_result(outcome: ResumeOutcome, notice: Notice | None = None) -> ResumeResult:
    """A resume outcome as the protocol's result; `notice` stands in when it has no warning."""
    from sidecar.protocol.messages import ResultWarning, ResumeResult

    notice = outcome.warning or notice
    warning = None if notice is None else ResultWarning.model_validate(notice.to_json())
    return ResumeResult(session=outcome.session, resumed=outcome.resumed, warning=warning)


@app.command("continue")
def continue_session(
    folder: FolderOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Resume the most recent session of this branch (this worktree, you, this machine).

    The session the drift policy would call resumable; one that is only stale
    is resumed anyway, with a warning saying how long it has been idle. When
    there is none, says so and exits 1 (start one with `sessions start`).
    """
    from sidecar.services.boundary import Profile
    from sidecar.services.recent import continue_latest
    from sidecar.services.sessions import Notice

    with open_store(db) as store:
        place = place_here(store, folder, Profile(provider=CLI_PROVIDER))
        continued = continue_latest(one_shot_sessions(store), place)
    if continued is None:
        b = place.boundary
        print(
            f"error: no session to continue on branch {b.branch!r} of {b.repository} "
            f"(worktree {b.worktree}); start one with `session-sidecar sessions start`, "
            "or see `session-sidecar sessions list --scope repository`",
            file=sys.stderr,
        )
        raise typer.Exit(1)
    stale = continued.stale
    notice = (
        None
        if stale is None
        else Notice(
            "stale",
            f"Session {continued.outcome.session.name!r} is stale: {stale.message} "
            "Resumed it as asked; `session-sidecar sessions start` begins a fresh one.",
        )
    )
    result = _resume_result(continued.outcome, notice)
    if result.warning is not None:
        warn(result.warning.message)
    if json_output:
        print_json(result)
    else:
        session = result.session
        verb = "continued" if result.resumed else "did not continue"
        print(f"{verb} session {describe_session(session)}")
        print(
            f"  last active {relative_time(last_activity(session), utcnow())}, "
            f"{session.event_count} event{'' if session.event_count == 1 else 's'}"
        )
    if not result.resumed:
        raise typer.Exit(1)


#: How many sessions `sessions pick` offers at once.
PICK_LIMIT = 20
PICK_PROMPT = "number to resume, words to search again, q to quit"


def _print_candidates(candidates: Sequence[Candidate], query: str | None) -> None:
    """The numbered list `sessions pick` reads a choice from."""
    if not candidates:
        print(f"no matches for {query!r}" if query else "no sessions")
        return
    now = utcnow()
    for number, c in enumerate(candidates, 1):
        s = c.session
        events = f"{s.event_count} event{'' if s.event_count == 1 else 's'}"
        age = relative_time(last_activity(s), now)
        print(
            f"{number:>3}) {labelled_name(s, 50)}  ·  {s.boundary.branch}  ·  {age}  ·  "
            f"{events}  ·  {s.id}"
        )
        if c.snippet:
            print(f"     {shorten(c.snippet, 110)}")


def _ask(prompt: str) -> str:
    """One answer from stdin (a terminal or a pipe), the prompt on stderr; q at the end of
    input or on Ctrl-C.

    Not `typer.prompt`: it writes the prompt's last character to stdout, which must
    hold only the list and the result.
    """
    sys.stderr.write(prompt)
    sys.stderr.flush()
    try:
        return input().strip()
    except (EOFError, KeyboardInterrupt):
        sys.stderr.write("\n")
        return "q"


@app.command("pick")
def pick_session(
    query: Annotated[
        str | None,
        typer.Argument(help="Search words (word* = prefix); none: the most recent sessions."),
    ] = None,
    scope: ScopeOption = Scope.BRANCH,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=100, help="At most N.")] = (
        PICK_LIMIT
    ),
    folder: FolderOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Search and pick a session to resume: a numbered list, then a number from stdin.

    Lists the most recent sessions of the scope (or the sessions of full-text
    hits for QUERY) and reads a number (resume it, as `sessions resume` does),
    other words (search again) or q (quit, nothing changes; so does end of
    input). With --json it prints the candidates and does not ask.
    """
    from sidecar.services.boundary import Profile
    from sidecar.services.recent import pick_candidates

    def find(words: str | None) -> list[Candidate]:
        # The database is open only while reading: a prompt may wait for hours.
        with open_store(db) as store:
            return pick_candidates(store, scoped_filters(store, scope, folder), words, limit)

    candidates = find(query)
    if json_output:
        print_json({"query": query, "items": [c.to_json() for c in candidates]})
        return
    _print_candidates(candidates, query)
    while True:
        answer = _ask(PICK_PROMPT + "> ")
        if answer.lower() in ("q", "quit"):
            note("nothing picked; no session changed")
            return
        if answer.isdigit():
            number = int(answer)
            if 1 <= number <= len(candidates):
                break
            if candidates:
                warn(f"{number} is not in the list (1-{len(candidates)}); pick again")
            else:
                warn("the list is empty: type words to search, or q to quit")
            continue
        query = answer
        candidates = find(query)
        _print_candidates(candidates, query)
    chosen = candidates[number - 1].session
    with open_store(db) as store:
        place = place_here(store, folder, Profile(provider=CLI_PROVIDER))
        outcome = one_shot_sessions(store).resume(place, chosen.id)
    _report_resume(_resume_result(outcome), json_output=False)


@app.command("fork")
def fork_session(
    session_id: SessionIdArgument,
    at_seq: Annotated[
        int | None, typer.Option("--at-seq", min=0, help="Share history up to this seq.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="Default: '<name> (fork)'.")] = None,
    folder: FolderOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """A new session sharing a session's history up to a seq (default: all of it).

    The fork is bound to the current folder's boundary (outside git: the folder,
    branch -), keeping the parent's task, phase and provider.
    """
    from sidecar.protocol.messages import SessionResult

    with open_store(db) as store:
        place = place_here(store, folder)
        fork = one_shot_sessions(store).fork(place, session_id, at_seq=at_seq, name=name)
    if json_output:
        print_json(SessionResult(session=fork))
    else:
        print(f"forked session {describe_session(fork)} at seq {fork.forked_at_seq}")


@app.command("rename")
def rename_session(
    session_id: SessionIdArgument,
    name: Annotated[str, typer.Argument(help="The new name.", show_default=False)],
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Give a session a new name."""
    from sidecar.protocol.messages import SessionResult

    if not name.strip():
        raise CliError("a session name cannot be empty")
    with open_store(db) as store:
        session = store.sessions.rename(session_id, name)
    if json_output:
        print_json(SessionResult(session=session))
    else:
        print(f"renamed session {describe_session(session)}")


@app.command("pin")
def pin_session(
    session_id: SessionIdArgument,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Pin a session: cleanup keeps it, lists mark it."""
    _set_pinned(session_id, True, db, json_output)


@app.command("unpin")
def unpin_session(
    session_id: SessionIdArgument,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Unpin a session (cleanup may delete it again once it is ended and old)."""
    _set_pinned(session_id, False, db, json_output)


def _set_pinned(session_id: str, pinned: bool, db: Path | None, json_output: bool) -> None:
    from sidecar.protocol.messages import SessionResult
    from sidecar.services.labels import set_pinned

    with open_store(db) as store:
        session = set_pinned(store, session_id, pinned)
    if json_output:
        print_json(SessionResult(session=session))
    else:
        print(f"{'pinned' if pinned else 'unpinned'} session {describe_session(session)}")


@app.command("tag")
def tag_session(
    session_id: SessionIdArgument,
    tags: Annotated[list[str], typer.Argument(help="Tags: one word each, at most 40 characters.")],
    remove: Annotated[
        bool, typer.Option("--remove", "-r", help="Remove these tags instead of adding them.")
    ] = False,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Add tags to a session (or remove them with --remove); each tag is kept once."""
    from sidecar.protocol.messages import SessionResult
    from sidecar.services.labels import change_tags

    with open_store(db) as store:
        if remove:
            session = change_tags(store, session_id, remove=tags)
        else:
            session = change_tags(store, session_id, add=tags)
    if json_output:
        print_json(SessionResult(session=session))
        return
    shown = " ".join(f"[{t}]" for t in session.tags) or "none"
    print(f"tagged session {describe_session(session)}: {shown}")


@app.command("end")
def end_session(
    session_id: SessionIdArgument,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Mark a session ended (it stays in history; cleanup may delete it later)."""
    from sidecar.protocol.messages import SessionResult

    with open_store(db) as store:
        session = one_shot_sessions(store).end(session_id)
    if json_output:
        print_json(SessionResult(session=session))
    else:
        print(f"ended session {describe_session(session)}")


@app.command("delete")
def delete_session(
    session_id: SessionIdArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Delete a session and its events for good (forks keep their inherited history)."""
    from sidecar.protocol.messages import DeleteResult

    with open_store(db) as store:
        session = store.sessions.get(session_id)
        if not yes:
            if not sys.stdin.isatty():
                raise CliError(
                    f"refusing to delete session {session_id} without confirmation: "
                    "pass --yes (stdin is not a terminal)"
                )
            if not typer.confirm(f"Delete session {describe_session(session)}?", err=True):
                raise CliError("not deleted: you declined")
        one_shot_sessions(store).delete(session_id)
    if json_output:
        print_json(DeleteResult(session_id=session_id))
    else:
        print(f"deleted session {describe_session(session)}")


@app.command("cleanup")
def cleanup_sessions(
    older_than: Annotated[
        int,
        typer.Option(
            "--older-than", min=0, help="Delete ended sessions idle for more than DAYS days."
        ),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be deleted.")
    ] = False,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Delete ended sessions older than N days; pinned sessions are kept."""
    from sidecar.protocol.messages import CleanupResult

    with open_store(db) as store:
        victims = store.sessions.cleanup(older_than, dry_run=dry_run)
    if json_output:
        print_json(CleanupResult(sessions=victims, deleted=0 if dry_run else len(victims)))
        return
    verb = "would delete" if dry_run else "deleted"
    print(f"{verb} {len(victims)} session{'' if len(victims) == 1 else 's'}")
    for session in victims:
        print(f"  {describe_session(session)}")


@app.command("export")
def export_session(
    session_id: SessionIdArgument,
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", case_sensitive=False)
    ] = ExportFormat.JSONL,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", dir_okay=False, help="Write to FILE instead of stdout."),
    ] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """One session as JSONL (a session line, then one line per event) or Markdown."""
    from sidecar.protocol.messages import ExportResult
    from sidecar.store.export import export_session as export_to_text

    with open_store(db) as store:
        content = export_to_text(
            store, session_id, "markdown" if fmt is ExportFormat.MARKDOWN else "jsonl"
        )
    if output is not None:
        output.write_text(content, encoding="utf-8")
    if json_output:
        path = str(output) if output is not None else None
        print_json(ExportResult(format=fmt.value, content=content, path=path))
    elif output is None:
        sys.stdout.write(content)
    else:
        print(f"wrote {output}")


@app.command("search")
def search_sessions(
    query: Annotated[str, typer.Argument(help="Words that must all match (word* = prefix).")],
    scope: ScopeOption = Scope.BRANCH,
    limit: LimitOption = 50,
    folder: FolderOption = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Full-text search over event text, newest first (default: this branch)."""
    from sidecar.protocol.messages import SearchResult

    if not query.strip():
        raise CliError("the search query is empty")
    with open_store(db) as store:
        filters = scoped_filters(store, scope, folder)
        hits = store.events.search(query, limit=min(limit, 500), **filters)
    if json_output:
        print_json(SearchResult(items=hits))
        return
    if not hits:
        print("no matches")
        return
    now = utcnow()
    for hit in hits:
        when = relative_time(hit.time, now)
        print(
            f"{hit.session_id}  {shorten(hit.session_name, 30):<30}  seq {hit.seq:<5} "
            f"{hit.kind.value:<12} {when:<12} {shorten(hit.snippet, 100)}"
        )
