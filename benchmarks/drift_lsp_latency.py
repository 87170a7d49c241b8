"""HEAD written -> ``sidecar/driftDetected`` received by an LSP client, through the real server.

Run: ``python benchmarks/drift_lsp_latency.py [--samples N] [--json PATH]``

The real server process (``python -m sidecar serve`` on stdio, default
settings but ``prompts: custom`` so no prompt waits for an answer) watches a
real repository with two branches on one commit; a pygls client (the one
pytest-lsp drives) times each notification as its loop parses it. Two ways
of writing HEAD, ``--samples`` switches each, alternating branches:

- ``rename``: this process writes ``HEAD.lock`` and renames it onto ``HEAD``
  as git does; the clock starts right before ``os.rename``;
- ``git``: ``git switch``; the clock starts when an independent raw inotify
  witness in this process sees git rename ``HEAD.lock`` onto ``HEAD``
  (:mod:`headwatch`), so git's own start-up and checkout are not counted;
  ``git_spawn`` is the same switch timed from the spawn, for comparison.

Between samples a ``sidecar/status`` round trip drains the server's store
thread (it serves jobs in order), so samples do not queue behind each other.
The folder has a session, as when someone is at work (an editor start
alone creates none). A few warm-up switches are not counted. Budget (SPEC section 9):
p50 <= 10 ms, p95 <= 30 ms. ``--json`` writes ``drift_latency_ms_p50`` and
``drift_latency_ms_p95`` (over both ways) plus per-way figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from headwatch import HeadWitness
from lsprotocol import types
from pygls.lsp.client import LanguageClient

ROOT = Path(__file__).resolve().parent.parent
GIT = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench"]
WAIT_S = 5.0
WARMUP = 3
BUDGET = {"p50": 10.0, "p95": 30.0}


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": statistics.median(ordered),
        "p95": ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))],
        "max": ordered[-1],
    }


async def _git(*args: str) -> None:
    proc = await asyncio.create_subprocess_exec(*GIT, *args)
    if await proc.wait() != 0:
        raise SystemExit(f"git {' '.join(args)} failed")


class Bench:
    """One server, one client, and the arrival time of the next driftDetected."""

    def __init__(self, client: LanguageClient, repo: Path) -> None:
        self.client = client
        self.repo = repo
        self.arrived: asyncio.Future[float] | None = None
        self.witness = HeadWitness(repo / ".git")
        self.spawned: list[float] = []

    def on_drift(self, params: Any) -> None:
        now = time.perf_counter()
        if self.arrived is not None and not self.arrived.done():
            self.arrived.set_result(now)

    async def drain(self) -> None:
        await asyncio.wait_for(
            self.client.protocol.send_request_async("sidecar/status", {}), WAIT_S
        )

    async def sample(self, way: str, branch: str) -> float:
        await self.drain()
        self.arrived = asyncio.get_running_loop().create_future()
        git_dir = self.repo / ".git"
        if way == "rename":
            lock = git_dir / "HEAD.lock"
            lock.write_text(f"ref: refs/heads/{branch}\n", encoding="ascii")
            start = time.perf_counter()
            os.rename(lock, git_dir / "HEAD")
        else:
            seen = self.witness.count()
            spawned = time.perf_counter()
            await _git("-C", str(self.repo), "switch", "--quiet", branch)
            start = self.witness.written_after(seen, WAIT_S)
        try:
            arrived = await asyncio.wait_for(self.arrived, WAIT_S)
        except TimeoutError:
            raise RuntimeError(
                f"no sidecar/driftDetected within {WAIT_S} s ({way} to {branch})"
            ) from None
        if way == "git":
            self.spawned.append((arrived - spawned) * 1000)
        return (arrived - start) * 1000


async def measure(samples: int) -> dict[str, dict[str, float]]:
    """Both ways ``samples`` times each; milliseconds."""
    with tempfile.TemporaryDirectory(prefix="drift-lsp-bench-") as tmp:
        repo = Path(tmp, "repo")
        repo.mkdir()
        await _git("init", "-q", "-b", "a", str(repo))
        await _git("-C", str(repo), "commit", "-q", "--allow-empty", "-m", "x")
        await _git("-C", str(repo), "branch", "b")
        home = Path(tmp, "home")
        home.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SIDECAR_"))}
        env.update(HOME=str(home), SIDECAR_DB=str(Path(tmp, "sessions.db")), PYTHONPATH=str(ROOT))
        client = LanguageClient("drift-lsp-bench", "1")
        bench = Bench(client, repo)

        @client.feature("sidecar/driftDetected")
        def on_drift(params: Any) -> None:
            bench.on_drift(params)

        for other in ("sidecar/sessionChanged", "sidecar/historyChanged"):
            client.feature(other)(lambda params: None)

        await client.start_io(sys.executable, "-m", "sidecar", "serve", env=env)
        try:
            await client.initialize_async(
                types.InitializeParams(
                    capabilities=types.ClientCapabilities(),
                    workspace_folders=[types.WorkspaceFolder(uri=repo.as_uri(), name="repo")],
                    initialization_options={"prompts": "custom"},
                )
            )
            client.initialized(types.InitializedParams())
            # Someone is at work: the folder has a session (an editor start creates none).
            await asyncio.wait_for(
                client.protocol.send_request_async("sidecar/sessions/start", {}), WAIT_S
            )
            results: dict[str, dict[str, float]] = {}
            every: list[float] = []
            switches = 0
            for way in ("rename", "git"):
                times: list[float] = []
                for i in range(samples + WARMUP):
                    switches += 1  # HEAD starts on a: odd switches go to b
                    latency = await bench.sample(way, "b" if switches % 2 else "a")
                    if i >= WARMUP:
                        times.append(latency)
                results[way] = _percentiles(times)
                every += times
            results["all"] = _percentiles(every)
            results["git_spawn"] = _percentiles(bench.spawned[WARMUP:])
            bench.witness.close()
            await asyncio.wait_for(client.shutdown_async(None), WAIT_S)
            client.exit(None)
        finally:
            server = client._server
            if server is not None and server.returncode is None:
                server.kill()
            await asyncio.wait_for(client.stop(), WAIT_S)
        return results


def main() -> None:
    """Measure, print a table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=60, help="branch switches per way")
    parser.add_argument("--json", type=Path, help="write the figures as a flat JSON dict")
    args = parser.parse_args()
    results = asyncio.run(measure(args.samples))
    print(f"HEAD written -> sidecar/driftDetected at the client, {args.samples} switches/way (ms)")
    print(f"{'way':<8} {'p50':>8} {'p95':>8} {'max':>8}   budget: p50<=10 p95<=30")
    for way, figures in results.items():
        print(f"{way:<8} {figures['p50']:>8.2f} {figures['p95']:>8.2f} {figures['max']:>8.2f}")
    if args.json:
        flat = {
            "drift_latency_ms_p50": results["all"]["p50"],
            "drift_latency_ms_p95": results["all"]["p95"],
        }
        for way in ("rename", "git", "git_spawn"):
            for key, value in results[way].items():
                flat[f"drift_latency_{way}_ms_{key}"] = value
        args.json.write_text(json.dumps(flat, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
