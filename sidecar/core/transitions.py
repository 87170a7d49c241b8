"""Git transitions: what a change of a worktree's git state means for its session.

:func:`classify` is one pure function from (the state before, the state
after, the active session) to a :class:`Transition`. The git tracker
(:mod:`sidecar.services.tracker`) reads git, asks this function, and acts on
the answer; it decides nothing by itself. docs/policy.md holds the table
this module implements.

Ancestry ("does the new HEAD descend from the old one?") needs git, so the
function never guesses it: when the answer depends on it, it returns
:attr:`TransitionKind.NEEDS_ANCESTRY` with the two commits to compare, and
the caller asks git and calls again with ``descends``. A branch switch, the
common case and the one whose latency matters, needs no git call at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sidecar.core.models import Actor, EventKind, NewEvent, Session


@dataclass(frozen=True)
class HeadState:
    """What the tracker needs of one worktree's git state, as plain data."""

    repository: str
    worktree: str
    branch: str
    """The branch name, or ``detached@<sha>`` when HEAD is detached."""
    head_sha: str | None
    detached: bool = False
    operation: str | None = None
    """``rebase``, ``merge``, ``cherry-pick``, ``revert``, ``bisect`` or ``am`` while it runs."""

    def place(self) -> tuple[str, str, str]:
        """Repository, worktree and branch: what a session is bound to in git terms."""
        return (self.repository, self.worktree, self.branch)


class TransitionKind(StrEnum):
    UNCHANGED = "unchanged"
    """Nothing the session cares about changed (a duplicate event, another branch's ref)."""
    OPERATION_IN_PROGRESS = "operation_in_progress"
    """A rebase, merge, cherry-pick, revert, bisect or am runs: decide once it settles."""
    SETTLED = "settled"
    """An operation ended where it began (aborted, or it changed nothing)."""
    BRANCH_SWITCH = "branch_switch"
    """HEAD names another branch, worktree or repository than before."""
    SAME_BRANCH_CHECKOUT = "same_branch_checkout"
    """HEAD was written again with the same branch and commit (``git checkout`` of itself)."""
    NEEDS_ANCESTRY = "needs_ancestry"
    """HEAD moved on the same branch: call again with ``descends`` for ``base`` -> ``head``."""
    HEAD_MOVED = "head_moved"
    """HEAD moved forward: the commits between ``base`` and ``head`` are new work."""
    HISTORY_REWRITTEN = "history_rewritten"
    """HEAD moved to a commit that does not descend from ``base`` (rebase, reset, amend)."""


@dataclass(frozen=True)
class Transition:
    """The meaning of one git change, with what the caller needs to act on it."""

    kind: TransitionKind
    before: HeadState | None
    after: HeadState
    base: str | None = None
    """The commit the session last saw (or HEAD before), for head moves and ancestry."""
    head: str | None = None
    relabel: bool = False
    """The label changed, the work did not: a detached HEAD followed its own commits, or the
    repository's id changed under the same worktree and branch (its first commit, an origin)."""
    operation: str | None = None
    """The operation in progress, or the one that just ended (``SETTLED`` and after)."""


def _same_work_detached(before: HeadState, after: HeadState) -> bool:
    return (
        before.detached
        and after.detached
        and before.repository == after.repository
        and before.worktree == after.worktree
        and before.head_sha is not None
        and after.head_sha is not None
    )


def _same_work_new_identity(before: HeadState, after: HeadState) -> bool:
    """The repository's id changed under the same worktree and branch: its first commit
    (a folder-keyed repository gains its root commit) or an origin added, not a move."""
    return (
        before.repository != after.repository
        and before.worktree == after.worktree
        and before.branch == after.branch
        and after.head_sha is not None
        and before.head_sha in (None, after.head_sha)
    )


def classify(
    before: HeadState | None,
    after: HeadState,
    session: Session | None = None,
    *,
    descends: bool | None = None,
    ended_operation: str | None = None,
) -> Transition:
    """What the change from ``before`` to ``after`` means for the active ``session``.

    ``before`` is the last *settled* state (no operation in progress), or None
    when none was seen yet (the tracker started mid-operation): then the
    session's own boundary stands for it. ``ended_operation`` names the
    operation that was in progress until ``after``. ``descends`` answers a
    previous :attr:`~TransitionKind.NEEDS_ANCESTRY`.

    >>> a = HeadState("r", "/w", "main", "1" * 40)
    >>> classify(a, HeadState("r", "/w", "feature", "1" * 40)).kind.value
    'branch_switch'
    >>> classify(a, a).kind.value
    'unchanged'
    """
    if after.operation is not None:
        return Transition(
            TransitionKind.OPERATION_IN_PROGRESS, before, after, operation=after.operation
        )
    result = _classify_settled(before, after, session, descends)
    if ended_operation is not None and result.kind in (
        TransitionKind.UNCHANGED,
        TransitionKind.SAME_BRANCH_CHECKOUT,
    ):
        return Transition(TransitionKind.SETTLED, before, after, operation=ended_operation)
    if ended_operation is not None:
        return Transition(
            result.kind,
            result.before,
            result.after,
            base=result.base,
            head=result.head,
            relabel=result.relabel,
            operation=ended_operation,
        )
    return result


