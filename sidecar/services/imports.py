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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sidecar.core.models import Boundary, NewEvent, Session
from sidecar.core.text import short_name
from sidecar.git.command import GitError
from sidecar.importers import amplifier, claude_code, codex
from sidecar.importers.common import Cursor, ImportedEvent, ImportedSession, parse_time
from sidecar.services.append import append
from sidecar.services.boundary import boundary_for, outside_git
from sidecar.services.drift import DriftSettings
from sidecar.services.repositories import settle_repository
from sidecar.services.sessions import SessionService
from sidecar.store import SessionHeld, Store, UnknownSession

BoundaryForCwd = Callable[[str, str | None], Boundary]
"""Builds the boundary of an imported session from its working directory and branch."""

BATCH_SIZE = 500
#: Imports are history: no activity check, default limits.
_HISTORY = DriftSettings()
CHUNK_LINES = 5000
"""Lines parsed per step, which bounds memory on files of hundreds of MB."""

PROVIDERS = ("claude-code", "codex", "amplifier")


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
    if provider == "claude-code":
        names: dict[str, str] = {}
        if claude_code.is_agent_file(path):
            parent = _claude_parent_ref(path)
            stored = store.state.get(_agents_key(parent)) if parent else None
            names = stored if isinstance(stored, dict) else {}
        return claude_code.parse_claude_code(path, cursor, max_lines=max_lines, agent_names=names)
    if provider == "codex":
        return codex.parse_codex(path, cursor, max_lines=max_lines)
    if provider == "amplifier":
        return amplifier.parse_amplifier(path, cursor, max_lines=max_lines)
    raise ValueError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")


def _claude_parent_ref(path: Path) -> str | None:
    """The ``sessionId`` on the first line of a sidechain file (its parent session)."""
    first = claude_code.parse_claude_code(path, max_lines=5)
    return first.parent_ref


def discover(provider: str, *, home: Path | None = None, cwd: str | None = None) -> Iterator[Path]:
    """The provider's session files (or folders) under ``home``, parents first."""
    if provider == "claude-code":
        return claude_code.discover_claude_code(home=home, cwd=cwd)
    if provider == "codex":
        return codex.discover_codex(home=home, cwd=cwd)
    if provider == "amplifier":
        return amplifier.discover_amplifier(home=home, cwd=cwd)
    raise ValueError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")


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
    cursor: Cursor | None = Cursor.from_json(saved.get("cursor"))
    last_time = parse_time(saved.get("lastTime"))
    created = updated = False
    known_id = saved.get("sessionId")
    chunks = 0
    while True:
        if max_chunks is not None and chunks >= max_chunks:
            report.more = True
            break
        chunks += 1
        parsed = _parse(store, provider, path, cursor, max_lines)
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
            if parsed.name and parsed.name != target.name:
                store.sessions.rename(target.id, parsed.name)
                updated = True
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
        report.session_ids.append(target.id)
    report.sessions_created = int(created)
    report.sessions_updated = int(updated and not created)
    return report


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
    assert parsed.cwd is not None
    boundary = boundary_for_cwd(parsed.cwd, parsed.branch)
    boundary = boundary.model_copy(update={"provider": provider})
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
    name = parsed.name or (short_name(parsed.first_prompt) if parsed.first_prompt else "")
    session, created = store.sessions.ensure_for_provider_ref(
        boundary,
        parsed.provider_ref,
        name=name,
        description=parsed.description,
        parent_id=parent.id if parent else None,
        forked_at_seq=forked_at_seq,
        root_id=root_id,
        agent_name=parsed.agent_name,
        now=parsed.created_at,
    )
    if not created and session.forked_at_seq is not None and session.parent_id:
        events = _split_fork(store, session.parent_id, parsed.events)[1]
    elif not created:
        events = parsed.events
    return session, events, created


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
) -> tuple[list[NewEvent], datetime | None]:
    out: list[NewEvent] = []
    for event in events:
        when = event.time or last_time
        last_time = when
        out.append(
            NewEvent(
                kind=event.kind,
                actor=event.actor,
                payload=event.payload,
                time=when,
                client_event_id=event.source_id,
            )
        )
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


def recorded_by_hook(store: Store, provider: str, path: Path) -> bool:
    """True for a Claude Code transcript whose session the hook records live."""
    if provider != "claude-code" or path.suffix != ".jsonl":
        return False
    from sidecar.services.agents import HOOK_TAG

    session = store.sessions.find_by_provider_ref("claude-code", path.stem)
    return session is not None and HOOK_TAG in session.tags


def import_files(
    sessions: SessionService,
    provider: str,
    paths: Iterable[Path],
    *,
    resolver: BoundaryResolver | None = None,
) -> tuple[ImportReport, int]:
    """Import ``paths``; the report and how many files were left to the hook."""
    resolver = resolver or BoundaryResolver(sessions.store)
    wanted: list[Path] = []
    hooked = 0
    for path in paths:
        if recorded_by_hook(sessions.store, provider, path):
            hooked += 1
        else:
            wanted.append(path)
    report = import_paths(sessions, provider, wanted, boundary_for_cwd=resolver)
    return report, hooked


def import_one(
    sessions: SessionService,
    provider: str,
    path: Path,
    resolver: BoundaryResolver,
    *,
    max_chunks: int | None = None,
) -> ImportReport | None:
    """Import one file or folder (None when the hook records that session)."""
    if recorded_by_hook(sessions.store, provider, path):
        return None
    return import_path(sessions, provider, path, boundary_for_cwd=resolver, max_chunks=max_chunks)
