"""`serve --tcp` listens on loopback and speaks the same protocol; other hosts are refused."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _rpc(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, msg: dict[str, Any]
) -> dict[str, Any]:
    body = json.dumps(msg).encode()
    writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    await writer.drain()
    while True:
        length = 0
        while True:
            line = await reader.readline()
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
            elif line == b"\r\n":
                break
        message = json.loads(await reader.readexactly(length))
        if message.get("id") == msg["id"]:
            return dict(message)


async def test_tcp_on_loopback(server_env: dict[str, str], repo: Path) -> None:
    port = _free_port()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sidecar", "serve", "--tcp", "--port", str(port), env=server_env
    )
    try:
        for _ in range(200):
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                break
            except OSError:
                await asyncio.sleep(0.05)
        else:
            pytest.fail("the TCP server did not start listening")
        init = await asyncio.wait_for(
            _rpc(
                reader,
                writer,
                {
                    "jsonrpc": "2.0",
                    "id": 1,
                    "method": "initialize",
                    "params": {
                        "capabilities": {},
                        "workspaceFolders": [{"uri": repo.as_uri(), "name": "repo"}],
                    },
                },
            ),
            15,
        )
        assert init["result"]["serverInfo"]["name"] == "session-sidecar"
        status = await asyncio.wait_for(
            _rpc(reader, writer, {"jsonrpc": "2.0", "id": 2, "method": "sidecar/status"}), 15
        )
        assert status["result"]["boundary"]["branch"] == "main"
        writer.close()
    finally:
        if proc.returncode is None:
            proc.kill()
        await proc.wait()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.com"])
def test_non_loopback_hosts_are_refused(server_env: dict[str, str], host: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "sidecar", "serve", "--tcp", "--host", host],
        env=server_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "loopback" in proc.stderr and host in proc.stderr
