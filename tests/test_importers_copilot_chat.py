"""GitHub Copilot Chat in VS Code: ``workspaceStorage/<hash>/chatSessions/*.json[l]``.

The fixture under tests/fixtures/agents/copilot-chat/Code/User is laid out as
VS Code lays out its user folder: ``workspace.json`` naming the folder, one
whole-JSON session and one operation-log (``.jsonl``) session.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sidecar.core.models import Boundary
from sidecar.importers.copilot_chat import (
    discover_copilot_chat,
    live_units,
    parse_copilot_chat,
    session_folder,
)
from sidecar.services.imports import import_path
from sidecar.services.sessions import SessionService, Writer
from sidecar.store import Store

USER = Path(__file__).parent / "fixtures" / "agents" / "copilot-chat" / "Code" / "User"
WORKSPACE = USER / "workspaceStorage" / "7c4f1e2a9b3d5f6e8a0b1c2d3e4f5a6b"
JSON_ID = "3f2a1b4c-5d6e-4f70-8a9b-0c1d2e3f4a5b"
LOG_ID = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a"
JSON_CHAT = WORKSPACE / "chatSessions" / f"{JSON_ID}.json"
LOG_CHAT = WORKSPACE / "chatSessions" / f"{LOG_ID}.jsonl"


def boundary_for(cwd: str, branch: str | None) -> Boundary:
    return Boundary(
        repository=cwd, worktree=cwd, branch=branch or "no-git", requester="u", machine="m"
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "sidecar.db") as opened:
        yield opened


def one_shot(store: Store) -> SessionService:
    return SessionService(store, Writer.one_shot())


def kinds(session: object) -> list[str]:
    return [e.kind.value for e in session.events]  # type: ignore[attr-defined]


def test_a_json_session_gives_prompt_tool_and_answer_bound_to_the_folder() -> None:
    session = parse_copilot_chat(JSON_CHAT)
    assert (session.provider_ref, session.cwd, session.branch) == (JSON_ID, "/home/u/shop", None)
    assert session.name == "Fix the failing cart test"
    assert kinds(session) == ["prompt", "tool_call", "tool_result", "response"]
    prompt, call, result, answer = session.events
    assert prompt.payload["text"] == "Run the tests and fix what fails"
    assert call.payload["name"] == "run_in_terminal"
    assert call.payload["input"]["command"] == "npm test"
    assert result.payload["content"] == "11 passing\n1 failing: cart total"
    assert answer.payload["text"].startswith("I'll run the test suite first.")
    assert answer.payload["model"] == "copilot/gpt-5"
    asked = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert prompt.time == asked
    assert answer.time == datetime(2026, 1, 5, 10, 0, 9, tzinfo=UTC)  # + totalElapsed
    assert [e.source_id for e in session.events] == [
        "request_7a1b2c3d-0001:prompt", "vc:call_vc1:call", "vc:call_vc1:result",
        "request_7a1b2c3d-0001:text",
    ]  # fmt: skip


def test_an_operation_log_is_replayed(tmp_path: Path) -> None:
    session = parse_copilot_chat(LOG_CHAT)
    assert (session.provider_ref, session.name) == (LOG_ID, "Slow build")
    assert kinds(session) == ["prompt", "response"]
    assert session.events[1].payload["text"].startswith("Type checking runs twice")
    # Before the ``result`` line the answer is not complete: no response yet.
    partial = tmp_path / "chatSessions" / LOG_CHAT.name
    partial.parent.mkdir()
    partial.write_text("".join(LOG_CHAT.read_text().splitlines(keepends=True)[:3]))
    assert kinds(parse_copilot_chat(partial)) == ["prompt"]


def test_garbage_and_unfinished_log_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    chat = tmp_path / "chatSessions" / LOG_CHAT.name
    chat.parent.mkdir()
    chat.write_text(LOG_CHAT.read_text() + '{"kind": 1, "k": ["requests", 9, "x"]\n{"kind":1,"k"')
    session = parse_copilot_chat(chat)
    assert kinds(session) == ["prompt", "response"]
    assert session.skipped == 1  # the broken line
    assert session.pending_bytes == len('{"kind":1,"k"')  # still being written
    broken = tmp_path / "chatSessions" / "0000.json"
    broken.write_text('{"version": 3, "requests": [')
    assert parse_copilot_chat(broken).skipped == 1


def test_discovery_by_workspace_folder_and_live_units() -> None:
    found = list(discover_copilot_chat(roots=[USER], cwd="/home/u/shop"))
    assert sorted(found) == sorted([JSON_CHAT, LOG_CHAT])
    assert list(discover_copilot_chat(roots=[USER], cwd="/home/u/other")) == []
    root = USER / "workspaceStorage"
    assert live_units(root, LOG_CHAT) == [LOG_CHAT]
    assert live_units(root, WORKSPACE / "state.vscdb") == []
    assert session_folder(LOG_CHAT) == "/home/u/shop"


def test_import_is_idempotent_and_adds_only_new_requests(tmp_path: Path, store: Store) -> None:
    user = tmp_path / "User"
    shutil.copytree(USER, user)
    chat = user / WORKSPACE.relative_to(USER) / "chatSessions" / LOG_CHAT.name
    first = import_path(one_shot(store), "copilot-chat", chat, boundary_for_cwd=boundary_for)
    assert first is not None and (first.sessions_created, first.events_added) == (1, 2)
    again = import_path(one_shot(store), "copilot-chat", chat, boundary_for_cwd=boundary_for)
    assert again is not None and again.events_added == 0
    with chat.open("a") as handle:  # VS Code appends the next request
        handle.write(
            '{"kind":2,"k":["requests"],"v":[{"requestId":"request_3","timestamp":1767693700000,'
            '"message":{"text":"Can we cache it?"},"response":[]}]}\n'
        )
    more = import_path(one_shot(store), "copilot-chat", chat, boundary_for_cwd=boundary_for)
    assert more is not None and more.events_added == 1
    session = store.sessions.find_by_provider_ref("copilot-chat", LOG_ID)
    assert session is not None and session.boundary.repository == "/home/u/shop"
    assert session.last_prompt == "Can we cache it?"
