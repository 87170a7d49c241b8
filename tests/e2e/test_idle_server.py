"""The idle server as an editor leaves it: how many threads it keeps."""

from __future__ import annotations

from pathlib import Path

import psutil

from tests.e2e.conftest import Connect

#: SPEC 9 / issue 11: an idle server on a small repository runs at most this many.
MAX_IDLE_THREADS = 6


async def test_an_idle_server_on_a_small_repository_runs_at_most_six_threads(
    connect: Connect, repo: Path
) -> None:
    client = await connect()
    status = await client.request("sidecar/status", {})  # answered once started
    assert status["activeSession"] is not None
    # Work that ran once (git reads, the first append, an export) must not leave
    # pools or timers behind.
    await client.request(
        "sidecar/events/append", {"events": [{"kind": "note", "payload": {"text": "x"}}]}
    )
    await client.request("sidecar/sessions/list", {})
    threads = psutil.Process(client.process.pid).threads()
    assert len(threads) <= MAX_IDLE_THREADS, f"{len(threads)} threads"
