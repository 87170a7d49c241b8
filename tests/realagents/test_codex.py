"""The real Codex CLI, offline against a model mock, with the sidecar's hooks installed.

Each run is ``codex exec --json ...`` (or ``codex exec resume <id> ...``) in a
scratch HOME on a real git repository; ``~/.codex/config.toml`` points Codex
at the mock (:mod:`tests.realagents.api_openai_responses`), the only server
it talks to. ``hooks install codex`` runs with the real ``codex`` on PATH, so
it does Codex's trust step itself: an untrusted hook would be skipped without
a word and every assertion on recorded events would fail. "The warning
reached the model" is checked in the requests the mock logged.
"""

from __future__ import annotations

import json
import os
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.realagents import api_openai_responses
from tests.realagents.imported import (
    added_after_uninstall,
    check_merge,
    imported_alone,
    tool_pairs,
)
from tests.realagents.mockmodel import ModelMock
from tests.realagents.sandbox import Sandbox, agent_binary

PROVIDER = "codex"
MARKER = "[Session Sidecar]"
FIRST_PROMPT = "RUN: ls"
SECOND_PROMPT = "What changed?"
THIRD_PROMPT = "And now?"
#: The hook events ``hooks install codex`` writes.
OUR_EVENTS = {
    "SessionStart", "UserPromptSubmit", "PreToolUse", "PostToolUse", "SubagentStart",
    "SubagentStop", "Stop", "SessionEnd",
}  # fmt: skip
#: A hook of the user's own, which install and uninstall must leave alone.
OTHER_HOOK = {"type": "command", "command": "echo other-tool", "timeout": 5}


@pytest.fixture
def responses(mock: ModelMock) -> ModelMock:
    """The mock speaking the OpenAI Responses API."""
    return api_openai_responses.register(mock)


def codex_config(mock: ModelMock) -> str:
    """``config.toml``: the mock as the model provider, every background call turned off."""
    return (
        'model = "gpt-mock"\n'
        'model_provider = "mock"\n'
        "check_for_update_on_startup = false\n"
        "\n[model_providers.mock]\n"
        'name = "mock"\n'
        f'base_url = "{mock.url}/v1"\n'
        'wire_api = "responses"\n'
        'env_key = "MOCK_OPENAI_KEY"\n'
        "\n[analytics]\nenabled = false\n"
        '\n[otel]\nexporter = "none"\n'
    )


def codex_world(sandbox: Sandbox, mock: ModelMock) -> Path:
    """Point Codex at the mock and put the real ``codex`` on PATH; returns ``~/.codex``."""
    codex = agent_binary("codex")
    home = sandbox.home / ".codex"
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(codex_config(mock), "utf-8")
    # `hooks install codex` asks this codex for the hooks' trust hashes.
    sandbox.env["PATH"] = os.pathsep.join([str(Path(codex).parent), sandbox.env["PATH"]])
    sandbox.env.update(
        {
            "MOCK_OPENAI_KEY": "sk-mock",
            "OTEL_SDK_DISABLED": "true",
            "CODEX_INTERNAL_APP_SERVER_REMOTE_CONTROL_DISABLED": "1",
            # Anything that is not the mock goes to a closed port instead of the network.
            "HTTPS_PROXY": "http://127.0.0.1:9",
            "HTTP_PROXY": "http://127.0.0.1:9",
            "NO_PROXY": "127.0.0.1,localhost",
        }
    )
    return home


def codex(sandbox: Sandbox, prompt: str, *, resume: str | None = None) -> list[dict[str, Any]]:
    """One headless turn (``exec resume <id>`` when given); returns the ``--json`` events."""
    argv = [agent_binary("codex"), "exec", "--json"]
    argv += ["resume", resume, prompt] if resume is not None else [prompt]
    proc = sandbox.run(argv)
    assert proc.returncode == 0, f"codex failed: {proc.stdout}\n{proc.stderr}"
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert any(e.get("type") == "turn.completed" for e in events), proc.stdout
    return events


def thread_of(events: list[dict[str, Any]]) -> str:
    [ref] = {e["thread_id"] for e in events if e.get("type") == "thread.started"}
    return str(ref)


