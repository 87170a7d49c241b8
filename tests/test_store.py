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
from tests.storeutil import boundary, note


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "data" / "sessions.db")
    yield s
    s.close()


def test_new_database_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "private" / "sessions.db"
    with Store.open(path) as s:
        s.start_session(boundary())
        assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
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
    s = store.start_session(boundary())
    assert store.append_events(s.id, [note("a"), note("b")]) == [1, 2]
    assert store.append_events(s.id, [note("c")]) == [3]
    assert [e.seq for e in store.events(s.id)] == [1, 2, 3]
    assert store.get_session(s.id).event_count == 3


def test_retry_with_client_event_ids_returns_original_seqs(store: Store) -> None:
    s = store.start_session(boundary())
    first = store.append_events(s.id, [note("a", cid="x1"), note("b", cid="x2")])
    again = store.append_events(
        s.id, [note("a", cid="x1"), note("b", cid="x2"), note("c", cid="x3")]
    )
    assert first == [1, 2]
    assert again == [1, 2, 3]
    assert [e.payload["text"] for e in store.events(s.id)] == ["a", "b", "c"]


def test_duplicate_client_id_inside_one_batch_is_stored_once(store: Store) -> None:
    s = store.start_session(boundary())
    assert store.append_events(s.id, [note("a", cid="same"), note("a", cid="same")]) == [1, 1]
    assert store.last_seq(s.id) == 1


def test_append_to_unknown_session_fails_clearly(store: Store) -> None:
    with pytest.raises(UnknownSession, match="unknown session 'nope'"):
        store.append_events("nope", [note("x")])


def test_summary_columns_follow_appends(store: Store) -> None:
    s = store.start_session(boundary())
    store.append_events(
        s.id, [NewEvent(kind="prompt", actor="user", payload={"text": "fix  login\nbug"})]
    )
    got = store.get_session(s.id)
    assert got.last_prompt == "fix login bug"
    assert got.last_event_at is not None
    assert got.event_count == 1


def test_appending_wakes_an_idle_session(store: Store) -> None:
    s = store.start_session(boundary(), status=SessionStatus.IDLE)
    store.append_events(s.id, [note("back")])
    assert store.get_session(s.id).status == SessionStatus.ACTIVE


def test_payload_secrets_are_redacted_before_storage(store: Store) -> None:
    s = store.start_session(boundary())
    store.append_events(
        s.id,
        [NewEvent(kind="command", payload={"headers": {"Authorization": "Bearer abc.def.ghi"}})],
    )
    raw = store.conn.execute("SELECT payload FROM events").fetchone()[0]
    assert "abc.def.ghi" not in raw


def test_events_page_by_seq_and_kind(store: Store) -> None:
    s = store.start_session(boundary())
    store.append_events(s.id, [note(str(i)) for i in range(10)])
    store.append_events(s.id, [NewEvent(kind="prompt", payload={"text": "p"})])
    page = store.events(s.id, after_seq=3, limit=4)
    assert [e.seq for e in page] == [4, 5, 6, 7]
    assert [e.seq for e in store.events(s.id, kinds=[EventKind.PROMPT])] == [11]


def test_list_scopes_and_keyset_cursor(store: Store) -> None:
    now = utcnow()
    ids = []
    for i in range(7):
        b = boundary("main" if i % 2 == 0 else "feature")
        ids.append(store.start_session(b, name=f"s{i}", now=now + timedelta(seconds=i)).id)
    page = store.list_sessions(branch="main", limit=2)
    assert [s.name for s in page.items] == ["s6", "s4"]
    page2 = store.list_sessions(branch="main", limit=2, cursor=page.next_cursor)
    assert [s.name for s in page2.items] == ["s2", "s0"]
    assert page2.next_cursor is None
    assert len(store.list_sessions(repository="example.com/acme/app").items) == 7
    assert [s.name for s in store.list_sessions(text="s3").items] == ["s3"]


