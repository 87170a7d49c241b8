"""One function per request method: validated params in, result model out.

Routes run on the store thread (see :mod:`sidecar.server.runtime`); each is a
few lines that pick the folder and call a service or the store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pygls.exceptions import JsonRpcInvalidParams

from sidecar.core.ids import new_id
from sidecar.core.models import (
    Actor,
    EventKind,
    Model,
    NewEvent,
    Scope,
    Session,
)
from sidecar.protocol import messages as m
from sidecar.protocol import names
from sidecar.server.runtime import Runtime
from sidecar.services import drift_requests
from sidecar.services.boundary import ScopeFilters, scope_filters
from sidecar.services.errors import InvalidArgument, ServiceError
from sidecar.services.export import allowed_roots, check_export_path, write_export
from sidecar.services.folders import Folder
from sidecar.services.sessions import Notice

Route = Callable[[Runtime, Any], Model]


def _warning(notice: Notice | None) -> m.ResultWarning | None:
    return None if notice is None else m.ResultWarning(code=notice.code, message=notice.message)


def _workspace_status(rt: Runtime, folder: Folder) -> m.WorkspaceStatus:
    drift = rt.drift.get(folder.uri)
    return m.WorkspaceStatus(
        folder=folder.uri,
        boundary=folder.boundary,
        active_session=rt.sessions.active_session(folder),
        pending_recommendation=drift.pending if drift is not None else None,
        watcher_mode=rt.watcher_mode(folder),
    )


def status(rt: Runtime, p: m.StatusParams) -> m.StatusResult:
    """sidecar/status."""
    workspaces = [_workspace_status(rt, rt.workspaces.refresh(f)) for f in rt.workspaces]
    folder = rt.folder(p.folder) if (p.folder is not None or len(rt.workspaces)) else None
    current = _workspace_status(rt, folder) if folder is not None else None
    return m.StatusResult(
        version=rt.version,
        db_path=str(rt.store.path),
        folder=folder.uri if folder else None,
        boundary=folder.boundary if folder else None,
        active_session=current.active_session if current else None,
        pending_recommendation=current.pending_recommendation if current else None,
        watcher_mode=current.watcher_mode if current else "off",
        git_operation=_git_operation(rt, folder),
        read_only=rt.read_only,
        notices=rt.notices,
        workspaces=workspaces,
    )


def _git_operation(rt: Runtime, folder: Folder | None) -> str | None:
    if folder is None:
        return None
    drift = rt.drift.get(folder.uri)
    return drift.git_operation if drift is not None else folder.operation


def sessions_list(rt: Runtime, p: m.ListParams) -> m.ListResult:
    """sidecar/sessions/list."""
    filters: ScopeFilters = {}
    if p.scope is not Scope.ALL:
        filters = scope_filters(p.scope, rt.folder(p.folder).boundary)
    page = rt.store.list_sessions(
        **filters, statuses=p.status, text=p.query, limit=p.limit, cursor=p.cursor
    )
    return m.ListResult(items=page.items, next_cursor=page.next_cursor)


def sessions_show(rt: Runtime, p: m.ShowParams) -> m.ShowResult:
    """sidecar/sessions/show."""
    store = rt.store
    session = store.get_session(p.session_id)
    return m.ShowResult(
        session=session,
        footprint=store.footprint(session.id),
        checkpoints=store.list_checkpoints(session.id),
        lineage=store.lineage(session.id),
        children=store.children(session.id),
        annotations=store.list_annotations(session.id),
    )


def sessions_events(rt: Runtime, p: m.EventsParams) -> m.EventsResult:
    """sidecar/sessions/events."""
    items = rt.store.events(p.session_id, after_seq=p.after_seq, limit=p.limit, kinds=p.kinds)
    next_after = items[-1].seq if len(items) == p.limit else None
    return m.EventsResult(items=items, next_after_seq=next_after)


def sessions_search(rt: Runtime, p: m.SearchParams) -> m.SearchResult:
    """sidecar/sessions/search."""
    filters: ScopeFilters = {}
    if p.scope is not Scope.ALL:
        filters = scope_filters(p.scope, rt.folder(p.folder).boundary)
    return m.SearchResult(items=rt.store.search(p.query, **filters, limit=p.limit))


def sessions_start(rt: Runtime, p: m.StartParams) -> m.StartResult:
    """sidecar/sessions/start."""
    folder = rt.folder(p.folder)
    warning: m.ResultWarning | None = None
    if p.isolate:
        folder, warning = _isolate(rt, folder, p)
    overrides = {
        k: v
        for k, v in (("task", p.task), ("phase", p.phase), ("provider", p.provider))
        if v is not None
    }
    boundary = folder.boundary.model_copy(update=overrides) if overrides else None
    session = rt.sessions.start(
        folder,
        name=p.name or "",
        description=p.description or "",
        parent_id=p.parent_id,
        boundary=boundary,
    )
    return m.StartResult(session=session, warning=warning)


def _isolate(
    rt: Runtime, folder: Folder, p: m.StartParams
) -> tuple[Folder, m.ResultWarning | None]:
    """Create the isolated branch (and worktree); the session starts on it."""
    from sidecar.git.actions import GitError, create_isolated_branch

    if not folder.in_git:
        raise InvalidArgument(f"isolate needs a git repository; {folder.path} is not in one")
    branch = "session/" + new_id()[-8:]
    target = None
    if p.worktree:
        target = f"{folder.worktree}.{branch.replace('/', '-')}"
    try:
        _, root = create_isolated_branch(folder.worktree, branch, worktree_path=target)
    except GitError as exc:
        raise ServiceError(f"could not create an isolated branch: {exc}") from exc
    if target is None:
        drift = rt.drift.get(folder.uri)
        if drift is not None:
            # The switch is the sidecar's own doing: no drift prompt about it.
            drift.adopt_git_state()
        return rt.workspaces.refresh(folder), None
    # The new worktree is not one of the client's folders: bind the session to it anyway,
    # and tell the client to open it.
    from sidecar.server.workspace import resolve_folder

    other = resolve_folder(str(root), rt.settings)
    moved = Folder(
        uri=folder.uri,
        path=folder.path,
        worktree=folder.worktree,
        boundary=other.boundary,
        head_sha=other.head_sha,
        in_git=True,
    )
    return moved, m.ResultWarning(
        code="open_worktree",
        message=f"Created worktree {root} on branch {branch}; open it to work in this session.",
    )


def sessions_resume(rt: Runtime, p: m.ResumeParams) -> m.ResumeResult:
    """sidecar/sessions/resume."""
    outcome = rt.sessions.resume(rt.folder(p.folder), p.session_id, take_over=p.take_over)
    return m.ResumeResult(
        session=outcome.session, resumed=outcome.resumed, warning=_warning(outcome.warning)
    )


def sessions_fork(rt: Runtime, p: m.ForkParams) -> m.SessionResult:
    """sidecar/sessions/fork."""
    folder = rt.folder(p.folder)
    return m.SessionResult(
        session=rt.sessions.fork(folder, p.session_id, at_seq=p.at_seq, name=p.name)
    )


def sessions_rename(rt: Runtime, p: m.RenameParams) -> m.SessionResult:
    """sidecar/sessions/rename."""
    return m.SessionResult(session=rt.store.rename_session(p.session_id, p.name))


def sessions_end(rt: Runtime, p: m.EndParams) -> m.SessionResult:
    """sidecar/sessions/end."""
    return m.SessionResult(session=rt.sessions.end(p.session_id))


def sessions_delete(rt: Runtime, p: m.DeleteParams) -> m.DeleteResult:
    """sidecar/sessions/delete."""
    rt.sessions.delete(p.session_id)
    return m.DeleteResult(session_id=p.session_id)


def sessions_cleanup(rt: Runtime, p: m.CleanupParams) -> m.CleanupResult:
    """sidecar/sessions/cleanup."""
    victims: list[Session] = rt.store.cleanup(p.older_than_days, dry_run=p.dry_run)
    return m.CleanupResult(sessions=victims, deleted=0 if p.dry_run else len(victims))


def sessions_export(rt: Runtime, p: m.ExportParams) -> m.ExportResult:
    """sidecar/sessions/export."""
    target = None
    if p.path is not None:
        target = check_export_path(p.path, allowed_roots(f.path for f in rt.workspaces))
    content = rt.store.export_session(p.session_id, p.format)
    if target is not None:
        write_export(target, content)
    return m.ExportResult(
        format=p.format, content=content, path=str(target) if target is not None else None
    )


def check_payload_sizes(events: list[NewEvent], limit: int) -> None:
    """Refuse the batch when one payload's JSON is bigger than ``limit`` bytes."""
    for index, event in enumerate(events):
        size = len(json.dumps(event.payload, ensure_ascii=False, separators=(",", ":")).encode())
        if size > limit:
            field = f"events[{index}].payload"
            raise JsonRpcInvalidParams(
                f"invalid params for {names.EVENTS_APPEND}: {field} is {size} bytes of JSON, "
                f"over the limit of {limit} bytes (setting maxPayloadBytes); nothing from "
                "this batch was appended: store large content in a file and append its path",
                data=[{"field": field, "problem": f"at most {limit} bytes", "got": str(size)}],
            )


