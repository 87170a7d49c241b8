"""Zed's agent threads: ``threads/threads.db``, one thread per row.

The database is built from tests/fixtures/agents/zed/threads/threads.sql into
a temp ``threads`` folder. Zed compresses threads with zstd: the tests read
them with the decoder the package depends on (``backports.zstd`` before 3.14)
and also without one (the thread is skipped and counted, as on an install
whose decoder is missing).
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sidecar.core.models import Boundary
from sidecar.importers import zed
from sidecar.importers.zed import discover_zed, live_units, ordered_folders, parse_zed, thread_unit
from sidecar.services.imports import import_paths
from sidecar.services.sessions import SessionService, Writer
from sidecar.store import Store

THREADS_SQL = Path(__file__).parent / "fixtures" / "agents" / "zed" / "threads" / "threads.sql"
MAIN = "f0e1d2c3-0000-4000-8000-000000000001"
SUB = "f0e1d2c3-0000-4000-8000-000000000002"
BROKEN = "f0e1d2c3-0000-4000-8000-000000000003"


def raw_block_frame(data: bytes) -> bytes:
    """Decode a zstd frame of raw blocks (what the fixture holds); ValueError otherwise."""
    if data[:4] != b"\x28\xb5\x2f\xfd" or data[4] != 0xA0:
        raise ValueError("not a frame this reader knows")
    (size,) = struct.unpack("<I", data[5:9])
    out, at = b"", 9
    while True:
        header = int.from_bytes(data[at : at + 3], "little")
        if (header >> 1) & 3 != 0:
            raise ValueError("compressed block")
        length = header >> 3
        out += data[at + 3 : at + 3 + length]
        at += 3 + length
        if header & 1:
            break
    if len(out) != size:
        raise ValueError("size mismatch")
    return out


def boundary_for(cwd: str, branch: str | None) -> Boundary:
    return Boundary(
        repository=cwd, worktree=cwd, branch=branch or "no-git", requester="u", machine="m"
    )


@pytest.fixture
def threads_db(tmp_path: Path) -> Path:
    path = tmp_path / "zed" / "threads" / "threads.db"
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as conn:
        conn.executescript(THREADS_SQL.read_text())
    return path


@pytest.fixture
def with_zstd() -> None:
    assert zed.decompress_zstd is not None, "the zstd decoder the package depends on is missing"


@pytest.fixture
def without_zstd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(zed, "decompress_zstd", None)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "sidecar.db") as opened:
        yield opened


def one_shot(store: Store) -> SessionService:
    return SessionService(store, Writer.one_shot())


def test_a_thread_gives_prompt_tool_answer_and_its_folder(threads_db: Path) -> None:
    session = parse_zed(thread_unit(threads_db, MAIN))
    assert (session.cwd, session.branch) == ("/home/u/notes", "sync-fix")
    assert session.name == "Why does the sync drop notes?"
    assert [e.kind.value for e in session.events] == [
        "prompt", "tool_call", "tool_result", "response", "note", "response",
    ]  # fmt: skip
    prompt, call, result, first, resume, last = session.events
    assert prompt.payload["text"].startswith("Notes vanish after a sync. Look at")
    assert (call.payload["name"], call.payload["input"]) == ("grep", {"regex": "fn merge"})
    assert result.payload["content"] == "src/sync.rs:40: fn merge(local, remote)"
    assert first.payload["text"] == "Let me search for the merge."
    assert resume.payload["subtype"] == "resume"
    assert last.payload["text"].startswith("merge() keeps the remote copy")
    assert prompt.time == datetime(2026, 1, 7, 9, 0, tzinfo=UTC)  # created_at
    assert last.time == datetime(2026, 1, 7, 9, 5, tzinfo=UTC)  # updated_at
    assert (call.source_id, result.source_id) == ("zed:toolu_zed1:call", "zed:toolu_zed1:result")


def test_the_folder_list_keeps_zeds_order() -> None:
    assert ordered_folders("/a\n/b", "1,0") == ["/b", "/a"]
    assert ordered_folders("/a\n/b", "") == ["/a", "/b"]
    assert ordered_folders(None, None) == []


@pytest.mark.usefixtures("without_zstd")
def test_a_compressed_thread_without_a_decoder_is_skipped_and_counted(
    threads_db: Path, store: Store
) -> None:
    session = parse_zed(thread_unit(threads_db, SUB))
    assert (session.events, session.skipped, session.cwd) == ([], 1, None)
    report = import_paths(
        one_shot(store), "zed", [thread_unit(threads_db, SUB)], boundary_for_cwd=boundary_for
    )
    assert (report.sessions_created, report.waiting) == (0, 1)  # no empty session


@pytest.mark.usefixtures("with_zstd")
def test_a_compressed_sub_agent_thread_is_read(threads_db: Path) -> None:
    session = parse_zed(thread_unit(threads_db, SUB))
    assert (session.parent_ref, session.agent_name, session.cwd) == (
        MAIN, "subagent", "/home/u/notes",
    )  # fmt: skip
    assert [e.kind.value for e in session.events] == ["prompt", "response"]
    broken = parse_zed(thread_unit(threads_db, BROKEN))
    assert (broken.events, broken.skipped) == ([], 1)


@pytest.mark.usefixtures("with_zstd")
def test_discovery_by_folder_parents_first(threads_db: Path) -> None:
    units = list(discover_zed(root=threads_db, cwd="/home/u/notes"))
    assert units == [thread_unit(threads_db, t) for t in (MAIN, BROKEN, SUB)]
    assert list(discover_zed(root=threads_db, cwd="/home/u/docs")) == []
    root = threads_db.parent
    assert set(live_units(root, root / "threads.db-wal", ["/home/u/notes"])) == set(units)
    assert live_units(root, root / "other.db", ["/home/u/notes"]) == []


def test_a_thread_skipped_for_want_of_a_decoder_is_read_once_one_is_there(
    threads_db: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    unit = [thread_unit(threads_db, SUB), thread_unit(threads_db, MAIN)]
    real = zed.decompress_zstd
    assert real is not None
    monkeypatch.setattr(zed, "decompress_zstd", None)
    import_paths(one_shot(store), "zed", unit, boundary_for_cwd=boundary_for)
    assert store.sessions.find_by_provider_ref("zed", SUB) is None
    monkeypatch.setattr(zed, "decompress_zstd", real)
    later = import_paths(one_shot(store), "zed", unit, boundary_for_cwd=boundary_for)
    assert (later.sessions_created, later.events_added) == (1, 2)


@pytest.mark.usefixtures("with_zstd")
def test_import_is_idempotent_and_reads_a_changed_thread_again(
    threads_db: Path, store: Store
) -> None:
    units = list(discover_zed(root=threads_db))
    first = import_paths(one_shot(store), "zed", units, boundary_for_cwd=boundary_for)
    assert (first.sessions_created, first.events_added, first.waiting) == (2, 8, 1)  # broken
    main = store.sessions.find_by_provider_ref("zed", MAIN)
    sub = store.sessions.find_by_provider_ref("zed", SUB)
    assert main and sub and sub.parent_id == main.id
    again = import_paths(one_shot(store), "zed", units, boundary_for_cwd=boundary_for)
    assert again.events_added == 0
    with sqlite3.connect(threads_db) as conn:  # Zed saves the thread with a new turn
        (data,) = conn.execute("SELECT data FROM threads WHERE id = ?", (MAIN,)).fetchone()
        text = bytes(data).decode()
        turn = (
            '{"User": {"id": "5b1c9e0a-3333-4a2b-8c3d-000000000003", '
            '"content": [{"Text": "Fix it"}]}}'
        )
        end = '], "updated_at": "2026-01-07T09:05:00Z"'
        text = text.replace(end, f", {turn}{end}", 1)
        conn.execute(
            "UPDATE threads SET data = ?, updated_at = ? WHERE id = ?",
            (text.encode(), "2026-01-07T09:10:00+00:00", MAIN),
        )
    more = import_paths(one_shot(store), "zed", units, boundary_for_cwd=boundary_for)
    assert more.events_added == 1


def test_the_real_zstd_decoder_reads_what_zstd_compressed(tmp_path: Path) -> None:
    """Zed's frames come from zstd::encode_all: compressed blocks, no content size."""
    try:
        from compression import zstd as real_zstd  # type: ignore[import-not-found]
    except ImportError:  # before 3.14: the package's dependency
        from backports import zstd as real_zstd

    blob = b'{"version": "0.3.0", "messages": []}' * 50
    compressed = real_zstd.compress(blob)
    assert len(compressed) < len(blob)  # real compressed blocks, not the fixture's raw ones
    assert zed.decompress_zstd is not None
    assert zed.decompress_zstd(compressed) == blob
