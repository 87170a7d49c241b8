"""The aider importer, on a chat history laid out as aider writes it in a repository.

tests/fixtures/agents/aider/app/ holds ``.aider.chat.history.md`` (two runs
of aider) and ``.aider.input.history`` (prompt_toolkit's ``FileHistory``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from sidecar.core.models import Boundary
from sidecar.importers.aider import (
    CHAT_HISTORY,
    discover_aider,
    live_units,
    local_time,
    parse_aider,
    session_unit,
)
from sidecar.services.imports import import_paths
from sidecar.services.sessions import SessionService, Writer
from sidecar.store import Store

APP = Path(__file__).parent / "fixtures" / "agents" / "aider" / "app"


def boundary_for(cwd: str, branch: str | None) -> Boundary:
    return Boundary(
        repository=cwd, worktree=cwd, branch=branch or "no-git", requester="u", machine="m"
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "sidecar.db") as opened:
        yield opened


@pytest.fixture
def app(tmp_path: Path) -> Path:
    folder = tmp_path / "app"
    shutil.copytree(APP, folder)
    return folder


def kinds(session: object) -> list[str]:
    return [e.kind.value for e in session.events]  # type: ignore[attr-defined]


def test_each_aider_run_is_one_session_of_the_repository(app: Path) -> None:
    first, second = discover_aider(cwd=app)
    assert first == session_unit(app / CHAT_HISTORY, "2026-01-05T10:00:00")
    session = parse_aider(first)
    assert session.cwd == str(app.resolve()) and session.branch is None
    assert kinds(session) == ["note", "note", "note", "prompt", "response", "note"]
    _, command, _, prompt, answer, applied = session.events
    assert command.payload == {"text": "/add app.py", "subtype": "command"}
    assert prompt.payload["text"] == "Fix the off-by-one in count_items\nIt skips the last item."
    assert answer.payload["text"].startswith("The loop stops one item early.")
    assert "<<<<<<< SEARCH" in answer.payload["text"]
    assert applied.payload["subtype"] == "aider-output"
    assert "Applied edit to app.py" in applied.payload["text"]
    assert session.first_prompt == prompt.payload["text"]
    # /ask is a chat mode: what follows is a question to the model.
    later = parse_aider(second)
    assert kinds(later) == ["note", "prompt", "response"]
    assert later.events[1].payload["text"] == "/ask Why did it skip the last item?"


def test_prompt_times_come_from_the_input_history(app: Path) -> None:
    session = parse_aider(next(discover_aider(cwd=app)))
    assert session.created_at == local_time("2026-01-05 10:00:00")
    prompt = session.events[3]
    assert prompt.time == local_time("2026-01-05 10:00:20.500000")
    assert session.events[4].time is None  # an answer sorts after its prompt
    assert isinstance(prompt.time, datetime) and prompt.time.tzinfo is not None


def test_import_binds_to_the_folder_and_again_adds_nothing(app: Path, store: Store) -> None:
    sessions = SessionService(store, Writer.one_shot())
    units = list(discover_aider(cwd=app))
    first = import_paths(sessions, "aider", units, boundary_for_cwd=boundary_for)
    assert (first.sessions_created, first.events_added) == (2, 9)
    ref = str(units[0].parent.resolve() / units[0].name)
    stored = store.sessions.find_by_provider_ref("aider", ref)
    assert stored is not None and stored.boundary.repository == str(app.resolve())
    assert stored.name.startswith("Fix the off-by-one")
    again = import_paths(sessions, "aider", units, boundary_for_cwd=boundary_for)
    assert again.events_added == 0


def test_appended_lines_add_only_themselves(app: Path, store: Store) -> None:
    sessions = SessionService(store, Writer.one_shot())
    units = list(discover_aider(cwd=app))
    import_paths(sessions, "aider", units, boundary_for_cwd=boundary_for)
    with (app / CHAT_HISTORY).open("a", encoding="utf-8") as handle:
        handle.write("#### Thanks  \n\nYou're welcome.\n\n#### unfinish")
    again = import_paths(sessions, "aider", units, boundary_for_cwd=boundary_for)
    assert again.events_added == 2  # the unfinished line waits
    assert again.pending_bytes == len("#### unfinish")


def test_a_line_that_is_not_text_is_skipped_and_counted(app: Path) -> None:
    with (app / CHAT_HISTORY).open("ab") as handle:
        handle.write(b"\xff\xfe\x00garbage\n#### Still here  \n")
    session = parse_aider(list(discover_aider(cwd=app))[-1])
    assert session.skipped == 1
    assert session.events[-1].payload["text"] == "Still here"


def test_live_import_maps_the_history_files_to_their_sessions(app: Path) -> None:
    units = list(discover_aider(cwd=app))
    assert live_units(app, app / CHAT_HISTORY) == units
    assert live_units(app, app / ".aider.input.history") == units
    assert live_units(app, app / "app.py") == []
    assert list(discover_aider()) == []  # no folder, nothing to find
