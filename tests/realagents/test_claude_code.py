"""The real Claude Code CLI, offline against a model mock, with the sidecar's hooks installed.

Each run is ``claude -p ... --output-format json`` in a scratch HOME on a real
git repository; the mock (:mod:`tests.realagents.api_anthropic`) is the only
server it talks to. "The warning reached the model" is checked in the
requests the mock logged, nothing less.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.realagents import api_anthropic
from tests.realagents.imported import (
    added_after_uninstall,
    check_merge,
    imported_alone,
    tool_pairs,
)
from tests.realagents.mockmodel import ModelMock
from tests.realagents.sandbox import Sandbox, agent_binary

pytestmark = pytest.mark.timeout(300)

PROVIDER = "claude-code"
MARKER = "[Session Sidecar]"
FIRST_PROMPT = "RUN: ls"
SECOND_PROMPT = "What changed?"
THIRD_PROMPT = "And now?"
#: Another tool's hook, which install and uninstall must leave as it is.
OTHER_HOOK = {"type": "command", "command": "echo other-tool", "timeout": 5}


@pytest.fixture
def anthropic(mock: ModelMock) -> ModelMock:
    """The mock speaking the Anthropic Messages API."""
    return api_anthropic.register(mock)


def claude_env(mock: ModelMock) -> dict[str, str]:
    """Claude Code pointed at the mock, with every background call it can skip turned off."""
    return {
        "ANTHROPIC_BASE_URL": mock.url,
        "ANTHROPIC_API_KEY": "sk-ant-mock",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_BUG_COMMAND": "1",
        "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
        "CLAUDE_CODE_DISABLE_TERMINAL_TITLE": "1",
    }


def claude(
    sandbox: Sandbox, mock: ModelMock, prompt: str, *, resume: str | None = None
) -> dict[str, Any]:
    """One headless turn (``--resume`` a session when given); returns the CLI's JSON result."""
    argv = [agent_binary("claude"), "-p", prompt, "--output-format", "json"]
    # The mock's tool call is the Bash tool: allowed up front, as -p cannot ask.
    argv += ["--allowedTools", "Bash"]
    if resume is not None:
        argv += ["--resume", resume]
    proc = sandbox.run(argv, env=claude_env(mock))
    assert proc.returncode == 0, f"claude failed: {proc.stdout}\n{proc.stderr}"
    result: dict[str, Any] = json.loads(proc.stdout)
    assert result.get("is_error") is False, result
    return result


def install(sandbox: Sandbox) -> None:
    """``hooks install claude-code`` into the scratch HOME's ~/.claude/settings.json."""
    proc = sandbox.install_hooks(PROVIDER)
    assert proc.returncode == 0, proc.stderr


def session_of(sandbox: Sandbox, ref: str) -> Any:
    """The one sidecar session recorded for Claude Code session ``ref``."""
    found = [s for s in sandbox.sessions(PROVIDER) if s.provider_ref == ref]
    assert len(found) == 1, (ref, found, sandbox.hook_log())
    return found[0]


def events_of(sandbox: Sandbox, ref: str, kind: str) -> list[dict[str, Any]]:
    """The payloads of the session's events of ``kind``."""
    session = session_of(sandbox, ref)
    return [e.payload for e in sandbox.events(session.id) if e.kind.value == kind]


def texts(payloads: list[dict[str, Any]], key: str = "text") -> list[Any]:
    """The ``key`` field of each payload, in order."""
    return [p.get(key) for p in payloads]


def transcript(sandbox: Sandbox, ref: str) -> list[dict[str, Any]]:
    """The lines of Claude Code's own transcript of session ``ref``."""
    [path] = (sandbox.home / ".claude" / "projects").glob(f"*/{ref}.jsonl")
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def test_resume_after_switch_warns_the_model_and_records_once(
    sandbox: Sandbox, anthropic: ModelMock
) -> None:
    install(sandbox)
    first = claude(sandbox, anthropic, FIRST_PROMPT)
    ref = first["session_id"]
    assert first["result"] == "MOCK ANSWER 1"
    assert not anthropic.received(MARKER), "warned before the branch changed"

    sandbox.switch("feature", create=True)
    mark = anthropic.mark()
    second = claude(sandbox, anthropic, SECOND_PROMPT, resume=ref)
    assert second["session_id"] == ref
    assert anthropic.received("now on branch 'feature'", since=mark), sandbox.hook_log()
    assert anthropic.received("began on branch 'main'", since=mark)
    # A resumed run is warned once: the resume's SessionStart reaches the same request as
    # the first prompt, so UserPromptSubmit adds nothing more.
    assert anthropic.received(f"SessionStart hook additional context: {MARKER}", since=mark)
    assert not anthropic.received(f"UserPromptSubmit hook additional context: {MARKER}", mark)
    assert "error" not in sandbox.hook_log()

    [session] = sandbox.sessions(PROVIDER)
    assert session.provider_ref == ref and session.boundary.branch == "main"
    assert texts(events_of(sandbox, ref, "prompt")) == [FIRST_PROMPT, SECOND_PROMPT]
    [call] = events_of(sandbox, ref, "tool_call")
    assert call["name"] == "Bash" and call["input"]["command"] == "ls"
    [result] = events_of(sandbox, ref, "tool_result")
    assert result["toolUseId"] == call["toolUseId"] and "README.md" in result["content"]
    assert "isError" not in result
    assert texts(events_of(sandbox, ref, "response")) == [first["result"], second["result"]]
    [drift] = events_of(sandbox, ref, "drift")
    assert "feature" in json.dumps(drift)
    starts = [p for p in events_of(sandbox, ref, "note") if p.get("hook") == "SessionStart"]
    assert [p.get("source") for p in starts] == ["startup", "resume"]
    # Claude Code's own transcript of the same runs merges into the hook's session.
    merged = check_merge(sandbox, PROVIDER, ref)
    # A turn after `hooks uninstall` is only in the transcript: the import adds it.
    sandbox.sidecar("hooks", "uninstall", PROVIDER)
    third = claude(sandbox, anthropic, THIRD_PROMPT, resume=ref)
    added = added_after_uninstall(sandbox, PROVIDER, merged)
    assert added == [("prompt", THIRD_PROMPT), ("response", third["result"])]


