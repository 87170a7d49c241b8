"""`session-sidecar watch [PATH]`: the sidecar for a terminal without an editor.

It prints the folder's boundary and active session, then watches git: on a
branch switch it prints the recommendation with its reasons and asks with
numbered choices (the same titles as the editors' prompt), records the
answer and acts on it. Without a terminal on stdin, or with ``--no-prompt``,
nothing is asked: the recommendation is applied and printed. Ctrl-C stops
watching; sessions are left idle, never ended.

``watch`` is one long-lived connection, built like the language server: one
owner thread (:class:`~sidecar.services.owner.Owner`) holds the store and the
:class:`~sidecar.services.workspace.Workspace`; the process's watch hub
reports the git directory and the worktree through
:class:`~sidecar.watch.workspace.WorkspaceWatch` (git changes at once, file
changes batched), which posts them to the owner thread, where the folder's
:class:`~sidecar.services.tracker.GitTracker` decides what they mean. The
terminal is the workspace's :class:`~sidecar.services.workspace.DriftPort`:
it prints, and a stdin reader thread hands numbered answers back.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sidecar.cli.context import DbOption, checked_folder, open_store
from sidecar.cli.output import CliError, error_message

if TYPE_CHECKING:
    from rich.console import Console

    from sidecar.core.models import Boundary, Recommendation, Session
    from sidecar.services.owner import Owner, Timer
    from sidecar.services.sessions import SessionService
    from sidecar.services.workspace import Folder, Workspace
    from sidecar.store import Store
    from sidecar.telemetry.worker import ExportWorker
    from sidecar.watch.workspace import WorkspaceWatch

#: Holds are renewed this often (a third of the session service's lease).
RENEW_EVERY_S = 10.0
#: How long stopping may wait for the owner thread (holds lapse by themselves anyway).
CLOSE_TIMEOUT_S = 10.0

Answer = Callable[[str | None], None]


class TerminalPort:
    """The workspace's drift port on a terminal: prints, and reads numbered answers.

    ``notify_drift``, ``ask`` and ``session_changed`` run on the owner thread
    and never block; answers come from the stdin reader thread (``on_line``)
    and go back through the workspace's ``answer`` callable, which posts them
    to the owner thread. Printing happens on both threads, so it is locked.
    """

    def __init__(self, console: Console) -> None:
        self.console = console
        self._lock = threading.Lock()
        self._question: tuple[Answer, list[str]] | None = None
        self._eof = False
        self._held: list[str] | None = None

    def say(self, *lines: str) -> None:
        """Print lines (rich markup) and flush: a pipe reader sees them at once."""
        with self._lock:
            if self._held is not None:
                self._held.extend(lines)
                return
            for line in lines:
                self.console.print(line)
            self.console.file.flush()

    def hold(self) -> None:
        """Keep what is said until :meth:`release` (the banner comes first)."""
        with self._lock:
            self._held = []

    def release(self, *first: str) -> None:
        """Print ``first``, then everything held back since :meth:`hold`."""
        with self._lock:
            held, self._held = self._held or [], None
        self.say(*first, *held)

    # -- drift port ------------------------------------------------------------------

    def notify_drift(
        self,
        folder: str,
        recommendation: Recommendation,
        before: Boundary | None,
        after: Boundary,
    ) -> None:
        """Print the recommendation and its reasons."""
        lines = []
        if before is not None and before.branch != after.branch:
            lines.append(f"[bold]Branch changed:[/] {_esc(before.branch)} -> {_esc(after.branch)}")
        lines.append(f"[bold yellow]{_esc(recommendation.summary)}[/]")
        for reason in recommendation.reasons:
            lines.append(f"  - {reason.severity.value}: {_esc(reason.message)}")
        self.say(*lines)

    def ask(
        self, folder: str, recommendation: Recommendation, actions: list[str], answer: Answer
    ) -> None:
        """Numbered choices; the answer comes from the stdin reader. Enter decides later.

        A newer question replaces an unanswered one (the workspace ignores answers
        to prompts a newer change made stale).
        """
        with self._lock:
            if self._eof:
                self._question = None
                eof = True
            else:
                self._question = (answer, actions)
                eof = False
        if eof:
            answer(None)  # nobody can answer any more: the prompt counts as dismissed
            return
        lines = [f"  {i}) {_esc(title)}" for i, title in enumerate(actions, 1)]
        lines.append(f"Choose 1-{len(actions)} (Enter: decide later):")
        self.say(*lines)

    def session_changed(self, folder: str, session: Session, reason: str) -> None:
        """Print the folder's active session and why it changed."""
        self.say(f"[bold green]Session[/] {_describe(session)} [dim]({reason})[/]")

    # -- stdin -----------------------------------------------------------------------

    def on_line(self, line: str) -> None:
        """A line typed on stdin (stdin reader thread)."""
        with self._lock:
            question = self._question
        if question is None:
            return
        actions = question[1]
        text = line.strip()
        if not text:
            self._answer(question, None)
            self.say("Left undecided: the recommendation stays pending.")
            return
        if text.isdigit() and 1 <= int(text) <= len(actions):
            self._answer(question, actions[int(text) - 1])
            return
        for title in actions:
            if text.casefold() == title.casefold():
                self._answer(question, title)
                return
        self.say(f"Please answer 1-{len(actions)}, or press Enter to decide later.")

    def _answer(self, question: tuple[Answer, list[str]], title: str | None) -> None:
        """Answer ``question`` once, unless a newer one replaced it meanwhile."""
        with self._lock:
            if self._question is not question:
                return
            self._question = None
        question[0](title)

    def on_eof(self) -> None:
        """stdin closed: no more answers; an open question counts as dismissed."""
        with self._lock:
            self._eof = True
            question, self._question = self._question, None
        if question is not None:
            question[0](None)


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _describe(session: Session) -> str:
    return f'"{_esc(session.name)}" {session.id} on {_esc(session.boundary.branch)}'


