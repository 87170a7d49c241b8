"""Sessions exported to a real Arize Phoenix and read back from its REST API.

A real git repository, sessions recorded through the real CLI (tool calls, a
branch switch with its drift recommendation and decision, a real commit),
exported with ``session-sidecar otel export``; Phoenix stopped halfway, more
recorded, Phoenix started again on the same data: everything arrives, once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.envutil import isolated_env
from tests.gitrepo import commit, git, make_repo, switch
from tests.otel.conftest import Phoenix

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

#: How long Phoenix may take to make accepted spans readable (it inserts in the background).
VISIBLE_TIMEOUT_S = 60.0


class Sidecar:
    """The real CLI in a child process, on one database, exporting to ``endpoint``."""

    def __init__(self, tmp_path: Path, repo: Path, endpoint: str) -> None:
        home = tmp_path / "home"
        home.mkdir()
        (tmp_path / "tmp").mkdir()
        self.repo = repo
        self.env = isolated_env(home, tmp_path / "data" / "sessions.db", tmp_path / "tmp")
        self.env.update(
            OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
            OTEL_EXPORTER_OTLP_TIMEOUT="3",
            SIDECAR_OTEL_SETTLE_SECONDS="0",
        )

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sidecar", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            cwd=self.repo,
            timeout=120,
            check=False,
        )

    def ok(self, *args: str, stdin: str | None = None) -> str:
        proc = self.run(*args, stdin=stdin)
        assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
        return proc.stdout

    def start(self, name: str) -> str:
        out = json.loads(
            self.ok("sessions", "start", "--name", name, "--task", "ISSUE-7", "--json")
        )
        session = out.get("session", out)
        return str(session["id"])

    def append(self, session_id: str, events: list[dict[str, Any]]) -> None:
        self.ok("events", "append", "--stdin", "--session", session_id, stdin=json.dumps(events))


def turn(n: int, *, failed: bool = False) -> list[dict[str, Any]]:
    result = "2 failed\nExit code: 1" if failed else "all passed"
    return [
        {"kind": "prompt", "actor": "user", "payload": {"text": f"task {n}"}},
        {
            "kind": "tool_call",
            "actor": "agent",
            "payload": {"name": "Bash", "input": {"command": "pytest -q"}, "toolUseId": f"b{n}"},
        },
        {
            "kind": "tool_result",
            "actor": "agent",
            "payload": {"toolUseId": f"b{n}", "content": result},
        },
        {"kind": "response", "actor": "agent", "payload": {"text": f"done {n}"}},
    ]


def get(phoenix: Phoenix, path: str) -> Any:
    with urllib.request.urlopen(phoenix.url + path, timeout=10) as response:
        return json.load(response)


def spans_of(phoenix: Phoenix, trace_id: str) -> list[dict[str, Any]]:
    return list(
        get(phoenix, f"/v1/projects/default/spans/otlpv1?trace_id={trace_id}&limit=1000")["data"]
    )


def session_traces(phoenix: Phoenix, session_id: str) -> list[str]:
    try:
        data = get(phoenix, f"/v1/sessions/{session_id}")["data"]
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise
    return [t["trace_id"] for t in data["traces"]]


def wait_for_spans(phoenix: Phoenix, session_id: str, count: int) -> list[dict[str, Any]]:
    """The session's spans once Phoenix shows ``count`` of them (it inserts in the background)."""
    deadline = time.monotonic() + VISIBLE_TIMEOUT_S
    spans: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        spans = [s for t in session_traces(phoenix, session_id) for s in spans_of(phoenix, t)]
        if len(spans) >= count:
            return spans
        time.sleep(0.5)
    raise AssertionError(f"Phoenix shows {len(spans)} span(s) of session {session_id}, not {count}")


