"""No network listener: only the editor that spawned the server can reach it.

An attacker on the same machine (another user, or a web page in a browser)
would connect to a TCP or WebSocket port; there is none to connect to.
"""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("transport", ["--tcp", "--ws"])
def test_network_transports_are_refused_and_nothing_listens(
    server_env: dict[str, str], transport: str
) -> None:
    port = _free_port()
    proc = subprocess.run(
        [sys.executable, "-m", "sidecar", "serve", transport, "--port", str(port)],
        env=server_env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "stdio only" in proc.stderr and "docs/security.md" in proc.stderr
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))
