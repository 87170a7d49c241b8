"""Params and results of every sidecar JSON-RPC method and notification.

One pydantic model per params object and per result; field names are
snake_case in Python and camelCase on the wire. Params models are strict
(validated from JSON, so ``"5"`` is not an integer and ``1`` is not ``true``)
and forbid unknown fields, so a typo gets a -32602 error naming it instead of
being ignored. docs/protocol.md is generated from these models' JSON Schema
(``scripts/gen_protocol.py``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field

from sidecar.core.models import (
    Action,
    Annotation,
    Approval,
    Boundary,
    Checkpoint,
    DisplayBlock,
    Event,
    EventKind,
    FootprintEntry,
    Model,
    NewEvent,
    Phase,
    Recommendation,
    Scope,
    SearchHit,
    Session,
    SessionStatus,
)
from sidecar.core.tags import check_tag

# Bounds that keep one request from asking the server for unbounded work.
MAX_PAGE = 1000
MAX_BATCH = 10_000
MAX_ID = 200
MAX_NAME = 200
MAX_TEXT = 100_000

SessionId = str
FolderField = Field(
    default=None,
    max_length=4096,
    description="Workspace folder URI or path; default: the first workspace folder.",
)


def _must_be_true(value: bool) -> bool:
    if value is not True:
        raise ValueError("must be true to confirm")
    return value


#: A `confirm` flag: strictly the boolean true (`1` or `"yes"` do not confirm).
Confirmation = Annotated[bool, AfterValidator(_must_be_true)]


#: How a folder's file and branch changes are noticed: the server's own watchers
#: (native), the editor's didSave/didChangeWatchedFiles (editor), or not at all.
WatcherMode = Literal["native", "editor", "off"]


class Params(Model):
    """Base of every params model: strict types, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ResultWarning(Model):
    """Something the client should show: the request succeeded, but not as asked."""

    code: str = Field(
        description=(
            "Machine-readable reason: `unknown_session`, `repository_changed`, "
            "`requester_changed`, `machine_changed`, `held`, `isolate_failed`, `other_branch` "
            "(resumed, but the session was recorded on another branch or worktree)."
        )
    )
    message: str = Field(description="A sentence to show the user, saying what to do.")
    branch: str | None = Field(
        default=None,
        description="`other_branch`: the session's branch, to offer switching to it.",
    )


# --------------------------------------------------------------------------- status


class StatusParams(Params):
    """`sidecar/status`: where the workspace is and what the sidecar does there."""

    folder: str | None = FolderField


class WorkspaceStatus(Model):
    """The state of one workspace folder."""

    folder: str = Field(description="The folder URI as the client announced it.")
    boundary: Boundary | None
    active_session: Session | None
    pending_recommendation: Recommendation | None = None
    watcher_mode: WatcherMode = "off"


class StatusResult(Model):
    """The status of the requested folder, plus every workspace folder."""

    version: str
    db_path: str
    folder: str | None
    boundary: Boundary | None
    active_session: Session | None
    pending_recommendation: Recommendation | None = None
    watcher_mode: WatcherMode = "off"
    git_operation: str | None = Field(
        default=None, description="rebase/merge/cherry-pick/revert/bisect/am in progress."
    )
    read_only: bool = Field(
        default=False,
        description="The database cannot be written: history is shown, nothing is recorded.",
    )
    notices: list[str] = Field(
        default_factory=list,
        description="What the user must know about the storage (read-only, recovered).",
    )
    workspaces: list[WorkspaceStatus]


# --------------------------------------------------------------------------- sessions


class ListParams(Params):
    """`sidecar/sessions/list`: recent sessions around the current boundary."""

    scope: Scope = Field(
        default=Scope.BRANCH,
        description="branch: this repository and branch; worktree; repository; all.",
    )
    status: list[SessionStatus] | None = Field(default=None, max_length=4)
    query: str | None = Field(default=None, max_length=1000, description="Text in the name.")
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    cursor: str | None = Field(default=None, max_length=1000)
    tag: str | None = Field(default=None, max_length=1000, description="Only sessions with it.")
    pinned: bool | None = Field(
        default=None, description="true: only pinned sessions; false: only unpinned ones."
    )
    folder: str | None = FolderField


