"""A model API on 127.0.0.1 for the real agent CLIs: logs every request, answers from a script.

Each agent speaks one wire API (Anthropic messages, OpenAI responses or chat
completions, Gemini); a module per API registers its routes on a
:class:`ModelMock`. The mock never reaches the network and answers unknown
paths with 404. "The warning reached the model" means the text is found in a
logged request body, nothing less.

The script every API follows: when the newest user turn asks for
``RUN: <shell command>`` and the conversation holds no tool result yet, answer
with one call of the agent's shell tool; otherwise answer the text
``MOCK ANSWER <n>``.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

RUN = re.compile(r"RUN: (?P<command>[^\n\"\\]+)")


@dataclass
class Request:
    """One request the mock received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw: bytes
    body: Any = None
    """The JSON body, or None."""

    @property
    def text(self) -> str:
        """The body as text, for "is the warning in it" checks."""
        return self.raw.decode("utf-8", errors="replace")


class Reply:
    """What a route handler answers with."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self._handler = handler

    def json(self, value: Any, status: int = 200) -> None:
        body = json.dumps(value).encode()
        h = self._handler
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def sse(self, events: Iterable[tuple[str | None, Any]]) -> None:
        """Server-sent events: ``(event name or None, JSON data or the literal string)``."""
        h = self._handler
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.send_header("Cache-Control", "no-cache")
        h.send_header("Connection", "close")
        h.end_headers()
        for name, data in events:
            chunk = f"event: {name}\n" if name else ""
            payload = data if isinstance(data, str) else json.dumps(data)
            chunk += f"data: {payload}\n\n"
            h.wfile.write(chunk.encode())
            h.wfile.flush()
        h.close_connection = True

    def not_found(self) -> None:
        self.json({"error": {"message": "not found", "type": "not_found"}}, status=404)


Handler = Callable[[Request, Reply, "ModelMock"], None]


@dataclass
class ModelMock:
    """The server; ``routes`` maps a path prefix (after the method) to a handler."""

    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    answers: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def route(self, prefix: str, handler: Handler) -> None:
        self.routes[prefix] = handler

    def next_answer(self) -> str:
        with self._lock:
            self.answers += 1
            return f"MOCK ANSWER {self.answers}"

    def start(self) -> ModelMock:
        mock = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                request = Request(
                    self.command, parts.path, parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()}, raw, body,
                )  # fmt: skip
                with mock._lock:
                    mock.requests.append(request)
                reply = Reply(self)
                key = f"{self.command} {parts.path}"
                for prefix, handler in mock.routes.items():
                    if key.startswith(prefix):
                        handler(request, reply, mock)
                        return
                reply.not_found()

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def mark(self) -> int:
        """The number of requests so far, to look only at later ones."""
        with self._lock:
            return len(self.requests)

    def bodies(self, since: int = 0, path: str = "") -> list[str]:
        """The text of every request body from ``since`` on, to paths containing ``path``."""
        with self._lock:
            return [r.text for r in self.requests[since:] if path in r.path]

    def received(self, text: str, since: int = 0, path: str = "") -> bool:
        """True when a request from ``since`` on (to ``path``) holds ``text``.

        The text is searched as sent and JSON-escaped, as it sits in a JSON body.
        """
        escaped = json.dumps(text)[1:-1]
        return any(text in b or escaped in b for b in self.bodies(since, path))


def run_command(text: str) -> str | None:
    """The shell command a ``RUN: <command>`` prompt asks for, or None."""
    found = RUN.search(text)
    return found.group("command").strip() if found else None
