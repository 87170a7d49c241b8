"""End-to-end fixtures: the real server process, driven by pytest-lsp clients.

Each test gets a temp HOME/XDG and database (``SIDECAR_DB``), a real git
repository, and a ``connect`` factory that spawns ``python -m sidecar serve``
and initializes it with a real editor's client capabilities (VS Code and
Neovim 0.11, parametrized). Results and notifications are kept as plain
JSON dicts (pygls would turn them into namedtuples).
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest
import pytest_lsp
from lsprotocol import types
from pygls.protocol import JsonRPCNotification, JsonRPCResponseMessage
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.envutil import isolated_env
from tests.gitrepo import make_repo

SERVER_COMMAND = [sys.executable, "-m", "sidecar", "serve"]
EDITORS = ["visual-studio-code", "neovim@v0.11"]
TIMEOUT = 15.0


def _raw(obj: dict[str, Any], cls: type) -> Any:
    return cls(**obj)


class Client:
    """A pytest-lsp client plus what the server told it (notifications, prompts)."""

    def __init__(self, lsp: LanguageClient) -> None:
        self.lsp = lsp
        self.notifications: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._waiters: list[tuple[str, Callable[[dict[str, Any]], bool], asyncio.Future[Any]]] = []
        self.shown: list[Any] = []
        self._ids = 0

    async def request(self, method: str, params: Any = None) -> Any:
        """Send a request and await its result as plain JSON (JsonRpcException on an error)."""
        return await self.raw_request({"method": method, "params": params})

    async def raw_request(self, message: dict[str, Any]) -> Any:
        """Send ``message`` exactly as given (e.g. without ``params``) and await the answer."""
        self._ids += 1
        msg_id = f"raw-{self._ids}"
        future: Future[Any] = Future()
        self.lsp.protocol._request_futures[msg_id] = future
        self.lsp.protocol._send_data({"jsonrpc": "2.0", "id": msg_id, **message})
        return await asyncio.wait_for(asyncio.wrap_future(future), TIMEOUT)

    def notify(self, method: str, params: Any = None) -> None:
        """Send a notification with plain JSON params."""
        self.raw_notify({"method": method, "params": params})

    def raw_notify(self, message: dict[str, Any]) -> None:
        """Send a notification exactly as given."""
        self.lsp.protocol._send_data({"jsonrpc": "2.0", **message})

    def _record(self, method: str, params: Any) -> None:
        self.notifications[method].append(params)
        for waiter in list(self._waiters):
            name, predicate, future = waiter
            if name == method and not future.done() and predicate(params):
                future.set_result(params)
                self._waiters.remove(waiter)

    def expect(
        self, method: str, predicate: Callable[[dict[str, Any]], bool] = lambda p: True
    ) -> Awaitable[dict[str, Any]]:
        """A future for the next ``method`` notification matching ``predicate``.

        Create it before triggering the change, then await it (with a timeout).
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.append((method, predicate, future))
        return asyncio.wait_for(future, TIMEOUT)

    def seen(
        self, method: str, predicate: Callable[[dict[str, Any]], bool] = lambda p: True
    ) -> Awaitable[dict[str, Any]]:
        """Like :meth:`expect`, but an already received notification counts too."""
        for params in self.notifications[method]:
            if predicate(params):
                done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
                done.set_result(params)
                return done
        return self.expect(method, predicate)

    @property
    def process(self) -> asyncio.subprocess.Process:
        """The server process."""
        server = self.lsp._server
        assert server is not None
        return server


Connect = Callable[..., Awaitable[Client]]


async def begin_work(client: Client) -> None:
    """Start a session in each folder that has none, as the user's first prompt or edit
    would (an editor start alone creates none); nothing on a read-only database."""
    status = await client.request("sidecar/status", {})
    if status["readOnly"]:
        return
    for ws in status["workspaces"]:
        if ws["activeSession"] is None:
            await client.request("sidecar/sessions/start", {"folder": ws["folder"]})


async def stop_client(client: Client) -> None:
    """Shut the server down (killing it if it does not answer)."""
    process = client.lsp._server
    try:
        if process is not None and process.returncode is None:
            await asyncio.wait_for(client.lsp.shutdown_session(), TIMEOUT)
    except Exception:
        pass
    finally:
        if process is not None and process.returncode is None:
            process.kill()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.lsp.stop(), TIMEOUT)


@pytest.fixture(params=EDITORS)
def editor(request: pytest.FixtureRequest) -> str:
    """The editor whose client capabilities the test client announces."""
    return str(request.param)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A private HOME with its XDG folders."""
    home = tmp_path / "home"
    for sub in ("", ".config", ".local/share", ".cache", ".local/state"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    return home


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """The database file every server of the test shares."""
    return tmp_path / "data" / "sessions.db"


@pytest.fixture
def server_tmp(tmp_path: Path) -> Path:
    """The servers' TMPDIR (exports may go there; HOME and repos lie outside it)."""
    path = tmp_path / "server-tmp"
    path.mkdir()
    return path


@pytest.fixture
def server_env(home: Path, db_path: Path, server_tmp: Path) -> dict[str, str]:
    """The environment of spawned servers: temp HOME/XDG, TMPDIR and database."""
    return isolated_env(home, db_path, server_tmp)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository on branch main with one commit."""
    return make_repo(tmp_path, files={"README.md": "# demo\n", "src/app.py": "print('hi')\n"})


@pytest.fixture
async def connect(server_env: dict[str, str], editor: str, repo: Path) -> AsyncIterator[Connect]:
    """Spawn and initialize servers; all are shut down (or killed) after the test."""
    clients: list[Client] = []

    async def _connect(
        folders: list[Path] | None = None,
        *,
        options: dict[str, Any] | None = None,
        env: dict[str, str] | None = None,
        prompt_answer: str | None = None,
        root_only: bool = False,
        begin: bool = True,
    ) -> Client:
        """A new server on ``folders`` (default: the repo).

        An editor start alone creates no session; with ``begin`` (the default,
        for tests about something else) each folder without one then starts one,
        as the user's first prompt or edit would.
        """
        config = ClientServerConfig(server_command=SERVER_COMMAND, server_env=env or server_env)
        lsp = await config.start()
        assert isinstance(lsp, LanguageClient)
        # Keep results and notifications as plain dicts.
        converter = lsp.protocol._converter
        converter.register_structure_hook(JsonRPCResponseMessage, _raw)
        converter.register_structure_hook(JsonRPCNotification, _raw)
        client = Client(lsp)
        clients.append(client)
        for method in ("sidecar/sessionChanged", "sidecar/historyChanged", "sidecar/driftDetected"):
            lsp.feature(method)(lambda params, m=method: client._record(m, params))

        @lsp.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
        def _prompt(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
            client.shown.append(params)
            return types.MessageActionItem(title=prompt_answer) if prompt_answer else None

        paths = folders if folders is not None else [repo]
        init = types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities(editor),
            initialization_options=options or {},
        )
        if root_only:
            init.root_uri = paths[0].as_uri()
        else:
            init.workspace_folders = [
                types.WorkspaceFolder(uri=p.as_uri(), name=p.name) for p in paths
            ]
        await asyncio.wait_for(lsp.initialize_session(init), TIMEOUT)
        if begin:
            await begin_work(client)
        return client

    yield _connect

    for client in clients:
        await stop_client(client)