class ListResult(Model):
    """A page of sessions, newest activity first."""

    items: list[Session]
    next_cursor: str | None = None


class SessionIdParams(Params):
    """Params naming one session."""

    session_id: SessionId = Field(min_length=1, max_length=MAX_ID)


class ShowParams(SessionIdParams):
    """`sidecar/sessions/show`: one session with its footprint, checkpoints and lineage."""


class ShowResult(Model):
    """One session and what hangs off it."""

    session: Session
    footprint: list[FootprintEntry]
    checkpoints: list[Checkpoint]
    lineage: list[Session] = Field(description="Ancestors, nearest first.")
    children: list[Session]
    annotations: list[Annotation]


class EventsParams(SessionIdParams):
    """`sidecar/sessions/events`: a page of events after a seq."""

    after_seq: int = Field(default=0, ge=0)
    limit: int = Field(default=100, ge=1, le=MAX_PAGE)
    kinds: list[EventKind] | None = Field(default=None, max_length=len(EventKind))


class EventsResult(Model):
    """Events in seq order; pass `nextAfterSeq` as `afterSeq` for the next page."""

    items: list[Event]
    next_after_seq: int | None = None


class RenderParams(SessionIdParams):
    """`sidecar/sessions/render`: a page of a session's history as display blocks."""

    after_seq: int = Field(default=0, ge=0)
    limit: int = Field(default=200, ge=1, le=MAX_PAGE, description="Events per page.")
    markdown: bool = Field(default=False, description="Also give each block as Markdown.")


class RenderResult(Model):
    """Display blocks in order (the same blocks `sessions show` and the Markdown export show);
    pass `nextAfterSeq` as `afterSeq` for the next page."""

    items: list[DisplayBlock]
    next_after_seq: int | None = None


class SearchParams(Params):
    """`sidecar/sessions/search`: full-text search over event text."""

    query: str = Field(min_length=1, max_length=1000)
    scope: Scope = Scope.BRANCH
    limit: int = Field(default=50, ge=1, le=MAX_PAGE)
    folder: str | None = FolderField


class SearchResult(Model):
    """Matching events, best first."""

    items: list[SearchHit]


class StartParams(Params):
    """`sidecar/sessions/start`: a new session on the folder's current boundary."""

    name: str | None = Field(default=None, max_length=MAX_NAME)
    description: str | None = Field(default=None, max_length=MAX_TEXT)
    task: str | None = Field(default=None, max_length=MAX_NAME)
    phase: Phase | None = None
    provider: str | None = Field(default=None, max_length=MAX_NAME)
    parent_id: SessionId | None = Field(default=None, max_length=MAX_ID)
    isolate: bool = Field(
        default=False, description="Derive a new branch from the default branch for it."
    )
    worktree: bool = Field(
        default=False, description="With isolate: put the branch in a new linked worktree."
    )
    folder: str | None = FolderField


class StartResult(Model):
    """The new session (now the folder's active one)."""

    session: Session
    warning: ResultWarning | None = None


class ResumeParams(SessionIdParams):
    """`sidecar/sessions/resume`: make a known session the folder's active one."""

    take_over: bool = Field(
        default=False, description="Take the session from another live connection holding it."
    )
    folder: str | None = FolderField


class ResumeResult(Model):
    """The folder's active session after the call.

    resumed=false: the id was unknown or ineligible (a new session was started,
    `warning` says why) or the session is held elsewhere (`warning.code` is
    `held`; the active session is unchanged).
    """

    session: Session
    resumed: bool
    warning: ResultWarning | None = None


class ForkParams(SessionIdParams):
    """`sidecar/sessions/fork`: a new session sharing history up to a seq."""

    at_seq: int | None = Field(default=None, ge=0, description="Default: the latest seq.")
    name: str | None = Field(default=None, max_length=MAX_NAME)
    folder: str | None = FolderField


class SessionResult(Model):
    """One session."""

    session: Session


class RenameParams(SessionIdParams):
    """`sidecar/sessions/rename`: give a session a new name."""

    name: str = Field(min_length=1, max_length=MAX_NAME)


