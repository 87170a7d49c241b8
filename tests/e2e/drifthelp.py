"""A pytest-lsp client for drift tests: the real server, real git, prompts answered by script.

``start_client`` spawns ``python -m sidecar serve`` like the shared ``connect``
fixture, but its ``window/showMessageRequest`` handler answers each prompt
from a :class:`Prompter` the test fills in before it triggers the change
(an action title, ``"#0"`` for the first action offered, or None to dismiss),
and records every prompt so a test can await it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest_lsp
from lsprotocol import types
from pygls.protocol import JsonRPCNotification, JsonRPCResponseMessage
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.conftest import SERVER_COMMAND, TIMEOUT, Client, begin_work

NOTIFICATIONS = ("sidecar/sessionChanged", "sidecar/historyChanged", "sidecar/driftDetected")


@dataclass
class Prompt:
    """One window/showMessageRequest the server sent, and the answer given."""

    message: str
    actions: list[str]
    answer: str | None


@dataclass
class Prompter:
    """Answers prompts from ``script`` in order; records them in ``prompts``."""

    script: list[str | None] = field(default_factory=list)
    prompts: list[Prompt] = field(default_factory=list)
    _waiters: list[tuple[int, asyncio.Future[Prompt]]] = field(default_factory=list)

    def answer(self, params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        actions = [a.title for a in params.actions or []]
        choice = self.script.pop(0) if self.script else None
        if choice is not None and choice.startswith("#"):
            choice = actions[int(choice[1:])]
        prompt = Prompt(params.message, actions, choice)
        self.prompts.append(prompt)
        for count, future in list(self._waiters):
            if len(self.prompts) >= count and not future.done():
                future.set_result(self.prompts[count - 1])
                self._waiters.remove((count, future))
        return types.MessageActionItem(title=choice) if choice is not None else None

    async def wait(self, count: int) -> Prompt:
        """The ``count``-th prompt (1-based), once it has been shown."""
        if len(self.prompts) >= count:
            return self.prompts[count - 1]
        future: asyncio.Future[Prompt] = asyncio.get_running_loop().create_future()
        self._waiters.append((count, future))
        try:
            return await asyncio.wait_for(future, TIMEOUT)
        except TimeoutError:
            raise AssertionError(
                f"no prompt #{count} within {TIMEOUT} s; prompts so far: {self.prompts}"
            ) from None


class DriftClient(Client):
    """A :class:`Client` with a scripted prompter."""

    def __init__(self, lsp: LanguageClient, prompter: Prompter) -> None:
        super().__init__(lsp)
        self.prompter = prompter
        self.registrations: list[types.Registration] = []

    async def status(self, folder: Path | None = None) -> dict[str, Any]:
        """sidecar/status (of ``folder``, default the first)."""
        params = {"folder": folder.as_uri()} if folder is not None else {}
        return dict(await self.request("sidecar/status", params))

    async def active(self, folder: Path | None = None) -> dict[str, Any]:
        """The folder's active session."""
        session = (await self.status(folder))["activeSession"]
        assert session is not None, "no active session"
        return dict(session)

    async def events(self, session_id: str, kind: str | None = None) -> list[dict[str, Any]]:
        """A session's events (of ``kind``)."""
        params: dict[str, Any] = {"sessionId": session_id, "limit": 1000}
        if kind is not None:
            params["kinds"] = [kind]
        return list((await self.request("sidecar/sessions/events", params))["items"])

    async def quiet(self) -> None:
        """Wait until every job the server queued so far has run (a request round trip
        through the store thread, which serves them in order)."""
        await self.request("sidecar/status", {})


def _raw(obj: dict[str, Any], cls: type) -> Any:
    return cls(**obj)


async def start_client(
    folders: list[Path],
    env: dict[str, str],
    *,
    editor: str = "visual-studio-code",
    options: dict[str, Any] | None = None,
    script: list[str | None] | None = None,
    begin: bool = True,
) -> DriftClient:
    """Spawn and initialize a server for ``folders``; stop it with :func:`stop_client`.

    With ``begin`` each folder then starts a session (see :func:`begin_work`).
    """
    config = ClientServerConfig(server_command=SERVER_COMMAND, server_env=env)
    lsp = await config.start()
    assert isinstance(lsp, LanguageClient)
    converter = lsp.protocol._converter
    converter.register_structure_hook(JsonRPCResponseMessage, _raw)
    converter.register_structure_hook(JsonRPCNotification, _raw)
    prompter = Prompter(script=list(script or []))
    client = DriftClient(lsp, prompter)
    for method in NOTIFICATIONS:
        lsp.feature(method)(lambda params, m=method: client._record(m, params))

    @lsp.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def _prompt(params: types.ShowMessageRequestParams) -> types.MessageActionItem | None:
        return prompter.answer(params)

    @lsp.feature(types.CLIENT_REGISTER_CAPABILITY)
    def _register(params: types.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)

    init = types.InitializeParams(
        capabilities=pytest_lsp.client_capabilities(editor),
        initialization_options=options or {},
        workspace_folders=[types.WorkspaceFolder(uri=p.as_uri(), name=p.name) for p in folders],
    )
    await asyncio.wait_for(lsp.initialize_session(init), TIMEOUT)
    # The server watches once it has started (after the initialize reply): wait for that.
    await client.status()
    if begin:
        await begin_work(client)
    return client
