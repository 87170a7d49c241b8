"""`session-sidecar mcp`: the session store as an MCP server (stdio) for agents.

Tools: ``start_session``, ``resume_session``, ``append_events``,
``list_sessions``, ``get_history``, ``check_drift``. They share the store,
the session service (holds, the resume contract) and the drift policy with
the language server, so an agent and an editor see one history.

* The workspace is the folder the server runs in (``--folder``), resolved to
  its git boundary again on every call, so a branch switch is seen at once.
* One server process is one connection: it holds the sessions it appends to
  (a lease renewed while it runs). After a crash a new process may take them
  over at once, because the old holder process is gone. Every tool goes
  through the same core as the editor (:class:`~sidecar.services.workspace.
  Workspace`): one append path (the payload limit, holds, drift activity),
  one resume contract, one drift evaluation.
* ``resume_session`` follows the resume contract: an unknown or ineligible id
  is rejected, a new session is started instead and the result says so in
  ``warning``. ``append_events`` takes ``clientEventId`` per event, so
  re-sending a batch after a lost reply stores nothing twice.

Every store call runs on one owner thread (:mod:`sidecar.services.owner`);
tool coroutines await it, so the stdio loop stays responsive.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import Field

from sidecar.core.boundary import scope_filters
from sidecar.core.models import EventKind, NewEvent, Phase, Scope, SessionStatus
from sidecar.services.boundary import Profile
from sidecar.services.errors import ServiceError
from sidecar.services.owner import Owner
from sidecar.services.sessions import DEFAULT_LEASE_SECONDS, SessionService, Writer
from sidecar.services.workspace import Folder, QuietPort, Workspace
from sidecar.store import Store, StoreError

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

T = TypeVar("T")

#: Boundary provider of sessions this server starts, unless the caller names one.
DEFAULT_PROVIDER = "mcp"
MAX_EVENTS_PER_CALL = 1000
MAX_PAGE = 1000

INSTRUCTIONS = (
    "Session Sidecar keeps a durable history of this working session bound to its git "
    "repository, worktree and branch. Call check_drift before starting work and after the user "
    "mentions switching branches; start_session or resume_session to pick the session; "
    "append_events with a clientEventId per event (re-sending is safe)."
)


class SidecarTools:
    """The core behind the tools: one store and one workspace with one folder, on the
    owner thread (the MCP server is one connection; it shows nothing and asks nobody)."""

    def __init__(
        self, folder: Path, *, db: Path | None = None, provider: str = DEFAULT_PROVIDER
    ) -> None:
        self.folder = folder.resolve()
        self.db = db
        self.provider = provider
        self.owner = Owner("sidecar-mcp-owner")
        self._workspace: Workspace | None = None

    async def run(self, fn: Callable[[Workspace, Folder], T]) -> T:
        """Run ``fn(workspace, folder)`` on the owner thread, the folder's git state read now."""
        return await asyncio.wrap_future(self.owner.submit(self._call, fn))

    def _call(self, fn: Callable[[Workspace, Folder], T]) -> T:
        if self._workspace is None:
            sessions = SessionService(Store.open(self.db), Writer.connection())
            self._workspace = Workspace(
                sessions, QuietPort(), profile=Profile(provider=self.provider)
            )
        workspace = self._workspace
        uri = str(self.folder)
        folder = workspace.open(uri, attach=False)
        return fn(workspace, folder)

    def renew(self) -> None:
        """Extend the holds of the sessions this connection works on."""
        if self._workspace is not None:
            self._workspace.sessions.renew()

    def close(self) -> None:
        """Release holds and close the store."""

        def shut() -> None:
            if self._workspace is not None:
                self._workspace.close_all()
                self._workspace.store.close()

        with contextlib.suppress(Exception):
            self.owner.submit(shut).result(timeout=5)
        self.owner.close()


