"""opencode's hook dialect on real inputs, and its plugin installer without opencode.

The fixtures in tests/fixtures/hooks/opencode/ are what the sidecar's plugin,
running inside the real opencode 1.18.33, wrote to the hook's stdin (the
scratch repository replaced by ``<REPO>``); ``tool_failed`` is a bash call a
permission rule refused.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sidecar.agents.dialect import HookEvent, HookInputError, Step, Warning
from sidecar.agents.hook import client_event_id, events_for
from sidecar.agents.hook_settings import SettingsError
from sidecar.agents.opencode import (
    DIALECT,
    INSTALLER,
    MARKER,
    output,
    parse,
    plugin_path,
    plugin_source,
)

FIXTURES = Path(__file__).parent / "fixtures" / "hooks" / "opencode"
WARNING = Warning("[Session Sidecar] The git branch changed.", block=False)
BLOCK = Warning("[Session Sidecar] The git branch changed. Blocked.", block=True)
COMMAND = "/opt/bin/session-sidecar hook opencode"


def fixture(name: str) -> dict[str, Any]:
    """A recorded hook input."""
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return data


def event(name: str) -> HookEvent:
    return parse(fixture(name))


def test_new_and_resumed_sessions_start_and_carry_context() -> None:
    created, resumed = event("session_created"), event("session_resumed")
    assert (created.step, created.source, created.starts_fresh) == (Step.START, "startup", True)
    assert (resumed.step, resumed.source, resumed.starts_fresh) == (Step.START, "resume", False)
    assert created.carries_context and resumed.carries_context
    assert created.session_id == resumed.session_id == "ses_dc9d3805cffeSba1ez3jpmtuPL"
    assert created.cwd == "<REPO>"


def test_prompt_carries_context_and_its_message_id() -> None:
    prompt = event("chat_message")
    assert (prompt.step, prompt.prompt) == (Step.PROMPT, '"RUN: ls"')
    assert prompt.carries_context
    assert prompt.turn == "msg_2362c817d001QsOsOpKqGcT41N"


def test_tool_call_and_result_share_opencodes_call_id() -> None:
    call, result = event("tool_execute_before"), event("tool_execute_after")
    assert (call.step, call.tool_name, call.tool_id) == (Step.TOOL_CALL, "bash", "call_mock_3")
    assert call.tool_input == {"command": "ls", "description": "Run ls"}
    assert (result.step, result.tool_output, result.failed) == (
        Step.TOOL_RESULT,
        "README.md\n",
        False,
    )
    assert not call.carries_context and not result.carries_context
    # The importer of opencode's database gives the same call the same ids.
    assert client_event_id(DIALECT, call, "call", -1) == "oc:call_mock_3:call"
    assert client_event_id(DIALECT, result, "result", -1) == "oc:call_mock_3:result"


def test_refused_tool_call_is_a_failed_denied_result() -> None:
    failed = event("tool_failed")
    assert (failed.step, failed.failed, failed.denied) == (Step.TOOL_RESULT, True, True)
    assert "specified a rule" in failed.tool_output
    [recorded] = events_for(DIALECT, failed, -1)
    assert recorded.payload["isError"] is True and recorded.payload["denied"] is True


def test_a_tool_error_is_failed_but_not_denied() -> None:
    data = {**fixture("tool_failed"), "error": "Error: command not found"}
    failed = parse(data)
    assert (failed.failed, failed.denied) == (True, False)


def test_completed_text_is_the_answer_and_exit_ends() -> None:
    answer, end = event("text_complete"), event("process_exit")
    assert (answer.step, answer.text) == (Step.RESPONSE, "MOCK ANSWER 2")
    assert answer.turn == "prt_2362ca070001KSRLSKWja3H59x"
    assert (end.step, end.text) == (Step.END, "exit")


def test_repeated_calls_keep_one_id_and_resumes_of_two_processes_two() -> None:
    prompt = event("chat_message")
    assert client_event_id(DIALECT, prompt, "prompt", -1) == client_event_id(
        DIALECT, event("chat_message"), "prompt", -1
    )
    resumed = fixture("session_resumed")
    again = parse({**resumed, "process": "1-2"})
    assert client_event_id(DIALECT, event("session_resumed"), "note", -1) != client_event_id(
        DIALECT, again, "note", -1
    )


def test_sub_agent_session_is_a_start_and_a_note_on_its_parent() -> None:
    child = parse({**fixture("session_created"), "parent_session_id": "ses_parent"})
    assert child.step is Step.START and child.text == "sub-agent session of ses_parent"
    note = parse(
        {
            "hook_event_name": "subagent.started",
            "session_id": "ses_parent",
            "subagent_session_id": "ses_child",
            "title": "explore (@explore subagent)",
        }
    )
    assert note.step is Step.NOTE and note.session_id == "ses_parent"
    assert note.text == "opencode started sub-agent session ses_child: explore (@explore subagent)"


def test_input_without_event_or_session_is_refused() -> None:
    with pytest.raises(HookInputError, match="hook_event_name"):
        parse({"session_id": "ses_x"})
    with pytest.raises(HookInputError, match="session_id"):
        parse({"hook_event_name": "chat.message"})


def test_output_adds_context_only_where_the_plugin_passes_it_on() -> None:
    for name in ("session_created", "session_resumed", "chat_message"):
        hook = event(name)
        assert output(hook, WARNING, None) == {
            "hookSpecificOutput": {
                "hookEventName": hook.event,
                "additionalContext": WARNING.text,
            }
        }
    for name in ("tool_execute_before", "tool_execute_after", "text_complete"):
        assert output(event(name), WARNING, None) is None
    assert output(event("chat_message"), None, "main · repo") is None


def test_block_mode_refuses_the_prompt_and_warns_at_resume() -> None:
    assert output(event("chat_message"), BLOCK, None) == {
        "decision": "block",
        "reason": BLOCK.text,
    }
    resumed = output(event("session_resumed"), BLOCK, None)
    assert resumed is not None and "decision" not in resumed


def test_plugin_is_valid_javascript_with_the_command_quoted(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node is not None, "node is needed to check the plugin (and to install the agents)"
    command = "/opt/my tools/session-sidecar' hook opencode"
    source = plugin_source(command, 10)
    assert source.startswith(MARKER)
    assert json.dumps(command) in source and "const TIMEOUT_MS = 10000" in source
    path = tmp_path / "session-sidecar.mjs"
    path.write_text(source, "utf-8")
    check = subprocess.run([node, "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_install_writes_the_plugin_once(tmp_path: Path) -> None:
    path = tmp_path / "plugin" / "session-sidecar.js"
    first = INSTALLER.install(path, COMMAND, timeout=10)
    assert (first.changed, first.backup) == (1, None)
    assert path.read_text("utf-8") == plugin_source(COMMAND, 10)
    assert INSTALLER.install(path, COMMAND, timeout=10).changed == 0
    moved = INSTALLER.install(path, "/usr/bin/session-sidecar hook opencode", timeout=10)
    assert moved.changed == 1 and moved.backup is None
    assert list(path.parent.iterdir()) == [path]


def test_install_backs_up_a_foreign_file_and_uninstall_leaves_one(tmp_path: Path) -> None:
    path = tmp_path / "session-sidecar.js"
    path.write_text("export const Mine = async () => ({})\n", "utf-8")
    kept = INSTALLER.uninstall(path)
    assert kept.changed == 0 and path.exists() and kept.notes
    change = INSTALLER.install(path, COMMAND, timeout=10)
    assert change.backup is not None
    assert change.backup.read_text("utf-8") == "export const Mine = async () => ({})\n"
    removed = INSTALLER.uninstall(path)
    assert removed.changed == 1 and not path.exists() and change.backup.exists()
    assert INSTALLER.uninstall(path).changed == 0


def test_install_refuses_an_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "session-sidecar.js"
    path.write_bytes(b"\xff\xfe not text")
    with pytest.raises(SettingsError, match="cannot read"):
        INSTALLER.install(path, COMMAND, timeout=10)


def test_plugin_paths_and_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert plugin_path("user") == tmp_path / "config" / "opencode" / "plugin" / "session-sidecar.js"
    assert INSTALLER.path("local", tmp_path) == (
        tmp_path.resolve() / ".opencode" / "plugin" / "session-sidecar.js"
    )
    with pytest.raises(SettingsError):
        INSTALLER.path("system")
    assert INSTALLER.is_ours(COMMAND) and not INSTALLER.is_ours("session-sidecar hook codex")
    assert INSTALLER.scopes == ("user", "local")


def test_dialect_names() -> None:
    assert (DIALECT.provider, DIALECT.id_prefix) == ("opencode", "oc")
    assert DIALECT.resume_hint("ses_1") == "opencode --session ses_1"
