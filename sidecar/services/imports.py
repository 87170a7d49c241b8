"""Import other tools' session files: idempotent, incremental, through the one append path.

Shared by ``session-sidecar import`` and live ingestion (:mod:`sidecar.services.live`).

- Each provider session maps to exactly one store session: the store's
  unique index on (provider, provider reference) and
  ``sessions.ensure_for_provider_ref`` make two importers racing on one file
  (two editor windows) create it once. The boundary's ``provider`` is the
  provider name.
- Events are appended through :func:`sidecar.services.append.append` as
  history: a session another live connection holds refuses them (the file's
  cursor stays put and the import is retried later), sizes are checked and
  payloads redacted in the store's transaction.
- Each event's source id is its client event id, so importing the same lines
  twice adds nothing, even after a crash between two batches.
- Per file, the :class:`~sidecar.importers.common.Cursor` is kept with
  ``store.state.put("import:<provider>:<path>", ...)`` after its events are
  stored: the next import reads only new complete lines.
- Lineage: a fork's parent, a sub-agent's parent and root are looked up by
  their provider refs. Events a fork copied from its parent are left out when
  they are found in the parent, and the fork starts at that seq
  (``forked_at_seq``), so the store shows the parent's history up to there.
  A session whose parent is not in the store yet is imported after the others
  in the same :func:`import_paths` call; if the parent never appears, the
  session keeps the copied events and has no parent.
- Events without a time (the tool wrote none) get the previous event's time,
  else the session's start, so they sort where they happened.
- Imported sessions keep their real times: created at the file's first
  time, updated at its last; a session whose last activity is older than the
  staleness limit (:class:`~sidecar.services.drift.DriftSettings`) is
  ``ended``, not ``active`` (:func:`settle_times`).
- A file that names no working folder yet waits for more lines; once it holds
  events and still names none, it is imported without a repository boundary
  (:func:`unknown_boundary`) rather than never, and moves to the real
  boundary if a later line names the folder.
- Files that are not sessions (a warm-up or compaction run, see
  ``ImportedSession.discard``) are remembered as such and imported never.
- Sub-sessions found inside a file (``ImportedSession.children``) are stored
  under the file's session, as sub-agent sessions.
- Where the tool records no branch, the branch HEAD was on when the session
  began is read from the repository's reflog when the repository is here
  (:func:`sidecar.git.reflog.branch_at_time`); the session is tagged
  :data:`BRANCH_INFERRED_TAG` and a note says so.
- One rule merges hook-recorded and imported sessions (:func:`merge_with_hook`):
  the importer writes into the session the hook created (same provider and
  reference) and adds only what the hook did not record. Tool events carry
  the hook's own ids, so the store's idempotency collapses duplicates; other
  events are imported only when later than the session's last hook-recorded
  event, and never when the hook recorded the same text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sidecar.core.kinds import EventDraft
from sidecar.core.models import Actor, Boundary, EventKind, Session, SessionStatus
from sidecar.core.text import short_name
from sidecar.git.command import GitError
from sidecar.importers import claude_code
from sidecar.importers.common import Cursor, ImportedEvent, ImportedSession, parse_time
from sidecar.importers.registry import PROVIDERS, importer
from sidecar.services.append import append
from sidecar.services.boundary import boundary_for, outside_git
from sidecar.services.drift import DriftSettings
from sidecar.services.repositories import settle_repository
from sidecar.services.sessions import SessionService
from sidecar.store import SessionHeld, Store, UnknownSession

BoundaryForCwd = Callable[[str, str | None], Boundary]
"""Builds the boundary of an imported session from its working directory and branch."""

BATCH_SIZE = 2000
#: Imports are history: no activity check, default limits.
_HISTORY = DriftSettings()
CHUNK_LINES = 5000
"""Lines parsed per step, which bounds memory on files of hundreds of MB."""

BRANCH_INFERRED_TAG = "branch-inferred"
"""Tag of an imported session whose branch was read from the reflog, not the tool."""
UNKNOWN_FOLDER = "unknown-folder"
"""Repository and worktree of a session whose file names no working folder."""

__all__ = [
    "BRANCH_INFERRED_TAG",
    "PROVIDERS",
    "ImportReport",
    "import_files",
    "import_path",
    "import_paths",
]


@dataclass
class ImportReport:
    """What an import did; counts add up over every file of the call."""

    sessions_created: int = 0
    sessions_updated: int = 0
    events_added: int = 0
    skipped: int = 0
    files: int = 0
    waiting: int = 0
    pending_bytes: int = 0
    held: int = 0
    """Files whose session another live connection holds (retried later)."""
    discarded: int = 0
    """Files that are not sessions (warm-up and compaction runs)."""
    merged: int = 0
    """Files whose session a hook records too (merged: only what it missed is added)."""
    more: bool = False
    """A sliced import stopped before the end of the file."""
    session_ids: list[str] = field(default_factory=list)

    def add(self, other: ImportReport) -> None:
        """Fold another report into this one."""
        self.sessions_created += other.sessions_created
        self.sessions_updated += other.sessions_updated
        self.events_added += other.events_added
        self.skipped += other.skipped
        self.files += other.files
        self.waiting += other.waiting
        self.pending_bytes += other.pending_bytes
        self.held += other.held
        self.discarded += other.discarded
        self.merged += other.merged
        self.more = self.more or other.more
        self.session_ids.extend(i for i in other.session_ids if i not in self.session_ids)


def state_key(provider: str, path: Path) -> str:
    """The ``store`` state key holding the import cursor of one file or folder."""
    return f"import:{provider}:{path.resolve()}"


def _agents_key(session_ref: str) -> str:
    return f"import:claude-code:agents:{session_ref}"


def _parse(
    store: Store, provider: str, path: Path, cursor: Cursor | None, max_lines: int
) -> ImportedSession:
    if provider == "claude-code" and claude_code.is_agent_file(path):
        # A sidechain is named by its parent's Task call, seen in another file.
        parent = _claude_parent_ref(path)
        stored = store.state.get(_agents_key(parent)) if parent else None
        names = stored if isinstance(stored, dict) else {}
        return claude_code.parse_claude_code(path, cursor, max_lines=max_lines, agent_names=names)
    return importer(provider).parse(path, cursor, max_lines)


def _claude_parent_ref(path: Path) -> str | None:
    """The ``sessionId`` on the first line of a sidechain file (its parent session)."""
    first = claude_code.parse_claude_code(path, max_lines=5)
    return first.parent_ref


def discover(provider: str, *, home: Path | None = None, cwd: str | None = None) -> Iterator[Path]:
    """The provider's session files (or folders) under ``home``, parents first."""
    return importer(provider).discover(home, cwd)