def attributes(span: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in span["attributes"]:
        value = {k: v for k, v in kv["value"].items() if v is not None}
        out[kv["key"]] = next(iter(value.values()), None)
    return out


def test_sessions_arrive_in_phoenix_grouped_by_session_once(
    tmp_path: Path, phoenix: Phoenix
) -> None:
    repo = make_repo(tmp_path, origin="git@github.com:acme/app.git")
    sidecar = Sidecar(tmp_path, repo, phoenix.url)

    # Session A: a turn with a failing tool, a branch switch, the drift recommendation,
    # the decision to continue, a real commit.
    a = sidecar.start("fix login")
    sidecar.append(a, turn(1, failed=True))
    head = git(repo, "rev-parse", "HEAD")
    switch(repo, "feature/login", create=True)
    sha = commit(repo, "Fix login", {"login.py": "ok = True\n"})
    sidecar.append(
        a,
        [
            *turn(2),
            {
                "kind": "branch_change",
                "actor": "system",
                "payload": {"from": "main", "to": "feature/login", "headSha": head},
            },
            {
                "kind": "drift",
                "actor": "system",
                "payload": {
                    "action": "fresh",
                    "summary": "The branch changed: start fresh?",
                    "ask": True,
                    "reasons": [
                        {"code": "branch_changed", "severity": "strong", "message": "switched"}
                    ],
                },
            },
            {
                "kind": "decision",
                "actor": "user",
                "payload": {
                    "action": "continue",
                    "chosen": "Continue here",
                    "remember": False,
                    "branch": "feature/login",
                    "recommended": "fresh",
                },
            },
            {
                "kind": "commit",
                "actor": "system",
                "payload": {"sha": sha, "subject": "Fix login", "branch": "feature/login"},
            },
        ],
    )
    first = sidecar.ok("otel", "export")
    assert "exported 4 span(s) of 12 event(s) from 1 session(s)" in first, first

    spans = wait_for_spans(phoenix, a, 4)
    assert len(spans) == 4
    turns = sorted(
        (s for s in spans if s["name"].startswith("invoke_agent")),
        key=lambda s: attributes(s)["sidecar.turn.first_seq"],
    )
    assert [s["name"] for s in turns] == ["invoke_agent cli"] * 2
    one, two = (attributes(s) for s in turns)
    for found in (one, two):
        assert found["gen_ai.conversation.id"] == a
        assert found["gen_ai.operation.name"] == "invoke_agent"
        assert found["vcs.repository.url.full"] == "https://github.com/acme/app"
        assert found["sidecar.task"] == "ISSUE-7"
        assert found["sidecar.worktree"] == str(repo)
    assert one["vcs.ref.head.name"] == "main"
    events = {e["name"]: e for e in turns[1]["events"]}
    assert {"sidecar.branch_change", "sidecar.drift", "sidecar.decision", "sidecar.commit"} <= set(
        events
    )
    decision = attributes(events["sidecar.decision"])
    assert decision["sidecar.decision.action"] == "continue"
    committed = attributes(events["sidecar.commit"])
    assert committed["vcs.ref.head.revision"] == sha
    tools = [s for s in spans if s["name"] == "execute_tool Bash"]
    assert sorted(s["status"]["code"] for s in tools) == [1, 2]  # OK, ERROR
    assert all(s["parent_span_id"] in {t["span_id"] for t in turns} for s in tools)
    # Without the opt-in no prompt text leaves the machine.
    assert "task 1" not in json.dumps(spans)

    # Phoenix goes down; more is recorded (session A and a new session B).
    phoenix.stop()
    sidecar.append(a, turn(3))
    b = sidecar.start("second")
    sidecar.append(b, turn(4))
    down = sidecar.run("otel", "export")
    assert down.returncode == 1, (down.stdout, down.stderr)
    assert "nothing is lost" in down.stderr

    # Back up on the same data: the rest arrives, nothing twice.
    phoenix.start()
    up = sidecar.ok("otel", "export")
    assert "exported 4 span(s) of 8 event(s) from 2 session(s)" in up, up
    assert "exported 0 span(s)" in sidecar.ok("otel", "export")

    # A crash between the send and the watermark sends everything again: same ids, one copy.
    sidecar.ok("otel", "reset")
    assert "exported 8 span(s)" in sidecar.ok("otel", "export")
    spans_a = wait_for_spans(phoenix, a, 6)
    spans_b = wait_for_spans(phoenix, b, 2)
    assert len(spans_a) == 6 and len(spans_b) == 2
    ids = Counter(s["span_id"] for s in spans_a + spans_b)
    assert set(ids.values()) == {1}
    assert session_traces(phoenix, a) != session_traces(phoenix, b)
    assert {attributes(s)["gen_ai.conversation.id"] for s in spans_b} == {b}
