"""A raw JSON-RPC client for the real server process, for tests that kill it.

pytest-lsp owns its server process and its event loop; these tests need to
SIGKILL a server mid-append, run several servers from threads and keep
going while one is gone. This client is plain threads and pipes: one reader
thread parses frames, answers every server -> client request with ``null``
(the way a minimal editor declines ``window/showMessageRequest`` or
``workspace/configuration``), records notifications and hands responses to
waiting callers. Every wait has a timeout.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any

SERVER_COMMAND = [sys.executable, "-m", "sidecar", "serve"]
TIMEOUT_S = 20.0


class RpcError(Exception):
    """A JSON-RPC error answer: ``code`` and ``message`` as the server sent them."""

    def __init__(self, method: str, error: dict[str, Any]) -> None:
        super().__init__(f"{method}: {error.get('code')} {error.get('message')}")
        self.code = int(error.get("code", 0))
        self.message = str(error.get("message", ""))
        self.data = error.get("data")


class ServerGone(Exception):
    """The server closed its output (it exited or was killed) before answering."""


class RawClient:
    """One server process and the JSON-RPC connection to it."""

    def __init__(self, env: dict[str, str], cwd: Path, stderr: IO[bytes] | None = None) -> None:
        self.proc = subprocess.Popen(
            SERVER_COMMAND,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr if stderr is not None else subprocess.DEVNULL,
            env=env,
            cwd=cwd,
        )
        self.notifications: dict[str, list[Any]] = defaultdict(list)
        self.server_requests: list[dict[str, Any]] = []
        self._pending: dict[int, tuple[str, Future[Any]]] = {}
        self._next = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._gone = False
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    # ------------------------------------------------------------------ wire

    def _write(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        stdin = self.proc.stdin
        assert stdin is not None
        with self._lock:
            try:
                stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
                stdin.flush()
            except (BrokenPipeError, ValueError, OSError) as exc:
                raise ServerGone(f"cannot write to the server: {exc}") from exc

    def _read_frame(self, stdout: IO[bytes]) -> dict[str, Any] | None:
        length = -1
        while True:
            line = stdout.readline()
            if not line:
                return None
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
            elif line in (b"\r\n", b"\n") and length >= 0:
                break
        body = stdout.read(length)
        if len(body) < length:
            return None
        return dict(json.loads(body))

    def _read_loop(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        while True:
            message = self._read_frame(stdout)
            if message is None:
                break
            if "method" in message and "id" in message:
                # A server -> client request: decline it, as a minimal client does.
                self.server_requests.append(message)
                try:
                    self._write({"jsonrpc": "2.0", "id": message["id"], "result": None})
                except ServerGone:
                    break
            elif "method" in message:
                with self._cond:
                    self.notifications[message["method"]].append(message.get("params"))
                    self._cond.notify_all()
            else:
                with self._lock:
                    entry = self._pending.pop(message.get("id"), None)  # type: ignore[arg-type]
                if entry is not None:
                    method, future = entry
                    if "error" in message:
                        future.set_exception(RpcError(method, message["error"]))
                    else:
                        future.set_result(message.get("result"))
        with self._cond:
            self._gone = True
            pending, self._pending = self._pending, {}
            self._cond.notify_all()
        for method, future in pending.values():
            future.set_exception(ServerGone(f"the server exited before answering {method}"))

    # ------------------------------------------------------------------ API

    def send_request(self, method: str, params: Any) -> Future[Any]:
        """Send a request; the future holds its result (or RpcError / ServerGone)."""
        future: Future[Any] = Future()
        with self._lock:
            if self._gone:
                future.set_exception(ServerGone(f"the server is gone; {method} not sent"))
                return future
            self._next += 1
            msg_id = self._next
            self._pending[msg_id] = (method, future)
        self._write({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        return future

    def request(self, method: str, params: Any = None, timeout: float = TIMEOUT_S) -> Any:
        """Send a request and wait for its result."""
        return self.send_request(method, params if params is not None else {}).result(timeout)

    def notify(self, method: str, params: Any) -> None:
        """Send a notification."""
        self._write({"jsonrpc": "2.0", "method": method, "params": params})

    def wait_notification(self, method: str, count: int = 1, timeout: float = TIMEOUT_S) -> Any:
        """The ``count``-th ``method`` notification received (waits up to ``timeout``)."""
        with self._cond:
            ok = self._cond.wait_for(
                lambda: len(self.notifications[method]) >= count or self._gone, timeout
            )
            if len(self.notifications[method]) >= count:
                return self.notifications[method][count - 1]
        reason = "the server exited" if ok else f"none within {timeout} s"
        raise AssertionError(f"no {method} notification #{count}: {reason}")

    def wait_for(
        self, method: str, predicate: Callable[[Any], bool], timeout: float = TIMEOUT_S
    ) -> Any:
        """The first ``method`` notification (received before or after) matching ``predicate``."""

        def match() -> Any:
            return next((p for p in self.notifications[method] if predicate(p)), None)

        with self._cond:
            self._cond.wait_for(lambda: match() is not None or self._gone, timeout)
            found = match()
        if found is None:
            seen = self.notifications[method]
            raise AssertionError(f"no matching {method} within {timeout} s; received: {seen}")
        return found

    def initialize(self, folder: Path, options: dict[str, Any] | None = None) -> Any:
        """initialize + initialized for one workspace folder, then the work begins: the
        folder's session (attached, else started, as the user's first prompt would start
        one; an editor start alone creates none) as ``{"session": ...}``."""
        self.request(
            "initialize",
            {
                "processId": None,
                "capabilities": {"window": {"showMessage": {}}},
                "workspaceFolders": [{"uri": folder.as_uri(), "name": folder.name}],
                "initializationOptions": {"prompts": "off", **(options or {})},
            },
        )
        self.notify("initialized", {})
        status = self.request("sidecar/status", {})
        if status["activeSession"] is not None:
            return {"session": status["activeSession"], "reason": "attached"}
        return {**self.request("sidecar/sessions/start", {}), "reason": "started"}

    def shown_messages(self) -> list[str]:
        """Texts of every window/showMessage received so far."""
        return [str(p.get("message", "")) for p in self.notifications["window/showMessage"]]

    def kill(self) -> None:
        """SIGKILL the server and reap it."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(TIMEOUT_S)
        self._reader.join(TIMEOUT_S)

    def close(self) -> None:
        """shutdown + exit; kill if the server does not go within the timeout."""
        try:
            if self.proc.poll() is None:
                self.send_request("shutdown", None).result(10)
                self.notify("exit", None)
                self.proc.wait(10)
        except Exception:
            pass
        finally:
            self.kill()
            for pipe in (self.proc.stdin, self.proc.stdout):
                if pipe is not None:
                    with contextlib.suppress(OSError):
                        pipe.close()