def events_append(rt: Runtime, p: m.AppendParams) -> m.AppendResult:
    """sidecar/events/append."""
    events: list[NewEvent] = list(p.events)
    check_payload_sizes(events, rt.settings.max_payload_bytes)
    folder = rt.folder(p.folder) if p.session_id is None else None
    if folder is not None:
        rt.note_activity([folder.uri], events)
    elif p.session_id is not None:
        rt.note_activity(rt.sessions.folder_of(p.session_id), events)
    session_id, seqs = rt.sessions.append(folder, p.session_id, events)
    return m.AppendResult(session_id=session_id, seqs=seqs)


def _session_for(rt: Runtime, session_id: str | None, folder_name: str | None) -> str:
    if session_id is not None:
        rt.store.get_session(session_id)
        return session_id
    return rt.sessions.ensure_active(rt.folder(folder_name)).id


def checkpoints_create(rt: Runtime, p: m.CheckpointCreateParams) -> m.CheckpointResult:
    """sidecar/checkpoints/create."""
    from sidecar.git.actions import GitError, create_checkpoint_snapshot

    session_id = _session_for(rt, p.session_id, p.folder)
    session = rt.store.get_session(session_id)
    checkpoint_id = new_id()
    try:
        head, snapshot, ref = create_checkpoint_snapshot(session.boundary.worktree, checkpoint_id)
    except GitError as exc:
        raise ServiceError(f"could not snapshot {session.boundary.worktree}: {exc}") from exc
    checkpoint = rt.store.add_checkpoint(
        session_id,
        name=p.name,
        head_sha=head,
        snapshot_sha=snapshot,
        ref=ref,
        checkpoint_id=checkpoint_id,
    )
    rt.sessions.announce(session_id)
    return m.CheckpointResult(checkpoint=checkpoint)


