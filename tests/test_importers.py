"""Importers for Claude Code, Codex CLI and Amplifier session files.

Fixtures under tests/fixtures/agents are hand-written in the tools' on-disk
shapes; tests that append to or rewrite a file work on a copy in tmp_path.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sidecar.core.models import Actor, Boundary, EventKind
from sidecar.importers import (
    Cursor,
    discover_amplifier,
    discover_claude_code,
    discover_codex,
    parse_amplifier,
    parse_claude_code,
    parse_codex,
)
from sidecar.importers.claude_code import project_slug as claude_slug
from sidecar.importers.common import TOOL_OUTPUT_LIMIT, ImportedSession, JsonlReader
from sidecar.services.imports import import_path, import_paths, state_key
from sidecar.services.sessions import SessionService, Writer
from sidecar.store import Store


def _one_shot(store: Store) -> SessionService:
    """The importer's writer: a one-shot process that holds nothing."""
    return SessionService(store, Writer.one_shot())


FIXTURES = Path(__file__).parent / "fixtures" / "agents"
CLAUDE = FIXTURES / "claude" / "projects"
APP = CLAUDE / "-home-u-app"
MAIN_ID = "11111111-1111-4111-8111-111111111111"
FORK_ID = "22222222-2222-4222-8222-222222222222"
MAIN = APP / f"{MAIN_ID}.jsonl"
AGENT = APP / "agent-a1b2c3d4.jsonl"
FORK = APP / f"{FORK_ID}.jsonl"
SCRATCH = CLAUDE / "-tmp-scratch" / "33333333-3333-4333-8333-333333333333.jsonl"
CODEX = FIXTURES / "codex"
CODEX_ID = "0199a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
CODEX_FORK_ID = "0199b2c3-d4e5-7f60-9a1b-2c3d4e5f6a7b"
CODEX_MAIN = CODEX / "sessions/2025/09/14" / f"rollout-2025-09-14T10-00-00-{CODEX_ID}.jsonl"
CODEX_FORK = CODEX / "archived_sessions" / f"rollout-2025-09-15T08-30-00-{CODEX_FORK_ID}.jsonl"
AMP_ID = "5d6e7f80-1a2b-4c3d-9e8f-0a1b2c3d4e5f"
AMP_SESSIONS = FIXTURES / "amplifier" / "projects" / "-home-u-app" / "sessions"
AMP_MAIN = AMP_SESSIONS / AMP_ID
AMP_AGENT = AMP_SESSIONS / f"{AMP_ID}_zen-architect"


def kinds(session: ImportedSession) -> list[str]:
    return [e.kind.value for e in session.events]


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


def line(**fields: object) -> str:
    return json.dumps(fields) + "\n"


# ---------------------------------------------------------------- Claude Code


def test_claude_maps_parts_to_events_in_file_order() -> None:
    session = parse_claude_code(MAIN)
    assert kinds(session) == [
        "prompt",
        "response",
        "tool_call",
        "tool_result",
        "tool_call",
        "branch_change",
        "tool_result",
        "prompt",
        "branch_change",
        "prompt",
        "note",
    ]
    prompt, response, read = session.events[:3]
    assert (prompt.actor, prompt.payload) == (
        Actor.USER,
        {"text": "Please fix the login redirect loop"},
    )
    assert response.payload["text"] == "I will read the auth module."
    assert read.payload == {
        "name": "Read",
        "input": {"file_path": "/home/u/app/src/auth.py"},
        "toolUseId": "toolu_01READ",
    }
    assert session.events[3].payload["toolUseId"] == "toolu_01READ"
    assert "def login(request)" in session.events[3].payload["content"]
    # Timestamps are not ordered: the tool call was written after the reply but is older.
    call_time, reply_time = session.events[2].time, session.events[1].time
    assert call_time is not None and reply_time is not None and call_time < reply_time
    assert session.created_at == datetime(2025, 7, 28, 10, 0, tzinfo=UTC)


def test_claude_counts_malformed_lines_but_not_unknown_types_or_the_unfinished_tail() -> None:
    session = parse_claude_code(MAIN)
    assert session.skipped == 1  # the broken line in the middle
    assert session.ignored >= 3  # snapshot, queue-operation, thinking-only line
    size = MAIN.stat().st_size
    assert session.pending_bytes > 0
    assert session.end_offset == size - session.pending_bytes
    assert MAIN.read_bytes()[: session.end_offset].endswith(b"\n")


