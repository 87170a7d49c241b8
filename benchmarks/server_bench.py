"""Language-server figures: start-up, memory, append round trip.

    python benchmarks/server_bench.py [--spawns 20] [--appends 500] [--json]

* spawn -> initialize response, p50/p95 over N spawns, for the sidecar and,
  as the anchor, a bare pygls server (the cost of pygls + lsprotocol alone);
* RSS of the sidecar right after the initialize reply and once its store is
  open and a session started (``sidecar/sessions/start``: an editor start alone
  creates none);
* one-event ``sidecar/events/append`` round trip, p50/p95 over N appends
  (each acknowledged = durable: synchronous=FULL).

Each run uses a fresh git repository, database and HOME in a temp folder.
The client is a minimal stdio JSON-RPC client, so its own cost stays out of
the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import psutil

BARE_SERVER = """
from pygls.lsp.server import LanguageServer
LanguageServer("bare", "0").start_io()
"""

SIDECAR = [sys.executable, "-m", "sidecar", "serve"]


class StdioClient:
    """Just enough JSON-RPC over stdio to time a server."""

    def __init__(self, command: list[str], env: dict[str, str], cwd: str) -> None:
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
        )
        self._next = 0

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        stdin: IO[bytes] = self.proc.stdin  # type: ignore[assignment]
        stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        stdin.flush()

    def read(self) -> dict[str, Any]:
        stdout: IO[bytes] = self.proc.stdout  # type: ignore[assignment]
        length = 0
        while True:
            line = stdout.readline()
            if not line:
                raise EOFError("server closed its output")
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
            elif line in (b"\r\n", b"\n"):
                break
        return dict(json.loads(stdout.read(length)))

    def request(self, method: str, params: Any) -> dict[str, Any]:
        self._next += 1
        msg_id = self._next
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})
        while True:
            message = self.read()
            if message.get("id") == msg_id and "method" not in message:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message

    def close(self) -> None:
        try:
            self.request("shutdown", None)
            self.send({"jsonrpc": "2.0", "method": "exit", "params": None})
            self.proc.wait(timeout=10)
        except Exception:
            self.proc.kill()
            self.proc.wait(timeout=10)


def _workspace(base: Path) -> tuple[Path, dict[str, str]]:
    repo = base / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.email=bench@example.com", "-c", "user.name=Bench", "-C", str(repo)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (repo / "README.md").write_text("bench\n", encoding="utf-8")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "init"], check=True)
    home = base / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SIDECAR_"))}
    env.update(HOME=str(home), SIDECAR_DB=str(base / "sessions.db"), XDG_DATA_HOME=str(home))
    return repo, env


def _init_params(repo: Path) -> dict[str, Any]:
    return {
        "processId": os.getpid(),
        "capabilities": {},
        "workspaceFolders": [{"uri": repo.as_uri(), "name": "repo"}],
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def spawn_once(command: list[str], run: Path) -> tuple[float, int, int | None]:
    """Spawn -> initialize response (ms), RSS right after it, RSS once the session is attached."""
    run.mkdir()
    repo, env = _workspace(run)
    started = time.perf_counter()
    client = StdioClient(command, env, str(repo))
    client.request("initialize", _init_params(repo))
    elapsed = (time.perf_counter() - started) * 1000
    process = psutil.Process(client.proc.pid)
    rss_init = process.memory_info().rss
    rss_ready = None
    client.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    if command is SIDECAR:
        client.request("sidecar/sessions/start", {})
        rss_ready = process.memory_info().rss
    client.close()
    return elapsed, rss_init, rss_ready


def append_round_trips(appends: int, base: Path) -> list[float]:
    """One-event append round trips (ms)."""
    run = base / "appends"
    run.mkdir()
    repo, env = _workspace(run)
    client = StdioClient(SIDECAR, env, str(repo))
    client.request("initialize", _init_params(repo))
    client.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    client.request("sidecar/sessions/start", {})  # someone is at work
    times: list[float] = []
    for i in range(appends):
        params = {"events": [{"kind": "note", "payload": {"i": i}, "clientEventId": f"b{i}"}]}
        started = time.perf_counter()
        client.request("sidecar/events/append", params)
        times.append((time.perf_counter() - started) * 1000)
    client.close()
    return times


def main() -> int:
    """Run the benchmarks and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spawns", type=int, default=20)
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sidecar-bench-") as tmp:
        base = Path(tmp)
        bare_script = base / "bare_server.py"
        bare_script.write_text(BARE_SERVER, encoding="utf-8")
        bare_cmd = [sys.executable, str(bare_script)]
        bare: list[float] = []
        bare_rss: list[int] = []
        ours: list[float] = []
        rss_init: list[int] = []
        rss_ready: list[int] = []
        # Alternate the two servers so load from other processes hits both alike.
        for i in range(args.spawns):
            elapsed, rss, _ = spawn_once(bare_cmd, base / f"bare-{i}")
            bare.append(elapsed)
            bare_rss.append(rss)
            elapsed, rss, ready = spawn_once(SIDECAR, base / f"sidecar-{i}")
            ours.append(elapsed)
            rss_init.append(rss)
            rss_ready.append(ready or rss)
        appends = append_round_trips(args.appends, base)
    mb = 1024 * 1024
    figures = {
        "spawn_to_initialize_ms": {
            "sidecar": {"p50": _pct(ours, 0.5), "p95": _pct(ours, 0.95)},
            "bare_pygls": {"p50": _pct(bare, 0.5), "p95": _pct(bare, 0.95)},
        },
        "rss_mb": {
            "sidecar_after_initialize": statistics.median(rss_init) / mb,
            "sidecar_session_attached": statistics.median(rss_ready) / mb,
            "bare_pygls_after_initialize": statistics.median(bare_rss) / mb,
        },
        "append_one_event_round_trip_ms": {
            "p50": _pct(appends, 0.5),
            "p95": _pct(appends, 0.95),
            "n": len(appends),
        },
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    s = figures["spawn_to_initialize_ms"]
    r = figures["rss_mb"]
    a = figures["append_one_event_round_trip_ms"]
    print(f"spawn -> initialize response ({args.spawns} spawns)")
    print(f"  sidecar     p50 {s['sidecar']['p50']:7.1f} ms   p95 {s['sidecar']['p95']:7.1f} ms")
    print(
        f"  bare pygls  p50 {s['bare_pygls']['p50']:7.1f} ms   p95 {s['bare_pygls']['p95']:7.1f} ms"
    )
    print("RSS (median)")
    print(f"  sidecar after initialize reply   {r['sidecar_after_initialize']:6.1f} MB")
    print(f"  sidecar with session attached    {r['sidecar_session_attached']:6.1f} MB")
    print(f"  bare pygls after initialize      {r['bare_pygls_after_initialize']:6.1f} MB")
    print(f"append, one event per request ({a['n']} appends)")
    print(f"  p50 {a['p50']:.2f} ms   p95 {a['p95']:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
