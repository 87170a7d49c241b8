"""Cursor: conversations in ``globalStorage/state.vscdb``, folders from ``workspaceStorage``.

The fixture under tests/fixtures/agents/cursor/User is laid out as Cursor lays
out its user folder; each ``state.vscdb.sql`` is built into the
``state.vscdb`` beside it in a temp copy.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sidecar.core.models import Boundary
from sidecar.importers.cursor import composer_unit, discover_cursor, live_units, parse_cursor
from sidecar.services.imports import import_paths
from sidecar.services.sessions import SessionService, Writer
from sidecar.store import Store

FIXTURE = Path(__file__).parent / "fixtures" / "agents" / "cursor" / "User"
STORE_ID = "6a1f0c2e-3b4d-4e5f-8a9b-1c2d3e4f5a6b"
WIKI_ID = "0b9e8d7c-6f5a-4b3c-9d2e-7f6a5b4c3d2e"


def boundary_for(cwd: str, branch: str | None) -> Boundary:
    return Boundary(
        repository=cwd, worktree=cwd, branch=branch or "no-git", requester="u", machine="m"
    )


@pytest.fixture
def user(tmp_path: Path) -> Path:
    """A copy of the fixture with its databases built."""
    root = tmp_path / "User"
    shutil.copytree(FIXTURE, root)
    for dump in root.rglob("state.vscdb.sql"):
        with sqlite3.connect(dump.with_suffix("")) as conn:
            conn.executescript(dump.read_text())
        dump.unlink()
    return root


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "sidecar.db") as opened:
        yield opened


def one_shot(store: Store) -> SessionService:
    return SessionService(store, Writer.one_shot())


def database(user: Path) -> Path:
    return user / "globalStorage" / "state.vscdb"


def test_a_conversation_gives_prompt_tool_and_answer(user: Path) -> None:
    session = parse_cursor(composer_unit(database(user), STORE_ID))
    assert (session.provider_ref, session.cwd) == (STORE_ID, "/home/u/store")
    assert (session.name, session.branch) == ("Fix the flaky checkout test", "fix/checkout")
    assert [e.kind.value for e in session.events] == [
        "prompt", "tool_call", "tool_result", "response",
    ]  # fmt: skip
    prompt, call, result, answer = session.events
    assert prompt.payload["text"].startswith("The checkout test fails")
    assert call.payload["name"] == "run_terminal_cmd"
    assert call.payload["input"]["command"] == "npm test -- checkout"
    assert "1 failing" in result.payload["content"]
    assert answer.payload["text"] == "The discount depends on the clock; I froze it in the test."
    assert answer.time == datetime(2026, 1, 5, 11, 1, tzinfo=UTC)
    assert session.created_at == datetime(2026, 1, 5, 11, 0, tzinfo=UTC)
    assert call.source_id == "cu:toolu_cu1:call"


def test_missing_and_truncated_bubbles_are_skipped_and_counted(user: Path) -> None:
    session = parse_cursor(composer_unit(database(user), STORE_ID))
    assert session.skipped == 2  # one never written, one cut short


def test_the_folder_comes_from_the_workspace_else_from_the_bubbles(user: Path) -> None:
    db = database(user)
    assert list(discover_cursor(root=user, cwd="/home/u/store")) == [composer_unit(db, STORE_ID)]
    assert list(discover_cursor(root=user, cwd="/home/u/wiki")) == [composer_unit(db, WIKI_ID)]
    everything = [composer_unit(db, STORE_ID), composer_unit(db, WIKI_ID)]
    assert list(discover_cursor(root=user)) == everything
    assert parse_cursor(composer_unit(db, WIKI_ID)).cwd == "/home/u/wiki"
    root = user / "globalStorage"
    assert live_units(root, root / "state.vscdb-wal", ["/home/u/wiki"]) == [
        composer_unit(db, WIKI_ID)
    ]
    assert live_units(root, root / "storage.json", ["/home/u/wiki"]) == []


def test_import_is_read_only_and_idempotent(user: Path, store: Store) -> None:
    units = list(discover_cursor(root=user))
    first = import_paths(one_shot(store), "cursor", units, boundary_for_cwd=boundary_for)
    assert (first.sessions_created, first.events_added, first.skipped) == (2, 5, 2)
    again = import_paths(one_shot(store), "cursor", units, boundary_for_cwd=boundary_for)
    assert again.events_added == 0
    with sqlite3.connect(database(user)) as conn:  # Cursor writes the next answer
        conn.execute(
            "INSERT INTO cursorDiskKV VALUES (?, ?)",
            (
                f"bubbleId:{STORE_ID}:b1000000-0000-4000-8000-000000000004",
                '{"_v":3,"type":2,"text":"All green now.","createdAt":"2026-01-05T11:02:00.000Z"}',
            ),
        )
    more = import_paths(one_shot(store), "cursor", units, boundary_for_cwd=boundary_for)
    assert more.events_added == 1
    session = store.sessions.find_by_provider_ref("cursor", STORE_ID)
    assert session is not None
    boundary = session.boundary
    assert (boundary.repository, boundary.branch) == ("/home/u/store", "fix/checkout")
