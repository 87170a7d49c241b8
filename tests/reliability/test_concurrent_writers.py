"""Two editors' servers and four agent hooks write one database for 30 s.

Each server gets a client appending batches with client event ids as fast
as it is answered; each hook writer runs ``session-sidecar hook claude-code``
again and again (a new process per prompt, as Claude Code does) with its own
agent session id. Afterwards every acknowledged append and every prompt a
hook recorded is in the database exactly once, seqs contiguous per session.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from sidecar.core.models import Event
from sidecar.store import Store
from tests.reliability.conftest import Spawn
from tests.reliability.history import integrity

DURATION_S = 30.0
BATCH = 10
HOOK = [sys.executable, "-m", "sidecar", "hook", "claude-code"]


class ServerWriter(threading.Thread):
    """Appends batches through one server until the deadline; records acknowledged seqs."""

    def __init__(self, name: str, client: Any, session_id: str, deadline: float) -> None:
        super().__init__(name=name, daemon=True)
        self.client = client
        self.session_id = session_id
        self.deadline = deadline
        self.acknowledged: dict[str, int] = {}
        self.errors: list[str] = []

    def run(self) -> None:
        n = 0
        while time.monotonic() < self.deadline:
            ids = [f"{self.name}-{n}-{i}" for i in range(BATCH)]
            params = {
                "sessionId": self.session_id,
                "events": [
                    {"kind": "note", "payload": {"writer": self.name, "n": n}, "clientEventId": c}
                    for c in ids
                ],
            }
            try:
                seqs = self.client.request("sidecar/events/append", params, timeout=30)["seqs"]
            except Exception as exc:
                self.errors.append(f"batch {n}: {exc}")
            else:
                self.acknowledged.update(zip(ids, seqs, strict=True))
            n += 1


class HookWriter(threading.Thread):
    """Runs the Claude Code hook, one process per prompt, until the deadline."""

    def __init__(self, name: str, env: dict[str, str], repo: Path, deadline: float) -> None:
        super().__init__(name=name, daemon=True)
        self.env = env
        self.repo = repo
        self.deadline = deadline
        self.prompts: list[str] = []
        self.failures: list[str] = []

    def run(self) -> None:
        n = 0
        while time.monotonic() < self.deadline:
            prompt = f"{self.name} prompt {n}"
            hook_input = {
                "hook_event_name": "UserPromptSubmit",
                "session_id": self.name,
                "cwd": str(self.repo),
                "prompt": prompt,
            }
            proc = subprocess.run(
                HOOK,
                input=json.dumps(hook_input).encode(),
                capture_output=True,
                env=self.env,
                cwd=self.repo,
                timeout=60,
                check=False,
            )
            if proc.returncode == 0:
                self.prompts.append(prompt)
            else:
                self.failures.append(f"{prompt}: exit {proc.returncode} {proc.stderr[-300:]!r}")
            n += 1


def _events(store: Store, session_id: str) -> list[Event]:
    """Every event of the session (store pages hold at most 10,000)."""
    events: list[Event] = []
    while page := store.events.page(
        session_id, after_seq=events[-1].seq if events else 0, limit=5000
    ):
        events.extend(page)
    return events


def _hook_log(env: dict[str, str]) -> str:
    logs = list(Path(env["XDG_STATE_HOME"]).rglob("hook.log"))
    return "\n".join(p.read_text(errors="replace")[-3000:] for p in logs)


@pytest.mark.timeout(240)
@pytest.mark.slow
def test_two_servers_and_four_hooks_lose_and_duplicate_nothing(
    spawn: Spawn, server_env: dict[str, str], repo: Path, db_path: Path
) -> None:
    clients = [spawn(), spawn()]
    sessions = [c.initialize(repo)["session"]["id"] for c in clients]
    deadline = time.monotonic() + DURATION_S
    servers = [
        ServerWriter(f"server{i}", c, sid, deadline)
        for i, (c, sid) in enumerate(zip(clients, sessions, strict=True))
    ]
    hooks = [HookWriter(f"agent-{i}", server_env, repo, deadline) for i in range(4)]
    for writer in [*servers, *hooks]:
        writer.start()
    for writer in [*servers, *hooks]:
        writer.join(DURATION_S + 90)
        assert not writer.is_alive(), f"{writer.name} did not finish"

    assert not [e for s in servers for e in s.errors], [e for s in servers for e in s.errors][:5]
    assert not [f for h in hooks for f in h.failures], [f for h in hooks for f in h.failures][:5]
    for server in servers:
        assert len(server.acknowledged) >= 10 * BATCH, f"{server.name} barely wrote"
    for hook in hooks:
        assert len(hook.prompts) >= 3, f"{hook.name} barely ran"

    with Store.open(db_path) as store:
        for server in servers:
            events = _events(store, server.session_id)
            seqs = [e.seq for e in events]
            assert seqs == list(range(1, len(seqs) + 1)), f"{server.name}: seqs not contiguous"
            stored = [e.client_event_id for e in events if e.client_event_id]
            assert len(stored) == len(set(stored)), f"{server.name}: an event stored twice"
            by_id = {e.client_event_id: e.seq for e in events}
            lost = [c for c in server.acknowledged if c not in by_id]
            assert not lost, f"{server.name}: {len(lost)} acknowledged events lost: {lost[:5]}"
            moved = [c for c, seq in server.acknowledged.items() if by_id[c] != seq]
            assert not moved, f"{server.name}: acknowledged seqs changed: {moved[:5]}"
        for hook in hooks:
            session = store.sessions.find_by_provider_ref("claude-code", hook.name)
            assert session is not None, f"{hook.name}: no session recorded\n{_hook_log(server_env)}"
            events = _events(store, session.id)
            seqs = [e.seq for e in events]
            assert seqs == list(range(1, len(seqs) + 1)), f"{hook.name}: seqs not contiguous"
            ids = [e.client_event_id for e in events if e.client_event_id]
            assert len(ids) == len(set(ids)), f"{hook.name}: an event stored twice"
            prompts = [e.payload.get("text") for e in events if e.kind == "prompt"]
            assert len(prompts) == len(set(prompts)), f"{hook.name}: a prompt stored twice"
            lost = [p for p in hook.prompts if p not in set(prompts)]
            assert not lost, (
                f"{hook.name}: {len(lost)} of {len(hook.prompts)} prompts lost, e.g. {lost[:3]}\n"
                f"hook.log:\n{_hook_log(server_env)}"
            )
    assert integrity(db_path) == "ok"
    print(
        "acknowledged per server:",
        [len(s.acknowledged) for s in servers],
        "prompts per hook writer:",
        [len(h.prompts) for h in hooks],
    )