def answers_of(events: list[dict[str, Any]]) -> list[str]:
    """The agent's answers in a run's ``--json`` events."""
    return [
        e["item"]["text"]
        for e in events
        if e.get("type") == "item.completed" and e["item"].get("type") == "agent_message"
    ]


def install(sandbox: Sandbox) -> str:
    """``hooks install codex`` as a user would run it; returns what it printed."""
    proc = sandbox.install_hooks(PROVIDER)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout + proc.stderr


def session_of(sandbox: Sandbox, ref: str) -> Any:
    """The one sidecar session recorded for Codex session ``ref``."""
    found = [s for s in sandbox.sessions(PROVIDER) if s.provider_ref == ref]
    assert len(found) == 1, (ref, found, sandbox.hook_log())
    return found[0]


def events_of(sandbox: Sandbox, ref: str, kind: str) -> list[dict[str, Any]]:
    """The payloads of the session's events of ``kind``."""
    session = session_of(sandbox, ref)
    return [e.payload for e in sandbox.events(session.id) if e.kind.value == kind]


def texts(payloads: list[dict[str, Any]], key: str = "text") -> list[Any]:
    return [p.get(key) for p in payloads]


def trust_state(home: Path) -> dict[str, Any]:
    """``[hooks.state]`` of Codex's config.toml."""
    config = tomllib.loads((home / "config.toml").read_text("utf-8"))
    state: dict[str, Any] = config.get("hooks", {}).get("state", {})
    return state


@pytest.mark.timeout(300)
def test_resume_after_switch_warns_the_model_and_records_once(
    sandbox: Sandbox, responses: ModelMock
) -> None:
    codex_world(sandbox, responses)
    install(sandbox)
    first = codex(sandbox, FIRST_PROMPT)
    ref = thread_of(first)
    assert answers_of(first) == ["MOCK ANSWER 1"]
    assert not responses.received(MARKER), "warned before the branch changed"

    sandbox.switch("feature", create=True)
    mark = responses.mark()
    second = codex(sandbox, SECOND_PROMPT, resume=ref)
    assert thread_of(second) == ref
    assert responses.received("now on branch 'feature'", since=mark), sandbox.hook_log()
    assert responses.received("began on branch 'main'", since=mark)
    # The context reaches the model as a developer message of the resumed conversation.
    [request] = [r.body for r in responses.requests[mark:] if r.path == "/v1/responses"]
    developer = [
        i for i in request["input"]
        if i.get("role") == "developer" and MARKER in json.dumps(i)
    ]  # fmt: skip
    assert developer, request["input"]
    assert "error" not in sandbox.hook_log()

    [session] = sandbox.sessions(PROVIDER)
    assert session.provider_ref == ref and session.boundary.branch == "main"
    assert texts(events_of(sandbox, ref, "prompt")) == [FIRST_PROMPT, SECOND_PROMPT]
    [call] = events_of(sandbox, ref, "tool_call")
    assert call["name"] == "Bash" and call["input"]["command"] == "ls"
    [result] = events_of(sandbox, ref, "tool_result")
    assert result["toolUseId"] == call["toolUseId"] and "README.md" in result["content"]
    assert "isError" not in result
    assert texts(events_of(sandbox, ref, "response")) == answers_of(first) + answers_of(second)
    [drift] = events_of(sandbox, ref, "drift")
    assert "feature" in json.dumps(drift)
    starts = [p for p in events_of(sandbox, ref, "note") if p.get("hook") == "SessionStart"]
    assert [p.get("source") for p in starts] == ["startup", "resume"]
    ends = [p for p in events_of(sandbox, ref, "note") if p.get("hook") == "SessionEnd"]
    assert len(ends) == 2
    # Codex's own rollout of the same runs merges into the hook's session.
    merged = check_merge(sandbox, PROVIDER, ref)
    # A turn after `hooks uninstall` is only in the rollout: the import adds it.
    sandbox.sidecar("hooks", "uninstall", PROVIDER)
    third = codex(sandbox, THIRD_PROMPT, resume=ref)
    added = added_after_uninstall(sandbox, PROVIDER, merged)
    assert added == [("prompt", THIRD_PROMPT)] + [("response", a) for a in answers_of(third)]


