"""Reviews of sessions: annotations (codes on a session or an event) and approval gates."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sidecar.core.ids import new_id
from sidecar.core.models import Annotation, Approval, ApprovalState, EventKind, NewEvent, utcnow
from sidecar.core.redact import redact_text
from sidecar.store.append import append_in
from sidecar.store.database import Database
from sidecar.store.errors import InvalidRequest, UnknownId, UnknownSession
from sidecar.store.rows import annotation_from_row, approval_from_row, ts


class Reviews:
    """Annotations and approvals; each one is also recorded as an event."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ annotations

    def annotate(
        self,
        session_id: str,
        *,
        code: str,
        text: str = "",
        seq: int | None = None,
        now: datetime | None = None,
    ) -> Annotation:
        """Annotate a session (or one of its events) and record an `annotation` event."""
        now = now or utcnow()
        code, text = redact_text(code), redact_text(text)
        annotation_id = new_id()
        event = NewEvent(
            kind=EventKind.ANNOTATION,
            actor="user",
            payload={"annotationId": annotation_id, "code": code, "text": text, "seq": seq},
        )
        with self.db.write() as conn:
            row = conn.execute(
                "SELECT event_count FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            if row is None:
                raise UnknownSession(session_id)
            last = int(row["event_count"])
            if seq is not None and not 1 <= seq <= last:
                raise InvalidRequest(
                    f"session {session_id!r} has no event {seq} (it has 1..{last})"
                )
            append_in(conn, session_id, [event], holder=None, now=now)
            conn.execute(
                "INSERT INTO annotations (id, session_id, seq, code, text, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (annotation_id, session_id, seq, code, text, ts(now)),
            )
        return Annotation(
            id=annotation_id, session_id=session_id, seq=seq, code=code, text=text, created_at=now
        )

    def annotations(self, session_id: str) -> list[Annotation]:
        """A session's annotations, oldest first."""
        rows = self.db.read(
            "SELECT * FROM annotations WHERE session_id = ? ORDER BY created_at, id",
            (session_id,),
        )
        return [annotation_from_row(r) for r in rows]

    def has_annotation(self, session_id: str, code: str) -> bool:
        """Whether the session carries an annotation with this code."""
        return bool(
            self.db.read(
                "SELECT 1 FROM annotations WHERE session_id = ? AND code = ? LIMIT 1",
                (session_id, code),
            )
        )

    def annotated(self, session_ids: Iterable[str], code: str) -> set[str]:
        """Which of these sessions carry an annotation with this code (one query)."""
        rows = self.db.read(
            "SELECT DISTINCT session_id FROM annotations WHERE code = ? "
            "AND session_id IN (SELECT value FROM json_each(?))",
            (code, json.dumps(list(session_ids))),
        )
        return {r["session_id"] for r in rows}

    # ------------------------------------------------------------------ approvals

    def request_approval(
        self, session_id: str, *, title: str, detail: str = "", now: datetime | None = None
    ) -> Approval:
        """Open a review gate; an `approval_request` event records it."""
        now = now or utcnow()
        title, detail = redact_text(title), redact_text(detail)
        approval_id = new_id()
        event = NewEvent(
            kind=EventKind.APPROVAL_REQUEST,
            actor="agent",
            payload={"approvalId": approval_id, "title": title, "detail": detail},
        )
        with self.db.write() as conn:
            (seq,) = append_in(conn, session_id, [event], holder=None, now=now)
            conn.execute(
                "INSERT INTO approvals (id, session_id, title, detail, state, requested_seq, "
                "reason, created_at) VALUES (?, ?, ?, ?, 'pending', ?, '', ?)",
                (approval_id, session_id, title, detail, seq, ts(now)),
            )
            row = conn.execute("SELECT * FROM approvals WHERE id = ?", (approval_id,)).fetchone()
        return approval_from_row(row)

    def decide_approval(
        self,
        approval_id: str,
        *,
        grant: bool,
        by: str,
        reason: str = "",
        now: datetime | None = None,
    ) -> Approval:
        """Grant or deny a pending approval; an `approval` event records the decision.

        The state check is the update itself, so of two deciders exactly one wins;
        the other gets `InvalidRequest`.
        """
        now = now or utcnow()
        by, reason = redact_text(by), redact_text(reason)
        state = ApprovalState.GRANTED if grant else ApprovalState.DENIED
        with self.db.write() as conn:
            decided = conn.execute(
                "UPDATE approvals SET state = ?, decided_by = ?, reason = ?, decided_at = ? "
                "WHERE id = ? AND state = 'pending'",
                (state.value, by, reason, ts(now), approval_id),
            ).rowcount
            row = conn.execute(
                "SELECT session_id, title, state FROM approvals WHERE id = ?", (approval_id,)
            ).fetchone()
            if row is None:
                raise UnknownId("approval", approval_id)
            if decided == 0:
                raise InvalidRequest(f"approval {approval_id!r} was already {row['state']}")
            event = NewEvent(
                kind=EventKind.APPROVAL,
                actor="user",
                payload={
                    "approvalId": approval_id,
                    "granted": grant,
                    "by": by,
                    "reason": reason,
                    "title": row["title"],
                },
            )
            (seq,) = append_in(conn, row["session_id"], [event], holder=None, now=now)
            conn.execute("UPDATE approvals SET decided_seq = ? WHERE id = ?", (seq, approval_id))
            row = conn.execute("SELECT * FROM approvals WHERE id = ?", (approval_id,)).fetchone()
        return approval_from_row(row)

    def approval(self, approval_id: str) -> Approval:
        """The approval with this id; `UnknownId` if there is none."""
        rows = self.db.read("SELECT * FROM approvals WHERE id = ?", (approval_id,))
        if not rows:
            raise UnknownId("approval", approval_id)
        return approval_from_row(rows[0])

    def approvals(self, session_id: str) -> list[Approval]:
        """A session's approvals, oldest first."""
        rows = self.db.read(
            "SELECT * FROM approvals WHERE session_id = ? ORDER BY requested_seq", (session_id,)
        )
        return [approval_from_row(r) for r in rows]
