"""Hook-recorded and imported Claude Code sessions merge by one rule.

The real hook (``sidecar.agents.hook.run``) records the first turn of a
session in a real repository; then the hooks are "uninstalled" and the
session goes on in the transcript only. Importing the transcript must give
one session, nothing twice, and the later turn present.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sidecar.agents.hook import run
from sidecar.core.models import EventKind
from sidecar.services.imports import BoundaryResolver, import_path
from sidecar.services.sessions import SessionService, Writer
from sidecar.store import Store
from tests.gitrepo import isolate_git_config, make_repo

SESSION = "66666666-6666-4666-8666-666666666666"


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git_config(monkeypatch, tmp_path / "home")
    return make_repo(tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "sessions.db") as opened:
        yield opened


def _stamp(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _line(repo: Path, n: int, kind: str, content: Any, when: datetime) -> str:
    role = "user" if kind == "user" else "assistant"
    return json.dumps({
        "parentUuid": None, "isSidechain": False, "userType": "external", "cwd": str(repo),
        "sessionId": SESSION, "version": "2.1.328", "gitBranch": "main", "type": kind,
        "message": {"role": role, "content": content},
        "uuid": f"f0000000-0000-4000-8000-{n:012d}", "timestamp": _stamp(when),
    }) + "\n"  # fmt: skip


def _turn(repo: Path, first: int, prompt: str, tool: str, answer: str, when: datetime) -> str:
    tick = timedelta(milliseconds=200)
    return "".join(
        [
            _line(repo, first, "user", prompt, when),
            _line(
                repo,
                first + 1,
                "assistant",
                [{"type": "tool_use", "id": tool, "name": "Bash", "input": {"command": "ls"}}],
                when + tick,
            ),
            _line(
                repo,
                first + 2,
                "user",
                [{"type": "tool_result", "tool_use_id": tool, "content": "a.txt"}],
                when + 2 * tick,
            ),
            _line(
                repo, first + 3, "assistant", [{"type": "text", "text": answer}], when + 3 * tick
            ),
        ]
    )


def _hook(store: Store, repo: Path, transcript: Path, event: str, **fields: Any) -> None:
    data = {
        "session_id": SESSION,
        "transcript_path": str(transcript),
        "cwd": str(repo),
        "hook_event_name": event,
        **fields,
    }
    run("claude-code", json.dumps(data).encode(), store=store)


def test_prompts_after_an_uninstall_are_merged_into_the_hook_session(
    repo: Path, store: Store, tmp_path: Path
) -> None:
    transcript = tmp_path / f"{SESSION}.jsonl"
    began = datetime.now(UTC) - timedelta(seconds=5)
    transcript.write_text(_turn(repo, 1, "List the files", "toolu_H1", "One file: a.txt", began))
    _hook(store, repo, transcript, "UserPromptSubmit", prompt="List the files")
    tool = {"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "toolu_H1"}
    _hook(store, repo, transcript, "PreToolUse", **tool)
    _hook(store, repo, transcript, "PostToolUse", **tool, tool_response={"stdout": "a.txt"})
    _hook(store, repo, transcript, "Stop", last_assistant_message="One file: a.txt")
    # `hooks uninstall`: the session goes on, only the transcript records it.
    later = datetime.now(UTC) + timedelta(seconds=2)
    with transcript.open("a") as handle:
        handle.write(_turn(repo, 5, "Now count the lines", "toolu_H2", "3 lines.", later))

    sessions = SessionService(store, Writer.one_shot())
    report = import_path(
        sessions, "claude-code", transcript, boundary_for_cwd=BoundaryResolver(store)
    )
    assert report is not None and report.merged == 1 and report.sessions_created == 0
    (session,) = store.sessions.list(limit=10).items
    events = store.events.page(session.id, limit=100)
    prompts = [e.payload["text"] for e in events if e.kind is EventKind.PROMPT]
    answers = [e.payload["text"] for e in events if e.kind is EventKind.RESPONSE]
    calls = [e.payload["toolUseId"] for e in events if e.kind is EventKind.TOOL_CALL]
    results = [e.payload["toolUseId"] for e in events if e.kind is EventKind.TOOL_RESULT]
    assert prompts == ["List the files", "Now count the lines"]
    assert answers == ["One file: a.txt", "3 lines."]
    assert calls == ["toolu_H1", "toolu_H2"]
    assert results == ["toolu_H1", "toolu_H2"]

    again = import_path(
        sessions, "claude-code", transcript, boundary_for_cwd=BoundaryResolver(store)
    )
    assert again is not None and again.events_added == 0


def test_a_session_imported_before_the_hooks_came_is_merged_after_they_do(
    repo: Path, store: Store, tmp_path: Path
) -> None:
    """Import first (no hooks yet), then hooks installed mid-session, then import again."""
    transcript = tmp_path / f"{SESSION}.jsonl"
    began = datetime.now(UTC) - timedelta(seconds=10)
    transcript.write_text(_turn(repo, 1, "List the files", "toolu_I1", "One file: a.txt", began))
    sessions = SessionService(store, Writer.one_shot())
    resolver = BoundaryResolver(store)
    import_path(sessions, "claude-code", transcript, boundary_for_cwd=resolver)
    # The hooks arrive: the next turn is recorded live and in the transcript.
    now = datetime.now(UTC)
    with transcript.open("a") as handle:
        handle.write(_turn(repo, 5, "Now count the lines", "toolu_I2", "3 lines.", now))
    _hook(store, repo, transcript, "UserPromptSubmit", prompt="Now count the lines")
    tool = {"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "toolu_I2"}
    _hook(store, repo, transcript, "PreToolUse", **tool)
    _hook(store, repo, transcript, "PostToolUse", **tool, tool_response={"stdout": "a.txt"})
    _hook(store, repo, transcript, "Stop", last_assistant_message="3 lines.")

    import_path(sessions, "claude-code", transcript, boundary_for_cwd=resolver)

    (session,) = store.sessions.list(limit=10).items
    assert "hook" in session.tags
    events = store.events.page(session.id, limit=100)
    prompts = [e.payload["text"] for e in events if e.kind is EventKind.PROMPT]
    calls = [e.payload["toolUseId"] for e in events if e.kind is EventKind.TOOL_CALL]
    answers = [e.payload["text"] for e in events if e.kind is EventKind.RESPONSE]
    assert prompts == ["List the files", "Now count the lines"]
    assert calls == ["toolu_I1", "toolu_I2"]
    assert answers == ["One file: a.txt", "3 lines."]
