"""Import parsed provider sessions into the store: idempotent and incremental.

- Each provider session maps to one store session, found again through
  ``find_by_provider_ref(provider, ref)``; the boundary's ``provider`` is the
  provider name so that lookup works.
- Each event's source id is its client event id, so importing the same lines
  twice adds nothing, even after a crash between two batches.
- Per file, the :class:`~sidecar.agents.importers.common.Cursor` is kept with
  ``store.put_state("import:<provider>:<path>", ...)`` after its events are
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
from sidecar.store import Store, UnknownSession

from . import amplifier, claude_code, codex
from .common import Cursor, ImportedEvent, ImportedSession, parse_time, short_name

BoundaryForCwd = Callable[[str, str | None], Boundary]
"""Builds the boundary of an imported session from its working directory and branch."""

BATCH_SIZE = 500
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
            stored = store.get_state(_agents_key(parent)) if parent else None
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
    store: Store,
    provider: str,
    paths: Iterable[Path],
    *,
    boundary_for_cwd: BoundaryForCwd,
) -> ImportReport:
    """Import several files or folders; sessions whose parent is not yet known go last."""
    report = ImportReport()
    deferred: list[Path] = []
    for path in paths:
        one = import_path(store, provider, path, boundary_for_cwd=boundary_for_cwd, defer=True)
        if one is None:
            deferred.append(path)
        else:
            report.add(one)
    for path in deferred:
        late = import_path(store, provider, path, boundary_for_cwd=boundary_for_cwd)
        if late is not None:  # always, without defer
            report.add(late)
    return report


def import_path(
    store: Store,
    provider: str,
    path: Path,
    *,
    boundary_for_cwd: BoundaryForCwd,
    defer: bool = False,
    max_lines: int = CHUNK_LINES,
) -> ImportReport | None:
    """Import one provider file (or Amplifier folder) into ``store``.

    Only lines after the stored cursor are read. With ``defer=True`` a new
    session whose parent is not in the store yet is left alone and None is
    returned, so the caller can retry after importing the rest.
    """
    report = ImportReport(files=1)
    key = state_key(provider, path)
    saved = store.get_state(key)
    saved = saved if isinstance(saved, dict) else {}
    cursor: Cursor | None = Cursor.from_json(saved.get("cursor"))
    last_time = parse_time(saved.get("lastTime"))
    created = updated = False
    known_id = saved.get("sessionId")
    while True:
        parsed = _parse(store, provider, path, cursor, max_lines)
        target = store.find_by_provider_ref(provider, parsed.provider_ref) or _get(store, known_id)
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
            target, events = _create(store, provider, parsed, boundary_for_cwd)
            created = True
        else:
            events = parsed.events
            if target.forked_at_seq is not None and target.parent_id:
                # The copies were found in the parent when the fork was created.
                events = _split_fork(store, target.parent_id, events)[1]
            if parsed.name and parsed.name != target.name:
                store.rename_session(target.id, parsed.name)
                updated = True
        report.skipped += parsed.skipped
        report.pending_bytes = parsed.pending_bytes
        if provider == "claude-code" and parsed.agent_names:
            _remember_agents(store, parsed)
        before = store.last_seq(target.id)
        last_time = last_time or parsed.created_at
        for start in range(0, len(events), BATCH_SIZE):
            batch, last_time = _new_events(events[start : start + BATCH_SIZE], last_time)
            store.append_events(target.id, batch, activity_from_events=True)
        added = store.last_seq(target.id) - before
        report.events_added += added
        updated = updated or added > 0
        state: dict[str, Any] = {"cursor": parsed.end.to_json(), "sessionId": target.id}
        if last_time is not None:
            state["lastTime"] = last_time.isoformat()
        store.put_state(key, state)
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
        return store.get_session(session_id)
    except UnknownSession:
        return None


def _by_ref(store: Store, provider: str, ref: str | None) -> Session | None:
    return store.find_by_provider_ref(provider, ref) if ref else None


def _create(
    store: Store, provider: str, parsed: ImportedSession, boundary_for_cwd: BoundaryForCwd
) -> tuple[Session, list[ImportedEvent]]:
    """Start the store session for a provider session; the events still to append."""
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
    session = store.start_session(
        boundary,
        name=name,
        description=parsed.description,
        parent_id=parent.id if parent else None,
        forked_at_seq=forked_at_seq,
        root_id=root_id,
        agent_name=parsed.agent_name,
        provider_ref=parsed.provider_ref,
        now=parsed.created_at,
    )
    return session, events


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
        page = store.events(session_id, after_seq=after, limit=10_000)
        if not page:
            return found
        for event in page:
            if event.client_event_id in wanted:
                found[event.client_event_id] = event.seq
        after = page[-1].seq


def _remember_agents(store: Store, parsed: ImportedSession) -> None:
    """Keep sidechain agent names until the sidechain files are imported."""
    key = _agents_key(parsed.provider_ref)
    stored = store.get_state(key)
    names = dict(stored) if isinstance(stored, dict) else {}
    names.update(parsed.agent_names)
    store.put_state(key, names)


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
