"""A connection cut mid-append loses nothing and duplicates nothing after a reconnect."""

from __future__ import annotations

import asyncio
from concurrent.futures import Future
from pathlib import Path

from sidecar.store import Store
from tests.e2e.conftest import Client, Connect

BATCH = 10


def _batch(start: int, count: int = BATCH) -> list[dict]:
    return [
        {"kind": "prompt", "payload": {"n": n}, "clientEventId": f"ev-{n}"}
        for n in range(start, start + count)
    ]


async def _append(client: Client, session_id: str, start: int) -> list[int]:
    result = await client.request(
        "sidecar/events/append", {"sessionId": session_id, "events": _batch(start)}
    )
    return list(result["seqs"])


async def test_killed_server_then_resume_by_id(connect: Connect) -> None:
    first = await connect()
    session_id = (await first.request("sidecar/status", {}))["activeSession"]["id"]
    acknowledged: list[int] = []
    for start in (1, 11, 21):
        acknowledged += await _append(first, session_id, start)
    assert acknowledged == list(range(1, 31))

    # Send the fourth batch and kill the server while it may be writing it.
    first.lsp.protocol._request_futures["cut"] = Future()
    first.lsp.protocol._send_data(
        {
            "jsonrpc": "2.0",
            "id": "cut",
            "method": "sidecar/events/append",
            "params": {"sessionId": session_id, "events": _batch(31)},
        }
    )
    first.process.kill()
    await asyncio.wait_for(first.process.wait(), 10)

    second = await connect()
    resumed = await second.request("sidecar/sessions/resume", {"sessionId": session_id})
    assert resumed["resumed"] is True, resumed["warning"]
    assert resumed["session"]["id"] == session_id
    # Re-send the cut batch (its ids make the retry idempotent), finish the 50, then 50 more.
    assert await _append(second, session_id, 31) == list(range(31, 41))
    for start in range(41, 101, BATCH):
        assert await _append(second, session_id, start) == list(range(start, start + BATCH))

    events = await second.request(
        "sidecar/sessions/events", {"sessionId": session_id, "limit": 1000}
    )
    seqs = [e["seq"] for e in events["items"]]
    assert seqs == list(range(1, 101))
    assert [e["clientEventId"] for e in events["items"]] == [f"ev-{n}" for n in range(1, 101)]
    assert [e["payload"]["n"] for e in events["items"]] == list(range(1, 101))


async def test_client_eof_releases_the_hold(connect: Connect, db_path: Path) -> None:
    client = await connect()
    session_id = (await client.request("sidecar/status", {}))["activeSession"]["id"]
    assert client.process.stdin is not None
    client.process.stdin.close()  # the editor went away without shutdown/exit
    await asyncio.wait_for(client.process.wait(), 15)
    store = Store.open(db_path)
    try:
        session = store.sessions.get(session_id)
    finally:
        store.close()
    assert session.holder is None
    assert session.status.value == "idle"
