"""One core behind every door: each door is refused the same way by the same rule.

A session an editor holds (a live connection's lease) takes appends from that
editor only. The check lives in the store's append transaction, so every door
meets it: a second editor (request and executeCommand), the CLI, an agent
hook, the MCP server and the importer. Real processes, a real database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from sidecar.importers.claude_code import project_slug
from sidecar.store import Store
from tests.e2e.conftest import Connect

pytestmark = pytest.mark.timeout(180)

HELD = "is in use by another connection"
CLI = [sys.executable, "-m", "sidecar"]


def _note(text: str) -> dict[str, Any]:
    return {"kind": "note", "actor": "agent", "payload": {"text": text}}


def _count(db: Path, session_id: str) -> int:
    with Store.open(db) as store:
        return store.sessions.get(session_id).event_count


def _run(
    args: list[str], env: dict[str, str], cwd: Path, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("editor", ["neovim"], indirect=True)
async def test_every_door_refuses_appends_to_a_session_an_editor_holds(
    connect: Connect, repo: Path, db_path: Path, server_env: dict[str, str], tmp_path: Path
) -> None:
    quiet = {"liveImport": False}  # only the importer door imports here
    holder = await connect(options=quiet)
    held = (await holder.request("sidecar/status", {}))["activeSession"]["id"]
    before = _count(db_path, held)

    # A second editor: the request and its executeCommand alias.
    other = await connect(options=quiet)
    with pytest.raises(JsonRpcException) as err:
        await other.request("sidecar/events/append", {"sessionId": held, "events": [_note("x")]})
    assert HELD in err.value.message and err.value.code == -32001
    with pytest.raises(JsonRpcException) as err:
        await other.request(
            "workspace/executeCommand",
            {
                "command": "sidecar.events.append",
                "arguments": [{"sessionId": held, "events": [_note("x")]}],
            },
        )
    assert HELD in err.value.message and err.value.code == -32001

    # The CLI.
    cli = _run([*CLI, "events", "append", "-s", held, "-k", "note", "-t", "x"], server_env, repo)
    assert cli.returncode != 0 and HELD in cli.stderr, cli.stderr

    # The MCP server.
    from tests.test_mcp import connected

    async with connected(repo, db_path) as mcp:
        result: Any = await mcp.call_tool(
            "append_events", {"session_id": held, "events": [_note("x")]}
        )
    text = "".join(getattr(part, "text", "") for part in result.content)
    assert result.is_error and HELD in text, text

    # An agent hook, for its own session after the editor took it over.
    hook_env = dict(server_env)
    hook_input = {
        "hook_event_name": "UserPromptSubmit",
        "session_id": "agent-session-1",
        "cwd": str(repo),
        "prompt": "first",
    }
    first = _run([*CLI, "hook", "claude-code"], hook_env, repo, json.dumps(hook_input))
    assert first.returncode == 0 and first.stderr == "", first.stderr
    with Store.open(db_path) as store:
        agent = store.sessions.find_by_provider_ref("claude-code", "agent-session-1")
    assert agent is not None
    taken = await holder.request(
        "sidecar/sessions/resume", {"sessionId": agent.id, "takeOver": True}
    )
    assert taken["resumed"] is True
    agent_before = _count(db_path, agent.id)
    second = _run(
        [*CLI, "hook", "claude-code"], hook_env, repo, json.dumps({**hook_input, "prompt": "two"})
    )
    assert second.returncode == 0 and HELD in second.stderr, second.stderr  # never breaks the agent
    assert _count(db_path, agent.id) == agent_before

    # The importer, for a transcript of a session the editor holds.
    home = Path(server_env["HOME"])
    project = home / ".claude" / "projects" / project_slug(repo)
    project.mkdir(parents=True, exist_ok=True)
    transcript = project / "imported-session-1.jsonl"

    def line(n: int) -> str:
        return json.dumps(
            {
                "parentUuid": None,
                "isSidechain": False,
                "type": "user",
                "sessionId": "imported-session-1",
                "uuid": f"c0000000-0000-4000-8000-00000000000{n}",
                "timestamp": f"2026-01-01T00:00:0{n}.000Z",
                "cwd": str(repo),
                "gitBranch": "main",
                "message": {"role": "user", "content": f"imported prompt {n}"},
            }
        )

    transcript.write_text(line(1) + "\n", encoding="utf-8")
    imported = _run([*CLI, "import", "claude-code", "--json"], server_env, repo)
    assert imported.returncode == 0, imported.stderr
    with Store.open(db_path) as store:
        found = store.sessions.find_by_provider_ref("claude-code", "imported-session-1")
    assert found is not None and found.event_count == 1
    taken = await holder.request(
        "sidecar/sessions/resume", {"sessionId": found.id, "takeOver": True}
    )
    assert taken["resumed"] is True
    with transcript.open("a", encoding="utf-8") as handle:
        handle.write(line(2) + "\n")
    again = _run([*CLI, "import", "claude-code", "--json"], server_env, repo)
    assert _count(db_path, found.id) == 1, again.stdout + again.stderr
    assert "held" in again.stdout + again.stderr, again.stdout + again.stderr

    assert _count(db_path, held) == before
    # The holder itself still appends.
    done = await holder.request(
        "sidecar/events/append", {"sessionId": held, "events": [_note("ok")]}
    )
    assert done["seqs"] == [before + 1]
    assert os.path.exists(db_path)
