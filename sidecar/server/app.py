"""The language server: LSP lifecycle and the sidecar's JSON-RPC methods, routed.

The event loop only routes: each request is validated and served on the one
store thread (:mod:`sidecar.server.runtime`), so a slow disk never blocks
reading the next message and writes keep their order. Every request method is
registered twice, as itself and as a ``workspace/executeCommand`` command
(``sidecar/sessions/list`` -> ``sidecar.sessions.list`` with arguments
``[params]``), and every handler is wrapped so an unexpected exception becomes
a -32603 answer, never a dropped request.

Start-up is kept short: the store, services and pydantic models load on the
store thread after the initialize reply has been written. Requests that
arrive meanwhile wait for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.lsp.server import LanguageServer

import sidecar
from sidecar.protocol import names
from sidecar.server.jsonrpc import SidecarProtocol

if TYPE_CHECKING:
    from sidecar.core.models import Session
    from sidecar.server.runtime import Runtime
    from sidecar.services.folders import Folder
    from sidecar.watch.database import DatabaseWatcher

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Holds last this long without renewal; renewed every third of it.
LEASE_SECONDS = 30.0
#: historyChanged notifications for one session are coalesced over this window.
HISTORY_BATCH_SECONDS = 0.05
#: How long shutdown waits for the store thread to release holds.
CLOSE_TIMEOUT_SECONDS = 10.0
#: Appends by other processes are noticed through a watch on the database's WAL
#: file; this slow poll only backs it up where file watching is unavailable.
EXTERNAL_POLL_SECONDS = 5.0


def release_startup_memory() -> None:
    """Give back what start-up allocated only to throw away (folder walks, schema builds).

    The server then idles for hours: returning freed heap to the OS keeps its
    resident size at what it really uses.
    """
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        libc = ctypes.CDLL(name)
        trim = getattr(libc, "malloc_trim", None)
        if trim is not None:
            trim(0)
    except OSError:
        return


class HistoryBatcher:
    """Coalesces historyChanged per session: one notification per window, with the last seq."""

    def __init__(self, send: Callable[[str, Any], None], delay: float = HISTORY_BATCH_SECONDS):
        self._send = send
        self._delay = delay
        self._pending: dict[str, int] = {}
        self._timer: asyncio.TimerHandle | None = None

    def add(self, session_id: str, last_seq: int) -> None:
        """Note that ``session_id`` has events up to ``last_seq`` (loop thread only)."""
        self._pending[session_id] = max(last_seq, self._pending.get(session_id, 0))
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._delay, self.flush)

    def flush(self) -> None:
        """Send what is pending now."""
        self._timer = None
        pending, self._pending = self._pending, {}
        for session_id, last_seq in pending.items():
            self._send(names.HISTORY_CHANGED, {"sessionId": session_id, "lastSeq": last_seq})


class LoopNotifier:
    """The session service's notifier: hands notifications from the store thread to the loop."""

    def __init__(self, server: SidecarServer, loop: asyncio.AbstractEventLoop) -> None:
        self._server = server
        self._loop = loop

    def session_changed(self, folder: Folder, session: Session, reason: str) -> None:
        """Send sidecar/sessionChanged."""
        params = {"folder": folder.uri, "session": session.to_json(), "reason": reason}
        self._loop.call_soon_threadsafe(self._server.send, names.SESSION_CHANGED, params)

    def history_changed(self, session_id: str, last_seq: int) -> None:
        """Queue sidecar/historyChanged (batched)."""
        self._loop.call_soon_threadsafe(self._server.history.add, session_id, last_seq)


def _start_runtime(
    init_options: Any,
    folders: list[str],
    notifier: LoopNotifier,
    server: SidecarServer,
    loop: asyncio.AbstractEventLoop,
) -> tuple[Runtime, list[str]]:
    # Imported here, on the store thread, after the initialize reply went out.
    from sidecar.server.drift_port import ServerDriftPort
    from sidecar.server.runtime import Runtime, ServerLinks

    def history_changed(session_id: str, last_seq: int) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody to tell
            loop.call_soon_threadsafe(server.history.add, session_id, last_seq)

    def editor_watching(uri: str) -> None:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(server.watch_files_for, uri)

    links = ServerLinks(
        run=server.store_thread.submit,
        loop=loop,
        port_for=lambda uri: ServerDriftPort(server, loop, uri),
        history_changed=history_changed,
        editor_watching=editor_watching,
    )
    return Runtime.start(
        init_options,
        folders,
        notifier,
        holder=server.holder,
        lease_seconds=LEASE_SECONDS,
        links=links,
    )


