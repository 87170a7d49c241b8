"""Where the database lives (SPEC 7), how its folder and file are created, and
whether a path can be trusted with the history (SPEC 11)."""

from __future__ import annotations

import os
import stat
import sys
import threading
from pathlib import Path
from typing import Literal

from sidecar.store.errors import UntrustedLocation

APP_NAME = "session-sidecar"
DB_FILENAME = "sessions.db"
#: The first 16 bytes of every SQLite 3 database file.
SQLITE_HEADER = b"SQLite format 3\x00"


#: On Linux: the XDG variable of each kind of folder, and its default under the home folder.
_XDG = {
    "data": ("XDG_DATA_HOME", ".local/share"),
    "config": ("XDG_CONFIG_HOME", ".config"),
    "state": ("XDG_STATE_HOME", ".local/state"),
}


def user_dir(kind: Literal["data", "config", "state"]) -> Path:
    """The sidecar's folder of this kind for the user (``~/.local/share/session-sidecar``).

    platformdirs answers, except on Linux, where the XDG rule it applies there
    is read here directly: every agent hook call needs two of these folders,
    and importing platformdirs would cost it more than the rest of its path.
    """
    if sys.platform.startswith("linux"):
        variable, default = _XDG[kind]
        base = os.environ.get(variable, "")
        if not base.strip():
            base = os.path.expanduser(f"~/{default}")
        return Path(base) / APP_NAME
    import platformdirs

    folder = {
        "data": platformdirs.user_data_dir,
        "config": platformdirs.user_config_dir,
        "state": platformdirs.user_state_dir,
    }[kind](APP_NAME, appauthor=False)
    return Path(folder)


def default_db_path() -> Path:
    """`$SIDECAR_DB` if set, else `sessions.db` in the user's data directory."""
    override = os.environ.get("SIDECAR_DB")
    if override:
        return Path(override).expanduser()
    return user_dir("data") / DB_FILENAME


def check_location(path: Path) -> None:
    """Raise `UntrustedLocation` unless `path` can hold this user's history privately.

    Refused, with a message that says why and what to do: a symbolic link (it
    may lead to a file someone else reads); a folder owned by another user, or
    writable by group or others (they could swap the file); an existing file
    owned by another user, not a regular file, or not a SQLite database (a
    client must not be able to make the server rename or overwrite the user's
    files). A missing file is fine: it is created private.
    """
    me = os.geteuid()
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    if info is not None:
        if stat.S_ISLNK(info.st_mode):
            raise UntrustedLocation(
                f"the session database path {path} is a symbolic link (to "
                f"{os.readlink(path)}); point it at the real file"
            )
        if not stat.S_ISREG(info.st_mode):
            raise UntrustedLocation(f"the session database path {path} is not a regular file")
        if info.st_uid != me:
            raise UntrustedLocation(
                f"the session database {path} belongs to another user (uid {info.st_uid}); "
                "use a database of your own"
            )
        if info.st_size and not _has_sqlite_header(path):
            raise UntrustedLocation(
                f"{path} is not a SQLite database; refusing to use it as the session "
                "database (nothing was changed): choose another path"
            )
    folder = path.parent
    try:
        folder_info = os.stat(folder)
    except FileNotFoundError:
        return  # created private (0700) by prepare_db_file
    except OSError as error:
        raise UntrustedLocation(f"cannot inspect the folder {folder}: {error.strerror}") from error
    if folder_info.st_uid != me:
        raise UntrustedLocation(
            f"the folder {folder} of the session database belongs to another user (uid "
            f"{folder_info.st_uid}); keep the database in a folder of your own"
        )
    if folder_info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise UntrustedLocation(
            f"the folder {folder} of the session database can be written by other users "
            f"(mode {stat.S_IMODE(folder_info.st_mode):o}); run `chmod go-w {folder}` or "
            "choose a private folder"
        )


#: Database files (st_dev, st_ino) this process holds open through SQLite, with counts.
#: Their header is not read again: closing any descriptor of a file drops every
#: POSIX lock this process holds on it, SQLite's included, and another process
#: could then take itself for the last connection and delete the WAL under us.
_HELD: dict[tuple[int, int], int] = {}
_HELD_LOCK = threading.Lock()


def hold_file(identity: tuple[int, int] | None) -> None:
    """Note that a SQLite connection of this process has the file open."""
    if identity is not None:
        with _HELD_LOCK:
            _HELD[identity] = _HELD.get(identity, 0) + 1


def release_file(identity: tuple[int, int] | None) -> None:
    """Note that one SQLite connection of this process closed the file."""
    if identity is not None:
        with _HELD_LOCK:
            left = _HELD.get(identity, 0) - 1
            if left > 0:
                _HELD[identity] = left
            else:
                _HELD.pop(identity, None)


def _has_sqlite_header(path: Path) -> bool:
    identity = file_identity(path)
    with _HELD_LOCK:
        if identity is not None and identity in _HELD:
            return True  # checked when this process opened it; reading it would drop locks
    try:
        with open(path, "rb") as file:
            return file.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return True  # unreadable: SQLite reports it in its own words


def prepare_db_file(path: Path) -> None:
    """Create the folder (0700) and the file (0600) if missing, private from the start.

    Creating the file before SQLite does means it never exists with looser
    permissions; SQLite gives its -wal and -shm files the database file's mode.
    An existing file of this user with looser permissions is made private.
    """
    folder = path.parent
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
    if not path.exists():
        try:
            fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:
            pass  # another process (a parallel hook call) created it first: checked below
        else:
            os.close(fd)
            os.chmod(path, 0o600)
            return
    if stat.S_IMODE(os.stat(path).st_mode) & 0o077:
        os.chmod(path, 0o600)


def file_identity(path: str | Path) -> tuple[int, int] | None:
    """(st_dev, st_ino) of the file at `path`, None when it is gone."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    return (info.st_dev, info.st_ino)