def test_list_orders_by_latest_activity(store: Store) -> None:
    old = store.start_session(boundary(), name="old", now=utcnow() - timedelta(hours=1))
    store.start_session(boundary(), name="new")
    store.append_events(old.id, [note("fresh activity")])
    assert [s.name for s in store.list_sessions().items] == ["old", "new"]


def test_bad_cursor_is_a_clear_error(store: Store) -> None:
    with pytest.raises(InvalidRequest, match="invalid cursor"):
        store.list_sessions(cursor="garbage!")


def test_fork_reads_parent_history_up_to_fork_point(store: Store) -> None:
    parent = store.start_session(boundary())
    store.append_events(parent.id, [note(f"p{i}") for i in range(5)])
    child = store.fork_session(parent.id, at_seq=3)
    assert store.append_events(child.id, [note("c1")]) == [4]
    store.append_events(parent.id, [note("p-late")])
    texts = [e.payload["text"] for e in store.events(child.id)]
    assert texts == ["p0", "p1", "p2", "c1"]
    assert store.lineage(child.id)[0].id == parent.id
    assert [c.id for c in store.children(parent.id)] == [child.id]


def test_fork_of_a_fork_reads_the_whole_chain(store: Store) -> None:
    a = store.start_session(boundary())
    store.append_events(a.id, [note("a1"), note("a2")])
    b = store.fork_session(a.id)
    store.append_events(b.id, [note("b3")])
    c = store.fork_session(b.id)
    store.append_events(c.id, [note("c4")])
    assert [e.payload["text"] for e in store.events(c.id)] == ["a1", "a2", "b3", "c4"]
    assert [e.seq for e in store.events(c.id, after_seq=2)] == [3, 4]


def test_fork_beyond_the_end_is_refused(store: Store) -> None:
    s = store.start_session(boundary())
    with pytest.raises(InvalidRequest, match=r"it has events 1\.\.0"):
        store.fork_session(s.id, at_seq=1)


def test_deleting_a_parent_keeps_the_forks_history(store: Store) -> None:
    parent = store.start_session(boundary())
    store.append_events(parent.id, [note("p1"), note("p2")])
    child = store.fork_session(parent.id)
    store.append_events(child.id, [note("c3")])
    store.delete_session(parent.id)
    assert [e.payload["text"] for e in store.events(child.id)] == ["p1", "p2", "c3"]
    with pytest.raises(UnknownSession):
        store.get_session(parent.id)


def test_search_finds_text_scoped_to_branch(store: Store) -> None:
    main = store.start_session(boundary("main"))
    feat = store.start_session(boundary("feature"))
    store.append_events(main.id, [note("the login form breaks")])
    store.append_events(feat.id, [note("login via oauth")])
    assert {h.session_id for h in store.search("login")} == {main.id, feat.id}
    hits = store.search("login", branch="feature")
    assert [h.session_id for h in hits] == [feat.id]
    assert "[login]" in hits[0].snippet


def test_search_ignores_fts_syntax_in_user_text(store: Store) -> None:
    s = store.start_session(boundary())
    store.append_events(s.id, [note('he said "NEAR(" AND OR')])
    assert store.search('"NEAR(" AND') != []
    assert store.search("   ") == []


def test_search_does_not_return_deleted_sessions(store: Store) -> None:
    s = store.start_session(boundary())
    store.append_events(s.id, [note("ephemeral")])
    assert store.search("ephemeral")
    store.delete_session(s.id)
    assert store.search("ephemeral") == []


def test_cleanup_deletes_old_ended_unpinned_sessions(store: Store) -> None:
    long_ago = utcnow() - timedelta(days=40)
    old_ended = store.start_session(boundary(), name="old", now=long_ago)
    store.end_session(old_ended.id)
    pinned = store.start_session(boundary(), name="pinned", now=long_ago)
    store.end_session(pinned.id)
    store.update_session(pinned.id, pinned=True)
    store.start_session(boundary(), name="old-active", now=long_ago)
    assert [s.name for s in store.cleanup(30, dry_run=True)] == ["old"]
    assert store.get_session(old_ended.id)
    assert [s.name for s in store.cleanup(30)] == ["old"]
    with pytest.raises(UnknownSession):
        store.get_session(old_ended.id)
    assert store.get_session(pinned.id).pinned


