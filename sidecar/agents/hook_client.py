"""`session-sidecar hook <agent>` as a thin client of a resident hook helper.

Agents start the hook for every prompt and tool call. Importing
pydantic, the models and the store costs far more than the hook's work, so
this client imports only the standard library, hands the call to a resident
process (:mod:`sidecar.agents.hook_daemon`) over a Unix socket in a private
folder, and prints its answer.

One connection per call; a frame is a 4-byte big-endian length and a body:

1. the daemon greets: ``{"protocol", "version", "pid", "ok"}``;
2. the client sends a JSON header ``{"agent", "block", "cwd", "env"}``, then the raw
   stdin bytes as a second frame;
3. the daemon answers ``{"stdout", "stderr", "pid"}``.

Each call runs exactly once. The client sends it only after the greeting and
the daemon runs it only once it has read all of it, so whatever fails before
that (no socket, a stale socket file, no greeting in time, another version)
runs the hook in this process instead, and starts a daemon when none was
listening. Once the call is sent, a missing answer prints nothing: running it
again could warn twice or record a session twice.

``SIDECAR_HOOK_DAEMON=0`` turns the daemon off (every call runs in process);
``SIDECAR_RUNTIME_DIR`` moves the socket folder; ``SIDECAR_HOOK_DEBUG=1``
says on stderr who served the call.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import sys
import time
from collections.abc import Mapping

from sidecar import __version__

PROTOCOL = 1
DAEMON_VARIABLE = "SIDECAR_HOOK_DAEMON"
RUNTIME_VARIABLE = "SIDECAR_RUNTIME_DIR"
DEBUG_VARIABLE = "SIDECAR_HOOK_DEBUG"
#: Same as ``sidecar.agents.hook.MAX_INPUT_BYTES`` (a test holds them equal); importing
#: the hook module here would cost what this client exists to save.
MAX_INPUT_BYTES = 32 * 1024 * 1024
MAX_HEADER_BYTES = 4 * 1024 * 1024
MAX_ANSWER_BYTES = 64 * 1024 * 1024
CONNECT_TIMEOUT_S = 1.0
#: A daemon busy longer than this with other calls is skipped (the call runs here).
GREETING_TIMEOUT_S = 2.0
#: Under the 10 s timeout `hooks install` writes, so the client still exits 0 in time.
ANSWER_TIMEOUT_S = 8.0
#: Socket paths longer than this are reached through their folder's descriptor
#: (``sun_path`` holds 108 bytes on Linux, 104 on macOS).
_SHORT_PATH = 100
_LENGTH = struct.Struct(">I")
#: Started by :func:`start_daemon`; imports the daemon from the package folder this client
#: came from when the default path does not find it (a checkout run with `python -m`).
_BOOTSTRAP = (
    "import sys; sys.path.append(sys.argv[1]); "
    "from sidecar.agents.hook_daemon import main; raise SystemExit(main(sys.argv[2:]))"
)


class UnsafeRuntimeDir(Exception):
    """The socket folder is not private to this user; the daemon is not used."""


class NoDaemon(Exception):
    """No daemon took the call (nothing was sent); ``spawn``: none was listening."""

    def __init__(self, reason: str, *, spawn: bool, unusual: bool = False) -> None:
        super().__init__(reason)
        self.spawn = spawn
        self.unusual = unusual


class AnswerLost(Exception):
    """The call was sent but no answer came back; it must not run again."""


class DaemonPaths:
    """Where one daemon's socket, pid file and lock file live."""

    def __init__(self, folder: str, base: str) -> None:
        self.folder = folder
        self.socket = os.path.join(folder, base + ".sock")
        self.pid = os.path.join(folder, base + ".pid")
        self.lock = os.path.join(folder, base + ".lock")


def runtime_dir(environ: Mapping[str, str]) -> str:
    """``$SIDECAR_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/session-sidecar``, else a temp folder."""
    explicit = environ.get(RUNTIME_VARIABLE)
    if explicit:
        return os.path.abspath(os.path.expanduser(explicit))
    xdg = environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isabs(xdg):
        return os.path.join(xdg, "session-sidecar")
    temp = environ.get("TMPDIR") or "/tmp"
    return os.path.join(temp, f"session-sidecar-{os.getuid()}")


