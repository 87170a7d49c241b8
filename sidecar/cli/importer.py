"""`session-sidecar import <tool> [PATH]`: other tools' history into the store.

Tools: one command each, from :data:`sidecar.importers.registry.IMPORTERS`
(Claude Code, Codex CLI, Amplifier, Gemini CLI, Copilot CLI, opencode, Aider,
Continue, Cline, Roo Code, Cursor, Copilot Chat in VS Code, Zed).

Without PATH, the sessions of the current folder's project are imported
(``--all``: every project the tool knows). PATH may be one session file (an
Amplifier session folder), a project folder, or the tool's home (opencode,
Cursor, Zed: their database file). Importing is
idempotent and incremental: running it again adds only new lines.

The work is the core's import pipeline (:mod:`sidecar.services.imports`), the
same one live ingestion uses, run as a one-shot writer: a session another live
connection holds is left for a later import (its file's cursor stays put).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sidecar.cli.context import DbOption, FolderOption, JsonOption, one_shot_sessions, open_store
from sidecar.cli.output import CliError

app = typer.Typer(
    help="Import other agents' session history (idempotent, incremental).",
    no_args_is_help=True,
    add_completion=False,
)

PathArgument = Annotated[
    Path | None,
    typer.Argument(
        help="A session file, a project folder or the tool's home. "
        "Default: the current folder's project.",
        show_default=False,
    ),
]
AllOption = Annotated[
    bool, typer.Option("--all", help="Import every project the tool knows, not just this one.")
]


def paths_for(provider: str, path: Path | None, folder: Path | None, every: bool) -> list[Path]:
    """The files (Amplifier: folders) to import for the command's arguments."""
    from sidecar.services.imports import project_paths

    if path is not None:
        if not path.exists():
            raise CliError(f"{path} does not exist; pass a session file, a folder, or nothing")
        from sidecar.importers.registry import importer

        return importer(provider).from_path(path)
    if every:
        return project_paths(provider, None)
    if folder is not None and not folder.is_dir():
        raise CliError(f"--folder {folder} is not an existing folder")
    return project_paths(provider, folder or Path.cwd())


def run_import(
    provider: str,
    path: Path | None,
    *,
    every: bool,
    folder: Path | None,
    db: Path | None,
    json_output: bool,
) -> None:
    """Import and print the counts (text, or JSON with ``--json``)."""
    from sidecar.cli.output import print_json
    from sidecar.services.imports import import_files

    if path is not None and every:
        raise CliError("pass either PATH or --all, not both")
    paths = paths_for(provider, path, folder, every)
    with open_store(db) as store:
        report = import_files(one_shot_sessions(store), provider, paths)
    result = {
        "provider": provider,
        "files": report.files,
        "sessionsCreated": report.sessions_created,
        "sessionsUpdated": report.sessions_updated,
        "eventsAdded": report.events_added,
        "skippedMalformed": report.skipped,
        "waiting": report.waiting,
        "mergedWithHook": report.merged,
        "discarded": report.discarded,
        "heldByConnection": report.held,
        "sessionIds": report.session_ids,
    }
    if json_output:
        print_json(result)
        return
    if not paths:
        where = "anywhere" if every else "for this folder's project (try --all or a PATH)"
        print(f"no {provider} sessions found {where}")
        return
    print(
        f"{provider}: {report.files} files, {report.sessions_created} sessions created, "
        f"{report.sessions_updated} updated, {report.events_added} events added, "
        f"{report.skipped} malformed lines skipped"
    )
    if report.merged:
        print(f"{report.merged} sessions recorded by a hook too: only what it missed was added")
    if report.discarded:
        print(f"{report.discarded} files are warm-up or compaction runs, not sessions: skipped")
    if report.held:
        print(
            f"{report.held} sessions are in use by another connection (an editor): "
            "import again later for the rest of their lines"
        )
    if report.waiting:
        print(f"{report.waiting} sessions wait for more lines (no working folder recorded yet)")


def _command(provider: str) -> None:
    def command(
        path: PathArgument = None,
        every: AllOption = False,
        folder: FolderOption = None,
        db: DbOption = None,
        json_output: JsonOption = False,
    ) -> None:
        run_import(provider, path, every=every, folder=folder, db=db, json_output=json_output)

    from sidecar.importers.registry import importer

    command.__doc__ = f"Import {importer(provider).title} sessions into the session database."
    app.command(provider)(command)


def _register() -> None:
    from sidecar.importers.registry import PROVIDERS

    for provider in PROVIDERS:
        _command(provider)


_register()