@pytest.mark.timeout(300)
def test_import_alone_finds_the_whole_session(sandbox: Sandbox, responses: ModelMock) -> None:
    codex_world(sandbox, responses)
    began = datetime.now(UTC)
    first = codex(sandbox, FIRST_PROMPT)
    ref = thread_of(first)
    sandbox.switch("feature", create=True)
    second = codex(sandbox, SECOND_PROMPT, resume=ref)

    stored = imported_alone(sandbox, PROVIDER, ref, began)
    assert stored.texts("prompt") == [FIRST_PROMPT, SECOND_PROMPT]
    assert stored.texts("response") == answers_of(first) + answers_of(second)
    # The rollout names the shell tool as the model called it (the hooks say Bash).
    [(name, tool_input, output)] = tool_pairs(stored)
    assert name == "exec_command" and tool_input["cmd"] == "ls" and "README.md" in output


@pytest.mark.timeout(300)
def test_failed_tool_call_is_recorded_as_an_error(sandbox: Sandbox, responses: ModelMock) -> None:
    codex_world(sandbox, responses)
    install(sandbox)
    ref = thread_of(codex(sandbox, "RUN: ls no-such-file"))
    [call] = events_of(sandbox, ref, "tool_call")
    [result] = events_of(sandbox, ref, "tool_result")
    assert result["toolUseId"] == call["toolUseId"]
    assert result["isError"] is True and result["hook"] == "PostToolUse"
    assert "no-such-file" in result["content"]


@pytest.mark.timeout(300)
def test_install_trusts_exactly_our_hooks(sandbox: Sandbox, responses: ModelMock) -> None:
    home = codex_world(sandbox, responses)
    hooks = home / "hooks.json"
    hooks.write_text(json.dumps({"hooks": {"Stop": [{"hooks": [OTHER_HOOK]}]}}), "utf-8")

    printed = install(sandbox)
    assert "trusted 8 session-sidecar hooks" in printed, printed
    state = trust_state(home)
    assert len(state) == len(OUR_EVENTS)
    # Keys are "<hooks.json>:<event>:<group>:<handler>"; the user's Stop hook is group 0.
    assert f"{hooks}:stop:0:0" not in state and f"{hooks}:stop:1:0" in state
    assert all(entry["trusted_hash"].startswith("sha256:") for entry in state.values())

    again = install(sandbox)
    assert "already installed" in again and "already trusts" in again, again
    assert trust_state(home) == state


@pytest.mark.timeout(300)
def test_install_without_codex_on_path_explains_the_trust_step(sandbox: Sandbox) -> None:
    folders = sandbox.env["PATH"].split(os.pathsep)
    sandbox.env["PATH"] = os.pathsep.join(
        f for f in folders if not os.access(Path(f) / "codex", os.X_OK)
    )
    printed = install(sandbox)
    assert "/hooks" in printed and "trust" in printed, printed
    hooks = json.loads((sandbox.home / ".codex" / "hooks.json").read_text("utf-8"))
    assert set(hooks["hooks"]) == OUR_EVENTS


@pytest.mark.timeout(300)
def test_uninstall_removes_exactly_what_install_added(
    sandbox: Sandbox, responses: ModelMock
) -> None:
    home = codex_world(sandbox, responses)
    hooks = home / "hooks.json"
    before = {"hooks": {"Stop": [{"hooks": [OTHER_HOOK]}]}}
    hooks.write_text(json.dumps(before), "utf-8")
    # The user trusted their own hook before; that entry must survive.
    config = home / "config.toml"
    theirs = f'\n[hooks.state."{hooks}:stop:0:0"]\ntrusted_hash = "sha256:theirs"\n'
    config.write_text(config.read_text("utf-8") + theirs, "utf-8")
    settings_before = tomllib.loads(config.read_text("utf-8"))

    install(sandbox)
    assert len(trust_state(home)) == 1 + len(OUR_EVENTS)

    proc = sandbox.sidecar("hooks", "uninstall", PROVIDER)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(hooks.read_text("utf-8")) == before
    assert tomllib.loads(config.read_text("utf-8")) == settings_before
