"""Checkpoints end to end: real files in a real repository, through the real server.

A checkpoint snapshots the working tree (tracked and untracked files) under a
private ref; restoring writes those files back, without moving HEAD or the
branch, and only when the request says ``confirm: true``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from tests.e2e.conftest import stop_client
from tests.e2e.drifthelp import DriftClient, start_client
from tests.gitrepo import git, isolate_git_config

pytestmark = pytest.mark.timeout(60)

Start = Callable[..., Awaitable[DriftClient]]


@pytest.fixture
async def client(
    server_env: dict[str, str], home: Path, monkeypatch: pytest.MonkeyPatch, repo: Path
) -> AsyncIterator[DriftClient]:
    """A server watching ``repo``."""
    isolate_git_config(monkeypatch, home)
    client = await start_client([repo], server_env)
    yield client
    await stop_client(client)


def _read(repo: Path, rel: str) -> str:
    return (repo / rel).read_text(encoding="utf-8")


async def _checkpoint(client: DriftClient, name: str) -> dict[str, Any]:
    return dict((await client.request("sidecar/checkpoints/create", {"name": name}))["checkpoint"])


async def test_restore_brings_back_the_files_as_they_were(client: DriftClient, repo: Path) -> None:
    session = await client.active()
    head = git(repo, "rev-parse", "HEAD")
    (repo / "src" / "app.py").write_text("print('before risk')\n", encoding="utf-8")
    (repo / "notes.txt").write_text("untracked idea\n", encoding="utf-8")
    history = client.expect("sidecar/historyChanged", lambda p: p["sessionId"] == session["id"])
    checkpoint = await _checkpoint(client, "before risk")
    await history
    assert checkpoint["sessionId"] == session["id"] and checkpoint["name"] == "before risk"
    assert checkpoint["headSha"] == head and checkpoint["snapshotSha"]

    # The risky change: edit, delete, and add a file.
    (repo / "src" / "app.py").write_text("print('broken')\n", encoding="utf-8")
    (repo / "notes.txt").unlink()
    (repo / "README.md").write_text("rewritten\n", encoding="utf-8")

    with pytest.raises(JsonRpcException) as refused:
        await client.request("sidecar/checkpoints/restore", {"checkpointId": checkpoint["id"]})
    assert refused.value.code == -32602 and "confirm" in str(refused.value)
    assert _read(repo, "src/app.py") == "print('broken')\n"  # nothing restored

    restored = await client.request(
        "sidecar/checkpoints/restore", {"checkpointId": checkpoint["id"], "confirm": True}
    )
    assert restored["restored"] is True and restored["checkpoint"]["id"] == checkpoint["id"]
    assert _read(repo, "src/app.py") == "print('before risk')\n"
    assert _read(repo, "notes.txt") == "untracked idea\n"
    assert _read(repo, "README.md") == "# demo\n"
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "branch", "--show-current") == "main"

    shown = await client.request("sidecar/sessions/show", {"sessionId": session["id"]})
    assert [c["id"] for c in shown["checkpoints"]] == [checkpoint["id"]]
    events = await client.events(session["id"], "checkpoint")
    assert events[-1]["payload"]["action"] == "restore"
    assert events[-1]["payload"]["checkpointId"] == checkpoint["id"]


async def test_a_checkpoint_of_a_clean_tree_has_no_snapshot(
    client: DriftClient, repo: Path
) -> None:
    checkpoint = await _checkpoint(client, "clean")
    assert checkpoint["headSha"] == git(repo, "rev-parse", "HEAD")
    assert checkpoint["snapshotSha"] is None
    restored = await client.request(
        "sidecar/checkpoints/restore", {"checkpointId": checkpoint["id"], "confirm": True}
    )
    assert restored["restored"] is True
    assert git(repo, "status", "--porcelain") == ""


async def test_restoring_an_unknown_checkpoint_is_a_clear_error(client: DriftClient) -> None:
    with pytest.raises(JsonRpcException) as err:
        await client.request(
            "sidecar/checkpoints/restore", {"checkpointId": "nope", "confirm": True}
        )
    assert err.value.code == -32602 and "nope" in str(err.value)
    assert (await client.status())["activeSession"] is not None
