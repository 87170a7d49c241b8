"""The export worker's own connection must not cost the process its SQLite locks.

SQLite's locks are POSIX advisory locks, held per process: closing *any*
descriptor of the database file drops all of them. When the worker opened its
connection through the store's location check (which reads the file header
with a plain ``open``), the owner's connection lost its lock; the next process
to close its connection then believed it was the last one, checkpointed and
deleted the WAL, and every later write of the owner went into the deleted WAL:
lost. Seen live as a ``watch`` whose branch switch, drift and decision never
reached the database once export was on.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from sidecar.core.models import Boundary, NewEvent
from sidecar.store import Store
from sidecar.telemetry.mapping import SpanSpec
from sidecar.telemetry.settings import export_settings
from sidecar.telemetry.worker import ExportWorker

TIMEOUT_S = 20.0
CONNECT = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1])"


class Accepting:
    name = "otlp"

    def send(self, spans: Sequence[SpanSpec]) -> str | None:
        return None


def test_writes_after_the_worker_started_survive_another_process_closing(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    db = folder / "sessions.db"
    owner = Store.open(db)
    boundary = Boundary(repository="r", worktree="/w", branch="main", requester="me", machine="m")
    session = owner.sessions.create(boundary, name="demo")
    owner.events.append(session.id, [NewEvent(kind="note", payload={"text": "1"})], holder=None)
    settings = export_settings({"SIDECAR_OTEL": "1", "SIDECAR_OTEL_SETTLE_SECONDS": "0"})
    worker = ExportWorker(db, settings, sink=Accepting).start()
    try:
        assert worker.passed.wait(TIMEOUT_S)
        # Another process (a hook, the CLI) opens the database and closes it again.
        script = f"{CONNECT}; c.execute('SELECT count(*) FROM events').fetchone(); c.close()"
        subprocess.run([sys.executable, "-c", script, str(db)], check=True, timeout=TIMEOUT_S)
        owner.events.append(session.id, [NewEvent(kind="note", payload={"text": "2"})], holder=None)
    finally:
        worker.stop()
    # What another process finds in the file.
    read = f"{CONNECT}; print(c.execute('SELECT count(*) FROM events').fetchone()[0])"
    found = subprocess.run(
        [sys.executable, "-c", read, str(db)], capture_output=True, text=True, timeout=TIMEOUT_S
    )
    owner.close()
    assert found.stdout.strip() == "2", found.stderr
