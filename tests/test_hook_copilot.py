"""Copilot CLI's hook dialect on real hook inputs (captured from @github/copilot 1.0.102)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sidecar.agents import copilot
from sidecar.agents.dialect import HookInputError, Step, Warning

FIXTURES = Path(__file__).parent / "fixtures" / "hooks" / "copilot"
SESSION = "10d8e2ce-47af-44b4-a21e-e64d68dd393a"


def load(name: str, transcript: Path | None = None) -> dict[str, Any]:
    text = (FIXTURES / f"{name}.json").read_text(encoding="utf-8")
    text = text.replace("{REPO}", "/work/repo").replace("{TRANSCRIPT}", str(transcript or ""))
    data: dict[str, Any] = json.loads(text)
    return data


def write_transcript(home: Path, lines: list[dict[str, Any]]) -> Path:
    """An events.jsonl in Copilot's layout under ``home`` (COPILOT_HOME)."""
    path = home / "session-state" / SESSION / "events.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def line(kind: str, **data: Any) -> dict[str, Any]:
    return {"type": kind, "data": data, "id": "x", "timestamp": "2026-12-02T09:48:28.000Z"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("COPILOT_HOME", str(tmp_path))
    monkeypatch.setattr(copilot, "TRANSCRIPT_WAIT_S", 0.0)
    return tmp_path


def test_each_real_input_is_told_by_its_fields() -> None:
    expected = {
        "sessionStart": "sessionStart",
        "sessionStart-resume": "sessionStart",
        "userPromptSubmitted": "userPromptSubmitted",
        "preToolUse": "preToolUse",
        "postToolUse": "postToolUse",
        "agentStop": "agentStop",
        "sessionEnd": "sessionEnd",
    }
    for name, event in expected.items():
        assert copilot.event_of(load(name)) == event, name


def test_start_prompt_and_end(home: Path) -> None:
    start = copilot.parse(load("sessionStart"))
    assert (start.step, start.source, start.starts_fresh) == (Step.START, "new", True)
    assert start.session_id == SESSION and start.cwd == "/work/repo"
    resume = copilot.parse(load("sessionStart-resume"))
    assert (resume.source, resume.starts_fresh) == ("resume", False)
    prompt = copilot.parse(load("userPromptSubmitted"))
    assert (prompt.step, prompt.prompt, prompt.turn) == (Step.PROMPT, "RUN: ls", "1796204908739")
    end = copilot.parse(load("sessionEnd"))
    assert (end.step, end.text, end.carries_context) == (Step.END, "complete", False)


def test_tool_call_and_result_get_copilots_call_id(home: Path) -> None:
    args = {"command": "ls", "description": "Run ls"}
    pre = load("preToolUse")
    post = load("postToolUse")
    write_transcript(
        home,
        [
            line("tool.execution_start", toolCallId="call_1", toolName="bash", arguments=args),
            line("hook.start", hookType="preToolUse",
                 input={"toolCalls": [{"id": "call_1", "name": "bash", "args": args}]}),
            line("hook.start", hookType="postToolUse", input={"timestamp": post["timestamp"]}),
        ],
    )  # fmt: skip
    call = copilot.parse(pre)
    assert (call.step, call.tool_name, call.tool_input, call.tool_id) == (
        Step.TOOL_CALL, "bash", args, "call_1",
    )  # fmt: skip
    result = copilot.parse(post)
    assert (result.step, result.tool_id, result.failed) == (Step.TOOL_RESULT, "call_1", False)
    assert result.tool_output == "\n<shellId: 0 completed with exit code 0>"


def test_no_transcript_no_id(home: Path) -> None:
    assert copilot.parse(load("preToolUse")).tool_id is None


def test_failed_tool_is_a_failed_result(home: Path) -> None:
    data = {**load("preToolUse"), "error": "command not found"}
    result = copilot.parse(data)
    assert (result.step, result.failed, result.tool_output) == (
        Step.TOOL_RESULT, True, "command not found",
    )  # fmt: skip


def test_agent_stop_reads_this_turns_answer(home: Path) -> None:
    data = load("agentStop")
    path = write_transcript(
        home,
        [
            line("user.message", content="RUN: ls"),
            line("assistant.message", content="", toolRequests=[]),
            line("assistant.message", content="MOCK ANSWER 1"),
            line("hook.start", hookType="agentStop", input={"timestamp": data["timestamp"]}),
        ],
    )
    stop = copilot.parse(load("agentStop", path))
    assert (stop.step, stop.text) == (Step.RESPONSE, "MOCK ANSWER 1")


def test_agent_stop_before_the_file_caught_up_records_no_stale_answer(home: Path) -> None:
    # The previous turn's answer is on disk, this stop's own start is not yet.
    path = write_transcript(
        home, [line("user.message", content="one"), line("assistant.message", content="OLD")]
    )
    stop = copilot.parse(load("agentStop", path))
    assert (stop.step, stop.text) == (Step.NOTE, "end_turn")


def test_context_events_and_output() -> None:
    warning = Warning("[Session Sidecar] moved", block=False)
    for name in ("sessionStart", "userPromptSubmitted"):
        hook = copilot.parse(load(name))
        assert hook.carries_context, name
        assert copilot.output(hook, warning, "title") == {"additionalContext": warning.text}
        assert copilot.output(hook, None, "title") is None
    # Tool hooks are recorded without a policy check (and so without a warning).
    for name in ("preToolUse", "postToolUse", "sessionEnd"):
        assert not copilot.parse(load(name)).carries_context, name


def test_block_mode_refuses_the_prompt_only() -> None:
    blocked = Warning("[Session Sidecar] moved", block=True)
    prompt = copilot.parse(load("userPromptSubmitted"))
    assert copilot.output(prompt, blocked, None) == {"decision": "block", "reason": blocked.text}
    start = copilot.parse(load("sessionStart"))
    assert copilot.output(start, blocked, None) == {"additionalContext": blocked.text}


def test_unknown_input_is_refused() -> None:
    with pytest.raises(HookInputError):
        copilot.parse({"sessionId": SESSION, "whatever": 1})


def test_began_on_reads_session_start_branch(home: Path) -> None:
    write_transcript(home, [line("session.start", context={"branch": "main"})])
    assert copilot.began_on(copilot.parse(load("userPromptSubmitted"))) == "main"


def test_installer_writes_camel_case_events_without_matcher(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    copilot.INSTALLER.install(path, "session-sidecar hook copilot", timeout=10)
    hooks = json.loads(path.read_text(encoding="utf-8"))["hooks"]
    assert list(hooks) == list(copilot.HOOK_EVENTS)
    assert hooks["preToolUse"] == [
        {"hooks": [{"type": "command", "command": "session-sidecar hook copilot", "timeout": 10}]}
    ]