def checkpoints_restore(rt: Runtime, p: m.CheckpointRestoreParams) -> m.CheckpointRestoreResult:
    """sidecar/checkpoints/restore."""
    from sidecar.git.actions import GitError, restore_checkpoint_snapshot

    checkpoint = rt.store.get_checkpoint(p.checkpoint_id)
    session = rt.store.get_session(checkpoint.session_id)
    if checkpoint.snapshot_sha is not None:
        try:
            restore_checkpoint_snapshot(session.boundary.worktree, checkpoint.snapshot_sha)
        except GitError as exc:
            raise ServiceError(f"could not restore checkpoint {checkpoint.id}: {exc}") from exc
    # A checkpoint without a snapshot was taken on a clean tree: HEAD's files are its files,
    # and restore leaves the tree as it is (the event still records the request).
    rt.sessions.append(
        None,
        session.id,
        [
            NewEvent(
                kind=EventKind.CHECKPOINT,
                actor=Actor.USER,
                payload={
                    "action": "restore",
                    "checkpointId": checkpoint.id,
                    "name": checkpoint.name,
                    "snapshotSha": checkpoint.snapshot_sha,
                },
            )
        ],
    )
    return m.CheckpointRestoreResult(checkpoint=checkpoint)


def annotations_add(rt: Runtime, p: m.AnnotationAddParams) -> m.AnnotationResult:
    """sidecar/annotations/add."""
    annotation = rt.store.add_annotation(p.session_id, code=p.code, text=p.text, seq=p.seq)
    rt.sessions.announce(p.session_id)
    return m.AnnotationResult(annotation=annotation)


