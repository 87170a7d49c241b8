"""The real opencode CLI, offline against the model mock, with the sidecar's plugin installed.

opencode has no hook commands: ``hooks install opencode`` writes a plugin
that runs ``session-sidecar hook opencode``. One session on ``main`` with a
tool call; ``git switch -c feature``; the same session resumed headless
(``opencode run --session <id>``): the warning must be in a request the mock
received after the switch, and in none before.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.realagents.api_opencode_api import MODEL, register
from tests.realagents.imported import (
    added_after_uninstall,
    check_merge,
    imported_alone,
    tool_pairs,
)
from tests.realagents.mockmodel import ModelMock
from tests.realagents.sandbox import Sandbox, agent_binary

PROVIDER = "opencode"
WARNING = "now on branch 'feature'"
OTHER_SETTINGS = {"$schema": "https://opencode.ai/config.json", "autoupdate": False}


def configure(sandbox: Sandbox, mock: ModelMock) -> dict[str, str]:
    """opencode's config (the mock as its only provider) and the env of an offline run."""
    register(mock)
    config = {
        **OTHER_SETTINGS,
        "share": "disabled",
        "model": f"mock/{MODEL}",
        "provider": {
            "mock": {
                "npm": "@ai-sdk/openai-compatible",
                "name": "Mock",
                "options": {"baseURL": f"{mock.url}/v1", "apiKey": "mock-key"},
                "models": {MODEL: {"name": "Mock model", "tool_call": True}},
            }
        },
    }
    path = config_file(sandbox)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return {
        # Each start runs `npm install @opencode-ai/plugin`: a loopback registry that
        # answers 404 fails it at once instead of after ~70 s of retries.
        "npm_config_registry": f"{mock.url}/npm/",
        "OPENCODE_DISABLE_MODELS_FETCH": "1",
        "OPENCODE_DISABLE_AUTOUPDATE": "1",
        "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
        "OPENCODE_DISABLE_SHARE": "1",
        "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
    }


def config_file(sandbox: Sandbox) -> Path:
    return sandbox.home / ".config" / "opencode" / "opencode.json"


def plugin_file(sandbox: Sandbox) -> Path:
    return sandbox.home / ".config" / "opencode" / "plugin" / "session-sidecar.js"