class PinParams(SessionIdParams):
    """`sidecar/sessions/pin`: pin a session (kept by cleanup, listed as pinned) or unpin it."""

    pinned: bool = True


#: A tag as a param: checked by the one tag rule (`sidecar.core.tags.check_tag`).
Tag = Annotated[str, AfterValidator(check_tag)]
#: The most tags one request may add or remove.
MAX_TAGS = 100


class TagParams(SessionIdParams):
    """`sidecar/sessions/tag`: add and remove a session's tags (removals first).

    A tag is not empty, at most 40 characters, without whitespace or control
    characters; `hook` and `branch-inferred` are the sidecar's own. Tags are
    de-duplicated and redacted like every stored text.
    """

    add: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    remove: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)


class EndParams(SessionIdParams):
    """`sidecar/sessions/end`: mark a session ended (history kept)."""


class DeleteParams(SessionIdParams):
    """`sidecar/sessions/delete`: delete a session and its events; needs `confirm: true`."""

    confirm: Confirmation = Field(description="Must be true: deleting cannot be undone.")


class DeleteResult(Model):
    """The deleted session's id."""

    session_id: str
    deleted: Literal[True] = True


class CleanupParams(Params):
    """`sidecar/sessions/cleanup`: delete ended sessions older than N days (pinned kept)."""

    older_than_days: int = Field(ge=0, le=100_000)
    dry_run: bool = False


class CleanupResult(Model):
    """The sessions deleted (or, with dryRun, that would be)."""

    sessions: list[Session]
    deleted: int


class ExportParams(SessionIdParams):
    """`sidecar/sessions/export`: one session as JSONL or Markdown."""

    format: Literal["jsonl", "markdown"]
    path: str | None = Field(
        default=None,
        max_length=4096,
        description=(
            "Also write it here: inside a workspace folder of the first initialize or the "
            "`exports` folder beside the database, never over a file that is not an unchanged "
            "earlier export. Omit it to save the returned content yourself."
        ),
    )


class ExportResult(Model):
    """The exported text, and where it was written."""

    format: Literal["jsonl", "markdown"]
    content: str
    path: str | None = None


# --------------------------------------------------------------------------- events


class AppendEvent(NewEvent):
    """One event to append (the store assigns seq; time defaults to now)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class AppendParams(Params):
    """`sidecar/events/append`: a batch of events, atomically."""

    session_id: SessionId | None = Field(
        default=None, max_length=MAX_ID, description="Default: the folder's active session."
    )
    events: list[AppendEvent] = Field(min_length=1, max_length=MAX_BATCH)
    folder: str | None = FolderField


class AppendResult(Model):
    """The seq of each event, in order (a retried clientEventId returns its original seq)."""

    session_id: str
    seqs: list[int]


# --------------------------------------------------------------------------- checkpoints


class CheckpointCreateParams(Params):
    """`sidecar/checkpoints/create`: snapshot the working tree before something risky."""

    session_id: SessionId | None = Field(default=None, max_length=MAX_ID)
    name: str = Field(min_length=1, max_length=MAX_NAME)
    folder: str | None = FolderField


class CheckpointResult(Model):
    """The checkpoint."""

    checkpoint: Checkpoint


class CheckpointRestoreParams(Params):
    """`sidecar/checkpoints/restore`: write a checkpoint's files back; needs `confirm: true`."""

    checkpoint_id: str = Field(min_length=1, max_length=MAX_ID)
    confirm: Confirmation = Field(description="Must be true: working-tree files are overwritten.")


class CheckpointRestoreResult(Model):
    """The restored checkpoint."""

    checkpoint: Checkpoint
    restored: Literal[True] = True


class CheckpointChangesParams(Params):
    """`sidecar/checkpoints/changes`: the files that differ between a checkpoint and the
    working tree now (tracked and untracked, non-ignored files, as a snapshot counts them)."""

    checkpoint_id: str = Field(min_length=1, max_length=MAX_ID)


