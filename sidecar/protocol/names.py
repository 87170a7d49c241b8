"""Method and notification names of the sidecar's JSON-RPC protocol, as plain strings.

Kept apart from the models so the server can register its routes before the
models (and pydantic) are imported: start-up time counts until the initialize
reply, and nothing here costs an import.
"""

from __future__ import annotations

STATUS = "sidecar/status"
SESSIONS_LIST = "sidecar/sessions/list"
SESSIONS_SHOW = "sidecar/sessions/show"
SESSIONS_EVENTS = "sidecar/sessions/events"
SESSIONS_SEARCH = "sidecar/sessions/search"
SESSIONS_START = "sidecar/sessions/start"
SESSIONS_RESUME = "sidecar/sessions/resume"
SESSIONS_FORK = "sidecar/sessions/fork"
SESSIONS_RENAME = "sidecar/sessions/rename"
SESSIONS_END = "sidecar/sessions/end"
SESSIONS_DELETE = "sidecar/sessions/delete"
SESSIONS_CLEANUP = "sidecar/sessions/cleanup"
SESSIONS_EXPORT = "sidecar/sessions/export"
EVENTS_APPEND = "sidecar/events/append"
CHECKPOINTS_CREATE = "sidecar/checkpoints/create"
CHECKPOINTS_RESTORE = "sidecar/checkpoints/restore"
ANNOTATIONS_ADD = "sidecar/annotations/add"
CACHE_PUT = "sidecar/cache/put"
CACHE_GET = "sidecar/cache/get"
APPROVALS_REQUEST = "sidecar/approvals/request"
APPROVALS_DECIDE = "sidecar/approvals/decide"
DRIFT_EVALUATE = "sidecar/drift/evaluate"
DRIFT_DECIDE = "sidecar/drift/decide"

#: Every request method, in the order the reference documents them.
REQUESTS: tuple[str, ...] = (
    STATUS,
    SESSIONS_LIST,
    SESSIONS_SHOW,
    SESSIONS_EVENTS,
    SESSIONS_SEARCH,
    SESSIONS_START,
    SESSIONS_RESUME,
    SESSIONS_FORK,
    SESSIONS_RENAME,
    SESSIONS_END,
    SESSIONS_DELETE,
    SESSIONS_CLEANUP,
    SESSIONS_EXPORT,
    EVENTS_APPEND,
    CHECKPOINTS_CREATE,
    CHECKPOINTS_RESTORE,
    ANNOTATIONS_ADD,
    CACHE_PUT,
    CACHE_GET,
    APPROVALS_REQUEST,
    APPROVALS_DECIDE,
    DRIFT_EVALUATE,
    DRIFT_DECIDE,
)

DRIFT_DETECTED = "sidecar/driftDetected"
SESSION_CHANGED = "sidecar/sessionChanged"
HISTORY_CHANGED = "sidecar/historyChanged"

#: Every server -> client notification.
NOTIFICATIONS: tuple[str, ...] = (DRIFT_DETECTED, SESSION_CHANGED, HISTORY_CHANGED)


def command_name(method: str) -> str:
    """The ``workspace/executeCommand`` name of a request method.

    >>> command_name("sidecar/sessions/list")
    'sidecar.sessions.list'
    """
    return method.replace("/", ".")
