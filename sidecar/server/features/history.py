"""Writing history: append events, checkpoints, annotations, cache, approvals.

Appends go through the one append path (:func:`sidecar.services.append.append`,
via the workspace, which shows a drift finding); everything else is one store
call, whose own transaction appends the matching event.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sidecar.server.feature import Feature, lazy, request

if TYPE_CHECKING:
    from sidecar.core import ids, models as core
    from sidecar.protocol import messages as m
    from sidecar.services import errors
else:
    m = lazy("sidecar.protocol.messages")
    core = lazy("sidecar.core.models")
    ids = lazy("sidecar.core.ids")
    errors = lazy("sidecar.services.errors")


class HistoryFeature(Feature):
    """The history-writing requests."""

    def _session_for(self, session_id: str | None, folder: str | None) -> str:
        """``session_id`` (checked), else the folder's active session (started if none)."""
        workspace = self.state.workspace
        if session_id is not None:
            self.state.store.sessions.get(session_id)
            return session_id
        return workspace.ensure_active(workspace.refresh(workspace.find(folder))).id

    @request("sidecar/events/append")
    def append(self, p: m.AppendParams) -> m.AppendResult:
        """Append a batch of events, atomically."""
        workspace = self.state.workspace
        folder = None
        if p.session_id is None:
            folder = workspace.refresh(workspace.find(p.folder))
        done = workspace.append(folder, p.session_id, list(p.events))
        return m.AppendResult(session_id=done.session_id, seqs=done.seqs)

    @request("sidecar/checkpoints/create")
    def create_checkpoint(self, p: m.CheckpointCreateParams) -> m.CheckpointResult:
        """Snapshot the working tree before something risky."""
        from sidecar.git.actions import GitError, create_checkpoint_snapshot

        state = self.state
        session_id = self._session_for(p.session_id, p.folder)
        session = state.store.sessions.get(session_id)
        checkpoint_id = ids.new_id()
        try:
            head, snapshot, ref = create_checkpoint_snapshot(
                session.boundary.worktree, checkpoint_id
            )
        except GitError as exc:
            raise errors.ServiceError(
                f"could not snapshot {session.boundary.worktree}: {exc}"
            ) from exc
        checkpoint = state.store.checkpoints.add(
            session_id,
            name=p.name,
            head_sha=head,
            snapshot_sha=snapshot,
            ref=ref,
            checkpoint_id=checkpoint_id,
        )
        state.sessions.announce(session_id)
        return m.CheckpointResult(checkpoint=checkpoint)

    @request("sidecar/checkpoints/restore")
    def restore_checkpoint(self, p: m.CheckpointRestoreParams) -> m.CheckpointRestoreResult:
        """Write a checkpoint's files back (needs ``confirm: true``)."""
        from sidecar.git.actions import GitError, restore_checkpoint_snapshot

        state = self.state
        checkpoint = state.store.checkpoints.get(p.checkpoint_id)
        session = state.store.sessions.get(checkpoint.session_id)
        if checkpoint.snapshot_sha is not None:
            try:
                restore_checkpoint_snapshot(session.boundary.worktree, checkpoint.snapshot_sha)
            except GitError as exc:
                raise errors.ServiceError(
                    f"could not restore checkpoint {checkpoint.id}: {exc}"
                ) from exc
        # A checkpoint without a snapshot was taken on a clean tree: HEAD's files are its
        # files, and restore leaves the tree as it is (the event still records the request).
        event = core.NewEvent(
            kind=core.EventKind.CHECKPOINT,
            actor=core.Actor.USER,
            payload={
                "action": "restore",
                "checkpointId": checkpoint.id,
                "name": checkpoint.name,
                "snapshotSha": checkpoint.snapshot_sha,
            },
        )
        state.workspace.append(None, session.id, [event])
        return m.CheckpointRestoreResult(checkpoint=checkpoint)

    def _checkpoint_place(self, checkpoint_id: str) -> tuple[core.Checkpoint, str, str | None]:
        """A checkpoint, its session's worktree, and the commit that holds its files."""
        state = self.state
        checkpoint = state.store.checkpoints.get(checkpoint_id)
        session = state.store.sessions.get(checkpoint.session_id)
        # No snapshot: the tree matched HEAD when the checkpoint was taken.
        return checkpoint, session.boundary.worktree, checkpoint.snapshot_sha or checkpoint.head_sha

    @request("sidecar/checkpoints/changes")
    def checkpoint_changes(self, p: m.CheckpointChangesParams) -> m.CheckpointChangesResult:
        """The files that differ between a checkpoint and the working tree now."""
        from sidecar.git.actions import GitError, checkpoint_changes

        checkpoint, worktree, source = self._checkpoint_place(p.checkpoint_id)
        try:
            root, changes = checkpoint_changes(worktree, source)
        except GitError as exc:
            raise errors.ServiceError(
                f"could not compare checkpoint {checkpoint.id}: {exc}"
            ) from exc
        files = [m.CheckpointFileChange(path=path, change=change) for change, path in changes]
        return m.CheckpointChangesResult(checkpoint=checkpoint, worktree=root, files=files)

    @request("sidecar/checkpoints/file")
    def checkpoint_file(self, p: m.CheckpointFileParams) -> m.CheckpointFileResult:
        """One file as a checkpoint holds it (read-only; nothing is written)."""
        from sidecar.git.actions import GitError, checkpoint_file

        checkpoint, worktree, source = self._checkpoint_place(p.checkpoint_id)
        try:
            content, binary = checkpoint_file(worktree, source, p.path)
        except ValueError as exc:
            raise errors.InvalidArgument(str(exc)) from exc
        except GitError as exc:
            raise errors.ServiceError(f"could not read checkpoint {checkpoint.id}: {exc}") from exc
        return m.CheckpointFileResult(
            path=p.path, exists=content is not None or binary, binary=binary, content=content
        )

    @request("sidecar/annotations/add")
    def annotate(self, p: m.AnnotationAddParams) -> m.AnnotationResult:
        """Annotate a session or one of its events."""
        state = self.state
        annotation = state.store.reviews.annotate(p.session_id, code=p.code, text=p.text, seq=p.seq)
        state.sessions.announce(p.session_id)
        return m.AnnotationResult(annotation=annotation)

    @request("sidecar/cache/put")
    def cache_put(self, p: m.CachePutParams) -> m.CachePutResult:
        """Store derived state under a key (replaces)."""
        self.state.store.state.cache_put(p.session_id, p.key, p.value)
        return m.CachePutResult(session_id=p.session_id, key=p.key)

    @request("sidecar/cache/get")
    def cache_get(self, p: m.CacheGetParams) -> m.CacheGetResult:
        """Read a cache entry."""
        value = self.state.store.state.cache_get(p.session_id, p.key)
        return m.CacheGetResult(session_id=p.session_id, key=p.key, value=value)

    @request("sidecar/approvals/request")
    def request_approval(self, p: m.ApprovalRequestParams) -> m.ApprovalResult:
        """Open a review gate."""
        state = self.state
        session_id = self._session_for(p.session_id, p.folder)
        approval = state.store.reviews.request_approval(session_id, title=p.title, detail=p.detail)
        state.sessions.announce(session_id)
        return m.ApprovalResult(approval=approval)

    @request("sidecar/approvals/decide")
    def decide_approval(self, p: m.ApprovalDecideParams) -> m.ApprovalResult:
        """Grant or deny an approval (exactly once, whoever else decides it)."""
        state = self.state
        folders = list(state.workspace)
        by = (
            folders[0].place.boundary.requester if folders else (state.settings.requester or "user")
        )
        approval = state.store.reviews.decide_approval(
            p.approval_id, grant=p.grant, by=by, reason=p.reason
        )
        state.sessions.announce(approval.session_id)
        return m.ApprovalResult(approval=approval)
