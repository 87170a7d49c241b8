"""Sessions exported to a real Arize Phoenix and read back from its REST API.

Two tests, each on a real git repository and its own Phoenix:

* the backfill: sessions recorded through the real CLI (tool calls, a branch
  switch with its drift recommendation and decision, a real commit) exported
  with ``session-sidecar otel export``;
* the live path: ``session-sidecar watch --no-prompt`` with ``SIDECAR_OTEL=1``
  records a real ``git switch`` (branch change, drift, the applied decision)
  and a real commit, an agent's turns are appended with the CLI, and the
  watch's own export worker sends it all.

In both, Phoenix is stopped halfway, more is recorded, Phoenix is started
again on the same data: everything arrives, once.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
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
from tests.watchproc import WatchProcess

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


def _value(value: dict[str, Any]) -> Any:
    """An OTLP AnyValue as JSON: its one set field; an array as a list."""
    found = next((v for v in value.values() if v is not None), None)
    if isinstance(found, dict) and "values" in found:
        return [_value(v) for v in found["values"]]
    return found


def attributes(span: dict[str, Any]) -> dict[str, Any]:
    return {kv["key"]: _value(kv["value"]) for kv in span["attributes"]}


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


# ---------------------------------------------------------------- the live path: watch


#: How long the watch may take to print a line (a git event is seen within a second or two).
WATCH_TIMEOUT_S = 30.0
#: After Phoenix is back, the worker's next pass may wait out its backoff (doubling per failure).
RESUME_TIMEOUT_S = 150.0


def start_watch(sidecar: Sidecar) -> WatchProcess:
    """``session-sidecar watch --no-prompt`` in the sidecar's repository and environment."""
    return WatchProcess(
        "--no-prompt", env=sidecar.env, cwd=sidecar.repo, answers=False, timeout=WATCH_TIMEOUT_S
    )


def session_id_in(line: str) -> str:
    """The id in watch's ``Session "name" <id> on <branch> (reason)`` line."""
    return line.split()[-4]


def recorded(sidecar: Sidecar, session_id: str, kind: str) -> list[str]:
    """The session's event kinds in seq order, once one of ``kind`` is stored."""
    deadline = time.monotonic() + WATCH_TIMEOUT_S
    kinds: list[str] = []
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(sidecar.env["SIDECAR_DB"])) as db:
            rows = db.execute(
                "SELECT kind FROM events WHERE session_id = ? ORDER BY seq", (session_id,)
            )
            kinds = [row[0] for row in rows]
        if kind in kinds:
            return kinds
        time.sleep(0.2)
    raise AssertionError(f"no {kind} event in session {session_id}: {kinds}")


def wait_for_seqs(phoenix: Phoenix, session_id: str, count: int, timeout: float) -> list[Any]:
    """The session's spans once their turn ranges cover seqs 1..``count`` (each seq once)."""
    deadline = time.monotonic() + timeout
    covered: list[int] = []
    while time.monotonic() < deadline:
        try:
            spans = [s for t in session_traces(phoenix, session_id) for s in spans_of(phoenix, t)]
        except OSError:  # Phoenix restarting
            spans = []
        covered = sorted(
            seq
            for s in spans
            if "sidecar.turn.first_seq" in attributes(s)
            for seq in range(
                attributes(s)["sidecar.turn.first_seq"], attributes(s)["sidecar.turn.last_seq"] + 1
            )
        )
        if len(covered) >= count:
            assert covered == list(range(1, count + 1)), covered  # no event in two spans
            return spans
        time.sleep(0.5)
    raise AssertionError(f"Phoenix covers seqs {covered} of session {session_id}, not 1..{count}")


