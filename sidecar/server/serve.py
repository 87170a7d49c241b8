"""``session-sidecar serve``: run the language server on stdio, TCP or WebSocket.

TCP and WebSocket listen on loopback only: the protocol has no
authentication, so any other address would hand the session history (and
checkpoint restore) to the network.
"""

from __future__ import annotations

import gc
import ipaddress
import logging
import os
import sys

DEFAULT_PORT = 2087
#: Collector thresholds while starting: full (generation 2) passes postponed.
STARTUP_GC_THRESHOLDS = (700, 10, 1_000_000)
LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


class ServeError(Exception):
    """The serve command cannot start as asked; the message says what to change."""


def check_loopback(host: str) -> str:
    """``host`` when it is a loopback name or address, else ServeError.

    >>> check_loopback("127.0.0.1")
    '127.0.0.1'
    """
    if host.lower() in LOOPBACK_NAMES:
        return host
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        address = None
    if address is not None and address.is_loopback:
        return host
    raise ServeError(
        f"refusing to listen on {host!r}: the sidecar serves only loopback addresses "
        "(127.0.0.1, ::1, localhost) because its protocol has no authentication"
    )


def _configure_logging() -> None:
    # stdout carries the protocol on stdio: logs go to stderr only.
    level = os.environ.get("SIDECAR_LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(
        stream=sys.stderr,
        level=getattr(logging, level, logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def serve(
    tcp: bool = False, ws: bool = False, host: str = "127.0.0.1", port: int = DEFAULT_PORT
) -> None:
    """Run the server until the client disconnects (stdio) or the process is stopped.

    Raises ServeError (before starting anything) for a non-loopback host or
    when both ``tcp`` and ``ws`` are asked for.
    """
    if tcp and ws:
        raise ServeError("choose one transport: --tcp or --ws, not both")
    if tcp or ws:
        check_loopback(host)
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
        if tcp:
            server.start_tcp(host, port)
        elif ws:
            server.start_ws(host, port)
        else:
            server.start_io()
    finally:
        # On stdin EOF or a broken pipe pygls runs no shutdown handler: release holds here.
        server.close()


def run_from_argv(argv: list[str]) -> int | None:
    """Run ``serve`` from raw arguments without loading the typer CLI (saves ~100 ms of
    start-up, which editors pay on every launch); None when ``argv`` needs the full CLI
    (``--help``, unknown or malformed options), so the caller falls back to it.

    Accepts ``--tcp``, ``--ws``, ``--host H``/``--host=H``, ``--port P``/``--port=P``.
    """
    options: dict[str, str | bool] = {}
    args = list(argv)
    while args:
        arg = args.pop(0)
        name, eq, value = arg.partition("=")
        if name in ("--tcp", "--ws") and not eq:
            options[name[2:]] = True
        elif name in ("--host", "--port"):
            if not eq:
                if not args:
                    return None
                value = args.pop(0)
            options[name[2:]] = value
        else:
            return None
    port_text = str(options.get("port", DEFAULT_PORT))
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        return None
    try:
        serve(
            tcp=bool(options.get("tcp", False)),
            ws=bool(options.get("ws", False)),
            host=str(options.get("host", "127.0.0.1")),
            port=int(port_text),
        )
    except ServeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
