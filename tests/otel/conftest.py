"""A real Arize Phoenix server for the OpenTelemetry end-to-end tests.

Phoenix (~850 MB with its dependencies) lives in its own tox environment
(``tox -e otel``, which ``scripts/test.sh`` runs); the main suite ignores this
folder. Run here without Phoenix, the tests are skipped, except under CI,
where a missing Phoenix fails the run.
"""

from __future__ import annotations

import os
import queue
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

#: Phoenix is up in ~30-40 s on a developer machine; CI may be slower.
START_TIMEOUT_S = 240.0
READY_LINE = "Application startup complete"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def phoenix_command() -> list[str] | None:
    """``phoenix serve`` from $PHOENIX_BIN, this interpreter's environment, or PATH."""
    explicit = os.environ.get("PHOENIX_BIN")
    if explicit:
        return [explicit, "serve"]
    beside = Path(sys.executable).with_name("phoenix")
    if beside.exists():
        return [str(beside), "serve"]
    found = shutil.which("phoenix")
    return [found, "serve"] if found else None


class Phoenix:
    """One Phoenix server on 127.0.0.1 with its data in ``workdir``; stop and start it again."""

    def __init__(self, command: list[str], workdir: Path) -> None:
        self.command = command
        self.workdir = workdir
        self.port = _free_port()
        self.grpc_port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[str] | None = None
        self.log: list[str] = []

    def start(self) -> None:
        env = {
            **os.environ,
            "PHOENIX_WORKING_DIR": str(self.workdir),
            "PHOENIX_PORT": str(self.port),
            "PHOENIX_GRPC_PORT": str(self.grpc_port),
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_TELEMETRY_ENABLED": "false",
        }
        self.process = subprocess.Popen(
            self.command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        lines: queue.Queue[str | None] = queue.Queue()

        def read(stream: Any) -> None:
            for line in stream:
                self.log.append(line)
                lines.put(line)
            lines.put(None)

        threading.Thread(target=read, args=(self.process.stdout,), daemon=True).start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"Phoenix did not start:\n{''.join(self.log[-40:])}")
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"Phoenix exited:\n{''.join(self.log[-40:])}")
            if READY_LINE in line:
                return

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.process = None


@pytest.fixture
def phoenix(tmp_path: Path) -> Iterator[Phoenix]:
    command = phoenix_command()
    if command is None:
        message = "Arize Phoenix is not installed: run `tox -e otel` (scripts/test.sh does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    workdir = tmp_path / "phoenix"
    workdir.mkdir()
    server = Phoenix(command, workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
