"""`session-sidecar watch [PATH]`: the sidecar for a terminal without an editor.

It prints the folder's boundary and active session, then watches git: on a
branch switch it prints the recommendation with its reasons and asks with
numbered choices (the same titles as the editors' prompt), records the
answer and acts on it. Without a terminal on stdin, or with ``--no-prompt``,
nothing is asked: the recommendation is applied and printed. Ctrl-C stops
watching; sessions are left idle, never ended.

Threads, as in the language server: the store and session service live on
one worker thread, prompts and stdin on the asyncio loop of the main thread,
watchers on their own (see :mod:`sidecar.services.drift`).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from sidecar.cli.context import DbOption, locate_here, open_store
from sidecar.cli.output import CliError, error_message

if TYPE_CHECKING:
    from collections.abc import Callable

    from rich.console import Console

    from sidecar.core.models import Boundary, Recommendation, Session
    from sidecar.services.folders import Folder

T = TypeVar("T")

#: Holds are renewed this often (a third of the session service's lease).
RENEW_EVERY_S = 10.0


class TerminalPort:
    """Prints drift, session changes and prompts; reads numbered answers from stdin.

    It is both the drift service's port and the session service's notifier.
    Printing happens on the store thread and the loop thread, so it is locked.
    """

    def __init__(self, console: Console, loop: asyncio.AbstractEventLoop) -> None:
        self.console = console
        self.loop = loop
        self._lock = threading.Lock()
        self._question: tuple[asyncio.Future[str | None], list[str]] | None = None
        self._eof = False

    def say(self, *lines: str) -> None:
        """Print lines (rich markup) and flush: a pipe reader sees them at once."""
        with self._lock:
            for line in lines:
                self.console.print(line)
            self.console.file.flush()

    # -- drift port ------------------------------------------------------------------

    def notify_drift(
        self, recommendation: Recommendation, before: Boundary | None, after: Boundary
    ) -> None:
        """Print the recommendation and its reasons."""
        lines = []
        if before is not None and before.branch != after.branch:
            lines.append(f"[bold]Branch changed:[/] {_esc(before.branch)} -> {_esc(after.branch)}")
        lines.append(f"[bold yellow]{_esc(recommendation.summary)}[/]")
        for reason in recommendation.reasons:
            lines.append(f"  - {reason.severity.value}: {_esc(reason.message)}")
        self.say(*lines)

    async def ask(self, recommendation: Recommendation, actions: list[str]) -> str | None:
        """Numbered choices; the answer comes from the stdin reader. Enter decides later."""
        if self._question is not None and not self._question[0].done():
            self._question[0].set_result(None)  # superseded by a newer change
        if self._eof:
            return None
        lines = [f"  {i}) {_esc(title)}" for i, title in enumerate(actions, 1)]
        lines.append(f"Choose 1-{len(actions)} (Enter: decide later):")
        self.say(*lines)
        future: asyncio.Future[str | None] = self.loop.create_future()
        self._question = (future, actions)
        return await future

    def on_line(self, line: str) -> None:
        """A line typed on stdin (loop thread)."""
        if self._question is None or self._question[0].done():
            return
        future, actions = self._question
        text = line.strip()
        if not text:
            self.say("Left undecided: the recommendation stays pending.")
            future.set_result(None)
            return
        if text.isdigit() and 1 <= int(text) <= len(actions):
            future.set_result(actions[int(text) - 1])
            return
        for title in actions:
            if text.casefold() == title.casefold():
                future.set_result(title)
                return
        self.say(f"Please answer 1-{len(actions)}, or press Enter to decide later.")

    def on_eof(self) -> None:
        """stdin closed: no more answers; an open question counts as dismissed."""
        self._eof = True
        if self._question is not None and not self._question[0].done():
            self._question[0].set_result(None)

    # -- session notifier ---------------------------------------------------------------

    def session_changed(self, folder: Folder, session: Session, reason: str) -> None:
        """Print the folder's active session and why it changed."""
        self.say(f"[bold green]Session[/] {_describe(session)} [dim]({reason})[/]")

    def history_changed(self, session_id: str, last_seq: int) -> None:
        """History panels are an editor's business; the terminal stays quiet."""


def _esc(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _describe(session: Session) -> str:
    return f'"{_esc(session.name)}" {session.id} on {_esc(session.boundary.branch)}'


def _read_stdin(loop: asyncio.AbstractEventLoop, port: TerminalPort) -> None:
    """Hand stdin lines to the loop (a daemon thread: a blocked read never holds up exit)."""
    try:
        for line in sys.stdin:
            loop.call_soon_threadsafe(port.on_line, line)
    except (OSError, ValueError):
        pass  # stdin closed under us
    with contextlib.suppress(RuntimeError):  # the loop is already closed
        loop.call_soon_threadsafe(port.on_eof)


async def _on(executor: ThreadPoolExecutor, fn: Callable[..., T], *args: Any) -> T:
    return await asyncio.wrap_future(executor.submit(fn, *args))


async def _watch(
    root: Path, db: Path | None, interactive: bool, stale_after: timedelta, console: Console
) -> None:
    from sidecar.services.drift import DriftService, DriftSettings
    from sidecar.services.sessions import SessionService

    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sidecar-store")
    port = TerminalPort(console, loop)
    store = await _on(executor, open_store, db)
    sessions = SessionService(store, port, stale_after=stale_after)
    settings = DriftSettings(stale_after=stale_after, prompts="native" if interactive else "off")
    service = DriftService(
        sessions, root.as_uri(), root, port, run=executor.submit, loop=loop, settings=settings
    )
    try:
        session = await _on(executor, service.start)
        boundary = session.boundary
        port.say(
            f"[bold]Watching[/] {_esc(str(root))} (Ctrl-C to stop)",
            f"  repository {_esc(boundary.repository)}",
            f"  branch     {_esc(boundary.branch)}",
            f"  requester  {_esc(boundary.requester)} on {_esc(boundary.machine)}",
            f"  session    {_describe(session)}",
            f"  database   {_esc(store.path)}",
        )
        if interactive:
            threading.Thread(target=_read_stdin, args=(loop, port), daemon=True).start()
        while True:
            await asyncio.sleep(RENEW_EVERY_S)
            await _on(executor, sessions.renew_holds)
    finally:
        # Runs on Ctrl-C too (the main task is cancelled): leave sessions idle, not ended.
        await _on(executor, service.stop)
        await _on(executor, sessions.release_all)
        await _on(executor, store.close)
        executor.shutdown(wait=True)


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

    here = locate_here(path)
    if here.state is None:
        raise CliError(f"cannot watch: {here.reason}; run it inside a git worktree")
    interactive = sys.stdin.isatty() if prompts is None else prompts
    console = Console(highlight=False, soft_wrap=True)
    root = Path(here.state.worktree)
    try:
        asyncio.run(_watch(root, db, interactive, timedelta(hours=stale_hours), console))
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
