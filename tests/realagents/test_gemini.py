"""The real Gemini CLI, offline against a model mock, with the sidecar's hooks installed.

Each run is ``gemini -p ... --output-format json --approval-mode yolo`` (the
shell tool is offered headless only in yolo mode) in a scratch HOME on a real
git repository; the mock (:mod:`tests.realagents.api_gemini_api`) is the only
server it talks to. "The warning reached the model" is checked in the
requests the mock logged, nothing less.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.realagents import api_gemini_api
from tests.realagents.imported import (
    added_after_uninstall,
    check_merge,
    imported_alone,
    tool_pairs,
)
from tests.realagents.mockmodel import ModelMock
from tests.realagents.sandbox import Sandbox, agent_binary

PROVIDER = "gemini"
MARKER = "[Session Sidecar]"
FIRST_PROMPT = "RUN: ls"
SECOND_PROMPT = "What changed?"
THIRD_PROMPT = "RUN: git status"
CONVERSATION = "streamGenerateContent"
#: A hook the sidecar never installs: the uninstall test's other tool.
OTHER_HOOK = {"type": "command", "command": "echo other-tool", "timeout": 5000}
#: What Gemini CLI needs to run headless on an API key, with every background call off.
#: The test's setup, not the installer's: a user has these already.
BASE_SETTINGS: dict[str, Any] = {
    "security": {"auth": {"selectedType": "gemini-api-key"}},
    "general": {"enableAutoUpdate": False, "enableAutoUpdateNotification": False},
    "privacy": {"usageStatisticsEnabled": False},
    "telemetry": {"enabled": False},
}


@pytest.fixture
def gemini_api(mock: ModelMock) -> ModelMock:
    """The mock speaking the Gemini API."""
    return api_gemini_api.register(mock)


def configure(sandbox: Sandbox, settings: dict[str, Any] | None = None) -> None:
    """Gemini CLI's settings (API-key auth, no updates or statistics) and the repository
    trusted in the scratch HOME, as a user would have them before installing hooks."""
    folder = sandbox.home / ".gemini"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.json").write_text(json.dumps(settings or BASE_SETTINGS), "utf-8")
    trusted = {str(sandbox.repo): "TRUST_FOLDER"}
    (folder / "trustedFolders.json").write_text(json.dumps(trusted), "utf-8")


def install(sandbox: Sandbox) -> None:
    """``hooks install gemini`` into the scratch HOME's ~/.gemini/settings.json."""
    proc = sandbox.install_hooks(PROVIDER)
    assert proc.returncode == 0, proc.stderr


def gemini_env(mock: ModelMock) -> dict[str, str]:
    """Gemini CLI pointed at the mock, telemetry off."""
    return {
        "GOOGLE_GEMINI_BASE_URL": mock.url,
        "GEMINI_API_KEY": "gemini-mock-key",
        "GEMINI_TELEMETRY_ENABLED": "false",
    }


