"""Codex CLI's hook dialect on real inputs, and its installer without Codex.

The fixtures in tests/fixtures/hooks/codex/ are hook inputs the real Codex
0.169 wrote to a hook's stdin (scratch paths replaced by ``<CODEX_HOME>`` and
``<REPO>``), and the rollout lines it had written when PostToolUse ran.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from sidecar.agents.codex import (
    DIALECT,
    HOOK_EVENTS,
    SHORT_TIMEOUT_S,
    TRUST_BY_HAND,
    CodexInstaller,
    began_on,
    output,
    parse,
)
from sidecar.agents.dialect import HookEvent, HookInputError, Step, Warning
from sidecar.agents.hook import client_event_id, events_for

FIXTURES = Path(__file__).parent / "fixtures" / "hooks" / "codex"
WARNING = Warning("[Session Sidecar] The git branch changed.", block=False)
BLOCK = Warning("[Session Sidecar] The git branch changed. Blocked.", block=True)


def fixture(name: str, transcript: Path | None = None) -> dict[str, Any]:
    """A recorded hook input; ``transcript`` replaces its rollout path."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    if transcript is not None:
        data["transcript_path"] = str(transcript)
    return data


def rollout(tmp_path: Path, name: str, **changes: Any) -> Path:
    """A rollout file holding the fixture lines ``name`` (the failed call's item changed)."""
    lines = (FIXTURES / f"{name}.jsonl").read_text("utf-8").splitlines()
    if changes:
        out = []
        for line in lines:
            data = json.loads(line)
            item = data["payload"].get("item")
            if data["payload"].get("type") == "item_completed" and isinstance(item, dict):
                item.update(changes)
            out.append(json.dumps(data))
        lines = out
    path = tmp_path / f"rollout-{name}.jsonl"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def test_session_start_records_its_source_and_carries_context() -> None:
    start = parse(fixture("session-start-startup"))
    assert (start.step, start.source, start.carries_context) == (Step.START, "startup", True)
    assert start.starts_fresh
    resume = parse(fixture("session-start-resume"))
    assert (resume.source, resume.starts_fresh) == ("resume", False)
    assert resume.session_id == start.session_id
    assert start.cwd == "<REPO>"


def test_prompt_carries_context_and_its_turn() -> None:
    hook = parse(fixture("user-prompt-submit"))
    assert (hook.step, hook.prompt, hook.carries_context) == (Step.PROMPT, "RUN: ls", True)
    assert hook.turn == fixture("user-prompt-submit")["turn_id"]


def test_tool_call_and_result_share_the_call_id() -> None:
    call = parse(fixture("pre-tool-use"))
    result = parse(fixture("post-tool-use"))
    assert (call.step, call.tool_name, call.tool_input) == (
        Step.TOOL_CALL,
        "Bash",
        {"command": "ls"},
    )
    assert result.step is Step.TOOL_RESULT and result.tool_id == call.tool_id
    assert not call.carries_context and not result.carries_context
    assert client_event_id(DIALECT, call, "call", 10) == f"cx:{call.tool_id}:call"
    assert client_event_id(DIALECT, result, "result", 10) == f"cx:{call.tool_id}:result"


def test_result_is_failed_when_the_rollout_says_so(tmp_path: Path) -> None:
    transcript = rollout(tmp_path, "rollout-failed-call")
    hook = parse(fixture("post-tool-use-failed", transcript))
    assert hook.failed and not hook.denied
    assert "No such file or directory" in hook.tool_output
    [event] = events_for(DIALECT, hook, 0)
    assert event.payload["isError"] is True
    assert "No such file" in event.payload["content"]


def test_result_is_not_failed_when_the_call_completed(tmp_path: Path) -> None:
    transcript = rollout(tmp_path, "rollout-failed-call", status="completed", exit_code=0)
    assert not parse(fixture("post-tool-use-failed", transcript)).failed


def test_result_without_a_readable_rollout_is_not_failed(tmp_path: Path) -> None:
    assert not parse(fixture("post-tool-use-failed", tmp_path / "missing.jsonl")).failed
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert not parse(fixture("post-tool-use-failed", fifo)).failed  # and does not block


def test_stop_is_the_answer_and_session_end_ends() -> None:
    stop = parse(fixture("stop"))
    assert (stop.step, stop.text) == (Step.RESPONSE, "MOCK ANSWER 7")
    end = parse(fixture("session-end"))
    assert (end.step, end.text) == (Step.END, "other")


def test_sub_agent_events_are_notes_with_their_answer() -> None:
    base = {k: v for k, v in fixture("stop").items() if k != "last_assistant_message"}
    started = parse({**base, "hook_event_name": "SubagentStart", "agent_id": "a1",
                     "agent_type": "explorer"})  # fmt: skip
    assert started.step is Step.NOTE and started.text == "Codex sub-agent explorer (a1) started."
    stopped = parse({**base, "hook_event_name": "SubagentStop", "agent_id": "a1",
                     "agent_type": "explorer", "last_assistant_message": "found it"})  # fmt: skip
    assert stopped.text == "Codex sub-agent explorer (a1) stopped: found it"


