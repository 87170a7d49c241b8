"""Raw bytes on the server's stdin, as a broken or hostile client would send them.

Every unreadable message gets a JSON-RPC answer (``id: null`` when its id cannot
be known); the server keeps serving, except after a declared length over the
limit, where it answers and closes the stream instead of reading it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sidecar.server.framing import MAX_MESSAGE_BYTES, PARSE_ERROR

TIMEOUT_S = 20.0
# Reads from the server block: a server that never answers fails the test in a minute.
pytestmark = pytest.mark.timeout(60)


class RawServer:
    """The server over stdio, driven byte by byte."""

    def __init__(self, env: dict[str, str], repo: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sidecar", "serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=repo,
        )
        self.repo = repo

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send_body(self, body: bytes) -> None:
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def send(self, message: dict[str, Any]) -> None:
        self.send_body(json.dumps(message).encode())

    def read(self) -> dict[str, Any] | None:
        """The next message from the server; None at the end of its output."""
        assert self.proc.stdout is not None
        length = None
        while True:
            line = self.proc.stdout.readline()
            if not line:
                return None
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
            elif line == b"\r\n" and length is not None:
                return dict(json.loads(self.proc.stdout.read(length)))

    def answer(self, msg_id: int | None) -> dict[str, Any]:
        """The next response with this id (notifications and server requests skipped)."""
        while True:
            message = self.read()
            assert message is not None, "the server closed its output"
            if "method" not in message and message.get("id") == msg_id:
                return message

    def initialize(self) -> None:
        self.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "capabilities": {},
            "workspaceFolders": [{"uri": self.repo.as_uri(), "name": "repo"}],
        }})  # fmt: skip
        assert "result" in self.answer(1)
        self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})

    def still_serving(self, msg_id: int) -> None:
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": "sidecar/status", "params": {}})
        assert self.answer(msg_id)["result"]["boundary"]["branch"] == "main"


@pytest.fixture
def server(server_env: dict[str, str], repo: Path) -> Iterator[RawServer]:
    raw = RawServer(server_env, repo)
    try:
        raw.initialize()
        yield raw
    finally:
        if raw.proc.poll() is None:
            raw.proc.kill()
        raw.proc.wait(TIMEOUT_S)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"jsonrpc": "2.0", "id": 7, "method": "sidecar/status", "params": {"x": "\xff"}}',
         "not UTF-8"),
        (b'{"jsonrpc": "2.0", "id": 7, "method": ', "Expecting value"),
        (b"[" * 200_000 + b"]" * 200_000, "nested too deeply"),
        (b"\x00\x01\x02", "Expecting value"),
    ],
    ids=["non-utf8", "truncated", "deeply-nested", "binary"],
)  # fmt: skip
def test_a_body_that_is_not_json_is_answered_and_the_server_keeps_serving(
    server: RawServer, body: bytes, why: str
) -> None:
    server.send_body(body)
    error = server.answer(None)["error"]
    assert error["code"] == PARSE_ERROR
    assert why in error["message"]
    server.still_serving(8)


@pytest.mark.parametrize("declared", [99_999_999_999_999, 2 * 1024**3, MAX_MESSAGE_BYTES + 1])
def test_a_declared_length_over_the_limit_is_answered_then_the_stream_closed(
    server: RawServer, declared: int
) -> None:
    server.send_raw(b"Content-Length: %d\r\n\r\n{}" % declared)
    error = server.answer(None)["error"]
    assert error["code"] == -32600
    assert (
        f"message of {declared} bytes is over the limit of {MAX_MESSAGE_BYTES}"
        in (error["message"])
    )
    assert server.read() is None  # closed, not waiting for (or allocating) the body
    assert server.proc.wait(TIMEOUT_S) == 0


def test_a_second_initialize_is_refused_and_the_first_stands(server: RawServer) -> None:
    elsewhere = server.repo.parent / "elsewhere"
    elsewhere.mkdir()
    server.send({"jsonrpc": "2.0", "id": 5, "method": "initialize", "params": {
        "capabilities": {},
        "workspaceFolders": [{"uri": elsewhere.as_uri(), "name": "elsewhere"}],
    }})  # fmt: skip
    error = server.answer(5)["error"]
    assert error["code"] == -32600
    assert "already initialized" in error["message"]
    server.send({"jsonrpc": "2.0", "id": 6, "method": "sidecar/status", "params": {}})
    status = server.answer(6)["result"]
    assert status["boundary"]["worktree"] == str(server.repo)
