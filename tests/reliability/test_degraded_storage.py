"""A read-only or full database degrades to a clear message; the server keeps answering."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.conftest import Spawn
from tests.reliability.history import all_events, integrity
from tests.reliability.rpc import RawClient, RpcError

#: Pages in a fresh database are ~35 (4 KiB each); the cap leaves room for a few batches.
MAX_PAGES = 120
PAYLOAD_TEXT = "x" * 2000


def _record_history(spawn: Spawn, repo: Path, count: int) -> tuple[str, RawClient]:
    client = spawn()
    session_id = client.initialize(repo)["session"]["id"]
    events = [{"kind": "note", "payload": {"n": i}, "clientEventId": f"h{i}"} for i in range(count)]
    client.request("sidecar/events/append", {"sessionId": session_id, "events": events})
    return session_id, client


@pytest.fixture
def read_only(db_path: Path) -> Iterator[None]:
    """Make the database file unwritable for the server, for real; undone after the test.

    A normal user loses write permission with chmod. Root ignores permission
    bits, so as root the file is made immutable (chattr +i), which even root
    cannot write through.
    """
    if os.geteuid() != 0:
        db_path.chmod(0o444)
        yield
        db_path.chmod(0o600)
        return
    done = subprocess.run(["chattr", "+i", str(db_path)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(
            f"running as root and chattr +i failed ({done.stderr.strip()}): this machine "
            "cannot make a file read-only for root; run the suite as a normal user"
        )
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(db_path)], check=True)


def _server_serves(client: RawClient) -> dict[str, object]:
    status = client.request("sidecar/status", {})
    assert status["version"]
    assert client.proc.poll() is None, "the server exited"
    return dict(status)


@pytest.mark.timeout(120)
def test_read_only_database_is_readable_and_refuses_writes_clearly(
    spawn: Spawn, repo: Path, db_path: Path, request: pytest.FixtureRequest
) -> None:
    session_id, writer = _record_history(spawn, repo, 3)
    writer.close()
    request.getfixturevalue("read_only")
    with pytest.raises(OSError):
        db_path.open("ab")  # the premise: nobody can write this file now

    client = spawn()
    client.request(
        "initialize",
        {
            "processId": None,
            "capabilities": {},
            "workspaceFolders": [{"uri": repo.as_uri(), "name": "repo"}],
            "initializationOptions": {"prompts": "off"},
        },
    )
    client.notify("initialized", {})
    _server_serves(client)
    history = all_events(client, session_id)
    assert [e["payload"]["n"] for e in history] == [0, 1, 2], "history stays readable"
    with pytest.raises(RpcError) as refused:
        client.request(
            "sidecar/events/append",
            {"sessionId": session_id, "events": [{"kind": "note", "payload": {"n": 3}}]},
        )
    assert "read-only" in refused.value.message, refused.value.message
    assert refused.value.code != -32603, "a read-only database is not an internal error"
    _server_serves(client)
    # The user is told once, without having to try a write first.
    shown = client.wait_for("window/showMessage", lambda p: "read-only" in p["message"])
    assert str(db_path) in shown["message"], shown


@pytest.mark.timeout(120)
def test_full_database_refuses_appends_clearly_and_keeps_serving(
    spawn: Spawn, repo: Path, db_path: Path, server_env: dict[str, str]
) -> None:
    client = spawn(env={**server_env, "SIDECAR_DB_MAX_PAGES": str(MAX_PAGES)})
    session_id = client.initialize(repo)["session"]["id"]
    acknowledged: list[str] = []
    refusal: RpcError | None = None
    # At most ~8 MB of payloads: far past the cap (~480 KB), so a cap that holds must refuse.
    for batch in range(80):
        ids = [f"f{batch}-{i}" for i in range(50)]
        events = [
            {"kind": "note", "payload": {"text": PAYLOAD_TEXT}, "clientEventId": c} for c in ids
        ]
        try:
            client.request("sidecar/events/append", {"sessionId": session_id, "events": events})
        except RpcError as exc:
            refusal = exc
            break
        acknowledged.extend(ids)
    assert refusal is not None, (
        f"{len(acknowledged)} events of 2 KB appended under SIDECAR_DB_MAX_PAGES={MAX_PAGES}: "
        "the cap is not honoured"
    )
    assert "full" in refusal.message, refusal.message
    assert refusal.code != -32603, "a full database is not an internal error"
    assert acknowledged, "the cap should leave room for some events"

    _server_serves(client)
    stored = {e["clientEventId"] for e in all_events(client, session_id)}
    assert set(acknowledged) <= stored, "acknowledged events survive the full disk"
    # The batch that did not fit still does not fit: refused again, the same way.
    refused = [f"f{len(acknowledged) // 50}-{i}" for i in range(50)]
    events = [
        {"kind": "note", "payload": {"text": PAYLOAD_TEXT}, "clientEventId": c} for c in refused
    ]
    with pytest.raises(RpcError) as again:
        client.request("sidecar/events/append", {"sessionId": session_id, "events": events})
    assert "full" in again.value.message
    _server_serves(client)
    client.close()
    assert integrity(db_path) == "ok"
