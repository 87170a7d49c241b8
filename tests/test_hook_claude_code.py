"""Claude Code's dialect on hook inputs recorded from the real CLI (2.1.328).

The fixtures in tests/fixtures/hooks/claude-code/ are what the real
``claude -p`` passed on stdin (scratch paths replaced by ``<HOME>`` and
``<REPO>``); tests/realagents/test_claude_code.py runs the CLI itself.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sidecar.agents.claude_code import DIALECT, HOOK_EVENTS
from sidecar.agents.dialect import Step, Warning

FIXTURES = Path(__file__).parent / "fixtures" / "hooks" / "claude-code"
WARNING = Warning("[Session Sidecar] The git branch changed.", block=False)


def recorded(name: str) -> dict[str, Any]:
    """One recorded hook input."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return data


def test_every_recorded_event_is_installed() -> None:
    events = {recorded(path.stem)["hook_event_name"] for path in FIXTURES.glob("*.json")}
    assert events <= set(HOOK_EVENTS)


def test_resume_start_carries_context_and_resumes() -> None:
    hook = DIALECT.parse(recorded("session-start-resume"))
    assert hook.step is Step.START and hook.source == "resume"
    assert hook.carries_context and not hook.starts_fresh
    assert DIALECT.output(hook, WARNING, None) == {
        "hookSpecificOutput": {"hookEventName": "SessionStart", "additionalContext": WARNING.text}
    }


def test_prompt_carries_context_and_blocks_in_block_mode() -> None:
    hook = DIALECT.parse(recorded("user-prompt-submit"))
    assert hook.step is Step.PROMPT and hook.prompt == "AGENT: RUN: ls" and hook.carries_context
    blocked = DIALECT.output(hook, Warning("stop", block=True), None)
    assert blocked == {"decision": "block", "reason": "stop"}


def test_tool_result_and_failure() -> None:
    ok = DIALECT.parse(recorded("post-tool-use"))
    assert ok.step is Step.TOOL_RESULT and not ok.failed
    assert ok.tool_id == "toolu_mock0001" and ok.tool_output["stdout"] == "README.md"
    failed = DIALECT.parse(recorded("post-tool-use-failure"))
    assert failed.step is Step.TOOL_RESULT and failed.failed and not failed.denied
    assert "No such file or directory" in failed.tool_output
    # Tool hooks' output does not reach the model: nothing is printed there.
    assert not ok.carries_context and DIALECT.output(ok, WARNING, None) is None


def test_sub_agent_start_and_stop_are_notes_with_its_answer() -> None:
    start = DIALECT.parse(recorded("subagent-start"))
    assert start.step is Step.NOTE
    assert start.text == "Sub-agent general-purpose (a9e0fb1cd1bccbe19) started."
    stop = DIALECT.parse(recorded("subagent-stop"))
    assert stop.step is Step.NOTE and stop.text is not None
    assert stop.text.endswith("finished: MOCK ANSWER 1")
    # The sub-agent's tool calls come with the parent's session id.
    call = DIALECT.parse(recorded("subagent-pre-tool-use"))
    assert call.step is Step.TOOL_CALL and call.session_id == start.session_id


def test_stop_is_the_answer_and_session_end_ends() -> None:
    stop = DIALECT.parse(recorded("stop"))
    assert stop.step is Step.RESPONSE and stop.text == "MOCK ANSWER 2"
    end = DIALECT.parse(recorded("session-end"))
    assert end.step is Step.END and end.text == "other"