class CheckpointFileChange(Model):
    """One file that differs since the checkpoint."""

    path: str = Field(description="Relative to `worktree`, with `/` separators.")
    change: Literal["added", "deleted", "modified"] = Field(
        description="`added` since the checkpoint, `deleted` since, or `modified`."
    )


class CheckpointChangesResult(Model):
    """The checkpoint, the worktree root its paths are relative to, and the changed files."""

    checkpoint: Checkpoint
    worktree: str
    files: list[CheckpointFileChange]


class CheckpointFileParams(Params):
    """`sidecar/checkpoints/file`: one file's content as a checkpoint holds it (read-only)."""

    checkpoint_id: str = Field(min_length=1, max_length=MAX_ID)
    path: str = Field(min_length=1, max_length=4096, description="Relative to the worktree root.")


class CheckpointFileResult(Model):
    """The file at the checkpoint; `content` is None when it had no such file or it is binary."""

    path: str
    exists: bool
    binary: bool = False
    content: str | None


# --------------------------------------------------------------------------- annotations, cache


class AnnotationAddParams(SessionIdParams):
    """`sidecar/annotations/add`: annotate a session or one of its events."""

    seq: int | None = Field(default=None, ge=1)
    code: str = Field(min_length=1, max_length=MAX_NAME, description="e.g. failed_assumptions")
    text: str = Field(default="", max_length=MAX_TEXT)


class AnnotationResult(Model):
    """The annotation."""

    annotation: Annotation


class CachePutParams(SessionIdParams):
    """`sidecar/cache/put`: store derived state under a key (replaces)."""

    key: str = Field(min_length=1, max_length=MAX_NAME)
    value: Any


class CachePutResult(Model):
    """Where the value went."""

    session_id: str
    key: str


class CacheGetParams(SessionIdParams):
    """`sidecar/cache/get`: read a cache entry."""

    key: str = Field(min_length=1, max_length=MAX_NAME)


class CacheGetResult(Model):
    """The value, or null when there is none."""

    session_id: str
    key: str
    value: Any = None


# --------------------------------------------------------------------------- approvals


class ApprovalRequestParams(Params):
    """`sidecar/approvals/request`: open a review gate."""

    session_id: SessionId | None = Field(default=None, max_length=MAX_ID)
    title: str = Field(min_length=1, max_length=MAX_NAME)
    detail: str = Field(default="", max_length=MAX_TEXT)
    folder: str | None = FolderField


class ApprovalResult(Model):
    """The approval."""

    approval: Approval


class ApprovalDecideParams(Params):
    """`sidecar/approvals/decide`: grant or deny."""

    approval_id: str = Field(min_length=1, max_length=MAX_ID)
    grant: bool
    reason: str = Field(default="", max_length=MAX_TEXT)


# --------------------------------------------------------------------------- drift


class DriftEvaluateParams(Params):
    """`sidecar/drift/evaluate`: the recommendation for the folder's boundary now."""

    folder: str | None = FolderField


class DriftEvaluateResult(Model):
    """The current boundary and what the policy recommends."""

    folder: str
    boundary: Boundary
    recommendation: Recommendation


class DriftDecideParams(Params):
    """`sidecar/drift/decide`: record the user's choice and act on it."""

    action: Action
    session_id: SessionId | None = Field(
        default=None, max_length=MAX_ID, description="resume: the session; fork: the source."
    )
    remember: bool = Field(default=False, description="Don't ask again for this branch.")
    folder: str | None = FolderField


class DriftDecideResult(Model):
    """The folder's active session after acting."""

    session: Session
    action: Action


# --------------------------------------------------------------------------- notifications


class DriftDetectedParams(Model):
    """`sidecar/driftDetected` (server -> client)."""

    folder: str
    recommendation: Recommendation
    before: Boundary | None
    after: Boundary


class SessionChangedParams(Model):
    """`sidecar/sessionChanged` (server -> client): the folder's active session and why."""

    folder: str
    session: Session
    reason: Literal["attached", "started", "resumed", "fresh", "forked", "continued"]


class HistoryChangedParams(Model):
    """`sidecar/historyChanged` (server -> client): a session has new events up to lastSeq."""

    session_id: str
    last_seq: int
