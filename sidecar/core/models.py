"""The core data model: plain pydantic models with camelCase JSON, no I/O.

Every other layer (store, services, server, CLI, editor clients) speaks in
these types. JSON field names are camelCase (``eventCount``); Python attribute
names are snake_case (``event_count``); both are accepted on input.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from sidecar.core.kinds import (
    Actor as Actor,
    EventKind as EventKind,
    ReasonCode as ReasonCode,
    SessionStatus as SessionStatus,
    Severity as Severity,
    utcnow as utcnow,
)


class Model(BaseModel):
    """Base for every model: camelCase aliases, snake_case attributes."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        use_enum_values=False,
        # Build validators on first use: short-lived processes (hooks) use few models.
        defer_build=True,
    )

    def to_json(self) -> dict[str, Any]:
        """The JSON-ready dict with camelCase keys, as sent over the wire."""
        return self.model_dump(mode="json", by_alias=True)


class Phase(StrEnum):
    PLANNING = "planning"
    IMPLEMENTATION = "implementation"
    REVIEW = "review"
    DEBUGGING = "debugging"
    EXPLORATION = "exploration"


class Scope(StrEnum):
    """How wide a listing or search looks, relative to the current boundary."""

    BRANCH = "branch"
    WORKTREE = "worktree"
    REPOSITORY = "repository"
    ALL = "all"


class Boundary(Model):
    """What a session is bound to. Two sessions share work only inside one boundary."""

    repository: str = Field(
        description="Normalized origin URL, else `root:<sha>` of the first commit, else (no "
        "commit yet, or outside git) the root folder path."
    )
    worktree: str = Field(description="Absolute path of the worktree root.")
    branch: str = Field(description="Branch name, or `detached@<sha>` when HEAD is detached.")
    requester: str = Field(description="git user.email, else the OS user name.")
    machine: str = Field(description="Host name.")
    task: str | None = Field(default=None, description="ADR, issue or plan reference.")
    phase: Phase | None = None
    provider: str | None = Field(default=None, description="Tool name, e.g. `claude-code`.")


class Session(Model):
    """One working session and its summary columns."""

    id: str
    name: str = ""
    description: str = ""
    status: SessionStatus = SessionStatus.ACTIVE
    boundary: Boundary
    created_at: datetime
    updated_at: datetime
    last_event_at: datetime | None = None
    event_count: int = 0
    last_prompt: str | None = Field(default=None, description="Text of the latest prompt event.")
    head_sha: str | None = Field(default=None, description="Last commit seen by this session.")
    parent_id: str | None = None
    forked_at_seq: int | None = None
    root_id: str | None = None
    agent_name: str | None = None
    tags: list[str] = Field(default_factory=list)
    pinned: bool = False
    provider_ref: str | None = Field(
        default=None, description="The provider's own session id; local only, never exported."
    )
    holder: str | None = Field(default=None, description="Connection currently appending.")
    holder_expires_at: datetime | None = None


class NewEvent(Model):
    """An event as submitted for appending (the store assigns seq and time)."""

    kind: EventKind
    actor: Actor = Actor.AGENT
    payload: dict[str, Any] = Field(default_factory=dict)
    time: datetime | None = Field(default=None, description="Defaults to the append time.")
    client_event_id: str | None = Field(
        default=None,
        max_length=200,  # store/append.py: CLIENT_ID_LIMIT
        description=(
            "Idempotency key, unique per session: a retried append returns the original seq."
        ),
    )


class Event(Model):
    """An appended event: (session id, seq) identifies it; seq is contiguous from 1."""

    session_id: str
    seq: int
    time: datetime
    kind: EventKind
    actor: Actor
    payload: dict[str, Any] = Field(default_factory=dict)
    client_event_id: str | None = None


class FootprintEntry(Model):
    """A path a session touched, with its accumulated weight."""

    path: str
    weight: float
    last_seq: int


class Checkpoint(Model):
    """A named point: event seq + HEAD + a snapshot of the working tree."""

    id: str
    session_id: str
    name: str
    seq: int
    head_sha: str | None
    snapshot_sha: str | None = Field(
        default=None,
        description=(
            "Snapshot commit of the working tree (tracked and untracked, non-ignored files) "
            "under `ref`; None when the tree matched HEAD."
        ),
    )
    ref: str | None = Field(default=None, description="Private ref that keeps the snapshot alive.")
    created_at: datetime


class Annotation(Model):
    """A note on a session or one of its events (e.g. code `failed_assumptions`)."""

    id: str
    session_id: str
    seq: int | None = None
    code: str
    text: str = ""
    created_at: datetime


class Action(StrEnum):
    CONTINUE = "continue"
    RESUME = "resume"
    FORK = "fork"
    FRESH = "fresh"