def test_claude_title_beats_summary_and_first_prompt() -> None:
    session = parse_claude_code(MAIN)
    assert session.name == "Login redirect fix"
    assert session.first_prompt == "Please fix the login redirect loop"


def test_claude_branch_switches_inside_a_session_become_events() -> None:
    session = parse_claude_code(MAIN)
    assert session.branch == "feat/login"
    changes = [e.payload for e in session.events if e.kind is EventKind.BRANCH_CHANGE]
    assert [(c["from"], c["to"]) for c in changes] == [("feat/login", "main"), ("main", "detached")]
    assert session.last_branch == "detached"


def test_claude_empty_git_branch_means_no_git() -> None:
    session = parse_claude_code(SCRATCH)
    assert session.branch is None
    assert EventKind.BRANCH_CHANGE.value not in kinds(session)
    assert session.cwd == "/tmp/scratch"


def test_claude_sidechain_file_is_a_sub_session_named_by_the_parent_task() -> None:
    names = parse_claude_code(MAIN).agent_names
    assert names == {"a1b2c3d4": "Explore"}
    agent = parse_claude_code(AGENT, agent_names=names)
    assert agent.provider_ref == f"{MAIN_ID}/agent-a1b2c3d4"
    assert (agent.parent_ref, agent.root_ref, agent.agent_name) == (MAIN_ID, MAIN_ID, "Explore")
    assert kinds(agent) == ["prompt", "tool_call", "tool_result", "response"]
    assert parse_claude_code(AGENT).agent_name == "agent-a1b2c3d4"


def test_claude_fork_names_its_parent_and_marks_copied_lines() -> None:
    fork = parse_claude_code(FORK)
    assert fork.provider_ref == FORK_ID
    assert (fork.parent_ref, fork.forked_at) == (MAIN_ID, "c0000000-0000-4000-8000-000000000003")
    origins = [e.origin_id for e in fork.events]
    assert origins == [
        "c0000000-0000-4000-8000-000000000001:0",
        "c0000000-0000-4000-8000-000000000003:0",
        None,
        None,
    ]


def test_claude_large_tool_output_is_truncated_and_marked(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    big = "x" * (TOOL_OUTPUT_LIMIT * 3)
    message = {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "t1", "content": big}],
    }
    path.write_text(line(type="user", uuid="u1", cwd="/w", gitBranch="main", message=message))
    (result,) = parse_claude_code(path).events
    assert len(result.payload["content"]) == TOOL_OUTPUT_LIMIT
    assert result.payload["truncated"] is True
    assert result.payload["size"] == len(big)


