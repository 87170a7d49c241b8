"""The importers on session files the real agent CLIs wrote (``tests/fixtures/agents/real/``).

Each fixture is one session the pinned CLI wrote in ``tests/realagents/``: a
turn on ``main`` with a shell tool call, ``git switch -c feature``, a resume
with a second prompt (the sidecar's hooks installed: Gemini CLI's copy holds
the drift warning), then ``hooks uninstall`` and a third turn. Scratch paths
are written as ``@REPO@``, ``@HOME@``, ``@SCRATCH@`` and ``@REPO_SLUG@``; the
tests put a real repository there. Long strings and lists the importers never
read (system prompts, tool listings) are shortened; every line is kept.
opencode's database is its own three tables and the session's rows, as SQL.

So the importers stay tested on real output even where the CLIs are not
installed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sidecar.agents import codex as codex_hook
from sidecar.agents.hook import events_for
from sidecar.core.models import EventKind
from sidecar.git.reflog import parse_reflog
from sidecar.importers.codex import parse_codex
from sidecar.importers.common import Cursor, ImportedEvent
from sidecar.importers.gemini import parse_gemini
from sidecar.importers.opencode import discover_opencode
from sidecar.services.imports import (
    BoundaryResolver,
    HookRecord,
    _reflog_branch,
    import_path,
    merge_with_hook,
)
from sidecar.services.sessions import SessionService, Writer
from sidecar.store import Store
from tests.gitrepo import isolate_git_config, make_repo, switch

REAL = Path(__file__).parent / "fixtures" / "agents" / "real"
CLAUDE = REAL / "claude-code" / "4aa7b263-1cef-463b-87ee-53d798c6aa25.jsonl"
CODEX = REAL / "codex" / "rollout-2026-12-02T10-15-20-01a23640-68c5-7440-97d0-a8e668eb3cd6.jsonl"
COPILOT = REAL / "copilot" / "be61af91-9be0-4d32-9034-bf8a1a6ee637" / "events.jsonl"
GEMINI = REAL / "gemini" / "session-2026-12-02T10-19-a0835960.jsonl"
OPENCODE = REAL / "opencode" / "opencode.sql"
ANSWERS = ["MOCK ANSWER 1", "MOCK ANSWER 2", "MOCK ANSWER 3"]


@dataclass
class World:
    """A real repository and a scratch home to put the fixtures in."""

    repo: Path
    home: Path

    def text(self, fixture: Path) -> str:
        """The fixture with its placeholders pointing here."""
        text = fixture.read_text("utf-8")
        slug = str(self.repo).replace("/", "-").replace("_", "-")
        for placeholder, value in (
            ("@REPO_SLUG@", slug), ("@REPO@", str(self.repo)), ("@HOME@", str(self.home)),
            ("@SCRATCH@", str(self.home.parent)),
        ):  # fmt: skip
            text = text.replace(placeholder, value)
        return text

    def put(self, fixture: Path, where: Path) -> Path:
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_text(self.text(fixture), "utf-8")
        return where


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> World:
    isolate_git_config(monkeypatch, tmp_path / "git-home")
    return World(make_repo(tmp_path / "work"), tmp_path / "home")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "sessions.db") as opened:
        yield opened


def place_claude(world: World) -> Path:
    return world.put(CLAUDE, world.home / ".claude" / "projects" / "p" / CLAUDE.name)


def place_codex(world: World) -> Path:
    return world.put(CODEX, world.home / ".codex" / "sessions" / "2026" / "12" / "02" / CODEX.name)


def place_copilot(world: World) -> Path:
    folder = world.home / ".copilot" / "session-state" / COPILOT.parent.name
    return world.put(COPILOT, folder / "events.jsonl")


def place_gemini(world: World) -> Path:
    """The chat under ``~/.gemini/tmp/<project>/chats/``, the project's root marker beside it."""
    project = world.home / ".gemini" / "tmp" / "repo"
    project.mkdir(parents=True)
    (project / ".project_root").write_text(str(world.repo), "utf-8")
    return world.put(GEMINI, project / "chats" / GEMINI.name)


def place_opencode(world: World) -> Path:
    database = world.home / ".local" / "share" / "opencode" / "opencode.db"
    database.parent.mkdir(parents=True)
    with sqlite3.connect(database) as conn:
        conn.executescript(world.text(OPENCODE))
    conn.close()
    [unit] = discover_opencode(root=database)
    return unit


