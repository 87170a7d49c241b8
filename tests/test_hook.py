"""The Claude Code hook as Claude Code runs it: a process per event, real git and SQLite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sidecar.agents.hook import RESPONSE_LIMIT
from sidecar.store import Store
from tests.gitrepo import isolate_git_config, make_repo, switch

pytestmark = pytest.mark.timeout(120)

#: The module entry and the typer command (`session-sidecar hook claude-code` once registered).
ENTRIES = {
    "module": [sys.executable, "-m", "sidecar.agents.hook", "claude-code"],
    "cli": [
        sys.executable,
        "-c",
        "import sys; from sidecar.cli.main import LAZY_COMMANDS, app; "
        "LAZY_COMMANDS.setdefault('hook', 'sidecar.cli.hooks:hook_app'); "
        "app(['hook', 'claude-code', *sys.argv[1:]], prog_name='session-sidecar')",
    ],
}
SESSION = "5f0c1e2a-0000-4000-8000-00000000c0de"


class Hook:
    """Runs the hook like Claude Code: one process per event, JSON on stdin."""

    def __init__(self, tmp_path: Path, repo: Path, entry: str = "module") -> None:
        self.repo = repo
        self.db = tmp_path / "data" / "sessions.db"
        self.state = tmp_path / "state"
        self.argv = ENTRIES[entry]
        self.transcript = tmp_path / "transcript.jsonl"

    def run(
        self, event: str, *, extra_args: tuple[str, ...] = (), env: dict[str, str] | None = None,
        raw: bytes | None = None, **fields: Any,
    ) -> subprocess.CompletedProcess[bytes]:  # fmt: skip
        data = {
            "session_id": SESSION,
            "transcript_path": str(self.transcript),
            "cwd": str(self.repo),
            "hook_event_name": event,
            **fields,
        }
        full_env = {
            **os.environ,
            "SIDECAR_DB": str(self.db),
            "XDG_STATE_HOME": str(self.state),
            **(env or {}),
        }
        stdin = raw if raw is not None else json.dumps(data).encode()
        return subprocess.run(
            [*self.argv, *extra_args],
            input=stdin,
            capture_output=True,
            env=full_env,
            timeout=60,
            check=False,
        )

    def grow_transcript(self, line: dict[str, Any]) -> None:
        """What Claude Code does between two hook calls: append a transcript line."""
        with self.transcript.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line) + "\n")

    def store(self) -> Store:
        return Store.open(self.db)

    def log(self) -> str:
        path = self.state / "session-sidecar" / "hook.log"
        return path.read_text(encoding="utf-8") if path.exists() else ""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git_config(monkeypatch, tmp_path / "home")
    monkeypatch.delenv("SIDECAR_HOOK_MODE", raising=False)
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)
    return make_repo(tmp_path)


def _output(proc: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.strip(), f"no output; stderr: {proc.stderr.decode()}"
    data = json.loads(proc.stdout)
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("entry", sorted(ENTRIES))
def test_prompt_after_a_branch_switch_carries_the_warning(
    tmp_path: Path, repo: Path, entry: str
) -> None:
    hook = Hook(tmp_path, repo, entry)
    started = _output(hook.run("SessionStart", source="startup"))
    assert "additionalContext" not in started["hookSpecificOutput"]

    switch(repo, "feature", create=True)
    proc = hook.run("UserPromptSubmit", prompt="add the login test")

    out = _output(proc)
    specific = out["hookSpecificOutput"]
    assert specific["hookEventName"] == "UserPromptSubmit"
    warning = specific["additionalContext"]
    assert "began on branch 'main'" in warning
    assert "now on branch 'feature'" in warning
    assert "Recommendation (fresh)" in warning
    assert "HEAD is now on 'feature'; the session was working on 'main'." in warning
    with hook.store() as store:
        session = store.sessions.find_by_provider_ref("claude-code", SESSION)
        assert session is not None
        assert session.boundary.branch == "main"
        events = store.events.page(session.id)
    assert [e.kind.value for e in events] == ["note", "drift", "prompt"]
    assert events[1].payload["after"]["branch"] == "feature"
    assert events[2].payload["text"] == "add the login test"


def test_prompt_on_the_same_branch_prints_nothing(tmp_path: Path, repo: Path) -> None:
    hook = Hook(tmp_path, repo)
    hook.run("SessionStart", source="startup")
    proc = hook.run("UserPromptSubmit", prompt="fix the parser")
    assert proc.returncode == 0
    assert proc.stdout == b""
    with hook.store() as store:
        session = store.sessions.find_by_provider_ref("claude-code", SESSION)
        assert session is not None
        assert session.name == "fix the parser"  # named after its first prompt
        assert [e.kind.value for e in store.events.page(session.id)] == ["note", "prompt"]


def test_switching_back_to_the_session_branch_stops_the_warning(tmp_path: Path, repo: Path) -> None:
    hook = Hook(tmp_path, repo)
    hook.run("SessionStart", source="startup")
    switch(repo, "feature", create=True)
    assert _output(hook.run("UserPromptSubmit", prompt="one"))
    hook.grow_transcript({"type": "user"})
    switch(repo, "main")
    proc = hook.run("UserPromptSubmit", prompt="two")
    assert proc.returncode == 0 and proc.stdout == b""


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b"[1, 2]", b'{"hook_event_name": "UserPromptSubmit"}', b"\xff\xfe{"],
    ids=["empty", "garbage", "array", "no-session-id", "bad-utf8"],
)
def test_malformed_input_exits_zero_with_nothing_on_stdout(
    tmp_path: Path, repo: Path, raw: bytes
) -> None:
    hook = Hook(tmp_path, repo)
    proc = hook.run("UserPromptSubmit", raw=raw)
    assert proc.returncode == 0
    assert proc.stdout == b""
    assert "error: HookInputError" in hook.log()


def test_an_unusable_database_exits_zero_and_is_logged(tmp_path: Path, repo: Path) -> None:
    hook = Hook(tmp_path, repo)
    hook.db.mkdir(parents=True)  # a folder where the database file should be
    proc = hook.run("UserPromptSubmit", prompt="hello")
    assert proc.returncode == 0
    assert proc.stdout == b""
    assert "error:" in hook.log()


@pytest.mark.parametrize("how", ["env", "flag"])
def test_block_mode_refuses_the_prompt(tmp_path: Path, repo: Path, how: str) -> None:
    hook = Hook(tmp_path, repo)
    hook.run("SessionStart", source="startup")
    switch(repo, "feature", create=True)
    if how == "env":
        proc = hook.run("UserPromptSubmit", prompt="go", env={"SIDECAR_HOOK_MODE": "block"})
    else:
        proc = hook.run("UserPromptSubmit", prompt="go", extra_args=("--block",))
    out = _output(proc)
    assert out["decision"] == "block"
    assert "began on branch 'main'" in out["reason"]
    assert "blocked" in out["reason"]
    with hook.store() as store:
        session = store.sessions.find_by_provider_ref("claude-code", SESSION)
        assert session is not None
        prompt = store.events.page(session.id, kinds=["prompt"])[0]
    assert prompt.payload["blocked"] is True


def test_block_mode_still_only_warns_on_session_start(tmp_path: Path, repo: Path) -> None:
    hook = Hook(tmp_path, repo)
    hook.run("SessionStart", source="startup")
    switch(repo, "feature", create=True)
    proc = hook.run("SessionStart", source="resume", env={"SIDECAR_HOOK_MODE": "block"})
    out = _output(proc)
    assert out["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    assert "began on branch 'main'" in out["hookSpecificOutput"]["additionalContext"]


def test_session_seen_first_mid_way_is_bound_to_the_branch_its_transcript_began_on(
    tmp_path: Path, repo: Path
) -> None:
    hook = Hook(tmp_path, repo)
    hook.grow_transcript({"type": "summary", "summary": "earlier"})
    hook.grow_transcript({"type": "user", "gitBranch": "main", "cwd": str(repo)})
    switch(repo, "feature", create=True)
    out = _output(hook.run("UserPromptSubmit", prompt="continue"))
    assert "began on branch 'main'" in out["hookSpecificOutput"]["additionalContext"]


def test_tool_events_are_recorded_once_and_big_responses_cut(tmp_path: Path, repo: Path) -> None:
    hook = Hook(tmp_path, repo)
    big = "x" * (RESPONSE_LIMIT * 3)
    call = {"tool_name": "Read", "tool_use_id": "toolu_01", "tool_input": {"file_path": "a.py"}}
    for _ in range(2):  # a hook that runs twice for the same call stores it once
        assert hook.run("PreToolUse", **call).returncode == 0
        proc = hook.run("PostToolUse", **call, tool_response={"content": big})
        assert proc.returncode == 0 and proc.stdout == b""
    with hook.store() as store:
        session = store.sessions.find_by_provider_ref("claude-code", SESSION)
        assert session is not None
        events = store.events.page(session.id)
        footprint = [f.path for f in store.sessions.footprint(session.id)]
    assert [e.kind.value for e in events] == ["tool_call", "tool_result"]
    assert events[0].payload["name"] == "Read"
    assert events[0].client_event_id == "cc:toolu_01:call"
    result = events[1].payload
    assert result["truncated"] is True
    assert len(result["content"]) == RESPONSE_LIMIT
    assert result["size"] > RESPONSE_LIMIT
    assert footprint == ["a.py"]


def test_the_same_prompt_twice_is_two_events(tmp_path: Path, repo: Path) -> None:
    hook = Hook(tmp_path, repo)
    hook.run("UserPromptSubmit", prompt="yes")
    hook.grow_transcript({"type": "user", "message": {"content": "yes"}})
    hook.run("UserPromptSubmit", prompt="yes")
    with hook.store() as store:
        session = store.sessions.find_by_provider_ref("claude-code", SESSION)
        assert session is not None
        assert len(store.events.page(session.id, kinds=["prompt"])) == 2


def test_stop_and_session_end_are_notes_and_end_the_session(tmp_path: Path, repo: Path) -> None:
    hook = Hook(tmp_path, repo)
    hook.run("SessionStart", source="startup")
    hook.run("Stop", stop_hook_active=False)
    proc = hook.run("SessionEnd", reason="logout")
    assert proc.returncode == 0 and proc.stdout == b""
    with hook.store() as store:
        session = store.sessions.find_by_provider_ref("claude-code", SESSION)
        assert session is not None
        assert session.status.value == "ended"
        notes = [e.payload["hook"] for e in store.events.page(session.id)]
    assert notes == ["SessionStart", "Stop", "SessionEnd"]


def test_outside_git_the_hook_records_without_warning(tmp_path: Path, repo: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    hook = Hook(tmp_path, plain)
    hook.run("SessionStart", source="startup")
    proc = hook.run("UserPromptSubmit", prompt="hello")
    assert proc.returncode == 0 and proc.stdout == b""
    with hook.store() as store:
        session = store.sessions.find_by_provider_ref("claude-code", SESSION)
        assert session is not None
        assert session.boundary.branch == "-"


TRIALS = 8
RACERS = 8


def test_parallel_hook_processes_meeting_a_new_session_record_it_once(
    tmp_path: Path, repo: Path
) -> None:
    """Parallel tool calls start several hook processes for a session none has seen yet."""
    hook = Hook(tmp_path, repo)
    env = {**os.environ, "SIDECAR_DB": str(hook.db), "XDG_STATE_HOME": str(hook.state)}
    for trial in range(TRIALS):
        ref = f"race-{trial}"
        calls = [
            {
                "session_id": ref,
                "cwd": str(repo),
                "hook_event_name": "PreToolUse",
                "tool_name": "Read",
                "tool_input": {"file_path": str(repo / f"f{i}.txt")},
                "tool_use_id": f"toolu_{trial}_{i}",
            }
            for i in range(RACERS)
        ]
        procs = [
            subprocess.Popen(
                hook.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
            )
            for _ in calls
        ]
        for proc, call in zip(procs, calls, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(call).encode())
            proc.stdin.close()
        for proc in procs:
            assert proc.wait(timeout=60) == 0
            assert proc.stderr is not None and proc.stderr.read() == b""
        with hook.store() as store:
            sessions = [s for s in store.sessions.list(limit=100).items if s.provider_ref == ref]
            assert len(sessions) == 1, f"trial {trial}: {len(sessions)} sessions for one agent"
            events = store.events.page(sessions[0].id)
        ids = sorted(e.client_event_id or "" for e in events)
        assert ids == sorted(f"cc:toolu_{trial}_{i}:call" for i in range(RACERS)), trial


def test_answers_failures_and_denials_are_recorded(tmp_path: Path, repo: Path) -> None:
    hook = Hook(tmp_path, repo)
    hook.run("UserPromptSubmit", prompt="run the tests")
    bash = {"tool_name": "Bash", "tool_input": {"command": "pytest -q"}}
    hook.run("PreToolUse", **bash, tool_use_id="toolu_ok")
    hook.run(
        "PostToolUse", **bash, tool_use_id="toolu_ok",
        tool_response={"stdout": "3 passed", "stderr": "", "interrupted": False},
    )  # fmt: skip
    hook.run("PreToolUse", **bash, tool_use_id="toolu_bad")
    hook.run("PostToolUseFailure", **bash, tool_use_id="toolu_bad", error="exit code 1")
    hook.run("PermissionDenied", tool_name="Bash", tool_input={"command": "rm -rf /"},
             tool_use_id="toolu_no", reason="denied by the user")  # fmt: skip
    hook.run("Stop", stop_hook_active=False, last_assistant_message="All 3 tests pass.")
    with hook.store() as store:
        session = store.sessions.find_by_provider_ref("claude-code", SESSION)
        assert session is not None
        events = store.events.page(session.id)
    kinds = [e.kind.value for e in events]
    assert kinds == [
        "prompt", "tool_call", "tool_result", "tool_call", "tool_result", "tool_result",
        "response",
    ]  # fmt: skip
    ok, failed, denied = (e.payload for e in events if e.kind.value == "tool_result")
    # One shape with the importer's: {toolUseId, content, isError?}, text not JSON.
    assert (ok["toolUseId"], ok["content"], ok.get("isError")) == ("toolu_ok", "3 passed", None)
    assert (failed["content"], failed["isError"]) == ("exit code 1", True)
    assert (denied["content"], denied["isError"], denied["denied"]) == (
        "denied by the user", True, True,
    )  # fmt: skip
    assert events[-1].payload["text"] == "All 3 tests pass."
    assert events[-1].actor.value == "agent"


def test_a_resumed_session_is_warned_when_the_branch_moved_while_it_was_closed(
    tmp_path: Path, repo: Path
) -> None:
    """claude -p ... ends its session at exit; `--resume` after `git switch` must warn."""
    hook = Hook(tmp_path, repo)
    hook.run("SessionStart", source="startup")
    hook.run("UserPromptSubmit", prompt="add the parser")
    hook.run("SessionEnd", reason="other")
    switch(repo, "feature", create=True)
    out = _output(hook.run("SessionStart", source="resume"))
    context = out["hookSpecificOutput"]["additionalContext"]
    assert out["hookSpecificOutput"]["hookEventName"] == "SessionStart"
    assert "began on branch 'main'" in context and "now on branch 'feature'" in context
    with hook.store() as store:
        session = store.sessions.find_by_provider_ref("claude-code", SESSION)
        assert session is not None and session.status.value == "active"
    # Resumed on the branch it began on: nothing to say.
    hook.run("SessionEnd", reason="other")
    switch(repo, "main")
    assert hook.run("SessionStart", source="resume").stdout == b""


def test_a_new_session_is_titled_with_its_branch_and_a_resume_is_not(
    tmp_path: Path, repo: Path
) -> None:
    """Claude Code's resume picker then tells the sessions of two branches apart."""
    hook = Hook(tmp_path, repo)
    out = _output(hook.run("SessionStart", source="startup"))
    assert out == {
        "hookSpecificOutput": {"hookEventName": "SessionStart", "sessionTitle": "main · repo"}
    }
    hook.run("SessionEnd", reason="other")
    assert hook.run("SessionStart", source="resume").stdout == b""


