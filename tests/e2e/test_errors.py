"""Every error path answers, says what was wrong, and leaves the server serving."""

from __future__ import annotations

from pathlib import Path

import pytest
from pygls.exceptions import JsonRpcException

from sidecar.store import Store
from tests.e2e.conftest import Client, Connect


async def _error(client: Client, method: str, params: object) -> JsonRpcException:
    with pytest.raises(JsonRpcException) as err:
        await client.request(method, params)
    return err.value


async def _still_serving(client: Client) -> None:
    status = await client.request("sidecar/status", {})
    assert status["version"]


@pytest.mark.parametrize(
    ("method", "params", "fragments"),
    [
        ("sidecar/sessions/list", {"limit": "ten"}, ["limit", "expected a valid integer", '"ten"']),
        ("sidecar/sessions/list", {"limit": 0}, ["limit", "greater than or equal to 1"]),
        ("sidecar/sessions/list", {"scope": "galaxy"}, ["scope", "'branch'", '"galaxy"']),
        ("sidecar/sessions/list", {"limti": 5}, ["limti", "is not a known field"]),
        ("sidecar/sessions/show", {}, ["sessionId", "is required"]),
        ("sidecar/sessions/events", {"sessionId": "x", "afterSeq": -1}, ["afterSeq"]),
        (
            "sidecar/events/append",
            {"events": [{"kind": "prompt"}, {"kind": "dance"}]},
            ["events[1].kind", "expected 'prompt'"],
        ),
        ("sidecar/events/append", {"events": []}, ["events", "at least 1"]),
        (
            "sidecar/events/append",
            {"events": [{"kind": "note", "payload": []}]},
            ["events[0].payload"],
        ),
        ("sidecar/sessions/delete", {"sessionId": "x"}, ["confirm", "is required"]),
        ("sidecar/sessions/delete", {"sessionId": "x", "confirm": "yes"}, ["confirm", "boolean"]),
        ("sidecar/sessions/export", {"sessionId": "x", "format": "pdf"}, ["format", "'jsonl'"]),
        ("sidecar/drift/decide", {"action": "panic"}, ["action", "'continue'"]),
        (
            "sidecar/sessions/delete",
            {"sessionId": "x", "confirm": False},
            ["confirm", "must be true"],
        ),
        ("sidecar/sessions/rename", {"sessionId": "x", "name": ""}, ["name", "at least 1"]),
        ("sidecar/sessions/cleanup", {"olderThanDays": 1.5}, ["olderThanDays", "integer"]),
        ("sidecar/status", [1, 2], ["params must be an object"]),
        ("sidecar/status", "status", ["params must be an object"]),
    ],
)
async def test_invalid_params_name_the_field(
    connect: Connect, method: str, params: object, fragments: list[str]
) -> None:
    client = await connect()
    error = await _error(client, method, params)
    assert error.code == -32602
    assert error.message.startswith(f"invalid params for {method}: ")
    for fragment in fragments:
        assert fragment in error.message, error.message
    await _still_serving(client)


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("sidecar/sessions/show", {"sessionId": "no-such-session"}),
        ("sidecar/sessions/events", {"sessionId": "no-such-session"}),
        ("sidecar/sessions/rename", {"sessionId": "no-such-session", "name": "x"}),
        ("sidecar/sessions/end", {"sessionId": "no-such-session"}),
        ("sidecar/sessions/delete", {"sessionId": "no-such-session", "confirm": True}),
        ("sidecar/sessions/fork", {"sessionId": "no-such-session"}),
        ("sidecar/sessions/export", {"sessionId": "no-such-session", "format": "jsonl"}),
        ("sidecar/events/append", {"sessionId": "no-such-session", "events": [{"kind": "note"}]}),
        ("sidecar/annotations/add", {"sessionId": "no-such-session", "code": "x"}),
        ("sidecar/cache/put", {"sessionId": "no-such-session", "key": "k", "value": 1}),
        ("sidecar/cache/get", {"sessionId": "no-such-session", "key": "k"}),
        ("sidecar/sessions/start", {"parentId": "no-such-session"}),
    ],
)
async def test_unknown_session_ids_are_named(connect: Connect, method: str, params: dict) -> None:
    client = await connect()
    error = await _error(client, method, params)
    assert error.code == -32602
    assert error.message.startswith("unknown session no-such-session"), error.message
    await _still_serving(client)


async def test_unknown_checkpoint_and_approval_ids(connect: Connect) -> None:
    client = await connect()
    error = await _error(
        client, "sidecar/checkpoints/restore", {"checkpointId": "nope", "confirm": True}
    )
    assert error.code == -32602 and "nope" in error.message
    error = await _error(client, "sidecar/approvals/decide", {"approvalId": "nope", "grant": True})
    assert error.code == -32602 and "nope" in error.message


async def test_request_without_params_key_is_answered(connect: Connect) -> None:
    """pygls 2.1.1 never answers these (Neovim's `client:request(m, nil)` sends them)."""
    client = await connect()
    status = await client.raw_request({"method": "sidecar/status"})
    assert status["activeSession"] is not None
    listed = await client.raw_request({"method": "sidecar/sessions/list"})
    assert len(listed["items"]) == 1
    with pytest.raises(JsonRpcException) as err:
        await client.raw_request({"method": "sidecar/sessions/show"})
    assert err.value.code == -32602 and "sessionId is required" in err.value.message
    command = await client.raw_request(
        {"method": "workspace/executeCommand", "params": {"command": "sidecar.status"}}
    )
    assert command["version"]