@dataclass(frozen=True)
class Expected:
    place: Callable[[World], Path]
    prompts: list[str]
    answers: list[str]
    tools: list[tuple[str, dict[str, Any]]]
    """``(name, part of the input)`` of each call, in order; each has its result."""


EXPECTED = {
    "claude-code": Expected(
        place_claude, ["RUN: ls", "What changed?", "And now?"], ANSWERS,
        [("Bash", {"command": "ls"})],
    ),
    "codex": Expected(
        place_codex, ["RUN: ls", "What changed?", "And now?"], ANSWERS,
        [("exec_command", {"cmd": "ls"})],
    ),
    "copilot": Expected(
        place_copilot, ["RUN: ls", "What changed?", "And now?"], ANSWERS,
        [("bash", {"command": "ls"})],
    ),
    "gemini": Expected(
        place_gemini, ["RUN: ls", "What changed?", "RUN: git status"], ANSWERS,
        [("run_shell_command", {"command": "ls"}),
         ("run_shell_command", {"command": "git status"})],
    ),
    # `opencode run` quotes an argument holding a space; its title request took answer 1.
    "opencode": Expected(
        place_opencode, ['"RUN: ls"', '"second prompt"', '"third prompt"'],
        ["MOCK ANSWER 2", "MOCK ANSWER 3", "MOCK ANSWER 4"], [("bash", {"command": "ls"})],
    ),
}  # fmt: skip


@pytest.mark.parametrize("provider", sorted(EXPECTED))
def test_a_real_session_file_imports_every_turn_once(
    provider: str, world: World, store: Store
) -> None:
    expected = EXPECTED[provider]
    unit = expected.place(world)
    sessions = SessionService(store, Writer.one_shot())
    began = datetime.now(UTC)

    report = import_path(sessions, provider, unit, boundary_for_cwd=BoundaryResolver(store))
    assert report is not None and report.sessions_created == 1 and report.skipped == 0, report
    [session] = store.sessions.list(limit=10).items
    assert session.boundary.repository != "unknown-folder" and session.boundary.branch == "main"
    events = store.events.page(session.id, limit=1000)

    def of(kind: EventKind) -> list[Any]:
        return [e for e in events if e.kind is kind]

    assert [e.payload["text"] for e in of(EventKind.PROMPT)] == expected.prompts
    assert [e.payload["text"] for e in of(EventKind.RESPONSE)] == expected.answers
    calls, results = of(EventKind.TOOL_CALL), of(EventKind.TOOL_RESULT)
    assert [c.payload["name"] for c in calls] == [name for name, _ in expected.tools]
    for call, (_, part) in zip(calls, expected.tools, strict=True):
        assert part.items() <= call.payload["input"].items(), call.payload
    assert [r.payload["toolUseId"] for r in results] == [c.payload["toolUseId"] for c in calls]
    assert all(r.payload["content"] for r in results)
    # The times the CLI wrote (the runs took seconds), not the import's.
    assert all(e.time < began for e in events)
    assert session.created_at <= events[0].time <= events[-1].time
    assert events[-1].time - session.created_at < timedelta(minutes=2)

    again = import_path(sessions, provider, unit, boundary_for_cwd=BoundaryResolver(store))
    assert again is not None and again.events_added == 0


def test_copilot_records_the_switch_at_the_resume(world: World, store: Store) -> None:
    unit = place_copilot(world)
    sessions = SessionService(store, Writer.one_shot())
    import_path(sessions, "copilot", unit, boundary_for_cwd=BoundaryResolver(store))
    [session] = store.sessions.list(limit=10).items
    changes = [e.payload for e in store.events.page(session.id, limit=1000)
               if e.kind is EventKind.BRANCH_CHANGE]  # fmt: skip
    assert [(c["from"], c["to"]) for c in changes] == [("main", "feature")]


# ---------------------------------------------------------------- what the real files taught


def test_codex_tool_events_carry_the_ids_the_codex_hook_records() -> None:
    """The rollout's ``call_id`` is the hook's ``tool_use_id``: one key per call either way."""
    session = parse_codex(CODEX)
    [call] = [e for e in session.events if e.kind is EventKind.TOOL_CALL]
    [result] = [e for e in session.events if e.kind is EventKind.TOOL_RESULT]
    hook_input = {
        "session_id": session.provider_ref, "cwd": "/r", "tool_name": "Bash",
        "tool_input": {"command": "ls"}, "tool_use_id": call.payload["toolUseId"],
    }  # fmt: skip
    pre = codex_hook.parse({**hook_input, "hook_event_name": "PreToolUse"})
    post = codex_hook.parse({**hook_input, "hook_event_name": "PostToolUse", "tool_response": "x"})
    assert [e.client_event_id for e in events_for(codex_hook.DIALECT, pre, 0)] == [call.source_id]
    assert [e.client_event_id for e in events_for(codex_hook.DIALECT, post, 0)] == [
        result.source_id
    ]


