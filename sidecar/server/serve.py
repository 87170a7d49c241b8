"""``session-sidecar serve``: run the language server on stdio.

Only the editor that spawned the server can talk to it: stdio is the one
transport. The TCP and WebSocket listeners pygls offers were removed (issue
12): nothing authenticated their clients, so any local user, or a web page in
a browser on the machine, could read the whole history, take over the editor's
connection and aim exports at the user's files. No client of the project used
them.
"""

from __future__ import annotations

import gc
import logging
import os
import sys

#: Collector thresholds while starting: full (generation 2) passes postponed.
STARTUP_GC_THRESHOLDS = (700, 10, 1_000_000)
#: Options of the removed network transports, answered with REMOVED_TRANSPORTS.
NETWORK_OPTIONS = ("--tcp", "--ws", "--host", "--port")
REMOVED_TRANSPORTS = (
    "serve speaks stdio only: --tcp and --ws were removed because any local user or web "
    "page could reach them unauthenticated (see docs/security.md); start the server from "
    "your editor as a command"
)


class RedactingFilter(logging.Filter):
    """Redacts each log record's message: the editor keeps the server's stderr in
    its output panel, which is stored text too. The redaction patterns load with
    the first record, not at start-up."""

    def filter(self, record: logging.LogRecord) -> bool:
        from sidecar.core.redact import redact_text

        try:
            message = record.getMessage()
        except Exception:  # a malformed record: the handler reports it
            return True
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def _configure_logging() -> None:
    # stdout carries the protocol on stdio: logs go to stderr only.
    level = os.environ.get("SIDECAR_LOG_LEVEL", "WARNING").upper()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RedactingFilter())
    logging.basicConfig(
        handlers=[handler],
        level=getattr(logging, level, logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def serve() -> None:
    """Run the server on stdio until the client disconnects or the process is stopped."""
    _configure_logging()
    # Start-up allocates what lives as long as the process (lsprotocol's converter,
    # the features, then the store and the watches): a full collection in the middle
    # costs ~30 ms and finds next to nothing. Young garbage is still collected;
    # full passes wait until the server has started, which then collects once,
    # freezes the survivors and restores the thresholds
    # (sidecar.server.app.release_startup_memory).
    gc.set_threshold(*STARTUP_GC_THRESHOLDS)
    from sidecar.server.setup import create_server

    server = create_server()
    try:
        server.start_io()
    finally:
        # On stdin EOF or a broken pipe pygls runs no shutdown handler: release holds here.
        server.close()


def run_from_argv(argv: list[str]) -> int | None:
    """Run ``serve`` from raw arguments without loading the typer CLI (saves ~100 ms of
    start-up, which editors pay on every launch); None when ``argv`` needs the full CLI
    (``--help``, unknown options), so the caller falls back to it.
    """
    if any(arg.partition("=")[0] in NETWORK_OPTIONS for arg in argv):
        print(f"error: {REMOVED_TRANSPORTS}", file=sys.stderr)
        return 2
    if argv:
        return None
    serve()
    return 0
