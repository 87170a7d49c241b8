"""The `session-sidecar` root command: subcommands load lazily, errors are one line.

Agent hooks run the CLI on every prompt, so start-up must stay cheap: a
subcommand's module (and what it imports: the store, pydantic, pygls...) is
imported only when that subcommand runs, or when help lists it.

Registering a subcommand is one line in :data:`LAZY_COMMANDS`: its name and
``"module:attribute"``, where the attribute is a ``typer.Typer`` (a group, as
``sessions``) or a plain function (a single command, as ``serve``).
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from sidecar import __version__
from sidecar.cli.output import EXIT_INTERNAL, EXIT_USAGE, CliError, error_message, one_line

#: name -> "module:attribute"; listed in this order by --help.
LAZY_COMMANDS: dict[str, str] = {
    "sessions": "sidecar.cli.sessions:app",
    "events": "sidecar.cli.events:app",
    "serve": "sidecar.cli.main:serve_command",
    "watch": "sidecar.cli.watch:watch",
    "hook": "sidecar.cli.hooks:hook_app",
    "hooks": "sidecar.cli.hooks:hooks_app",
    "import": "sidecar.cli.importer:app",
    "mcp": "sidecar.cli.mcp:mcp_command",
    "otel": "sidecar.cli.otel:app",
}

#: Set to show the full traceback of an unexpected error (a bug) instead of one line.
DEBUG_VARIABLE = "SIDECAR_DEBUG"


def _load_command(name: str, target: str) -> Any:
    """Import `target` ("module:attribute") and turn it into a click command named `name`."""
    module_name, _, attribute = target.partition(":")
    obj = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(obj, typer.Typer):
        single = typer.Typer(add_completion=False)
        single.command(name)(obj)
        obj = single
    command = typer.main.get_command(obj)
    command.name = name
    # Shell completion belongs to the root command only.
    command.params = [
        p for p in command.params if p.name not in ("install_completion", "show_completion")
    ]
    return command


class SidecarGroup(TyperGroup):
    """The root group: lazy subcommands, and every error a person can fix as one line."""

    def list_commands(self, ctx: Any) -> list[str]:
        """Eager commands first, then the lazy ones in registration order."""
        return [*super().list_commands(ctx), *LAZY_COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """A registered command, importing a lazy one on first use."""
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            command = _load_command(cmd_name, LAZY_COMMANDS[cmd_name])
            self.add_command(command, cmd_name)
        return command

    def invoke(self, ctx: Any) -> Any:
        """Run the subcommand; known errors print `error: ...` and exit with status 2."""
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # typer's own exits and usage errors (status 2) print themselves
        except BrokenPipeError:
            # The reader of our output went away (`| head`): nothing left to say to it.
            sys.stderr.close()
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except Exception as error:
            message = error_message(error)
            if message is not None:
                print(f"error: {message}", file=sys.stderr)
                raise typer.Exit(EXIT_USAGE) from None
            if os.environ.get(DEBUG_VARIABLE):
                raise
            print(
                f"error: internal error ({type(error).__name__}: {one_line(str(error))}); "
                f"rerun with {DEBUG_VARIABLE}=1 for the traceback and report it",
                file=sys.stderr,
            )
            raise typer.Exit(EXIT_INTERNAL) from None


app = typer.Typer(
    cls=SidecarGroup,
    name="session-sidecar",
    help="Session Sidecar: AI-tool session history bound to its git branch, with drift warnings.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        print(f"session-sidecar {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
) -> None:
    """Session Sidecar: AI-tool session history bound to its git branch, with drift warnings."""


def serve_command(
    network: Annotated[
        bool, typer.Option("--tcp", "--ws", hidden=True, help="Removed: stdio only.")
    ] = False,
) -> None:
    """Run the language server on stdio (editors start it this way)."""
    from sidecar.server.serve import REMOVED_TRANSPORTS, serve

    if network:
        raise CliError(REMOVED_TRANSPORTS)
    serve()


def main() -> None:
    """Console entry point (`session-sidecar`, `python -m sidecar`)."""
    app(prog_name="session-sidecar")
