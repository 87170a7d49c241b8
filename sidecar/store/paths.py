"""Where the database lives (SPEC 7) and how its folder and file are created."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "session-sidecar"
DB_FILENAME = "sessions.db"


def default_db_path() -> Path:
    """`$SIDECAR_DB` if set, else `sessions.db` in the user's data directory."""
    override = os.environ.get("SIDECAR_DB")
    if override:
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / DB_FILENAME


def prepare_db_file(path: Path) -> None:
    """Create the folder (0700) and the file (0600) if missing, private from the start.

    Creating the file before SQLite does means it never exists with looser
    permissions; SQLite gives its -wal and -shm files the database file's mode.
    """
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
