"""Install and uninstall an agent's hooks in its JSON settings file, touching nothing else.

Claude Code, Codex CLI, Gemini CLI and GitHub Copilot CLI read hooks from a
JSON file of the same general shape::

    {"hooks": {"<Event>": [{"matcher": "*", "hooks": [{"type": "command",
                                                        "command": "... hook <agent>",
                                                        "timeout": 10}]}]}}

They differ in the file, the event names, the timeout's unit and a few
fields: a :class:`HookLayout` holds those differences, one per agent (in the
agent's module, :mod:`sidecar.agents.registry`).

:func:`add_hooks` and :func:`remove_hooks` are pure (settings dict in, new
dict out). Our entries are recognised by their command (``session-sidecar
hook <agent>`` or ``-m sidecar hook <agent>``, whatever the path in front),
so installing twice adds nothing, a moved executable is updated in place,
and uninstalling removes exactly those entries. :func:`install` and
:func:`uninstall` do the file work: keep a backup ``<name>.bak-<timestamp>``
before changing a file, refuse to touch a file that is not valid JSON, write
atomically.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

DEFAULT_TIMEOUT_S = 10


class SettingsError(Exception):
    """A settings file the installer cannot safely change (a sentence saying what to do)."""


def _claude_entry(command: str, timeout: int) -> dict[str, Any]:
    return {"type": "command", "command": command, "timeout": timeout}


class HookLayout(NamedTuple):
    """How one agent's settings file holds hooks."""

    agent: str
    """The name after ``hook`` in the command: ``claude-code``."""
    events: tuple[str, ...]
    """The events the sidecar listens to, in the order the agent fires them."""
    paths: Callable[[str, Path | None], Path]
    """The settings file of a scope (and the project folder for ``local``)."""
    scopes: tuple[str, ...] = ("user",)
    tool_events: frozenset[str] = frozenset()
    """Events whose groups take a tool-name matcher (``*`` matches every tool)."""
    entry: Callable[[str, int], dict[str, Any]] = _claude_entry
    """One hook entry for a command and a timeout in seconds."""
    command_key: str = "command"

    def is_ours(self, command: Any) -> bool:
        """True for a command ``hooks install`` writes for this agent (any path)."""
        return is_our_command(command, self.agent)


def is_our_command(command: Any, agent: str = "claude-code") -> bool:
    """True for a hook command this installer writes (any path, with or without ``--block``).

    >>> is_our_command("/opt/bin/session-sidecar hook claude-code --block")
    True
    >>> is_our_command("other-tool hook claude-code")
    False
    >>> is_our_command("session-sidecar hook codex", "claude-code")
    False
    """
    if not isinstance(command, str):
        return False
    pattern = (
        r"(?:^|[\s/\\'\"])(?:session-sidecar|-m\s+sidecar)['\"]?\s+hook\s+"
        + re.escape(agent)
        + r"(?:\s|$)"
    )
    return re.search(pattern, command) is not None


def hook_command(
    agent: str = "claude-code", *, block: bool = False, argv0: str | None = None
) -> str:
    """The command to write: the absolute path of the running ``session-sidecar`` if found.

    Tried in order: ``sys.argv[0]`` when it is the ``session-sidecar``
    executable, ``shutil.which("session-sidecar")``, else the bare name.
    """
    import shlex
    import shutil

    argv0 = sys.argv[0] if argv0 is None else argv0
    executable: str | None = None
    if Path(argv0).name == "session-sidecar" and os.access(argv0, os.X_OK):
        executable = os.path.abspath(argv0)
    else:
        executable = shutil.which("session-sidecar")
    command = f"{shlex.quote(executable or 'session-sidecar')} hook {agent}"
    return command + " --block" if block else command


def add_hooks(
    layout: HookLayout,
    settings: dict[str, Any],
    command: str,
    *,
    timeout: int = DEFAULT_TIMEOUT_S,
) -> tuple[dict[str, Any], int]:
    """``settings`` with our hook on each event; and how many entries were added or updated.

    Raises :class:`SettingsError` when ``hooks`` (or an event's list) is not
    the shape the agent documents, rather than guessing.
    """
    import copy

    result = copy.deepcopy(settings)
    hooks = result.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise SettingsError("'hooks' is not a JSON object; fix it by hand, then install again")
    wanted = layout.entry(command, timeout)
    key = layout.command_key
    changed = 0
    for event in layout.events:
        groups = hooks.setdefault(event, [])
        if not isinstance(groups, list):
            raise SettingsError(
                f"'hooks.{event}' is not a list; fix it by hand, then install again"
            )
        ours = [
            entry
            for group in groups
            if isinstance(group, dict) and isinstance(group.get("hooks"), list)
            for entry in group["hooks"]
            if isinstance(entry, dict) and layout.is_ours(entry.get(key))
        ]
        if ours:
            for entry in ours:
                if any(entry.get(k) != v for k, v in wanted.items()):
                    entry.update(wanted)
                    changed += 1
            continue
        group: dict[str, Any] = {"hooks": [dict(wanted)]}
        if event in layout.tool_events:
            group = {"matcher": "*", **group}
        groups.append(group)
        changed += 1
    return result, changed


