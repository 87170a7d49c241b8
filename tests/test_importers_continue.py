"""The Continue importer, on ``~/.continue/sessions`` laid out as Continue writes it.

tests/fixtures/agents/continue/.continue/sessions/ holds two ``Session`` files
and ``sessions.json``; one session reads a file with a tool call.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sidecar.core.models import Boundary
from sidecar.importers.continue_dev import (
    discover_continue,
    live_units,
    parse_continue,
    session_folder,
    workspace_folder,
)
from sidecar.services.imports import import_paths
from sidecar.services.sessions import SessionService, Writer
from sidecar.store import Store

HOME = Path(__file__).parent / "fixtures" / "agents" / "continue" / ".continue"
SESSION_ID = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
SAVED = datetime(2026, 1, 5, 10, 0, 30, tzinfo=UTC)


def boundary_for(cwd: str, branch: str | None) -> Boundary:
    return Boundary(
        repository=cwd, worktree=cwd, branch=branch or "no-git", requester="u", machine="m"
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "sidecar.db") as opened:
        yield opened


@pytest.fixture
def home(tmp_path: Path) -> Path:
    folder = tmp_path / ".continue"
    shutil.copytree(HOME, folder)
    for path in (folder / "sessions").iterdir():
        os.utime(path, (SAVED.timestamp(), SAVED.timestamp()))
    return folder


def kinds(session: object) -> list[str]:
    return [e.kind.value for e in session.events]  # type: ignore[attr-defined]


def test_a_session_maps_prompt_tool_call_result_and_answers(home: Path) -> None:
    session = parse_continue(home / "sessions" / f"{SESSION_ID}.json")
    assert (session.provider_ref, session.cwd, session.branch) == (
        SESSION_ID, "/home/u/notes app", None,
    )  # fmt: skip
    assert session.name == "Find where the config is loaded"
    assert kinds(session) == ["prompt", "response", "tool_call", "tool_result", "response"]
    prompt, first, call, result, answer = session.events
    assert prompt.payload["text"] == "Where is the config file loaded?"
    assert call.payload["name"] == "read_file"
    assert call.payload["input"] == {"filepath": "src/main.ts"}
    assert result.payload["content"] == "import { loadConfig } from './config'"
    assert call.source_id == "ct:call_r1:call" and result.source_id == "ct:call_r1:result"
    assert answer.payload["text"].startswith("It is loaded by `loadConfig`")
    # Real times: created from sessions.json, the reasoning's start, the last save.
    assert session.created_at == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert first.time == datetime(2026, 1, 5, 10, 0, 5, tzinfo=UTC)
    assert answer.time == SAVED and session.updated_at == SAVED


def test_workspace_uri_and_path_and_remote() -> None:
    assert workspace_folder("file:///home/u/notes%20app") == "/home/u/notes app"
    assert workspace_folder("/home/u/other") == "/home/u/other"
    assert workspace_folder("file:///c%3A/work/app") == "c:/work/app"
    assert workspace_folder("vscode-remote://ssh-remote%2Bbox/home/u/app") is None
    assert workspace_folder("") is None


def test_discovery_by_workspace_folder_oldest_first(home: Path) -> None:
    found = list(discover_continue(root=home))
    assert [p.stem for p in found] == ["0b9e8d7c-0000-4000-8000-000000000002", SESSION_ID]
    (mine,) = discover_continue(root=home, cwd="/home/u/notes app")
    assert mine.stem == SESSION_ID and session_folder(mine) == "/home/u/notes app"
    assert list(discover_continue(root=home, cwd="/elsewhere")) == []


def test_import_binds_to_the_folder_and_again_adds_nothing(home: Path, store: Store) -> None:
    sessions = SessionService(store, Writer.one_shot())
    path = home / "sessions" / f"{SESSION_ID}.json"
    first = import_paths(sessions, "continue", [path], boundary_for_cwd=boundary_for)
    assert (first.sessions_created, first.events_added) == (1, 5)
    stored = store.sessions.find_by_provider_ref("continue", SESSION_ID)
    assert stored is not None and stored.boundary.repository == "/home/u/notes app"
    again = import_paths(sessions, "continue", [path], boundary_for_cwd=boundary_for)
    assert again.events_added == 0
    # Continue rewrites the file with one more exchange: only that is added.
    data = json.loads(path.read_text())
    data["history"] += [
        {"message": {"role": "user", "content": "And the defaults?"}, "contextItems": []},
        {"message": {"role": "assistant", "content": "In defaults.json."}, "contextItems": []},
    ]
    path.write_text(json.dumps(data, indent=2))
    more = import_paths(sessions, "continue", [path], boundary_for_cwd=boundary_for)
    assert more.events_added == 2


def test_garbage_items_and_files_are_skipped_and_counted(home: Path) -> None:
    path = home / "sessions" / f"{SESSION_ID}.json"
    data = json.loads(path.read_text())
    data["history"].insert(1, "not an item")
    data["history"].insert(2, {"message": {"role": "narrator", "content": "?"}})
    path.write_text(json.dumps(data))
    session = parse_continue(path)
    assert (session.skipped, session.ignored) == (1, 1)
    assert kinds(session) == ["prompt", "response", "tool_call", "tool_result", "response"]
    path.write_text('{"sessionId": "3f1c', encoding="utf-8")  # cut off mid-write
    broken = parse_continue(path)
    assert (broken.skipped, broken.events) == (1, [])


def test_live_import_watches_the_session_files(home: Path) -> None:
    sessions = home / "sessions"
    path = sessions / f"{SESSION_ID}.json"
    assert live_units(sessions, path) == [path]
    assert live_units(sessions, sessions / "sessions.json") == []
