"""Fixtures for the reliability suite: real server processes on a real database file.

Each test gets a private HOME/XDG and TMPDIR, a database path (``SIDECAR_DB``),
a real git repository, and ``spawn``: start a server (raw JSON-RPC over stdio,
see :mod:`tests.reliability.rpc`) that is shut down or killed after the test.
Server stderr goes to a file per server, printed when a test fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.envutil import isolated_env
from tests.gitrepo import make_repo
from tests.reliability.rpc import RawClient

Spawn = Callable[..., RawClient]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """The database file the test's servers and hooks share."""
    folder = tmp_path / "data"
    folder.mkdir()
    return folder / "sessions.db"


@pytest.fixture
def server_env(tmp_path: Path, db_path: Path) -> dict[str, str]:
    """Environment of spawned servers and hooks: temp HOME/XDG/TMPDIR, the test database."""
    home = tmp_path / "home"
    for sub in (".config", ".local/share", ".cache", ".local/state"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    server_tmp = tmp_path / "server-tmp"
    server_tmp.mkdir()
    return isolated_env(home, db_path, server_tmp)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository on branch main with one commit."""
    return make_repo(tmp_path, files={"README.md": "# demo\n", "src/app.py": "print('hi')\n"})


@pytest.fixture
def spawn(
    tmp_path: Path, server_env: dict[str, str], repo: Path, request: pytest.FixtureRequest
) -> Iterator[Spawn]:
    """Start servers (``spawn(env=..., cwd=...)``); all are closed after the test."""
    clients: list[tuple[RawClient, Path]] = []

    def _spawn(*, env: dict[str, str] | None = None, cwd: Path | None = None) -> RawClient:
        log = tmp_path / f"server-{len(clients)}.stderr"
        with log.open("wb") as stderr:
            client = RawClient(env or server_env, cwd or repo, stderr=stderr)
        clients.append((client, log))
        return client

    yield _spawn

    for client, _ in clients:
        client.close()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for _, log in clients:
            print(f"--- {log.name}\n{log.read_text(errors='replace')[-4000:]}")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """Keep each phase's report on the item, so fixtures can tell a failed test."""
    report = yield
    setattr(item, f"rep_{report.when}", report)  # type: ignore[attr-defined]
    return report
