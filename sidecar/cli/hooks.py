"""`session-sidecar hook <agent>` and `session-sidecar hooks install|uninstall <agent>`.

``hook`` is what an agent runs on every event (it reads the hook JSON on
stdin); ``hooks`` puts that command into the agent's settings, or takes it
out again. Both import their work lazily: the hook runs on every prompt.
The agents are those of :mod:`sidecar.agents.registry`.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from sidecar.agents.registry import AGENTS
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

Agent = StrEnum("Agent", {n.upper().replace("-", "_"): n for n in AGENTS})  # type: ignore[misc]
"""Agents whose hooks the sidecar speaks and installs."""


class Scope(StrEnum):
    """Which of the agent's settings files to change."""

    USER = "user"
    LOCAL = "local"


BlockOption = Annotated[
    bool,
    typer.Option(
        "--block",
        help="Refuse the prompt instead of warning when the branch drifted (where the agent "
        "can refuse one). Same as SIDECAR_HOOK_MODE=block.",
    ),
]


@hook_app.callback()
def _hook_group() -> None:
    """Hook entry points that agents run (reads the hook JSON on stdin)."""


def _hook_command(agent: str) -> None:
    def command(block: BlockOption = False) -> None:
        from sidecar.agents.hook import main

        raise typer.Exit(main(agent, block=block))

    command.__doc__ = f"Record a {agent} hook event and warn the agent about drift; exits 0."
    hook_app.command(agent)(command)


for _name in AGENTS:
    _hook_command(_name)


AgentArgument = Annotated[Agent, typer.Argument(help=f"The agent: {', '.join(AGENTS)}.")]
ScopeOption = Annotated[
    Scope,
    typer.Option(
        "--scope",
        help="user: the agent's settings in your home folder; local: the project's "
        "(Claude Code: <repository>/.claude/settings.local.json).",
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


def _installer(agent: Agent) -> Any:
    from sidecar.agents.registry import agent_module

    return agent_module(agent.value).INSTALLER


def _path(installer: Any, scope: Scope, folder: Path | None) -> Path:
    from sidecar.agents.hook_settings import SettingsError

    if folder is not None and not folder.is_dir():
        raise CliError(f"--folder {folder} is not an existing folder")
    try:
        path: Path = installer.path(scope.value, folder)
    except SettingsError as error:
        raise CliError(str(error)) from error
    return path


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
            "+ ' hook <agent>').",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[int, typer.Option("--timeout", min=1, max=600, help="Seconds.")] = 10,
    json_output: JsonOption = False,
) -> None:
    """Add the sidecar's hooks to the agent's settings (a backup is kept; twice adds nothing)."""
    from sidecar.agents.hook_settings import SettingsError, hook_command

    installer = _installer(agent)
    text = command or hook_command(agent.value, block=block)
    if not installer.is_ours(text):
        raise CliError(
            f"--command {text!r} must run 'session-sidecar hook {agent.value}' "
            "(uninstall recognises the entries by it)"
        )
    try:
        change = installer.install(_path(installer, scope, folder), text, timeout=timeout)
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
    from sidecar.agents.hook_settings import SettingsError

    installer = _installer(agent)
    try:
        change = installer.uninstall(_path(installer, scope, folder))
    except SettingsError as error:
        raise CliError(str(error)) from error
    _report(change.to_json(), json_output, "removed", "not installed")


def _report(result: dict[str, Any], json_output: bool, done: str, nothing: str) -> None:
    from sidecar.cli.output import print_json

    if json_output:
        print_json(result)
        return
    if result["changed"]:
        entries = "hook entry" if result["changed"] == 1 else "hook entries"
        print(f"{done} {result['changed']} {entries} in {result['path']}")
        if result["backup"]:
            print(f"backup: {result['backup']}")
    else:
        print(f"{nothing}: {result['path']} unchanged")
    for line in result.get("notes") or []:
        note(line)