def test_input_without_event_or_session_is_refused() -> None:
    with pytest.raises(HookInputError):
        parse({"session_id": "x"})
    with pytest.raises(HookInputError):
        parse({"hook_event_name": "Stop"})


def test_output_adds_context_only_where_it_reaches_the_model() -> None:
    for name in ("session-start-resume", "user-prompt-submit"):
        hook = parse(fixture(name))
        assert output(hook, WARNING, None) == {
            "hookSpecificOutput": {
                "hookEventName": hook.event,
                "additionalContext": WARNING.text,
            }
        }
    for name in ("pre-tool-use", "post-tool-use", "stop", "session-end"):
        assert output(parse(fixture(name)), WARNING, None) is None
    assert output(parse(fixture("user-prompt-submit")), None, "main · repo") is None


def test_block_mode_refuses_the_prompt_and_warns_at_start() -> None:
    prompt = parse(fixture("user-prompt-submit"))
    assert output(prompt, BLOCK, None) == {"decision": "block", "reason": BLOCK.text}
    start = parse(fixture("session-start-resume"))
    specific = output(start, BLOCK, None)
    assert specific is not None and specific["hookSpecificOutput"]["additionalContext"]


def test_began_on_reads_the_branch_of_session_meta(tmp_path: Path) -> None:
    head = rollout(tmp_path, "rollout-head")
    hook = parse(fixture("user-prompt-submit", head))
    assert began_on(hook) == "main"
    detached = tmp_path / "detached.jsonl"
    detached.write_text(head.read_text("utf-8").replace('"branch": "main"', '"branch": "HEAD"'))
    assert began_on(parse(fixture("user-prompt-submit", detached))) is None
    assert began_on(parse(fixture("user-prompt-submit", tmp_path / "none.jsonl"))) is None


# ---------------------------------------------------------------- installer, no codex


def no_codex(tmp_path: Path) -> CodexInstaller:
    """An installer whose ``codex`` cannot be run (the trust step is left to the user)."""
    return CodexInstaller(codex=str(tmp_path / "no-such-codex"))


def test_install_writes_every_event_and_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "hooks.json"
    installer = no_codex(tmp_path)
    command = "/opt/bin/session-sidecar hook codex"
    change = installer.install(path, command, timeout=10)
    assert change.changed == len(HOOK_EVENTS) and change.backup is None
    assert any(TRUST_BY_HAND in note for note in change.notes)
    hooks = json.loads(path.read_text("utf-8"))["hooks"]
    assert set(hooks) == set(HOOK_EVENTS)
    # Codex clamps SessionEnd's timeout (and says so on every run): written clamped.
    assert hooks["SessionEnd"][0]["hooks"][0]["timeout"] == SHORT_TIMEOUT_S
    assert hooks["Stop"][0]["hooks"][0] == {"type": "command", "command": command, "timeout": 10}
    assert hooks["PreToolUse"][0]["matcher"] == "*"
    again = installer.install(path, command, timeout=10)
    assert again.changed == 0 and again.backup is None


def test_uninstall_keeps_other_hooks_and_backs_up(tmp_path: Path) -> None:
    path = tmp_path / "hooks.json"
    other = {"type": "command", "command": "notify-send done", "timeout": 5}
    before = {"hooks": {"Stop": [{"hooks": [other]}]}, "other": True}
    path.write_text(json.dumps(before), "utf-8")
    installer = no_codex(tmp_path)
    installer.install(path, "session-sidecar hook codex", timeout=10)
    change = installer.uninstall(path)
    assert change.changed == len(HOOK_EVENTS) and change.backup is not None
    assert json.loads(path.read_text("utf-8")) == before


def test_install_refuses_an_invalid_file(tmp_path: Path) -> None:
    from sidecar.agents.hook_settings import SettingsError

    path = tmp_path / "hooks.json"
    path.write_text("{not json", "utf-8")
    with pytest.raises(SettingsError, match="not valid JSON"):
        no_codex(tmp_path).install(path, "session-sidecar hook codex", timeout=10)
    assert path.read_text("utf-8") == "{not json"


def test_only_user_scope() -> None:
    from sidecar.agents.hook_settings import SettingsError

    with pytest.raises(SettingsError, match="user"):
        CodexInstaller().path("local")


def test_dialect_names() -> None:
    assert (DIALECT.provider, DIALECT.id_prefix) == ("codex", "cx")
    assert DIALECT.resume_hint("abc") == "codex resume abc"
    assert isinstance(parse(fixture("stop")), HookEvent)