def import_paths(
    sessions: SessionService,
    provider: str,
    paths: Iterable[Path],
    *,
    boundary_for_cwd: BoundaryForCwd,
) -> ImportReport:
    """Import several files or folders; sessions whose parent is not yet known go last."""
    report = ImportReport()
    deferred: list[Path] = []
    for path in paths:
        one = import_path(sessions, provider, path, boundary_for_cwd=boundary_for_cwd, defer=True)
        if one is None:
            deferred.append(path)
        else:
            report.add(one)
    for path in deferred:
        late = import_path(sessions, provider, path, boundary_for_cwd=boundary_for_cwd)
        if late is not None:  # always, without defer
            report.add(late)
    return report


def import_path(
    sessions: SessionService,
    provider: str,
    path: Path,
    *,
    boundary_for_cwd: BoundaryForCwd,
    defer: bool = False,
    max_lines: int = CHUNK_LINES,
    max_chunks: int | None = None,
) -> ImportReport | None:
    """Import one provider file (or Amplifier folder) for ``sessions.writer``.

    Only lines after the stored cursor are read. With ``defer=True`` a new
    session whose parent is not in the store yet is left alone and None is
    returned, so the caller can retry after importing the rest. A session
    another live connection holds is counted in ``held`` and left for later.
    With ``max_chunks`` at most that many chunks of ``max_lines`` are read
    (``more`` tells that the file has more): a long file is imported in slices.
    """
    store = sessions.store
    report = ImportReport(files=1)
    key = state_key(provider, path)
    saved = store.state.get(key)
    saved = saved if isinstance(saved, dict) else {}
    if isinstance(saved.get("discard"), str):
        report.discarded += 1
        return report
    cursor: Cursor | None = Cursor.from_json(saved.get("cursor"))
    last_time = parse_time(saved.get("lastTime"))
    created = updated = False
    known_id = saved.get("sessionId")
    chunks = 0
    target: Session | None = None
    merge: HookRecord | None = None
    while True:
        if max_chunks is not None and chunks >= max_chunks:
            report.more = True
            break
        chunks += 1
        parsed = _parse(store, provider, path, cursor, max_lines)
        if parsed.discard is not None:
            store.state.put(key, {"discard": parsed.discard})
            report.discarded += 1
            return report
        target = store.sessions.find_by_provider_ref(provider, parsed.provider_ref) or _get(
            store, known_id
        )
        if target is None and parsed.start.offset > 0:
            # The session was deleted from the store: read the file again from the start.
            cursor, last_time, known_id = None, None, None
            continue
        if target is None and parsed.cwd is None:
            # Nothing tells where the session ran yet (e.g. only summary lines
            # so far): read further, or wait for more lines, rather than guess.
            if not parsed.complete:
                max_lines *= 2
                continue
            if not parsed.events and not parsed.children:
                report.waiting += 1
                report.pending_bytes = parsed.pending_bytes
                return report
        if target is None:
            if defer and parsed.parent_ref and _by_ref(store, provider, parsed.parent_ref) is None:
                return None
            target, events, created = _create(store, provider, parsed, boundary_for_cwd)
        else:
            events = parsed.events
            if target.forked_at_seq is not None and target.parent_id:
                # The copies were found in the parent when the fork was created.
                events = _split_fork(store, target.parent_id, events)[1]
            name = clean_name(parsed.name)
            if name and name != target.name:
                store.sessions.rename(target.id, name)
                updated = True
            if parsed.cwd and target.boundary.repository == UNKNOWN_FOLDER:
                _move_to_folder(store, target, provider, parsed, boundary_for_cwd)
                updated = True
        if merge is None and _hook_records(target):
            merge = HookRecord.of(store, target.id)
            report.merged = 1
        if merge is not None:
            events = merge_with_hook(events, merge, last_time)
        report.skipped += parsed.skipped
        report.pending_bytes = parsed.pending_bytes
        if provider == "claude-code" and parsed.agent_names:
            _remember_agents(store, parsed)
        before = store.events.last_seq(target.id)
        last_time = last_time or parsed.created_at
        try:
            for start in range(0, len(events), BATCH_SIZE):
                batch, last_time = _new_events(events[start : start + BATCH_SIZE], last_time)
                append(sessions, target.id, batch, settings=_HISTORY, history=True)
            for child in parsed.children:
                report.events_added += _import_child(sessions, provider, target, child)
        except SessionHeld:
            # Another connection writes this session now: keep the cursor, try again later.
            report.held += 1
            report.events_added += store.events.last_seq(target.id) - before
            report.session_ids.append(target.id)
            return report
        added = store.events.last_seq(target.id) - before
        report.events_added += added
        updated = updated or added > 0
        state: dict[str, Any] = {"cursor": parsed.end.to_json(), "sessionId": target.id}
        if last_time is not None:
            state["lastTime"] = last_time.isoformat()
        store.state.put(key, state)
        cursor = parsed.end
        if parsed.complete:
            break
    if target is not None:
        settle_times(sessions, target.id, touched=created or updated)
        report.session_ids.append(target.id)
    report.sessions_created = int(created)
    report.sessions_updated = int(updated and not created)
    return report


