"""The environment of processes a test spawns: nothing of the developer's leaks in."""

from __future__ import annotations

import os
from pathlib import Path


def isolated_env(home: Path, db_path: Path, tmp: Path) -> dict[str, str]:
    """os.environ without GIT_/SIDECAR_/XDG_ variables, with a temp HOME, XDG dirs,
    TMPDIR and database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "SIDECAR_", "XDG_"))}
    env.update(
        HOME=str(home),
        XDG_CONFIG_HOME=str(home / ".config"),
        XDG_DATA_HOME=str(home / ".local/share"),
        XDG_CACHE_HOME=str(home / ".cache"),
        XDG_STATE_HOME=str(home / ".local/state"),
        SIDECAR_DB=str(db_path),
        TMPDIR=str(tmp),
        GIT_CONFIG_NOSYSTEM="1",
        PYTHONUNBUFFERED="1",
    )
    return env
