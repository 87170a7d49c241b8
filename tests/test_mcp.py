"""The MCP server through the SDK's own stdio client: real processes, real git, real SQLite."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import psutil
import pytest
from mcp.client.session import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

from sidecar.store import Store
from tests.gitrepo import make_repo, switch

pytestmark = pytest.mark.timeout(120)

SERVER = [sys.executable, "-m", "sidecar.agents.mcp_server"]
CALL_TIMEOUT_S = 30


def _params(repo: Path, db: Path) -> StdioServerParameters:
    return StdioServerParameters(
        command=SERVER[0],
        args=SERVER[1:],
        cwd=str(repo),
        env={"SIDECAR_DB": str(db), "GIT_CONFIG_NOSYSTEM": "1"},
    )


@asynccontextmanager
async def connected(repo: Path, db: Path) -> AsyncIterator[ClientSession]:
    """A client session over stdio to a fresh server process."""
    with open(os.devnull, "w") as errlog:
        async with (
            stdio_client(_params(repo, db), errlog=errlog) as (read, write),
            ClientSession(read, write, read_timeout_seconds=CALL_TIMEOUT_S) as session,
        ):
            await session.initialize()
            yield session


async def call(session: ClientSession, tool: str, **arguments: Any) -> dict[str, Any]:
    """Call a tool; its structured result (errors fail the test with the server's message)."""
    result: Any = await session.call_tool(tool, arguments)
    text = "".join(getattr(part, "text", "") for part in result.content)
    assert not result.is_error, text
    if result.structured_content is not None:
        return dict(result.structured_content)
    return dict(json.loads(text))


def note(cid: str, text: str) -> dict[str, Any]:
    return {"kind": "note", "actor": "agent", "payload": {"text": text}, "clientEventId": cid}


def server_processes() -> list[psutil.Process]:
    """Our MCP server children (the SDK does not expose the process it spawned)."""
    me = psutil.Process()
    return [
        p
        for p in me.children(recursive=True)
        if "sidecar.agents.mcp_server" in " ".join(p.cmdline())
    ]


async def test_tools_are_listed(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    async with connected(repo, tmp_path / "s.db") as session:
        listed = await session.list_tools()
    assert {t.name for t in listed.tools} >= {
        "start_session",
        "resume_session",
        "append_events",
        "list_sessions",
        "get_history",
        "check_drift",
    }


async def test_kill_mid_stream_then_resume_and_resend_keeps_seqs_contiguous(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path)
    db = tmp_path / "s.db"
    batch_one = [note(f"e{i}", f"first {i}") for i in range(1, 6)]
    batch_two = [note(f"e{i}", f"second {i}") for i in range(6, 11)]

    # First connection: start, append, then the server dies while a batch is in flight.
    with pytest.raises(BaseException):  # noqa: B017 - whatever the SDK raises on a dead pipe
        async with connected(repo, db) as session:
            started = await call(session, "start_session", name="mcp work")
            session_id = started["session"]["id"]
            first = await call(session, "append_events", events=batch_one, session_id=session_id)
            assert first["seqs"] == [1, 2, 3, 4, 5]
            (server,) = server_processes()
            async with anyio.create_task_group() as group:
                group.start_soon(
                    lambda: call(session, "append_events", events=batch_two, session_id=session_id)
                )
                server.kill()
                server.wait(timeout=10)
    assert server_processes() == []

    # Second connection: resume, re-send the unacknowledged batch, then append more.
    async with connected(repo, db) as session:
        resumed = await call(session, "resume_session", session_id=session_id)
        assert resumed["resumed"] is True, resumed
        assert resumed["warning"] is None
        assert resumed["session"]["id"] == session_id
        again = await call(session, "append_events", events=batch_two)
        assert again["sessionId"] == session_id
        assert again["seqs"] == [6, 7, 8, 9, 10]
        # A retry of the very first batch changes nothing.
        retry = await call(session, "append_events", events=batch_one)
        assert retry["seqs"] == [1, 2, 3, 4, 5]
        more = await call(session, "append_events", events=[note("e11", "third")])
        assert more["seqs"] == [11]
        history = await call(session, "get_history", limit=100)

    assert [e["seq"] for e in history["events"]] == list(range(1, 12))
    with Store.open(db) as store:
        events = store.events.page(session_id, limit=1000)
    assert [e.seq for e in events] == list(range(1, 12))
    cids = [e.client_event_id for e in events]
    assert cids == [f"e{i}" for i in range(1, 12)]  # no duplicates, nothing lost


async def test_resume_of_unknown_id_starts_a_new_session_with_a_warning(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    async with connected(repo, tmp_path / "s.db") as session:
        result = await call(session, "resume_session", session_id="01nosuchsession00000000000")
        assert result["resumed"] is False
        assert result["warning"]["code"] == "unknown_session"
        assert "01nosuchsession00000000000" in result["warning"]["message"]
        new_id = result["session"]["id"]
        assert new_id != "01nosuchsession00000000000"
        appended = await call(session, "append_events", events=[note("x1", "hello")])
    assert appended["sessionId"] == new_id


async def test_resume_across_repositories_is_refused_with_a_warning(tmp_path: Path) -> None:
    other = make_repo(tmp_path, "other")
    repo = make_repo(tmp_path, "repo")
    db = tmp_path / "s.db"
    async with connected(other, db) as session:
        foreign = (await call(session, "start_session", name="elsewhere"))["session"]["id"]
    async with connected(repo, db) as session:
        result = await call(session, "resume_session", session_id=foreign)
    assert result["resumed"] is False
    assert result["warning"]["code"] == "repository_changed"
    assert result["session"]["id"] != foreign
    assert result["session"]["boundary"]["worktree"] == str(repo)


async def test_check_drift_sees_a_branch_switch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    async with connected(repo, tmp_path / "s.db") as session:
        await call(session, "start_session", name="on main")
        same = await call(session, "check_drift")
        assert same["recommendation"]["action"] == "continue"
        switch(repo, "feature", create=True)
        drift = await call(session, "check_drift")
        listed = await call(session, "list_sessions", scope="repository")
    assert drift["boundary"]["branch"] == "feature"
    assert drift["recommendation"]["action"] in ("fresh", "resume")
    codes = [r["code"] for r in drift["recommendation"]["reasons"]]
    assert "branch_changed" in codes
    assert [s["name"] for s in listed["items"]] == ["on main"]


async def test_bad_arguments_give_a_tool_error_and_the_server_keeps_serving(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path)
    async with connected(repo, tmp_path / "s.db") as session:
        bad: Any = await session.call_tool("append_events", {"events": [{"kind": "nope"}]})
        assert bad.is_error
        missing: Any = await session.call_tool("get_history", {"session_id": "01unknown"})
        assert missing.is_error
        assert "01unknown" in "".join(getattr(p, "text", "") for p in missing.content)
        ok = await call(session, "append_events", events=[note("a", "still fine")])
    assert ok["seqs"] == [1]