def clean_name(name: str | None) -> str:
    """A session name from a tool's title: one line, no terminal codes, at most 200 chars."""
    return short_name(name, 200) if name else ""


def unknown_boundary(provider: str) -> Boundary:
    """The boundary of a session whose file never names its working folder."""
    place = outside_git(UNKNOWN_FOLDER, reason="the session file names no working folder")
    return place.boundary.model_copy(update={"provider": provider})


def _move_to_folder(
    store: Store,
    target: Session,
    provider: str,
    parsed: ImportedSession,
    boundary_for_cwd: BoundaryForCwd,
) -> None:
    """A session imported without a folder gets its real boundary once a line names it."""
    assert parsed.cwd is not None
    boundary = boundary_for_cwd(parsed.cwd, parsed.branch or parsed.last_branch)
    store.sessions.update(target.id, boundary=boundary.model_copy(update={"provider": provider}))


def settle_times(sessions: SessionService, session_id: str, *, touched: bool) -> None:
    """Give an imported session its real update time and status.

    ``updated_at`` becomes the time of its last event (not the import's), and
    a session whose last activity is older than the staleness limit is
    ``ended``. A session the import did not change is only ended when stale.
    """
    store = sessions.store
    session = store.sessions.get(session_id)
    last = session.last_event_at or session.created_at
    stale = sessions.clock() - last > _HISTORY.stale_after
    live = session.status in (SessionStatus.ACTIVE, SessionStatus.IDLE)
    if stale and live:
        store.sessions.update(session_id, status=SessionStatus.ENDED, now=last)
    elif touched:
        store.sessions.update(session_id, now=last)


