"""The hook's quiet path: tool calls recorded in a fresh process without pydantic or the policy,
and handed to the full path whenever the activity check has something to say."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from sidecar.core.activity import FOOTPRINT_WARNED
from tests.gitrepo import isolate_git_config, make_repo
from tests.test_hook import SESSION, Hook

pytestmark = pytest.mark.timeout(180)

#: The console entry as agents run it (it ends the process with os._exit once the call is
#: recorded, so what it imported is read from -X importtime's report on stderr).
PROBE = (
    "import sys\n"
    "from sidecar.cli.entry import main\n"
    "sys.argv = ['session-sidecar', 'hook', 'claude-code']\n"
    "main()\n"
)
HEAVY = (
    "pydantic", "sidecar.core.models", "sidecar.core.policy", "sqlite_utils", "platformdirs",
    "typer", "sidecar.store.sessions", "sidecar.telemetry", "opentelemetry",
)  # fmt: skip


class ProbedHook(Hook):
    """The hook through the console entry, telling which heavy modules it loaded."""

    def __init__(self, tmp_path: Path, repo: Path) -> None:
        super().__init__(tmp_path, repo)
        self.argv = [sys.executable, "-X", "importtime", "-c", PROBE]

    def loaded(self, event: str, **fields: Any) -> list[str]:
        proc = self.run(event, **fields)
        assert proc.returncode == 0, proc.stderr.decode()
        report = proc.stderr.decode().splitlines()
        modules = {line.rsplit("|", 1)[-1].strip() for line in report if "|" in line}
        assert "sidecar.agents.hook" in modules, proc.stderr.decode()[-2000:]
        return [m for m in HEAVY if m in modules]

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as conn:
            return conn.execute(sql, params).fetchall()

    def kinds(self) -> list[str]:
        return [r[0] for r in self.rows("SELECT kind FROM events ORDER BY seq")]


def _edit(n: int, path: str) -> dict[str, Any]:
    return {
        "tool_name": "Edit",
        "tool_input": {"file_path": path, "old_string": "a", "new_string": "b"},
        "tool_use_id": f"toolu_edit_{n}",
    }


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git_config(monkeypatch, tmp_path / "home")
    monkeypatch.delenv("SIDECAR_HOOK_MODE", raising=False)
    return make_repo(tmp_path)


@pytest.fixture
def hook(tmp_path: Path, repo: Path) -> ProbedHook:
    probe = ProbedHook(tmp_path, repo)
    assert "pydantic" in probe.loaded("UserPromptSubmit", prompt="fix the login bug")
    return probe


def test_a_tool_call_and_its_result_load_neither_pydantic_nor_the_policy(hook: ProbedHook) -> None:
    call = {"tool_name": "Bash", "tool_input": {"command": "pytest -q"}, "tool_use_id": "toolu_1"}
    assert hook.loaded("PreToolUse", **call) == []
    assert hook.loaded("PostToolUse", **call, tool_response={"stdout": "1 passed"}) == []
    assert hook.kinds() == ["prompt", "tool_call", "tool_result"]
    # The same shapes as the full path writes (and the importers).
    payload = json.loads(hook.rows("SELECT payload FROM events WHERE seq = 3")[0][0])
    assert payload["content"] == "1 passed" and payload["toolUseId"] == "toolu_1"
    # Retried: stored once.
    assert hook.loaded("PreToolUse", **call) == []
    assert hook.kinds() == ["prompt", "tool_call", "tool_result"]


def test_the_answer_and_the_session_end_are_quiet_too(hook: ProbedHook) -> None:
    assert hook.loaded("Stop", last_assistant_message="Fixed the login bug.") == []
    assert hook.loaded("SessionEnd", reason="prompt_input_exit") == []
    assert hook.kinds() == ["prompt", "response", "note"]
    assert hook.rows("SELECT status, holder FROM sessions") == [("ended", None)]
    # The next prompt (a resume) reopens it: the full path.
    assert "pydantic" in hook.loaded("UserPromptSubmit", prompt="and the logout bug?")
    assert hook.rows("SELECT status FROM sessions") == [("active",)]


def test_edits_inside_the_footprint_stay_quiet_and_feed_it(hook: ProbedHook) -> None:
    for n in range(6):
        assert hook.loaded("PreToolUse", **_edit(n, f"{hook.repo}/src/auth/login{n % 2}.py")) == []
    weights = dict(hook.rows("SELECT path, weight FROM footprint"))
    assert set(weights) == {"src/auth/login0.py", "src/auth/login1.py"}
    assert "drift" not in hook.kinds()


def test_a_footprint_warning_to_clear_takes_the_full_path(hook: ProbedHook) -> None:
    for n in range(3):
        hook.loaded("PreToolUse", **_edit(n, f"{hook.repo}/src/auth/login.py"))
    session_id = hook.rows("SELECT id FROM sessions")[0][0]
    hook.rows(
        "INSERT INTO cache (session_id, key, value, updated_at) VALUES (?, ?, 'true', '')",
        session_id,
        FOOTPRINT_WARNED,
    )
    # Work back inside the footprint: the flag is cleared, which only the full path writes.
    assert "pydantic" in hook.loaded("PreToolUse", **_edit(9, f"{hook.repo}/src/auth/login.py"))
    told = hook.rows("SELECT value FROM cache WHERE key = ?", FOOTPRINT_WARNED)
    assert told == [("false",)]
    assert hook.loaded("PreToolUse", **_edit(10, f"{hook.repo}/src/auth/login.py")) == []


def test_a_stale_session_takes_the_full_path(hook: ProbedHook) -> None:
    hook.rows(
        "UPDATE sessions SET last_event_at = '2020-01-01T00:00:00.000000Z', "
        "updated_at = '2020-01-01T00:00:00.000000Z'"
    )
    call = {"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "toolu_9"}
    assert "sidecar.core.policy" in hook.loaded("PreToolUse", **call)
    assert hook.kinds() == ["prompt", "tool_call", "drift"]
    drift = json.loads(hook.rows("SELECT payload FROM events WHERE kind = 'drift'")[0][0])
    assert "stale" in json.dumps(drift)


def test_a_call_before_any_prompt_takes_the_full_path(tmp_path: Path, repo: Path) -> None:
    probe = ProbedHook(tmp_path, repo)
    call = {"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "toolu_0"}
    # The session does not exist yet: the full path creates it (bound to the branch).
    assert "pydantic" in probe.loaded("PreToolUse", **call)
    assert probe.rows("SELECT provider_ref, branch FROM sessions") == [(SESSION, "main")]
    assert probe.loaded("PostToolUse", **call, tool_response="ok") == []


def test_a_session_held_by_a_live_connection_refuses_the_quiet_path_too(hook: ProbedHook) -> None:
    hook.rows(
        "UPDATE sessions SET holder = ?, holder_expires_at = '2999-01-01T00:00:00.000000Z'",
        f"{os.uname().nodename}:1:abcd",  # pid 1 runs: the hold is live
    )
    call = {"tool_name": "Bash", "tool_input": {"command": "ls"}, "tool_use_id": "toolu_h"}
    proc = hook.run("PreToolUse", **call)
    assert proc.returncode == 0 and proc.stdout == b""
    assert "held" in proc.stderr.decode().lower()
    assert hook.kinds() == ["prompt"]
