"""The store on real SQLite files: sessions, events, forks, search, lifecycle."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from sidecar.core.models import Action, EventKind, NewEvent, SessionStatus, utcnow
from sidecar.store import (
    CorruptDatabase,
    DiskFullError,
    InvalidRequest,
    ReadOnlyError,
    Store,
    UnknownId,
    UnknownSession,
)
from sidecar.store.database import Database
from sidecar.store.export import export_session
from tests.storeutil import CORRUPT_SQLITE, append, boundary, note


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "data" / "sessions.db")
    yield s
    s.close()


def test_new_database_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "private" / "sessions.db"
    with Store.open(path) as s:
        s.sessions.create(boundary())
        assert s.db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_sidecar_db_environment_variable_chooses_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "env.db"
    monkeypatch.setenv("SIDECAR_DB", str(target))
    with Store.open() as s:
        assert s.path == str(target)
    assert target.exists()


def test_seqs_are_contiguous_from_one(store: Store) -> None:
    s = store.sessions.create(boundary())
    assert append(store, s.id, [note("a"), note("b")]) == [1, 2]
    assert append(store, s.id, [note("c")]) == [3]
    assert [e.seq for e in store.events.page(s.id)] == [1, 2, 3]
    assert store.sessions.get(s.id).event_count == 3


def test_retry_with_client_event_ids_returns_original_seqs(store: Store) -> None:
    s = store.sessions.create(boundary())
    first = append(store, s.id, [note("a", cid="x1"), note("b", cid="x2")])
    again = append(store, s.id, [note("a", cid="x1"), note("b", cid="x2"), note("c", cid="x3")])
    assert first == [1, 2]
    assert again == [1, 2, 3]
    assert [e.payload["text"] for e in store.events.page(s.id)] == ["a", "b", "c"]


def test_duplicate_client_id_inside_one_batch_is_stored_once(store: Store) -> None:
    s = store.sessions.create(boundary())
    assert append(store, s.id, [note("a", cid="same"), note("a", cid="same")]) == [1, 1]
    assert store.events.last_seq(s.id) == 1


def test_append_to_unknown_session_fails_clearly(store: Store) -> None:
    with pytest.raises(UnknownSession, match="unknown session 'nope'"):
        append(store, "nope", [note("x")])


def test_summary_columns_follow_appends(store: Store) -> None:
    s = store.sessions.create(boundary())
    append(
        store, s.id, [NewEvent(kind="prompt", actor="user", payload={"text": "fix  login\nbug"})]
    )
    got = store.sessions.get(s.id)
    assert got.last_prompt == "fix login bug"
    assert got.last_event_at is not None
    assert got.event_count == 1


def test_appending_wakes_an_idle_session(store: Store) -> None:
    s = store.sessions.create(boundary(), status=SessionStatus.IDLE)
    append(store, s.id, [note("back")])
    assert store.sessions.get(s.id).status == SessionStatus.ACTIVE


@pytest.mark.parametrize("kind", ["branch_change", "drift", "decision"])
def test_bookkeeping_is_kept_but_does_not_count_as_activity(store: Store, kind: str) -> None:
    s = store.sessions.create(boundary(), status=SessionStatus.IDLE)
    day_ago = utcnow() - timedelta(days=1)
    old_prompt = NewEvent(kind="prompt", actor="user", payload={"text": "x"}, time=day_ago)
    append(store, s.id, [old_prompt], activity_from_events=True)
    store.sessions.set_status(s.id, SessionStatus.IDLE)
    before = store.sessions.get(s.id)
    append(store, s.id, [NewEvent(kind=kind, actor="system", payload={"text": "moved"})])
    after = store.sessions.get(s.id)
    assert after.event_count == before.event_count + 1
    assert after.last_event_at == before.last_event_at
    assert after.status is SessionStatus.IDLE
    # The listing's order follows activity too: a session that only got bookkeeping stays put.
    fresh = store.sessions.create(boundary(), name="worked on now")
    append(store, fresh.id, [note("work")])
    assert [x.id for x in store.sessions.list(limit=2).items] == [fresh.id, s.id]


def test_payload_secrets_are_redacted_before_storage(store: Store) -> None:
    s = store.sessions.create(boundary())
    append(
        store,
        s.id,
        [NewEvent(kind="command", payload={"headers": {"Authorization": "Bearer abc.def.ghi"}})],
    )
    raw = store.db.conn.execute("SELECT payload FROM events").fetchone()[0]
    assert "abc.def.ghi" not in raw


def test_events_page_by_seq_and_kind(store: Store) -> None:
    s = store.sessions.create(boundary())
    append(store, s.id, [note(str(i)) for i in range(10)])
    append(store, s.id, [NewEvent(kind="prompt", payload={"text": "p"})])
    page = store.events.page(s.id, after_seq=3, limit=4)
    assert [e.seq for e in page] == [4, 5, 6, 7]
    assert [e.seq for e in store.events.page(s.id, kinds=[EventKind.PROMPT])] == [11]


def test_list_scopes_and_keyset_cursor(store: Store) -> None:
    now = utcnow()
    ids = []
    for i in range(7):
        b = boundary("main" if i % 2 == 0 else "feature")
        ids.append(store.sessions.create(b, name=f"s{i}", now=now + timedelta(seconds=i)).id)
    page = store.sessions.list(branch="main", limit=2)
    assert [s.name for s in page.items] == ["s6", "s4"]
    page2 = store.sessions.list(branch="main", limit=2, cursor=page.next_cursor)
    assert [s.name for s in page2.items] == ["s2", "s0"]
    assert page2.next_cursor is None
    assert len(store.sessions.list(repository="example.com/acme/app").items) == 7
    assert [s.name for s in store.sessions.list(text="s3").items] == ["s3"]


def test_list_orders_by_latest_activity(store: Store) -> None:
    old = store.sessions.create(boundary(), name="old", now=utcnow() - timedelta(hours=1))
    store.sessions.create(boundary(), name="new")
    append(store, old.id, [note("fresh activity")])
    assert [s.name for s in store.sessions.list().items] == ["old", "new"]


def test_bad_cursor_is_a_clear_error(store: Store) -> None:
    with pytest.raises(InvalidRequest, match="invalid cursor"):
        store.sessions.list(cursor="garbage!")


def test_fork_reads_parent_history_up_to_fork_point(store: Store) -> None:
    parent = store.sessions.create(boundary())
    append(store, parent.id, [note(f"p{i}") for i in range(5)])
    child = store.sessions.fork(parent.id, at_seq=3)
    assert append(store, child.id, [note("c1")]) == [4]
    append(store, parent.id, [note("p-late")])
    texts = [e.payload["text"] for e in store.events.page(child.id)]
    assert texts == ["p0", "p1", "p2", "c1"]
    assert store.sessions.lineage(child.id)[0].id == parent.id
    assert [c.id for c in store.sessions.children(parent.id)] == [child.id]


def test_fork_of_a_fork_reads_the_whole_chain(store: Store) -> None:
    a = store.sessions.create(boundary())
    append(store, a.id, [note("a1"), note("a2")])
    b = store.sessions.fork(a.id)
    append(store, b.id, [note("b3")])
    c = store.sessions.fork(b.id)
    append(store, c.id, [note("c4")])
    assert [e.payload["text"] for e in store.events.page(c.id)] == ["a1", "a2", "b3", "c4"]
    assert [e.seq for e in store.events.page(c.id, after_seq=2)] == [3, 4]


def test_fork_beyond_the_end_is_refused(store: Store) -> None:
    s = store.sessions.create(boundary())
    with pytest.raises(InvalidRequest, match=r"it has events 1\.\.0"):
        store.sessions.fork(s.id, at_seq=1)


def test_deleting_a_parent_keeps_the_forks_history(store: Store) -> None:
    parent = store.sessions.create(boundary())
    append(store, parent.id, [note("p1"), note("p2")])
    child = store.sessions.fork(parent.id)
    append(store, child.id, [note("c3")])
    store.sessions.delete(parent.id)
    assert [e.payload["text"] for e in store.events.page(child.id)] == ["p1", "p2", "c3"]
    with pytest.raises(UnknownSession):
        store.sessions.get(parent.id)


def test_search_finds_text_scoped_to_branch(store: Store) -> None:
    main = store.sessions.create(boundary("main"))
    feat = store.sessions.create(boundary("feature"))
    append(store, main.id, [note("the login form breaks")])
    append(store, feat.id, [note("login via oauth")])
    assert {h.session_id for h in store.events.search("login")} == {main.id, feat.id}
    hits = store.events.search("login", branch="feature")
    assert [h.session_id for h in hits] == [feat.id]
    assert "[login]" in hits[0].snippet


def test_search_ignores_fts_syntax_in_user_text(store: Store) -> None:
    s = store.sessions.create(boundary())
    append(store, s.id, [note('he said "NEAR(" AND OR')])
    assert store.events.search('"NEAR(" AND') != []
    assert store.events.search("   ") == []


def test_search_does_not_return_deleted_sessions(store: Store) -> None:
    s = store.sessions.create(boundary())
    append(store, s.id, [note("ephemeral")])
    assert store.events.search("ephemeral")
    store.sessions.delete(s.id)
    assert store.events.search("ephemeral") == []


def test_cleanup_deletes_old_ended_unpinned_sessions(store: Store) -> None:
    long_ago = utcnow() - timedelta(days=40)
    old_ended = store.sessions.create(boundary(), name="old", now=long_ago)
    store.sessions.end(old_ended.id)
    pinned = store.sessions.create(boundary(), name="pinned", now=long_ago)
    store.sessions.end(pinned.id)
    store.sessions.update(pinned.id, pinned=True)
    store.sessions.create(boundary(), name="old-active", now=long_ago)
    assert [s.name for s in store.sessions.cleanup(30, dry_run=True)] == ["old"]
    assert store.sessions.get(old_ended.id)
    assert [s.name for s in store.sessions.cleanup(30)] == ["old"]
    with pytest.raises(UnknownSession):
        store.sessions.get(old_ended.id)
    assert store.sessions.get(pinned.id).pinned


def test_export_jsonl_and_markdown_never_carry_the_provider_ref(store: Store) -> None:
    s = store.sessions.create(boundary(), name="export me", provider_ref="secret-local-id")
    append(store, s.id, [note("hello")])
    jsonl = export_session(store, s.id, "jsonl")
    lines = [json.loads(line) for line in jsonl.splitlines()]
    assert lines[0]["type"] == "session" and lines[0]["name"] == "export me"
    assert lines[1]["type"] == "event" and lines[1]["payload"] == {"text": "hello"}
    markdown = export_session(store, s.id, "markdown")
    assert markdown.startswith("# export me")
    assert "secret-local-id" not in jsonl + markdown


def test_rename_end_and_unknown_ids(store: Store) -> None:
    s = store.sessions.create(boundary())
    assert store.sessions.rename(s.id, "better").name == "better"
    with pytest.raises(InvalidRequest):
        store.sessions.rename(s.id, "  ")
    assert store.sessions.end(s.id).status == SessionStatus.ENDED
    with pytest.raises(UnknownSession):
        store.sessions.rename("missing", "x")
    with pytest.raises(UnknownId):
        store.checkpoints.get("missing")


def test_holder_lease_blocks_a_second_holder_until_it_expires(store: Store) -> None:
    s = store.sessions.create(boundary())
    now = utcnow()
    assert store.leases.acquire(s.id, "conn-a", lease_seconds=30, now=now) is None
    assert store.leases.acquire(s.id, "conn-b", now=now + timedelta(seconds=5)) == "conn-a"
    assert store.leases.acquire(s.id, "conn-b", now=now + timedelta(seconds=31)) is None
    assert store.leases.acquire(s.id, "conn-a", take_over=True) is None
    store.leases.release_all("conn-a")
    assert store.sessions.get(s.id).holder is None


def test_remembered_choices(store: Store) -> None:
    assert store.state.remembered_choice("repo", "feature") is None
    store.state.remember_choice("repo", "feature", Action.CONTINUE)
    got = store.state.remembered_choice("repo", "feature")
    assert got is not None and got.action == Action.CONTINUE
    store.state.forget_choice("repo", "feature")
    assert store.state.remembered_choice("repo", "feature") is None


def test_checkpoint_annotation_approval_each_record_an_event(store: Store) -> None:
    s = store.sessions.create(boundary())
    cp = store.checkpoints.add(
        s.id, name="before refactor", head_sha="a" * 40, snapshot_sha=None, ref=None
    )
    ann = store.reviews.annotate(s.id, code="failed_assumptions", text="API changed", seq=1)
    approval = store.reviews.request_approval(s.id, title="push to main")
    decided = store.reviews.decide_approval(approval.id, grant=False, by="dev", reason="not yet")
    kinds = [e.kind.value for e in store.events.page(s.id)]
    assert kinds == ["checkpoint", "annotation", "approval_request", "approval"]
    assert store.checkpoints.list(s.id) == [cp]
    assert store.reviews.has_annotation(s.id, "failed_assumptions") and ann.seq == 1
    assert decided.state.value == "denied" and decided.decided_seq == 4
    with pytest.raises(InvalidRequest, match="already denied"):
        store.reviews.decide_approval(approval.id, grant=True, by="dev")


def test_cache_entries_replace_and_belong_to_a_session(store: Store) -> None:
    s = store.sessions.create(boundary())
    store.state.cache_put(s.id, "summary", {"text": "v1"})
    store.state.cache_put(s.id, "summary", {"text": "v2"})
    assert store.state.cache_get(s.id, "summary") == {"text": "v2"}
    assert store.state.cache_get(s.id, "other") is None
    with pytest.raises(UnknownSession):
        store.state.cache_put("missing", "k", 1)


def test_footprint_accumulates_worktree_relative_paths(store: Store) -> None:
    s = store.sessions.create(boundary(worktree="/src/app"))
    append(
        store,
        s.id,
        [
            NewEvent(kind="file_change", payload={"path": "/src/app/lib/a.py"}),
            NewEvent(kind="file_open", payload={"path": "/src/app/lib/a.py"}),
            NewEvent(kind="file_open", payload={"path": "/elsewhere/b.py"}),
        ],
    )
    entries = store.sessions.footprint(s.id)
    assert [e.path for e in entries] == ["lib/a.py"]


def test_corrupt_file_is_moved_aside_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    path.write_bytes(CORRUPT_SQLITE)
    with pytest.raises(CorruptDatabase, match="moved aside") as info:
        Store.open(path)
    moved = Path(info.value.moved_to)
    assert moved.read_bytes() == CORRUPT_SQLITE
    with Store.open(path) as fresh:
        assert fresh.sessions.list().items == []


def test_recover_creates_a_fresh_database_and_says_where_the_old_went(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    path.write_bytes(CORRUPT_SQLITE)
    with Store.open(path, recover=True) as s:
        assert s.recovered_from is not None and Path(s.recovered_from).exists()


def test_read_only_database_gives_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root ignores file permissions; SQLite's own read-only mode is the same failure path.
        path = tmp_path / "sessions.db"
        with Store.open(path) as s:
            s.sessions.create(boundary())
        import sqlite3

        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        ro = Store(Database(conn, str(path)))
    else:
        path = tmp_path / "sessions.db"
        with Store.open(path) as s:
            s.sessions.create(boundary())
        path.chmod(0o400)
        ro = Store.open(path)
    session = ro.sessions.list().items[0]
    with pytest.raises(ReadOnlyError, match="read-only"):
        append(ro, session.id, [note("x")])
    assert ro.sessions.list().items[0].id == session.id


def test_full_database_gives_a_clear_error_and_keeps_earlier_events(tmp_path: Path) -> None:
    # The empty schema takes 40 pages (35 before v4): the cap leaves the same 5 free pages.
    with Store.open(tmp_path / "small.db", max_pages=45) as s:
        session = s.sessions.create(boundary())
        append(s, session.id, [note("kept")])
        with pytest.raises(DiskFullError, match="full"):
            for _ in range(200):
                append(s, session.id, [note("x" * 4000)])
        assert s.events.page(session.id)[0].payload["text"] == "kept"
        last = s.events.last_seq(session.id)
        assert [e.seq for e in s.events.page(session.id, limit=1000)] == list(range(1, last + 1))


def test_imported_history_keeps_its_own_activity_time(store: Store) -> None:
    then = utcnow() - timedelta(days=3)
    s = store.sessions.create(boundary(), now=then)
    append(
        store,
        s.id,
        [NewEvent(kind="note", payload={"text": "old"}, time=then + timedelta(minutes=5))],
        activity_from_events=True,
    )
    got = store.sessions.get(s.id)
    assert got.last_event_at == then + timedelta(minutes=5)
    newer = store.sessions.create(boundary(), name="newer", now=then + timedelta(days=1))
    assert store.sessions.list().items[0].id == newer.id


def test_seqs_for_client_ids(store: Store) -> None:
    s = store.sessions.create(boundary())
    append(store, s.id, [note("a", cid="k1"), note("b"), note("c", cid="k3")])
    assert store.events.seqs_for_client_ids(s.id, ["k3", "k1", "missing"]) == {"k1": 1, "k3": 3}


def test_read_only_open_reads_history_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    with Store.open(path) as s:
        session = s.sessions.create(boundary())
        append(s, session.id, [note("kept")])
    with Store.open(path, read_only=True) as ro:
        assert ro.read_only
        assert ro.events.page(session.id)[0].payload["text"] == "kept"
        with pytest.raises(ReadOnlyError, match="read-only"):
            append(ro, session.id, [note("nope")])
    with Store.open(path) as s:
        assert s.events.last_seq(session.id) == 1


def test_session_rows_are_unpacked_in_the_order_they_are_selected() -> None:
    from sidecar.store.rows import EVENT_FIELDS, SESSION_FIELDS, event_from_row, session_from_row

    unpacked = session_from_row.__code__.co_varnames[1 : 1 + len(SESSION_FIELDS)]
    assert [name.rstrip("_") for name in unpacked] == list(SESSION_FIELDS)
    unpacked = event_from_row.__code__.co_varnames[2 : 2 + len(EVENT_FIELDS)]
    assert list(unpacked) == list(EVENT_FIELDS)
