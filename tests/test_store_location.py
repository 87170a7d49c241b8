"""Where the history may live (SPEC 11), tried as another local user would.

Another user is simulated by ownership: as root the tests hand a file or folder
to an unused uid with chown; otherwise a folder root owns (the filesystem root)
stands in for one.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sidecar.store import DatabaseReplaced, Store, UntrustedLocation
from tests.storeutil import boundary, note

OTHER_UID = 54_321


def _someone_elses_folder(tmp_path: Path) -> Path:
    if os.geteuid() == 0:
        folder = tmp_path / "theirs"
        folder.mkdir(mode=0o700)
        os.chown(folder, OTHER_UID, OTHER_UID)
        return folder
    return Path("/")  # owned by root, not by the user running the tests


def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(tmp_path: Path) -> None:
    victim = tmp_path / ".bashrc"
    victim.write_text("export PATH=$HOME/bin:$PATH\n", encoding="utf-8")
    with pytest.raises(UntrustedLocation, match="not a SQLite database"):
        Store.open(victim)
    assert victim.read_text(encoding="utf-8") == "export PATH=$HOME/bin:$PATH\n"
    assert [p.name for p in tmp_path.iterdir()] == [".bashrc"]  # nothing moved aside


def test_a_symlinked_database_path_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "shared"
    elsewhere.mkdir(mode=0o700)
    with Store.open(elsewhere / "real.db") as store:
        store.sessions.create(boundary())
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    link = private / "sessions.db"
    link.symlink_to(elsewhere / "real.db")
    with pytest.raises(UntrustedLocation, match="symbolic link"):
        Store.open(link)


def test_a_folder_others_can_write_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(UntrustedLocation, match="can be written by other users"):
        Store.open(shared / "sessions.db")
    assert list(shared.iterdir()) == []
    shared.chmod(0o770)
    with pytest.raises(UntrustedLocation, match="chmod go-w"):
        Store.open(shared / "sessions.db")


def test_a_folder_of_another_user_is_refused(tmp_path: Path) -> None:
    theirs = _someone_elses_folder(tmp_path)
    with pytest.raises(UntrustedLocation, match="belongs to another user"):
        Store.open(theirs / "sessions.db")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a file to another user")
def test_a_database_file_of_another_user_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    with Store.open(path) as store:
        store.sessions.create(boundary())
    os.chown(path, OTHER_UID, OTHER_UID)
    with pytest.raises(UntrustedLocation, match="belongs to another user"):
        Store.open(path)


def test_a_new_database_is_private_and_a_loose_one_is_made_private(tmp_path: Path) -> None:
    path = tmp_path / "data" / "sessions.db"
    with Store.open(path):
        pass
    assert (path.parent.stat().st_mode & 0o777, path.stat().st_mode & 0o777) == (0o700, 0o600)
    path.chmod(0o644)
    with Store.open(path):
        pass
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("how", ["removed", "replaced"])
def test_a_database_removed_or_replaced_while_open_takes_no_more_writes(
    tmp_path: Path, how: str
) -> None:
    path = tmp_path / "sessions.db"
    store = Store.open(path)
    try:
        session = store.sessions.create(boundary())
        store.events.append(session.id, [note("before")], holder=None)
        moved = tmp_path / "elsewhere.db"
        path.rename(moved)
        for suffix in ("-wal", "-shm"):
            side = tmp_path / f"sessions.db{suffix}"
            if side.exists():
                side.rename(tmp_path / f"elsewhere.db{suffix}")
        if how == "replaced":
            with Store.open(path):
                pass
        with pytest.raises(DatabaseReplaced, match="nothing was written"):
            store.events.append(session.id, [note("after")], holder=None)
    finally:
        store.close()
    # Everything acknowledged is in the file that was open.
    with Store.open(moved) as kept:
        events = kept.events.page(session.id)
        assert [e.payload["text"] for e in events] == ["before"]


def test_a_database_file_created_by_a_parallel_process_meanwhile_is_no_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parallel hook calls on a new database: the loser of the O_EXCL race goes on."""
    from sidecar.store.paths import prepare_db_file

    path = tmp_path / "data" / "sessions.db"
    path.parent.mkdir(mode=0o700)
    path.touch(mode=0o600)  # the other process won between our exists() and our open()
    real_exists = Path.exists
    monkeypatch.setattr(Path, "exists", lambda self: False if self == path else real_exists(self))
    prepare_db_file(path)
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("kind", ["data", "config", "state"])
@pytest.mark.parametrize("xdg", ["set", "blank", "unset"])
def test_the_users_folders_are_where_platformdirs_puts_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str, xdg: str
) -> None:
    import platformdirs

    from sidecar.store.paths import APP_NAME, user_dir

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    variable = {"data": "XDG_DATA_HOME", "config": "XDG_CONFIG_HOME", "state": "XDG_STATE_HOME"}
    if xdg == "set":
        monkeypatch.setenv(variable[kind], str(tmp_path / "xdg"))
    elif xdg == "blank":
        monkeypatch.setenv(variable[kind], "  ")
    else:
        monkeypatch.delenv(variable[kind], raising=False)
    expected = getattr(platformdirs, f"user_{kind}_dir")(APP_NAME, appauthor=False)
    assert user_dir(kind) == Path(expected)  # type: ignore[arg-type]


def test_a_second_store_on_a_file_this_process_holds_keeps_the_first_ones_locks(
    tmp_path: Path,
) -> None:
    """SQLite's locks are per process: closing any descriptor of the file drops them all.
    The location check must not read the header of a file this process already holds, or
    another process closing its connection deletes the WAL the first store still writes."""
    import subprocess
    import sys

    from sidecar.core.models import Boundary, NewEvent

    folder = tmp_path / "data"
    folder.mkdir(mode=0o700)
    db = folder / "sessions.db"
    first = Store.open(db)
    boundary = Boundary(repository="r", worktree="/w", branch="main", requester="me", machine="m")
    session = first.sessions.create(boundary, name="demo")
    first.events.append(session.id, [NewEvent(kind="note", payload={"text": "1"})], holder=None)
    Store.open(db).close()  # a second store of this process: checked, opened, closed
    connect = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1])"
    other = f"{connect}; c.execute('SELECT count(*) FROM events').fetchone(); c.close()"
    subprocess.run([sys.executable, "-c", other, str(db)], check=True, timeout=30)
    first.events.append(session.id, [NewEvent(kind="note", payload={"text": "2"})], holder=None)
    read = f"{connect}; print(c.execute('SELECT count(*) FROM events').fetchone()[0])"
    found = subprocess.run(
        [sys.executable, "-c", read, str(db)], capture_output=True, text=True, timeout=30
    )
    first.close()
    assert found.stdout.strip() == "2", found.stderr