def ensure_private_dir(path: str) -> None:
    """Create ``path`` (0700) if missing; refuse one another user owns or others can enter."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    st = os.lstat(path)
    if not _is_dir(st.st_mode):
        raise UnsafeRuntimeDir(f"{path} is not a folder (a symlink?); remove it")
    if st.st_uid != os.getuid():
        raise UnsafeRuntimeDir(f"{path} belongs to uid {st.st_uid}, not {os.getuid()}")
    if st.st_mode & 0o077:
        raise UnsafeRuntimeDir(
            f"{path} has mode {st.st_mode & 0o777:o}; others may reach it (chmod 700 {path})"
        )


def _is_dir(mode: int) -> bool:
    return (mode & 0o170000) == 0o040000


def package_root() -> str:
    """The folder that holds the ``sidecar`` package this code runs from."""
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def daemon_key() -> str:
    """Tells daemons of two interpreters or two copies of the package apart."""
    import zlib

    blob = f"{sys.executable}\0{package_root()}".encode("utf-8", "surrogateescape")
    return f"{zlib.crc32(blob):08x}"


def daemon_paths(environ: Mapping[str, str]) -> DaemonPaths:
    """The paths of this user's daemon for this version and interpreter (folder created)."""
    folder = runtime_dir(environ)
    ensure_private_dir(folder)
    return DaemonPaths(folder, f"hook-{os.getuid()}-{__version__}-{daemon_key()}")


def unix_address(path: str) -> tuple[str, int | None]:
    """An address for ``path`` that fits ``sun_path``, and a descriptor to close after use.

    A long path is reached as ``/proc/self/fd/<folder fd>/<name>`` (Linux).
    """
    if len(os.fsencode(path)) <= _SHORT_PATH:
        return path, None
    if not sys.platform.startswith("linux"):
        raise OSError(f"socket path too long ({len(path)} characters): {path}")
    fd = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY)
    return f"/proc/self/fd/{fd}/{os.path.basename(path)}", fd


# ---------------------------------------------------------------- framing


def send_frame(sock: socket.socket, body: bytes, deadline: float) -> None:
    """Send one frame before ``deadline`` (a ``time.monotonic()`` value)."""
    sock.settimeout(max(0.001, deadline - time.monotonic()))
    sock.sendall(_LENGTH.pack(len(body)))
    sock.sendall(body)


def recv_frame(sock: socket.socket, limit: int, deadline: float) -> bytes:
    """Receive one frame of at most ``limit`` bytes before ``deadline``."""
    (size,) = _LENGTH.unpack(_recv_exact(sock, _LENGTH.size, deadline))
    if size > limit:
        raise ConnectionError(f"frame of {size} bytes exceeds {limit}")
    return _recv_exact(sock, size, deadline)


def _recv_exact(sock: socket.socket, size: int, deadline: float) -> bytes:
    parts: list[bytes] = []
    missing = size
    while missing:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        sock.settimeout(remaining)
        chunk = sock.recv(min(missing, 1 << 20))
        if not chunk:
            raise ConnectionError("connection closed mid-frame")
        parts.append(chunk)
        missing -= len(chunk)
    return b"".join(parts)


def decode(body: bytes) -> dict[str, object]:
    """A JSON object frame; anything else is a protocol error."""
    data = json.loads(body)
    if not isinstance(data, dict):
        raise ConnectionError(f"expected a JSON object, got {type(data).__name__}")
    return data


# ---------------------------------------------------------------- the call


