"""`session-sidecar hook claude-code` and `session-sidecar hooks install|uninstall claude-code`.

``hook`` is what Claude Code runs on every event (it reads the hook JSON on
stdin); ``hooks`` puts that command into Claude Code's settings, or takes it
out again. Both import their work lazily: the hook runs on every prompt.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from sidecar.cli.output import CliError, note

hook_app = typer.Typer(
    help="Hook entry points that agents run (reads the hook JSON on stdin).",
    no_args_is_help=True,
    add_completion=False,
)
hooks_app = typer.Typer(
    help="Install or uninstall the agent hooks in the agent's settings.",
    no_args_is_help=True,
    add_completion=False,
)


class Agent(StrEnum):
    """Agents whose hooks the sidecar can install."""

    CLAUDE_CODE = "claude-code"


class Scope(StrEnum):
    """Which Claude Code settings file to change."""

    USER = "user"
    LOCAL = "local"


@hook_app.callback()
def _hook_group() -> None:
    """Hook entry points that agents run (reads the hook JSON on stdin)."""


@hook_app.command("claude-code")
def claude_code_hook(
    block: Annotated[
        bool,
        typer.Option(
            "--block",
            help="Refuse the prompt (decision: block) instead of warning when the branch drifted. "
            "Same as SIDECAR_HOOK_MODE=block.",
        ),
    ] = False,
) -> None:
    """Record a Claude Code hook event and warn the agent about drift; always exits 0."""
    from sidecar.agents.hook import main

    raise typer.Exit(main(block=block))


AgentArgument = Annotated[Agent, typer.Argument(help="The agent: claude-code.")]
ScopeOption = Annotated[
    Scope,
    typer.Option(
        "--scope",
        help="user: ~/.claude/settings.json; local: <repository>/.claude/settings.local.json.",
    ),
]
FolderOption = Annotated[
    Path | None,
    typer.Option(
        "--folder",
        "-C",
        help="For --scope local: the project folder (default: the current folder's repository).",
        file_okay=False,
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _path(scope: Scope, folder: Path | None) -> Path:
    from sidecar.agents.hook_settings import settings_path

    if folder is not None and not folder.is_dir():
        raise CliError(f"--folder {folder} is not an existing folder")
    return settings_path(scope.value, folder=folder)


@hooks_app.command("install")
def install_hooks(
    agent: AgentArgument,
    scope: ScopeOption = Scope.USER,
    folder: FolderOption = None,
    block: Annotated[
        bool, typer.Option("--block", help="Install the hook in block mode (refuse prompts).")
    ] = False,
    command: Annotated[
        str | None,
        typer.Option(
            "--command",
            help="The hook command to write (default: this session-sidecar's absolute path "
            "+ ' hook claude-code').",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[int, typer.Option("--timeout", min=1, max=600, help="Seconds.")] = 10,
    json_output: JsonOption = False,
) -> None:
    """Add the sidecar's hooks to Claude Code's settings (a backup is kept; twice adds nothing)."""
    from sidecar.agents.hook_settings import SettingsError, hook_command, install, is_our_command

    text = command or hook_command(block=block)
    if not is_our_command(text):
        raise CliError(
            f"--command {text!r} must run 'session-sidecar hook claude-code' "
            "(uninstall recognises the entries by it)"
        )
    try:
        change = install(_path(scope, folder), text, timeout=timeout)
    except SettingsError as error:
        raise CliError(str(error)) from error
    _report(change.to_json(), json_output, "installed", "already installed")
    if change.changed and scope is Scope.LOCAL:
        note(f"{change.path.name} is personal: keep it out of version control")


@hooks_app.command("uninstall")
def uninstall_hooks(
    agent: AgentArgument,
    scope: ScopeOption = Scope.USER,
    folder: FolderOption = None,
    json_output: JsonOption = False,
) -> None:
    """Remove exactly the hooks `hooks install` added (a backup is kept)."""
    from sidecar.agents.hook_settings import SettingsError, uninstall

    try:
        change = uninstall(_path(scope, folder))
    except SettingsError as error:
        raise CliError(str(error)) from error
    _report(change.to_json(), json_output, "removed", "not installed")


def _report(result: dict[str, object], json_output: bool, done: str, nothing: str) -> None:
    from sidecar.cli.output import print_json

    if json_output:
        print_json(result)
        return
    if result["changed"]:
        print(f"{done} {result['changed']} hook entries in {result['path']}")
        if result["backup"]:
            print(f"backup: {result['backup']}")
    else:
        print(f"{nothing}: {result['path']} unchanged")
