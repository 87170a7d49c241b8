"""The mapping of stored sessions and events to spans: pure, no network, no database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sidecar.telemetry.ids import span_id, trace_id
from sidecar.telemetry.mapping import Options, SessionFacts, SpanSpec, StoredEvent, plan

T0 = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=1)
SESSION = SessionFacts(
    id="s-1",
    name="fix login",
    status="active",
    repository="github.com/acme/app",
    worktree="/src/app",
    branch="feature/login",
    requester="dev@example.com",
    machine="box",
    task="ISSUE-7",
    phase="implement",
    provider="claude-code",
    provider_ref="claude-uuid-1",
)


def ev(seq: int, kind: str, minute: float = 0, actor: str = "agent", **payload: Any) -> StoredEvent:
    return StoredEvent(seq, T0 + timedelta(minutes=minute or seq), kind, actor, payload)


def turn_events() -> list[StoredEvent]:
    return [
        ev(1, "prompt", actor="user", text="make login work"),
        ev(2, "tool_call", name="Bash", input={"command": "pytest -q"}, toolUseId="t1"),
        ev(3, "tool_result", toolUseId="t1", content="1 failed\nExit code: 1"),
        ev(4, "tool_call", name="Edit", input={"file_path": "app.py"}, toolUseId="t2"),
        ev(5, "tool_result", toolUseId="t2", content="ok"),
        ev(6, "response", text="fixed"),
    ]


def by_name(spans: list[SpanSpec], prefix: str) -> list[SpanSpec]:
    return [s for s in spans if s.name.startswith(prefix)]


def test_a_turn_is_one_invoke_agent_span_with_its_tools_as_children() -> None:
    result = plan(SESSION, turn_events(), now=LATER)
    (turn,) = by_name(result.spans, "invoke_agent")
    tools = by_name(result.spans, "execute_tool")
    assert turn.name == "invoke_agent claude-code"
    assert turn.parent_id is None
    assert turn.trace_id == trace_id("s-1")
    assert turn.span_id == span_id("s-1", 1, "turn")
    assert (turn.start, turn.end) == (T0 + timedelta(minutes=1), T0 + timedelta(minutes=6))
    assert [t.name for t in tools] == ["execute_tool Bash", "execute_tool Edit"]
    assert all(t.parent_id == turn.span_id and t.trace_id == turn.trace_id for t in tools)
    assert result.watermark == 6 and result.held == 0


def test_every_span_carries_the_session_and_its_boundary() -> None:
    result = plan(SESSION, turn_events(), now=LATER)
    turn = by_name(result.spans, "invoke_agent")[0]
    a = turn.attributes
    assert a["gen_ai.operation.name"] == "invoke_agent"
    assert a["gen_ai.conversation.id"] == "s-1"
    assert a["gen_ai.agent.name"] == "claude-code"
    assert a["gen_ai.provider.name"] == "anthropic"
    assert a["session.id"] == "claude-uuid-1"  # Claude Code's own join key
    assert a["vcs.repository.url.full"] == "https://github.com/acme/app"
    assert a["vcs.ref.head.name"] == "feature/login"
    for key, value in {
        "sidecar.worktree": "/src/app",
        "sidecar.task": "ISSUE-7",
        "sidecar.phase": "implement",
        "sidecar.requester": "dev@example.com",
        "sidecar.machine": "box",
    }.items():
        assert a[key] == value
    for tool in by_name(result.spans, "execute_tool"):
        assert tool.attributes["gen_ai.conversation.id"] == "s-1"
        assert tool.attributes["gen_ai.operation.name"] == "execute_tool"


def test_codex_sessions_keep_codex_conversation_id_as_join_key() -> None:
    codex = SessionFacts(id="s-2", provider="codex", provider_ref="codex-thread", branch="main")
    attrs = plan(codex, turn_events(), now=LATER).spans[0].attributes
    assert attrs["conversation.id"] == "codex-thread"
    assert "session.id" not in attrs
    assert attrs["gen_ai.provider.name"] == "openai"


def test_a_repository_without_a_remote_has_no_url() -> None:
    local = SessionFacts(id="s-3", repository="root:abc123", branch="main")
    attrs = plan(local, turn_events(), now=LATER).spans[0].attributes
    assert "vcs.repository.url.full" not in attrs
    assert attrs["sidecar.repository"] == "root:abc123"


def test_tool_spans_carry_the_result_status_like_the_history_view() -> None:
    tools = by_name(plan(SESSION, turn_events(), now=LATER).spans, "execute_tool")
    bash, edit = tools
    assert bash.status == "error" and bash.attributes["sidecar.tool.status"] == "failed"
    assert bash.attributes["sidecar.tool.exit_code"] == 1
    assert bash.attributes["gen_ai.tool.call.id"] == "t1"
    assert (bash.start, bash.end) == (T0 + timedelta(minutes=2), T0 + timedelta(minutes=3))
    assert edit.status == "ok" and edit.attributes["sidecar.tool.status"] == "ok"


def test_a_denied_tool_is_an_error_and_a_call_without_result_is_unset() -> None:
    events = [
        ev(1, "prompt", text="go"),
        ev(2, "tool_call", name="Bash", input={"command": "rm -rf /"}, toolUseId="a"),
        ev(3, "tool_result", toolUseId="a", content="denied", denied=True),
        ev(4, "tool_call", name="Read", input={"file_path": "x"}, toolUseId="b"),
    ]
    denied, pending = by_name(plan(SESSION, events, now=LATER).spans, "execute_tool")
    assert denied.status == "error" and denied.status_message == "denied"
    assert pending.status == "unset" and pending.attributes["sidecar.tool.status"] == "pending"


def test_without_the_opt_in_only_lengths_leave() -> None:
    result = plan(SESSION, turn_events(), now=LATER)
    everything = json.dumps(
        [[s.attributes, [e.attributes for e in s.events]] for s in result.spans], default=str
    )
    for secret in ("make login work", "fixed", "pytest -q", "1 failed", "app.py"):
        assert secret not in everything
    turn = result.spans[0]
    assert turn.attributes["sidecar.prompt.length"] == len("make login work")
    assert turn.attributes["sidecar.response.length"] == len("fixed")
    prompt = next(e for e in turn.events if e.name == "sidecar.prompt")
    assert prompt.attributes["sidecar.text.length"] == len("make login work")


def test_with_the_opt_in_text_leaves_redacted() -> None:
    key = "sk-ant-api03-" + "A" * 80
    events = [
        ev(1, "prompt", text=f"use {key} please"),
        ev(
            2,
            "tool_call",
            name="Bash",
            input={"command": f"curl -H 'x-api-key: {key}'"},
            toolUseId="t",
        ),
        ev(3, "tool_result", toolUseId="t", content=f"echo {key}"),
        ev(4, "response", text="done"),
    ]
    result = plan(SESSION, events, now=LATER, options=Options(content=True))
    turn = result.spans[0]
    messages = json.loads(str(turn.attributes["gen_ai.input.messages"]))
    assert messages[0]["role"] == "user"
    assert messages[0]["parts"][0]["content"].startswith("use ")
    assert (
        json.loads(str(turn.attributes["gen_ai.output.messages"]))[0]["parts"][0]["content"]
        == "done"
    )
    everything = json.dumps(
        [s.attributes for s in result.spans]
        + [e.attributes for s in result.spans for e in s.events]
    )
    assert key not in everything
    assert "REDACTED" in everything
    tool = by_name(result.spans, "execute_tool")[0]
    assert "curl" in str(tool.attributes["gen_ai.tool.call.arguments"])


def test_drift_decision_commit_and_checkpoint_are_span_events() -> None:
    events = [
        ev(1, "prompt", text="go"),
        ev(
            2,
            "branch_change",
            actor="system",
            **{"from": "feature/login", "to": "main", "headSha": "a" * 40},
        ),
        ev(
            3,
            "drift",
            actor="system",
            action="fresh",
            summary="Branch changed",
            ask=True,
            reasons=[{"code": "branch_changed", "severity": "strong", "message": "m"}],
        ),
        ev(
            4,
            "decision",
            actor="user",
            action="continue",
            chosen="Continue here",
            remember=False,
            recommended="fresh",
            branch="main",
        ),
        ev(5, "commit", actor="system", sha="b" * 40, subject="Fix login", branch="main"),
        ev(
            6,
            "checkpoint",
            actor="system",
            name="before refactor",
            checkpointId="c1",
            headSha="b" * 40,
        ),
    ]
    (turn,) = plan(SESSION, events, now=LATER).spans
    names = [e.name for e in turn.events]
    assert names == [
        "sidecar.prompt", "sidecar.branch_change", "sidecar.drift", "sidecar.decision",
        "sidecar.commit", "sidecar.checkpoint",
    ]  # fmt: skip
    found = {e.name: e.attributes for e in turn.events}
    assert found["sidecar.drift"]["sidecar.drift.action"] == "fresh"
    assert found["sidecar.drift"]["sidecar.drift.reasons"] == ("branch_changed",)
    assert found["sidecar.decision"]["sidecar.decision.action"] == "continue"
    assert found["sidecar.decision"]["sidecar.decision.recommended"] == "fresh"
    assert found["sidecar.commit"]["vcs.ref.head.revision"] == "b" * 40
    assert found["sidecar.commit"]["sidecar.commit.subject"] == "Fix login"
    assert found["sidecar.checkpoint"]["sidecar.checkpoint.name"] == "before refactor"
    # The turn started on the branch it was switched away from.
    assert turn.attributes["vcs.ref.head.name"] == "feature/login"


def test_each_turn_has_the_branch_and_revision_it_started_on() -> None:
    session = SessionFacts(id="s-4", branch="main", repository="github.com/acme/app")
    events = [
        ev(1, "prompt", text="one"),
        ev(
            2, "branch_change", actor="system", **{"from": "dev", "to": "main", "headSha": "c" * 40}
        ),
        ev(3, "prompt", text="two"),
        ev(4, "commit", actor="system", sha="d" * 40, subject="x", branch="main"),
        ev(5, "prompt", text="three"),
    ]
    turns = plan(session, events, now=LATER, revision_before="e" * 40).spans
    assert [t.attributes["vcs.ref.head.name"] for t in turns] == ["dev", "main", "main"]
    assert [t.attributes["vcs.ref.head.revision"] for t in turns] == ["e" * 40, "c" * 40, "d" * 40]


def test_the_open_turn_is_held_until_it_settles_or_the_session_ends() -> None:
    events = [*turn_events(), ev(7, "prompt", text="next"), ev(8, "response", text="partial")]
    soon = events[-1].time + timedelta(seconds=5)
    early = plan(SESSION, events, now=soon, options=Options(settle=timedelta(seconds=60)))
    assert early.watermark == 6 and early.held == 2
    assert all(s.last_seq <= 6 for s in early.spans)
    settled = plan(SESSION, events, now=soon + timedelta(seconds=60))
    assert settled.watermark == 8 and settled.held == 0
    ended = SessionFacts(**{**SESSION.__dict__, "status": "ended"})
    assert plan(ended, events, now=soon).watermark == 8


def test_only_an_open_turn_gives_no_watermark() -> None:
    events = [ev(1, "prompt", text="go")]
    result = plan(SESSION, events, now=events[0].time)
    assert result.spans == [] and result.watermark is None and result.held == 1


def test_events_before_a_prompt_are_session_activity() -> None:
    events = [
        ev(1, "branch_change", actor="system", **{"from": "a", "to": "b"}),
        ev(2, "decision", actor="user", action="continue"),
        ev(3, "prompt", text="go"),
    ]
    spans = plan(SESSION, events, now=LATER).spans
    assert [s.name for s in spans] == ["session_activity", "invoke_agent claude-code"]
    assert "gen_ai.operation.name" not in spans[0].attributes
    assert spans[0].attributes["gen_ai.conversation.id"] == "s-1"


def test_a_cut_batch_holds_its_last_turn_unless_it_is_the_only_one() -> None:
    events = turn_events()
    cut = plan(SESSION, [*events, ev(7, "prompt", text="x")], now=LATER, complete=False)
    assert cut.watermark == 6
    only = plan(SESSION, events[:3], now=LATER, complete=False)
    assert only.watermark == 3


def test_the_same_events_give_the_same_ids() -> None:
    first = plan(SESSION, turn_events(), now=LATER).spans
    again = plan(SESSION, turn_events(), now=LATER + timedelta(days=1)).spans
    assert [(s.trace_id, s.span_id, s.parent_id) for s in first] == [
        (s.trace_id, s.span_id, s.parent_id) for s in again
    ]
    assert len({s.span_id for s in first}) == len(first)
    other = plan(SessionFacts(**{**SESSION.__dict__, "id": "s-9"}), turn_events(), now=LATER)
    assert {s.trace_id for s in other.spans}.isdisjoint({s.trace_id for s in first})


def test_session_names_and_what_quotes_them_leave_only_with_the_opt_in() -> None:
    """An agent's hook names a session after its first prompt: a name is prompt text."""
    named = SessionFacts(id="s-9", name="make the login page accept emails", branch="main")
    events = [
        ev(1, "prompt", text="make the login page accept emails"),
        ev(2, "drift", actor="system", action="resume", summary=f"Resume session '{named.name}'"),
        ev(3, "decision", actor="user", action="resume", chosen=f'Resume "{named.name}"'),
    ]
    for content in (False, True):
        spans = plan(named, events, now=LATER, options=Options(content=content)).spans
        everything = json.dumps(
            [s.attributes for s in spans] + [e.attributes for s in spans for e in s.events]
        )
        assert ("accept emails" in everything) is content, everything
    (turn,) = plan(named, events, now=LATER).spans
    decision = next(e for e in turn.events if e.name == "sidecar.decision")
    assert decision.attributes["sidecar.decision.action"] == "resume"  # the facts still leave
