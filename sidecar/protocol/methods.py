"""The method table: each JSON-RPC method with its params and result models.

The server routes by this table, the protocol reference is generated from it,
and the tests walk it, so a method cannot exist in one place and not another.
"""

from __future__ import annotations

from dataclasses import dataclass

from sidecar.core.models import Model
from sidecar.protocol import messages as m
from sidecar.protocol import names


@dataclass(frozen=True)
class MethodSpec:
    """One request method: its name, params model, result model and a one-line summary."""

    name: str
    params: type[m.Params]
    result: type[Model]
    summary: str


@dataclass(frozen=True)
class NotificationSpec:
    """One server -> client notification."""

    name: str
    params: type[Model]
    summary: str


def _spec(name: str, params: type[m.Params], result: type[Model]) -> MethodSpec:
    summary = (params.__doc__ or "").strip().splitlines()[0]
    return MethodSpec(name, params, result, summary.partition(": ")[2] or summary)


METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        _spec(names.STATUS, m.StatusParams, m.StatusResult),
        _spec(names.SESSIONS_LIST, m.ListParams, m.ListResult),
        _spec(names.SESSIONS_SHOW, m.ShowParams, m.ShowResult),
        _spec(names.SESSIONS_EVENTS, m.EventsParams, m.EventsResult),
        _spec(names.SESSIONS_SEARCH, m.SearchParams, m.SearchResult),
        _spec(names.SESSIONS_START, m.StartParams, m.StartResult),
        _spec(names.SESSIONS_RESUME, m.ResumeParams, m.ResumeResult),
        _spec(names.SESSIONS_FORK, m.ForkParams, m.SessionResult),
        _spec(names.SESSIONS_RENAME, m.RenameParams, m.SessionResult),
        _spec(names.SESSIONS_END, m.EndParams, m.SessionResult),
        _spec(names.SESSIONS_DELETE, m.DeleteParams, m.DeleteResult),
        _spec(names.SESSIONS_CLEANUP, m.CleanupParams, m.CleanupResult),
        _spec(names.SESSIONS_EXPORT, m.ExportParams, m.ExportResult),
        _spec(names.EVENTS_APPEND, m.AppendParams, m.AppendResult),
        _spec(names.CHECKPOINTS_CREATE, m.CheckpointCreateParams, m.CheckpointResult),
        _spec(names.CHECKPOINTS_RESTORE, m.CheckpointRestoreParams, m.CheckpointRestoreResult),
        _spec(names.ANNOTATIONS_ADD, m.AnnotationAddParams, m.AnnotationResult),
        _spec(names.CACHE_PUT, m.CachePutParams, m.CachePutResult),
        _spec(names.CACHE_GET, m.CacheGetParams, m.CacheGetResult),
        _spec(names.APPROVALS_REQUEST, m.ApprovalRequestParams, m.ApprovalResult),
        _spec(names.APPROVALS_DECIDE, m.ApprovalDecideParams, m.ApprovalResult),
        _spec(names.DRIFT_EVALUATE, m.DriftEvaluateParams, m.DriftEvaluateResult),
        _spec(names.DRIFT_DECIDE, m.DriftDecideParams, m.DriftDecideResult),
    )
}

NOTIFICATIONS: dict[str, NotificationSpec] = {
    spec.name: spec
    for spec in (
        NotificationSpec(
            names.DRIFT_DETECTED,
            m.DriftDetectedParams,
            "The boundary changed; the recommendation says what to do.",
        ),
        NotificationSpec(
            names.SESSION_CHANGED,
            m.SessionChangedParams,
            "A folder's active session changed (attached, started, resumed, forked...).",
        ),
        NotificationSpec(
            names.HISTORY_CHANGED,
            m.HistoryChangedParams,
            "A session has new events; batched, at most one per session every ~50 ms.",
        ),
    )
}