def _read_stdin(port: TerminalPort) -> None:
    """Hand stdin lines to the port (a daemon thread: a blocked read never holds up exit)."""
    try:
        for line in sys.stdin:
            port.on_line(line)
    except (OSError, ValueError):
        pass  # stdin closed under us
    port.on_eof()


@dataclass
class _Core:
    """What the owner thread holds for one ``watch``."""

    store: Store
    sessions: SessionService
    workspace: Workspace
    folder: Folder
    watch: WorkspaceWatch | None
    renewal: Timer | None = None


def _begin(
    owner: Owner,
    root: Path,
    db: Path | None,
    interactive: bool,
    stale_after: timedelta,
    port: TerminalPort,
) -> tuple[_Core, Session | None]:
    """Owner thread: open the store, watch the folder, attach its session, track its git state.

    As in the language server, watching starts before the session is attached
    to the git state it reads, so a branch switch in between is seen; the
    tracker starts from the state the session was attached on.
    """
    from sidecar.services.drift import DriftSettings
    from sidecar.services.paths import path_to_uri
    from sidecar.services.sessions import SessionService, Writer
    from sidecar.services.tracker import GitTracker
    from sidecar.services.workspace import Workspace
    from sidecar.watch.workspace import WorkspaceWatch
    from sidecar.watch.worktree import DEFAULT_FOLDER_BUDGET

    store = open_store(db)
    watch: WorkspaceWatch | None = None
    try:
        sessions = SessionService(store, Writer.connection(), stale_after=stale_after)
        settings = DriftSettings(
            stale_after=stale_after, prompts="native" if interactive else "off"
        )
        workspace = Workspace(sessions, port, settings=settings, post=owner.post)
        folder = workspace.open(path_to_uri(str(root)), attach=False)
        place = folder.place
        if place.git_dir is not None:

            def on_git(reason: str) -> None:
                if folder.tracker is not None:
                    folder.tracker.observe(reason)

            def on_paths(changed: list[str]) -> None:
                if folder.tracker is not None:
                    folder.tracker.paths_changed(changed)

            watch = WorkspaceWatch(
                git_dir=place.git_dir,
                common_dir=place.common_dir or place.git_dir,
                worktree=place.worktree,
                on_git=on_git,
                on_paths=on_paths,
                post=owner.post,
                later=owner.later,
                folder_budget=DEFAULT_FOLDER_BUDGET,
            )
            # Too many folders: no editor reports them here, so file activity goes unrecorded.
            folder.watcher_mode = "editor" if watch.mode == "editor" else "native"
        session = workspace.attach(folder)
        if watch is not None:
            GitTracker(workspace, folder)
        return _Core(store, sessions, workspace, folder, watch), session
    except BaseException:
        if watch is not None:
            watch.close()
        store.close()
        raise


def _renew(owner: Owner, core: _Core) -> None:
    """Owner thread: extend the holds, and come back in a while."""
    try:
        core.sessions.renew()
    finally:
        core.renewal = owner.later(RENEW_EVERY_S, _renew, owner, core)


