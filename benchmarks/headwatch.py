"""When was HEAD written? A raw inotify watch on a git directory, as an independent witness.

``git switch`` spends milliseconds starting, reading the index and checking
out files before it renames ``HEAD.lock`` onto ``HEAD``; timing from the
spawn would charge the sidecar for git's own work. This witness reads raw
inotify events (the SPEC's anchor, ~0.14 ms) on a thread of the benchmark
process and timestamps each rename onto ``HEAD``, so "HEAD written" is the
moment the kernel reports it, whoever wrote it. Its own delay (the anchor)
makes the measured latency shorter by that much at most; it is reported
beside the figure. Linux only.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import struct
import threading
import time
from pathlib import Path

IN_MOVED_TO = 0x00000080
IN_CLOSE_WRITE = 0x00000008
_EVENT = struct.Struct("iIII")


class HeadWitness:
    """Timestamps (``time.perf_counter()``) of every rename onto ``<git_dir>/HEAD``."""

    def __init__(self, git_dir: Path) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self._fd = libc.inotify_init1(os.O_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        if libc.inotify_add_watch(self._fd, str(git_dir).encode(), IN_MOVED_TO) < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch {git_dir} failed")
        self._cond = threading.Condition()
        self._times: list[float] = []
        self._thread = threading.Thread(target=self._read, name="head-witness", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 4096)
            except OSError:
                return  # closed
            now = time.perf_counter()
            offset = 0
            while offset < len(data):
                _, mask, _, size = _EVENT.unpack_from(data, offset)
                name = data[offset + _EVENT.size : offset + _EVENT.size + size].rstrip(b"\0")
                offset += _EVENT.size + size
                if mask & IN_MOVED_TO and name == b"HEAD":
                    with self._cond:
                        self._times.append(now)
                        self._cond.notify_all()

    def count(self) -> int:
        """How many HEAD writes were seen so far."""
        with self._cond:
            return len(self._times)

    def written_after(self, seen: int, timeout: float) -> float:
        """The time of the first HEAD write after the first ``seen`` ones."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._times) > seen, timeout):
                raise TimeoutError(f"no HEAD write seen within {timeout} s")
            return self._times[seen]

    def close(self) -> None:
        os.close(self._fd)