def test_import_alone_finds_the_whole_session(sandbox: Sandbox, anthropic: ModelMock) -> None:
    began = datetime.now(UTC)
    first = claude(sandbox, anthropic, FIRST_PROMPT)
    ref = first["session_id"]
    sandbox.switch("feature", create=True)
    second = claude(sandbox, anthropic, SECOND_PROMPT, resume=ref)

    stored = imported_alone(sandbox, PROVIDER, ref, began)
    assert stored.texts("prompt") == [FIRST_PROMPT, SECOND_PROMPT]
    assert stored.texts("response") == [first["result"], second["result"]]
    [(name, tool_input, output)] = tool_pairs(stored)
    assert name == "Bash" and tool_input["command"] == "ls" and "README.md" in output


def test_new_session_is_titled_with_its_branch(sandbox: Sandbox, anthropic: ModelMock) -> None:
    install(sandbox)
    ref = claude(sandbox, anthropic, "hello")["session_id"]
    titles = [line.get("customTitle") for line in transcript(sandbox, ref)
              if line.get("type") == "custom-title"]  # fmt: skip
    assert titles and set(titles) == {f"main · {sandbox.repo.name}"}, titles


def test_resume_hint_names_the_other_branch_session(sandbox: Sandbox, anthropic: ModelMock) -> None:
    install(sandbox)
    on_main = claude(sandbox, anthropic, "work on main")["session_id"]
    sandbox.switch("feature", create=True)
    on_feature = claude(sandbox, anthropic, "work on feature")["session_id"]
    assert on_feature != on_main
    assert not anthropic.received(MARKER)

    mark = anthropic.mark()
    claude(sandbox, anthropic, "back again", resume=on_main)
    assert anthropic.received(f"claude --resume {on_feature}", since=mark), sandbox.hook_log()
    assert session_of(sandbox, on_feature).boundary.branch == "feature"


def test_failed_tool_call_is_recorded_as_an_error(sandbox: Sandbox, anthropic: ModelMock) -> None:
    install(sandbox)
    ref = claude(sandbox, anthropic, "RUN: ls no-such-file")["session_id"]
    [call] = events_of(sandbox, ref, "tool_call")
    [result] = events_of(sandbox, ref, "tool_result")
    assert result["toolUseId"] == call["toolUseId"]
    assert result["isError"] is True and result["hook"] == "PostToolUseFailure"
    assert "no-such-file" in result["content"]


def test_sub_agent_work_lands_in_the_parent_session(sandbox: Sandbox, anthropic: ModelMock) -> None:
    install(sandbox)
    ref = claude(sandbox, anthropic, "AGENT: RUN: ls")["session_id"]
    [session] = sandbox.sessions(PROVIDER)
    assert session.provider_ref == ref
    calls = events_of(sandbox, ref, "tool_call")
    assert sorted(c["name"] for c in calls) == ["Agent", "Bash"]
    results = events_of(sandbox, ref, "tool_result")
    assert sorted(r["toolUseId"] for r in results) == sorted(c["toolUseId"] for c in calls)
    notes = {p["hook"]: p["text"] for p in events_of(sandbox, ref, "note")}
    assert "general-purpose" in notes["SubagentStart"]
    assert "MOCK ANSWER 1" in notes["SubagentStop"]  # the sub-agent's answer
    assert texts(events_of(sandbox, ref, "response")) == ["MOCK ANSWER 2"]


def test_uninstall_removes_exactly_what_install_added(sandbox: Sandbox) -> None:
    settings = sandbox.home / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True)
    before = {
        "model": "sonnet",
        "permissions": {"allow": ["Bash(ls:*)"]},
        "hooks": {"Stop": [{"hooks": [OTHER_HOOK]}]},
    }
    settings.write_text(json.dumps(before), "utf-8")

    install(sandbox)
    installed = json.loads(settings.read_text("utf-8"))
    assert set(installed["hooks"]) > {"SessionStart", "UserPromptSubmit", "Stop", "SessionEnd"}
    assert OTHER_HOOK in [h for g in installed["hooks"]["Stop"] for h in g["hooks"]]

    proc = sandbox.sidecar("hooks", "uninstall", PROVIDER)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(settings.read_text("utf-8")) == before