def _serve(runtime: Runtime, method: str, raw: Any) -> Any:
    from sidecar.protocol.methods import METHODS
    from sidecar.server.routes import ROUTES
    from sidecar.server.validation import parse_params

    params = parse_params(METHODS[method].params, raw, method)
    return ROUTES[method](runtime, params).to_json()


def _error_for(method: str, exc: Exception) -> JsonRpcException:
    from sidecar.server.validation import to_jsonrpc_error

    return to_jsonrpc_error(method, exc)


class SidecarServer(LanguageServer):
    """The Session Sidecar language server (one per client connection)."""

    protocol: SidecarProtocol

    def __init__(self) -> None:
        super().__init__(
            name="session-sidecar",
            version=sidecar.__version__,
            protocol_cls=SidecarProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.None_,
            max_workers=4,
        )
        self.store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sidecar-store")
        self.history = HistoryBatcher(self.send)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(4).hex()}"
        self.runtime: Runtime | None = None
        self._ready: asyncio.Future[Runtime] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._database_watcher: DatabaseWatcher | None = None
        self._watch_ids = 0

    # ------------------------------------------------------------------ plumbing

    def send(self, method: str, params: Any) -> None:
        """Send a notification to the client (loop thread)."""
        try:
            self.protocol.notify(method, params)
        except Exception:  # the client went away; nothing to tell it
            logger.exception("could not send %s", method)

    async def on_store(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the store thread and await its result."""
        return await asyncio.wrap_future(self.store_thread.submit(fn, *args))

    def run_task(self, coro: Any) -> None:
        """Run a background task, keeping a reference and logging its failure."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                logger.error("background task failed", exc_info=t.exception())

        task.add_done_callback(done)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log server-side errors instead of popping a message per malformed notification."""
        logger.error("server error (%s): %s", getattr(source, "__name__", source), error)

    # ------------------------------------------------------------------ lifecycle

    def begin(self, init_options: Any, folders: list[str]) -> None:
        """Start opening the store and attaching folders (after the initialize reply)."""
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        self.run_task(self._setup(init_options, folders, loop))

    async def _setup(
        self, init_options: Any, folders: list[str], loop: asyncio.AbstractEventLoop
    ) -> None:
        assert self._ready is not None
        try:
            runtime, problems = await self.on_store(
                _start_runtime, init_options, folders, LoopNotifier(self, loop), self, loop
            )
        except Exception as exc:
            logger.exception("the sidecar could not start")
            self._ready.set_exception(exc)
            self._ready.exception()  # mark retrieved: requests report it one by one
            self.show(types.MessageType.Error, f"Session Sidecar could not start: {exc}")
            return
        self.runtime = runtime
        self._ready.set_result(runtime)
        for problem in problems:
            self.show(types.MessageType.Warning, f"Session Sidecar setting ignored: {problem}")
        for notice in runtime.notices:
            self.show(types.MessageType.Warning, f"Session Sidecar: {notice}")
        self.run_task(self._renew_holds())
        await asyncio.to_thread(release_startup_memory)
        self.run_task(self._poll_external())

    async def _poll_external(self) -> None:
        """Announce appends other processes (hooks, the CLI, other editors) commit.

        Woken by the database watcher when the WAL is written, else every
        EXTERNAL_POLL_SECONDS; either way one `PRAGMA data_version` decides.
        """
        from sidecar.watch.database import DatabaseWatcher

        loop = asyncio.get_running_loop()
        written = asyncio.Event()
        watcher = None
        if self.runtime is not None and self.runtime.store.path != ":memory:":

            def wake() -> None:
                loop.call_soon_threadsafe(written.set)

            watcher = DatabaseWatcher(self.runtime.store.path, wake)
            try:
                watcher.start()
            except OSError as exc:
                logger.warning("cannot watch the database folder (%s); polling instead", exc)
                watcher = None
        self._database_watcher = watcher
        while not self._closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(written.wait(), EXTERNAL_POLL_SECONDS)
            written.clear()
            runtime = self.runtime
            if runtime is None or self._closed:
                continue
            try:
                changed = await self.on_store(runtime.poll_external)
            except Exception:  # e.g. the store closed under us while shutting down
                if not self._closed:
                    logger.exception("could not poll the database for other writers")
                continue
            for session_id, last_seq in changed:
                self.history.add(session_id, last_seq)

    def watch_files_for(self, uri: str) -> None:
        """Ask the client to report the folder's file changes (loop thread)."""
        self.run_task(self._register_watched_files(uri))

    async def _register_watched_files(self, uri: str) -> None:
        from pygls.capabilities import get_capability

        dynamic = get_capability(
            self.client_capabilities,
            "workspace.did_change_watched_files.dynamic_registration",
            False,
        )
        if not dynamic:
            logger.warning(
                "the client cannot register file watchers dynamically: file activity in %s "
                "is not recorded",
                uri,
            )
            return
        relative = get_capability(
            self.client_capabilities,
            "workspace.did_change_watched_files.relative_pattern_support",
            False,
        )
        pattern: types.GlobPattern = (
            types.RelativePattern(base_uri=uri, pattern="**/*") if relative else "**/*"
        )
        self._watch_ids += 1
        registration = types.Registration(
            id=f"sidecar-watch-{self._watch_ids}",
            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                watchers=[types.FileSystemWatcher(glob_pattern=pattern)]
            ),
        )
        try:
            await asyncio.wait_for(
                self.client_register_capability_async(
                    types.RegistrationParams(registrations=[registration])
                ),
                CLOSE_TIMEOUT_SECONDS,
            )
        except Exception:
            logger.exception("the client refused to watch files of %s", uri)
            return
        logger.warning("registered workspace/didChangeWatchedFiles for %s", uri)

    async def on_watched_files(self, params: types.DidChangeWatchedFilesParams) -> None:
        """Feed editor-reported file changes to the folders the editor watches for us."""
        try:
            runtime = await self.ready()
            uris = [change.uri for change in params.changes or []]
            await self.on_store(runtime.record_watched_files, uris)
        except Exception:
            logger.exception("could not record watched file changes")

    async def _renew_holds(self) -> None:
        while not self._closed:
            await asyncio.sleep(LEASE_SECONDS / 3)
            if self.runtime is not None and not self._closed:
                try:
                    await self.on_store(self.runtime.renew)
                except Exception:  # retried next round; the lease still has time
                    logger.exception("could not renew holds")

    async def ready(self) -> Runtime:
        """The runtime, once started; raises why it could not start."""
        if self._ready is None:
            raise JsonRpcException(
                "the server is not initialized: send initialize first", code=-32002
            )
        return await asyncio.shield(self._ready)

    def show(self, kind: types.MessageType, message: str) -> None:
        """window/showMessage."""
        try:
            self.window_show_message(types.ShowMessageParams(type=kind, message=message))
        except Exception:
            logger.exception("could not show message")

    def close(self) -> None:
        """Release holds and close the store; idempotent, safe from any thread but the store's."""
        if self._closed:
            return
        self._closed = True
        watcher, self._database_watcher = self._database_watcher, None
        if watcher is not None:
            watcher.stop()
        if self.runtime is not None:
            future = self.store_thread.submit(self.runtime.close)
            try:
                future.result(timeout=CLOSE_TIMEOUT_SECONDS)
            except Exception:  # leases lapse by themselves
                logger.exception("could not release holds on close")
        self.store_thread.shutdown(wait=False)

    async def aclose(self) -> None:
        """:meth:`close` without blocking the loop."""
        await asyncio.to_thread(self.close)

    # ------------------------------------------------------------------ requests

    async def handle_request(self, method: str, raw: Any) -> Any:
        """Serve one sidecar request: validate, run on the store thread, return JSON."""
        try:
            runtime = await self.ready()
            if self._closed:
                raise JsonRpcInvalidRequest("the server is shutting down")
            return await self.on_store(_serve, runtime, method, raw)
        except JsonRpcException:
            raise
        except Exception as exc:
            error = _error_for(method, exc)
            if error.code == -32603:
                logger.exception("unexpected error serving %s", method)
            raise error from exc

    async def handle_command(self, method: str, args: tuple[Any, ...]) -> Any:
        """Serve ``workspace/executeCommand`` for a sidecar command: arguments ``[params]``."""
        if len(args) > 1:
            raise JsonRpcInvalidParams(
                f"invalid arguments for {names.command_name(method)}: expected one argument "
                f"(the params object of {method}), got {len(args)}"
            )
        return await self.handle_request(method, args[0] if args else None)

    async def pull_settings(self) -> Any:
        """The ``sessionSidecar`` section through workspace/configuration, if the client has it."""
        from pygls.capabilities import get_capability

        if not get_capability(self.client_capabilities, "workspace.configuration", False):
            return None
        result = await asyncio.wait_for(
            self.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="sessionSidecar")])
            ),
            CLOSE_TIMEOUT_SECONDS,
        )
        return result[0] if result else None

    async def on_documents(self, uri: str, action: str) -> None:
        """Record an editor document event; failures are logged (notifications get no answer)."""
        try:
            runtime = await self.ready()
            await self.on_store(runtime.record_document, uri, action)
        except Exception:
            logger.exception("could not record %s of %s", action, uri)


