"""The vocabulary of the core without pydantic: enums, the clock, an event draft.

:mod:`sidecar.core.models` re-exports these names; they live here so that the
paths every agent hook takes (append an event, check activity) can run in a
fresh process without importing pydantic (docs/agents.md, "It is fast: the
quiet path").
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple, Protocol


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the only clock the core uses)."""
    return datetime.now(UTC)


class SessionStatus(StrEnum):
    ACTIVE = "active"
    IDLE = "idle"
    ENDED = "ended"
    ARCHIVED = "archived"


class EventKind(StrEnum):
    PROMPT = "prompt"
    RESPONSE = "response"
    TOOL_CALL = "tool_call"
    TOOL_RESULT = "tool_result"
    COMMAND = "command"
    FILE_CHANGE = "file_change"
    FILE_OPEN = "file_open"
    BRANCH_CHANGE = "branch_change"
    COMMIT = "commit"
    DRIFT = "drift"
    DECISION = "decision"
    CHECKPOINT = "checkpoint"
    ANNOTATION = "annotation"
    APPROVAL_REQUEST = "approval_request"
    APPROVAL = "approval"
    HANDOFF = "handoff"
    NOTE = "note"


#: The sidecar's own records of what happened around a session, not work in it: they are
#: kept in its history but do not make it active (its last activity, its idle status).
BOOKKEEPING = frozenset({EventKind.BRANCH_CHANGE, EventKind.DRIFT, EventKind.DECISION})


class Actor(StrEnum):
    USER = "user"
    AGENT = "agent"
    SYSTEM = "system"


class Severity(StrEnum):
    STRONG = "strong"
    MEDIUM = "medium"
    INFO = "info"


class ReasonCode(StrEnum):
    BRANCH_CHANGED = "branch_changed"
    REPOSITORY_CHANGED = "repository_changed"
    WORKTREE_CHANGED = "worktree_changed"
    REQUESTER_CHANGED = "requester_changed"
    MACHINE_CHANGED = "machine_changed"
    TASK_CHANGED = "task_changed"
    FAILED_ASSUMPTIONS = "failed_assumptions"
    PROVIDER_CANNOT_RESUME = "provider_cannot_resume"
    PHASE_CHANGED = "phase_changed"
    HISTORY_REWRITTEN = "history_rewritten"
    FOOTPRINT_DRIFT = "footprint_drift"
    STALE = "stale"
    USER_CHOICE = "user_choice"
    RESUMABLE_SESSION = "resumable_session"
    NO_SESSION = "no_session"
    OPERATION_IN_PROGRESS = "operation_in_progress"
    SAME_BOUNDARY = "same_boundary"


class Appendable(Protocol):
    """What the store's append path reads of an event: a validated
    :class:`~sidecar.core.models.NewEvent` from a client, or an
    :class:`EventDraft` the sidecar built itself."""

    @property
    def kind(self) -> EventKind: ...
    @property
    def actor(self) -> Actor: ...
    @property
    def payload(self) -> dict[str, Any]: ...
    @property
    def time(self) -> datetime | None: ...
    @property
    def client_event_id(self) -> str | None: ...


class EventDraft(NamedTuple):
    """An event the sidecar builds itself (a hook call's): no validation needed, so no pydantic.

    It carries the fields of :class:`~sidecar.core.models.NewEvent`; the store
    checks, redacts and numbers it exactly like one.
    """

    kind: EventKind
    payload: dict[str, Any]
    actor: Actor = Actor.AGENT
    time: datetime | None = None
    client_event_id: str | None = None