def build_server(tools: SidecarTools) -> MCPServer[None]:
    """The MCP server with the six tools bound to ``tools``."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    from sidecar import __version__

    @contextlib.asynccontextmanager
    async def lifespan(_server: MCPServer[None]) -> AsyncIterator[None]:
        async def renew() -> None:
            while True:
                await asyncio.sleep(DEFAULT_LEASE_SECONDS / 3)
                with contextlib.suppress(StoreError):
                    await tools.run(lambda workspace, folder: tools.renew())

        task = asyncio.create_task(renew())
        try:
            yield None
        finally:
            task.cancel()
            tools.close()

    server: MCPServer[None] = MCPServer(
        name="session-sidecar",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level="WARNING",
    )

    async def guarded(fn: Callable[[Workspace, Folder], T]) -> T:
        try:
            return await tools.run(fn)
        except (StoreError, ServiceError, LookupError, ValueError) as error:
            raise ToolError(str(error)) from error

    @server.tool()
    async def start_session(
        name: Annotated[str, Field(max_length=200, description="Shown name.")] = "",
        description: str = "",
        task: Annotated[str | None, Field(description="ADR, issue or plan reference.")] = None,
        phase: Phase | None = None,
        provider: Annotated[str | None, Field(description="Tool name, e.g. codex.")] = None,
    ) -> dict[str, Any]:
        """Start a new session on the workspace's current boundary and make it active."""

        def go(workspace: Workspace, folder: Folder) -> dict[str, Any]:
            update: dict[str, Any] = {"task": task, "phase": phase}
            if provider:
                update["provider"] = provider
            boundary = folder.place.boundary.model_copy(update=update)
            session = workspace.start(folder, name=name, description=description, boundary=boundary)
            return {"session": session.to_json()}

        return await guarded(go)

    @server.tool()
    async def resume_session(
        session_id: Annotated[str, Field(description="The session to resume.")],
        take_over: Annotated[
            bool, Field(description="Take it from another live connection.")
        ] = False,
    ) -> dict[str, Any]:
        """Resume a session by id. An unknown or ineligible id is rejected: a new session is
        started instead and `warning` says why. `resumed` tells which happened."""

        def go(workspace: Workspace, folder: Folder) -> dict[str, Any]:
            outcome = workspace.resume(folder, session_id, take_over=take_over)
            return {
                "session": outcome.session.to_json(),
                "resumed": outcome.resumed,
                "warning": None if outcome.warning is None else outcome.warning.to_json(),
            }

        return await guarded(go)

    @server.tool()
    async def append_events(
        events: Annotated[
            list[NewEvent],
            Field(
                max_length=MAX_EVENTS_PER_CALL,
                description="Events in order: kind, actor, payload, optional time and "
                "clientEventId (idempotency key: a re-sent event keeps its first seq).",
            ),
        ],
        session_id: Annotated[
            str | None,
            Field(description="Default: the active session (started if none)."),
        ] = None,
    ) -> dict[str, Any]:
        """Append events to a session; returns their seqs (re-sent client ids return old seqs)."""

        def go(workspace: Workspace, folder: Folder) -> dict[str, Any]:
            done = workspace.append(folder, session_id, events)
            last = workspace.store.events.last_seq(done.session_id)
            result: dict[str, Any] = {
                "sessionId": done.session_id,
                "seqs": done.seqs,
                "lastSeq": last,
            }
            if done.drift is not None:
                result["drift"] = done.drift.to_json()
            return result

        return await guarded(go)

    @server.tool()
    async def list_sessions(
        scope: Annotated[
            Scope, Field(description="branch, worktree, repository or all (around the workspace).")
        ] = Scope.BRANCH,
        statuses: list[SessionStatus] | None = None,
        text: Annotated[str | None, Field(description="Matches name or last prompt.")] = None,
        limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 20,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Sessions around the workspace, most recently active first (pass nextCursor on)."""

        def go(workspace: Workspace, folder: Folder) -> dict[str, Any]:
            page = workspace.store.sessions.list(
                **scope_filters(scope, folder.place.boundary),
                statuses=statuses,
                text=text,
                limit=limit,
                cursor=cursor,
            )
            result = page.to_json()
            result["activeSessionId"] = folder.active_id
            return result

        return await guarded(go)

    @server.tool()
    async def get_history(
        session_id: Annotated[str | None, Field(description="Default: the active session.")] = None,
        after_seq: Annotated[int, Field(ge=0)] = 0,
        limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = 100,
        kinds: list[EventKind] | None = None,
    ) -> dict[str, Any]:
        """A page of a session's events after `after_seq`, oldest first."""

        def go(workspace: Workspace, folder: Folder) -> dict[str, Any]:
            target = session_id or folder.active_id
            if target is None:
                raise ValueError("no session is active here: pass session_id, or start/resume one")
            store = workspace.store
            events = store.events.page(target, after_seq=after_seq, limit=limit, kinds=kinds)
            return {
                "sessionId": target,
                "events": [e.to_json() for e in events],
                "lastSeq": store.events.last_seq(target),
            }

        return await guarded(go)

    @server.tool()
    async def check_drift() -> dict[str, Any]:
        """The drift policy's recommendation for the workspace now (continue, resume, fork or
        fresh, with reasons), and the current boundary."""

        def go(workspace: Workspace, folder: Folder) -> dict[str, Any]:
            recommendation = workspace.evaluate(folder)
            return {
                "boundary": folder.place.boundary.to_json(),
                "activeSessionId": folder.active_id,
                "recommendation": recommendation.to_json(),
            }

        return await guarded(go)

    return server


def serve(folder: Path | None = None, *, db: Path | None = None, provider: str = "mcp") -> None:
    """Run the MCP server on stdio until the client closes it."""
    tools = SidecarTools(folder or Path.cwd(), db=db, provider=provider)
    build_server(tools).run("stdio")


if __name__ == "__main__":
    serve()