def ask(
    paths: DaemonPaths,
    raw: bytes,
    *,
    block: bool,
    environ: Mapping[str, str],
    agent: str = "claude-code",
) -> dict[str, object]:
    """Have the daemon run one call; returns its answer.

    Raises :class:`NoDaemon` when nothing was sent, :class:`AnswerLost` after.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            address, fd = unix_address(paths.socket)
        except OSError as error:
            raise NoDaemon(str(error), spawn=False, unusual=True) from None
        try:
            sock.settimeout(CONNECT_TIMEOUT_S)
            sock.connect(address)
        except (FileNotFoundError, ConnectionRefusedError) as error:
            raise NoDaemon(f"no daemon listening ({error.strerror})", spawn=True) from None
        except OSError as error:
            raise NoDaemon(f"cannot connect: {error}", spawn=False, unusual=True) from None
        finally:
            if fd is not None:
                os.close(fd)
        try:
            greeting = decode(
                recv_frame(sock, MAX_HEADER_BYTES, time.monotonic() + GREETING_TIMEOUT_S)
            )
        except ConnectionError as error:
            # Closed without a greeting: the daemon is exiting (idle), so start a new one.
            raise NoDaemon(f"no greeting from the daemon: {error}", spawn=True) from None
        except (OSError, ValueError) as error:
            # No greeting in time: it is busy or stuck; a second one would not get the lock.
            raise NoDaemon(f"no greeting from the daemon: {error}", spawn=False) from None
        if greeting.get("protocol") != PROTOCOL or greeting.get("version") != __version__:
            raise NoDaemon(f"the daemon speaks {greeting}", spawn=False, unusual=True)
        if greeting.get("ok") is not True:
            # It is going away (its code changed on disk): a fresh one takes over.
            raise NoDaemon(f"the daemon is retiring ({greeting.get('reason')})", spawn=True)
        try:
            cwd: str | None = os.getcwd()
        except OSError:
            cwd = None
        header = json.dumps(
            {"agent": agent, "block": block, "cwd": cwd, "env": dict(environ)}
        ).encode()
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        try:
            send_frame(sock, header, deadline)
            send_frame(sock, raw, deadline)
        except OSError as error:
            # The daemon runs a call only once it has read all of it: this one did not arrive.
            raise NoDaemon(f"sending the call failed: {error}", spawn=False) from None
        try:
            return decode(recv_frame(sock, MAX_ANSWER_BYTES, deadline))
        except (OSError, ValueError) as error:
            raise AnswerLost(f"the daemon did not answer: {error}") from None
    finally:
        sock.close()


def start_daemon(paths: DaemonPaths) -> None:
    """Start a daemon in the background, detached from this process and its pipes."""
    import subprocess

    subprocess.Popen(
        [sys.executable, "-c", _BOOTSTRAP, package_root(), paths.socket],
        cwd="/",
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def _in_process(agent: str, raw: bytes, block: bool, note: str | None, *, log: bool) -> int:
    """The slow path: import the hook and run it here."""
    from io import BytesIO

    from sidecar.agents.hook import _log, main

    if note and log:
        _log(f"hook daemon not used: {note}")
    _debug(f"ran in process ({note or 'daemon off'})")
    return main(agent, block=block, stdin=BytesIO(raw))


def _debug(message: str) -> None:
    if os.environ.get(DEBUG_VARIABLE) == "1":
        _write(sys.stderr, f"session-sidecar hook: {message}\n")


def _write(stream: object, text: str) -> None:
    try:
        stream.write(text)  # type: ignore[attr-defined]
        stream.flush()  # type: ignore[attr-defined]
    except Exception:
        pass  # a closed stdout or stderr must not make the hook fail


def main(agent: str = "claude-code", *, block: bool = False) -> int:
    """Run ``agent``'s hook on stdin through the daemon, else in process; always returns 0."""
    try:
        raw = sys.stdin.buffer.read(MAX_INPUT_BYTES + 1)
    except Exception:
        from sidecar.agents.hook import main as hook_main

        return hook_main(agent, block=block)  # reads stdin again and logs why it cannot
    environ = os.environ
    if environ.get(DAEMON_VARIABLE, "").strip() == "0" or not hasattr(socket, "AF_UNIX"):
        return _in_process(agent, raw, block, None, log=False)
    try:
        paths = daemon_paths(environ)
    except (OSError, UnsafeRuntimeDir) as error:
        return _in_process(agent, raw, block, str(error), log=True)
    try:
        answer = ask(paths, raw, block=block, environ=environ, agent=agent)
    except NoDaemon as failure:
        if failure.spawn:
            try:
                start_daemon(paths)
            except OSError as error:
                return _in_process(agent, raw, block, f"cannot start the daemon: {error}", log=True)
        return _in_process(agent, raw, block, str(failure), log=failure.unusual)
    except AnswerLost as lost:
        from sidecar.agents.hook import _log

        _log(str(lost))
        _write(sys.stderr, f"session-sidecar hook: {lost}\n")
        return 0
    stdout, stderr = answer.get("stdout"), answer.get("stderr")
    if isinstance(stdout, str) and stdout:
        _write(sys.stdout, stdout)
    if isinstance(stderr, str) and stderr:
        _write(sys.stderr, stderr)
    _debug(f"served by daemon pid {answer.get('pid')}")
    return 0
