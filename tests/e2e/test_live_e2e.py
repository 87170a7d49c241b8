"""Other writers and hard limits, end to end through the real server process.

- Another process appending to the same database (the CLI, a hook, a second
  editor) makes the server send ``sidecar/historyChanged``.
- An agent transcript written under the (temp) tool home is imported live.
- An oversized payload, a full database and a read-only database each give
  a clear error, and the server keeps answering.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from pygls.exceptions import JsonRpcException

from sidecar.core.models import Boundary, NewEvent
from sidecar.importers.claude_code import project_slug
from sidecar.store import Store
from tests.e2e.conftest import stop_client
from tests.e2e.drifthelp import DriftClient, start_client
from tests.gitrepo import isolate_git_config

pytestmark = pytest.mark.timeout(60)

CLAUDE_ID = "11111111-1111-4111-8111-111111111111"
CLAUDE_FIXTURE = (
    Path(__file__).parent.parent
    / "fixtures" / "agents" / "claude" / "projects" / "-home-u-app" / f"{CLAUDE_ID}.jsonl"
)  # fmt: skip

Start = Callable[..., Awaitable[DriftClient]]


@pytest.fixture
def env(server_env: dict[str, str], home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The servers' environment: tool homes under the temp HOME only."""
    isolate_git_config(monkeypatch, home)
    return {k: v for k, v in server_env.items() if k not in ("CLAUDE_CONFIG_DIR", "CODEX_HOME")}


@pytest.fixture
async def start(env: dict[str, str]) -> AsyncIterator[Start]:
    """Start servers (``extra_env`` adds variables); all are stopped afterwards."""
    clients: list[DriftClient] = []

    async def _start(
        folders: list[Path], *, extra_env: dict[str, str] | None = None, **kw: Any
    ) -> DriftClient:
        client = await start_client(folders, {**env, **(extra_env or {})}, **kw)
        clients.append(client)
        return client

    yield _start
    for client in clients:
        await stop_client(client)


async def _error(client: DriftClient, method: str, params: dict[str, Any]) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as err:
        await client.request(method, params)
    return err.value


# ---------------------------------------------------------------------- other writers


