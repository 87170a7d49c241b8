"""The drift service: one workspace folder's branch and scope, watched, and what to do about it.

One :class:`DriftService` per git workspace folder. It is transport-agnostic:
the language server and the terminal ``session-sidecar watch`` command both
drive it, each with its own :class:`DriftPort` (how to show a recommendation
and how to ask the user) and the :class:`~sidecar.services.sessions.SessionService`
that owns which session is active (its notifier announces ``sessionChanged``
and ``historyChanged``, so this service never announces them twice).

Threads. The session service and its store belong to one *owner* thread (the
server's store thread). Watcher callbacks arrive on watchdog threads; they
are handed to the owner thread with ``run`` (e.g. a one-worker
``ThreadPoolExecutor.submit``), which runs jobs in order. Nothing is
debounced: HEAD written -> inotify -> one job -> ``notify_drift``. Prompts are
coroutines run on ``loop`` (the server's event loop, or the terminal's); their
answer is handed back to the owner thread with ``run``, so a prompt left open
never blocks anything. Call :meth:`start`, :meth:`evaluate`, :meth:`decide`,
:meth:`note_activity` and :meth:`stop` on the owner thread.

What happens when git changes (every callback re-reads the parsed git state,
0.1 ms, and does nothing when it equals the last one):

- **Another branch** (or detached HEAD, or another worktree): the policy's
  recommendation is sent with ``notify_drift`` first (nothing may delay it),
  then ``branch_change`` {from, to, headSha} and ``drift`` events are
  recorded on the session that was active, which turns ``idle`` (not ended).
  Then the recommendation is acted on (see :meth:`DriftService.decide`):
  asked about when the policy wants a prompt (``ask``) and prompts are
  ``native``; left pending for the client with ``custom``; applied
  automatically with ``off`` or when the policy needs no prompt (switching
  back to the session's branch, a remembered "Don't ask again", no session
  to lose). An unanswered prompt leaves the recommendation pending.
- **Same branch, HEAD moved forward**: one ``commit`` event {sha, subject,
  branch} per new commit on the active session, whose ``headSha`` follows.
- **Same branch, HEAD moved elsewhere** (rebase, reset, amend): the policy's
  ``history_rewritten`` signal is recorded and shown without a prompt, unless
  the policy asks for one.
- **While a rebase, merge, cherry-pick, revert, bisect or am runs**: nothing.
  When it ends, the settled state is compared once with the state from
  before it began: a rebase of X that ends on X is no branch change.

Worktree activity (a batch of changed paths from the worktree watcher, or
:meth:`note_activity` from an appender) is recorded as a ``file_change``
event and checked for ``stale`` (idle longer than the limit) and
``footprint_drift``; those are shown with ``notify_drift`` and asked about
only when the policy asks (stale alone calls for fresh). Paths changed within
``checkout_quiet_s`` of a HEAD change are the checkout's own writes and are
not recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, Protocol

from sidecar.core.models import (
    Action,
    Actor,
    Boundary,
    EventKind,
    NewEvent,
    Phase,
    ReasonCode,
    Recommendation,
    Session,
    SessionStatus,
)
from sidecar.core.policy import DEFAULT_STALE_AFTER, DriftContext, last_activity, recommend
from sidecar.git.command import GitError
from sidecar.git.reader import CommitInfo, GitState, commit_log, is_ancestor, read_git_state
from sidecar.services.boundary import boundary_from_state, machine_name
from sidecar.services.errors import ServiceError
from sidecar.services.folders import Folder
from sidecar.services.sessions import SessionService
from sidecar.store import StoreError
from sidecar.watch.gitdir import GitDirWatcher
from sidecar.watch.worktree import DEFAULT_FOLDER_BUDGET, WorktreeWatcher

logger = logging.getLogger(__name__)

PromptMode = Literal["native", "custom", "off"]
WatcherMode = Literal["native", "editor", "off"]

#: Prompt action titles (binding: editors and tests match them exactly).
START_FRESH = "Start fresh"
CONTINUE_HERE = "Continue here"
DONT_ASK_AGAIN = "Don't ask again for this branch"

#: Annotation code that marks a session as holding failed or stale assumptions.
FAILED_ASSUMPTIONS = "failed_assumptions"

_LIVE = (SessionStatus.ACTIVE, SessionStatus.IDLE)


def commit_events(commits: Sequence[CommitInfo], *, requester: str, branch: str) -> list[NewEvent]:
    """`commit` events for the commits this session produced, oldest first.

    A commit counts as the session's when its author is the session's requester.
    Commits by others that arrive on the branch (a fast-forward pull) are not
    the session's work: one `note` lists them instead. When the requester is no
    email (an OS user name), authorship cannot be told and every commit counts.
    """
    own_check = "@" in requester
    own = [c for c in commits if not own_check or c.author_email.lower() == requester.lower()]
    others = [c for c in commits if c not in own]
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


def resume_title(session: Session) -> str:
    """The prompt action that resumes ``session``: ``Resume "<name>"``."""
    return f'Resume "{session.name}"'


@dataclass(frozen=True)
class DriftSettings:
    """How one folder's boundary is built and how drift is surfaced."""

    stale_after: timedelta = DEFAULT_STALE_AFTER
    prompts: PromptMode = "native"
    """native: ask through the port; custom: only notify (the client decides); off: no prompt."""
    requester: str | None = None
    """Overrides git's user.email in the boundary."""
    task: str | None = None
    phase: Phase | None = None
    provider: str | None = None
    watch_worktree: bool = True
    """Watch the worktree's files (footprint activity); False leaves it to the editor."""
    folder_budget: int = DEFAULT_FOLDER_BUDGET
    """A worktree with more included folders than this is left to the editor's watching."""
    checkout_quiet_s: float = 1.0
    """Worktree changes this soon after a HEAD change are the checkout's, not the session's."""
    recent_paths: int = 50
    """How many recently changed paths the footprint-drift check looks at."""


