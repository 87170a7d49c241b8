"""Several processes on one database file: nothing lost, nothing duplicated."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sidecar.store import Store
from tests.storeutil import boundary

ROOT = Path(__file__).resolve().parents[1]

WRITER = textwrap.dedent(
    """
    import sys
    from sidecar.core.models import NewEvent
    from sidecar.store import Store

    path, writer, sessions = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    count, batch = int(sys.argv[4]), int(sys.argv[5])
    store = Store.open(path)
    sent = 0
    while sent < count:
        for sid in sessions:
            events = [
                NewEvent(kind="note", payload={"writer": writer, "n": sent + i},
                         client_event_id=f"{writer}-{sent + i}")
                for i in range(batch)
            ]
            seqs = store.events.append(sid, events, holder=None)
            # One line per acknowledged batch: the parent knows what was acknowledged.
            print(sid, writer, sent, sent + batch - 1, ",".join(map(str, seqs)), flush=True)
        sent += batch
    """
)


def _spawn(
    db: Path, writer: str, sessions: list[str], count: int, batch: int
) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), writer, ",".join(sessions), str(count), str(batch)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_four_processes_append_to_the_same_sessions_without_gaps(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    with Store.open(db) as store:
        sessions = [store.sessions.create(boundary(f"b{i}")).id for i in range(2)]
    writers = [_spawn(db, f"w{i}", sessions, 2000, 50) for i in range(4)]
    for proc in writers:
        out, _ = proc.communicate(timeout=240)
        assert proc.returncode == 0, out
    with Store.open(db) as store:
        for sid in sessions:
            events = store.events.page(sid, limit=10_000)
            seqs = [e.seq for e in events]
            assert seqs == list(range(1, 8001)), "seqs must be contiguous from 1"
            keys = [(e.payload["writer"], e.payload["n"]) for e in events]
            assert len(set(keys)) == 8000, "no event stored twice"
            for w in range(4):
                mine = [n for writer, n in keys if writer == f"w{w}"]
                assert mine == list(range(2000)), "each writer's events in its own order"
        assert store.db.integrity_check() == "ok"


def test_writer_killed_mid_batch_loses_no_acknowledged_event(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    with Store.open(db) as store:
        sid = store.sessions.create(boundary()).id
    proc = _spawn(db, "victim", [sid], 1_000_000, 200)
    acknowledged: list[tuple[int, int]] = []
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while len(acknowledged) < 25 and time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        _, _, first, last, _ = line.split()
        acknowledged.append((int(first), int(last)))
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(acknowledged) >= 25, "the writer should have acknowledged batches before the kill"
    with Store.open(db) as store:
        assert store.db.integrity_check() == "ok"
        events = store.events.page(sid, limit=1_000_000)
        seqs = [e.seq for e in events]
        assert seqs == list(range(1, len(seqs) + 1))
        stored = {e.payload["n"] for e in events}
        for first, last in acknowledged:
            assert set(range(first, last + 1)) <= stored
        # A retry of the cut batch adds only what was not stored.
        from sidecar.core.models import NewEvent

        resend = [
            NewEvent(
                kind="note", payload={"writer": "victim", "n": n}, client_event_id=f"victim-{n}"
            )
            for n in range(len(stored) - 50, len(stored) + 50)
        ]
        seqs_back = store.events.append(sid, resend, holder=None)
        assert seqs_back[:50] == list(range(len(stored) - 49, len(stored) + 1))
        assert store.events.last_seq(sid) == len(stored) + 50
        assert json.loads(json.dumps(store.db.integrity_check())) == "ok"