def _classify_settled(
    before: HeadState | None, after: HeadState, session: Session | None, descends: bool | None
) -> Transition:
    if before is None:
        # Nothing settled was seen before this state: the session's boundary is the 'before'.
        if session is not None:
            bound = session.boundary
            if (bound.repository, bound.worktree, bound.branch) != after.place():
                return Transition(TransitionKind.BRANCH_SWITCH, None, after)
        return Transition(TransitionKind.UNCHANGED, None, after)
    if before == after:
        return Transition(TransitionKind.UNCHANGED, before, after)
    if _same_work_new_identity(before, after):
        return Transition(
            TransitionKind.HEAD_MOVED,
            before,
            after,
            base=before.head_sha,
            head=after.head_sha,
            relabel=True,
        )
    if before.place() != after.place():
        if _same_work_detached(before, after):
            if descends is None:
                return Transition(
                    TransitionKind.NEEDS_ANCESTRY,
                    before,
                    after,
                    base=before.head_sha,
                    head=after.head_sha,
                )
            if descends:
                return Transition(
                    TransitionKind.HEAD_MOVED,
                    before,
                    after,
                    base=before.head_sha,
                    head=after.head_sha,
                    relabel=True,
                )
        return Transition(TransitionKind.BRANCH_SWITCH, before, after)
    if after.head_sha is None or after.head_sha == before.head_sha:
        return Transition(TransitionKind.SAME_BRANCH_CHECKOUT, before, after)
    if session is not None and session.boundary.branch != after.branch:
        # A decision about this branch is pending: these commits are not the session's.
        return Transition(TransitionKind.UNCHANGED, before, after)
    base = (session.head_sha if session is not None else None) or before.head_sha
    if base == after.head_sha:
        return Transition(TransitionKind.SAME_BRANCH_CHECKOUT, before, after)
    if base is None:
        # The branch had no commit yet: everything on it now is new work.
        return Transition(TransitionKind.HEAD_MOVED, before, after, head=after.head_sha)
    if descends is None:
        return Transition(
            TransitionKind.NEEDS_ANCESTRY, before, after, base=base, head=after.head_sha
        )
    kind = TransitionKind.HEAD_MOVED if descends else TransitionKind.HISTORY_REWRITTEN
    return Transition(kind, before, after, base=base, head=after.head_sha)


class CommitLike(Protocol):
    """A commit as the git reader lists it."""

    @property
    def sha(self) -> str: ...

    @property
    def subject(self) -> str: ...

    @property
    def author_email(self) -> str: ...


def commit_events(commits: Sequence[CommitLike], *, requester: str, branch: str) -> list[NewEvent]:
    """``commit`` events for the commits a session produced, oldest first.

    A commit counts as the session's when its author is the session's
    requester. Commits by others that arrive on the branch (a fast-forward
    pull) are not the session's work: one ``note`` lists them instead. When
    the requester is no email (an OS user name), authorship cannot be told
    and every commit counts.
    """
    own_check = "@" in requester
    own = [c for c in commits if not own_check or c.author_email.lower() == requester.lower()]
    own_shas = {c.sha for c in own}
    others = [c for c in commits if c.sha not in own_shas]
    events = [
        NewEvent(
            kind=EventKind.COMMIT,
            actor=Actor.SYSTEM,
            payload={"sha": c.sha, "subject": c.subject, "branch": branch},
        )
        for c in own
    ]
    if others:
        events.append(
            NewEvent(
                kind=EventKind.NOTE,
                actor=Actor.SYSTEM,
                payload={
                    "text": f"{len(others)} commit(s) by others arrived on {branch}",
                    "commits": [
                        {"sha": c.sha, "subject": c.subject, "author": c.author_email}
                        for c in others
                    ],
                },
            )
        )
    return events


def checkout_noise(seconds_since_head_change: float, quiet_s: float) -> bool:
    """True while worktree writes are still the checkout's own (not the session's work).

    Git writes HEAD last in a checkout, but editors and build tools react to
    the new files for a moment after; changes that close are not recorded.
    """
    return seconds_since_head_change < quiet_s
