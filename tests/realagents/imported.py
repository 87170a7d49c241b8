"""The agent's own session files, as the real CLI wrote them, through ``session-sidecar import``.

Two checks every real-agent test shares:

- :func:`check_merge`: after a hook-recorded run, importing the files the CLI
  wrote merges into the hook's session (one session for the provider, no
  prompt, answer, tool call or result added twice, the boundary still the
  branch the session began on), and a second import adds nothing.
- :func:`added_after_uninstall`: a turn run after ``hooks uninstall`` is only
  in the CLI's files; the import adds exactly that turn to the merged session.
- :func:`imported_alone`: with no hooks installed, the importer alone finds
  the session, and every event carries the time the CLI wrote, not the
  import's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tests.realagents.sandbox import Sandbox

#: The kinds a hook records and an import must never add twice.
CONVERSATION = ("prompt", "response", "tool_call", "tool_result")


def run_import(sandbox: Sandbox, provider: str, *args: str) -> dict[str, Any]:
    """``session-sidecar import <provider> --json`` (every project unless ``args`` say);
    the report."""
    proc = sandbox.sidecar("import", provider, "--json", *(args or ("--all",)))
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


@dataclass
class Stored:
    """The one session the sidecar holds for a provider, and its events."""

    session: Any
    events: list[Any]

    @classmethod
    def of(cls, sandbox: Sandbox, provider: str) -> Stored:
        sessions = sandbox.sessions(provider)
        assert len(sessions) == 1, [(s.provider_ref, s.name) for s in sessions]
        return cls(sessions[0], sandbox.events(sessions[0].id))

    def kind(self, kind: str) -> list[Any]:
        return [e for e in self.events if e.kind.value == kind]

    def texts(self, kind: str) -> list[Any]:
        return [e.payload.get("text") for e in self.kind(kind)]

    def conversation(self) -> list[tuple[int, str, str | None]]:
        """``(seq, kind, client id)`` of every prompt, answer, tool call and result."""
        return [(e.seq, e.kind.value, e.client_event_id) for e in self.events
                if e.kind.value in CONVERSATION]  # fmt: skip


def check_merge(sandbox: Sandbox, provider: str, ref: str) -> Stored:
    """Import what the CLI wrote after a hook-recorded run: it merges, and only once.

    The hook recorded every prompt, answer, tool call and result of the run
    (the caller checked that), so the import must add none of them.
    """
    hooked = Stored.of(sandbox, provider)
    report = run_import(sandbox, provider)
    assert report["mergedWithHook"] >= 1 and report["sessionsCreated"] == 0, report
    merged = Stored.of(sandbox, provider)
    assert merged.session.id == hooked.session.id and merged.session.provider_ref == ref
    assert merged.session.boundary.branch == "main", merged.session.boundary
    new = merged.events[len(hooked.events) :]
    added = [(e.kind.value, e.client_event_id, e.payload) for e in new
             if e.kind.value in CONVERSATION]  # fmt: skip
    assert not added, f"the import added again what the hook recorded: {added}"
    assert merged.conversation() == hooked.conversation()
    again = run_import(sandbox, provider)
    assert again["eventsAdded"] == 0 and again["sessionsCreated"] == 0, again
    return merged


def added_after_uninstall(sandbox: Sandbox, provider: str, before: Stored) -> list[tuple[str, Any]]:
    """Import a turn the CLI ran after ``hooks uninstall`` into the merged session ``before``.

    Returns what the import added to the conversation, ``(kind, text or tool
    name)`` in order; a second import adds nothing.
    """
    report = run_import(sandbox, provider)
    assert report["sessionsCreated"] == 0, report
    after = Stored.of(sandbox, provider)
    assert after.session.id == before.session.id
    assert after.session.boundary.branch == "main", after.session.boundary
    new = after.events[len(before.events) :]
    added = [(e.kind.value, e.payload.get("text", e.payload.get("name")))
             for e in new if e.kind.value in CONVERSATION]  # fmt: skip
    again = run_import(sandbox, provider)
    assert again["eventsAdded"] == 0, again
    return added


def imported_alone(sandbox: Sandbox, provider: str, ref: str, began: datetime) -> Stored:
    """Import a session no hook recorded; checks one session with the CLI's own times.

    ``began`` is a time before the CLI's first run: every event's time, and
    the session's creation, lie between it and the import.
    """
    ran = datetime.now(UTC)
    assert not sandbox.sessions(provider), "a hook recorded the session: this test needs none"
    report = run_import(sandbox, provider)
    assert report["sessionsCreated"] == 1 and report["mergedWithHook"] == 0, report
    stored = Stored.of(sandbox, provider)
    assert stored.session.provider_ref == ref
    assert stored.session.boundary.branch == "main", stored.session.boundary
    times = [e.time for e in stored.events]
    assert all(began <= t <= ran for t in times), (began, ran, times)
    assert times == sorted(times), times
    # Created when the CLI began its file (at or before the first event), not at the import.
    assert began <= stored.session.created_at <= times[0], (stored.session.created_at, times)
    assert stored.session.last_event_at == times[-1]
    again = run_import(sandbox, provider)
    assert again["eventsAdded"] == 0 and again["sessionsCreated"] == 0, again
    return stored


def tool_pairs(stored: Stored) -> list[tuple[str, Any, str]]:
    """``(name, input, result content)`` of each tool call with its result (ids matched)."""
    results = {r.payload.get("toolUseId"): r.payload for r in stored.kind("tool_result")}
    assert len(results) == len(stored.kind("tool_result")), "two results for one call"
    pairs = []
    for call in stored.kind("tool_call"):
        result = results.pop(call.payload.get("toolUseId"), None)
        assert result is not None, ("a call without its result", call.payload, results)
        pairs.append((call.payload["name"], call.payload["input"], result.get("content", "")))
    assert not results, ("results without a call", results)
    return pairs