def opencode(sandbox: Sandbox, env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    """``opencode run --format json ...`` in the repository; its JSON lines."""
    proc = sandbox.run([agent_binary("opencode"), "run", "--format", "json", *args], env=env)
    assert proc.returncode == 0, f"opencode failed: {proc.stderr[-3000:]}"
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"opencode printed no JSON: {proc.stdout[-2000:]} {proc.stderr[-2000:]}"
    return lines


def resume_on_feature(
    sandbox: Sandbox, mock: ModelMock, env: dict[str, str], *args: str
) -> tuple[str, int, Any]:
    """A session on main with a tool call, ``git switch -c feature``, then ``args`` resumed."""
    session = session_of(opencode(sandbox, env, "RUN: ls"))
    assert not mock.received("[Session Sidecar]"), "a warning before any branch change"
    sandbox.switch("feature", create=True)
    mark = mock.mark()
    proc = sandbox.run(
        [agent_binary("opencode"), "run", "--format", "json", "--session", session, *args], env=env
    )
    return session, mark, proc


def session_of(lines: list[dict[str, Any]]) -> str:
    ids = {line["sessionID"] for line in lines if isinstance(line.get("sessionID"), str)}
    assert len(ids) == 1, f"expected one opencode session, got {ids}"
    return ids.pop()


def kinds(events: list[Any], kind: str) -> list[Any]:
    return [e for e in events if e.kind.value == kind]


@pytest.mark.timeout(300)
def test_resumed_session_after_switch_is_warned_in_model_context(
    sandbox: Sandbox, mock: ModelMock
) -> None:
    env = configure(sandbox, mock)
    sandbox.install_hooks(PROVIDER)

    session, mark, proc = resume_on_feature(sandbox, mock, env, "second prompt")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert mock.received(WARNING, since=mark, path="/chat/completions"), sandbox.hook_log()

    sessions = sandbox.sessions(PROVIDER)
    assert [s.provider_ref for s in sessions] == [session]
    events = sandbox.events(sessions[0].id)
    prompts = [e.payload["text"] for e in kinds(events, "prompt")]
    assert len(prompts) == 2 and "RUN: ls" in prompts[0] and "second prompt" in prompts[1]
    calls = kinds(events, "tool_call")
    results = kinds(events, "tool_result")
    assert [(c.payload["name"], c.payload["input"]["command"]) for c in calls] == [("bash", "ls")]
    assert [r.payload["toolUseId"] for r in results] == [calls[0].payload["toolUseId"]]
    assert "README.md" in results[0].payload["content"], "ls output of the repository"
    answers = [e.payload["text"] for e in kinds(events, "response")]
    assert len(answers) == 2 and all(a.startswith("MOCK ANSWER") for a in answers), answers
    drift = kinds(events, "drift")
    assert len(drift) == 1 and drift[0].payload["after"]["branch"] == "feature"
    sources = [e.payload.get("source") for e in kinds(events, "note") if e.payload.get("source")]
    assert sources == ["startup", "resume"]
    # opencode's own database of the same runs merges into the plugin's session.
    merged = check_merge(sandbox, PROVIDER, session)
    # A turn after `hooks uninstall` is only in the database: the import adds it.
    sandbox.sidecar("hooks", "uninstall", PROVIDER)
    opencode(sandbox, env, "--session", session, "third prompt")
    [(prompt_kind, prompt), (answer_kind, answer)] = added_after_uninstall(
        sandbox, PROVIDER, merged
    )
    assert (prompt_kind, prompt) == ("prompt", '"third prompt"')
    assert answer_kind == "response" and answer.startswith("MOCK ANSWER"), answer


@pytest.mark.timeout(300)
def test_import_alone_finds_the_whole_session(sandbox: Sandbox, mock: ModelMock) -> None:
    env = configure(sandbox, mock)
    began = datetime.now(UTC)
    session, _, proc = resume_on_feature(sandbox, mock, env, "second prompt")
    assert proc.returncode == 0, proc.stderr[-3000:]

    stored = imported_alone(sandbox, PROVIDER, session, began)
    # `opencode run` quotes each argument holding a space in the message it sends.
    assert stored.texts("prompt") == ['"RUN: ls"', '"second prompt"']
    answers = stored.texts("response")
    assert len(answers) == 2 and all(a.startswith("MOCK ANSWER") for a in answers), answers
    [(name, tool_input, output)] = tool_pairs(stored)
    assert name == "bash" and tool_input["command"] == "ls" and "README.md" in output


@pytest.mark.timeout(300)
def test_block_mode_refuses_the_resumed_prompt(sandbox: Sandbox, mock: ModelMock) -> None:
    env = configure(sandbox, mock)
    sandbox.install_hooks(PROVIDER)
    _, mark, proc = resume_on_feature(
        sandbox, mock, {**env, "SIDECAR_HOOK_MODE": "block"}, "blocked prompt"
    )
    assert proc.returncode != 0 and "blocked by Session Sidecar" in proc.stderr
    assert not mock.bodies(since=mark, path="/chat/completions"), "the model was asked"
    [recorded] = sandbox.sessions(PROVIDER)
    prompts = kinds(sandbox.events(recorded.id), "prompt")
    assert [p.payload.get("blocked") for p in prompts] == [None, True]


@pytest.mark.timeout(120)
def test_uninstall_removes_only_the_plugin(sandbox: Sandbox, mock: ModelMock) -> None:
    configure(sandbox, mock)
    other = plugin_file(sandbox).with_name("other.js")
    other.parent.mkdir(parents=True, exist_ok=True)
    other.write_text("export const Other = async () => ({})\n", encoding="utf-8")
    settings = config_file(sandbox).read_text(encoding="utf-8")

    sandbox.install_hooks(PROVIDER)
    installed = plugin_file(sandbox).read_text(encoding="utf-8")
    assert "hook opencode" in installed
    assert "already installed" in sandbox.install_hooks(PROVIDER).stdout
    assert plugin_file(sandbox).read_text(encoding="utf-8") == installed

    sandbox.sidecar("hooks", "uninstall", PROVIDER)
    assert not plugin_file(sandbox).exists()
    assert sorted(p.name for p in other.parent.iterdir()) == ["other.js"]
    assert config_file(sandbox).read_text(encoding="utf-8") == settings
