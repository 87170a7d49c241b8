"""The one append path: every door's events reach the store through :func:`append`.

The language server's ``sidecar/events/append`` and document notifications,
the worktree watcher, the CLI's ``events append``, the agent hooks, the MCP
``append_events`` tool and the importers all call it. What must hold for every
writer is checked where no writer can skip it:

* in the store's write transaction: the session exists, no other live
  connection holds it (:class:`~sidecar.store.SessionHeld`), each payload is
  under the size limit (:class:`~sidecar.store.PayloadTooLarge`), payloads are
  redacted, seqs stay contiguous, client event ids make retries idempotent;
* here, before the events are stored: the drift activity check (staleness
  and footprint drift, :func:`sidecar.services.drift.activity_check`). A
  finding is recorded as a ``drift`` event on the session and returned, and
  each door shows it its own way (a prompt, a line on stderr, a field).

Imported history (``history=True``) skips the activity check: it is the past,
not activity now.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sidecar.core.activity import FOOTPRINT_WARNED
from sidecar.core.decisions import drift_event
from sidecar.core.kinds import Appendable
from sidecar.core.models import Recommendation
from sidecar.services.drift import DriftSettings, activity_check
from sidecar.services.sessions import SessionService


@dataclass(frozen=True)
class Appended:
    """What an append did: the seqs of the events, and a drift finding to show."""

    session_id: str
    seqs: list[int]
    drift: Recommendation | None = None


def append(
    sessions: SessionService,
    session_id: str,
    events: Sequence[Appendable],
    *,
    settings: DriftSettings,
    check_activity: bool = True,
    history: bool = False,
) -> Appended:
    """Append ``events`` to ``session_id`` for ``sessions.writer`` (see the module docstring).

    Raises the store's errors (UnknownSession, SessionHeld, PayloadTooLarge,
    ReadOnlyError, DiskFullError) with nothing appended.
    """
    store = sessions.store
    verdict = None
    if check_activity and not history and events:
        session = store.sessions.get(session_id)
        verdict = activity_check(store, session, events, now=sessions.clock(), settings=settings)
    seqs = sessions.write(session_id, events, history=history)
    if verdict is None:
        return Appended(session_id, seqs)
    if verdict.footprint_warned is not None:
        store.state.cache_put(session_id, FOOTPRINT_WARNED, verdict.footprint_warned)
    if verdict.recommendation is not None:
        sessions.write(session_id, [drift_event(verdict.recommendation)], bookkeeping=True)
    return Appended(session_id, seqs, verdict.recommendation)
