"""`session-sidecar mcp`: run the MCP server (stdio) that agents add as a tool server."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sidecar.cli.context import DbOption
from sidecar.cli.output import CliError


def mcp_command(
    folder: Annotated[
        Path | None,
        typer.Option(
            "--folder",
            "-C",
            help="The workspace folder (default: the folder the agent starts the server in).",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    db: DbOption = None,
    provider: Annotated[
        str,
        typer.Option("--provider", help="Tool name recorded on sessions this server starts."),
    ] = "mcp",
) -> None:
    """Run the MCP server on stdio: start/resume sessions, append events, history, drift."""
    if folder is not None and not folder.is_dir():
        raise CliError(f"--folder {folder} is not an existing folder")
    from sidecar.agents.mcp_server import serve

    serve(folder, db=db, provider=provider)
