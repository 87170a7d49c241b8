"""HEAD written -> DriftService.notify_drift, in process (the server adds its transport).

Run: ``python benchmarks/drift_latency.py [--samples N] [--json PATH]``

A real repository with two branches on one commit, a real SQLite file, the
real watchers; the drift service runs as in the server (store on a
one-worker executor, prompts on an asyncio loop; prompts ``custom`` so no
prompt is involved). Each sample switches branch and measures until the
port's ``notify_drift`` is called, two ways of writing HEAD:

- ``rename``: this process writes ``HEAD.lock`` and renames it onto ``HEAD``
  as git does; the clock starts right before ``os.rename`` (the service's
  own latency: inotify, hand-off to the store thread, git re-read, policy);
- ``git``: ``git symbolic-ref HEAD ...``; the clock starts before the spawn.

Between samples the store thread is drained, so samples do not queue.
Budget (SPEC section 9, at the client): p50 <= 10 ms, p95 <= 30 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sidecar.core.models import Boundary, Recommendation
from sidecar.services.drift import DriftService, DriftSettings
from sidecar.services.sessions import SessionService
from sidecar.store import Store

GIT = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench"]
WAIT_S = 5.0


class TimingPort:
    """Notes the time of each notify_drift; the session notifier too (ignored)."""

    def __init__(self) -> None:
        self.at = 0.0
        self.event = threading.Event()

    def notify_drift(
        self, recommendation: Recommendation, before: Boundary | None, after: Boundary
    ) -> None:
        self.at = time.perf_counter()
        self.event.set()

    async def ask(self, recommendation: Recommendation, actions: list[str]) -> str | None:
        return None

    def session_changed(self, folder: Any, session: Any, reason: str) -> None:
        pass

    def history_changed(self, session_id: str, last_seq: int) -> None:
        pass


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "max": ordered[-1],
    }


def measure(samples: int) -> dict[str, dict[str, float]]:
    """Run both ways of writing HEAD ``samples`` times each; milliseconds."""
    with tempfile.TemporaryDirectory(prefix="drift-bench-") as tmp:
        repo = Path(tmp, "repo")
        repo.mkdir()
        subprocess.run([*GIT, "init", "-q", "-b", "a", str(repo)], check=True)
        subprocess.run(
            [*GIT, "-C", str(repo), "commit", "-q", "--allow-empty", "-m", "x"], check=True
        )
        subprocess.run([*GIT, "-C", str(repo), "branch", "b"], check=True)
        git_dir = repo / ".git"

        executor = ThreadPoolExecutor(max_workers=1)
        loop = asyncio.new_event_loop()
        loop_thread = threading.Thread(target=loop.run_forever, daemon=True)
        loop_thread.start()
        port = TimingPort()
        store = executor.submit(Store.open, Path(tmp, "sessions.db")).result()
        sessions = SessionService(store, port)
        service = DriftService(
            sessions,
            repo.as_uri(),
            repo,
            port,
            run=executor.submit,
            loop=loop,
            settings=DriftSettings(prompts="custom", watch_worktree=False),
        )
        executor.submit(service.start).result()
        results: dict[str, dict[str, float]] = {}
        try:
            for way in ("rename", "git"):
                times: list[float] = []
                for i in range(samples):
                    branch = "b" if i % 2 == 0 else "a"
                    executor.submit(lambda: None).result()  # drain the previous sample's work
                    port.event.clear()
                    if way == "rename":
                        lock = git_dir / "HEAD.lock"
                        lock.write_text(f"ref: refs/heads/{branch}\n", encoding="ascii")
                        start = time.perf_counter()
                        os.rename(lock, git_dir / "HEAD")
                    else:
                        start = time.perf_counter()
                        subprocess.run(
                            [*GIT, "-C", str(repo), "symbolic-ref", "HEAD", f"refs/heads/{branch}"],
                            check=True,
                        )
                    if not port.event.wait(WAIT_S):
                        raise SystemExit(f"no notify_drift within {WAIT_S} s ({way}, sample {i})")
                    times.append((port.at - start) * 1000)
                results[way] = _percentiles(times)
        finally:
            executor.submit(service.stop).result()
            executor.submit(sessions.release_all).result()
            executor.submit(store.close).result()
            executor.shutdown()
            loop.call_soon_threadsafe(loop.stop)
            loop_thread.join(WAIT_S)
        return results


def main() -> None:
    """Measure, print a table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=50, help="branch switches per way")
    parser.add_argument("--json", type=Path, help="write the figures as a flat JSON dict")
    args = parser.parse_args()
    results = measure(args.samples)
    print(f"HEAD written -> notify_drift, {args.samples} switches each (ms)")
    print(f"{'way':<8} {'p50':>8} {'p95':>8} {'max':>8}   budget at the client: p50<=10 p95<=30")
    for way, figures in results.items():
        print(f"{way:<8} {figures['p50']:>8.2f} {figures['p95']:>8.2f} {figures['max']:>8.2f}")
    if args.json:
        flat = {f"drift_{way}_{k}_ms": v for way, fig in results.items() for k, v in fig.items()}
        args.json.write_text(json.dumps(flat, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
