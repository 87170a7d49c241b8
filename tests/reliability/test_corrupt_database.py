"""A corrupt database is moved aside (never overwritten), a fresh one used, the user told."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.reliability.conftest import Spawn
from tests.reliability.history import integrity
from tests.storeutil import CORRUPT_SQLITE

GARBAGE = CORRUPT_SQLITE


@pytest.mark.timeout(90)
def test_corrupt_database_is_moved_aside_and_the_user_told(
    spawn: Spawn, repo: Path, db_path: Path
) -> None:
    db_path.write_bytes(GARBAGE)
    client = spawn()
    # A fresh database: the folder's session starts as usual.
    session_id = client.initialize(repo)["session"]["id"]

    moved = sorted(db_path.parent.glob(f"{db_path.name}.corrupt-*"))
    moved = [p for p in moved if not p.name.endswith(("-wal", "-shm"))]
    assert len(moved) == 1, f"expected the corrupt file moved aside, found {moved}"
    assert moved[0].read_bytes() == GARBAGE, "the corrupt file is kept intact"

    shown = client.wait_for("window/showMessage", lambda p: str(moved[0]) in p["message"])
    assert "corrupt" in shown["message"], shown

    status = client.request("sidecar/status", {})
    assert str(moved[0]) in json.dumps(status), f"sidecar/status does not mention {moved[0]}"

    appended = client.request(
        "sidecar/events/append",
        {"sessionId": session_id, "events": [{"kind": "note", "payload": {"after": "recovery"}}]},
    )
    assert appended["seqs"] == [1]
    client.close()
    assert integrity(db_path) == "ok"