async def test_malformed_lsp_request_is_answered(connect: Connect) -> None:
    """Typed LSP params that do not structure: pygls would drop the request."""
    client = await connect()
    with pytest.raises(JsonRpcException) as err:
        await client.raw_request({"method": "workspace/executeCommand", "params": {"command": 5}})
    assert err.value.code == -32602
    with pytest.raises(JsonRpcException) as missing:
        await client.raw_request({"method": "workspace/executeCommand"})
    assert missing.value.code == -32602
    await _still_serving(client)


async def test_unknown_method_and_command(connect: Connect) -> None:
    client = await connect()
    error = await _error(client, "sidecar/sessions/teleport", {})
    assert error.code == -32601
    error = await _error(
        client, "workspace/executeCommand", {"command": "sidecar.sessions.teleport"}
    )
    assert error.code == -32602 and "sidecar.sessions.teleport" in error.message
    await _still_serving(client)


async def test_bad_notifications_are_survived(connect: Connect) -> None:
    client = await connect()
    client.raw_notify({"method": "textDocument/didOpen", "params": {"textDocument": 5}})
    client.raw_notify({"method": "textDocument/didSave"})
    client.raw_notify({"method": "workspace/didChangeConfiguration", "params": {"settings": 7}})
    client.raw_notify({"method": "workspace/didChangeWorkspaceFolders", "params": {"event": {}}})
    client.raw_notify({"method": "sidecar/events/append", "params": {"events": "x"}})
    client.raw_notify({"method": 42})
    client.raw_notify({"method": "textDocument/didOpen", "params": {"textDocument": {"uri": 1}}})
    client.lsp.protocol._send_data({"jsonrpc": "1.0", "method": "sidecar/status"})
    await _still_serving(client)
    status = await client.request("sidecar/status", {})
    assert status["activeSession"]["eventCount"] == 0


async def test_non_jsonrpc_request_is_answered(connect: Connect) -> None:
    client = await connect()
    from concurrent.futures import Future

    future: Future[object] = Future()
    client.lsp.protocol._request_futures["old"] = future
    client.lsp.protocol._send_data({"jsonrpc": "1.0", "id": "old", "method": "sidecar/status"})
    import asyncio

    with pytest.raises(JsonRpcException) as err:
        await asyncio.wait_for(asyncio.wrap_future(future), 10)
    assert err.value.code == -32600
    await _still_serving(client)


async def test_payload_with_jsonrpc_keys_is_stored_as_data(connect: Connect) -> None:
    """A payload that looks like a JSON-RPC message stays a payload."""
    client = await connect()
    payload = {"jsonrpc": "2.0", "method": "exit", "id": 1, "params": None}
    appended = await client.request(
        "sidecar/events/append", {"events": [{"kind": "note", "payload": payload}]}
    )
    # Read it back through export: the test client's own pygls would structure the nested
    # object if it came back as JSON, the exported text it leaves alone.
    exported = await client.request(
        "sidecar/sessions/export", {"sessionId": appended["sessionId"], "format": "jsonl"}
    )
    import json

    lines = [json.loads(line) for line in exported["content"].splitlines()]
    assert lines[-1]["payload"] == payload
    await _still_serving(client)


async def test_requests_after_shutdown_are_answered(connect: Connect) -> None:
    client = await connect()
    await client.request("shutdown", None)
    error = await _error(client, "sidecar/status", {})
    assert error.code == -32600 and "shutting down" in error.message


async def test_a_db_path_that_is_not_sqlite_is_refused_and_left_alone(
    connect: Connect, tmp_path: Path
) -> None:
    victim = tmp_path / "bashrc"
    victim.write_text("alias ll='ls -l'\n", encoding="utf-8")
    client = await connect(options={"dbPath": str(victim)}, begin=False)
    error = await _error(client, "sidecar/status", {})
    assert error.code == -32002
    assert "not a SQLite database" in error.message
    assert victim.read_text(encoding="utf-8") == "alias ll='ls -l'\n"
    assert not list(tmp_path.glob("bashrc.*"))  # nothing moved aside


async def test_a_database_replaced_under_the_server_takes_no_acknowledged_write(
    connect: Connect, db_path: Path
) -> None:
    client = await connect()
    status = await client.request("sidecar/status", {})
    session_id = status["activeSession"]["id"]
    first = await client.request(
        "sidecar/events/append", {"events": [{"kind": "note", "payload": {"text": "kept"}}]}
    )
    assert first["seqs"] == [1]
    # Someone moves the history away and puts another file in its place.
    moved = db_path.with_name("moved.db")
    for suffix in ("", "-wal", "-shm"):
        side = db_path.with_name(db_path.name + suffix)
        if side.exists():
            side.rename(moved.with_name(moved.name + suffix))
    db_path.write_bytes(b"")
    error = await _error(
        client, "sidecar/events/append", {"events": [{"kind": "note", "payload": {"text": "x"}}]}
    )
    assert "removed or replaced" in error.message
    await _still_serving(client)
    with Store.open(moved) as kept:
        texts = [e.payload.get("text") for e in kept.events.page(session_id)]
    assert texts[-1] == "kept" and "x" not in texts
