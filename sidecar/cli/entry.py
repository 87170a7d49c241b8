"""The console entry point: a fast path for agent hooks, else the typer app.

Agents run `session-sidecar hook <agent>` on every prompt and tool call, so
that path must not pay for importing typer and building the command tree: it
goes straight to the hook door (a tool call then imports neither pydantic nor
the policy: see `sidecar.agents.hook`).
"""

from __future__ import annotations

import contextlib
import os
import sys


def main() -> None:
    """`session-sidecar` and `python -m sidecar`."""
    argv = sys.argv[1:]
    if len(argv) >= 2 and argv[0] == "hook" and all(a == "--block" for a in argv[2:]):
        from sidecar.agents.registry import AGENTS

        if argv[1] in AGENTS:
            from sidecar.agents.hook import main as hook_main

            status = hook_main(argv[1], block="--block" in argv[2:])
            # The agent waits for this process to exit. By now the events are committed,
            # the database closed and the log written: the interpreter's teardown of its
            # modules would only add ~10 ms to every call.
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(status)
    if argv[:1] == ["serve"]:
        # Editors spawn the server on every start: skip typer here too.
        from sidecar.server.serve import run_from_argv

        code = run_from_argv(argv[1:])
        if code is not None:
            raise SystemExit(code)
    from sidecar.cli.main import main as cli_main

    cli_main()
