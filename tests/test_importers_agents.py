"""Importers for Gemini CLI, GitHub Copilot CLI and opencode, and the reflog branch.

Fixtures under tests/fixtures/agents/{gemini,copilot,opencode} are laid out
as the tools write them (opencode's database is built from
``opencode/opencode.sql`` into a temp folder). Repositories are real.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sidecar.core.models import Boundary, EventKind, SessionStatus
from sidecar.git.reflog import Move, branch_at, branch_at_time, parse_reflog
from sidecar.importers.copilot import discover_copilot, parse_copilot
from sidecar.importers.gemini import discover_gemini, parse_gemini
from sidecar.importers.opencode import discover_opencode, parse_opencode, session_unit
from sidecar.services.imports import (
    BRANCH_INFERRED_TAG,
    BoundaryResolver,
    import_path,
    import_paths,
)
from sidecar.services.sessions import SessionService, Writer
from sidecar.store import Store
from tests.gitrepo import commit, git, isolate_git_config, make_repo, switch

FIXTURES = Path(__file__).parent / "fixtures" / "agents"
GEMINI = FIXTURES / "gemini" / ".gemini"
GEMINI_ID = "7d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6"
GEMINI_CHAT = GEMINI / "tmp" / "webapp" / "chats" / "session-2026-01-05T10-00-7d1e2f3a.jsonl"
GEMINI_LEGACY = GEMINI / "tmp" / "webapp" / "chats" / "session-2025-08-01T09-00-5a6b7c8d.json"
COPILOT = FIXTURES / "copilot"
COPILOT_ID = "8e9f0a1b-2c3d-4e5f-a6b7-c8d9e0f1a2b3"
COPILOT_EVENTS = COPILOT / "session-state" / COPILOT_ID / "events.jsonl"
OPENCODE_SQL = FIXTURES / "opencode" / "opencode.sql"


def boundary_for(cwd: str, branch: str | None) -> Boundary:
    """The boundary an importer caller would build (here without touching git)."""
    return Boundary(
        repository=cwd, worktree=cwd, branch=branch or "no-git", requester="u", machine="m"
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "sidecar.db") as opened:
        yield opened


def one_shot(store: Store) -> SessionService:
    return SessionService(store, Writer.one_shot())


def kinds(events: list[object]) -> list[str]:
    return [e.kind.value for e in events]  # type: ignore[attr-defined]


# ---------------------------------------------------------------- Gemini CLI


def test_gemini_keeps_messages_by_id_and_records_each_tool_once() -> None:
    session = parse_gemini(GEMINI_CHAT)
    assert (session.provider_ref, session.cwd, session.branch) == (
        GEMINI_ID, "/home/u/webapp", None,
    )  # fmt: skip
    assert kinds(session.events) == ["note", "prompt", "tool_call", "tool_result", "response"]
    slash, prompt, call, result, answer = session.events
    assert (slash.payload["subtype"], slash.payload["text"]) == ("command", "/help")
    assert prompt.payload["text"] == "Run the tests and tell me what fails"  # what was typed
    assert call.payload["input"] == {"command": "npm test"}
    assert result.payload["content"] == "Tests: 12 passed"
    assert answer.payload["text"] == "All 12 tests pass."
    assert session.name == "Run the test suite"


def test_gemini_legacy_json_chat_is_read() -> None:
    session = parse_gemini(GEMINI_LEGACY)
    assert session.provider_ref == "5a6b7c8d-0000-4000-8000-000000000001"
    assert kinds(session.events) == ["prompt", "response", "note"]
    assert session.created_at == datetime(2025, 8, 1, 9, 0, tzinfo=UTC)


def test_gemini_discovery_by_project_folder() -> None:
    found = list(discover_gemini(root=GEMINI, cwd="/home/u/webapp"))
    assert [p.name for p in found] == [GEMINI_LEGACY.name, GEMINI_CHAT.name]
    assert list(discover_gemini(root=GEMINI, cwd="/home/u/other")) == []


def test_gemini_checkpoint_repeating_messages_adds_nothing(tmp_path: Path, store: Store) -> None:
    root = tmp_path / ".gemini"
    shutil.copytree(GEMINI, root)
    chat = root / "tmp" / "webapp" / "chats" / GEMINI_CHAT.name
    first = import_path(one_shot(store), "gemini", chat, boundary_for_cwd=boundary_for)
    assert first is not None and first.events_added == 5
    history = [json.loads(line) for line in chat.read_text().splitlines()[1:] if "id" in line]
    with chat.open("a") as handle:
        handle.write(json.dumps({"$set": {"messages": history}}) + "\n")
        handle.write(json.dumps({"id": "m5", "timestamp": "2026-01-05T10:01:00.000Z",
                                 "type": "user", "content": "Thanks"}) + "\n")  # fmt: skip
    again = import_path(one_shot(store), "gemini", chat, boundary_for_cwd=boundary_for)
    assert again is not None and again.events_added == 1


# ---------------------------------------------------------------- Copilot CLI


def test_copilot_events_map_and_the_branch_at_resume_is_a_switch() -> None:
    session = parse_copilot(COPILOT_EVENTS)
    assert (session.provider_ref, session.cwd, session.branch) == (
        COPILOT_ID, "/home/u/shop", "main",
    )  # fmt: skip
    assert kinds(session.events) == [
        "prompt", "tool_call", "tool_result", "response", "branch_change", "prompt", "note",
    ]  # fmt: skip
    switch_event = session.events[4]
    assert switch_event.payload["from"] == "main" and switch_event.payload["to"] == "release/2.3"
    assert session.name == "Changelog for 2.3"
    assert session.events[1].source_id == "cp:call_cp1:call"


def test_copilot_discovery_and_import(tmp_path: Path, store: Store) -> None:
    assert list(discover_copilot(root=COPILOT, cwd="/home/u/shop")) == [COPILOT_EVENTS]
    assert list(discover_copilot(root=COPILOT, cwd="/elsewhere")) == []
    report = import_path(one_shot(store), "copilot", COPILOT_EVENTS, boundary_for_cwd=boundary_for)
    assert report is not None and report.events_added == 7
    session = store.sessions.find_by_provider_ref("copilot", COPILOT_ID)
    assert session is not None and session.boundary.branch == "main"
    assert session.status is SessionStatus.ENDED


# ---------------------------------------------------------------- opencode


@pytest.fixture
def opencode_db(tmp_path: Path) -> Path:
    path = tmp_path / "opencode" / "opencode.db"
    path.parent.mkdir()
    with sqlite3.connect(path) as conn:
        conn.executescript(OPENCODE_SQL.read_text())
    return path


def test_opencode_sessions_parents_first(opencode_db: Path) -> None:
    units = list(discover_opencode(root=opencode_db, cwd="/home/u/api"))
    assert units == [
        session_unit(opencode_db, "ses_main01"),
        session_unit(opencode_db, "ses_sub01"),
    ]
    main = parse_opencode(units[0])
    assert (main.cwd, main.name, main.branch) == ("/home/u/api", "Fix the flaky login test", None)
    assert kinds(main.events) == ["prompt", "note", "tool_call", "tool_result", "response"]
    sub = parse_opencode(units[1])
    assert (sub.parent_ref, sub.agent_name) == ("ses_main01", "explore")


def test_opencode_import_is_read_only_and_incremental(opencode_db: Path, store: Store) -> None:
    units = list(discover_opencode(root=opencode_db))
    first = import_paths(one_shot(store), "opencode", units, boundary_for_cwd=boundary_for)
    assert (first.sessions_created, first.events_added) == (2, 7)
    main = store.sessions.find_by_provider_ref("opencode", "ses_main01")
    sub = store.sessions.find_by_provider_ref("opencode", "ses_sub01")
    assert main and sub and (sub.parent_id, sub.agent_name) == (main.id, "explore")
    with sqlite3.connect(opencode_db) as conn:  # opencode goes on writing
        conn.execute(
            "INSERT INTO message VALUES ('msg_05', 'ses_main01', 1767225700000, 1767225700000, "
            '\'{"role":"user","time":{"created":1767225700000}}\')'
        )
        conn.execute(
            "INSERT INTO part VALUES ('prt_08', 'msg_05', 'ses_main01', 1767225700000, "
            '1767225700000, \'{"type":"text","text":"Run it 50 times to be sure"}\')'
        )
    again = import_paths(one_shot(store), "opencode", units, boundary_for_cwd=boundary_for)
    assert again.events_added == 1
    assert store.sessions.get(main.id).last_prompt == "Run it 50 times to be sure"


# ---------------------------------------------------------------- reflog branch


def test_reflog_parser_and_branch_at() -> None:
    text = (
        "0000 1111 A <a@x> 1700000000 +0000\tcommit (initial): one\n"
        "1111 1111 A <a@x> 1700000100 +0100\tcheckout: moving from main to feat/x\n"
        "1111 2222 A <a@x> 1700000200 +0000\tcommit: two\n"
        f"2222 2222 A <a@x> 1700000300 +0000\tcheckout: moving from feat/x to {'a' * 40}\n"
        "2222 3333 A <a@x> 1700000400 +0000\trebase (finish): returning to refs/heads/main\n"
        "garbage line\n"
    )
    moves = parse_reflog(text)
    assert [(m.source, m.target) for m in moves] == [
        ("main", "feat/x"), ("feat/x", "detached"), ("detached", "main"),
    ]  # fmt: skip
    at = lambda epoch: datetime.fromtimestamp(epoch, UTC)  # noqa: E731
    assert branch_at(moves, at(1700000050)) == "main"
    assert branch_at(moves, at(1700000150)) == "feat/x"
    assert branch_at(moves, at(1700000350)) == "detached"
    assert branch_at(moves, at(1700000500)) == "main"
    assert branch_at([], at(0), "trunk") == "trunk"
    assert branch_at([Move(at(5), "a", "b")], at(1)) == "a"


def _switch_at(repo: Path, branch: str, epoch: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_COMMITTER_DATE", f"{epoch} +0000")
    switch(repo, branch, create=git(repo, "branch", "--list", branch) == "")
    monkeypatch.delenv("GIT_COMMITTER_DATE")


def test_a_branch_the_tool_did_not_record_is_read_from_the_reflog(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git_config(monkeypatch, tmp_path / "home")
    repo = make_repo(tmp_path)
    commit(repo, "two", {"b.txt": "b\n"})
    start = int(datetime(2026, 1, 5, 9, 0, tzinfo=UTC).timestamp())
    _switch_at(repo, "feature/ui", start, monkeypatch)  # the Gemini session ran at 10:00
    _switch_at(repo, "main", start + 7200, monkeypatch)  # back on main since 11:00
    assert branch_at_time(repo, datetime(2026, 1, 5, 10, 0, tzinfo=UTC)) == "feature/ui"

    root = tmp_path / ".gemini"
    shutil.copytree(GEMINI, root)
    (root / "tmp" / "webapp" / ".project_root").write_text(str(repo))
    chat = root / "tmp" / "webapp" / "chats" / GEMINI_CHAT.name
    import_path(one_shot(store), "gemini", chat, boundary_for_cwd=BoundaryResolver(store))
    session = store.sessions.find_by_provider_ref("gemini", GEMINI_ID)
    assert session is not None
    assert session.boundary.branch == "feature/ui"
    assert BRANCH_INFERRED_TAG in session.tags
    (note,) = [e for e in store.events.page(session.id) if e.kind is EventKind.NOTE][:1]
    assert note.payload["subtype"] == BRANCH_INFERRED_TAG and note.payload["source"] == "reflog"
