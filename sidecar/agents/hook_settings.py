"""Install and uninstall the Claude Code hooks in a settings file, touching nothing else.

Claude Code reads hooks from ``~/.claude/settings.json`` (user scope; the
folder moves with ``$CLAUDE_CONFIG_DIR``) and ``<project>/.claude/settings.local.json``
(local scope, not committed)::

    {"hooks": {"UserPromptSubmit": [{"hooks": [{"type": "command",
                                                 "command": "... hook claude-code",
                                                 "timeout": 10}]}]}}

:func:`add_hooks` and :func:`remove_hooks` are pure (settings dict in, new
dict out). Our entries are recognised by their command (``session-sidecar
hook claude-code`` or ``-m sidecar hook claude-code``, whatever the path in
front), so installing twice adds nothing, a moved executable is updated in
place, and uninstalling removes exactly those entries. :func:`install` and
:func:`uninstall` do the file work: keep a backup
``<name>.bak-<timestamp>`` before changing a file, refuse to touch a file
that is not valid JSON, write atomically.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sidecar.importers.claude_code import claude_home

#: The hook events the sidecar listens to, in the order Claude Code fires them.
HOOK_EVENTS = (
    "SessionStart",
    "UserPromptSubmit",
    "PreToolUse",
    "PostToolUse",
    "PostToolUseFailure",
    "PermissionDenied",
    "Stop",
    "SessionEnd",
)
#: Events whose groups take a tool-name matcher; ``*`` matches every tool.
_TOOL_EVENTS = frozenset({"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionDenied"})
DEFAULT_TIMEOUT_S = 10
SCOPES = ("user", "local")

_OURS = re.compile(r"(?:^|[\s/\\'\"])(?:session-sidecar|-m\s+sidecar)['\"]?\s+hook\s+claude-code\b")


class SettingsError(Exception):
    """A settings file the installer cannot safely change (a sentence saying what to do)."""


def is_our_command(command: Any) -> bool:
    """True for a hook command this installer writes (any path, with or without ``--block``).

    >>> is_our_command("/opt/bin/session-sidecar hook claude-code --block")
    True
    >>> is_our_command("other-tool hook claude-code")
    False
    """
    return isinstance(command, str) and _OURS.search(command) is not None


def hook_command(*, block: bool = False, argv0: str | None = None) -> str:
    """The command to write: the absolute path of the running ``session-sidecar`` if found.

    Tried in order: ``sys.argv[0]`` when it is the ``session-sidecar``
    executable, ``shutil.which("session-sidecar")``, else the bare name.
    """
    argv0 = sys.argv[0] if argv0 is None else argv0
    executable: str | None = None
    if Path(argv0).name == "session-sidecar" and os.access(argv0, os.X_OK):
        executable = os.path.abspath(argv0)
    else:
        executable = shutil.which("session-sidecar")
    command = f"{shlex.quote(executable or 'session-sidecar')} hook claude-code"
    return command + " --block" if block else command


def _entry(command: str, timeout: int) -> dict[str, Any]:
    return {"type": "command", "command": command, "timeout": timeout}


def add_hooks(
    settings: dict[str, Any],
    command: str,
    *,
    timeout: int = DEFAULT_TIMEOUT_S,
    events: tuple[str, ...] = HOOK_EVENTS,
) -> tuple[dict[str, Any], int]:
    """``settings`` with our hook on each event; and how many entries were added or updated.

    Raises :class:`SettingsError` when ``hooks`` (or an event's list) is not
    the shape Claude Code documents, rather than guessing.
    """
    result = copy.deepcopy(settings)
    hooks = result.setdefault("hooks", {})
    if not isinstance(hooks, dict):
        raise SettingsError("'hooks' is not a JSON object; fix it by hand, then install again")
    changed = 0
    for event in events:
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
            if isinstance(entry, dict) and is_our_command(entry.get("command"))
        ]
        if ours:
            for entry in ours:
                if entry.get("command") != command or entry.get("timeout") != timeout:
                    entry.update(_entry(command, timeout))
                    changed += 1
            continue
        group: dict[str, Any] = {"hooks": [_entry(command, timeout)]}
        if event in _TOOL_EVENTS:
            group = {"matcher": "*", **group}
        groups.append(group)
        changed += 1
    return result, changed


def remove_hooks(settings: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """``settings`` without our hook entries; and how many were removed.

    Groups and event lists left empty by the removal go too; anything else,
    including other hooks in the same group, stays as it was.
    """
    result = copy.deepcopy(settings)
    hooks = result.get("hooks")
    if not isinstance(hooks, dict):
        return result, 0
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
            kept = [
                e for e in entries if not (isinstance(e, dict) and is_our_command(e.get("command")))
            ]
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


def settings_path(scope: str, *, folder: Path | None = None) -> Path:
    """The settings file of ``scope``: user, or local to the project of ``folder``.

    The project is the git worktree root containing ``folder`` (default: the
    current folder), else ``folder`` itself.
    """
    if scope == "user":
        return claude_home() / "settings.json"
    if scope != "local":
        raise SettingsError(f"unknown scope {scope!r}; use one of: {', '.join(SCOPES)}")
    from sidecar.git.reader import find_worktree_root

    here = (folder or Path.cwd()).resolve()
    root = find_worktree_root(here) or here
    return root / ".claude" / "settings.local.json"


@dataclass
class SettingsChange:
    """What install or uninstall did to one file."""

    path: Path
    changed: int
    backup: Path | None = None
    command: str | None = None
    events: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready, camelCase like the rest of the CLI's output."""
        return {
            "path": str(self.path),
            "changed": self.changed,
            "backup": str(self.backup) if self.backup else None,
            "command": self.command,
            "events": self.events,
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


def _write(path: Path, settings: dict[str, Any]) -> Path | None:
    """Back the file up (when it exists), then replace it atomically; returns the backup."""
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


def install(path: Path, command: str, *, timeout: int = DEFAULT_TIMEOUT_S) -> SettingsChange:
    """Add our hooks to the settings file at ``path``; nothing is written when already there."""
    settings = read_settings(path)
    updated, changed = add_hooks(settings, command, timeout=timeout)
    backup = _write(path, updated) if changed else None
    return SettingsChange(path, changed, backup, command, list(HOOK_EVENTS))


def uninstall(path: Path) -> SettingsChange:
    """Remove our hooks from the settings file at ``path``; nothing is written when absent."""
    if not path.exists():
        return SettingsChange(path, 0)
    updated, removed = remove_hooks(read_settings(path))
    backup = _write(path, updated) if removed else None
    return SettingsChange(path, removed, backup)
