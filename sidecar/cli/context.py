"""What every command resolves first: the database, the current folder's place, the core.

The CLI has no boundary rules of its own: a folder becomes a boundary in
:func:`sidecar.services.boundary.boundary_for` (outside git too: the folder
itself, branch ``-``), scopes become filters in
:func:`sidecar.core.boundary.scope_filters`, and sessions are started,
resumed and appended to through :class:`~sidecar.services.sessions.SessionService`
as a one-shot writer (it holds nothing; a session a live connection holds
refuses its appends).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sidecar.cli.output import CliError

if TYPE_CHECKING:
    from sidecar.core.boundary import ScopeFilters
    from sidecar.core.models import Scope
    from sidecar.services.boundary import Place, Profile
    from sidecar.services.sessions import SessionService
    from sidecar.store import Store

#: The CLI's own provider name, for sessions started from the command line.
CLI_PROVIDER = "cli"

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="Session database file. Default: $SIDECAR_DB, else sessions.db in the user data dir.",
        show_default=False,
        dir_okay=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print machine-readable JSON instead of text.")
]
FolderOption = Annotated[
    Path | None,
    typer.Option(
        "--folder",
        "-C",
        help="Act as if run in this folder (its repository, worktree and branch).",
        show_default="current folder",
        file_okay=False,
    ),
]


def open_store(db: Path | None) -> Store:
    """Open the session database (`--db`, else `$SIDECAR_DB`, else the default path).

    Errors become a `CliError` that names the path and what to do.
    """
    from sidecar.store import Store

    try:
        return Store.open(db)
    except (NotADirectoryError, FileExistsError, IsADirectoryError) as error:
        raise CliError(
            f"cannot use {db or 'the default database path'} as the session database: "
            f"{error.strerror or error} ({error.filename}); pass --db with a file path in a folder"
        ) from error
    except OSError as error:
        raise CliError(
            f"cannot open the session database {db or ''}: {error.strerror or error}; "
            "pass --db or set SIDECAR_DB to a writable location"
        ) from error


def place_here(store: Store, folder: Path | None, profile: Profile | None = None) -> Place:
    """The place (boundary, git state) of `folder` (default: the current folder).

    Outside git it is the folder itself with branch ``-`` (`Place.reason` says why).
    The repository is settled in `store` first (sessions follow a repository that
    gained its identity or moved).
    """
    from sidecar.services.boundary import boundary_for
    from sidecar.services.repositories import settle_repository

    place = boundary_for(checked_folder(folder), profile)
    settle_repository(store, place)
    return place


def checked_folder(folder: Path | None) -> Path:
    """`--folder` when it is an existing folder (a `CliError` otherwise), else the current one."""
    if folder is None:
        return Path(os.getcwd())
    if not Path(folder).is_dir():
        raise CliError(f"--folder {folder} is not an existing folder")
    return Path(folder)


def scoped_filters(store: Store, scope: Scope, folder: Path | None) -> ScopeFilters:
    """Store filters for `scope` around the place of `folder` (`all`: no filter, no git read)."""
    from sidecar.core.boundary import scope_filters
    from sidecar.core.models import Scope

    if scope is Scope.ALL:
        checked_folder(folder)
        return {}
    return scope_filters(scope, place_here(store, folder).boundary)


def one_shot_sessions(store: Store) -> SessionService:
    """The session service of this process: a one-shot writer that holds nothing."""
    from sidecar.services.sessions import SessionService, Writer

    return SessionService(store, Writer.one_shot())
