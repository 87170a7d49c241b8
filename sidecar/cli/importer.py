"""`session-sidecar import <tool> [PATH]`: other tools' history into the store.

Tools: claude-code, codex, amplifier, gemini, copilot, opencode (one command
each, from :data:`sidecar.importers.registry.IMPORTERS`).

Without PATH, the sessions of the current folder's project are imported
(``--all``: every project the tool knows). PATH may be one session file (an
Amplifier session folder), a project folder, or the tool's home (opencode:
its database file). Importing is
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
    help="Import session history of Claude Code, Codex CLI, Amplifier, Gemini CLI, "
    "GitHub Copilot CLI or opencode (idempotent, incremental).",
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


def _claude_paths(path: Path) -> list[Path]:
    from sidecar.importers import discover_claude_code
    from sidecar.importers.claude_code import is_project_folder, project_files

    if (path / "projects").is_dir():  # a Claude config folder (~/.claude)
        return list(discover_claude_code(root=path / "projects"))
    if is_project_folder(path):  # one project folder (perhaps only <id>/subagents/)
        return list(project_files(path))
    return list(discover_claude_code(root=path, env={}))  # a projects folder


def _codex_paths(path: Path) -> list[Path]:
    from sidecar.importers import discover_codex

    if (path / "sessions").is_dir() or (path / "archived_sessions").is_dir():
        return list(discover_codex(path))
    return sorted(path.rglob("rollout-*.jsonl"), key=lambda p: p.name)


def _amplifier_paths(path: Path) -> list[Path]:
    from sidecar.importers import discover_amplifier

    if (path / "transcript.jsonl").is_file() or (path / "metadata.json").is_file():
        return [path]
    if (path / "projects").is_dir():  # ~/.amplifier
        return list(discover_amplifier(root=path / "projects"))
    if (path / "sessions").is_dir():  # one project folder
        return [p for p in discover_amplifier(root=path.parent) if path in p.parents]
    return list(discover_amplifier(root=path))


def _gemini_paths(path: Path) -> list[Path]:
    from sidecar.importers.gemini import discover_gemini

    if (path / "tmp").is_dir():  # ~/.gemini
        return list(discover_gemini(root=path))
    found = list(path.rglob("session-*.json")) + list(path.rglob("session-*.jsonl"))
    subagents = [p for p in path.rglob("*.jsonl") if p.parent.parent.name == "chats"]
    return sorted(found, key=lambda p: p.name) + sorted(subagents)


def _copilot_paths(path: Path) -> list[Path]:
    from sidecar.importers.copilot import discover_copilot

    if (path / "events.jsonl").is_file():  # one session folder
        return [path / "events.jsonl"]
    if (path / "session-state").is_dir():  # ~/.copilot
        return list(discover_copilot(root=path))
    return sorted(path.glob("*/events.jsonl"))  # the session-state folder


def _opencode_paths(path: Path) -> list[Path]:
    from sidecar.importers.opencode import discover_opencode

    database = path / "opencode.db" if path.is_dir() else path
    return list(discover_opencode(root=database))


_FROM_PATH = {
    "claude-code": _claude_paths,
    "codex": _codex_paths,
    "amplifier": _amplifier_paths,
    "gemini": _gemini_paths,
    "copilot": _copilot_paths,
    "opencode": _opencode_paths,
}


def paths_for(provider: str, path: Path | None, folder: Path | None, every: bool) -> list[Path]:
    """The files (Amplifier: folders) to import for the command's arguments."""
    from sidecar.services.imports import project_paths

    if path is not None:
        if not path.exists():
            raise CliError(f"{path} does not exist; pass a session file, a folder, or nothing")
        if provider == "opencode":
            return _opencode_paths(path)
        if path.is_file():
            return [path]
        return _FROM_PATH[provider](path)
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
