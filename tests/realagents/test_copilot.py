"""The real GitHub Copilot CLI, offline against the model mock, with the sidecar's hooks.

A headless run on ``main`` asks for a tool call; the branch changes; a resume
of the same Copilot session must carry the drift warning to the model (it is
found in a request the mock received) and the database must hold the
session's prompts, tool call, result, answers and the drift once each.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.realagents import api_openai_chat
from tests.realagents.imported import (
    added_after_uninstall,
    check_merge,
    imported_alone,
    tool_pairs,
)
from tests.realagents.mockmodel import ModelMock
from tests.realagents.sandbox import Sandbox, agent_binary

PROVIDER = "copilot"
WARNING = "now on branch 'feature'"
MARKER = "[Session Sidecar]"


def copilot_env(sandbox: Sandbox, mock: ModelMock) -> dict[str, str]:
    """Copilot CLI offline against the mock: no login, telemetry, update or tool download."""
    return {
        "COPILOT_HOME": str(sandbox.home / ".copilot"),
        "COPILOT_OFFLINE": "true",
        "COPILOT_AUTO_UPDATE": "false",
        "COPILOT_PROVIDER_TYPE": "openai",
        "COPILOT_PROVIDER_BASE_URL": f"{mock.url}/v1",
        "COPILOT_PROVIDER_API_KEY": "mock-key",
        "COPILOT_MODEL": api_openai_chat.MODEL,
        "USE_TGREP": "false",
    }


def copilot(
    sandbox: Sandbox, mock: ModelMock, prompt: str, *, resume: str | None = None
) -> list[dict[str, Any]]:
    """One headless ``copilot -p`` run (or a resume); its JSON lines. Fails on a failed run."""
    argv = [
        agent_binary("copilot"), "-p", prompt, "--allow-all-tools", "--output-format", "json",
        "--no-auto-update", "--disable-client-telemetry",
    ]  # fmt: skip
    if resume is not None:
        argv += ["--resume", resume]
    proc = sandbox.run(argv, env=copilot_env(sandbox, mock))
    assert proc.returncode == 0, f"copilot failed ({proc.returncode}): {proc.stderr[-4000:]}"
    lines = []
    for raw in proc.stdout.splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


def session_id(lines: list[dict[str, Any]]) -> str:
    """The Copilot session id the run's ``result`` line reports."""
    ids = {line["sessionId"] for line in lines if line.get("type") == "result"}
    assert len(ids) == 1, f"expected one result line with a sessionId, got {ids}"
    return ids.pop()


def events_of_kind(events: list[Any], kind: str) -> list[Any]:
    return [e for e in events if str(getattr(e.kind, "value", e.kind)) == kind]


def new_sandbox_with_hooks(sandbox: Sandbox, mock: ModelMock) -> None:
    """The chat routes on the mock and the sidecar's hooks in Copilot's settings."""
    api_openai_chat.register(mock)
    installed = sandbox.install_hooks(PROVIDER)
    assert "installed" in installed.stdout, installed.stdout


@pytest.mark.timeout(300)
def test_resume_after_switch_warns_the_model_and_records_once(
    sandbox: Sandbox, mock: ModelMock
) -> None:
    new_sandbox_with_hooks(sandbox, mock)

    first = copilot(sandbox, mock, "RUN: ls")
    ref = session_id(first)
    assert mock.received("RUN: ls"), "the first prompt never reached the mock"
    assert not mock.received(MARKER), "a warning reached the model before the branch changed"

    sandbox.switch("feature", create=True)
    mark = mock.mark()
    second = copilot(sandbox, mock, "What changed?", resume=ref)
    assert session_id(second) == ref, "the resume started another Copilot session"
    assert mock.received(WARNING, since=mark, path="/chat/completions"), (
        f"the drift warning never reached the model; hook log:\n{sandbox.hook_log()}"
    )

    sessions = sandbox.sessions(PROVIDER)
    assert [s.provider_ref for s in sessions] == [ref], sessions
    events = sandbox.events(sessions[0].id)
    prompts = [e.payload.get("text") for e in events_of_kind(events, "prompt")]
    assert prompts == ["RUN: ls", "What changed?"], prompts
    calls = events_of_kind(events, "tool_call")
    results = events_of_kind(events, "tool_result")
    assert len(calls) == 1 and len(results) == 1, (calls, results)
    assert calls[0].payload.get("name") == "bash", calls[0].payload
    assert "ls" in json.dumps(calls[0].payload.get("input")), calls[0].payload
    # The ids Copilot gives the call in its transcript, as the importer keys them.
    assert calls[0].client_event_id.startswith("cp:call_mock"), calls[0].client_event_id
    call_id = calls[0].client_event_id.removesuffix(":call")
    assert results[0].client_event_id == f"{call_id}:result", results[0].client_event_id
    answers = [e.payload.get("text") for e in events_of_kind(events, "response")]
    assert answers == ["MOCK ANSWER 1", "MOCK ANSWER 2"], answers
    assert len(events_of_kind(events, "drift")) == 1, [e.kind for e in events]
    assert "error" not in sandbox.hook_log(), sandbox.hook_log()
    # Copilot's own events.jsonl of the same runs merges into the hook's session.
    merged = check_merge(sandbox, PROVIDER, ref)
    # A turn after `hooks uninstall` is only in events.jsonl: the import adds it.
    sandbox.sidecar("hooks", "uninstall", PROVIDER)
    copilot(sandbox, mock, "And now?", resume=ref)
    added = added_after_uninstall(sandbox, PROVIDER, merged)
    assert added == [("prompt", "And now?"), ("response", "MOCK ANSWER 3")], added


@pytest.mark.timeout(300)
def test_import_alone_finds_the_whole_session(sandbox: Sandbox, mock: ModelMock) -> None:
    api_openai_chat.register(mock)
    began = datetime.now(UTC)
    ref = session_id(copilot(sandbox, mock, "RUN: ls"))
    sandbox.switch("feature", create=True)
    copilot(sandbox, mock, "What changed?", resume=ref)

    stored = imported_alone(sandbox, PROVIDER, ref, began)
    assert stored.texts("prompt") == ["RUN: ls", "What changed?"]
    assert stored.texts("response") == ["MOCK ANSWER 1", "MOCK ANSWER 2"]
    [(name, tool_input, output)] = tool_pairs(stored)
    assert name == "bash" and tool_input["command"] == "ls" and "README.md" in output
    # Copilot records the branch at every resume: the switch is in the history.
    [change] = stored.kind("branch_change")
    assert (change.payload["from"], change.payload["to"]) == ("main", "feature")


@pytest.mark.timeout(300)
def test_uninstall_removes_exactly_what_install_added(sandbox: Sandbox) -> None:
    settings = sandbox.home / ".copilot" / "settings.json"
    settings.parent.mkdir(parents=True)
    theirs = {
        "model": "some-model",
        "hooks": {"sessionStart": [{"type": "command", "bash": "echo mine", "timeoutSec": 5}]},
    }
    settings.write_text(json.dumps(theirs), encoding="utf-8")
    sandbox.env["COPILOT_HOME"] = str(settings.parent)

    sandbox.install_hooks(PROVIDER)
    installed = json.loads(settings.read_text(encoding="utf-8"))
    assert installed["model"] == "some-model"
    assert "userPromptSubmitted" in installed["hooks"]
    again = sandbox.install_hooks(PROVIDER)
    assert "already installed" in again.stdout, again.stdout

    sandbox.sidecar("hooks", "uninstall", PROVIDER)
    assert json.loads(settings.read_text(encoding="utf-8")) == theirs