def _end(core: _Core) -> None:
    """Owner thread: stop watching, release every hold (held sessions turn idle), close."""
    if core.renewal is not None:
        core.renewal.cancel()
    try:
        if core.watch is not None:
            core.watch.close()
        core.folder.tracker = None
        core.workspace.close_all()
    finally:
        core.store.close()


def _start_export(store: Store, port: TerminalPort) -> ExportWorker | None:
    """With ``SIDECAR_OTEL=1``: the OpenTelemetry export worker (docs/telemetry.md)."""
    from sidecar.telemetry.settings import export_settings

    settings = export_settings()
    if not settings.enabled or store.read_only:
        return None
    try:
        from sidecar.telemetry.otlp import OtlpSink
        from sidecar.telemetry.worker import ExportWorker

        sink = OtlpSink()
    except Exception as error:
        port.say(f"[yellow]OpenTelemetry export is off:[/] {_esc(str(error))}")
        return None
    port.say(f"  export     OpenTelemetry to {_esc(sink.endpoint)}")
    return ExportWorker(store.path, settings, sink=lambda: sink).start()


def _watch(
    root: Path, db: Path | None, interactive: bool, stale_after: timedelta, console: Console
) -> None:
    from sidecar.services.owner import Owner

    owner = Owner("sidecar-watch-owner")
    port = TerminalPort(console)
    core: _Core | None = None
    exporter: ExportWorker | None = None
    try:
        port.hold()  # an offer made while attaching comes after the banner
        core, session = owner.call(_begin, owner, root, db, interactive, stale_after, port)
        boundary = core.folder.place.boundary
        if session is not None:
            described = _describe(session)
        elif core.store.read_only:
            described = "none (read-only database)"
        else:
            described = "none yet: one begins with the first change"
        port.release(
            f"[bold]Watching[/] {_esc(str(root))} (Ctrl-C to stop)",
            f"  repository {_esc(boundary.repository)}",
            f"  branch     {_esc(boundary.branch)}",
            f"  requester  {_esc(boundary.requester)} on {_esc(boundary.machine)}",
            f"  session    {described}",
            f"  database   {_esc(core.store.path)}",
        )
        if interactive:
            threading.Thread(
                target=_read_stdin, args=(port,), name="sidecar-watch-stdin", daemon=True
            ).start()
        core.renewal = owner.later(RENEW_EVERY_S, _renew, owner, core)
        exporter = _start_export(core.store, port)
        threading.Event().wait()  # until Ctrl-C (KeyboardInterrupt)
    finally:
        port.release()  # nothing stays held back if the start failed
        if exporter is not None:
            exporter.stop(timeout=2.0)
        # Runs on Ctrl-C too: leave sessions idle, not ended. A second Ctrl-C must not
        # cut this short (the holds would linger until their lease runs out).
        with contextlib.suppress(ValueError):  # not the main thread (tests)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            if core is not None:
                owner.submit(_end, core).result(CLOSE_TIMEOUT_S)
        finally:
            owner.close(CLOSE_TIMEOUT_S)


def watch(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="Folder to watch (any folder of a git worktree).",
            show_default="current folder",
            file_okay=False,
        ),
    ] = None,
    db: DbOption = None,
    prompts: Annotated[
        bool | None,
        typer.Option(
            "--prompt/--no-prompt",
            help="Ask on a branch switch. Default: ask when stdin is a terminal; "
            "without asking, the recommendation is applied.",
            show_default=False,
        ),
    ] = None,
    stale_hours: Annotated[
        float,
        typer.Option("--stale-hours", min=0.0, help="A session idle longer than this is stale."),
    ] = 8.0,
) -> None:
    """Watch a worktree: bind sessions to its branch and ask what to do when it changes."""
    from rich.console import Console

    from sidecar.services.boundary import boundary_for

    place = boundary_for(checked_folder(path))
    if not place.in_git:
        # Outside git there is no branch to drift from: sessions there need no watching.
        raise CliError(f"cannot watch: {place.reason}; run it inside a git worktree")
    interactive = sys.stdin.isatty() if prompts is None else prompts
    console = Console(highlight=False, soft_wrap=True)
    root = Path(place.worktree)
    try:
        _watch(root, db, interactive, timedelta(hours=stale_hours), console)
    except KeyboardInterrupt:
        console.print("Stopped watching; the session stays idle until you come back.")


def main() -> None:
    """``python -m sidecar.cli.watch``: the command alone, with the CLI's one-line errors."""
    try:
        typer.run(watch)
    except Exception as error:  # typer.run exits itself on success and usage errors
        message = error_message(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