def test_claude_line_without_timestamp_has_no_time(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(
        line(type="user", uuid="u1", cwd="/w", message={"role": "user", "content": "hi"})
    )
    (event,) = parse_claude_code(path).events
    assert event.time is None
    assert event.source_id == "u1:0"


def test_claude_incremental_parse_reads_only_new_complete_lines(tmp_path: Path) -> None:
    path = tmp_path / f"{MAIN_ID}.jsonl"
    shutil.copy(MAIN, path)
    first = parse_claude_code(path)
    with path.open("a") as handle:
        handle.write(' fix."}]},"uuid":"c0000000-0000-4000-8000-000000000011",')
        handle.write('"timestamp":"2025-07-28T10:03:05.000Z"}\n')
        handle.write(
            line(
                type="user",
                uuid="c0000000-0000-4000-8000-000000000012",
                cwd="/home/u/app",
                gitBranch="main",
                message={"role": "user", "content": "back on main"},
            )
        )
    second = parse_claude_code(path, first.end)
    assert not second.restarted
    assert second.skipped == 0 and second.pending_bytes == 0
    assert kinds(second) == ["response", "branch_change", "prompt"]
    assert second.events[0].payload["text"] == "The redirect now uses the fix."
    # The branch before the chunk came from the cursor, so the switch is seen.
    assert second.events[1].payload == {"from": "detached", "to": "main", "source": "gitBranch"}
    again = parse_claude_code(path, second.end)
    assert again.events == [] and again.end.offset == path.stat().st_size


def test_a_rewritten_file_is_read_again_from_the_start(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    shutil.copy(SCRATCH, path)
    first = parse_claude_code(path)
    text = SCRATCH.read_text().replace("What does this script do?", "What does this tool do?!")
    path.write_text(text)
    second = parse_claude_code(path, first.end)
    assert second.restarted
    assert second.events[0].payload["text"] == "What does this tool do?!"


def test_cursor_survives_json_round_trip(tmp_path: Path) -> None:
    cursor = parse_claude_code(MAIN).end
    assert Cursor.from_json(json.loads(json.dumps(cursor.to_json()))) == cursor
    assert Cursor.from_json({"offset": -3}) == Cursor()


def test_reader_ignores_blank_lines_and_counts_non_objects(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"a": 1}\n\n   \n[1, 2]\n"text"\n{"b": 2}\n')
    reader = JsonlReader(path)
    assert [item.data for item in reader] == [{"a": 1}, {"b": 2}]
    assert reader.malformed == 2
    assert reader.end.offset == path.stat().st_size


def test_reader_stops_after_max_lines_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text("".join(line(n=n) for n in range(5)))
    head = JsonlReader(path, max_lines=2)
    assert [item.data["n"] for item in head] == [0, 1]
    assert not head.complete
    rest = JsonlReader(path, head.end)
    assert [item.data["n"] for item in rest] == [2, 3, 4]
    assert rest.complete


HOSTILE_LINES: list[dict[str, Any]] = [
    {"type": "user", "message": "not a dict", "gitBranch": 5, "timestamp": "yesterday"},
    {"type": "user", "message": {"content": 42}, "cwd": ["x"], "uuid": 7},
    {"type": "assistant", "message": {"content": [None, 3, {"type": "tool_use", "input": "x"}]}},
    {"type": "user", "message": {"content": [{"type": "tool_result", "content": {"a": 1}}]}},
    {"type": "summary", "summary": None},
    {"type": "custom-title", "customTitle": 3},
    {"type": "system", "content": ["list"]},
    {"forkedFrom": "nope", "type": "user", "message": {"content": "x"}, "timestamp": 1.5e12},
    {"type": "session_meta", "payload": {"id": 3, "git": "main", "cwd": None}},
    {"type": "response_item", "payload": {"type": "function_call", "arguments": None}},
    {"type": "response_item", "payload": {"type": "local_shell_call", "action": [1]}},
    {"type": "response_item", "payload": {"type": "message", "role": "user", "content": 9}},
    {"role": "assistant", "content": [{"type": "tool_call", "input": "{bad"}], "tool_calls": 3},
    {"role": "tool", "content": None, "metadata": "x"},
]


@pytest.mark.parametrize("parse", [parse_claude_code, parse_codex])
def test_wrong_typed_fields_never_crash_a_file_parser(tmp_path: Path, parse: Any) -> None:
    path = tmp_path / "rollout-x.jsonl"
    path.write_text("".join(line(**fields) for fields in HOSTILE_LINES))
    session = parse(path)
    assert session.skipped == 0
    assert session.end.offset == path.stat().st_size


def test_wrong_typed_fields_never_crash_the_amplifier_parser(tmp_path: Path) -> None:
    (tmp_path / "metadata.json").write_text('["not", "an", "object"]')
    (tmp_path / "transcript.jsonl").write_text("".join(line(**f) for f in HOSTILE_LINES))
    session = parse_amplifier(tmp_path)
    assert session.skipped == 1  # the metadata file
    assert session.provider_ref == tmp_path.name


# ---------------------------------------------------------------- Codex


def test_codex_meta_gives_ref_cwd_and_branch() -> None:
    session = parse_codex(CODEX_MAIN)
    assert session.provider_ref == CODEX_ID
    assert (session.cwd, session.branch, session.parent_ref) == ("/home/u/api", "feat/health", None)
    assert session.first_prompt == "Add a /health endpoint that returns ok"
    assert session.skipped == 0


def test_codex_maps_response_items_and_skips_duplicates_and_injected_context() -> None:
    session = parse_codex(CODEX_MAIN)
    assert kinds(session) == [
        "prompt",
        "tool_call",
        "tool_result",
        "tool_call",
        "tool_result",
        "tool_call",
        "command",
        "response",
    ]
    shell, output, _, _, plan, command = session.events[1:7]
    assert shell.payload["input"] == {
        "command": ["bash", "-lc", "ls src"],
        "workdir": "/home/u/api",
    }
    assert shell.payload["toolUseId"] == "call_AAA111"
    assert output.payload["content"] == "app.py\nroutes.py\n"
    assert plan.payload["input"] == "not json {"
    assert command.payload["command"] == "pytest -q 'tests/test health.py'"
    assert command.payload["cwd"] == "/home/u/api"
    texts = [e.payload.get("text") for e in session.events]
    assert texts.count("Add a /health endpoint that returns ok") == 1


def test_codex_fork_names_its_parent() -> None:
    fork = parse_codex(CODEX_FORK)
    assert (fork.provider_ref, fork.parent_ref) == (CODEX_FORK_ID, CODEX_ID)
    assert fork.branch is None
    assert kinds(fork) == ["prompt", "response"]  # AGENTS.md instructions skipped


def test_codex_legacy_rollout_without_envelope(tmp_path: Path) -> None:
    path = tmp_path / f"rollout-2025-05-01T09-00-00-{CODEX_ID}.jsonl"
    path.write_text(
        line(id="legacy-1", timestamp="2025-05-01T09:00:00Z", instructions=None)
        + line(record_type="state")
        + line(type="message", role="user", content=[{"type": "input_text", "text": "hi"}])
    )
    session = parse_codex(path)
    assert session.provider_ref == "legacy-1"
    assert kinds(session) == ["prompt"]


# ---------------------------------------------------------------- Amplifier


def test_amplifier_reads_metadata_and_transcript() -> None:
    session = parse_amplifier(AMP_MAIN)
    assert session.provider_ref == AMP_ID
    assert session.name == "Session store design"
    assert session.description.startswith("Choosing between")
    assert (session.cwd, session.branch, session.parent_ref) == ("/home/u/app", None, None)
    assert kinds(session) == [
        "prompt",
        "response",
        "tool_call",
        "tool_result",
        "response",
        "tool_call",
        "prompt",
    ]
    assert session.events[2].payload["name"] == "task"
    assert session.events[3].payload["toolUseId"] == "toolu_A1"
    assert session.events[5].payload["input"]["path"] == "docs/adr/0002-store.md"
    # events.jsonl holds a non-JSON line: it is never read, so nothing is skipped.
    assert session.skipped == 0


def test_amplifier_sub_agent_session() -> None:
    agent = parse_amplifier(AMP_AGENT)
    assert (agent.parent_ref, agent.root_ref, agent.agent_name) == (AMP_ID, AMP_ID, "zen-architect")
    assert agent.forked_at is None
    # Older transcripts: naive top-level timestamps, read as UTC.
    assert agent.events[0].time == datetime(2025, 10, 2, 14, 0, 5, 500000, tzinfo=UTC)


# ---------------------------------------------------------------- discovery


def test_discover_claude_code_under_home_and_by_cwd(tmp_path: Path) -> None:
    projects = tmp_path / ".claude" / "projects"
    shutil.copytree(CLAUDE, projects)
    found = [p.name for p in discover_claude_code(home=tmp_path, env={})]
    assert found.index(f"{MAIN_ID}.jsonl") < found.index("agent-a1b2c3d4.jsonl")
    assert len(found) == 4
    only_app = list(discover_claude_code(home=tmp_path, cwd="/home/u/app", env={}))
    assert {p.parent.name for p in only_app} == {"-home-u-app"}
    assert claude_slug("/home/u/app") == "-home-u-app"
    config = tmp_path / "config"
    shutil.copytree(CLAUDE, config / "projects")
    via_env = list(
        discover_claude_code(home=tmp_path / "nowhere", env={"CLAUDE_CONFIG_DIR": str(config)})
    )
    assert len(via_env) == 4


def test_discover_codex_respects_codex_home_and_archives(tmp_path: Path) -> None:
    home = tmp_path / "custom-codex"
    shutil.copytree(CODEX, home)
    found = list(discover_codex(env={"CODEX_HOME": str(home)}))
    assert [p.name for p in found] == [CODEX_MAIN.name, CODEX_FORK.name]
    assert list(discover_codex(env={"CODEX_HOME": str(home)}, cwd="/elsewhere")) == []
    assert list(discover_codex(home=tmp_path, env={})) == []


def test_discover_amplifier_parents_first(tmp_path: Path) -> None:
    root = tmp_path / ".amplifier" / "projects"
    shutil.copytree(FIXTURES / "amplifier" / "projects", root)
    found = [p.name for p in discover_amplifier(home=tmp_path, cwd="/home/u/app")]
    assert found == [AMP_ID, f"{AMP_ID}_zen-architect"]
    assert list(discover_amplifier(home=tmp_path, cwd="/home/u/other")) == []


# ---------------------------------------------------------------- store


def copy_claude(tmp_path: Path) -> Path:
    folder = tmp_path / "projects" / "-home-u-app"
    shutil.copytree(APP, folder)
    return folder


def test_import_twice_adds_nothing_the_second_time(tmp_path: Path, store: Store) -> None:
    folder = copy_claude(tmp_path)
    paths = list(discover_claude_code(root=folder.parent))
    first = import_paths(_one_shot(store), "claude-code", paths, boundary_for_cwd=boundary_for)
    assert (first.sessions_created, first.skipped) == (3, 1)
    assert first.events_added == 11 + 2 + 4  # main, fork (own events), agent
    second = import_paths(_one_shot(store), "claude-code", paths, boundary_for_cwd=boundary_for)
    assert (second.sessions_created, second.sessions_updated, second.events_added) == (0, 0, 0)
    # Even with the cursors forgotten, client event ids keep re-import idempotent.
    for path in paths:
        store.state.put(state_key("claude-code", path), None)
    third = import_paths(_one_shot(store), "claude-code", paths, boundary_for_cwd=boundary_for)
    assert (third.sessions_created, third.events_added) == (0, 0)
    main = store.sessions.find_by_provider_ref("claude-code", MAIN_ID)
    assert main is not None and main.event_count == 11
    assert main.name == "Login redirect fix"
    assert main.boundary.branch == "feat/login" and main.boundary.provider == "claude-code"


def test_import_appends_only_new_lines(tmp_path: Path, store: Store) -> None:
    path = copy_claude(tmp_path) / f"{MAIN_ID}.jsonl"
    import_path(_one_shot(store), "claude-code", path, boundary_for_cwd=boundary_for)
    with path.open("a") as handle:
        handle.write(' fix."}]},"uuid":"c0000000-0000-4000-8000-000000000011"}\n')
        handle.write('{"type":"custom-title","customTitle":"Redirect fix, final"}\n')
    report = import_path(_one_shot(store), "claude-code", path, boundary_for_cwd=boundary_for)
    assert report is not None
    assert (report.sessions_created, report.sessions_updated, report.events_added) == (0, 1, 1)
    session = store.sessions.find_by_provider_ref("claude-code", MAIN_ID)
    assert session is not None and session.name == "Redirect fix, final"
    (last,) = store.events.page(session.id, after_seq=11)
    assert last.payload["text"] == "The redirect now uses the fix."
    # No timestamp on that line: it takes the previous event's time, not the import time.
    assert last.time == datetime(2025, 7, 28, 10, 3, tzinfo=UTC)


def test_import_keeps_fork_and_sub_agent_lineage(tmp_path: Path, store: Store) -> None:
    folder = copy_claude(tmp_path)
    # The fork comes first: it is deferred until its parent exists.
    paths = [
        folder / f"{FORK_ID}.jsonl",
        folder / "agent-a1b2c3d4.jsonl",
        folder / f"{MAIN_ID}.jsonl",
    ]
    import_paths(_one_shot(store), "claude-code", paths, boundary_for_cwd=boundary_for)
    main = store.sessions.find_by_provider_ref("claude-code", MAIN_ID)
    fork = store.sessions.find_by_provider_ref("claude-code", FORK_ID)
    agent = store.sessions.find_by_provider_ref("claude-code", f"{MAIN_ID}/agent-a1b2c3d4")
    assert main and fork and agent
    assert (agent.parent_id, agent.root_id, agent.agent_name) == (main.id, main.id, "Explore")
    assert fork.parent_id == main.id
    # The fork point is the parent's reply the fork copied last (seq 2 in the parent).
    assert fork.forked_at_seq == 2
    history = store.events.page(fork.id)
    assert [e.payload.get("text") for e in history] == [
        "Please fix the login redirect loop",
        "I will read the auth module.",
        "Try a different approach: use a whitelist of redirect targets",
        "Added ALLOWED_REDIRECTS and a check in login().",
    ]


def test_import_waits_for_the_unfinished_line(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "s.jsonl"
    first = line(
        type="user",
        uuid="u1",
        cwd="/w",
        gitBranch="main",
        message={"role": "user", "content": "one"},
    )
    path.write_text(first + first.replace("u1", "u2").replace("one", "two")[:40])
    report = import_path(_one_shot(store), "claude-code", path, boundary_for_cwd=boundary_for)
    assert report is not None and (report.events_added, report.skipped) == (1, 0)
    assert report.pending_bytes == 40
    path.write_text(first + first.replace("u1", "u2").replace("one", "two"))
    report = import_path(_one_shot(store), "claude-code", path, boundary_for_cwd=boundary_for)
    assert report is not None and report.events_added == 1


def test_import_starts_over_when_the_session_was_deleted(tmp_path: Path, store: Store) -> None:
    path = copy_claude(tmp_path) / f"{MAIN_ID}.jsonl"
    import_path(_one_shot(store), "claude-code", path, boundary_for_cwd=boundary_for)
    session = store.sessions.find_by_provider_ref("claude-code", MAIN_ID)
    assert session is not None
    store.sessions.delete(session.id)
    report = import_path(_one_shot(store), "claude-code", path, boundary_for_cwd=boundary_for)
    assert report is not None and (report.sessions_created, report.events_added) == (1, 11)


def test_import_in_small_chunks_matches_one_pass(tmp_path: Path, store: Store) -> None:
    path = copy_claude(tmp_path) / f"{MAIN_ID}.jsonl"
    report = import_path(
        _one_shot(store), "claude-code", path, boundary_for_cwd=boundary_for, max_lines=2
    )
    assert report is not None and report.events_added == 11
    session = store.sessions.find_by_provider_ref("claude-code", MAIN_ID)
    assert session is not None
    assert [e.kind.value for e in store.events.page(session.id)] == kinds(parse_claude_code(MAIN))


def test_import_codex_fork_and_amplifier_sub_agent(tmp_path: Path, store: Store) -> None:
    codex_report = import_paths(
        _one_shot(store), "codex", [CODEX_FORK, CODEX_MAIN], boundary_for_cwd=boundary_for
    )
    assert (codex_report.sessions_created, codex_report.events_added) == (2, 10)
    parent = store.sessions.find_by_provider_ref("codex", CODEX_ID)
    child = store.sessions.find_by_provider_ref("codex", CODEX_FORK_ID)
    assert parent and child and child.parent_id == parent.id
    assert parent.boundary.branch == "feat/health"
    amp = import_paths(
        _one_shot(store), "amplifier", [AMP_AGENT, AMP_MAIN], boundary_for_cwd=boundary_for
    )
    assert (amp.sessions_created, amp.events_added) == (2, 9)
    main = store.sessions.find_by_provider_ref("amplifier", AMP_ID)
    agent = store.sessions.find_by_provider_ref("amplifier", f"{AMP_ID}_zen-architect")
    assert main and agent
    assert (agent.parent_id, agent.root_id, agent.agent_name) == (main.id, main.id, "zen-architect")
    assert main.name == "Session store design"
    assert main.boundary.branch == "no-git"  # Amplifier records none; the caller decided


def test_import_amplifier_fork_starts_after_the_copied_turns(tmp_path: Path, store: Store) -> None:
    fork = tmp_path / "sessions" / "fork-1"
    fork.mkdir(parents=True)
    copied = (AMP_MAIN / "transcript.jsonl").read_text().splitlines(keepends=True)[:2]
    own = line(role="user", content="Use JSONL after all", timestamp="2025-10-03T09:00:00")
    (fork / "transcript.jsonl").write_text("".join(copied) + own)
    meta = {"session_id": "fork-1", "parent_id": AMP_ID, "forked_from_turn": 1, "working_dir": "/w"}
    (fork / "metadata.json").write_text(json.dumps(meta))
    import_paths(_one_shot(store), "amplifier", [fork, AMP_MAIN], boundary_for_cwd=boundary_for)
    parent = store.sessions.find_by_provider_ref("amplifier", AMP_ID)
    child = store.sessions.find_by_provider_ref("amplifier", "fork-1")
    assert parent and child and child.parent_id == parent.id
    assert child.forked_at_seq == 3  # prompt, response, tool call of the copied lines
    texts = [
        e.payload.get("text") for e in store.events.page(child.id) if e.kind is EventKind.PROMPT
    ]
    assert texts == [
        "Should session history live in SQLite or JSONL folders?",
        "Use JSONL after all",
    ]
    with (fork / "transcript.jsonl").open("a") as handle:
        handle.write(
            line(role="assistant", content="Switching to JSONL.", timestamp="2025-10-03T09:00:09")
        )
    report = import_path(_one_shot(store), "amplifier", fork, boundary_for_cwd=boundary_for)
    assert report is not None and report.events_added == 1
