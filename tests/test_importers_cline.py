"""The Cline and Roo Code importer, on task folders laid out as the extensions write them.

tests/fixtures/agents/cline/Code/User/globalStorage/ is a VS Code
``globalStorage`` folder with one Cline task (``saoudrizwan.claude-dev``, its
``state/taskHistory.json``) and one Roo Code task (``rooveterinaryinc.roo-cline``,
its ``history_item.json``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sidecar.core.models import Boundary
from sidecar.importers.cline import (
    CLINE,
    ROO_CODE,
    UI_MESSAGES,
    discover_cline,
    global_storages,
    live_units,
    parse_cline,
    task_folder,
    task_roots,
)
from sidecar.services.imports import import_paths
from sidecar.services.sessions import SessionService, Writer
from sidecar.store import Store

FIXTURE = Path(__file__).parent / "fixtures" / "agents" / "cline"
STORAGE = FIXTURE / "Code" / "User" / "globalStorage"
CLINE_TASK = "1767607200000"
ROO_TASK = "5c6d7e8f-1a2b-4c3d-9e8f-7a6b5c4d3e2f"


def boundary_for(cwd: str, branch: str | None) -> Boundary:
    return Boundary(
        repository=cwd, worktree=cwd, branch=branch or "no-git", requester="u", machine="m"
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "sidecar.db") as opened:
        yield opened


@pytest.fixture
def storage(tmp_path: Path) -> Path:
    folder = tmp_path / "globalStorage"
    shutil.copytree(STORAGE, folder)
    return folder


def kinds(session: object) -> list[str]:
    return [e.kind.value for e in session.events]  # type: ignore[attr-defined]


def test_cline_task_maps_prompts_answers_tools_and_commands(storage: Path) -> None:
    task = storage / CLINE / "tasks" / CLINE_TASK
    session = parse_cline("cline", task)
    assert (session.provider_ref, session.cwd, session.branch) == (CLINE_TASK, "/home/u/tool", None)
    assert kinds(session) == [
        "prompt", "response", "tool_call", "tool_result", "tool_call",
        "tool_call", "tool_result", "response", "prompt",
    ]  # fmt: skip
    prompt, _, search, found, edit, command, output, done, feedback = session.events
    assert prompt.payload["text"] == "Add a --verbose flag to the CLI"
    assert search.payload["name"] == "searchFiles"
    assert search.payload["input"]["regex"] == "add_argument"
    assert "content" not in search.payload["input"]
    assert found.payload["content"].startswith("Found 1")
    assert edit.payload["input"]["path"] == "src/cli.py"  # an edit's content is its input
    assert command.payload["input"] == {"command": "python -m pytest -q"}
    assert output.payload["content"] == "3 passed in 0.12s"
    assert output.source_id == command.source_id.replace(":call", ":result")
    assert done.payload["text"] == "Added --verbose to src/cli.py; the tests pass."
    assert feedback.payload["text"] == "Also document it in the README"
    assert prompt.time == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert output.time == datetime(2026, 1, 5, 10, 0, 6, tzinfo=UTC)
    # api_req_started, checkpoint_created, the empty completion ask; the partial text waits.
    assert (session.ignored, session.skipped) == (3, 0)


def test_roo_code_task_with_mcp_and_a_question(storage: Path) -> None:
    task = storage / ROO_CODE / "tasks" / ROO_TASK
    session = parse_cline("roo-code", task)
    assert session.cwd == "/home/u/web"
    assert kinds(session) == [
        "prompt", "tool_call", "tool_call", "tool_result", "response", "prompt",
    ]  # fmt: skip
    _, read, mcp, mcp_result, question, _ = session.events
    assert read.payload["name"] == "readFile"
    assert mcp.payload["name"] == "mcp:github/search_code"
    assert mcp.payload["input"] == {"q": "getUser"}
    assert mcp_result.payload["content"] == "2 results: src/user.ts, src/api.ts"
    assert question.payload["text"] == "Should I also rename the tests?"


def test_the_folder_comes_from_the_environment_details_without_the_history(storage: Path) -> None:
    (storage / CLINE / "state" / "taskHistory.json").unlink()
    (storage / ROO_CODE / "tasks" / ROO_TASK / "history_item.json").unlink()
    assert task_folder(storage / CLINE / "tasks" / CLINE_TASK) == "/home/u/tool"
    assert task_folder(storage / ROO_CODE / "tasks" / ROO_TASK) == "/home/u/web"


def test_discovery_by_folder_and_editor_storages(storage: Path, tmp_path: Path) -> None:
    tasks = storage / CLINE / "tasks"
    assert list(discover_cline(CLINE, root=tasks, cwd="/home/u/tool")) == [tasks / CLINE_TASK]
    assert list(discover_cline(CLINE, root=tasks, cwd="/elsewhere")) == []
    home = tmp_path / "home"
    roots = task_roots(CLINE, home, env={"XDG_CONFIG_HOME": str(tmp_path / "config")})
    assert roots[-1] == home / ".cline" / "data" / "tasks"
    assert all(r.parts[-2:] == (CLINE, "tasks") for r in roots[:-1])
    assert len(global_storages(home, env={})) == len(roots) - 1


def test_import_binds_to_the_folder_and_again_adds_nothing(storage: Path, store: Store) -> None:
    sessions = SessionService(store, Writer.one_shot())
    task = storage / CLINE / "tasks" / CLINE_TASK
    first = import_paths(sessions, "cline", [task], boundary_for_cwd=boundary_for)
    assert (first.sessions_created, first.events_added) == (1, 9)
    stored = store.sessions.find_by_provider_ref("cline", CLINE_TASK)
    assert stored is not None and stored.boundary.repository == "/home/u/tool"
    assert import_paths(sessions, "cline", [task], boundary_for_cwd=boundary_for).events_added == 0
    # The streaming answer completes: Cline rewrites the file, only it is added.
    path = task / UI_MESSAGES
    messages = json.loads(path.read_text())
    messages[-1].update(text="Updating the README now.", partial=False)
    path.write_text(json.dumps(messages))
    more = import_paths(sessions, "cline", [task], boundary_for_cwd=boundary_for)
    assert more.events_added == 1


def test_garbage_messages_are_skipped_and_counted(storage: Path) -> None:
    path = storage / CLINE / "tasks" / CLINE_TASK / UI_MESSAGES
    messages = json.loads(path.read_text())
    messages[3:3] = [["not", "a", "message"], {"type": "say", "say": "text", "text": "no ts"}]
    messages.append({"ts": 1767607300000, "type": "say", "say": "tool", "text": "{truncated"})
    path.write_text(json.dumps(messages))
    session = parse_cline("cline", path.parent)
    assert session.skipped == 3
    assert len(session.events) == 9
    path.write_text('[{"ts": 1767607200000, "type": "say"', encoding="utf-8")  # cut off
    assert parse_cline("cline", path.parent).skipped == 1


def test_live_import_maps_changes_to_the_task_folder(storage: Path) -> None:
    tasks = storage / ROO_CODE / "tasks"
    task = tasks / ROO_TASK
    assert live_units(tasks, task / UI_MESSAGES) == [task]
    assert live_units(tasks, task / "history_item.json") == [task]
    assert live_units(tasks, task / "checkpoints" / "x") == []
