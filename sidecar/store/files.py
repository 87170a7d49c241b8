"""Moving a corrupt database file aside (never overwriting it)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sidecar.core.kinds import utcnow


def looks_corrupt(error: sqlite3.DatabaseError) -> bool:
    text = str(error).lower()
    return any(
        marker in text for marker in ("not a database", "malformed", "file is encrypted", "corrupt")
    )


def move_aside(path: Path) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{counter}")
        counter += 1
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            side.rename(target.with_name(target.name + suffix))
    return target
