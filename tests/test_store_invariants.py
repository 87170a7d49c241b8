"""Invariants every writer keeps because the schema or the write transaction holds them.

Each test is written as an attacker of that invariant would try it: several
processes at once, a process killed while holding a session, a write aimed
past the checks, a database from before the invariant existed.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from sidecar.core.models import EventKind, NewEvent, utcnow
from sidecar.store import (
    InvalidRequest,
    PayloadTooLarge,
    SessionHeld,
    Store,
    new_holder_id,
    schema,
)
from tests.storeutil import append, boundary, note

PROCESSES = 8


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "sessions.db"
    Store.open(path).close()
    return path


@pytest.fixture
def store(db_path: Path) -> Any:
    s = Store.open(db_path)
    yield s
    s.close()


def _in_processes(target: Any, args: list[tuple[Any, ...]]) -> list[Any]:
    """Run `target(*a)` in one process per `a`, all released at once; their results."""
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(len(args))
        results = manager.list()
        procs = [ctx.Process(target=target, args=(barrier, results, *a)) for a in args]
        for p in procs:
            p.start()
        for p in procs:
            p.join(timeout=120)
            assert p.exitcode == 0, f"a writer process failed (exit code {p.exitcode})"
        return list(results)


def _ensure_ref(barrier: Any, results: Any, path: str, ref: str) -> None:
    with Store.open(path) as s:
        barrier.wait(timeout=60)
        session, created = s.sessions.ensure_for_provider_ref(boundary(provider="claude-code"), ref)
        results.append((session.id, created))


def test_processes_seeing_one_new_provider_session_record_one_session(db_path: Path) -> None:
    for trial in range(3):
        ref = f"agent-session-{trial}"
        results = _in_processes(_ensure_ref, [(str(db_path), ref)] * PROCESSES)
        assert len({sid for sid, _ in results}) == 1, results
        assert sum(created for _, created in results) == 1
    with Store.open(db_path) as s:
        assert len(s.sessions.list(limit=100).items) == 3


def test_the_schema_refuses_a_second_session_for_one_provider_session(store: Store) -> None:
    b = boundary(provider="codex")
    store.sessions.create(b, provider_ref="rollout-1")
    with pytest.raises(InvalidRequest, match="already exists"):
        store.sessions.create(b, provider_ref="rollout-1")
    # Even raw SQL aimed past the store: the unique index decides.
    with pytest.raises(sqlite3.IntegrityError):
        store.db.conn.execute(
            "INSERT INTO sessions (id, name, description, status, repository, worktree, branch, "
            "requester, machine, provider, provider_ref, created_at, updated_at, activity_at, "
            "event_count, tags, pinned) VALUES ('x', 'n', '', 'active', 'r', '/w', 'main', 'me', "
            "'m', 'codex', 'rollout-1', 't', 't', 't', 0, '[]', 0)"
        )


def test_events_of_a_missing_session_are_refused_by_the_schema(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        store.db.conn.execute(
            "INSERT INTO events (session_id, seq, time, kind, actor, payload) "
            "VALUES ('nobody', 1, 't', 'note', 'agent', '{}')"
        )


def test_deleting_a_session_removes_everything_derived_from_it(store: Store) -> None:
    s = store.sessions.create(boundary())
    append(store, s.id, [note("a"), NewEvent(kind="file_change", payload={"path": "/src/app/x"})])
    store.checkpoints.add(s.id, name="before", head_sha=None, snapshot_sha=None, ref=None)
    store.reviews.annotate(s.id, code="failed_assumptions", text="wrong")
    store.reviews.request_approval(s.id, title="deploy")
    store.state.cache_put(s.id, "summary", {"text": "x"})
    store.sessions.delete(s.id)
    conn = store.db.conn
    for table in ("events", "footprint", "checkpoints", "annotations", "cache", "approvals"):
        count = conn.execute(f"SELECT count(*) FROM {table} WHERE session_id = ?", (s.id,))
        assert count.fetchone()[0] == 0, table


def test_ending_returns_the_session_without_its_holder(store: Store) -> None:
    holder = new_holder_id()
    s = store.sessions.create(boundary(), holder=holder)
    ended = store.sessions.end(s.id)
    assert (ended.status.value, ended.holder) == ("ended", None)
    assert store.sessions.get(s.id).holder is None


def test_a_held_session_refuses_another_holder_inside_the_append(store: Store) -> None:
    s = store.sessions.create(boundary(), holder=new_holder_id())
    with pytest.raises(SessionHeld) as refused:
        append(store, s.id, [note("interleaved")], holder=new_holder_id())
    assert refused.value.session_id == s.id
    assert store.events.last_seq(s.id) == 0
    # The sidecar's own bookkeeping (no holder) and the holder itself still append.
    assert append(store, s.id, [note("system")]) == [1]


def test_a_holder_whose_process_died_unreaped_does_not_block(store: Store) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        host = new_holder_id().split(":")[0]
        dead = f"{host}:{child.pid}:feedbeef"
        s = store.sessions.create(boundary(), holder=dead, lease_seconds=600)
        with pytest.raises(SessionHeld):
            append(store, s.id, [note("while it runs")], holder=new_holder_id())
        os.kill(child.pid, signal.SIGKILL)
        # Not reaped yet: a zombie still answers kill(0), its state says otherwise.
        deadline = utcnow() + timedelta(seconds=10)
        while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
            assert utcnow() < deadline, "the child never became a zombie"
        assert append(store, s.id, [note("after it died")], holder=new_holder_id()) == [1]
    finally:
        child.kill()
        child.wait(timeout=10)


def test_an_oversized_payload_refuses_the_whole_batch(store: Store) -> None:
    s = store.sessions.create(boundary())
    big = NewEvent(kind=EventKind.NOTE, payload={"text": "x" * 2000})
    with pytest.raises(PayloadTooLarge) as refused:
        append(store, s.id, [note("fits"), big], max_payload_bytes=1000)
    assert refused.value.index == 1 and "events[1].payload" in str(refused.value)
    assert store.events.last_seq(s.id) == 0


def _decide(barrier: Any, results: Any, path: str, approval_id: str, grant: bool) -> None:
    with Store.open(path) as s:
        barrier.wait(timeout=60)
        try:
            s.reviews.decide_approval(approval_id, grant=grant, by=f"pid {os.getpid()}")
            results.append("won")
        except InvalidRequest:
            results.append("refused")


def test_of_processes_deciding_one_approval_exactly_one_wins(db_path: Path) -> None:
    with Store.open(db_path) as s:
        session = s.sessions.create(boundary())
        approval = s.reviews.request_approval(session.id, title="push to main")
    args = [(str(db_path), approval.id, i % 2 == 0) for i in range(PROCESSES)]
    results = _in_processes(_decide, args)
    assert sorted(results) == ["refused"] * (PROCESSES - 1) + ["won"]
    with Store.open(db_path) as s:
        kinds = [e.kind for e in s.events.page(session.id)]
        assert kinds.count(EventKind.APPROVAL) == 1


def test_a_fork_that_fails_half_way_leaves_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    parent = store.sessions.create(boundary())
    append(store, parent.id, [NewEvent(kind="file_change", payload={"path": "/src/app/a.py"})])

    def broken(*_: Any) -> dict[str, Any]:
        raise RuntimeError("disk went away")

    monkeypatch.setattr("sidecar.store.sessions.inherited_footprint_in", broken)
    with pytest.raises(RuntimeError):
        store.sessions.fork(parent.id)
    assert [s.id for s in store.sessions.list().items] == [parent.id]
    assert store.sessions.children(parent.id) == []


def test_named_leases_have_one_live_holder(store: Store) -> None:
    first, second = new_holder_id(), new_holder_id()
    assert store.leases.take("live-import:/transcripts", first)
    assert not store.leases.take("live-import:/transcripts", second)
    assert store.leases.holder_of("live-import:/transcripts") == first
    # A lapsed lease is free again.
    later = utcnow() + timedelta(seconds=60)
    assert store.leases.take("live-import:/transcripts", second, now=later)
    store.leases.release_all(second)
    assert store.leases.holder_of("live-import:/transcripts") is None


def _v3_with_duplicates(path: Path) -> None:
    """A v3 file where two processes each created a session for one Claude Code session."""
    conn = sqlite3.connect(path, isolation_level=None)
    schema.migrate(sqlite_utils.Database(conn), target=3)
    for sid, created, texts in (
        ("s1", "2026-01-01T00:00:00.000000Z", ["first", "second"]),
        ("s2", "2026-01-01T00:00:01.000000Z", ["third"]),
    ):
        conn.execute(
            "INSERT INTO sessions (id, name, description, status, repository, worktree, branch, "
            "requester, machine, provider, provider_ref, created_at, updated_at, activity_at, "
            "event_count, tags, pinned) VALUES (?, 'n', '', 'active', 'r', '/w', 'main', 'me', "
            "'box', 'claude-code', 'ref-1', ?, ?, ?, ?, '[]', 0)",
            (sid, created, created, created, len(texts)),
        )
        for seq, text in enumerate(texts, 1):
            conn.execute(
                "INSERT INTO events (session_id, seq, time, kind, actor, payload, text) "
                "VALUES (?, ?, ?, 'note', 'agent', ?, ?)",
                (
                    sid,
                    seq,
                    f"2026-01-01T00:00:0{len(text) % 10}.000000Z",
                    f'{{"text":"{text}"}}',
                    text,
                ),
            )
    conn.close()


def test_migrating_merges_sessions_recorded_twice_for_one_provider_session(
    tmp_path: Path,
) -> None:
    path = tmp_path / "v3.db"
    _v3_with_duplicates(path)
    with Store.open(path) as s:
        found = s.sessions.find_by_provider_ref("claude-code", "ref-1")
        assert found is not None and found.id == "s1"
        events = s.events.page("s1")
        assert [e.seq for e in events] == [1, 2, 3]
        assert sorted(e.payload["text"] for e in events) == ["first", "second", "third"]
        assert found.event_count == 3
        assert [h.session_id for h in s.events.search("third")] == ["s1"]
        with pytest.raises(Exception, match="unknown session"):
            s.sessions.get("s2")


def test_an_overlong_client_id_built_by_the_sidecar_is_stored_bounded_and_idempotent(
    store: Store,
) -> None:
    from sidecar.core.kinds import EventDraft

    session = store.sessions.create(boundary(), name="long ids")
    long_id = "cc:" + "x" * 400 + ":call"
    draft = EventDraft(EventKind.TOOL_CALL, {"name": "Bash"}, client_event_id=long_id)
    first = store.events.append(session.id, [draft], holder=None)
    again = store.events.append(session.id, [draft], holder=None)
    other = EventDraft(EventKind.TOOL_CALL, {"name": "Bash"}, client_event_id=long_id + "2")
    third = store.events.append(session.id, [other], holder=None)
    assert first == again == [1] and third == [2]
    stored = [e.client_event_id or "" for e in store.events.page(session.id)]
    assert all(len(cid) <= 200 for cid in stored) and stored[0] != stored[1]