class Reason(Model):
    """One signal behind a recommendation."""

    code: ReasonCode
    severity: Severity
    message: str
    evidence: dict[str, Any] = Field(default_factory=dict)


class OptionKey(StrEnum):
    """What a decision option does (``remember``: continue and stop asking on this branch)."""

    RESUME = "resume"
    FRESH = "fresh"
    CONTINUE = "continue"
    REMEMBER = "remember"


class DecisionOption(Model):
    """One answer to a drift decision, as every door offers it (see ``core/decisions.py``)."""

    key: OptionKey
    action: Action = Field(description="The `action` of `sidecar/drift/decide` for this answer.")
    session_id: str | None = Field(
        default=None, description="The `sessionId` of `sidecar/drift/decide` (resume only)."
    )
    remember: bool = Field(default=False, description="The `remember` of `sidecar/drift/decide`.")
    title: str = Field(
        description="The native prompt's action title (unique within a decision; binding)."
    )
    button: str = Field(description="A short button text, e.g. `Resume`.")
    label: str = Field(
        description='The full choice for a picker, e.g. `Resume "Add login" on feature/login`.'
    )
    detail: str = Field(default="", description="One line saying what happens.")
    recommended: bool = False


class Recommendation(Model):
    """What the policy suggests for the current boundary, and why."""

    action: Action
    target_session_id: str | None = Field(
        default=None, description="The session to continue, resume or fork from."
    )
    reasons: list[Reason] = Field(default_factory=list)
    summary: str = ""
    ask: bool = Field(
        default=False, description="True when the user should be prompted (modal) about it."
    )
    deferred: bool = Field(
        default=False,
        description="True while a rebase/merge/cherry-pick/bisect is in progress: decide later.",
    )
    headline: str = Field(
        default="",
        description="Why the decision comes up, in one sentence (for a title), e.g. "
        "`You switched from main to feature/login.`",
    )
    question: str = Field(
        default="",
        description=(
            "The decision in words, naming the sessions and branches (no ids): why it comes "
            "up, then the choices, e.g. `You switched from main to feature/login. Resume "
            '"Add login" (active 2 hours ago), start fresh, or continue "Fix tests"?`'
        ),
    )
    choices: list[DecisionOption] = Field(
        default_factory=list,
        description="The answers to offer, the recommended one first (empty: nothing to ask).",
    )


class Choice(Model):
    """A remembered user choice, e.g. "don't ask again for this branch"."""

    repository: str
    branch: str
    action: Action
    created_at: datetime


class ApprovalState(StrEnum):
    PENDING = "pending"
    GRANTED = "granted"
    DENIED = "denied"


class Approval(Model):
    """A review gate: requested by an agent, granted or denied by a person."""

    id: str
    session_id: str
    title: str
    detail: str = ""
    state: ApprovalState = ApprovalState.PENDING
    requested_seq: int
    decided_seq: int | None = None
    decided_by: str | None = None
    reason: str = ""
    created_at: datetime
    decided_at: datetime | None = None


class SearchHit(Model):
    """One full-text match: the event and a highlighted snippet of its text."""

    session_id: str
    session_name: str
    seq: int
    kind: EventKind
    time: datetime
    snippet: str


class SessionPage(Model):
    """A page of sessions, newest activity first; pass `next_cursor` for the next page."""

    items: list[Session]
    next_cursor: str | None = None


class BlockKind(StrEnum):
    """What a display block shows (see `sidecar/core/render.py`)."""

    TURN = "turn"
    TOOL = "tool"
    COMMAND = "command"
    CHANGE = "change"
    FILES = "files"
    COMMIT = "commit"
    CHECKPOINT = "checkpoint"
    BOOKKEEPING = "bookkeeping"
    NOTE = "note"


class DisplayBlock(Model):
    """One unit of a session's history as people read it: a turn, a tool call with its
    result, a command, a change, a folded line of bookkeeping."""

    kind: BlockKind
    seq: int = Field(description="The first event's seq: where the block starts.")
    seqs: list[int] = Field(description="Every event shown in the block.")
    time: datetime
    actor: Actor
    title: str = Field(description="One line: `Prompt`, `Bash pytest -q`, `Edit app.py`.")
    body: str | None = Field(default=None, description="Markdown: a prompt, an answer, a note.")
    output: str | None = Field(default=None, description="Collapsible text output.")
    diff: str | None = Field(default=None, description="A unified diff.")
    status: str | None = Field(default=None, description="`ok`, `failed` or `denied`.")
    exit_code: int | None = None
    paths: list[str] = Field(default_factory=list, description="Files, worktree-relative.")
    dimmed: bool = Field(default=False, description="Bookkeeping: show it quietly.")
    markdown: str | None = Field(
        default=None,
        description="The block as Markdown, when asked for (`markdown: true`): the same text "
        "the Markdown export holds, for views that show Markdown as it is.",
    )