def gemini(
    sandbox: Sandbox,
    mock: ModelMock,
    prompt: str,
    *,
    resume: str | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One headless turn (``-r`` a session when given); returns the CLI's JSON result."""
    argv = [agent_binary("gemini"), "-p", prompt, "--output-format", "json"]
    argv += ["--approval-mode", "yolo"]
    if resume is not None:
        argv += ["-r", resume]
    proc = sandbox.run(argv, env={**gemini_env(mock), **(env or {})})
    assert proc.returncode == 0, f"gemini failed: {proc.stdout}\n{proc.stderr}"
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


def session_of(sandbox: Sandbox, ref: str) -> Any:
    """The one sidecar session recorded for Gemini CLI session ``ref``."""
    found = [s for s in sandbox.sessions(PROVIDER) if s.provider_ref == ref]
    assert len(found) == 1, (ref, found, sandbox.hook_log())
    return found[0]


def events_of(sandbox: Sandbox, ref: str, kind: str) -> list[dict[str, Any]]:
    """The payloads of the session's events of ``kind``."""
    session = session_of(sandbox, ref)
    return [e.payload for e in sandbox.events(session.id) if e.kind.value == kind]


def texts(payloads: list[dict[str, Any]], key: str = "text") -> list[Any]:
    return [p.get(key) for p in payloads]


def newest_user_parts(mock: ModelMock, since: int) -> list[str]:
    """The text parts of the newest user message of each conversation request from ``since``."""
    found = []
    for body in mock.bodies(since, CONVERSATION):
        contents = json.loads(body)["contents"]
        user = [c for c in contents if c.get("role") == "user"][-1]
        found += [p["text"] for p in user["parts"] if "text" in p]
    return found


def first_turn(sandbox: Sandbox, mock: ModelMock) -> str:
    """Hooks installed, one session on ``main`` with a shell call; no warning yet. Its id."""
    configure(sandbox)
    install(sandbox)
    first = gemini(sandbox, mock, FIRST_PROMPT)
    assert first["response"].startswith("MOCK ANSWER"), first
    assert not mock.received(MARKER), "warned before the branch changed"
    ref: str = first["session_id"]
    return ref


@pytest.mark.timeout(300)
def test_resume_after_switch_warns_the_model_and_records_once(
    sandbox: Sandbox, gemini_api: ModelMock
) -> None:
    ref = first_turn(sandbox, gemini_api)
    [first_answer] = texts(events_of(sandbox, ref, "response"))

    sandbox.switch("feature", create=True)
    mark = gemini_api.mark()
    second = gemini(sandbox, gemini_api, SECOND_PROMPT, resume=ref)
    assert second["session_id"] == ref
    assert gemini_api.received("now on branch 'feature'", since=mark), sandbox.hook_log()
    assert gemini_api.received("began on branch 'main'", since=mark)
    # BeforeAgent's context is a part of the user's message, after the prompt itself.
    parts = newest_user_parts(gemini_api, mark)
    assert parts[:1] == [SECOND_PROMPT], parts
    assert any(p.startswith(f"<hook_context>{MARKER}") for p in parts), parts
    # The resumed history still holds the first prompt (SessionStart context would drop it).
    assert gemini_api.received(FIRST_PROMPT, since=mark, path=CONVERSATION)

    [session] = sandbox.sessions(PROVIDER)
    assert session.provider_ref == ref and session.boundary.branch == "main"
    assert texts(events_of(sandbox, ref, "prompt")) == [FIRST_PROMPT, SECOND_PROMPT]
    [call] = events_of(sandbox, ref, "tool_call")
    assert call["name"] == "run_shell_command" and call["input"] == {"command": "ls"}
    [result] = events_of(sandbox, ref, "tool_result")
    assert result["name"] == "run_shell_command" and "README.md" in result["content"]
    assert "isError" not in result
    assert texts(events_of(sandbox, ref, "response")) == [first_answer, second["response"]]
    [drift] = events_of(sandbox, ref, "drift")
    assert "feature" in json.dumps(drift)
    starts = [p for p in events_of(sandbox, ref, "note") if p.get("hook") == "SessionStart"]
    assert [p.get("source") for p in starts] == ["startup", "resume"]
    ends = [p for p in events_of(sandbox, ref, "note") if p.get("hook") == "SessionEnd"]
    assert len(ends) == 2
    # Gemini CLI's own chat of the same runs merges into the hook's session, though its
    # tool events carry Gemini's call ids (gm:<callId>) and the hook's none.
    merged = check_merge(sandbox, PROVIDER, ref)
    # A turn after `hooks uninstall` is only in the chat: the import adds it, its tool
    # call and result too (later than anything the hook recorded).
    sandbox.sidecar("hooks", "uninstall", PROVIDER)
    third = gemini(sandbox, gemini_api, THIRD_PROMPT, resume=ref)
    added = added_after_uninstall(sandbox, PROVIDER, merged)
    assert added == [
        ("prompt", THIRD_PROMPT),
        ("tool_call", "run_shell_command"),
        ("tool_result", "run_shell_command"),
        ("response", third["response"]),
    ], added


@pytest.mark.timeout(300)
def test_import_alone_finds_the_whole_session(sandbox: Sandbox, gemini_api: ModelMock) -> None:
    configure(sandbox)
    began = datetime.now(UTC)
    first = gemini(sandbox, gemini_api, FIRST_PROMPT)
    ref = first["session_id"]
    sandbox.switch("feature", create=True)
    second = gemini(sandbox, gemini_api, SECOND_PROMPT, resume=ref)

    stored = imported_alone(sandbox, PROVIDER, ref, began)
    assert stored.texts("prompt") == [FIRST_PROMPT, SECOND_PROMPT]
    assert stored.texts("response") == [first["response"], second["response"]]
    [(name, tool_input, output)] = tool_pairs(stored)
    assert name == "run_shell_command" and tool_input == {"command": "ls"}
    assert "README.md" in output


@pytest.mark.timeout(300)
def test_block_mode_refuses_the_prompt_after_a_switch(
    sandbox: Sandbox, gemini_api: ModelMock
) -> None:
    ref = first_turn(sandbox, gemini_api)

    sandbox.switch("feature", create=True)
    mark = gemini_api.mark()
    gemini(sandbox, gemini_api, SECOND_PROMPT, resume=ref, env={"SIDECAR_HOOK_MODE": "block"})
    assert not gemini_api.bodies(mark, CONVERSATION), "the blocked prompt reached the model"
    prompts = events_of(sandbox, ref, "prompt")
    assert texts(prompts) == [FIRST_PROMPT, SECOND_PROMPT]
    assert prompts[1].get("blocked") is True
    assert len(events_of(sandbox, ref, "drift")) == 1


@pytest.mark.timeout(300)
def test_uninstall_removes_exactly_what_install_added(sandbox: Sandbox) -> None:
    before = {**BASE_SETTINGS, "hooks": {"AfterAgent": [{"hooks": [OTHER_HOOK]}]}}
    configure(sandbox, before)
    settings = sandbox.home / ".gemini" / "settings.json"

    install(sandbox)
    installed = json.loads(settings.read_text("utf-8"))
    hooks = installed["hooks"]
    assert set(hooks) == {
        "SessionStart", "BeforeAgent", "BeforeTool", "AfterTool", "AfterAgent", "SessionEnd",
    }  # fmt: skip
    ours = [h for g in hooks["BeforeAgent"] for h in g["hooks"]]
    assert [h["timeout"] for h in ours] == [10_000]  # milliseconds
    assert OTHER_HOOK in [h for g in hooks["AfterAgent"] for h in g["hooks"]]
    install(sandbox)
    assert json.loads(settings.read_text("utf-8")) == installed, "a second install changed it"

    proc = sandbox.sidecar("hooks", "uninstall", PROVIDER)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(settings.read_text("utf-8")) == before
