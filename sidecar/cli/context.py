"""What every command resolves first: the database, the current folder and its boundary."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from sidecar.cli.output import CliError, note

if TYPE_CHECKING:
    from sidecar.core.models import Boundary, Phase, Scope
    from sidecar.git.reader import GitState
    from sidecar.services.boundary import ScopeFilters
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


@dataclass(frozen=True)
class Here:
    """The folder a command works in and what git says about it."""

    folder: Path
    state: GitState | None
    reason: str | None
    """Why ``state`` is None (a sentence), else None."""


def locate_here(folder: Path | None) -> Here:
    """The git state of `folder` (default: the current folder)."""
    from sidecar.git.reader import NotARepository, locate

    path = Path(folder) if folder is not None else Path(os.getcwd())
    if folder is not None and not path.is_dir():
        raise CliError(f"--folder {folder} is not an existing folder")
    found = locate(path)
    if isinstance(found, NotARepository):
        return Here(path, None, found.reason)
    return Here(path, found, None)


def boundary_of(
    here: Here,
    *,
    provider: str | None = None,
    task: str | None = None,
    phase: Phase | None = None,
    requester: str | None = None,
) -> Boundary | None:
    """The boundary of `here`, or None outside git."""
    if here.state is None:
        return None
    from sidecar.services.boundary import boundary_from_state, machine_name

    return boundary_from_state(
        here.state,
        machine=machine_name(),
        requester_override=requester,
        task=task,
        phase=phase,
        provider=provider,
    )


def require_boundary(
    here: Here,
    action: str,
    *,
    provider: str | None = None,
    task: str | None = None,
    phase: Phase | None = None,
) -> Boundary:
    """The boundary of `here`; a `CliError` saying why when it is not in a git worktree."""
    boundary = boundary_of(here, provider=provider, task=task, phase=phase)
    if boundary is None:
        raise CliError(f"cannot {action}: {here.reason}; run it inside a git worktree or pass -C")
    return boundary


def scoped_filters(scope: Scope, here: Here) -> ScopeFilters:
    """Store filters for `scope` around `here`; outside git, a note and no filter (all)."""
    from sidecar.core.models import Scope
    from sidecar.services.boundary import scope_filters

    if scope is Scope.ALL:
        return {}
    boundary = boundary_of(here)
    if boundary is None:
        note(f"{here.reason}; showing sessions of all repositories (scope 'all')")
        return {}
    return scope_filters(scope, boundary)