def span_events(spans: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The sessions' span events by name (the last of each name), with their attributes."""
    return {e["name"]: attributes(e) for s in spans for e in s["events"]}


def test_watch_exports_a_real_switch_drift_decision_and_commit_live(
    tmp_path: Path, phoenix: Phoenix
) -> None:
    repo = make_repo(tmp_path, origin="git@github.com:acme/app.git")
    sidecar = Sidecar(tmp_path, repo, phoenix.url)
    sidecar.env.update(
        SIDECAR_OTEL="1",
        SIDECAR_OTEL_INTERVAL_SECONDS="0.2",
        SIDECAR_OTEL_SETTLE_SECONDS="1",
        OTEL_EXPORTER_OTLP_TIMEOUT="2",
    )
    watch = start_watch(sidecar)
    try:
        assert watch.expect("session ").endswith("none yet: one begins with the first change")
        watch.expect(f"export     OpenTelemetry to {phoenix.url}/v1/traces")
        # The first edit begins the watch's session on main.
        (repo / "notes.txt").write_text("the first edit begins the session\n")
        on_main = session_id_in(watch.expect("(started)"))
        # The agent's session (watch holds its own: one writer per session), a failing tool.
        agent = sidecar.start("agent")
        sidecar.append(agent, turn(1, failed=True))
        main_sha = git(repo, "rev-parse", "HEAD")

        # A real switch: watch records it and, without prompts, applies the recommendation.
        switch(repo, "feature/x", create=True)
        watch.expect("Branch changed: main -> feature/x")
        on_feature = session_id_in(watch.expect("(fresh)"))
        assert on_feature != on_main
        sha = commit(repo, "Add x", {"x.py": "x = 1\n"})
        sidecar.append(agent, turn(2))

        # Everything recorded so far arrives through the live worker.
        main_count = len(recorded(sidecar, on_main, "drift"))
        feature_count = len(recorded(sidecar, on_feature, "commit"))
        main_spans = wait_for_seqs(phoenix, on_main, main_count, VISIBLE_TIMEOUT_S)
        feature_spans = wait_for_seqs(phoenix, on_feature, feature_count, VISIBLE_TIMEOUT_S)
        agent_spans = wait_for_seqs(phoenix, agent, 8, VISIBLE_TIMEOUT_S)

        # The session the switch left: the branch change and the drift recommendation.
        found = span_events(main_spans)
        assert found["sidecar.branch_change"]["sidecar.branch.from"] == "main"
        assert found["sidecar.branch_change"]["sidecar.branch.to"] == "feature/x"
        assert found["sidecar.branch_change"]["vcs.ref.head.revision"] == main_sha
        drift = found["sidecar.drift"]
        assert drift["sidecar.drift.action"] == "fresh"
        assert drift["sidecar.drift.reasons"] == ["branch_changed"]
        assert drift["sidecar.drift.ask"] is True
        assert "sidecar.drift.summary" not in drift  # it names sessions: content only
        # The session the decision led to: the decision, and the commit made on its branch.
        found = span_events(feature_spans)
        decision = found["sidecar.decision"]
        assert decision["sidecar.decision.action"] == "fresh"
        assert "sidecar.decision.chosen" not in decision  # a title names a session
        assert decision["sidecar.decision.recommended"] == "fresh"
        assert decision["sidecar.decision.branch"] == "feature/x"
        committed = found["sidecar.commit"]
        assert committed["vcs.ref.head.revision"] == sha
        assert committed["vcs.ref.head.name"] == "feature/x"
        assert committed["sidecar.commit.subject"] == "Add x"
        # The boundary on every span of each session (the VCS attributes of each turn).
        for session, spans, branch in (
            (on_main, main_spans, "main"),
            (on_feature, feature_spans, "feature/x"),
            (agent, agent_spans, "main"),
        ):
            for span in spans:
                found = attributes(span)
                assert found["gen_ai.conversation.id"] == session
                if "sidecar.turn.first_seq" in found:
                    assert found["vcs.repository.url.full"] == "https://github.com/acme/app"
                    assert found["vcs.ref.head.name"] == branch
                    assert found["sidecar.worktree"] == str(repo)
        # The agent's turns and their tools: one failed, one passed, each under its turn.
        turns = [s for s in agent_spans if s["name"] == "invoke_agent cli"]
        assert len(turns) == 2
        assert all(attributes(t)["sidecar.task"] == "ISSUE-7" for t in turns)
        tools = sorted(
            (s for s in agent_spans if s["name"] == "execute_tool Bash"),
            key=lambda s: attributes(s)["sidecar.seq"],
        )
        assert [s["status"]["code"] for s in tools] == [2, 1]  # ERROR, then OK
        assert [attributes(s)["sidecar.tool.status"] for s in tools] == ["failed", "ok"]
        assert {s["parent_span_id"] for s in tools} == {t["span_id"] for t in turns}

        # Phoenix goes down while watch keeps running; the agent records another turn.
        phoenix.stop()
        sidecar.append(agent, turn(3))
        watch.expect("retrying later", timeout=60)  # the worker tried, and keeps the events

        # Back up on the same data: the worker (no CLI export ran) delivers the rest, once.
        phoenix.start()
        agent_spans = wait_for_seqs(phoenix, agent, 12, RESUME_TIMEOUT_S)
        assert len([s for s in agent_spans if s["name"] == "invoke_agent cli"]) == 3
        everything = [
            *agent_spans,
            *wait_for_seqs(phoenix, on_main, main_count, VISIBLE_TIMEOUT_S),
            *wait_for_seqs(phoenix, on_feature, feature_count, VISIBLE_TIMEOUT_S),
        ]
        ids = Counter(s["span_id"] for s in everything)
        assert set(ids.values()) == {1}
        assert watch.interrupt() == 0
    finally:
        watch.kill()
    # Nothing was left for the CLI: the worker's watermarks cover every event.
    assert "exported 0 span(s)" in sidecar.ok("otel", "export")