def _import_child(
    sessions: SessionService, provider: str, parent: Session, child: ImportedSession
) -> int:
    """Store one sub-session found inside the parent's file; the events it added."""
    store = sessions.store
    session = store.sessions.find_by_provider_ref(provider, child.provider_ref)
    if session is None:
        boundary = parent.boundary
        if child.branch and child.branch != boundary.branch:
            boundary = boundary.model_copy(update={"branch": child.branch})
        session, _ = store.sessions.ensure_for_provider_ref(
            boundary,
            child.provider_ref,
            name=short_name(child.first_prompt) if child.first_prompt else "",
            parent_id=parent.id,
            root_id=parent.root_id or parent.id,
            agent_name=child.agent_name,
            now=child.created_at,
        )
    before = store.events.last_seq(session.id)
    batch, _ = _new_events(child.events, child.created_at)
    for start in range(0, len(batch), BATCH_SIZE):
        append(
            sessions, session.id, batch[start : start + BATCH_SIZE], settings=_HISTORY, history=True
        )
    added = store.events.last_seq(session.id) - before
    settle_times(sessions, session.id, touched=added > 0)
    return added


# --------------------------------------------------------------------------- hook merge


def _hook_records(session: Session) -> bool:
    from sidecar.services.agents import HOOK_TAG

    return HOOK_TAG in session.tags


def _is_hook_event(payload: dict[str, Any], client_id: str | None) -> bool:
    """True for an event a live hook recorded (hooks mark their payloads with ``hook``)."""
    return "hook" in payload


def _is_tool(event: ImportedEvent) -> bool:
    return event.kind in (EventKind.TOOL_CALL, EventKind.TOOL_RESULT)


@dataclass(frozen=True)
class HookRecord:
    """What a hook recorded in a session: its last event time and the texts it stored."""

    last: datetime | None
    texts: frozenset[tuple[str, str]]
    tools_without_ids: bool = False
    """The hook recorded tool events without the agent's tool call ids (Gemini CLI's
    hooks get none): the store's client ids cannot collapse duplicates then."""

    @classmethod
    def of(cls, store: Store, session_id: str) -> HookRecord:
        """Read the hook-recorded events of a session (page by page)."""
        last: datetime | None = None
        texts: set[tuple[str, str]] = set()
        without_ids = False
        after = 0
        while True:
            page = store.events.page(session_id, after_seq=after, limit=10_000)
            if not page:
                return cls(last, frozenset(texts), without_ids)
            for event in page:
                if not _is_hook_event(event.payload, event.client_event_id):
                    continue
                if event.kind in (EventKind.TOOL_CALL, EventKind.TOOL_RESULT):
                    without_ids = without_ids or not event.payload.get("toolUseId")
                last = event.time if last is None or event.time > last else last
                text = event.payload.get("text")
                if isinstance(text, str):
                    texts.add((EventKind(event.kind).value, text))
            after = page[-1].seq


def merge_with_hook(
    events: list[ImportedEvent], record: HookRecord, last_time: datetime | None
) -> list[ImportedEvent]:
    """The imported events a hook-recorded session still lacks.

    Tool calls and results are kept: they carry the hook's own client ids
    (``cc:<tool_use_id>:call|result``), so the store adds only those the hook
    missed. Every other event, and every tool event where the hook recorded
    tool events without the agent's ids, is kept only when it is later than
    the hook's last event and the hook did not record the same text.
    """
    kept: list[ImportedEvent] = []
    when = last_time
    for event in events:
        when = event.time or when
        if _is_tool(event) and not record.tools_without_ids:
            kept.append(event)
            continue
        text = event.payload.get("text")
        if isinstance(text, str) and (event.kind.value, text) in record.texts:
            continue
        if record.last is not None and (when is None or when <= record.last):
            continue
        kept.append(event)
    return kept


