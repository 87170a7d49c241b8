"""SIGKILL the server while a client is appending: nothing it acknowledged is lost."""

from __future__ import annotations

import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.conftest import Spawn
from tests.reliability.history import all_events, assert_contiguous, integrity
from tests.reliability.rpc import RpcError, ServerGone

BATCH = 20
IN_FLIGHT = 4
ACKED_BEFORE_KILL = 60


def _batch(n: int) -> dict[str, Any]:
    return {
        "events": [
            {"kind": "note", "payload": {"n": n * BATCH + i}, "clientEventId": f"k-{n}-{i}"}
            for i in range(BATCH)
        ]
    }


@pytest.mark.timeout(120)
def test_killed_server_keeps_every_acknowledged_event(
    spawn: Spawn, db_path: Path, repo: Path
) -> None:
    client = spawn()
    session_id = client.initialize(repo)["session"]["id"]
    sent: list[tuple[int, Future[Any]]] = []
    acknowledged: dict[str, int] = {}
    n = 0
    deadline = time.monotonic() + 60
    # Keep several requests in flight so the kill lands in the middle of appends.
    while len(acknowledged) < ACKED_BEFORE_KILL * BATCH and time.monotonic() < deadline:
        while sum(1 for _, f in sent if not f.done()) < IN_FLIGHT:
            params = {"sessionId": session_id, **_batch(n)}
            sent.append((n, client.send_request("sidecar/events/append", params)))
            n += 1
        oldest = next(f for _, f in sent if not f.done())
        oldest.result(timeout=20)
        for batch_no, future in sent:
            if future.done() and future.exception() is None:
                for i, seq in enumerate(future.result()["seqs"]):
                    acknowledged[f"k-{batch_no}-{i}"] = seq
    client.kill()

    assert len(acknowledged) >= ACKED_BEFORE_KILL * BATCH, "too few appends acknowledged in 60 s"
    for _, future in sent:
        # Every request was either answered or cut off by the kill; nothing else.
        assert future.done()
        assert future.exception() is None or isinstance(future.exception(), ServerGone)
    for batch_no, future in sent:
        if future.exception() is None:
            for i, seq in enumerate(future.result()["seqs"]):
                acknowledged[f"k-{batch_no}-{i}"] = seq

    assert integrity(db_path) == "ok"
    again = spawn()
    again.initialize(repo)
    events = all_events(again, session_id)
    assert_contiguous(events, "after the kill")
    stored = {e["clientEventId"]: e["seq"] for e in events}
    missing = sorted(set(acknowledged) - set(stored))
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {missing[:5]}"
    moved = {cid: (seq, stored[cid]) for cid, seq in acknowledged.items() if stored[cid] != seq}
    assert not moved, f"acknowledged events changed seq: {list(moved.items())[:5]}"

    # The client retries whatever was not acknowledged: stored once, contiguous, no duplicates.
    unanswered = [b for b, f in sent if f.exception() is not None]
    for batch_no in unanswered:
        try:
            again.request("sidecar/events/append", {"sessionId": session_id, **_batch(batch_no)})
        except RpcError as exc:  # pragma: no cover - shown if the retry is refused
            raise AssertionError(f"retry of batch {batch_no} refused: {exc}") from exc
    events = all_events(again, session_id)
    assert_contiguous(events, "after the retries")
    assert len(events) == n * BATCH, "every batch sent is stored exactly once after the retries"
    again.close()
    assert integrity(db_path) == "ok"
