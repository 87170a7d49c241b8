"""Sessions: list, show, read, search, start (isolated), resume, fork, rename, pin, tag, end,
delete, clean up, export. Each handler translates params to one call of the core."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sidecar.server.feature import Feature, lazy, request

if TYPE_CHECKING:
    from sidecar.core import boundary as core_boundary, ids
    from sidecar.core.models import Event, Scope
    from sidecar.protocol import messages as m
    from sidecar.services import errors, export, labels
    from sidecar.services.boundary import Place
    from sidecar.services.sessions import Notice
    from sidecar.services.workspace import Folder
    from sidecar.store import Store, export as store_export
else:
    m = lazy("sidecar.protocol.messages")
    core_boundary = lazy("sidecar.core.boundary")
    ids = lazy("sidecar.core.ids")
    errors = lazy("sidecar.services.errors")
    export = lazy("sidecar.services.export")
    labels = lazy("sidecar.services.labels")
    store_export = lazy("sidecar.store.export")


def warning_of(notice: Notice | None) -> m.ResultWarning | None:
    """A service notice as a result warning."""
    return None if notice is None else m.ResultWarning.model_validate(notice.to_json())


#: How many events past a page the results of its open tool calls are looked for.
RESULTS_AHEAD = 200


def _results_ahead(store: Store, session_id: str, events: list[Event]) -> list[Event]:
    """The events after ``events`` up to the last result of a tool call ``events`` opened."""
    from sidecar.core.models import EventKind

    open_ids = {e.payload.get("toolUseId") for e in events if e.kind is EventKind.TOOL_CALL} - {
        e.payload.get("toolUseId") for e in events if e.kind is EventKind.TOOL_RESULT
    }
    open_ids.discard(None)
    if not open_ids:
        return []
    ahead = store.events.page(session_id, after_seq=events[-1].seq, limit=RESULTS_AHEAD)
    last = 0
    for index, event in enumerate(ahead):
        if event.kind is EventKind.TOOL_RESULT and event.payload.get("toolUseId") in open_ids:
            last = index + 1
    return ahead[:last]


class SessionsFeature(Feature):
    """The session requests."""

    def _filters(self, scope: Scope, folder: str | None) -> core_boundary.ScopeFilters:
        from sidecar.core.models import Scope

        if scope is Scope.ALL:
            return {}
        workspace = self.state.workspace
        return core_boundary.scope_filters(scope, workspace.find(folder).place.boundary)

    @request("sidecar/sessions/list")
    def list_sessions(self, p: m.ListParams) -> m.ListResult:
        """Sessions, most recently active first."""
        page = self.state.store.sessions.list(
            **self._filters(p.scope, p.folder),
            statuses=p.status,
            text=p.query,
            limit=p.limit,
            cursor=p.cursor,
            tag=p.tag,
            pinned=p.pinned,
        )
        return m.ListResult(items=page.items, next_cursor=page.next_cursor)

    @request("sidecar/sessions/show")
    def show(self, p: m.ShowParams) -> m.ShowResult:
        """One session with its footprint, checkpoints, lineage, children, annotations."""
        store = self.state.store
        session = store.sessions.get(p.session_id)
        return m.ShowResult(
            session=session,
            footprint=store.sessions.footprint(session.id),
            checkpoints=store.checkpoints.list(session.id),
            lineage=store.sessions.lineage(session.id),
            children=store.sessions.children(session.id),
            annotations=store.reviews.annotations(session.id),
        )

    @request("sidecar/sessions/events")
    def events(self, p: m.EventsParams) -> m.EventsResult:
        """A page of a session's events."""
        items = self.state.store.events.page(
            p.session_id, after_seq=p.after_seq, limit=p.limit, kinds=p.kinds
        )
        next_after = items[-1].seq if len(items) == p.limit else None
        return m.EventsResult(items=items, next_after_seq=next_after)

    @request("sidecar/sessions/render")
    def render(self, p: m.RenderParams) -> m.RenderResult:
        """A page of a session's history as display blocks (one renderer for every view)."""
        from sidecar.core.render import block_markdown, render

        store = self.state.store
        session = store.sessions.get(p.session_id)
        events = store.events.page(p.session_id, after_seq=p.after_seq, limit=p.limit)
        full = len(events) == p.limit
        if full:
            # A page does not end between a tool call and its result: the results of the
            # page's open calls are read on, a little way.
            events += _results_ahead(store, p.session_id, events)
        items = render(events, session.boundary.worktree)
        if p.markdown:
            items = [b.model_copy(update={"markdown": block_markdown(b)}) for b in items]
        return m.RenderResult(items=items, next_after_seq=events[-1].seq if full else None)

    @request("sidecar/sessions/search")
    def search(self, p: m.SearchParams) -> m.SearchResult:
        """Full-text search over events."""
        filters = self._filters(p.scope, p.folder)
        return m.SearchResult(
            items=self.state.store.events.search(p.query, **filters, limit=p.limit)
        )

    @request("sidecar/sessions/start")
    def start(self, p: m.StartParams) -> m.StartResult:
        """A new session, active in the folder."""
        workspace = self.state.workspace
        folder = workspace.refresh(workspace.find(p.folder))
        place = folder.place
        warning: m.ResultWarning | None = None
        if p.isolate:
            place, warning = self._isolate(folder, p)
        overrides = {
            k: v
            for k, v in (("task", p.task), ("phase", p.phase), ("provider", p.provider))
            if v is not None
        }
        boundary = place.boundary.model_copy(update=overrides) if overrides else None
        session = workspace.start(
            folder,
            name=p.name or "",
            description=p.description or "",
            parent_id=p.parent_id,
            boundary=boundary,
            place=place,
        )
        return m.StartResult(session=session, warning=warning)

    def _isolate(self, folder: Folder, p: m.StartParams) -> tuple[Place, m.ResultWarning | None]:
        """Create the isolated branch (and worktree); the session starts on it."""
        from sidecar.git.actions import GitError, create_isolated_branch

        place = folder.place
        if not place.in_git:
            raise errors.InvalidArgument(
                f"isolate needs a git repository; {place.path} is not in one"
            )
        branch = "session/" + ids.new_id()[-8:]
        target = f"{place.worktree}.{branch.replace('/', '-')}" if p.worktree else None
        try:
            _, root = create_isolated_branch(place.worktree, branch, worktree_path=target)
        except GitError as exc:
            raise errors.ServiceError(f"could not create an isolated branch: {exc}") from exc
        workspace = self.state.workspace
        if target is None:
            if folder.tracker is not None:
                folder.tracker.adopt()  # the sidecar's own switch: no drift prompt about it
            else:
                folder.place = workspace.resolve(folder.uri)
            return folder.place, None
        # The new worktree is not one of the client's folders: bind the session to it
        # anyway, and tell the client to open it.
        return workspace.resolve(str(root)), m.ResultWarning(
            code="open_worktree",
            message=f"Created worktree {root} on branch {branch}; open it to work in this session.",
        )

    @request("sidecar/sessions/resume")
    def resume(self, p: m.ResumeParams) -> m.ResumeResult:
        """Make a known session the folder's active one (the resume contract)."""
        workspace = self.state.workspace
        folder = workspace.refresh(workspace.find(p.folder))
        outcome = workspace.resume(folder, p.session_id, take_over=p.take_over)
        return m.ResumeResult(
            session=outcome.session, resumed=outcome.resumed, warning=warning_of(outcome.warning)
        )

    @request("sidecar/sessions/fork")
    def fork(self, p: m.ForkParams) -> m.SessionResult:
        """A new session sharing history up to a seq."""
        workspace = self.state.workspace
        folder = workspace.refresh(workspace.find(p.folder))
        return m.SessionResult(
            session=workspace.fork(folder, p.session_id, at_seq=p.at_seq, name=p.name)
        )

    @request("sidecar/sessions/rename")
    def rename(self, p: m.RenameParams) -> m.SessionResult:
        """Rename a session."""
        return m.SessionResult(session=self.state.store.sessions.rename(p.session_id, p.name))

    @request("sidecar/sessions/pin")
    def pin(self, p: m.PinParams) -> m.SessionResult:
        """Pin or unpin a session."""
        return m.SessionResult(session=labels.set_pinned(self.state.store, p.session_id, p.pinned))

    @request("sidecar/sessions/tag")
    def tag(self, p: m.TagParams) -> m.SessionResult:
        """Add and remove a session's tags."""
        return m.SessionResult(
            session=labels.change_tags(self.state.store, p.session_id, add=p.add, remove=p.remove)
        )

    @request("sidecar/sessions/end")
    def end(self, p: m.EndParams) -> m.SessionResult:
        """End a session."""
        return m.SessionResult(session=self.state.workspace.end(p.session_id))

    @request("sidecar/sessions/delete")
    def delete(self, p: m.DeleteParams) -> m.DeleteResult:
        """Delete a session and its events."""
        self.state.workspace.delete(p.session_id)
        return m.DeleteResult(session_id=p.session_id)

    @request("sidecar/sessions/cleanup")
    def cleanup(self, p: m.CleanupParams) -> m.CleanupResult:
        """Delete ended, unpinned sessions older than N days."""
        victims = self.state.store.sessions.cleanup(p.older_than_days, dry_run=p.dry_run)
        return m.CleanupResult(sessions=victims, deleted=0 if p.dry_run else len(victims))

    @request("sidecar/sessions/export")
    def export_session(self, p: m.ExportParams) -> m.ExportResult:
        """A session as Markdown or JSON, returned and optionally written."""
        state = self.state
        target = None
        if p.path is not None:
            target = export.check_export_path(p.path, state.export_roots, state.store)
        content = store_export.export_session(state.store, p.session_id, p.format)
        if target is not None:
            export.write_export(target, content, state.store)
        return m.ExportResult(
            format=p.format, content=content, path=str(target) if target is not None else None
        )