def test_export_jsonl_and_markdown_never_carry_the_provider_ref(store: Store) -> None:
    s = store.start_session(boundary(), name="export me", provider_ref="secret-local-id")
    store.append_events(s.id, [note("hello")])
    jsonl = store.export_session(s.id, "jsonl")
    lines = [json.loads(line) for line in jsonl.splitlines()]
    assert lines[0]["type"] == "session" and lines[0]["name"] == "export me"
    assert lines[1]["type"] == "event" and lines[1]["payload"] == {"text": "hello"}
    markdown = store.export_session(s.id, "markdown")
    assert markdown.startswith("# export me")
    assert "secret-local-id" not in jsonl + markdown


def test_rename_end_and_unknown_ids(store: Store) -> None:
    s = store.start_session(boundary())
    assert store.rename_session(s.id, "better").name == "better"
    with pytest.raises(InvalidRequest):
        store.rename_session(s.id, "  ")
    assert store.end_session(s.id).status == SessionStatus.ENDED
    with pytest.raises(UnknownSession):
        store.rename_session("missing", "x")
    with pytest.raises(UnknownId):
        store.get_checkpoint("missing")


def test_holder_lease_blocks_a_second_holder_until_it_expires(store: Store) -> None:
    s = store.start_session(boundary())
    now = utcnow()
    assert store.acquire_hold(s.id, "conn-a", lease_seconds=30, now=now) is None
    assert store.acquire_hold(s.id, "conn-b", now=now + timedelta(seconds=5)) == "conn-a"
    assert store.acquire_hold(s.id, "conn-b", now=now + timedelta(seconds=31)) is None
    assert store.acquire_hold(s.id, "conn-a", take_over=True) is None
    store.release_all_holds("conn-a")
    assert store.get_session(s.id).holder is None


def test_remembered_choices(store: Store) -> None:
    assert store.remembered_choice("repo", "feature") is None
    store.remember_choice("repo", "feature", Action.CONTINUE)
    got = store.remembered_choice("repo", "feature")
    assert got is not None and got.action == Action.CONTINUE
    store.forget_choice("repo", "feature")
    assert store.remembered_choice("repo", "feature") is None


def test_checkpoint_annotation_approval_each_record_an_event(store: Store) -> None:
    s = store.start_session(boundary())
    cp = store.add_checkpoint(
        s.id, name="before refactor", head_sha="a" * 40, snapshot_sha=None, ref=None
    )
    ann = store.add_annotation(s.id, code="failed_assumptions", text="API changed", seq=1)
    approval = store.request_approval(s.id, title="push to main")
    decided = store.decide_approval(approval.id, grant=False, by="dev", reason="not yet")
    kinds = [e.kind.value for e in store.events(s.id)]
    assert kinds == ["checkpoint", "annotation", "approval_request", "approval"]
    assert store.list_checkpoints(s.id) == [cp]
    assert store.has_annotation(s.id, "failed_assumptions") and ann.seq == 1
    assert decided.state.value == "denied" and decided.decided_seq == 4
    with pytest.raises(InvalidRequest, match="already denied"):
        store.decide_approval(approval.id, grant=True, by="dev")


def test_cache_entries_replace_and_belong_to_a_session(store: Store) -> None:
    s = store.start_session(boundary())
    store.cache_put(s.id, "summary", {"text": "v1"})
    store.cache_put(s.id, "summary", {"text": "v2"})
    assert store.cache_get(s.id, "summary") == {"text": "v2"}
    assert store.cache_get(s.id, "other") is None
    with pytest.raises(UnknownSession):
        store.cache_put("missing", "k", 1)


