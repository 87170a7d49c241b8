"""`session-sidecar watch` as a user runs it: a child process, its output read line by line."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


class WatchProcess:
    """``python -m sidecar watch <args>``; stdin a pipe (answers) or closed."""

    def __init__(
        self,
        *args: str,
        env: dict[str, str],
        cwd: Path | None = None,
        answers: bool = True,
        timeout: float = 20.0,
    ) -> None:
        self.timeout = timeout
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "sidecar", "watch", *args],
            stdin=subprocess.PIPE if answers else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=cwd,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def expect(self, text: str, timeout: float | None = None) -> str:
        """Wait for a line containing ``text``; returns it."""
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                raise AssertionError(
                    f"no line with {text!r} in {limit} s; saw {self.seen[-30:]}"
                ) from None
            if line is None:
                raise AssertionError(f"watch exited before printing {text!r}; saw {self.seen}")
            self.seen.append(line)
            if text in line:
                return line

    def answer(self, text: str) -> None:
        """Type ``text`` and Enter at the prompt."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def interrupt(self) -> int:
        """Ctrl-C; returns the exit status."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(self.timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(self.timeout)