def test_gemini_hook_context_part_is_a_note_not_part_of_the_prompt() -> None:
    """BeforeAgent's context is a part of its own after the typed text (Gemini CLI 0.61)."""
    session = parse_gemini(GEMINI)
    prompts = [e.payload["text"] for e in session.events if e.kind is EventKind.PROMPT]
    assert prompts == EXPECTED["gemini"].prompts
    [hook] = [e for e in session.events if e.source_id.endswith(":hook")]
    assert hook.kind is EventKind.NOTE and hook.payload["subtype"] == "hook"
    assert hook.payload["text"].startswith("[Session Sidecar] The git branch changed")


def _gemini_runs() -> list[int]:
    """The line numbers where each run of the CLI began writing the file: the first line,
    and a resume's ``{"$set": {"sessionId": ...}}`` (its metadata went to a new file)."""
    lines = GEMINI.read_text("utf-8").splitlines()
    return [0] + [i for i, line in enumerate(lines) if line.startswith('{"$set":{"sessionId"')]


def test_gemini_resume_checkpoint_gives_its_copies_no_time() -> None:
    """A resume rewrites the whole history stamped with the resume's time: not the messages'.

    Copies of messages get no time; a copied tool call keeps its own ``timestamp``, which
    the checkpoint leaves as it was.
    """
    third = _gemini_runs()[2]
    before = parse_gemini(GEMINI, max_lines=third)
    after = parse_gemini(GEMINI, before.end)
    first_seen = {e.source_id: e.time for e in before.events}
    copies = [e for e in after.events if e.source_id in first_seen]
    assert {e.payload.get("text") for e in copies} >= {"RUN: ls", "What changed?"}
    assert [e.source_id for e in copies if e.time is not None] == [
        e.source_id for e in copies if e.kind in (EventKind.TOOL_CALL, EventKind.TOOL_RESULT)
    ]
    assert all(e.time in (None, first_seen[e.source_id]) for e in copies)
    assert all(e.time is not None for e in after.events if e.source_id not in first_seen)


def test_gemini_merge_adds_only_the_turn_after_the_hooks_left() -> None:
    """Hooks recorded the first two runs (their tool events without Gemini's call ids);
    the third run came after ``hooks uninstall``. Importing from the cursor after the
    second run adds the third turn only, not the checkpoint's copies of the others."""
    third = _gemini_runs()[2]
    before = parse_gemini(GEMINI, max_lines=third)
    last_imported = max(e.time for e in before.events if e.time is not None)
    # The hook's SessionEnd came after the second run's answer; no texts, to test the times.
    record = HookRecord(last_imported + timedelta(seconds=1), frozenset(), tools_without_ids=True)
    after = parse_gemini(GEMINI, before.end)
    kept = merge_with_hook(after.events, record, last_imported)
    assert [(e.kind.value, _label(e)) for e in kept] == [
        ("prompt", "RUN: git status"),
        ("tool_call", "run_shell_command"),
        ("tool_result", "run_shell_command"),
        ("response", "MOCK ANSWER 3"),
    ]


def _label(event: ImportedEvent) -> Any:
    return event.payload.get("text", event.payload.get("name"))


def test_a_cursor_after_the_last_line_reads_nothing_new() -> None:
    whole = parse_gemini(GEMINI)
    rest = parse_gemini(GEMINI, Cursor.from_json(whole.end.to_json()))
    assert rest.events == []


def test_a_switch_in_the_same_second_as_the_start_is_after_it(world: World) -> None:
    """Reflog times are whole seconds. A headless run on main took under a second, then
    ``git switch -c feature`` landed in the second its start was stamped in (seen with
    Gemini CLI): the session began on main."""
    switch(world.repo, "feature", create=True)
    moves = parse_reflog((world.repo / ".git" / "logs" / "HEAD").read_text("utf-8"))
    started = moves[-1].time + timedelta(milliseconds=500)
    assert _reflog_branch(str(world.repo), started) == "main"
    assert _reflog_branch(str(world.repo), moves[-1].time + timedelta(seconds=1)) == "feature"