async def test_an_append_by_another_process_is_announced(
    start: Start, repo: Path, db_path: Path, env: dict[str, str]
) -> None:
    # Were the server polling instead of watching the database, an hour would pass first.
    client = await start([repo], extra_env={"SIDECAR_EXTERNAL_POLL_SECONDS": "3600"})
    assert not any("noticed every" in n for n in (await client.status())["notices"])
    session = await client.active()
    boundary = Boundary.model_validate(session["boundary"])
    with Store.open(db_path) as other:
        # A session no connection holds (the editor's own refuses other writers).
        free = other.sessions.create(boundary, name="from a script")

    history = client.expect(
        "sidecar/historyChanged", lambda p: p["sessionId"] == free.id and p["lastSeq"] == 1
    )
    cli = subprocess.run(
        [sys.executable, "-m", "sidecar", "events", "append", "--db", str(db_path),
         "--session", free.id, "--kind", "note", "--text", "from the CLI", "--json"],
        env=env, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert cli.returncode == 0, cli.stderr
    await history

    # A Store in this process (a hook would do the same): a new session, then its events.
    with Store.open(db_path) as other:
        started = other.sessions.create(boundary, name="from a hook")
        announced = client.expect(
            "sidecar/historyChanged", lambda p: p["sessionId"] == started.id and p["lastSeq"] == 2
        )
        other.events.append(
            started.id,
            [NewEvent(kind="prompt", payload={"text": f"hook {i}"}) for i in range(2)],
            holder=None,
        )
    await announced
    events = await client.events(started.id)
    assert [e["payload"]["text"] for e in events] == ["hook 0", "hook 1"]


async def test_a_claude_code_transcript_is_imported_live(
    start: Start, repo: Path, home: Path
) -> None:
    project = home / ".claude" / "projects" / project_slug(repo)
    project.mkdir(parents=True)
    text = CLAUDE_FIXTURE.read_text(encoding="utf-8").replace(
        '"/home/u/app"', json.dumps(str(repo))
    )
    lines = text.splitlines(keepends=True)
    client = await start([repo])

    imported = client.expect("sidecar/historyChanged", lambda p: p["lastSeq"] > 0)
    (project / f"{CLAUDE_ID}.jsonl").write_text("".join(lines[:4]), encoding="utf-8")
    first = await imported
    listed = await client.request("sidecar/sessions/list", {"scope": "all"})
    session = next(s for s in listed["items"] if s["id"] == first["sessionId"])
    assert session["boundary"]["provider"] == "claude-code"
    assert len(await client.events(first["sessionId"])) == first["lastSeq"]

    more = client.expect(
        "sidecar/historyChanged",
        lambda p: p["sessionId"] == first["sessionId"] and p["lastSeq"] > first["lastSeq"],
    )
    with (project / f"{CLAUDE_ID}.jsonl").open("a", encoding="utf-8") as handle:
        handle.write("".join(lines[4:]))
    grown = await more
    assert len(await client.events(first["sessionId"])) == grown["lastSeq"]


async def test_two_editors_on_one_repository_import_each_line_once(
    start: Start, repo: Path, home: Path, db_path: Path
) -> None:
    project = home / ".claude" / "projects" / project_slug(repo)
    project.mkdir(parents=True)
    text = CLAUDE_FIXTURE.read_text(encoding="utf-8").replace(
        '"/home/u/app"', json.dumps(str(repo))
    )
    lines = text.splitlines(keepends=True)
    first = await start([repo])
    second = await start([repo])
    transcript = project / f"{CLAUDE_ID}.jsonl"
    for size in (3, 6, len(lines)):
        seen = [
            client.expect("sidecar/historyChanged", lambda p: p["lastSeq"] > 0)
            for client in (first, second)
        ]
        transcript.write_text("".join(lines[:size]), encoding="utf-8")
        await asyncio.gather(*seen)
    # Both servers watch; one imports. Wait until the last line is in, then count.
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        with Store.open(db_path) as store:
            found = store.sessions.find_by_provider_ref("claude-code", CLAUDE_ID)
            listed = store.sessions.list(provider="claude-code", limit=10).items
            events = store.events.page(found.id, limit=1000) if found is not None else []
        last = _last_uuid(lines)
        if found is not None and any(
            (e.client_event_id or "").startswith(f"{last}:") for e in events
        ):
            break
        assert asyncio.get_running_loop().time() < deadline, "the last line was never imported"
        await asyncio.sleep(0.1)
    assert len(listed) == 1
    ids = [e.client_event_id for e in events]
    assert None not in ids and len(ids) == len(set(ids)), "a line was imported twice"
    assert found is not None and found.event_count == len(events) > 0


def _last_uuid(lines: list[str]) -> str | None:
    for line in reversed(lines):
        try:
            data = json.loads(line)
        except ValueError:
            continue  # the fixture ends with a line cut short, as a crash leaves it
        if data.get("uuid"):
            return str(data["uuid"])
    return None


async def test_live_import_follows_the_setting(start: Start, repo: Path, home: Path) -> None:
    project = home / ".claude" / "projects" / project_slug(repo)
    project.mkdir(parents=True)
    text = CLAUDE_FIXTURE.read_text(encoding="utf-8").replace(
        '"/home/u/app"', json.dumps(str(repo))
    )
    client = await start([repo], options={"liveImport": False})
    session = await client.active()
    (project / f"{CLAUDE_ID}.jsonl").write_text(text, encoding="utf-8")
    # Nothing to await for "not imported": a bounded wait well past the importer's
    # 0.1 s debounce and the 0.3 s cross-process poll.
    await asyncio.sleep(1.0)
    listed = await client.request("sidecar/sessions/list", {"scope": "all"})
    assert [s["id"] for s in listed["items"]] == [session["id"]]

    imported = client.expect("sidecar/historyChanged", lambda p: p["sessionId"] != session["id"])
    client.notify("workspace/didChangeConfiguration", {"settings": {"liveImport": True}})
    await imported
    listed = await client.request("sidecar/sessions/list", {"scope": "all"})
    assert len(listed["items"]) == 2


# ---------------------------------------------------------------------- limits


async def test_an_oversized_payload_is_refused_and_nothing_of_the_batch_is_stored(
    start: Start, repo: Path
) -> None:
    client = await start([repo], options={"maxPayloadBytes": 1000})
    session = await client.active()
    before = session["eventCount"]
    events = [
        {"kind": "note", "payload": {"text": "small"}},
        {"kind": "tool_result", "payload": {"output": "x" * 2000}},
    ]
    error = await _error(client, "sidecar/events/append", {"events": events})
    assert error.code == -32602
    assert "events[1].payload" in str(error) and "1000 bytes" in str(error)
    assert (await client.active())["eventCount"] == before
    ok = await client.request("sidecar/events/append", {"events": events[:1]})
    assert ok["seqs"] == [before + 1]


async def test_the_default_payload_limit_is_one_mebibyte(start: Start, repo: Path) -> None:
    client = await start([repo], editor="neovim@v0.11")
    big = {"kind": "tool_result", "payload": {"output": "y" * (1024 * 1024)}}
    error = await _error(client, "sidecar/events/append", {"events": [big]})
    assert error.code == -32602 and "events[0].payload" in str(error)
    assert "1048576" in str(error)
    assert (await client.status())["activeSession"] is not None


async def test_a_full_database_is_a_clear_error_and_reads_go_on(start: Start, repo: Path) -> None:
    client = await start([repo], extra_env={"SIDECAR_DB_MAX_PAGES": "80"})
    session = await client.active()
    chunk = {"kind": "tool_result", "payload": {"output": "z" * 100_000}}
    error: JsonRpcException | None = None
    stored = 0
    for _ in range(10):
        try:
            await client.request("sidecar/events/append", {"events": [chunk]})
            stored += 1
        except JsonRpcException as exc:
            error = exc
            break
    assert error is not None, "the capped database never filled up"
    assert "full" in str(error) and "cleanup" in str(error)
    assert stored >= 1
    status = await client.status()
    assert status["activeSession"]["id"] == session["id"]
    assert len(await client.events(session["id"], "tool_result")) == stored


async def test_a_read_only_database_serves_history_and_refuses_writes(
    start: Start, repo: Path, db_path: Path
) -> None:
    with Store.open(db_path) as seed:
        boundary = Boundary(
            repository=str(repo), worktree=str(repo), branch="main", requester="x", machine="m"
        )
        old = seed.sessions.create(boundary, name="recorded earlier")
        seed.events.append(
            old.id, [NewEvent(kind="prompt", payload={"text": "hello"})], holder=None
        )
    client = await start([repo], extra_env={"SIDECAR_DB_READONLY": "1"})
    status = await client.status()
    assert status["activeSession"] is None and status["watcherMode"] == "off"
    listed = await client.request("sidecar/sessions/list", {"scope": "all"})
    assert [s["id"] for s in listed["items"]] == [old.id]
    assert (await client.events(old.id))[0]["payload"]["text"] == "hello"
    error = await _error(
        client, "sidecar/events/append", {"events": [{"kind": "note"}], "sessionId": old.id}
    )
    assert "read-only" in str(error)
    warned = [m.message for m in client.lsp.messages]
    assert any("read-only" in message for message in warned), warned
    assert (await client.status())["version"]
