"""Importer fixes found on real files: each test reads a fixture shaped as the tool writes it.

Fixtures: tests/fixtures/agents/codex-legacy (2025-09 rollouts, no ``cwd`` in
the meta line), claude-subagents (a project folder holding only
``<id>/subagents/``, with warm-up and compaction runs), claude-legacy (Claude
Code 1.0.x: inline sidechains, command wrappers, interrupts, notices, terminal
codes).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from sidecar.core.models import Boundary, EventKind, SessionStatus
from sidecar.core.text import prompt_preview, short_name, strip_terminal_codes
from sidecar.importers.claude_code import parse_claude_code, project_files
from sidecar.importers.codex import discover_codex, parse_codex
from sidecar.importers.system_text import system_note
from sidecar.services.imports import UNKNOWN_FOLDER, import_path, import_paths
from sidecar.services.sessions import SessionService, Writer
from sidecar.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "agents"
CODEX_LEGACY = FIXTURES / "codex-legacy"
CODEX_ID = "01991234-5678-7abc-8def-0123456789ab"
CODEX_NO_CWD = "01991234-0000-7abc-8def-0123456789ff"
LEGACY_ROLLOUT = next(CODEX_LEGACY.rglob(f"*{CODEX_ID}.jsonl"))
NO_CWD_ROLLOUT = next(CODEX_LEGACY.rglob(f"*{CODEX_NO_CWD}.jsonl"))
SOLO = FIXTURES / "claude-subagents" / "projects" / "-home-u-solo"
SOLO_ID = "44444444-4444-4444-8444-444444444444"
LEGACY_ID = "55555555-5555-4555-8555-555555555555"
LEGACY = FIXTURES / "claude-legacy" / "projects" / "-home-u-legacy" / f"{LEGACY_ID}.jsonl"


def boundary_for(cwd: str, branch: str | None) -> Boundary:
    """The boundary an importer caller would build (here without touching git)."""
    return Boundary(
        repository=cwd, worktree=cwd, branch=branch or "no-git", requester="u", machine="m"
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store.open(tmp_path / "sidecar.db")
    yield opened
    opened.close()


def one_shot(store: Store) -> SessionService:
    return SessionService(store, Writer.one_shot())


# ---------------------------------------------------------------- Codex 2025-09


def test_legacy_codex_rollout_takes_its_folder_from_the_environment_context() -> None:
    session = parse_codex(LEGACY_ROLLOUT)
    assert session.cwd == "/home/u/docs"
    assert session.branch == "fix/search"
    assert list(discover_codex(CODEX_LEGACY, cwd="/home/u/docs")) == [LEGACY_ROLLOUT]


def test_legacy_codex_rollout_is_imported_not_left_waiting(store: Store) -> None:
    report = import_path(one_shot(store), "codex", LEGACY_ROLLOUT, boundary_for_cwd=boundary_for)
    assert report is not None and report.waiting == 0 and report.sessions_created == 1
    session = store.sessions.find_by_provider_ref("codex", CODEX_ID)
    assert session is not None and session.boundary.worktree == "/home/u/docs"


def test_codex_web_searches_are_tool_calls_once_each() -> None:
    calls = [e for e in parse_codex(LEGACY_ROLLOUT).events if e.kind is EventKind.TOOL_CALL]
    assert [(c.payload["name"], c.payload["input"]["query"]) for c in calls] == [
        ("web_search", "ripgrep release notes"),  # the response item and its event: once
        ("web_search", "ripgrep 14 changelog"),  # only an event was written
    ]


def test_codex_web_search_pairing_survives_a_chunk_boundary() -> None:
    head = parse_codex(LEGACY_ROLLOUT, max_lines=5)  # stops between the item and its event
    rest = parse_codex(LEGACY_ROLLOUT, head.end)
    searches = [e for e in head.events + rest.events if e.kind is EventKind.TOOL_CALL]
    assert len(searches) == 2


def test_a_rollout_that_never_names_its_folder_is_imported_without_a_repository(
    store: Store,
) -> None:
    report = import_path(one_shot(store), "codex", NO_CWD_ROLLOUT, boundary_for_cwd=boundary_for)
    assert report is not None and report.waiting == 0 and report.events_added == 2
    session = store.sessions.find_by_provider_ref("codex", CODEX_NO_CWD)
    assert session is not None
    assert session.boundary.repository == UNKNOWN_FOLDER
    assert session.boundary.provider == "codex"


def test_a_folderless_session_moves_once_a_later_line_names_the_folder(
    tmp_path: Path, store: Store
) -> None:
    path = tmp_path / NO_CWD_ROLLOUT.name
    shutil.copy(NO_CWD_ROLLOUT, path)
    import_path(one_shot(store), "codex", path, boundary_for_cwd=boundary_for)
    with path.open("a") as handle:
        handle.write(
            '{"timestamp":"2025-09-03T16:05:00Z","type":"turn_context",'
            '"payload":{"cwd":"/home/u/regex","model":"m"}}\n'
        )
    import_path(one_shot(store), "codex", path, boundary_for_cwd=boundary_for)
    session = store.sessions.find_by_provider_ref("codex", CODEX_NO_CWD)
    assert session is not None and session.boundary.worktree == "/home/u/regex"


# ---------------------------------------------------------------- Claude: subagents only


def test_a_project_folder_with_only_subagent_files_is_found() -> None:
    names = [p.name for p in project_files(SOLO)]
    assert sorted(names) == [
        "agent-a9f0e1d2.jsonl",
        "agent-acompact-3c4d5e.jsonl",
        "agent-b5c6d7e8.jsonl",
    ]


def test_warmup_and_compaction_runs_are_not_sub_agent_sessions(store: Store) -> None:
    report = import_paths(
        one_shot(store), "claude-code", list(project_files(SOLO)), boundary_for_cwd=boundary_for
    )
    assert (report.sessions_created, report.discarded) == (1, 2)
    agent = store.sessions.find_by_provider_ref("claude-code", f"{SOLO_ID}/agent-b5c6d7e8")
    assert agent is not None and agent.agent_name == "agent-b5c6d7e8"
    assert [e.kind.value for e in store.events.page(agent.id)] == [
        "prompt", "tool_call", "tool_result", "response",
    ]  # fmt: skip
    again = import_paths(
        one_shot(store), "claude-code", list(project_files(SOLO)), boundary_for_cwd=boundary_for
    )
    assert (again.sessions_created, again.events_added, again.discarded) == (0, 0, 2)
    assert store.sessions.list(limit=10).items == [store.sessions.get(agent.id)]


# ---------------------------------------------------------------- Claude 1.0.x


def test_inline_sidechain_lines_become_a_sub_agent_session() -> None:
    session = parse_claude_code(LEGACY)
    texts = [e.payload.get("text") for e in session.events if e.kind is EventKind.PROMPT]
    assert texts == [
        "\x1b[31mReplace parse_args\x1b[0m with argparse everywhere",
        "Only cli.py, please",
    ]  # the Task prompt is not the user's
    (child,) = session.children
    assert child.provider_ref == f"{LEGACY_ID}/sidechain-e0000000-0000-4000-8000-000000000005"
    assert (child.parent_ref, child.root_ref) == (LEGACY_ID, LEGACY_ID)
    assert child.agent_name == "Find parse_args uses"
    assert [e.kind.value for e in child.events] == [
        "prompt",
        "tool_call",
        "tool_result",
        "response",
    ]
    assert child.events[0].payload["text"].startswith("Search the codebase")


def test_inline_sidechains_survive_a_chunk_boundary() -> None:
    head = parse_claude_code(LEGACY, max_lines=6)  # ends inside the sidechain
    rest = parse_claude_code(LEGACY, head.end)
    refs = {c.provider_ref for c in head.children + rest.children}
    assert refs == {f"{LEGACY_ID}/sidechain-e0000000-0000-4000-8000-000000000005"}
    assert sum(len(c.events) for c in head.children + rest.children) == 4


def test_tool_written_user_lines_are_notes_never_prompts_or_names() -> None:
    session = parse_claude_code(LEGACY)
    notes = [e.payload for e in session.events if e.kind is EventKind.NOTE]
    assert [(n["subtype"], n["text"]) for n in notes] == [
        ("command", "/model opus"),
        ("command-output", "Set model to \x1b[1mopus\x1b[22m"),
        ("interrupt", "[Request interrupted by user]"),
        ("background-task", '<status>completed</status><summary>Background command "npm test" '
         "finished</summary>"),
    ]  # fmt: skip
    assert session.first_prompt is not None and session.first_prompt.startswith("\x1b[31mReplace")


def test_import_stores_the_sidechain_under_its_parent_and_a_clean_name(store: Store) -> None:
    report = import_path(one_shot(store), "claude-code", LEGACY, boundary_for_cwd=boundary_for)
    assert report is not None and report.sessions_created == 1
    parent = store.sessions.find_by_provider_ref("claude-code", LEGACY_ID)
    child = store.sessions.find_by_provider_ref(
        "claude-code", f"{LEGACY_ID}/sidechain-e0000000-0000-4000-8000-000000000005"
    )
    assert parent is not None and child is not None
    assert parent.name == "Replace parse_args with argparse everywhere"
    assert parent.last_prompt == "Only cli.py, please"
    assert (child.parent_id, child.root_id, child.agent_name) == (
        parent.id, parent.id, "Find parse_args uses",
    )  # fmt: skip
    assert child.event_count == 4
    prompts = store.events.page(parent.id, kinds=["prompt"])
    assert len(prompts) == 2
    again = import_path(one_shot(store), "claude-code", LEGACY, boundary_for_cwd=boundary_for)
    assert again is not None and again.events_added == 0


def test_claude_tool_events_use_the_hooks_ids() -> None:
    ids = [e.source_id for e in parse_claude_code(LEGACY).children[0].events]
    assert "cc:toolu_SIDE1:call" in ids and "cc:toolu_SIDE1:result" in ids


# ---------------------------------------------------------------- times and status


def test_an_old_imported_session_is_ended_with_its_real_times(store: Store) -> None:
    import_path(one_shot(store), "claude-code", LEGACY, boundary_for_cwd=boundary_for)
    session = store.sessions.find_by_provider_ref("claude-code", LEGACY_ID)
    assert session is not None
    assert session.status is SessionStatus.ENDED
    assert session.created_at == datetime(2025, 7, 1, 10, 0, tzinfo=UTC)
    assert session.updated_at == datetime(2025, 7, 1, 10, 0, 11, tzinfo=UTC)
    assert session.last_event_at == session.updated_at


def test_a_recent_imported_session_stays_active(store: Store) -> None:
    clock = SessionService(
        store, Writer.one_shot(), clock=lambda: datetime(2025, 7, 1, 11, tzinfo=UTC)
    )
    import_path(clock, "claude-code", LEGACY, boundary_for_cwd=boundary_for)
    session = store.sessions.find_by_provider_ref("claude-code", LEGACY_ID)
    assert session is not None and session.status is SessionStatus.ACTIVE
    assert session.updated_at == datetime(2025, 7, 1, 10, 0, 11, tzinfo=UTC)


# ---------------------------------------------------------------- terminal codes


def test_terminal_codes_are_stripped_from_names_and_previews() -> None:
    raw = "\x1b[1;32m✔ tests\x1b[0m pass \x1b]0;window title\x07now \x1b]8;;https://x\x1b\\link\x1b]8;;\x1b\\"
    assert strip_terminal_codes(raw) == "✔ tests pass now link"
    assert short_name(raw) == "✔ tests pass now link"
    assert prompt_preview({"text": raw}) == "✔ tests pass now link"


def test_system_note_reads_command_wrappers() -> None:
    assert system_note("<command-message>init is analyzing</command-message>\n"
                       "<command-name>/init</command-name>") == ("command", "/init")  # fmt: skip
    assert system_note("please <command-name>") is None
