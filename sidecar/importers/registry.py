"""Every importer, declared once: its name, where its files are, how one is parsed.

The loader (:mod:`sidecar.services.imports`), ``session-sidecar import`` and
live ingestion (:mod:`sidecar.services.live`, through :class:`LiveWatch`) read
this table instead of naming the tools one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import (
    aider,
    amplifier,
    claude_code,
    cline,
    codex,
    continue_dev,
    copilot,
    copilot_chat,
    cursor,
    gemini,
    opencode,
    zed,
)
from .common import Cursor, ImportedSession

Discover = Callable[[Path | None, str | None], Iterator[Path]]
"""``(home, cwd) ->`` the tool's units (files, folders), parents first; ``cwd`` filters."""
Parse = Callable[[Path, Cursor | None, int | None], ImportedSession]
"""``(unit, cursor, max_lines) ->`` the unit's session from the cursor on."""


@dataclass(frozen=True)
class LiveWatch:
    """Where live import watches a tool's sessions of one project, and what a change there is."""

    roots: Callable[[Path | None, Sequence[str]], list[Path]]
    """``(home, project folders) ->`` the folders to watch with their subfolders (they
    need not exist yet)."""
    units: Callable[[Path, Path, Sequence[str]], list[Path]]
    """``(root, changed path, project folders) ->`` the units to import for the change."""
    folder: Callable[[Path], str | None] | None = None
    """For roots every project shares: the folder a unit's session ran in, read the
    way the importer reads it (None while the file does not name it yet)."""


@dataclass(frozen=True)
class Importer:
    """One tool's importer."""

    name: str
    """The provider name sessions are stored under (``claude-code``)."""
    title: str
    """The tool's name for people."""
    discover: Discover
    parse: Parse
    records_branch: bool
    """False: the tool records no branch, the loader infers it from the reflog."""
    live: LiveWatch
    from_path: Callable[[Path], list[Path]]
    """The units of a path the user names: a session file, a project folder, the
    tool's home (a database file for the tools that keep one)."""


ON_DEMAND = LiveWatch(lambda home, cwds: [], lambda root, path, cwds: [])
"""Nothing watched live: the tool is read by ``session-sidecar import`` only."""