def remove_hooks(layout: HookLayout, settings: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``settings`` without our hook entries; and how many were removed.

    Groups and event lists left empty by the removal go too; anything else,
    including other hooks in the same group, stays as it was.
    """
    import copy

    result = copy.deepcopy(settings)
    hooks = result.get("hooks")
    if not isinstance(hooks, dict):
        return result, 0
    key = layout.command_key
    removed = 0
    for event in list(hooks):
        groups = hooks[event]
        if not isinstance(groups, list):
            continue
        kept_groups = []
        for group in groups:
            entries = group.get("hooks") if isinstance(group, dict) else None
            if not isinstance(entries, list):
                kept_groups.append(group)
                continue
            kept = [e for e in entries if not (isinstance(e, dict) and layout.is_ours(e.get(key)))]
            removed += len(entries) - len(kept)
            if kept or not entries:
                kept_groups.append({**group, "hooks": kept})
        if len(kept_groups) != len(groups) and not kept_groups:
            del hooks[event]
        else:
            hooks[event] = kept_groups
    if removed and not hooks:
        del result["hooks"]
    return result, removed


def project_root(folder: Path | None) -> Path:
    """The git worktree root containing ``folder`` (default: the current folder), else it."""
    from sidecar.git.reader import find_worktree_root

    here = (folder or Path.cwd()).resolve()
    return find_worktree_root(here) or here


class SettingsChange:
    """What install or uninstall did to one file."""

    def __init__(
        self,
        path: Path,
        changed: int,
        backup: Path | None = None,
        command: str | None = None,
        events: list[str] | None = None,
        notes: list[str] | None = None,
    ) -> None:
        self.path = path
        self.changed = changed
        self.backup = backup
        self.command = command
        self.events: list[str] = events if events is not None else []
        self.notes: list[str] = notes if notes is not None else []
        """What the user should know (a trust step done, or one left to them)."""

    def __repr__(self) -> str:
        return f"SettingsChange({self.path!s}, changed={self.changed})"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, camelCase like the rest of the CLI's output."""
        return {
            "path": str(self.path),
            "changed": self.changed,
            "backup": str(self.backup) if self.backup else None,
            "command": self.command,
            "events": self.events,
            "notes": self.notes,
        }


def read_settings(path: Path) -> dict[str, Any]:
    """The settings object in ``path`` (``{}`` when the file is missing or empty)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise SettingsError(f"cannot read {path}: {error.strerror or error}") from error
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as error:
        raise SettingsError(
            f"{path} is not valid JSON ({error}); fix it by hand, then run this again"
        ) from error
    if not isinstance(data, dict):
        raise SettingsError(f"{path} does not hold a JSON object; fix it by hand")
    return data


def write_settings(path: Path, settings: dict[str, Any]) -> Path | None:
    """Back the file up (when it exists), then replace it atomically; returns the backup."""
    import shutil

    backup: Path | None = None
    if path.exists():
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = path.with_name(f"{path.name}.bak-{stamp}")
        counter = 1
        while backup.exists():
            backup = path.with_name(f"{path.name}.bak-{stamp}-{counter}")
            counter += 1
        shutil.copy2(path, backup)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temporary.write_text(json.dumps(settings, indent=2, ensure_ascii=False) + "\n", "utf-8")
    if path.exists():
        os.chmod(temporary, path.stat().st_mode & 0o777)
    os.replace(temporary, path)
    return backup


def install(
    layout: HookLayout, path: Path, command: str, *, timeout: int = DEFAULT_TIMEOUT_S
) -> SettingsChange:
    """Add our hooks to the settings file at ``path``; nothing is written when already there."""
    settings = read_settings(path)
    updated, changed = add_hooks(layout, settings, command, timeout=timeout)
    backup = write_settings(path, updated) if changed else None
    return SettingsChange(path, changed, backup, command, list(layout.events))


def uninstall(layout: HookLayout, path: Path) -> SettingsChange:
    """Remove our hooks from the settings file at ``path``; nothing is written when absent."""
    if not path.exists():
        return SettingsChange(path, 0)
    updated, removed = remove_hooks(layout, read_settings(path))
    backup = write_settings(path, updated) if removed else None
    return SettingsChange(path, removed, backup)


class Installer:
    """``hooks install|uninstall <agent>`` for an agent whose hooks live in a JSON file."""

    def __init__(self, layout: HookLayout) -> None:
        self.layout = layout

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes the agent has settings files for (the first is the default)."""
        return self.layout.scopes

    def path(self, scope: str, folder: Path | None = None) -> Path:
        """The settings file of ``scope``; raises :class:`SettingsError` for another scope."""
        if scope not in self.layout.scopes:
            raise SettingsError(
                f"{self.layout.agent} has no {scope!r} scope; use one of: "
                f"{', '.join(self.layout.scopes)}"
            )
        return self.layout.paths(scope, folder)

    def install(self, path: Path, command: str, *, timeout: int) -> SettingsChange:
        """Add the hooks (see :func:`install`)."""
        return install(self.layout, path, command, timeout=timeout)

    def uninstall(self, path: Path) -> SettingsChange:
        """Remove exactly our hooks (see :func:`uninstall`)."""
        return uninstall(self.layout, path)

    def is_ours(self, command: str) -> bool:
        """True for a command ``uninstall`` will recognise."""
        return self.layout.is_ours(command)
