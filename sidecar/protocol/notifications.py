"""Server -> client notifications: their names, params models and one-line summaries.

Plain strings, so the server can send them before pydantic is imported; the
params models live in :mod:`sidecar.protocol.messages` (named here, not
imported, for the same reason).
"""

from __future__ import annotations

from dataclasses import dataclass

DRIFT_DETECTED = "sidecar/driftDetected"
SESSION_CHANGED = "sidecar/sessionChanged"
HISTORY_CHANGED = "sidecar/historyChanged"


@dataclass(frozen=True)
class NotificationDecl:
    """One notification: its method name, the name of its params model, and a summary."""

    name: str
    params: str
    summary: str


NOTIFICATIONS: tuple[NotificationDecl, ...] = (
    NotificationDecl(
        DRIFT_DETECTED,
        "DriftDetectedParams",
        "The boundary changed; the recommendation says what to do.",
    ),
    NotificationDecl(
        SESSION_CHANGED,
        "SessionChangedParams",
        "A folder's active session changed (attached, started, resumed, forked...).",
    ),
    NotificationDecl(
        HISTORY_CHANGED,
        "HistoryChangedParams",
        "A session has new events; batched, at most one per session every ~50 ms.",
    ),
)
