"""How fast the watchers notice a branch switch, and what they cost while idle.

Run: ``python benchmarks/watch_latency.py [--quick] [--samples N] [--json PATH]``

HEAD written -> callback latency, three ways of writing HEAD:

- ``rename``: this process writes ``HEAD.lock`` and renames it onto ``HEAD``,
  exactly as git does; the clock starts right before ``os.rename``. This is
  the watcher's own latency.
- ``git``: ``git symbolic-ref HEAD refs/heads/<x>``; the clock starts right
  before the process is spawned, so it includes git's start-up up to its
  rename. The git command's own wall time is printed beside it.

for three watchers:

- ``raw_inotify``: ctypes inotify on the git dir, one thread (the floor);
- ``gitdir``: :class:`sidecar.watch.gitdir.GitDirWatch` on the process's
  :class:`sidecar.watch.hub.WatchHub` (``WatchHub.shared()``, as the server
  uses it: watchdog's inotify layer on Linux, one thread);
- ``debounce_1000ms``: the same watch behind a 1000 ms trailing debounce,
  which is what VS Code's git extension does (fewer samples: 1 s each).

Then the idle cost of :class:`sidecar.watch.worktree.TreeWatch` on a
10,000-folder tree, on the same (already running) hub: start-up time, RSS
growth and CPU share over 60 s (10 s with ``--quick``).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sidecar.watch.gitdir import GitDirWatch
from sidecar.watch.hub import WatchHub
from sidecar.watch.worktree import TreeWatch

GIT = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench"]
WAIT_S = 5.0

IN_CLOSE_WRITE = 0x00000008
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
EVENT_HEADER = struct.Struct("iIII")


class RawInotifyWatcher:
    """Minimal inotify watcher on one folder: calls ``on_change(name)`` per event."""

    def __init__(self, folder: Path, on_change: Callable[[str], None]) -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self._fd = libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        if self._fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1 failed")
        mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE
        if libc.inotify_add_watch(self._fd, os.fsencode(folder), mask) < 0:
            raise OSError(ctypes.get_errno(), f"inotify_add_watch failed on {folder}")
        self._on_change = on_change
        self._wake_r, self._wake_w = os.pipe()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        """Start the reader thread."""
        self._thread.start()

    def stop(self) -> None:
        """Wake and join the reader thread, close the descriptors."""
        os.write(self._wake_w, b"x")
        self._thread.join(2)
        for fd in (self._fd, self._wake_r, self._wake_w):
            os.close(fd)

    def _run(self) -> None:
        poller = select.poll()
        poller.register(self._fd, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        while True:
            ready = {fd for fd, _ in poller.poll()}
            if self._wake_r in ready:
                return
            data = os.read(self._fd, 65536)
            offset = 0
            while offset < len(data):
                _, _, _, length = EVENT_HEADER.unpack_from(data, offset)
                start = offset + EVENT_HEADER.size
                name = data[start : start + length].rstrip(b"\0").decode()
                offset = start + length
                if name == "HEAD":
                    self._on_change("head")


class Debounced:
    """Trailing debounce: calls ``fn`` once, ``delay_s`` after the last call."""

    def __init__(self, delay_s: float, fn: Callable[[str], None]) -> None:
        self._delay_s = delay_s
        self._fn = fn
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()

    def __call__(self, reason: str) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._delay_s, self._fn, args=(reason,))
            self._timer.start()


class Clock:
    """Records when the first ``head`` callback after ``arm()`` arrives."""

    def __init__(self) -> None:
        self.fired = threading.Event()
        self.at = 0.0

    def arm(self) -> None:
        self.fired.clear()

    def __call__(self, reason: str) -> None:
        if reason == "head" and not self.fired.is_set():
            self.at = time.perf_counter()
            self.fired.set()


def make_repo(root: Path) -> Path:
    """A repository with one commit and branches ``a`` and ``b``."""
    repo = root / "repo"
    subprocess.run([*GIT, "init", "-q", "-b", "a", str(repo)], check=True)
    subprocess.run(
        [*GIT, "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "one"], check=True
    )
    subprocess.run([*GIT, "-C", str(repo), "branch", "b"], check=True)
    return repo


def write_head_like_git(git_dir: Path, branch: str) -> float:
    """Write HEAD via HEAD.lock + rename; returns the time right before the rename."""
    lock = git_dir / "HEAD.lock"
    lock.write_text(f"ref: refs/heads/{branch}\n", encoding="utf-8")
    started = time.perf_counter()
    os.rename(lock, git_dir / "HEAD")
    return started


def write_head_with_git(git_dir: Path, branch: str) -> tuple[float, float]:
    """Run ``git symbolic-ref``; returns (time before spawn, git's wall time)."""
    started = time.perf_counter()
    subprocess.run(
        [*GIT, "--git-dir", str(git_dir), "symbolic-ref", "HEAD", f"refs/heads/{branch}"],
        check=True,
    )
    return started, time.perf_counter() - started


def measure(
    start_watcher: Callable[[Clock], Callable[[], None]],
    git_dir: Path,
    samples: int,
    method: str,
) -> tuple[list[float], list[float]]:
    """Latencies (ms) of ``samples`` HEAD writes and, for ``git``, git's own times (ms)."""
    clock = Clock()
    stop = start_watcher(clock)
    latencies: list[float] = []
    git_times: list[float] = []
    try:
        for i in range(samples):
            branch = "b" if i % 2 == 0 else "a"
            clock.arm()
            if method == "rename":
                started = write_head_like_git(git_dir, branch)
            else:
                started, git_s = write_head_with_git(git_dir, branch)
                git_times.append(git_s * 1000)
            if not clock.fired.wait(WAIT_S):
                raise RuntimeError(f"no callback within {WAIT_S} s ({method}, sample {i})")
            latencies.append((clock.at - started) * 1000)
    finally:
        stop()
    return latencies, git_times


def p95(values: list[float]) -> float:
    """95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def rss_bytes() -> int:
    """Resident set size of this process (Linux /proc)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def idle_worktree(hub: WatchHub, root: Path, idle_s: float) -> dict[str, float]:
    """Start-up, RSS growth and idle CPU share of the worktree watch on 10k folders."""
    tree = root / "tree"
    for i in range(100):
        for j in range(100):
            leaf = tree / f"d{i:03d}" / f"e{j:03d}"
            os.makedirs(leaf)
            (leaf / "f.txt").write_bytes(b"x")
    rss0 = rss_bytes()
    started = time.perf_counter()
    watcher = TreeWatch(hub, tree, lambda path: None)
    mode = watcher.start()
    startup_ms = (time.perf_counter() - started) * 1000
    try:
        if mode != "native":
            raise RuntimeError(f"expected native watching, got {mode}")
        cpu0, wall0 = time.process_time(), time.monotonic()
        time.sleep(idle_s)  # the measurement: nothing happens on purpose
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        rss1 = rss_bytes()
        folders = watcher.folder_count  # watched folders: none once closed
    finally:
        watcher.close()
    return {
        "worktree_folders": float(folders),
        "worktree_startup_ms": startup_ms,
        "worktree_rss_delta_mb": (rss1 - rss0) / 2**20,
        "worktree_rss_total_mb": rss1 / 2**20,
        "worktree_idle_cpu_pct": 100 * cpu / wall,
        "worktree_idle_s": wall,
    }


def main() -> None:
    """Run every measurement, print a table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 s idle instead of 60 s")
    parser.add_argument("--samples", type=int, default=50, help="HEAD writes per watcher")
    parser.add_argument("--json", type=Path, help="write the figures as a flat JSON dict")
    args = parser.parse_args()

    results: dict[str, float] = {}
    hub = WatchHub.shared()
    print(f"watch hub backend: {hub.backend}")
    with hub, tempfile.TemporaryDirectory(prefix="watch-bench-") as temp:
        repo = make_repo(Path(temp))
        git_dir = repo / ".git"

        def raw(clock: Clock) -> Callable[[], None]:
            watcher = RawInotifyWatcher(git_dir, clock)
            watcher.start()
            return watcher.stop

        def gitdir(clock: Clock) -> Callable[[], None]:
            return GitDirWatch(hub, git_dir, git_dir, clock).close  # watching starts here

        def debounced(clock: Clock) -> Callable[[], None]:
            return GitDirWatch(hub, git_dir, git_dir, Debounced(1.0, clock)).close

        watchers: list[tuple[str, Callable[[Clock], Callable[[], None]], int]] = [
            ("raw_inotify", raw, args.samples),
            ("gitdir", gitdir, args.samples),
            ("debounce_1000ms", debounced, min(args.samples, 5 if args.quick else 10)),
        ]
        print(
            f"{'watcher':<16} {'write':<7} {'n':>3} {'p50 ms':>9} {'p95 ms':>9} {'git p50 ms':>11}"
        )
        for name, factory, samples in watchers:
            for method in ("rename", "git"):
                latencies, git_times = measure(factory, git_dir, samples, method)
                key = f"{name}_{method}"
                results[f"{key}_p50_ms"] = statistics.median(latencies)
                results[f"{key}_p95_ms"] = p95(latencies)
                git_col = ""
                if git_times:
                    results[f"{key}_git_cmd_p50_ms"] = statistics.median(git_times)
                    git_col = f"{statistics.median(git_times):11.2f}"
                print(
                    f"{name:<16} {method:<7} {samples:>3} "
                    f"{statistics.median(latencies):9.3f} {p95(latencies):9.3f} {git_col}"
                )

        idle = idle_worktree(hub, Path(temp), 10.0 if args.quick else 60.0)
        results.update(idle)
        print()
        print(
            f"worktree watch, {idle['worktree_folders']:.0f} folders: "
            f"start {idle['worktree_startup_ms']:.0f} ms, "
            f"RSS +{idle['worktree_rss_delta_mb']:.1f} MB "
            f"(process {idle['worktree_rss_total_mb']:.1f} MB), "
            f"idle CPU {idle['worktree_idle_cpu_pct']:.3f} % of a core "
            f"over {idle['worktree_idle_s']:.0f} s"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