def cache_put(rt: Runtime, p: m.CachePutParams) -> m.CachePutResult:
    """sidecar/cache/put."""
    rt.store.cache_put(p.session_id, p.key, p.value)
    return m.CachePutResult(session_id=p.session_id, key=p.key)


def cache_get(rt: Runtime, p: m.CacheGetParams) -> m.CacheGetResult:
    """sidecar/cache/get."""
    rt.store.get_session(p.session_id)
    return m.CacheGetResult(
        session_id=p.session_id, key=p.key, value=rt.store.cache_get(p.session_id, p.key)
    )


def approvals_request(rt: Runtime, p: m.ApprovalRequestParams) -> m.ApprovalResult:
    """sidecar/approvals/request."""
    session_id = _session_for(rt, p.session_id, p.folder)
    approval = rt.store.request_approval(session_id, title=p.title, detail=p.detail)
    rt.sessions.announce(session_id)
    return m.ApprovalResult(approval=approval)


def approvals_decide(rt: Runtime, p: m.ApprovalDecideParams) -> m.ApprovalResult:
    """sidecar/approvals/decide."""
    folders = list(rt.workspaces)
    by = folders[0].boundary.requester if folders else (rt.settings.requester or "user")
    approval = rt.store.decide_approval(p.approval_id, grant=p.grant, by=by, reason=p.reason)
    rt.sessions.announce(approval.session_id)
    return m.ApprovalResult(approval=approval)


def drift_evaluate(rt: Runtime, p: m.DriftEvaluateParams) -> m.DriftEvaluateResult:
    """sidecar/drift/evaluate."""
    folder = rt.folder(p.folder)
    drift = rt.drift.get(folder.uri)
    if drift is not None:
        recommendation = drift.evaluate()
        folder = drift.folder
    else:
        recommendation = drift_requests.evaluate(rt.sessions, folder)
    return m.DriftEvaluateResult(
        folder=folder.uri, boundary=folder.boundary, recommendation=recommendation
    )


def drift_decide(rt: Runtime, p: m.DriftDecideParams) -> m.DriftDecideResult:
    """sidecar/drift/decide."""
    folder = rt.folder(p.folder)
    drift = rt.drift.get(folder.uri)
    if drift is not None:
        # Through the drift service, so its pending recommendation is cleared.
        session = drift.decide(p.action, p.session_id, p.remember)
    else:
        session = drift_requests.decide(
            rt.sessions, folder, p.action, session_id=p.session_id, remember=p.remember
        )
    return m.DriftDecideResult(session=session, action=p.action)


ROUTES: dict[str, Route] = {
    names.STATUS: status,
    names.SESSIONS_LIST: sessions_list,
    names.SESSIONS_SHOW: sessions_show,
    names.SESSIONS_EVENTS: sessions_events,
    names.SESSIONS_SEARCH: sessions_search,
    names.SESSIONS_START: sessions_start,
    names.SESSIONS_RESUME: sessions_resume,
    names.SESSIONS_FORK: sessions_fork,
    names.SESSIONS_RENAME: sessions_rename,
    names.SESSIONS_END: sessions_end,
    names.SESSIONS_DELETE: sessions_delete,
    names.SESSIONS_CLEANUP: sessions_cleanup,
    names.SESSIONS_EXPORT: sessions_export,
    names.EVENTS_APPEND: events_append,
    names.CHECKPOINTS_CREATE: checkpoints_create,
    names.CHECKPOINTS_RESTORE: checkpoints_restore,
    names.ANNOTATIONS_ADD: annotations_add,
    names.CACHE_PUT: cache_put,
    names.CACHE_GET: cache_get,
    names.APPROVALS_REQUEST: approvals_request,
    names.APPROVALS_DECIDE: approvals_decide,
    names.DRIFT_EVALUATE: drift_evaluate,
    names.DRIFT_DECIDE: drift_decide,
}
