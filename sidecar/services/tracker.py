"""The git tracker: one watched folder's git state over time, acted on.

A door that watches a folder (the language server, ``watch``) owns the
watchers and hands their news to the tracker on the owner thread:
:meth:`GitTracker.observe` when the git directory changed,
:meth:`GitTracker.paths_changed` with a batch of changed worktree files. The
tracker re-reads git (0.1 ms, from files), asks
:func:`sidecar.core.transitions.classify` what the change means, and acts:

- **branch switch**: the policy's recommendation is shown first (nothing may
  delay it), then ``branch_change`` and ``drift`` events are recorded on the
  session that was active, which turns idle (not ended); then the workspace
  asks, leaves it pending, or applies it (see :meth:`Workspace.respond`);
- **head moved** on the session's branch: one ``commit`` event per commit the
  session's requester authored (a pull's commits become one ``note``); a
  detached HEAD that follows its own commits carries the session along;
- **history rewritten**: a ``history_rewritten`` drift, shown without a
  prompt unless the policy asks for one;
- **operation in progress** (rebase, merge, cherry-pick, revert, bisect, am):
  nothing until it settles; then the settled state is compared once with
  the one from before it began (a rebase of X that ends on X is no switch);
- **same-branch checkout**, **unchanged**, **settled**: nothing.

Worktree files written within ``checkout_quiet_s`` of a HEAD change are the
checkout's own writes, not the session's work, and are not recorded.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence

from sidecar.core.decisions import branch_change_event, drift_event
from sidecar.core.models import Action, Actor, EventKind, NewEvent, Session
from sidecar.core.policy import recommend
from sidecar.core.transitions import (
    Transition,
    TransitionKind,
    checkout_noise,
    classify,
    commit_events,
)
from sidecar.git.command import GitError
from sidecar.git.reader import commit_log
from sidecar.services.boundary import Place
from sidecar.services.drift import descends, drift_context
from sidecar.services.repositories import settle_repository
from sidecar.services.sessions import LIVE
from sidecar.services.workspace import Folder, Workspace

logger = logging.getLogger(__name__)


class GitTracker:
    """Git changes of one workspace folder (see the module docstring). Owner thread only."""

    def __init__(
        self,
        workspace: Workspace,
        folder: Folder,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.workspace = workspace
        self.folder = folder
        self._monotonic = monotonic
        place = folder.place
        self._settled: Place | None = place if place.operation is None else None
        """The last place with no operation in progress: the 'before' of the next decision."""
        self._operation: str | None = place.operation
        self._last_head_change = float("-inf")
        folder.tracker = self

    # ------------------------------------------------------------------ git changes

    def adopt(self) -> None:
        """Take git's state now as settled, deciding nothing (a switch the sidecar made)."""
        place = self.workspace.resolve(self.folder.uri)
        self.folder.place = place
        if place.operation is None:
            self._settled = place
        self._operation = place.operation
        self._last_head_change = self._monotonic()

    def observe(self, reason: str = "") -> None:
        """The git directory changed (or a request wants the state now): re-read and act."""
        place = self.workspace.resolve(self.folder.uri)
        previous = self.folder.place
        if place.head is None:
            self.folder.place = place  # the repository went away: nothing to decide about
            return
        if place.head == previous.head and place.boundary == previous.boundary:
            return  # HEAD rewritten with the same content, or an unrelated ref
        self.folder.place = place
        if place.head != previous.head:
            self._last_head_change = self._monotonic()
        if place.operation is not None:
            self._operation = place.operation
            return  # mid-operation HEAD moves at every step: decide once it settles
        before, self._settled = self._settled, place
        ended, self._operation = self._operation, None
        session = self._live_session()
        transition = classify(
            before.head if before is not None else None, place.head, session, ended_operation=ended
        )
        if transition.kind is TransitionKind.NEEDS_ANCESTRY:
            assert transition.base is not None and transition.head is not None
            transition = classify(
                before.head if before is not None else None,
                place.head,
                session,
                descends=descends(place.worktree, transition.base, transition.head),
                ended_operation=ended,
            )
        logger.debug("%s: %s (%s)", self.folder.uri, transition.kind.value, reason)
        if transition.kind is TransitionKind.BRANCH_SWITCH:
            self._branch_switched(before, session)
        elif transition.kind is TransitionKind.HEAD_MOVED:
            self._head_moved(transition, before, session)
        elif transition.kind is TransitionKind.HISTORY_REWRITTEN:
            self._history_rewritten(transition, session)
        if place.boundary.repository != previous.boundary.repository:
            settle_repository(self.workspace.store, place)

    def _live_session(self) -> Session | None:
        session = self.workspace.active(self.folder)
        return session if session is not None and session.status in LIVE else None

    def _branch_switched(self, before: Place | None, session: Session | None) -> None:
        workspace, folder = self.workspace, self.folder
        place = folder.place
        rec = recommend(
            drift_context(
                workspace.store,
                place.boundary,
                session,
                now=workspace.sessions.clock(),
                stale_after=workspace.settings.stale_after,
                head_sha=place.head_sha,
                operation=place.operation,
            )
        )
        old = before.boundary if before is not None else None
        workspace.show(folder, rec, session.boundary if session is not None else old)
        if session is not None:
            from_branch = old.branch if old is not None else session.boundary.branch
            workspace.sessions.write(
                session.id,
                [
                    branch_change_event(from_branch, place.boundary.branch, place.head_sha),
                    drift_event(rec),
                ],
                bookkeeping=True,
            )
            workspace.mark_idle(session)
        workspace.respond(folder, rec, session)

    def _head_moved(
        self, transition: Transition, before: Place | None, session: Session | None
    ) -> None:
        place = self.folder.place
        store = self.workspace.store
        if session is None or transition.head is None:
            return
        if transition.relabel:
            if before is None or session.boundary != before.boundary:
                return  # the session is bound elsewhere: these commits are not its work
            session = store.sessions.update(session.id, boundary=place.boundary)
        try:
            commits = commit_log(place.worktree, transition.base, transition.head)
        except GitError as exc:
            logger.warning("could not list commits of %s: %s", place.worktree, exc)
            commits = []
        events = commit_events(
            commits, requester=session.boundary.requester, branch=place.boundary.branch
        )
        store.sessions.update(session.id, head_sha=transition.head)
        if events:
            self.workspace.sessions.write(session.id, events, bookkeeping=True)

    def _history_rewritten(self, transition: Transition, session: Session | None) -> None:
        workspace, folder = self.workspace, self.folder
        place = folder.place
        if session is None:
            return
        rec = recommend(
            drift_context(
                workspace.store,
                place.boundary,
                session,
                now=workspace.sessions.clock(),
                stale_after=workspace.settings.stale_after,
                head_sha=place.head_sha,
                head_is_descendant=False,
            )
        )
        workspace.show(folder, rec, session.boundary)
        workspace.store.sessions.update(session.id, head_sha=transition.head)
        workspace.sessions.write(session.id, [drift_event(rec)], bookkeeping=True)
        if rec.action is not Action.CONTINUE:
            workspace.respond(folder, rec, session)

    # ------------------------------------------------------------------ worktree changes

    def paths_changed(self, paths: Sequence[str]) -> None:
        """A batch of changed worktree files (relative POSIX paths): the session's work.

        From the sidecar's own worktree watcher, or from the editor's
        ``workspace/didChangeWatchedFiles`` when the tree is too big to watch.
        """
        since = self._monotonic() - self._last_head_change
        if checkout_noise(since, self.workspace.settings.checkout_quiet_s):
            return  # the checkout rewriting files, not the session's work
        root = self.folder.place.worktree
        # Folders (created, renamed) are not work; their files are reported on their own.
        files = list(dict.fromkeys(p for p in paths if not os.path.isdir(os.path.join(root, p))))
        if not files:
            return
        event = NewEvent(
            kind=EventKind.FILE_CHANGE,
            actor=Actor.SYSTEM,
            payload={"paths": files, "source": "watcher"},
        )
        # An edit is work: with no live session here, it begins one.
        self.workspace.append(self.folder, None, [event])
