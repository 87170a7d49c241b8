"""Oversized payloads and exports outside the allowed folders are refused clearly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sidecar.server.config import DEFAULT_MAX_PAYLOAD_BYTES
from tests.reliability.conftest import Spawn
from tests.reliability.history import all_events
from tests.reliability.rpc import RawClient, RpcError

LIMIT = 1024


def _append(client: RawClient, session_id: str, payloads: list[dict[str, object]]) -> object:
    events = [{"kind": "note", "payload": p} for p in payloads]
    return client.request("sidecar/events/append", {"sessionId": session_id, "events": events})


@pytest.mark.timeout(90)
def test_payload_over_the_configured_limit_is_refused_naming_the_field(
    spawn: Spawn, repo: Path
) -> None:
    client = spawn()
    session_id = client.initialize(repo, {"maxPayloadBytes": LIMIT})["session"]["id"]
    _append(client, session_id, [{"text": "a" * (LIMIT - 100)}])

    with pytest.raises(RpcError) as err:
        _append(client, session_id, [{"text": "small"}, {"text": "b" * (LIMIT + 1)}])
    assert err.value.code == -32602
    assert "events[1].payload" in err.value.message, err.value.message
    assert str(LIMIT) in err.value.message, "the message names the limit"
    stored = all_events(client, session_id)
    assert len(stored) == 1, "nothing from the refused batch is stored, not even its small event"

    _append(client, session_id, [{"text": "fits"}])
    assert [e["payload"]["text"][:4] for e in all_events(client, session_id)] == ["aaaa", "fits"]


@pytest.mark.timeout(90)
def test_default_payload_limit_holds_without_configuration(spawn: Spawn, repo: Path) -> None:
    client = spawn()
    session_id = client.initialize(repo)["session"]["id"]
    with pytest.raises(RpcError) as err:
        _append(client, session_id, [{"text": "c" * DEFAULT_MAX_PAYLOAD_BYTES}])
    assert err.value.code == -32602
    assert "events[0].payload" in err.value.message
    assert client.request("sidecar/status", {})["version"]


@pytest.mark.timeout(90)
def test_export_outside_the_allowed_folders_is_refused(
    spawn: Spawn, repo: Path, tmp_path: Path
) -> None:
    client = spawn()
    session_id = client.initialize(repo)["session"]["id"]
    _append(client, session_id, [{"text": "secret plan"}])
    outside = tmp_path / "home" / "stolen.jsonl"
    link = repo / "escape"
    os.symlink(tmp_path / "home", link)
    attempts = [
        str(outside),  # an absolute path in the user's home
        "../home/stolen.jsonl",  # relative, climbing out of the workspace
        "escape/stolen.jsonl",  # inside the workspace by name, outside through a symlink
    ]
    for path in attempts:
        with pytest.raises(RpcError) as err:
            client.request(
                "sidecar/sessions/export",
                {"sessionId": session_id, "format": "jsonl", "path": path},
            )
        assert err.value.code == -32602, (path, err.value.message)
        assert "outside the allowed folders" in err.value.message, (path, err.value.message)
        assert not outside.exists(), f"{path} was written"
    inside = repo / "export.jsonl"
    result = client.request(
        "sidecar/sessions/export", {"sessionId": session_id, "format": "jsonl", "path": str(inside)}
    )
    assert result["path"] == str(inside.resolve())
    assert "secret plan" in inside.read_text(encoding="utf-8")