def _folder_uris(params: types.InitializeParams) -> list[str]:
    if params.workspace_folders:
        return [f.uri for f in params.workspace_folders]
    if params.root_uri:
        return [params.root_uri]
    if params.root_path:
        return [params.root_path]
    # No workspace (e.g. Neovim editing a single file): the server's working directory.
    return [os.getcwd()]


def _request_handler(method: str) -> Callable[..., Any]:
    async def handler(ls: SidecarServer, params: Any) -> Any:
        return await ls.handle_request(method, params)

    handler.__name__ = "handle_" + method.replace("/", "_")
    return handler


def _command_handler(method: str) -> Callable[..., Any]:
    async def handler(ls: SidecarServer, *args: Any) -> Any:
        return await ls.handle_command(method, args)

    handler.__name__ = "command_" + method.replace("/", "_")
    return handler


def create_server() -> SidecarServer:
    """A server with every LSP lifecycle handler and sidecar method registered."""
    server = SidecarServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: SidecarServer, params: types.InitializeParams) -> None:
        # Scheduled, not run: the initialize reply is written before the loop gets to it.
        asyncio.get_running_loop().call_soon(
            ls.begin, params.initialization_options, _folder_uris(params)
        )

    @server.feature(types.SHUTDOWN)
    async def shutdown(ls: SidecarServer, params: Any) -> None:
        await ls.aclose()

    @server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    async def did_change_configuration(
        ls: SidecarServer, params: types.DidChangeConfigurationParams
    ) -> None:
        try:
            runtime = await ls.ready()
            settings = params.settings
            if settings is None:
                # Pull-model clients (vscode-languageclient) send null and expect a pull.
                settings = await ls.pull_settings()
            problems = await ls.on_store(runtime.update_settings, settings)
        except Exception:
            logger.exception("could not apply configuration")
            return
        for problem in problems:
            ls.show(types.MessageType.Warning, f"Session Sidecar setting ignored: {problem}")

    @server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
    async def did_change_folders(
        ls: SidecarServer, params: types.DidChangeWorkspaceFoldersParams
    ) -> None:
        try:
            runtime = await ls.ready()
            for removed in params.event.removed or []:
                await ls.on_store(runtime.close_folder, removed.uri)
            for added in params.event.added or []:
                await ls.on_store(runtime.open_folder, added.uri)
        except Exception:
            logger.exception("could not change workspace folders")

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: SidecarServer, params: types.DidOpenTextDocumentParams) -> None:
        await ls.on_documents(params.text_document.uri, "open")

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    async def did_save(ls: SidecarServer, params: types.DidSaveTextDocumentParams) -> None:
        await ls.on_documents(params.text_document.uri, "save")

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: SidecarServer, params: types.DidCloseTextDocumentParams) -> None:
        await ls.on_documents(params.text_document.uri, "close")

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def did_change_watched_files(
        ls: SidecarServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        await ls.on_watched_files(params)

    for method in names.REQUESTS:
        server.feature(method)(_request_handler(method))
        server.command(names.command_name(method))(_command_handler(method))

    return server
