"""Gemini CLI's hook dialect on hook inputs recorded from the real CLI (0.61).

The fixtures in tests/fixtures/hooks/gemini/ are what Gemini CLI wrote on the
hook's stdin in tests/realagents/test_gemini.py's scenario, with the scratch
HOME and repository replaced by ``<HOME>`` and ``<REPO>``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sidecar.agents import gemini
from sidecar.agents.dialect import HookInputError, Step, Warning
from sidecar.agents.hook import events_for, run
from sidecar.store import Store
from tests.gitrepo import make_repo

FIXTURES = Path(__file__).parent / "fixtures" / "hooks" / "gemini"
#: A session's hook calls in the order Gemini CLI made them.
SESSION = (
    "session_start_startup", "before_agent", "before_tool", "after_tool", "after_agent",
    "session_end", "session_start_resume", "before_agent_resume",
)  # fmt: skip
WARNING = Warning("[Session Sidecar] The git branch changed.", block=False)


def fixture(name: str, **replace: str) -> dict[str, Any]:
    """A recorded hook input; ``replace`` fills placeholders (``REPO="/path"``)."""
    text = (FIXTURES / f"{name}.json").read_text("utf-8")
    for placeholder, value in replace.items():
        text = text.replace(f"<{placeholder}>", value)
    data: dict[str, Any] = json.loads(text)
    return data


def test_session_start_gives_its_source() -> None:
    startup = gemini.parse(fixture("session_start_startup"))
    resume = gemini.parse(fixture("session_start_resume"))
    assert (startup.step, startup.source, startup.starts_fresh) == (Step.START, "startup", True)
    assert (resume.step, resume.source, resume.starts_fresh) == (Step.START, "resume", False)
    assert startup.session_id == resume.session_id == "c0031d71-f28e-4346-ae05-0f6b1da1620f"
    assert startup.cwd == "<REPO>" and startup.transcript_path is not None


def test_before_agent_is_the_prompt_and_the_only_event_that_reaches_the_model() -> None:
    hook = gemini.parse(fixture("before_agent"))
    assert (hook.step, hook.prompt, hook.carries_context) == (Step.PROMPT, "RUN: ls", True)
    others = [gemini.parse(fixture(name)) for name in SESSION if "before_agent" not in name]
    assert not any(h.carries_context for h in others)


def test_tool_call_and_result() -> None:
    call = gemini.parse(fixture("before_tool"))
    assert (call.step, call.tool_name, call.tool_input) == (
        Step.TOOL_CALL, "run_shell_command", {"command": "ls"},
    )  # fmt: skip
    result = gemini.parse(fixture("after_tool"))
    assert result.step is Step.TOOL_RESULT and not result.failed
    # What the model read (llmContent), as the chat file's functionResponse holds it.
    assert "Output: README.md" in result.tool_output
    # Gemini CLI gives its hooks no tool call id.
    assert call.tool_id is None and result.tool_id is None


def test_a_non_zero_exit_is_output_not_a_failure() -> None:
    result = gemini.parse(fixture("after_tool_exit_code"))
    assert not result.failed and "Exit Code: 2" in result.tool_output


def test_a_tool_error_is_a_failed_result() -> None:
    # The shape executeToolWithHooks passes when the tool returned an error.
    data = fixture("after_tool")
    data["tool_response"] = {
        "llmContent": "Error: spawn failed",
        "returnDisplay": "Error: spawn failed",
        "error": {"type": "shell_execute_error", "message": "spawn bash ENOENT"},
    }
    result = gemini.parse(data)
    assert (result.step, result.failed, result.tool_output) == (
        Step.TOOL_RESULT, True, "spawn bash ENOENT",
    )  # fmt: skip


def test_after_agent_is_the_answer() -> None:
    hook = gemini.parse(fixture("after_agent"))
    assert (hook.step, hook.text) == (Step.RESPONSE, "MOCK ANSWER 1")


def test_after_agent_without_text_is_a_note() -> None:
    data = {**fixture("after_agent"), "prompt_response": gemini.NO_RESPONSE}
    assert gemini.parse(data).step is Step.NOTE


def test_session_end_gives_its_reason() -> None:
    hook = gemini.parse(fixture("session_end"))
    assert (hook.step, hook.text) == (Step.END, "exit")


@pytest.mark.parametrize("drop", ["hook_event_name", "session_id"])
def test_input_without_event_or_session_is_refused(drop: str) -> None:
    data = fixture("before_agent")
    del data[drop]
    with pytest.raises(HookInputError, match=drop):
        gemini.parse(data)


def test_output_puts_the_warning_into_before_agent_context() -> None:
    hook = gemini.parse(fixture("before_agent"))
    assert gemini.output(hook, WARNING, None) == {
        "hookSpecificOutput": {"hookEventName": "BeforeAgent", "additionalContext": WARNING.text}
    }
    assert gemini.output(hook, None, "main · repo") is None


def test_output_blocks_the_prompt_in_block_mode() -> None:
    hook = gemini.parse(fixture("before_agent"))
    blocked = Warning(WARNING.text, block=True)
    assert gemini.output(hook, blocked, None) == {"decision": "block", "reason": WARNING.text}


def test_output_says_nothing_on_events_whose_output_the_model_never_reads() -> None:
    for name in ("session_start_resume", "before_tool", "after_tool", "after_agent"):
        assert gemini.output(gemini.parse(fixture(name)), WARNING, None) is None


def test_tool_events_of_one_call_get_distinct_stable_ids() -> None:
    dialect = gemini.DIALECT
    call, result = gemini.parse(fixture("before_tool")), gemini.parse(fixture("after_tool"))
    [call_event] = events_for(dialect, call, -1)
    [result_event] = events_for(dialect, result, -1)
    assert call_event.client_event_id != result_event.client_event_id
    assert call_event.client_event_id.startswith("gm:BeforeTool:")
    # The same hook input again (a retried hook) gets the same id.
    assert events_for(dialect, call, -1)[0].client_event_id == call_event.client_event_id


def test_installer_writes_milliseconds_to_the_user_settings(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"security": {"auth": {"selectedType": "gemini-api-key"}}}))
    change = gemini.INSTALLER.install(path, "session-sidecar hook gemini", timeout=7)
    assert change.changed == len(gemini.HOOK_EVENTS)
    hooks = json.loads(path.read_text("utf-8"))["hooks"]
    assert list(hooks) == list(gemini.HOOK_EVENTS)
    [[entry]] = [g["hooks"] for g in hooks["BeforeAgent"]]
    assert entry["timeout"] == 7000 and "matcher" not in hooks["BeforeAgent"][0]
    assert hooks["BeforeTool"][0]["matcher"] == "*"
    with pytest.raises(Exception, match="no 'local' scope"):
        gemini.INSTALLER.path("local")


def test_installer_follows_gemini_cli_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GEMINI_CLI_HOME", str(tmp_path))
    assert gemini.INSTALLER.path("user") == tmp_path / ".gemini" / "settings.json"


def test_recorded_session_replays_once(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    db = tmp_path / "sessions.db"
    raws = [
        json.dumps(fixture(name, REPO=str(repo), HOME=str(tmp_path / "home"))).encode()
        for name in SESSION
    ]
    with Store.open(db) as store:
        for raw in raws + raws:  # a second delivery of every call adds nothing
            run("gemini", raw, store=store)
        [session] = [s for s in store.sessions.list(limit=10).items]
        kinds = [e.kind.value for e in store.events.page(session.id, limit=100)]
    assert session.provider_ref == "c0031d71-f28e-4346-ae05-0f6b1da1620f"
    assert kinds.count("prompt") == 2 and kinds.count("response") == 1
    assert kinds.count("tool_call") == 1 and kinds.count("tool_result") == 1
    assert "drift" not in kinds
