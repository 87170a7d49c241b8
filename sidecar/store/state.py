"""Small keyed state: per-session cache, adapter state, remembered choices."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sidecar.core.models import Action, Choice, utcnow
from sidecar.core.redact import redact_text, redact_value
from sidecar.store.database import Database
from sidecar.store.plain import cache_value
from sidecar.store.rows import choice_from_row, ts
from sidecar.store.sessions import require_in


class State:
    """Cache entries, adapter state and remembered choices."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # ------------------------------------------------------------------ per-session cache

    def cache_put(self, session_id: str, key: str, value: Any) -> None:
        """Store derived state for a session under `key` (replacing any previous value).

        Key and value are redacted like every stored text."""
        key, encoded = redact_text(key), json.dumps(redact_value(value))
        with self.db.write() as conn:
            require_in(conn, session_id)
            conn.execute(
                "INSERT INTO cache (session_id, key, value, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (session_id, key) DO UPDATE SET value = excluded.value, "
                "updated_at = excluded.updated_at",
                (session_id, key, encoded, ts(utcnow())),
            )

    def cache_get(self, session_id: str, key: str) -> Any | None:
        """The cached value, or None; `UnknownSession` for an unknown session."""
        with self.db.reading() as conn:
            require_in(conn, session_id)
            return cache_value(conn, session_id, key)

    # ------------------------------------------------------------------ adapter state

    def get(self, key: str) -> Any | None:
        """Adapter bookkeeping (import offsets and the like), or None."""
        rows = self.db.read("SELECT value FROM state WHERE key = ?", (key,))
        return json.loads(rows[0]["value"]) if rows else None

    def put(self, key: str, value: Any) -> None:
        """Set adapter bookkeeping under `key`."""
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO state (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value)),
            )

    # ------------------------------------------------------------------ choices

    def remember_choice(
        self, repository: str, branch: str, action: Action | str, *, now: datetime | None = None
    ) -> Choice:
        """Remember the user's choice for a branch ("don't ask again")."""
        choice = Choice(
            repository=repository, branch=branch, action=Action(action), created_at=now or utcnow()
        )
        with self.db.write() as conn:
            conn.execute(
                "INSERT INTO choices (repository, branch, action, created_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (repository, branch) DO UPDATE SET action = excluded.action, "
                "created_at = excluded.created_at",
                (repository, branch, choice.action.value, ts(choice.created_at)),
            )
        return choice

    def remembered_choice(self, repository: str, branch: str) -> Choice | None:
        """The remembered choice for this branch, if any."""
        rows = self.db.read(
            "SELECT * FROM choices WHERE repository = ? AND branch = ?", (repository, branch)
        )
        return choice_from_row(rows[0]) if rows else None

    def forget_choice(self, repository: str, branch: str) -> None:
        """Forget a remembered choice, so the branch prompts again."""
        with self.db.write() as conn:
            conn.execute(
                "DELETE FROM choices WHERE repository = ? AND branch = ?", (repository, branch)
            )