class DriftPort(Protocol):
    """Where the drift service shows recommendations and asks the user.

    ``notify_drift`` is called on the owner thread and must not block (the
    server hands it to its loop; the terminal prints). ``ask`` is a coroutine
    run on the service's loop; it returns the chosen action title, or None
    when the user dismissed the prompt.
    """

    def notify_drift(
        self, recommendation: Recommendation, before: Boundary | None, after: Boundary
    ) -> None:
        """Show ``recommendation`` for the move from ``before`` to ``after``."""

    async def ask(self, recommendation: Recommendation, actions: list[str]) -> str | None:
        """Ask the user to pick one of ``actions`` (titles); None when not answered."""


#: Runs a job on the owner thread, in submission order (e.g. ``executor.submit``).
Run = Callable[[Callable[[], None]], object]


class DriftService:
    """Branch, history and scope drift of one workspace folder (see the module docstring).

    Example (the terminal does this; the server passes its store thread and loop)::

        executor = ThreadPoolExecutor(max_workers=1)
        drift = DriftService(sessions, uri, path, port, run=executor.submit, loop=loop)
        executor.submit(drift.start).result()
    """

    def __init__(
        self,
        sessions: SessionService,
        uri: str,
        path: str | Path,
        port: DriftPort,
        *,
        run: Run,
        loop: asyncio.AbstractEventLoop | None = None,
        settings: DriftSettings | None = None,
    ) -> None:
        self.sessions = sessions
        self.store = sessions.store
        self.uri = uri
        self.path = str(path)
        self.port = port
        self.settings = settings or DriftSettings()
        self._run = run
        self._loop = loop
        self._machine = machine_name()
        self._folder: Folder | None = None
        self._state: GitState | None = None
        """The last git state read (possibly mid-operation)."""
        self._settled: GitState | None = None
        """The last git state with no operation in progress: the 'before' of the next decision."""
        self._pending: Recommendation | None = None
        self._generation = 0
        """Bumped by every new drift and decision: answers to older prompts are ignored."""
        self._last_head_change = float("-inf")
        self._recent: deque[str] = deque(maxlen=self.settings.recent_paths)
        self._footprint_warned: set[str] = set()
        self._git_watcher: GitDirWatcher | None = None
        self._tree_watcher: WorktreeWatcher | None = None
        self._watcher_mode: WatcherMode = "off"
        self._running = False
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ state

    @property
    def folder(self) -> Folder:
        """The folder as last read (boundary, HEAD, operation)."""
        if self._folder is None:
            raise ServiceError(f"the drift service of {self.uri} is not started")
        return self._folder

    @property
    def pending(self) -> Recommendation | None:
        """The recommendation waiting for a decision (for ``sidecar/status``), if any."""
        return self._pending

    @property
    def active_session(self) -> Session | None:
        """The folder's active session (owner thread)."""
        return self.sessions.active_session(self.folder)

    @property
    def watcher_mode(self) -> WatcherMode:
        """``native`` when this service watches the worktree, ``editor`` when the
        tree is too big and the editor should send didChangeWatchedFiles, ``off``."""
        return self._watcher_mode

    @property
    def folder_count(self) -> int:
        """Included folders counted in the worktree when watching started (0 if not watched)."""
        return self._tree_watcher.folder_count if self._tree_watcher is not None else 0

    @property
    def git_operation(self) -> str | None:
        """The git operation in progress (``rebase``...), if any."""
        return self._folder.operation if self._folder is not None else None

    def update_settings(self, settings: DriftSettings) -> None:
        """New settings (owner thread); the boundary takes them at the next git change."""
        self.settings = settings

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Session:
        """Read git, attach (or start) the folder's session and start watching (owner thread).

        Returns the active session. Raises ServiceError when the folder is not
        inside a git worktree (there is no branch to drift from).
        """
        state = read_git_state(self.path)
        if state is None:
            raise ServiceError(f"{self.path} is not inside a git worktree: nothing to watch")
        self._state = state
        self._settled = state if state.operation is None else None
        self._folder = self._folder_for(state)
        session = self.sessions.active_session(self._folder)
        if session is None or session.status not in _LIVE:
            session = self.sessions.attach_or_start(self._folder)
        self._running = True
        self._start_watchers(state)
        # A change between the read above and the watches being armed must not be lost.
        self._submit(self._on_git_change, "start")
        return session

    def _start_watchers(self, state: GitState) -> None:
        git_watcher = GitDirWatcher(
            state.git_dir,
            state.common_dir,
            lambda reason: self._submit(self._on_git_change, reason),
        )
        git_watcher.start()
        self._git_watcher = git_watcher
        if self.settings.watch_worktree:
            tree = WorktreeWatcher(
                state.worktree,
                lambda paths: self._submit(self._on_paths, paths),
                folder_budget=self.settings.folder_budget,
            )
            self._watcher_mode = tree.start()
            self._tree_watcher = tree
        else:
            self._watcher_mode = "off"

    def stop(self) -> None:
        """Stop watching; sessions stay as they are (nothing is ended). Idempotent."""
        with self._lock:
            self._running = False
            self._generation += 1
            git_watcher, self._git_watcher = self._git_watcher, None
            tree, self._tree_watcher = self._tree_watcher, None
        if git_watcher is not None:
            git_watcher.stop()
        if tree is not None:
            tree.stop()
        self._watcher_mode = "off"

    def adopt_git_state(self) -> None:
        """Take git's current state as settled without deciding anything (owner thread).

        For a change the sidecar made itself (an isolated session's new branch):
        the watcher callbacks it causes then find nothing new.
        """
        state = read_git_state(self.path)
        if state is None:
            return
        self._state = state
        self._settled = state if state.operation is None else self._settled
        self._folder = self._folder_for(state)
        self._last_head_change = time.monotonic()

    # ------------------------------------------------------------------ thread handoff

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        """Queue ``fn(*args)`` on the owner thread; failures are logged, never lost silently."""

        def job() -> None:
            if not self._running:
                return
            try:
                fn(*args)
            except Exception:
                logger.exception("drift service of %s failed in %s", self.uri, fn.__name__)

        try:
            self._run(job)
        except RuntimeError:  # the owner executor is shut down: we are closing
            logger.debug("drift job %s dropped: owner thread is gone", fn.__name__)

    # ------------------------------------------------------------------ git changes

    def _folder_for(self, state: GitState) -> Folder:
        boundary = boundary_from_state(
            state,
            machine=self._machine,
            requester_override=self.settings.requester,
            task=self.settings.task,
            phase=self.settings.phase,
            provider=self.settings.provider,
        )
        return Folder(
            uri=self.uri,
            path=self.path,
            worktree=state.worktree,
            boundary=boundary,
            head_sha=state.head_sha,
            operation=state.operation.value if state.operation is not None else None,
        )

    def _on_git_change(self, reason: str) -> None:
        """A git dir watcher callback (owner thread): re-read, compare, decide."""
        state = read_git_state(self.path)
        if state is None or state == self._state:
            return  # HEAD rewritten with the same content, or an unrelated ref
        self._state = state
        self._last_head_change = time.monotonic()
        self._folder = self._folder_for(state)
        if state.operation is not None:
            # Mid-rebase HEAD is detached and moves at every step: keep the state
            # from before the operation and decide once it settles.
            return
        before, self._settled = self._settled, state
        if before is None:
            # Started mid-operation: the session's own boundary is the 'before'.
            session = self.sessions.active_session(self.folder)
            if session is not None and session.boundary.branch != self.folder.boundary.branch:
                self._branch_changed(session.boundary, self.folder)
            return
        self._transition(before, state)

    def _transition(self, before: GitState, after: GitState) -> None:
        folder = self.folder
        old = self._folder_for(before).boundary
        new = folder.boundary
        moved = (old.repository, old.worktree, old.branch) != (
            new.repository,
            new.worktree,
            new.branch,
        )
        if moved and not self._detached_commit(before, after):
            self._branch_changed(old, folder)
            return
        if after.head_sha is not None and after.head_sha != before.head_sha:
            self._head_moved(folder, before, after)

    def _detached_commit(self, before: GitState, after: GitState) -> bool:
        """A commit on a detached HEAD changes the label, not the work: follow it silently."""
        if not (before.detached and after.detached and before.head_sha and after.head_sha):
            return False
        if before.worktree != after.worktree or before.repository_id != after.repository_id:
            return False
        try:
            if not is_ancestor(after.worktree, before.head_sha, after.head_sha):
                return False
        except GitError:
            return False
        session = self.sessions.active_session(self.folder)
        if session is not None and session.boundary == self._folder_for(before).boundary:
            self.store.update_session(session.id, boundary=self.folder.boundary)
        return True

    def _branch_changed(self, old: Boundary, folder: Folder) -> None:
        session = self.sessions.active_session(folder)
        if session is not None and session.status not in _LIVE:
            session = None
        before = session.boundary if session is not None else old
        rec = recommend(self._context(folder, session))
        self._generation += 1
        self._pending = rec
        self.port.notify_drift(rec, before, folder.boundary)
        if session is not None:
            events = [
                NewEvent(
                    kind=EventKind.BRANCH_CHANGE,
                    actor=Actor.SYSTEM,
                    payload={
                        "from": old.branch,
                        "to": folder.boundary.branch,
                        "headSha": folder.head_sha,
                    },
                ),
                _drift_event(rec),
            ]
            self.sessions.append(folder, session.id, events)
            if session.status is SessionStatus.ACTIVE:
                self.store.set_status(session.id, SessionStatus.IDLE)
        self._respond(rec, session)

    def _head_moved(self, folder: Folder, before: GitState, after: GitState) -> None:
        session = self.sessions.active_session(folder)
        new_sha = after.head_sha
        if session is None or session.status not in _LIVE or new_sha is None:
            return
        if session.boundary.branch != folder.boundary.branch:
            return  # a decision about this branch is pending; the commits are not the session's
        base = session.head_sha or before.head_sha
        if base == new_sha:
            return
        descendant = base is None or _descends(folder.worktree, base, new_sha)
        if descendant:
            events = commit_events(
                commit_log(folder.worktree, base, new_sha),
                requester=session.boundary.requester,
                branch=folder.boundary.branch,
            )
            self.store.update_session(session.id, head_sha=new_sha)
            if events:
                self.sessions.append(folder, session.id, events)
            return
        rec = recommend(self._context(folder, session, head_is_descendant=False))
        self.port.notify_drift(rec, session.boundary, folder.boundary)
        self.store.update_session(session.id, head_sha=new_sha)
        self.sessions.append(folder, session.id, [_drift_event(rec)])
        if rec.action is not Action.CONTINUE:
            self._generation += 1
            self._pending = rec
            self._respond(rec, session)

    # ------------------------------------------------------------------ activity

    def note_changed_paths(self, paths: Sequence[str]) -> None:
        """Changed worktree paths reported by the editor (``didChangeWatchedFiles``; owner
        thread): handled like the worktree watcher's batches."""
        self._on_paths(list(paths))

    def _on_paths(self, paths: list[str]) -> None:
        """A batch of changed worktree paths (owner thread)."""
        if time.monotonic() - self._last_head_change < self.settings.checkout_quiet_s:
            return  # the checkout rewriting files, not the session's work
        root = self.folder.worktree
        # Folders (created, renamed) are not work; their files are reported on their own.
        files = [p for p in paths if not os.path.isdir(os.path.join(root, p))]
        if files:
            self.note_activity(files, record=True)

    def note_activity(self, paths: Sequence[str] = (), *, record: bool = False) -> None:
        """Activity resumed in the folder: check staleness and footprint drift (owner thread).

        Call it *before* storing an appended event (the staleness check looks
        at the session's last activity). With ``record`` the paths are stored
        as one ``file_change`` event (what the worktree watcher does).
        """
        if self._folder is None:
            return
        folder = self.folder
        session = self.sessions.active_session(folder)
        if session is None or session.status not in _LIVE:
            return
        self._recent.extend(paths)
        idle = self.sessions.clock() - last_activity(session)
        if not paths and not record and idle <= self.settings.stale_after:
            return  # nothing new to weigh and not stale: skip the policy (appends stay cheap)
        if self._pending is None and session.boundary == folder.boundary:
            self._check_scope(folder, session)
        if record and paths:
            event = NewEvent(
                kind=EventKind.FILE_CHANGE,
                actor=Actor.SYSTEM,
                payload={"paths": list(paths), "source": "watcher"},
            )
            self.sessions.append(folder, session.id, [event])

    def _check_scope(self, folder: Folder, session: Session) -> None:
        rec = recommend(self._context(folder, session, recent=True))
        codes = {reason.code for reason in rec.reasons}
        stale = ReasonCode.STALE in codes
        drifted = ReasonCode.FOOTPRINT_DRIFT in codes
        if drifted and not stale and session.id in self._footprint_warned:
            return  # said once for this session; saying it at every save is noise
        if not (stale or drifted):
            self._footprint_warned.discard(session.id)
            return
        if drifted:
            self._footprint_warned.add(session.id)
        self.port.notify_drift(rec, session.boundary, folder.boundary)
        self.sessions.append(folder, session.id, [_drift_event(rec)])
        if rec.action is not Action.CONTINUE:
            self._generation += 1
            self._pending = rec
            self._respond(rec, session)

    # ------------------------------------------------------------------ policy

    def _context(
        self,
        folder: Folder,
        session: Session | None,
        *,
        head_is_descendant: bool | None = None,
        recent: bool = False,
    ) -> DriftContext:
        candidates = self.sessions.candidates(folder.boundary)
        failed = frozenset(
            s.id
            for s in [*candidates, *([session] if session is not None else [])]
            if self.store.has_annotation(s.id, FAILED_ASSUMPTIONS)
        )
        footprint: dict[str, float] = {}
        if recent and session is not None:
            footprint = {e.path: e.weight for e in self.store.footprint(session.id)}
        return DriftContext(
            current=folder.boundary,
            now=self.sessions.clock(),
            session=session,
            candidates=candidates,
            stale_after=self.settings.stale_after,
            remembered=self.store.remembered_choice(
                folder.boundary.repository, folder.boundary.branch
            ),
            operation_in_progress=folder.operation,
            head_sha=folder.head_sha,
            head_is_descendant=head_is_descendant,
            failed_assumptions=session is not None and session.id in failed,
            failed_session_ids=failed,
            footprint=footprint,
            recent_paths=list(self._recent) if recent else (),
        )

    def evaluate(self) -> Recommendation:
        """The recommendation for the folder now (``sidecar/drift/evaluate``; owner thread).

        Reads git first, so a change the watcher has not delivered yet is seen.
        """
        self._on_git_change("evaluate")
        folder = self.folder
        session = self.sessions.active_session(folder)
        descendant: bool | None = None
        if (
            session is not None
            and session.head_sha
            and folder.head_sha
            and session.boundary.branch == folder.boundary.branch
        ):
            descendant = _descends(folder.worktree, session.head_sha, folder.head_sha)
        return recommend(self._context(folder, session, head_is_descendant=descendant, recent=True))

    # ------------------------------------------------------------------ decisions

    def actions_for(self, rec: Recommendation, session: Session | None) -> list[str]:
        """The prompt's action titles for ``rec``, in the order they are offered."""
        actions: list[str] = []
        if rec.action is Action.RESUME and rec.target_session_id is not None:
            # A target deleted meanwhile simply drops the Resume action.
            with contextlib.suppress(StoreError):
                actions.append(resume_title(self.store.get_session(rec.target_session_id)))
        actions.append(START_FRESH)
        if session is not None:
            actions += [CONTINUE_HERE, DONT_ASK_AGAIN]
        return actions

    def _respond(self, rec: Recommendation, session: Session | None) -> None:
        """Ask, leave pending, or apply ``rec`` (see the module docstring)."""
        if rec.deferred:
            return
        prompts = self.settings.prompts
        if rec.ask and prompts == "native" and self._loop is not None:
            self._ask(rec, self.actions_for(rec, session))
            return
        if rec.ask and prompts == "custom":
            return  # the client renders it and answers with sidecar/drift/decide
        remembered = any(
            r.code is ReasonCode.USER_CHOICE and r.evidence.get("source") == "remembered"
            for r in rec.reasons
        )
        if rec.action is Action.CONTINUE and session is None:
            return
        self.decide(
            rec.action,
            session_id=rec.target_session_id if rec.action is Action.RESUME else None,
            chosen="remembered" if remembered else "automatic",
        )

    def _ask(self, rec: Recommendation, actions: list[str]) -> None:
        assert self._loop is not None
        generation = self._generation
        try:
            future = asyncio.run_coroutine_threadsafe(self.port.ask(rec, actions), self._loop)
        except RuntimeError:  # the loop is closed: nobody to ask
            return
        future.add_done_callback(
            lambda done: self._submit(self._answered, generation, rec, actions, done)
        )

    def _answered(
        self,
        generation: int,
        rec: Recommendation,
        actions: list[str],
        done: Future[str | None],
    ) -> None:
        answer: str | None = None
        if done.cancelled():
            answer = None
        elif done.exception() is not None:
            logger.warning("drift prompt failed: %s", done.exception())
        else:
            answer = done.result()
        if generation != self._generation:
            logger.info("ignoring the answer %r to a prompt made stale by a newer change", answer)
            return
        if answer is None or answer not in actions:
            return  # dismissed: the recommendation stays pending
        if answer == START_FRESH:
            self.decide(Action.FRESH, chosen=answer)
        elif answer == CONTINUE_HERE:
            self.decide(Action.CONTINUE, chosen=answer)
        elif answer == DONT_ASK_AGAIN:
            self.decide(Action.CONTINUE, remember=True, chosen=answer)
        else:
            self.decide(Action.RESUME, session_id=rec.target_session_id, chosen=answer)

    def decide(
        self,
        action: Action,
        session_id: str | None = None,
        remember: bool = False,
        *,
        chosen: str = "command",
    ) -> Session:
        """Act on a choice and record it (``sidecar/drift/decide``; owner thread).

        - ``fresh``: a new session on the folder's boundary becomes active;
        - ``resume``: ``session_id`` (default: the pending recommendation's
          target) becomes active; refused when another connection holds it;
        - ``fork``: a fork of ``session_id`` (default: the active session);
        - ``continue``: the active session stays, bound to the current branch.

        ``remember`` stores the choice for this repository and branch ("Don't
        ask again"). A ``decision`` event {action, chosen, remember, branch,
        recommendation, recommended} is appended to the resulting session.
        ``chosen`` says who chose: the prompt's title, ``command``,
        ``remembered`` or ``automatic``. Returns the folder's active session.
        """
        folder = self.folder
        rec = self._pending
        self._pending = None
        self._generation += 1
        if action is Action.FRESH:
            session = self.sessions.start(folder, reason="fresh")
        elif action is Action.RESUME:
            target = session_id or (rec.target_session_id if rec is not None else None)
            if target is None:
                target = self.evaluate().target_session_id
            if target is None:
                raise ServiceError("nothing to resume here: pass the sessionId to resume")
            outcome = self.sessions.resume(folder, target)
            if outcome.warning is not None and outcome.warning.code == "held":
                raise ServiceError(outcome.warning.message)
            session = self.store.update_session(outcome.session.id, head_sha=folder.head_sha)
        elif action is Action.FORK:
            source = session_id or self.sessions.active_id(folder)
            if source is None:
                raise ServiceError("nothing to fork here: pass the sessionId to fork")
            session = self.sessions.fork(folder, source)
        else:
            current = self.sessions.active_session(folder)
            if current is None:
                raise ServiceError("no session is active here to continue: start or resume one")
            session = self.store.update_session(
                current.id,
                boundary=folder.boundary,
                head_sha=folder.head_sha,
                status=SessionStatus.ACTIVE,
            )
            self.sessions.notifier.session_changed(folder, session, "continued")
        if remember:
            self.store.remember_choice(folder.boundary.repository, folder.boundary.branch, action)
        self._recent.clear()
        payload: dict[str, Any] = {
            "action": action.value,
            "chosen": chosen,
            "remember": remember,
            "branch": folder.boundary.branch,
            "recommendation": rec.summary if rec is not None else None,
            "recommended": rec.action.value if rec is not None else None,
        }
        self.sessions.append(
            folder,
            session.id,
            [NewEvent(kind=EventKind.DECISION, actor=Actor.USER, payload=payload)],
        )
        return self.store.get_session(session.id)


def _drift_event(rec: Recommendation) -> NewEvent:
    return NewEvent(kind=EventKind.DRIFT, actor=Actor.SYSTEM, payload=rec.to_json())


def _descends(worktree: str, old_sha: str, new_sha: str) -> bool:
    """True when history only grew from ``old_sha`` to ``new_sha``; unknown counts as rewritten."""
    try:
        return is_ancestor(worktree, old_sha, new_sha)
    except GitError:
        return False