def _get(store: Store, session_id: Any) -> Session | None:
    if not isinstance(session_id, str):
        return None
    try:
        return store.sessions.get(session_id)
    except UnknownSession:
        return None


def _by_ref(store: Store, provider: str, ref: str | None) -> Session | None:
    return store.sessions.find_by_provider_ref(provider, ref) if ref else None


def _create(
    store: Store, provider: str, parsed: ImportedSession, boundary_for_cwd: BoundaryForCwd
) -> tuple[Session, list[ImportedEvent], bool]:
    """The store session of a provider session (created unless another importer just did);
    the events still to append; whether this call created it."""
    branch, inferred = parsed.branch, None
    tags: tuple[str, ...] = ()
    if parsed.cwd is None:
        boundary = unknown_boundary(provider)
    else:
        if branch is None and not importer(provider).records_branch and parsed.created_at:
            inferred = _reflog_branch(parsed.cwd, parsed.created_at)
            branch = inferred or branch
        boundary = boundary_for_cwd(parsed.cwd, branch)
        boundary = boundary.model_copy(update={"provider": provider})
        if inferred and boundary.branch == inferred:
            tags = (BRANCH_INFERRED_TAG,)
    parent = _by_ref(store, provider, parsed.parent_ref)
    root = _by_ref(store, provider, parsed.root_ref)
    events = parsed.events
    forked_at_seq: int | None = None
    root_id: str | None = None
    if parent is not None and parsed.agent_name is None:
        forked_at_seq, events = _split_fork(store, parent.id, parsed.events)
    if parsed.agent_name is not None and parent is not None:
        anchor = root or parent
        root_id = anchor.root_id or anchor.id
    name = clean_name(parsed.name) or (
        short_name(parsed.first_prompt) if parsed.first_prompt else ""
    )
    if tags:
        events = [_inferred_note(str(inferred), parsed.created_at), *events]
    session, created = store.sessions.ensure_for_provider_ref(
        boundary,
        parsed.provider_ref,
        name=name,
        description=parsed.description,
        parent_id=parent.id if parent else None,
        forked_at_seq=forked_at_seq,
        root_id=root_id,
        agent_name=parsed.agent_name,
        tags=tags,
        now=parsed.created_at,
    )
    if not created and session.forked_at_seq is not None and session.parent_id:
        events = _split_fork(store, session.parent_id, parsed.events)[1]
    elif not created:
        events = parsed.events
    return session, events, created


def _reflog_branch(cwd: str, when: datetime) -> str | None:
    """The branch the repository at ``cwd`` was on when a session began at ``when``.

    Reflog times are whole seconds, so a move in the same second as the
    session's start is taken as after it: a CLI stamps its start once it is up,
    a second or more after the command that launched it, while a switch right
    after a short headless run can fall in that same second.
    """
    from sidecar.git.reflog import branch_at_time

    before_that_second = when.replace(microsecond=0) - timedelta(microseconds=1)
    try:
        return branch_at_time(cwd, before_that_second)
    except (GitError, OSError):
        return None


def _inferred_note(branch: str, when: datetime | None) -> ImportedEvent:
    text = (
        f"Branch '{branch}' inferred from the repository's reflog: "
        "the tool records no branch with its sessions."
    )
    payload = {"text": text, "subtype": BRANCH_INFERRED_TAG, "branch": branch, "source": "reflog"}
    return ImportedEvent(EventKind.NOTE, Actor.SYSTEM, when, payload, "sidecar:branch-inferred")


def _split_fork(
    store: Store, parent_id: str, events: list[ImportedEvent]
) -> tuple[int | None, list[ImportedEvent]]:
    """The fork point in the parent and the fork's own events.

    Copies are recognised by their ``origin_id`` among the parent's client
    event ids. Events before the last recognised copy are copies too (a part
    the parent never stored, such as a branch switch); later ones are the
    fork's own. When nothing is recognised every event stays, so no history
    is lost.
    """
    origins = {e.origin_id for e in events if e.origin_id}
    if not origins:
        return None, events
    seqs = _client_seqs(store, parent_id, origins)
    if not seqs:
        return None, events
    last_copy = max(i for i, e in enumerate(events) if e.origin_id in seqs)
    own = [e for i, e in enumerate(events) if i > last_copy and e.origin_id not in seqs]
    return max(seqs.values()), own


