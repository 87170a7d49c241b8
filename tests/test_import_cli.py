"""`session-sidecar import claude-code|codex|amplifier`: fixtures in, counts out, idempotent."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sidecar.importers.claude_code import project_slug
from sidecar.services.boundary import boundary_for
from sidecar.store import Store
from tests.gitrepo import isolate_git_config, make_repo

pytestmark = pytest.mark.timeout(180)

FIXTURES = Path(__file__).parent / "fixtures" / "agents"
CLAUDE = FIXTURES / "claude"
MAIN_ID = "11111111-1111-4111-8111-111111111111"
MAIN = CLAUDE / "projects" / "-home-u-app" / f"{MAIN_ID}.jsonl"
CODEX = FIXTURES / "codex"
AMPLIFIER = FIXTURES / "amplifier"
STORAGE = FIXTURES / "cline" / "Code" / "User" / "globalStorage"

#: `session-sidecar import ...` registered the way sidecar/cli/main.py registers commands.
IMPORT_CLI = [
    sys.executable,
    "-c",
    "import sys; from sidecar.cli.main import LAZY_COMMANDS, app; "
    "LAZY_COMMANDS.setdefault('import', 'sidecar.cli.importer:app'); "
    "app(['import', *sys.argv[1:]], prog_name='session-sidecar')",
]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    monkeypatch.delenv("CODEX_HOME", raising=False)
    monkeypatch.setenv("SIDECAR_DB", str(tmp_path / "db" / "sessions.db"))
    return isolate_git_config(monkeypatch, tmp_path / "home")


def run_import(*args: str, cwd: Path | None = None) -> dict[str, Any]:
    proc = subprocess.run(
        [*IMPORT_CLI, *args, "--json"],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert isinstance(result, dict)
    return result


def open_store() -> Store:
    return Store.open(os.environ["SIDECAR_DB"])


def test_claude_code_from_a_path_counts_and_is_idempotent(home: Path) -> None:
    first = run_import("claude-code", str(CLAUDE))
    assert first["files"] == 4
    assert first["sessionsCreated"] == 4
    assert first["eventsAdded"] > 10
    assert first["skippedMalformed"] == 1
    with open_store() as store:
        session = store.sessions.find_by_provider_ref("claude-code", MAIN_ID)
        assert session is not None
        assert session.boundary.provider == "claude-code"
        assert session.boundary.branch == "feat/login"  # recorded by Claude Code
        count = store.events.last_seq(session.id)

    second = run_import("claude-code", str(CLAUDE))
    assert second["sessionsCreated"] == 0
    assert second["eventsAdded"] == 0
    with open_store() as store:
        assert store.events.last_seq(session.id) == count


def test_text_output_names_the_counts(home: Path) -> None:
    proc = subprocess.run(
        [*IMPORT_CLI, "claude-code", str(MAIN)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "claude-code: 1 files, 1 sessions created" in proc.stdout
    assert "malformed lines skipped" in proc.stdout


def test_default_imports_this_folders_project_incrementally(home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    project = home / ".claude" / "projects" / project_slug(repo)
    project.mkdir(parents=True)
    lines = MAIN.read_text(encoding="utf-8").replace('"/home/u/app"', json.dumps(str(repo)))
    head, tail = lines.splitlines(keepends=True)[:8], lines.splitlines(keepends=True)[8:]
    transcript = project / f"{MAIN_ID}.jsonl"
    transcript.write_text("".join(head), encoding="utf-8")
    other = home / ".claude" / "projects" / "-somewhere-else"
    shutil.copytree(CLAUDE / "projects" / "-tmp-scratch", other)

    first = run_import("claude-code", cwd=repo)
    assert first["files"] == 1  # only this folder's project
    assert first["sessionsCreated"] == 1
    with transcript.open("a", encoding="utf-8") as handle:
        handle.write("".join(tail))
    second = run_import("claude-code", cwd=repo / ".git" / "..")

    assert second["sessionsCreated"] == 0
    assert second["sessionsUpdated"] == 1
    assert second["eventsAdded"] > 0
    with open_store() as store:
        session = store.sessions.find_by_provider_ref("claude-code", MAIN_ID)
        assert session is not None
        assert session.boundary.worktree == str(repo)
        assert session.boundary.repository == boundary_for(repo).boundary.repository
        assert store.events.last_seq(session.id) == first["eventsAdded"] + second["eventsAdded"]

    everything = run_import("claude-code", "--all", cwd=repo)
    assert everything["files"] == 2
    assert everything["sessionsCreated"] == 1


def test_codex_from_its_home_and_with_all(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from_path = run_import("codex", str(CODEX))
    assert from_path["files"] == 2
    assert from_path["sessionsCreated"] == 2
    assert from_path["eventsAdded"] > 0
    monkeypatch.setenv("CODEX_HOME", str(CODEX))
    again = run_import("codex", "--all")
    assert again["files"] == 2
    assert again["eventsAdded"] == 0


def test_amplifier_from_a_path(home: Path) -> None:
    result = run_import("amplifier", str(AMPLIFIER))
    assert result["files"] == 2
    assert result["sessionsCreated"] == 2
    with open_store() as store:
        ids = result["sessionIds"]
        sessions = [store.sessions.get(i) for i in ids]
    assert any(s.agent_name for s in sessions)  # the sub-agent session, linked to its parent


def test_a_session_the_hook_records_is_merged_not_doubled(home: Path, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    hook_input = {
        "session_id": MAIN_ID,
        "cwd": str(repo),
        "hook_event_name": "UserPromptSubmit",
        "prompt": "Please fix the login redirect loop",
    }
    subprocess.run(
        [sys.executable, "-m", "sidecar.agents.hook", "claude-code"],
        input=json.dumps(hook_input).encode(),
        env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")},
        timeout=60,
        check=True,
    )
    result = run_import("claude-code", str(MAIN))
    assert result["mergedWithHook"] == 1
    assert result["sessionsCreated"] == 0
    with open_store() as store:
        session = store.sessions.find_by_provider_ref("claude-code", MAIN_ID)
        assert session is not None
        events = store.events.page(session.id, limit=100)
    # The transcript's lines are all older than the hook's prompt: only the tool
    # events the hook never saw are added, and the prompt is stored once.
    prompts = [e.payload["text"] for e in events if e.kind.value == "prompt"]
    assert prompts == ["Please fix the login redirect loop"]
    assert {e.kind.value for e in events[1:]} == {"tool_call", "tool_result"}
    assert result["eventsAdded"] == len(events) - 1
    assert run_import("claude-code", str(MAIN))["eventsAdded"] == 0


def test_path_and_all_together_are_refused(home: Path) -> None:
    proc = subprocess.run(
        [*IMPORT_CLI, "codex", str(CODEX), "--all"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "either PATH or --all" in proc.stderr


def test_a_missing_path_is_a_clear_error(home: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [*IMPORT_CLI, "amplifier", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr


@pytest.mark.parametrize(
    ("tool", "folder"),
    [
        ("codex", CODEX),
        ("amplifier", AMPLIFIER),
        ("gemini", FIXTURES / "gemini" / ".gemini"),
        ("copilot", FIXTURES / "copilot"),
        ("aider", FIXTURES / "aider" / "app"),
        ("continue", FIXTURES / "continue" / ".continue"),
        ("cline", STORAGE / "saoudrizwan.claude-dev"),
        ("roo-code", STORAGE / "rooveterinaryinc.roo-cline"),
        ("copilot-chat", FIXTURES / "copilot-chat" / "Code" / "User"),
    ],
)
def test_every_tool_imports_a_folder_named_on_the_command_line(
    home: Path, tool: str, folder: Path
) -> None:
    """PATH may be the tool's home or a project folder, for every tool the registry holds."""
    assert folder.is_dir(), folder
    first = run_import(tool, str(folder))
    assert first["eventsAdded"] > 0, first
    assert run_import(tool, str(folder))["eventsAdded"] == 0
