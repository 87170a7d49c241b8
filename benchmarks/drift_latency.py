"""HEAD written -> the drift port's notify_drift, in process (the server adds its transport).

Run: ``python benchmarks/drift_latency.py [--samples N] [--json PATH]``

A real repository with two branches on one commit, a real SQLite file, the
real watch hub; the core runs as in the server (workspace and git tracker on
the owner thread, fed by :class:`~sidecar.watch.workspace.WorkspaceWatch`;
prompts ``custom`` so no prompt is involved). Each sample switches branch and measures until the
port's ``notify_drift`` is called, two ways of writing HEAD:

- ``rename``: this process writes ``HEAD.lock`` and renames it onto ``HEAD``
  as git does; the clock starts right before ``os.rename`` (the service's
  own latency: inotify, hand-off to the store thread, git re-read, policy);
- ``git``: ``git symbolic-ref HEAD ...``; the clock starts when an independent
  raw inotify witness sees git rename ``HEAD.lock`` onto ``HEAD``
  (:mod:`headwatch`), not at the spawn (git's start-up is not the sidecar's).

The folder has a session, as when someone is at work (an editor start alone
creates none).

Between samples the owner thread is drained, so samples do not queue.
Budget (SPEC section 9, at the client): p50 <= 5 ms, p95 <= 10 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from headwatch import HeadWitness

from sidecar.core.models import Boundary, Recommendation
from sidecar.services.drift import DriftSettings
from sidecar.services.owner import Owner
from sidecar.services.sessions import SessionService, Writer
from sidecar.services.tracker import GitTracker
from sidecar.services.workspace import QuietPort, Workspace
from sidecar.store import Store
from sidecar.watch.workspace import WorkspaceWatch

GIT = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench"]
WAIT_S = 5.0


class TimingPort(QuietPort):
    """Notes the time of each notify_drift; asks and session changes are ignored."""

    def __init__(self) -> None:
        self.at = 0.0
        self.event = threading.Event()

    def notify_drift(
        self, folder: str, recommendation: Recommendation, before: Boundary | None, after: Boundary
    ) -> None:
        self.at = time.perf_counter()
        self.event.set()


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

        owner = Owner("bench-owner")
        port = TimingPort()

        def setup() -> tuple[Workspace, WorkspaceWatch]:
            store = Store.open(Path(tmp, "sessions.db"))
            workspace = Workspace(
                SessionService(store, Writer.connection()),
                port,
                settings=DriftSettings(prompts="custom"),
                post=owner.post,
            )
            folder = workspace.open(repo.as_uri(), attach=False)
            place = folder.place
            assert place.git_dir is not None
            watch = WorkspaceWatch(
                git_dir=place.git_dir,
                common_dir=place.common_dir or place.git_dir,
                worktree=place.worktree,
                on_git=lambda reason: folder.tracker.observe(reason) if folder.tracker else None,
                on_paths=lambda paths: None,
                post=owner.post,
                later=owner.later,
                folder_budget=20_000,
            )
            workspace.attach(folder)
            workspace.ensure_active(folder)  # someone is at work
            GitTracker(workspace, folder)
            return workspace, watch

        workspace, watch = owner.call(setup)
        witness = HeadWitness(git_dir)
        results: dict[str, dict[str, float]] = {}
        try:
            for way in ("rename", "git"):
                times: list[float] = []
                for i in range(samples):
                    branch = "b" if i % 2 == 0 else "a"
                    owner.call(lambda: None)  # drain the previous sample's work
                    port.event.clear()
                    if way == "rename":
                        lock = git_dir / "HEAD.lock"
                        lock.write_text(f"ref: refs/heads/{branch}\n", encoding="ascii")
                        start = time.perf_counter()
                        os.rename(lock, git_dir / "HEAD")
                    else:
                        seen = witness.count()
                        subprocess.run(
                            [*GIT, "-C", str(repo), "symbolic-ref", "HEAD", f"refs/heads/{branch}"],
                            check=True,
                        )
                        start = witness.written_after(seen, WAIT_S)
                    if not port.event.wait(WAIT_S):
                        raise SystemExit(f"no notify_drift within {WAIT_S} s ({way}, sample {i})")
                    times.append((port.at - start) * 1000)
                results[way] = _percentiles(times)
        finally:
            witness.close()
            owner.call(watch.close)
            owner.call(workspace.close_all)
            owner.call(workspace.store.close)
            owner.close()
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