def _client_seqs(store: Store, session_id: str, wanted: set[str]) -> dict[str, int]:
    """Seqs of the given client event ids in a session (scans its events by pages)."""
    found: dict[str, int] = {}
    after = 0
    while True:
        page = store.events.page(session_id, after_seq=after, limit=10_000)
        if not page:
            return found
        for event in page:
            if event.client_event_id in wanted:
                found[event.client_event_id] = event.seq
        after = page[-1].seq


def _remember_agents(store: Store, parsed: ImportedSession) -> None:
    """Keep sidechain agent names until the sidechain files are imported."""
    key = _agents_key(parsed.provider_ref)
    stored = store.state.get(key)
    names = dict(stored) if isinstance(stored, dict) else {}
    names.update(parsed.agent_names)
    store.state.put(key, names)


def _new_events(
    events: list[ImportedEvent], last_time: datetime | None
) -> tuple[list[EventDraft], datetime | None]:
    """The parsed events as drafts (the importers built them: nothing to validate), each
    timed (an event without a time of its own takes the one before it)."""
    out: list[EventDraft] = []
    for event in events:
        when = event.time or last_time
        last_time = when
        out.append(EventDraft(event.kind, event.payload, event.actor, when, event.source_id))
    return out, last_time


# --------------------------------------------------------------------------- one project


class BoundaryResolver:
    """``boundary_for_cwd`` for the loader: :func:`boundary_for` once per working folder.

    The folder's boundary as it is here (repository identity, worktree,
    requester, machine; outside git or gone: the folder itself), with the
    branch the tool recorded when it recorded one.
    """

    def __init__(self, store: Store | None = None) -> None:
        self._store = store
        self._places: dict[str, Boundary] = {}

    def __call__(self, cwd: str, branch: str | None) -> Boundary:
        """The boundary of a session that ran in ``cwd`` on ``branch`` (None: not recorded)."""
        key = cwd
        if key not in self._places:
            try:
                place = boundary_for(cwd)
            except (GitError, OSError) as error:  # an unreadable repository: the folder itself
                place = outside_git(cwd, reason=str(error))
            if self._store is not None:
                settle_repository(self._store, place)
            self._places[key] = place.boundary
        here = self._places[key]
        recorded = branch if branch and branch != "HEAD" else None
        return here.model_copy(update={"branch": recorded}) if recorded else here


def project_folders(folder: Path) -> list[str]:
    """The folder and its git worktree root (a tool may have run in either)."""
    from sidecar.git.reader import find_worktree_root

    here = folder.resolve()
    root = find_worktree_root(here)
    folders = [str(here)]
    if root is not None and str(root) != str(here):
        folders.append(str(root))
    return folders


def project_paths(provider: str, folder: Path | None, *, home: Path | None = None) -> list[Path]:
    """The tool's session files (Amplifier: folders) for ``folder``'s project; all when None."""
    if folder is None:
        return list(discover(provider, home=home))
    seen: dict[Path, None] = {}
    for cwd in project_folders(folder):
        for path in discover(provider, home=home, cwd=cwd):
            seen.setdefault(path, None)
    return list(seen)


def import_files(
    sessions: SessionService,
    provider: str,
    paths: Iterable[Path],
    *,
    resolver: BoundaryResolver | None = None,
) -> ImportReport:
    """Import ``paths`` (sessions a hook records too are merged, see :func:`merge_with_hook`)."""
    resolver = resolver or BoundaryResolver(sessions.store)
    return import_paths(sessions, provider, paths, boundary_for_cwd=resolver)


def import_one(
    sessions: SessionService,
    provider: str,
    path: Path,
    resolver: BoundaryResolver,
    *,
    max_chunks: int | None = None,
) -> ImportReport | None:
    """Import one file or folder (a slice of it with ``max_chunks``)."""
    return import_path(sessions, provider, path, boundary_for_cwd=resolver, max_chunks=max_chunks)