def test_footprint_accumulates_worktree_relative_paths(store: Store) -> None:
    s = store.start_session(boundary(worktree="/src/app"))
    store.append_events(
        s.id,
        [
            NewEvent(kind="file_change", payload={"path": "/src/app/lib/a.py"}),
            NewEvent(kind="file_open", payload={"path": "/src/app/lib/a.py"}),
            NewEvent(kind="file_open", payload={"path": "/elsewhere/b.py"}),
        ],
    )
    entries = store.footprint(s.id)
    assert [e.path for e in entries] == ["lib/a.py"]


def test_corrupt_file_is_moved_aside_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CorruptDatabase, match="moved aside") as info:
        Store.open(path)
    moved = Path(info.value.moved_to)
    assert moved.read_bytes().startswith(b"this is not sqlite")
    with Store.open(path) as fresh:
        assert fresh.list_sessions().items == []


def test_recover_creates_a_fresh_database_and_says_where_the_old_went(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    path.write_bytes(b"\x00garbage" * 512)
    with Store.open(path, recover=True) as s:
        assert s.recovered_from is not None and Path(s.recovered_from).exists()


def test_read_only_database_gives_a_clear_error(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root ignores file permissions; SQLite's own read-only mode is the same failure path.
        path = tmp_path / "sessions.db"
        with Store.open(path) as s:
            s.start_session(boundary())
        import sqlite3

        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        ro = Store(conn, str(path))
    else:
        path = tmp_path / "sessions.db"
        with Store.open(path) as s:
            s.start_session(boundary())
        path.chmod(0o400)
        ro = Store.open(path)
    session = ro.list_sessions().items[0]
    with pytest.raises(ReadOnlyError, match="read-only"):
        ro.append_events(session.id, [note("x")])
    assert ro.list_sessions().items[0].id == session.id


def test_full_database_gives_a_clear_error_and_keeps_earlier_events(tmp_path: Path) -> None:
    with Store.open(tmp_path / "small.db", max_pages=40) as s:
        session = s.start_session(boundary())
        s.append_events(session.id, [note("kept")])
        with pytest.raises(DiskFullError, match="full"):
            for _ in range(200):
                s.append_events(session.id, [note("x" * 4000)])
        assert s.events(session.id)[0].payload["text"] == "kept"
        last = s.last_seq(session.id)
        assert [e.seq for e in s.events(session.id, limit=1000)] == list(range(1, last + 1))


def test_imported_history_keeps_its_own_activity_time(store: Store) -> None:
    then = utcnow() - timedelta(days=3)
    s = store.start_session(boundary(), now=then)
    store.append_events(
        s.id,
        [NewEvent(kind="note", payload={"text": "old"}, time=then + timedelta(minutes=5))],
        activity_from_events=True,
    )
    got = store.get_session(s.id)
    assert got.last_event_at == then + timedelta(minutes=5)
    newer = store.start_session(boundary(), name="newer", now=then + timedelta(days=1))
    assert store.list_sessions().items[0].id == newer.id


def test_seqs_for_client_ids(store: Store) -> None:
    s = store.start_session(boundary())
    store.append_events(s.id, [note("a", cid="k1"), note("b"), note("c", cid="k3")])
    assert store.seqs_for_client_ids(s.id, ["k3", "k1", "missing"]) == {"k1": 1, "k3": 3}


def test_read_only_open_reads_history_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    with Store.open(path) as s:
        session = s.start_session(boundary())
        s.append_events(session.id, [note("kept")])
    with Store.open(path, read_only=True) as ro:
        assert ro.read_only
        assert ro.events(session.id)[0].payload["text"] == "kept"
        with pytest.raises(ReadOnlyError, match="read-only"):
            ro.append_events(session.id, [note("nope")])
    with Store.open(path) as s:
        assert s.last_seq(session.id) == 1