def test_the_warning_offers_to_resume_the_other_branchs_ended_session(
    tmp_path: Path, repo: Path
) -> None:
    """Each `claude -p` run ends its session; the hint must still name the feature session."""
    on_feature = Hook(tmp_path, repo)
    switch(repo, "feature", create=True)
    on_feature.run("SessionStart", source="startup")
    on_feature.run("UserPromptSubmit", prompt="build the login form")
    on_feature.run("SessionEnd", reason="other")

    switch(repo, "main")
    on_main = Hook(tmp_path, repo)
    main_data = {"session_id": "aaaaaaaa-0000-4000-8000-000000000001"}
    on_main.run("SessionStart", source="startup", **main_data)
    on_main.run("UserPromptSubmit", prompt="fix the readme", **main_data)
    on_main.run("SessionEnd", reason="other", **main_data)

    switch(repo, "feature")
    out = _output(on_main.run("SessionStart", source="resume", **main_data))
    context = out["hookSpecificOutput"]["additionalContext"]
    assert "Recommendation (resume)" in context
    assert f"with: claude --resume {SESSION}" in context
    assert "branch 'feature'" in context


def test_a_resume_is_warned_once_at_its_start_and_again_from_the_second_prompt(
    tmp_path: Path, repo: Path
) -> None:
    """Start and first prompt of one run reach the same model request: warn there once."""
    hook = Hook(tmp_path, repo)
    hook.run("SessionStart", source="startup")
    hook.run("UserPromptSubmit", prompt="add the parser")
    hook.run("SessionEnd", reason="other")
    switch(repo, "feature", create=True)

    start = _output(hook.run("SessionStart", source="resume"))
    assert "now on branch 'feature'" in start["hookSpecificOutput"]["additionalContext"]
    hook.grow_transcript({"type": "user", "message": "first"})
    assert hook.run("UserPromptSubmit", prompt="what changed?").stdout == b""
    hook.grow_transcript({"type": "user", "message": "second"})
    again = _output(hook.run("UserPromptSubmit", prompt="go on"))
    assert "now on branch 'feature'" in again["hookSpecificOutput"]["additionalContext"]
    # Block mode refuses the first prompt of a run all the same.
    hook.run("SessionEnd", reason="other")
    hook.run("SessionStart", source="resume")
    hook.grow_transcript({"type": "user", "message": "third"})
    blocked = _output(
        hook.run("UserPromptSubmit", prompt="commit it", env={"SIDECAR_HOOK_MODE": "block"})
    )
    assert blocked["decision"] == "block"