def _claude_from_path(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if (path / "projects").is_dir():  # a Claude config folder (~/.claude)
        return list(claude_code.discover_claude_code(root=path / "projects"))
    if claude_code.is_project_folder(path):  # one project folder (perhaps only <id>/subagents/)
        return list(claude_code.project_files(path))
    return list(claude_code.discover_claude_code(root=path, env={}))  # a projects folder


def _codex_from_path(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if (path / "sessions").is_dir() or (path / "archived_sessions").is_dir():
        return list(codex.discover_codex(path))
    return sorted(path.rglob("rollout-*.jsonl"), key=lambda p: p.name)


def _amplifier_from_path(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if (path / "transcript.jsonl").is_file() or (path / "metadata.json").is_file():
        return [path]
    if (path / "projects").is_dir():  # ~/.amplifier
        return list(amplifier.discover_amplifier(root=path / "projects"))
    if (path / "sessions").is_dir():  # one project folder
        return [p for p in amplifier.discover_amplifier(root=path.parent) if path in p.parents]
    return list(amplifier.discover_amplifier(root=path))


def _gemini_from_path(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if (path / "tmp").is_dir():  # ~/.gemini
        return list(gemini.discover_gemini(root=path))
    found = list(path.rglob("session-*.json")) + list(path.rglob("session-*.jsonl"))
    subagents = [p for p in path.rglob("*.jsonl") if p.parent.parent.name == "chats"]
    return sorted(found, key=lambda p: p.name) + sorted(subagents)


def _copilot_from_path(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if (path / "events.jsonl").is_file():  # one session folder
        return [path / "events.jsonl"]
    if (path / "session-state").is_dir():  # ~/.copilot
        return list(copilot.discover_copilot(root=path))
    return sorted(path.glob("*/events.jsonl"))  # the session-state folder


def _opencode_from_path(path: Path) -> list[Path]:
    database = path / "opencode.db" if path.is_dir() else path
    return list(opencode.discover_opencode(root=database))


def _aider_from_path(path: Path) -> list[Path]:
    return list(aider.discover_aider(root=path))  # the repository folder or the history file


def _continue_from_path(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if path.name == "sessions":
        path = path.parent
    return list(continue_dev.discover_continue(root=path))


def _cline_from_path(extension: str) -> Callable[[Path], list[Path]]:
    def from_path(path: Path) -> list[Path]:
        if path.is_file():  # a file of one task folder
            path = path.parent
        if (path / "ui_messages.json").is_file():  # one task folder
            return [path]
        for tasks in (path, path / "tasks", path / extension / "tasks"):
            if tasks.name == "tasks" and tasks.is_dir():
                return list(cline.discover_cline(extension, root=tasks))
        return []

    return from_path


def _cursor_from_path(path: Path) -> list[Path]:
    user = path
    if path.is_file():  # User/globalStorage/state.vscdb
        user = path.parent.parent
    elif path.name == "globalStorage":
        user = path.parent
    return list(cursor.discover_cursor(root=user))


def _copilot_chat_from_path(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if (path / "workspaceStorage").is_dir():  # a VS Code User folder
        return list(copilot_chat.discover_copilot_chat(roots=[path]))
    found = [*path.rglob("chatSessions/*.json"), *path.rglob("chatSessions/*.jsonl")]
    return sorted(found)


def _zed_from_path(path: Path) -> list[Path]:
    database = path
    if path.is_dir():
        nested = path / "threads" / "threads.db"
        database = nested if nested.is_file() else path / "threads.db"
    return list(zed.discover_zed(root=database))


_FOLDER_LINES = 8
"""Lines read to learn a session's folder (Gemini: the metadata; Copilot: ``session.start``)."""


def _named(path: Path, prefix: str, suffix: str) -> bool:
    return path.name.startswith(prefix) and path.name.endswith(suffix)


def _amplifier_units(root: Path, path: Path) -> list[Path]:
    """A session folder, for the folder itself or its transcript and metadata."""
    parts = path.relative_to(root).parts
    if len(parts) == 1 or (len(parts) == 2 and parts[1] in ("transcript.jsonl", "metadata.json")):
        return [root / parts[0]]
    return []


def _gemini_units(root: Path, path: Path) -> list[Path]:
    """``<project>/chats/session-*.json[l]`` and sub-agent ``<project>/chats/<id>/<id>.jsonl``."""
    parts = path.relative_to(root).parts
    if len(parts) == 3 and parts[1] == "chats" and path.name.startswith("session-"):
        return [path] if path.suffix in (".jsonl", ".json") else []
    if len(parts) == 4 and parts[1] == "chats" and path.suffix == ".jsonl":
        return [path]
    return []


def _copilot_units(root: Path, path: Path) -> list[Path]:
    """``<id>/events.jsonl``, also when ``<id>/workspace.yaml`` (its name) changes."""
    parts = path.relative_to(root).parts
    if len(parts) == 2 and parts[1] in ("events.jsonl", "workspace.yaml"):
        return [root / parts[0] / "events.jsonl"]
    return []


def _opencode_units(root: Path, path: Path, cwds: Sequence[str]) -> list[Path]:
    """Every session of the project folders, when the database or its journal is written."""
    database = root / opencode.opencode_db(env={}).name
    if path.parent != root or path.name not in (
        database.name,
        f"{database.name}-wal",
        f"{database.name}-journal",
    ):
        return []
    found: dict[Path, None] = {}
    for cwd in cwds:
        found.update(dict.fromkeys(opencode.discover_opencode(root=database, cwd=cwd)))
    return list(found)


IMPORTERS: dict[str, Importer] = {
    spec.name: spec
    for spec in (
        Importer(
            "claude-code",
            "Claude Code",
            lambda home, cwd: claude_code.discover_claude_code(home=home, cwd=cwd),
            lambda path, cursor, n: claude_code.parse_claude_code(path, cursor, max_lines=n),
            records_branch=True,
            live=LiveWatch(
                lambda home, cwds: [
                    claude_code.claude_home(home=home) / "projects" / claude_code.project_slug(c)
                    for c in cwds
                ],
                lambda root, path, cwds: [path] if path.suffix == ".jsonl" else [],
            ),
            from_path=_claude_from_path,
        ),
        Importer(
            "codex",
            "Codex CLI",
            lambda home, cwd: codex.discover_codex(home=home, cwd=cwd),
            lambda path, cursor, n: codex.parse_codex(path, cursor, max_lines=n),
            records_branch=True,
            live=LiveWatch(
                lambda home, cwds: [codex.codex_home(home) / "sessions"],
                lambda root, path, cwds: [path] if _named(path, "rollout-", ".jsonl") else [],
                codex.rollout_cwd,
            ),
            from_path=_codex_from_path,
        ),
        Importer(
            "amplifier",
            "Amplifier",
            lambda home, cwd: amplifier.discover_amplifier(home=home, cwd=cwd),
            lambda path, cursor, n: amplifier.parse_amplifier(path, cursor, max_lines=n),
            records_branch=False,
            live=LiveWatch(
                lambda home, cwds: [
                    (home or Path.home())
                    / ".amplifier"
                    / "projects"
                    / amplifier.project_slug(c)
                    / "sessions"
                    for c in cwds
                ],
                lambda root, path, cwds: _amplifier_units(root, path),
            ),
            from_path=_amplifier_from_path,
        ),
        Importer(
            "gemini",
            "Gemini CLI",
            lambda home, cwd: gemini.discover_gemini(home, cwd=cwd),
            lambda path, cursor, n: gemini.parse_gemini(path, cursor, max_lines=n),
            records_branch=False,
            live=LiveWatch(
                lambda home, cwds: [gemini.gemini_home(home) / "tmp"],
                lambda root, path, cwds: _gemini_units(root, path),
                lambda unit: gemini.parse_gemini(unit, max_lines=_FOLDER_LINES).cwd,
            ),
            from_path=_gemini_from_path,
        ),
        Importer(
            "copilot",
            "GitHub Copilot CLI",
            lambda home, cwd: copilot.discover_copilot(home, cwd=cwd),
            lambda path, cursor, n: copilot.parse_copilot(path, cursor, max_lines=n),
            records_branch=True,
            live=LiveWatch(
                lambda home, cwds: [copilot.copilot_home(home) / "session-state"],
                lambda root, path, cwds: _copilot_units(root, path),
                lambda unit: copilot.parse_copilot(unit, max_lines=_FOLDER_LINES).cwd,
            ),
            from_path=_copilot_from_path,
        ),
        Importer(
            "opencode",
            "opencode",
            lambda home, cwd: opencode.discover_opencode(home, cwd=cwd),
            lambda path, cursor, n: opencode.parse_opencode(path, cursor, max_lines=n),
            records_branch=False,
            live=LiveWatch(
                lambda home, cwds: [opencode.opencode_db(home).parent],
                _opencode_units,
            ),
            from_path=_opencode_from_path,
        ),
        Importer(
            "cursor",
            "Cursor",
            lambda home, cwd: cursor.discover_cursor(home, cwd=cwd),
            lambda path, cursor_, n: cursor.parse_cursor(path, cursor_, max_lines=n),
            records_branch=False,
            live=LiveWatch(
                lambda home, cwds: [cursor.cursor_user_dir(home) / "globalStorage"],
                cursor.live_units,
            ),
            from_path=_cursor_from_path,
        ),
        Importer(
            "copilot-chat",
            "GitHub Copilot Chat (VS Code)",
            lambda home, cwd: copilot_chat.discover_copilot_chat(home, cwd=cwd),
            lambda path, cursor_, n: copilot_chat.parse_copilot_chat(path, cursor_, max_lines=n),
            records_branch=False,
            live=LiveWatch(
                lambda home, cwds: [
                    user / "workspaceStorage" for user in copilot_chat.vscode_user_dirs(home)
                ],
                lambda root, path, cwds: copilot_chat.live_units(root, path),
                copilot_chat.session_folder,
            ),
            from_path=_copilot_chat_from_path,
        ),
        Importer(
            "zed",
            "Zed",
            lambda home, cwd: zed.discover_zed(home, cwd=cwd),
            lambda path, cursor_, n: zed.parse_zed(path, cursor_, max_lines=n),
            records_branch=False,
            live=LiveWatch(
                lambda home, cwds: [zed.zed_threads_db(home).parent],
                zed.live_units,
            ),
            from_path=_zed_from_path,
        ),
        Importer(
            "aider",
            "Aider",
            lambda home, cwd: aider.discover_aider(home, cwd=cwd),
            lambda path, cursor_, n: aider.parse_aider(path, cursor_, max_lines=n),
            records_branch=False,
            # Aider writes its history inside the repository: a live watch would be a
            # second recursive watch of the whole worktree (the server watches it once).
            live=ON_DEMAND,
            from_path=_aider_from_path,
        ),
        Importer(
            "continue",
            "Continue",
            lambda home, cwd: continue_dev.discover_continue(home, cwd=cwd),
            lambda path, cursor_, n: continue_dev.parse_continue(path, cursor_, max_lines=n),
            records_branch=False,
            live=LiveWatch(
                lambda home, cwds: [continue_dev.continue_home(home) / "sessions"],
                lambda root, path, cwds: continue_dev.live_units(root, path),
                continue_dev.session_folder,
            ),
            from_path=_continue_from_path,
        ),
        Importer(
            "cline",
            "Cline",
            lambda home, cwd: cline.discover_cline(cline.CLINE, home, cwd=cwd),
            lambda path, cursor_, n: cline.parse_cline("cline", path, cursor_, max_lines=n),
            records_branch=False,
            live=LiveWatch(
                lambda home, cwds: cline.task_roots(cline.CLINE, home),
                lambda root, path, cwds: cline.live_units(root, path),
                cline.task_folder,
            ),
            from_path=_cline_from_path(cline.CLINE),
        ),
        Importer(
            "roo-code",
            "Roo Code",
            lambda home, cwd: cline.discover_cline(cline.ROO_CODE, home, cwd=cwd),
            lambda path, cursor_, n: cline.parse_cline("roo-code", path, cursor_, max_lines=n),
            records_branch=False,
            live=LiveWatch(
                lambda home, cwds: cline.task_roots(cline.ROO_CODE, home),
                lambda root, path, cwds: cline.live_units(root, path),
                cline.task_folder,
            ),
            from_path=_cline_from_path(cline.ROO_CODE),
        ),
    )
}

PROVIDERS = tuple(IMPORTERS)


def importer(provider: str) -> Importer:
    """The importer of ``provider``; ValueError naming the known ones otherwise."""
    found = IMPORTERS.get(provider)
    if found is None:
        raise ValueError(f"unknown provider {provider!r}; expected one of {', '.join(PROVIDERS)}")
    return found
