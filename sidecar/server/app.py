"""The language server: the LSP door onto the application core.

The event loop only routes. Every request is validated and served on the one
owner thread (:mod:`sidecar.services.owner`), where the store, git and the
services live: a slow disk never blocks reading the next message, and writes
keep their order. Each request method is declared once, on the feature that
handles it (:func:`sidecar.server.feature.request`); it is registered as
itself and as a ``workspace/executeCommand`` command, and every failure
becomes a JSON-RPC answer, never a dropped request.

Start-up is kept short: the store, the services and the pydantic models load
on the owner thread after the initialize reply has been written. Requests that
arrive meanwhile wait for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams, JsonRpcInvalidRequest
from pygls.io_ import StdinAsyncReader, StdoutWriter, run_async
from pygls.lsp.server import LanguageServer

import sidecar
from sidecar.protocol import notifications
from sidecar.server import framing
from sidecar.server.feature import Feature, MethodDecl, declared_methods, load_lazy_modules
from sidecar.server.jsonrpc import SidecarProtocol
from sidecar.services.owner import Owner

if TYPE_CHECKING:
    from sidecar.server.state import ServerState

logger = logging.getLogger(__name__)

T = TypeVar("T")
FeatureT = TypeVar("FeatureT", bound=Feature)

#: historyChanged notifications for one session are coalesced over this window.
HISTORY_BATCH_SECONDS = 0.05
#: The longest the owner thread waits for the drift notification to be written.
NOTIFY_NOW_SECONDS = 0.1
#: How long shutdown waits for the owner thread to release holds.
CLOSE_TIMEOUT_SECONDS = 10.0


#: CPython's default collector thresholds.
DEFAULT_GC_THRESHOLDS = (700, 10, 10)


def release_startup_memory() -> None:
    """Give back what start-up allocated only to throw away (folder walks, schema builds).

    The server then idles for hours: returning freed heap to the OS keeps its
    resident size at what it really uses, and freezing the survivors keeps the
    collector's full passes (which would delay a drift notification) short.
    """
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    gc.freeze()  # what survived start-up stays: later collections need not scan it
    gc.set_threshold(*DEFAULT_GC_THRESHOLDS)  # full passes were postponed by `serve`
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
            self._send(
                notifications.HISTORY_CHANGED, {"sessionId": session_id, "lastSeq": last_seq}
            )


def folder_uris(params: types.InitializeParams) -> list[str]:
    """The workspace folders of an initialize request (the working folder when none)."""
    if params.workspace_folders:
        return [f.uri for f in params.workspace_folders]
    if params.root_uri:
        return [params.root_uri]
    if params.root_path:
        return [params.root_path]
    # No workspace (e.g. Neovim editing a single file): the server's working directory.
    return [os.getcwd()]


class SidecarServer(LanguageServer):
    """The Session Sidecar language server (one per client connection)."""

    protocol: SidecarProtocol

    def __init__(self, features: Sequence[type[Feature]]) -> None:
        super().__init__(
            name="session-sidecar",
            version=sidecar.__version__,
            protocol_cls=SidecarProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.None_,
            max_workers=1,
        )
        self.owner = Owner("sidecar-owner")
        self.history = HistoryBatcher(self.send)
        self.state: ServerState | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._features: dict[type[Feature], Feature] = {cls: cls(self) for cls in features}
        self._ready: asyncio.Future[ServerState] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._renewal: Any = None

    # ------------------------------------------------------------------ features

    @property
    def features(self) -> list[Feature]:
        """The feature instances, in registration order."""
        return list(self._features.values())

    def get_feature(self, cls: type[FeatureT]) -> FeatureT:
        """The instance of feature ``cls``."""
        found = self._features[cls]
        assert isinstance(found, cls)
        return found

    def each_feature(self, hook: str, *args: Any) -> None:
        """Call ``hook(*args)`` on every feature; one failing never stops the others."""
        for feature in self.features:
            try:
                getattr(feature, hook)(*args)
            except Exception:
                logger.exception("%s.%s failed", type(feature).__name__, hook)

    # ------------------------------------------------------------------ plumbing

    def send(self, method: str, params: Any) -> None:
        """Send a notification to the client (loop thread)."""
        try:
            self.protocol.notify(method, params)
        except Exception:  # the client went away; nothing to tell it
            logger.exception("could not send %s", method)

    def to_loop(self, fn: Callable[..., object], *args: Any) -> None:
        """Run ``fn(*args)`` on the event loop (from any thread); dropped once it closed."""
        loop = self.loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody to tell
            loop.call_soon_threadsafe(fn, *args)

    def notify(self, method: str, params: Any) -> None:
        """Send a notification from any thread (written at once, nothing batched)."""
        self.to_loop(self.send, method, params)

    def notify_now(self, method: str, params: Any) -> None:
        """Send a notification and wait (at most :data:`NOTIFY_NOW_SECONDS`) until it is
        written. For the drift notification, which nothing may delay: the owner's next
        work (recording the switch) would otherwise hold the interpreter while the loop
        thread waits for its turn, up to the 5 ms switch interval."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return
        written = threading.Event()

        def send() -> None:
            try:
                self.send(method, params)
            finally:
                written.set()

        self.to_loop(send)
        written.wait(NOTIFY_NOW_SECONDS)

    def history_changed(self, session_id: str, last_seq: int) -> None:
        """Queue ``sidecar/historyChanged`` (batched per session), from any thread."""
        self.to_loop(self.history.add, session_id, last_seq)

    async def on_owner(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(*args)`` on the owner thread and await its result."""
        return await asyncio.wrap_future(self.owner.submit(fn, *args))

    def run_task(self, coro: Any) -> None:
        """Run a background task on the loop, keeping a reference and logging its failure."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if not t.cancelled() and t.exception() is not None:
                logger.error("background task failed", exc_info=t.exception())

        task.add_done_callback(done)

    def report_server_error(self, error: Exception, source: Any) -> None:
        """A body that is not JSON is answered (-32700, id null); other server-side
        errors are logged instead of popping a message per malformed notification."""
        if framing.is_parse_error(error):
            logger.warning("answering a message that is not JSON: %s", error)
            self._send_error_without_id(framing.parse_error(error))
            return
        logger.error("server error (%s): %s", getattr(source, "__name__", source), error)

    def _send_error_without_id(self, error: dict[str, Any]) -> None:
        try:
            self.protocol._send_data({"jsonrpc": "2.0", "id": None, "error": error})
        except Exception:  # the transport is gone: nothing left to answer
            logger.exception("could not answer an unreadable message")

    def _start_io_async(
        self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None
    ) -> None:
        """pygls's stdio loop, reading through :class:`~sidecar.server.framing.BoundedReader`."""
        self._stop_event = threading.Event()
        reader = framing.BoundedReader(
            StdinAsyncReader(stdin or sys.stdin.buffer, self.thread_pool),
            lambda declared: self._send_error_without_id(framing.oversized_error(declared)),
        )
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        try:
            asyncio.run(
                run_async(
                    stop_event=self._stop_event,
                    reader=reader,
                    protocol=self.protocol,
                    logger=logger,
                    error_handler=self.report_server_error,
                )
            )
        except BrokenPipeError:
            logger.error("the client is gone: shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]  # pygls is untyped here

    def show(self, kind: types.MessageType, message: str) -> None:
        """window/showMessage (loop thread)."""
        try:
            self.window_show_message(types.ShowMessageParams(type=kind, message=message))
        except Exception:
            logger.exception("could not show message")

    # ------------------------------------------------------------------ lifecycle

    def begin(self, init_options: Any, folders: list[str]) -> None:
        """Start the core on the owner thread (after the initialize reply)."""
        self.loop = asyncio.get_running_loop()
        self._ready = self.loop.create_future()
        self.run_task(self._setup(init_options, folders))

    async def _setup(self, init_options: Any, folders: list[str]) -> None:
        assert self._ready is not None
        try:
            state, problems = await self.on_owner(self._start, init_options, folders)
        except Exception as exc:
            logger.exception("the sidecar could not start")
            self._ready.set_exception(exc)
            self._ready.exception()  # mark retrieved: requests report it one by one
            self.show(types.MessageType.Error, f"Session Sidecar could not start: {exc}")
            self.owner.post(release_startup_memory)
            return
        self._ready.set_result(state)
        for problem in problems:
            self.show(types.MessageType.Warning, f"Session Sidecar setting ignored: {problem}")
        for notice in state.notices:
            self.show(types.MessageType.Warning, f"Session Sidecar: {notice}")
        self.owner.post(release_startup_memory)

    def _start(self, init_options: Any, folders: list[str]) -> tuple[ServerState, list[str]]:
        """Owner thread: open the store, build the core, open the folders."""
        load_lazy_modules()
        from sidecar.server.port import ServerPort
        from sidecar.server.state import LEASE_SECONDS, build_state
        from sidecar.services.sessions import Writer

        state, problems = build_state(
            init_options,
            folders,
            writer=Writer.connection(),
            port=ServerPort(self),
            on_history=self.history_changed,
            post=self.owner.post,
        )
        self.state = state
        self.each_feature("started")
        for uri in folders:
            self.open_folder(uri)
        self._renewal = self.owner.later(LEASE_SECONDS / 3, self._renew)
        return state, problems

    def open_folder(self, uri: str) -> None:
        """Owner thread: add a workspace folder, watch it, attach its session."""
        state = self.state
        assert state is not None
        workspace = state.workspace
        try:
            folder = workspace.open(uri, attach=False)
        except Exception:
            # One unreadable folder must not take the others (or the server) down.
            logger.exception("could not open workspace folder %s", uri)
            return
        # Watching starts before the session is attached to the state it reads, so a
        # branch switch in between is seen.
        self.each_feature("folder_added", folder)
        try:
            workspace.attach(folder)
        except Exception as exc:
            from sidecar.store import StoreError

            if not isinstance(exc, StoreError):
                logger.exception("could not attach a session in %s", uri)
            else:  # read-only or full: keep the folder, its history stays readable
                logger.warning("no session for %s: %s", uri, exc)
        self.each_feature("folder_opened", folder)

    def close_folder(self, uri: str) -> None:
        """Owner thread: stop watching a folder and release its session."""
        state = self.state
        assert state is not None
        try:
            folder = state.workspace.find(uri)
        except Exception:
            return
        self.each_feature("folder_closed", folder)
        state.workspace.close(uri)

    def _renew(self) -> None:
        from sidecar.server.state import LEASE_SECONDS

        state = self.state
        if state is None or self._closed:
            return
        try:
            state.sessions.renew()
        except Exception:  # retried next round; the lease still has time
            logger.exception("could not renew holds")
        self.each_feature("tick")
        self._renewal = self.owner.later(LEASE_SECONDS / 3, self._renew)

    async def ready(self) -> ServerState:
        """The state, once started; raises why it could not start."""
        if self._ready is None:
            raise JsonRpcException(
                "the server is not initialized: send initialize first", code=-32002
            )
        return await asyncio.shield(self._ready)

    def _close_on_owner(self) -> None:
        self.each_feature("shutdown")
        if self.state is not None:
            self.state.close()

    def close(self) -> None:
        """Stop watching, release holds, close the store; idempotent, from any thread but
        the owner's."""
        if self._closed:
            return
        self._closed = True
        if self._renewal is not None:
            self._renewal.cancel()
        try:
            self.owner.submit(self._close_on_owner).result(timeout=CLOSE_TIMEOUT_SECONDS)
        except Exception:  # leases lapse by themselves
            logger.exception("could not release holds on close")
        self.owner.close(timeout=CLOSE_TIMEOUT_SECONDS)

    async def aclose(self) -> None:
        """:meth:`close` without blocking the loop."""
        if self._closed:
            return
        self._closed = True
        if self._renewal is not None:
            self._renewal.cancel()
        try:
            await asyncio.wait_for(self.on_owner(self._close_on_owner), CLOSE_TIMEOUT_SECONDS)
        except Exception:
            logger.exception("could not release holds on shutdown")

    # ------------------------------------------------------------------ requests

    def _serve(self, decl: MethodDecl, raw: Any) -> Any:
        from sidecar.server.validation import parse_params

        params = parse_params(decl.params, raw, decl.name)
        result = decl.handler(self._features[decl.feature], params)
        return result.to_json()

    async def handle_request(self, decl: MethodDecl, raw: Any) -> Any:
        """Serve one sidecar request: validate, run on the owner thread, return JSON."""
        try:
            await self.ready()
            if self._closed:
                raise JsonRpcInvalidRequest("the server is shutting down")
            return await self.on_owner(self._serve, decl, raw)
        except JsonRpcException:
            raise
        except Exception as exc:
            from sidecar.server.validation import to_jsonrpc_error

            error = to_jsonrpc_error(decl.name, exc)
            if error.code == -32603:
                logger.exception("unexpected error serving %s", decl.name)
            raise error from exc

    async def handle_command(self, decl: MethodDecl, args: tuple[Any, ...]) -> Any:
        """Serve ``workspace/executeCommand`` for a sidecar command: arguments ``[params]``."""
        if len(args) > 1:
            raise JsonRpcInvalidParams(
                f"invalid arguments for {decl.command}: expected one argument "
                f"(the params object of {decl.name}), got {len(args)}"
            )
        return await self.handle_request(decl, args[0] if args else None)

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

    async def on_state(self, what: str, fn: Callable[..., object], *args: Any) -> None:
        """Run a notification's work on the owner thread; failures are logged (notifications
        get no answer)."""
        try:
            await self.ready()
            await self.on_owner(fn, *args)
        except Exception:
            logger.exception("could not %s", what)

    def apply_settings(self, raw: Any) -> None:
        """Owner thread: new settings; problems are shown to the user."""
        state = self.state
        assert state is not None
        problems = state.apply_settings(raw)
        self.each_feature("settings_changed")
        for problem in problems:
            self.to_loop(
                self.show, types.MessageType.Warning, f"Session Sidecar setting ignored: {problem}"
            )


def register_methods(server: SidecarServer, features: Sequence[type[Feature]]) -> None:
    """Register every declared request method, and its executeCommand alias."""
    for decl in declared_methods(features):
        server.feature(decl.name)(_request_handler(decl))
        server.command(decl.command)(_command_handler(decl))


def _request_handler(decl: MethodDecl) -> Callable[..., Any]:
    async def handler(ls: SidecarServer, params: Any) -> Any:
        return await ls.handle_request(decl, params)

    handler.__name__ = "handle_" + decl.name.replace("/", "_")
    return handler


def _command_handler(decl: MethodDecl) -> Callable[..., Any]:
    async def handler(ls: SidecarServer, *args: Any) -> Any:
        return await ls.handle_command(decl, args)

    handler.__name__ = "command_" + decl.name.replace("/", "_")
    return handler
